"""Property tests through the Router: no lead lost or in two places, caps never exceeded, only
eligible reps chosen, replay equality, and rotation fairness."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, run_state_machine_as_test

import leadrouter as lr
from leadrouter import rules
from leadrouter.testing import generators as gen
from leadrouter.testing import router_machine
from leadrouter.testing.machine import RouterMachine

from .conftest import T0
from .test_all_strategies import STRATEGIES

MACHINES: dict[str, Callable[[], lr.Strategy]] = {
    **STRATEGIES,
    "Explore": lambda: lr.Explore(lr.EqualRotation()),
}
"""Every built-in strategy, as test_all_strategies configures it, and Explore around rotation."""


def region_machine(factory: Callable[[], lr.Strategy]) -> type[RouterMachine]:
    """`router_machine` with the region rule, plus the invariant that rule promises."""
    base = router_machine(factory, rules=[rules.region()])

    class RegionMachine(base):  # type: ignore[valid-type,misc]  # a class made at run time
        @invariant()
        def holders_serve_the_lead_region(self) -> None:
            ledger = self.router.ledger
            for lead_id, rep_id, _ in ledger.held():
                region = ledger.lead(lead_id).region
                serves = self.router.roster[rep_id].regions
                assert not region or not serves or region in serves, (
                    f"{lead_id} ({region}) is held by {rep_id}, who serves {sorted(serves)}"
                )

    return RegionMachine


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_router_machine_keeps_invariants(name: str) -> None:
    """Invariants after every step of a team at work (leads arrive alone and in batches, reps
    claim, touch, convert, tag, release, go off and come back, leave; time passes and timers
    fire), for every strategy: every lead in exactly one place, no cap exceeded, replaying the
    events gives the same state, only active reps who serve the lead's region hold it."""
    run_state_machine_as_test(
        region_machine(MACHINES[name]),
        settings=settings(max_examples=10, stateful_step_count=25, deadline=None),
    )


@settings(max_examples=80, deadline=None)
@given(
    n_reps=st.integers(2, 6),
    script=st.lists(
        st.one_of(st.just(("route", 0)), st.tuples(st.just("toggle"), st.integers(0, 5))),
        max_size=80,
    ),
    seed=st.integers(0, 1000),
)
def test_rotation_is_fair_for_reps_eligible_all_along(
    n_reps: int, script: list[tuple[str, int]], seed: int
) -> None:
    """Invariant: over ANY stretch of leads, reps that were eligible the whole time receive
    counts that differ by at most one, whoever else joins, leaves or is skipped."""
    reps = [lr.Rep(f"R{i}") for i in range(n_reps)]
    router = lr.Router(lr.EqualRotation(), reps, clock=lr.ManualClock(T0), seed=seed)
    toggled = {f"R{k % n_reps}" for op, k in script if op == "toggle"}
    steady = [rep.id for rep in reps if rep.id not in toggled]
    active = {rep.id: True for rep in reps}
    got: list[str | None] = []
    for i, (op, k) in enumerate(script):
        if op == "toggle":
            rep_id = f"R{k % n_reps}"
            active[rep_id] = not active[rep_id]
            router.set_rep(lr.Rep(rep_id, active=active[rep_id]))
        else:
            got.append(router.route(lr.Lead(f"L{i}", T0)).rep_id)
    for start in range(len(got)):
        counts = Counter({rep: 0 for rep in steady})
        for rep in got[start:]:
            if rep in counts:
                counts[rep] += 1
            if counts:
                assert max(counts.values()) - min(counts.values()) <= 1


@settings(max_examples=40, deadline=None)
@given(roster=gen.rosters(), leads=gen.lead_streams(max_size=30), seed=st.integers(0, 99))
def test_same_seed_same_decisions(roster: list[lr.Rep], leads: list[lr.Lead], seed: int) -> None:
    """Invariant: the same roster, leads and seed give the same event log."""
    logs = []
    for _ in range(2):
        router = lr.Router(
            lr.EqualRotation(), roster, rules=[rules.region()], caps=lr.FixedCap(open=4), seed=seed
        )
        for lead in leads:
            router.route(lead, now=lead.arrived_at)
        logs.append(list(router.ledger.events()))
    assert logs[0] == logs[1]
