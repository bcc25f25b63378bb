"""`StoredLedger`: a Ledger whose event log lives in a SQL database shared by many processes.

Each process keeps the folded views in memory, as the in-memory ledger does, and brings them up
to date at the start of every transaction: take the ledger's write lock, fold in the events
appended since this process last looked, let the caller read and append, write the new events,
commit. So an operation sees every event committed before it, nothing is committed by anyone
else while it decides, and a crash anywhere (of the process or the database connection) leaves
the whole operation or none of it.

Opening a long log is fast because of snapshots: every `snapshot_every` events, the process
that committed past the mark stores its folded state beside the log, and a process opening the
ledger loads the latest snapshot and folds only the events after it (`snapshotting`: when; and
`snapshot`: what a snapshot holds and its checks). What a Router operation holds around its
transaction is `guard`; the database's side of a transaction, `sql.SqlStore`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, datetime
from typing import Any, ClassVar

from leadrouter.errors import (
    ConfigError,
    CorruptLogError,
    LeadRouterError,
    LogReplacedError,
    RosterMismatchError,
)
from leadrouter.events import Event
from leadrouter.ledger import Ledger, RosterLink, Undoable, detach, settle
from leadrouter.model import Decision, Lead, Rep
from leadrouter.stores import snapshot
from leadrouter.stores.codec import (
    decision_text,
    decode_decision,
    event_of,
    event_text,
    idempotency_key,
    lead_text,
    loads,
    roster_text,
    same_row,
)
from leadrouter.stores.databases import public_url
from leadrouter.stores.guard import Guard
from leadrouter.stores.rosters import ROSTER, RosterLog, roster_key
from leadrouter.stores.snapshotting import SNAPSHOT_EVERY, Snapshots, StoredEvents
from leadrouter.stores.sql import Row, SqlStore, Transaction

__all__ = ["SNAPSHOT_EVERY", "StoredLedger", "roster_key"]


class StoredLedger(Ledger):
    """A Ledger backed by a SQL event log (open one with `Ledger.open(url, name)`).

    The views answer as of this process's latest transaction; every Router operation runs in
    one, so a Router always decides on the whole log. Code reading views outside a Router calls
    `refresh()` first. `append` outside a transaction runs in its own.

    A transaction that raises after appending is rolled back in the database and the views are
    rebuilt from the log, so memory never holds an event the database does not. After
    `close()` every read and operation raises LedgerClosedError.
    """

    durable: ClassVar[bool] = True

    def __init__(self, store: SqlStore, snapshot_every: int = SNAPSHOT_EVERY) -> None:
        super().__init__()
        self.store = store
        self._snapshots = Snapshots(store, snapshot_every)
        self._seq = 0
        self._mark: tuple[str, Any] | None = None
        """The kind and payload of the row at `self._seq` as this process read it (or the JSON
        text it wrote there), None until it read one: see `_continued` and `codec.same_row`."""
        self._txn: Transaction | None = None
        """The transaction this process holds, if any (its events are not yet committed)."""
        self._rosters = RosterLog()
        """The rosters the log recorded, as far as this process folded it."""

    @classmethod
    def connect(
        cls,
        url: str,
        name: str,
        *,
        create: bool = True,
        lock_timeout: float = 30.0,
        retries: int = 5,
        snapshot_every: int = SNAPSHOT_EVERY,
    ) -> StoredLedger:
        store = SqlStore(url, name, lock_timeout=lock_timeout, retries=retries)
        store.check_schema(create)
        ledger = cls(store, snapshot_every)
        ledger._fold_views()
        return ledger

    def _fold_views(self) -> None:
        """Bring the empty views up to the log: from the latest good snapshot, then the events
        after it (the whole log when there is none). Those are read and folded without the
        write lock, which a long fold (a million events after an upgrade refused the snapshot)
        would hold past the other workers' lock_timeout; what they commit meanwhile is caught
        up under the lock."""
        with snapshot.paused_gc():
            found = self._snapshots.load()
            if found is not None:
                state, self._seq, self._mark = found
                self._import_state(
                    state, StoredEvents(state["events"], self._seq, self._read_events)
                )
                self._rosters = RosterLog(state["roster"])
            with self.store.reading() as txn:
                last = self.store.count(txn, 0, ROSTER)[1]
                self._catch_up(self.store.since(txn, self._seq, last))
            self.refresh()

    def __repr__(self) -> str:
        return (
            f"<StoredLedger {self.store.name!r} at {public_url(self.store.url)}, "
            f"{len(self)} events>"
        )

    # ------------------------------------------------------------------ transactions

    def close(self) -> None:
        """Wait for the snapshot this process is storing, then close every connection of the
        ledger and let go of its views: any read or operation after raises LedgerClosedError.

        The views are refused too, not left answering as of the last transaction: they would
        go on answering a log that other workers keep writing, with nothing to tell that they
        stopped, and their memory (hundreds of MB for a long log) is given back at once, which
        a worker reopening the ledger while it runs needs. Waits for an operation of another
        thread in progress (it takes the ledger's lock); inside a block of this thread it is
        refused, as the block would then end on a closed connection."""
        with self._thread_lock:
            if self._txn is not None:
                raise ConfigError(
                    f"ledger {self.store.name!r} was closed inside its own transaction (a "
                    "`with ledger.transaction():` block or a Router operation): close it after "
                    "the block ends"
                )
            self._snapshots.wait()
            store, held = self.store, self.__dict__
            store.close()
            # the class first: a thread reading without the lock meets LedgerClosedError, never
            # an attribute gone missing
            self.__class__ = _ClosedLedger
            held.clear()
            held["store"] = store

    def transaction(self) -> AbstractContextManager[None]:
        """Hold the ledger's write lock with the views up to date; commit on exit.

        Nested calls join the outer transaction."""
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """The outermost block opens the database transaction and, when it ends, commits or
        rolls back with the views, and `settle`s what the Routers remembered of its
        operations: a caller's block that raises forgets their decisions and rosters too."""
        with self._thread_lock:
            if self._txn is not None:
                yield
                return
            txn = None
            try:
                with self.store.locked(self._seq) as txn:
                    self._txn = txn
                    self._catch_up(self._continued(txn))
                    yield
                if txn.last > self._seq:
                    self._seq, self._mark = txn.last, txn.events[-1][:2]
                if self._rosters.seq is None and self._rosters.key is not None:
                    self._rosters.seq = _last_seq_of(ROSTER, txn)
            except BaseException:
                self._txn = None
                kept = detach(self)
                try:
                    if txn is not None and txn.events:
                        self._rebuild()
                finally:
                    settle(kept, self, True)
                raise
            finally:
                self._txn = None
            settle(detach(self), self, False)
            if self._snapshots.due(len(self)):
                self._snapshots.write(self._snapshot_state, self._seq)

    def _savepoint(self) -> tuple[int, int, int, dict[str, Any]]:
        """Where an operation nested in this process's open transaction begins: the length of
        the log in memory, of the rows and decisions to write at the commit (nothing reaches the
        database before it, so these lists are all there is to undo there), and the rosters."""
        txn = self._open()
        return len(self), len(txn.events), len(txn.decisions), self._rosters.state()

    def _roll_back_to(self, mark: Any) -> bool:
        """Undo what was written since `_savepoint` gave `mark`: drop the rows and decisions
        not yet written, put the rosters back and fold the views again."""
        events, rows, decisions, rosters = mark
        txn = self._open()
        if len(txn.events) == rows and len(txn.decisions) == decisions:
            return False
        del txn.events[rows:], txn.decisions[decisions:]
        txn.keys = {key for _, _, key in txn.events if key is not None}
        self._rosters = RosterLog(rosters)
        super()._roll_back_to(events)
        return True

    def guard(
        self,
        lock: AbstractContextManager[Any],
        roster: RosterLink,
        memory: Undoable | None = None,
    ) -> Guard:
        return Guard(self, lock, roster, memory)

    def refresh(self) -> None:
        """Fold in the events other processes committed since this one last looked."""
        with self.transaction():
            pass

    def _continued(self, txn: Transaction) -> list[Row]:
        """The rows `txn` caught after `self._seq`, once the row it caught at `self._seq` is
        found to be the one this process last read or wrote; else LogReplacedError, and nothing
        is folded or written.

        A log restored from a backup while this process ran (cut back, then grown again with
        the same sequence numbers) would otherwise be caught up from the middle: this process
        would decide, and write, on views folded partly from rows the log no longer holds. The
        check costs no query: the catch-up read starts at `self._seq` instead of after it. It
        compares that one row (kind and payload), so a restored log whose row at `self._seq`
        is again the very same event is taken for the log this process read."""
        rows = txn.caught
        if not self._seq:
            return rows
        if rows and rows[0][0] == self._seq:
            _, kind, payload = rows[0]
            if self._mark is None or same_row(self._mark, kind, payload):
                self._mark = (kind, payload)
                return rows[1:]
        raise self._replaced(txn)

    def _replaced(self, txn: Transaction) -> LogReplacedError:
        rows, seq = txn.caught, self._seq
        if not rows:
            now = (
                f"its last row is now sequence number {self.store.last(txn)}, where this worker "
                f"had read up to sequence number {seq}"
            )
        elif rows[0][0] != seq:
            now = (
                f"it has no row at sequence number {seq} any more, the last one this worker "
                f"read (it goes on at {rows[0][0]})"
            )
        else:
            now = f"its row at sequence number {seq} is not the one this worker read there"
        return LogReplacedError(
            f"the log of ledger {self.store.name!r} in {public_url(self.store.url)} was replaced "
            f"since this worker read it (restored from a backup?): {now}; nothing was written: "
            "restart the worker (it reopens the ledger from the database)"
        )

    def _catch_up(self, rows: Iterable[Row]) -> None:
        """Fold in `rows`, the events committed after `self._seq`, in order. Their dates are not
        checked against the events they act on (`CLOCK_SKEW`): each was checked by the process
        that wrote it, or written by a leadrouter that did not check, and a log that opened
        before must open after an upgrade."""
        fold = Ledger.append
        with self._dates_as_given():
            for seq, kind, payload in rows:
                try:
                    if kind == ROSTER:
                        self._rosters.fold(seq, payload)
                    else:
                        fold(self, event_of(kind, payload))
                except Exception as exc:  # every row was folded once, by the worker that wrote it
                    raise self._corrupt(seq, kind, exc) from exc
                self._seq, self._mark = seq, (kind, payload)

    def _corrupt(self, seq: int, kind: str, exc: Exception) -> CorruptLogError:
        return CorruptLogError(
            f"ledger {self.store.name!r} in {public_url(self.store.url)}: the event at sequence "
            f"number {seq} ({kind}) cannot be folded ({type(exc).__name__}: {exc}): the log was "
            "changed outside leadrouter; restore the database from a backup, or remove that row "
            "and run Ledger.verify()"
        )

    def _replay(self) -> Ledger:
        """A new in-memory ledger folded from the whole log up to what this process last
        folded, as the database holds it (never from a snapshot), with its dates taken as the
        log holds them (as `_catch_up` takes them)."""
        return Ledger.from_events(self._read_events(None), in_order=False)

    def _read_events(self, upto: int | None) -> list[Event]:
        """The log's events (up to sequence `upto`, else up to what this process last folded),
        read in this process's transaction if one is open (a second one would wait for the lock
        this process holds), else in one."""
        with self._thread_lock:
            if self._txn is not None:
                return self._decode(self._txn, upto)
            with self.store.locked() as txn:
                return self._decode(txn, upto)

    def _decode(self, txn: Transaction, upto: int | None) -> list[Event]:
        rows = self.store.since(txn, 0, self._seq if upto is None else upto)
        return [event_of(kind, payload) for _, kind, payload in rows if kind != ROSTER]

    def _rebuild(self) -> None:
        """Drop every view and fold the committed log again (after a rolled-back write), from
        the snapshot if there is a good one. If the database cannot be read now, the views stay
        empty and the next transaction folds the whole log."""
        self._clear()
        self._seq, self._mark = 0, None
        self._rosters = RosterLog()
        self._snapshots.forget()
        with suppress(LeadRouterError):
            self._fold_views()

    def verify(self) -> list[str]:
        """Recompute every view from the whole log (never from a snapshot) and say where the
        views this process holds differ, one line per difference; none when they agree.

        Besides the views `snapshot()` shows, compares the counters behind them (the number of
        events, the receipt positions and times, the last assignment times, the contacts), so
        a snapshot that loaded wrong state is found whichever part is wrong. It holds the
        ledger's lock while it compares, so a Router of this process writing meanwhile waits
        (the comparison would read views half-way through a write)."""
        with self._thread_lock:
            return self._verified()

    def _verified(self) -> list[str]:
        drift = super().verify()
        replayed = self._replay()._export_state()
        held = self._export_state()
        for name in ("events", "_received_count", "_received_all", "_position", "_last_at"):
            if held[name] != replayed[name]:
                drift.append(f"{name.lstrip('_')}: differs from the log")
        if held["_by_contact"] != replayed["_by_contact"]:
            drift.append("by_contact: differs from the log")
        return drift

    def _snapshot_state(self) -> dict[str, Any]:
        """What a snapshot of this ledger holds (`snapshotting.KEYS`), as of `self._seq`."""
        state = self._export_state()
        state["roster"] = self._rosters.state()
        state["mark"] = self._mark
        return state

    # ------------------------------------------------------------------ writing

    def append(self, event: Event) -> None:
        """Validate and record `event`, in this process's transaction or in one of its own.

        A touch, tag or sale already in the log (the CRM sent it twice) is not recorded again."""
        with self.transaction():
            txn = self._open()
            key = idempotency_key(event)
            if key is not None and (key in txn.keys or self.store.has_key(txn, key)):
                return
            kind, text = event_text(event)
            before = len(self)
            Ledger.append(self, event)
            if len(self) == before:  # the same report in another form (100 and 100.0): one event
                return
            txn.events.append((kind, text, key))
            if key is not None:
                txn.keys.add(key)

    def _open(self) -> Transaction:
        """The transaction this process holds (called inside `transaction()`)."""
        assert self._txn is not None, "called outside a transaction"
        return self._txn

    def _same_lead(self, known: Lead, lead: Lead) -> bool:
        """Equal, or stored alike: a lead another process routed is read back from JSON, so a
        tuple feature comes back a list and integer keys strings; a retry of it is the same
        lead (`lead_text`)."""
        return known == lead or lead_text(known) == lead_text(lead)

    def note_decision(self, decision: Decision) -> None:
        """Keep the first decision for a lead beside the log (a retry in any process returns
        it); a decision already stored for the lead is kept."""
        with self.transaction():
            self._open().decisions.append((decision.lead_id, decision_text(decision)))

    def first_decision(self, lead_id: str) -> Decision | None:
        """The decision stored for a lead by whichever process routed it first."""
        with self.transaction():
            txn = self._open()
            pending = [loads(text) for lid, text in txn.decisions if lid == lead_id]
            found = pending[0] if pending else self.store.decision(txn, lead_id)
        return None if found is None else decode_decision(found)

    def check_roster(self, link: RosterLink) -> None:
        """Let a Router route with the roster this ledger last recorded, whichever process
        recorded it: record the Router's roster when the ledger has none; when the Router's was
        the ledger's before (another worker changed it since with `set_rep`, `handover` or
        `use_roster`), the Router takes up the ledger's (`link.adopt`), so a change made in one
        worker reaches every worker at its next operation. A roster never recorded on this
        ledger (another deploy), or one that cannot take up the ledger's (recorded as a digest
        alone by an older leadrouter), is a RosterMismatchError naming the reps that differ:
        routing by two teams at once would break every cap and rotation."""
        rosters, key = self._rosters, link.key()
        if rosters.key is None:
            self.note_roster(link)
        elif rosters.key != key:
            reps = rosters.reps()
            if reps is None or key not in rosters.earlier:
                where = f"{self.store.name!r} in {public_url(self.store.url)}"
                raise RosterMismatchError(rosters.mismatch(link.reps(), key, where))
            link.adopt(reps, rosters.key)

    def roster(self) -> tuple[Rep, ...] | None:
        """The reps the routers on this ledger route with now: the roster the log last
        recorded, whichever process recorded it (read under the write lock, so a change
        another worker committed is seen). None when no roster was recorded yet, or only its
        digest (by an older leadrouter, or reps with a profile value JSON cannot hold)."""
        with self.transaction():
            return self._rosters.reps()

    def use_roster(self, reps: Iterable[Rep]) -> None:
        """Make `reps` the roster of this ledger from now on: a deliberate change, e.g. in a
        deploy script that brings new reps. Every Router built with a roster this ledger
        recorded before takes these up at its next operation; one built with a roster never
        recorded here is refused."""
        reps = list(reps)
        with self.transaction():
            self._record(roster_key(reps), reps)

    def note_roster(self, link: RosterLink) -> None:
        """Record the Router's roster as this ledger's, unless it is already."""
        key = link.key()
        if key != self._rosters.key:
            self._record(key, list(link.reps()))

    def _record(self, key: str, reps: list[Rep]) -> None:
        with self.transaction():
            text = roster_text(key, reps, datetime.now(UTC))
            self._open().events.append((ROSTER, text, None))
            self._rosters.fold(None, loads(text))


def _last_seq_of(kind: str, txn: Transaction) -> int | None:
    """The sequence number the committed `txn` gave its last event of this kind."""
    found = [seq for seq, event in zip(txn.seqs, txn.events, strict=True) if event[0] == kind]
    return found[-1] if found else None


_STILL_OPEN = frozenset({"__class__", "close", "durable", "store"})
"""What a closed ledger still answers: its class, `close` (closing twice is closing once), and
`store`, the closed database it was kept in."""


class _ClosedLedger(StoredLedger):
    """A StoredLedger after `close()`: every attribute but `_STILL_OPEN` raises LedgerClosedError,
    so every read (each view, the log, `len`, `in`) and every operation (its own, a Router's)
    refuses alike, the views added to `Ledger` after this was written included. The one check
    is here, made only once the ledger is closed: an open ledger's reads pay nothing for it."""

    def __getattribute__(self, name: str) -> Any:
        if name in _STILL_OPEN:
            return object.__getattribute__(self, name)
        store: SqlStore = object.__getattribute__(self, "store")
        raise store.closed_error()

    def close(self) -> None:
        """Closed already: nothing to do."""

    def __repr__(self) -> str:
        return f"<StoredLedger {self.store.name!r} at {public_url(self.store.url)}, closed>"
