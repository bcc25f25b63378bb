"""Shares track targets: the third invariant a team can test, for weighted strategies.

A weighted strategy (`StrategyTags(weighted=True)`, every `Weighted`) states target weights
with `weights(ctx)` and promises, by deficit allocation, that while every rep stays eligible
each rep's count stays within two leads of its target share x leads so far in the period (see
`leadrouter.strategies.weighted`). `assert_shares_track` routes leads through a Router on
exactly those terms — a small roster, every rep active, no rules, no caps, nothing but leads
arriving — and reads the weights the strategy states for each lead on the very Context it routes
on (`_WeightSpy`), so the targets are the strategy's own, not the kit's guess at them.

The promise is about one period of fixed weights, so the run keeps to it:

- periods are counted as the strategy counts them (its `period`, with day boundaries in its
  `tz`): counts start over at each period start, and the weights may change there;
- history a strategy learns its weights from (`needs_history`) is written before the first
  period starts, so no lead the strategy did not route counts in a period it is checked on (with
  `period="all"` nothing can be before the period, so there is no history);
- weights that change within a day while only leads arrive are reported as such: deficit
  allocation cannot track a target that moves under it, and a bound failing a few leads later
  would hide the reason;
- weights that change at a midnight inside a longer period (learned again each day, as
  `PerformanceWeighted` and `UtilizationWeighted` learn them, with a "week" or "month" period)
  are what the strategy promises: the bound is checked from the period's start until that
  midnight, and after it the strategy absorbs the change at its bounded catch-up pace, which
  bounds a rate, not a count.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from leadrouter.caps import PERIODS, period_start
from leadrouter.context import Context
from leadrouter.errors import ConfigError, StrategyError
from leadrouter.events import Converted, Tagged, Touched
from leadrouter.ledger import Ledger
from leadrouter.model import Rep
from leadrouter.router import Router
from leadrouter.strategies.base import Pick, Strategy, StrategyTags
from leadrouter.strategies.equal_rotation import EqualRotation
from leadrouter.strategies.weighted import as_weight
from leadrouter.testing._scenarios import START, sample_lead, sample_roster

__all__ = ["BOUND", "assert_shares_track", "history_before", "period_starts"]

BOUND = 2.0
"""How far (in leads) a rep's count may be from its target share x leads so far in the period:
the guarantee `Weighted` states for reps who stay eligible."""

_SLACK = 1e-9
"""Rounding allowed on top of `BOUND` and between two statements of the same shares."""

_NAMED = {"day": "day", "week": "week", "month": "month", "all": "period"}
"""A period in messages ("this day"); "all" is one period that never ends."""

_REACH = {"day": 1.5, "week": 7.5, "month": 31.5, "all": 1.5}
"""Days from a period's start to a moment inside the next one, whatever the month's length or a
daylight-saving shift (a day of 23 or 25 hours)."""


class _WeightSpy(Strategy):
    """Routes as `inner` does, and first records what `inner.weights(ctx)` states on the same
    Context: the lead, its time, the reps offered and their weights."""

    def __init__(self, inner: Strategy, weights: Callable[[Context], Mapping[str, Any]]) -> None:
        self.inner = inner
        self.weights = weights
        self.stated: list[tuple[Context, Mapping[str, Any]]] = []

    @property
    def tags(self) -> StrategyTags:  # type: ignore[override]  # the inner strategy's
        return attrs.evolve(self.inner.tags, batching=False)

    @property
    def name(self) -> str:
        return self.inner.name

    def route(self, ctx: Context) -> Pick | str | None:
        self.stated.append((ctx, self.weights(ctx)))
        return self.inner.route(ctx)


def period_starts(period: str, tz: str, count: int) -> list[datetime]:
    """The starts of `count` consecutive periods after the one holding `START`, and the end of
    the last (`count + 1` times); for "all", consecutive days."""
    found = [period_start(START + timedelta(days=_REACH[period]), period, tz) or START]
    for _ in range(count):
        later = found[-1] + timedelta(days=_REACH[period])
        found.append(period_start(later, period, tz) or later.replace(hour=START.hour))
    return found


def history_before(end: datetime, reps: Sequence[Rep], rng: random.Random) -> Ledger:
    """A ledger of 80 leads in the ten days before `end`, shared by rotation, each followed up
    within the hour as well as its rep does: `rep0` touches, reaches, tags and sells least often
    and the last rep most, so weights learned from it (performance, utilisation) differ."""
    ledger = Ledger()
    router = Router(EqualRotation(), reps, ledger=ledger, seed=rng.randint(0, 10**6))
    skill = {rep.id: (k + 1) / (len(reps) + 1) for k, rep in enumerate(reps)}
    at = end - timedelta(days=10)
    for i in range(80):
        lead = attrs.evolve(sample_lead(i, at, rng), id=f"past{i}")
        rep = router.route(lead, now=at).rep_id
        if rep is not None and rng.random() < skill[rep]:
            reached = rng.random() < skill[rep]
            router.record(Touched(lead.id, rep, at + timedelta(minutes=10), reached=reached))
            if reached:
                router.record(Tagged(lead.id, rep, at + timedelta(minutes=20), valid=True))
                if rng.random() < skill[rep]:
                    router.record(Converted(lead.id, rep, at + timedelta(minutes=40), 100.0))
        at += timedelta(hours=3)
    return ledger


def _shares(weights: Mapping[str, Any], ids: frozenset[str], where: str) -> dict[str, float]:
    """Each offered rep's target share: its weight over the offered reps' total (a rep the
    weights leave out has weight 0)."""
    found = {}
    for rep in sorted(ids):
        value = weights.get(rep, 0.0)
        weight = as_weight(value)
        assert 0.0 <= weight < math.inf, (
            f"{where}: weights gave {rep} the weight {value!r}; a weight is a finite number >= 0"
        )
        found[rep] = weight
    total = math.fsum(found.values())
    assert total > 0, (
        f"{where}: weights gave every rep 0 ({_shown(found)}), so there is no share to track: "
        "pass reps= with some rep the strategy gives a positive weight"
    )
    return {rep: weight / total for rep, weight in found.items()}


def _shown(weights: Mapping[str, Any]) -> str:
    """Weights as `{anna: 2, bob: 1}`, short enough to read in a message."""
    shown = (
        f"{rep}: {value:g}" if isinstance(value, int | float) else f"{rep}: {value!r}"
        for rep, value in sorted(weights.items())
    )
    return "{" + ", ".join(shown) + "}"


def _settings(
    strategy: Strategy, where: str
) -> tuple[Callable[[Context], Mapping[str, Any]], str, str]:
    """The strategy's `weights`, `period` and `tz` (those of `Weighted`, "day" and "UTC", when
    it has none); an AssertionError when it states no weights to track."""
    weights = getattr(strategy, "weights", None)
    if not callable(weights):
        raise AssertionError(
            f"{where}: {strategy!r} is tagged weighted but has no weights(ctx) stating the target "
            "weights its shares track: subclass lr.Weighted, or drop the tag"
        )
    period, tz = getattr(strategy, "period", "day"), getattr(strategy, "tz", "UTC")
    if period not in PERIODS:
        raise ConfigError(f"{where}: {strategy!r}.period is {period!r}, not one of {PERIODS}")
    return weights, period, tz


def assert_shares_track(
    strategy: Strategy,
    where: str,
    reps: Sequence[Rep] | None = None,
    leads: int = 48,
    periods: int = 2,
    seed: int = 0,
) -> None:
    """Route `leads` leads, evenly spread, through each of `periods` consecutive periods of
    `strategy` (a "day", "week" or "month" in its time zone; days for "all") on `reps` (default:
    five of the kit's reps, with the fields the strategy's tags ask for), with every rep active
    and eligible, no rules and no caps; with `needs_history`, after `history_before` the first
    period. Before each lead, the weights the strategy states for it must be those of the day's
    first lead (as shares, days in its `tz`); after it, each rep's count in the period must be
    within `BOUND` of its share x the period's leads so far, for as long as the shares are those
    of the period's first lead (see the module docstring for weights learned again each day)."""
    weights_of, period, tz = _settings(strategy, where)
    rng = random.Random(seed)
    roster = list(reps) if reps is not None else sample_roster(5, rng, tags=strategy.tags)
    away = sorted(rep.id for rep in roster if not rep.active)
    if away or not roster:
        raise ConfigError(
            f"{where}: every rep must be active, so that every rep stays eligible (inactive: "
            f"{away}); pass a non-empty roster of active reps"
        )
    if leads < 1:
        raise ConfigError(f"{where}: leads= is how many leads to route a period, at least 1")
    starts = period_starts(period, tz, periods)
    ledger = Ledger()
    if strategy.tags.needs_history and period != "all":
        ledger = history_before(starts[0], roster, rng)
    spy = _WeightSpy(strategy, weights_of)
    router = Router(spy, roster, ledger=ledger, seed=seed)
    everyone = frozenset(rep.id for rep in roster)
    times = [
        begin + (end - begin) * (k + 0.5) / leads
        for begin, end in itertools.pairwise(starts)
        for k in range(leads)
    ]
    counts: Counter[str] = Counter()
    first: _Stated | None = None
    today: _Stated | None = None
    held = True
    for number, at in enumerate(times):
        lead = sample_lead(number, at, rng, blanks=True)
        try:
            decision = router.route(lead, now=at)
        except StrategyError as exc:
            raise AssertionError(f"{where}: broke the router contract: {exc}") from exc
        ctx, weights = spy.stated.pop()
        assert ctx.ids == everyone, (
            f"{where}: {lead.id} was offered to {sorted(ctx.ids)}, not to every rep"
        )
        stated = _Stated(ctx, weights, _shares(weights, ctx.ids, where))
        if today is None or period_start(at, "day", tz) != period_start(today.ctx.now, "day", tz):
            today = stated
        if first is None or period_start(at, period, tz) != period_start(first.ctx.now, period, tz):
            first, counts, held = stated, Counter(), True
        _assert_fixed(today, stated, where)
        held = held and _moved(first, stated) == []
        assert decision.rep_id is not None, (
            f"{where}: {lead.id} at {at.isoformat()} was left in the pool with every rep "
            f"eligible and no caps; weights {_shown(weights)}"
        )
        counts[decision.rep_id] += 1
        if held:
            _assert_near(counts, stated, period, where)


