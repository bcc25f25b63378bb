"""The records the ledger folds events into, and the time-sorted series they keep.

One `_LeadState` per lead says where the lead is now; one `_RepState` per rep holds the rep's
book and, for every outcome, the times it happened in time order. Windowed views bisect those
series (`_span`), so reading a window costs the same however long the history is.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from leadrouter._util import check_aware
from leadrouter.events import PUBLIC
from leadrouter.model import Lead

POOLED, HELD, CONVERTED, INVALID = "pooled", "held", "converted", "invalid"

_ABSENT: Any = object()

BLOCKED = "blocked"
"""The tag reason for "I cannot make progress with this lead": a `Tagged` with this reason
records the verdict and the reason but never closes the lead, even with `valid=False`, so the
lead can still be escalated or re-routed (see `TieredDelay`)."""


class _LeadState:
    """Where one lead is now. One slotted object per lead keeps memory per event small."""

    __slots__ = (
        "claimed_from",
        "first_touch",
        "held_since",
        "last_holder",
        "lead",
        "placed_at",
        "pool",
        "reached",
        "rep",
        "status",
        "tag_reason",
        "verdict",
    )

    def __init__(self, lead: Lead) -> None:
        self.lead = lead
        self.status = POOLED
        self.pool: str | None = PUBLIC
        self.rep: str | None = None
        self.held_since: datetime | None = None
        self.first_touch: datetime | None = None
        self.reached = False
        self.verdict: bool | None = None
        self.last_holder: str | None = None
        self.tag_reason: str | None = None
        self.claimed_from: str | None = None
        self.placed_at = lead.arrived_at
        """When the lead got where it is now: its arrival, its entry into its pool, the start
        of its holding (what the next event on the lead acts on, see `_Fold._refuse_early`)."""


class _RepState:
    """One rep's book and time-sorted outcome series (the windows are bisected, never scanned)."""

    __slots__ = (
        "book",
        "converted",
        "invalid",
        "reached",
        "received",
        "received_ids",
        "received_starts",
        "released",
        "released_for",
        "revenue",
        "touch_delays",
        "touched",
        "valid",
    )

    def __init__(self) -> None:
        self.book: dict[str, None] = {}
        self.received: list[datetime] = []
        self.received_ids: list[str] = []
        self.received_starts = _Starts()
        self.touched: list[datetime] = []
        self.touch_delays: list[tuple[datetime, timedelta]] = []
        self.reached: list[datetime] = []
        self.valid: list[datetime] = []
        self.invalid: list[datetime] = []
        self.converted: list[tuple[datetime, float, str]] = []
        self.released: list[datetime] = []
        self.released_for: dict[str, list[datetime]] = {}
        self.revenue = 0.0


def _span(
    series: Sequence[Any],
    since: datetime | None,
    until: datetime | None,
    key: Callable[[Any], datetime] | None = None,
) -> tuple[int, int]:
    """The part of a time-sorted series dated in `[since, until)` (by `key`, for tuples whose
    first item is the time); every windowed view reads its series through this. A bound that
    is not an aware datetime is an error naming it, even when the series is empty."""
    if since is not None:
        check_aware(since, "since")
    if until is not None:
        check_aware(until, "until")
    lo = 0 if since is None else bisect_left(series, since, key=key)
    hi = len(series) if until is None else bisect_left(series, until, key=key)
    return lo, max(hi, lo)


def _window(times: list[datetime], since: datetime | None, until: datetime | None) -> int:
    lo, hi = _span(times, since, until)
    return hi - lo


_first: Callable[[Any], datetime] = itemgetter(0)


def _add_sorted(times: list[Any], item: Any) -> None:
    if not times or times[-1] <= item:
        times.append(item)
    else:
        insort(times, item)


def _add_sorted_pair(times: list[Any], item: Any, values: list[Any], value: Any) -> None:
    """Insert `item` into sorted `times` and `value` at the same index of `values`."""
    if not times or times[-1] <= item:
        times.append(item)
        values.append(value)
    else:
        index = bisect_right(times, item)
        times.insert(index, item)
        values.insert(index, value)


class _Starts:
    """`bisect_left(series, since)` for one time-sorted series that only grows, remembered per
    `since`: a strategy asks for every rep's receipts since the same midnight on every lead, and
    between two asks the series has grown by an item or so.

    A remembered index `lo` stays a lower bound however the series grew: the items before it
    were all earlier than `since`, and an insertion before it shifts one of those to `lo` (so
    `series[lo] < since` and the search goes on from `lo + 1`), while one at or after it is not
    earlier than `since`. So the answer is `lo` unless `series[lo]` is earlier: one comparison,
    none when `series[lo]` is the very item found not earlier last time. An index is reused only
    for a `since` with the same tzinfo object, fold and wall time, which compares with every item
    exactly as the one remembered did.
    """

    __slots__ = ("memo",)

    def __init__(self) -> None:
        self.memo: dict[datetime, list[Any]] = {}

    def index(self, series: list[datetime], since: datetime) -> int:
        found = self.memo.get(since)
        if found is not None and (
            found[0] is since  # the usual ask: the very bound remembered (`day_start` keeps it)
            or (found[0].tzinfo is since.tzinfo and found[0].fold == since.fold)
        ):
            lo: int = found[1]
            if lo < len(series):
                item = series[lo]
                if item is not found[2]:  # else: the very item found not earlier last time
                    if item < since:
                        lo = found[1] = bisect_left(series, since, lo + 1)
                    found[2] = series[lo] if lo < len(series) else None
            return lo
        check_aware(since, "since")  # once per bound: a remembered one was checked
        lo = bisect_left(series, since)
        if len(self.memo) >= 8:
            self.memo.clear()
        self.memo[since] = [since, lo, series[lo] if lo < len(series) else None]
        return lo
