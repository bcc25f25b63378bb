"""load_export: the files teams really have, read without guessing and without losing a row
silently."""

from __future__ import annotations

import importlib.util
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter.errors import (
    ConfigError,
    EmptyExportError,
    InvalidExportError,
    MissingColumnError,
    NaiveDatetimeError,
    NaiveExportTimeError,
    OutOfRangeError,
    ScoreScaleError,
)
from leadrouter.playbooks import load_playbook, read_playbook
from leadrouter.sim import History, load_export
from leadrouter.sim.history import COLUMNS
from leadrouter.sim.loader import ALIASES, _norm

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "examples" / "data"
SHANGHAI = timezone(timedelta(hours=8))


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def utc(*args: int) -> pd.Timestamp:
    return pd.Timestamp(datetime(*args, tzinfo=UTC))  # type: ignore[misc]


def rejected_rows(history: History) -> list[tuple[int, str]]:
    frame = history.rejected
    return list(zip(frame["row"].tolist(), frame["column"].tolist(), strict=True))


# --------------------------------------------------------------------------- encodings, headers


def test_utf8_with_bom_and_english_crm_headers(tmp_path: Path) -> None:
    path = write(
        tmp_path / "crm.csv",
        "\ufeffLead ID,Created At,Lead Source,Owner,First Contact,Converted,Amount\n"
        "L1,2025-03-03 09:00,search,wang,2025-03-03 09:20,yes,1200\n"
        "L2,2025-03-03 10:00,feed,li,,no,\n",
    )
    history = load_export(path, tz="Asia/Shanghai")
    frame = history.to_frame()
    assert frame["lead_id"].tolist() == ["L1", "L2"]
    assert frame["arrived_at"].tolist() == [utc(2025, 3, 3, 1), utc(2025, 3, 3, 2)]
    assert frame["rep_id"].tolist() == ["wang", "li"]
    assert frame["converted"].tolist() == [True, False]
    assert history.columns["lead_id"] == "Lead ID"  # the BOM is not part of the header
    assert history.columns["first_touch_at"] == "First Contact"
    assert history.rejected.empty


def test_gbk_file_with_chinese_headers_opens_without_naming_the_encoding(tmp_path: Path) -> None:
    path = write(
        tmp_path / "导出.csv",
        "线索编号,进线时间,渠道,区域,负责人,首次跟进时间,是否接通,是否有效,成交时间,成交金额\n"
        "X-1,2025/03/03 09:00:00,百度,华东,张伟,2025/03/03 09:05:00,是,有效,2025/03/05 15:00:00,"
        '"￥3,800"\n'
        "X-2,2025/03/03 11:30:00,抖音,华南,王芳,,否,无效,,\n",
        encoding="gbk",
    )
    history = load_export(path, tz="Asia/Shanghai")
    frame = history.to_frame()
    assert frame["source"].tolist() == ["百度", "抖音"]
    assert frame["region"].tolist() == ["华东", "华南"]
    assert frame["rep_id"].tolist() == ["张伟", "王芳"]
    assert frame["reached"].tolist() == [True, False]
    assert frame["valid"].tolist() == [True, False]
    assert frame["amount"].tolist()[0] == 3800.0
    assert frame["converted"].tolist() == [True, False]
    assert history.tz == "Asia/Shanghai"


def test_an_explicit_encoding_wins(tmp_path: Path) -> None:
    path = write(tmp_path / "big5.csv", "id,created,region\nT1,2025-03-03 09:00,臺北\n", "big5")
    history = load_export(path, encoding="big5", tz="Asia/Taipei")
    assert history.to_frame()["region"].tolist() == ["臺北"]
    gbk = write(tmp_path / "gbk.csv", "id,created,region\nT1,2025-03-03 09:00,华东\n", "gbk")
    with pytest.raises(InvalidExportError, match=r"gbk\.csv: not valid utf-8 at byte"):
        load_export(gbk, encoding="utf-8", tz="UTC")
    with pytest.raises(ConfigError, match="unknown encoding"):
        load_export(gbk, encoding="no-such-codec", tz="UTC")


def test_semicolon_and_tab_delimited_files(tmp_path: Path) -> None:
    semi = write(tmp_path / "semi.csv", "id;created;cost\nA;2025-03-03 09:00;12,5\n")
    tab = write(tmp_path / "tab.tsv", "id\tcreated\tcost\nA\t2025-03-03 09:00\t12.5\n")
    # 12,5 is twelve and a half (a comma followed by other than three digits is decimal)
    assert load_export(semi, tz="UTC").to_frame()["cost"].tolist() == [12.5]
    assert load_export(tab, tz="UTC").to_frame()["cost"].tolist() == [12.5]


