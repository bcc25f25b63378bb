"""The event log and the per-lead state machine that folds each event into the views.

This is the write side of `Ledger` (the package docstring draws the state machine): `append`
checks an event against the lead's record and raises before changing anything, then updates
every record the event touches, so the views stay current at the cost of one event, whatever
the length of the log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Self

from leadrouter._util import earlier, instant
from leadrouter.errors import (
    DuplicateLeadError,
    EventBeforeArrivalError,
    EventOutOfOrderError,
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
from leadrouter.ledger._state import (
    _ABSENT,
    BLOCKED,
    CONVERTED,
    HELD,
    INVALID,
    POOLED,
    _add_sorted,
    _add_sorted_pair,
    _LeadState,
    _RepState,
    _Starts,
)
from leadrouter.ledger._types import _Log
from leadrouter.model import Lead

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

CLOCK_SKEW = timedelta(minutes=2)
"""How much earlier than the event it acts on an event may be dated: the clocks of two workers
(or of the CRM and a worker) disagree by this much at most. A touch, tag, sale or release dated
earlier than the holding it acts on began, or a claim or assignment dated earlier than the lead
entered its pool, by more than this is an `EventOutOfOrderError`. A constant, not a setting:
every process folding one log must accept the same events (docs/stores.md)."""

_REPORTS = frozenset({Touched, Tagged, Converted})
"""The events a CRM reports, which `append` records once however often they are sent."""


class _Fold:
    """The event log and the state folded from it; `Ledger` adds the views and the store hooks.

    The folded state is the attributes `_FOLDED` names; `_clear`, `_export_state` and
    `_import_state` start it empty, hand it out and put it back whole (a stored ledger rebuilding
    its views from its log, or loading a snapshot). The other attributes are the log, the event
    handlers and the views' indexes, which start empty with the state.
    """

    _in_order_only: bool = True
    """Whether `append` refuses an event dated before the one it acts on (`_refuse_early`); a
    stored ledger folding rows already in its log turns it off (they were checked when written,
    or written by a leadrouter that did not check)."""

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
        self._instants: tuple[Any, ...] = (None, None, None, None)
        """The last event's time and its lead's `placed_at`, each with its `instant` (`_state`)."""
        self._reported: set[Event] = set()
        """Every touch, tag and sale recorded, so one sent again is recognised (`append`). Not
        in `_FOLDED`: a stored ledger's snapshot need not carry it, as its database already
        keeps a report from being stored twice (the idempotency key)."""
        cls = type(self)
        self._handlers: dict[type, Callable[[Any, Any], None]] = {
            Arrived: cls._arrived,
            Assigned: cls._assigned,
            Claimed: cls._claimed,
            Touched: cls._touched,
            Tagged: cls._tagged,
            Converted: cls._converted,
            Released: cls._released,
            Pooled: cls._pooled,
        }
        """Each event's handler, the class's function (called with the ledger): bound methods
        of this ledger held in its own table would make every ledger a reference cycle, left
        for the garbage collector instead of freed when dropped."""

    @classmethod
    def from_events(cls, events: Iterable[Event], *, in_order: bool = True) -> Self:
        """Replay `events` into a new ledger; raises at the first event that is not valid.

        `in_order=False` takes each event's date as given, where `append` refuses one dated more
        than `CLOCK_SKEW` before the event it acts on: for a history imported from a system
        whose clocks disagreed (a touch logged before the assignment it follows). Every other
        check still applies, and the dates are kept as they are, never moved."""
        ledger = cls()
        with ledger._dates_as_given(not in_order):
            for event in events:
                ledger.append(event)
        return ledger

    @contextmanager
    def _dates_as_given(self, given: bool = True) -> Iterator[None]:
        """Within it (when `given`), `append` does not refuse an event dated before the one it
        acts on; the setting before it is restored after it, also when it nests."""
        if not given:
            yield
            return
        before = self.__dict__.get("_in_order_only")
        self._in_order_only = False
        try:
            yield
        finally:
            if before is None:
                del self._in_order_only
            else:
                self._in_order_only = before

    def append(self, event: Event) -> None:
        """Validate `event` against current state and record it; on error nothing changes.

        A touch, tag or sale equal to one already recorded (the CRM's webhook sent it twice)
        is not recorded again, as the SQL stores do with their idempotency keys: a retried
        report neither counts a second touch nor fails as a second sale (a report is noted
        first, which hashes it once, and forgotten again when it is refused)."""
        kind = type(event)
        handler = self._handlers.get(kind)
        if handler is None:
            raise InvalidValueError(
                f"Ledger.append takes a leadrouter event, got {type(event).__name__}"
            )
        if kind in _REPORTS:
            reported = self._reported
            known = len(reported)
            reported.add(event)
            if len(reported) == known:
                return
            try:
                handler(self, event)
            except BaseException:
                reported.discard(event)
                raise
        else:
            handler(self, event)
        self._events.append(event)

    def extend(self, events: Iterable[Event]) -> None:
        """Append events in order (each validated; stops at the first invalid one)."""
        for event in events:
            self.append(event)

    def _state(self, event: Event) -> tuple[_LeadState, bool]:
        """The record of the event's lead, and whether the event is dated more than CLOCK_SKEW
        before the lead got where it is now (`placed_at`), which `_refuse_early` refuses once the
        transition is known to be allowed (a wrong transition is the error to report first).

        Raises UnknownLeadError for a lead that never arrived and EventBeforeArrivalError for an
        event dated before the lead arrived. The event's instant and the placement's are worked
        out once (`instant`) and serve both checks; the arrival's only when the event is before
        the placement: every placement passed this check, so a lead is never placed before it
        arrived, and an event not before its placement is not before its arrival. The last
        event's two instants are remembered by identity (a datetime never changes): a touch,
        its tag and its sale, reported at one time, work them out once."""
        state = self._leads.get(event.lead_id)
        if state is None:
            raise UnknownLeadError(
                f"{type(event).__name__} for lead {event.lead_id!r}, which never arrived: "
                "append Arrived(lead) (or route the lead) first"
            )
        at, placed = event.at, state.placed_at
        if at is placed:
            return state, False
        last = self._instants
        at_utc = last[1] if at is last[0] else instant(at)
        placed_utc = last[3] if placed is last[2] else instant(placed)
        self._instants = (at, at_utc, placed, placed_utc)
        if at_utc < placed_utc and earlier(at, state.lead.arrived_at):
            raise EventBeforeArrivalError(
                f"{type(event).__name__} for lead {event.lead_id!r} is dated "
                f"{event.at.isoformat()}, before the lead arrived at "
                f"{state.lead.arrived_at.isoformat()}: check the event's time and time zone"
            )
        return state, at_utc + CLOCK_SKEW < placed_utc

    def _elapsed(self, at: datetime, since: datetime) -> timedelta:
        """Real time from `since` to `at` (`instant`: a lead held at 01:50 EST and touched at
        03:10 EDT waited twenty minutes, not the eighty its wall clocks show), from the instants
        `_state` just worked out for the event when they are these times."""
        last_at, last_at_utc, placed, placed_utc = self._instants
        at_utc: datetime = last_at_utc if at is last_at else instant(at)
        since_utc: datetime = placed_utc if since is placed else instant(since)
        return at_utc - since_utc

    def _refuse_early(self, event: Event, state: _LeadState) -> None:
        """Refuse `event`, which `_state` found dated more than CLOCK_SKEW before the lead got
        where it is (the start of its holding, or its entry into its pool: what a holding's
        events and a take act on), so the log never says a lead was touched, sold or given back
        before it was held, or taken before it was free; unless dates are taken as given
        (`_in_order_only` off). Called only for such an event: the usual one pays no call."""
        if self._in_order_only:
            since = state.placed_at
            what = (
                f"the lead entered pool {state.pool!r}"
                if state.status == POOLED
                else f"rep {state.rep!r} got the lead"
            )
            raise EventOutOfOrderError(
                f"{type(event).__name__} for lead {event.lead_id!r} is dated "
                f"{event.at.isoformat()}, before {what} at {since.isoformat()} (more than "
                f"{CLOCK_SKEW} earlier, the clock skew allowed): check the clock of the process "
                "that dated it, and the event's time zone"
            )

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
        self,
        event: Touched | Tagged | Converted | Released,
        placed: tuple[_LeadState, bool],
        closed_ok: bool,
    ) -> _LeadState:
        """The lead's record (`placed`, from `_state`) when the event's rep holds the lead (or,
        `closed_ok`, it closed in their book) and the event is not dated before the holding
        began (`_refuse_early`: the lead was placed when the holding began, and stayed there)."""
        state, early = placed
        if state.rep == event.rep_id and (state.status == HELD or closed_ok):
            if early:
                self._refuse_early(event, state)
            return state
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
        self._new_lead(lead)
        self._pools[PUBLIC][lead.id] = None

    def _new_lead(self, lead: Lead) -> _LeadState:
        """The state of a lead that has just arrived, filed by id and by contact."""
        state = self._leads[lead.id] = _LeadState(lead)
        if lead.contact:
            self._by_contact.setdefault(lead.contact, []).append(lead.id)
        return state

    def _pooled(self, event: Pooled) -> None:
        state, early = self._state(event)
        if state.status != POOLED:
            raise TransitionError(
                f"Pooled for lead {event.lead_id!r}, which is {self._where(state)}: "
                "only a lead nobody holds can move between pools (release it first)"
            )
        if early:
            self._refuse_early(event, state)
        self._move_to_pool(state, event.pool, event.waiting, event.at)

    def _move_to_pool(self, state: _LeadState, pool: str, waiting: bool, at: datetime) -> None:
        """Put the lead in `pool` from `at` (where the next event on it must not be earlier)."""
        lead_id = state.lead.id
        state.placed_at = at
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
        state, early = self._state(event)
        if state.status != POOLED:
            raise TransitionError(
                f"{type(event).__name__} of lead {event.lead_id!r} to rep {event.rep_id!r}, but "
                f"the lead is {self._where(state)}: a lead can be in one book only"
                + (" (release it first)" if state.status == HELD else "")
            )
        assert state.pool is not None
        if early:
            self._refuse_early(event, state)
        del self._pools[state.pool][event.lead_id]
        if self._waiting.pop(event.lead_id, _ABSENT) is not _ABSENT:
            self._waiting_order = None
        state.claimed_from = state.pool if type(event) is Claimed else None
        state.first_touch, state.reached, state.tag_reason = None, False, None
        self._hold(state, event.rep_id, event.at)
        return state

    def _hold(self, state: _LeadState, rep_id: str, at: datetime) -> None:
        """Put a lead that is in no pool into `rep_id`'s book at `at`: the lead's holder and
        the rep's book and receipts (what an Assigned and a Claimed both change)."""
        state.status, state.pool, state.rep, state.held_since = HELD, None, rep_id, at
        state.placed_at = at
        rep = self._reps.get(rep_id) or self._rep(rep_id)
        lead_id = state.lead.id
        rep.book[lead_id] = None
        received = rep.received
        if received and at < received[-1]:
            _add_sorted_pair(received, at, rep.received_ids, lead_id)
        else:  # the usual case, `_add_sorted_pair` at the end, without the call
            received.append(at)
            rep.received_ids.append(lead_id)
        _add_sorted(self._received_all, at)
        self._position[rep_id] = self._received_count
        self._received_count += 1

    def _assigned(self, event: Assigned) -> None:
        self._take(event)
        self._note_assigned(event.rep_id, event.at)

    def _note_assigned(self, rep_id: str, at: datetime) -> None:
        """The rotation's record of an assignment (`lru`, `last_assigned`), made before the
        Assigned event joins the log: its place in the log is the log's length now."""
        lru = self._lru
        lru.pop(rep_id, None)
        lru[rep_id] = len(self._events)
        self._last_at[rep_id] = at

    def _append_arrived_assigned(self, arrived: Arrived, assigned: Assigned) -> None:
        """`append(arrived)` then `append(assigned)`, for a lead assigned as it arrives (what
        `Router.route` writes for most leads), in one step that leaves the same log and views.

        The lead goes straight into the rep's book rather than into the public pool and out of
        it again: a new lead is in no pool's order and not waiting, so nothing else differs.
        Event by event, which raises what `append` raises, when the lead is not new, when the
        assignment is dated before the lead arrived, or when the ledger's class appends in its
        own way (a stored ledger also writes each event to its database).
        """
        lead = arrived.lead
        lead_id = lead.id
        if (
            type(self).append is not _Fold.append
            or lead_id in self._leads
            or assigned.lead_id != lead_id
            or earlier(assigned.at, lead.arrived_at)
            or type(assigned) is not Assigned
        ):
            self.append(arrived)
            self.append(assigned)
            return
        state = self._new_lead(lead)
        self._events.append(arrived)
        rep_id, at = assigned.rep_id, assigned.at
        self._hold(state, rep_id, at)
        self._note_assigned(rep_id, at)
        self._events.append(assigned)

    def _claimed(self, event: Claimed) -> None:
        self._take(event)

    def _touched(self, event: Touched) -> None:
        state = self._require_held_by(event, self._state(event), closed_ok=True)
        rep = self._reps.get(event.rep_id) or self._rep(event.rep_id)
        first = state.first_touch
        # reports come at least once and in any order: the first touch is the earliest
        sooner = first is not None and earlier(event.at, first)
        if (first is None and state.status == HELD) or sooner:
            assert state.held_since is not None
            if first is not None:
                rep.touched.remove(first)
                rep.touch_delays.remove((first, self._elapsed(first, state.held_since)))
            state.first_touch = event.at
            _add_sorted(rep.touched, event.at)
            _add_sorted(rep.touch_delays, (event.at, self._elapsed(event.at, state.held_since)))
        # a reach counts only on a lead this holding touched first: a call after the lead closed
        # (a thank-you after the sale) is no first touch, so counting its reach would report
        # more reps reached than touched
        if event.reached and not state.reached and state.first_touch is not None:
            state.reached = True
            _add_sorted(rep.reached, event.at)

    def _tagged(self, event: Tagged) -> None:
        state = self._require_held_by(event, self._state(event), closed_ok=True)
        if state.status == INVALID or (state.status == CONVERTED and not event.valid):
            raise TransitionError(
                f"Tagged(valid={event.valid}) for lead {event.lead_id!r}, which is already "
                f"closed as {state.status}: a closed lead keeps its verdict"
            )
        rep = self._reps.get(event.rep_id) or self._rep(event.rep_id)
        if state.verdict is None:
            _add_sorted(rep.valid if event.valid else rep.invalid, event.at)
        state.verdict = event.valid
        state.tag_reason = event.reason
        if not event.valid and event.reason != BLOCKED:
            state.status = INVALID
            del rep.book[event.lead_id]

    def _converted(self, event: Converted) -> None:
        state = self._require_held_by(event, self._state(event), closed_ok=True)
        if state.status == CONVERTED:
            raise TransitionError(
                f"Converted for lead {event.lead_id!r}, which already converted: record one sale "
                "per lead (add later amounts to your CRM, not the ledger)"
            )
        rep = self._reps.get(event.rep_id) or self._rep(event.rep_id)
        if state.status == HELD:
            del rep.book[event.lead_id]
        state.status = CONVERTED
        _add_sorted(rep.converted, (event.at, event.amount, event.lead_id))
        rep.revenue += event.amount

    def _released(self, event: Released) -> None:
        state = self._require_held_by(event, self._state(event), closed_ok=False)
        rep = self._reps.get(event.rep_id) or self._rep(event.rep_id)
        del rep.book[event.lead_id]
        _add_sorted(rep.released, event.at)
        _add_sorted(rep.released_for.setdefault(event.reason, []), event.at)
        self._lead_releases.setdefault(event.lead_id, []).append(event.reason)
        state.last_holder = event.rep_id
        state.status, state.rep, state.pool = POOLED, None, None
        state.held_since, state.first_touch, state.reached = None, None, False
        state.tag_reason = None
        self._move_to_pool(state, event.pool, waiting=False, at=event.at)

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
