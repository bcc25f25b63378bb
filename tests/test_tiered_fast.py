"""TieredDelay's tick index decides, and says when the next lead is due, exactly as the scan of
every held lead does.

Two routers get the same random workload: one ticks with the index (`INDEXED = True`), the
other with the scan (`INDEXED = False`); their ledgers and their `next_due` must be identical
after every step.
Times are in UTC, in a named zone with a daylight-saving change inside the run, or a mix, so
the index's exact and fall-back paths are both exercised.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter.context import TickContext
from leadrouter.errors import LeadRouterError
from leadrouter.events import Arrived, Assigned, Converted, Tagged, Touched
from leadrouter.ledger import BLOCKED
from leadrouter.strategies import tiered_delay
from leadrouter.strategies.equal_rotation import EqualRotation
from leadrouter.strategies.tiered_delay import ESCALATED, Tier, TieredDelay

NEW_YORK = ZoneInfo("America/New_York")
ZONES: dict[str, Callable[[datetime], datetime]] = {
    "utc": lambda t: t,
    "plus8": lambda t: t.astimezone(timezone(timedelta(hours=8))),
    "new_york": lambda t: t.astimezone(NEW_YORK),
}
START = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)  # New York falls back at 06:00 UTC
REPS = [
    lr.Rep("p1", tier=0),
    lr.Rep("p2", tier=0),
    lr.Rep("s1", tier=1),
    lr.Rep("s2", tier=1),
    lr.Rep("x1", tier=2),
]

minutes = st.integers(0, 10 * 60)
route = st.tuples(st.just("route"), st.integers(0, 3))
tick = st.tuples(st.just("tick"), minutes)
step = st.one_of(
    route,
    route,
    tick,
    st.tuples(st.just("touch"), st.integers(0, 50), st.booleans()),
    st.tuples(st.just("tag"), st.integers(0, 50), st.sampled_from(["blocked", "valid", "bad"])),
    st.tuples(st.just("release"), st.integers(0, 50), st.booleans()),
    st.tuples(st.just("claim"), st.integers(0, 50), st.sampled_from([r.id for r in REPS])),
    st.tuples(st.just("convert"), st.integers(0, 50)),
    st.tuples(st.just("tick"), minutes),
    st.tuples(st.just("handover"), st.sampled_from([r.id for r in REPS])),
    st.tuples(st.just("set_rep"), st.sampled_from([r.id for r in REPS]), st.integers(0, 2)),
    st.tuples(st.just("wait"), st.integers(0, 120)),
)


def _strategy(patience: tuple[int, int]) -> TieredDelay:
    return TieredDelay(
        [
            Tier(tier=0, strategy=EqualRotation(), patience=timedelta(minutes=patience[0])),
            Tier(tier=1, strategy=EqualRotation(), patience=timedelta(minutes=patience[1])),
        ]
    )


def _outcome(act: Callable[[], Any]) -> Any:
    """What an operation returned, or the error it raised (both routers must agree)."""
    try:
        return act()
    except LeadRouterError as error:
        return type(error), str(error)


def _apply(router: lr.Router, op: tuple[Any, ...], now: datetime, n: int) -> Any:
    """One workload step on `router` at `now` (`n` numbers a new lead)."""
    ledger = router.ledger
    kind = op[0]
    leads = sorted(ledger.lead_ids())
    if kind == "route":
        return _outcome(lambda: router.route(lr.Lead(f"L{n}", now), now=now).rep_id)
    if kind == "tick":
        return _outcome(lambda: router.tick(now))
    if kind == "handover":
        return _outcome(lambda: [d.rep_id for d in router.handover(op[1], now)])
    if kind == "set_rep":
        rep = router.roster[op[1]]
        return router.set_rep(lr.Rep(rep.id, tier=op[2], active=True))
    if not leads:
        return None
    lead_id = leads[op[1] % len(leads)]
    holder = ledger.owner(lead_id) or "p1"
    if kind == "touch":
        return _outcome(lambda: router.record(Touched(lead_id, holder, now, reached=op[2])))
    if kind == "tag":
        if op[2] == "blocked":  # escalates whatever `valid` says
            valid, reason = op[1] % 2 == 0, BLOCKED
        else:
            valid, reason = op[2] == "valid", ""
        return _outcome(lambda: router.record(Tagged(lead_id, holder, now, valid, reason)))
    if kind == "release":
        return _outcome(lambda: router.release(lead_id, "returned", now, reroute=op[2]))
    if kind == "claim":
        return _outcome(lambda: router.claim(op[2], lead_id, now).ok)
    assert kind == "convert"
    return _outcome(lambda: router.record(Converted(lead_id, holder, now, 10.0)))


def _twins(steps: list[tuple[Any, ...]], patience: tuple[int, int], zone: str) -> None:
    """Run `steps` on a router ticking with the index and one ticking with the scan, from
    START; every step must return the same, `next_due` must say the same after it, and the
    ledgers must match after every tick."""
    fast = lr.Router(_strategy(patience), REPS, seed=3)
    plain = lr.Router(_strategy(patience), REPS, seed=3)
    names = list(ZONES)
    clock = START
    for n, op in enumerate(steps):
        if op[0] == "wait":
            clock += timedelta(minutes=op[1])
            continue
        if op[0] == "tick":
            clock += timedelta(minutes=op[1])
        local = ZONES[names[n % len(names)] if zone == "mixed" else zone](clock)
        with mock.patch.object(tiered_delay, "INDEXED", True):
            got = _apply(fast, op, local, n)
        with mock.patch.object(tiered_delay, "INDEXED", False):
            expected = _apply(plain, op, local, n)
        assert got == expected, op
        with mock.patch.object(tiered_delay, "INDEXED", True):
            got = fast.next_due(local)
        with mock.patch.object(tiered_delay, "INDEXED", False):
            expected = plain.next_due(local)
        assert got == expected, ("next_due", op)
        if op[0] == "tick":
            assert list(fast.ledger.events()) == list(plain.ledger.events())
    assert list(fast.ledger.events()) == list(plain.ledger.events())


@settings(max_examples=400, deadline=None)
@given(
    steps=st.lists(step, min_size=10, max_size=120),
    patience=st.tuples(st.integers(1, 8 * 60), st.integers(1, 8 * 60)),
    zone=st.sampled_from(["utc", "plus8", "new_york", "mixed"]),
)
def test_index_escalates_exactly_as_the_scan(
    steps: list[tuple[Any, ...]], patience: tuple[int, int], zone: str
) -> None:
    _twins(steps, patience, zone)


def test_patience_across_a_clock_change_is_wall_clock_time_as_in_the_scan() -> None:
    """Held at 01:30 New York time just before the clock falls back: 70 minutes later the
    wall clock shows 10 minutes (not due, as `now - since` says), 60 wall minutes later due."""
    steps = [("wait", 150), ("route", 0), ("tick", 70), ("tick", 50)]
    _twins(steps, (60, 60), "new_york")


def test_a_lead_is_due_at_exactly_the_end_of_its_patience() -> None:
    _twins([("route", 0), ("tick", 59), ("tick", 1), ("tick", 90)], (60, 90), "plus8")


def test_a_lead_past_the_last_tier_blocked_again_stays() -> None:
    """Blocked at each tier until it is in the public pool, claimed and blocked again: no
    more escalation, though the index saw it blocked before."""
    blocked = ("tag", 0, "blocked")
    steps = [("route", 0), blocked, ("tick", 0), blocked, ("tick", 0)]
    _twins([*steps, ("claim", 0, "x1"), blocked, ("tick", 0)], (60, 60), "utc")


def test_a_lead_claimed_after_waiting_escalates() -> None:
    """A lead that waited (its tier had nobody) and was then claimed runs out of patience: the
    index, built at the first tick, learns of the claim from the log."""
    steps = [
        ("handover", "p1"),
        ("handover", "p2"),
        ("route", 0),
        ("tick", 0),
        ("set_rep", "p1", 0),
    ]
    _twins([*steps, ("claim", 0, "p1"), ("tick", 120)], (60, 60), "utc")


def test_an_escalation_the_router_did_not_apply_is_due_again() -> None:
    """The index keeps a due lead until its holding ends, as the scan sees it on every tick."""
    strategy = _strategy((60, 60))
    router = lr.Router(strategy, REPS)
    router.route(lr.Lead("L1", START), now=START)
    view = router.ledger
    later = START + timedelta(hours=2)
    ctx = TickContext(router.roster, view, later)
    first = [a.lead_id for a in strategy.tick(ctx) if a.reason == ESCALATED]
    again = [a.lead_id for a in strategy.tick(ctx) if a.reason == ESCALATED]
    assert first == again == ["L1"]


def test_a_rebuilt_ledger_gets_a_new_index() -> None:
    """After the ledger's views are started over (a stored ledger's rollback), the index is
    built again from what the ledger holds, not fed on from its old read position."""
    strategy = _strategy((60, 60))
    router = lr.Router(strategy, REPS)
    router.route(lr.Lead("L1", START), now=START)
    ledger = router.ledger
    assert len(ledger) == 2
    later = START + timedelta(hours=2)
    assert [a.lead_id for a in strategy.tick(TickContext(router.roster, ledger, later))] == ["L1"]
    ledger._clear()  # the same number of events, another lead held
    ledger.extend([Arrived(lr.Lead("L2", START)), Assigned("L2", "p2", START)])
    assert [a.lead_id for a in strategy.tick(TickContext(router.roster, ledger, later))] == ["L2"]


def test_next_due_reads_the_index_not_every_held_lead() -> None:
    """Once the index is built, `next_due` answers from it: asking after every tick costs no
    look at every held lead."""
    strategy = _strategy((60, 90))
    router = lr.Router(strategy, REPS)
    for n in range(3):
        router.route(lr.Lead(f"L{n}", START), now=START + timedelta(minutes=n))
    router.tick(START + timedelta(minutes=5))
    with mock.patch.object(router.ledger, "held", side_effect=AssertionError("scanned")):
        assert router.next_due(START + timedelta(minutes=5)) == START + timedelta(minutes=60)
