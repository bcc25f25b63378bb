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
- the caller then checks the snapshot against the log (its sequence number exists, the event
  count up to it matches, and the row there is the one the state says it was taken after, so a
  log restored from a backup and grown back past it is not taken for the log it was folded
  from), and `Ledger.verify()` compares the views with a full replay.

The serialisation is pickle (protocol 5) of the views' own containers, with leads and their
places as tuples of field values: on this machine a 1,000,000-event state loads in about 2.5 s,
where decoding and folding the events again takes 15 to 30 s, and is written in about 8 s
(benchmarks/bench_store.py --open; docs/stores.md).
"""

from __future__ import annotations

import gc
import hashlib
import io
import os
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from leadrouter._version import __version__
from leadrouter.ledger._state import _LeadState
from leadrouter.model import Lead

__all__ = ["FORMAT", "dump", "dump_apart", "load", "paused_gc"]

FORMAT = 7
"""The layout of the pickled state and the fold that made it; bump it when
`Ledger._export_state` changes shape, a class it holds moves to another module, or the fold
changes what it keeps (a snapshot of the old fold would otherwise be trusted, and its views
differ from a replay's). tests/test_store.py keeps a digest of the fold beside this number.
5: the state's "roster" holds the ledger's rosters (`rosters.RosterLog.state`: the reps, the
row that recorded them, the earlier digests), where 4 held the latest digest. 6: the state's
"mark" holds the kind and payload of the log's row the snapshot was taken after. 7: a rep's
touch delays are elapsed time, where 6 took a lead held and touched in one named zone across a
daylight-saving change by its wall clocks (an hour off, or negative)."""

_ALLOWED = frozenset(
    {
        ("datetime", "datetime"),
        ("datetime", "date"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("leadrouter._util", "FrozenMap"),
        ("leadrouter.model", "Lead"),
        ("leadrouter.ledger._state", "_RepState"),
        ("leadrouter.ledger._state", "_Starts"),
        ("leadrouter.stores.snapshot", "_zone"),
        ("leadrouter.stores.snapshot", "_lead"),
        ("leadrouter.stores.snapshot", "_lead_state"),
    }
)

_LEAD_FIELDS = (
    "id",
    "arrived_at",
    "source",
    "region",
    "product",
    "segment",
    "grade",
    "score",
    "contact",
    "cost",
    "features",
)
_STATE_FIELDS = (
    "claimed_from",
    "first_touch",
    "held_since",
    "last_holder",
    "lead",
    "placed_at",
    "pool",
    "reached",
    "rep",
    "status",
    "tag_reason",
    "verdict",
)
if (
    tuple(f.name for f in attrs.fields(Lead)) != _LEAD_FIELDS
    or tuple(_LeadState.__slots__) != _STATE_FIELDS
):  # the restoring functions below name every field: they must follow any change
    raise ImportError("leadrouter.stores.snapshot is out of date with Lead or _LeadState")

# the frozen Lead refuses attribute assignment; its slots' own setters do not
(
    _set_id,
    _set_arrived_at,
    _set_source,
    _set_region,
    _set_product,
    _set_segment,
    _set_grade,
    _set_score,
    _set_contact,
    _set_cost,
    _set_features,
) = (getattr(Lead, name).__set__ for name in _LEAD_FIELDS)


def _lead(v: tuple[Any, ...]) -> Lead:
    """A lead from its field values as a snapshot stores them: they were checked when the lead
    arrived, so they are set again as they are (attrs' own unpickling costs ten times more,
    and loading the leads is most of loading a snapshot)."""
    lead: Lead = object.__new__(Lead)
    _set_id(lead, v[0])
    _set_arrived_at(lead, v[1])
    _set_source(lead, v[2])
    _set_region(lead, v[3])
    _set_product(lead, v[4])
    _set_segment(lead, v[5])
    _set_grade(lead, v[6])
    _set_score(lead, v[7])
    _set_contact(lead, v[8])
    _set_cost(lead, v[9])
    _set_features(lead, v[10])
    return lead


def _lead_state(v: tuple[Any, ...]) -> _LeadState:
    """A lead's place from its slots' values (a tuple loads several times faster than the
    field-name mapping pickle keeps for a slotted object)."""
    s: _LeadState = object.__new__(_LeadState)
    (
        s.claimed_from,
        s.first_touch,
        s.held_since,
        s.last_holder,
        s.lead,
        s.placed_at,
        s.pool,
        s.reached,
        s.rep,
        s.status,
        s.tag_reason,
        s.verdict,
    ) = v
    return s


_lead_values = attrgetter(*_LEAD_FIELDS)
_state_values = attrgetter(*_STATE_FIELDS)


def _reduce_lead(lead: Lead) -> tuple[Any, tuple[tuple[Any, ...]]]:
    return _lead, (_lead_values(lead),)


def _reduce_lead_state(state: _LeadState) -> tuple[Any, tuple[tuple[Any, ...]]]:
    return _lead_state, (_state_values(state),)


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
    with paused_gc():
        pickler.dump(state)
    data = buffer.getvalue()
    return {
        "seq": seq,
        "events": events,
        "format": FORMAT,
        "version": __version__,
        "digest": hashlib.sha256(data).hexdigest(),
        "data": data,
    }


def dump_apart(state: dict[str, Any], seq: int, events: int) -> Callable[[], dict[str, Any]]:
    """Start `dump(state, seq, events)` in a child process; returns the function that waits for
    its row (raising ChildProcessError if the child failed).

    The child is forked, so it holds a copy-on-write copy of `state` exactly as it is now,
    while this process goes on changing its own (the next operations run at once, not after
    seconds of pickling). The child only pickles, hashes and writes the row to a pipe, then
    exits without running this process's cleanup: it touches no database connection, lock or
    file this process holds. Where there is no `fork` (Windows) the dump runs here and now."""
    if not hasattr(os, "fork"):
        row = dump(state, seq, events)
        return lambda: row
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        status = 1
        try:
            os.close(readable)
            try:
                found: tuple[str, Any] = ("row", dump(state, seq, events))
            except Exception as exc:  # told to the parent, which warns
                found = ("error", f"{type(exc).__name__}: {exc}")
            with open(writable, "wb") as pipe:
                pickle.dump(found, pipe, protocol=5)
            status = 0
        finally:
            os._exit(status)
    os.close(writable)

    def result() -> dict[str, Any]:
        with open(readable, "rb") as pipe:
            sent = pipe.read()
        _, status = os.waitpid(pid, 0)
        if not sent:
            raise ChildProcessError(f"the process dumping it ended (wait status {status})")
        kind, value = pickle.loads(sent)  # from this process's own child, over its own pipe
        if kind != "row":
            raise ChildProcessError(f"the process dumping it failed: {value}")
        return dict(value)

    return result


def load(row: dict[str, Any], keys: frozenset[str]) -> dict[str, Any] | str:
    """The state (a mapping with exactly `keys`) a snapshot row holds, or why it cannot be used
    (a sentence)."""
    if row["version"] == __version__ and row["format"] != FORMAT:
        return (
            f"it was written in snapshot format {row['format']}, which this leadrouter "
            f"{__version__} no longer reads (it writes format {FORMAT})"
        )
    if row["format"] != FORMAT or row["version"] != __version__:
        return (
            f"it was written by leadrouter {row['version']} (snapshot format {row['format']}), "
            f"not by this leadrouter {__version__} (format {FORMAT})"
        )
    data = bytes(row["data"])
    if hashlib.sha256(data).hexdigest() != row["digest"]:
        return "its bytes do not match their SHA-256 digest (the snapshot is corrupt)"
    try:
        with paused_gc():
            state = _Unpickler(io.BytesIO(data)).load()
    except Exception as exc:  # any failure to read a cache means: do not use it
        return f"it cannot be read ({type(exc).__name__}: {exc})"
    if not isinstance(state, dict) or state.keys() != keys or state["events"] != row["events"]:
        return "its content does not match its header (the snapshot is corrupt)"
    return state
