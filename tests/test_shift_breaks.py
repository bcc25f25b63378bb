"""Shifts as Chinese teams work them: a lunch break (午休) inside the shift, when nobody is on
shift and an SLA's clock stops, and a weekend day worked in exchange for a holiday (调休)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter import rules
from leadrouter.playbooks import read_playbook

SH = ZoneInfo("Asia/Shanghai")
LUNCH = lr.Shift(
    "Asia/Shanghai",
    start=time(9),
    end=time(18),
    breaks=[(time(12), time(13, 30))],
    days_off={date(2026, 10, 1)},
    workdays={date(2026, 9, 27)},  # a Sunday worked before 国庆
)


def test_nobody_is_on_shift_at_lunch_and_a_worked_sunday_counts() -> None:
    assert LUNCH.is_on(datetime(2026, 3, 2, 11, 59, tzinfo=SH))
    assert not LUNCH.is_on(datetime(2026, 3, 2, 12, 30, tzinfo=SH))
    assert LUNCH.is_on(datetime(2026, 3, 2, 13, 30, tzinfo=SH))
    assert LUNCH.is_on(datetime(2026, 9, 27, 10, tzinfo=SH))  # Sunday, a workday
    assert not LUNCH.is_on(datetime(2026, 9, 26, 10, tzinfo=SH))  # Saturday
    assert not LUNCH.is_on(datetime(2026, 10, 1, 10, tzinfo=SH))  # a day off
    day = LUNCH.working_time(datetime(2026, 3, 2, tzinfo=SH), datetime(2026, 3, 3, tzinfo=SH))
    assert day == timedelta(hours=7, minutes=30)
    assert LUNCH.describe() == (
        "09:00-18:00, break 12:00-13:30 Mon-Fri (and 1 workday), Asia/Shanghai (1 day off)"
    )


@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 1)),
    minutes=st.integers(1, 60 * 24 * 5),
)
def test_working_time_added_is_working_time_measured(start: datetime, minutes: int) -> None:
    """Also for more working time than the nine days looked at first: the next days are taken
    from the day after them (a week's working time was skipped there)."""
    begin = start.replace(tzinfo=SH)
    amount = timedelta(minutes=minutes)
    due = LUNCH.add_working_time(begin, amount)
    assert LUNCH.working_time(begin, due) == amount
    assert LUNCH.is_on(due - timedelta(microseconds=1))  # the time runs out on shift


def test_the_first_touch_sla_stops_for_lunch() -> None:
    """A lead assigned at 11:45 with a 30-minute SLA was released at 12:15, in the middle of
    lunch; its clock now runs 11:45-12:00 and 13:30-13:45."""
    hours = rules.schedule(default=LUNCH)
    router = lr.Router(
        lr.EqualRotation(),
        [lr.Rep("张伟"), lr.Rep("王芳")],
        rules=[hours],
        lifecycle=lr.Lifecycle(
            first_touch_sla=timedelta(minutes=30), reroute=True, working_hours=hours
        ),
    )
    at = datetime(2026, 3, 2, 11, 45, tzinfo=SH)
    router.route(lr.Lead("L1", at), now=at)
    assert router.tick(datetime(2026, 3, 2, 13, 44, tzinfo=SH)) == []
    moved = router.tick(datetime(2026, 3, 2, 13, 45, tzinfo=SH))
    assert [type(event).__name__ for event in moved] == ["Released", "Assigned"]
    lunch = datetime(2026, 3, 2, 12, 30, tzinfo=SH)
    waiting = router.route(lr.Lead("L2", lunch), now=lunch)
    assert waiting.rep_id is None  # nobody is on shift at lunch


@pytest.mark.parametrize(
    ("breaks", "said"),
    [
        ([(time(8), time(10))], "must lie inside the shift 09:00-18:00"),
        ([(time(13), time(12))], "end after it starts"),
        ([(time(14), time(15)), (time(12), time(13))], "after any earlier break"),
        ([(time(12),)], "holds (start, end) pairs of times"),
        ("12:00-13:30", "holds (start, end) pairs of times"),
    ],
)
def test_a_break_outside_the_shift_is_refused(breaks: object, said: str) -> None:
    with pytest.raises(lr.LeadRouterError, match=said.replace("(", r"\(").replace(")", r"\)")):
        lr.Shift("Asia/Shanghai", breaks=breaks)  # type: ignore[arg-type]


def test_a_night_shift_break_after_midnight() -> None:
    night = lr.Shift("Asia/Shanghai", start=time(22), end=time(6), breaks=[(time(2), time(2, 30))])
    begin = datetime(2026, 3, 2, 22, tzinfo=SH)
    assert night.working_time(begin, begin + timedelta(hours=8)) == timedelta(hours=7, minutes=30)
    assert not night.is_on(datetime(2026, 3, 3, 2, 10, tzinfo=SH))


def test_a_playbook_writes_lunch_and_a_worked_sunday(tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text(
        '[strategy]\nname = "EqualRotation"\n\n[[reps]]\nid = "张伟"\n\n[[rules]]\n'
        'name = "schedule"\ndefault = { tz = "Asia/Shanghai", start = "9:00", end = "18:00", '
        'breaks = [["12:00", "13：30"]], workdays = [2026-09-27], days_off = [2026-10-01] }\n',
        encoding="utf-8",
    )
    (schedule,) = read_playbook(path)["rules"]
    assert schedule.default == LUNCH
