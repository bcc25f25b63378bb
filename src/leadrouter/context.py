"""The one state object every rule and strategy call receives.

Rules and strategies hold configuration only; everything they may read about the world arrives
in a `Context`: the lead, the roster, the ledger view, the time, the seed, and (for strategies)
the eligible reps and a cap check. One object per lead keeps calls cheap and signatures stable.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from leadrouter._util import stable_key
from leadrouter.model import Lead, Rep
from leadrouter.roster import Roster

if TYPE_CHECKING:
    from leadrouter.ledger import LedgerView

__all__ = ["Context", "TickContext"]


def _always(rep_id: str) -> bool:
    return True


class Context:
    """What a rule or strategy may read while the router decides about one lead.

    `ids` are the reps eligible for the lead after every rule (set by the router before the
    strategy runs); `can_take(rep_id)` says whether every cap lets that rep take one more lead
    now. `rng` is a random generator keyed by (seed, lead id), so a randomised strategy draws the
    same numbers for the same lead however many leads came before it.
    """

    __slots__ = ("__weakref__", "_rng", "can_take", "ids", "lead", "now", "roster", "seed", "view")

    lead: Lead
    roster: Roster
    view: LedgerView
    now: datetime
    seed: int
    ids: frozenset[str]
    can_take: Callable[[str], bool]

    def __init__(
        self,
        lead: Lead,
        roster: Roster,
        view: LedgerView,
        now: datetime,
        seed: int = 0,
        ids: frozenset[str] | None = None,
        can_take: Callable[[str], bool] = _always,
    ) -> None:
        self.lead = lead
        self.roster = roster
        self.view = view
        self.now = now
        self.seed = seed
        self.ids: frozenset[str] = roster.active_ids if ids is None else ids
        self.can_take = can_take
        self._rng: random.Random | None = None

    @property
    def rng(self) -> random.Random:
        """A generator seeded by (router seed, lead id): same lead, same draws."""
        if self._rng is None:
            self._rng = random.Random(stable_key(self.seed, self.lead.id))
        return self._rng

    @property
    def reps(self) -> tuple[Rep, ...]:
        """The eligible reps as Rep objects, in roster order."""
        cache = self.roster.cache
        key = ("reps", self.ids)
        found: tuple[Rep, ...] | None = cache.get(key)
        if found is None:
            found = cache[key] = self.roster.subset(self.ids)
        return found

    def rep(self, rep_id: str) -> Rep:
        """The Rep with this id (UnknownRepError if it is not on the roster)."""
        return self.roster[rep_id]


class TickContext:
    """What a strategy's `tick` may read: the roster, the ledger view, the time and the seed."""

    __slots__ = ("now", "roster", "seed", "view")

    roster: Roster
    view: LedgerView
    now: datetime
    seed: int

    def __init__(self, roster: Roster, view: LedgerView, now: datetime, seed: int = 0) -> None:
        self.roster = roster
        self.view = view
        self.now = now
        self.seed = seed
