"""LedgerMemo: the one place where strategies and caps keep what they derive from a ledger.

Strategies and caps are configuration: frozen, compared and hashed by their settings, shared by
many routers, pickled to worker processes. What they compute from a ledger (today's weights,
today's learnt rates, the reps already at today's cap, a rep's latest forecast fit) is a cache
beside that configuration, kept here:

- **Per ledger.** Entries are held by a weak reference to the ledger, so a strategy serving many
  routers keeps one entry per ledger and a dropped ledger frees its entry. A ledger that cannot
  be weakly referenced is served uncached (correct, only slower).
- **Per day, when asked.** An entry stored with a `day` is returned only for that day, so
  "today's" values are recomputed on the first lead of the next day.
- **Never stale.** An entry also records the ledger's `generation` (a counter a ledger bumps
  when it rebuilds its views from its log, e.g. a SQL ledger after a rolled-back operation):
  an entry from before a rebuild is not returned.
- **Not state.** A memo copies, deep-copies and pickles as empty, so a strategy sent to another
  process (a Dask worker, a process pool) arrives as its configuration, and two strategies
  with the same settings stay equal whatever they have cached.

Thread-safety, one rule for everything derived from a ledger (these entries, and the indexes a
ledger keeps beside its own views to answer the next read faster): it is read and written only
inside an operation on that ledger, and one ledger's operations run one at a time. A Router
serialises its operations on its lock (for a stored ledger, also in one transaction), and each
ledger has one router (docs/embedding.md, "Threads"); so one ledger's entry is never touched by
two threads at once and needs no lock of its own. A strategy shared by routers over different
ledgers, in different threads, touches one memo but each thread its own entry: getting or
storing an entry is one operation on a dictionary keyed by the ledger, atomic in CPython, as is
the removal of the entry of a ledger that was dropped. Reading a ledger from another thread
while its router works is outside the rule: even a ledger's reads update its indexes.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["LedgerMemo"]

T = TypeVar("T")
_ANY_DAY: Hashable = object()


class LedgerMemo(Generic[T]):
    """A cache of one value per ledger (and day): see the module docstring.

    Entries are filed by the ledger's `id` beside a weak reference to it, which both confirms
    the ledger (an id is reused only after its object is gone) and, through its callback,
    drops the entry when the ledger goes: a lookup is one dictionary get and one reference
    call, cheap enough for caps and strategies that ask on every lead.
    """

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[Any], int, Hashable, T]] = {}

    def get(self, ledger: Any, day: Hashable = _ANY_DAY) -> T | None:
        """The value stored for `ledger` (and `day`), or None."""
        entry = self._entries.get(id(ledger))
        if (
            entry is None
            or entry[0]() is not ledger
            or entry[1] != getattr(ledger, "generation", 0)  # `_generation`, asked on every lead
            or entry[2] != day
        ):
            return None
        return entry[3]

    def put(self, ledger: Any, value: T, day: Hashable = _ANY_DAY) -> T:
        """Store `value` for `ledger` (and `day`) and return it; a ledger that cannot be weakly
        referenced stores nothing."""
        entries, key = self._entries, id(ledger)
        entry = entries.get(key)
        if entry is not None and entry[0]() is ledger:
            ref = entry[0]
        else:
            try:
                ref = weakref.ref(ledger, _forget(entries, key))
            except TypeError:
                return value
        entries[key] = (ref, _generation(ledger), day, value)
        return value

    def setdefault(self, ledger: Any, make: Callable[[], T], day: Hashable = _ANY_DAY) -> T:
        """The value stored for `ledger` (and `day`), made with `make()` and stored when
        there is none."""
        found = self.get(ledger, day)
        return self.put(ledger, make(), day) if found is None else found

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]

    def __copy__(self) -> LedgerMemo[T]:
        return LedgerMemo()

    def __deepcopy__(self, memo: dict[int, Any]) -> LedgerMemo[T]:
        return LedgerMemo()

    def __repr__(self) -> str:
        return f"LedgerMemo({len(self._entries)} ledgers)"


def _forget(entries: dict[int, Any], key: int) -> Callable[[Any], None]:
    """The callback that drops a ledger's entry when the ledger is gone (called before its id
    can be given to another object)."""

    def forget(_: Any) -> None:
        entries.pop(key, None)

    return forget


def _generation(ledger: Any) -> int:
    generation: int = getattr(ledger, "generation", 0)
    return generation
