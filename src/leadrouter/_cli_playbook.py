"""What the `leadrouter` commands that read a playbook share: text laid out in columns that line
up in any script (张伟 takes two columns), and the warnings about a playbook that loads but likely
does not do what was meant, said by `check` and by `route`."""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from leadrouter._validators import posix_sign
from leadrouter.rules import Reserve, Schedule, lead_value

if TYPE_CHECKING:
    import argparse

    from leadrouter.sim.history import History

__all__ = [
    "counted",
    "fields_read",
    "file_warnings",
    "pad",
    "playbook_warnings",
    "table",
    "text_width",
]


def text_width(text: str) -> int:
    """Terminal columns `text` takes: East Asian wide and full-width characters (张伟, Ａ) take
    two, combining marks none, so tables line up whatever script rep ids are written in."""
    return sum(
        0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in "WF" else 1
        for char in text
    )


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - text_width(text))


def _wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` columns, broken only between words; a word wider
    than a line gets a line of its own, whole."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and text_width(line) + 1 + text_width(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines


def table(rows: Sequence[Sequence[str]], indent: int, out: TextIO) -> None:
    """Rows as aligned columns; the last column is wrapped at word boundaries to the terminal's
    width (100 when not a terminal), its further lines starting under its first."""
    widths = [max(text_width(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lead = indent + sum(widths) + len(widths)
    last = max(30, shutil.get_terminal_size((100, 24)).columns - lead)
    for row in rows:
        cells = " ".join(pad(cell, room) for cell, room in zip(row, widths, strict=False))
        lines = _wrap(row[-1], last) or [""]
        out.write(f"{' ' * indent}{cells} {lines[0]}".rstrip() + "\n")
        for more in lines[1:]:
            out.write(f"{' ' * lead}{more}\n")


def counted(places: Mapping[str, int], title: str, out: TextIO) -> None:
    """A count per place (a rep, `pool:public`) under `title`, most first, the counts lined up
    in any script: the summary `route` and `handover` print."""
    ranked = sorted(places.items(), key=lambda kv: (-kv[1], kv[0]))
    room = max(text_width(title), *(text_width(where) for where, _ in ranked))
    digits = max(len("leads"), *(len(str(n)) for _, n in ranked))
    out.write(f"  {pad(title, room)}  {'leads':>{digits}}\n")
    for where, n in ranked:
        out.write(f"  {pad(where, room)}  {n:>{digits}}\n")


# ---------------------------------------------------------------------------- warnings


_SEPARATOR = re.compile(r"[/|]|^\s|\s$|(?=.*[\u3000-\u9fff])\s")
"""A region or skill name that is likely several, or carries a stray space: "华东/华南",
"华北 华东" (a space between Chinese names; "New York" is one name), "华南 "."""


def playbook_warnings(
    settings: Mapping[str, Any], leads_tz: str | None = None, given_tz: str | None = None
) -> Iterator[str]:
    """What a playbook says that is likely not what was meant, seen without any lead: an
    `Etc/GMT+N` zone (its sign is inverted: Etc/GMT+8 is UTC-8, not Beijing), in the playbook
    or as `given_tz`, the command's `--tz` (not `leads_tz` when read off the file's offsets:
    "+08:00" gives "Etc/GMT-8", a zone no one wrote and so no mistake to warn of); times read
    in UTC beside times in another zone (a table without `tz` is UTC; with `leads_tz`, the zone
    the leads are read in, the comparison is with it); a rep's own shift without the default's
    days off (it replaces the default, holidays included); schedule and working hours with
    different days off (the SLA runs on days the reps are off); a `reserve` rule that leaves
    the leads it reserves no active rep; a region or skill name that is likely several
    ("华东/华南") or carries a space."""
    schedules: list[tuple[str, Schedule]] = [
        ("schedule", rule) for rule in settings["rules"] if isinstance(rule, Schedule)
    ]
    life = settings.get("lifecycle")
    if life is not None and life.working_hours is not None:
        schedules.append(("[lifecycle] working_hours", life.working_hours))
    zoned: list[tuple[str, str]] = []
    for where, table in schedules:
        if table.default is not None:
            zoned.append((f"{where}'s default", table.default.tz))
        zoned += [(f"{where}'s shift of {rep}", shift.tz) for rep, shift in table.shifts.items()]
    for part in (settings["strategy"], *(settings.get("caps") or ())):
        # a day in its zone: the caps' daily limit, the weighted strategies' day of targets
        if isinstance(getattr(part, "tz", None), str) and getattr(part, "daily", 0) is not None:
            zoned.append((type(part).__name__, part.tz))
    elsewhere = sorted({tz for _, tz in zoned if tz != "UTC"})
    in_utc = [what for what, tz in zoned if tz == "UTC"]
    local = leads_tz if leads_tz not in (None, "UTC") else None
    if in_utc and (local or elsewhere):
        hours = None if local is None else _etc_offset(local)
        said = (
            f"the leads are read in {local if hours is None else f'UTC{hours:+d}'}"
            if local
            else f"{', '.join(elsewhere)} elsewhere"
        )
        write = "Asia/Shanghai" if hours == _BEIJING_HOURS else local or elsewhere[0]
        yield (
            f"{', '.join(in_utc[:4])}{' ...' if len(in_utc) > 4 else ''} in UTC, but {said}: "
            f'a table without tz is UTC; write tz = "{write}" in it'
        )
    for where, table in schedules:
        holidays = table.default.days_off if table.default is not None else frozenset()
        short = [rep for rep, shift in table.shifts.items() if not holidays <= shift.days_off]
        if short:
            first = min(holidays - table.shifts[short[0]].days_off)
            yield (
                f"{where}: the shift of {', '.join(short[:4])} leaves out days off of the "
                f"default ({first.isoformat()} ...): a rep's own shift replaces the default, "
                "holidays included; list them in that shift too"
            )
    if len(schedules) > 1 and all(table.default is not None for _, table in schedules):
        days = [table.default.days_off for _, table in schedules if table.default is not None]
        if days[0] != days[-1]:
            yield (
                "schedule and [lifecycle] working_hours have different days off (in one only: "
                f"{min(days[0] ^ days[-1]).isoformat()} ...): the first-touch SLA runs on days "
                "the reps are off, or stops on days they work; write the same days in both"
            )
    hours = None if life is None else life.working_hours
    tables: list[tuple[str, object]] = [
        ("strategy", settings["strategy"]),
        *((f"caps[{i}]", cap) for i, cap in enumerate(settings.get("caps") or ())),
        *((f"rules[{i}]", rule) for i, rule in enumerate(settings["rules"])),
        # a playbook writes working hours as one shift table
        ("lifecycle.working_hours", hours.default if hours and not hours.shifts else hours),
    ]
    zones = [found for where, table in tables for found in _zones_in(table, where)]
    if given_tz:
        zones.append(("--tz", given_tz))
    for where, tz in zones:
        inverted = _posix_sign(tz)
        if inverted:
            yield f"{where}: {inverted}"
    for rule in settings["rules"]:
        if isinstance(rule, Reserve) and not any(
            rep.active and rule.picks(rep) for rep in settings["reps"]
        ):
            picked = [rep.id for rep in settings["reps"] if rule.picks(rep)]
            why = (
                f"{', '.join(picked)} {'is' if len(picked) == 1 else 'are'} inactive"
                if picked
                else f"no rep on the roster matches: {rule.who()}"
            )
            yield (
                f"{rule!r} leaves the leads whose {rule.condition()} no active rep ({why}): "
                "they would wait in the pool for a claim"
            )
    for rep in settings["reps"]:
        for kind, names in (("region", rep.regions), ("skill", rep.skills)):
            for name in sorted(names):
                if _SEPARATOR.search(name):
                    parts = [part for part in re.split(r"[/|\s]+", name) if part]
                    toml = "[" + ", ".join(json.dumps(p, ensure_ascii=False) for p in parts) + "]"
                    yield (
                        f"rep {rep.id}'s {kind} {json.dumps(name, ensure_ascii=False)} is one "
                        f"{kind} of that name: write {kind}s = {toml} for "
                        + (f"{len(parts)} {kind}s" if len(parts) > 1 else "one without the space")
                    )


def _zones_in(value: object, where: str, depth: int = 0) -> Iterator[tuple[str, str]]:
    """(key path, zone) of every `tz` setting in a playbook's built objects: strategies (and
    those nested in them), caps, shifts of rules and working hours."""
    if depth > 6 or isinstance(value, str):
        return
    kind: Any = type(value)
    if attrs.has(kind):
        for field in attrs.fields(kind):
            if not field.init:
                continue
            item = getattr(value, field.name, None)
            if field.name == "tz" and isinstance(item, str):
                yield where, item
            else:
                yield from _zones_in(item, f"{where}.{field.alias}", depth + 1)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            bare = re.fullmatch(r"[A-Za-z0-9_-]+", str(key))
            step = str(key) if bare else json.dumps(str(key), ensure_ascii=False)
            yield from _zones_in(item, f"{where}.{step}", depth + 1)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _zones_in(item, f"{where}[{i}]", depth + 1)


_ETC_GMT = re.compile(r"(?:Etc/)?GMT([+-])(\d{1,2})")
_BEIJING_HOURS = 8


def _etc_offset(tz: str) -> int | None:
    """The UTC offset in hours of an Etc/GMT±N zone, by the POSIX sign its name carries
    ("Etc/GMT-8" is +8), or None for any other zone (and for GMT±0, which is UTC). A zone
    read off a file's "+08:00" is named so: said as its offset, it reads as the file does."""
    found = _ETC_GMT.fullmatch(tz)
    if found is None or int(found.group(2)) == 0:
        return None
    return int(found.group(2)) * (-1 if found.group(1) == "+" else 1)


def _posix_sign(tz: str) -> str | None:
    """What an Etc/GMT+N zone really is, in `posix_sign`'s words (its sign is POSIX's, so
    "Etc/GMT+8" written for Beijing is UTC-8, 16 hours off), and what to write for Beijing
    time; None for any other zone."""
    hours = _etc_offset(tz)
    if hours is None:
        return None
    said = posix_sign(f'tz = "{tz}"', hours)
    if hours == _BEIJING_HOURS:
        return f'{said}; that is Beijing time, which tz = "Asia/Shanghai" says plainly'
    return f'{said}; for Beijing time (UTC+8) write tz = "Asia/Shanghai"'


def fields_read(settings: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(who reads it, field) for each lead field a playbook's rules and strategy read by name
    (region, skill, pool_by): a name no lead has turns the rule off without a word."""
    for rule in settings["rules"]:
        field = getattr(rule, "field", None)
        if isinstance(field, str):
            yield repr(rule), field
    pool_by = getattr(settings["strategy"], "pool_by", None)
    if isinstance(pool_by, str):
        yield f"{settings['strategy'].name}'s pool_by", pool_by


def file_warnings(
    settings: Mapping[str, Any], history: History, args: argparse.Namespace, out: TextIO
) -> None:
    """What a command acting on a leads file (`route`, `handover`) warns of: the playbook's
    warnings, with the zone the leads were read in and the `--tz` given, and a rule reading a
    field that no lead in the file (`args.leads`) has (it lets every lead through)."""
    path = args.leads
    for warning in playbook_warnings(settings, history.tz, args.tz):
        out.write(f"  warning: {warning}\n")
    leads = history.leads
    mapped = {header: name for name, header in history.columns.items()}
    for what, field in fields_read(settings):
        if all(lead_value(lead, field) in (None, "") for lead in leads):
            columns = sorted({key for lead in leads for key in lead.features})
            fix = (
                f": the file's column {field!r} is read as the lead's {mapped[field]}; write "
                f'field = "{mapped[field]}" (or leave field out)'
                if field in mapped
                else f" (other columns: {', '.join(columns) or 'none'})"
            )
            out.write(
                f"  warning: {what} reads {field!r}, which no lead in {path} has, so it "
                f"let every lead through{fix}\n"
            )
