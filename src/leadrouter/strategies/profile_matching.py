"""Profile matching (按画像匹配): each lead goes to the rep who fits it best, and a batch of leads
is solved as one assignment problem with rep capacities.

Fit is a score `scorer(lead, rep) -> float` (higher is better). The default scorer is learned
from the ledger: the rep's conversion rate on leads like this one (same `segment`, or another
lead field), shrunk toward the rate of that segment, which is itself shrunk toward the overall
rate — so a rep with three enterprise leads and one sale is not crowned the enterprise specialist,
and the table sharpens as history grows.

Two guarantees, two algorithms:

- `route` (one lead): greedy — the best-scoring eligible rep who can take it now; ties go to the
  rep assigned least recently (never-assigned reps first, in a seeded order).
- `route_batch` (`Router.route_many`): exactly optimal. Among all assignments that respect
  eligibility and each rep's remaining capacity, it places as many leads as possible, and among
  those maximises the total score (lexicographic: a lead is never left out to gain score).

The batch solver, `optimal_assignment` (re-exported here), lives in `leadrouter.assignment`: it
works on a plain leads × reps score table, and its docstring gives the algorithms (a min-cost
flow over groups of identical leads, else sparse LAPJV with column generation), when each is used,
and how fast. This module builds the table and explains the answer.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from leadrouter._memo import LedgerMemo
from leadrouter._util import check_aware, shrunk, stable_key
from leadrouter._validators import non_negative_number, positive_duration, valid_zone
from leadrouter.assignment import METHODS, optimal_assignment, solve
from leadrouter.capabilities import is_history_view
from leadrouter.caps import AT_CAP, day_start
from leadrouter.context import Context
from leadrouter.errors import ConfigError, StrategyError
from leadrouter.ledger import LedgerView
from leadrouter.model import Lead, Rep
from leadrouter.strategies.base import Pick, Strategy, StrategyTags

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Floats = NDArray[np.float64]
    Ints = NDArray[np.int64]

__all__ = ["METHODS", "LearnedRates", "ProfileMatching", "Scorer", "optimal_assignment"]

Scorer = Callable[[Lead, Rep], float]
"""A fit score for (lead, rep): any finite number, higher is better."""

_LEAD_FIELDS = frozenset(f.name for f in attrs.fields(Lead)) - {"id", "arrived_at", "features"}
_TOP_SCORES = 5


# ----------------------------------------------------------------------------- configuration


def _v_scorer(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not callable(value):
        raise ConfigError(
            f"ProfileMatching.scorer must be a callable scorer(lead, rep) -> float or None (the "
            f"learned default), got {value!r}"
        )


def _v_feature(inst: object, attr: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"ProfileMatching.feature must name a lead field (e.g. 'segment', 'product', "
            f"'region') or a key of Lead.features, got {value!r}"
        )


def _feature(lead: Lead, name: str) -> str:
    """The lead's value for `name`: a Lead field, else a key of `Lead.features` ("" if absent)."""
    value = getattr(lead, name) if name in _LEAD_FIELDS else lead.features.get(name)
    return "" if value is None else str(value)


def _scorer_name(scorer: Scorer | None) -> str:
    if scorer is None:
        return "None"
    return str(getattr(scorer, "__name__", None) or repr(scorer))


# ----------------------------------------------------------------------------- learned rates


