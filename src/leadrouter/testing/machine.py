"""`router_machine`: a hypothesis state machine that runs any strategy through a Router.

Where the conformance checks try a strategy on fixed, seeded scenarios, the machine lets
hypothesis search for a sequence of everyday events that breaks the Router's invariants with
that strategy: leads arrive alone or in batches, reps claim, the CRM reports touches, tags and
sales, leads are returned, time passes and timers fire, reps go off shift, come back and leave.
After every step it checks that each lead is in exactly one place (so has at most one holder),
that no cap is exceeded and that replaying the ledger's events rebuilds the same state. When
hypothesis finds a failure it shrinks it to a short, readable sequence of steps.

It needs hypothesis (the `testing` extra).

Its default settings (`TestCase.settings`, also for subclasses) leave out hypothesis's explain
phase, which replays a failing machine hundreds of times to annotate it: on Python 3.11 that
turned a failure found in a second into minutes. Pass `phases=PHASES` in your own settings to
keep it out too.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, ClassVar

import attrs
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from leadrouter.caps import Cap, FixedCap
from leadrouter.clock import ManualClock
from leadrouter.errors import ConfigError
from leadrouter.events import Converted, Tagged, Touched
from leadrouter.lifecycle import Lifecycle
from leadrouter.model import Decision, Lead, Rep
from leadrouter.router import Router
from leadrouter.router._capping import as_caps
from leadrouter.router._deciding import as_rules
from leadrouter.rules import Rule
from leadrouter.strategies.base import Strategy
from leadrouter.testing import generators as gen
from leadrouter.testing._fresh import StrategySource, as_factory
from leadrouter.testing._invariants import assert_caps_kept, assert_one_place, assert_replays
from leadrouter.testing._scenarios import START

__all__ = [
    "DEFAULT_CAPS",
    "DEFAULT_LEADS",
    "DEFAULT_LIFECYCLE",
    "DEFAULT_ROSTERS",
    "PHASES",
    "RouterMachine",
    "RulesArg",
    "router_machine",
]

PHASES: tuple[Phase, ...] = tuple(phase for phase in Phase if phase is not Phase.explain)
"""Every hypothesis phase but explain: what the machine's default settings run, and what to pass
as `settings(..., phases=PHASES)` when you give your own."""

DEFAULT_CAPS: tuple[Cap, ...] = (FixedCap(open=3, daily=5),)
"""Caps small enough that a few steps reach them."""

DEFAULT_LIFECYCLE = Lifecycle(
    first_touch_sla=timedelta(minutes=30), expire_after=timedelta(days=2), reroute=True
)
"""An SLA and an expiry that a few `time_passes` steps trigger, with re-routing."""

DEFAULT_ROSTERS = gen.rosters(min_size=2, max_size=5)
"""The rosters a machine draws unless given `roster=` (None also means these)."""
DEFAULT_LEADS = gen.leads()
"""The leads a machine draws unless given `leads=` (None also means these)."""

RulesArg = Iterable[Rule | Callable[[Lead, Rep], bool]] | Rule | Callable[[Lead, Rep], bool]
"""What `rules=` takes: one rule or several, as `Router` takes them."""

REPORTS = ("touch", "reach", "convert", "invalid", "blocked", "release")
"""What the CRM reports about a held lead in `crm_reports`: a call (not reached, reached), a
sale, an invalid tag, a valid tag with reason "blocked" (escalates in TieredDelay), a return."""


_INHERIT: Any = object()
"""A class keyword not given: the subclass keeps its parent's setting."""


