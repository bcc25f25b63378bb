"""The ledger: the append-only record of every event, and the state folded from it.

The ledger is the source of truth. `append` validates an event against the per-lead state
machine and, only if it is valid, records it and updates every view incrementally, so a view
costs the same whether the log holds a hundred events or ten million. An invalid event raises
`TransitionError` (or a subclass) and leaves the ledger exactly as it was.

Per-lead state machine::

    (new) --Arrived--> pooled --Assigned/Claimed--> held --Released--> pooled
    pooled --Pooled--> pooled (another pool)      held --Tagged(valid=False)--> invalid (closed)
    held --Tagged(reason="blocked")--> held (a blocked lead stays open, e.g. to be escalated)
    held/invalid --Converted--> converted (closed)

A closed lead stays attributed to its rep for statistics but is in nobody's book.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, overload

import attrs

from leadrouter.errors import (
    ConfigError,
    DuplicateLeadError,
    EventBeforeArrivalError,
    InvalidValueError,
    TransitionError,
    UnknownLeadError,
)
from leadrouter.events import (
    PUBLIC,
    Arrived,
    Assigned,
    Claimed,
    Converted,
    Event,
    Pooled,
    Released,
    Tagged,
    Touched,
)
from leadrouter.model import Lead, zone

if TYPE_CHECKING:
    import pandas as pd

    from leadrouter.model import Decision

__all__ = ["BLOCKED", "Ledger", "LedgerView", "RepStats"]

POOLED, HELD, CONVERTED, INVALID = "pooled", "held", "converted", "invalid"

_ABSENT: Any = object()

_NO_TRANSACTION: AbstractContextManager[None] = nullcontext()

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


@attrs.frozen
class RepStats:
    """A rep's outcomes in a window: leads received (assigned or claimed), first touches, first
    touches within the SLA (None when no SLA was asked for), first reached touches, leads tagged
    valid and invalid, conversions and revenue, and leads released from their book."""

    rep_id: str
    received: int
    touched: int
    touched_within_sla: int | None
    reached: int
    valid: int
    invalid: int
    converted: int
    revenue: float
    released: int


def _span(
    series: Sequence[Any],
    since: datetime | None,
    until: datetime | None,
    key: Callable[[Any], datetime] | None = None,
) -> tuple[int, int]:
    """The part of a time-sorted series dated in `[since, until)` (by `key`, for tuples whose
    first item is the time); every windowed view reads its series through this."""
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
        if found is not None and found[0].tzinfo is since.tzinfo and found[0].fold == since.fold:
            lo: int = found[1]
            if lo < len(series):
                item = series[lo]
                if item is not found[2]:  # else: the very item found not earlier last time
                    if item < since:
                        lo = found[1] = bisect_left(series, since, lo + 1)
                    found[2] = series[lo] if lo < len(series) else None
            return lo
        lo = bisect_left(series, since)
        if len(self.memo) >= 8:
            self.memo.clear()
        self.memo[since] = [since, lo, series[lo] if lo < len(series) else None]
        return lo


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


_FOLDED = (
    "_leads",
    "_reps",
    "_pools",
    "_waiting",
    "_lru",
    "_last_at",
    "_by_contact",
    "_lead_releases",
    "_received_all",
    "_received_count",
    "_position",
)
"""The attributes that hold the state folded from the events (the rest are caches)."""


class _EventLog(Sequence[Event]):
    """A read-only window on the ledger's event list (no copy)."""

    __slots__ = ("_events",)

    def __init__(self, events: _Log) -> None:
        self._events = events

    @overload
    def __getitem__(self, index: int) -> Event: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Event]: ...
    def __getitem__(self, index: int | slice) -> Event | Sequence[Event]:
        return self._events[index]

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events)


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


