"""Capabilities declared, checked early: ledger views a strategy needs, batching in its tags, rule
families, and what a cap can say about a rep without being asked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter import rules
from leadrouter.capabilities import (
    ClaimsView,
    HistoryView,
    TierView,
    claims_view,
    missing_methods,
    view_methods,
)
from leadrouter.caps import Cap, FixedCap, day_start
from leadrouter.context import Context
from leadrouter.errors import CapabilityError, ConfigError
from leadrouter.events import Arrived, Assigned, Converted
from leadrouter.router._capping import all_capped
from leadrouter.strategies.hierarchical import Hierarchical
from leadrouter.strategies.tiered_delay import Tier, TieredDelay

from .conftest import T0, at

REPS = [lr.Rep("a", team="x"), lr.Rep("b", team="x"), lr.Rep("c", team="y")]


def _tiers() -> TieredDelay:
    return TieredDelay([Tier(tier=0, strategy=lr.EqualRotation(), patience=timedelta(hours=1))])


# ----------------------------------------------------------------------------- ledger views


def test_tiered_delay_as_hierarchical_team_strategy_fails_at_construction() -> None:
    with pytest.raises(CapabilityError) as got:
        Hierarchical(team=_tiers())
    message = str(got.value)
    assert "TieredDelay, Hierarchical's team strategy, needs the ledger view TierView" in message
    assert "has no lead_releases, held, reached, tag_reason" in message
    assert "use TieredDelay as Hierarchical's rep strategy (rep=...)" in message
    assert isinstance(got.value, ConfigError) and isinstance(got.value, ValueError)


def test_grab_with_caps_as_team_strategy_fails_at_construction() -> None:
    with pytest.raises(CapabilityError, match="needs the ledger view ClaimsView"):
        Hierarchical(team=lr.GrabWithCaps(held=2))


def test_a_team_strategy_reading_profiles_fails_and_its_quota_need_is_carried() -> None:
    """A team is one pseudo-rep with its members' summed quota and best tier, no profile: a
    team strategy weighting by profile silently fell back to equal weights."""
    with pytest.raises(CapabilityError, match="reads rep profiles, but a team is seen as one rep"):
        Hierarchical(team=lr.ProfileMatching())
    assert Hierarchical(team=lr.QuotaProportional()).tags.needs_quota
    assert not Hierarchical().tags.needs_quota


def test_composed_strategies_carry_the_views_of_what_reads_their_ledger() -> None:
    assert Hierarchical(rep=_tiers()).tags.needs_views == (TierView,)
    assert Hierarchical().tags.needs_views == ()
    tiered = TieredDelay(
        [
            Tier(tier=0, strategy=lr.GrabWithCaps(), patience=timedelta(hours=1)),
            Tier(tier=1, strategy=lr.GrabWithCaps(), patience=timedelta(hours=1)),
        ]
    )
    assert tiered.tags.needs_views == (TierView, ClaimsView)
    assert tiered.tags.needs_tier
    assert lr.Explore(_tiers()).tags.needs_views == (TierView,)


class _BareLedger(lr.Ledger):
    """A ledger whose class hides the claim views (as a custom store might lack them)."""

    held = None  # type: ignore[assignment]


def test_the_router_checks_its_ledger_when_built() -> None:
    with pytest.raises(CapabilityError) as got:
        lr.Router(lr.GrabWithCaps(held=1), REPS, ledger=_BareLedger())
    assert "GrabWithCaps(held=1, " in str(got.value)
    assert "needs the ledger view ClaimsView" in str(got.value)
    assert "the router's ledger (_BareLedger) has no held" in str(got.value)
    with pytest.raises(CapabilityError, match=r"rep=TieredDelay\(.*needs the ledger view TierView"):
        lr.Router(Hierarchical(rep=_tiers()), REPS, ledger=_BareLedger())
    lr.Router(lr.EqualRotation(), REPS, ledger=_BareLedger())  # needs no extra view


def test_a_strategy_called_directly_with_a_short_view_names_what_is_missing() -> None:
    ledger = _BareLedger()
    ctx = Context(lr.Lead("L1", T0), lr.Roster(REPS), ledger, T0)
    with pytest.raises(CapabilityError, match="GrabWithCaps needs the ledger view ClaimsView"):
        lr.GrabWithCaps(held=1).claim(ctx, "a")
    assert claims_view(lr.Ledger(), "x") is not None


def test_view_methods_and_what_a_ledger_offers() -> None:
    assert view_methods(TierView)[-4:] == ("lead_releases", "held", "reached", "tag_reason")
    assert "book_size" in view_methods(ClaimsView)  # every view is a LedgerView
    for need in (ClaimsView, TierView, HistoryView):
        assert missing_methods(lr.Ledger, need) == ()
        assert isinstance(lr.Ledger(), need)
    assert missing_methods(_BareLedger, ClaimsView) == ("held",)


def test_needs_views_takes_view_protocols_only() -> None:
    assert lr.StrategyTags(needs_views=ClaimsView).needs_views == (ClaimsView,)
    with pytest.raises(ConfigError, match="needs_views takes view protocols"):
        lr.StrategyTags(needs_views=("ClaimsView",))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- batching


def test_overriding_route_batch_without_the_tag_fails_at_definition() -> None:
    with pytest.raises(CapabilityError, match="overrides route_batch but its tags do not"):

        class Quiet(lr.Strategy):
            def route_batch(
                self, ctxs: Sequence[Context], capacity: Mapping[str, int | None]
            ) -> Sequence[str | None]:
                return [None] * len(ctxs)


def test_declaring_batching_without_route_batch_fails_at_definition() -> None:
    with pytest.raises(CapabilityError, match="does not override route_batch"):

        @attrs.frozen
        class Claims(lr.Strategy):
            tags = lr.StrategyTags(batching=True)


class _Wrapper(lr.Strategy):
    """Tags per instance (a property), so only the Router can hold it to them."""

    @property
    def tags(self) -> lr.StrategyTags:  # type: ignore[override]  # per instance, as Explore
        return lr.StrategyTags(batching=True)


def test_instance_tags_are_checked_when_the_router_is_built() -> None:
    with pytest.raises(CapabilityError, match="_Wrapper declares StrategyTags"):
        lr.Router(_Wrapper(), REPS)


def test_explore_around_a_batch_solver_routes_a_batch_lead_by_lead() -> None:
    explore = lr.Explore(lr.ProfileMatching(), share=0.5)
    assert not explore.tags.batching and explore.tags.needs_profile
    router = lr.Router(explore, REPS)
    decisions = router.route_many([lr.Lead(f"L{i}", T0) for i in range(4)], now=T0)
    assert [d.rep_id is not None for d in decisions] == [True] * 4


# ----------------------------------------------------------------------------- rule families


@attrs.frozen
class _VipPool(rules.PoolRule):
    def pool_for(self, ctx: Context) -> tuple[str, str] | None:
        return ("vip", "a VIP lead") if ctx.lead.source == "vip" else None


@attrs.frozen
class _PreferC(rules.PreferenceRule):
    def prefer(self, ctx: Context) -> tuple[str, str] | None:
        return ("c", "c asked for it") if ctx.lead.region == "east" else None


@attrs.frozen
class _NotB(rules.Filter):
    def eligible(self, ctx: Context) -> frozenset[str]:
        return ctx.roster.active_ids - {"b"}


@attrs.frozen
class _Both(rules.PoolRule, rules.PreferenceRule):
    def pool_for(self, ctx: Context) -> tuple[str, str] | None:
        return ("held-back", "held back") if ctx.lead.grade == "D" else None

    def prefer(self, ctx: Context) -> tuple[str, str] | None:
        return ("a", "a knows them") if ctx.lead.grade == "A" else None


def test_custom_rules_dispatch_by_family() -> None:
    router = lr.Router(lr.EqualRotation(), REPS, rules=[_NotB(), _VipPool(), _PreferC(), _Both()])
    vip = router.route(lr.Lead("V", T0, source="vip"), now=T0)
    assert (vip.rep_id, vip.pool, vip.reasons[-1].code) == (None, "vip", "pooled")
    east = router.route(lr.Lead("E", T0, region="east"), now=T0)
    assert (east.rep_id, east.reasons[-1].code) == ("c", "dedup")
    graded = router.route(lr.Lead("A", T0, grade="A"), now=T0)
    assert graded.rep_id == "a" and graded.by == repr(_Both())
    assert router.route(lr.Lead("D", T0, grade="D"), now=T0).pool == "held-back"
    plain = [router.route(lr.Lead(f"P{i}", T0), now=T0).rep_id for i in range(4)]
    assert "b" not in plain and set(plain) == {"a", "c"}


def test_the_old_single_base_form_fails_at_definition_pointing_to_the_family() -> None:
    with pytest.raises(CapabilityError, match=r"subclass leadrouter\.rules\.PoolRule"):

        class OldPool(rules.Rule):
            def pool_for(self, ctx: Context) -> tuple[str, str] | None:
                return None

    with pytest.raises(CapabilityError, match=r"defines prefer\(\) but is not a PreferenceRule"):

        class FilterThatPrefers(rules.Filter):
            def eligible(self, ctx: Context) -> frozenset[str]:
                return ctx.roster.active_ids

            def prefer(self, ctx: Context) -> tuple[str, str] | None:
                return None

    with pytest.raises(CapabilityError, match=r"defines eligible\(\) but is not a Filter"):

        class OldFilter(rules.Rule):
            def eligible(self, ctx: Context) -> frozenset[str]:
                return ctx.roster.active_ids


def test_a_rule_of_no_family_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="a Rule of no family"):
        lr.Router(lr.EqualRotation(), REPS, rules=[rules.Rule()])


def test_built_in_rules_belong_to_their_family() -> None:
    assert isinstance(rules.nurture(below=0.2), rules.PoolRule)
    assert isinstance(rules.to_pool("p", bool), rules.PoolRule)
    assert isinstance(rules.dedup_to_owner(), rules.PreferenceRule)
    assert isinstance(rules.region(), rules.Filter)
    assert not isinstance(rules.region(), rules.PoolRule | rules.PreferenceRule)


# ----------------------------------------------------------------------------- caps


def _old_all_capped(caps: Sequence[FixedCap], ctx: Context) -> bool:
    """The router's check before caps answered `would_refuse`, kept as the oracle: FixedCaps
    only, read field by field."""
    view, now = ctx.view, ctx.now
    full: frozenset[str] = frozenset()
    for cap in caps:
        full = full | cap.saturated(ctx)
    for rep_id in ctx.roster.active_ids:
        if rep_id in full:
            continue
        for cap in caps:
            if cap.open is not None and view.book_size(rep_id) >= cap.open:
                break
            if cap.daily is not None and view.count(rep_id, since=day_start(now, cap.tz)) >= (
                cap.daily
            ):
                return False
        else:
            return False
    return True


LIMIT = st.one_of(st.none(), st.integers(0, 3))
FIXED = st.builds(
    FixedCap, open=LIMIT, daily=LIMIT, tz=st.sampled_from(["UTC", "Asia/Shanghai", "America/Lima"])
)


@st.composite
def workloads(draw: st.DrawFn) -> tuple[list[FixedCap], Context, list[str]]:
    """Caps, a context over a ledger with random receipts and closes over two days, and the reps
    some caps were asked about (so they remember some as full)."""
    ids = [f"r{i}" for i in range(draw(st.integers(1, 5)))]
    roster = lr.Roster([lr.Rep(rep, active=draw(st.booleans())) for rep in ids])
    ledger = lr.Ledger()
    for n in range(draw(st.integers(0, 12))):
        when = at(hours=draw(st.integers(0, 40)))
        rep = draw(st.sampled_from(ids))
        ledger.append(Arrived(lr.Lead(f"L{n}", when)))
        ledger.append(Assigned(f"L{n}", rep, when, "test"))
        if draw(st.booleans()):
            ledger.append(Converted(f"L{n}", rep, when))
    caps = draw(st.lists(FIXED, min_size=1, max_size=3))
    now = at(hours=draw(st.integers(40, 50)))
    ctx = Context(lr.Lead("probe", T0), roster, ledger, now)
    asked = draw(st.lists(st.sampled_from(ids), max_size=4))
    for rep in asked:
        for cap in caps:
            if cap.check(rep, ctx) is not None:
                break
    return caps, ctx, asked


@settings(max_examples=300, deadline=None)
@given(workloads())
def test_caps_answer_all_capped_as_the_old_field_by_field_check(
    workload: tuple[list[FixedCap], Context, list[str]],
) -> None:
    # Invariant: asking each cap `would_refuse` gives the router the same "nobody can take a
    # lead" verdict as its former FixedCap-only reading of open/daily limits.
    caps, ctx, _ = workload
    assert all_capped(tuple(caps), ctx) == _old_all_capped(caps, ctx)


@settings(max_examples=300, deadline=None)
@given(workloads(), st.data())
def test_would_refuse_is_what_check_answers_without_asking(
    workload: tuple[list[FixedCap], Context, list[str]], data: st.DataObject
) -> None:
    # Invariant: True means check refuses and remembers nothing new; False means check allows;
    # a FixedCap says None only where check refuses at the daily cap (and remembers it).
    caps, ctx, _ = workload
    cap = data.draw(st.sampled_from(caps))
    rep = data.draw(st.sampled_from(sorted(ctx.roster)))
    before = cap.saturated(ctx)
    answer = cap.would_refuse(rep, ctx)
    why = cap.check(rep, ctx)
    if answer is True:
        assert why is not None and why.startswith("open-lead cap")
        assert cap.saturated(ctx) == before
    elif answer is False:
        assert why is None
    else:
        assert why is not None and why.startswith("daily cap")


def test_a_cap_that_cannot_tell_makes_the_router_offer() -> None:
    class Opaque(Cap):
        def check(self, rep_id: str, ctx: Context) -> str | None:
            return "closed today"

    ctx = Context(lr.Lead("L", T0), lr.Roster(REPS), lr.Ledger(), T0)
    assert Opaque().would_refuse("a", ctx) is None
    assert not all_capped((Opaque(),), ctx)
    everyone_full = FixedCap(open=0)
    assert all_capped((everyone_full, Opaque()), ctx)  # refused before Opaque is asked
    assert not all_capped((Opaque(), everyone_full), ctx)


def test_waiting_leads_are_placed_once_an_open_cap_frees() -> None:
    router = lr.Router(lr.EqualRotation(), [lr.Rep("a")], caps=[FixedCap(open=1)])
    assert router.route(lr.Lead("L1", T0), now=T0).rep_id == "a"
    assert router.route(lr.Lead("L2", T0), now=T0).rep_id is None
    assert router.tick(at(5)) == []
    router.record(lr.Converted("L1", "a", at(6)))
    assert [type(e).__name__ for e in router.tick(at(7))] == ["Assigned"]


@pytest.mark.parametrize("tags", [lr.StrategyTags, {"pull": True}], ids=["class", "dict"])
def test_tags_that_are_not_a_strategytags_instance_are_named_where_the_class_is_defined(
    tags: object,
) -> None:
    """StrategyTags without its parentheses was blamed on batching=True, a dict was an
    AttributeError at the first lead."""
    with pytest.raises(lr.errors.CapabilityError, match=r"Mine\.tags must be a StrategyTags"):
        type("Mine", (lr.Strategy,), {"tags": tags})
