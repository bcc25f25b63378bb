"""load_export on times that close with a time-zone name (`1/5/2026 9:15 AM EST`): a name the tz
database gives one offset is read as that offset; one it gives several (`CST`, `PST`, `IST`) is
read only when the `tz` given writes it, and otherwise its row is refused with the meanings and
the fix; a name no zone writes is refused as such; a name its date does not fit (`EDT` in
January) is read as written and flagged once per column; and a file written with a zone's names
is read in that zone's local days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadrouter.sim import History, load_export
from leadrouter.sim.zonenames import named_zone
from tests.test_sim_us_dates import arrivals
from tests.test_sim_us_dates import at as utc


def load(folder: Path, cells: list[str], **options: object) -> History:
    path = folder / "export.csv"
    rows = "".join(f'{i},"{cell}",ann,no\n' for i, cell in enumerate(cells, 1))
    path.write_text("lead_id,created_at,owner,converted\n" + rows, encoding="utf-8")
    return load_export(path, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1/5/2026 9:15 AM EST", utc(2026, 1, 5, 14, 15)),  # Salesforce-style US time
        ("2026-07-06 10:15 EDT", utc(2026, 7, 6, 14, 15)),
        ("Jan 5, 2026 9:15 PM MST", utc(2026, 1, 6, 4, 15)),
        ("Mon, Jan 5, 2026 9:15 AM AKST", utc(2026, 1, 5, 18, 15)),  # weekday checked too
        ("2026-01-05 09:15 CET", utc(2026, 1, 5, 8, 15)),
        ("2026-07-06 09:15:30 CEST", utc(2026, 7, 6, 7, 15, 30)),
        ("5 Jan 2026 9:15am JST", utc(2026, 1, 5, 0, 15)),
        ("2026-01-05 09:15 AEDT", utc(2026, 1, 4, 22, 15)),
        ("2026-01-05 09:15 NST", utc(2026, 1, 5, 12, 45)),  # Newfoundland, half an hour
        ("2026-01-05 09:15 UTC", utc(2026, 1, 5, 9, 15)),  # read as before
    ],
)
def test_a_name_with_one_offset_is_read_as_that_offset(
    tmp_path: Path, cell: str, expected: datetime
) -> None:
    history = load(tmp_path, [cell, cell])
    assert arrivals(history) == [expected, expected]
    assert history.rejected.empty


_ONE_OFFSET = {"EST": -5, "EDT": -4, "MDT": -6, "PDT": -7, "HST": -10, "CET": 1, "EET": 2, "KST": 9}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 12, 31)),
    name=st.sampled_from(sorted(_ONE_OFFSET)),
)
def test_a_name_reads_as_the_instant_its_offset_names(
    tmp_path: Path, moment: datetime, name: str
) -> None:
    """The same wall clock written with the name, in three layouts, and with the offset in
    digits: one instant, whatever the season (the name is read as written)."""
    moment = moment.replace(second=0, microsecond=0)
    hours = _ONE_OFFSET[name]
    offset = f"{'-' if hours < 0 else '+'}{abs(hours):02d}:00"
    twelve = f"{moment.hour % 12 or 12}:{moment:%M} {'PM' if moment.hour >= 12 else 'AM'}"
    cells = [
        f"{moment:%Y-%m-%d %H:%M} {name}",
        f"{moment.month}/{moment.day}/{moment.year} {twelve} {name}",
        f"{moment:%b} {moment.day}, {moment.year} {twelve} {name}",
        f"{moment:%Y-%m-%d %H:%M}{offset}",
    ]
    expected = moment.replace(tzinfo=timezone(timedelta(hours=hours))).astimezone(UTC)
    assert arrivals(load(tmp_path, cells)) == [expected] * 4


@pytest.mark.parametrize(
    ("name", "meanings", "example"),
    [
        ("CST", ["UTC-06:00 (America/Chicago)", "UTC+08:00 (Asia/Shanghai)"], "America/Chicago"),
        (
            "PST",
            ["UTC-08:00 (America/Los_Angeles)", "UTC+08:00 (Asia/Manila)"],
            "America/Los_Angeles",
        ),
        ("IST", ["UTC+05:30 (Asia/Kolkata)", "UTC+02:00 (Asia/Jerusalem)"], "Asia/Kolkata"),
    ],
)
def test_a_name_with_several_offsets_is_refused_without_a_zone_that_settles_it(
    tmp_path: Path, name: str, meanings: list[str], example: str
) -> None:
    cell = f"1/5/2026 9:15 AM {name}"
    history = load(tmp_path, [cell, "2026-01-05 09:15Z"])
    assert len(history) == 1  # the row is refused, never read at one of its meanings
    (reason,) = history.rejected["reason"]
    assert reason.startswith(f"{cell!r} ends in {name}, which the tz database writes for ")
    for meaning in meanings:
        assert meaning in reason
    assert f"e.g. tz={example!r}, to say which {name} it means" in reason
    said_on_the_command_line = load(tmp_path, [cell, "2026-01-05 09:15Z"], audience="command")
    assert f"e.g. --tz {example}," in said_on_the_command_line.rejected["reason"].iloc[0]


@pytest.mark.parametrize(
    ("tz", "cells", "hours"),
    [
        ("America/Chicago", ["1/5/2026 9:15 AM CST", "7/6/2026 9:15 AM CDT"], [-6, -5]),
        ("Asia/Shanghai", ["1/5/2026 9:15 AM CST", "7/6/2026 9:15 AM CST"], [8, 8]),
        ("America/Havana", ["1/5/2026 9:15 AM CST", "7/6/2026 9:15 AM CDT"], [-5, -4]),
        ("America/Los_Angeles", ["1/5/2026 9:15 AM PST", "7/6/2026 9:15 AM PDT"], [-8, -7]),
        ("Asia/Manila", ["1/5/2026 9:15 AM PST", "7/6/2026 9:15 AM PST"], [8, 8]),
        ("Europe/Dublin", ["1/5/2026 9:15 AM GMT", "7/6/2026 9:15 AM IST"], [0, 1]),
    ],
)
def test_the_zone_given_settles_a_name_it_writes(
    tmp_path: Path, tz: str, cells: list[str], hours: list[int]
) -> None:
    history = load(tmp_path, cells, tz=tz)
    walls = [datetime(2026, 1, 5, 9, 15), datetime(2026, 7, 6, 9, 15)]
    assert arrivals(history) == [
        wall.replace(tzinfo=timezone(timedelta(hours=h))).astimezone(UTC)
        for wall, h in zip(walls, hours, strict=True)
    ]
    assert history.rejected.empty and history.flagged.empty


def test_a_zone_given_that_writes_another_name_leaves_a_one_offset_name_as_written(
    tmp_path: Path,
) -> None:
    history = load(tmp_path, ["1/5/2026 9:15 AM EST", "1/5/2026 9:15 AM"], tz="Europe/Paris")
    assert arrivals(history) == [utc(2026, 1, 5, 14, 15), utc(2026, 1, 5, 8, 15)]


def test_a_name_no_zone_writes_is_refused_as_such(tmp_path: Path) -> None:
    history = load(tmp_path, ["1/5/2026 9:15 AM XST", "1/5/2026 9:15 AM EST"])
    (reason,) = history.rejected["reason"]
    assert reason.startswith(
        "'1/5/2026 9:15 AM XST' ends in XST, which is no time-zone name the tz database writes:"
    )
    assert "e.g. tz='America/New_York'" in reason


def test_a_daylight_name_in_winter_is_read_as_written_and_flagged_once_for_the_column(
    tmp_path: Path,
) -> None:
    cells = ["1/5/2026 9:15 AM EDT", "1/6/2026 9:15 AM EDT", "7/6/2026 9:15 AM EDT"]
    history = load(tmp_path, cells)
    assert arrivals(history)[:2] == [utc(2026, 1, 5, 13, 15), utc(2026, 1, 6, 13, 15)]
    (flag,) = history.flagged.to_dict("records")
    assert (flag["row"], flag["column"]) == (2, "created_at")
    assert flag["reason"] == (
        "2 time(s) carry a zone name their date does not fit, the first '1/5/2026 9:15 AM EDT': "
        "EDT on 2026-01-05, when America/New_York writes EST (and no zone writes EDT)"
    )
    assert flag["action"].startswith("read as written, at the offset the name gives")


def test_a_standard_name_all_year_is_not_flagged(tmp_path: Path) -> None:
    """Panama writes EST all year, Arizona MST: a standard name in summer fits some zone."""
    history = load(tmp_path, ["7/6/2026 9:15 AM EST", "7/6/2026 9:15 AM MST"])
    assert history.flagged.empty and history.rejected.empty


@pytest.mark.parametrize(
    ("cells", "zone"),
    [
        (["1/5/2026 9:15 AM EST", "7/6/2026 9:15 AM EDT"], "America/New_York"),
        (["2026-01-05 09:15 CET", "2026-07-06 09:15 CEST"], "Europe/Paris"),
        (["1/5/2026 9:15 AM EST", "1/6/2026 9:15 AM EST"], "Etc/GMT+5"),  # one offset
        (["1/5/2026 9:15 AM EST", "1/6/2026 9:15 AM CET"], "UTC"),  # no one zone's clock
    ],
)
def test_local_days_follow_the_zone_whose_names_the_file_writes(
    tmp_path: Path, cells: list[str], zone: str
) -> None:
    assert load(tmp_path, cells).tz == zone


def test_as_of_may_close_with_a_zone_name(tmp_path: Path) -> None:
    history = load(tmp_path, ["1/5/2026 9:15 AM EST"] * 2, as_of="1/31/2026 6:00 PM EST")
    assert history.as_of == utc(2026, 1, 31, 23)


def test_a_name_in_lower_case_or_inside_a_word_is_left_to_the_date_reader() -> None:
    """Only capitals closing a time are a zone name: `noon` and a month are not touched."""
    for text in ["Jan 5, 2026 12 NOON", "2026-01-05 09:15 est", "5 JAN 2026", "EST 2026-01-05"]:
        assert named_zone(text, None, str) == (text, None)


def test_a_weekday_settles_day_first_dates_that_close_with_a_zone_name(tmp_path: Path) -> None:
    """Friday 1 May 2026 can only be read day first, whatever zone the time is in (CDT
    included, US Central or Cuba, settled here by the zone given)."""
    cells = ["Fri 01/05/2026 9:15 AM CDT", "Sat 02/05/2026 9:15 AM CDT"]
    history = load(tmp_path, cells, tz="America/Chicago")
    assert arrivals(history) == [utc(2026, 5, 1, 14, 15), utc(2026, 5, 2, 14, 15)]
    assert "day first" in " ".join(history.flagged["reason"])
