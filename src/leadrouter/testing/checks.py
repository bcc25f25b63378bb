"""The conformance suite every strategy must pass, as plain `check_*` functions.

Each check takes a strategy, builds small deterministic scenarios (seeded, so a failure is
reproducible) and raises AssertionError naming the rule that broke. Each declares, where it is
defined, which strategies it applies to by their `StrategyTags` (e.g. only `pull` strategies,
only `randomized` ones); `checks_for_tags(tags)` is that selection, made before any check runs, so a
check's body never looks at tags to skip itself. `check_strategy` and `parametrize_with_checks`
(in `leadrouter.testing.suite`) run the selected checks, each on a fresh instance.
"""

from __future__ import annotations

import functools
import math
import pickle
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Concatenate, ParamSpec, cast

import attrs

from leadrouter._util import stable_key
from leadrouter.caps import FixedCap
from leadrouter.context import Context, TickContext
from leadrouter.errors import ConfigError
from leadrouter.events import Assigned
from leadrouter.ledger import Ledger
from leadrouter.lifecycle import Lifecycle
from leadrouter.model import Rep
from leadrouter.roster import Roster
from leadrouter.router import Router
from leadrouter.strategies.base import Pick, Release, Strategy, StrategyTags, as_pick
from leadrouter.testing._fresh import StrategySource, as_factory
from leadrouter.testing._invariants import assert_caps_kept, assert_one_place
from leadrouter.testing._scenarios import (
    START,
    router_run,
    sample_lead,
    sample_roster,
    scenarios,
)
from leadrouter.testing._shares import assert_shares_track

__all__ = [
    "CHECKS",
    "START",
    "AppliesTo",
    "applies_to",
    "check_caps_through_router",
    "check_claim_answers",
    "check_deterministic",
    "check_does_not_mutate_view",
    "check_draws_only_if_randomized",
    "check_handles_no_history",
    "check_handles_no_reps",
    "check_handles_one_rep",
    "check_never_picks_inactive",
    "check_pickling",
    "check_picks_offered_or_none",
    "check_propensities",
    "check_pull_leaves_leads_in_pool",
    "check_route_batch",
    "check_shares_track_weights",
    "check_tick",
    "checks_for_tags",
    "sample_lead",
    "sample_roster",
]

CheckFunction = Callable[[StrategySource], None]
"""A conformance check: takes a strategy (in any form `check_strategy` takes), raises
AssertionError naming the rule it broke."""

P = ParamSpec("P")

_TAG_NAMES = frozenset(field.name for field in attrs.fields(StrategyTags))


@attrs.frozen
class AppliesTo:
    """The strategies a check applies to: those whose tags have every value in `tags` (pairs of
    a `StrategyTags` field name and the value it must have); with none, every strategy."""

    tags: tuple[tuple[str, bool], ...] = ()

    def __call__(self, tags: StrategyTags) -> bool:
        return all(getattr(tags, name) == value for name, value in self.tags)

    def __str__(self) -> str:
        if not self.tags:
            return "every strategy"
        return " and ".join(name if value else f"not {name}" for name, value in self.tags)


_APPLIES: dict[str, AppliesTo] = {}
_REGISTERED: list[CheckFunction] = []


def _check(
    **tags: bool,
) -> Callable[
    [Callable[Concatenate[Strategy, P], None]], Callable[Concatenate[StrategySource, P], None]
]:
    """Register the decorated function as a check for strategies whose tags have these values
    (`_check(pull=True)`: pull strategies only; `_check()`: every strategy).

    The registered check takes what `check_strategy` takes (an instance, a function strategy
    `f(ctx)`, a class or another zero-argument factory), so `check_deterministic(MyRule)` tests
    a `MyRule()` instead of failing on the class; anything else is a ConfigError saying what to
    pass. Options a check takes after the strategy (all with defaults: the suite passes none)
    are passed on."""
    unknown = sorted(set(tags) - _TAG_NAMES)
    if unknown:
        raise ConfigError(
            f"a check can only select by StrategyTags fields ({', '.join(sorted(_TAG_NAMES))}), "
            f"got {', '.join(unknown)}"
        )

    def register(
        func: Callable[Concatenate[Strategy, P], None],
    ) -> Callable[Concatenate[StrategySource, P], None]:
        @functools.wraps(func)
        def check(strategy: StrategySource, /, *args: P.args, **options: P.kwargs) -> None:
            made = strategy if isinstance(strategy, Strategy) else as_factory(strategy)()
            func(made, *args, **options)

        _APPLIES[func.__name__] = AppliesTo(tuple(sorted(tags.items())))
        _REGISTERED.append(cast(CheckFunction, check))
        return check

    return register


