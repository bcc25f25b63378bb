"""The common date layouts read a whole column at once (leadrouter.sim.layouts) read every cell
as the one-cell reader `_parse_one` does: the same instant for each cell they read, every cell
of their layouts that names a real time read, and every other cell left to `_parse_one` (NaT),
so that the fast path changes the cost of loading an export, never what it reads."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadrouter.sim import load_export
from leadrouter.sim.celltime import _parse_one
from leadrouter.sim.layouts import LAYOUTS, Layout, common_layouts

NEAR_MISSES = st.text(alphabet="0123456789/.,: -APMapmTJanMärzDezSept", max_size=24)
"""Cells of the layouts' characters in any order: a padded day, a one-digit minute, a lower
case am, a two-digit year, an hour of 0 or 13 with PM, a date written the other way round,
a month's name cut short or run on."""


def one_by_one(cell: str, dayfirst: bool) -> datetime | None:
    """The naive time `_parse_one` reads from `cell`, None when it reads none."""
    try:
        parsed = _parse_one(cell, dayfirst)
    except ValueError:
        return None
    return parsed if isinstance(parsed, datetime) and parsed.tzinfo is None else None


def at_once(cells: list[str], dayfirst: bool) -> list[datetime | None]:
    read = common_layouts(pd.Series(cells, dtype="str"), dayfirst)
    return [None if np.isnat(value) else value.astype(datetime) for value in read]


@pytest.mark.parametrize("layout", LAYOUTS, ids=[layout.format for layout in LAYOUTS])
@pytest.mark.parametrize("dayfirst", [False, True])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_cell_of_a_common_layout_reads_as_it_does_alone(
    layout: Layout, dayfirst: bool, data: st.DataObject
) -> None:
    """Every cell a layout admits that names a real time is read at once, as the instant
    `_parse_one` reads, when dd/mm dates are read the layout's way; one naming none (February
    30), or any cell when they are read the other way, is left to `_parse_one`."""
    cells = data.draw(st.lists(st.from_regex(layout.pattern, fullmatch=True), min_size=1))
    fast = at_once(cells, dayfirst)
    if layout.dayfirst in (None, dayfirst):
        assert fast == [one_by_one(c, dayfirst) for c in cells]
    else:
        assert all(
            read is None or read == one_by_one(c, dayfirst)
            for c, read in zip(cells, fast, strict=True)
        )


@settings(max_examples=300, deadline=None)
@given(cells=st.lists(NEAR_MISSES, min_size=1, max_size=8), dayfirst=st.booleans())
def test_a_cell_read_at_once_reads_as_it_does_alone(cells: list[str], dayfirst: bool) -> None:
    """Any cell the fast path reads, it reads as `_parse_one` does; the others it leaves."""
    for cell, fast in zip(cells, at_once(cells, dayfirst), strict=True):
        if fast is not None:
            assert fast == one_by_one(cell, dayfirst), cell


@pytest.mark.parametrize(
    ("cell", "dayfirst", "expected"),
    [
        ("1/5/2026 9:15 AM", False, datetime(2026, 1, 5, 9, 15)),
        ("1/5/2026, 9:15 PM", False, datetime(2026, 1, 5, 21, 15)),  # ICU's comma
        ("1/5/2026 , 9:15 PM", False, None),
        ("12/31/2026 12:00 AM", False, datetime(2026, 12, 31, 0, 0)),
        ("01/05/2026 12:30 PM", False, datetime(2026, 1, 5, 12, 30)),
        ("1/5/2026 21:15", False, datetime(2026, 1, 5, 21, 15)),
        ("05.01.2026 09:15", True, datetime(2026, 1, 5, 9, 15)),
        ("5/1/2026 23:59", True, datetime(2026, 1, 5, 23, 59)),
        ("Jan 05, 2026 09:15 PM", False, datetime(2026, 1, 5, 21, 15)),  # Zoho
        ("Sep 5, 2026 12:15 AM", True, datetime(2026, 9, 5, 0, 15)),
        ("5. März 2026 09:15", True, datetime(2026, 3, 5, 9, 15)),
        ("31. Dezember 2026 23:59", False, datetime(2026, 12, 31, 23, 59)),
        ("Feb 30, 2026 09:15 AM", False, None),
        ("Sept 5, 2026 09:15 AM", False, None),  # read one by one
        ("2/30/2026 9:15 AM", False, None),  # no such day: left to _parse_one, which rejects it
        ("1/5/2026 9:15 am", False, None),  # lower case: left to _parse_one
        ("05.01.2026 09:15", False, None),  # dots read month first only one by one
        ("1/ 5/2026 9:15 AM", False, None),
        ("1/5/2026 9:5 AM", False, None),
    ],
)
def test_what_the_common_layouts_read(cell: str, dayfirst: bool, expected: datetime | None) -> None:
    assert at_once([cell], dayfirst) == [expected]


def test_an_export_mixing_layouts_reads_and_rejects_as_before(tmp_path: Path) -> None:
    """A file of US times, some read at once and some only one by one, and a cell naming no
    day: each read as written, the bad one rejected with its row and reason."""
    path = tmp_path / "export.csv"
    path.write_text(
        "Lead ID,Created Date\n"
        '1,"1/5/2026 9:15 AM"\n'
        '2,"Jan 6, 2026 10:00 PM"\n'
        '3,"2/30/2026 9:15 AM"\n'
        '4,"1/7/2026 9:15 a.m."\n',
        encoding="utf-8",
    )
    history = load_export(path, tz="UTC")
    frame = history.to_frame().sort_values("lead_id")
    assert [str(t) for t in frame["arrived_at"]] == [
        "2026-01-05 09:15:00+00:00",
        "2026-01-06 22:00:00+00:00",
        "2026-01-07 09:15:00+00:00",
    ]
    (rejected,) = history.rejected.itertuples(index=False)
    assert rejected.row == 4 and rejected.column == "Created Date"
    assert "not a valid date read month first" in rejected.reason
