"""When a stored ledger loads and stores the snapshot of its views, and the log of a ledger
opened from one. (What a snapshot holds, and the checks it passes in itself, is `snapshot`.)

Every `snapshot_every` events, the process whose commit passes the mark stores its folded
state beside the log; a process opening the ledger loads the latest snapshot that passes every
check and folds only the events after it. A snapshot is a cache, never the truth: one that
fails a check is ignored with a SnapshotWarning (the whole log is folded instead, and the next
snapshot replaces it), and one that cannot be stored only warns, never failing the operation
that passed the mark.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from leadrouter.errors import SnapshotWarning
from leadrouter.events import Event
from leadrouter.ledger import _FOLDED
from leadrouter.stores import snapshot
from leadrouter.stores.codec import same_row
from leadrouter.stores.databases import public_url
from leadrouter.stores.rosters import ROSTER
from leadrouter.stores.sql import SqlStore

__all__ = ["KEYS", "SNAPSHOT_EVERY", "Snapshots", "StoredEvents"]

SNAPSHOT_EVERY = 50_000
"""Events between two snapshots by default: a process opening the ledger folds at most about
this many events after loading the latest snapshot (some 1.5 s at 30 µs an event)."""

KEYS = frozenset({*_FOLDED, "events", "roster", "mark"})
"""What a snapshot's state holds: the folded views, their event count, the ledger's rosters
(`RosterLog.state`), the kind and payload of the log's row it was taken after (`same_row`)."""


class Snapshots:
    """The snapshot of one stored ledger as this process knows it: the event count of the
    latest one it loaded or wrote (`events`), whether the stored one failed its checks here
    (`bad`: the next one replaces it), and the thread storing the one it last started."""

    def __init__(self, store: SqlStore, every: int) -> None:
        self.store = store
        self.every = every
        """Events between two snapshots (0: never write one)."""
        self.events = 0
        self.bad = False
        self._writer: threading.Thread | None = None

    def forget(self) -> None:
        """Start over as a process that has loaded none (its views are folded again)."""
        self.events, self.bad = 0, False

    def due(self, events: int) -> bool:
        """Whether a ledger holding `events` events is past the mark for its next snapshot."""
        return 0 < self.every <= events - self.events

    def load(self) -> tuple[dict[str, Any], int, tuple[str, Any]] | None:
        """The stored snapshot's state (`KEYS`), its sequence number and the log's row (kind,
        payload) it was taken after, if it passes every check (see snapshot.py) and that row is
        the very one the log holds at its sequence number; else None (after a SnapshotWarning
        saying why, when there is one), and the caller folds the whole log.

        The counts alone can agree by coincidence after a restore from a backup: a snapshot
        stored after the backup point (the events table restored alone, or a snapshot being
        written while the restore ran) and a log grown back past its sequence number, numbered
        without gaps. Its views would then be of a history the log no longer holds. So the row
        at that number is read (one query, at open only) and compared, kind and payload, with
        the one the snapshot keeps (`same_row`, as a running worker compares its last row)."""
        store = self.store
        with store.locked() as txn:
            row = store.snapshot(txn)
            if row is None:
                return None
            counted, last = store.count(txn, row["seq"], ROSTER)
            at = store.row(txn, row["seq"])
        seq = row["seq"]
        if seq > last or counted != row["events"]:
            found: dict[str, Any] | str = (
                f"it stands for {row['events']} events up to sequence number {seq}, but "
                f"the log holds {counted} events up to there (and ends at {last})"
            )
        else:
            found = snapshot.load(row, KEYS)
        if not isinstance(found, str) and (at is None or not same_row(found["mark"], *at[1:])):
            found = (
                f"the log's row at sequence number {seq} is not the one the snapshot was taken "
                "after (restored from a backup?)"
            )
        if isinstance(found, str):
            self.bad = True
            warnings.warn(
                SnapshotWarning(
                    f"ignored the snapshot of ledger {store.name!r} in "
                    f"{public_url(store.url)}: {found}; folding the whole log instead (slower "
                    "to open, never wrong); the next snapshot will replace it"
                ),
                stacklevel=6,
            )
            return None
        assert at is not None
        self.events = found["events"]
        return found, seq, at[1:]

    def write(self, state: Callable[[], dict[str, Any]], seq: int) -> None:
        """Store `state()` (the ledger's state for `KEYS`, folded from the log up to sequence
        `seq`) as the ledger's snapshot, without making the operation that passed the mark wait
        for it.

        Called after the operation's commit, not inside its transaction (serialising a long
        state takes seconds, and would hold every worker's write lock), and not done in the
        operation either: a forked child pickles the state as of now (`snapshot.dump_apart`)
        and a thread of this process stores the row it sends, in a short transaction of its own.
        That is right without the lock: it is the fold of the log up to `seq`, which no later
        commit changes. A cache must not fail an operation: a failure to write it only warns
        (the next mark tries again). When another process stored one since this process last
        did, the mark moves to it instead (no two workers pay for the same snapshot)."""
        try:
            self.wait()
            with self.store.locked() as txn:
                stored = self.store.snapshot_events(txn)
            held = state()
            if not self.bad and stored is not None and stored > self.events:
                self.events = stored
                if not self.due(held["events"]):
                    return
            self.events = held["events"]
            replace, self.bad = self.bad, False
            dumped = snapshot.dump_apart(held, seq, held["events"])
        except Exception as exc:  # the operation is committed: a cache must not fail it
            self._failed(exc)
            return
        self._writer = threading.Thread(
            target=self._store,
            args=(dumped, replace),
            name=f"leadrouter snapshot of {self.store.name}",
            daemon=False,  # a process exiting (a cron job's one tick) stores it first
        )
        self._writer.start()

    def _store(self, dumped: Callable[[], dict[str, Any]], replace: bool) -> None:
        """Wait for the dumped row and store it (the snapshot writer thread)."""
        try:
            self.store.save_snapshot(dumped(), replace=replace)
        except Exception as exc:
            self.bad = self.bad or replace
            self._failed(exc)

    def wait(self) -> None:
        """Wait until the snapshot this process started, if any, is stored (or failed)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.join()

    def _failed(self, exc: Exception) -> None:
        warnings.warn(
            SnapshotWarning(
                f"could not store a snapshot of ledger {self.store.name!r} "
                f"({type(exc).__name__}: {exc}); the operation itself was committed, and "
                f"the next {self.every} events will try again"
            ),
            stacklevel=3,
        )


class StoredEvents:
    """The event log of a ledger opened from a snapshot: the events the snapshot folded are read
    from the database the first time anything asks for them (most workers never do), the
    events folded since are kept as usual."""

    __slots__ = ("_items", "_load", "_lock", "_missing", "_upto")

    def __init__(self, missing: int, upto: int, load: Callable[[int], list[Event]]) -> None:
        self._missing = missing
        self._upto = upto
        self._load = load
        self._items: list[Event] = []
        self._lock = threading.Lock()

    def _all(self) -> list[Event]:
        if self._missing:
            with self._lock:
                if self._missing:
                    self._items[:0] = self._load(self._upto)
                    self._missing = 0
        return self._items

    def append(self, event: Event, /) -> None:
        self._items.append(event)

    def __len__(self) -> int:
        return self._missing + len(self._items)

    def __iter__(self) -> Iterator[Event]:
        return iter(self._all())

    @overload
    def __getitem__(self, index: int, /) -> Event: ...
    @overload
    def __getitem__(self, index: slice, /) -> Sequence[Event]: ...
    def __getitem__(self, index: int | slice, /) -> Event | Sequence[Event]:
        return self._all()[index]
