"""The export fields and the canonical frame every History holds.

One row per lead, the fields in `FIELDS` order, each column in its one dtype (`canonical`), and
the checks every builder of a History goes through (`load_export`, `synthetic`,
`History.from_frame`), so a synthetic History, a loaded one and a reloaded one compare equal
column by column. The tables of rows an export lost or changed (`rejected`, `flagged`) are built
here too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from leadrouter.errors import InvalidValueError, NaiveDatetimeError

__all__ = [
    "BOOL_FIELDS",
    "COLUMNS",
    "FIELDS",
    "FLAGGED_COLUMNS",
    "NUMBER_FIELDS",
    "OPTIONAL_COLUMNS",
    "REJECTED_COLUMNS",
    "STATUSES",
    "TEXT_FIELDS",
    "TIME_DTYPE",
    "TIME_FIELDS",
    "canonical",
    "is_missing",
    "row_table",
]

FIELDS = (
    "lead_id",
    "arrived_at",
    "source",
    "region",
    "product",
    "segment",
    "grade",
    "score",
    "cost",
    "contact",
    "rep_id",
    "assigned_at",
    "first_touch_at",
    "reached",
    "valid",
    "converted_at",
    "amount",
    "stage",
    "lost_at",
    "propensity",
)
"""The export fields, in the order `to_frame()` and `to_csv()` give them. Only the first two
are required in an export.

`stage` is the deal's outcome as of the export (`History.as_of`): exactly "won", "lost" or
"open", or missing when the export says nothing about outcomes beyond a sale (a plain lead
export: `converted` alone tells sold from not sold, and an unsold lead may be lost or still
open). `lost_at` is when a lost deal was closed (a close date on a lost row). `propensity` is
the probability with which the logging policy gave the lead to its rep (`Assigned.propensity`,
written by a randomising strategy such as `Explore`), in (0, 1]; missing when the assignment was
not randomised. `leadrouter.sim.evaluate` reads it."""

COLUMNS = (*FIELDS, "converted")
"""`to_frame()`'s standard columns: the export fields and `converted`, True when the lead is
won: stage "won", or (stage missing) a sale time, a positive amount, or a yes in a converted
column. Any other column of the export follows them, unchanged, as a lead feature."""

STATUSES = ("won", "lost", "open")
"""The values of `stage` (missing = not known: a plain lead export)."""
OPTIONAL_COLUMNS = ("stage", "lost_at", "propensity")
"""Columns `canonical` fills as missing when a frame lacks them (frames built before outcomes
had a stage, e.g. `to_frame()` of an older History, stay valid)."""

TIME_FIELDS = ("arrived_at", "assigned_at", "first_touch_at", "converted_at", "lost_at")
NUMBER_FIELDS = ("score", "cost", "amount", "propensity")
BOOL_FIELDS = ("reached", "valid", "converted")
TEXT_FIELDS = (
    "lead_id", "source", "region", "product", "segment", "grade", "contact", "rep_id", "stage",
)  # fmt: skip
_BLANK_IS_EMPTY = ("source", "region", "product", "segment")
"""Text fields that, like the Lead attributes they fill, are "" (not missing) when not given."""

REJECTED_COLUMNS = ("row", "column", "reason")
FLAGGED_COLUMNS = ("row", "column", "reason", "action")

TIME_DTYPE = pd.DatetimeTZDtype(unit="us", tz="UTC")
"""The dtype of every time column: UTC, to the microsecond."""
_STR: Any = "str" if int(pd.__version__.split(".")[0]) >= 3 else object


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with the standard columns first, in order, each in its one dtype.

    Times are UTC (`datetime64[us, UTC]`), numbers float64 (NaN when not given), `reached` and
    `valid` nullable booleans (NA = not known), `converted` a plain boolean, text columns strings
    (source, region, product and segment "" when not given, the others missing). Every builder
    of a History goes through here, so a synthetic History, a loaded one and a reloaded one
    compare equal column by column.

    `stage` must be "won", "lost", "open" or missing (`OPTIONAL_COLUMNS` may be absent: all
    missing); a "won" row is converted, and a converted row whose stage is "lost" or "open"
    is an `InvalidValueError` naming the lead, since the two columns would say opposite things.
    """
    frame = frame.assign(**{name: None for name in OPTIONAL_COLUMNS if name not in frame.columns})
    missing = [name for name in COLUMNS if name not in frame.columns]
    if missing:
        raise InvalidValueError(
            f"a History frame needs the columns {list(COLUMNS)}; missing {missing}"
        )
    columns: dict[str, pd.Series[Any]] = {}
    for name in COLUMNS:
        column = frame[name].reset_index(drop=True)
        if name in TIME_FIELDS:
            column = _utc(column, name)
        elif name in NUMBER_FIELDS:
            column = column.astype("float64")
        elif name == "converted":
            column = column.fillna(False).astype(bool)
        elif name in BOOL_FIELDS:
            column = column.astype("boolean")
        else:
            if column.dtype == object or not pd.api.types.is_string_dtype(column.dtype):
                column = _as_text(column)
            column = column.astype(_STR)
            if name in _BLANK_IS_EMPTY:
                column = column.fillna("")
        columns[name] = column
    out = pd.DataFrame(columns, index=pd.RangeIndex(len(frame)))
    _check(out)
    _check_status(out)
    for name in frame.columns:
        if name not in COLUMNS:
            out[name] = frame[name].reset_index(drop=True)
    return out