class RouterMachine(RuleBasedStateMachine):
    """A team at work on one Router.

    Configure it with class keywords, which a type checker reads as it reads any class::

        class TeamMachine(RouterMachine, strategy=SmallestBook, rules=[vip_to_seniors]):
            @invariant()
            def vip_leads_only_held_by_seniors(self) -> None: ...

    or with `router_machine(...)`, which takes the same settings and makes such a subclass. A
    subclass of a configured machine keeps its settings unless it gives new ones. Add your own
    rules (`@rule`) and invariants (`@invariant`); `self.router`, `self.clock` and
    `self.strategy` are there after the first step.
    """

    router_strategy: ClassVar[Callable[[], Strategy]]
    router_rules: ClassVar[tuple[Rule | Callable[[Lead, Rep], bool], ...]] = ()
    router_caps: ClassVar[tuple[Cap, ...]] = DEFAULT_CAPS
    router_lifecycle: ClassVar[Lifecycle | None] = DEFAULT_LIFECYCLE
    router_roster: ClassVar[st.SearchStrategy[list[Rep]]] = DEFAULT_ROSTERS
    router_leads: ClassVar[st.SearchStrategy[Lead]] = DEFAULT_LEADS
    router_seed: ClassVar[int] = 0

    router: Router
    clock: ManualClock
    strategy: Strategy
    arrived: int

    def __init_subclass__(
        cls,
        *,
        strategy: StrategySource = _INHERIT,
        rules: RulesArg = _INHERIT,
        caps: Cap | Iterable[Cap] | None = _INHERIT,
        lifecycle: Lifecycle | None = _INHERIT,
        roster: st.SearchStrategy[list[Rep]] | Sequence[Rep] | None = _INHERIT,
        leads: st.SearchStrategy[Lead] | None = _INHERIT,
        seed: int = _INHERIT,
        **kwargs: Any,
    ) -> None:
        """Take the class keywords (those of `router_machine`), and give every machine class
        (hypothesis keeps settings per class) settings without the explain phase."""
        super().__init_subclass__(**kwargs)
        if strategy is not _INHERIT:
            cls.router_strategy = staticmethod(as_factory(strategy))
        if rules is not _INHERIT:
            cls.router_rules = as_rules(rules)
        if caps is not _INHERIT:
            cls.router_caps = as_caps(caps)
        if lifecycle is not _INHERIT:
            cls.router_lifecycle = lifecycle
        if roster is not _INHERIT:
            cls.router_roster = DEFAULT_ROSTERS if roster is None else _roster_strategy(roster)
        if leads is not _INHERIT:
            cls.router_leads = DEFAULT_LEADS if leads is None else _leads_strategy(leads)
        if seed is not _INHERIT:
            cls.router_seed = seed
        cls.TestCase.settings = settings(
            deadline=None, suppress_health_check=list(HealthCheck), phases=PHASES
        )

    @initialize(data=st.data())
    def start(self, data: st.DataObject) -> None:
        cls = type(self)
        if not hasattr(cls, "router_strategy"):
            raise ConfigError(
                f"{cls.__name__} has no strategy to run: give it one, "
                f"class {cls.__name__}(RouterMachine, strategy=MyStrategy), or make the class "
                "with router_machine(MyStrategy)"
            )
        roster = data.draw(cls.router_roster, label="roster")
        self.clock = ManualClock(START)
        self.strategy = cls.router_strategy()
        self.router = Router(
            self.strategy,
            roster,
            rules=cls.router_rules,
            caps=cls.router_caps,
            lifecycle=cls.router_lifecycle,
            clock=self.clock,
            seed=cls.router_seed,
        )
        self.arrived = 0

    def _lead(self, data: st.DataObject) -> Lead:
        """The next lead: drawn from `leads`, with the machine's next id and the clock's time."""
        lead_id, now = f"L{self.arrived}", self.clock()
        placed = type(self).router_leads.map(
            lambda drawn: attrs.evolve(drawn, id=lead_id, arrived_at=now)
        )
        self.arrived += 1
        return data.draw(placed, label="lead")

    def _placed(self, decision: Decision, step: str) -> None:
        """The lead went to an active rep, or into a pool."""
        if decision.rep_id is None:
            assert decision.pool is not None, f"{step}: lead {decision.lead_id} went nowhere"
            return
        rep = self.router.roster[decision.rep_id]
        assert rep.active, f"{step}: lead {decision.lead_id} went to inactive rep {rep.id}"

    @rule(data=st.data())
    def lead_arrives(self, data: st.DataObject) -> None:
        self._placed(self.router.route(self._lead(data)), "lead_arrives")

    @rule(data=st.data(), size=st.integers(2, 4))
    def leads_arrive_together(self, data: st.DataObject, size: int) -> None:
        leads = [self._lead(data) for _ in range(size)]
        decisions = self.router.route_many(leads)
        assert [d.lead_id for d in decisions] == [lead.id for lead in leads], (
            f"leads_arrive_together: route_many answered {[d.lead_id for d in decisions]} for "
            f"{[lead.id for lead in leads]}"
        )
        for decision in decisions:
            self._placed(decision, "leads_arrive_together")

    @rule(minutes=st.integers(1, 24 * 60))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)
        self.router.tick()

    @rule(data=st.data())
    def rep_claims(self, data: st.DataObject) -> None:
        ledger = self.router.ledger
        pooled = [lid for lid in ledger.lead_ids() if ledger.pool_of(lid) is not None]
        if not pooled:
            return
        lead_id = data.draw(st.sampled_from(pooled), label="lead")
        rep = data.draw(st.sampled_from(self.router.reps), label="rep")
        size = len(ledger)
        decision = self.router.claim(rep.id, lead_id)
        if decision.action == "refused":
            assert len(ledger) == size, f"rep_claims: {rep.id}'s refused claim wrote events"
        else:
            assert rep.active and ledger.holder(lead_id) == rep.id, (
                f"rep_claims: {rep.id} claimed {lead_id}, which is held by "
                f"{ledger.holder(lead_id)!r}"
            )

    @rule(data=st.data(), kind=st.sampled_from(REPORTS))
    def crm_reports(self, data: st.DataObject, kind: str) -> None:
        ledger = self.router.ledger
        held = [lid for lid in ledger.lead_ids() if ledger.holder(lid) is not None]
        if not held:
            return
        lead_id = data.draw(st.sampled_from(held), label="lead")
        rep_id = ledger.holder(lead_id)
        assert rep_id is not None
        now = self.clock()
        if kind in ("touch", "reach"):
            self.router.record(Touched(lead_id, rep_id, now, reached=kind == "reach"))
        elif kind == "convert":
            self.router.record(Converted(lead_id, rep_id, now, 100.0))
        elif kind in ("invalid", "blocked"):
            reason = "blocked" if kind == "blocked" else "wrong number"
            self.router.record(Tagged(lead_id, rep_id, now, valid=kind == "blocked", reason=reason))
        else:
            self.router.release(lead_id, "returned")

    @rule(data=st.data(), active=st.booleans())
    def rep_goes_off_or_comes_back(self, data: st.DataObject, active: bool) -> None:
        rep = data.draw(st.sampled_from(self.router.reps), label="rep")
        self.router.set_rep(attrs.evolve(rep, active=active))

    @precondition(lambda self: sum(rep.active for rep in self.router.reps) > 1)
    @rule(data=st.data())
    def rep_leaves(self, data: st.DataObject) -> None:
        active = [rep for rep in self.router.reps if rep.active]
        leaving = data.draw(st.sampled_from(active), label="rep").id
        for decision in self.router.handover(leaving):
            assert decision.rep_id != leaving, (
                f"rep_leaves: {decision.lead_id} was handed back to {leaving}, who left"
            )
        assert self.router.ledger.book(leaving) == frozenset(), (
            f"rep_leaves: {leaving} left but still holds {sorted(self.router.ledger.book(leaving))}"
        )

    def where(self, invariant: str) -> str:
        """How a broken invariant's message starts: which invariant, at what time of the run
        (the clock of the steps hypothesis prints), with which strategy."""
        return f"{invariant} broken at {self.clock().isoformat()} ({self.strategy!r})"

    @invariant()
    def every_lead_in_exactly_one_place(self) -> None:
        assert_one_place(self.router.ledger, self.where("no lead lost: every lead in one place"))

    @invariant()
    def caps_never_exceeded(self) -> None:
        where = self.where("caps never exceeded")
        assert_caps_kept(self.router.ledger, self.router.caps, where)

    @invariant()
    def replay_gives_the_same_state(self) -> None:
        assert_replays(self.router.ledger, self.where("the ledger replays to the same state"))


