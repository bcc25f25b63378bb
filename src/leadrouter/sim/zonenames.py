"""Time-zone names written after a time, as US CRMs, Outlook and many web tools write them:
`1/5/2026 9:15 AM EST`, `2026-01-05 09:15 CET`, `Jan 5, 2026 9:15 PM PDT`.

A name is read as the UTC offset the tz database gives it, and only when that is one offset:
`EST` is UTC-05:00 wherever it is written, but `CST` is US Central (UTC-06:00), China
(UTC+08:00) and Cuba (UTC-05:00), `PST` both US Pacific and the Philippines, `IST` India, Israel
and Ireland. Such a name is read when the `tz` given writes it (`tz="America/Chicago"` settles
`CST` and `CDT` as US Central); otherwise its row is rejected with the meanings and the fix,
never read as one of them by guess. The tz database, not a list kept here, says which names
exist and what they mean, so a name keeps the meaning the zones on this machine give it.

A name is also checked against its date: `EDT` on January 5 is written by no zone that day (New
York writes `EST` then). The time is read as written, UTC-04:00, and `History.flagged` says so
once per column (`out_of_season`), since the CRM's zone setting is probably wrong. `EST` in July
is not flagged: Panama and Jamaica write `EST` all year.

A tz database key after a time names the zone itself: `2025-03-03 09:15 America/New_York`,
`(America/New_York)`, or in brackets after an offset as RFC 9557, Java and JavaScript's Temporal
write it (`2025-03-03T09:15-05:00[America/New_York]`). A time without an offset is that zone's
local time, and one that zone's clocks skip or repeat is rejected, since the cell does not say
which moment it is; an offset the zone does not keep at that moment is rejected as a
contradiction. Anything else in brackets or parentheses after a time is rejected too, unless an
offset precedes it (a JavaScript date's `GMT-0500 (Eastern Standard Time)`): what a cell says of
its zone is read or refused, never dropped.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones

__all__ = [
    "in_zone",
    "named_zone",
    "out_of_season",
    "season_note",
    "unknown_zone",
    "without_zone_name",
    "written_offset",
    "zone_key",
    "zone_writing",
]

_NAME = re.compile(r"(?:(?<=\d)|(?<=[aApP][mM])|(?<=[aApP]\.[mM]\.))\s*([A-Z]{3,5})$")
"""A zone name in capitals closing a time (`9:15 AM EST`, `09:15CET`)."""
_READ_ELSEWHERE = frozenset({"GMT", "UTC"})
"""Names the date reader itself reads (`leadrouter.sim.dates`: `GMT` alone is UTC)."""
_YEARS = (2025, 2026)
"""The years whose names are taken from the tz database: names change rarely, and a name no zone
writes now (`CWT`, Central War Time) is no name a CRM writes."""
_SHOWN = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Havana", "Asia/Manila", "Asia/Shanghai", "Asia/Kolkata", "Asia/Jerusalem",
    "Europe/Dublin", "Europe/London", "Europe/Paris",
)  # fmt: skip
"""The zone named for an offset when several write it: the best known, else the first by
name."""


@functools.cache
def _names() -> dict[str, dict[int, frozenset[str]]]:
    """Each name of capital letters the tz database writes in `_YEARS`, with the zones that
    write it at each offset (minutes east of UTC), read at noon on every month's 15th."""
    names: dict[str, dict[int, set[str]]] = {}
    for key in available_timezones():
        zone = ZoneInfo(key)
        for year in _YEARS:
            for month in range(1, 13):
                moment = datetime(year, month, 15, 12, tzinfo=zone)
                name, offset = moment.tzname(), moment.utcoffset()
                if name and name.isalpha() and name.isupper() and offset is not None:
                    minutes = int(offset.total_seconds()) // 60
                    names.setdefault(name, {}).setdefault(minutes, set()).add(key)
    return {
        name: {minutes: frozenset(zones) for minutes, zones in offsets.items()}
        for name, offsets in names.items()
    }


_KEY_END = re.compile(r"\s*\[!?([^\[\]]*)\]$|\s*\(([^()]*)\)$|(?<=\S)\s+([A-Za-z]+(?:/[\w+-]+)+)$")
"""What may name a zone after a time: `[key]` (RFC 9557; `!` marks it critical), `(key)`, or a
key with a slash (`America/New_York`; a key without one, `Japan`, only in brackets)."""
_OFFSET = r"(?i:z|(?:(?:gmt|utc)\s*)?[+-]\d{1,2}(?::?\d{2})?)"
_OFFSET_CLOSING = re.compile(
    rf"\d:\d{{2}}(?::\d{{2}}(?:[.,]\d+)?)?\s*(?i:[ap]\.?m\.?\s*)?{_OFFSET}$"
)
"""A time closing with its offset (`09:15-05:00`, `09:15:00 GMT-0500`, `9:15 AM Z`): a date's
own dashes (`03-03-2025`) are no offset."""
_IN_PARENTHESES = re.compile(rf"[A-Z]{{3,5}}|{_OFFSET}")
"""What parentheses after a time may hold and mean the same without them: a zone name in
capitals (`(CET)`) or an offset (`(GMT+8)`, `(+08:00)`, `(Z)`)."""
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})
"""Keys the tz database lists that name no place: this machine's own zone, and placeholders."""


