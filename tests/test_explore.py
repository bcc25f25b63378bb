"""Explore: exact propensities on every assignment, exploration at the asked share, uniform among
the reps who can take the lead, reproducible per (seed, lead), and never past a rule or a cap."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import timedelta

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

import leadrouter as lr
from leadrouter import rules
from leadrouter.context import Context, TickContext
from leadrouter.testing import check_strategy, parametrize_with_checks

from .conftest import T0

REGIONS = ("north", "south", "")


class Spy(lr.Strategy):
    """EqualRotation that remembers its own pick per lead (test-only state), so a test can
    compare what Explore did with what the base wanted."""

    def __init__(self) -> None:
        self.inner = lr.EqualRotation()
        self.picks: dict[str, str | None] = {}

    @property
    def name(self) -> str:
        return "Spy"

    def route(self, ctx: Context) -> lr.Pick | str | None:
        pick = self.inner.route(ctx)
        self.picks[ctx.lead.id] = pick if not isinstance(pick, lr.Pick) else pick.rep_id
        return pick


def assigned(router: lr.Router) -> list[lr.Assigned]:
    return [e for e in router.ledger.events() if isinstance(e, lr.Assigned)]


def route_n(router: lr.Router, n: int, regions: Sequence[str] = ("",)) -> list[lr.Decision]:
    decisions = []
    for i in range(n):
        at = T0 + timedelta(seconds=i)
        decisions.append(router.route(lr.Lead(f"L{i}", at, region=regions[i % len(regions)]), at))
    return decisions


def takers(router: lr.Router, lead: lr.Lead, open_cap: int | None) -> list[str]:
    """Who may take `lead` now, worked out from the roster and ledger (not from Explore):
    active, covering the lead's region, and under the open-book cap."""
    return sorted(
        rep.id
        for rep in router.reps
        if rep.active
        and (not lead.region or not rep.regions or lead.region in rep.regions)
        and (open_cap is None or router.ledger.book_size(rep.id) < open_cap)
    )


ROSTERS = st.lists(
    st.tuples(st.sets(st.sampled_from(REGIONS[:2]), max_size=2), st.booleans()),
    min_size=1,
    max_size=6,
).map(
    lambda specs: [
        lr.Rep(f"R{i}", regions=frozenset(regions), active=active or i == 0)
        for i, (regions, active) in enumerate(specs)
    ]
)
SHARES = st.floats(min_value=0.01, max_value=1.0)


@settings(max_examples=40, deadline=None)
@given(reps=ROSTERS, share=SHARES, seed=st.integers(0, 10**6), n=st.integers(1, 40))
def test_every_assignment_records_its_exact_propensity(
    reps: list[lr.Rep], share: float, seed: int, n: int
) -> None:
    """Invariant: every Assigned event carries a propensity in (0, 1] equal to
    (1 - share)·[rep is the base's pick] + share / k, k = reps who could take the lead; the
    base's own pick always has at least 1 - share."""
    spy = Spy()
    router = lr.Router(
        lr.Explore(spy, share=share),
        reps,
        rules=[rules.region()],
        caps=lr.FixedCap(open=2),
        clock=lr.ManualClock(T0),
        seed=seed,
    )
    expected: dict[str, float] = {}
    for i in range(n):
        lead = lr.Lead(f"L{i}", T0, region=REGIONS[i % 3])
        able = takers(router, lead, open_cap=2)
        decision = router.route(lead)
        if decision.rep_id is None:
            assert not able or spy.picks.get(lead.id) is None
            continue
        assert decision.rep_id in able
        base = spy.picks[lead.id] == decision.rep_id
        expected[lead.id] = (1 - share) * base + share / len(able)
        if base:
            assert decision.propensity is not None
            assert decision.propensity >= 1 - share
    events = assigned(router)
    assert len(events) == len(expected)
    for event in events:
        assert event.propensity is not None
        assert 0 < event.propensity <= 1
        assert event.propensity == pytest.approx(expected[event.lead_id], rel=1e-12)


