"""`Router.next_due`: a caller ticking only at each answer runs every timer at the same time, and
so writes the same events, as one ticking every minute (the lifecycle's SLA and expiry, a
TieredDelay's patience, a GrabWithCaps idle claim)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

import leadrouter as lr

from .conftest import T0, at

REPS = [lr.Rep("ana", tier=0), lr.Rep("bo", tier=0), lr.Rep("cy", tier=1), lr.Rep("di", tier=1)]
minutes = st.integers(min_value=1, max_value=90).map(lambda m: timedelta(minutes=m))


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
