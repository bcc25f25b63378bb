"""Shares track targets, the kit's third invariant: `check_shares_track_weights` passes every
built-in weighted strategy in its own periods and time zone, and catches a weighted strategy
that favours a rep, one that states weights it ignores, and weights that move within a period."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

import leadrouter as lr
from leadrouter.caps import period_start
from leadrouter.context import Context
from leadrouter.errors import ConfigError
from leadrouter.strategies.base import Pick
from leadrouter.testing import (
    applies_to,
    check_shares_track_weights,
    check_strategy,
    checks_for,
    sample_roster,
)
from leadrouter.testing._shares import history_before, period_starts


@attrs.frozen(repr=False)
class BySeniority(lr.Weighted):
    """A team's own rule: a rep's weight is their seniority (a profile field)."""

    tags = lr.StrategyTags(needs_profile=True)

    def weights(self, ctx: Context) -> Mapping[str, float]:
        return {rep.id: float(rep.profile.get("seniority", 1)) for rep in ctx.reps}


@attrs.frozen(repr=False)
class FavoursRep0(lr.QuotaProportional):
    """Planted bug: states quota weights, but hands every fourth lead to rep0 when it is free."""

    def route(self, ctx: Context) -> Pick | None:
        first = int(ctx.lead.id.removeprefix("lead")) % 4 == 0
        if first and "rep0" in ctx.ids and ctx.can_take("rep0"):
            return Pick("rep0")
        return super().route(ctx)


class RotatesDespiteWeights(lr.Strategy):
    """Planted bug: claims seniority weights (tagged weighted) but rotates evenly."""

    tags = lr.StrategyTags(needs_profile=True, weighted=True)

    def weights(self, ctx: Context) -> Mapping[str, float]:
        return {rep.id: float(rep.profile["seniority"]) for rep in ctx.reps}

    def route(self, ctx: Context) -> str | None:
        free = sorted(rep for rep in ctx.ids if ctx.can_take(rep))
        return min(free, key=lambda rep: ctx.view.count(rep)) if free else None


@attrs.frozen(repr=False)
class ByOpenLeads(lr.Weighted):
    """Weights that move with every lead: a rep holding more leads weighs more."""

    def weights(self, ctx: Context) -> Mapping[str, float]:
        return {rep: 1.0 + ctx.view.book_size(rep) for rep in ctx.ids}


@attrs.frozen(repr=False)
class ByLocalWeekday(lr.Weighted):
    """Weights fixed for each local day and different on the next: they change at midnight in
    the strategy's zone, where its daily period starts over."""

    def weights(self, ctx: Context) -> Mapping[str, float]:
        day = ctx.now.astimezone(ZoneInfo(self.tz)).weekday()
        return {rep: 1.0 + (int(rep.removeprefix("rep")) + day) % 3 for rep in ctx.ids}


@attrs.frozen(repr=False)
class SeesWhoRoutedThePeriod(lr.PerformanceWeighted):
    """PerformanceWeighted, failing when a lead of the current period was assigned by anyone
    but itself (the history the check writes for it)."""

    def route(self, ctx: Context) -> Pick | None:
        assert isinstance(ctx.view, lr.Ledger)
        since = period_start(ctx.now, self.period, self.tz)
        assert since is not None
        others = [
            event.lead_id
            for event in ctx.view.events()
            if isinstance(event, lr.Assigned) and event.at >= since and event.by != self.name
        ]
        assert not others, f"leads of the period {since} routed by another strategy: {others}"
        return super().route(ctx)


class NoWeights(lr.Strategy):
    tags = lr.StrategyTags(weighted=True)

    def route(self, ctx: Context) -> str | None:
        return min(ctx.ids) if ctx.ids else None


BUILT_IN = [
    lr.QuotaProportional(),
    lr.QuotaProportional(period="month", tz="Asia/Shanghai"),
    lr.QuotaProportional(period="week", tz="America/New_York"),
    lr.QuotaProportional(period="all"),
    lr.PerformanceWeighted(),
    lr.PerformanceWeighted(measure="revenue", tz="Asia/Shanghai"),
    lr.PerformanceWeighted(period="all"),
    lr.UtilizationWeighted(tz="America/Los_Angeles"),
]


@pytest.mark.parametrize("strategy", BUILT_IN, ids=repr)
def test_built_in_weighted_strategies_keep_shares_within_two_leads(strategy: lr.Weighted) -> None:
    check_shares_track_weights(strategy)


def test_the_history_weights_are_learned_from_differs_by_rep_and_ends_before_the_period() -> None:
    """Learned weights come out unequal, so the check on PerformanceWeighted and
    UtilizationWeighted is more than a check of equal rotation; and no lead of the history is
    in the period checked."""
    reps = sample_roster(5, random.Random(0))
    start = period_starts("day", "UTC", 1)[0]
    ledger = history_before(start, reps, random.Random(0))
    assert max(event.at for event in ledger.events()) < start
    for strategy in (lr.PerformanceWeighted(), lr.UtilizationWeighted()):
        weights = strategy.explain_weights(ledger, reps, start)
        assert max(weights.values()) > 1.5 * min(weights.values()), (strategy, weights)


@pytest.mark.parametrize("tz", ["UTC", "Asia/Shanghai", "America/Los_Angeles"])
def test_history_is_written_before_the_first_period_so_none_of_it_counts_in_one(tz: str) -> None:
    check_shares_track_weights(SeesWhoRoutedThePeriod(tz=tz))


