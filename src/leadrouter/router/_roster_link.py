"""A Router's side of the roster check a stored ledger makes around every operation."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from leadrouter.model import Rep
from leadrouter.roster import Roster
from leadrouter.stores.rosters import roster_key

__all__ = ["RosterLink"]


class RosterLink:
    """The roster of one Router as its ledger sees it (`leadrouter.ledger.RosterLink`): `get`
    gives the router's roster now, `use` makes another its roster (dropping what the router
    worked out for the one before). The digest is computed once per roster: `set_rep` and
    `adopt` make a new one."""

    __slots__ = ("_digest", "_get", "_use")

    def __init__(self, get: Callable[[], Roster], use: Callable[[Roster], None]) -> None:
        self._get = get
        self._use = use
        self._digest: tuple[Roster, str] | None = None

    def key(self) -> str:
        roster = self._get()
        cached = self._digest
        if cached is None or cached[0] is not roster:
            cached = self._digest = (roster, roster_key(self.reps()))
        return cached[1]

    def reps(self) -> tuple[Rep, ...]:
        return self._get().reps

    def adopt(self, reps: Sequence[Rep], key: str) -> None:
        """Route with the ledger's roster from now on, known by the ledger's digest of it (the
        reps read back from the log may differ in form, a tuple read back as a list, not in
        what they mean)."""
        roster = Roster(reps)
        self._digest = (roster, key)
        self._use(roster)