def test_explores_at_the_asked_share_and_uniformly() -> None:
    share, n, reps = 0.1, 5000, [lr.Rep(x) for x in "abcde"]
    spy = Spy()
    router = lr.Router(lr.Explore(spy, share=share), reps, clock=lr.ManualClock(T0), seed=1)
    decisions = route_n(router, n)
    explored = [d for d in decisions if d.reasons[-1].detail.startswith("explored")]
    sd = math.sqrt(n * share * (1 - share))
    assert abs(len(explored) - n * share) < 4 * sd
    counts = Counter(d.rep_id for d in explored)
    assert chisquare([counts[x] for x in "abcde"]).pvalue > 0.001
    # A lead not explored keeps the base's pick; an explored one is any of the five.
    kept = [d for d in decisions if d not in explored]
    assert all(d.rep_id == spy.picks[d.lead_id] for d in kept)
    assert {round(d.propensity or 0, 12) for d in kept} == {round(0.9 + 0.1 / 5, 12)}


def test_share_one_is_uniform_routing() -> None:
    router = lr.Router(lr.Explore(lr.EqualRotation(), share=1), [lr.Rep(x) for x in "abcd"], seed=2)
    decisions = route_n(router, 2000)
    assert {d.propensity for d in decisions} == {0.25}
    counts = Counter(d.rep_id for d in decisions)
    assert chisquare([counts[x] for x in "abcd"]).pvalue > 0.001
    # Uniform, not rotation: plain rotation would give exactly 500 each.
    assert set(counts.values()) != {500}


def test_propensities_make_inverse_propensity_weighting_unbiased() -> None:
    """What the propensities are for: weighting each lead by 1 / propensity, the leads a rep got
    estimate how many leads the policy "always that rep" would have given them — all of them —
    although the logging policy mostly followed the base's rotation."""
    reps = [lr.Rep(x) for x in "abcd"]
    router = lr.Router(lr.Explore(lr.EqualRotation(), share=0.2), reps, seed=3)
    n = 4000
    route_n(router, n)
    weight: dict[str, float] = dict.fromkeys("abcd", 0.0)
    for event in assigned(router):
        assert event.propensity is not None
        weight[event.rep_id] += 1 / event.propensity
    for rep in "abcd":
        assert weight[rep] / n == pytest.approx(1, abs=0.25)


def test_same_seed_same_decisions_other_seed_other_decisions() -> None:
    def run(seed: int) -> list[lr.Event]:
        router = lr.Router(
            lr.Explore(lr.EqualRotation(), share=0.5),
            [lr.Rep(x) for x in "abcdef"],
            caps=lr.FixedCap(daily=60),
            clock=lr.ManualClock(T0),
            seed=seed,
        )
        route_n(router, 200)
        return list(router.ledger.events())

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_draws_are_keyed_by_lead_not_by_order() -> None:
    """The exploration coin comes from ctx.rng, keyed by (seed, lead id): with share 1 and a
    fixed set of takers, a lead goes to the same rep whatever was routed before it."""
    reps = [lr.Rep(x) for x in "abc"]
    lead = lr.Lead("X", T0)
    alone = lr.Router(lr.Explore(lr.EqualRotation(), share=1), reps, seed=9)
    busy = lr.Router(lr.Explore(lr.EqualRotation(), share=1), reps, seed=9)
    route_n(busy, 17)
    assert alone.route(lead).rep_id == busy.route(lead).rep_id


def test_a_rerouted_lead_gets_a_fresh_coin() -> None:
    """A lead routed again after a release explores independently of its first routing, so the
    propensity of the second decision holds given the first (a shared coin would explore
    both times or neither)."""
    share, n = 0.5, 2000
    router = lr.Router(
        lr.Explore(lr.EqualRotation(), share=share), [lr.Rep(x) for x in "abcd"], seed=8
    )
    first = route_n(router, n)
    at = T0 + timedelta(hours=2)
    again = [router.release(d.lead_id, "sla", now=at, reroute=True)[-1] for d in first]
    second = [router.why(d.lead_id) for d in first]
    assert all(isinstance(e, lr.Assigned) and e.propensity is not None for e in again)
    both = sum(
        a.reasons[-1].detail.startswith("explored") and b.reasons[-1].detail.startswith("explored")
        for a, b in zip(first, second, strict=True)
    )
    sd = math.sqrt(n * share**2 * (1 - share**2))
    assert abs(both - n * share**2) < 4 * sd
    # Re-routes never go back to the rep who lost the lead: three takers each time.
    seen = sorted({round(e.propensity or 0, 12) for e in again if isinstance(e, lr.Assigned)})
    assert seen == [round(0.5 / 3, 12), round(0.5 + 0.5 / 3, 12)]


