"""Snapshots of a stored ledger's folded state: how they are written and checked before use.

A snapshot is a cache, never the truth: the event log is. It lets a process opening a long log
load the views as of a sequence number and fold only the events after it. So it is used only
when every check passes, and otherwise ignored (the caller folds the whole log and warns):

- `format` and `version`: written by this snapshot format and this very leadrouter version (the
  views' layout may change between versions without a schema change);
- `digest`: the SHA-256 of the bytes, so a torn or altered blob is caught before unpickling;
- unpickling is restricted to the few classes a ledger's views hold (times, leads, the views'
  own slotted records), so a blob written by anyone with access to the database cannot make
  this process run code;
- the caller then checks the snapshot against the log (its sequence number exists and the event
  count up to it matches), and `Ledger.verify()` compares the views with a full replay.

The serialisation is pickle (protocol 5) of the views' own containers: loading a 1,000,000-event
state takes about a second, where decoding and folding the events again takes thirty.
"""

from __future__ import annotations

import gc
import hashlib
import io
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

import attrs

import leadrouter
from leadrouter.ledger import _LeadState
from leadrouter.model import Lead

__all__ = ["FORMAT", "dump", "load", "paused_gc"]

FORMAT = 1
"""The layout of the pickled state; bump it when `Ledger._export_state` changes shape."""

_ALLOWED = frozenset(
    {
        ("datetime", "datetime"),
        ("datetime", "date"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("leadrouter._util", "FrozenMap"),
        ("leadrouter.model", "Lead"),
        ("leadrouter.ledger", "_RepState"),
        ("leadrouter.ledger", "_Starts"),
        ("leadrouter.stores.snapshot", "_zone"),
        ("leadrouter.stores.snapshot", "_lead"),
        ("leadrouter.stores.snapshot", "_lead_state"),
    }
)

def _setters(cls: type, names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(getattr(cls, name).__set__ for name in names)


_LEAD_FIELDS = tuple(field.name for field in attrs.fields(Lead))
_LEAD_SETTERS = _setters(Lead, _LEAD_FIELDS)
_STATE_FIELDS: tuple[str, ...] = _LeadState.__slots__
_STATE_SETTERS = _setters(_LeadState, _STATE_FIELDS)


def _fill(obj: Any, setters: tuple[Any, ...], values: tuple[Any, ...]) -> Any:
    for setter, value in zip(setters, values, strict=True):
        setter(obj, value)
    return obj


def _lead(values: tuple[Any, ...]) -> Lead:
    """A lead from its field values as a snapshot stores them: they were checked when the lead
    arrived, so they are set again as they are (attrs' own unpickling costs ten times more)."""
    lead: Lead = _fill(object.__new__(Lead), _LEAD_SETTERS, values)
    return lead


def _lead_state(values: tuple[Any, ...]) -> _LeadState:
    """A lead's place from its slots' values (a tuple pickles in a third of the time of the
    field-name mapping pickle keeps for a slotted object)."""
    state: _LeadState = _fill(object.__new__(_LeadState), _STATE_SETTERS, values)
    return state


def _reduce_lead(lead: Lead) -> tuple[Any, tuple[tuple[Any, ...]]]:
    return _lead, (tuple(getattr(lead, name) for name in _LEAD_FIELDS),)


def _reduce_lead_state(state: _LeadState) -> tuple[Any, tuple[tuple[Any, ...]]]:
    return _lead_state, (tuple(getattr(state, name) for name in _STATE_FIELDS),)


def _zone(key: str) -> ZoneInfo:
    """A time zone by name (how a snapshot stores one: by its key, not by ZoneInfo's reduce)."""
    return ZoneInfo(key)


def _reduce_zone(zone: ZoneInfo) -> tuple[Any, tuple[str]]:
    if zone.key is None:
        raise pickle.PicklingError("a time zone read from a file, not by name, cannot be stored")
    return _zone, (zone.key,)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a ledger's state")
        return super().find_class(module, name)


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection in the block (restored after): building the views of a long
    log makes millions of objects, none of them garbage, and every collection on the way would
    walk them all again (a third of the time of opening a 1,000,000-event ledger)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def dump(state: dict[str, Any], seq: int, events: int) -> dict[str, Any]:
    """The snapshot row of `state` (folded from `events` events, up to sequence `seq`)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.dispatch_table = {
        ZoneInfo: _reduce_zone,
        Lead: _reduce_lead,
        _LeadState: _reduce_lead_state,
    }
    pickler.dump(state)
    data = buffer.getvalue()
    return {
        "seq": seq,
        "events": events,
        "format": FORMAT,
        "version": leadrouter.__version__,
        "digest": hashlib.sha256(data).hexdigest(),
        "data": data,
    }


def load(row: dict[str, Any]) -> dict[str, Any] | str:
    """The state a snapshot row holds, or why it cannot be used (a sentence)."""
    if row["format"] != FORMAT or row["version"] != leadrouter.__version__:
        return (
            f"it was written by leadrouter {row['version']} (snapshot format {row['format']}), "
            f"not by this leadrouter {leadrouter.__version__} (format {FORMAT})"
        )
    data = bytes(row["data"])
    if hashlib.sha256(data).hexdigest() != row["digest"]:
        return "its bytes do not match their SHA-256 digest (the snapshot is corrupt)"
    try:
        with paused_gc():
            state = _Unpickler(io.BytesIO(data)).load()
    except Exception as exc:  # any failure to read a cache means: do not use it
        return f"it cannot be read ({type(exc).__name__}: {exc})"
    if not isinstance(state, dict) or state.get("events") != row["events"]:
        return "its content does not match its header (the snapshot is corrupt)"
    return state