def applies_to(check: CheckFunction | str) -> AppliesTo:
    """Which strategies `check` (a check function or its name) applies to."""
    name = check if isinstance(check, str) else check.__name__
    found = _APPLIES.get(name)
    if found is None:
        raise ConfigError(f"{name!r} is not a conformance check; known: {sorted(_APPLIES)}")
    return found


def checks_for_tags(tags: StrategyTags) -> tuple[CheckFunction, ...]:
    """The checks that apply to a strategy with these tags, in the order they run."""
    return tuple(check for check in CHECKS if _APPLIES[check.__name__](tags))


def _rep_of(result: Pick | str | None) -> str | None:
    """The rep a strategy's answer names, read as the Router reads it (`as_pick`), so an answer
    of the wrong type (a list, a Rep) fails with the Router's message naming `Pick.rep_id`."""
    return as_pick(result).rep_id


@_check()
def check_does_not_mutate_view(strategy: Strategy) -> None:
    """route() only reads the ledger: no events appended, no view changed. It runs first, so
    a strategy that writes is told so before a check through a Router trips over its events."""
    for ctx, _ in scenarios(3, strategy.tags):
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


@_check()
def check_picks_offered_or_none(strategy: Strategy) -> None:
    """route() returns None or a rep that was offered (in ctx.ids) and that ctx.can_take."""
    for ctx, allowed in scenarios(1, strategy.tags):
        rep = _rep_of(strategy.route(ctx))
        assert rep is None or rep in allowed, (
            f"check_picks_offered_or_none: {strategy!r} picked {rep!r} for {ctx.lead.id} at "
            f"{ctx.now.isoformat()}, but was offered {sorted(ctx.ids)} of which can_take allows "
            f"{sorted(allowed)}"
        )


@_check()
def check_deterministic(strategy: Strategy) -> None:
    """Same lead, reps, history, time and seed give the same decision, also via a Router."""
    first = [_rep_of(strategy.route(ctx)) for ctx, _ in scenarios(2, strategy.tags)]
    second = [_rep_of(strategy.route(ctx)) for ctx, _ in scenarios(2, strategy.tags)]
    assert first == second, (
        f"check_deterministic: {strategy!r} decided {first} then {second} for identical inputs"
    )
    logs = [
        router_run(strategy, "check_deterministic", seed=7).router.ledger.events() for _ in range(2)
    ]
    assert list(logs[0]) == list(logs[1]), (
        f"check_deterministic: two routers with the same seed wrote different events for "
        f"{strategy!r}"
    )


class _GivenDraws(Context):
    """A copy of a Context whose `rng` is a given generator: the strategy's random draws vary
    while every other input, the seed-keyed tie-breaks included, stays the same."""

    __slots__ = ("_draws",)

    def __init__(self, ctx: Context, draws: random.Random) -> None:
        super().__init__(ctx.lead, ctx.roster, ctx.view, ctx.now, ctx.seed, ctx.ids, ctx.can_take)
        self._draws = draws

    @property
    def rng(self) -> random.Random:
        return self._draws


def _redrawn(ctx: Context, where: str, draw: int) -> Context:
    """`ctx` with `ctx.rng` seeded by (`where`, `draw`) instead of by the lead."""
    return _GivenDraws(ctx, random.Random(stable_key(where, draw)))


_OTHER_DRAWS = 8
"""How many other seeds of `ctx.rng` `check_draws_only_if_randomized` tries per scenario."""


@_check(randomized=False)
def check_draws_only_if_randomized(strategy: Strategy) -> None:
    """A strategy not tagged `randomized` decides the same whatever `ctx.rng` draws: one that
    draws from it without the tag would skip `check_propensities` and log no propensities."""
    where = f"check_draws_only_if_randomized ({strategy!r})"
    for ctx, _ in scenarios(16, strategy.tags):
        first = _rep_of(strategy.route(ctx))
        for draw in range(_OTHER_DRAWS):
            other = _rep_of(strategy.route(_redrawn(ctx, where, draw)))
            assert other == first, (
                f"{where}: chose {first!r} for {ctx.lead.id}, then {other!r} on the same inputs "
                "with other draws of ctx.rng, but it is not tagged randomized: if it means to "
                "randomise, tag it randomized=True and return a propensity (Pick(rep_id, "
                "propensity=P)); otherwise do not draw from ctx.rng"
            )


