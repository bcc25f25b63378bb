"""One cell read as a time: the layouts the column-wide readers in `leadrouter.sim.cells` leave
over (`_parse_one`), each a moment or the reason it is none.

A cell is read as ISO (`2025-03-03 09:15`), dd/mm or mm/dd by the file's order, a month by name in
one of the languages `leadrouter.sim.locales` knows, an Excel serial or a Unix time; a zone name
after the time is its offset (`leadrouter.sim.zonenames`), a weekday in front is checked against
the date, and Chinese date marks, `noon` and the like are read as their clock. What names no
moment says why, in the words the row's rejection gives ("February 2025 has 28 days").
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta

from leadrouter.errors import Audience, ExportOption
from leadrouter.sim.dates import (
    TIME,
    ZONE,
    WrongWeekdayError,
    assemble,
    chinese_plain,
    clock_words,
    date_alone,
    day_name,
    full_year,
    named_date,
    weekday_fits,
    weekday_of,
)
from leadrouter.sim.locales import MONTH_NUMBERS, unaccented
from leadrouter.sim.zonenames import (
    in_zone,
    named_zone,
    unknown_zone,
    without_zone_name,
    zone_key,
)

__all__ = ["weekday_decides"]

_CLOCK = rf"(?:(?:,\s*|[ T]+){TIME})?{ZONE}"
"""A time after a numeric date, if any: after a space, a T, or a comma, as the ICU locale formats
write it (`1/5/2026, 9:15 AM`: US dates in Salesforce's ICU formats; `05.01.2026, 09:15`)."""
_YMD = re.compile(rf"(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}}){_CLOCK}")
_DMY = re.compile(rf"(\d{{1,2}})[-/.](\d{{1,2}})[-/.](\d{{4}}|\d{{2}}){_CLOCK}")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_RANGE = (20000.0, 80000.0)
_TZ, _DAYFIRST = map(ExportOption, ("tz", "dayfirst"))


def _parse_one(
    value: str, dayfirst: bool, audience: Audience = "python", tz: str | None = None
) -> datetime | str:
    """One time the fast ISO parser could not read, or the reason it is not a time. A weekday
    in front is checked against the date: `WrongWeekdayError` when it is another day's. A zone
    name after the time is its offset (`leadrouter.sim.zonenames`; `tz`, the zone given for
    the export, settles a name that means several)."""
    text = value.strip()
    if _NUMBER.fullmatch(text):
        return _from_number(text)
    give_tz = functools.partial(_TZ.given, audience=audience)
    text = chinese_plain(text)
    rest, key, why = zone_key(text, give_tz)
    if why is not None:  # an ending that names no zone, said only of what is a time without it
        timed = isinstance(_found(rest, value, dayfirst, audience), datetime)
        return f"{value!r} {why}" if timed else _unreadable(value, text)
    text, ambiguous = named_zone(rest, tz, give_tz)
    if ambiguous is not None:
        return f"{value!r} {ambiguous}"
    found = _found(text, value, dayfirst, audience)
    if key is not None and isinstance(found, datetime):
        instant = clock_words(text).rstrip().endswith(("Z", "z"))
        found = in_zone(found, key, instant=instant, day=date_alone(value))
        return found if isinstance(found, datetime) else f"{value!r} {found}"
    if found is not None:
        return found
    if (unknown := unknown_zone(text, give_tz)) is not None:
        return f"{value!r} {unknown}"
    return _unreadable(value, text)


def _unreadable(value: str, text: str) -> str:
    """Why `value` (read as `text`) is no time: the layouts to write, with the month names when
    it has one."""
    named = MONTH_NUMBERS.keys() & re.findall("[a-z]+", unaccented(text).lower())
    return f"{value!r} is not a time leadrouter can read: write ISO 8601, e.g. 2025-03-03 09:15" + (
        " (a month by name is read as in Jan 3, 2026 9:15 AM, Monday, January 5, 2026, "
        "3 Jan 2026, 03-Jan-26, 3 janvier 2026, 3. Januar 2026 or 3 de enero de 2026)"
        if named
        else ""
    )


def _found(text: str, value: str, dayfirst: bool, audience: Audience) -> datetime | str | None:
    """`text` read as a date in any layout: plain, with its time in words made plain, after a
    weekday (checked: `WrongWeekdayError`); the reason when it has a layout but no valid date,
    None when it has none."""
    found = _date(text, value, dayfirst, audience)
    if found is None and (plain := clock_words(text)) != text:
        text = plain
        found = _date(text, value, dayfirst, audience)
    if found is None:
        weekday, rest = weekday_of(text)
        if weekday is not None:
            found = _date(rest, value, dayfirst, audience)
            if isinstance(found, datetime) and found.weekday() != weekday:
                why = _wrong_weekday(value, rest, weekday, found, dayfirst, audience)
                raise WrongWeekdayError(why)
    return found


def _date(text: str, value: str, dayfirst: bool, audience: Audience) -> datetime | str | None:
    """`text` read as one of the date layouts (ISO, dd/mm or mm/dd by `dayfirst`, a month by
    name); the reason when it has a layout but is no valid date, None when it has none."""
    match = _YMD.fullmatch(text)
    if match:
        year, month, day = map(int, match.group(1, 2, 3))
        return _valid(value, (year, month, day), match.groups()[3:])
    match = _DMY.fullmatch(text)
    if match:
        day, month, year = _dmy(match, dayfirst)
        if dayfirst:
            said = "is not a valid date read day first (dd-mm-yyyy)"
            return _valid(value, (year, month, day), match.groups()[3:], said)
        said = "is not a valid date read month first (mm/dd/yyyy)"
        fix = f"; if your dates are written day first, give {_DAYFIRST.given(True, audience)}"
        return _valid(value, (year, month, day), match.groups()[3:], said, fix)
    named = named_date(text)
    if named is None:
        return None
    year, month, day, rest = named
    return _valid(value, (year, month, day), rest)


def _valid(
    value: str,
    ymd: tuple[int, int, int],
    rest: tuple[str | None, ...],
    said: str = "is not a valid date and time",
    fix: str = "",
) -> datetime | str:
    """The moment a cell's parts name, or why they name none: "'2025-02-30 09:00' is not a
    valid date and time: February 2025 has 28 days", with a `fix` when the date's order may be
    the cause."""
    found = assemble(*ymd, rest)
    return found if isinstance(found, datetime) else f"{value!r} {said}: {found}{fix}"


def _dmy(match: re.Match[str], dayfirst: bool) -> tuple[int, int, int]:
    """Day, month and year of a `_DMY` date read day first or month first (`03/04/26`: the
    year 2026, `full_year`)."""
    first, second, year = match.group(1, 2, 3)
    day, month = (first, second) if dayfirst else (second, first)
    return int(day), int(month), full_year(year)


def weekday_decides(cell: str) -> bool | None:
    """Whether a dd/mm or mm/dd date with its weekday in front (`Mon 01/05/2026`) is day first
    (True) or month first (False) by that weekday, the only reading on which it is that day;
    None when the cell is no such date or both readings or neither fit."""
    weekday, rest = weekday_of(cell.strip())
    plain = clock_words(without_zone_name(rest))
    match = _DMY.fullmatch(plain) if weekday is not None else None
    if weekday is None or match is None:
        return None
    fits = [weekday_fits(weekday, *reversed(_dmy(match, first))) for first in (True, False)]
    return fits[0] if fits[0] != fits[1] else None


def _wrong_weekday(
    value: str, rest: str, weekday: int, found: datetime, dayfirst: bool, audience: Audience
) -> str:
    """Why a date with a weekday that is not its own cannot be read, and how to fix it: the
    other dd/mm reading when that one is the weekday written, else the cell."""
    said = f"{value!r} says {day_name(weekday)}, but {found:%Y-%m-%d} is a " + day_name(
        found.weekday()
    )
    match = _DMY.fullmatch(rest)
    if match is not None and weekday_fits(weekday, *reversed(_dmy(match, not dayfirst))):
        way = "day" if dayfirst else "month"
        other = "month first (mm/dd/yyyy)" if dayfirst else "day first (dd/mm/yyyy)"
        return (
            f"{said} (read {way} first): read {other} it is a {day_name(weekday)}; give "
            f"{_DAYFIRST.given(not dayfirst, audience)}"
        )
    return f"{said}: the date or its weekday is wrong; correct the cell and export again"


def _from_number(text: str) -> datetime | str:
    if "." not in text and len(text) == 10:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(text))
    if "." not in text and len(text) == 13:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(text))
    number = float(text)
    low, high = _EXCEL_RANGE
    if low <= number <= high:
        return _EXCEL_EPOCH + timedelta(seconds=round(number * 86400))
    return (
        f"{text!r} is a number, not a time (Excel serial dates run from {low:.0f} to "
        f"{high:.0f}, i.e. 1954 to 2119; Unix times have 10 or 13 digits)"
    )
