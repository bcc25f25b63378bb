"""The ledger's read side as types: the `LedgerView` protocol rules, caps and strategies read
through, the `RepStats` a view returns, and the event log as a read-only sequence or a table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING, Any, Protocol, overload

import attrs

from leadrouter._validators import amount_field, count_field, of_type, whole_number
from leadrouter.errors import InvalidValueError
from leadrouter.events import Event

if TYPE_CHECKING:
    import pandas as pd


@attrs.frozen
class RepStats:
    """A rep's outcomes in a window: leads received (assigned or claimed), first touches, first
    touches within the SLA (None when no SLA was asked for), first reached touches, leads tagged
    valid and invalid, conversions and revenue, and leads released from their book."""

    rep_id: str = attrs.field(validator=of_type(str, "'rep-1'"))
    received: int = attrs.field(validator=count_field)
    touched: int = attrs.field(validator=count_field)
    touched_within_sla: int | None = attrs.field(
        validator=whole_number(none="no SLA asked for", error=InvalidValueError)
    )
    reached: int = attrs.field(validator=count_field)
    valid: int = attrs.field(validator=count_field)
    invalid: int = attrs.field(validator=count_field)
    converted: int = attrs.field(validator=count_field)
    revenue: float = attrs.field(validator=amount_field)
    released: int = attrs.field(validator=count_field)


class _Log(Protocol):
    """What a ledger keeps its events in: a list in memory; a stored ledger opened from a
    snapshot uses a log that reads the events before the snapshot from the database on demand."""

    def append(self, event: Event, /) -> None: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Event]: ...
    @overload
    def __getitem__(self, index: int, /) -> Event: ...
    @overload
    def __getitem__(self, index: slice, /) -> Sequence[Event]: ...


class _EventLog(Sequence[Event]):
    """A read-only window on the first `size` events of the ledger's event list (no copy).

    The log only grows (a rollback starts a new list: the one read here is left as it was), so
    the window shows the same events for as long as it is kept, whatever is written later."""

    __slots__ = ("_events", "_size")

    def __init__(self, events: _Log, size: int) -> None:
        self._events = events
        self._size = size

    @overload
    def __getitem__(self, index: int) -> Event: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Event]: ...
    def __getitem__(self, index: int | slice) -> Event | Sequence[Event]:
        """An event or a slice of the window, read from the log in place: an index costs the
        same on a view the log has grown past as on a fresh one."""
        events = self._events
        if isinstance(index, slice):
            start, stop, step = index.indices(self._size)
            if step == 1:
                return events[start:stop]
            return [events[i] for i in range(start, stop, step)]
        position = index + self._size if index < 0 else index
        if not 0 <= position < self._size:
            raise IndexError(f"event index {index} out of range for {self._size} events")
        return events[position]

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Event]:
        return islice(self._events, self._size)

    def __reversed__(self) -> Iterator[Event]:
        events = self._events
        return (events[i] for i in range(self._size - 1, -1, -1))


class LedgerView(Protocol):
    """The read side of a ledger: what rules, caps and strategies may look at.

    `Ledger` is one; a strategy composed over teams sees a view whose "reps" are teams.
    """

    def __len__(self) -> int: ...
    def holder(self, lead_id: str) -> str | None: ...
    def book_size(self, rep_id: str) -> int: ...
    def contact_holder(self, contact: str) -> tuple[str, str] | None: ...
    def last_assigned(self, rep_id: str) -> datetime | None: ...
    def lru(self) -> Iterator[str]: ...
    def never_assigned(self, rep_ids: frozenset[str]) -> frozenset[str]: ...
    def count(
        self, rep_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> int: ...
    def received_total(self, since: datetime | None = None) -> int: ...
    def last_position(self, rep_id: str) -> int | None: ...
    def releases(
        self,
        rep_id: str,
        reason: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int: ...
    def stats(
        self,
        rep_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
        sla: timedelta | None = None,
    ) -> RepStats: ...


_FRAME_COLUMNS = (
    "seq",
    "event",
    "lead_id",
    "rep_id",
    "at",
    "by",
    "pool",
    "reason",
    "reached",
    "valid",
    "amount",
    "propensity",
)


def _event_frame(events: Iterable[Event]) -> pd.DataFrame:
    """`events` as a DataFrame, one row per event numbered from 0 (imports pandas on first use)."""
    import pandas as pd

    rows = [_event_row(i, event) for i, event in enumerate(events)]
    return pd.DataFrame(rows, columns=list(_FRAME_COLUMNS))


def _event_row(seq: int, event: Event) -> dict[str, Any]:
    row: dict[str, Any] = {
        "seq": seq,
        "event": type(event).__name__,
        "lead_id": event.lead_id,
        "at": event.at,
    }
    for name in ("rep_id", "by", "pool", "reason", "reached", "valid", "amount", "propensity"):
        if hasattr(event, name):
            row[name] = getattr(event, name)
    return row