def test_aliases_are_normalised_and_serve_one_field_each() -> None:
    seen: dict[str, str] = {}
    for field, aliases in ALIASES.items():
        for alias in aliases:
            assert _norm(alias) == alias, alias
            assert alias not in seen, f"{alias!r} serves {seen.get(alias)} and {field}"
            seen[alias] = field
    for header, field in {
        "Lead ID": "lead_id",
        "lead_id": "lead_id",
        "CREATED_AT": "arrived_at",
        "Assigned To": "rep_id",
        "first contact": "first_touch_at",
        "线索ID": "lead_id",
        "成本(元)": "cost",
        "线索成本（元）": "cost",
        "手机号": "contact",
        "跟进人": "rep_id",
    }.items():
        assert seen[_norm(header)] == field, header


# --------------------------------------------------------------------------- dates and zones


def test_day_first_dates_need_dayfirst(tmp_path: Path) -> None:
    path = write(tmp_path / "eu.csv", "id,created\nA,03-04-2025 09:15\nB,13-04-2025 10:00\n")
    history = load_export(path, dayfirst=True, tz="UTC")
    assert history.to_frame()["arrived_at"].tolist() == [
        utc(2025, 4, 3, 9, 15),
        utc(2025, 4, 13, 10),
    ]
    month_first = load_export(path, tz="UTC", dayfirst=False)
    assert month_first.to_frame()["arrived_at"].tolist() == [utc(2025, 3, 4, 9, 15)]
    reason = month_first.rejected["reason"].tolist()[0]
    assert month_first.rejected["row"].tolist() == [3]
    assert "'13-04-2025 10:00'" in reason
    assert "dayfirst=True" in reason


def test_excel_serials_unix_times_and_chinese_dates(tmp_path: Path) -> None:
    path = write(
        tmp_path / "mixed.csv",
        "id,created\n"
        "A,45719.375\n"  # Excel serial: 2025-03-03 09:00
        "B,1740992400\n"  # Unix seconds: 2025-03-03 09:00 UTC
        "C,2025年3月3日 9时05分\n"
        'D,"Mar 3, 2025 9:10 PM"\n'
        "E,2025-03-03T09:00:00Z\n"
        "F,12\n",
    )
    history = load_export(path, tz="Asia/Shanghai")
    at = dict(zip(history.to_frame()["lead_id"], history.to_frame()["arrived_at"], strict=True))
    assert at["A"] == utc(2025, 3, 3, 1)
    assert at["B"] == utc(2025, 3, 3, 9)
    assert at["C"] == utc(2025, 3, 3, 1, 5)
    assert at["D"] == utc(2025, 3, 3, 13, 10)
    assert at["E"] == utc(2025, 3, 3, 9)
    assert rejected_rows(history) == [(7, "created")]
    assert "is a number, not a time" in history.rejected["reason"].tolist()[0]


def test_naive_times_without_tz_raise_a_named_error(tmp_path: Path) -> None:
    path = write(tmp_path / "naive.csv", "线索ID,创建时间\nA,2025-03-03 09:00:00\n")
    with pytest.raises(NaiveExportTimeError) as caught:
        load_export(path)
    message = str(caught.value)
    assert "naive.csv" in message and "'创建时间'" in message and "row 2" in message
    assert "tz='Asia/Shanghai'" in message
    assert isinstance(caught.value, NaiveDatetimeError)
    assert isinstance(caught.value, ValueError)
    with pytest.raises(ConfigError, match="Asia/Shanghai"):
        load_export(path, tz="Beijing")


def test_naive_times_with_tz_are_local_and_aware_ones_keep_their_offset(tmp_path: Path) -> None:
    path = write(
        tmp_path / "zones.csv",
        "id,created\nA,2025-03-03 09:00\nB,2025-03-03 09:00+00:00\nC,2025-03-03 09:00-0500\n",
    )
    frame = load_export(path, tz="Asia/Shanghai").to_frame()
    assert frame.set_index("lead_id")["arrived_at"].to_dict() == {
        "A": utc(2025, 3, 3, 1),
        "B": utc(2025, 3, 3, 9),
        "C": utc(2025, 3, 3, 14),
    }


def test_aware_file_without_tz_reads_local_days_in_its_offset(tmp_path: Path) -> None:
    path = write(tmp_path / "aware.csv", "id,created\nA,2025-03-03 09:00+08:00\n")
    history = load_export(path)
    assert history.tz == "Etc/GMT-8"
    assert history.leads[0].arrived_at.utcoffset() == timedelta(hours=8)