@attrs.frozen(eq=False)
class LearnedRates:
    """Conversion rates by rep × lead `feature` value, learned over `[since, until)`.

    `counts[(rep, value)]` is (leads received, sales) in the window. With `k` = prior strength:

        overall       = sales / leads received, over every rep
        rate(value)   = (sales of value + k * overall) / (leads of value + k)
        rate(rep, v)  = (sales of rep on v + k * rate(v)) / (leads of v received by rep + k)

    A rep with no leads of a value scores that value's rate; a value never seen scores `overall`.
    With no lead received in the window (`overall` is None) every rate is 0: all reps are equal.
    """

    feature: str
    since: datetime
    until: datetime
    prior_strength: float
    overall: float | None
    values: Mapping[str, float]
    pairs: Mapping[tuple[str, str], float]
    counts: Mapping[tuple[str, str], tuple[int, int]]

    def rate(self, rep_id: str, value: str) -> float:
        """The learned rate of `rep_id` on leads whose feature is `value`."""
        found = self.pairs.get((rep_id, value))
        if found is not None:
            return found
        return self.value_rate(value)

    def value_rate(self, value: str) -> float:
        """The shrunk rate of `value` over every rep (what a rep without such leads scores)."""
        found = self.values.get(value)
        if found is not None:
            return found
        return 0.0 if self.overall is None else self.overall

    def explain(self, rep_id: str, value: str) -> str:
        """Where `rate(rep_id, value)` comes from, in words."""
        what = f"{self.feature} {value!r}"
        if self.overall is None:
            return "no leads received in the window: every rep scores the same"
        received, sold = self.counts.get((rep_id, value), (0, 0))
        rate = self.rate(rep_id, value)
        if not received and not sold:
            return f"learned rate {rate:.2%} = the {what} rate (no such leads for this rep yet)"
        return (
            f"learned rate {rate:.2%} on {what}: {sold} sales of {received} such leads, "
            f"shrunk toward the {what} rate {self.value_rate(value):.2%} "
            f"(prior {self.prior_strength:g} leads)"
        )

    def matrix(self, values: Sequence[str], reps: Sequence[str]) -> Floats:
        """The rates as a `len(values)` × `len(reps)` array."""
        import numpy as np

        out = np.empty((len(values), len(reps)), dtype=np.float64)
        row = {value: i for i, value in enumerate(values)}
        col = {rep: j for j, rep in enumerate(reps)}
        for i, value in enumerate(values):
            out[i, :] = self.value_rate(value)
        for (rep, value), rate in self.pairs.items():
            at, to = row.get(value), col.get(rep)
            if at is not None and to is not None:
                out[at, to] = rate
        return out


def _learn(
    view: LedgerView, feature: str, k: float, since: datetime, until: datetime
) -> LearnedRates:
    counts: dict[tuple[str, str], list[int]] = {}
    if is_history_view(view):
        for rep in sorted(view.reps()):
            for _, lead_id in view.receipts(rep, since, until):
                key = (rep, _feature(view.lead(lead_id), feature))
                counts.setdefault(key, [0, 0])[0] += 1
            for _, lead_id, _ in view.conversions(rep, since, until):
                key = (rep, _feature(view.lead(lead_id), feature))
                counts.setdefault(key, [0, 0])[1] += 1
    total_n = sum(c[0] for c in counts.values())
    total_s = sum(c[1] for c in counts.values())
    frozen = {key: (c[0], c[1]) for key, c in counts.items()}
    if total_n == 0:
        return LearnedRates(feature, since, until, k, None, {}, {}, frozen)
    overall = total_s / total_n
    by_value: dict[str, list[int]] = {}
    for (_, value), (n, s) in frozen.items():
        acc = by_value.setdefault(value, [0, 0])
        acc[0] += n
        acc[1] += s
    values = {v: shrunk(s, n, overall, k) for v, (n, s) in by_value.items()}
    pairs = {key: shrunk(s, n, values[key[1]], k) for key, (n, s) in frozen.items()}
    return LearnedRates(feature, since, until, k, overall, values, pairs, frozen)


# ----------------------------------------------------------------------------- the strategy


def _tie_order(view: LedgerView, seed: int, reps: Collection[str]) -> list[str]:
    """`reps` least recently assigned first: never-assigned reps lead, in a seeded hash order
    (as EqualRotation), then the others by their last assignment in the ledger."""
    group = frozenset(reps)
    fresh = view.never_assigned(group)
    ordered = sorted(fresh, key=lambda rep: stable_key(seed, rep))
    if len(ordered) < len(group):
        ordered += [rep for rep in view.lru() if rep in group and rep not in fresh]
    return ordered


def _checked(value: object, scorer: Scorer, lead: Lead, rep: Rep) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise StrategyError(
            f"ProfileMatching scorer {_scorer_name(scorer)} returned {value!r} for lead "
            f"{lead.id!r} and rep {rep.id!r}: a scorer must return a finite number (higher = "
            "better fit)"
        )
    return float(value)


