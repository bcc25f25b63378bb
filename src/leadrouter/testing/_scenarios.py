"""The seeded worlds the conformance checks run strategies in: rosters, leads, histories,
contexts and whole Router runs.

Everything here is drawn from a `random.Random` with a fixed seed, so a check that fails fails
the same way every time and names a reproducible scenario. The worlds are as untidy as real
ones: some leads have no score, grade or contact, and some reps no quota or profile unless the
strategy's tags declare it needs them (`needs_quota`, `needs_profile`), so a strategy that reads
a field it did not declare fails here rather than in production.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

from leadrouter.caps import FixedCap, day_start
from leadrouter.context import Context
from leadrouter.errors import StrategyError
from leadrouter.events import Converted, Touched
from leadrouter.ledger import Ledger
from leadrouter.lifecycle import Lifecycle
from leadrouter.model import Decision, Lead, Rep
from leadrouter.roster import Roster
from leadrouter.router import Router
from leadrouter.strategies.base import Strategy, StrategyTags

__all__ = ["START", "Run", "router_run", "sample_lead", "sample_roster", "scenarios"]

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""Monday 2026-01-05 09:00 UTC: when every scenario's day starts."""

REGIONS = ("north", "south", "east")
SEGMENTS = ("smb", "mid", "enterprise")


def sample_roster(
    n: int, rng: random.Random, *, inactive: int = 0, tags: StrategyTags | None = None
) -> list[Rep]:
    """`n` reps with a team, tier, regions, quota and profile each; the last `inactive` are
    inactive.

    With `tags` (the tags of the strategy under test), every third rep from `rep1` on has no
    quota unless `tags.needs_quota`, and no profile unless `tags.needs_profile`, as in a real
    roster, where nobody fills in fields no rule asked for. The same draws are made either way,
    so the other fields do not depend on `tags`.
    """
    reps = []
    for i in range(n):
        regions = frozenset(rng.sample(REGIONS, rng.randint(0, 2)))
        quota: float | None = float(rng.randint(1, 5))
        profile = {"segment": rng.choice(SEGMENTS), "seniority": rng.randint(1, 5)}
        if tags is not None and i % 3 == 1:
            quota = quota if tags.needs_quota else None
            profile = profile if tags.needs_profile else {}
        reps.append(
            Rep(
                f"rep{i}",
                team=f"team{i % 2}",
                tier=i % 2,
                regions=regions,
                quota=quota,
                profile=profile,
                active=i < n - inactive,
            )
        )
    return reps


def sample_lead(
    i: int,
    at: datetime,
    rng: random.Random,
    *,
    blanks: bool = False,
    regions: Sequence[str] = REGIONS,
) -> Lead:
    """Lead `lead{i}` arriving `at`, with a source, region (one of `regions`), segment, grade,
    score and cost.

    With `blanks`, some leads lack what ad platforms and web forms often leave out: every fourth
    (from `lead1`) has no grade, every fourth (from `lead3`) no score, and only odd-numbered ones
    have a contact. The same draws are made either way, so the other fields do not change.
    """
    source = rng.choice(("ads", "web", "referral"))
    region = rng.choice(regions)
    segment = rng.choice(SEGMENTS)
    grade: str | None = rng.choice("ABCD")
    score: float | None = round(rng.random(), 3)
    contact = None
    if blanks:
        grade = None if i % 4 == 1 else grade
        score = None if i % 4 == 3 else score
        contact = f"+1555{i:07d}" if i % 2 else None
    return Lead(
        f"lead{i}",
        at,
        source=source,
        region=region,
        segment=segment,
        grade=grade,
        score=score,
        contact=contact,
        cost=float(rng.randint(30, 400)),
    )