@attrs.frozen
class _Stated:
    """What a strategy stated for one lead: the Context, its weights, and the shares they give."""

    ctx: Context
    weights: Mapping[str, Any]
    shares: dict[str, float]


def _moved(first: _Stated, now: _Stated) -> list[str]:
    """The reps whose share stated for this lead differs from the one stated for `first`."""
    return [rep for rep in now.shares if abs(now.shares[rep] - first.shares[rep]) > _SLACK]


def _assert_fixed(first: _Stated, now: _Stated, where: str) -> None:
    """The shares stated for this lead are those stated for the day's first lead."""
    moved = _moved(first, now)
    assert not moved, (
        f"{where}: the weights changed within the day while only leads were routed "
        f"(no touches, outcomes or roster changes): {_shown(first.weights)} for "
        f"{first.ctx.lead.id} at {first.ctx.now.isoformat()}, {_shown(now.weights)} for "
        f"{now.ctx.lead.id} at {now.ctx.now.isoformat()} (the shares of {', '.join(moved)} "
        "moved). Deficit allocation tracks weights that stay fixed while it shares, so shares "
        "cannot track these: state weights that hold at least for the day (learned from before "
        "it starts, as PerformanceWeighted learns from the days before today)"
    )


def _assert_near(counts: Counter[str], now: _Stated, period: str, where: str) -> None:
    """Every rep's count in the period is within `BOUND` of its share of the leads so far."""
    n = sum(counts.values())
    for rep, share in sorted(now.shares.items()):
        target = share * n
        off = counts[rep] - target
        assert abs(off) <= BOUND + _SLACK, (
            f"{where}: after {now.ctx.lead.id} at {now.ctx.now.isoformat()}, {rep} has "
            f"{counts[rep]} of the {n} leads this {_NAMED[period]}, {abs(off):.2f} "
            f"{'above' if off > 0 else 'below'} its target {target:.2f} (share {share:.1%} of "
            f"{n}); a weighted strategy keeps every rep within {BOUND:g} leads of target; "
            f"weights {_shown(now.weights)}"
        )
