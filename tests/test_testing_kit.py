"""The conformance suite accepts good strategies and names the rule a broken one breaks; checks
are chosen by tags, run on fresh instances, and expected failures carry reasons and must fail;
`router_machine` finds planted bugs."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

import leadrouter as lr
from leadrouter.context import Context, TickContext
from leadrouter.errors import ConfigError, StrategyError
from leadrouter.strategies.base import Pick, Release
from leadrouter.testing import (
    CHECKS,
    applies_to,
    check_strategy,
    checks_for,
    parametrize_with_checks,
    router_machine,
)
from leadrouter.testing.checks import check_handles_one_rep, check_never_picks_inactive

pytest_plugins = ["leadrouter.testing.plugin", "pytester"]


def free_reps(ctx: Context) -> list[str]:
    return sorted(rep for rep in ctx.ids if ctx.can_take(rep))


def always_first_rep(ctx: Context) -> str | None:
    """Ignores eligibility: takes the first rep on the roster."""
    return sorted(ctx.roster)[0]


def picks_inactive(ctx: Context) -> str | None:
    """Prefers inactive reps when there are any."""
    inactive = sorted(set(ctx.roster) - ctx.roster.active_ids)
    if inactive:
        return inactive[0]
    return min(ctx.ids, default=None, key=str) if ctx.ids else None


def nondeterministic(ctx: Context) -> Pick | None:
    """Draws from SystemRandom instead of ctx.rng: its rep and a score for every free rep, so
    two runs, or an unpickled copy, differ on every lead with a free rep (a rep drawn alone
    would agree by chance wherever one rep is free: the checks expected to fail here passed
    about once in a thousand runs)."""
    ok = free_reps(ctx)
    if not ok:
        return None
    draw = random.SystemRandom()
    return Pick(draw.choice(ok), scores={rep: draw.random() for rep in ok})


def ignores_caps(ctx: Context) -> str | None:
    """Picks the smallest eligible id, capped or not."""
    return min(ctx.ids) if ctx.ids else None


def first_free(ctx: Context) -> str | None:
    ok = free_reps(ctx)
    return ok[0] if ok else None


class Hoarder(lr.Strategy):
    """Writes to the ledger while deciding."""

    def route(self, ctx: Context) -> str | None:
        ledger = ctx.view
        assert isinstance(ledger, lr.Ledger)
        ledger.append(lr.Arrived(lr.Lead(f"ghost-{len(ledger)}", ctx.lead.arrived_at)))
        return first_free(ctx)


class ReleasesStrangers(lr.Strategy):
    """Its tick releases every lead it ever saw arrive, held or not."""

    def route(self, ctx: Context) -> str | None:
        return first_free(ctx)

    def tick(self, ctx: TickContext) -> Sequence[Release]:
        ledger = ctx.view
        assert isinstance(ledger, lr.Ledger)
        return [Release(lead_id, "tidy") for lead_id in ledger.lead_ids()]


class Coin(lr.Strategy):
    """Uniform among the free reps, stating `stated(k)` as the propensity (right: 1/k)."""

    tags = lr.StrategyTags(randomized=True)

    def __init__(self, stated: Callable[[int], float | None] | None = None) -> None:
        self.stated = stated

    def route(self, ctx: Context) -> Pick | None:
        ok = free_reps(ctx)
        if not ok:
            return None
        stated = 1 / len(ok) if self.stated is None else self.stated(len(ok))
        return Pick(ctx.rng.choice(ok), propensity=stated)


def claims_half(k: int) -> float:
    return 0.5


def claims_nothing(k: int) -> None:
    return None


class Overfills(lr.Strategy):
    """A batching strategy whose route_batch ignores the capacities it is given."""

    tags = lr.StrategyTags(batching=True)

    def route(self, ctx: Context) -> str | None:
        return first_free(ctx)

    def route_batch(
        self, ctxs: Sequence[Context], capacity: Mapping[str, int | None]
    ) -> list[str | None]:
        return [min(ctx.ids) if ctx.ids else None for ctx in ctxs]


class HoldsALock(lr.Strategy):
    """Keeps a lock, which cannot be pickled."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def route(self, ctx: Context) -> str | None:
        return first_free(ctx)


class PushyPull(lr.Strategy):
    """Tagged pull, but assigns at route time."""

    tags = lr.StrategyTags(pull=True)

    def route(self, ctx: Context) -> str | None:
        return first_free(ctx)