def test_local_times_skipped_or_repeated_by_daylight_saving_are_flagged(tmp_path: Path) -> None:
    path = write(
        tmp_path / "berlin.csv",
        "id,created\nA,2025-03-30 02:30\nB,2025-10-26 02:30\nC,2025-03-30 04:00\n",
    )
    history = load_export(path, tz="Europe/Berlin")
    assert len(history) == 3
    flagged = history.flagged
    assert flagged["row"].tolist() == [2, 3]
    assert set(flagged["column"]) == {"created"}
    assert "does not exist in Europe/Berlin" in flagged["reason"].tolist()[0]
    assert "moved forward to 2025-03-30 03:00:00+02:00" in flagged["action"].tolist()[0]
    assert "happens twice" in flagged["reason"].tolist()[1]
    at = history.to_frame().set_index("lead_id")["arrived_at"]
    assert at["A"] == utc(2025, 3, 30, 1)
    assert at["B"] == utc(2025, 10, 26, 0, 30)  # the first 02:30, still summer time


# --------------------------------------------------------------------------- bad rows


def test_bad_rows_are_rejected_with_row_number_column_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path / "bad.csv",
        "Lead ID,Created At,Cost,Connected,Owner\n"
        "A,2025-03-03 09:00,50,yes,wang\n"
        "\n"  # a blank line is row 3 in a spreadsheet: counted, not reported
        "B,yesterday,50,no,wang\n"
        "C,2025-03-03 10:00,fifty,maybe,li\n"
        ",2025-03-03 11:00,50,no,li\n"
        "E,,-5,no,li\n"
        'F,2025-03-03 12:00,"1,200.50",,li\n',
    )
    history = load_export(path, tz="UTC")
    assert history.to_frame()["lead_id"].tolist() == ["A", "F"]
    assert history.to_frame()["cost"].tolist() == [50.0, 1200.5]
    assert rejected_rows(history) == [
        (4, "Created At"),
        (5, "Connected"),
        (5, "Cost"),
        (6, "Lead ID"),
        (7, "Cost"),
        (7, "Created At"),
    ]
    reasons = dict(zip(rejected_rows(history), history.rejected["reason"], strict=True))
    assert "'yesterday'" in reasons[(4, "Created At")]
    assert "'fifty' is not a number" in reasons[(5, "Cost")]
    assert "'maybe' is not yes or no" in reasons[(5, "Connected")]
    assert "no lead id" in reasons[(6, "Lead ID")]
    assert "negative" in reasons[(7, "Cost")]
    assert "no arrival time" in reasons[(7, "Created At")]
    err = capsys.readouterr().err
    assert err.strip() == f"{path}: 2 loaded, 4 rejected, see History.rejected"


def test_bad_rows_in_excel_carry_the_sheet_row_number(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "线索ID": [1001, 1002, None, 1004],
            "创建时间": [datetime(2025, 3, 3, 9), "not a date", None, 45719.5],
            "成交金额": [None, 100.0, None, 2500.0],
        }
    )
    frame.loc[2] = [None, None, None]  # a blank sheet row
    path = tmp_path / "leads.xlsx"
    frame.to_excel(path, index=False)
    history = load_export(path, tz="Asia/Shanghai")
    out = history.to_frame()
    assert out["lead_id"].tolist() == ["1001", "1004"]  # integral numbers read as ids
    assert out["arrived_at"].tolist() == [utc(2025, 3, 3, 1), utc(2025, 3, 3, 4)]
    assert out["converted"].tolist() == [False, True]
    assert rejected_rows(history) == [(3, "创建时间")]


def test_an_empty_first_sheet_names_the_sheets(tmp_path: Path) -> None:
    path = tmp_path / "two.xlsx"
    with pd.ExcelWriter(path) as book:
        pd.DataFrame().to_excel(book, sheet_name="Summary", index=False)
        leads = pd.DataFrame({"Lead ID": ["A1"], "Created At": ["2025-03-03 09:00"]})
        leads.to_excel(book, sheet_name="Leads", index=False)
    with pytest.raises(EmptyExportError) as caught:
        load_export(path, tz="UTC")
    assert str(caught.value) == (
        f"{path}: the workbook's first sheet, 'Summary', is empty, and leadrouter reads the first "
        "sheet: move the leads' sheet to the front, or save it as CSV (the other sheets: 'Leads')"
    )


def test_parquet_with_typed_and_aware_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "lead_id": ["P1", "P2"],
            "created_at": pd.to_datetime(["2025-03-03 09:00", "2025-03-03 10:00"]).tz_localize(
                "Asia/Shanghai"
            ),
            "cost": [120.0, 80.5],
            "valid": [True, False],
            "owner": ["wang", None],
            "campaign": ["spring", "spring"],
        }
    )
    path = tmp_path / "leads.parquet"
    frame.to_parquet(path)
    history = load_export(path)
    out = history.to_frame()
    assert out["arrived_at"].tolist() == [utc(2025, 3, 3, 1), utc(2025, 3, 3, 2)]
    assert out["cost"].tolist() == [120.0, 80.5]
    assert out["valid"].tolist() == [True, False]
    assert history.tz == "Asia/Shanghai"
    assert history.leads[0].features == {"campaign": "spring"}
    assert [row for row in history.flagged["reason"]] == ["a verdict but no rep"]


