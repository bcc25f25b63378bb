"""load_export on times that name their tz database zone (`2025-03-03 09:15 America/New_York`,
`(America/Chicago)`, RFC 9557's `2025-03-03T09:15-05:00[America/New_York]`): read as that zone's
local time, or at the offset written when the zone keeps it then; a local time the zone skips or
repeats, an offset the zone does not keep, and anything else in brackets or parentheses after a
time (unless an offset precedes it) refused with the reason; local days in the zone named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadrouter.sim.celltime import weekday_decides
from tests.test_sim_us_dates import arrivals
from tests.test_sim_us_dates import at as utc
from tests.test_sim_zone_names import load


@pytest.mark.parametrize(
    "cell",
    [
        "2025-03-03 09:15 America/New_York",
        "2025-03-03 09:15 (America/New_York)",
        "2025-03-03 09:15 america/new_york",
        "3/3/2025 9:15 AM America/New_York",
        "Mar 3, 2025 9:15 AM (America/New_York)",
        "2025-03-03T09:15:00-05:00[America/New_York]",  # RFC 9557, Java, Temporal
        "2025-03-03T09:15-05:00[!America/New_York]",
        "2025-03-03T14:15:00Z[UTC]",
        "2025-03-03 23:15 [Japan]",
        "2025-03-03 22:15 (GMT+8)",
        "2025-03-03 14:15 (UTC)",
        "2025-03-03 14:15 (Z)",
        "2025-03-03 22:15 (+08:00)",
        "2025-03-03 22:15 (PRC)",  # a key in capitals that no zone writes as its name
        "2025-03-03 09:15 -05:00 (America/New_York)",  # the zone agrees with the offset
        "2025-03-03T14:15:00Z[America/Los_Angeles]",  # RFC 9557: Z leaves the offset open
        "Mon Mar 03 2025 22:15:00 GMT+8 (China Standard Time)",
    ],
)
def test_a_cell_naming_its_zone_is_read_in_that_zone(tmp_path: Path, cell: str) -> None:
    history = load(tmp_path, [cell, cell])
    assert arrivals(history) == [utc(2025, 3, 3, 14, 15)] * 2
    assert history.rejected.empty


def test_local_days_are_the_named_zones(tmp_path: Path) -> None:
    """A file whose times name one zone is read in that zone's days, no `tz` needed."""
    history = load(tmp_path, ["2025-03-03 23:30 America/Los_Angeles"] * 2)
    assert history.tz == "America/Los_Angeles"
    assert arrivals(history) == [utc(2025, 3, 4, 7, 30)] * 2


@pytest.mark.parametrize(
    ("cells", "zone"),
    [
        (["2026-01-05 23:30 (EST)", "2026-07-06 23:30 (EDT)"], "America/New_York"),
        (["2026-01-05 23:30 (GMT+8)", "2026-07-06 23:30 (HKT)"], "Etc/GMT-8"),
        # one cell naming a zone does not decide the days of the others
        (["2026-01-05 23:30+08:00"] * 3 + ["2026-01-05 09:15 America/New_York"], "UTC"),
    ],
)
def test_local_days_read_names_in_parentheses_and_need_every_time_to_name_the_zone(
    tmp_path: Path, cells: list[str], zone: str
) -> None:
    assert load(tmp_path, cells).tz == zone


def test_a_date_alone_in_a_named_zone_is_the_start_of_that_day(tmp_path: Path) -> None:
    """Where the clocks jump at midnight (Santiago, 7 September 2025), a date alone is the
    day's first moment, 01:00, not a time that does not exist; a dash date is no offset."""
    cells = ["2025-09-07 America/Santiago", "03-03-2025 (America/Chicago)"]
    history = load(tmp_path, cells, tz="Asia/Shanghai")
    assert arrivals(history) == [utc(2025, 9, 7, 4), utc(2025, 3, 3, 6)]
    assert history.rejected.empty


@pytest.mark.parametrize(
    ("cell", "said"),
    [
        (
            "2025-03-09 02:30 America/New_York",
            "names 2025-03-09 02:30 in America/New_York, a local time that does not exist "
            "(clocks jumped forward)",
        ),
        (
            "2025-11-02 01:30 America/New_York",
            "names 2025-11-02 01:30 in America/New_York, which happens twice (clocks went back: "
            "UTC-04:00, then UTC-05:00), and does not say which: export the times with their "
            "offset",
        ),
        (
            "2025-03-03T09:15-04:00[America/New_York]",
            "says UTC-04:00 and America/New_York, which is at UTC-05:00 then: the offset and "
            "the zone disagree",
        ),
        (
            "2025-03-03 09:15 (Eastern Standard Time)",
            "ends in (Eastern Standard Time), which names no zone in the tz database: export "
            "the times with their offset (e.g. 2025-03-03 09:15 -0500), or with a zone such as "
            "America/New_York, or without a zone and name the zone, e.g. tz='America/New_York'",
        ),
        ("2025-03-03 09:15 (called back)", "ends in (called back), which names no zone"),
        ("2025-03-03 09:15 Mars/Olympus_Mons", "ends in Mars/Olympus_Mons, which names no zone"),
        ("2025-03-03 09:15 [Eastern]", "ends in [Eastern], which names no zone"),
        ("2025-03-03 09:15 (PST)", "ends in PST, which the tz database writes for"),
        ("03-03-2025 (call back)", "ends in (call back), which names no zone"),  # not -2025
        ("2025-07-03 09:15 (cet)", "ends in (cet), which names no zone"),  # CET is no cet
        ("2025-03-03 09:15 [localtime]", "ends in [localtime], which names no zone"),
        ("2025-03-03 09:15 [Factory]", "ends in [Factory], which names no zone"),
        (
            "2025-03-03 09:15 -05:00 (America/Chicago)",
            "says UTC-05:00 and America/Chicago, which is at UTC-06:00 then",
        ),
        ("TBD (call back)", "is not a time leadrouter can read"),  # no time, no zone talk
    ],
)
def test_a_cell_whose_zone_names_no_one_moment_is_refused_with_the_reason(
    tmp_path: Path, cell: str, said: str
) -> None:
    """Refused, never read in the `tz` given: a parenthesis dropped in silence would read the
    time in whatever zone the export was given."""
    history = load(tmp_path, [cell, "2025-03-03 09:15Z"], tz="Asia/Shanghai")
    assert len(history) == 1
    (reason,) = history.rejected["reason"]
    assert reason.startswith(f"{cell!r} {said}")


