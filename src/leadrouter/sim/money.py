"""Currencies in the money cells of an export: which marks are taken off, and one currency a
column.

CRMs write an amount with its currency: Salesforce `$12,500.00` or, in a multi-currency org,
`USD 12,500.00` beside `EUR 10,000.00`; Pipedrive and European Excel `12.500,00 €`; Swiss
`CHF 1'250.00`. `JUNK` is what `leadrouter.sim.cells` takes off a cost or amount before reading
its number (currency symbols and ISO codes, spaces, percent signs, apostrophes separating
thousands). `foreign` finds the cells whose currency differs from the column's own, since
adding dollars to euros makes every revenue figure wrong without a word: those cells are
rejected, each naming a cell of the column's currency, as a column mixing decimal separators is.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CODES", "JUNK", "SYMBOLS", "accounting_negative", "foreign"]

SYMBOLS: dict[str, str] = {
    "us$": "USD", "$": "USD", "ca$": "CAD", "c$": "CAD", "au$": "AUD", "a$": "AUD",
    "€": "EUR", "£": "GBP", "¥": "CNY", "￥": "CNY", "元": "CNY", "rmb": "CNY",
}  # fmt: skip
"""Currency symbols and the currency each is read as (`¥` as yuan, the CRMs this library
started from; a column of yen written `¥` is one currency all the same)."""
CODES = (
    "USD", "EUR", "GBP", "CHF", "CAD", "AUD", "NZD", "JPY", "CNY", "HKD", "SGD", "SEK", "NOK",
    "DKK", "PLN", "CZK", "HUF", "RON", "INR", "BRL", "MXN", "ZAR",
)  # fmt: skip
"""ISO 4217 codes recognised beside a number, in any case (`USD 12,500.00`, `12.500,00 eur`)."""

_MARKS = sorted([*SYMBOLS, *(code.lower() for code in CODES)], key=len, reverse=True)
MARK = re.compile(
    "|".join(
        rf"(?<![a-z]){re.escape(mark)}(?![a-z])" if mark[0].isalpha() else re.escape(mark)
        for mark in _MARKS
    ),
    re.IGNORECASE,
)
"""One currency mark: a symbol, or a code that is a word of its own."""
JUNK = re.compile(rf"[\s%'’]|{MARK.pattern}", re.IGNORECASE)
"""Everything taken off a number cell before it is read: currency marks, spaces (a French
`12 500,00` groups thousands with a narrow no-break space), percent signs and the apostrophes
Swiss spreadsheets separate thousands with."""
_PARENTHESES = re.compile(r"^\((.*)\)$")


def accounting_negative(core: pd.Series[Any]) -> pd.Series[Any]:
    """Number texts with accounting parentheses written as a minus: `(1250.00)` is -1250.00,
    which the reader then rejects as a negative amount, saying so, rather than as no number."""
    return core.str.replace(_PARENTHESES, r"-\1", regex=True)


def _currency(cell: str) -> str | None:
    found = MARK.search(cell)
    if found is None:
        return None
    mark = found.group(0).lower()
    return SYMBOLS.get(mark, mark.upper())


def foreign(text: pd.Series[Any], rows: np.ndarray[Any, Any]) -> dict[int, str]:
    """{position: reason} for each cell whose currency is not the column's own: the currency
    most of its marked cells carry (ties: the first written). Cells without a mark are taken
    to be in the column's currency; a column with one currency, or none, gives nothing."""
    marks = text.map(_currency, na_action="ignore")
    counts = marks.value_counts(sort=False)
    if len(counts) < 2:
        return {}
    usual = str(counts.idxmax())
    example = int(np.flatnonzero((marks == usual).to_numpy(dtype=bool))[0])
    odd = marks.notna().to_numpy(dtype=bool) & (marks != usual).to_numpy(dtype=bool)
    return {
        position: (
            f"{text.iat[position]!r} is in {marks.iat[position]}, while the column's amounts are "
            f"in {usual} (e.g. {text.iat[example]!r} in row {rows[example]}): amounts in two "
            "currencies cannot be added up; export them converted to one currency (Salesforce: "
            "the (converted) amount column; Pipedrive: the value in the default currency)"
        )
        for position in np.flatnonzero(odd).tolist()
    }
