"""Every strategy through the Router, under the same random workloads: no lead lost or in two
places, caps never exceeded, only eligible reps chosen, and the same seed gives the same log."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter import rules
from leadrouter.testing import check_strategy

from .conftest import T0

OPEN, DAILY = 3, 5
REGIONS = ("north", "south", "")

STRATEGIES: dict[str, Callable[[], lr.Strategy]] = {
    "EqualRotation": lr.EqualRotation,
    "Hierarchical": lr.Hierarchical,
    "QuotaProportional": lr.QuotaProportional,
    "PerformanceWeighted": lr.PerformanceWeighted,
    "UtilizationWeighted": lr.UtilizationWeighted,
    "ProfileMatching": lr.ProfileMatching,
    "GrabWithCaps": lambda: lr.GrabWithCaps(
        held=OPEN, daily=DAILY, idle_after=timedelta(minutes=45)
    ),
    "TieredDelay": lambda: lr.TieredDelay(
        [
            lr.Tier(tier=0, strategy=lr.EqualRotation(), patience=timedelta(hours=1)),
            lr.Tier(tier=1, strategy=lr.QuotaProportional(), patience=timedelta(hours=2)),
        ]
    ),
}

ROSTER = [
    lr.Rep("n0", team="a", tier=0, regions={"north"}, quota=2.0),
    lr.Rep("n1", team="a", tier=1, regions={"north"}, quota=1.0),
    lr.Rep("s0", team="b", tier=0, regions={"south"}, quota=1.0),
    lr.Rep("s1", team="b", tier=1, regions={"south"}, quota=3.0),
    lr.Rep("g0", team="c", tier=1, quota=1.0),
    lr.Rep("x0", team="c", tier=0, quota=1.0, active=False),
]

LEAD = st.tuples(st.just("lead"), st.sampled_from(REGIONS), st.integers(0, 3))
STEP = st.one_of(
    LEAD,
    LEAD,
    LEAD,
    st.tuples(st.just("wait"), st.integers(1, 600), st.just(0)),
    st.tuples(st.just("claim"), st.integers(0, 50), st.integers(0, 5)),
    st.tuples(st.just("touch"), st.integers(0, 50), st.integers(0, 1)),
    st.tuples(st.just("close"), st.integers(0, 50), st.integers(0, 2)),
)


def play(factory: Callable[[], lr.Strategy], script: list[tuple[str, object, int]]) -> lr.Router:
    clock = lr.ManualClock(T0)
    router = lr.Router(
        factory(),
        ROSTER,
        rules=[rules.region()],
        caps=lr.FixedCap(open=OPEN, daily=DAILY),
        lifecycle=lr.Lifecycle(first_touch_sla=timedelta(hours=2), reroute=True),
        clock=clock,
        seed=11,
    )
    n = 0
    for kind, a, b in script:
        ledger = router.ledger
        if kind == "lead":
            decision = router.route(
                lr.Lead(f"L{n}", clock(), region=str(a), segment=("smb", "mid", "big", "smb")[b])
            )
            n += 1
            if decision.rep_id is not None:
                rep = router.roster[decision.rep_id]
                assert rep.active, "an inactive rep got a lead"
                assert not a or not rep.regions or a in rep.regions, "region rule broken"
        elif kind == "wait":
            clock.advance(minutes=int(str(a)))
            router.tick()
        elif kind == "claim":
            pooled = [lid for lid in ledger.lead_ids() if ledger.pool_of(lid) is not None]
            if pooled:
                lead_id = pooled[int(str(a)) % len(pooled)]
                rep = ROSTER[b % len(ROSTER)]
                size = len(ledger)
                if router.claim(rep.id, lead_id).action == "refused":
                    assert len(ledger) == size, "a refused claim wrote an event"
        else:
            held = [lid for lid in ledger.lead_ids() if ledger.holder(lid) is not None]
            if held:
                lead_id = held[int(str(a)) % len(held)]
                holder = ledger.holder(lead_id)
                assert holder is not None
                if kind == "touch":
                    router.record(lr.Touched(lead_id, holder, clock(), reached=bool(b)))
                elif b == 0:
                    router.record(lr.Converted(lead_id, holder, clock(), 50.0))
                elif b == 1:
                    router.record(lr.Tagged(lead_id, holder, clock(), valid=False))
                else:
                    router.release(lead_id, "returned")
    return router


def check_invariants(router: lr.Router) -> None:
    ledger = router.ledger
    places: Counter[str] = Counter()
    for rep in router.reps:
        places.update(ledger.book(rep.id))
        assert ledger.book_size(rep.id) <= OPEN, f"{rep.id} over the open cap"
        assert max(ledger.daily(rep.id).values(), default=0) <= DAILY, f"{rep.id} over daily"
    for pool in ledger.pools():
        places.update(ledger.pool(pool))
    for lead_id in ledger.lead_ids():
        expected = 0 if ledger.status(lead_id) in ("converted", "invalid") else 1
        assert places[lead_id] == expected, f"lead {lead_id} is in {places[lead_id]} places"


@pytest.mark.parametrize("name", sorted(STRATEGIES))
@settings(max_examples=25, deadline=None)
@given(script=st.lists(STEP, min_size=10, max_size=80))
def test_strategy_keeps_router_invariants(name: str, script: list[tuple[str, object, int]]) -> None:
    """Invariants, for every strategy: every lead in exactly one place, no cap exceeded, only
    active eligible reps chosen, refused claims write nothing, same seed same events."""
    first = play(STRATEGIES[name], script)
    check_invariants(first)
    second = play(STRATEGIES[name], script)
    assert list(second.ledger.events()) == list(first.ledger.events()), "not deterministic"


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_strategy_conforms(name: str) -> None:
    check_strategy(STRATEGIES[name]())
