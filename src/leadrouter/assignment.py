"""The assignment solver behind `ProfileMatching` batches, usable on its own.

What it solves. `scores` is a leads × reps table of fit (higher is better), NaN where a lead may
not go to a rep; `capacity[j]` bounds how many leads rep j may take (None: no limit). The answer
gives each lead one rep's column, or none. Nothing here depends on what leads and reps are (it
takes plain arrays): any rows × columns fit table with capacities is the same problem.

Guarantee. Lexicographically optimal: as many leads placed as the allowed pairs and capacities
permit, and among all such assignments the largest total score (a lead is never left out to gain
score). Exact up to float rounding, about 1e-9 of the score range. Ties between equally good
assignments are then spread: a lead moves to a rep where its score is exactly the same when that
lowers the load, so equal reps share the batch. Same inputs, same answer.

Algorithms, picked by the shape of the scores (`method="auto"`; every choice gives the same
optimum):

- "flow": leads with identical score rows (the learned scorer of `ProfileMatching` gives one per
  segment and eligible set) are grouped into types, and the small transportation problem over
  types × reps is solved as a min-cost max-flow by successive shortest paths. Used when the types
  are few: at most a quarter of the leads, and (types + reps) × types × reps <= 4e7.
- "matching": leads are matched to capacity-expanded rep slots with scipy's sparse LAPJV
  (`min_weight_full_bipartite_matching`), each lead also having an "unplaced" slot costing more
  than any score difference. A large problem starts on a candidate subgraph (each lead's best
  reps, a greedy placement and the reps scoring close to it), grown by column generation until
  LP dual prices prove the result optimal for the full problem. Used otherwise.

The slow shape is scores that differ for every lead yet rank the reps alike (every lead competes
for the same reps): fine at 1,000 × 100, seconds to minutes at 5,000 × 500.

numpy and scipy are imported inside the functions, so importing this module stays light.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING

from leadrouter.errors import ConfigError, InvalidValueError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

    Floats = NDArray[np.float64]
    Ints = NDArray[np.int64]
    Bools = NDArray[np.bool_]

__all__ = ["METHODS", "optimal_assignment", "solve"]

METHODS = ("auto", "flow", "matching")
"""Algorithms `optimal_assignment(method=...)` accepts; all give the same optimum."""

_TOL = 1e-9


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
    assign = solve(matrix, cap, method=method)
    return [None if j < 0 else int(j) for j in assign.tolist()]


def solve(
    scores: Floats,
    cap: Ints,
    *,
    types: Ints | None = None,
    method: str = "auto",
    first_k: int = 8,
    full_edges: int = 250_000,
) -> Ints:
    """Column of each lead's rep (-1: unplaced): `optimal_assignment` on arrays it has checked.

    `scores` n × m with NaN for forbidden pairs, `cap` the capacities (each <= n). `types`
    groups leads with identical rows, when known. `first_k` (candidate reps per lead to start
    from) and `full_edges` (the size from which "matching" uses column generation) only change
    how fast the optimum is found."""
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
