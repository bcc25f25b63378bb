"""The simulator's shortcuts for pull policies and tiers write exactly what the plain paths write.

- `GrabWithCaps.refused_until` keeps its promise: a claim by the rep before that time is refused,
  whatever the lead and whatever happened in between (a property over random workloads).
- The simulator that trusts the promise (`engine.REMEMBER_REFUSALS`) writes the ledger that
  asking every rep at every turn writes, while it asks the router far fewer claims.
- TieredDelay words its picks as it always did, whatever the tier's strategy answers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter.context import Context
from leadrouter.events import Tagged, Touched
from leadrouter.sim import History, engine, simulate, synthetic
from leadrouter.strategies.base import Pick

REPS = [lr.Rep("r1"), lr.Rep("r2"), lr.Rep("r3")]
START = datetime(2026, 3, 7, 20, 0, tzinfo=UTC)  # New York springs forward on 8 March, 07:00 UTC
ZONES = ["UTC", "Asia/Shanghai", "America/New_York"]


@st.composite
def grabs(draw: st.DrawFn) -> lr.GrabWithCaps:
    """A GrabWithCaps with every cap and penalty setting that decides a refusal."""
    held = draw(st.none() | st.integers(1, 3))
    daily = draw(st.none() | st.integers(1, 3))
    penalty = draw(st.sampled_from(["cooldown", "lower_caps"]))
    if penalty == "lower_caps" and held is None and daily is None:
        daily = 2
    return lr.GrabWithCaps(
        held=held,
        daily=daily,
        idle_after=draw(st.none() | st.sampled_from([timedelta(minutes=30), timedelta(hours=2)])),
        cooldown=draw(st.sampled_from([timedelta(minutes=45), timedelta(hours=3)])),
        penalty=penalty,
        tz=draw(st.sampled_from(ZONES)),
    )


steps = st.lists(
    st.one_of(
        st.tuples(st.just("route")),
        st.tuples(st.just("claim"), st.sampled_from(REPS), st.integers(0, 30)),
        st.tuples(st.just("touch"), st.sampled_from(REPS)),
        st.tuples(st.just("close"), st.sampled_from(REPS)),
        st.tuples(st.just("tick")),
        st.tuples(st.just("wait"), st.integers(1, 600)),
    ),
    max_size=60,
)


def _pooled(ledger: lr.Ledger) -> list[str]:
    return [lead for name in ledger.pools() for lead in ledger.pool(name)]


def _step(router: lr.Router, op: tuple[Any, ...], now: datetime, n: int) -> lr.Decision | None:
    """One workload step on `router` at `now`: a new lead; a rep's claim of a pooled lead (or,
    with an odd number, of any lead); a rep's first touch or close of their oldest lead; a
    tick. Returns a claim's Decision, else None."""
    ledger = router.ledger
    kind = op[0]
    if kind == "route":
        router.route(lr.Lead(f"L{n:03d}", now), now=now)
        return None
    if kind == "tick":
        router.tick(now)
        return None
    rep = op[1].id
    if kind == "claim":
        leads = _pooled(ledger) if op[2] % 2 == 0 else sorted(ledger.lead_ids())
        return router.claim(rep, leads[op[2] % len(leads)], now) if leads else None
    book = ledger.book_order(rep)
    if book and kind == "touch":
        router.record(Touched(book[0], rep, now, reached=True))
    elif book and kind == "close":
        router.record(Tagged(book[0], rep, now, valid=False))
    return None


R1 = REPS[0]
LIFTED_SOONER = [
    # a full book is freed by closing a lead
    (lr.GrabWithCaps(held=1), [("route",), ("route",), ("claim", R1, 0), ("close", R1)]),
    # a "lower_caps" strike leaves room under the daily cap
    (
        lr.GrabWithCaps(daily=3, idle_after=timedelta(minutes=30), penalty="lower_caps"),
        [("route",), ("route",), ("claim", R1, 0), ("wait", 40), ("tick",), ("route",)],
    ),
]


@settings(max_examples=150, deadline=None)
@given(strategy=grabs(), ops=steps, zone=st.sampled_from(ZONES))
def test_a_promised_refusal_holds_for_every_lead_until_its_time(
    strategy: lr.GrabWithCaps, ops: list[tuple[Any, ...]], zone: str
) -> None:
    _keeps_its_promises(strategy, ops, zone)


@pytest.mark.parametrize(("strategy", "ops"), LIFTED_SOONER)
def test_no_promise_outlives_what_may_lift_a_refusal(
    strategy: lr.GrabWithCaps, ops: list[tuple[Any, ...]]
) -> None:
    _keeps_its_promises(strategy, ops, "UTC")


def _keeps_its_promises(strategy: lr.GrabWithCaps, ops: list[tuple[Any, ...]], zone: str) -> None:
    """Run `ops`; after every step each rep with a promise in force is refused any pooled
    lead (and writes nothing), and every claim in force of a promise is refused."""
    router = lr.Router(strategy, REPS, seed=1)
    ledger = router.ledger
    promised: dict[str, datetime] = {}
    clock = START
    for n, op in enumerate(ops):
        if op[0] == "wait":
            clock += timedelta(minutes=op[1])
            continue
        now = clock.astimezone(ZoneInfo(zone))
        size = len(ledger)
        decision = _step(router, op, now, n)
        if decision is not None and now < promised.get(op[1].id, START):
            # refused, or a claim of a lead the rep holds already: a retry, answered with the
            # decision that put it in their book, writing nothing
            retried = decision.rep_id == op[1].id and len(ledger) == size
            assert decision.action == "refused" or retried, (op, promised)
        for rep in REPS:
            pooled = _pooled(ledger)
            if pooled and now < promised.get(rep.id, START):
                before = len(ledger)
                assert router.claim(rep.id, pooled[0], now).action == "refused"
                assert len(ledger) == before
            until = strategy.refused_until(ledger, rep.id, now)
            if until is not None:
                assert until > now
                promised[rep.id] = max(until, promised.get(rep.id, until))


