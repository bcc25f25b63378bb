"""Mistakes a team makes in its own strategies that the testing kit and the Router must catch,
each with a message that says how to fix it: fields a real lead or rep leaves empty, random draws
without the `randomized` tag, a strategy that writes to the ledger, claim() answering True, a
tick() that forgot its return, answers of the wrong type; and the kit taking every form of
strategy, rule and roster the Router takes."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import invariant, run_state_machine_as_test

import leadrouter as lr
from leadrouter.context import Context, TickContext
from leadrouter.errors import ConfigError, StrategyError
from leadrouter.strategies.base import Pick, Release
from leadrouter.testing import CHECKS, check_strategy, router_machine, sample_roster
from leadrouter.testing.checks import (
    check_deterministic,
    check_does_not_mutate_view,
    check_picks_offered_or_none,
)
from leadrouter.testing.machine import PHASES

from .conftest import T0


def free(ctx: Context) -> list[str]:
    return sorted(rep for rep in ctx.ids if ctx.can_take(rep))


def smallest_book(ctx: Context) -> str | None:
    ok = free(ctx)
    return min(ok, key=lambda r: (ctx.view.book_size(r), r)) if ok else None


# --------------------------------------------------------------------------- empty fields


class VipByScore(lr.Strategy):
    """`score > 0.8` crashes on a lead with no score."""

    def route(self, ctx: Context) -> str | None:
        ok = free(ctx)
        if not ok:
            return None
        return ok[-1] if ctx.lead.score > 0.8 else ok[0]  # type: ignore[operator]


class ByGrade(lr.Strategy):
    """A lookup by grade crashes on a lead with no grade."""

    def route(self, ctx: Context) -> str | None:
        ok = free(ctx)
        return ok[{"A": 0, "B": 1, "C": 2, "D": 3}[ctx.lead.grade] % len(ok)] if ok else None  # type: ignore[index]


class ByQuota(lr.Strategy):
    """Reads Rep.quota; declares it only when `declared`."""

    def route(self, ctx: Context) -> str | None:
        ok = free(ctx)
        return max(ok, key=lambda r: (ctx.rep(r).quota, r)) if ok else None  # type: ignore[arg-type,return-value]


class DeclaresQuota(ByQuota):
    tags = lr.StrategyTags(needs_quota=True)


class BySeniority(lr.Strategy):
    """Reads Rep.profile["seniority"]."""

    def route(self, ctx: Context) -> str | None:
        ok = free(ctx)
        return max(ok, key=lambda r: (ctx.rep(r).profile["seniority"], r)) if ok else None


class DeclaresProfile(BySeniority):
    tags = lr.StrategyTags(needs_profile=True)


@pytest.mark.parametrize(
    ("strategy", "error"),
    [
        (VipByScore, "TypeError"),
        (ByGrade, "KeyError: None"),
        (ByQuota, "TypeError"),
        (BySeniority, "KeyError: 'seniority'"),
    ],
)
def test_a_strategy_reading_a_field_real_data_leaves_empty_fails(
    strategy: type[lr.Strategy], error: str
) -> None:
    with pytest.raises(AssertionError, match=error) as failed:
        check_strategy(strategy)
    assert "a blank field? the kit's leads come without score" in str(failed.value)


class FirstOffered(lr.Strategy):
    """Indexes ctx.ids, a frozenset: a TypeError that no blank field explains."""

    def route(self, ctx: lr.Context) -> str | None:
        return ctx.ids[0] if ctx.ids else None  # type: ignore[index]


def test_a_strategy_indexing_the_offered_ids_is_told_to_sort_them() -> None:
    with pytest.raises(AssertionError, match="not subscriptable") as failed:
        check_strategy(FirstOffered)
    message = str(failed.value)
    assert "(ctx.ids is a frozenset: to pick in a fixed order, sort it: sorted(ctx.ids))" in message
    assert "blank field" not in message


def test_reps_have_the_fields_the_tags_declare() -> None:
    check_strategy(DeclaresQuota)
    check_strategy(DeclaresProfile)


def test_a_composed_strategy_declares_the_needs_of_the_strategies_inside() -> None:
    tiered = lr.TieredDelay(
        [
            lr.Tier(tier=0, strategy=lr.EqualRotation(), patience=timedelta(hours=1)),
            lr.Tier(tier=1, strategy=lr.QuotaProportional(), patience=timedelta(hours=2)),
        ]
    )
    assert tiered.tags.needs_quota and tiered.tags.needs_tier
    assert lr.Hierarchical(rep=lr.ProfileMatching()).tags.needs_profile
    check_strategy(tiered)


def test_sample_data_leaves_fields_empty_only_when_asked() -> None:
    as_before = sample_roster(6, random.Random(1))
    assert all(rep.quota is not None and rep.profile for rep in as_before)
    bare = sample_roster(6, random.Random(1), tags=lr.StrategyTags())
    assert [rep.id for rep in bare if rep.quota is None and not rep.profile] == ["rep1", "rep4"]
    assert [(r.regions, r.team, r.tier) for r in bare] == [
        (r.regions, r.team, r.tier) for r in as_before
    ]
    declared = sample_roster(6, random.Random(1), tags=lr.StrategyTags(needs_quota=True))
    assert all(rep.quota is not None for rep in declared)


# --------------------------------------------------------------------------- random draws


class DrawsUntagged(lr.Strategy):
    def route(self, ctx: Context) -> Pick | None:
        ok = free(ctx)
        return Pick(ctx.rng.choice(ok), propensity=1 / len(ok)) if ok else None


def test_drawing_from_ctx_rng_without_the_randomized_tag_fails() -> None:
    with pytest.raises(AssertionError, match="tag it randomized=True and return a propensity"):
        check_strategy(DrawsUntagged)


class DrawsTagged(DrawsUntagged):
    tags = lr.StrategyTags(randomized=True)


def test_a_tagged_randomised_strategy_is_not_held_to_one_answer() -> None:
    check_strategy(DrawsTagged)


# --------------------------------------------------------------------------- writing


class WritesTouches(lr.Strategy):
    """'Nudges' a rep by recording a touch on their oldest untouched lead."""

    def route(self, ctx: Context) -> str | None:
        best = smallest_book(ctx)
        ledger = ctx.view
        assert isinstance(ledger, lr.Ledger)
        for lead_id, rep_id, _ in ledger.held():
            if rep_id == best and ledger.first_touch(lead_id) is None:
                ledger.append(lr.Touched(lead_id, rep_id, ctx.now))
                break
        return best


@pytest.mark.parametrize("call", ["route", "preview"])
def test_the_router_refuses_a_strategy_that_writes_while_routing(call: str) -> None:
    router = lr.Router(WritesTouches(), [lr.Rep("a")])
    router.route(lr.Lead("L1", T0), now=T0)
    with pytest.raises(StrategyError, match=r"WritesTouches\(\) appended 1 event.*'L2'"):
        getattr(router, call)(lr.Lead("L2", T0), now=T0)


def test_the_router_refuses_a_strategy_that_writes_while_claiming_or_ticking() -> None:
    class Writes(lr.Strategy):
        def claim(self, ctx: Context, rep_id: str) -> str | None:
            ledger = ctx.view
            assert isinstance(ledger, lr.Ledger)
            ledger.append(lr.Arrived(lr.Lead("X", ctx.now)))
            return None

        def tick(self, ctx: TickContext) -> Sequence[Release]:
            ledger = ctx.view
            assert isinstance(ledger, lr.Ledger)
            ledger.append(lr.Arrived(lr.Lead(f"T{len(ledger)}", ctx.now)))
            return []

    router = lr.Router(Writes(), [lr.Rep("a")])
    router.route(lr.Lead("L1", T0), now=T0)
    with pytest.raises(StrategyError, match=r"appended 1 event.* in claim"):
        router.claim("a", "L1", now=T0)
    with pytest.raises(StrategyError, match=r"appended 1 event.* in tick"):
        router.tick(T0)


def test_the_suite_names_the_write_before_any_check_through_a_router() -> None:
    assert CHECKS[0] is check_does_not_mutate_view
    with pytest.raises(AssertionError, match=r"^check_does_not_mutate_view"):
        check_strategy(WritesTouches)


# --------------------------------------------------------------------------- claim and tick


def test_claim_answering_true_is_an_error_not_a_silent_refusal() -> None:
    class SaysTrue(lr.Strategy):
        tags = lr.StrategyTags(pull=True)

        def claim(self, ctx: Context, rep_id: str) -> str | None:
            return True  # type: ignore[return-value]  # meant "allowed"

    router = lr.Router(SaysTrue(), [lr.Rep("a")])
    router.route(lr.Lead("L1", T0), now=T0)
    with pytest.raises(StrategyError, match=r"SaysTrue\(\) answered True for rep 'a'"):
        router.claim("a", "L1", now=T0)
    assert router.ledger.holder("L1") is None


class ForgetsReturn(lr.Strategy):
    def route(self, ctx: Context) -> str | None:
        return smallest_book(ctx)

    def tick(self, ctx: TickContext) -> Sequence[Release]:
        pass  # type: ignore[return-value]  # forgot to return


def test_tick_returning_none_says_what_to_return() -> None:
    with pytest.raises(StrategyError, match=r"tick\(\) returned None; return a list of Release"):
        lr.Router(ForgetsReturn(), [lr.Rep("a")]).tick(T0)
    with pytest.raises(AssertionError, match=r"tick\(\) returned None; return a list of Release"):
        check_strategy(ForgetsReturn)


def test_tick_returning_something_else_than_releases_says_so() -> None:
    class ReturnsIds(ForgetsReturn):
        def tick(self, ctx: TickContext) -> Sequence[Release]:
            return list(ctx.view.lead_ids())  # type: ignore[arg-type]

    router = lr.Router(ReturnsIds(), [lr.Rep("a")])
    router.route(lr.Lead("L1", T0), now=T0)
    with pytest.raises(StrategyError, match=r"returned 'L1' among its actions; return Release"):
        router.tick(T0)


# --------------------------------------------------------------------------- answers and forms


def test_an_answer_of_the_wrong_type_gets_the_routers_message() -> None:
    def ranked(ctx: Context) -> list[str]:
        return free(ctx)

    with pytest.raises(lr.errors.InvalidTypeError, match=r"Pick.rep_id must be text or None"):
        check_picks_offered_or_none(ranked)  # type: ignore[arg-type]


def test_a_check_takes_every_form_check_strategy_takes() -> None:
    check_deterministic(lr.EqualRotation)
    check_deterministic(smallest_book)
    check_deterministic(lambda: lr.GrabWithCaps(held=2))
    with pytest.raises(ConfigError, match="expected a strategy, a function strategy"):
        check_deterministic(42)  # type: ignore[arg-type]


def test_a_push_strategy_that_pools_everything_is_told_about_the_pull_tag() -> None:
    def grab_pool(ctx: Context) -> Pick:
        return Pick(None, pool="grab")

    with pytest.raises(AssertionError, match=r"if this is a pull strategy.*tag it pull=True"):
        check_strategy(grab_pool)


# --------------------------------------------------------------------------- router_machine


def test_the_machines_settings_leave_out_the_explain_phase() -> None:
    machine = router_machine(lr.EqualRotation)

    class Mine(machine):  # type: ignore[misc,valid-type]
        pass

    for cls in (machine, Mine):
        assert Phase.explain not in cls.TestCase.settings.phases
        assert Phase.shrink in cls.TestCase.settings.phases
    assert Phase.explain not in PHASES


def test_the_machine_takes_one_rule_and_a_fixed_roster() -> None:
    def seniors_only(lead: lr.Lead, rep: lr.Rep) -> bool:
        return rep.profile.get("seniority", 0) >= 3

    roster = [lr.Rep("junior"), lr.Rep("senior", profile={"seniority": 4})]
    machine = router_machine(smallest_book, rules=seniors_only, roster=roster)

    class OnlySeniorsHold(machine):  # type: ignore[misc,valid-type]
        @invariant()
        def junior_holds_nothing(self) -> None:
            assert not self.router.ledger.book("junior")

    run_state_machine_as_test(
        OnlySeniorsHold,
        settings=settings(
            max_examples=5,
            stateful_step_count=10,
            deadline=None,
            phases=PHASES,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    with pytest.raises(ConfigError, match="one roster as a non-empty list of Rep"):
        router_machine(smallest_book, roster=[])