def test_preview_is_what_route_does() -> None:
    router = lr.Router(lr.Explore(lr.EqualRotation(), share=0.5), [lr.Rep(x) for x in "abc"])
    for i in range(30):
        lead = lr.Lead(f"L{i}", T0)
        seen = router.preview(lead, now=T0)
        done = router.route(lead, now=T0)
        assert (seen.rep_id, seen.propensity) == (done.rep_id, done.propensity)


@settings(max_examples=40, deadline=None)
@given(
    reps=ROSTERS,
    share=st.sampled_from((0.1, 0.5, 1.0)),
    seed=st.integers(0, 1000),
    n=st.integers(1, 60),
)
def test_never_past_a_rule_or_a_cap_and_no_lead_lost(
    reps: list[lr.Rep], share: float, seed: int, n: int
) -> None:
    """Invariant: exploring never gives a lead to an inactive rep, a rep outside the lead's
    region, or a rep at the open or daily cap; every lead is in exactly one place."""
    clock = lr.ManualClock(T0)
    router = lr.Router(
        lr.Explore(lr.EqualRotation(), share=share),
        reps,
        rules=[rules.region()],
        caps=lr.FixedCap(open=3, daily=4),
        clock=clock,
        seed=seed,
    )
    for i in range(n):
        lead = lr.Lead(f"L{i}", clock(), region=REGIONS[i % 3])
        decision = router.route(lead)
        if decision.rep_id is not None:
            rep = router.roster[decision.rep_id]
            assert rep.active
            assert not lead.region or not rep.regions or lead.region in rep.regions
        if i % 7 == 6:
            clock.advance(hours=9)
            router.tick()
    ledger = router.ledger
    for rep in router.reps:
        assert ledger.book_size(rep.id) <= 3
        assert max(ledger.daily(rep.id).values(), default=0) <= 4
    for lead_id in ledger.lead_ids():
        assert (ledger.holder(lead_id) is None) != (ledger.pool_of(lead_id) is None)


def test_a_capped_rep_is_never_explored_to() -> None:
    reps = [lr.Rep("a"), lr.Rep("b"), lr.Rep("c")]
    router = lr.Router(
        lr.Explore(lr.EqualRotation(), share=1), reps, caps=lr.FixedCap(open=1), seed=4
    )
    decisions = route_n(router, 5)
    assert sorted(str(d.rep_id) for d in decisions[:3]) == ["a", "b", "c"]
    # The third lead had one taker left: certain, whatever the coin said.
    assert [d.propensity for d in decisions[:3]] == pytest.approx([1 / 3, 1 / 2, 1.0])
    assert [d.rep_id for d in decisions[3:]] == [None, None]
    assert len(assigned(router)) == 3


def test_base_leaving_the_lead_in_a_pool_passes_through() -> None:
    def nobody(ctx: Context) -> str | None:
        return None

    pooled = lr.Pick(None, reason="wait for the grab pool", pool="grab")

    def to_pool(ctx: Context) -> lr.Pick:
        return pooled

    router = lr.Router(lr.Explore(nobody, share=1), [lr.Rep("a")])
    decision = router.route(lr.Lead("L1", T0), now=T0)
    assert decision.rep_id is None
    assert decision.propensity is None
    assert router.ledger.waiting() == ("L1",)

    ctx = Context(lr.Lead("L2", T0), router.roster, router.ledger, T0)
    assert lr.Explore(to_pool, share=1).route(ctx) is pooled
    assert assigned(router) == []


def test_keeps_the_base_scores_and_says_whether_it_explored() -> None:
    def scored(ctx: Context) -> lr.Pick:
        return lr.Pick("a", scores={"a": 0.9, "b": 0.2}, reason="best fit")

    reps = [lr.Rep("a"), lr.Rep("b")]
    router = lr.Router(lr.Explore(scored, share=0.5), reps, seed=0)
    decisions = route_n(router, 40)
    details = {d.reasons[-1].detail for d in decisions}
    assert all(d.scores == {"a": 0.9, "b": 0.2} for d in decisions)
    assert all(d.by == "Explore(scored)" for d in decisions)
    assert any(
        x.startswith("explored") and "scored would have picked a (best fit)" in x for x in details
    )
    assert any(x.startswith("best fit; not explored") for x in details)
    for d in decisions:
        if d.rep_id == "b":
            assert d.reasons[-1].detail.startswith("explored")
            assert d.propensity == pytest.approx(0.25)


