"""Values as people write them in a playbook, a roster cell or an export, read and said back:
durations ("30 min", "1h30m", "30分钟"; a number without its unit refused), times of day ("9am",
"6:30 pm"), days of the week ("Mon-Fri", "周一至周五"), yes / no in the languages leadrouter
reads (`YES`, `NO`, `yes_or_no`), the name a misspelt one probably meant, a value as the file
writes it, and a class's own Python-worded check said in TOML. `leadrouter._convert` structures
a whole file with these; the export reader (`leadrouter.sim`) reads its yes / no cells and
weekday names with the same words, so a roster and an export never disagree on what `oui` or
`Mon` means.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import time, timedelta

from leadrouter._util import format_duration
from leadrouter.errors import ConfigError

__all__ = [
    "AS_WRITTEN",
    "DAYS_WRITTEN",
    "ENGLISH_DAYS",
    "LIST_SEPARATORS",
    "NO",
    "YES",
    "as_toml",
    "clock_time",
    "duration",
    "meant",
    "shown",
    "unaccented",
    "weekdays",
    "yes_or_no",
]

AS_WRITTEN = "leadrouter.as_written"
"""attrs field metadata: the class's own converter reads the field's value as a file writes it
(`Shift.weekdays`: `["周一", "周二"]`, `"Mon-Fri"`), so a playbook passes it on as given instead of
structuring it by the field's type (a set of whole numbers) first."""

