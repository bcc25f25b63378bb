"""How a sales team unit-tests its own routing rule and strategy with `leadrouter.testing`.

Run it with `pytest examples/test_my_rule.py` (it is also part of `make test`).

The team's policy, in the words of their sales-ops manager:

- "VIP leads (score 0.8 or more) go only to senior reps (seniority 4 or 5)." A plain function
  `vip_to_seniors(lead, rep) -> bool`, used as a routing rule.
- "Give each lead to the rep with the fewest open leads; on a tie, alphabetical." A small
  `Strategy` subclass, `SmallestBook`.

Five kinds of test, from the cheapest to the broadest:

1. plain asserts on the rule;
2. the conformance suite every strategy must pass (`check_strategy`, `parametrize_with_checks`);
3. hypothesis properties over generated rosters and lead streams (`leadrouter.testing.generators`);
4. scenario tests with the plugin's `router_factory` and `clock` fixtures;
5. a hypothesis state machine (`RouterMachine`) that runs the team's router through random
   working days and checks the router's invariants, and the team's own, after every step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis.stateful import invariant

import leadrouter as lr
from leadrouter.testing import check_strategy, parametrize_with_checks
from leadrouter.testing import generators as gen
from leadrouter.testing.machine import PHASES, RouterMachine

# The plugin adds the `clock`, `ledger` and `router_factory` fixtures used at the end.
pytest_plugins = ["leadrouter.testing.plugin"]

# --------------------------------------------------------------------------- the team's code
# In a real project this part lives in your own package; the tests below import it.

VIP_SCORE = 0.8
SENIOR = 4


def vip_to_seniors(lead: lr.Lead, rep: lr.Rep) -> bool:
    """VIP leads (score >= 0.8) may only go to reps with seniority >= 4; others to anyone."""
    if lead.score is None or lead.score < VIP_SCORE:
        return True
    return int(rep.profile.get("seniority", 0)) >= SENIOR


class SmallestBook(lr.Strategy):
    """Give the lead to the eligible rep with the fewest open leads (ties: smallest id).

    Holds no state: the book sizes come from the ledger (`ctx.view`), so the same inputs
    always give the same rep, and one instance can serve any number of routers.
    """

    def route(self, ctx: lr.Context) -> str | None:
        free = [rep_id for rep_id in ctx.ids if ctx.can_take(rep_id)]
        if not free:
            return None  # the router leaves the lead waiting in the public pool
        return min(free, key=lambda rep_id: (ctx.view.book_size(rep_id), rep_id))


def team_router(reps: list[lr.Rep], caps: lr.Cap | None = None) -> lr.Router:
    """The team's router: their strategy with their rule (what production builds too)."""
    return lr.Router(SmallestBook(), reps, rules=[vip_to_seniors], caps=caps)


# --------------------------------------------------------------------------- 1. the rule alone

T0 = gen.START
JUNIOR = lr.Rep("junior", profile={"seniority": 2})
SENIOR_REP = lr.Rep("senior", profile={"seniority": 4})


@pytest.mark.parametrize(
    ("score", "junior_ok"),
    [(None, True), (0.2, True), (0.79, True), (0.8, False), (0.95, False)],
)
def test_vip_rule_keeps_juniors_off_vip_leads(score: float | None, junior_ok: bool) -> None:
    lead = lr.Lead("L1", T0, score=score)
    assert vip_to_seniors(lead, JUNIOR) is junior_ok
    assert vip_to_seniors(lead, SENIOR_REP) is True  # seniors may take any lead


def test_vip_rule_treats_a_rep_without_seniority_as_junior() -> None:
    assert vip_to_seniors(lr.Lead("L1", T0, score=0.9), lr.Rep("new")) is False


# --------------------------------------------------------------------------- 2. conformance


@parametrize_with_checks([SmallestBook])
def test_smallest_book_conforms(
    strategy: lr.Strategy, check: Callable[[lr.Strategy], None]
) -> None:
    """One test per conformance check that applies to SmallestBook (a push strategy: no pull,
    batching or propensity checks), each on a fresh instance made by the class, so a failure
    names the rule that broke."""
    check(strategy)


def test_check_strategy_names_the_broken_rule() -> None:
    """The suite has teeth: a strategy that ignores caps and eligibility fails it."""

    def greedy(ctx: lr.Context) -> str | None:
        return min(ctx.roster)  # ignores ctx.ids and ctx.can_take

    check_strategy(SmallestBook())  # the real one passes as a whole too
    with pytest.raises(AssertionError, match="check_picks_offered_or_none"):
        check_strategy(greedy)


# --------------------------------------------------------------------------- 3. properties


@settings(max_examples=60, deadline=None)
@given(reps=gen.rosters(), leads=gen.lead_streams())
def test_vip_leads_only_ever_go_to_seniors(reps: list[lr.Rep], leads: list[lr.Lead]) -> None:
    """Whatever the roster and the day's leads: a VIP lead is never in a junior's book."""
    router = team_router(reps, caps=lr.FixedCap(open=2))
    for lead in leads:
        decision = router.route(lead, now=lead.arrived_at)
        if decision.rep_id is not None and lead.score is not None and lead.score >= VIP_SCORE:
            assert router.roster[decision.rep_id].profile["seniority"] >= SENIOR, decision.explain()
    if leads:
        router.tick(now=leads[-1].arrived_at + timedelta(hours=1))  # waiting leads re-offered
    for rep in reps:
        for lead_id in router.ledger.book(rep.id):
            score = router.ledger.lead(lead_id).score
            if score is not None and score >= VIP_SCORE:
                assert rep.profile["seniority"] >= SENIOR, f"{lead_id} is in {rep.id}'s book"


