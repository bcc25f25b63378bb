"""`leadrouter handover` (离职交接): a departing rep's open leads go to the others by the
playbook, never back to them, with the other owners' open leads counted as their books and the
closed leads as their history (daily caps and learned strategies count them); closed leads stay;
`--to` gives them all to one rep within their caps; names and columns that cannot be used are
named errors, said before anything is written."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from leadrouter.cli import main
from leadrouter.events import REP_LEFT

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "data" / "handover"

PLAYBOOK = """
[strategy]
name = "EqualRotation"
{caps}
[[reps]]
id = "王芳"

[[reps]]
id = "李娜"

[[reps]]
id = "张伟"

[[reps]]
id = "刘洋"
"""

CAP = """
[[caps]]
name = "FixedCap"
open = {open}
"""

HEADER = "线索ID,创建时间,负责人,分配时间,阶段\n"


def _playbook(tmp_path: Path, cap: int | None = None) -> Path:
    path = tmp_path / "team.toml"
    caps = "" if cap is None else CAP.format(open=cap)
    path.write_text(PLAYBOOK.format(caps=caps), encoding="utf-8")
    return path


def _leads(tmp_path: Path, rows: list[tuple[str, str]], header: str = HEADER) -> Path:
    """Leads L1.. arriving a minute apart from 09:00, (owner, stage) each."""
    path = tmp_path / "leads.csv"
    lines = [
        f"L{i + 1},2026-01-05 09:{i:02d},{owner},2026-01-05 09:{i:02d},{stage}"
        for i, (owner, stage) in enumerate(rows)
    ]
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(playbook: Path, leads: Path, out: Path, *flags: str) -> int:
    return main(["handover", str(playbook), str(leads), "--out", str(out), "--tz", "UTC", *flags])


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


OPEN, WON, LOST = "跟进中", "赢单", "输单"


def test_open_leads_go_to_the_others_by_rotation_never_back_closed_ones_stay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = _leads(
        tmp_path,
        [
            ("王芳", OPEN),
            ("王芳", WON),
            ("李娜", OPEN),
            ("王芳", OPEN),
            ("王芳", LOST),
            ("王芳", OPEN),
            ("王芳", OPEN),
        ],
    )
    out = tmp_path / "handover.csv"
    assert _run(_playbook(tmp_path), leads, out, "--rep", "王芳") == 0
    rows = _rows(out)
    assert [row["lead_id"] for row in rows] == ["L1", "L4", "L6", "L7"]  # open, oldest first
    assert {row["from_rep_id"] for row in rows} == {"王芳"}
    # equal rotation by last assignment: 张伟 and 刘洋 never had one, 李娜 had L3 at 09:02
    assert [row["to_rep_id"] for row in rows] == ["张伟", "刘洋", "李娜", "张伟"]
    assert all(REP_LEFT in row["reasons"] for row in rows)
    said = capsys.readouterr().out
    assert "handed over 4 open leads of 王芳" in said
    assert "2 closed leads" in said


def test_other_owners_books_count_against_an_open_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    owners = ["刘洋", "刘洋", "李娜", "王芳", "王芳", "王芳", "刘洋", "李娜"]
    leads = _leads(tmp_path, [(owner, OPEN) for owner in owners])
    out = tmp_path / "handover.csv"
    assert _run(_playbook(tmp_path, cap=3), leads, out, "--rep", "王芳") == 0
    went = [row["to_rep_id"] for row in _rows(out)]
    assert "刘洋" not in went  # three open leads in the file: at the cap
    assert went.count("李娜") == 1  # two in the file, room for one
    assert went.count("张伟") == 2
    said = capsys.readouterr().out
    assert "the others' books: 5 open leads of 2 owners" in said


def test_a_lead_no_one_has_room_for_waits_and_the_summary_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    owners = ["李娜", "张伟", "刘洋", "王芳", "王芳"]
    leads = _leads(tmp_path, [(owner, OPEN) for owner in owners])
    out = tmp_path / "handover.csv"
    assert _run(_playbook(tmp_path, cap=1), leads, out, "--rep", "王芳") == 0
    rows = _rows(out)
    assert [(row["to_rep_id"], row["pool"]) for row in rows] == [("", "public")] * 2
    said = capsys.readouterr().out
    assert "pool:public" in said
    assert "2 leads waiting, because:" in said and "open-lead cap 1 reached" in said


def test_to_gives_every_lead_to_one_rep_within_their_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    owners = ["王芳", "李娜", "王芳", "王芳"]
    leads = _leads(tmp_path, [(owner, OPEN) for owner in owners])
    out = tmp_path / "handover.csv"
    assert _run(_playbook(tmp_path, cap=3), leads, out, "--rep", "王芳", "--to", "李娜") == 0
    rows = _rows(out)
    assert [(row["to_rep_id"], row["pool"]) for row in rows] == [
        ("李娜", ""),
        ("李娜", ""),
        ("", "public"),  # 李娜 had one: room for two
    ]
    assert {row["by"] for row in rows} == {"--to"}
    assert "open-lead cap 3 reached" in rows[-1]["reasons"]
    assert "1 lead waiting, because:" in capsys.readouterr().out


def test_several_reps_leave_at_once_and_none_gets_the_others_leads(tmp_path: Path) -> None:
    owners = ["王芳", "刘洋", "王芳", "刘洋", "李娜"]
    leads = _leads(tmp_path, [(owner, OPEN) for owner in owners])
    out = tmp_path / "handover.csv"
    assert _run(_playbook(tmp_path), leads, out, "--rep", "王芳", "--rep", "刘洋") == 0
    rows = _rows(out)
    assert len(rows) == 4
    assert {row["to_rep_id"] for row in rows} <= {"李娜", "张伟"}


def test_the_csv_has_a_bom_and_one_row_per_lead_handed_over(tmp_path: Path) -> None:
    leads = _leads(tmp_path, [("王芳", OPEN), ("李娜", OPEN), ("王芳", OPEN)])
    out = tmp_path / "handover.csv"
    assert _run(_playbook(tmp_path), leads, out, "--rep", "王芳") == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "lead_id,arrived_at,from_rep_id,to_rep_id,pool,by,reasons"
    assert len(lines) == 3


def test_an_owner_header_of_its_own_is_named_by_columns(
    tmp_path: Path,
) -> None:
    leads = _leads(
        tmp_path,
        [("王芳", OPEN), ("李娜", OPEN)],
        header="Ticket,Created,Sales Person X,Assigned,阶段\n",
    )
    out = tmp_path / "handover.csv"
    flags = ("--columns", "lead_id=Ticket", "arrived_at=Created", "rep_id=Sales Person X")
    code = _run(_playbook(tmp_path), leads, out, "--rep", "王芳", *flags)
    assert code == 0
    assert [row["lead_id"] for row in _rows(out)] == ["L1"]


# ---------------------------------------------------------------------------- closed leads


def _export(tmp_path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    """Leads L1.. with (created and assigned, owner, stage, lost date), the header read with
    its Chinese names."""
    path = tmp_path / "leads.csv"
    lines = [
        f"L{i + 1},{at},{owner},{at},{stage},{lost}"
        for i, (at, owner, stage, lost) in enumerate(rows)
    ]
    header = "线索ID,创建时间,负责人,分配时间,阶段,输单时间\n"
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_closed_leads_assigned_today_count_against_a_daily_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """李娜 closed 6 leads today under a daily cap of 8: 2 of 王芳's 5 leads fit, 3 wait."""
    playbook = tmp_path / "team.toml"
    playbook.write_text(
        PLAYBOOK.format(caps='[[caps]]\nname = "FixedCap"\ndaily = 8\n'), encoding="utf-8"
    )
    closed = [(f"2026-01-05 09:0{i}", "李娜", WON if i % 2 else LOST, "") for i in range(6)]
    mine = [(f"2026-01-05 10:0{i}", "王芳", OPEN, "") for i in range(5)]
    out = tmp_path / "handover.csv"
    leads = _export(tmp_path, closed + mine)
    assert _run(playbook, leads, out, "--rep", "王芳", "--to", "李娜") == 0
    rows = _rows(out)
    assert [row["lead_id"] for row in rows] == ["L7", "L8", "L9", "L10", "L11"]
    assert [row["to_rep_id"] for row in rows] == ["李娜", "李娜", "", "", ""]
    assert all("daily cap 8 reached" in row["reasons"] for row in rows[2:])
    said = capsys.readouterr().out
    assert "history: 6 closed leads (3 won, 3 lost) of 1 owner, in the ledger" in said