def _leads_strategy(leads: object) -> st.SearchStrategy[Lead]:
    """`leads=`: a hypothesis strategy drawing leads (their id and time are the machine's)."""
    if isinstance(leads, st.SearchStrategy):
        return leads
    raise ConfigError(
        "the machine's leads= takes a hypothesis strategy drawing Lead, e.g. "
        f"generators.leads(features={{'city': st.sampled_from(['shanghai', 'beijing'])}}), got "
        f"{leads!r}"
    )


def _roster_strategy(roster: object) -> st.SearchStrategy[list[Rep]]:
    """`router_machine(roster=...)`: a hypothesis strategy drawing rosters, or one fixed roster
    (a list of Rep) used in every run; anything else a ConfigError saying what to pass."""
    if isinstance(roster, st.SearchStrategy):
        return roster
    if isinstance(roster, Sequence) and roster and all(isinstance(r, Rep) for r in roster):
        return st.just(list(roster))
    raise ConfigError(
        f"router_machine(roster=...) takes a hypothesis strategy drawing lists of Rep (e.g. "
        f"generators.rosters(2, 5)) or one roster as a non-empty list of Rep, got {roster!r}"
    )


def router_machine(
    strategy_factory: StrategySource,
    *,
    rules: RulesArg = (),
    caps: Cap | Iterable[Cap] | None = DEFAULT_CAPS,
    lifecycle: Lifecycle | None = DEFAULT_LIFECYCLE,
    roster: st.SearchStrategy[list[Rep]] | Sequence[Rep] | None = None,
    leads: st.SearchStrategy[Lead] | None = None,
    seed: int = 0,
) -> type[RouterMachine]:
    """A `RouterMachine` subclass whose Router uses the strategy `strategy_factory` makes, with
    these rules (one rule or several, as `Router` takes them), caps, lifecycle and router seed,
    on a roster drawn from `roster` (a hypothesis strategy; a list of Rep for one fixed roster;
    default `generators.rosters(2, 5)`), with arriving leads drawn from `leads` (a hypothesis
    strategy of Lead, default `generators.leads()`; the machine gives each its id and time).

    `strategy_factory` is a zero-argument factory (a Strategy class, `lambda: MyStrategy(x=1)`), a
    Strategy instance (deep-copied for every run) or a function strategy: every run of the
    machine starts from a fresh strategy. Run it with pytest through its `TestCase`::

        TestMyStrategy = router_machine(MyStrategy, caps=lr.FixedCap(open=2)).TestCase
        TestMyStrategy.settings = settings(
            max_examples=20, stateful_step_count=30, deadline=None, phases=PHASES
        )

    or with `hypothesis.stateful.run_state_machine_as_test(machine)`. To subclass it under a type
    checker, give `RouterMachine` the same settings as class keywords instead.
    """
    factory = as_factory(strategy_factory)
    name = re.sub(r"\W+", "_", factory().name).strip("_")
    keywords: dict[str, Any] = {
        "strategy": factory,
        "rules": rules,
        "caps": caps,
        "lifecycle": lifecycle,
        "roster": roster,
        "leads": leads,
        "seed": seed,
    }
    return types.new_class(
        f"RouterMachine_{name}",
        (RouterMachine,),
        keywords,
        lambda ns: ns.update({"__doc__": f"RouterMachine on {factory()!r}."}),
    )