@settings(max_examples=60, deadline=None)
@given(reps=gen.rosters(), leads=gen.lead_streams())
def test_no_lead_is_lost(reps: list[lr.Rep], leads: list[lr.Lead]) -> None:
    """Every lead ends up in exactly one place: one rep's book, or waiting in the public pool
    (when no eligible rep is under the caps), never nowhere and never twice."""
    router = team_router(reps, caps=lr.FixedCap(open=3))
    for lead in leads:
        router.route(lead, now=lead.arrived_at)
    ledger = router.ledger
    for lead in leads:
        books = [rep.id for rep in reps if lead.id in ledger.book(rep.id)]
        in_pool = lead.id in ledger.pool(lr.PUBLIC)
        assert len(books) + in_pool == 1, f"{lead.id}: books {books}, public pool {in_pool}"
        if in_pool:
            assert ledger.is_waiting(lead.id)  # offered again at the next tick


@settings(max_examples=30, deadline=None)
@given(reps=gen.rosters(), leads=gen.lead_streams(min_size=1))
def test_smallest_book_keeps_books_within_one(reps: list[lr.Rep], leads: list[lr.Lead]) -> None:
    """With no rule and no cap, open books of active reps never differ by more than one."""
    router = lr.Router(SmallestBook(), reps)
    for lead in leads:
        router.route(lead, now=lead.arrived_at)
    sizes = [router.ledger.book_size(rep.id) for rep in reps if rep.active]
    assert max(sizes) - min(sizes) <= 1, sizes


# --------------------------------------------------------------------------- 4. scenarios


def test_vip_lead_waits_for_a_senior_under_cap(
    router_factory: Callable[..., lr.Router], clock: lr.ManualClock
) -> None:
    """The one senior is at her cap: a VIP lead waits rather than going to a junior, and the
    next tick after her book frees up gives it to her."""
    reps = [
        lr.Rep("ana", profile={"seniority": 5}),
        lr.Rep("ben", profile={"seniority": 1}),
        lr.Rep("cai", profile={"seniority": 2}),
    ]
    router = router_factory(SmallestBook(), reps, rules=[vip_to_seniors], caps=lr.FixedCap(open=1))

    first = router.route(lr.Lead("V1", clock(), score=0.9))
    assert first.rep_id == "ana"

    clock.advance(minutes=5)
    second = router.route(lr.Lead("V2", clock(), score=0.85))
    assert second.rep_id is None
    assert router.ledger.is_waiting("V2")
    assert {"ben", "cai"} <= set().union(*(r.reps for r in second.reasons if r.code == "excluded"))

    clock.advance(minutes=20)
    router.record(lr.Converted("V1", "ana", clock(), amount=5000.0))  # ana closes V1 ...
    clock.advance(minutes=10)
    router.tick()  # ... and the next tick hands her the waiting VIP lead
    assert router.ledger.holder("V2") == "ana"


def test_ordinary_leads_go_to_the_smallest_book(
    router_factory: Callable[..., lr.Router], clock: lr.ManualClock
) -> None:
    router = router_factory(SmallestBook(), rules=[vip_to_seniors])  # R0-R3, no seniority
    got = []
    for i in range(8):
        got.append(router.route(lr.Lead(f"L{i}", clock(), score=0.5)).rep_id)
        clock.advance(timedelta(minutes=3))
    assert got == ["R0", "R1", "R2", "R3"] * 2
    vip = router.route(lr.Lead("VIP", clock(), score=0.99))
    assert vip.rep_id is None  # nobody on the default roster is senior: it waits


# --------------------------------------------------------------------------- 5. state machine


class TeamMachine(
    RouterMachine, strategy=SmallestBook, rules=[vip_to_seniors], caps=lr.FixedCap(open=2)
):
    """Random working days of the team's router: leads arrive, reps claim, call, sell, return
    leads, go off shift and leave; time passes and timers fire. The machine checks the router's
    invariants after every step (every lead in one place, caps kept, the ledger replays); this
    subclass adds the team's own."""

    @invariant()
    def vip_leads_are_only_held_by_seniors(self) -> None:
        ledger = self.router.ledger
        for lead_id, rep_id, _ in ledger.held():
            score = ledger.lead(lead_id).score
            if score is not None and score >= VIP_SCORE:
                seniority = self.router.roster[rep_id].profile.get("seniority", 0)
                assert seniority >= SENIOR, f"VIP lead {lead_id} is held by {rep_id}"


TestTeamMachine = TeamMachine.TestCase
# phases=PHASES: every hypothesis phase but explain, which replays a failure hundreds of times.
TestTeamMachine.settings = settings(
    max_examples=20, stateful_step_count=30, deadline=None, phases=PHASES
)
