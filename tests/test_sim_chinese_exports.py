"""Exports the way Chinese CRMs and hand-kept sheets write them: amounts in 万, an explicit "no"
beside a quoted amount, placeholders for "not yet" and "no owner", 上午 / 下午 times. Each was
misread, or its lead rejected, while the comparison said nothing."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadrouter.sim import History, load_export
from leadrouter.sim.profiles import CHINESE_WON, Outcomes

HEADER = "线索编号,创建时间,负责人,首次跟进时间,是否有效,是否成交,成交金额"


def load(tmp_path: Path, rows: list[str], header: str = HEADER) -> History:
    path = tmp_path / "线索导出.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8-sig")
    return load_export(path, tz="Asia/Shanghai")


def reasons(history: History) -> dict[int, str]:
    frame = history.flagged
    return {int(r.row): f"{r.reason}: {r.action}" for r in frame.itertuples()}


def test_amounts_in_wan_are_read_at_their_value(tmp_path: Path) -> None:
    """`5.8万` was rejected with its lead (only sales carry amounts, so the sales went), and a
    header in 万元 had its unit dropped: revenue 10,000 times too small, ROI -100%."""
    history = load(
        tmp_path,
        [
            "A1,2026-03-02 09:00,张伟,,是,是,5.8万",
            "A2,2026-03-02 10:00,李娜,,是,是,1.2亿元",
            "A3,2026-03-02 11:00,李娜,,是,是,12000元",
            'A4,2026-03-02 12:00,李娜,,是,是,"¥12,000.00"',
        ],
    )
    assert history.rejected.empty
    amounts = history.to_frame().set_index("lead_id")["amount"].to_dict()
    assert amounts == {"A1": 58_000.0, "A2": 120_000_000.0, "A3": 12_000.0, "A4": 12_000.0}

    header = "线索编号,创建时间,负责人,是否成交,成交金额（万元）,线索成本(元)"
    history = load(
        tmp_path,
        ["B1,2026-03-02 09:00,张伟,是,5.8,150", "B2,2026-03-02 10:00,李娜,是,3万,150"],
        header,
    )
    frame = history.to_frame().set_index("lead_id")
    assert frame["amount"].to_dict() == {"B1": 58_000.0, "B2": 30_000.0}  # a cell's own unit wins
    assert frame["cost"].to_dict() == {"B1": 150.0, "B2": 150.0}  # 元: nothing to multiply
    assert "multiplied by 10,000" in reasons(history)[2]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(amount=st.integers(min_value=1, max_value=10**11))
def test_any_amount_written_in_wan_reads_back(tmp_path: Path, amount: int) -> None:
    written = f"{amount / 10_000:.4f}".rstrip("0").rstrip(".")
    history = load(tmp_path, [f"A1,2026-03-02 09:00,张伟,,是,是,{written}万"])
    assert math.isclose(history.to_frame()["amount"].iat[0], amount, rel_tol=1e-12)


def test_a_no_under_converted_beside_a_quoted_amount_stays_a_no(tmp_path: Path) -> None:
    """Hand-kept sheets fill the amount on every lead (the quote); a positive amount made each
    lead a sale over the converted column's explicit no: 300 sales of 300 leads."""
    history = load(
        tmp_path,
        [
            "A1,2026-03-02 09:00,张伟,,是,否,3000",
            "A2,2026-03-02 10:00,李娜,,是,是,8000",
            "A3,2026-03-02 11:00,李娜,,是,,5000",
        ],
    )
    frame = history.to_frame().set_index("lead_id")
    assert frame["converted"].to_dict() == {"A1": False, "A2": True, "A3": True}
    assert math.isnan(frame.loc["A1", "amount"]) and frame.loc["A2", "amount"] == 8000.0
    assert "left out as a quote" in reasons(history)[2]