def test_file_type_is_read_from_the_bytes_not_the_name(tmp_path: Path) -> None:
    path = tmp_path / "export.dat"
    pd.DataFrame({"id": ["A"], "created": ["2025-03-03 09:00"]}).to_excel(path, index=False)
    assert len(load_export(path, tz="UTC")) == 1
    old = write(tmp_path / "old.xls", "")
    old.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    with pytest.raises(InvalidExportError, match=r"save it as \.xlsx"):
        load_export(old)


def test_a_missing_required_column_names_the_file_and_the_column(tmp_path: Path) -> None:
    path = write(tmp_path / "noid.csv", "when,owner\n2025-03-03 09:00,wang\n")
    with pytest.raises(MissingColumnError) as caught:
        load_export(path, tz="UTC")
    message = str(caught.value)
    assert "noid.csv" in message and "no lead_id column" in message and "columns=" in message
    path = write(tmp_path / "notime.csv", "id,owner\nA,wang\n")
    with pytest.raises(MissingColumnError, match=r"notime\.csv: no arrived_at column"):
        load_export(path, tz="UTC")


def test_no_usable_rows_is_an_error_naming_the_file(tmp_path: Path) -> None:
    header_only = write(tmp_path / "empty.csv", "id,created\n")
    with pytest.raises(EmptyExportError, match=r"empty\.csv: no rows under the header"):
        load_export(header_only, tz="UTC")
    all_bad = write(tmp_path / "allbad.csv", "id,created\nA,soon\nB,later\n")
    with pytest.raises(EmptyExportError, match=r"allbad\.csv: no usable rows.*row 2, created"):
        load_export(all_bad, tz="UTC")
    nothing = write(tmp_path / "zero.csv", "")
    with pytest.raises(EmptyExportError, match=r"zero\.csv: the file is empty"):
        load_export(nothing)


def test_duplicate_lead_ids_keep_the_first_row(tmp_path: Path) -> None:
    path = write(
        tmp_path / "dup.csv",
        "id,created,owner\nA,2025-03-03 09:00,wang\nB,2025-03-03 09:05,li\nA,2025-03-04 09:00,li\n",
    )
    history = load_export(path, tz="UTC")
    assert history.to_frame()["lead_id"].tolist() == ["A", "B"]
    assert history.to_frame()["rep_id"].tolist() == ["wang", "li"]
    assert rejected_rows(history) == [(4, "id")]
    assert "already in row 2" in history.rejected["reason"].tolist()[0]


@settings(max_examples=150, deadline=None)
@given(ids=st.lists(st.sampled_from(["A", "B", "C", " A ", "", "n/a", "Total"]), max_size=12))
def test_each_missing_or_repeated_lead_id_is_rejected_naming_its_first_row(ids: list[str]) -> None:
    """Every row without a lead id is rejected as such, every later row repeating one names
    the row that holds it first (ids read stripped), and every other row is kept, in order."""
    frame = pd.DataFrame({"id": ["Z", *ids], "created": "2025-03-03 09:00"})
    history = History.from_frame(frame, tz="UTC")
    first: dict[str, int] = {}
    expected = []
    for row, cell in enumerate(["Z", *ids], start=2):
        lead_id = cell.strip()
        if lead_id in ("", "n/a"):
            expected.append((row, "no lead id: every row needs one"))
        elif lead_id in first:
            expected.append(
                (
                    row,
                    f"lead id {lead_id!r} is already in row {first[lead_id]}: one row per lead, "
                    "the first is kept",
                )
            )
        else:
            first[lead_id] = row
    rejected = history.rejected
    assert list(zip(rejected["row"], rejected["reason"], strict=True)) == expected
    assert set(rejected["column"]) <= {"id"}
    assert history.to_frame()["lead_id"].tolist() == list(first)


TOUCHES = ["2025-03-05", "2025-03-06 00:00", "2025-03-06 10:30", "2025-13-45", "bad", ""]
"""First touches: a date alone, midnight written, a time of day, a date alone that is no
date, no time at all, none."""


