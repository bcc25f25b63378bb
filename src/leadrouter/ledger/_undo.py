"""All or nothing: a block of writes on a ledger (a Router operation, or a caller's own
`with ledger.transaction():` around several) keeps all of its events or none, and what the
Routers remember beside the ledger about the operations in it (their decision logs, their
rosters) goes back with the events.

The ledger's side of this is the same for the in-memory and the stored ledger: an operation
ending hands what its Router remembered to the ledger (`keep`), and the end of the outermost
block, which commits or rolls back, lets it go or puts it back (`settle`).

An operation that begins inside a block already open (a caller's block, or another Router's
operation) marks where it began (`savepoint`): when it raises, it is undone alone, its events
and what its Router remembered of it (`end`), and the block goes on, so a caller that catches
the error inside its block (a DuplicateLeadError for one lead of several) commits the rest
without the failed operation's part. Only a nested operation takes a mark (a few lengths): one
outside any block is the outermost block itself, rolled back whole, and pays nothing more. No
database SAVEPOINT is needed: a stored ledger writes its rows at the commit, so until then they
are lists in memory, cut back to the mark (`StoredLedger._savepoint`), and a SAVEPOINT would
cost a round trip per operation to protect nothing.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from leadrouter.ledger import Ledger


class Undoable(Protocol):
    """What a Router keeps beside the ledger about its operations (its decision log and its
    roster), put back when the block they ran in is rolled back. `pending` is non-empty while an
    operation of the open block changed something to put back (one test of an empty list: the
    usual operation pays nothing more); `undo` puts back the entries from `since` on (an
    operation undone alone: those it added) and drops them."""

    pending: list[Any]

    def undo(self, ledger: Ledger, since: int = 0) -> None: ...


Mark = tuple[Any, int]
"""Where an operation nested in an open block began: the ledger's mark (`Ledger._savepoint`)
and how much its Router had `pending` then."""


def savepoint(ledger: Ledger, memory: Undoable | None) -> Mark:
    """Mark where an operation that begins inside an open block begins, for `end`."""
    return ledger._savepoint(), 0 if memory is None else len(memory.pending)


def end(ledger: Ledger, memory: Undoable | None, mark: Mark | None, failed: bool) -> None:
    """An operation ends, `failed` or not. One that failed inside an open block (it has a
    `mark`) is undone alone, now: the ledger goes back to the mark (`Ledger._roll_back_to`)
    and its Router puts back what it remembered since, the decisions and the roster; the
    block goes on, and keeps or drops the rest as a whole. Any other is `keep`t for the end of
    the outermost block."""
    if failed and mark is not None:
        rolled_back = ledger._roll_back_to(mark[0])
        if memory is not None and (rolled_back or len(memory.pending) > mark[1]):
            memory.undo(ledger, mark[1])
        failed = False
    keep(memory, ledger, failed)


def keep(memory: Undoable | None, ledger: Ledger, failed: bool) -> None:
    """An operation ends: what its Router remembered of it waits for the end of the ledger's
    outermost block (`settle`), which is this operation's own end unless it ran inside a
    caller's block. Only an operation that changed something to put back, or `failed`, is
    kept (a failed one is undone even with nothing pending: its arrivals are forgotten)."""
    if memory is not None and (failed or memory.pending) and memory not in ledger._kept:
        ledger._kept.append(memory)


def detach(ledger: Ledger) -> list[Undoable]:
    """What the Routers remembered of the operations of the ledger's outermost block, which is
    ending: taken off the ledger first, so that a block the ending opens (a stored ledger
    folding its log again after a rollback) does not settle it."""
    kept = ledger._kept
    if kept:
        ledger._kept = []
    return kept


def settle(kept: list[Undoable], ledger: Ledger, failed: bool) -> None:
    """The ledger's outermost block ended, its events committed or, when it `failed`, rolled
    back: let go of what the Routers remembered of its operations (`kept`, `detach`ed as the
    block began to end), or put it back. Both ledgers call it at that point, after the
    rollback (in memory `_Block`, stored `StoredLedger.transaction`)."""
    for memory in kept:
        if failed:
            memory.undo(ledger)
        else:
            memory.pending.clear()


class _Block:
    """`transaction()` on an in-memory ledger, and the block every Router operation on it runs
    in: the ledger's lock, and all of the block's events or none. A block that raises after
    appending (a strategy that fails while re-routing, a duplicate lead late in a batch, an
    error of the caller's own code) takes the ledger back to where it began, as a stored
    ledger's transaction does, instead of keeping a lead released and never offered again.
    Blocks nest (a hand-over routes; a caller's block holds operations): only the outermost
    rolls back, and then `settle`s; an operation nested in it that fails is undone alone
    (`end`). One object per ledger, entered again for each block.

    It reaches its ledger weakly: the ledger holds it, and a strong hold back would make every
    ledger a reference cycle, left for the garbage collector instead of freed when dropped. It
    is entered through the ledger (`transaction()`, a Router's operation), which is alive then.
    """

    __slots__ = ("_acquire", "_ledger", "_mark", "_release", "depth")

    def __init__(self, ledger: Ledger) -> None:
        self._ledger: Callable[[], Ledger | None] = weakref.ref(ledger)
        self._acquire = ledger._thread_lock.acquire
        self._release = ledger._thread_lock.release
        self._mark: Any = 0
        """Where the outermost block began (`Ledger._savepoint`): what a failure goes back to."""
        self.depth = 0
        """How many blocks are open (all on the thread that holds the ledger's lock)."""

    def __enter__(self) -> None:
        self._acquire()
        if not self.depth:
            self._mark = _alive(self._ledger)._savepoint()
        self.depth += 1

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        try:
            self.depth -= 1
            if not self.depth:
                ledger = _alive(self._ledger)
                if kind is not None or ledger._kept:
                    self._end(ledger, kind is not None)
        finally:
            self._release()

    def _end(self, ledger: Ledger, failed: bool) -> None:
        """The outermost block ends with something to do: it `failed` (the ledger goes back to
        where the block began) or operations in it kept what their Routers remembered (it is
        `settle`d). A block that ended well with nothing kept, the usual Router operation,
        does not get here."""
        kept = detach(ledger)
        if failed:
            ledger._roll_back_to(self._mark)
        if kept:
            settle(kept, ledger, failed)


def _alive(ledger: Callable[[], Ledger | None]) -> Ledger:
    """The ledger a block's weak reference reaches (alive while the block is entered)."""
    found = ledger()
    assert found is not None, "a ledger's block is entered only through the ledger"
    return found


class _Operation:
    """A Router operation on an in-memory ledger: the ledger's block, at whose end what the
    Router remembered of the operation (`memory`) is kept or put back (`end`). Entered again
    by the operations it runs (`route_many` routes each lead): only its outermost entry marks
    where it began, when a block was open before it. It holds its ledger strongly (the Router
    holds it; the ledger does not)."""

    __slots__ = ("_block", "_depth", "_ledger", "_mark", "_memory")

    def __init__(self, ledger: Ledger, memory: Undoable | None) -> None:
        self._ledger = ledger
        self._block = ledger._block
        self._memory = memory
        self._depth = 0
        self._mark: Mark | None = None

    def __enter__(self) -> None:
        block = self._block
        block.__enter__()
        if not self._depth:
            self._mark = savepoint(self._ledger, self._memory) if block.depth > 1 else None
        self._depth += 1

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        memory = self._memory
        try:
            self._depth -= 1
            if not self._depth and (kind is not None or (memory is not None and memory.pending)):
                end(self._ledger, memory, self._mark, kind is not None)
        finally:
            self._block.__exit__(kind, exc, tb)
