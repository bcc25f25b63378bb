"""Which way a file's dd/mm/yyyy dates are written: day first or month first, decided by the file.

`03/04/2025` is March 4 in the US and 3 April in Europe, and nothing in the one cell says which.
Without `dayfirst`, `load_export` asks every such date of the file's time columns: a date only
readable day first (13/03/2025: there is no 13th month; 03.04.2025: a date written with dots,
which only day-first locales write; `Fri 01/05/2026`: only 1 May is a Friday) and none only
month first (03/13/2025, `Mon 01/05/2026`) makes the whole file day first, flagged so; both
kinds in one file are an error naming one of each, since either reading would misdate the
other; when none decides, the file is read month first, flagged so if a date could be either.
Kept apart from the cell parsers of `leadrouter.sim.cells`, which read each date the way decided
here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from leadrouter.errors import Audience, InvalidExportError
from leadrouter.sim.celltime import _DAYFIRST, _DMY, weekday_decides
from leadrouter.sim.dates import may_start_with_weekday

__all__ = ["Order", "day_first_because", "infer_dayfirst", "month_first_note"]

_DM_HEAD = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.]")
"""The start of a `_DMY` date, "13/03/": the two numbers, either of which may be the day."""
_DOTTED = re.compile(r"\d{1,2}\.\d{1,2}\.")
"""The start of a date written with dots, "03.12.": the layout of German, Swiss, Austrian,
Nordic, Polish, Czech and Russian spreadsheets, always day first (no locale writes mm.dd.yyyy)."""


_ONLY_DAY = "can only be day first (dd/mm/yyyy)"


def day_first_because(cell: object, otherwise: str) -> str:
    """Why `cell`, a date that decided a file is day first, is one: written with dots, its
    weekday, or `otherwise` (no such month)."""
    if _DOTTED.match(str(cell)):
        return "is written with dots (dd.mm.yyyy), a day-first layout"
    if weekday_decides(str(cell)) is True:
        return "is the weekday it names only read day first"
    return otherwise


def _dmy_only(
    text: pd.Series[Any],
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], int | None]:
    """Which cells of a column are `_DMY` dates (03/04/2025) that can only be read day first
    (13/03/2025: there is no 13th month; 03.04.2025: dots are written day first; `Fri
    01/05/2026`: 1 May is a Friday, 5 January a Monday), which only month first (03/13/2025,
    `Mon 01/05/2026`), and the first that can be read both ways (03/04/2025), if any. The two
    numbers are read once per distinct start of a cell ("13/03/", a few hundred at most), the
    whole pattern is checked only on the cells that decide, and a weekday once per distinct
    cell that starts with a word."""
    heads = text.str.slice(0, 6)
    starts = heads.unique().tolist()
    day_only, month_only, both = [], [], []
    for head in starts:
        found = _DM_HEAD.match(str(head))
        if found is None:
            continue
        first, second = int(found.group(1)), int(found.group(2))
        if (first > 12 or _DOTTED.match(str(head))) and 1 <= first <= 31 and 1 <= second <= 12:
            day_only.append(head)
        elif 12 < second <= 31 and 1 <= first <= 12:
            month_only.append(head)
        elif first != second and 1 <= first <= 12 and 1 <= second <= 12:
            both.append(head)
    day = heads.isin(day_only).to_numpy(dtype=bool)
    month = heads.isin(month_only).to_numpy(dtype=bool)
    deciding = day | month
    if deciding.any():
        whole = text[deciding].str.fullmatch(_DMY.pattern).fillna(False)
        is_date = np.zeros(len(text), dtype=bool)
        is_date[deciding] = whole.to_numpy(dtype=bool)
        day, month = day & is_date, month & is_date
    either = next(
        (
            int(at)
            for at in np.flatnonzero(heads.isin(both).to_numpy(dtype=bool)).tolist()
            if _DMY.fullmatch(str(text.iat[at]))
        ),
        None,
    )
    lettered = [head for head in starts if may_start_with_weekday(str(head))]
    if lettered:
        named = np.flatnonzero(heads.isin(lettered).to_numpy(dtype=bool))
        cells = text.iloc[named]
        decided = {cell: weekday_decides(str(cell)) for cell in cells.unique().tolist()}
        way = [decided[cell] for cell in cells.tolist()]
        day, month = day.copy(), month.copy()
        day[named[np.array([fit is True for fit in way], dtype=bool)]] = True
        month[named[np.array([fit is False for fit in way], dtype=bool)]] = True
    return day, month, either


@dataclass(frozen=True)
class Order:
    """How a file's dd/mm or mm/dd dates are read when `dayfirst` is not given: `day_only`,
    {header: cells only readable day first}, makes the file day first when not empty; else
    they are read month first, and `unsettled` is (header, position) of a date that could be
    either (03/04/2025) when no date decides, so the reader is told what was assumed."""

    day_only: dict[str, np.ndarray[Any, Any]]
    unsettled: tuple[str, int] | None = None


def infer_dayfirst(
    columns: dict[str, pd.Series[Any]],
    rows: np.ndarray[Any, Any],
    origin: str,
    audience: Audience = "python",
) -> Order:
    """How the `_DMY` dates of these time columns ({header: text}) are read when `dayfirst` is
    not given: day first when some date can only be read day first and none only month first,
    else month first (`Order`, with the date that could be either when none decides). Both
    kinds in one file is an `InvalidExportError` naming one of each, since either reading would
    misdate the other."""
    day: dict[str, np.ndarray[Any, Any]] = {}
    month_seen: tuple[str, int] | None = None
    either: tuple[str, int] | None = None
    for header, text in columns.items():
        day_only, month_only, both = _dmy_only(text)
        if day_only.any():
            day[header] = day_only
        if month_seen is None and month_only.any():
            month_seen = (header, int(np.flatnonzero(month_only)[0]))
        if either is None and both is not None:
            either = (header, both)
    if not day or month_seen is None:
        return Order(day, either if not day and month_seen is None else None)
    day_header = next(iter(day))
    day_at = int(np.flatnonzero(day[day_header])[0])
    month_header, month_at = month_seen
    month_cell = columns[month_header].iat[month_at]
    choose = (
        f"give {_DAYFIRST.given(True, audience)} or {_DAYFIRST.given(False, audience)} to read "
        "them all one way (the dates that cannot be read that way are then rejected, each "
        "listed" + (" in History.rejected)" if audience == "python" else ")")
    )
    raise InvalidExportError(
        f"{origin}: dates are written both day first and month first: "
        f"{columns[day_header].iat[day_at]!r} in column {day_header!r} row {rows[day_at]} "
        f"{day_first_because(columns[day_header].iat[day_at], _ONLY_DAY)}, "
        f"{month_cell!r} in column {month_header!r} row {rows[month_at]} "
        + ("is the weekday it names " if weekday_decides(str(month_cell)) is False else "")
        + "only month first (mm/dd/yyyy): export the dates again in one layout (ISO 8601, "
        "2025-03-13 09:00, is never ambiguous), or " + choose
    )


def month_first_note(
    unsettled: tuple[str, int],
    columns: dict[str, pd.Series[Any]],
    rows: np.ndarray[Any, Any],
    audience: Audience,
) -> tuple[int, str, str, str]:
    """The flag saying the file's dd/mm or mm/dd dates were read month first with nothing in
    the file to settle it, at the first date that could be either (`Order.unsettled`): a UK or
    European file whose days are all 12 or less would otherwise be misdated in silence."""
    header, position = unsettled
    return (
        int(rows[position]),
        header,
        f"dates read month first (mm/dd/yyyy): {columns[header].iat[position]!r} can be read "
        "either way, and no date of the file settles it (a day above 12, dots, or a weekday)",
        f"every dd/mm/yyyy date of the file read month first; give "
        f"{_DAYFIRST.given(True, audience)} if they are day first",
    )
