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

The batch solver (`optimal_assignment`) picks its algorithm by the shape of the scores. Leads with
identical score rows (the default scorer gives one row per segment and eligible set) are grouped
into types, and the small transportation problem over types × reps is solved as a min-cost
max-flow by successive shortest paths. Otherwise the leads are matched to capacity-expanded rep
slots with scipy's sparse LAPJV (`min_weight_full_bipartite_matching`); a large problem starts on
a candidate subgraph (each lead's best reps, a greedy placement and the reps scoring close to it)
grown by column generation until LP dual prices prove the result optimal for the full problem.
Both are exact (up to float rounding, about 1e-9 of the score range). Ties between equally good
assignments are then spread: a lead moves to a rep where its score is exactly the same when that
lowers the load, so equal reps share the batch. Same inputs, same answer.

The slow shape is scores that differ for every lead yet rank the reps alike (every lead competes
for the same reps): fine at 1,000 × 100, seconds to minutes at 5,000 × 500.
"""

from __future__ import annotations

import itertools
import math
import numbers
import weakref
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from leadrouter._util import check_aware, stable_key
from leadrouter._validators import non_negative_number, positive_duration, valid_zone
from leadrouter.caps import day_start
from leadrouter.context import Context
from leadrouter.errors import ConfigError, InvalidValueError, StrategyError
from leadrouter.ledger import LedgerView
from leadrouter.model import Lead, Rep
from leadrouter.strategies.base import Pick, Strategy, StrategyTags

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

    Floats = NDArray[np.float64]
    Ints = NDArray[np.int64]
    Bools = NDArray[np.bool_]

__all__ = ["METHODS", "LearnedRates", "ProfileMatching", "Scorer", "optimal_assignment"]

Scorer = Callable[[Lead, Rep], float]
"""A fit score for (lead, rep): any finite number, higher is better."""

METHODS = ("auto", "flow", "matching")
"""Algorithms `optimal_assignment(method=...)` accepts; all give the same optimum."""

_LEAD_FIELDS = frozenset(f.name for f in attrs.fields(Lead)) - {"id", "arrived_at", "features"}
_TOP_SCORES = 5
_TOL = 1e-9


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


@runtime_checkable
class _HistoryView(Protocol):
    """What the learned scorer reads beyond `LedgerView`: each received and sold lead."""

    def reps(self) -> frozenset[str]: ...

    def receipts(
        self, rep_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[tuple[datetime, str]]: ...

    def conversions(
        self, rep_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[tuple[datetime, str, float]]: ...

    def lead(self, lead_id: str) -> Lead: ...


def _shrunk(value: float, n: float, prior: float, k: float) -> float:
    return prior if n + k <= 0 else (value + k * prior) / (n + k)


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
    if isinstance(view, _HistoryView):
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
    values = {v: _shrunk(s, n, overall, k) for v, (n, s) in by_value.items()}
    pairs = {key: _shrunk(s, n, values[key[1]], k) for key, (n, s) in frozen.items()}
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
    _cache: weakref.WeakKeyDictionary[Any, tuple[date, LearnedRates]] = attrs.field(
        factory=weakref.WeakKeyDictionary, init=False, eq=False, repr=False, hash=False
    )

    tags = StrategyTags(needs_profile=True, needs_history=True)

    # -- learned rates

    def explain_rates(self, ledger: LedgerView, now: datetime) -> LearnedRates:
        """The rates the default scorer uses on `now`'s day (the router's cached table)."""
        check_aware(now, "ProfileMatching.explain_rates(now=)")
        return self._rates(ledger, now)

    def _rates(self, view: LedgerView, now: datetime) -> LearnedRates:
        midnight = day_start(now, self.tz)
        try:
            entry = self._cache.get(view)
        except TypeError:  # a view that cannot be weakly referenced: compute, do not cache
            return self._learn(view, midnight)
        if entry is None or entry[0] != midnight.date():
            entry = (midnight.date(), self._learn(view, midnight))
            self._cache[view] = entry
        return entry[1]

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
        assign = _solve(scores, cap, types=types)
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
                answers.append(
                    Pick(None, scores=shown, reason="no capacity left among its eligible reps")
                )
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


# ----------------------------------------------------------------------------- the solver


def optimal_assignment(
    scores: ArrayLike, capacity: Sequence[int | None], *, method: str = "auto"
) -> list[int | None]:
    """The optimal assignment of leads (rows of `scores`) to reps (columns).

    `scores[i][j]` is the fit of lead i with rep j, NaN where lead i may not go to rep j;
    `capacity[j]` how many leads rep j may take (None: no limit). Returns, per lead, the column
    of its rep or None. Guarantee: the number of leads placed is the largest possible, and among
    such assignments the total score is the largest (exact up to float rounding). Ties between
    optimal assignments are spread over equal-scoring reps, deterministically.

    `method`: "flow" (min-cost max-flow over groups of identical leads, fast when few distinct
    score rows), "matching" (sparse LAPJV over capacity slots with column generation, fast for
    varied scores) or "auto" (pick by the shape of the scores).
    """
    import numpy as np

    if method not in METHODS:
        raise ConfigError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    matrix = np.array(scores, dtype=np.float64)
    if matrix.size == 0:
        matrix = matrix.reshape(len(matrix), len(capacity))
    if matrix.ndim != 2:
        raise InvalidValueError(f"scores must be a 2-d table (leads × reps), got {matrix.ndim}-d")
    n, m = matrix.shape
    if len(capacity) != m:
        raise InvalidValueError(
            f"capacity has {len(capacity)} entries but scores has {m} columns: one per rep"
        )
    if np.isinf(matrix).any():
        raise InvalidValueError("scores must be finite numbers, or NaN for a forbidden pair")
    cap = np.empty(m, dtype=np.int64)
    for j, room in enumerate(capacity):
        if room is not None and (isinstance(room, bool) or not isinstance(room, numbers.Integral)):
            raise InvalidValueError(f"capacity[{j}] must be a whole number or None, got {room!r}")
        cap[j] = n if room is None else max(0, min(int(room), n))
    assign = _solve(matrix, cap, method=method)
    return [None if j < 0 else int(j) for j in assign.tolist()]


def _solve(
    scores: Floats,
    cap: Ints,
    *,
    types: Ints | None = None,
    method: str = "auto",
    first_k: int = 8,
    full_edges: int = 250_000,
) -> Ints:
    """Column of each lead's rep (-1: unplaced). `scores` n × m with NaN for forbidden pairs,
    `cap` the capacities (each <= n). `types` groups leads with identical rows, when known."""
    import numpy as np

    n, m = scores.shape
    assign = np.full(n, -1, dtype=np.int64)
    allowed = ~np.isnan(scores) & (cap > 0)[None, :]
    if n == 0 or m == 0 or not allowed.any():
        return assign
    values = scores[allowed]
    low, span = float(values.min()), float(values.max() - values.min())
    w = np.where(allowed, (scores - low) / span if span > 0 else 0.0, -np.inf)
    if types is None:
        keyed = np.ascontiguousarray(np.where(allowed, scores, -np.inf))
        rows = keyed.view(np.dtype((np.void, keyed.dtype.itemsize * m))).ravel()
        _, types = np.unique(rows, return_inverse=True)
        types = types.astype(np.int64).ravel()
    n_types = int(types.max()) + 1
    if method == "auto":
        method = "flow" if _flow_is_cheap(n, m, n_types) else "matching"
    if method == "flow":
        assign = _by_flow(w, cap, types, n_types)
    else:
        assign = _by_matching(w, allowed, cap, first_k, full_edges)
    _spread_ties(scores, allowed, cap, assign)
    return assign


def _flow_is_cheap(n: int, m: int, n_types: int) -> bool:
    """Successive shortest paths cost about (types + reps) Dijkstra runs over a types × reps
    graph; LAPJV over leads is slow when many leads are identical (measured at 5,000 × 500:
    flow wins up to ~150 types)."""
    return n_types * 4 <= n and (n_types + m) * n_types * m <= 40_000_000


def _by_flow(w: Floats, cap: Ints, types: Ints, n_types: int) -> Ints:
    """Min-cost max-flow source → type (supply) → rep (cost -w) → sink (capacity), by successive
    shortest paths with potentials. Each augmentation carries as many leads as the path allows,
    and the flow after each is the cheapest of its size, so the final one is the best among the
    largest: lexicographically optimal without a big-M."""
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.csgraph import dijkstra

    n, m = w.shape
    _, first = np.unique(types, return_index=True)
    tw = w[first]
    supply = np.bincount(types, minlength=n_types).astype(np.int64)
    ft, fj = np.nonzero(np.isfinite(tw) & (cap > 0)[None, :])
    fcost = -tw[ft, fj]
    t_off, r_off = 1, 1 + n_types
    sink = r_off + m
    size = sink + 1
    pi = np.zeros(size)
    if ft.size:
        rep_pi = np.zeros(m)
        seen = np.zeros(m, dtype=bool)
        seen[fj] = True
        low = np.full(m, np.inf)
        np.minimum.at(low, fj, fcost)
        rep_pi[seen] = low[seen]
        pi[r_off:sink] = rep_pi
        pi[sink] = rep_pi[seen].min()
    flow = np.zeros((n_types, m), dtype=np.int64)
    left = supply.copy()
    room = cap.astype(np.int64).copy()
    while ft.size:
        st = np.nonzero(left > 0)[0]
        fwd = flow[ft, fj] < supply[ft]
        bt, bj = np.nonzero(flow > 0)
        sk = np.nonzero(room > 0)[0]
        tail = np.concatenate(
            [np.zeros(st.size, np.int64), ft[fwd] + t_off, bj + r_off, sk + r_off]
        )
        head = np.concatenate([st + t_off, fj[fwd] + r_off, bt + t_off, np.full(sk.size, sink)])
        cost = np.concatenate([np.zeros(st.size), fcost[fwd], tw[bt, bj], np.zeros(sk.size)])
        reduced = np.maximum(cost + pi[tail] - pi[head], 0.0)
        graph = sp.csr_array((reduced, (tail, head)), shape=(size, size))
        dist, pred = dijkstra(graph, indices=0, return_predecessors=True)
        if not np.isfinite(dist[sink]):
            break
        reached = np.isfinite(dist)
        pi += np.where(reached, dist, dist[reached].max())
        path = [sink]
        while path[-1] != 0:
            path.append(int(pred[path[-1]]))
        path.reverse()
        push = int(n)
        for a, b in itertools.pairwise(path):
            if a == 0:
                push = min(push, int(left[b - t_off]))
            elif b == sink:
                push = min(push, int(room[a - r_off]))
            elif a < r_off:
                t, j = a - t_off, b - r_off
                push = min(push, int(supply[t] - flow[t, j]))
            else:
                push = min(push, int(flow[b - t_off, a - r_off]))
        for a, b in itertools.pairwise(path):
            if a == 0:
                left[b - t_off] -= push
            elif b == sink:
                room[a - r_off] -= push
            elif a < r_off:
                flow[a - t_off, b - r_off] += push
            else:
                flow[b - t_off, a - r_off] -= push
    assign = np.full(n, -1, dtype=np.int64)
    members = np.argsort(types, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(supply)])
    for t in range(n_types):
        placed = np.repeat(np.arange(m), flow[t])
        leads = members[bounds[t] : bounds[t] + placed.size]
        assign[leads] = placed
    return assign


def _by_matching(w: Floats, allowed: Bools, cap: Ints, first_k: int, full_edges: int) -> Ints:
    """Sparse LAPJV on capacity-expanded slots, with column generation when the full graph is
    large: solve on candidate pairs, derive LP dual prices from the solution, add the pairs whose
    reduced cost is positive (twice as many per lead each round), repeat; no positive reduced cost
    left proves the candidate optimum optimal for the full problem."""
    import numpy as np

    n, m = w.shape
    degree = allowed.sum(axis=0)
    room = np.minimum(cap, degree)
    if _expanded_size(degree, room) <= full_edges:
        return _match(w, allowed, room)
    k = min(first_k, m)
    tilt = ((np.arange(m)[None, :] - np.arange(n)[:, None]) % m) * (1e-7 / m)
    hint = w - tilt  # spreads equal scores over reps when choosing candidates; never decides
    cand = np.zeros((n, m), dtype=bool)
    top = np.argpartition(-hint, max(k // 2, 1) - 1, axis=1)[:, : max(k // 2, 1)]
    np.put_along_axis(cand, top, True, axis=1)
    greedy = _greedy(hint, room)
    placed = greedy >= 0
    cand[np.nonzero(placed)[0], greedy[placed]] = True
    level = np.where(placed, hint[np.arange(n), np.maximum(greedy, 0)], hint.max(axis=1))
    level = np.where(np.isfinite(level), level, 0.0)
    near = np.argpartition(np.abs(hint - level[:, None]), k - 1, axis=1)[:, :k]
    np.put_along_axis(cand, near, True, axis=1)
    cand &= allowed
    big = n + 1.0
    grow = k
    while True:
        assign = _match(w, cand, np.minimum(room, cand.sum(axis=0)))
        prices = _prices(w, cand, assign, big)
        if prices is None:
            return _match(w, allowed, room)
        held = np.maximum(assign, 0)
        gain = np.where(assign >= 0, big + w[np.arange(n), held] - prices[held], 0.0)
        reduced = big + w - gain[:, None] - prices[None, :]
        short = allowed & ~cand & (reduced > _TOL)
        if not short.any():
            return assign
        rows = np.nonzero(short.any(axis=1))[0]
        keyed = np.where(short[rows], reduced[rows] - tilt[rows], -np.inf)
        grow = min(grow * 2, m)
        pick = np.argpartition(-keyed, grow - 1, axis=1)[:, :grow]
        extra = np.zeros((rows.size, m), dtype=bool)
        np.put_along_axis(extra, pick, True, axis=1)
        cand[rows] |= extra & short[rows]


def _expanded_size(degree: Ints, room: Ints) -> int:
    """Edges `_match` would build for these degrees and rooms."""
    import numpy as np

    own = degree
    shared = degree * room
    blocked = degree + (degree - room) * degree
    return int(np.minimum(np.where(room >= degree, own, shared), blocked).sum())


def _greedy(hint: Floats, room: Ints) -> Ints:
    """A feasible placement to seed the candidates: leads in order of their best score, each to
    its best rep with room left. When all leads rank the reps alike this is already optimal, and
    the candidates around it (reps scoring close to it) are where an optimum differs."""
    import numpy as np

    n = hint.shape[0]
    left = room.astype(np.int64).copy()
    full = left <= 0
    assign = np.full(n, -1, dtype=np.int64)
    best = hint.max(axis=1)
    for i in np.argsort(-best, kind="stable").tolist():
        if not np.isfinite(best[i]):
            break
        row = np.where(full, -np.inf, hint[i])
        j = int(np.argmax(row))
        if np.isfinite(row[j]):
            assign[i] = j
            left[j] -= 1
            full[j] = left[j] <= 0
    return assign


def _match(w: Floats, edges: Bools, room: Ints) -> Ints:
    """Exact b-matching on `edges` with LAPJV: rep j becomes `room[j]` shared slots, or one
    private slot per candidate lead (plus blocker rows that occupy all but `room[j]` of them,
    when that is smaller); every lead also has a private "unplaced" slot costing more than any
    difference in real costs, so the most leads are placed first, then the best total."""
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    n, m = w.shape
    ei, ej = np.nonzero(edges)
    order = np.argsort(ej, kind="stable")
    ei, ej = ei[order], ej[order]
    degree = np.bincount(ej, minlength=m)
    room = np.minimum(room, degree)
    rank = np.arange(ej.size) - (np.cumsum(degree) - degree)[ej]
    cost = 2.0 - w[ei, ej]
    shared = (room < degree) & (2 * room <= degree + 1)
    blocked = (room < degree) & ~shared
    width = np.where(shared, room, degree)
    start = np.cumsum(width) - width
    slots = int(width.sum())
    own = ~shared[ej]
    rows = [ei[own]]
    cols = [start[ej[own]] + rank[own]]
    data = [cost[own]]
    copies = room[ej[~own]]
    rows.append(np.repeat(ei[~own], copies))
    cols.append(
        np.repeat(start[ej[~own]], copies)
        + np.arange(copies.sum())
        - np.repeat(np.cumsum(copies) - copies, copies)
    )
    data.append(np.repeat(cost[~own], copies))
    rows.append(np.arange(n))
    cols.append(slots + np.arange(n))
    data.append(np.full(n, n + 3.0))
    blockers = np.repeat(np.nonzero(blocked)[0], (degree - room)[blocked])
    span = degree[blockers]
    rows.append(np.repeat(n + np.arange(blockers.size), span))
    cols.append(
        np.repeat(start[blockers], span)
        + np.arange(span.sum())
        - np.repeat(np.cumsum(span) - span, span)
    )
    data.append(np.ones(int(span.sum())))
    graph = sp.csr_array(
        (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n + blockers.size, slots + n),
    )
    row_ind, col_ind = min_weight_full_bipartite_matching(graph)
    slot_rep = np.concatenate([np.repeat(np.arange(m), width), np.full(n, -1)])
    assign = np.full(n, -1, dtype=np.int64)
    leads = row_ind < n
    assign[row_ind[leads]] = slot_rep[col_ind[leads]]
    return assign


def _prices(w: Floats, edges: Bools, assign: Ints, big: float) -> Floats | None:
    """The least LP dual prices of the reps for an optimal b-matching on `edges` (lead values
    `big + w`, 0 unplaced), by longest paths in rep space: a lead at rep a with a candidate rep b
    needs price(b) - price(a) >= w(b) - w(a); an unplaced lead needs price(b) >= big + w(b).
    None if they do not settle (float noise on a degenerate instance): the caller then solves
    the full problem, which needs no certificate."""
    import numpy as np

    m = w.shape[1]
    ei, ej = np.nonzero(edges)
    at = assign[ei]
    move = (at >= 0) & (ej != at)
    step = np.full((m, m), -np.inf)
    np.maximum.at(step, (at[move], ej[move]), w[ei[move], ej[move]] - w[ei[move], at[move]])
    prices = np.zeros(m)
    out = at < 0
    np.maximum.at(prices, ej[out], big + w[ei[out], ej[out]])
    for _ in range(m + 1):
        better = (prices[:, None] + step).max(axis=0)
        rise = better > prices + _TOL
        if not rise.any():
            return prices
        prices = np.where(rise, better, prices)
    return None


def _spread_ties(scores: Floats, allowed: Bools, cap: Ints, assign: Ints) -> None:
    """Move leads between reps where their score is exactly equal, from fuller to emptier (the
    least loaded, first in tie order), until no such move lowers a load: the count and the total
    score stay exactly the same, and equal reps share the batch."""
    import numpy as np

    n, m = scores.shape
    placed = assign >= 0
    if not placed.any():
        return
    held = np.where(placed, scores[np.arange(n), np.maximum(assign, 0)], np.nan)
    equal = allowed & (scores == held[:, None])
    rows = np.nonzero(equal.sum(axis=1) > 1)[0]
    if not rows.size:
        return
    load = np.bincount(assign[placed], minlength=m)
    options = [np.nonzero(equal[i])[0] for i in rows.tolist()]
    moved = True
    while moved:
        moved = False
        for i, reps in zip(rows.tolist(), options, strict=True):
            a = int(assign[i])
            fits = reps[(load[reps] + 1 < load[a]) & (load[reps] < cap[reps])]
            if fits.size:
                b = int(fits[np.argmin(load[fits])])
                assign[i] = b
                load[a] -= 1
                load[b] += 1
                moved = True
