"""`Router.next_due`: a caller ticking only at each answer runs every timer at the same time, and
so writes the same events, as one ticking every minute (the lifecycle's SLA and expiry, a
TieredDelay's patience, a GrabWithCaps idle claim), and takes a waiting lead when a rep can take
it (a schedule shift starting, a daily cap's midnight)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter import rules
from leadrouter.caps import Cap
from leadrouter.context import Context, TickContext

from .conftest import T0, at

REPS = [lr.Rep("ana", tier=0), lr.Rep("bo", tier=0), lr.Rep("cy", tier=1), lr.Rep("di", tier=1)]
minutes = st.integers(min_value=1, max_value=90).map(lambda m: timedelta(minutes=m))


def _shift(start: int, hours: int, lunch: bool) -> lr.Shift:
    """A shift in UTC from `start` o'clock for `hours`, every day, with a half-hour break."""
    breaks = [(time(start, 20), time(start, 50))] if lunch else []
    end = time(min(start + hours, 23), 59 if start + hours > 23 else 0)
    return lr.Shift("UTC", start=time(start), end=end, weekdays=range(7), breaks=breaks)


shifts = st.builds(_shift, st.integers(min_value=8, max_value=21), st.integers(1, 4), st.booleans())


def _tiered(first: timedelta, second: timedelta) -> lr.TieredDelay:
    return lr.TieredDelay(
        tiers=[
            lr.Tier(tier=0, strategy=lr.EqualRotation(), patience=first),
            lr.Tier(tier=1, strategy=lr.EqualRotation(), patience=second),
        ]
    )


def _run(router: lr.Router, arrivals: list[int], end: int, every_minute: bool) -> list[object]:
    """Route a lead at each minute of `arrivals`, ticking every minute, or only at arrivals and
    at each `next_due` before the next arrival and up to `end`."""
    now = T0
    for i, minute in enumerate([*arrivals, end]):
        when = at(minute)
        if every_minute:
            while now < when:
                now += timedelta(minutes=1)
                router.tick(now)
        else:
            while (due := router.next_due(now)) is not None and due <= when:
                now = due
                router.tick(now)
        if i < len(arrivals):
            router.tick(when)
            router.route(lr.Lead(f"L{i}", when), now=when)
        now = when
    return list(router.ledger.events())


@settings(max_examples=40, deadline=None)
@given(
    arrivals=st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=8).map(sorted),
    sla=st.none() | minutes,
    expiry=st.none() | minutes,
    reroute=st.booleans(),
    tiers=st.none() | st.tuples(minutes, minutes),
)
def test_ticking_at_each_next_due_writes_what_ticking_every_minute_writes(
    arrivals: list[int],
    sla: timedelta | None,
    expiry: timedelta | None,
    reroute: bool,
    tiers: tuple[timedelta, timedelta] | None,
) -> None:
    def router() -> lr.Router:
        life = lr.Lifecycle(
            first_touch_sla=sla, expire_after=expiry, reroute=reroute, max_reroutes=3
        )
        strategy = lr.EqualRotation() if tiers is None else _tiered(*tiers)
        return lr.Router(strategy, REPS, lifecycle=life)

    end = arrivals[-1] + 400
    assert _run(router(), arrivals, end, False) == _run(router(), arrivals, end, True)


@settings(max_examples=40, deadline=None)
@given(
    arrivals=st.lists(st.integers(min_value=0, max_value=480), min_size=1, max_size=10).map(sorted),
    rota=st.lists(st.none() | shifts | shifts | shifts, min_size=len(REPS), max_size=len(REPS)),
    daily=st.none() | st.integers(min_value=1, max_value=3),
    held=st.none() | st.integers(min_value=1, max_value=2),
    zone=st.sampled_from(["Asia/Shanghai", "Asia/Tokyo", "Europe/Moscow"]),
    expiry=st.none() | minutes,
    tiers=st.none() | st.tuples(minutes, minutes),
)
def test_waiting_leads_are_taken_when_a_shift_starts_or_a_day_turns_as_ticking_every_minute(
    arrivals: list[int],
    rota: list[lr.Shift | None],
    daily: int | None,
    held: int | None,
    zone: str,
    expiry: timedelta | None,
    tiers: tuple[timedelta, timedelta] | None,
) -> None:
    """Leads wait in the pool while no rep is on shift (before the shifts, over a break) or
    every rep has had the day's leads; the day of the cap turns within the run (midnight in
    Shanghai is 16:00 UTC, in Tokyo 15:00, in Moscow 21:00)."""

    def router() -> lr.Router:
        on_shift = {rep.id: shift for rep, shift in zip(REPS, rota, strict=True) if shift}
        strategy = lr.EqualRotation() if tiers is None else _tiered(*tiers)
        return lr.Router(
            strategy,
            REPS,
            rules=[rules.schedule(on_shift)],
            caps=lr.FixedCap(open=held, daily=daily, tz=zone),
            lifecycle=lr.Lifecycle(expire_after=expiry, reroute=True, max_reroutes=2),
        )

    end = arrivals[-1] + 400
    assert _run(router(), arrivals, end, False) == _run(router(), arrivals, end, True)


