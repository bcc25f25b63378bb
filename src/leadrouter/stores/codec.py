"""Events and decisions as JSON, for the SQL event log.

Every event type maps to a kind name and a JSON object holding its fields; times keep their
instant and, for an IANA zone, the zone's name, so a ledger read back from the database answers
exactly as the one that wrote it (`decode_event(encode_event(e)) == e`).
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from leadrouter.errors import InvalidValueError
from leadrouter.events import (
    Arrived,
    Assigned,
    Claimed,
    Converted,
    Event,
    Pooled,
    Released,
    Tagged,
    Touched,
)
from leadrouter.model import Decision, Lead, Reason, Rep

__all__ = [
    "KINDS",
    "decision_text",
    "decode_decision",
    "decode_event",
    "encode_event",
    "event_of",
    "event_text",
    "idempotency_key",
    "loads",
    "rep_data",
    "rep_of",
    "roster_text",
    "same_row",
]

KINDS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (Arrived, Assigned, Claimed, Touched, Tagged, Converted, Released, Pooled)
}

_TIME, _DAY = "$t", "$d"


def _tag(value: Any) -> Any:
    """A time or date as its tagged JSON object, another mapping as a dict; TypeError for
    anything else JSON cannot hold (the `default` of `json.dumps`)."""
    if isinstance(value, datetime):
        tz = value.tzinfo
        return {_TIME: value.isoformat(), "z": tz.key if isinstance(tz, ZoneInfo) else None}
    if isinstance(value, date):
        return {_DAY: value.isoformat()}
    if hasattr(value, "items"):
        return dict(value.items())
    raise TypeError(type(value).__name__)


def _plain(value: Any, where: str) -> Any:
    """`value` as JSON data; times and dates become tagged objects. Anything JSON cannot hold
    is an InvalidValueError naming where it sits."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidValueError(
            f"{where} is {value!r}, which JSON cannot hold (PostgreSQL refuses it): leave the "
            "feature out, or give None for a value not known"
        )
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(item, where) for item in value]
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    try:
        return _tag(value)
    except TypeError:
        raise InvalidValueError(
            f"{where} holds {type(value).__name__} {value!r}, which a SQL ledger cannot store "
            "as JSON: keep lead features to text, numbers, booleans, times, lists and mappings"
        ) from None


_ENCODER = json.JSONEncoder(default=_tag, allow_nan=False)
"""One encoder for every write: `json.dumps(value, default=...)` would build one per call (a
third of the cost of encoding an event)."""


def _dumps(value: Any, where: str) -> str:
    """`value` as JSON text, times and dates tagged: `json.dumps(_plain(value, where))` in one
    pass of the C encoder."""
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError):
        _plain(value, where)  # raises the error that says where
        raise


def _untag(data: dict[str, Any]) -> Any:
    """A tagged JSON object as the time or date it stands for; any other object as it is (the
    `object_hook` of `json.loads`)."""
    if _TIME in data:
        at = datetime.fromisoformat(data[_TIME])
        zone = data.get("z")
        return at.astimezone(ZoneInfo(zone)) if zone else at
    if _DAY in data:
        return date.fromisoformat(data[_DAY])
    return data


_DECODER = json.JSONDecoder(object_hook=_untag)


def loads(text: str | bytes) -> Any:
    """JSON text written by this codec as Python data, tagged times and dates as themselves.

    One decoder serves every read: `json.loads(text, object_hook=...)` would build one per call
    (half the cost of reading an event)."""
    return _DECODER.decode(text.decode() if isinstance(text, bytes) else text)


def same_row(mark: tuple[str, Any] | None, kind: str, payload: dict[str, Any]) -> bool:
    """Whether the log's row (`kind`, `payload`) is the one `mark` was kept of: the same kind
    and payload (a mark written by this process holds its JSON text, one read holds the
    payload). The one test of "is this still the log I read": a running worker applies it to
    its last row before catching up (`StoredLedger._continued`), a worker opening the ledger to
    the row a snapshot was taken after (`Snapshots.load`). None (no row read) matches no row."""
    if mark is None:
        return False
    known, text = mark
    return kind == known and payload == (loads(text) if isinstance(text, str) else text)


def _native(value: Any) -> Any:
    """JSON data (as `encode_event` makes it) as Python data, as `loads` returns it."""
    if isinstance(value, list):
        return [_native(item) for item in value]
    if isinstance(value, dict):
        return _untag({k: _native(v) for k, v in value.items()})
    return value