@_check()
def check_handles_no_reps(strategy: Strategy) -> None:
    """With no eligible reps, route() returns None (and does not raise)."""
    rng = random.Random(4)
    roster = Roster(sample_roster(3, rng, tags=strategy.tags))
    ctx = Context(sample_lead(0, START, rng), roster, Ledger(), START, ids=frozenset())
    rep = _rep_of(strategy.route(ctx))
    assert rep is None, f"check_handles_no_reps: {strategy!r} picked {rep!r} from no reps"


def _one_free_rep() -> Context:
    rng = random.Random(5)
    return Context(sample_lead(0, START, rng), Roster(sample_roster(1, rng)), Ledger(), START)


_PULL_HINT = (
    "; if this is a pull strategy (route() leaves leads in a pool for reps to claim), tag it "
    "pull=True"
)


@_check(pull=False)
def check_handles_one_rep(strategy: Strategy) -> None:
    """With one eligible rep under caps and no history, a push strategy gives it the lead."""
    rep = _rep_of(strategy.route(_one_free_rep()))
    assert rep == "rep0", (
        f"check_handles_one_rep: {strategy!r} returned {rep!r} with one free rep, expected "
        f"'rep0'{_PULL_HINT if rep is None else ''}"
    )


@_check(pull=True)
def check_pull_leaves_leads_in_pool(strategy: Strategy) -> None:
    """A pull strategy's route() leaves the lead in a pool even with a free rep, and through a
    Router reps' claims put leads in their books."""
    rep = _rep_of(strategy.route(_one_free_rep()))
    assert rep is None, (
        f"check_pull_leaves_leads_in_pool: {strategy!r} is tagged pull but route() gave the "
        f"lead to {rep!r}; leave it in a pool (return None or Pick(None, pool=...)) for reps "
        "to claim, or drop the pull tag"
    )
    run = router_run(strategy, "check_pull_leaves_leads_in_pool", seed=6, leads=20, claims=True)
    pushed = [d.lead_id for d in run.decisions if d.action == "assigned"]
    claimed = [d.lead_id for d in run.decisions if d.action == "claimed"]
    assert not pushed, f"check_pull_leaves_leads_in_pool: {strategy!r} assigned {pushed}"
    assert claimed, (
        f"check_pull_leaves_leads_in_pool: {strategy!r} refused every one of "
        f"{sum(d.action == 'refused' for d in run.decisions)} claims with free reps and no caps"
    )


@_check(pull=False)
def check_handles_no_history(strategy: Strategy) -> None:
    """With an empty ledger, a push strategy still routes every lead to some rep."""
    run = router_run(strategy, "check_handles_no_history", seed=8, leads=10)
    missing = [d.lead_id for d in run.decisions if d.rep_id is None]
    assert not missing, (
        f"check_handles_no_history: {strategy!r} left {missing} unrouted with free reps and no "
        f"history{_PULL_HINT}"
    )


@_check()
def check_never_picks_inactive(strategy: Strategy) -> None:
    """Through a Router, no lead ever goes to an inactive rep."""
    run = router_run(strategy, "check_never_picks_inactive", seed=9, inactive=2)
    inactive = {rep.id for rep in run.router.reps if not rep.active}
    wrong = [(d.lead_id, d.rep_id) for d in run.decisions if d.rep_id in inactive]
    assert not wrong, f"check_never_picks_inactive: {strategy!r} assigned {wrong}"


@_check()
def check_caps_through_router(strategy: Strategy) -> None:
    """Through a Router with FixedCap(open=3, daily=4) over three days, no rep ever holds more
    than 3 open leads or receives more than 4 in a day, and every lead is in exactly one place."""
    cap = FixedCap(open=3, daily=4)
    run = router_run(
        strategy, "check_caps_through_router", seed=10, leads=90, caps=cap, days=3, claims=True
    )
    assert_caps_kept(run.router.ledger, [cap], f"check_caps_through_router ({strategy!r})")
    assert_one_place(run.router.ledger, f"check_caps_through_router ({strategy!r})")


@_check()
def check_claim_answers(strategy: Strategy) -> None:
    """claim() answers None (allow) or a non-empty reason string, for any lead and rep."""
    for ctx, _ in scenarios(11, strategy.tags, count=6):
        for rep_id in sorted(ctx.roster.active_ids):
            answer = strategy.claim(ctx, rep_id)
            assert answer is None or (isinstance(answer, str) and answer), (
                f"check_claim_answers: {strategy!r}.claim returned {answer!r}; return None to "
                "allow or a reason string to refuse"
            )


_LATER = (timedelta(0), timedelta(hours=2), timedelta(days=1), timedelta(days=4))