@pytest.mark.parametrize(
    ("strategy", "rule"),
    [
        (always_first_rep, "check_picks_offered_or_none"),
        (picks_inactive, "check_picks_offered_or_none"),
        (nondeterministic, "check_deterministic"),
        (ignores_caps, "check_picks_offered_or_none"),
        (Hoarder(), "check_does_not_mutate_view"),
        (ReleasesStrangers(), "check_tick"),
        (lambda: Coin(claims_half), "check_propensities"),
        (lambda: Coin(claims_nothing), "check_propensities"),
        (Overfills(), "check_route_batch"),
        (HoldsALock, "check_pickling"),
        (PushyPull(), "check_pull_leaves_leads_in_pool"),
    ],
)
def test_broken_strategies_are_rejected_by_name(strategy: object, rule: str) -> None:
    with pytest.raises(AssertionError, match=rule):
        check_strategy(strategy)  # type: ignore[arg-type]


def test_a_correct_randomised_strategy_passes_the_propensity_check() -> None:
    check_strategy(Coin())


def test_inactive_rep_check_through_router() -> None:
    with pytest.raises(AssertionError):
        check_never_picks_inactive(lr.strategies.base.as_strategy(picks_inactive))


# --------------------------------------------------------------------------- expected failures


def test_expected_failures_need_reasons_and_known_names() -> None:
    random_draws = "draws from SystemRandom"
    check_strategy(
        nondeterministic,
        {
            "check_deterministic": random_draws,
            "check_draws_only_if_randomized": random_draws,
            "check_pickling": random_draws,
        },
    )
    with pytest.raises(ConfigError, match="unknown checks"):
        check_strategy(lr.EqualRotation(), expected_failures={"check_typo": "x"})
    with pytest.raises(ConfigError, match="map each check name to the reason"):
        check_strategy(nondeterministic, expected_failures={"check_deterministic"})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="needs a reason"):
        check_strategy(nondeterministic, expected_failures={"check_deterministic": ""})


def test_an_expected_failure_that_passes_is_an_error() -> None:
    with pytest.raises(AssertionError, match=r"check_pickling passed .* remove it"):
        check_strategy(lr.EqualRotation(), {"check_pickling": "we thought it held a lock"})


def test_expected_failures_can_depend_on_the_strategy() -> None:
    def known(strategy: lr.Strategy) -> dict[str, str] | None:
        return {"check_pickling": "holds a lock"} if isinstance(strategy, HoldsALock) else None

    check_strategy(HoldsALock, known)
    check_strategy(lr.EqualRotation, known)


def test_parametrize_marks_expected_failures_as_strict_xfail_with_reason() -> None:
    mark = parametrize_with_checks(
        [HoldsALock, lr.EqualRotation()], expected_failures={"check_pickling": "holds a lock"}
    )
    params = {param.id: param for param in mark.args[1]}
    xfail = params["HoldsALock()-check_pickling"].marks[0]
    assert xfail.name == "xfail"
    assert xfail.kwargs == {"strict": True, "reason": "holds a lock"}
    assert params["HoldsALock()-check_deterministic"].marks == ()


