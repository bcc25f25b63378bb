"""Write the sample exports in this folder, deterministically, from `leadrouter.sim.synthetic`.

- `sample_export.csv`: what `History.to_csv()` writes (UTF-8, English field names, local times
  with their UTC offset), so it loads with no options: `load_export("sample_export.csv")`; its
  scores are written 0-100, as many CRMs write them (`load_export` rescales them to 0-1, flagged).
- `sample_export_gbk.csv`: the same leads as a Chinese CRM would export them: GBK-encoded,
  Chinese headers (线索ID, 创建时间, 负责人 ...), Chinese category names and rep names, 是/否 for
  yes/no, and times without a zone, so it needs `tz`:
  `load_export("sample_export_gbk.csv", tz="Asia/Shanghai")`.

Both hold 300 leads of a six-rep team over two weeks (`synthetic(n_leads=300, n_reps=6, days=14,
seed=7)`). Run `python examples/data/make_samples.py [FOLDER]` to write them (into this folder by
default); `tests/test_sim_loader.py` checks that the committed files are exactly what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from leadrouter.sim import History, synthetic

HERE = Path(__file__).resolve().parent

HEADERS_ZH = {
    "lead_id": "线索ID",
    "arrived_at": "创建时间",
    "source": "来源",
    "region": "地区",
    "product": "产品",
    "segment": "客户类型",
    "grade": "等级",
    "score": "评分",
    "cost": "线索成本",
    "contact": "手机号",
    "rep_id": "负责人",
    "assigned_at": "分配时间",
    "first_touch_at": "首次跟进时间",
    "reached": "是否接通",
    "valid": "是否有效",
    "converted_at": "成交时间",
    "amount": "成交金额",
}
VALUES_ZH = {
    "source": {
        "search": "搜索推广",
        "feed": "信息流",
        "social": "社交媒体",
        "website": "官网表单",
        "referral": "转介绍",
        "expo": "展会",
    },
    "region": {"north": "华北", "east": "华东", "south": "华南", "west": "西部"},
    "product": {"basic": "基础版", "pro": "专业版", "enterprise": "企业版"},
    "segment": {"education": "教育", "retail": "零售", "manufacturing": "制造", "services": "服务"},
    "rep_id": {
        "rep01": "张伟",
        "rep02": "王芳",
        "rep03": "李娜",
        "rep04": "刘洋",
        "rep05": "陈静",
        "rep06": "杨帆",
    },
}
TIMES = ("arrived_at", "assigned_at", "first_touch_at", "converted_at")


def sample() -> History:
    """The sample team's history."""
    return synthetic(n_leads=300, n_reps=6, days=14, seed=7)


def crm_scores(history: History) -> History:
    """The history with scores written 0-100, as many CRMs do (`Lead.score` is 0-1):
    `load_export` divides such a column by 100 and lists each row in `History.flagged`."""
    frame = history.to_frame()
    frame["score"] = (frame["score"] * 100.0).round()
    return History(frame, tz=history.tz)


def chinese_export(history: History) -> pd.DataFrame:
    """The history as a Chinese CRM exports it: local times without a zone, 是/否, Chinese
    names; no converted column (a sale time or amount says it)."""
    frame = history.to_frame().drop(columns=["converted", "stage", "lost_at", "propensity"])
    for name in TIMES:
        local = frame[name].dt.tz_convert(history.tz).dt.strftime("%Y-%m-%d %H:%M:%S")
        frame[name] = local.fillna("")
    for name in ("reached", "valid"):
        frame[name] = [("是" if v else "否") if not pd.isna(v) else "" for v in frame[name]]
    for name, names in VALUES_ZH.items():
        frame[name] = frame[name].map(names)
    frame["score"] = frame["score"].astype("Int64")
    return frame.rename(columns=HEADERS_ZH)


def write(folder: Path = HERE) -> list[Path]:
    """Write both samples into `folder` and return their paths."""
    history = crm_scores(sample())
    english = history.to_csv(folder / "sample_export.csv")
    chinese = folder / "sample_export_gbk.csv"
    text = chinese_export(history).to_csv(index=False, lineterminator="\n")
    chinese.write_bytes(text.encode("gbk"))
    return [english, chinese]


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(f"wrote {path}")