def _history(rng: random.Random, reps: Sequence[Rep], n: int) -> Ledger:
    """A ledger with `n` leads routed by rotation among active reps, some touched."""
    router = Router(_first_free, reps, seed=rng.randint(0, 10**6))
    at = START - timedelta(days=3)
    for i in range(n):
        at += timedelta(minutes=rng.randint(1, 30))
        decision = router.route(sample_lead(10_000 + i, at, rng, blanks=True), now=at)
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


def scenarios(
    seed: int, tags: StrategyTags, count: int = 18
) -> Iterator[tuple[Context, frozenset[str]]]:
    """Contexts with varied rosters, histories, eligible subsets and cap verdicts, for a strategy
    with these `tags` (which decide the reps' fields, see `sample_roster`); each with the set of
    reps its can_take allows.

    The same seed gives equal scenarios with fresh contexts (a context's `rng` is consumed by the
    strategy that draws from it), so two passes compare decisions on identical inputs.
    """
    rng = random.Random(seed)
    for k in range(count):
        reps = sample_roster(rng.randint(1, 7), rng, inactive=rng.randint(0, 1), tags=tags)
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
            sample_lead(k, at, rng, blanks=True),
            roster,
            ledger,
            at,
            seed=k,
            ids=ids,
            can_take=allowed.__contains__,
        )
        yield ctx, allowed


class Run:
    """A Router driven through a seeded working stretch, and every Decision it returned."""

    def __init__(self, router: Router, decisions: list[Decision]) -> None:
        self.router = router
        self.decisions = decisions


def router_run(
    strategy: Strategy,
    check: str,
    seed: int,
    leads: int = 40,
    caps: FixedCap | None = None,
    days: int = 1,
    inactive: int = 0,
    claims: bool = False,
    touches: bool = False,
    batch: int = 1,
    lifecycle: Lifecycle | None = None,
    after_tick: Callable[[Router, datetime], None] | None = None,
) -> Run:
    """Route `leads` leads spread over `days` days through a Router (`batch` at a time, through
    `route_many` when more than one) and tick late in each day (every hour with a `lifecycle`).

    With `claims`, reps also try to claim waiting leads (so pull strategies are exercised); with
    `touches`, holders call about half of their new leads and sell to some they reach, so the
    ledger also holds closed leads. `after_tick(router, now)` runs after every tick.
    A StrategyError from the router (the strategy broke its contract while routing, claiming or
    ticking) becomes an AssertionError naming `check`.
    """
    rng = random.Random(seed)
    reps = sample_roster(6, rng, inactive=inactive, tags=strategy.tags)
    router = Router(strategy, reps, caps=caps, lifecycle=lifecycle, seed=seed)
    decisions: list[Decision] = []
    step = timedelta(days=days) / max(leads, 1)
    at, ticked = START, START
    try:
        for first in range(0, leads, batch):
            at += step * min(batch, leads - first)
            arriving = [
                sample_lead(i, at, rng, blanks=True)
                for i in range(first, min(first + batch, leads))
            ]
            if batch == 1:
                decisions.append(router.route(arriving[0], now=at))
            else:
                decisions += router.route_many(arriving, now=at)
            for lead in arriving:
                holder = router.ledger.holder(lead.id)
                if touches and holder is not None and rng.random() < 0.5:
                    reached = rng.random() < 0.5
                    router.record(Touched(lead.id, holder, at, reached=reached))
                    if reached and rng.random() < 0.4:
                        router.record(Converted(lead.id, holder, at, amount=100.0))
                if claims and router.ledger.pool_of(lead.id) is not None:
                    rep = rng.choice(reps)
                    if rep.active:
                        decisions.append(router.claim(rep.id, lead.id, now=at))
            late = at >= day_start(at, "UTC") + timedelta(hours=20)
            if late or (lifecycle is not None and at - ticked >= timedelta(hours=1)):
                router.tick(at)
                ticked = at
                if after_tick is not None:
                    after_tick(router, at)
    except StrategyError as exc:
        raise AssertionError(f"{check}: {strategy!r} broke the router contract: {exc}") from exc
    return Run(router, decisions)
