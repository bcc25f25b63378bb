"""Deficit allocation without re-reading the ledger per rep: the built-in weighted strategies'
`route`, which decides exactly as `Weighted.route` does.

`Weighted.route` is the rule as written: on every lead it reads each eligible rep's receipt
count and last position from the ledger and computes every rep's priority in Python. With 200
reps that costs several EqualRotation decisions. `FastWeighted.route` returns the same Pick —
the same rep, the same scores to the last bit, the same reason — and per lead it:

- reads the ledger a few times, not once per rep: each rep's count and last position, and the
  period's receipt total, are kept per ledger and period, and after the lead it routed, the
  ledger has normally gained exactly that one receipt (checked with one `last_position`).
  Receipts it cannot attribute (a claim, another router, a hand-over) make it re-read the reps
  of the next eligible set, as `Weighted.route` does on every lead;
- computes an eligible set's shares once per set and weight table;
- computes the priorities of the whole set at once with numpy, with the same operations on the
  same operands in the same order as `Weighted.route`. Each is one IEEE-754 operation, rounded
  as Python rounds it, so every priority equals the plain one bit for bit;
- hands the scores over as a mapping that makes its floats when first read (`LazyScores`).

The first lead on a ledger view in a period takes the plain path and starts the state; so does
every lead on a view that lives for one call (Hierarchical's team view). tests/test_weighted.py
checks that both paths give equal decisions on random workloads.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from leadrouter._memo import LedgerMemo
from leadrouter._util import FrozenMap, stable_key
from leadrouter.caps import period_start
from leadrouter.context import Context
from leadrouter.ledger import LedgerView
from leadrouter.strategies.base import Pick
from leadrouter.strategies.base import new_pick as _new_pick
from leadrouter.strategies.weighted import Weighted, pick_reason, share_words

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["FastWeighted", "LazyScores"]

_MAX_PLANS = 512


class LazyScores(FrozenMap[float]):
    """Per-rep scores kept as the names and a numpy array of their values, turned into a dict
    of Python floats (the same values, `ndarray.tolist()` being exact) the first time they are
    read. `values[order[i]]` is the score of `names[i]`, so the dict lists the reps in the order
    given, whatever order the values were computed in. It is a FrozenMap in every other
    respect, and pickles as a plain one."""

    __slots__ = ("_names", "_order", "_values")

    def __init__(
        self, names: tuple[str, ...], values: NDArray[np.float64], order: NDArray[np.intp]
    ) -> None:
        self._names = names
        self._values = values
        self._order = order
        self._hash = None

    def _filled(self) -> dict[str, float]:
        try:
            return self._data
        except AttributeError:
            values = self._values[self._order].tolist()
            data: dict[str, float] = dict(zip(self._names, values, strict=True))
            self._data = data
            return data

    def __getitem__(self, key: str) -> float:
        return self._filled()[key]

    def get(self, key: str, /, default: Any = None) -> Any:
        """`FrozenMap.get`, which reads the dict directly: here it is made first."""
        return self._filled().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._filled()

    def __iter__(self) -> Iterator[str]:
        return iter(self._filled())

    def __len__(self) -> int:
        return len(self._names)

    def __hash__(self) -> int:
        self._filled()
        return super().__hash__()

    def __eq__(self, other: object) -> bool:
        return FrozenMap(self._filled()) == other

    def __repr__(self) -> str:
        return repr(self._filled())

    def __reduce__(self) -> tuple[Any, ...]:
        return FrozenMap, (self._filled(),)


class _Plan:
    """One eligible set under one weight table and tie-break seed: the reps with a positive
    weight, their weights, shares and slots, in the order `Weighted.route` breaks ties in
    (higher weight first, then the seeded key). Held in that order, the first of several equal
    priorities is the one the plain path picks, so `argmax` (which returns the first) settles
    a tie at the top with no further work. `listed` keeps the reps in the set's own order
    (`Weighted.route`'s, which the scores mapping lists them in) and `order` where each is.
    `words` holds the start of each rep's reason (`share_words`) and its end (`; ` and the
    strategy's `_note`, or nothing), worded when the rep is first picked."""

    __slots__ = (
        "epoch",
        "key",
        "listed",
        "names",
        "ones",
        "order",
        "seed",
        "share_list",
        "shares",
        "slot_list",
        "slots",
        "source",
        "words",
    )

    def __init__(
        self,
        key: object,
        source: object,
        seed: int,
        positive: list[tuple[str, float]],
        tally: _Tally,
    ) -> None:
        import numpy as np

        self.key = key
        self.source = source
        self.seed = seed
        self.listed = tuple(rep for rep, _ in positive)
        positive = sorted(positive, key=lambda item: (-item[1], stable_key(seed, item[0])))
        self.names = tuple(rep for rep, _ in positive)
        place = {rep: i for i, rep in enumerate(self.names)}
        self.order = np.array([place[rep] for rep in self.listed], dtype=np.intp)
        total = math.fsum(w for _, w in positive)  # as Weighted.route: exact, whatever the order
        self.share_list = [w / total for _, w in positive]
        self.shares = np.array(self.share_list, dtype=np.float64)
        self.slot_list = [tally.slot(rep) for rep in self.names]
        self.slots = np.array(self.slot_list, dtype=np.intp)
        self.ones = np.ones(len(self.names))
        self.words: list[tuple[str, str] | None] = [None] * len(self.names)
        self.epoch = -1


class _Tally:
    """Per ledger view and period: each rep's receipts since the period start and last
    position (-1: none yet), as of `seen` receipts in the ledger, for every rep whose slot was
    read in the current `epoch`. They are whole numbers held as floats (exactly, far below
    2**53), so the priorities mix no integer arrays into float ones: the same values, with no
    conversion on every lead; `known` holds the same receipt counts as ints, for the reason
    and the period's total, which then read no numpy scalar. It also holds the priorities'
    constants (1, 0.5 and the strategy's `catch_up`) as 0-d arrays, and the ufuncs they are
    computed with (`_decide` runs without an import)."""

    __slots__ = (
        "catch_up",
        "clamped",
        "counts",
        "epoch",
        "expect",
        "floor",
        "half",
        "known",
        "lasts",
        "numbers",
        "one",
        "period_total",
        "plans",
        "read",
        "seen",
        "slots",
        "ufuncs",
    )

    def __init__(self, catch_up: float) -> None:
        import numpy as np

        # the constants of the priorities as 0-d arrays: numpy combines an array with a 0-d
        # array faster than with a Python float (0.38 against 0.55 µs for 160 floats), and the
        # result is the same IEEE-754 operation
        self.one, self.half, self.catch_up = np.array(1.0), np.array(0.5), np.array(catch_up)
        # the numbers of one lead (n + 1, the ledger's receipts - 1, and the flow), written
        # into 0-d arrays on each lead for the same reason: setting one costs 0.03 µs
        self.numbers = np.zeros(()), np.zeros(()), np.zeros(())
        self.ufuncs = np.subtract, np.multiply, np.add, np.maximum, np.minimum
        self.slots: dict[str, int] = {}
        self.counts = np.zeros(64)
        self.lasts = np.full(64, -1.0)
        self.floor = -1.0
        self.clamped = np.full(64, -1.0)
        self.read: list[int] = []
        self.known: list[int] = []
        self.seen = -1
        self.period_total = -1
        self.epoch = 0
        self.expect: str | None = None
        self.plans: dict[frozenset[str], _Plan] = {}

    def slot(self, rep: str) -> int:
        found = self.slots.get(rep)
        if found is None:
            import numpy as np

            found = self.slots[rep] = len(self.slots)
            self.read.append(-1)
            self.known.append(0)
            if found == len(self.counts):
                grow = len(self.counts)
                self.counts = np.concatenate([self.counts, np.zeros(grow)])
                self.lasts = np.concatenate([self.lasts, np.full(grow, -1.0)])
                self.clamped = np.concatenate([self.clamped, np.full(grow, self.floor)])
        return found

    def sync(self, view: LedgerView, since: datetime | None, plan: _Plan) -> None:
        """Bring the plan's reps up to date with the ledger.

        When the ledger gained one receipt and it is the expected rep's (the one this strategy
        picked last), only that rep changed, and the period's receipts (`period_total`, read
        from the ledger when unknown) grew by one if that rep's count did. Otherwise the epoch
        moves on, and each rep is re-read when a plan holding them is next used: a rep whose
        last position has not moved has received nothing since it was read, so only the others
        are counted again."""
        everything = view.received_total()
        if everything != self.seen:
            expect = self.expect
            if (
                everything == self.seen + 1
                and expect is not None
                and view.last_position(expect) == self.seen
            ):
                slot = self.slots[expect]
                counted = view.count(expect, since)
                if self.period_total >= 0 and self.read[slot] == self.epoch:
                    self.period_total += counted - self.known[slot]
                else:
                    self.period_total = -1
                seen, floor = self.seen, self.floor
                self.lasts[slot] = seen
                self.clamped[slot] = seen if seen > floor else floor
                self.counts[slot] = self.known[slot] = counted
                self.read[slot] = self.epoch
            else:
                self.epoch += 1
                self.period_total = -1
            self.seen = everything
        self.expect = None
        epoch = self.epoch
        if plan.epoch != epoch:
            lasts, clamped, counts, read = self.lasts, self.clamped, self.counts, self.read
            known = self.known
            floor = self.floor
            for rep, slot in zip(plan.names, plan.slot_list, strict=True):
                if read[slot] == epoch:
                    continue
                last = view.last_position(rep)
                at = -1 if last is None else last
                if read[slot] < 0 or at != lasts[slot]:
                    lasts[slot] = at
                    clamped[slot] = max(at, floor)
                    counts[slot] = known[slot] = view.count(rep, since)
                read[slot] = epoch
            plan.epoch = epoch


@attrs.frozen(repr=False)
class FastWeighted(Weighted):
    """`Weighted` with the fast `route` described in the module docstring.

    A subclass gives `_table_key` (a value that stays the same, or equal, exactly while the
    weights `weights(ctx)` would give for the same eligible set and ledger view do: the plan
    cache's key); it may give
    `_weight_table` (the weights as one object, which `_note` reads; `weights(ctx)` by default)
    and `_note` (words appended to the reason of a pick, which depend on the table and the rep
    alone: the fast path asks once per eligible set and rep)."""

    _fast: LedgerMemo[_Tally] = attrs.field(
        factory=LedgerMemo, init=False, eq=False, repr=False, hash=False
    )

    def _table_key(self, ctx: Context) -> object:
        raise NotImplementedError

    def _weight_table(self, ctx: Context) -> object:
        return self.weights(ctx)

    def _note(self, table: object, rep_id: str) -> str:
        return ""

    def _noted(self, ctx: Context, pick: Pick | None) -> Pick | None:
        """`pick` with `_note` appended to its reason (the plain path's last step)."""
        if pick is None or pick.rep_id is None:
            return pick
        note = self._note(self._weight_table(ctx), pick.rep_id)
        if not note:
            return pick
        return Pick(
            pick.rep_id,
            scores=pick.scores,
            reason=f"{pick.reason}; {note}",
            propensity=pick.propensity,
            pool=pick.pool,
        )

    def route(self, ctx: Context) -> Pick | None:
        ids = ctx.ids
        if not ids:
            return None
        view = ctx.view
        since = period_start(ctx.now, self.period, self.tz)
        tally = self._fast.get(view, since)
        if tally is None:
            self._fast.put(view, _Tally(self.catch_up), since)
            return self._noted(ctx, Weighted.route(self, ctx))
        key = self._table_key(ctx)
        plan = tally.plans.get(ids)
        if plan is None or (plan.key is not key and plan.key != key) or plan.seed != ctx.seed:
            source = self._weight_table(ctx)
            positive = self.positive(ctx, ids)
            if not positive:
                return Pick(
                    None, reason=f"every eligible rep has a target share of 0 ({self.name})"
                )
            if len(tally.plans) >= _MAX_PLANS:
                tally.plans.clear()
            plan = tally.plans[ids] = _Plan(key, source, ctx.seed, positive, tally)
        tally.sync(view, since, plan)
        return self._decide(ctx, view, since, tally, plan)

    def _decide(
        self, ctx: Context, view: LedgerView, since: datetime | None, tally: _Tally, plan: _Plan
    ) -> Pick | None:
        everything = tally.seen
        period_total = tally.period_total
        if period_total < 0:
            period_total = tally.period_total = view.received_total(since)
        # Weighted.route's gap, min(everything - 1 - last, period_total), is everything - 1 -
        # max(last, floor) with floor the position just before the period's first receipt;
        # `clamped` holds max(last, floor), so the gap costs one subtraction
        floor = float(everything - period_total - 1)
        subtract, multiply, add, maximum, minimum = tally.ufuncs
        if floor != tally.floor:
            tally.floor = floor
            tally.clamped = maximum(tally.lasts, floor)
        slots = plan.slots
        counts = tally.counts[slots]
        # the counts are whole numbers far below 2**53, so every partial sum is exact in any
        # order: a dot product with ones is the exact total, at a third of a reduction's cost
        n = int(counts.dot(plan.ones))
        arrived, gone, flow = tally.numbers
        arrived[()] = n + 1
        gone[()] = everything - 1
        flow[()] = n / period_total if period_total else 1.0
        shares = plan.shares
        # Weighted.route's arithmetic, operation for operation, each result written over an
        # array this lead made and no longer needs (an allocation saved per step; the scores
        # keep `deficit`, which is new on every lead)
        deficit = multiply(shares, arrived)
        subtract(deficit, counts, deficit)
        gap = tally.clamped[slots]
        subtract(gone, gap, gap)
        multiply(flow, gap, gap)
        add(gap, tally.one, gap)
        multiply(shares, gap, gap)
        on_schedule = subtract(gap, tally.half, gap)
        low = subtract(on_schedule, tally.catch_up)
        high = add(on_schedule, tally.catch_up, on_schedule)
        # Weighted.route's clip (below low: low; else above high: high), as max then min: the
        # same floats, as no value here is NaN or a negative zero and low < high
        priority = minimum(maximum(deficit, low, out=deficit), high, out=deficit)
        best = int(priority.argmax())  # the first of equal priorities: the plan's tie order
        names = plan.names
        if not ctx.can_take(names[best]):
            values = priority.tolist()
            ranked = sorted(range(len(names)), key=lambda i: -values[i])  # stable: tie order
            best = next((i for i in ranked if ctx.can_take(names[i])), -1)
            if best < 0:
                return None
        rep = names[best]
        tally.expect = rep
        worded = plan.words[best]
        if worded is None:
            note = self._note(plan.source, rep)
            worded = plan.words[best] = (
                share_words(plan.share_list[best], self.period),
                f"; {note}" if note else "",
            )
        words, end = worded
        reason = pick_reason(words, tally.known[plan.slot_list[best]], n)
        return _new_pick(
            rep,
            LazyScores(plan.listed, priority, plan.order),
            reason + end if end else reason,
            None,
            None,
        )