_MISSING_TYPES = frozenset({type(None), float, np.float64, type(pd.NA), type(pd.NaT)})
"""The types of a value `is_missing` can call missing."""


def _as_text(column: pd.Series[Any]) -> pd.Series[Any]:
    """Each value of a text column as `str`, None where `is_missing`: read at once when the
    column holds only strings and missing values (what the loader gives: a column of strings
    with None for blanks), else value by value (`_as_text_each`), for the same result."""
    values = column.to_numpy(dtype=object)
    missing = pd.isna(values)
    if (
        set(map(type, values[~missing].tolist())) <= {str}
        and set(map(type, values[missing].tolist())) <= _MISSING_TYPES
    ):
        values = values.copy()
        values[missing] = None
        return pd.Series(values, dtype=object)
    return _as_text_each(column)


def _as_text_each(column: pd.Series[Any]) -> pd.Series[Any]:
    """`_as_text`, one value at a time: `str(value)`, None where `is_missing`."""
    return pd.Series([None if is_missing(v) else str(v) for v in column])


def _utc(column: pd.Series[Any], name: str) -> pd.Series[Any]:
    """A time column as UTC; naive times are an error here (`from_frame` takes `tz=`)."""
    result: pd.Series[Any]
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        result = column.dt.tz_convert("UTC").astype(TIME_DTYPE)
        return result
    given = [value for value in column if not is_missing(value)]
    if not given:
        return pd.Series(pd.NaT, index=column.index, dtype=TIME_DTYPE)
    if not all(isinstance(v, datetime) and v.utcoffset() is not None for v in given):
        raise NaiveDatetimeError(
            f"History: column {name!r} must hold timezone-aware times, got {given[0]!r}: read "
            "text or naive times with History.from_frame(frame, tz='Asia/Shanghai')"
        )
    result = pd.to_datetime(column, utc=True).astype(TIME_DTYPE)
    return result


def _check(frame: pd.DataFrame) -> None:
    """The values Lead and the events require, checked for all rows at once, so leads and events
    can then be built without checking each one again."""
    for name in ("lead_id", "rep_id"):
        ids = frame[name].dropna()
        bad = ids[(ids == "") | (ids.str.strip() != ids)]
        if len(bad):
            raise InvalidValueError(
                f"History: {name} must be non-empty without surrounding spaces, got {bad.iloc[0]!r}"
            )
    for name in NUMBER_FIELDS:
        values = frame[name].to_numpy()
        bad_mask = np.isinf(values) | ((values < 0) & (name != "score"))
        if bad_mask.any():
            lead = frame["lead_id"].iloc[int(np.flatnonzero(bad_mask)[0])]
            raise InvalidValueError(
                f"History: {name} of lead {lead!r} must be finite"
                + (" and >= 0" if name != "score" else "")
            )
    propensity = frame["propensity"]
    given = propensity.notna().to_numpy()
    bad_mask = given & ~((propensity > 0) & (propensity <= 1)).to_numpy()
    bad_mask |= given & frame["rep_id"].isna().to_numpy()
    if bad_mask.any():
        first = int(np.flatnonzero(bad_mask)[0])
        raise InvalidValueError(
            f"History: propensity of lead {frame['lead_id'].iat[first]!r} is "
            f"{propensity.iat[first]!r}: a propensity is the probability of the logged assignment, "
            "in (0, 1], on a lead with a rep_id; leave it missing where the assignment was not "
            "randomised"
        )


def _check_status(frame: pd.DataFrame) -> None:
    """`stage` holds only `STATUSES` (or is missing); "won" sets `converted`; a converted lead
    marked lost or open is a contradiction, not something to pick a side of."""
    status = frame["stage"]
    bad = status.notna() & ~status.isin(STATUSES)
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise InvalidValueError(
            f"History: stage of lead {frame['lead_id'].iat[first]!r} is "
            f"{status.iat[first]!r}: a stage is 'won', 'lost', 'open' or missing (map a CRM's "
            "stage names with load_export(..., won=[...], lost=[...]))"
        )
    won = (status == "won").fillna(False).to_numpy(dtype=bool)
    converted = frame["converted"].to_numpy(dtype=bool)
    clash = converted & status.isin(("lost", "open")).to_numpy(dtype=bool)
    if clash.any():
        first = int(np.flatnonzero(clash)[0])
        raise InvalidValueError(
            f"History: lead {frame['lead_id'].iat[first]!r} is converted but its stage is "
            f"{status.iat[first]!r}: a converted lead is 'won'; fix one of the two columns"
        )
    frame["converted"] = converted | won


def is_missing(value: Any) -> bool:
    """None, NA, NaT or a float NaN: a cell the export left empty."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    data: dict[str, pd.Series[Any]] = {
        name: pd.Series([], dtype="int64" if name == "row" else _STR) for name in columns
    }
    return pd.DataFrame(data)


def row_table(
    rows: Iterable[Sequence[Any]] | pd.DataFrame | None, columns: Sequence[str]
) -> pd.DataFrame:
    """`rows` (tuples, a frame or None) as a frame of `columns`: `row` an integer, the others
    text (the shape of `History.rejected` and `History.flagged`)."""
    if rows is None:
        return _empty(columns)
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if frame.empty:
        return _empty(columns)
    if not isinstance(rows, pd.DataFrame):
        frame.columns = pd.Index(columns)
    frame = frame.loc[:, list(columns)].reset_index(drop=True)
    frame["row"] = frame["row"].astype("int64")
    for name in columns[1:]:
        frame[name] = frame[name].astype(_STR)
    return frame