class Ledger:
    """Append-only event log plus incrementally folded views (in memory).

    Guarantees: a lead is always in exactly one place (a pool or one rep's book); an event that
    breaks the state machine raises and changes nothing; `Ledger.from_events(ledger.events())`
    rebuilds identical views.

    `Ledger()` lives in one process's memory. `Ledger.open(url)` keeps the log in SQLite or
    PostgreSQL for many processes (see docs/stores.md); it answers the same views.
    """

    durable: ClassVar[bool] = False
    """True for a ledger whose log lives in a database shared with other processes."""

    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        """Start every view (and the log) empty, and bump `generation`."""
        self.generation: int = getattr(self, "generation", -1) + 1
        """How many times the views were started over: 0 for a new ledger, more after a stored
        ledger rebuilt them from its log (a rolled-back operation). What strategies and caps
        derive from the views (`leadrouter._memo.LedgerMemo`) is dropped when it changes."""
        self._events: _Log = []
        self._leads: dict[str, _LeadState] = {}
        self._reps: dict[str, _RepState] = {}
        self._pools: dict[str, dict[str, None]] = {PUBLIC: {}}
        self._waiting: dict[str, None] = {}
        self._waiting_order: tuple[str, ...] | None = ()
        """`waiting()` as last computed; None once the waiting set has changed since."""
        self._lru: dict[str, int] = {}
        self._last_at: dict[str, datetime] = {}
        self._by_contact: dict[str, list[str]] = {}
        self._lead_releases: dict[str, list[str]] = {}
        self._received_all: list[datetime] = []
        self._received_all_starts = _Starts()
        self._received_count = 0
        self._position: dict[str, int] = {}
        self._fresh_cache: dict[frozenset[str], tuple[int, frozenset[str]]] = {}
        self._handlers: dict[type, Callable[[Any], None]] = {
            Arrived: self._arrived,
            Assigned: self._assigned,
            Claimed: self._claimed,
            Touched: self._touched,
            Tagged: self._tagged,
            Converted: self._converted,
            Released: self._released,
            Pooled: self._pooled,
        }

    # ------------------------------------------------------------------ stores

    @classmethod
    def open(
        cls,
        url: str,
        name: str = "default",
        *,
        create: bool = True,
        lock_timeout: float = 30.0,
        retries: int = 5,
        snapshot_every: int = 50_000,
    ) -> Ledger:
        """The ledger `name` in the database at `url` (`sqlite:///path.db` or
        `postgresql://user:password@host/db`), with its views folded from the stored log.

        Several ledgers (one per team) share a database under different names, each with its
        own write lock. `create` makes the schema in an empty database (else run `leadrouter db
        upgrade URL`); `lock_timeout` bounds the wait for the write lock (LockTimeoutError);
        `retries` bounds the tries to connect, with backoff (StoreUnavailableError).
        `snapshot_every` events, the process that commits past the mark stores a snapshot of
        the folded views beside the log, and opening loads the latest good one and folds only
        the events after it (0: never write one). The log stays the truth: a snapshot from
        another leadrouter version, corrupt or not matching the log is ignored with a
        SnapshotWarning, and `verify()` recomputes the views from the log. Needs the `db` extra:
        `pip install 'leadrouter[db]'`.
        """
        try:
            from leadrouter.stores.durable import StoredLedger
        except ImportError as exc:
            raise ConfigError(
                f"Ledger.open needs SQLAlchemy and psycopg ({exc}): pip install 'leadrouter[db]'"
            ) from exc
        return StoredLedger.connect(
            url,
            name,
            create=create,
            lock_timeout=lock_timeout,
            retries=retries,
            snapshot_every=snapshot_every,
        )

    def transaction(self) -> AbstractContextManager[None]:
        """A block in which the views are current and appends commit together. In memory there
        is nothing to do: the same do-nothing context every time."""
        return _NO_TRANSACTION

    def guard(
        self, lock: AbstractContextManager[Any], roster: Callable[[], str]
    ) -> AbstractContextManager[Any]:
        """What a Router holds around each operation: its own lock (in memory), or the lock and
        one transaction in which `roster()` is checked against the ledger's (stored ledgers)."""
        return lock

    def refresh(self) -> None:
        """Fold in events other processes committed (nothing to do in memory)."""

    def note_decision(self, decision: Decision) -> None:
        """Keep a lead's first decision beside a stored log (in memory the Router keeps it)."""

    def first_decision(self, lead_id: str) -> Decision | None:
        """The first decision stored for a lead by any process (None in memory)."""
        return None

    # ------------------------------------------------------------------ writing

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> Ledger:
        """Replay `events` into a new ledger; raises at the first event that is not valid."""
        ledger = cls()
        for event in events:
            ledger.append(event)
        return ledger

    def append(self, event: Event) -> None:
        """Validate `event` against current state and record it; on error nothing changes."""
        handler = self._handlers.get(type(event))
        if handler is None:
            raise InvalidValueError(
                f"Ledger.append takes a leadrouter event, got {type(event).__name__}"
            )
        handler(event)
        self._events.append(event)

    def extend(self, events: Iterable[Event]) -> None:
        """Append events in order (each validated; stops at the first invalid one)."""
        for event in events:
            self.append(event)

    def _state(self, event: Event) -> _LeadState:
        state = self._leads.get(event.lead_id)
        if state is None:
            raise UnknownLeadError(
                f"{type(event).__name__} for lead {event.lead_id!r}, which never arrived: "
                "append Arrived(lead) (or route the lead) first"
            )
        if event.at < state.lead.arrived_at:
            raise EventBeforeArrivalError(
                f"{type(event).__name__} for lead {event.lead_id!r} is dated "
                f"{event.at.isoformat()}, before the lead arrived at "
                f"{state.lead.arrived_at.isoformat()}: check the event's time and time zone"
            )
        return state

    def _rep(self, rep_id: str) -> _RepState:
        rep = self._reps.get(rep_id)
        if rep is None:
            rep = self._reps[rep_id] = _RepState()
        return rep

    @staticmethod
    def _where(state: _LeadState) -> str:
        if state.status == HELD:
            return f"held by {state.rep!r}"
        if state.status == POOLED:
            return f"in pool {state.pool!r}"
        return f"closed ({state.status}, attributed to {state.rep!r})"

    def _require_held_by(
        self, event: Touched | Tagged | Converted | Released, state: _LeadState, closed_ok: bool
    ) -> None:
        if state.rep == event.rep_id and (state.status == HELD or closed_ok):
            return
        raise TransitionError(
            f"{type(event).__name__} of lead {event.lead_id!r} by rep {event.rep_id!r}, but the "
            f"lead is {self._where(state)}: only the rep who holds a lead can report on it"
        )

    def _arrived(self, event: Arrived) -> None:
        lead = event.lead
        previous = self._leads.get(lead.id)
        if previous is not None:
            same = "the same lead" if previous.lead == lead else "a different lead"
            raise DuplicateLeadError(
                f"lead id {lead.id!r} already arrived at {previous.lead.arrived_at.isoformat()}; "
                f"this is {same} with that id: give each lead its own id"
            )
        self._leads[lead.id] = _LeadState(lead)
        self._pools[PUBLIC][lead.id] = None
        if lead.contact:
            self._by_contact.setdefault(lead.contact, []).append(lead.id)

    def _pooled(self, event: Pooled) -> None:
        state = self._state(event)
        if state.status != POOLED:
            raise TransitionError(
                f"Pooled for lead {event.lead_id!r}, which is {self._where(state)}: "
                "only a lead nobody holds can move between pools (release it first)"
            )
        self._move_to_pool(state, event.pool, event.waiting)

    def _move_to_pool(self, state: _LeadState, pool: str, waiting: bool) -> None:
        lead_id = state.lead.id
        if state.pool is not None:
            del self._pools[state.pool][lead_id]
        self._pools.setdefault(pool, {})[lead_id] = None
        state.pool = pool
        if waiting and pool == PUBLIC:
            self._waiting[lead_id] = None
            self._waiting_order = None
        elif self._waiting.pop(lead_id, _ABSENT) is not _ABSENT:
            self._waiting_order = None

    def _take(self, event: Assigned | Claimed) -> _LeadState:
        state = self._state(event)
        if state.status != POOLED:
            raise TransitionError(
                f"{type(event).__name__} of lead {event.lead_id!r} to rep {event.rep_id!r}, but "
                f"the lead is {self._where(state)}: a lead can be in one book only"
                + (" (release it first)" if state.status == HELD else "")
            )
        assert state.pool is not None
        del self._pools[state.pool][event.lead_id]
        if self._waiting.pop(event.lead_id, _ABSENT) is not _ABSENT:
            self._waiting_order = None
        state.claimed_from = state.pool if type(event) is Claimed else None
        state.status, state.pool, state.rep = HELD, None, event.rep_id
        state.held_since, state.first_touch, state.reached = event.at, None, False
        state.tag_reason = None
        rep = self._rep(event.rep_id)
        rep.book[event.lead_id] = None
        _add_sorted_pair(rep.received, event.at, rep.received_ids, event.lead_id)
        _add_sorted(self._received_all, event.at)
        self._position[event.rep_id] = self._received_count
        self._received_count += 1
        return state

    def _assigned(self, event: Assigned) -> None:
        self._take(event)
        self._lru.pop(event.rep_id, None)
        self._lru[event.rep_id] = len(self._events)
        self._last_at[event.rep_id] = event.at

    def _claimed(self, event: Claimed) -> None:
        self._take(event)

    def _touched(self, event: Touched) -> None:
        state = self._state(event)
        self._require_held_by(event, state, closed_ok=True)
        rep = self._rep(event.rep_id)
        if state.first_touch is None and state.status == HELD:
            assert state.held_since is not None
            state.first_touch = event.at
            _add_sorted(rep.touched, event.at)
            _add_sorted(rep.touch_delays, (event.at, event.at - state.held_since))
        if event.reached and not state.reached:
            state.reached = True
            _add_sorted(rep.reached, event.at)

    def _tagged(self, event: Tagged) -> None:
        state = self._state(event)
        self._require_held_by(event, state, closed_ok=True)
        if state.status == INVALID or (state.status == CONVERTED and not event.valid):
            raise TransitionError(
                f"Tagged(valid={event.valid}) for lead {event.lead_id!r}, which is already "
                f"closed as {state.status}: a closed lead keeps its verdict"
            )
        rep = self._rep(event.rep_id)
        if state.verdict is None:
            _add_sorted(rep.valid if event.valid else rep.invalid, event.at)
        state.verdict = event.valid
        state.tag_reason = event.reason
        if not event.valid and event.reason != BLOCKED:
            state.status = INVALID
            del rep.book[event.lead_id]

    def _converted(self, event: Converted) -> None:
        state = self._state(event)
        self._require_held_by(event, state, closed_ok=True)
        if state.status == CONVERTED:
            raise TransitionError(
                f"Converted for lead {event.lead_id!r}, which already converted: record one sale "
                "per lead (add later amounts to your CRM, not the ledger)"
            )
        rep = self._rep(event.rep_id)
        if state.status == HELD:
            del rep.book[event.lead_id]
        state.status = CONVERTED
        _add_sorted(rep.converted, (event.at, event.amount, event.lead_id))
        rep.revenue += event.amount

    def _released(self, event: Released) -> None:
        state = self._state(event)
        self._require_held_by(event, state, closed_ok=False)
        rep = self._rep(event.rep_id)
        del rep.book[event.lead_id]
        _add_sorted(rep.released, event.at)
        _add_sorted(rep.released_for.setdefault(event.reason, []), event.at)
        self._lead_releases.setdefault(event.lead_id, []).append(event.reason)
        state.last_holder = event.rep_id
        state.status, state.rep, state.pool = POOLED, None, None
        state.held_since, state.first_touch, state.reached = None, None, False
        state.tag_reason = None
        self._move_to_pool(state, event.pool, waiting=False)

    # ------------------------------------------------------------------ views

    def __len__(self) -> int:
        """The number of events recorded."""
        return len(self._events)

    def __contains__(self, lead_id: object) -> bool:
        return lead_id in self._leads

    def events(self) -> Sequence[Event]:
        """Every event in the order it was appended (a read-only view, not a copy)."""
        return _EventLog(self._events)

    def lead(self, lead_id: str) -> Lead:
        """The lead with this id; UnknownLeadError if it never arrived."""
        state = self._leads.get(lead_id)
        if state is None:
            raise UnknownLeadError(f"lead {lead_id!r} never arrived in this ledger")
        return state.lead

    def lead_ids(self) -> Iterator[str]:
        """Every lead id, in order of arrival in the log."""
        return iter(self._leads)

    def holder(self, lead_id: str) -> str | None:
        """The rep whose book holds the lead now, or None (pooled, closed or unknown)."""
        state = self._leads.get(lead_id)
        return state.rep if state is not None and state.status == HELD else None

    def owner(self, lead_id: str) -> str | None:
        """The holder, or for a closed lead the rep it stays attributed to."""
        state = self._leads.get(lead_id)
        return None if state is None else state.rep

    def status(self, lead_id: str) -> str:
        """ "pooled", "held", "converted" or "invalid"; UnknownLeadError if it never arrived."""
        state = self._leads.get(lead_id)
        if state is None:
            raise UnknownLeadError(f"lead {lead_id!r} never arrived in this ledger")
        return state.status

    def pool_of(self, lead_id: str) -> str | None:
        """The pool a lead nobody holds is in, else None."""
        state = self._leads.get(lead_id)
        return None if state is None else state.pool

    def book(self, rep_id: str) -> frozenset[str]:
        """The open leads a rep holds now (closed leads are not in a book)."""
        rep = self._reps.get(rep_id)
        return frozenset(rep.book) if rep is not None else frozenset()

    def book_size(self, rep_id: str) -> int:
        """`len(book(rep_id))` without building the set."""
        rep = self._reps.get(rep_id)
        return len(rep.book) if rep is not None else 0

    def book_order(self, rep_id: str) -> tuple[str, ...]:
        """A rep's open leads in the order they entered the book."""
        rep = self._reps.get(rep_id)
        return tuple(rep.book) if rep is not None else ()

    def pool(self, name: str = PUBLIC) -> tuple[str, ...]:
        """The leads in a pool, oldest entry first."""
        return tuple(self._pools.get(name, ()))

    def pools(self) -> dict[str, int]:
        """Every pool that has ever held a lead, with how many leads it holds now."""
        return {name: len(members) for name, members in self._pools.items()}

    def waiting(self) -> tuple[str, ...]:
        """Leads left in the public pool because no rep could take them, oldest arrival first."""
        order = self._waiting_order
        if order is None:
            leads = self._leads
            order = tuple(sorted(self._waiting, key=lambda lid: leads[lid].lead.arrived_at))
            self._waiting_order = order
        return order

    def is_waiting(self, lead_id: str) -> bool:
        return lead_id in self._waiting

    def held_since(self, lead_id: str) -> datetime | None:
        """When the current holder got the lead (None when nobody holds it)."""
        state = self._leads.get(lead_id)
        return state.held_since if state is not None and state.status == HELD else None

    def claimed_from(self, lead_id: str) -> str | None:
        """The pool the current holder claimed the lead from; None when nobody holds it or the
        router assigned it. A pull strategy uses it to send a lead back where it came from."""
        state = self._leads.get(lead_id)
        return state.claimed_from if state is not None and state.status == HELD else None

    def first_touch(self, lead_id: str) -> datetime | None:
        """The current holder's first touch of the lead, if any."""
        state = self._leads.get(lead_id)
        return state.first_touch if state is not None else None

    def reached(self, lead_id: str) -> bool:
        """True once the current holder has reached the lead."""
        state = self._leads.get(lead_id)
        return state is not None and state.reached

    def tag_reason(self, lead_id: str) -> str | None:
        """The reason of the current holder's latest tag on the lead ("" for a tag without one);
        None when nobody holds it or its holder has not tagged it. A closed lead keeps the
        reason of its last tag."""
        state = self._leads.get(lead_id)
        return None if state is None else state.tag_reason

    def held(self) -> Iterator[tuple[str, str, datetime]]:
        """(lead id, rep id, held since) for every lead held now."""
        for rep_id, rep in self._reps.items():
            for lead_id in rep.book:
                since = self._leads[lead_id].held_since
                assert since is not None
                yield lead_id, rep_id, since

    def last_holder(self, lead_id: str) -> str | None:
        """The rep who last lost this lead by a release (None if it was never released)."""
        state = self._leads.get(lead_id)
        return None if state is None else state.last_holder

    def lead_releases(self, lead_id: str) -> tuple[str, ...]:
        """The reasons of every release of this lead, oldest first."""
        return tuple(self._lead_releases.get(lead_id, ()))

    def releases(
        self,
        rep_id: str,
        reason: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """How many leads were released from the rep's book in `[since, until)`, for one
        `reason` (e.g. "sla", "idle") or for any."""
        rep = self._reps.get(rep_id)
        if rep is None:
            return 0
        times = rep.released if reason is None else rep.released_for.get(reason, [])
        return _window(times, since, until)

    def last_release(self, rep_id: str, reason: str) -> datetime | None:
        """When a lead was last released from the rep's book for `reason`."""
        rep = self._reps.get(rep_id)
        times = rep.released_for.get(reason) if rep is not None else None
        return times[-1] if times else None

    def contact_holder(self, contact: str) -> tuple[str, str] | None:
        """(lead id, rep id) of a lead with this contact that someone holds now, if any."""
        for lead_id in reversed(self._by_contact.get(contact, ())):
            state = self._leads[lead_id]
            if state.status == HELD:
                assert state.rep is not None
                return lead_id, state.rep
        return None

    def reps(self) -> frozenset[str]:
        """Every rep that has appeared in an event."""
        return frozenset(self._reps)

    def last_assigned(self, rep_id: str) -> datetime | None:
        """When the router last assigned a lead to this rep (claims do not count)."""
        return self._last_at.get(rep_id)

    def lru(self) -> Iterator[str]:
        """Reps that have been assigned a lead, least recently assigned first (by event order)."""
        return iter(self._lru)

    def never_assigned(self, rep_ids: frozenset[str]) -> frozenset[str]:
        """The reps among `rep_ids` that have never been assigned a lead.

        Cached per set until another rep gets a first assignment, so a router asking for the
        same eligible set on every lead pays a dictionary lookup, not a set difference.
        """
        cached = self._fresh_cache.get(rep_ids)
        if cached is not None and cached[0] == len(self._lru):
            return cached[1]
        fresh = rep_ids.difference(self._lru)
        if len(self._fresh_cache) > 256:
            self._fresh_cache.clear()
        self._fresh_cache[rep_ids] = (len(self._lru), fresh)
        return fresh

    def received_total(self, since: datetime | None = None) -> int:
        """Leads received by any rep (assigned or claimed), dated `since` or later."""
        if since is None:
            return len(self._received_all)
        series = self._received_all
        return len(series) - self._received_all_starts.index(series, since)

    def last_position(self, rep_id: str) -> int | None:
        """How many receipts (by anyone) came before the rep's latest one; None if none.

        `received_total() - 1 - last_position(rep)` is how many leads others received since
        the rep last got one: the rep's gap, used by deficit strategies to pace catch-up.
        """
        return self._position.get(rep_id)

    def count(
        self, rep_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> int:
        """Leads the rep received (assigned or claimed) with `since <= at < until`."""
        rep = self._reps.get(rep_id)
        if rep is None:
            return 0
        if since is not None and until is None:
            return len(rep.received) - rep.received_starts.index(rep.received, since)
        return _window(rep.received, since, until)

    def stats(
        self,
        rep_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
        sla: timedelta | None = None,
    ) -> RepStats:
        """A rep's outcome counts for events dated in `[since, until)`.

        `touched_within_sla` counts first touches that came at most `sla` after the rep got the
        lead (None when `sla` is not given).
        """
        rep = self._reps.get(rep_id) or _RepState()
        within: int | None = None
        if sla is not None:
            lo, hi = _span(rep.touch_delays, since, until, _first)
            delays = rep.touch_delays[lo:hi]
            within = sum(1 for _, delay in delays if delay <= sla)
        lo, hi = _span(rep.converted, since, until, _first)
        sales = rep.converted[lo:hi]
        return RepStats(
            rep_id=rep_id,
            received=_window(rep.received, since, until),
            touched=_window(rep.touched, since, until),
            touched_within_sla=within,
            reached=_window(rep.reached, since, until),
            valid=_window(rep.valid, since, until),
            invalid=_window(rep.invalid, since, until),
            converted=len(sales),
            revenue=sum(sale[1] for sale in sales),
            released=_window(rep.released, since, until),
        )

    def conversions(
        self, rep_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[tuple[datetime, str, float]]:
        """The rep's sales dated in `[since, until)` as (at, lead id, amount), oldest first.

        For measures that weigh each sale by its lead (e.g. by `Lead.grade`, via `lead()`);
        bisected like `stats`, so the cost is the number of sales in the window.
        """
        rep = self._reps.get(rep_id)
        if rep is None:
            return []
        lo, hi = _span(rep.converted, since, until, _first)
        return [(at, lead_id, amount) for at, amount, lead_id in rep.converted[lo:hi]]

    def receipts(
        self, rep_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[tuple[datetime, str]]:
        """The leads the rep received (assigned or claimed) in `[since, until)` as (at, lead id),
        oldest first.

        For measures that look at each received lead (e.g. conversion by `Lead.segment`, via
        `lead()`); bisected like `count`, so the cost is the number of leads in the window.
        """
        rep = self._reps.get(rep_id)
        if rep is None:
            return []
        lo, hi = _span(rep.received, since, until)
        return list(zip(rep.received[lo:hi], rep.received_ids[lo:hi], strict=True))

    def daily(self, rep_id: str, tz: str = "UTC", metric: str = "received") -> dict[date, int]:
        """A rep's daily series of `metric` ("received", "touched", "reached", "valid",
        "invalid", "converted", "released"), days counted in time zone `tz`."""
        rep = self._reps.get(rep_id)
        if metric not in _RepState.__slots__ or metric in (
            "book",
            "revenue",
            "touch_delays",
            "released_for",
            "received_ids",
            "received_starts",
        ):
            raise InvalidValueError(
                f"unknown metric {metric!r}: use received, touched, reached, valid, invalid, "
                "converted or released"
            )
        if rep is None:
            return {}
        series: list[Any] = getattr(rep, metric)
        tzinfo = zone(tz)
        out: dict[date, int] = {}
        for item in series:
            at = item[0] if isinstance(item, tuple) else item
            day = at.astimezone(tzinfo).date()
            out[day] = out.get(day, 0) + 1
        return out

    def counts_between(
        self, rep_id: str, edges: Sequence[datetime], metric: str = "received"
    ) -> list[int]:
        """How many of the rep's `metric` events ("received", "touched", "reached", "valid",
        "invalid", "released") are dated in each `[edges[i], edges[i + 1])`; `edges` ascending.

        One bisect per edge, so a daily series over a window costs as many bisects as days,
        however long the history (DynamicCaps reads every rep's series this way once a day).
        """
        if metric not in ("received", "touched", "reached", "valid", "invalid", "released"):
            raise InvalidValueError(
                f"unknown metric {metric!r}: use received, touched, reached, valid, invalid or "
                "released"
            )
        rep = self._reps.get(rep_id)
        if rep is None:
            return [0] * max(len(edges) - 1, 0)
        times: list[datetime] = getattr(rep, metric)
        cuts = [bisect_left(times, edge) for edge in edges]
        return [cuts[i + 1] - cuts[i] for i in range(len(cuts) - 1)]

    def snapshot(self) -> dict[str, Any]:
        """Every view as plain data, for comparing two ledgers (e.g. a replay with its source)."""
        return {
            "leads": {
                lid: (
                    s.status,
                    s.rep,
                    s.pool,
                    s.held_since,
                    s.first_touch,
                    s.reached,
                    s.verdict,
                    s.last_holder,
                    self.lead_releases(lid),
                )
                for lid, s in self._leads.items()
            },
            "books": {rid: set(r.book) for rid, r in self._reps.items() if r.book},
            "pools": {name: list(members) for name, members in self._pools.items() if members},
            "waiting": set(self._waiting),
            "lru": list(self._lru),
            "stats": {rid: self.stats(rid) for rid in self._reps},
        }

    def verify(self) -> list[str]:
        """Recompute every view from the log and say where the views held differ: one line per
        difference, none when they agree. A stored ledger reads its log from the database, so
        this checks what this process answers against what the database records."""
        self.refresh()
        replayed = self._replay().snapshot()
        held = self.snapshot()
        drift: list[str] = []
        for view, expected in replayed.items():
            found = held[view]
            if found == expected:
                continue
            if isinstance(expected, dict) and isinstance(found, dict):
                keys = sorted({*expected, *found}, key=str)
                wrong = [k for k in keys if expected.get(k, _ABSENT) != found.get(k, _ABSENT)]
                shown = ", ".join(map(repr, wrong[:10])) + (" ..." if len(wrong) > 10 else "")
                drift.append(f"{view}: {len(wrong)} entries differ from the log ({shown})")
            else:
                drift.append(f"{view}: {found!r} held, {expected!r} from the log")
        return drift

    def _replay(self) -> Ledger:
        """A new in-memory ledger folded from this ledger's log."""
        return Ledger.from_events(self._events)

    def _export_state(self) -> dict[str, Any]:
        """The folded state (every view, no cache, not the events) as live objects, for a
        stored snapshot to serialise at once; `_import_state` puts it back."""
        state = {name: getattr(self, name) for name in _FOLDED}
        state["events"] = len(self._events)
        return state

    def _import_state(self, state: dict[str, Any], log: _Log) -> None:
        """Replace every view with `state` from `_export_state` (of a ledger folded from the
        events in `log`); caches start empty."""
        self._clear()
        for name in _FOLDED:
            setattr(self, name, state[name])
        for rep in self._reps.values():
            rep.received_starts = _Starts()
        self._waiting_order = None
        self._events = log

    def to_frame(self) -> pd.DataFrame:
        """The event log as a DataFrame, one row per event (imports pandas on first use)."""
        import pandas as pd

        rows = [_event_row(i, event) for i, event in enumerate(self._events)]
        columns = [
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
        ]
        return pd.DataFrame(rows, columns=columns)


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