_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([^\d\s.]+)\s*")
_CLOCK = re.compile(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?")
_NUMBER = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")
_ISO_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
_UNIT_WORDS = {
    "seconds": ("s", "sec", "secs", "second", "seconds", "秒", "秒钟"),
    "minutes": ("m", "min", "mins", "minute", "minutes", "分", "分钟"),
    "hours": ("h", "hr", "hrs", "hour", "hours", "时", "小时"),
    "days": ("d", "day", "days", "天", "日"),
    "weeks": ("w", "wk", "wks", "week", "weeks", "周", "星期"),
}
_UNITS = {word: unit for unit, words in _UNIT_WORDS.items() for word in words}
"""Unit words a duration may be written with, any case: "30m", "30 min", "2 hours", "30分钟"."""


_TIMEDELTA_ARG = re.compile(r"timedelta\((weeks|days|hours|minutes|seconds)=(\d+)\)")
_TIMEDELTA_REPR = re.compile(
    r"datetime\.timedelta\((?:0|(?:days=(\d+))?(?:, )?(?:seconds=(\d+))?)\)"
)
_SET_ARG = re.compile(r"=\{([\d, ]+)\}")
_UNIT_LETTER = {unit: words[0] for unit, words in _UNIT_WORDS.items()}
"""The one-letter unit a duration is written with ("30m"), the first word of each unit."""


def as_toml(message: str) -> str:
    """A class's own check speaks Python; a playbook's reader is shown the TOML to write:
    `timedelta(minutes=30)` as "30m", a repr `datetime.timedelta(0)` as "0s", `weekdays={0, 1}`
    as `weekdays = [0, 1]`, and a timedelta is a duration."""
    message = _TIMEDELTA_ARG.sub(lambda m: f'"{m.group(2)}{_UNIT_LETTER[m.group(1)]}"', message)
    message = _TIMEDELTA_REPR.sub(
        lambda m: (
            '"'
            + format_duration(timedelta(days=int(m.group(1) or 0), seconds=int(m.group(2) or 0)))
            + '"'
        ),
        message,
    )
    message = _SET_ARG.sub(r" = [\1]", message)
    return re.sub(r"\btimedelta\b", "duration", message)


def meant(name: object, choices: Iterable[str]) -> str | None:
    """The choice a name probably meant: the same letters in another case or spelling
    ("equal-rotation", "equal_rotation", "equalrotation" for EqualRotation), else the closest."""
    if not isinstance(name, str):
        return None
    folded = {re.sub(r"[\W_]", "", choice).casefold(): choice for choice in choices}
    found = folded.get(re.sub(r"[\W_]", "", name).casefold())
    if found is not None:
        return found
    close = difflib.get_close_matches(name, list(choices), 1, 0.75)
    return close[0] if close else None


def duration(value: object) -> timedelta:
    """A timedelta from "45s", "30m", "30 min", "4h", "1h30m", "7d", "1w" or ISO "PT30M" /
    "P1DT2H"; ValueError for anything else. A number without its unit (`first_touch_sla = 30`)
    is a ConfigError that offers the units: an SLA of 30 is meant in minutes far more often
    than in seconds, and a 30-second SLA would release every lead before anyone could call."""
    if isinstance(value, timedelta):
        return value
    if (isinstance(value, int | float) and not isinstance(value, bool)) or (
        isinstance(value, str) and _NUMBER.match(value)
    ):
        amount = str(value).strip()
        raise ConfigError(
            f"{shown(value)} has no unit: write the duration with one, "
            f'"{amount}s", "{amount}m", "{amount}h", "{amount}d" or "{amount}w" '
            "(seconds, minutes, hours, days, weeks)"
        )
    if isinstance(value, str):
        parts = _duration_parts(value)
        if parts:
            return sum((timedelta(**{unit: amount}) for amount, unit in parts), timedelta())
        iso = _ISO_DURATION.fullmatch(value.strip())
        if iso and any(iso.groups()):
            d, h, m, s = (int(g or 0) for g in iso.groups())
            return timedelta(days=d, hours=h, minutes=m, seconds=s)
    raise ValueError(f"not a duration: {value!r}")


def _duration_parts(text: str) -> list[tuple[float, str]]:
    """(amount, timedelta keyword) of each part of "1h30m", "1 day 12 hours", "30 min"; empty
    when any of the text is not such a part (so "PT30M" and "30" are left to the other forms)."""
    parts: list[tuple[float, str]] = []
    at = 0
    while at < len(text):
        found = _DURATION_PART.match(text, at)
        if found is not None and found.group(2) == "M":  # ISO's P1M is a month, PT1M a minute
            raise ConfigError(
                f"{shown(text)}: M could mean minutes or months: write "
                f'"{found.group(1)}m" for minutes, or the days ("30d" for a month)'
            )
        unit = None if found is None else _UNITS.get(found.group(2).casefold())
        if found is None or unit is None:
            return []
        parts.append((float(found.group(1)), unit))
        at = found.end()
    return parts


def clock_time(value: object, _: object = None) -> time:
    """A time of day: ISO "09:00" / "09:00:30", or as people write it, "9:00", "9am", "6:30 pm"
    (12 am is midnight, 12 pm noon), with a full-width colon too ("9：00")."""
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        value = value.replace("：", ":")
        said = _CLOCK.fullmatch(value.strip().casefold())
        if said is None:
            return time.fromisoformat(value.strip())
        hour, minute, half = int(said.group(1)), int(said.group(2) or 0), said.group(3)
        if half and not 1 <= hour <= 12:
            raise ValueError(f"not a time of day: {value!r}")
        if half:
            hour = hour % 12 + (12 if half == "pm" else 0)
        return time(hour, minute)
    raise TypeError(f"not a time of day: {value!r}")


def shown(value: object) -> str:
    """A value as the file writes it: TOML `true`, "text", 30."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


ENGLISH_DAYS = (
    ("mon", "monday"),
    ("tue", "tues", "tuesday"),
    ("wed", "weds", "wednesday"),
    ("thu", "thur", "thurs", "thursday"),
    ("fri", "friday"),
    ("sat", "saturday"),
    ("sun", "sunday"),
)
"""English day names, Monday first, abbreviated and in full, lower case."""
_CHINESE_NUMERALS = ("一", "二", "三", "四", "五", "六", ("日", "天"))
_CHINESE_PREFIXES = ("周", "星期", "礼拜")
_DAYS: dict[str, int] = {
    **{word: day for day, words in enumerate(ENGLISH_DAYS) for word in words},
    **{
        prefix + numeral: day
        for day, numerals in enumerate(_CHINESE_NUMERALS)
        for numeral in numerals
        for prefix in _CHINESE_PREFIXES
    },
}
"""Day names, any case, to their numbers (0 = Monday, as `date.weekday()`): English ("Mon",
"Monday"), Chinese (周一..周日/周天, 星期一..星期日/星期天, 礼拜一..礼拜日/礼拜天)."""
_BARE_NUMERALS: dict[str, int] = {
    numeral: day for day, numerals in enumerate(_CHINESE_NUMERALS) for numeral in numerals
}
"""The end of a Chinese range may leave out the prefix: "周一至五" is 周一至周五."""
LIST_SEPARATORS = re.compile(r"\s*[,;，；、]\s*")
"""What separates the items of a list written in one text, in English or Chinese punctuation
("north;east", "周一、周三", "华东，华南")."""
_DAY_RANGE = re.compile(r"\s*(?:-|–|—|~|～|至|到)\s*")
_DAY_NUMBERS = ", ".join(
    f"{day} = {name}"
    for day, name in enumerate(
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    )
)
DAYS_WRITTEN = (
    f"days are {_DAY_NUMBERS}, or names like 'Mon' / 'Monday' / '周一' / '星期一', or a range "
    "like 'Mon-Fri' / '周一至周五'"
)
"""How days of the week are written, for messages."""


def weekdays(value: object) -> frozenset[int]:
    """Days of the week as their numbers (0 = Monday ... 6 = Sunday), from numbers, day names
    in English (any case) or Chinese, and ranges "A-B" ("A–B", "A~B", "A至B", "A到B"; a range
    runs forward, so "Sat-Mon" is Saturday to Monday), given as a collection or as one text that
    may list several ("Mon, Wed, Fri", "周一、周三"). A TypeError for a value that is no
    collection of days or holds an item of the wrong kind, a ValueError naming an item that is
    no day."""
    if isinstance(value, str):
        return _days_in_text(value)
    if isinstance(value, bytes | Mapping) or not isinstance(value, Iterable):
        raise TypeError(f"{value!r} is not a list of days")
    days: set[int] = set()
    wrong: list[str] = []  # every item that is no day, said at once
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | str):
            raise TypeError(f"{item!r} is not a day")
        try:
            if isinstance(item, str):
                days |= _days_in_text(item)
            elif 0 <= item <= 6:
                days.add(item)
            else:
                raise ValueError(f"{item!r} is not a day")
        except ValueError as exc:
            wrong.append(str(exc))
    if wrong:
        raise ValueError("; ".join(wrong))
    return frozenset(days)


def _days_in_text(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in LIST_SEPARATORS.split(text.strip()):
        if not part:
            continue
        ends = _DAY_RANGE.split(part)
        if len(ends) == 1:
            days.add(_day(part, part))
        elif len(ends) == 2:
            first = _day(ends[0], part)
            last = _BARE_NUMERALS.get(ends[1])
            if last is None or not ends[0].startswith(_CHINESE_PREFIXES):
                last = _day(ends[1], part)
            days.update((first + step) % 7 for step in range((last - first) % 7 + 1))
        else:
            raise ValueError(f"{shown(part)} is not a day or a range of days")
    return frozenset(days)


def _day(word: str, part: str) -> int:
    day = _DAYS.get(word.strip().rstrip(".").casefold())
    if day is None:
        said = shown(word) if word == part else f"{shown(word)} in {shown(part)}"
        raise ValueError(f"{said} is not a day")
    return day


YES = (
    "true", "t", "yes", "y", "1", "是", "对", "√", "✓",
    "oui", "vrai", "ja", "wahr", "si", "verdadero",
)  # fmt: skip
NO = (
    "false", "f", "no", "n", "0", "否", "错", "×", "✗",
    "non", "faux", "nein", "falsch", "falso",
)  # fmt: skip
"""Yes / no as written in English, Chinese (是 / 否, 对 / 错, ticks and crosses), French, German
and Spanish, with what their Excel writes for TRUE / FALSE (VRAI / FAUX, WAHR / FALSCH,
VERDADERO / FALSO); `no` is Spanish and English alike. Lower case and without accents (`sí` is
`si`), as `yes_or_no` looks them up. Each word means the same in every language that writes it
(`si` is yes in Spanish, Italian and French), and single letters other than the English ones
(j, o, s, v, w) are left out: a `w` may be a gender, an `s` a size."""
_YES_OR_NO = {**dict.fromkeys(YES, True), **dict.fromkeys(NO, False)}


def unaccented(text: str) -> str:
    """`text` with the accents of Latin letters taken off (é -> e, ü -> u, ñ -> n) and
    compatibility forms made plain (full-width Ｉ -> I); other scripts keep their marks (the
    dakuten of Japanese kana), so only accents, never meaning, are ignored."""
    plain = "".join(
        char for char in unicodedata.normalize("NFKD", text) if not "\u0300" <= char <= "\u036f"
    )
    return unicodedata.normalize("NFC", plain)


def yes_or_no(text: str) -> bool | None:
    """True or False for a yes / no word of `YES` / `NO` in any case and with or without
    accents (`Oui`, `SÍ`, `Nein`), None for any other text."""
    return _YES_OR_NO.get(unaccented(text.strip()).lower())