def test_a_learned_strategy_sees_who_closed_what(tmp_path: Path) -> None:
    """Over the days before, 李娜 won every lead she had and 张伟 and 刘洋 lost every one:
    PerformanceWeighted gives 李娜 most of 王芳's leads (with no history, a third each)."""
    playbook = tmp_path / "team.toml"
    text = PLAYBOOK.format(caps="").replace("EqualRotation", "PerformanceWeighted")
    playbook.write_text(text + "\n", encoding="utf-8")
    past = [
        (f"2026-01-0{day} 1{hour}:00", rep, WON if rep == "李娜" else LOST, "")
        for day in (2, 3)
        for hour, rep in enumerate(["李娜", "张伟", "刘洋"] * 3)
    ]
    mine = [(f"2026-01-05 10:0{i}", "王芳", OPEN, "") for i in range(9)]
    out = tmp_path / "handover.csv"
    assert _run(playbook, _export(tmp_path, past + mine), out, "--rep", "王芳") == 0
    went = Counter(row["to_rep_id"] for row in _rows(out))
    assert went["李娜"] > went["张伟"] + went["刘洋"]


def test_lost_leads_are_closed_at_their_date_and_strangers_history_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A lost lead of the rep who leaves stays (closed at its lost date, not in her book);
    closed leads of owners no longer on the roster are kept as theirs, and said."""
    rows = [
        ("2026-01-05 09:00", "王芳", LOST, "2026-01-05 12:00"),
        ("2026-01-05 09:01", "王芳", OPEN, ""),
        ("2026-01-05 09:02", "老陈", WON, ""),
        ("2026-01-05 09:03", "老陈", LOST, ""),
        ("2026-01-05 09:04", "Kevin", LOST, ""),
    ]
    out = tmp_path / "handover.csv"
    assert _run(_playbook(tmp_path), _export(tmp_path, rows), out, "--rep", "王芳") == 0
    assert [row["lead_id"] for row in _rows(out)] == ["L2"]
    said = capsys.readouterr().out
    assert "at 2026-01-05T12:00:00+00:00" in said  # the export's time: the loss is the latest
    assert "history: 4 closed leads (1 won, 3 lost) of 3 owners" in said
    assert (
        "history of owners not on the roster of " in said
        and "老陈 (2 closed leads), Kevin (1 closed lead): kept as theirs" in said
    )
    assert "warning: owners not on the roster" not in said  # no open lead of theirs


def test_an_open_lead_tagged_invalid_stays_open_and_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "线索ID,创建时间,负责人,分配时间,阶段,是否有效\n"
        f"L1,2026-01-05 09:00,王芳,2026-01-05 09:00,{OPEN},否\n"
        f"L2,2026-01-05 09:01,王芳,2026-01-05 09:01,{OPEN},是\n",
        encoding="utf-8",
    )
    out = tmp_path / "handover.csv"
    assert _run(_playbook(tmp_path), path, out, "--rep", "王芳") == 0
    assert [row["lead_id"] for row in _rows(out)] == ["L1", "L2"]
    assert "note: 1 open lead tagged invalid in" in capsys.readouterr().out


# ---------------------------------------------------------------------------- errors


def test_a_departing_rep_not_on_the_roster_is_named_with_the_closest_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = _leads(tmp_path, [("王芳", OPEN)])
    out = tmp_path / "handover.csv"
    assert _run(_playbook(tmp_path), leads, out, "--rep", "王方") == 2
    err = capsys.readouterr().err
    assert "leadrouter: error: --rep 王方: no rep of that id on the roster" in err
    assert "did you mean 王芳?" in err
    assert "loaded" not in err  # said before the leads file is read
    assert not out.exists()


def test_a_file_without_an_owner_column_names_the_flag_that_maps_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("线索ID,创建时间,销售代表X\nL1,2026-01-05 09:00,王芳\n", encoding="utf-8")
    out = tmp_path / "handover.csv"
    assert _run(_playbook(tmp_path), path, out, "--rep", "王芳") == 2
    err = capsys.readouterr().err
    assert "no column holds each lead's owner" in err
    assert "--columns rep_id='Your Header'" in err
    assert "销售代表X" in err  # the file's columns, to pick from
    assert not out.exists()


def test_a_departing_rep_with_no_open_lead_is_said_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = _leads(tmp_path, [("王芳", WON), ("李娜", OPEN)])
    out = tmp_path / "handover.csv"
    assert _run(_playbook(tmp_path), leads, out, "--rep", "王芳", "--rep", "张伟") == 0
    said = capsys.readouterr().out
    assert "handed over 0 open leads" in said
    assert "王芳 owns no open lead in" in said and "all closed" in said
    assert "张伟 owns no lead in" in said and "nothing to hand over" in said
    assert _rows(out) == []


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--to", "王芳"), "--to 王芳 is a rep who leaves"),
        (("--to", "李哪"), "--to 李哪: no rep of that id on the roster"),
        (("--at", "yesterday"), "--at yesterday: not a time"),
        (
            ("--at", "2026-01-05 08:00"),
            "--at 2026-01-05 08:00 is before what the export records of lead L2 (Assigned at",
        ),
    ],
    ids=["to-leaving", "to-unknown", "at-unreadable", "at-too-early"],
)
def test_bad_to_or_at_is_a_named_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: tuple[str, ...], message: str
) -> None:
    leads = _leads(tmp_path, [("王芳", OPEN), ("李娜", OPEN)])
    out = tmp_path / "handover.csv"
    assert _run(_playbook(tmp_path), leads, out, "--rep", "王芳", *flags) == 2
    err = capsys.readouterr().err
    assert f"leadrouter: error: {message}" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_an_unreadable_at_is_named_before_the_export_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("not,an\nexport\n", encoding="utf-8")
    assert (
        _run(_playbook(tmp_path), leads, tmp_path / "o.csv", "--rep", "王芳", "--at", "soon") == 2
    )
    assert "leadrouter: error: --at soon: not a time" in capsys.readouterr().err


def test_to_an_inactive_rep_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    playbook = _playbook(tmp_path)
    text = playbook.read_text(encoding="utf-8")
    playbook.write_text(
        text.replace('id = "张伟"', 'id = "张伟"\nactive = false'), encoding="utf-8"
    )
    leads = _leads(tmp_path, [("王芳", OPEN)])
    assert _run(playbook, leads, tmp_path / "o.csv", "--rep", "王芳", "--to", "张伟") == 2
    assert "--to 张伟: 张伟 is inactive" in capsys.readouterr().err


def test_owners_not_on_the_roster_are_warned_of(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = _leads(tmp_path, [("王芳", OPEN), ("wangfang2", OPEN)])
    assert _run(_playbook(tmp_path), leads, tmp_path / "o.csv", "--rep", "王芳") == 0
    assert "warning: owners not on the roster" in capsys.readouterr().out


def test_an_owner_written_like_a_departing_rep_is_said_not_handed_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CRM wrote 王芳 once as '王 芳': that lead is not hers to the roster, so it stays; the
    warning names her, and the roster's id like another stranger."""
    rows = [("王芳", OPEN), ("王 芳", OPEN), ("李 娜", OPEN), ("Kevin", OPEN)]
    leads = _leads(tmp_path, rows)
    assert _run(_playbook(tmp_path), leads, tmp_path / "o.csv", "--rep", "王芳") == 0
    out = capsys.readouterr().out
    assert "王 芳 (1 open lead, like 王芳, who leaves: not handed over)" in out
    assert "李 娜 (1 open lead, like 李娜)" in out
    assert "Kevin (1 open lead):" in out