@attrs.frozen(repr=False)
class ProfileMatching(Strategy):
    """Each lead goes to the rep whose profile fits it best; batches are solved optimally.

    When to use it: reps differ in what they sell well — an industry, a segment, a language, a
    product — and leads carry those features. Fit is `scorer(lead, rep)`, any plain callable
    returning a number (higher = better), e.g. comparing `lead.features["language"]` with
    `rep.profile["languages"]`. With no scorer, fit is each rep's conversion rate on leads of
    the same `feature` value ("segment" by default), learned from the ledger over `window`
    before today (in `tz`) and shrunk with `prior_strength` pseudo-leads toward that value's
    rate, itself shrunk toward the overall rate (see `LearnedRates`). The table is learned once
    per ledger and day, so a sale recorded today counts from tomorrow.

    Guarantees. `route` (one lead) is greedy: the best-scoring eligible rep who can take it now.
    `Router.route_many` (a batch) is exactly optimal: as many leads placed as eligibility and the
    reps' remaining capacities allow, and among those the largest total score; leads that cannot
    be placed wait in the public pool. Ties go to the rep assigned least recently, and within a
    batch equal-scoring reps share the leads.

    With no history every rep scores the same, so single leads rotate least-recently-assigned
    (never-assigned reps first, in the router's seeded order) and a batch is spread evenly.
    """

    scorer: Callable[[Lead, Rep], float] | None = attrs.field(default=None, validator=_v_scorer)
    prior_strength: float = attrs.field(
        default=20.0,
        kw_only=True,
        validator=non_negative_number(
            "pseudo-leads at the segment rate; 20 is a good start, 0 means raw rates"
        ),
    )
    window: timedelta = attrs.field(
        default=timedelta(days=90), kw_only=True, validator=positive_duration("timedelta(days=90)")
    )
    feature: str = attrs.field(default="segment", kw_only=True, validator=_v_feature)
    tz: str = attrs.field(default="UTC", kw_only=True, validator=valid_zone)
    _cache: LedgerMemo[LearnedRates] = attrs.field(
        factory=LedgerMemo, init=False, eq=False, repr=False, hash=False
    )

    tags = StrategyTags(needs_profile=True, needs_history=True, batching=True)

    # -- learned rates

    def explain_rates(self, ledger: LedgerView, now: datetime) -> LearnedRates:
        """The rates the default scorer uses on `now`'s day (the router's cached table)."""
        check_aware(now, "ProfileMatching.explain_rates(now=)")
        return self._rates(ledger, now)

    def _rates(self, view: LedgerView, now: datetime) -> LearnedRates:
        midnight = day_start(now, self.tz)
        return self._cache.setdefault(view, lambda: self._learn(view, midnight), midnight.date())

    def _learn(self, view: LedgerView, midnight: datetime) -> LearnedRates:
        return _learn(view, self.feature, self.prior_strength, midnight - self.window, midnight)

    # -- one lead

    def route(self, ctx: Context) -> Pick | None:
        ids = ctx.ids
        if not ids:
            return None
        lead = ctx.lead
        rates: LearnedRates | None = None
        scores: dict[str, float]
        if self.scorer is None:
            rates = self._rates(ctx.view, ctx.now)
            value = _feature(lead, self.feature)
            scores = {rep: rates.rate(rep, value) for rep in ids}
        else:
            scorer, roster = self.scorer, ctx.roster
            scores = {}
            for rep_id in ids:
                person = roster[rep_id]
                scores[rep_id] = _checked(scorer(lead, person), scorer, lead, person)
        seed = ctx.seed
        ranked = sorted(ids, key=lambda rep: (-scores[rep], stable_key(seed, rep)))
        best: list[str] = []
        for rep in ranked:
            if best and scores[rep] != scores[best[0]]:
                break
            if ctx.can_take(rep):
                best.append(rep)
        if not best:
            return Pick(None, scores=scores, reason="no eligible rep can take a lead now")
        chosen = best[0] if len(best) == 1 else _tie_order(ctx.view, seed, best)[0]
        if rates is not None:
            why = rates.explain(chosen, _feature(lead, self.feature))
        else:
            why = f"score {scores[chosen]:.4g} from {_scorer_name(self.scorer)}"
        reason = f"best fit among the reps who can take it: {why}"
        if len(best) > 1:
            reason += f"; tied with {len(best) - 1} other(s), least recently assigned first"
        return Pick(chosen, scores=scores, reason=reason)

    # -- a batch

    def route_batch(
        self, ctxs: Sequence[Context], capacity: Mapping[str, int | None]
    ) -> list[Pick | None]:
        """Solve the batch as one assignment problem (see the class docstring); one answer per
        context, within `capacity` (a rep missing from it has none; None is unlimited)."""
        import numpy as np

        n = len(ctxs)
        if n == 0:
            return []
        first = ctxs[0]
        order = _tie_order(first.view, first.seed, frozenset().union(*(c.ids for c in ctxs)))
        m = len(order)
        if m == 0:
            return [None] * n
        col = {rep: j for j, rep in enumerate(order)}
        cap = np.empty(m, dtype=np.int64)
        for j, rep in enumerate(order):
            room = capacity.get(rep, 0)
            cap[j] = n if room is None else max(0, min(int(room), n))
        columns: dict[frozenset[str], Ints] = {}
        rows_of: list[Ints] = []
        for ctx in ctxs:
            found = columns.get(ctx.ids)
            if found is None:
                found = columns[ctx.ids] = np.array(
                    sorted(col[rep] for rep in ctx.ids), dtype=np.int64
                )
            rows_of.append(found)
        scores = np.full((n, m), np.nan)
        rates: LearnedRates | None = None
        values: list[str] = []
        types: Ints | None = None
        if self.scorer is None:
            rates = self._rates(first.view, first.now)
            values = [_feature(ctx.lead, self.feature) for ctx in ctxs]
            distinct = sorted(set(values))
            index = {value: u for u, value in enumerate(distinct)}
            table = rates.matrix(distinct, order)
            kinds: dict[tuple[int, frozenset[str]], int] = {}
            type_list: list[int] = []
            for i, ctx in enumerate(ctxs):
                u = index[values[i]]
                cols = rows_of[i]
                scores[i, cols] = table[u, cols]
                type_list.append(kinds.setdefault((u, ctx.ids), len(kinds)))
            types = np.array(type_list, dtype=np.int64)
        else:
            scorer = self.scorer
            roster = first.roster
            reps = [roster[rep] for rep in order]
            for i, ctx in enumerate(ctxs):
                lead = ctx.lead
                row = scores[i]
                for j in rows_of[i].tolist():
                    row[j] = _checked(scorer(lead, reps[j]), scorer, lead, reps[j])
        assign = solve(scores, cap, types=types)
        return self._picks(ctxs, order, scores, assign, rates, values)

    def _picks(
        self,
        ctxs: Sequence[Context],
        order: list[str],
        scores: Floats,
        assign: Ints,
        rates: LearnedRates | None,
        values: list[str],
    ) -> list[Pick | None]:
        import numpy as np

        n, m = scores.shape
        filled = np.where(np.isnan(scores), -np.inf, scores)
        k = min(_TOP_SCORES, m)
        top = np.argpartition(-filled, k - 1, axis=1)[:, :k]
        got = np.where(assign >= 0, filled[np.arange(n), np.maximum(assign, 0)], -np.inf)
        better = (filled > got[:, None]).sum(axis=1)
        answers: list[Pick | None] = []
        for i, ctx in enumerate(ctxs):
            if not ctx.ids:
                answers.append(None)
                continue
            shown = {
                order[j]: float(filled[i, j]) for j in top[i].tolist() if filled[i, j] > -1e308
            }
            j = int(assign[i])
            if j < 0:
                answers.append(Pick(None, scores=shown, reason=AT_CAP))
                continue
            rep = order[j]
            shown[rep] = float(filled[i, j])
            if rates is not None:
                why = rates.explain(rep, values[i])
            else:
                why = f"score {filled[i, j]:.4g} from {_scorer_name(self.scorer)}"
            place = (
                "its best eligible rep"
                if better[i] == 0
                else f"{better[i]} eligible rep(s) fit it better but were full or needed elsewhere"
            )
            reason = f"optimal batch assignment of {n} leads under rep capacities: {why}; {place}"
            answers.append(Pick(rep, scores=shown, reason=reason))
        return answers

    def __repr__(self) -> str:
        args = [f"scorer={_scorer_name(self.scorer)}"]
        args += [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in attrs.fields(type(self))
            if f.init and f.kw_only
        ]
        return f"{self.name}({', '.join(args)})"
