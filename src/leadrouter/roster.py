"""The roster: the reps a router knows, as an immutable snapshot.

Rules and strategies cache per roster (eligible sets by region, shifts by time), so a roster is
never mutated: the router swaps in a new one when a rep joins, leaves or changes.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from leadrouter.errors import ConfigError, UnknownRepError
from leadrouter.model import Rep

__all__ = ["Roster"]


class Roster(Mapping[str, Rep]):
    """Reps by id (inactive ones included), with every rep and the active ones precomputed."""

    __slots__ = ("_reps", "active", "active_ids", "cache", "reps")

    def __init__(self, reps: Iterable[Rep]) -> None:
        table: dict[str, Rep] = {}
        for rep in reps:
            if not isinstance(rep, Rep):
                raise ConfigError(f"the roster takes Rep objects, got {type(rep).__name__} {rep!r}")
            if rep.id in table:
                raise ConfigError(
                    f"rep id {rep.id!r} appears twice in the roster: ids must be unique"
                )
            table[rep.id] = rep
        self._reps = table
        self.reps: tuple[Rep, ...] = tuple(table.values())
        """Every rep, inactive ones included, in roster order: what `Router.reps` and the
        roster a stored ledger records read, built once per roster rather than per call."""
        self.active: tuple[Rep, ...] = tuple(rep for rep in self.reps if rep.active)
        self.active_ids: frozenset[str] = frozenset(rep.id for rep in self.active)
        self.cache: dict[Any, Any] = {}
        """Per-roster memo for rules and strategies; discarded with the roster."""

    def __getitem__(self, rep_id: str) -> Rep:
        try:
            return self._reps[rep_id]
        except KeyError:
            raise UnknownRepError(self._unknown(rep_id)) from None

    def _unknown(self, rep_id: str) -> str:
        """What an unknown rep id is wrong in. Most often the CRM sent the id mistyped or in
        another case, so the closest ids on the roster come first: told only "add it with
        set_rep", a caller would put the typo on the roster of every worker of the ledger."""
        ids = sorted(self._reps)
        folded = {rep.casefold(): rep for rep in ids}
        close = difflib.get_close_matches(str(rep_id).casefold(), list(folded), 3, 0.5)
        meant = f" (did you mean {' or '.join(repr(folded[c]) for c in close)}?)" if close else ""
        known = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        return (
            f"rep {rep_id!r} is not on the roster{meant}; its reps are {known or 'none'}: "
            "send the id as the roster has it, or add a rep who joined with "
            "Router.set_rep(Rep(...)) first"
        )

    def get(self, rep_id: str, default: Rep | None = None) -> Rep | None:  # type: ignore[override]
        """The Rep with this id, else `default`: as a mapping's `get`, never an error."""
        return self._reps.get(rep_id, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._reps)

    def __len__(self) -> int:
        return len(self._reps)

    def __contains__(self, rep_id: object) -> bool:
        return rep_id in self._reps

    def replace(self, rep: Rep) -> Roster:
        """A new roster with `rep` added, or replacing the rep with the same id."""
        table = dict(self._reps)
        table[rep.id] = rep
        return Roster(table.values())

    def subset(self, rep_ids: Iterable[str]) -> tuple[Rep, ...]:
        """The reps with these ids, in roster order."""
        wanted = set(rep_ids)
        return tuple(rep for rep in self._reps.values() if rep.id in wanted)