@settings(max_examples=150, deadline=None)
@given(touches=st.lists(st.sampled_from(TOUCHES), min_size=1, max_size=8))
def test_a_first_touch_column_is_flagged_when_it_holds_dates_alone(touches: list[str]) -> None:
    """The first-touch column is flagged when two or more of its cells are written and every
    one is a date alone (whether or not it is a real date) or is read as midnight. (Its first
    row is kept, as the flag is on the first written cell's row.)"""
    touches = ["2025-03-05", *touches]
    frame = pd.DataFrame(
        {"id": [f"L{i}" for i in range(len(touches))], "created": "2025-03-01 08:00"}
    )
    frame["first touch"] = touches
    history = History.from_frame(frame, columns={"first touch": "first_touch_at"}, tz="UTC")
    written = [cell for cell in touches if cell]
    expected = len(written) >= 2 and (
        all(cell in ("2025-03-05", "2025-13-45") for cell in written)
        or all(cell in ("2025-03-05", "2025-03-06 00:00") for cell in written)
    )
    reasons = history.flagged["reason"].tolist()
    assert any(r.startswith("the column holds dates without times") for r in reasons) == expected


def test_an_arrival_of_days_alone_is_flagged_when_speed_to_lead_is_measured_from_it() -> None:
    """Salesforce's lead reports give "Create Date" as a day. With first touches and no
    assignment time, each lead is taken as assigned when it arrived, at midnight: speed to lead
    was measured from there, hours too slow, and no flag said so. A deal export (no first
    touches) or one with its own assignment times is not flagged for its created days."""
    base = {
        "id": ["L1", "L2", "L3"],
        "created": ["2025-03-03", "2025-03-03", "2025-03-04"],
        "first call": ["2025-03-03 10:15", "2025-03-03 14:40", "2025-03-04 09:05"],
    }

    def flagged(**extra: list[str]) -> list[str]:
        columns = {"first call": "first_touch_at", **dict.fromkeys(extra, "assigned_at")}
        history = History.from_frame(pd.DataFrame({**base, **extra}), columns=columns, tz="UTC")
        return history.flagged.loc[
            history.flagged["reason"].str.startswith("the column holds dates without times"),
            "column",
        ].tolist()

    assert flagged() == ["created"]
    assert flagged(assigned=["2025-03-03 10:01", "2025-03-03 14:30", "2025-03-04 09:00"]) == []
    deals = pd.DataFrame({"id": base["id"], "created": base["created"], "stage": "Won"})
    assert History.from_frame(deals, tz="UTC").flagged.empty


def test_columns_maps_headers_like_rename(tmp_path: Path) -> None:
    path = write(
        tmp_path / "custom.csv",
        "Ticket,When,Who,Source\nT1,2025-03-03 09:00,wang,expo\n",
    )
    history = load_export(
        path, columns={"Ticket": "lead_id", "When": "arrived_at", "Who": "rep_id"}, tz="UTC"
    )
    frame = history.to_frame()
    assert frame["lead_id"].tolist() == ["T1"]
    assert frame["rep_id"].tolist() == ["wang"]
    assert frame["source"].tolist() == ["expo"]  # still recognised without a map
    assert [rep.id for rep in history.roster] == ["wang"]
    with pytest.raises(ConfigError, match="did you mean 'rep_id'"):
        load_export(path, columns={"Who": "rep"}, tz="UTC")
    with pytest.raises(MissingColumnError, match="'Owner', which is not in the file"):
        load_export(path, columns={"Owner": "rep_id", "Ticket": "id", "When": "arrived_at"})


def test_a_mapped_header_wins_and_the_other_becomes_a_feature(tmp_path: Path) -> None:
    path = write(tmp_path / "two.csv", "id,created,来源,渠道\nA,2025-03-03 09:00,百度,搜索\n")
    history = load_export(path, columns={"渠道": "source"}, tz="UTC")
    assert history.to_frame()["source"].tolist() == ["搜索"]
    assert history.leads[0].features == {"来源": "百度"}


# --------------------------------------------------------------------------- consistency flags


