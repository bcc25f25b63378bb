"""What a Router operation holds on a stored ledger: the Router's lock and the ledger's, one
database transaction, and the check of the Router's roster against the ledger's.

`StoredLedger.guard` returns a `Guard` for each operation. It takes the locks in the one order
every caller takes them (no two threads wait for each other for good), checks the roster at the
start (taking up one another worker recorded, refusing one never used on the ledger) and records
it at the end, and makes a failure anywhere end the transaction: the write lock every other
worker waits for is never left held. An operation that fails inside a block already open is
undone alone (`leadrouter.ledger._undo`).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from leadrouter.ledger import RosterLink, Undoable
from leadrouter.ledger._undo import Mark, end, savepoint

if TYPE_CHECKING:
    from leadrouter.stores.durable import StoredLedger

__all__ = ["Guard"]


class Guard:
    """A Router operation on a stored ledger: the router's lock, then one transaction in which
    the router's roster is checked against the ledger's (taken up when another process changed
    it, recorded when the router changed it); what the router remembered of the operation
    (`memory`) is let go or put back when the outermost transaction commits or rolls back
    (`end`, then `settle` in `StoredLedger.transaction`), or at once when the operation ran
    inside a block already open and failed: it is then undone alone (`end`)."""

    __slots__ = ("_depth", "_ledger", "_lock", "_mark", "_memory", "_own", "_roster", "_txn")

    def __init__(
        self,
        ledger: StoredLedger,
        lock: AbstractContextManager[Any],
        roster: RosterLink,
        memory: Undoable | None,
    ) -> None:
        self._ledger = ledger
        self._own = ledger._thread_lock
        """The ledger's lock, held here: a ledger closed while an operation waits for it
        refuses every attribute after (`StoredLedger.close`), and the lock must still be let go."""
        self._lock = lock
        self._roster = roster
        self._memory = memory
        self._depth = 0
        self._txn: AbstractContextManager[None] | None = None
        self._mark: Mark | None = None
        """Where the operation began, when it began inside a block already open (`savepoint`)."""

    def __enter__(self) -> None:
        # the ledger's own lock first, then the router's: the order a caller's
        # `with ledger.transaction():` around router calls takes them, so a thread in such a
        # block and another thread's router call never wait for each other's lock for good
        self._own.acquire()
        try:
            self._lock.__enter__()
        except BaseException:
            self._own.release()
            raise
        self._depth += 1
        if self._depth > 1:
            return
        ledger = self._ledger
        try:
            nested = ledger._txn is not None
            txn = ledger.transaction()
            txn.__enter__()
            self._txn = txn
            try:
                self._mark = savepoint(ledger, self._memory) if nested else None
                ledger.check_roster(self._roster)
            except BaseException as exc:
                self._txn = None
                self._end(txn, exc)
                raise
        except BaseException:
            self._depth -= 1
            self._lock.__exit__(None, None, None)
            self._own.release()
            raise

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        try:
            self._depth -= 1
            if self._depth == 0 and self._txn is not None:
                txn, self._txn = self._txn, None
                self._end(txn, exc)
        finally:
            try:
                self._lock.__exit__(kind, exc, tb)
            finally:
                self._own.release()

    def _end(self, txn: AbstractContextManager[None], exc: BaseException | None) -> None:
        """End the operation's transaction, which `exc` failed (None: it went well, and the
        router's roster is recorded as its last step). Recording can raise too, and so can
        undoing an operation alone (`end`): the transaction then ends with that error, so no
        failure leaves it open (holding the write lock that every other worker waits for)."""
        try:
            if exc is None:
                self._ledger.note_roster(self._roster)
            end(self._ledger, self._memory, self._mark, exc is not None)
        except BaseException as error:
            try:
                if exc is None:
                    end(self._ledger, self._memory, self._mark, True)
            finally:
                txn.__exit__(type(error), error, error.__traceback__)
            raise
        if exc is None:
            txn.__exit__(None, None, None)
        else:
            txn.__exit__(type(exc), exc, exc.__traceback__)
