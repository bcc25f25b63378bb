"""Deficit allocation: the engine shared by every weighted strategy.

A weighted strategy only says how much each rep should get (`weights`); this base turns that
into decisions. The next lead goes to the eligible rep furthest below their target share for
the current period, so realised shares track targets exactly and deterministically.

The rule, precisely. For the reps eligible now (after rules), with weights renormalised over
them into shares `s`, counts `c` of leads received in the current period (a day by default,
in the strategy's time zone) and `n = sum(c)`:

    deficit(r) = s(r) * (n + 1) - c(r)

While every rep stays eligible this keeps each rep within two leads of target at every prefix,
within one in most teams (shares far apart take it past one: 1.5 measured with shares a thousand
times apart; tests/test_weighted.py checks the two).

Bounded catch-up. A rep who was away (leave, off shift, capped, excluded by a rule) has a large
deficit when they come back, and the reps who covered for them have negative ones; taken
literally, the returning rep would get every lead until level — a flood — and the others none.
So each deficit is clipped to within `catch_up` leads of where a rep on schedule would be,
judged from how many leads others got since the rep's last one in this period (`gap`; for a
rep with no lead yet this period, every lead of the period):

    on_schedule(r) = s(r) * (gap(r) + 1) - 1/2
    priority(r)    = clip(deficit(r), on_schedule(r) - catch_up, on_schedule(r) + catch_up)

For reps who stayed eligible the clip seldom binds (their deficit stays near `on_schedule`), so
tracking is kept — also at the start of a period whose shares differ from the last one's,
because the gap never reaches back past the period start. Where it binds, with shares far apart,
it moves a turn or so, within the two-lead bound above. A returning rep
is repaid what the period owes them, but at a bounded pace — at most about `1 + 2 * catch_up`
times their share (twice their share with the default 0.5) — and nobody is starved meanwhile.
A weight change is absorbed the same way. A new period starts everyone at zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from leadrouter._memo import LedgerMemo
from leadrouter._util import stable_key
from leadrouter._validators import number_field, valid_zone
from leadrouter.caps import PERIODS, period_start
from leadrouter.context import Context
from leadrouter.errors import ConfigError, StrategyError
from leadrouter.strategies.base import Pick, Strategy, StrategyTags

__all__ = ["Weighted"]


def _v_period(inst: object, attr: attrs.Attribute[str], value: str) -> None:
    if value not in PERIODS:
        raise ConfigError(
            f"{type(inst).__name__}.period must be one of {', '.join(PERIODS)}, got {value!r}"
        )


_v_catch_up = number_field(
    "leads; below 0.5 it would disturb reps who never left", at_least=0.5, finite=False
)


def share_words(share: float, period: str) -> str:
    """How the reason of a weighted pick begins: the rep's target share and the period. It
    depends on the rep's share only, so the fast path words it once per eligible set and rep;
    `pick_reason` adds the counts of the lead."""
    return f"furthest below target share {share:.1%} this {period}"


def pick_reason(words: str, received: int, n: int) -> str:
    """The reason of a weighted pick: `share_words` and the rep's `received` of the `n` leads
    the eligible reps got this period (both paths word every pick with these two)."""
    return f"{words} ({received} of {n} leads so far)"


def as_weight(value: object) -> float:
    """A weight as a float, NaN for what is not a number (a text, a bool, None): the caller
    refuses NaN, infinities and negative numbers with its own message."""
    if isinstance(value, bool | str):
        return math.nan
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


@attrs.frozen(repr=False)
class Weighted(Strategy):
    """Base for strategies that share leads by target weights (see the module docstring).

    `period` ("day", "week", "month" or "all") is what deficits are counted over, with day
    boundaries in `tz`; `catch_up` bounds how far ahead of their normal turn a rep who was away
    is served (in leads).
    """

    _tallies: LedgerMemo[dict[str, tuple[int, int]]] = attrs.field(
        factory=LedgerMemo, init=False, eq=False, repr=False, hash=False
    )
    """Per ledger and period start: each rep's receipts since the start, with the ledger's
    receipt total when that was counted (a cache: see `route`)."""
    period: str = attrs.field(default="day", kw_only=True, validator=_v_period)
    tz: str = attrs.field(default="UTC", kw_only=True, validator=valid_zone)
    catch_up: float = attrs.field(default=0.5, kw_only=True, validator=_v_catch_up)

    tags = StrategyTags(weighted=True)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Keep the `weighted` tag on every subclass, also on one that declares tags of its own
        (`StrategyTags(needs_profile=True)`): the tag states the guarantee of `route`, which a
        subclass inherits, and the testing kit holds every weighted strategy to it, a subclass
        that overrides `route` included."""
        super().__init_subclass__(**kwargs)
        tags = cls.__dict__.get("tags")
        if isinstance(tags, StrategyTags) and not tags.weighted:
            cls.tags = attrs.evolve(tags, weighted=True)

    def weights(self, ctx: Context) -> Mapping[str, float]:
        """Target weight (>= 0, any scale) of each rep in `ctx.ids`."""
        raise NotImplementedError

    def positive(self, ctx: Context, ids: Iterable[str]) -> list[tuple[str, float]]:
        """(rep, weight) of the reps in `ids` whose weight is above 0 (a rep `weights` leaves
        out has weight 0). A weight that is not a finite number >= 0 (a text, NaN, infinity, a
        negative number) is a StrategyError naming the rep and the value: taken as it came, an
        infinite weight gave every lead to another rep, and "senior" a bare ValueError."""
        weight_of = self.weights(ctx).get
        found = []
        for rep in ids:
            value = weight_of(rep, 0.0)
            weight = as_weight(value)
            if not (0.0 <= weight < math.inf):
                raise StrategyError(
                    f"{self!r}.weights gave rep {rep!r} the weight {value!r}: a weight is a "
                    "finite number >= 0 (0 for a rep who should get no leads)"
                )
            if weight > 0:
                found.append((rep, weight))
        return found

    def route(self, ctx: Context) -> Pick | None:
        ids = ctx.ids
        if not ids:
            return None
        positive = self.positive(ctx, ids)
        if not positive:
            return Pick(None, reason=f"every eligible rep has a target share of 0 ({self.name})")
        total = math.fsum(w for _, w in positive)  # exact: the same whatever order ids iterate in
        view = ctx.view
        since = period_start(ctx.now, self.period, self.tz)
        count, last_position = view.count, view.last_position
        everything = view.received_total()
        known = self._tallies.setdefault(view, dict, since)
        counts = []
        lasts = []
        for rep, _ in positive:
            last = last_position(rep)
            found = known.get(rep)
            # a count taken when the ledger held `total` receipts covers positions below it; a
            # rep's count moves only when they receive a lead, at a position >= that total
            if found is None or (last is not None and last >= found[1]):
                received = count(rep, since)
                known[rep] = (received, everything)
            else:
                received = found[0]
            counts.append(received)
            lasts.append(last)
        n = sum(counts)
        period_total = view.received_total(since)
        flow = n / period_total if period_total else 1.0
        catch_up = self.catch_up
        priority: dict[str, float] = {}
        for (rep, weight), received, last in zip(positive, counts, lasts, strict=True):
            share = weight / total
            deficit = share * (n + 1) - received
            gap = min(everything - 1 - last if last is not None else everything, period_total)
            on_schedule = share * (flow * gap + 1) - 0.5
            if deficit < on_schedule - catch_up:
                deficit = on_schedule - catch_up
            elif deficit > on_schedule + catch_up:
                deficit = on_schedule + catch_up
            priority[rep] = deficit
        weights = dict(positive)
        seed = ctx.seed

        def rank(rep: str) -> tuple[float, float, int]:
            return (-priority[rep], -weights[rep], stable_key(seed, rep))

        top = max(priority.values())
        best = min((rep for rep, p in priority.items() if p == top), key=rank)
        candidates = [best] if ctx.can_take(best) else sorted(priority, key=rank)
        for rep in candidates:
            if ctx.can_take(rep):
                received = counts[[r for r, _ in positive].index(rep)]
                return Pick(
                    rep,
                    scores=priority,
                    reason=pick_reason(share_words(weights[rep] / total, self.period), received, n),
                )
        return None
