"""The money cells of an export read at once where a cell can hold nothing but a number
(leadrouter.sim.money.bare_numbers): a cell it calls bare holds no currency mark, nothing `JUNK`
takes off, no accounting parentheses and no multiplier, so skipping the per-cell searches on it
changes no reading; and the currencies read for a column are each cell's own, as `_currency`
reads it alone. Numbers are parsed for the written cells alone, as the whole column would be."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from leadrouter.sim.cells import _STR_DTYPE, _to_floats
from leadrouter.sim.money import (
    JUNK,
    MARK,
    _currency,
    _marks,
    accounting_negative,
    bare_numbers,
)
from leadrouter.sim.words import SCALED

NEAR_MISSES = st.text(alphabet="0123456789.,+-  ()$€£¥%'’万亿eEusdUSDchfCHF٣\n", max_size=12)
"""Cells of digits and separators with what a number cell may carry beside them: signs and
symbols, codes in either case, spaces (a no-break one too), parentheses, a percent, Swiss
apostrophes, Chinese multipliers, an exponent, a non-ASCII digit, a line break."""


def column(cells: list[str | None]) -> pd.Series[Any]:
    return pd.Series(cells, dtype=_STR_DTYPE)


@settings(max_examples=400, deadline=None)
@given(cells=st.lists(NEAR_MISSES, min_size=1, max_size=10))
def test_a_bare_number_holds_nothing_the_per_cell_searches_would_find(cells: list[str]) -> None:
    """Each cell `bare_numbers` calls bare is left as it is by every per-cell step it skips."""
    for cell, bare in zip(cells, bare_numbers(column(list(cells))).tolist(), strict=True):
        if bare:
            assert MARK.search(cell) is None, cell
            assert JUNK.sub("", cell) == cell, cell
            assert accounting_negative(column([cell])).iat[0] == cell, cell
            assert SCALED.match(cell) is None, cell


def test_bare_numbers_are_digits_signs_and_separators_alone() -> None:
    cells = ["1200", "1,200.50", "-5", "+3", "", "$5", "5 000", "(5)", "5万", "٣", None]
    assert bare_numbers(column(cells)).tolist() == [
        True, True, True, True, True, False, False, False, False, False, False,
    ]  # fmt: skip


STATED = st.sampled_from([None, "USD", "CAD", "EUR", "JPY", "CNY"])


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(st.none() | NEAR_MISSES, STATED), min_size=1, max_size=10))
def test_a_columns_currencies_are_each_cells_own(rows: list[tuple[str | None, str | None]]) -> None:
    """The currency `_marks` reads for each cell of a column, beside its row's stated currency
    or none, is the one `_currency` reads from that cell alone; a blank cell has none."""
    cells = column([cell for cell, _ in rows])
    stated = pd.Series([said for _, said in rows], dtype=object)
    for given_stated in (None, stated):
        read = _marks(cells, given_stated).tolist()
        expected = [
            None if cell is None else _currency(cell, None if given_stated is None else said)
            for cell, said in rows
        ]
        assert read == expected


def floats(read: pd.Series[Any]) -> list[float]:
    values: list[float] = np.asarray(pd.to_numeric(read, errors="coerce"), dtype="float64").tolist()
    return values


def same(a: list[float], b: list[float]) -> bool:
    """Equal as stored: NaN equals NaN, -0.0 does not equal 0.0."""
    return all(
        (math.isnan(x) and math.isnan(y)) or (x == y and math.copysign(1, x) == math.copysign(1, y))
        for x, y in zip(a, b, strict=True)
    )


@settings(max_examples=400, deadline=None)
@given(
    cells=st.lists(
        st.one_of(
            st.just(""),
            st.sampled_from(
                ["-0", "0", "-0.0", "1e400", "9007199254740993", "18446744073709551616"]
            ),
            st.integers(-(2**70), 2**70).map(str),
            st.text(alphabet="0123456789.-+e", max_size=8),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_numbers_parsed_for_the_written_cells_read_as_the_whole_column(cells: list[str]) -> None:
    """`_to_floats` reads each written cell as `pd.to_numeric` of the whole column does, an
    integer column without a blank (where `-0` is 0.0) as well as one with (-0.0)."""
    read = column(list(cells))
    written = (read != "").to_numpy(dtype=bool)
    expected = [
        value if keep else math.nan for value, keep in zip(floats(read), written, strict=True)
    ]
    assert same(_to_floats(read, written).tolist(), expected), cells
