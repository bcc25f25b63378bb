"""load_export: dates written day first are read so when the file says so, and a header written
twice is never read silently (one column taken as the field, the other as a feature)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from leadrouter.errors import InvalidExportError
from leadrouter.sim import History, load_export
from leadrouter.sim.celltime import _parse_one
from leadrouter.sim.dates import assemble

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "data" / "sample_export.csv"
TIMES = ("arrived_at", "assigned_at", "first_touch_at", "converted_at")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> pd.Timestamp:
    return pd.Timestamp(datetime(year, month, day, hour, minute, tzinfo=UTC))


def day_first_sample(tmp_path: Path) -> Path:
    """The bundled sample with every time written dd/mm/yyyy HH:MM, as a European CRM does."""
    text = SAMPLE.read_text(encoding="utf-8")
    swapped = re.sub(
        r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):\d{2}\+08:00",
        lambda m: f"{m[3]}/{m[2]}/{m[1]} {m[4]}:{m[5]}",
        text,
    )
    return write(tmp_path / "eu.csv", swapped)


# --------------------------------------------------------------------------- dates


def test_a_day_first_export_is_read_day_first_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = load_export(day_first_sample(tmp_path), tz="Asia/Shanghai")
    assert "dates read day first (dd/mm/yyyy)" in capsys.readouterr().err
    assert history.rejected.empty
    expected = load_export(SAMPLE).to_frame()
    got = history.to_frame()
    for field in TIMES:
        assert got[field].equals(expected[field].dt.floor("min")), field
    notes = history.flagged[history.flagged["reason"].str.startswith("dates read day first")]
    assert len(notes) == 1
    note = notes.iloc[0]
    assert "cannot be month first" in note["reason"]
    value = re.search(r"'([^']+)'", note["reason"])
    assert value is not None and int(value[1][:2]) > 12
    assert "dayfirst=False" in note["action"]


def test_the_note_names_the_row_and_column_of_a_date_only_readable_day_first(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path / "eu.csv",
        "Lead ID,Created At\nA,01/03/2025 09:00\nB,02/03/2025 09:00\nC,03/03/2025 09:00\n"
        "D,13/03/2025 09:00\n",
    )
    history = load_export(path, tz="UTC")
    assert history.to_frame()["arrived_at"].tolist() == [
        utc(2025, 3, day, 9) for day in (1, 2, 3, 13)
    ]
    assert history.flagged.to_dict("records") == [
        {
            "row": 5,
            "column": "Created At",
            "reason": "dates read day first (dd/mm/yyyy): '13/03/2025 09:00' cannot be month "
            "first, and no date of the file can only be month first",
            "action": "every dd/mm/yyyy date of the file read day first; give dayfirst=False to "
            "read them month first",
        }
    ]


def test_dates_only_readable_one_way_each_in_one_file_are_an_error_naming_both(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path / "mixed.csv",
        "id,created,close date\nA,13/03/2025 09:00,\nB,03/04/2025 10:00,03/14/2025 11:00\n",
    )
    with pytest.raises(InvalidExportError) as caught:
        load_export(path, tz="UTC")
    message = str(caught.value)
    assert str(path) in message
    assert "'13/03/2025 09:00' in column 'created' row 2 can only be day first" in message
    assert "'03/14/2025 11:00' in column 'close date' row 3 only month first" in message
    assert "dayfirst=True or dayfirst=False" in message and "ISO 8601" in message
    with pytest.raises(InvalidExportError, match="give --dayfirst or --no-dayfirst to read them"):
        load_export(path, tz="UTC", audience="command")
    # either explicit choice reads the file that way, rejecting what cannot be read so
    day = load_export(path, tz="UTC", dayfirst=True)
    assert day.rejected["row"].tolist() == [3]
    month = load_export(path, tz="UTC", dayfirst=False)
    assert month.rejected["row"].tolist() == [2]


def test_a_file_of_ambiguous_dates_is_read_month_first_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing in the file settles 03/04/2025: read month first, and the note names a date that
    could be either and the option to read them day first; a date that decides leaves no note."""
    path = write(tmp_path / "us.csv", "id,created\nA,2025-02-01 08:00\nB,03/04/2025 09:00\n")
    history = load_export(path, tz="UTC")
    assert history.to_frame()["arrived_at"].tolist() == [utc(2025, 2, 1, 8), utc(2025, 3, 4, 9)]
    assert history.rejected.empty
    assert history.flagged.to_dict("records") == [
        {
            "row": 3,
            "column": "created",
            "reason": "dates read month first (mm/dd/yyyy): '03/04/2025 09:00' can be read "
            "either way, and no date of the file settles it (a day above 12, dots, or a weekday)",
            "action": "every dd/mm/yyyy date of the file read month first; give dayfirst=True "
            "if they are day first",
        }
    ]
    assert "dates read month first (mm/dd/yyyy), which nothing in the file settles" in (
        capsys.readouterr().err
    )
    same = write(tmp_path / "same.csv", "id,created\nA,03/03/2025 09:00\nB,12/12/2025 10:00\n")
    assert load_export(same, tz="UTC").flagged.empty  # the same date either way
    assert load_export(path, tz="UTC", dayfirst=False).flagged.empty
    month_only = write(tmp_path / "us2.csv", "id,created\nA,03/04/2025 09:00\nB,03/14/2025 9:00\n")
    settled = load_export(month_only, tz="UTC")
    assert settled.to_frame()["arrived_at"].tolist() == [utc(2025, 3, 4, 9), utc(2025, 3, 14, 9)]
    assert settled.flagged.empty


