"""Which way a file's dd/mm/yyyy dates are written: day first or month first, decided by the file.

`03/04/2025` is March 4 in the US and 3 April in Europe, and nothing in the one cell says which.
Without `dayfirst`, `load_export` asks every such date of the file's time columns: a date only
readable day first (13/03/2025: there is no 13th month; 03.04.2025: a date written with dots,
which only day-first locales write) and none only month first (03/13/2025) makes the whole file
day first, flagged so; both kinds in one file are an error naming one of each, since either
reading would misdate the other. Kept apart from the cell parsers of `leadrouter.sim.cells`,
which read each date the way decided here.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from leadrouter.errors import Audience, InvalidExportError
from leadrouter.sim.cells import _DAYFIRST, _DMY

__all__ = ["day_first_because", "infer_dayfirst"]

_DM_HEAD = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.]")
"""The start of a `_DMY` date, "13/03/": the two numbers, either of which may be the day."""
_DOTTED = re.compile(r"\d{1,2}\.\d{1,2}\.")
"""The start of a date written with dots, "03.12.": the layout of German, Swiss, Austrian,
Nordic, Polish, Czech and Russian spreadsheets, always day first (no locale writes mm.dd.yyyy)."""


_ONLY_DAY = "can only be day first (dd/mm/yyyy)"


def day_first_because(cell: object, otherwise: str) -> str:
    """Why `cell`, a date that decided a file is day first, is one: written with dots, or
    `otherwise` (no such month)."""
    if _DOTTED.match(str(cell)):
        return "is written with dots (dd.mm.yyyy), a day-first layout"
    return otherwise


def _dmy_only(text: pd.Series[Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Which cells of a column are `_DMY` dates (03/04/2025) that can only be read day first
    (13/03/2025: there is no 13th month; 03.04.2025: dots are written day first), and which
    only month first (03/13/2025). The two
    numbers are read once per distinct start of a cell ("13/03/", a few hundred at most), and the
    whole pattern is checked only on the cells that decide."""
    heads = text.str.slice(0, 6)
    day_only, month_only = [], []
    for head in heads.unique().tolist():
        found = _DM_HEAD.match(str(head))
        if found is None:
            continue
        first, second = int(found.group(1)), int(found.group(2))
        if (first > 12 or _DOTTED.match(str(head))) and 1 <= first <= 31 and 1 <= second <= 12:
            day_only.append(head)
        elif 12 < second <= 31 and 1 <= first <= 12:
            month_only.append(head)
    day = heads.isin(day_only).to_numpy(dtype=bool)
    month = heads.isin(month_only).to_numpy(dtype=bool)
    deciding = day | month
    if deciding.any():
        whole = text[deciding].str.fullmatch(_DMY.pattern).fillna(False)
        is_date = np.zeros(len(text), dtype=bool)
        is_date[deciding] = whole.to_numpy(dtype=bool)
        day, month = day & is_date, month & is_date
    return day, month


def infer_dayfirst(
    columns: dict[str, pd.Series[Any]],
    rows: np.ndarray[Any, Any],
    origin: str,
    audience: Audience = "python",
) -> dict[str, np.ndarray[Any, Any]]:
    """Whether the `_DMY` dates of these time columns ({header: text}) are written day first,
    when `dayfirst` is not given: {header: cells only readable day first} when some date can
    only be read day first and none only month first (an empty dict, read month first, when no
    date decides or some can only be read month first). Both kinds in one file is an
    `InvalidExportError` naming one of each, since either reading would misdate the other."""
    day: dict[str, np.ndarray[Any, Any]] = {}
    month_seen: tuple[str, int] | None = None
    for header, text in columns.items():
        day_only, month_only = _dmy_only(text)
        if day_only.any():
            day[header] = day_only
        if month_seen is None and month_only.any():
            month_seen = (header, int(np.flatnonzero(month_only)[0]))
    if not day or month_seen is None:
        return day
    day_header = next(iter(day))
    day_at = int(np.flatnonzero(day[day_header])[0])
    month_header, month_at = month_seen
    choose = (
        f"give {_DAYFIRST.given(True, audience)} or {_DAYFIRST.given(False, audience)} to read "
        "them all one way (the dates that cannot be read that way are then rejected, each "
        "listed" + (" in History.rejected)" if audience == "python" else ")")
    )
    raise InvalidExportError(
        f"{origin}: dates are written both day first and month first: "
        f"{columns[day_header].iat[day_at]!r} in column {day_header!r} row {rows[day_at]} "
        f"{day_first_because(columns[day_header].iat[day_at], _ONLY_DAY)}, "
        f"{columns[month_header].iat[month_at]!r} in column "
        f"{month_header!r} row {rows[month_at]} only month first (mm/dd/yyyy): export the dates "
        "again in one layout (ISO 8601, 2025-03-13 09:00, is never ambiguous), or " + choose
    )
