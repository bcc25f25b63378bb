"""Every read of the folded state: where a lead is, what a rep holds, and counts and statistics
over time windows, each answered from the records `_fold` keeps current.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from leadrouter.errors import InvalidValueError, UnknownLeadError
from leadrouter.events import PUBLIC, Event
from leadrouter.ledger._fold import _Fold
from leadrouter.ledger._state import HELD, _first, _RepState, _span, _window
from leadrouter.ledger._types import RepStats, _EventLog
from leadrouter.model import Lead, zone

_NO_REP = _RepState()
"""What the views read for a rep the ledger has no event of: every series empty (never written)."""


class _Views(_Fold):
    """The ledger's views (`LedgerView` and the rest of `Ledger`'s read methods).

    A few reads keep an index beside the records so that the next read is cheaper: the order of
    `waiting()` (reset by the fold whenever the waiting set changes), `never_assigned()` per set
    of reps (checked against the number of reps ever assigned) and, per series, where
    `count(since=...)` and `received_total(since)` last found `since` (`_Starts`, a lower bound
    that stays one as the series grows). Each stays correct across appends and starts empty
    with the state, so they are part of the views; values derived from the views that hold for
    a day (a strategy's weights, a cap's list of full reps) are kept outside the ledger, in a
    `leadrouter._memo.LedgerMemo`.
    """

    _thread_lock: threading.RLock
    """The ledger's lock (`Ledger` makes it), which the whole-ledger reads take."""

    def __len__(self) -> int:
        """The number of events recorded."""
        return len(self._events)

    def __contains__(self, lead_id: object) -> bool:
        return lead_id in self._leads

    def events(self) -> Sequence[Event]:
        """Every event in the order it was appended, as of the call: a read-only view, not a
        copy, of the events the log held then, which later writes do not change. Its length is
        read under the ledger's lock, so a thread reading while a router writes sees whole
        operations (and blocks), never half of one that may yet be rolled back; on the thread
        that routes, the lock is the one its router takes (nothing to wait for)."""
        with self._thread_lock:
            events = self._events
            return _EventLog(events, len(events))

    def lead(self, lead_id: str) -> Lead:
        """The lead with this id; UnknownLeadError if it never arrived."""
        state = self._leads.get(lead_id)
        if state is None:
            raise _never_arrived(lead_id)
        return state.lead

    def lead_ids(self) -> Iterator[str]:
        """Every lead id, in order of arrival in the log (as of the call: a list taken under
        the ledger's lock, so a router writing meanwhile does not break the iteration)."""
        with self._thread_lock:
            return iter(list(self._leads))

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
            raise _never_arrived(lead_id)
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
        with self._thread_lock:
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

    def placed_at(self, lead_id: str) -> datetime | None:
        """When the lead got where it is now (its arrival, its entry into its pool, or the start
        of its holding); None for a lead that never arrived. An event on the lead dated more
        than `CLOCK_SKEW` before this is refused (EventOutOfOrderError)."""
        state = self._leads.get(lead_id)
        return None if state is None else state.placed_at

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
        """(lead id, rep id, held since) for every lead held now (as of the call: a list taken
        under the ledger's lock)."""
        found: list[tuple[str, str, datetime]] = []
        with self._thread_lock:
            for rep_id, rep in self._reps.items():
                for lead_id in rep.book:
                    since = self._leads[lead_id].held_since
                    assert since is not None
                    found.append((lead_id, rep_id, since))
        return iter(found)

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
            return _window(_NO_REP.received, since, until)  # 0, with the bounds checked
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
        if sla is not None and not isinstance(sla, timedelta):
            raise InvalidValueError(
                f"stats: sla must be a timedelta, e.g. timedelta(minutes=30), got {sla!r}"
            )
        rep = self._reps.get(rep_id, _NO_REP)
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
            revenue=float(sum(sale[1] for sale in sales)),
            released=_window(rep.released, since, until),
        )

    def conversions(
        self, rep_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[tuple[datetime, str, float]]:
        """The rep's sales dated in `[since, until)` as (at, lead id, amount), oldest first.

        For measures that weigh each sale by its lead (e.g. by `Lead.grade`, via `lead()`);
        bisected like `stats`, so the cost is the number of sales in the window.
        """
        rep = self._reps.get(rep_id, _NO_REP)
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
        rep = self._reps.get(rep_id, _NO_REP)
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
        """Every view as plain data, for comparing two ledgers (e.g. a replay with its source);
        read under the ledger's lock (a Router writing meanwhile waits)."""
        with self._thread_lock:
            return self._snapshot()

    def _snapshot(self) -> dict[str, Any]:
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


def _never_arrived(lead_id: str) -> UnknownLeadError:
    """The error for a lead id the ledger never saw arrive, with the fix: usually a mistyped id,
    a lead not routed yet, or a ledger rebuilt from part of the stored events."""
    return UnknownLeadError(
        f"lead {lead_id!r} never arrived in this ledger: check the id (`lead_id in ledger` tells "
        "beforehand), route the lead first, or rebuild the ledger from all its stored events"
    )