@pytest.mark.parametrize("share", [0, -0.1, 1.5, math.nan, math.inf, True, "0.1", None])
def test_share_outside_zero_one_is_a_config_error(share: object) -> None:
    with pytest.raises(lr.ConfigError, match=r"share must be a number in \(0, 1\]") as info:
        lr.Explore(lr.EqualRotation(), share=share)  # type: ignore[arg-type]
    assert repr(share) in str(info.value)


def test_pull_or_randomised_base_is_a_config_error() -> None:
    with pytest.raises(lr.ConfigError, match="pull strategy"):
        lr.Explore(lr.GrabWithCaps(held=3))
    with pytest.raises(lr.ConfigError, match="deterministic base"):
        lr.Explore(lr.Explore(lr.EqualRotation()))


def test_a_base_reporting_a_random_pick_is_refused() -> None:
    def coin(ctx: Context) -> lr.Pick:
        return lr.Pick(sorted(ctx.ids)[0], propensity=0.5)

    router = lr.Router(lr.Explore(coin), [lr.Rep("a"), lr.Rep("b")])
    with pytest.raises(lr.StrategyError, match=r"propensity 0\.5"):
        router.route(lr.Lead("L1", T0), now=T0)
    assert len(router.ledger) == 0


@attrs.frozen(repr=False)
class Timed(lr.Strategy):
    """A push strategy with its own claim and tick moments, to see they are delegated."""

    tags = lr.StrategyTags(needs_tier=True)

    def route(self, ctx: Context) -> str | None:
        return min(ctx.ids, default=None)

    def claim(self, ctx: Context, rep_id: str) -> str | None:
        return f"no claims for {rep_id}"

    def tick(self, ctx: TickContext) -> Sequence[lr.Release]:
        return [lr.Release("L1", "timer")]


def test_tags_name_and_delegation() -> None:
    explore = lr.Explore(Timed(), share=0.05)
    assert explore.tags == lr.StrategyTags(needs_tier=True, randomized=True)
    assert lr.Explore(lr.QuotaProportional()).tags.needs_quota
    assert explore.name == "Explore(Timed)"
    assert repr(explore) == "Explore(Timed(), share=0.05)"
    roster = lr.Roster([lr.Rep("a")])
    ledger = lr.Ledger()
    ctx = Context(lr.Lead("L1", T0), roster, ledger, T0)
    assert explore.claim(ctx, "a") == "no claims for a"
    assert explore.tick(TickContext(roster, ledger, T0)) == [lr.Release("L1", "timer")]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        explore.share = 0.5  # type: ignore[misc]


def test_function_base_is_accepted() -> None:
    def first(ctx: Context) -> str | None:
        return min((r for r in ctx.ids if ctx.can_take(r)), default=None)

    router = lr.Router(lr.Explore(first, share=0.3), [lr.Rep("a"), lr.Rep("b")], seed=1)
    decisions = route_n(router, 20)
    assert {d.rep_id for d in decisions} == {"a", "b"}


WRAPPED: list[Callable[[], lr.Strategy]] = [
    lambda: lr.Explore(lr.EqualRotation()),
    lambda: lr.Explore(lr.QuotaProportional(), share=0.5),
    lambda: lr.Explore(lr.Hierarchical(), share=1),
    lambda: lr.Explore(lr.PerformanceWeighted(), share=0.05),
]


@parametrize_with_checks([make() for make in WRAPPED])
def test_explore_conforms(strategy: lr.Strategy, check: Callable[[lr.Strategy], None]) -> None:
    check(strategy)


def test_check_strategy_accepts_explore_around_profile_matching() -> None:
    check_strategy(lr.Explore(lr.ProfileMatching(), share=0.2))


def test_team_first_routing_keeps_the_joint_propensity() -> None:
    reps = [lr.Rep(f"r{i}", team="ab"[i % 2]) for i in range(6)]
    router = lr.Router(lr.Hierarchical(rep=lr.Explore(lr.EqualRotation(), share=0.5)), reps)
    route_n(router, 60)
    events = assigned(router)
    assert len(events) == 60
    for event in events:
        # the team step is deterministic: the propensity is the rep step's, within the team
        assert event.propensity is not None
        assert min(abs(event.propensity - p) for p in (0.5 + 0.5 / 3, 0.5 / 3)) < 1e-9
