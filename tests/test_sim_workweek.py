"""Working hours, neglect and giving up on leads: the parts of rep behaviour that make a
simulated team look like the history (nights wait for the morning, some leads are never worked,
lost leads leave the book)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter.errors import ConfigError
from leadrouter.sim import GivenBehaviour, History, fit_behaviour, simulate, synthetic
from leadrouter.sim.calibration import replay_policy
from leadrouter.sim.synthetic import WORK_HOURS
from leadrouter.sim.workweek import WorkClock, check_work_week, infer_work_week

SHANGHAI = ZoneInfo("Asia/Shanghai")
CLOCK = WorkClock(date(2025, 3, 3), 40, WORK_HOURS, "Asia/Shanghai")  # 2025-03-03 is a Monday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=SHANGHAI)


def test_a_night_lead_waits_for_the_morning() -> None:
    assert CLOCK.after_working(at(3, 23), 10) == at(4, 9, 10)
    assert CLOCK.after_working(at(4, 17, 50), 20) == at(5, 9, 10)
    # Saturday closes at 16:00, Sunday is off
    assert CLOCK.after_working(at(8, 15, 50), 20) == at(10, 9, 10)
    assert CLOCK.after_working(at(4, 10), 0) == at(4, 10)
    # exactly the end of a working day resumes at the next opening
    assert CLOCK.after_working(at(4, 18), 0) == at(5, 9)


@given(st.floats(0, 38 * 1440), st.floats(0, 5000))
def test_one_instant_methods_agree_with_the_vector_ones(minute: float, work: float) -> None:
    instant = CLOCK.instant(minute)
    assert CLOCK.work_at(instant) == pytest.approx(CLOCK.work(np.array([minute]))[0], abs=1e-6)
    wall = CLOCK.wall_at(work)
    assert CLOCK.minute_of(wall) == pytest.approx(CLOCK.wall(np.array([work]))[0], abs=1e-6)
    assert CLOCK.work_at(wall) == pytest.approx(work, abs=1e-6)


def test_past_the_calendar_is_none_not_an_error() -> None:
    assert CLOCK.after_working(at(3, 10), 10**7) is None
    with pytest.raises(ConfigError, match="calendar"):
        CLOCK.wall(np.array([10.0**7]))


@pytest.mark.parametrize(
    ("hours", "match"),
    [((None,) * 7, "at least one"), (((9, 18),) * 6, "7 entries"), (((18, 9),) * 7, "start")],
)
def test_bad_work_weeks_are_named_errors(hours: tuple[object, ...], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        check_work_week(hours)  # type: ignore[arg-type]


def test_the_work_week_is_read_off_the_first_touches() -> None:
    history = synthetic(n_leads=1500, n_reps=6, days=21, seed=4)
    frame = history.to_frame()
    assert infer_work_week(frame["first_touch_at"], history.tz) == WORK_HOURS
    assert infer_work_week(frame["first_touch_at"].iloc[:50], history.tz) is None
    assert fit_behaviour(history).work_hours == WORK_HOURS


# ---------------------------------------------------------------- the engine


@pytest.fixture(scope="module")
def history() -> History:
    return synthetic(n_leads=400, n_reps=4, days=7, seed=9)


def first_touches(run: object) -> dict[str, lr.Touched]:
    found: dict[str, lr.Touched] = {}
    for event in run.ledger.events():  # type: ignore[attr-defined]
        if isinstance(event, lr.Touched):
            found.setdefault(event.lead_id, event)
    return found


def test_with_working_hours_every_first_touch_is_in_working_time(history: History) -> None:
    model = GivenBehaviour(work_hours=WORK_HOURS, default_capacity=200)
    touches = first_touches(simulate(history, lr.EqualRotation(), model, seed=1))
    assert len(touches) > 300
    for touch in touches.values():
        local = touch.at.astimezone(SHANGHAI)
        window = WORK_HOURS[local.weekday()]
        assert window is not None
        assert window[0] <= local.hour + local.minute / 60 <= window[1]
    around_the_clock = first_touches(
        simulate(history, lr.EqualRotation(), GivenBehaviour(default_capacity=200), seed=1)
    )
    night = [t for t in around_the_clock.values() if not 9 <= t.at.astimezone(SHANGHAI).hour < 18]
    assert night  # without working hours reps touch leads at night too


def test_neglected_leads_are_never_touched_but_claims_are_worked(history: History) -> None:
    never = GivenBehaviour(default_neglect=1.0, default_capacity=200)
    assert first_touches(simulate(history, lr.EqualRotation(), never, seed=0)) == {}
    some = GivenBehaviour(default_neglect=0.3, default_capacity=200)
    share = 1 - len(first_touches(simulate(history, lr.EqualRotation(), some, seed=0))) / len(
        history.leads
    )
    assert 0.2 < share < 0.4
    grabbed = first_touches(simulate(history, lr.GrabWithCaps(held=50), never, seed=0))
    assert len(grabbed) > 0.5 * len(history.leads)


def test_lost_leads_leave_the_book_after_the_follow_up(history: History) -> None:
    model = GivenBehaviour(default_conversion=0.0, default_valid=1.0, default_capacity=200)
    kept = simulate(history, lr.EqualRotation(), model, seed=0, follow_up=None)
    closed = simulate(history, lr.EqualRotation(), model, seed=0, follow_up=timedelta(hours=6))
    assert sum(kept.ledger.book_size(rep.id) for rep in history.roster) > 300
    assert sum(closed.ledger.book_size(rep.id) for rep in history.roster) < 60
    lost = [e for e in closed.ledger.events() if isinstance(e, lr.Tagged) and e.reason == "lost"]
    touches = first_touches(closed)
    for event in lost:
        assert event.at == touches[event.lead_id].at + timedelta(hours=6)
    # the first verdict (valid) stays in the statistics
    assert closed.ledger.stats(history.roster[0].id).invalid == 0
    with pytest.raises(ConfigError, match="follow_up"):
        simulate(history, lr.EqualRotation(), model, follow_up=timedelta(hours=-1))


def test_the_truth_of_a_synthetic_history_reproduces_its_contact_rate() -> None:
    history = synthetic(n_leads=1500, n_reps=6, days=21, seed=5)
    observed = history.to_frame()["reached"].mean()
    rates = []
    for seed in range(4):
        run = simulate(history, replay_policy(history), seed=seed)
        touches = first_touches(run)
        rates.append(sum(t.reached for t in touches.values()) / len(history.leads))
    assert abs(float(np.mean(rates)) - observed) < 0.04


def test_times_stay_aware_and_ordered(history: History) -> None:
    run = simulate(history, lr.EqualRotation(), GivenBehaviour(work_hours=WORK_HOURS), seed=2)
    times = [e.at for e in run.ledger.events()]
    assert all(t.tzinfo is not None for t in times)
    assert times == sorted(times)
    assert times[0].astimezone(UTC) == history.leads[0].arrived_at


class Backlogs(GivenBehaviour):
    """GivenBehaviour that remembers the backlog each first touch was scheduled with."""

    seen: list[int] = []  # noqa: RUF012 - test-only record, reset per test

    def touch_delay_minutes(self, rep_id: str, backlog: int, u: float) -> float:
        Backlogs.seen.append(backlog)
        return super().touch_delay_minutes(rep_id, backlog, u)


def test_a_lead_taken_back_before_its_touch_no_longer_counts_in_the_backlog(
    history: History,
) -> None:
    one = History(
        history.to_frame().iloc[:40], tz=history.tz, roster=history.roster[:1], truth=None
    )

    def slow_and_reclaimed(reps: list[lr.Rep], seed: int) -> lr.Router:
        return lr.Router(
            lr.EqualRotation(),
            reps,
            seed=seed,
            lifecycle=lr.Lifecycle(first_touch_sla=timedelta(minutes=1)),
        )

    Backlogs.seen = []
    simulate(one, slow_and_reclaimed, Backlogs(default_pickup=600.0, default_capacity=1000), seed=0)
    assert len(Backlogs.seen) >= 30
    # every lead is reclaimed a minute after it enters the book (and offered again at the next
    # tick), so the backlog stays at the few leads handed back at once; counting reclaimed
    # leads would grow it by one per lead
    assert max(Backlogs.seen) <= 5


NEW_YORK_CLOCK = WorkClock(date(2026, 3, 2), 300, WORK_HOURS, "America/New_York")


@example(6 * 1440 + 150.0)  # 02:30 on 2026-03-08, which the spring change skips
@example(244 * 1440 + 90.0)  # 01:30 on 2026-11-01, which the autumn change repeats
@given(st.floats(0, 300 * 1440 - 1, allow_nan=False))
def test_an_instant_is_the_wall_clock_minute_in_the_clocks_zone(minute: float) -> None:
    """`WorkClock.instant` is the local wall time `minute` minutes after the start's midnight,
    in the clock's zone with fold 0, to the microsecond (a wall time that a daylight-saving jump
    skips, on 2026-03-08 in New York, included): the same datetime as the naive sum with the
    zone attached, whichever way it is worked out."""
    clock = NEW_YORK_CLOCK
    got = clock.instant(minute)
    naive = datetime.combine(clock.start, datetime.min.time()) + timedelta(minutes=minute)
    want = naive.replace(tzinfo=ZoneInfo("America/New_York"))
    assert (got.replace(tzinfo=None), got.fold, got.utcoffset()) == (
        want.replace(tzinfo=None),
        want.fold,
        want.utcoffset(),
    )
    assert got.tzinfo is clock.instant(0.0).tzinfo
