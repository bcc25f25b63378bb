"""Currencies in the money cells of an export: which marks are taken off, and one currency a
column.

CRMs write an amount with its currency: Salesforce `$12,500.00` or, in a multi-currency org,
`USD 12,500.00` beside `EUR 10,000.00`; Pipedrive and European Excel `12.500,00 €`; Swiss
`CHF 1'250.00`. Others write the currency in a column of its own beside a bare number
(Salesforce `Amount Currency`, Pipedrive `Deal - Currency`, HubSpot `Currency`). `JUNK` is what
`leadrouter.sim.cells` takes off a cost or amount before reading its number (currency symbols
and ISO codes, spaces, percent signs, apostrophes separating thousands). `foreign` finds the
cells whose currency, by their own mark or by their row's currency column, differs from the
column's own, since adding dollars to euros makes every revenue figure wrong without a word:
those cells are rejected, each naming a cell of the column's currency, as a column mixing
decimal separators is. One rule for both ways of writing a currency, so a file cannot pass by
writing it the other way.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
import numpy as np
import pandas as pd

from leadrouter.sim.words import NULLS

__all__ = [
    "CODES",
    "JUNK",
    "SHARED",
    "SYMBOLS",
    "Written",
    "accounting_negative",
    "bare_numbers",
    "currency_column",
    "currency_note",
    "foreign",
]

SYMBOLS: dict[str, str] = {
    "us$": "USD", "$": "USD", "ca$": "CAD", "c$": "CAD", "au$": "AUD", "a$": "AUD",
    "€": "EUR", "£": "GBP", "¥": "CNY", "￥": "CNY", "元": "CNY", "rmb": "CNY",
}  # fmt: skip
"""Currency symbols and the currency each is read as (`¥` as yuan, the CRMs this library
started from; a column of yen written `¥` is one currency all the same)."""
SHARED: dict[str, frozenset[str]] = {
    "$": frozenset({"USD", "CAD", "AUD", "NZD", "MXN", "SGD", "HKD"}),
    "¥": frozenset({"CNY", "JPY"}),
    "￥": frozenset({"CNY", "JPY"}),
}
"""Symbols several currencies write: beside a currency column naming one of them (`$1,000.00`
on a row whose Amount Currency is CAD), the symbol is that currency, not a clash with it."""
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


_BARE = r"[0-9.,+-]*"


def bare_numbers(text: pd.Series[Any]) -> np.ndarray[Any, Any]:
    """Which cells (text, NaN for none) are bare numbers: ASCII digits, signs, dots and commas
    alone. No currency mark, nothing `JUNK` takes off, no accounting parentheses and no
    multiplier (`5.8万`) can be in one, so the per-cell searches for them, which cost a regex a
    cell, skip those cells: most cells of a number column, read at once here."""
    bare: np.ndarray[Any, Any] = text.str.fullmatch(_BARE).to_numpy(dtype=bool, na_value=False)
    return bare


def accounting_negative(core: pd.Series[Any]) -> pd.Series[Any]:
    """Number texts with accounting parentheses written as a minus: `(1250.00)` is -1250.00,
    which the reader then rejects as a negative amount, saying so, rather than as no number."""
    return core.str.replace(_PARENTHESES, r"-\1", regex=True)


def _currency(cell: str, stated: str | None = None) -> str | None:
    """The currency a cell's own mark names, None when it has none; a symbol several currencies
    write (`SHARED`) is the `stated` one of its row's currency column when it can be."""
    found = MARK.search(cell)
    if found is None:
        return None
    mark = found.group(0).lower()
    if stated in SHARED.get(mark, ()):
        return stated
    return SYMBOLS.get(mark, mark.upper())


def _stated(cell: str) -> str | None:
    """The currency a currency column's cell names: a code or symbol as in an amount (`USD`,
    `€`), else the cell itself in capitals (a code this module does not list is a currency
    all the same); None when blank."""
    text = cell.strip()
    if text.lower() in NULLS:
        return None
    return _currency(text) or text.upper()


@attrs.frozen(eq=False)
class Written:
    """A currency column beside the amounts, read once (`currency_column`) for both the
    amounts' check (`foreign`) and the note on the header row (`currency_note`)."""

    header: str
    cells: pd.Series[Any]
    """Its cells as text, row by row with the amounts."""
    currencies: pd.Series[Any]
    """Each non-blank amount's currency: its own mark, else its row's cell (None: neither)."""
    clash: np.ndarray[Any, Any]
    """Which amounts are marked with another currency than their row's cell names."""


def currency_column(header: str, cells: pd.Series[Any], amounts: pd.Series[Any]) -> Written:
    """The currency column `header` (its `cells`) as it reads for `amounts` (blank cells NaN)."""
    currencies, clash = _currencies(amounts, cells)
    return Written(header, cells, currencies, clash)