@_check()
def check_tick(strategy: Strategy) -> None:
    """tick() returns nothing on an empty ledger; through a Router with a Lifecycle (SLA, expiry,
    re-routing), claims, touches and sales, after every tick every lead is in exactly one place,
    and tick() asked then, or at any later time, returns only Release actions for leads someone
    holds (not for pooled or closed ones)."""
    where = f"check_tick ({strategy!r})"
    roster = Roster(sample_roster(3, random.Random(12), tags=strategy.tags))
    for later in _LATER:
        actions = list(strategy.tick(TickContext(roster, Ledger(), START + later)))
        assert not actions, f"{where}: tick on an empty ledger returned {actions}"

    def after_tick(router: Router, now: datetime) -> None:
        ledger = router.ledger
        assert_one_place(ledger, where)
        for later in _LATER:
            for action in strategy.tick(TickContext(router.roster, ledger, now + later, 12)):
                assert isinstance(action, Release), (
                    f"{where}: tick returned {action!r}; return Release actions"
                )
                assert ledger.holder(action.lead_id) is not None, (
                    f"{where}: tick at {now + later} released {action.lead_id!r}, which nobody "
                    f"holds (it is {ledger.status(action.lead_id)})"
                )

    lifecycle = Lifecycle(
        first_touch_sla=timedelta(minutes=30), expire_after=timedelta(days=1), reroute=True
    )
    router_run(
        strategy,
        "check_tick",
        seed=12,
        leads=60,
        days=3,
        claims=True,
        touches=True,
        lifecycle=lifecycle,
        after_tick=after_tick,
    )


@_check(batching=True)
def check_route_batch(strategy: Strategy) -> None:
    """route_batch() answers once per lead, only with reps offered for that lead, and gives no
    rep more leads than its capacity; through `Router.route_many` with FixedCap(open=3,
    daily=5), every batch gets one decision per lead and no cap is exceeded."""
    where = f"check_route_batch ({strategy!r})"
    rng = random.Random(13)
    for ctx, _ in scenarios(13, strategy.tags, count=8):
        capacity: dict[str, int | None] = {
            rep: rng.choice((0, 1, 2, None)) for rep in sorted(ctx.roster.active_ids)
        }
        active = sorted(ctx.roster.active_ids)
        has_room = frozenset(rep for rep, room in capacity.items() if room != 0).__contains__
        batch = []
        for i in range(rng.randint(1, 6)):
            lead = sample_lead(100 + i, ctx.now, rng, blanks=True)
            ids = frozenset(rng.sample(active, rng.randint(0, len(active))))
            batch.append(
                Context(
                    lead,
                    ctx.roster,
                    ctx.view,
                    ctx.now,
                    ctx.seed,
                    ids,
                    has_room,
                )
            )
        offered = {rep: capacity[rep] for rep in frozenset().union(*(c.ids for c in batch))}
        answers = list(strategy.route_batch(batch, offered))
        assert len(answers) == len(batch), (
            f"{where}: {len(answers)} answers for a batch of {len(batch)} leads"
        )
        given: Counter[str] = Counter()
        for lead_ctx, answer in zip(batch, answers, strict=True):
            rep = _rep_of(answer)
            assert rep is None or rep in lead_ctx.ids, (
                f"{where}: gave {lead_ctx.lead.id} to {rep!r}, offered {sorted(lead_ctx.ids)}"
            )
            if rep is not None:
                given[rep] += 1
        for rep, n in sorted(given.items()):
            room = offered[rep]
            assert room is None or n <= room, (
                f"{where}: gave {rep} {n} leads of one batch, over its capacity {room}"
            )
    cap = FixedCap(open=3, daily=5)
    run = router_run(strategy, "check_route_batch", seed=13, leads=48, caps=cap, days=2, batch=6)
    assert len(run.decisions) == 48, f"{where}: {len(run.decisions)} decisions for 48 leads"
    assert_caps_kept(run.router.ledger, [cap], where)
    assert_one_place(run.router.ledger, where)


_DRAWS = 400
"""Draws per context for the frequency test of `check_propensities`."""


def _stated(strategy: Strategy, ctx: Context, where: str) -> Mapping[str, list[float]]:
    """`_DRAWS` decisions on `ctx` with differently seeded `ctx.rng`: the propensities stated
    for each rep chosen."""
    stated: dict[str, list[float]] = {}
    for draw in range(_DRAWS):
        pick = as_pick(strategy.route(_redrawn(ctx, where, draw)))
        if pick.rep_id is not None and pick.propensity is not None:
            stated.setdefault(pick.rep_id, []).append(pick.propensity)
    return stated


