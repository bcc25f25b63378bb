"""The date layouts CRMs write most, after ISO 8601, read a whole column at once.

`1/5/2026 9:15 AM` (Salesforce's and Dynamics' default; `1/5/2026, 9:15 AM` in Salesforce's ICU
locale formats), `05.01.2026 09:15` (German, Swiss, Nordic spreadsheets), `05/01/2026 09:15` (UK),
`Jan 05, 2026 09:15 AM` (Zoho) and `5. Januar 2026 09:15` (German) would otherwise be read one cell
at a time by `leadrouter.sim.celltime._parse_one`, at several times the cost of a vectorised parse.
Each layout here is a strict pattern (ASCII digits, one space or the one comma and space its form
writes, nothing optional) that every cell it admits is read by `_parse_one` as the same layout,
beside the `pandas.to_datetime` format that reads it (a month by name first replaced by its number,
so no format depends on the process's locale); the pattern is checked first, so the format's own
leniency (a space-padded day, a one-digit minute) never reaches a cell. A cell the pattern admits
but that names no real time (February 30) comes back NaT, as does every other cell, for `_parse_one`
to read or reject with its reason, so the fast path changes no reading, only its cost
(tests/test_sim_layouts.py holds the two equal, by hypothesis).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from leadrouter.sim.locales import MONTHS

__all__ = ["LAYOUTS", "Layout", "common_layouts"]

_MONTH = "(?:1[0-2]|0?[1-9])"
_DAY = "(?:3[01]|[12][0-9]|0?[1-9])"
_HOUR_12 = "(?:1[0-2]|0?[1-9])"
_HOUR_24 = "(?:2[0-3]|[01]?[0-9])"
_SHORT = tuple(next(w for w in words.split() if len(w) == 3) for words in MONTHS["English"])
"""Jan ... Dec, as Zoho writes them."""
_GERMAN = tuple(words.split()[0] for words in MONTHS["German"])
"""Januar ... Dezember."""


class Layout(NamedTuple):
    """A layout: the `pattern` a cell must match in full, the `strptime` format that reads
    it, and the `dayfirst` reading (`load_export`'s, given or decided by the file) under which
    `_parse_one` reads it the same way (None: either); `months`, January first, are the month
    names the pattern admits, each replaced by its number (01-12) for the format's `%m`."""

    pattern: str
    format: str
    dayfirst: bool | None
    months: tuple[str, ...] = ()


LAYOUTS = (
    Layout(f"{_MONTH}/{_DAY}/[0-9]{{4}} {_HOUR_12}:[0-5][0-9] [AP]M", "%m/%d/%Y %I:%M %p", False),
    Layout(f"{_MONTH}/{_DAY}/[0-9]{{4}}, {_HOUR_12}:[0-5][0-9] [AP]M", "%m/%d/%Y, %I:%M %p", False),
    Layout(f"{_MONTH}/{_DAY}/[0-9]{{4}} {_HOUR_24}:[0-5][0-9]", "%m/%d/%Y %H:%M", False),
    Layout(f"{_DAY}\\.{_MONTH}\\.[0-9]{{4}} {_HOUR_24}:[0-5][0-9]", "%d.%m.%Y %H:%M", True),
    Layout(f"{_DAY}/{_MONTH}/[0-9]{{4}} {_HOUR_24}:[0-5][0-9]", "%d/%m/%Y %H:%M", True),
    Layout(
        f"(?:{'|'.join(_SHORT)}) {_DAY}, [0-9]{{4}} {_HOUR_12}:[0-5][0-9] [AP]M",
        "%m %d, %Y %I:%M %p",
        None,
        _SHORT,
    ),
    Layout(
        f"{_DAY}\\. (?:{'|'.join(_GERMAN)}) [0-9]{{4}} {_HOUR_24}:[0-5][0-9]",
        "%d. %m %Y %H:%M",
        None,
        _GERMAN,
    ),
)
"""The layouts read at once: US month first with AM / PM (after a space, or after a comma as
Salesforce writes them with its ICU locale formats: `1/5/2026, 9:15 AM`) or a 24-hour clock, day
first with dots or slashes and a 24-hour clock; and, whichever way dd/mm dates are read, Zoho's
`Jan 05, 2026 09:15 AM` and German `5. Januar 2026 09:15`."""


def common_layouts(text: pd.Series[Any], dayfirst: bool) -> np.ndarray[Any, Any]:
    """The cells of `text` (stripped text, NaN for cells not to read) written in one of
    `LAYOUTS` read with `dayfirst`, as naive datetime64[us]; NaT for every other cell. Each
    layout is tried only on the cells still unread, and only while some cell is left."""
    read = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[us]")
    left = text.notna().to_numpy(dtype=bool, copy=True)
    for layout in LAYOUTS:
        if layout.dayfirst not in (None, dayfirst) or not left.any():
            continue
        cells = text[left]
        fits = cells.str.fullmatch(layout.pattern).to_numpy(dtype=bool, na_value=False)
        if not fits.any():
            continue
        where = np.flatnonzero(left)[fits]
        numbered = cells[fits]
        for number, name in enumerate(layout.months, start=1):
            numbered = numbered.str.replace(name, f"{number:02d}", regex=False)
        parsed = pd.to_datetime(numbered, format=layout.format, errors="coerce")
        read[where] = parsed.to_numpy(dtype="datetime64[us]")
        left[where] = False
    return read