def test_out_of_order_outcomes_are_moved_and_flagged_so_the_events_replay(tmp_path: Path) -> None:
    path = write(
        tmp_path / "order.csv",
        "id,created,owner,assigned,first contact,valid,converted at,amount\n"
        "A,2025-03-03 09:00,wang,2025-03-03 08:00,2025-03-03 09:30,yes,,\n"
        "B,2025-03-03 09:00,wang,2025-03-03 09:10,2025-03-03 09:05,yes,2025-03-02 12:00,500\n"
        "C,2025-03-03 09:00,,,2025-03-03 09:30,no,,\n"
        "D,2025-03-03 09:00,li,,,,,800\n",
    )
    history = load_export(path, tz="UTC")
    flagged = history.flagged
    assert list(zip(flagged["row"], flagged["column"], strict=True)) == [
        (2, "assigned"),
        (3, "converted at"),
        (3, "first contact"),
        (4, "first contact"),
    ]
    assert "before the lead arrived" in flagged["reason"].tolist()[0]
    assert flagged["action"].tolist()[0] == "set to 2025-03-03 09:00:00+00:00"
    assert "before the assignment" in flagged["reason"].tolist()[2]
    assert "but no rep" in flagged["reason"].tolist()[3]
    frame = history.to_frame().set_index("lead_id")
    assert frame.loc["A", "assigned_at"] == utc(2025, 3, 3, 9)
    assert frame.loc["B", "first_touch_at"] == utc(2025, 3, 3, 9, 10)
    assert frame.loc["B", "converted_at"] == utc(2025, 3, 3, 9, 10)
    ledger = lr.Ledger.from_events(history.events)
    assert ledger.status("B") == "converted"
    assert ledger.status("C") == "pooled"  # no rep: never assigned
    assert ledger.status("D") == "converted"  # an amount alone says it converted
    assert ledger.stats("li").revenue == 800.0


# --------------------------------------------------------------------------- the samples


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_samples_are_exactly_what_the_script_writes(tmp_path: Path) -> None:
    written = load_script().write(tmp_path)
    assert [p.name for p in written] == ["sample_export.csv", "sample_export_gbk.csv"]
    for path in written:
        assert (SAMPLES / path.name).read_bytes() == path.read_bytes(), (
            f"examples/data/{path.name} is stale: run python examples/data/make_samples.py"
        )


def test_both_samples_load_to_the_same_leads_and_outcomes() -> None:
    english = load_export(SAMPLES / "sample_export.csv")
    chinese = load_export(SAMPLES / "sample_export_gbk.csv", tz="Asia/Shanghai")
    assert len(english) == len(chinese) == 300
    assert english.rejected.empty and chinese.rejected.empty
    assert set(chinese.columns.values()) >= {"线索ID", "创建时间", "负责人", "首次跟进时间"}
    a, b = english.to_frame(), chinese.to_frame()
    for name in (
        "lead_id",
        "arrived_at",
        "first_touch_at",
        "converted_at",
        "amount",
        "cost",
        "reached",
        "valid",
        "converted",
    ):
        pd.testing.assert_series_equal(a[name], b[name])
    assert len(chinese.roster) == 6
    assert re.fullmatch(r"[\u4e00-\u9fff]{2}", chinese.roster[0].id)


def test_a_line_with_too_many_cells_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "ragged.csv", "id,created,cost\nA,2025-03-03 09:00,1\nB,2025-03-03 09:00,1,2\n"
    )
    with pytest.raises(InvalidExportError, match=r"ragged\.csv: cannot be read as CSV.*line 3"):
        load_export(path, tz="UTC")
    every = write(tmp_path / "every.csv", "id,created,cost\nA,2025-03-03 09:00,1,200\n")
    with pytest.raises(InvalidExportError, match="every row has more cells than the header"):
        load_export(every, tz="UTC")
    # a report's title above the header reads as a one-cell header: the message says so
    titled = write(tmp_path / "titled.csv", "Leads, March\nid,created,cost,x\nA,2025-03-03,1,2\n")
    with pytest.raises(InvalidExportError, match=r"delete a title line above it"):
        load_export(titled, tz="UTC")


def test_utf16_with_bom_opens_too(tmp_path: Path) -> None:
    path = write(tmp_path / "u16.csv", "线索ID\t创建时间\nA\t2025-03-03 09:00\n", "utf-16")
    assert load_export(path, tz="UTC").to_frame()["lead_id"].tolist() == ["A"]


def test_trailing_delimiters_leave_no_empty_column(tmp_path: Path) -> None:
    path = write(tmp_path / "trailing.csv", "id,created,\nA,2025-03-03 09:00,\n")
    assert list(load_export(path, tz="UTC").to_frame().columns) == list(COLUMNS)


# --------------------------------------------------------------------------- the score scale

STAMP = datetime(2025, 3, 3, 9, tzinfo=UTC)


def scored(scores: list[float | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(len(scores))],
            "arrived_at": [STAMP] * len(scores),
            "Lead Score": scores,
        }
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.none() | st.floats(0, 100), min_size=1, max_size=8).filter(
        lambda xs: any(x is not None and x > 1 for x in xs)
    )
)
def test_a_0_to_100_score_column_becomes_score_over_100_with_every_row_flagged(
    scores: list[float | None],
) -> None:
    history = History.from_frame(scored(scores))
    got = history.to_frame()["score"].tolist()
    for value, read in zip(scores, got, strict=True):
        assert math.isnan(read) if value is None else read == value / 100, (value, read)
    flagged = history.flagged
    assert flagged["row"].tolist() == [i + 2 for i, x in enumerate(scores) if x is not None]
    assert set(flagged["column"]) == {"Lead Score"}
    assert all("0-100 scale" in reason for reason in flagged["reason"])
    assert all(action.startswith("divided by 100: ") for action in flagged["action"])
    assert all(lead.score is None or 0 <= lead.score <= 1 for lead in history.leads)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.none() | st.floats(0, 1), min_size=1, max_size=8))