def _currencies(
    text: pd.Series[Any], cells: pd.Series[Any] | None
) -> tuple[pd.Series[Any], np.ndarray[Any, Any]]:
    """Each non-blank cell's currency (its own mark, else its row's cell of the currency column
    `cells`; None when neither says) and which cells are marked with another currency than
    their row's column."""
    if cells is None:
        return _marks(text, None), np.zeros(len(text), dtype=bool)
    stated = cells.where(text.notna()).map(_stated, na_action="ignore")
    marks = _marks(text, stated)
    clash = (marks.notna() & stated.notna() & (marks != stated)).to_numpy(dtype=bool)
    return marks.where(marks.notna(), stated), clash


def _marks(text: pd.Series[Any], stated: pd.Series[Any] | None) -> pd.Series[Any]:
    """Each cell's currency by its own mark (`_currency`, a shared symbol read as its row's
    `stated` currency when it can be), None for a cell without one or a blank cell (NaN).
    Only the cells that are not bare numbers are searched: a bare number holds no mark."""
    marks = np.full(len(text), None, dtype=object)
    searched = np.flatnonzero(text.notna().to_numpy(dtype=bool) & ~bare_numbers(text))
    cells = text.iloc[searched].tolist()
    said = [None] * len(cells) if stated is None else stated.iloc[searched].tolist()
    for at, cell, row in zip(searched.tolist(), cells, said, strict=True):
        if isinstance(cell, str):
            marks[at] = _currency(cell, row if isinstance(row, str) else None)
    return pd.Series(marks, index=text.index, dtype=object)


def _usual(currencies: pd.Series[Any]) -> str | None:
    """The column's currency: the one most of its cells are in (ties: the first written)."""
    counts = currencies.value_counts(sort=False)
    return str(counts.idxmax()) if len(counts) else None


_CONVERT = (
    "export the amounts converted to one currency "
    "(Salesforce: add Amount (converted) to the report, which is read instead of Amount; "
    "Pipedrive: the value in the default currency)"
)


def foreign(
    text: pd.Series[Any], rows: np.ndarray[Any, Any], written: Written | None = None
) -> dict[int, str]:
    """{position: reason} for each cell whose currency is not the column's own: the currency
    most of its cells carry (ties: the first written), a cell's currency being its own mark,
    else the one its row's currency column (`written`) names. A cell marked with another
    currency than its row's column names is rejected too, since which is right cannot be told.
    Cells of which neither says a currency are taken to be in the column's; blank cells (NaN in
    `text`) count for nothing; a column in one currency, or none, gives nothing. With `written`,
    `text` is the amounts it was read for (`currency_column`)."""
    if written is None:
        currencies, clash = _currencies(text, None)
    else:
        currencies, clash = written.currencies, written.clash
    found: dict[int, str] = {}
    if written is not None:
        for position in np.flatnonzero(clash).tolist():
            found[position] = (
                f"{text.iat[position]!r} is marked {currencies.iat[position]}, but its row's "
                f"{written.header!r} says {written.cells.iat[position]!r}: which is right cannot "
                f"be told; {_CONVERT}"
            )
    currencies = currencies.where(~clash)
    usual = _usual(currencies)
    if usual is None or currencies.nunique() < 2:
        return found
    usual_rows = (currencies == usual).to_numpy(dtype=bool)
    example = int(np.flatnonzero(usual_rows)[0])
    odd = currencies.notna().to_numpy(dtype=bool) & ~usual_rows
    for position in np.flatnonzero(odd).tolist():
        cell = str(text.iat[position])
        own = MARK.search(cell)
        vague = own is None or own.group(0).lower() in SHARED
        by = f" by its {written.header!r}" if written is not None and vague else ""
        found[position] = (
            f"{cell!r} is in {currencies.iat[position]}{by}, while the column's amounts are in "
            f"{usual} (e.g. {text.iat[example]!r} in row {rows[example]}): amounts in two "
            f"currencies cannot be added up; {_CONVERT}"
        )
    return found


def currency_note(header: str, written: Written) -> tuple[int, str, str, str]:
    """The note on the header row saying what a currency column told of the amounts in
    `header`: how many rows are in each currency, and whether some were rejected for being in
    another than the column's."""
    currencies, clash = written.currencies, written.clash
    counts = currencies.where(~clash).value_counts(sort=False)
    listing = ", ".join(f"{code} on {n} row{'' if n == 1 else 's'}" for code, n in counts.items())
    usual = _usual(currencies.where(~clash))
    told = [
        f"the amounts not in {usual} rejected" if len(counts) > 1 else "",
        "the amounts marked with another currency than their row's rejected" if clash.any() else "",
    ]
    action = "; ".join(part for part in told if part)
    plain = "one currency: read as written" if len(counts) else "no currency: read as written"
    action = f"{action} (see the rejected rows)" if action else plain
    return (
        1,
        written.header,
        f"read as the currency of each amount in {header!r}: {listing or 'none given'}",
        action,
    )
