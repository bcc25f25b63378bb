"""Dates written in words, as US CRMs, Excel and European exports write them: a month by name
day first or month first, a weekday in front, `a.m.` / `p.m.`, `noon`, a `GMT-0500` offset.

`Jan 3, 2026 9:15 AM` (Zoho's and Google Sheets' layout), `Monday, January 5, 2026` (Excel's
long date), `Mon, Jan 5, 2026 9:15 AM` (Outlook, Gmail), `Mon Jan 05 2026 09:15:00 GMT-0500
(Eastern Standard Time)` (a JavaScript date as web CRMs write it), `05-Jan-26` (Excel's
d-mmm-yy), `5 Jan 2026 9:15am`, and day first in French, German and Spanish (`lundi 5 janvier
2026`, `Mo., 5. Januar 2026 um 14:30`, `5 de enero de 2026`). The month and weekday names are
those of `leadrouter.sim.locales`, one vocabulary for every language read.

A weekday is a check, never a guess: a date whose weekday is not the one written is a
`WrongWeekdayError` (`load_export` names the file, row and column), since a cell contradicting
itself may be misdated either way. Kept apart from `leadrouter.sim.cells`, which calls these
when its fast ISO 8601 reader cannot read a cell, and from `leadrouter.sim.dayfirst`, which asks
(through `leadrouter.sim.celltime.weekday_decides`) whether a weekday settles a dd/mm or mm/dd
date.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

from leadrouter._written import ENGLISH_DAYS
from leadrouter.sim.locales import MONTH_NUMBERS, WEEKDAY_NUMBERS, unaccented

__all__ = [
    "TIME",
    "ZONE",
    "WrongWeekdayError",
    "assemble",
    "chinese_plain",
    "clock_words",
    "date_alone",
    "day_name",
    "full_year",
    "may_start_with_weekday",
    "named_date",
    "weekday_fits",
    "weekday_of",
]

TIME = r"(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*([aApP][mM])?"
"""A time of day after a date: `9:15`, `09:15:30.250`, `9:15 PM` (groups: hour, minute, second,
fraction, am / pm)."""
ZONE = r"\s*([zZ]|[+-]\d{2}(?::?\d{2})?)?"
"""A UTC offset or Z after a time: `+08:00`, `-0500`, `Z`."""
_AT = r"(?:a\s+las|a|um|at|,)"
"""What separates a date from its time in words: `à`, `a las`, `um`, `at` (accents taken off)."""
_DAY_MONTH = re.compile(
    rf"(\d{{1,2}})(?:er|st|nd|rd|th)?\.?[\s-]*(?:de\s+)?([a-z]+)\.?[\s-]*(?:de\s+)?"
    rf"(\d{{4}}|\d{{2}})(?:,?\s*{_AT}?\s+{TIME})?{ZONE}"
)
"""Day first, the month by name: `3 janvier 2026`, `1er fevr. 2026 a 09:15`, `3. januar 2026
um 14:30`, `3 de enero de 2026`, `03-jan-26`, `5 jan 2026 9:15 am` (lower case, unaccented)."""
_MONTH_DAY = re.compile(
    rf"([a-z]+)\.?[\s-]*(\d{{1,2}})(?:st|nd|rd|th)?,?[\s-]*(\d{{4}})"
    rf"(?:,?\s*{_AT}?\s+{TIME})?{ZONE}"
)
"""Month first, by name: `jan 3, 2026 9:15 am`, `january 3rd, 2026`, `jan 05 2026 09:15:00
-0500` (lower case, unaccented)."""
_WEEKDAY = re.compile(r"([^\W\d_]+)[.,\s]+")
_LETTERS = re.compile(r"[^\W\d_]+")
_CLOCK_WORDS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"(?i)(?<=[\d\s])([ap])\.\s?m\.?(?=\s|$|[+-])"), r"\1m"),
    (re.compile(r"(?i)(?:\b12(?::00)?\s*)?\bnoon\b"), "12:00 pm"),
    (re.compile(r"(?i)(?<![\d:])(\d{1,2})\s*([ap]m)\b"), r"\1:00 \2"),
    (re.compile(r"(?i)((?:(?:gmt|utc)\s*)?[+-]\d{1,2}(?::?\d{2})?|z)\s*\([^()]*\)$"), r"\1"),
    (
        re.compile(r"(?i)\s*\b(?:gmt|utc)\s*(?:([+-])(\d{1,2})(?::?(\d{2}))?)?$"),
        lambda m: f" {m[1]}{int(m[2]):02d}{m[3] or '00'}" if m[1] else " Z",
    ),
)
"""Times in words made plain: `9:15 a.m.` -> `9:15 am`, `noon` -> `12:00 pm`, `9am` ->
`9:00 am`; `GMT-0500 (Eastern Standard Time)` -> `-0500` (words in parentheses only after an
offset: `leadrouter.sim.zonenames.zone_key` reads or refuses others), `GMT+1` -> `+0100`, a
closing `GMT` -> `Z`. (`midnight` is left unread: it ends one day as often as it starts the
next.)"""


class WrongWeekdayError(ValueError):
    """A date whose written weekday is not its own (`Tue, Jan 5, 2026`: a Monday); `reason`
    says which day each is, and how to fix it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def day_name(number: int) -> str:
    """The English name of weekday `number` (0 = Monday)."""
    return ENGLISH_DAYS[number][-1].capitalize()


def clock_words(text: str) -> str:
    """`text` with its time in words made plain (`_CLOCK_WORDS`), for the date patterns."""
    for pattern, plain in _CLOCK_WORDS:
        text = pattern.sub(plain, text)
    return text