def test_a_0_to_1_score_column_is_kept_as_it_is_and_nothing_is_flagged(
    scores: list[float | None],
) -> None:
    history = History.from_frame(scored(scores))
    got = history.to_frame()["score"].tolist()
    assert [None if math.isnan(v) else v for v in got] == scores
    assert history.flagged.empty


@pytest.mark.parametrize("bad", ["140", "-5"])
def test_a_score_column_outside_0_to_100_names_file_row_and_column(
    tmp_path: Path, bad: str
) -> None:
    path = write(
        tmp_path / "march.csv",
        f"id,created,Lead Score\nA,2025-03-03 09:00,80\nB,2025-03-03 09:10,{bad}\n",
    )
    with pytest.raises(ScoreScaleError) as caught:
        load_export(path, tz="UTC")
    message = str(caught.value)
    assert "march.csv: column 'Lead Score' holds scores outside 0-100" in message
    assert f"row 3: '{bad}'" in message
    assert "rescale this column to 0-1" in message
    assert isinstance(caught.value, OutOfRangeError) and isinstance(
        caught.value, InvalidExportError
    )


def test_the_sample_exports_0_to_100_scores_load_as_0_to_1_and_say_so() -> None:
    """The bundled samples write scores 0-100, as many CRMs do; both load on the one scale."""
    english = load_export(SAMPLES / "sample_export.csv")
    chinese = load_export(SAMPLES / "sample_export_gbk.csv", tz="Asia/Shanghai")
    raw = pd.read_csv(SAMPLES / "sample_export.csv")["score"]
    assert raw.max() > 1
    pd.testing.assert_series_equal(english.to_frame()["score"], raw / 100, check_names=False)
    pd.testing.assert_series_equal(english.to_frame()["score"], chinese.to_frame()["score"])
    assert len(english.flagged) == len(chinese.flagged) == raw.notna().sum()
    assert set(chinese.flagged["column"]) == {"评分"}


def test_every_playbook_nurture_threshold_nurtures_some_sample_leads() -> None:
    """A playbook's `nurture below=` is on the 0-1 scale, so on the sample export it keeps some
    leads, but not all, away from reps (on 0-100 scores it would nurture none)."""
    sample = load_export(SAMPLES / "sample_export.csv")
    checked = []
    for path in sorted((ROOT / "strategies").glob("*.toml")):
        if not any(repr(rule).startswith("nurture(") for rule in read_playbook(path)["rules"]):
            continue
        router = load_playbook(path)
        pools = [router.route(lead, now=lead.arrived_at).pool for lead in sample.leads]
        nurtured = pools.count("nurture")
        assert 0 < nurtured < len(sample) // 2, (path.name, nurtured)
        checked.append(path.name)
    assert checked, "no playbook has a nurture rule to check"