@functools.cache
def _keys() -> dict[str, str]:
    """Every tz database key on this machine that names a place, by its lower-case spelling."""
    return {key.lower(): key for key in available_timezones() if key not in _NOT_ZONES}


def _key(said: str) -> str | None:
    """The tz database key `said` names: one with a slash in any case (`america/new_york`),
    one without only as the database writes it (`Japan`, `CET`: `cet` is no key)."""
    key = _keys().get(said.lower())
    return key if key is not None and ("/" in key or key == said) else None


def zone_key(text: str, give_tz: Callable[[str], str]) -> tuple[str, ZoneInfo | None, str | None]:
    """What closes `text`'s time, read: `text` without a tz database key and that key's zone
    (`09:15 America/New_York`, `09:15 (America/New_York)`, `09:15-05:00[America/New_York]`), and
    None; `text` and None twice when it closes with none. A zone name in capitals or an offset
    in parentheses (`(CST)`, `(CET)`, `(GMT+8)`) comes back unbracketed, for `named_zone` and
    `clock_words`, so it means what it means without them (`CET` is +01:00, never the summer
    time of the tz database's `CET` zone); after an offset, such a name or any words in
    parentheses (a JavaScript date's `(Eastern Standard Time)`) are left to `clock_words`,
    the offset saying all. Anything else in brackets or parentheses comes back as the reason
    it cannot be read, with `text` without it, so the caller can tell a time with a bad ending
    from no time at all. `give_tz` words the option that names a zone, as the caller's
    audience writes it."""
    found = _KEY_END.search(text)
    if found is None:
        return text, None, None
    said = next(group for group in found.groups() if group is not None).strip()
    rest = text[: found.start()]
    after_offset = _OFFSET_CLOSING.search(rest) is not None
    key = _key(said)
    in_parentheses = found[2] is not None and _IN_PARENTHESES.fullmatch(said)
    if in_parentheses and (key is None or said in _names()):
        return (text if after_offset else f"{rest} {said}"), None, None
    if key is not None:
        return rest, ZoneInfo(key), None
    if found[2] is not None and after_offset:
        return text, None, None
    return (
        rest,
        None,
        (
            f"ends in {found[0].strip()}, which names no zone in the tz database: export the times "
            "with their offset (e.g. 2025-03-03 09:15 -0500), or with a zone such as "
            f"America/New_York, or without a zone and name the zone, e.g. "
            + give_tz("America/New_York")
        ),
    )


def in_zone(
    found: datetime, zone: ZoneInfo, instant: bool = False, day: bool = False
) -> datetime | str:
    """`found`, read from a cell that names `zone` after its time, as a moment: a time without
    an offset as `zone`'s local time, one with an offset as written when `zone` keeps that
    offset then; else why it is no one moment (the local time is skipped or repeated by a
    daylight-saving change, or the offset is not the zone's). `instant`: the offset was written
    `Z`, which RFC 9557 reads as the moment in UTC with the zone's offset left open, so it never
    disagrees. `day`: a date without a time, the day's first moment in the zone (after the gap
    where its clocks jump at midnight)."""
    shown = f"{found:%Y-%m-%d %H:%M}"
    if found.tzinfo is not None:
        kept = _minutes(found.astimezone(zone))
        if kept == _minutes(found) or instant:
            return found
        return (
            f"says {_utc(_minutes(found))} and {zone.key}, which is at {_utc(kept)} then: the "
            "offset and the zone disagree; "
            "correct the cell or export the times with their offset alone"
        )
    local = found.replace(tzinfo=zone)
    if day:
        return local.astimezone(UTC).astimezone(zone)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != found:
        return (
            f"names {shown} in {zone.key}, a local time that does not exist (clocks jumped "
            "forward): correct the cell or export the times with their offset"
        )
    if local.replace(fold=1).utcoffset() != local.utcoffset():
        first, second = (_utc(_minutes(local.replace(fold=fold))) for fold in (0, 1))
        return (
            f"names {shown} in {zone.key}, which happens twice (clocks went back: {first}, then "
            f"{second}), and does not say which: export the times with their offset"
        )
    return local


def _minutes(moment: datetime) -> int:
    offset = moment.utcoffset()
    assert offset is not None
    return int(offset.total_seconds()) // 60


def _name(text: str) -> str | None:
    """The zone name closing `text`'s time, None when there is none or it is one the date
    reader reads itself (`_READ_ELSEWHERE`)."""
    found = _NAME.search(text)
    return None if found is None or found[1] in _READ_ELSEWHERE else found[1]


def _one_offset(text: str) -> tuple[str, int] | None:
    """The zone name closing `text`'s time and its offset, when the tz database gives it one
    (GMT included: a column's endings are read here, not its cells); None otherwise."""
    found = _NAME.search(text)
    offsets = _names().get(found[1], {}) if found else {}
    return (found[1], next(iter(offsets))) if found and len(offsets) == 1 else None