@pytest.fixture(scope="module")
def history() -> History:
    return synthetic(n_leads=400, n_reps=6, days=8, seed=5)


def _claims_counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A one-item list counting every `Router.claim` call from now on."""
    calls = [0]
    claim = lr.Router.claim

    def counted(self: lr.Router, *args: Any, **kwargs: Any) -> lr.Decision:
        calls[0] += 1
        return claim(self, *args, **kwargs)

    monkeypatch.setattr(lr.Router, "claim", counted)
    return calls


@settings(max_examples=12, deadline=None)
@given(
    strategy=grabs(),
    seed=st.integers(0, 3),
    backlog=st.integers(1, 3),
    router_cap=st.booleans(),
)
def test_trusting_refusals_writes_the_ledger_asking_every_turn_writes(
    history: History, strategy: lr.GrabWithCaps, seed: int, backlog: int, router_cap: bool
) -> None:
    def policy(reps: list[lr.Rep], seed: int) -> lr.Router:
        caps = [lr.FixedCap(daily=4, tz="Asia/Shanghai")] if router_cap else []
        return lr.Router(strategy, reps, caps=caps, seed=seed)

    runs = []
    for on in (True, False):
        with mock.patch.object(engine, "REMEMBER_REFUSALS", on):
            runs.append(simulate(history, policy, seed=seed, claim_backlog=backlog).ledger)
    fast, plain = runs
    assert list(fast.events()) == list(plain.events())
    assert fast.snapshot() == plain.snapshot()


def test_a_rep_at_the_daily_cap_is_not_asked_again_that_day(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _claims_counted(monkeypatch)
    asked = {}
    for on in (True, False):
        calls[0] = 0
        with mock.patch.object(engine, "REMEMBER_REFUSALS", on):
            simulate(history, lr.GrabWithCaps(daily=2), seed=0)
        asked[on] = calls[0]
    assert asked[True] < asked[False] / 2, asked


def test_no_promise_is_made_for_what_other_events_may_lift() -> None:
    """A full book (the held cap) and a "lower_caps" strike under the daily cap may be lifted
    by a closed lead or by time, so they promise nothing; a full day does."""
    t = START
    held = lr.Router(lr.GrabWithCaps(held=1), REPS, seed=1)
    held.route(lr.Lead("A", t), now=t)
    held.route(lr.Lead("B", t), now=t)
    assert held.claim("r1", "A", t).ok
    assert not held.claim("r1", "B", t).ok
    assert held.strategy.refused_until(held.ledger, "r1", t) is None
    daily = lr.Router(lr.GrabWithCaps(daily=1, tz="Asia/Shanghai"), REPS, seed=1)
    daily.route(lr.Lead("A", t), now=t)
    assert daily.claim("r1", "A", t).ok
    until = daily.strategy.refused_until(daily.ledger, "r1", t)
    assert until == datetime(2026, 3, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    lowered = lr.GrabWithCaps(daily=3, idle_after=timedelta(minutes=30), penalty="lower_caps")
    router = lr.Router(lowered, REPS, seed=1)
    router.route(lr.Lead("A", t), now=t)
    assert router.claim("r1", "A", t).ok
    router.tick(t + timedelta(hours=1))  # A is released as idle: one strike, cap lowered to 2
    assert router.strategy.refused_until(router.ledger, "r1", t + timedelta(hours=1)) is None


class _Noted(lr.Strategy):
    """A tier strategy whose Pick carries scores, a reason and a propensity."""

    def route(self, ctx: Context) -> Pick:
        rep = min(ctx.ids)
        return Pick(rep, scores={rep: 0.5}, reason="lowest id", propensity=0.25)


@pytest.mark.parametrize("inner", [lr.EqualRotation(), _Noted()], ids=["rep id", "Pick"])
def test_a_tier_pick_keeps_every_part_of_the_tier_strategys_answer(inner: lr.Strategy) -> None:
    reps = [lr.Rep("a", tier=0), lr.Rep("b", tier=0), lr.Rep("c", tier=1)]
    tiers = [
        lr.Tier(tier=0, strategy=inner, patience=timedelta(hours=1)),
        lr.Tier(tier=1, strategy=inner, patience=timedelta(hours=1)),
    ]
    router = lr.Router(lr.TieredDelay(tiers), reps, seed=2)
    first = router.route(lr.Lead("L1", START), now=START)
    router.tick(START + timedelta(hours=2))
    second = router.why("L1")
    noted = isinstance(inner, _Noted)
    said = ": lowest id" if noted else ""
    assert first.reasons[-1].detail == f"tier 0 (first shot), by {inner.name}{said}"
    assert second.rep_id == "c"
    assert second.reasons[-1].detail == f"tier 1 (after 1 escalation), by {inner.name}{said}"
    assert dict(first.scores) == ({"a": 0.5} if noted else {})
    assert first.propensity == (0.25 if noted else None)