def test_a_file_whose_only_row_is_rejected_says_so_in_the_singular(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("lead_id,arrived_at\nA1,not a time\n", encoding="utf-8")
    with pytest.raises(EmptyExportError) as caught:
        load_export(path, tz="UTC")
    message = str(caught.value)
    assert "no usable rows: its one row was rejected (row 2, arrived_at: " in message
    assert "...)" not in message and "all 1 rows" not in message


@pytest.mark.parametrize("word", ["not yet", "未跟进", "N/A"])
def test_an_arrival_written_as_not_yet_is_a_rejected_row_naming_its_row_and_column(
    tmp_path: Path, word: str
) -> None:
    """A time column's words for "none yet" are blanks there, the arrival column included: the
    row is rejected like any row without an arrival time, never a History-wide error."""
    path = write(
        tmp_path / "export.csv",
        "lead_id,created_at,owner,converted\n"
        "1,2026-01-05 09:15,ann,yes\n"
        f"2,{word},bob,no\n"
        "3,2026-01-06 09:15,bob,no\n",
    )
    history = load_export(path, tz="UTC")
    assert [lead.id for lead in history.leads] == ["1", "3"]
    assert history.rejected.to_dict("records") == [
        {"row": 3, "column": "created_at", "reason": "no arrival time: every lead needs one"}
    ]


def _short_flags(history: History) -> dict[int, str]:
    flagged = history.flagged
    short = flagged[flagged["reason"].str.contains("of the header's")]
    return dict(zip(short["row"], short["column"], strict=True))


def test_a_file_cut_off_inside_its_last_row_is_flagged_there(tmp_path: Path) -> None:
    """The last lead lost its status and amount to the cut: kept, read as open, and said."""
    path = tmp_path / "cut.csv"
    path.write_text(
        "lead_id,arrived_at,owner,status,amount\n"
        "1,2026-01-05 09:00 +0800,ann,won,100\n"
        "2,2026-01-05 10:00 +0800,bob,lost,\n"
        "3,2026-01-05 11:00 +0800,ann",
        encoding="utf-8",
    )
    history = load_export(path)
    assert len(history.leads) == 3
    assert _short_flags(history) == {4: "status"}
    reason = history.flagged.set_index("row").loc[4, "reason"]
    assert "3 of the header's 5 cells (the file's last row: was the file cut off?)" in reason


def test_a_line_break_outside_quotes_flags_both_halves_of_its_row(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text(
        "lead_id,arrived_at,owner,note,status\n"
        "1,2026-01-05 09:00 +0800,ann,called twice,won\n"
        "2,2026-01-05 10:00 +0800,bob,first line\nsecond line,lost\n"
        "3,2026-01-05 11:00 +0800,ann,,lost\n",
        encoding="utf-8",
    )
    history = load_export(path)
    assert _short_flags(history) == {3: "status", 4: "owner"}
    assert 4 in set(history.rejected["row"])  # 'second line' has no arrival time: not a lead


@pytest.mark.parametrize(
    "body",
    [
        "1,2026-01-05 09:00 +0800,ann,won\n2,2026-01-05 10:00 +0800,bob,\n",
        "1,2026-01-05 09:00 +0800,ann,won\n\n2,2026-01-05 10:00 +0800,bob,\n",  # a blank line
        '1,2026-01-05 09:00 +0800,ann,"won\n(late)"\n2,2026-01-05 10:00 +0800,bob,lost',
    ],
)
def test_whole_rows_are_not_flagged_short(tmp_path: Path, body: str) -> None:
    path = tmp_path / "whole.csv"
    path.write_text("lead_id,arrived_at,owner,status\n" + body, encoding="utf-8")
    assert _short_flags(load_export(path)) == {}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cells=st.lists(st.integers(min_value=2, max_value=6), min_size=1, max_size=12),
    ends_with_break=st.booleans(),
)
def test_exactly_the_rows_with_fewer_cells_than_the_header_are_flagged(
    tmp_path: Path, cells: list[int], ends_with_break: bool
) -> None:
    """Whatever rows lose their trailing cells, those rows and no others are flagged, at the
    first missing column, and every lead is kept."""
    headers = ["lead_id", "arrived_at", "owner", "source", "region", "campaign"]
    lines = [",".join(headers)]
    for number, kept in enumerate(cells):
        row = [f"L{number}", "2026-01-05 09:00 +0800", "ann", "ads", "north", "spring"]
        lines.append(",".join(row[:kept]))
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + ("\n" if ends_with_break else ""), encoding="utf-8")
    history = load_export(path)
    assert len(history.leads) == len(cells)
    expected = {number + 2: headers[kept] for number, kept in enumerate(cells) if kept < 6}
    assert _short_flags(history) == expected


def test_a_time_years_away_from_the_rest_of_its_column_is_flagged_and_kept() -> None:
    """A mistyped year (`1930` among leads of March 2025) stretched the history to 95 years
    with no word: it is flagged on its row, read as written; a time within a year of the rest
    is not."""
    created = [f"2025-03-{1 + i % 28:02d} 09:{i:02d}" for i in range(40)]
    created[5], created[9] = "1930-03-06 09:05", "2026-01-05 10:00"
    history = History.from_frame(pd.DataFrame({"id": range(40), "created": created}), tz="UTC")
    assert len(history) == 40
    assert history.flagged[["row", "column"]].values.tolist() == [[7, "created"]]
    assert history.flagged["reason"].iloc[0] == (
        "'1930-03-06 09:05' is 95 years before the rest of its column (80% of it falls between "
        "2025-03-02 and 2025-03-25): read as written"
    )


@settings(max_examples=60, deadline=None)
@given(minutes=st.lists(st.integers(0, 365 * 24 * 60), min_size=20, max_size=60))
def test_times_within_a_year_of_each_other_are_never_flagged_as_far_off(
    minutes: list[int],
) -> None:
    start = pd.Timestamp("2025-01-01 00:00")
    created = [(start + pd.Timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M") for m in minutes]
    frame = pd.DataFrame({"id": range(len(created)), "created": created})
    assert History.from_frame(frame, tz="UTC").flagged.empty
