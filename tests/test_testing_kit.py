"""The conformance suite accepts good strategies and names the rule a broken one breaks."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

import leadrouter as lr
from leadrouter.context import Context
from leadrouter.testing import CHECKS, check_strategy, parametrize_with_checks

pytest_plugins = ["leadrouter.testing.plugin"]


def always_first_rep(ctx: Context) -> str | None:
    """Ignores eligibility: takes the first rep on the roster."""
    return sorted(ctx.roster)[0]


def picks_inactive(ctx: Context) -> str | None:
    """Prefers inactive reps when there are any."""
    inactive = sorted(set(ctx.roster) - ctx.roster.active_ids)
    if inactive:
        return inactive[0]
    return min(ctx.ids, default=None, key=str) if ctx.ids else None


def nondeterministic(ctx: Context) -> str | None:
    """Draws from the global generator instead of ctx.rng."""
    ok = sorted(r for r in ctx.ids if ctx.can_take(r))
    return random.SystemRandom().choice(ok) if ok else None


def ignores_caps(ctx: Context) -> str | None:
    """Picks the smallest eligible id, capped or not."""
    return min(ctx.ids) if ctx.ids else None


class Hoarder(lr.Strategy):
    """Writes to the ledger while deciding."""

    def route(self, ctx: Context) -> str | None:
        ledger = ctx.view
        assert isinstance(ledger, lr.Ledger)
        ledger.append(lr.Arrived(lr.Lead(f"ghost-{len(ledger)}", ctx.lead.arrived_at)))
        ok = sorted(r for r in ctx.ids if ctx.can_take(r))
        return ok[0] if ok else None


@pytest.mark.parametrize(
    ("strategy", "rule"),
    [
        (always_first_rep, "check_picks_offered_or_none"),
        (picks_inactive, "check_picks_offered_or_none"),
        (nondeterministic, "check_deterministic"),
        (ignores_caps, "check_picks_offered_or_none"),
        (Hoarder(), "check_does_not_mutate_view"),
    ],
)
def test_broken_strategies_are_rejected_by_name(
    strategy: Callable[[Context], str | None], rule: str
) -> None:
    with pytest.raises(AssertionError, match=rule):
        check_strategy(strategy)


def test_expected_failures_are_tolerated_and_names_checked() -> None:
    check_strategy(nondeterministic, expected_failures={"check_deterministic"})
    with pytest.raises(ValueError, match="unknown checks"):
        check_strategy(lr.EqualRotation(), expected_failures={"check_typo"})


def test_inactive_rep_check_through_router() -> None:
    from leadrouter.testing.checks import check_never_picks_inactive

    with pytest.raises(AssertionError):
        check_never_picks_inactive(lr.strategies.base.as_strategy(picks_inactive))


@parametrize_with_checks([lr.EqualRotation(), lr.Hierarchical()])
def test_builtin_strategies_conform(
    strategy: lr.Strategy, check: Callable[[lr.Strategy], None]
) -> None:
    check(strategy)


def test_parametrize_gives_one_case_per_check() -> None:
    mark = parametrize_with_checks([lr.EqualRotation()])
    assert len(mark.args[1]) == len(CHECKS)
    assert "EqualRotation()-check_deterministic" in mark.kwargs["ids"]


def test_plugin_fixtures(
    router_factory: Callable[..., lr.Router], clock: lr.ManualClock, ledger: lr.Ledger
) -> None:
    router = router_factory(lr.EqualRotation())
    assert router.ledger is ledger
    decision = router.route(lr.Lead("L1", clock()))
    assert decision.at == clock()
    clock.advance(minutes=5)
    assert router.route(lr.Lead("L2", clock())).at == clock()
    assert [rep.id for rep in router.reps] == ["R0", "R1", "R2", "R3"]
