"""All or nothing: a block of writes on a ledger (a Router operation, or a caller's own
`with ledger.transaction():` around several) keeps all of its events or none, and what the
Routers remember beside the ledger about the operations in it (their decision logs, their
rosters) goes back with the events.

The ledger's side of this is the same for the in-memory and the stored ledger: an operation
ending hands what its Router remembered to the ledger (`keep`), and the end of the outermost
block, which commits or rolls back, lets it go or puts it back (`settle`). So an operation
nested in a caller's block is rolled back, and forgotten, with the block, never alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from leadrouter.ledger import Ledger


class Undoable(Protocol):
    """What a Router keeps beside the ledger about its operations (its decision log and its
    roster), put back when the block they ran in is rolled back. `pending` is non-empty while an
    operation of the open block changed something to put back (one test of an empty list: the
    usual operation pays nothing more); `undo` puts it back and empties it."""

    pending: list[Any]

    def undo(self, ledger: Ledger) -> None: ...


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
    rolls back, and then `settle`s. One object per ledger, entered again for each block."""

    __slots__ = ("_ledger", "_mark", "depth")

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._mark = 0
        self.depth = 0
        """How many blocks are open (all on the thread that holds the ledger's lock)."""

    def __enter__(self) -> None:
        ledger = self._ledger
        ledger._thread_lock.acquire()
        if not self.depth:
            self._mark = len(ledger._events)
        self.depth += 1

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        ledger = self._ledger
        try:
            self.depth -= 1
            if not self.depth:
                kept = detach(ledger)
                if kind is not None and len(ledger._events) > self._mark:
                    ledger._roll_back(self._mark)
                if kept:
                    settle(kept, ledger, kind is not None)
        finally:
            ledger._thread_lock.release()


class _Operation:
    """A Router operation on an in-memory ledger: the ledger's block, at whose end what the
    Router remembered of the operation (`memory`) is kept or put back (`keep`)."""

    __slots__ = ("_block", "_ledger", "_memory")

    def __init__(self, ledger: Ledger, memory: Undoable | None) -> None:
        self._ledger = ledger
        self._block = ledger._block
        self._memory = memory

    def __enter__(self) -> None:
        self._block.__enter__()

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        memory = self._memory
        try:
            if memory is not None and (kind is not None or memory.pending):
                keep(memory, self._ledger, kind is not None)
        finally:
            self._block.__exit__(kind, exc, tb)