def _shown(zones: Iterable[str]) -> str:
    zones = set(zones)
    return next(
        (key for key in _SHOWN if key in zones), min(zones, key=lambda k: ("/" not in k, k))
    )


def _offset(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _utc(minutes: int) -> str:
    offset = _offset(minutes)
    return f"UTC{offset[:3]}:{offset[3:]}"


def named_zone(text: str, tz: str | None, give_tz: Callable[[str], str]) -> tuple[str, str | None]:
    """`text` with the zone name after its time written as its offset (`9:15 AM EST` ->
    `9:15 AM -0500`), and None; the text unchanged when it ends in no name the tz database
    knows; why it cannot be read ("ends in CST, which ...") when the name means several
    offsets and `tz`, the zone the export's times were given in, writes none of them
    (`give_tz` words the option that names a zone, as the caller's audience writes it)."""
    name = _name(text)
    if name is None or name not in _names():
        return text, None
    offsets = _names()[name]
    settled = [minutes for minutes, zones in offsets.items() if tz in zones]
    if len(offsets) == 1 or settled:
        minutes = settled[0] if settled else next(iter(offsets))
        return _NAME.sub(f" {_offset(minutes)}", text), None
    shown = [f"{_utc(minutes)} ({_shown(zones)})" for minutes, zones in sorted(offsets.items())]
    meanings = f"{', '.join(shown[:-1])} and {shown[-1]}"
    example = give_tz(_shown(frozenset().union(*offsets.values())))
    return text, (
        f"ends in {name}, which the tz database writes for {meanings}: name the zone your CRM "
        f"writes times in, e.g. {example}, to say which {name} it means, or export the times "
        "with their offset"
    )


def without_zone_name(text: str) -> str:
    """`text` without a name in capitals closing its time, known or not (`Fri 01/05/2026 9:15
    AM CST` -> `Fri 01/05/2026 9:15 AM`), or a tz database key (`zone_key`): what its date is
    does not depend on its offset."""
    return _NAME.sub("", zone_key(text, str)[0])


def unknown_zone(text: str, give_tz: Callable[[str], str]) -> str | None:
    """Why a text ending in a name in capitals after its time (`9:15 AM XST`) is not read
    ("ends in XST, ...") when that name is no zone the tz database writes; None when it ends in
    no such name."""
    name = _name(text)
    if name is None or name in _names():
        return None
    return (
        f"ends in {name}, which is no time-zone name the tz database writes: "
        "export the times with their offset (e.g. 2025-03-03 09:15 -0500) or without a zone "
        f"and name the zone, e.g. {give_tz('America/New_York')}"
    )


def out_of_season(text: str, when: datetime) -> str | None:
    """Why the zone name after `text`'s time does not fit `when`, the time read from it, when
    no zone writing that name at `when`'s offset writes it at that moment (`EDT` on January 5);
    None when one does, or the text ends in no name."""
    found = _NAME.search(zone_key(text, str)[0])
    offset = when.utcoffset()
    if found is None or offset is None:
        return None
    hour = when.replace(minute=0, second=0, microsecond=0)
    return _out_of_season(found[1], int(offset.total_seconds()) // 60, hour)


@functools.lru_cache(maxsize=4096)
def _out_of_season(name: str, minutes: int, hour: datetime) -> str | None:
    zones = _names().get(name, {}).get(minutes)
    if not zones:
        return None
    if any(hour.astimezone(ZoneInfo(key)).tzname() == name for key in zones):
        return None
    shown = _shown(zones)
    there = hour.astimezone(ZoneInfo(shown))
    return (
        f"{name} on {there:%Y-%m-%d}, when {shown} writes {there.tzname()} (and no zone "
        f"writes {name})"
    )


def season_note(first: str, unseasonal: list[tuple[int, str]]) -> tuple[str, str]:
    """What `History.flagged` says of a column whose times carry zone names their dates do
    not fit (`unseasonal`: each one's position and `out_of_season` reason; `first`, the first
    one's cell), and what was done: once per column, since a CRM writes them all alike."""
    return (
        f"{len(unseasonal)} time(s) carry a zone name their date does not fit, the first "
        f"{first!r}: {unseasonal[0][1]}",
        "read as written, at the offset the name gives: check the time-zone setting of the CRM "
        "that wrote them",
    )


def written_offset(ending: str) -> str | None:
    """The offset (`-0500`) of the one-offset zone name closing `ending`, else None."""
    named = _one_offset(ending)
    return _offset(named[1]) if named is not None else None


def zone_writing(endings: Iterable[str]) -> str | None:
    """The zone whose clock a column's times keep when they close with two or more zone names
    that one zone writes between them (`EST` and `EDT`: America/New_York), so local days and
    hours follow its daylight-saving changes; None otherwise (one name alone is one offset,
    read as such)."""
    pairs: set[tuple[str, int]] = set()
    for ending in endings:
        named = _one_offset(ending)
        if named is None:
            return None
        pairs.add(named)
    if len({name for name, _ in pairs}) < 2:
        return None
    shared = frozenset.intersection(*(_names()[name][minutes] for name, minutes in pairs))
    return _shown(shared) if shared else None
