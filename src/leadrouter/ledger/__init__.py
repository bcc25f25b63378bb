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

The modules, each building on the ones before it: `_state` holds the records a lead's and a
rep's state is folded into; `_types` the read side's types (`LedgerView`, `RepStats`, the
read-only event log); `_fold` the log and the state machine that folds each event in; `_views`
every read of the folded state; `_undo` a block of writes kept whole or not at all, with what
the Routers remember of it; and this module `Ledger`, with what a stored ledger
(`leadrouter.stores.durable`) overrides and the checks of the views against the log.
`Ledger.open` reaches the stores through the opener they register (`open_with`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self

from leadrouter.errors import ConfigError
from leadrouter.ledger._fold import _FOLDED as _FOLDED
from leadrouter.ledger._fold import CLOCK_SKEW
from leadrouter.ledger._state import _ABSENT, BLOCKED
from leadrouter.ledger._types import LedgerView, RepStats, _event_frame
from leadrouter.ledger._undo import Undoable as Undoable
from leadrouter.ledger._undo import _Block, _Operation
from leadrouter.ledger._undo import detach as detach
from leadrouter.ledger._undo import keep as keep
from leadrouter.ledger._undo import settle as settle
from leadrouter.ledger._views import _Views

if TYPE_CHECKING:
    import pandas as pd

    from leadrouter.model import Decision, Lead, Rep

__all__ = ["BLOCKED", "CLOCK_SKEW", "Ledger", "LedgerView", "RepStats"]

_OPENER: Callable[..., Ledger] | None = None


class RosterLink(Protocol):
    """A Router's roster as a stored ledger checks it around each operation: its digest
    (`key`, the same in every process for the same reps), its reps, and `adopt`, which makes
    the ledger's roster (`reps`, with digest `key`) the Router's from now on, as `set_rep`
    would."""

    def key(self) -> str: ...

    def reps(self) -> Sequence[Rep]: ...

    def adopt(self, reps: Sequence[Rep], key: str) -> None: ...


def open_with(opener: Callable[..., Ledger]) -> None:
    """Register the function `Ledger.open` calls: `leadrouter.stores` does, when the package is
    imported (which every `import leadrouter...` does first). The stores build on the ledger
    (a stored ledger is a Ledger), so the ledger reaches them through this one hook rather than
    by importing them: the dependency points one way."""
    global _OPENER
    _OPENER = opener


class Ledger(_Views):
    """Append-only event log plus incrementally folded views (in memory).

    Guarantees: a lead is always in exactly one place (a pool or one rep's book); an event that
    breaks the state machine raises and changes nothing; `Ledger.from_events(ledger.events())`
    rebuilds identical views.

    `Ledger()` lives in one process's memory. `Ledger.open(url)` keeps the log in SQLite or
    PostgreSQL for many processes (see docs/stores.md); it answers the same views.

    A ledger has one lock, which every Router on it holds around each operation (it is the
    routers' lock): so the reads of the whole ledger (`verify`, `snapshot`, `to_frame`,
    `held`, `pools`, `lead_ids`, `events`) take it too, and a maintenance thread that calls them
    while a router writes waits for the write in progress instead of reading half of it. The other
    reads (some keep an index for the next read) run inside a router's operations, or on the
    thread that routes (docs/embedding.md, "Threads").
    """

    durable: ClassVar[bool] = False
    """True for a ledger whose log lives in a database shared with other processes."""

    def __init__(self) -> None:
        super().__init__()
        self._own()

    def _own(self) -> None:
        """What this ledger object has of its own, beside its log and views (none of it is in
        `_clear`: a rollback, which starts the views over, runs under the lock, in a block)."""
        self._thread_lock = threading.RLock()
        """The lock of this ledger's writes: every Router on it holds it around each operation
        (it is the routers' own lock), the whole-ledger reads take it."""
        self._block = _Block(self)
        """`transaction()` in memory, and the block of every Router operation on it."""
        self._kept: list[Undoable] = []
        """What Routers remember of the operations of the open block (`leadrouter.ledger._undo`)."""

    def __getstate__(self) -> dict[str, Any]:
        """A copy (pickle, `copy.deepcopy`) gets a lock and a block of its own (a lock is not
        copied) and keeps nothing of the Routers of this one."""
        state = self.__dict__.copy()
        for name in ("_thread_lock", "_block", "_kept"):
            del state[name]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._own()

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
        if _OPENER is None:
            raise ConfigError(
                "Ledger.open: no store is registered; import leadrouter (which registers "
                "leadrouter.stores) before opening a ledger"
            )
        return _OPENER(
            url,
            name,
            create=create,
            lock_timeout=lock_timeout,
            retries=retries,
            snapshot_every=snapshot_every,
        )

    def close(self) -> None:
        """Let go of what the ledger holds outside this process's memory, now rather than when
        the garbage collector gets to it: a stored ledger waits for the snapshot it is storing,
        closes its database connections and drops its views, and raises LedgerClosedError at
        any operation or read after (a worker reopening after a restore, or shutting down,
        leaves no session behind on the server, and no views answering a log that others go on
        writing). An in-memory ledger holds nothing of the kind and stays usable: this does
        nothing, its views and operations go on answering, so code that closes the ledger it was
        given need not know which it holds. Closing twice is closing once. `with
        Ledger.open(url) as ledger:` closes at the end."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[None]:
        """A block of writes (Router calls, appends) that keeps all of its events or none: when
        it raises, the ledger goes back to where it began, and the Routers' decision logs and
        rosters with it, as a stored ledger's transaction is rolled back. It holds the ledger's
        lock (other threads' operations wait). A Router operation in it that raises is undone
        alone, with what its Router remembered of it, so a caller that catches the error inside
        the block goes on and commits the rest without it. The same object every time
        (entering it allocates nothing)."""
        return self._block

    def guard(
        self,
        lock: AbstractContextManager[Any],
        roster: RosterLink,
        memory: Undoable | None = None,
    ) -> AbstractContextManager[Any]:
        """What a Router holds around each operation: in memory the ledger's block (`_Block`:
        `lock`, which is the ledger's own, and a mark of the log that an operation raising
        part-way rolls back to); on a stored ledger the lock and one transaction in which
        `roster` is checked against the ledger's. At its end, `memory` (what the Router
        remembers of the operation) is kept or put back with the outermost block."""
        return _Operation(self, memory)

    def _savepoint(self) -> Any:
        """Where an operation nested in an open block begins (`leadrouter.ledger._undo`): in
        memory, the length of the log."""
        return len(self._events)

    def _roll_back_to(self, mark: Any) -> bool:
        """Undo what was written since `_savepoint` gave `mark`; whether there was anything."""
        if len(self._events) <= mark:
            return False
        self._roll_back(mark)
        return True

    def _roll_back(self, mark: int) -> None:
        """Drop the events after the first `mark` and fold the views again from the rest (the
        same views, as `from_events` guarantees; `generation` moves on, so what strategies
        derived from the dropped events is dropped too). Costs a replay of the log: it runs
        only when an operation failed part-way."""
        kept = self._events[:mark]
        self._clear()
        fold = Ledger.append
        with self._dates_as_given():  # each was taken once, as a stored ledger folds its log
            for event in kept:
                fold(self, event)

    def refresh(self) -> None:
        """Fold in events other processes committed (nothing to do in memory)."""

    def _same_lead(self, known: Lead, lead: Lead) -> bool:
        """Whether `lead`, sent again, is the lead `known` this ledger holds (a retry)."""
        return known == lead

    def roster(self) -> tuple[Rep, ...] | None:
        """The reps the routers on this ledger route with, as the ledger recorded them: a
        stored ledger records its routers' roster (docs/stores.md); an in-memory one records
        none (its Router's `reps` are the roster), so None."""
        return None

    def note_decision(self, decision: Decision) -> None:
        """Keep a lead's first decision beside a stored log (in memory the Router keeps it)."""

    def first_decision(self, lead_id: str) -> Decision | None:
        """The first decision stored for a lead by any process (None in memory)."""
        return None

    # ------------------------------------------------------------------ the log as a whole

    def verify(self) -> list[str]:
        """Recompute every view from the log and say where the views held differ: one line per
        difference, none when they agree. A stored ledger reads its log from the database, so
        this checks what this process answers against what the database records. Holds the
        ledger's lock: a Router writing meanwhile waits (a view read half-way through a write
        would show drift that is not there)."""
        with self._thread_lock:
            return self._drift()

    def _drift(self) -> list[str]:
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

    def to_frame(self) -> pd.DataFrame:
        """The event log as a DataFrame, one row per event (imports pandas on first use); the
        events as of one moment, read under the ledger's lock."""
        with self._thread_lock:
            events = list(self._events)
        return _event_frame(events)
