"""Time zones as people say them: the lowest layer of the simulator, so every part that shows a
zone (the report, `leadrouter inspect`) says it the same way."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

from leadrouter.model import zone

__all__ = ["zone_label"]

_OFFSET_ONLY = re.compile(r"^(Etc/)?(GMT|UTC|UCT|Zulu|Universal|Greenwich)([+-]?\d{1,2})?$|^GMT0$")
"""Names that only encode an offset (Etc/GMT-8, UTC, Zulu ...): shown as the offset alone."""


def _offset(delta: timedelta | None, zero: str) -> str:
    minutes = round((delta or timedelta(0)).total_seconds() / 60)
    if minutes == 0:
        return zero
    hours, rest = divmod(abs(minutes), 60)
    sign = "+" if minutes > 0 else "-"
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_label(tz: str | tzinfo, at: datetime, until: datetime | None = None) -> str:
    """A time zone as people say it: the UTC offset at `at`, then the zone's name when it names
    a place - "UTC+8 (Asia/Shanghai)", "UTC-5 (America/New_York)" in January and "UTC-4
    (America/New_York)" in July - or the offset alone for a name that only encodes one:
    "Etc/GMT-8" is "UTC+8" (the Etc/GMT names carry the POSIX sign, the inverse of the usual),
    "UTC" is "UTC". A zone whose offset differs at `until` shows both: "UTC-5/UTC-4
    (America/New_York)", so a history across a daylight-saving change says so.

    The rule is the offset at a stated instant (the report passes a history's first and last
    arrival) because a zone with daylight saving has no single offset. `tz` is an IANA name (as
    `History.tz`) or a tzinfo; an unknown name raises ConfigError (from `leadrouter.model.zone`).
    """
    where = zone(tz) if isinstance(tz, str) else tz
    name = tz if isinstance(tz, str) else str(getattr(tz, "key", ""))
    place = bool(name) and not _OFFSET_ONLY.match(name)
    zero = "UTC+0" if place else "UTC"
    offsets = [_offset(at.astimezone(where).utcoffset(), zero)]
    if until is not None:
        last = _offset(until.astimezone(where).utcoffset(), zero)
        if last != offsets[0]:
            offsets.append(last)
    shown = "/".join(offsets)
    return f"{shown} ({name})" if place else shown