def test_the_documented_example_runs(tmp_path: Path) -> None:
    out = tmp_path / "handover.csv"
    code = main(
        [
            "handover",
            str(EXAMPLE / "team.toml"),
            str(EXAMPLE / "open_leads.csv"),
            "--rep",
            "王芳",
            "--tz",
            "Asia/Shanghai",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert "刘洋" not in {row["to_rep_id"] for row in _rows(out)}  # at the cap of 3


def test_an_inactive_rep_holding_open_leads_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rep marked inactive on the roster (left earlier) who still owns open leads in the
    export keeps them: nothing hands them over, so the run says so and names the flag."""
    playbook = _playbook(tmp_path)
    text = playbook.read_text(encoding="utf-8")
    playbook.write_text(text.replace('id = "刘洋"', 'id = "刘洋"\nactive = false'), "utf-8")
    leads = _leads(tmp_path, [("王芳", OPEN), ("刘洋", OPEN), ("刘洋", OPEN), ("李娜", OPEN)])
    assert _run(playbook, leads, tmp_path / "out.csv", "--rep", "王芳") == 0
    printed = capsys.readouterr().out
    assert "inactive on the roster" in printed
    assert "刘洋 (2 open leads)" in printed and "add --rep 刘洋" in printed
    assert {row["from_rep_id"] for row in _rows(tmp_path / "out.csv")} == {"王芳"}