@_check(randomized=True)
def check_propensities(strategy: Strategy) -> None:
    """A randomised strategy states the probability of each choice: every Pick of a rep carries
    a propensity in (0, 1]; the router records it in `Assigned.propensity`; the same choice on
    the same inputs has the same propensity; and over 400 seeded draws of `ctx.rng` each rep is
    chosen with a frequency within four standard errors (plus 1/400) of its stated propensity,
    a bound loose enough never to fail for a correct strategy, tight enough to catch a wrong
    propensity."""
    where = f"check_propensities ({strategy!r})"
    varied = []
    for ctx, allowed in scenarios(14, strategy.tags):
        pick = as_pick(strategy.route(ctx))
        if pick.rep_id is None:
            continue
        p = pick.propensity
        assert p is not None and 0 < p <= 1, (
            f"{where}: picked {pick.rep_id} for {ctx.lead.id} with propensity {p!r}; a "
            "randomised strategy returns Pick(rep_id, propensity=P) with P in (0, 1], the "
            "probability of this choice"
        )
        if len(allowed) > 1:
            varied.append(ctx)
    run = router_run(strategy, "check_propensities", seed=14, leads=30)
    decided = {d.lead_id: d.propensity for d in run.decisions if d.action == "assigned"}
    for event in run.router.ledger.events():
        if isinstance(event, Assigned) and event.lead_id in decided:
            recorded = event.propensity
            assert recorded is not None and recorded == decided[event.lead_id], (
                f"{where}: lead {event.lead_id} was decided with propensity "
                f"{decided[event.lead_id]!r} but Assigned records {recorded!r}"
            )
    for ctx in varied[:3]:
        stated = _stated(strategy, ctx, where)
        total = 0.0
        for rep, ps in sorted(stated.items()):
            p = ps[0]
            assert max(ps) - min(ps) <= 1e-9, (
                f"{where}: choosing {rep} for {ctx.lead.id} on the same inputs was stated with "
                f"propensities from {min(ps)} to {max(ps)}; it is one probability"
            )
            frequency = len(ps) / _DRAWS
            bound = 4 * math.sqrt(p * (1 - p) / _DRAWS) + 1 / _DRAWS
            assert abs(frequency - p) <= bound, (
                f"{where}: {rep} was chosen for {ctx.lead.id} in {frequency:.3f} of {_DRAWS} "
                f"seeded draws, but its stated propensity is {p:.3f} (allowed +/- {bound:.3f})"
            )
            total += p
        assert total <= 1 + 1e-9, (
            f"{where}: the propensities stated for {ctx.lead.id} add up to {total:.4f} > 1"
        )


@_check()
def check_pickling(strategy: Strategy) -> None:
    """The strategy pickles, and the unpickled copy decides exactly as the original on the same
    scenarios: what sending a strategy to worker processes (a simulation over many seeds, a
    pool of webhook workers) needs."""
    try:
        copy = pickle.loads(pickle.dumps(strategy))
    except Exception as exc:
        raise AssertionError(
            f"check_pickling: {strategy!r} cannot be pickled ({type(exc).__name__}: {exc}); "
            "define the strategy (and any function it holds) at module level and keep only "
            "configuration in it"
        ) from exc
    pairs = zip(scenarios(15, strategy.tags), scenarios(15, strategy.tags), strict=True)
    for (ctx, _), (same, _) in pairs:
        mine, theirs = as_pick(strategy.route(ctx)), as_pick(copy.route(same))
        assert mine == theirs, (
            f"check_pickling: {strategy!r} decided {mine!r} for {ctx.lead.id}, its unpickled "
            f"copy {theirs!r}"
        )


@_check(weighted=True)
def check_shares_track_weights(
    strategy: Strategy, reps: Sequence[Rep] | None = None, *, leads: int = 48
) -> None:
    """Shares track targets. Through a Router over two of the strategy's periods (a "day",
    "week" or "month" in its `tz`), `leads` leads each, on a small roster (`reps`, default five
    reps with the fields the tags ask for) with every rep active and eligible and no caps, after
    every lead each rep's count in the period is within two leads of its target share (its
    weight, as `weights(ctx)` states it on the Context the lead is routed on, over the total)
    x the period's leads so far: the guarantee of `Weighted`. Weights that change within a
    period while only leads arrive fail as such, since no allocation can track them. History a
    strategy learns from (`needs_history`: leads followed up better by some reps than others)
    is written before the first period, so it never counts in one."""
    assert_shares_track(
        strategy, f"check_shares_track_weights ({strategy!r})", reps=reps, leads=leads
    )


CHECKS: tuple[CheckFunction, ...] = tuple(_REGISTERED)
"""Every conformance check, in the order they run; `checks_for_tags(tags)` selects among them."""
