"""Property tests through the Router: no lead lost or in two places, caps never exceeded, only
eligible reps chosen, replay equality, and rotation fairness."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import leadrouter as lr
from leadrouter import rules
from leadrouter.testing import generators as gen

from .conftest import T0

OPEN_CAP, DAILY_CAP = 3, 5
REGIONS = ("north", "south", "")


class RouterMachine(RuleBasedStateMachine):
    """A team at work: leads arrive, reps claim, touch, convert, tag, release, go off and come
    back, leave; time passes and timers fire. Invariants are checked after every step."""

    @initialize(roster=gen.rosters(min_size=2, max_size=5))
    def start(self, roster: list[lr.Rep]) -> None:
        self.clock = lr.ManualClock(T0)
        self.router = lr.Router(
            lr.EqualRotation(),
            roster,
            rules=[rules.region()],
            caps=lr.FixedCap(open=OPEN_CAP, daily=DAILY_CAP),
            lifecycle=lr.Lifecycle(
                first_touch_sla=timedelta(minutes=30), expire_after=timedelta(days=2), reroute=True
            ),
            clock=self.clock,
            seed=3,
        )
        self.n = 0

    @property
    def ledger(self) -> lr.Ledger:
        return self.router.ledger

    def _open_leads(self) -> list[str]:
        return [lid for lid in self.ledger.lead_ids() if self.ledger.holder(lid) is not None]

    @rule(region=st.sampled_from(REGIONS), score=st.none() | st.floats(0, 1))
    def arrive(self, region: str, score: float | None) -> None:
        lead = lr.Lead(f"L{self.n}", self.clock(), region=region, score=score)
        self.n += 1
        decision = self.router.route(lead)
        if decision.rep_id is not None:
            rep = self.router.roster[decision.rep_id]
            assert rep.active, "an inactive rep got a lead"
            assert not region or not rep.regions or region in rep.regions, "region broken"
        else:
            assert decision.pool is not None

    @rule(minutes=st.integers(1, 24 * 60))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)
        self.router.tick()

    @rule(data=st.data())
    def claim(self, data: st.DataObject) -> None:
        pooled = [lid for lid in self.ledger.lead_ids() if self.ledger.pool_of(lid) is not None]
        if not pooled:
            return
        lead_id = data.draw(st.sampled_from(pooled))
        rep = data.draw(st.sampled_from(self.router.reps))
        size = len(self.ledger)
        decision = self.router.claim(rep.id, lead_id)
        if decision.action == "refused":
            assert len(self.ledger) == size, "a refused claim changed the ledger"

    @rule(data=st.data(), kind=st.sampled_from(("touch", "reach", "convert", "invalid", "release")))
    def report(self, data: st.DataObject, kind: str) -> None:
        held = self._open_leads()
        if not held:
            return
        lead_id = data.draw(st.sampled_from(held))
        rep_id = self.ledger.holder(lead_id)
        assert rep_id is not None
        now = self.clock()
        if kind in ("touch", "reach"):
            self.router.record(lr.Touched(lead_id, rep_id, now, reached=kind == "reach"))
        elif kind == "convert":
            self.router.record(lr.Converted(lead_id, rep_id, now, 100.0))
        elif kind == "invalid":
            self.router.record(lr.Tagged(lead_id, rep_id, now, valid=False))
        else:
            self.router.release(lead_id, "returned")

    @rule(data=st.data(), active=st.booleans())
    def rep_changes(self, data: st.DataObject, active: bool) -> None:
        rep = data.draw(st.sampled_from(self.router.reps))
        self.router.set_rep(lr.Rep(rep.id, team=rep.team, regions=rep.regions, active=active))

    @precondition(lambda self: sum(r.active for r in self.router.reps) > 1)
    @rule(data=st.data())
    def rep_leaves(self, data: st.DataObject) -> None:
        active = [r for r in self.router.reps if r.active]
        leaving = data.draw(st.sampled_from(active)).id
        for decision in self.router.handover(leaving):
            assert decision.rep_id != leaving, "a handed-over lead went back to the leaver"
        assert self.ledger.book(leaving) == frozenset()

    @invariant()
    def every_lead_in_exactly_one_place(self) -> None:
        ledger = self.ledger
        seen: Counter[str] = Counter()
        for rep in self.router.reps:
            seen.update(ledger.book(rep.id))
        for name in ledger.pools():
            seen.update(ledger.pool(name))
        for lead_id in ledger.lead_ids():
            expected = 0 if ledger.status(lead_id) in ("converted", "invalid") else 1
            assert seen[lead_id] == expected, f"lead {lead_id} is in {seen[lead_id]} places"

    @invariant()
    def caps_never_exceeded(self) -> None:
        for rep in self.router.reps:
            assert self.ledger.book_size(rep.id) <= OPEN_CAP
            assert max(self.ledger.daily(rep.id).values(), default=0) <= DAILY_CAP

    @invariant()
    def replay_gives_equal_views(self) -> None:
        replay = lr.Ledger.from_events(self.ledger.events())
        assert replay.snapshot() == self.ledger.snapshot()


TestRouterMachine = RouterMachine.TestCase
TestRouterMachine.settings = settings(max_examples=40, stateful_step_count=40, deadline=None)


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