def test_placeholders_for_not_yet_and_for_no_owner_are_read_as_none(tmp_path: Path) -> None:
    """未跟进 in the first-touch column rejected exactly the untouched leads (wasted leads read
    0%); 公海 (the pool) and 未分配 became reps given a full share in the simulation."""
    history = load(
        tmp_path,
        [
            "A1,2026-03-02 09:00,张伟,未跟进,是,否,",
            "A2,2026-03-02 10:00,公海,/,是,否,",
            "A3,2026-03-02 11:00,未分配,2026-03-02 11:30,有效线索,否,",
            "A4,2026-03-02 12:00,无,2026-03-02 12:10,无效线索,否,",
            "A5,2026-03-02 13:00,李娜,2026-03-02 13:05,待确认,否,",
        ],
    )
    assert history.rejected.empty
    frame = history.to_frame().set_index("lead_id")
    assert frame["rep_id"].isna().to_dict() == {
        "A1": False,
        "A2": True,
        "A3": True,
        "A4": True,
        "A5": False,
    }
    assert frame["first_touch_at"].isna()[["A1", "A2"]].all()
    assert frame["valid"].to_dict() == {"A1": True, "A2": True, "A3": True, "A4": False, "A5": None}
    assert reasons(history)[6] == "'待确认': not known yet: read as unknown"


@pytest.mark.parametrize(
    ("written", "hour", "minute"),
    [
        ("2026/3/5 上午9:22", 9, 22),
        ("2026-03-05 上午 9:22:00", 9, 22),
        ("2026/3/5 下午2:05", 14, 5),
        ("2026/3/5 中午12:30", 12, 30),
        ("2026/3/5 晚上11:40", 23, 40),
        ("2026/3/5 凌晨12:15", 0, 15),
        ("2026年03月05日 14：40", 14, 40),
    ],
)
def test_half_day_times_and_full_width_colons_are_read(
    tmp_path: Path, written: str, hour: int, minute: int
) -> None:
    history = load(tmp_path, [f"A1,{written},张伟,,是,否,"])
    arrived = history.to_frame()["arrived_at"].iat[0].tz_convert("Asia/Shanghai")
    assert (arrived.year, arrived.month, arrived.day) == (2026, 3, 5)
    assert (arrived.hour, arrived.minute) == (hour, minute)