def test_parametrize_reports_xfail_and_an_unexpected_pass(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import threading
        import leadrouter as lr
        from leadrouter.testing import parametrize_with_checks

        class HoldsALock(lr.Strategy):
            def __init__(self):
                self.lock = threading.Lock()

            def route(self, ctx):
                ok = sorted(r for r in ctx.ids if ctx.can_take(r))
                return ok[0] if ok else None

        @parametrize_with_checks(
            [HoldsALock, lr.EqualRotation()],
            expected_failures={"check_pickling": "holds a lock"},
        )
        def test_conformance(strategy, check):
            check(strategy)
        """
    )
    result = pytester.runpytest_inprocess("-k", "check_pickling", "-p", "no:cacheprovider")
    result.assert_outcomes(xfailed=1, failed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*holds a lock*"])


# --------------------------------------------------------------------------- fresh instances


class Forgetful(lr.Strategy):
    """Routes to the first free rep for `limit` calls, then to a rep that does not exist: hidden
    state that breaks it once one instance has served more than `limit` decisions."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.calls = 0

    def route(self, ctx: Context) -> str | None:
        self.calls += 1
        return first_free(ctx) if self.calls <= self.limit else "nobody"


def run_every_check_on(strategy: lr.Strategy) -> None:
    for check in checks_for(strategy):
        check(strategy)


def test_every_check_gets_a_fresh_instance() -> None:
    per_check = []
    for check in checks_for(Forgetful(0)):
        counter = Forgetful(10**9)
        check(counter)
        per_check.append(counter.calls)
    limit = max(per_check)
    assert sum(per_check) > limit

    shared = Forgetful(limit)
    with pytest.raises(AssertionError):
        run_every_check_on(shared)

    original = Forgetful(limit)
    check_strategy(original)
    assert original.calls == 0, "check_strategy used the instance it was given"
    check_strategy(lambda: Forgetful(limit))
    mark = parametrize_with_checks([original])
    instances = [param.values[0] for param in mark.args[1]]
    assert len({id(s) for s in instances}) == len(instances)
    assert original not in instances


def test_factories_and_plain_functions_are_accepted() -> None:
    check_strategy(lr.EqualRotation)
    check_strategy(first_free)
    with pytest.raises(ConfigError, match="no arguments"):
        check_strategy(lr.TieredDelay)
    with pytest.raises(ConfigError, match="pass a factory"):
        check_strategy(HoldsALock())


# --------------------------------------------------------------------------- tag selection


def names(strategy: object) -> set[str]:
    return {check.__name__ for check in checks_for(strategy)}  # type: ignore[arg-type]


def test_checks_are_chosen_by_tags() -> None:
    everyone = {c.__name__ for c in CHECKS if not applies_to(c).tags}
    assert everyone <= names(lr.EqualRotation()) & names(lr.GrabWithCaps())
    push_only = {"check_handles_one_rep", "check_handles_no_history"}
    assert push_only <= names(lr.EqualRotation())
    assert not push_only & names(lr.GrabWithCaps())
    assert "check_pull_leaves_leads_in_pool" in names(lr.GrabWithCaps())
    assert "check_pull_leaves_leads_in_pool" not in names(lr.EqualRotation())
    assert "check_propensities" not in names(lr.EqualRotation())
    assert "check_propensities" in names(lr.Explore(lr.EqualRotation()))
    assert "check_route_batch" in names(lr.ProfileMatching())
    assert "check_route_batch" not in names(lr.EqualRotation())
    assert str(applies_to("check_handles_one_rep")) == "not pull"
    assert str(applies_to(check_handles_one_rep)) == "not pull"


def test_a_push_check_fails_a_pull_strategy_rather_than_skipping_it() -> None:
    """Selection happens before the checks run: a check's body does not read tags to skip."""
    with pytest.raises(AssertionError, match="check_handles_one_rep"):
        check_handles_one_rep(lr.GrabWithCaps())


def test_parametrize_gives_one_case_per_applicable_check() -> None:
    mark = parametrize_with_checks([lr.EqualRotation(), lr.GrabWithCaps()])
    ids = [param.id for param in mark.args[1]]
    assert len(ids) == len(checks_for(lr.EqualRotation())) + len(checks_for(lr.GrabWithCaps()))
    assert "EqualRotation()-check_deterministic" in ids
    assert not [i for i in ids if i.startswith("GrabWithCaps") and "handles_one_rep" in i]


@parametrize_with_checks([lr.EqualRotation(), lr.Hierarchical(), lr.GrabWithCaps])
def test_builtin_strategies_conform(
    strategy: lr.Strategy, check: Callable[[lr.Strategy], None]
) -> None:
    check(strategy)


# --------------------------------------------------------------------------- router_machine

QUICK = settings(
    max_examples=60,
    stateful_step_count=20,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate],
)


def test_router_machine_finds_a_strategy_that_ignores_can_take() -> None:
    machine = router_machine(lambda: ignores_caps, caps=lr.FixedCap(open=1))
    with pytest.raises(StrategyError, match="over a cap"):
        run_state_machine_as_test(machine, settings=QUICK)


class LeakyCap(lr.FixedCap):
    """Says it caps open leads but never refuses anyone."""

    def check(self, rep_id: str, ctx: Context) -> str | None:
        return None

    def remaining(self, rep_id: str, ctx: Context) -> int | None:
        return None


def test_router_machine_cap_invariant_catches_a_cap_that_lets_reps_through() -> None:
    machine = router_machine(lr.EqualRotation, caps=[LeakyCap(open=1)], lifecycle=None)
    with pytest.raises(AssertionError, match=r"R0 holds 2 open leads \(L0, L1\), over LeakyCap"):
        run_state_machine_as_test(machine, settings=QUICK)


def test_router_machine_takes_instances_and_copies_them() -> None:
    strategy = Forgetful(10**9)
    machine = router_machine(strategy, lifecycle=lr.Lifecycle(expire_after=timedelta(hours=3)))
    run_state_machine_as_test(machine, settings=settings(QUICK, max_examples=5))
    assert strategy.calls == 0
    assert machine.__name__ == "RouterMachine_Forgetful"


# --------------------------------------------------------------------------- plugin


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