def test_while_leads_wait_next_due_says_when_a_shift_starts_or_a_cap_resets() -> None:
    morning = rules.schedule(default=_shift(10, 2, lunch=True))  # 10:00-12:00, off 10:20-10:50
    router = lr.Router(lr.EqualRotation(), REPS, rules=[morning])
    assert router.next_due(T0) is None  # nothing waits: a shift starting is nothing to do
    router.route(lr.Lead("L1", T0), now=T0)
    assert router.next_due(T0) == at(60)
    assert router.next_due(T0, offers=False) is None  # the timers alone: none is set
    router.tick(at(60))
    assert router.next_due(at(60)) is None  # taken at 10:00: nothing waits any more
    router.route(lr.Lead("L2", at(85)), now=at(85))  # over the break
    assert router.next_due(at(85)) == at(110)

    capped = lr.Router(lr.EqualRotation(), REPS[:1], caps=lr.FixedCap(daily=1, tz="Asia/Tokyo"))
    capped.route(lr.Lead("L1", T0), now=T0)
    capped.route(lr.Lead("L2", T0), now=T0)  # over the day's cap: waits
    midnight = datetime(2026, 1, 5, 15, tzinfo=UTC)  # 00:00 in Tokyo
    assert capped.next_due(T0) == midnight
    assert [e.lead_id for e in capped.tick(midnight) if isinstance(e, lr.Assigned)] == ["L2"]


def test_a_rule_or_cap_says_by_default_that_time_alone_changes_nothing() -> None:
    class Weekly(Cap):
        def check(self, rep_id: str, ctx: Context) -> str | None:
            return None

    ctx = TickContext(lr.Router(lr.EqualRotation(), REPS).roster, lr.Ledger(), T0)
    assert rules.region().next_change(ctx) is None
    assert Weekly().next_reset(ctx) is None
    assert lr.FixedCap(open=3).next_reset(ctx) is None  # no daily limit: nothing to reset
    late = rules.schedule(default=_shift(12, 2, lunch=False))
    assert (rules.region() & late).next_change(ctx) == at(180)
    assert (~late | rules.skill()).next_change(ctx) == at(180)


def test_next_due_is_the_earliest_deadline_after_now_and_none_without_timers() -> None:
    assert lr.Router(lr.EqualRotation(), REPS).next_due(T0) is None
    life = lr.Lifecycle(first_touch_sla=timedelta(minutes=30), expire_after=timedelta(hours=2))
    router = lr.Router(lr.EqualRotation(), REPS, lifecycle=life)
    router.route(lr.Lead("L1", T0), now=T0)
    assert router.next_due(T0) == at(30)
    assert router.next_due(at(30)) == at(120)  # after now only: the SLA at 30 is tick's now
    router.record(lr.Touched("L1", router.ledger.holder("L1") or "", at(5)))
    router.tick(at(30))  # the SLA entry, met by the touch, is dropped
    assert router.next_due(at(30)) == at(120)


def test_a_claimed_lead_is_due_when_its_idle_time_ends() -> None:
    grab = lr.GrabWithCaps(idle_after=timedelta(minutes=20))
    router = lr.Router(grab, REPS)
    router.route(lr.Lead("L1", T0), now=T0)
    assert router.next_due(T0) is None  # in the pool: nobody holds it
    router.claim("ana", "L1", now=at(5))
    assert router.next_due(at(5)) == at(25)
    assert router.tick(at(25))  # released for idleness, then
    assert router.next_due(at(25)) is None
