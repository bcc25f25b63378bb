"""Running the conformance suite: `check_strategy` and the pytest front end
`parametrize_with_checks`.

Both take the same strategy forms (an instance, a function strategy, or a zero-argument
factory), select the checks that apply to the strategy's tags before running any, give every
check a fresh instance, and treat `expected_failures={check_name: reason}` the same way: the
named check must fail, for the stated reason, and a pass is reported as an error, so an
entry cannot outlive the bug it excuses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from leadrouter.errors import ConfigError
from leadrouter.strategies.base import Strategy
from leadrouter.testing._fresh import StrategySource, as_factory
from leadrouter.testing.checks import CHECKS, CheckFunction, checks_for_tags

if TYPE_CHECKING:
    import pytest

__all__ = [
    "ExpectedFailures",
    "ExpectedFor",
    "check_strategy",
    "checks_for",
    "parametrize_with_checks",
]

ExpectedFailures = Mapping[str, str]
"""Check name -> why the strategy fails it, e.g. `{"check_pickling": "holds a lock"}`."""

ExpectedFor = ExpectedFailures | Callable[[Strategy], ExpectedFailures | None] | None
"""Expected failures for every strategy, a callable giving each strategy's, or None."""


def _expected(given: object, strategy: Strategy) -> dict[str, str]:
    """`given` (a mapping, None, or a callable taking the strategy) as a checked dict."""
    if callable(given):
        given = given(strategy)
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise ConfigError(
            f"expected_failures must map each check name to the reason the strategy fails it, "
            f"e.g. {{'check_deterministic': 'draws from the global random module'}}; got "
            f"{given!r}"
        )
    known = {check.__name__ for check in CHECKS}
    unknown = sorted(set(given) - known)
    if unknown:
        raise ConfigError(f"unknown checks in expected_failures: {unknown}; known: {sorted(known)}")
    blank = sorted(name for name, why in given.items() if not isinstance(why, str) or not why)
    if blank:
        raise ConfigError(
            f"expected_failures needs a reason (a non-empty string) for {blank}: say why the "
            "strategy fails each check, so the entry can be removed when the reason goes away"
        )
    return dict(given)


def checks_for(strategy: StrategySource) -> tuple[CheckFunction, ...]:
    """The checks that apply to `strategy`, chosen by its tags, in the order they run.

    `EqualRotation` gets the push checks, `GrabWithCaps` (tagged `pull`) the pull ones instead,
    only randomised strategies get `check_propensities`, only batching ones `check_route_batch`.
    """
    return checks_for_tags(as_factory(strategy)().tags)


def _failure(check: CheckFunction, strategy: Strategy) -> AssertionError | None:
    """Run one check: None when it passes, else an AssertionError naming it (an exception other
    than AssertionError is the strategy crashing, reported as a failure of the check)."""
    try:
        check(strategy)
    except AssertionError as exc:
        return exc
    except Exception as exc:
        failure = AssertionError(
            f"{check.__name__}: {strategy!r} raised {type(exc).__name__}: {exc}{_hint(exc)}"
        )
        failure.__cause__ = exc
        return failure
    return None


def _hint(exc: Exception) -> str:
    """What a strategy that crashes on a missing field is most likely missing: the kit's leads
    and rosters leave out, as real data does, what is often blank. A strategy that indexes
    `ctx.ids`, a frozenset, is told so instead: no blank field would make it work."""
    if isinstance(exc, TypeError) and "'frozenset' object is not subscriptable" in str(exc):
        return " (ctx.ids is a frozenset: to pick in a fixed order, sort it: sorted(ctx.ids))"
    if isinstance(exc, KeyError | TypeError | AttributeError):
        return (
            " (a blank field? the kit's leads come without score, grade or contact, and its "
            "rosters give every third rep no quota and no profile unless the strategy's tags ask "
            "for them: StrategyTags(needs_quota=True) or needs_profile=True; read what may be "
            "blank with a default, e.g. rep.profile.get(...))"
        )
    return ""


def check_strategy(
    strategy: StrategySource,
    expected_failures: ExpectedFor = None,
) -> None:
    """Run every check that applies to `strategy`, each on a fresh instance; raise
    AssertionError naming the first broken rule.

    `strategy` is a Strategy (deep-copied for each check), a function strategy `f(ctx)`, or a
    zero-argument factory such as a Strategy class or `lambda: MyStrategy(x=1)` (called for each
    check). `expected_failures` maps check names to the reason the strategy fails them: those
    checks must fail, and an AssertionError says so when one passes; an entry for a check that
    does not apply to the strategy is ignored, since that check does not run. A name that is not
    a check, or an entry without a reason, is a ConfigError.
    """
    fresh = as_factory(strategy)
    probe = fresh()
    expected = _expected(expected_failures, probe)
    for check in checks_for_tags(probe.tags):
        name = check.__name__
        failure = _failure(check, fresh())
        if failure is None and name in expected:
            raise AssertionError(
                f"{name} passed for {probe!r}, but expected_failures says it fails "
                f"({expected[name]}): remove it from expected_failures"
            )
        if failure is not None and name not in expected:
            raise failure


def parametrize_with_checks(
    strategies: Iterable[StrategySource],
    *,
    expected_failures: ExpectedFor = None,
) -> pytest.MarkDecorator:
    """A pytest decorator giving one test per (strategy, applicable check), with readable ids::

        @parametrize_with_checks([EqualRotation(), MyRule], expected_failures={...})
        def test_conformance(strategy, check):
            check(strategy)

    Each case gets its own fresh instance (see `check_strategy` for the accepted forms). A check
    in `expected_failures` (a mapping for every strategy, or a callable from a strategy to its
    mapping) is marked `xfail(strict=True, reason=...)`: its failure is reported as expected,
    and a pass fails the test.
    """
    import pytest

    params = []
    for source in strategies:
        fresh = as_factory(source)
        probe = fresh()
        expected = _expected(expected_failures, probe)
        for check in checks_for_tags(probe.tags):
            name = check.__name__
            marks: Any = (
                pytest.mark.xfail(strict=True, reason=expected[name]) if name in expected else ()
            )
            params.append(pytest.param(fresh(), check, id=f"{probe!r}-{name}", marks=marks))
    return pytest.mark.parametrize(("strategy", "check"), params)
