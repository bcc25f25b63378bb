"""Events and decisions as JSON, for the SQL event log.

Every event type maps to a kind name and a JSON object holding its fields; times keep their
instant and, for an IANA zone, the zone's name, so a ledger read back from the database answers
exactly as the one that wrote it (`decode_event(encode_event(e)) == e`).
"""

from __future__ import annotations

import hashlib
import json
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
from leadrouter.model import Decision, Lead, Reason

__all__ = [
    "KINDS",
    "decode_decision",
    "decode_event",
    "encode_decision",
    "encode_event",
    "idempotency_key",
]

KINDS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (Arrived, Assigned, Claimed, Touched, Tagged, Converted, Released, Pooled)
}

_TIME, _DAY = "$t", "$d"


def _plain(value: Any, where: str) -> Any:
    """`value` as JSON data; times and dates become tagged objects."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        tz = value.tzinfo
        zone = tz.key if isinstance(tz, ZoneInfo) else None
        return {_TIME: value.isoformat(), "z": zone}
    if isinstance(value, date):
        return {_DAY: value.isoformat()}
    if isinstance(value, list | tuple):
        return [_plain(item, where) for item in value]
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    raise InvalidValueError(
        f"{where} holds {type(value).__name__} {value!r}, which a SQL ledger cannot store as "
        "JSON: keep lead features to text, numbers, booleans, times, lists and mappings"
    )


def _native(value: Any) -> Any:
    if isinstance(value, list):
        return [_native(item) for item in value]
    if isinstance(value, dict):
        if _TIME in value:
            at = datetime.fromisoformat(value[_TIME])
            zone = value.get("z")
            return at.astimezone(ZoneInfo(zone)) if zone else at
        if _DAY in value:
            return date.fromisoformat(value[_DAY])
        return {k: _native(v) for k, v in value.items()}
    return value


def _lead_fields(lead: Lead) -> dict[str, Any]:
    fields = {f.name: getattr(lead, f.name) for f in attrs.fields(Lead)}
    fields["features"] = dict(lead.features)
    return fields


def encode_event(event: Event) -> tuple[str, dict[str, Any]]:
    """(kind, JSON payload) of an event."""
    kind = type(event).__name__
    if type(event) is Arrived:
        fields = {"lead": _lead_fields(event.lead)}
    else:
        fields = {f.name: getattr(event, f.name) for f in attrs.fields(type(event))}
    return kind, _plain(fields, f"{kind} of lead {event.lead_id!r}")


def decode_event(kind: str, payload: dict[str, Any]) -> Event:
    """The event `encode_event` turned into (kind, payload)."""
    fields = _native(payload)
    cls = KINDS[kind]
    if cls is Arrived:
        return Arrived(Lead(**fields["lead"]))
    event: Event = cls(**fields)
    return event


def idempotency_key(event: Event) -> str | None:
    """A digest of what the CRM reported (a touch, tag or sale), so the same report sent twice
    is stored once; None for the events the router writes, which the per-lead state machine
    already keeps from repeating."""
    if not isinstance(event, Touched | Tagged | Converted):
        return None
    kind, payload = encode_event(event)
    text = json.dumps([kind, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def encode_decision(decision: Decision) -> dict[str, Any]:
    """A routing decision as JSON data (for retries routed by another process)."""
    data = {f.name: getattr(decision, f.name) for f in attrs.fields(Decision)}
    data["reasons"] = [
        {"code": r.code, "detail": r.detail, "reps": sorted(r.reps), "rule": r.rule}
        for r in decision.reasons
    ]
    data["scores"] = dict(decision.scores)
    result: dict[str, Any] = _plain(data, f"decision for lead {decision.lead_id!r}")
    return result


def decode_decision(payload: dict[str, Any]) -> Decision:
    data = _native(payload)
    data["reasons"] = tuple(Reason(**r) for r in data["reasons"])
    return Decision(**data)