def _lead_fields(lead: Lead) -> dict[str, Any]:
    fields = {f.name: getattr(lead, f.name) for f in attrs.fields(Lead)}
    fields["features"] = dict(lead.features)
    return fields


def _fields(event: Event) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of an event, its times and mappings as they are."""
    if type(event) is Arrived:
        return "Arrived", {"lead": _lead_fields(event.lead)}
    fields = {f.name: getattr(event, f.name) for f in attrs.fields(type(event))}
    return type(event).__name__, fields


def encode_event(event: Event) -> tuple[str, dict[str, Any]]:
    """(kind, JSON payload) of an event."""
    kind, fields = _fields(event)
    return kind, _plain(fields, f"{kind} of lead {event.lead_id!r}")


def event_text(event: Event) -> tuple[str, str]:
    """(kind, JSON text) of an event: the JSON text of `encode_event`'s payload."""
    kind, fields = _fields(event)
    return kind, _dumps(fields, f"{kind} of lead {event.lead_id!r}")


def event_of(kind: str, fields: dict[str, Any]) -> Event:
    """The event of this kind with these fields, as `loads` returns them."""
    cls = KINDS[kind]
    if cls is Arrived:
        return Arrived(Lead(**fields["lead"]))
    event: Event = cls(**fields)
    return event


def decode_event(kind: str, payload: dict[str, Any]) -> Event:
    """The event `encode_event` turned into (kind, payload)."""
    return event_of(kind, _native(payload))


def _canonical(value: Any) -> str:
    """JSON data as one text with sorted keys and no spaces: equal data, equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def lead_text(lead: Lead) -> str:
    """A lead as its log stores it, as one canonical JSON text: two leads with the same text
    are the same stored lead, whatever JSON changed (a tuple read back as a list, integer keys
    as strings)."""
    return _canonical(encode_event(Arrived(lead))[1])


def idempotency_key(event: Event) -> str | None:
    """A digest of what the CRM reported (a touch, tag or sale), so the same report sent twice
    is stored once; None for the events the router writes, which the per-lead state machine
    already keeps from repeating."""
    if not isinstance(event, Touched | Tagged | Converted):
        return None
    return hashlib.sha256(_canonical(list(encode_event(event))).encode()).hexdigest()[:32]


def rep_data(rep: Rep) -> dict[str, Any]:
    """A rep as JSON data, as the log stores a roster: its fields by name, sets as sorted
    lists, the profile as an object (its values as a lead's features are stored). A value
    JSON cannot hold is an InvalidValueError naming the rep."""
    fields = {f.name: getattr(rep, f.name) for f in attrs.fields(Rep)}
    fields = {k: sorted(v) if isinstance(v, frozenset) else v for k, v in fields.items()}
    data: dict[str, Any] = _plain(fields, f"rep {rep.id!r}")
    return data


def rep_of(data: dict[str, Any]) -> Rep:
    """The rep `rep_data` stored, from data as `loads` returns it."""
    return Rep(**data)


def roster_text(key: str, reps: list[Rep], at: datetime) -> str:
    """The payload of a log row recording a roster: its digest `key`, its reps and when it was
    recorded. A roster JSON cannot hold (a profile value that is an object of the caller's) is
    recorded by its digest alone, as leadrouters before the reps were recorded did: a Router
    with that roster routes as before, one with another roster cannot take it up."""
    try:
        reps_data: list[dict[str, Any]] | None = [rep_data(rep) for rep in reps]
    except InvalidValueError:
        reps_data = None
    row = {"key": key, "at": at} if reps_data is None else {"key": key, "reps": reps_data, "at": at}
    return _dumps(row, "roster")


def decision_text(decision: Decision) -> str:
    """A routing decision as JSON text (for retries routed by another process)."""
    data = {f.name: getattr(decision, f.name) for f in attrs.fields(Decision)}
    data["reasons"] = [
        {"code": r.code, "detail": r.detail, "reps": sorted(r.reps), "rule": r.rule}
        for r in decision.reasons
    ]
    return _dumps(data, f"decision for lead {decision.lead_id!r}")


def decode_decision(data: dict[str, Any]) -> Decision:
    """The decision `decision_text` wrote, from its text read with `loads`."""
    data = dict(data)
    data["reasons"] = tuple(Reason(**r) for r in data["reasons"])
    return Decision(**data)