def test_an_explicit_dayfirst_false_reads_month_first_as_before(tmp_path: Path) -> None:
    history = load_export(day_first_sample(tmp_path), tz="Asia/Shanghai", dayfirst=False)
    assert len(history.rejected)
    reasons = history.rejected["reason"]
    assert reasons.str.contains("is not a valid date read month first").all()
    assert reasons.str.contains("give dayfirst=True").all()
    assert not history.flagged["reason"].str.contains("day first").any()
    first = history.to_frame().iloc[0]
    assert first["arrived_at"] == utc(2025, 3, 2, 22, 18)  # 03/03: the same either way


def test_a_date_that_is_no_date_either_way_does_not_decide(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", "id,created\nA,03/04/2025 09:00\nB,13/13/2025 10:00\n")
    history = load_export(path, tz="UTC")
    assert history.to_frame()["arrived_at"].tolist() == [utc(2025, 3, 4, 9)]
    assert "read month first" in str(history.rejected["reason"].iat[0])


# --------------------------------------------------------------------------- headers


def test_a_header_written_twice_and_read_as_a_field_is_an_error_naming_its_columns(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path / "dup.csv",
        "Lead ID,Created At,Owner,Owner,Cost\nA,2025-03-03 09:00,ann,bob,3\n",
    )
    with pytest.raises(InvalidExportError) as caught:
        load_export(path, tz="UTC")
    message = str(caught.value)
    assert "'Owner' is written twice, in columns 3 (C) and 4 (D), and is read as rep_id" in message
    assert "rename or delete the repeats" in message
    assert "columns={'Owner.1': 'rep_id'}" in message
    with pytest.raises(InvalidExportError, match=r"--columns rep_id=Owner\.1"):
        load_export(path, tz="UTC", audience="command")


def test_naming_one_repeat_in_columns_says_which_holds_the_field(tmp_path: Path) -> None:
    path = write(
        tmp_path / "dup.csv",
        "Lead ID,Created At,Owner,Owner,Cost\nA,2025-03-03 09:00,ann,bob,3\n",
    )
    history = load_export(path, tz="UTC", columns={"Owner.1": "rep_id"})
    frame = history.to_frame()
    assert frame["rep_id"].tolist() == ["bob"] and frame["Owner"].tolist() == ["ann"]
    assert history.flagged["row"].tolist() == [1]
    reason = str(history.flagged["reason"].iat[0])
    assert "'Owner' is written twice (columns 3 (C) and 4 (D))" in reason


def test_a_repeated_header_read_as_no_field_is_kept_and_flagged(tmp_path: Path) -> None:
    path = write(
        tmp_path / "notes.csv",
        "Lead ID,Created At,Note,Cost,Note,Note.1\nA,2025-03-03 09:00,x,3,y,z\n",
    )
    history = load_export(path, tz="UTC")
    frame = history.to_frame()
    assert frame[["Note", "Note.2", "Note.1"]].iloc[0].tolist() == ["x", "y", "z"]
    assert history.flagged.to_dict("records") == [
        {
            "row": 1,
            "column": "Note",
            "reason": "the header 'Note' is written twice (columns 3 (C) and 5 (E))",
            "action": "read column C as the lead feature 'Note'; column E as the lead feature "
            "'Note.2'",
        }
    ]


def test_a_header_really_written_with_a_number_is_not_a_repeat(tmp_path: Path) -> None:
    path = write(
        tmp_path / "v.csv",
        "Lead ID,Created At,Owner,Owner.1\nA,2025-03-03 09:00,ann,bob\n",
    )
    history = load_export(path, tz="UTC")
    assert history.flagged.empty
    assert history.to_frame()["rep_id"].tolist() == ["ann"]


def test_from_frame_with_a_repeated_column_name_is_the_named_error() -> None:
    frame = pd.DataFrame(
        [["A", "2025-03-03 09:00", "ann", "bob"]],
        columns=["Lead ID", "Created At", "Owner", "Owner"],
    )
    with pytest.raises(InvalidExportError, match=r"DataFrame: the header 'Owner' is written twice"):
        History.from_frame(frame, tz="UTC")
    history = History.from_frame(frame, tz="UTC", columns={"Owner.1": "rep_id"})
    assert history.to_frame()["rep_id"].tolist() == ["bob"]


def test_an_excel_export_with_a_repeated_header_is_the_same_error(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    path = tmp_path / "dup.xlsx"
    frame = pd.DataFrame(
        [["A", "2025-03-03 09:00", "ann", "bob"]],
        columns=["Lead ID", "Created At", "Owner", "Owner"],
    )
    frame.to_excel(path, index=False)
    with pytest.raises(InvalidExportError, match=r"columns 3 \(C\) and 4 \(D\)"):
        load_export(path, tz="UTC")


@pytest.mark.parametrize(
    ("cell", "dayfirst", "why"),
    [
        ("2025-02-30 09:00", False, "is not a valid date and time: February 2025 has 28 days"),
        ("2024-02-30", False, "February 2024 has 29 days"),
        ("2025-13-01", False, "there is no month 13"),
        ("2025-03-01 25:00", False, "hour 25 is past 23"),
        ("2025-03-01 24:30", False, "hour 24 is past 23"),  # 24:00 alone ends a day
        ("9999-12-31 24:00", False, "year 10000 is out of range"),
        ("2025-03-01 09:75", False, "minute 75 is past 59"),
        ("2025-03-01 09:15:60", False, "second 60 is past 59"),
        ("3/1/2025 13:15 PM", False, "13 PM is no hour: a 12-hour clock runs from 1 to 12"),
        ("31/04/2025", True, "read day first (dd-mm-yyyy): April 2025 has 30 days"),
        ("04/31/2025", False, "April 2025 has 30 days; if your dates are written day first"),
        ("Feb 30, 2026 9:15 AM", False, "February 2026 has 28 days"),
    ],
)
def test_a_date_that_names_no_day_says_why(cell: str, dayfirst: bool, why: str) -> None:
    reason = _parse_one(cell, dayfirst)
    assert isinstance(reason, str)
    assert why in reason, reason


@given(
    year=st.integers(1, 9999),
    month=st.integers(0, 14),
    day=st.integers(0, 32),
    hour=st.integers(0, 26),
    minute=st.integers(0, 61),
)
@example(year=2025, month=2, day=28, hour=24, minute=0)
@example(year=9999, month=12, day=31, hour=24, minute=0)
@example(year=2025, month=2, day=28, hour=24, minute=1)
def test_a_time_is_refused_with_a_reason_exactly_when_no_such_moment_exists(
    year: int, month: int, day: int, hour: int, minute: int
) -> None:
    """The reason and the moment agree with Python's calendar: one of them, never both; 24:00
    is the day's end, the next day's midnight, as ISO 8601 writes it."""
    rest = (str(hour), str(minute), None, None, None, None)
    end_of_day = hour == 24 and minute == 0
    try:
        exists: datetime | None = datetime(year, month, day, 0 if end_of_day else hour, minute)
        if end_of_day and exists is not None:
            exists += timedelta(days=1)
    except (ValueError, OverflowError):
        exists = None
    moment = assemble(year, month, day, rest)
    assert (moment if isinstance(moment, datetime) else None) == exists
    assert (isinstance(moment, str) and moment != "") == (exists is None)


def test_the_end_of_a_day_written_24_00_is_the_next_days_midnight(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "线索ID,创建时间\nA1,2025-03-31 24:00:00\nA2,2025/12/31 24:00\nA3,2025-03-05 24:30\n",
        encoding="utf-8",
    )
    history = load_export(path, tz="Asia/Shanghai")
    assert history.to_frame()["arrived_at"].tolist() == [
        pd.Timestamp("2025-03-31 16:00", tz="UTC"),
        pd.Timestamp("2025-12-31 16:00", tz="UTC"),
    ]
    (reason,) = history.rejected["reason"]
    assert reason == "'2025-03-05 24:30' is not a valid date and time: hour 24 is past 23"
