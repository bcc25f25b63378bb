"""The roster a stored ledger records: which reps the routers on one shared log route with.

Every Router operation on a stored ledger checks its roster against the one the log last
recorded (`StoredLedger.check_roster`), so two workers never route one team's leads by two
different teams. A row of kind `ROSTER` records a roster: its digest (`roster_key`), the reps
themselves and when (`codec.roster_text`). Rows written by leadrouters before the reps were
recorded hold the digest alone; they are read as they always were (a Router with that digest
routes, one with another is refused), only nothing can be taken up from them.

Because the log keeps every roster it recorded, a Router can tell "my roster was the ledger's
until another worker changed it (`set_rep`, `handover`, `use_roster`)" - it then takes up the
ledger's latest roster and goes on - from "my roster was never used here" (another deploy),
which is refused with the reps that differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from leadrouter.model import Rep
from leadrouter.stores.codec import rep_of

__all__ = ["ROSTER", "RosterLog", "roster_key"]

ROSTER = "_roster"
"""The kind of the log rows that record which roster the routers on this ledger use."""

_NAMED = 8
"""Reps named in a list of differences before the rest are counted."""


def _canonical(value: Any) -> str:
    """`repr` with sets and mappings in sorted order and lists like tuples: the same text in
    every process (a set's own repr follows string hashing, which differs per process), and for
    a rep read back from the log (where JSON made its tuples lists)."""
    if attrs.has(type(value)):
        fields = (
            f"{f.name}={_canonical(getattr(value, f.name))}" for f in attrs.fields(type(value))
        )
        return f"{type(value).__name__}({', '.join(fields)})"
    if isinstance(value, set | frozenset):
        return "{" + ", ".join(sorted(_canonical(item) for item in value)) + "}"
    if isinstance(value, Mapping):
        items = sorted(f"{_canonical(k)}: {_canonical(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_canonical(item) for item in value) + "]"
    return repr(value)


def roster_key(reps: Iterable[Rep]) -> str:
    """A digest of a roster (every rep's fields), equal in every process for equal rosters."""
    text = "\n".join(_canonical(rep) for rep in sorted(reps, key=lambda rep: rep.id))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class RosterLog:
    """The rosters one ledger's log recorded, as this process folded them: the latest (`key`,
    its reps when the row holds them, the row's sequence number `seq` and time `at`) and the
    keys of every roster recorded before it (`earlier`).

    `seq` is None for a row this process wrote and has not committed yet; `at` is None for a
    row of a leadrouter that did not record the time."""

    __slots__ = ("_data", "_reps", "at", "earlier", "key", "seq")

    def __init__(self, state: Mapping[str, Any] | None = None) -> None:
        state = state or {}
        self.key: str | None = state.get("key")
        self.seq: int | None = state.get("seq")
        self.at: datetime | None = state.get("at")
        self.earlier: set[str] = set(state.get("earlier", ()))
        self._data: list[dict[str, Any]] | None = state.get("reps")
        self._reps: tuple[Rep, ...] | None = None

    def state(self) -> dict[str, Any]:
        """What a snapshot keeps of it (plain data), for `RosterLog(state)`."""
        return {
            "key": self.key,
            "seq": self.seq,
            "at": self.at,
            "earlier": sorted(self.earlier),
            "reps": self._data,
        }

    def fold(self, seq: int | None, payload: Mapping[str, Any]) -> None:
        """Take in a roster row (a KeyError or ValueError for one without a digest)."""
        key = payload["key"]
        if not isinstance(key, str):
            raise ValueError(f"the roster's key is {key!r}, not a text")
        if self.key is not None and self.key != key:
            self.earlier.add(self.key)
        self.earlier.discard(key)
        reps = payload.get("reps")
        self.key, self.seq, self.at = key, seq, payload.get("at")
        self._data = reps if isinstance(reps, list) else None
        self._reps = None

    def reps(self) -> tuple[Rep, ...] | None:
        """The latest roster's reps; None when no roster was recorded, or only its digest, or
        reps this leadrouter cannot read (a rep field a newer one added)."""
        if self._reps is None and self._data is not None:
            try:
                self._reps = tuple(rep_of(data) for data in self._data)
            except (TypeError, ValueError):
                self._data = None
        return self._reps

    def mismatch(self, reps: Sequence[Rep], key: str, where: str) -> str:
        """Why a Router with `reps` (digest `key`) may not route on this ledger, and what to do:
        the message of its RosterMismatchError."""
        theirs = self.reps()
        recorded = ("by this process" if self.seq is None else f"at sequence number {self.seq}") + (
            "" if self.at is None else f" on {self.at.isoformat()}"
        )
        said = f"this Router's reps differ from those of ledger {where}, recorded {recorded}: "
        if theirs is None:
            said += (
                "which reps differ cannot be said, that roster was recorded by its digest alone "
                "(by an older leadrouter, or a rep profile JSON cannot hold)"
            )
        else:
            said += _differences(reps, theirs)
        if key in self.earlier:
            return said + (
                "; this Router's roster was the ledger's before, but the ledger's own cannot be "
                "taken up: record it with ledger.use_roster(reps) from a worker whose reps are "
                "right, or restart the workers with the same reps"
            )
        return said + (
            "; this roster was never used on this ledger (another deploy?): build every Router "
            "on one ledger with the same reps (ledger.roster() gives the ledger's), or, to make "
            "these the reps of every worker, call ledger.use_roster(new_reps) once"
        )


def _differences(ours: Sequence[Rep], theirs: Sequence[Rep]) -> str:
    """The reps two rosters disagree on, from the Router's side: the reps only it has, those
    only the ledger has, and for a rep in both the fields that differ."""
    mine = {rep.id: rep for rep in ours}
    ledger = {rep.id: rep for rep in theirs}
    parts = []
    only_mine = sorted(mine.keys() - ledger.keys())
    if only_mine:
        parts.append(f"only this Router has {_names(only_mine)}")
    only_ledger = sorted(ledger.keys() - mine.keys())
    if only_ledger:
        parts.append(f"only the ledger's roster has {_names(only_ledger)}")
    changed = [
        f"{rep_id} ({_fields_differing(mine[rep_id], ledger[rep_id])})"
        for rep_id in sorted(mine.keys() & ledger.keys())
        if _canonical(mine[rep_id]) != _canonical(ledger[rep_id])
    ]
    if changed:
        parts.append(f"changed {_names(changed)}")
    return "; ".join(parts)


def _fields_differing(mine: Rep, ledger: Rep) -> str:
    return ", ".join(
        f"{f.name}={here} here, {there} on the ledger"
        for f in attrs.fields(Rep)
        if (here := _canonical(getattr(mine, f.name)))
        != (there := _canonical(getattr(ledger, f.name)))
    )


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_NAMED])
    return shown if len(items) <= _NAMED else f"{shown} and {len(items) - _NAMED} more"