def test_inspect_names_the_column_that_gave_converted(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "线索编号,创建时间,负责人,是否成交\nA1,2026-03-02 09:00,张伟,是\n", encoding="utf-8"
    )
    shown = subprocess.run(
        [sys.executable, "-m", "leadrouter", "inspect", str(path), "--tz", "Asia/Shanghai"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fields = shown[shown.index("fields (field <- header)") :].splitlines()
    assert any(line.split() == ["converted", "是否成交"] for line in fields)


def test_the_usual_owner_header_and_chinese_outcome_words_are_recognised(tmp_path: Path) -> None:
    header = "线索编号,创建时间,线索负责人,线索状态"
    history = load(
        tmp_path,
        [
            "A1,2026-03-02 09:00,张伟,已转化",
            "A2,2026-03-02 10:00,李娜,赢单（已回款）",
            "A3,2026-03-02 11:00,李娜,无效线索",
            "A4,2026-03-02 12:00,李娜,跟进中",
        ],
        header,
    )
    assert history.columns["rep_id"] == "线索负责人"
    stages = history.to_frame().set_index("lead_id")["stage"].to_dict()
    assert stages == {"A1": "won", "A2": "won", "A3": "lost", "A4": "open"}


def test_a_converted_lead_written_zhuanhuan_is_won(tmp_path: Path) -> None:
    # 已转换: 转换 is how Salesforce's Chinese, among others, writes a lead's Convert
    rows = ["A1,2026-03-02 09:00,张伟,已转换,已转换", "A2,2026-03-02 10:00,李娜,跟进中,未转换"]
    history = load(tmp_path, rows, "线索编号,创建时间,负责人,线索状态,是否转化")
    assert history.to_frame()["stage"].tolist() == ["won", "open"]
    # and as a yes / no, with its negation
    path = tmp_path / "converted.csv"
    path.write_text(
        "线索编号,创建时间,负责人,是否转化\n"
        "A1,2026-03-02 09:00,张伟,已转换\nA2,2026-03-02 10:00,李娜,未转换\n",
        encoding="utf-8",
    )
    answers = load_export(path, tz="Asia/Shanghai", columns={"是否转化": "converted"})
    assert answers.rejected.empty
    assert answers.to_frame()["converted"].tolist() == [True, False]


def excel(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


LEADS: list[list[object]] = [
    ["线索编号", "创建时间", "负责人"],
    ["A1", "2026-03-02 09:00", "张伟"],
    ["A2", "2026-03-02 10:00", "李娜"],
]


@pytest.mark.parametrize(
    ("sheets", "said"),
    [
        (
            {"线索": [["线索导出（共2条）"], *LEADS]},
            "names 1 of its 3 columns ('线索导出（共2条）')",
        ),
        (
            {
                "线索": [
                    ["基本信息", None, None, "跟进情况", None],
                    [*LEADS[0], "首次跟进", "是否成交"],
                ]
            },
            "names 2 of its 5 columns ('基本信息', '跟进情况')",
        ),
        ({"说明": [["本表由销售部手工维护"]], "线索明细": LEADS}, "(the other sheets: '线索明细')"),
    ],
)
def test_a_workbook_whose_first_row_is_no_header_says_so(
    tmp_path: Path, sheets: dict[str, list[list[object]]], said: str
) -> None:
    """A title row, a merged group row over the header, or a sheet of notes first: the error
    suggested --columns, which cannot help, and did not name the other sheets."""
    from leadrouter.errors import InvalidExportError

    path = excel(tmp_path / "线索.xlsx", sheets)
    with pytest.raises(InvalidExportError, match="does not start with a header row") as caught:
        load_export(path, tz="Asia/Shanghai")
    assert said in str(caught.value) and "delete the rows above the header" in str(caught.value)


def test_long_numeric_ids_that_collapse_say_why(tmp_path: Path) -> None:
    """Excel keeps 15 digits of a number: ids of 18 digits stored as numbers became one id,
    and every row but the first was rejected as a repeat with no word of the cause."""
    rows = [["线索编号", "创建时间", "负责人"]] + [
        [695123456789012345 + i, "2026-03-02 09:00", "张伟"] for i in range(3)
    ]
    history = load_export(excel(tmp_path / "ids.xlsx", {"线索": rows}), tz="Asia/Shanghai")
    assert len(history) == 1 and len(history.rejected) == 2
    assert all("format the id column as text" in reason for reason in history.rejected["reason"])
    plain = load(tmp_path, ["A1,2026-03-02 09:00,张伟,,,,", "A1,2026-03-02 10:00,张伟,,,,"])
    assert "format the id column" not in plain.rejected["reason"].iat[0]


def test_a_time_column_of_dates_without_times_is_said(tmp_path: Path) -> None:
    """Date-only first touches were read as midnight and flagged one by one as "before the
    lead arrived", which blamed clocks; the column is now named for what it is."""
    history = load(
        tmp_path,
        [
            "A1,2026-03-02 09:00,张伟,2026/3/2,是,否,",
            "A2,2026-03-02 10:00,李娜,2026/3/3,是,否,",
        ],
    )
    notes = [reason for reason in history.flagged["reason"] if "without times" in reason]
    assert notes == [
        "the column holds dates without times: each is read as midnight, so speed to lead "
        "measured from it is off by up to a day"
    ]
    timed = load(
        tmp_path,
        [
            "A1,2026-03-02 09:00,张伟,2026/3/2 9:30,是,否,",
            "A2,2026-03-02 10:00,李娜,2026/3/3 0:00,是,否,",
        ],
    )
    assert not any("without times" in reason for reason in timed.flagged["reason"])


def test_inspect_names_reps_written_two_ways(tmp_path: Path) -> None:
    """张伟 and 张伟(销售一部) were two reps to the simulator, without a word."""
    from leadrouter.sim.inspection import inspect_text

    history = load(
        tmp_path,
        [
            "A1,2026-03-02 09:00,张伟,,是,否,",
            "A2,2026-03-02 10:00,张伟(销售一部),,是,否,",
            "A3,2026-03-02 11:00,张伟（销售一部）,,是,否,",
            "A4,2026-03-02 12:00,Li Na,,是,否,",
            "A5,2026-03-02 13:00,li na,,是,否,",
            "A6,2026-03-02 14:00,王芳,,是,否,",
        ],
    )
    alike = [
        line.strip() for line in inspect_text(history).splitlines() if "may be one rep" in line
    ]
    assert alike == [
        "may be one rep: Li Na / li na (write one name in the export to merge)",
        "may be one rep: 张伟 / 张伟(销售一部) / 张伟（销售一部） "
        "(write one name in the export to merge)",
    ]


def test_as_of_without_an_offset_is_read_in_the_zone_the_file_writes(tmp_path: Path) -> None:
    """Every time of the file carries +08:00 and no tz is needed, but `as_of="2026/3/28"` was
    refused for want of one; it is read like the file's times, in their zone."""
    path = tmp_path / "leads.csv"
    rows = ["A1,2026-03-02T09:00:00+08:00,张伟", "A2,2026-03-03T10:00:00+08:00,李娜"]
    path.write_text("线索编号,创建时间,负责人\n" + "\n".join(rows) + "\n", encoding="utf-8")
    history = load_export(path, as_of="2026/3/28")
    assert history.as_of.isoformat() == "2026-03-28T23:59:59.999999+08:00"
    assert history.tz == "Etc/GMT-8"


STAGE_WORDS = {
    "won": ["已签合同", "签约", "已签约", "合同签订", "赢单", "成交", "已成交", "已付款", "已回款"],
    "lost": [
        "输单", "丢单", "已流失", "流失", "失败", "关闭", "已关闭", "放弃", "无意向", "无效",
        "空号", "停机", "错号", "重复线索",
    ],
    "open": [
        "跟进中", "初步接触", "需求确认", "方案报价", "商务谈判", "意向客户", "待跟进", "新线索",
        "已联系",
    ],
}  # fmt: skip


def test_every_chinese_stage_word_is_read_as_its_outcome(tmp_path: Path) -> None:
    """Each word a Chinese CRM writes in its stage column, read end to end: won, lost or open,
    and recognised (not "not recognised, so open")."""
    words = [(word, kind) for kind, listed in STAGE_WORDS.items() for word in listed]
    rows = [f"S{i},2026-03-02 09:{i:02d},张伟,{word}" for i, (word, _) in enumerate(words)]
    history = load(tmp_path, rows, "线索编号,创建时间,负责人,销售阶段")
    stages = history.to_frame().set_index("lead_id")["stage"].to_dict()
    assert {word: stages[f"S{i}"] for i, (word, _) in enumerate(words)} == dict(words)
    said = history.outcomes.set_index("value")["why"].to_dict()
    assert {word: said[word] for word, _ in words} == {
        word: f"recognised: {kind}" for word, kind in words
    }


@given(
    negation=st.sampled_from(["未", "不", "没有", "没", "尚未", "暂未", "非"]),
    won=st.sampled_from(sorted(CHINESE_WON)),
    space=st.sampled_from(["", " ", "　"]),
)
def test_a_negated_won_word_is_never_won(negation: str, won: str, space: str) -> None:
    """未成交 holds 成交 but says the opposite: whatever the won word and the negation, with or
    without a space between, it is never read as won (open, saying why)."""
    status, why = Outcomes().outcome_of(f"{negation}{space}{won}")
    assert status != "won"
    assert (status, why) == (
        "open",
        "a won word negated, so not won: open (--lost if it means lost)",
    )


def test_a_negated_won_word_in_a_yes_no_column_is_no_stage(tmp_path: Path) -> None:
    """没有成交 under 是否成交 is an answer, not a stage: the column is not taken for a stage
    column (which would be refused as one mapped to converted)."""
    history = load(
        tmp_path, ["A1,2026-03-02 09:00,张伟,,,没有成交,", "A2,2026-03-02 10:00,张伟,,,是,"]
    )
    assert "stage" not in history.columns