def weekday_of(text: str) -> tuple[int | None, str]:
    """The weekday a text starts with (0 = Monday), in any language of
    `leadrouter.sim.locales.WEEKDAYS`, and the text after it (`Mon, Jan 5, 2026` -> 0,
    `Jan 5, 2026`); None and the whole text when it starts with no weekday."""
    found = _WEEKDAY.match(text)
    if found is None:
        return None, text
    day = WEEKDAY_NUMBERS.get(unaccented(found.group(1)).lower())
    return (None, text) if day is None else (day, text[found.end() :])


def may_start_with_weekday(head: str) -> bool:
    """Whether a text starting with `head` (its first few characters) may start with a weekday
    name: its first word is one, or, cut short, begins one (`Wednes`). Lets a column's
    distinct starts rule out most cells before any is read whole."""
    found = _LETTERS.match(unaccented(head).lower())
    if found is None:
        return False
    word = found.group(0)
    if found.end() < len(head):
        return word in WEEKDAY_NUMBERS
    return any(name.startswith(word) for name in WEEKDAY_NUMBERS)


def named_date(text: str) -> tuple[int, int, int, tuple[str | None, ...]] | None:
    """Year, month, day and the time's groups (`TIME`, `ZONE`) of a date with its month by
    name, day first or month first (`_DAY_MONTH`, `_MONTH_DAY`); None when the text is no such
    date. Two-digit years are this century's (`05-Jan-26`: 2026), as Excel writes them."""
    plain = (text if text.isascii() else unaccented(text)).lower()  # ASCII has no accents
    for pattern, first in ((_DAY_MONTH, "day"), (_MONTH_DAY, "month")):
        found = pattern.fullmatch(plain)
        if found is None:
            continue
        one, two, year = found.group(1, 2, 3)
        day, month = (one, two) if first == "day" else (two, one)
        if month in MONTH_NUMBERS:
            return full_year(year), MONTH_NUMBERS[month], int(day), found.groups()[3:]
    return None


def assemble(year: int, month: int, day: int, rest: tuple[str | None, ...]) -> datetime | str:
    """The datetime of a date and its time's groups (`TIME`, `ZONE`): 12 am is midnight, 12 pm
    noon, 24:00 the end of the day, the next day's midnight (ISO 8601 writes it so, and so do
    systems that close a day at 24:00:00); when no such time exists, why ("February 2025 has 28
    days", "hour 25 is past 23", "13 PM is no hour"), for a rejected row's reason: the cell is
    read already, so the fix is in what it says."""
    hour, minute, second, fraction, half, offset = rest
    clock = int(hour or 0)
    if half:
        if not 1 <= clock <= 12:
            return f"{clock} {half.upper()} is no hour: a 12-hour clock runs from 1 to 12"
        clock = clock % 12 + (12 if half.lower() == "pm" else 0)
    if not 1 <= year <= 9999:
        return f"year {year} is out of range"
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        return f"{date(year, month, 1):%B %Y} has {last} days"
    minutes, seconds = int(minute or 0), int(second or 0)
    end_of_day = clock == 24 and not half and minutes == seconds == int(fraction or 0) == 0
    clock = 0 if end_of_day else clock
    for value, name, top in ((clock, "hour", 23), (minutes, "minute", 59), (seconds, "second", 59)):
        if value > top:
            return f"{name} {value} is past {top}"
    tzinfo: timezone | None = None
    if offset:
        if offset in "zZ":
            tzinfo = UTC
        else:
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
            if delta >= timedelta(hours=24):
                return f"{offset} is no UTC offset (they run from -12:00 to +14:00)"
            tzinfo = timezone(sign * delta)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    moment = datetime(year, month, day, clock, minutes, seconds, micro, tzinfo=tzinfo)
    if end_of_day:
        if moment.date() == date.max:
            return f"year {year + 1} is out of range"
        return moment + timedelta(days=1)
    return moment


def date_alone(text: str) -> bool:
    """Whether a date or time as written (`2026-01-05`, `Jan 5, 2026`, not `9am` or `9点`)
    has no time of day: such a cell means a whole day."""
    return ":" not in clock_words(text) and not re.search("[时点分]", text)


def full_year(year: str) -> int:
    """A date's year as written; two digits as Excel reads them, 00-29 this century and 30-99
    the last (`26` is 2026, `99` 1999, never 2099), since the cells come from sheets that show
    them so."""
    if len(year) != 2:
        return int(year)
    short = int(year)
    return short + (2000 if short < 30 else 1900)


def weekday_fits(weekday: int, year: int, month: int, day: int) -> bool:
    """Whether `year-month-day` exists and falls on `weekday` (0 = Monday)."""
    try:
        return date(year, month, day).weekday() == weekday
    except ValueError:
        return False


_HALF_DAY = re.compile(r"(上午|早上|凌晨|下午|中午|晚上)\s*(\d{1,2}(?::\d{2}){1,2})")


def chinese_plain(text: str) -> str:
    """ "2025年3月3日 9时15分" -> "2025-3-3 9:15"; "上午9:22" -> "9:22 am", "下午2:05" ->
    "2:05 pm"; full-width colons as colons."""
    if text.isascii():
        return text
    text = text.replace("：", ":")
    text = _HALF_DAY.sub(
        lambda m: f"{m.group(2)} {'am' if m.group(1) in ('上午', '早上', '凌晨') else 'pm'}", text
    )
    if not re.search("[年月日时点分秒]", text):
        return text
    text = re.sub(r"(\d)\s*[年月]\s*", r"\1-", text)
    text = re.sub(r"(\d)\s*日", r"\1", text)
    text = re.sub(r"(\d)\s*[时点分]\s*(?=\d)", r"\1:", text)
    return re.sub(r"(\d)\s*[时点分秒]\s*$", r"\1", text)