@pytest.mark.parametrize(
    ("period", "tz"), [("day", "Asia/Shanghai"), ("week", "America/New_York"), ("month", "UTC")]
)
def test_periods_start_at_local_midnight_of_the_strategys_zone(period: str, tz: str) -> None:
    starts = period_starts(period, tz, 2)
    local = [start.astimezone(ZoneInfo(tz)) for start in starts]
    assert all((t.hour, t.minute) == (0, 0) for t in local)
    assert len(set(local)) == 3
    if period == "week":
        assert all(t.weekday() == 0 for t in local)
    if period == "month":
        assert all(t.day == 1 for t in local)


def test_weights_may_change_where_the_strategys_own_period_starts() -> None:
    """Counted in UTC days, these weights would change in the middle of a day."""
    check_shares_track_weights(ByLocalWeekday(tz="Asia/Shanghai"))
    check_shares_track_weights(ByLocalWeekday(tz="America/Los_Angeles"))


def test_a_teams_own_weights_from_a_profile_field_are_tracked() -> None:
    check_shares_track_weights(BySeniority())
    reps = [lr.Rep("anna", profile={"seniority": 2}), lr.Rep("bob", profile={"seniority": 1})]
    check_shares_track_weights(BySeniority(), reps, leads=30)
    check_strategy(BySeniority())


def test_a_weighted_strategy_that_favours_a_rep_fails_naming_rep_lead_time_count_target() -> None:
    with pytest.raises(AssertionError) as failed:
        check_shares_track_weights(FavoursRep0())
    message = str(failed.value)
    assert message.startswith("check_shares_track_weights (FavoursRep0(")
    assert re.search(
        r"after lead\d+ at 2026-01-06T\S+, rep0 has \d+ of the \d+ leads this day, \d\.\d\d "
        r"above its target \d+\.\d\d \(share \d+\.\d% of \d+\).*weights \{rep0: \d",
        message,
    ), message
    with pytest.raises(AssertionError, match=r"check_shares_track_weights.*rep0 has"):
        check_strategy(FavoursRep0())
    check_strategy(FavoursRep0(), expected_failures={"check_shares_track_weights": "planted"})


def test_a_strategy_that_states_weights_but_ignores_them_fails() -> None:
    with pytest.raises(AssertionError, match=r"leads this day, \d\.\d\d (above|below) its target"):
        check_shares_track_weights(RotatesDespiteWeights())
    with pytest.raises(AssertionError, match="check_shares_track_weights"):
        check_strategy(RotatesDespiteWeights())


def test_weights_that_move_while_only_leads_arrive_are_named_as_the_reason() -> None:
    with pytest.raises(AssertionError) as failed:
        check_shares_track_weights(ByOpenLeads())
    message = str(failed.value)
    assert "the weights changed within the day while only leads were routed" in message
    assert "for lead0 at 2026-01-06T00:15:00+00:00" in message
    assert "its target" not in message


@pytest.mark.parametrize(
    "strategy",
    [
        lr.PerformanceWeighted(period="week"),
        lr.UtilizationWeighted(period="week"),
        lr.PerformanceWeighted(period="month", tz="America/New_York"),
    ],
    ids=repr,
)
def test_weights_learned_again_each_midnight_of_a_longer_period_pass(strategy: Any) -> None:
    """Performance and utilisation weighting learn their weights at each local midnight; with a
    "week" or "month" period the weights move there, inside the period, which is their promise:
    the bound holds until the first midnight, then the change is absorbed at a bounded pace."""
    check_shares_track_weights(strategy)
    check_strategy(strategy)


def test_a_count_off_before_the_first_midnight_of_a_week_still_fails() -> None:
    """The bound is checked from the period's start until the weights first move."""

    @attrs.frozen(repr=False)
    class EarlyFavourite(lr.PerformanceWeighted):
        def route(self, ctx: Context) -> Pick | None:
            if "rep0" in ctx.ids and ctx.can_take("rep0"):
                return Pick("rep0", reason="planted")
            return super().route(ctx)

    with pytest.raises(AssertionError, match="leads this week"):
        check_shares_track_weights(EarlyFavourite(period="week"))


def test_the_check_is_chosen_by_the_weighted_tag_which_every_weighted_subclass_has() -> None:
    def names(strategy: object) -> set[str]:
        return {check.__name__ for check in checks_for(strategy)}  # type: ignore[arg-type]

    assert str(applies_to(check_shares_track_weights)) == "weighted"
    assert BySeniority.tags == lr.StrategyTags(needs_profile=True, weighted=True)
    for weighted in (lr.QuotaProportional(), lr.PerformanceWeighted(), BySeniority()):
        assert "check_shares_track_weights" in names(weighted)
    for other in (lr.EqualRotation(), lr.Explore(lr.QuotaProportional()), lr.Hierarchical()):
        assert "check_shares_track_weights" not in names(other)
    assert "check_shares_track_weights" in names(RotatesDespiteWeights())


def test_a_strategy_tagged_weighted_without_weights_or_with_inactive_reps_is_told_why() -> None:
    with pytest.raises(AssertionError, match=r"tagged weighted but has no weights\(ctx\)"):
        check_shares_track_weights(NoWeights())
    with pytest.raises(ConfigError, match=r"every rep must be active.*\['b'\]"):
        check_shares_track_weights(
            lr.QuotaProportional(), [lr.Rep("a", quota=1), lr.Rep("b", active=False)]
        )
