"""The conformance suite every strategy must pass, as plain `check_*` functions.

Each check takes a strategy, builds small deterministic scenarios (seeded, so a failure is
reproducible) and raises AssertionError naming the rule that broke. `check_strategy` runs them
all; `parametrize_with_checks` gives pytest one test per (strategy, check).

The scenarios' rosters give every rep a quota, a tier and a profile, so strategies that need
them (see `StrategyTags`) can run; a strategy tagged `pull` is expected to leave leads in the
pool at route time and is checked through claims instead.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from leadrouter.caps import FixedCap, day_start
from leadrouter.context import Context
from leadrouter.errors import ConfigError, StrategyError
from leadrouter.events import Touched
from leadrouter.ledger import Ledger
from leadrouter.model import Lead, Rep
from leadrouter.roster import Roster
from leadrouter.router import Router
from leadrouter.strategies.base import Pick, Strategy, as_strategy

if TYPE_CHECKING:
    import pytest

__all__ = [
    "CHECKS",
    "check_caps_through_router",
    "check_claim_answers",
    "check_deterministic",
    "check_does_not_mutate_view",
    "check_handles_no_history",
    "check_handles_no_reps",
    "check_handles_one_rep",
    "check_never_picks_inactive",
    "check_picks_offered_or_none",
    "check_strategy",
    "parametrize_with_checks",
    "sample_roster",
]

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
REGIONS = ("north", "south", "east")
SEGMENTS = ("smb", "mid", "enterprise")


def sample_roster(n: int, rng: random.Random, *, inactive: int = 0) -> list[Rep]:
    """`n` reps with a team, tier, quota, regions and profile each; the last `inactive` are
    inactive."""
    reps = []
    for i in range(n):
        regions = frozenset(rng.sample(REGIONS, rng.randint(0, 2)))
        reps.append(
            Rep(
                f"rep{i}",
                team=f"team{i % 2}",
                tier=i % 2,
                regions=regions,
                quota=float(rng.randint(1, 5)),
                profile={"segment": rng.choice(SEGMENTS), "seniority": rng.randint(1, 5)},
                active=i < n - inactive,
            )
        )
    return reps


def sample_lead(i: int, at: datetime, rng: random.Random) -> Lead:
    return Lead(
        f"lead{i}",
        at,
        source=rng.choice(("ads", "web", "referral")),
        region=rng.choice(REGIONS),
        segment=rng.choice(SEGMENTS),
        grade=rng.choice("ABCD"),
        score=round(rng.random(), 3),
        cost=float(rng.randint(30, 400)),
    )


def _history(rng: random.Random, reps: Sequence[Rep], n: int) -> Ledger:
    """A ledger with `n` leads routed by rotation among active reps, some touched."""
    router = Router(_first_free, reps, seed=rng.randint(0, 10**6))
    at = START - timedelta(days=3)
    for i in range(n):
        at += timedelta(minutes=rng.randint(1, 30))
        decision = router.route(sample_lead(10_000 + i, at, rng), now=at)
        if decision.rep_id is not None and rng.random() < 0.6:
            router.record(
                Touched(
                    decision.lead_id,
                    decision.rep_id,
                    at + timedelta(minutes=5),
                    reached=rng.random() < 0.5,
                )
            )
    return router.ledger


def _first_free(ctx: Context) -> str | None:
    """A trivial strategy used only to build history: least-loaded eligible rep."""
    ok = [rep for rep in sorted(ctx.ids) if ctx.can_take(rep)]
    return min(ok, key=ctx.view.book_size) if ok else None


def _scenarios(seed: int = 0, count: int = 18) -> Iterable[tuple[Context, frozenset[str]]]:
    """Contexts with varied rosters, histories, eligible subsets and cap verdicts; each with the
    set of reps its can_take allows."""
    rng = random.Random(seed)
    for k in range(count):
        reps = sample_roster(rng.randint(1, 7), rng, inactive=rng.randint(0, 1))
        roster = Roster(reps)
        ledger = _history(rng, reps, rng.choice((0, 0, 5, 30)))
        active = sorted(roster.active_ids)
        ids = frozenset(rng.sample(active, rng.randint(0, len(active))))
        allowed = frozenset(r for r in ids if rng.random() < 0.8)
        if k % 3 == 0 and ids:
            # Deny the rep a careless strategy would pick first (lowest id, or first in order).
            allowed -= {min(ids)}
        at = START + timedelta(hours=k)
        ctx = Context(
            sample_lead(k, at, rng),
            roster,
            ledger,
            at,
            seed=k,
            ids=ids,
            can_take=allowed.__contains__,
        )
        yield ctx, allowed


def _rep_of(result: Pick | str | None) -> str | None:
    return result.rep_id if isinstance(result, Pick) else result


def check_picks_offered_or_none(strategy: Strategy) -> None:
    """route() returns None or a rep that was offered (in ctx.ids) and that ctx.can_take."""
    for ctx, allowed in _scenarios(1):
        rep = _rep_of(strategy.route(ctx))
        assert rep is None or rep in allowed, (
            f"check_picks_offered_or_none: {strategy!r} picked {rep!r} for {ctx.lead.id}, but "
            f"was offered {sorted(ctx.ids)} of which can_take allows {sorted(allowed)}"
        )


def check_deterministic(strategy: Strategy) -> None:
    """Same lead, reps, history, time and seed give the same decision, also via a Router."""
    first = [_rep_of(strategy.route(ctx)) for ctx, _ in _scenarios(2)]
    second = [_rep_of(strategy.route(ctx)) for ctx, _ in _scenarios(2)]
    assert first == second, (
        f"check_deterministic: {strategy!r} decided {first} then {second} for identical inputs"
    )
    logs = [
        _router_run(strategy, "check_deterministic", seed=7)[0].ledger.events() for _ in range(2)
    ]
    assert list(logs[0]) == list(logs[1]), (
        f"check_deterministic: two routers with the same seed wrote different events for "
        f"{strategy!r}"
    )


def check_does_not_mutate_view(strategy: Strategy) -> None:
    """route() only reads the ledger: no events appended, no view changed."""
    for ctx, _ in _scenarios(3):
        ledger = ctx.view
        assert isinstance(ledger, Ledger)
        before, size = ledger.snapshot(), len(ledger)
        strategy.route(ctx)
        assert len(ledger) == size, (
            f"check_does_not_mutate_view: {strategy!r} appended events while routing {ctx.lead.id}"
        )
        assert ledger.snapshot() == before, (
            f"check_does_not_mutate_view: {strategy!r} changed the ledger while routing "
            f"{ctx.lead.id}"
        )


def check_handles_no_reps(strategy: Strategy) -> None:
    """With no eligible reps, route() returns None (and does not raise)."""
    rng = random.Random(4)
    roster = Roster(sample_roster(3, rng))
    ctx = Context(sample_lead(0, START, rng), roster, Ledger(), START, ids=frozenset())
    rep = _rep_of(strategy.route(ctx))
    assert rep is None, f"check_handles_no_reps: {strategy!r} picked {rep!r} from no reps"


def check_handles_one_rep(strategy: Strategy) -> None:
    """With one eligible rep under caps, a push strategy gives it the lead."""
    rng = random.Random(5)
    roster = Roster(sample_roster(1, rng))
    ctx = Context(sample_lead(0, START, rng), roster, Ledger(), START)
    rep = _rep_of(strategy.route(ctx))
    expected = None if strategy.tags.pull else "rep0"
    assert rep == expected, (
        f"check_handles_one_rep: {strategy!r} returned {rep!r} with one free rep, expected "
        f"{expected!r}"
    )


def check_handles_no_history(strategy: Strategy) -> None:
    """With an empty ledger, a push strategy still routes every lead to some rep."""
    _, decisions = _router_run(strategy, "check_handles_no_history", seed=8, leads=10, caps=None)
    if strategy.tags.pull:
        return
    missing = [d.lead_id for d in decisions if d.rep_id is None]
    assert not missing, (
        f"check_handles_no_history: {strategy!r} left {missing} unrouted with free reps and no "
        "history"
    )


def check_never_picks_inactive(strategy: Strategy) -> None:
    """Through a Router, no lead ever goes to an inactive rep."""
    router, decisions = _router_run(strategy, "check_never_picks_inactive", seed=9, inactive=2)
    inactive = {rep.id for rep in router.reps if not rep.active}
    wrong = [(d.lead_id, d.rep_id) for d in decisions if d.rep_id in inactive]
    assert not wrong, f"check_never_picks_inactive: {strategy!r} assigned {wrong}"


def check_caps_through_router(strategy: Strategy) -> None:
    """Through a Router with FixedCap(open=3, daily=4) over three days, no rep ever holds more
    than 3 open leads or receives more than 4 in a day, and every lead is in exactly one place."""
    cap = FixedCap(open=3, daily=4)
    router, _ = _router_run(
        strategy, "check_caps_through_router", seed=10, leads=90, caps=cap, days=3, claims=True
    )
    ledger = router.ledger
    for rep in router.reps:
        assert ledger.book_size(rep.id) <= 3, (
            f"check_caps_through_router: {rep.id} holds {ledger.book_size(rep.id)} leads (cap 3)"
        )
        for day, count in ledger.daily(rep.id).items():
            assert count <= 4, (
                f"check_caps_through_router: {rep.id} received {count} leads on {day} (cap 4)"
            )
    for lead_id in ledger.lead_ids():
        holder, pool = ledger.holder(lead_id), ledger.pool_of(lead_id)
        assert (holder is None) != (pool is None) or ledger.status(lead_id) in (
            "converted",
            "invalid",
        ), f"check_caps_through_router: lead {lead_id} is lost"


def check_claim_answers(strategy: Strategy) -> None:
    """claim() answers None (allow) or a non-empty reason string, for any lead and rep."""
    for ctx, _ in _scenarios(11, count=6):
        for rep_id in sorted(ctx.roster.active_ids):
            answer = strategy.claim(ctx, rep_id)
            assert answer is None or (isinstance(answer, str) and answer), (
                f"check_claim_answers: {strategy!r}.claim returned {answer!r}; return None to "
                "allow or a reason string to refuse"
            )


def _router_run(
    strategy: Strategy,
    check: str,
    seed: int,
    leads: int = 40,
    caps: FixedCap | None = None,
    days: int = 1,
    inactive: int = 0,
    claims: bool = False,
) -> tuple[Router, list[Any]]:
    """Route `leads` leads spread over `days` days through a Router; with `claims`, reps also
    try to claim waiting leads (so pull strategies are exercised)."""
    rng = random.Random(seed)
    reps = sample_roster(6, rng, inactive=inactive)
    router = Router(strategy, reps, caps=caps, seed=seed)
    decisions = []
    step = timedelta(days=days) / max(leads, 1)
    at = START
    for i in range(leads):
        at += step
        lead = sample_lead(i, at, rng)
        try:
            decisions.append(router.route(lead, now=at))
        except StrategyError as exc:
            raise AssertionError(f"{check}: {strategy!r} broke the router contract: {exc}") from exc
        if claims and router.ledger.pool_of(lead.id) is not None:
            rep = rng.choice(reps)
            if rep.active:
                decisions.append(router.claim(rep.id, lead.id, now=at))
        if at >= day_start(at, "UTC") + timedelta(hours=20):
            router.tick(at)
    return router, decisions


CHECKS: tuple[Callable[[Strategy], None], ...] = (
    check_picks_offered_or_none,
    check_deterministic,
    check_does_not_mutate_view,
    check_handles_no_reps,
    check_handles_one_rep,
    check_handles_no_history,
    check_never_picks_inactive,
    check_caps_through_router,
    check_claim_answers,
)
"""Every conformance check, in the order `check_strategy` runs them."""


def check_strategy(
    strategy: Strategy | Callable[[Context], Any], expected_failures: Collection[str] = ()
) -> None:
    """Run every check on `strategy`; raise AssertionError naming the first broken rule.

    `expected_failures` names checks (e.g. "check_deterministic" for a deliberately random
    strategy) whose failure is tolerated; a name that is not a check is an error.
    """
    known = {check.__name__ for check in CHECKS}
    unknown = set(expected_failures) - known
    if unknown:
        raise ConfigError(
            f"unknown checks in expected_failures: {sorted(unknown)}; known: {sorted(known)}"
        )
    target = as_strategy(strategy)
    for check in CHECKS:
        try:
            check(target)
        except AssertionError:
            if check.__name__ not in expected_failures:
                raise


def parametrize_with_checks(
    strategies: Sequence[Strategy | Callable[[Context], Any]],
) -> pytest.MarkDecorator:
    """A pytest decorator giving one test per (strategy, check), with readable ids::

    @parametrize_with_checks([EqualRotation(), MyRule()])
    def test_conformance(strategy, check):
        check(strategy)
    """
    import pytest

    cases = [(as_strategy(s), check) for s in strategies for check in CHECKS]
    ids = [f"{strategy!r}-{check.__name__}" for strategy, check in cases]
    return pytest.mark.parametrize(("strategy", "check"), cases, ids=ids)