def test_a_name_in_parentheses_after_an_offset_is_the_offsets(tmp_path: Path) -> None:
    """A JavaScript date closes with its zone's long name after the offset: the offset reads."""
    cells = ["Mon Mar 03 2025 09:15:00 GMT-0500 (Eastern Standard Time)", "2025-03-03 09:15 (EST)"]
    assert arrivals(load(tmp_path, cells)) == [utc(2025, 3, 3, 14, 15)] * 2


def test_an_offset_from_utc_in_parentheses_is_that_offset(tmp_path: Path) -> None:
    """`(UTC+08:00)`, as Windows names its zones, says the offset: read at it, never in the `tz`
    given, and not refused as naming no zone."""
    cells = ["2025-03-03 22:15 (UTC+08:00)", "2025-03-03 09:15 (GMT-5)", "2025-03-03 14:15 (UTC)"]
    history = load(tmp_path, cells, tz="Asia/Tokyo")
    assert history.rejected.empty
    assert arrivals(history) == [utc(2025, 3, 3, 14, 15)] * 3


def test_a_weekday_settles_day_first_dates_that_name_their_zone() -> None:
    assert weekday_decides("Fri 01/05/2026 09:15 Europe/Paris") is True
    assert weekday_decides("Fri 05/01/2026 09:15 (Europe/Paris)") is False


def test_as_of_may_name_its_zone(tmp_path: Path) -> None:
    history = load(tmp_path, ["2025-03-03 09:15Z"] * 2, as_of="2025-03-31 18:00 Europe/Paris")
    assert history.as_of == utc(2025, 3, 31, 16)


_ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    instant=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 12, 31)),
    key=st.sampled_from(_ZONES),
    shift=st.sampled_from([0, 30, 60]),
)
def test_a_named_zone_reads_the_instant_or_says_why_there_is_none(
    tmp_path: Path, instant: datetime, key: str, shift: int
) -> None:
    """Any wall clock in any zone (Lord Howe moves half an hour): written with its offset and
    zone, it reads as the instant; written with the zone alone, as the instant exactly when
    the zone shows that wall clock once, else refused; written with an offset the zone does
    not keep then, refused."""
    instant = instant.replace(second=0, microsecond=0, tzinfo=UTC) + timedelta(minutes=shift)
    zone = ZoneInfo(key)
    wall = instant.astimezone(zone)
    offset = wall.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    written = f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    wrong = f"{'-' if minutes >= 0 else '+'}{abs(minutes) // 60 + 1:02d}:00"
    local = f"{wall:%Y-%m-%d %H:%M}"
    cells = [f"{local}{written}[{key}]", f"{local} {key}", f"{local}{wrong}[{key}]"]
    history = load(tmp_path, cells)
    once = [wall.replace(tzinfo=None, fold=fold).replace(tzinfo=zone) for fold in (0, 1)]
    unique = once[0].utcoffset() == once[1].utcoffset()
    expected = [instant, instant] if unique else [instant]
    assert sorted(arrivals(history)) == expected
    refused = dict(zip(history.rejected["row"], history.rejected["reason"], strict=True))
    assert 4 in refused and "the offset and the zone disagree" in refused[4]
    assert (3 in refused) is not unique


def test_a_name_in_capitals_in_parentheses_means_what_it_means_without_them(
    tmp_path: Path,
) -> None:
    """`(CET)` is +01:00 as `CET` is (Algiers writes it all year), not the summer time of the
    tz database's zone of that key, which `[CET]`, RFC 9557's zone, is; `(EDT)` in January is
    flagged out of season as `EDT` is."""
    cells = ["2025-07-03 09:15 (CET)", "2025-07-03 09:15 CET", "2025-07-03 09:15 [CET]"]
    history = load(tmp_path, cells)
    assert arrivals(history) == [utc(2025, 7, 3, 8, 15)] * 2 + [utc(2025, 7, 3, 7, 15)]
    assert history.flagged.empty
    winter = load(tmp_path, ["2026-01-05 09:15 (EDT)", "2026-01-05 09:15 EDT"])
    assert arrivals(winter) == [utc(2026, 1, 5, 13, 15)] * 2
    (flag,) = winter.flagged["reason"]
    assert flag.startswith("2 time(s) carry a zone name their date does not fit, the first ")
