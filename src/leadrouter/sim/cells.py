"""Reading the cells of an export: times, numbers, yes / no, scores, each with its row reported.

The second layer of `load_export` (the first, `leadrouter.sim.reading`, turns a file into a table
of text cells). Every parser here takes a column and a `_Context` - the source, the row numbers
as a spreadsheet shows them and the reading options - and returns the parsed values, reporting
each cell it cannot use (`_Context.reject`) or had to adjust (`_Context.flag`), so `load_export`
lists them in `History.rejected` and `History.flagged` and nothing is dropped silently. A time
cell no column-wide reader takes is read alone by `leadrouter.sim.celltime`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from leadrouter.errors import (
    Audience,
    ExportOption,
    InvalidExportError,
    NaiveExportTimeError,
    ScoreScaleError,
)
from leadrouter.model import zone
from leadrouter.sim.celltime import _TZ, _parse_one
from leadrouter.sim.dates import (
    WrongWeekdayError,
)
from leadrouter.sim.history import TIME_DTYPE, TIME_FIELDS
from leadrouter.sim.layouts import common_layouts
from leadrouter.sim.locales import unaccented
from leadrouter.sim.money import JUNK, Written, accounting_negative, bare_numbers, foreign
from leadrouter.sim.words import (
    EXCEL_ERRORS,
    HEADER_SCALE,
    NOBODY,
    NOT_YET,
    NULLS,
    SCALED,
    SCALES,
    WORDS,
)
from leadrouter.sim.zonenames import (
    out_of_season,
    season_note,
)

_COMMA_DECIMAL = (
    r"^[-+]?(?:\d{1,3}(?:\.\d{3})+,\d+|\d*,(?:\d{1,2}|\d{4,})|0?,\d{3}|\d{1,3}(?:\.\d{3}){2,})$"
)
"""A number only a decimal comma reads: `1.200,50`, `3,5`, `0,85`, `0,850` (a comma followed by
other than three digits, or by three after a lone 0, cannot separate thousands), and
`1.250.000`, whose two dots can only separate thousands."""
_POINT_DECIMAL = (
    r"^[-+]?(?:\d{1,3}(?:,\d{3})+\.\d+|\d*\.(?:\d{1,2}|\d{4,})|0?\.\d{3}|\d{1,3}(?:,\d{3}){2,})$"
)
"""A number only a decimal point reads: `1,200.50`, `95.5`, `0.85`, `0.850`, and `1,250,000`,
whose two commas can only separate thousands."""
_DOT_GROUPS = r"^[-+]?[1-9]\d{0,2}(?:\.\d{3})+$"
"""A number without a comma whose dots may separate thousands (`12.000`, `1.250.000`): in a
column with a comma in no cell, only these can be read otherwise than with a decimal point."""
_DOT_THOUSANDS = r"^[-+]?[1-9]\d{0,2}\.\d{3}$"
"""A number each convention reads its own way: `12.000` is twelve with a decimal point, twelve
thousand with dots between thousands (as German, French and Spanish spreadsheets write it)."""
_LARGEST = {"cost": ("a cost", 1e12), "amount": ("an amount", 1e12)}
"""Beyond these a cost or sale amount is an id, phone number or typo in the wrong column (a
trillion in any currency), and its sums would swamp every figure or overflow."""
_OFFSET_END = re.compile(r"([zZ]|[+-]\d{2}:?\d{2})$")
"""A UTC offset or Z closing a time (its one group)."""
_STR_DTYPE: Any = "str" if int(pd.__version__.split(".")[0]) >= 3 else object
_COLUMNS = ExportOption("columns")


class _Context:
    """What every parser needs to report a problem: the source, its row numbers and options."""

    def __init__(
        self,
        origin: str,
        rows: np.ndarray[Any, Any],
        dayfirst: bool,
        tz: str | None,
        audience: Audience = "python",
    ) -> None:
        self.origin = origin
        self.rows = rows
        self.dayfirst = dayfirst
        self.tz = tz
        self.audience = audience
        self.rejected: list[tuple[int, str, str]] = []
        self.flagged: list[tuple[int, str, str, str]] = []
        self.zones: dict[str, dict[str, set[int]]] = {}
        """Per time column, the tz database zones its cells name (`09:15 America/New_York`),
        each with the positions of the cells that name it."""
        self.timed: frozenset[str] = frozenset({"assigned_at", "first_touch_at"})
        """The time fields whose time of day speed to lead is measured with: a column of
        dates alone among them is flagged (`_dates_only`). The arrival joins them when the
        export has first touches and no assignment time: a lead is then taken as assigned
        when it arrived."""

    def reject(self, position: int, header: str, reason: str) -> None:
        self.rejected.append((position, header, reason))

    def flag(self, position: int, header: str, reason: str, action: str) -> None:
        self.flagged.append((position, header, reason, action))


def excel_errors(texts: dict[str, pd.Series[Any]], headers: Iterable[str], ctx: _Context) -> None:
    """Reject each row with a failed formula's value (`#REF!`, `#DIV/0!`: `EXCEL_ERRORS`) in
    one of `headers`, naming the cell, and blank that cell so no later reading says it again:
    such a cell holds no value, and read as text it would make a rep named `#REF!` or a
    status nobody wrote."""
    for header in headers:
        text = texts[header]
        failed = text.str.strip().str.lower().isin(EXCEL_ERRORS).to_numpy()
        for position in np.flatnonzero(failed).tolist():
            ctx.reject(
                position,
                header,
                f"{text.iat[position]!r} is an Excel error, not a value: the formula behind the "
                "cell failed (a deleted reference, a division by zero, a misspelt name); fix it "
                "in the workbook, or paste the column as values, and export again",
            )
        if failed.any():
            texts[header] = text.mask(failed, "")


def _cell(value: Any) -> str:
    """One cell as text, the way a spreadsheet shows it ("" when empty)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if number != number:
            return ""
        if number.is_integer() and abs(number) < 1e16:
            return str(int(number))
        return repr(number)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _text(column: pd.Series[Any]) -> pd.Series[Any]:
    """Every cell of a column as stripped text, "" for empty ones."""
    result: pd.Series[Any]
    if column.dtype != object and pd.api.types.is_string_dtype(column.dtype):
        result = column.fillna("").str.strip().reset_index(drop=True)
    else:
        result = pd.Series([_cell(value) for value in column], dtype=_STR_DTYPE)
    return result


def _blank(text: pd.Series[Any], field: str = "") -> pd.Series[Any]:
    """Which cells hold no value: empty, a placeholder (NULLS), and the words `field`'s column
    writes for none: no rep in an owner column (NOBODY), "not yet" in a time column (NOT_YET)."""
    extra = NOBODY if field == "rep_id" else NOT_YET if field in TIME_FIELDS else frozenset()
    return text.str.lower().isin(NULLS | extra)


def _times(
    column: pd.Series[Any], text: pd.Series[Any], header: str, ctx: _Context, field: str
) -> pd.Series[Any]:
    """A time column in UTC; unreadable cells rejected, naive ones localised to `ctx.tz`; a
    column speed to lead is measured with (`ctx.timed`) flagged when it holds dates alone."""
    n = len(column)
    missing = _blank(text, field).to_numpy()
    naive = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    utc = naive.copy()
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        utc = column.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
        utc = utc.copy()
    elif pd.api.types.is_datetime64_dtype(column.dtype):
        naive = column.to_numpy(dtype="datetime64[us]").copy()
    else:
        numeric = text.str.fullmatch(r"\d+(?:\.\d+)?").to_numpy(dtype=bool, copy=True)
        if numeric.any():
            numeric[numeric] = ~text[numeric].str.fullmatch(r"\d{8}").to_numpy(dtype=bool)
        aware = _has_offset(text).to_numpy(dtype=bool) & ~missing
        plain = ~missing & ~aware & ~numeric
        naive = _iso(text, plain, utc=False)
        utc = _iso(text, aware, utc=True)
        failed = ~missing & np.isnat(naive) & np.isnat(utc)
        if failed.any():
            common = common_layouts(text.where(failed), ctx.dayfirst)
            naive = np.where(np.isnat(common), naive, common)
            _one_by_one(text, failed & np.isnat(common), naive, utc, header, ctx)
    if field in ctx.timed:
        _dates_only(text, missing, naive, utc, header, ctx)
    is_naive = ~np.isnat(naive)
    if is_naive.any():
        if ctx.tz is None:
            first = int(np.flatnonzero(is_naive)[0])
            raise NaiveExportTimeError(
                f"{ctx.origin}: column {header!r} holds times without a time zone (row "
                f"{ctx.rows[first]}: {text.iat[first]!r}) and no {_TZ.named(ctx.audience)} was "
                "given: name the zone your CRM writes times in, e.g. "
                + _TZ.given("Asia/Shanghai", ctx.audience)
            )
        utc = np.where(is_naive, _localize(naive, header, ctx), utc)
    _far_off(utc, text, header, ctx)
    times: pd.Series[Any] = pd.Series(utc).dt.tz_localize("UTC").astype(TIME_DTYPE)
    return times


_YEAR = np.timedelta64(365, "D")


def _far_off(utc: np.ndarray[Any, Any], text: pd.Series[Any], header: str, ctx: _Context) -> None:
    """Flag each time far outside the rest of its column (20 or more times): beyond its 10th to
    90th percentiles by more than their span, and by more than a year. A mistyped year (`1925`,
    `2205`) is read as written and stretches the history it is in: one lead 95 years before the
    rest made a history of 95 years, with no word."""
    given = ~np.isnat(utc)
    if given.sum() < 20:
        return
    low, high = np.percentile(utc[given].astype("int64"), [10, 90], method="inverted_cdf")
    bulk = np.array([low, high]).astype("datetime64[us]")
    margin = max(bulk[1] - bulk[0], _YEAR)
    far = given & ((utc < bulk[0] - margin) | (utc > bulk[1] + margin))
    for position in np.flatnonzero(far).tolist():
        before = bool(utc[position] < bulk[0])
        years = abs(int((utc[position] - bulk[0 if before else 1]) / _YEAR))
        ctx.flag(
            position,
            header,
            f"{text.iat[position]!r} is {max(years, 1)} year{'s' if years > 1 else ''} "
            f"{'before' if before else 'after'} the rest of its column (80% of "
            f"it falls between {str(bulk[0])[:10]} and {str(bulk[1])[:10]}): read as written",
            "if the year is mistyped, correct it in the export and load it again",
        )


def _one_by_one(
    text: pd.Series[Any],
    failed: np.ndarray[Any, Any],
    naive: np.ndarray[Any, Any],
    utc: np.ndarray[Any, Any],
    header: str,
    ctx: _Context,
) -> None:
    """Read the `failed` cells of a time column one at a time (`_parse_one`) into `naive` or
    `utc`, in row order, rejecting those that are no time; a weekday that is not its date's is
    an `InvalidExportError` naming the row. The cells are taken out of the column once, as a
    list: looking each up in the Series cost more than reading it."""
    cells = text.tolist()
    at: dict[bool, list[int]] = {False: [], True: []}
    moments: dict[bool, list[datetime]] = {False: [], True: []}
    unseasonal: list[tuple[int, str]] = []
    for position in np.flatnonzero(failed).tolist():
        try:
            parsed = _parse_one(str(cells[position]), ctx.dayfirst, ctx.audience, ctx.tz)
        except WrongWeekdayError as exc:
            raise InvalidExportError(
                f"{ctx.origin}: column {header!r}, row {ctx.rows[position]}: {exc.reason}"
            ) from None
        if isinstance(parsed, str):
            ctx.reject(position, header, parsed)
            continue
        aware = parsed.tzinfo is not None
        if isinstance(parsed.tzinfo, ZoneInfo):
            ctx.zones.setdefault(header, {}).setdefault(parsed.tzinfo.key, set()).add(position)
        if aware and (why := out_of_season(str(cells[position]), parsed)) is not None:
            unseasonal.append((position, why))
        at[aware].append(position)
        moments[aware].append(parsed.astimezone(UTC).replace(tzinfo=None) if aware else parsed)
    for aware, into in ((False, naive), (True, utc)):
        if at[aware]:
            into[at[aware]] = np.array(moments[aware], dtype="datetime64[us]")
    if unseasonal:
        ctx.flag(unseasonal[0][0], header, *season_note(cells[unseasonal[0][0]], unseasonal))


_DATE_ONLY = r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"


def _dates_only(
    text: pd.Series[Any],
    missing: np.ndarray[Any, Any],
    naive: np.ndarray[Any, Any],
    utc: np.ndarray[Any, Any],
    header: str,
    ctx: _Context,
) -> None:
    """Flag a column speed to lead is measured with (first touch, assignment, or the arrival
    when it stands for the assignment) that holds dates without times (every value written as
    a date, or every one at midnight): each is read as midnight, so speed to lead is off by up
    to a day, and a same-day first touch reads as before the lead arrived. (A deal export's
    created and close dates are days by nature: not flagged when it has no first touches.)"""
    written = ~missing & np.isnat(utc)
    if written.sum() < 2:
        return
    values = naive[written]
    at_midnight = values == values.astype("datetime64[D]")
    if (~at_midnight & ~np.isnat(values)).any():  # a time of day read: no cell is a date alone
        return
    dates = text[written].str.fullmatch(_DATE_ONLY).all()
    midnight = bool(at_midnight.all())
    if dates or midnight:
        first = int(np.flatnonzero(written)[0])
        ctx.flag(
            first,
            header,
            "the column holds dates without times: each is read as midnight, so speed to lead "
            "measured from it is off by up to a day",
            "export the column with its times (date and time) to measure speed to lead",
        )


def _has_offset(text: pd.Series[Any]) -> pd.Series[Any]:
    """Which texts end in a UTC offset or Z. Read from the last six characters, of which an
    export has few distinct values, so the regex runs per distinct ending, not per row. (A
    day-first date such as 03-04-2025 looks like one; the per-cell parser reads it right.)"""
    endings = text.str.slice(-6)
    aware = [e for e in endings.unique().tolist() if _OFFSET_END.search(str(e))]
    return endings.isin(aware)


def _iso(text: pd.Series[Any], which: np.ndarray[Any, Any], utc: bool) -> np.ndarray[Any, Any]:
    """The fast path: the cells of `text` marked in `which` read as ISO 8601 at once (NaT where
    that fails, for the per-cell parser to retry, and for the cells not marked); naive, or UTC
    when `utc`."""
    nothing = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[us]")
    if not which.any():
        return nothing
    try:
        parsed = pd.to_datetime(text.where(which), format="ISO8601", errors="coerce", utc=utc)
    except (ValueError, TypeError):  # e.g. offsets the ending check missed: retry per cell
        return nothing
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        if not utc:
            return nothing
        parsed = parsed.dt.tz_localize(None)
    result: np.ndarray[Any, Any] = parsed.to_numpy(dtype="datetime64[us]").copy()
    return result


def _localize(naive: np.ndarray[Any, Any], header: str, ctx: _Context) -> np.ndarray[Any, Any]:
    """Local wall-clock times in `ctx.tz` as UTC; times skipped or repeated by a daylight-saving
    change are resolved (forward / first occurrence) and flagged."""
    assert ctx.tz is not None
    wall = pd.Series(naive)
    where = zone(ctx.tz)
    strict = wall.dt.tz_localize(where, ambiguous="NaT", nonexistent="NaT")
    loose = wall.dt.tz_localize(
        where, ambiguous=np.ones(len(wall), dtype=bool), nonexistent="shift_forward"
    )
    trouble = wall.notna().to_numpy() & strict.isna().to_numpy()
    for position in np.flatnonzero(trouble).tolist():
        clock, got = _at(wall, position), _at(loose, position)
        shown = f"{clock:%Y-%m-%d %H:%M:%S}"
        if got.tz_localize(None) != clock:
            ctx.flag(
                int(position),
                header,
                f"local time {shown} does not exist in {ctx.tz} (clocks jumped forward)",
                f"moved forward to {got.isoformat(sep=' ')}",
            )
        else:
            ctx.flag(
                int(position),
                header,
                f"local time {shown} happens twice in {ctx.tz} (clocks went back)",
                f"read as the first, {got.isoformat(sep=' ')}",
            )
    result: np.ndarray[Any, Any] = (
        loose.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    )
    return result


def _at(series: pd.Series[Any], position: int) -> Any:
    return series.iat[position]


def _numbers(
    column: pd.Series[Any],
    text: pd.Series[Any],
    header: str,
    field: str,
    ctx: _Context,
    written: Written | None = None,
) -> np.ndarray[Any, Any]:
    """The column's numbers, each cell that is not one rejected with its row.

    A cost or amount in another currency than the rest of its column, by its own mark or by
    its row's currency column (`written`: header and cells), is rejected, as adding them up
    would be wrong (`leadrouter.sim.money`). Text cells lose currency signs and codes, units
    and spaces, then are read with the column's decimal separator (`_separators`): a column
    written with decimal commas (`1.200,50`, what European spreadsheets write) is read as such,
    never as thousands (which would make 3,5 into 35). A value too large to be a cost or amount
    (`_LARGEST`) is rejected, not summed."""
    missing = _blank(text).to_numpy(copy=True)
    money = field in _LARGEST
    unit = HEADER_SCALE.search(header) if money else None
    scale = np.full(len(text), SCALES[unit.group(1)] if unit else 1.0)
    for position, reason in (
        foreign(text.where(~missing), ctx.rows, written) if money else {}
    ).items():
        ctx.reject(position, header, reason)
        missing[position] = True
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
    else:
        core = text.where(~missing, "")
        dressed = ~missing & ~bare_numbers(core)  # only these can hold more than a number
        core[dressed] = accounting_negative(core[dressed].str.replace(JUNK, "", regex=True))
        if money:  # a cell's own multiplier (5.8万) wins over the header's unit
            parts = core[dressed].str.extract(SCALED)
            own = np.zeros(len(core), dtype=bool)
            own[dressed] = parts[1].notna().to_numpy()
            core[own] = parts[0][own[dressed]]
            scale[own] = parts[1][own[dressed]].map(SCALES).to_numpy(dtype="float64")
        read, mixed = _separators(core, header, ctx)
        values = _to_floats(read, ~missing)
        missing = missing | mixed  # rejected already, with why
    values = values.copy()
    values[missing] = np.nan
    values *= scale
    if unit is not None and np.isfinite(values).any():
        ctx.flag(
            int(np.flatnonzero(np.isfinite(values))[0]),
            header,
            f"the header gives the unit {unit.group(0)}: values in {unit.group(1)} "
            f"({SCALES[unit.group(1)]:,.0f}s)",
            f"every value of the column multiplied by {SCALES[unit.group(1)]:,.0f}",
        )
    bad = ~missing & ~np.isfinite(values)
    for position in np.flatnonzero(bad).tolist():
        cell = text.iat[position]
        ctx.reject(
            int(position),
            header,
            f"{cell!r} is too large a number"
            if np.isinf(values[position])
            else f"{cell!r} is not a number",
        )
    bounded = _LARGEST.get(field)
    if bounded is not None:
        named, largest = bounded
        negative = np.isfinite(values) & (values < 0)
        for position in np.flatnonzero(negative).tolist():
            ctx.reject(
                int(position), header, f"{text.iat[position]!r} is negative: {named} is 0 or more"
            )
        huge = np.isfinite(values) & (values > largest)
        for position in np.flatnonzero(huge).tolist():
            ctx.reject(
                int(position),
                header,
                f"{text.iat[position]!r} is too large for {named} (over {largest:,.0f}): is "
                "it an id or phone number in the wrong column?",
            )
        bad |= negative | huge
    values[bad] = np.nan
    return values


def _to_floats(read: pd.Series[Any], written: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """`pd.to_numeric` of the column `read` (NaN where it reads no number) at the cost of its
    `written` cells alone: the others are blank ("") and read NaN. A blank cell is read beside
    the written ones when the column has one, as it decides how they are read: with one, every
    value goes through the float parser (`-0` is -0.0); without, integers are read as such."""
    if written.all():
        return np.asarray(pd.to_numeric(read, errors="coerce"), dtype="float64")
    cells = pd.concat([read[written], pd.Series([""], dtype=read.dtype)], ignore_index=True)
    values = np.full(len(read), np.nan)
    values[written] = np.asarray(pd.to_numeric(cells, errors="coerce"), dtype="float64")[:-1]
    return values


def _separators(
    core: pd.Series[Any], header: str, ctx: _Context
) -> tuple[pd.Series[Any], np.ndarray[Any, Any]]:
    """Number texts with their thousands separators taken out and a decimal point, and which
    cells were rejected for mixing conventions.

    A column where some cells can only be read with a decimal comma (`_COMMA_DECIMAL`) and none
    only with a decimal point (`_POINT_DECIMAL`) is read with a decimal comma (dots separate
    thousands), and each cell holding a comma or a dot is flagged, so the choice is visible.
    Otherwise commas separate thousands and a dot is the decimal point; when no cell settles
    that, each cell the other convention reads a thousand times larger (`12.000`,
    `_DOT_THOUSANDS`) is flagged, since a whole-euro amount written so would otherwise be read
    as 12 in silence. A column with cells of both kinds mixes two conventions: the cells of the
    rarer kind are rejected, naming a cell of the other."""
    held = core.str.contains(",", regex=False).to_numpy(dtype=bool, copy=True)
    if not held.any() and not core.str.contains(_DOT_GROUPS, regex=True).any():
        return core, np.zeros(len(core), dtype=bool)  # a dot here can only be decimal
    held |= core.str.contains(".", regex=False).to_numpy(dtype=bool)
    comma = core.str.contains(_COMMA_DECIMAL, regex=True).to_numpy(dtype=bool)
    point = core.str.contains(_POINT_DECIMAL, regex=True).to_numpy(dtype=bool)
    if comma.any() and point.any():
        odd, usual = (comma, point) if comma.sum() <= point.sum() else (point, comma)
        example = int(np.flatnonzero(usual)[0])
        other = _written_with(str(core.iat[example]), usual is comma)
        for position in np.flatnonzero(odd).tolist():
            cell = str(core.iat[position])
            ctx.reject(
                int(position),
                header,
                f"{cell!r} has {_written_with(cell, odd is comma)}, while the column's other "
                f"numbers have {other} (e.g. {core.iat[example]!r} in row "
                f"{ctx.rows[example]}): export the column with one decimal separator",
            )
        comma = comma if usual is comma else np.zeros_like(comma)
        point = point if usual is point else np.zeros_like(point)
        core = core.where(~odd, "")
    else:
        odd = np.zeros(len(core), dtype=bool)
    if not comma.any():
        if not point.any():
            _flag_dot_thousands(core, header, ctx)
        return core.str.replace(",", "", regex=False), odd
    read = core.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    held &= ~odd
    example = int(np.flatnonzero(comma)[0])
    reason = (
        f"numbers written with a decimal comma ({core.iat[example]!r} in row "
        f"{ctx.rows[example]} cannot be read otherwise)"
    )
    for position in np.flatnonzero(held).tolist():
        ctx.flag(
            int(position),
            header,
            reason,
            f"read as {read.iat[position]}: "
            + ("dots between thousands, " if "." in str(core.iat[position]) else "")
            + "comma as decimal point",
        )
    return read, odd


def _written_with(cell: str, comma: bool) -> str:
    """How a cell that settles its column's convention is written, for a message."""
    if comma:
        return "a decimal comma" if "," in cell else "dots between thousands"
    return "a decimal point" if "." in cell else "commas between thousands"


def _flag_dot_thousands(core: pd.Series[Any], header: str, ctx: _Context) -> None:
    """Flag each `12.000` of a column no cell of which settles its decimal separator: read with a
    decimal point (12), it is twelve thousand in a file whose dots separate thousands."""
    ambiguous = core.str.contains(_DOT_THOUSANDS, regex=True).to_numpy(dtype=bool)
    for position in np.flatnonzero(ambiguous).tolist():
        cell = str(core.iat[position])
        thousands = cell.replace(".", "")
        ctx.flag(
            int(position),
            header,
            f"{cell!r} is {float(cell):g} with a decimal point, or {int(thousands):,} with a dot "
            "between thousands, and no number of the column settles which (such as 95.5, "
            "1,200.50, 3,5 or 1.250.000)",
            f"read as {float(cell):g}: dot as decimal point; if the dots separate thousands, "
            f"export the column with its decimals ({cell},00) or without thousands separators",
        )


def _score_scale(
    values: np.ndarray[Any, Any], text: pd.Series[Any], header: str, ctx: _Context
) -> np.ndarray[Any, Any]:
    """The score column on the 0-1 scale of `Lead.score`.

    A column within 0-1 is kept. A column within 0-100 with some value above 1 is a 0-100
    score (CRMs often write them so): every score is divided by 100 and each row is flagged, so
    the rescaling is visible in `History.flagged` and never silent. Any value outside 0-100
    leaves no scale to read the column on, so it is a `ScoreScaleError` naming the rows, since
    guessing would move every lead across every `nurture(below=...)` threshold.
    """
    given = np.isfinite(values)
    outside = given & ((values < 0.0) | (values > 100.0))
    if outside.any():
        positions = np.flatnonzero(outside).tolist()
        shown = "; ".join(f"row {ctx.rows[p]}: {text.iat[p]!r}" for p in positions[:3])
        more = f" and {len(positions) - 3} more rows" if len(positions) > 3 else ""
        raise ScoreScaleError(
            f"{ctx.origin}: column {header!r} holds scores outside 0-100 ({shown}{more}): "
            "leadrouter reads scores as 0-1, and divides a column of 0-100 scores by 100; "
            "rescale this column to 0-1 before loading, e.g. (score - min) / (max - min)"
        )
    if not (given & (values > 1.0)).any():
        return values
    top = float(values[given].max())
    reason = f"score column on a 0-100 scale (values up to {top:g}); Lead.score is 0-1"
    rescaled = values / 100.0
    for position in np.flatnonzero(given).tolist():
        ctx.flag(
            int(position),
            header,
            reason,
            f"divided by 100: {text.iat[position]} -> {rescaled[position]:g}",
        )
    return rescaled


def _propensities(
    values: np.ndarray[Any, Any],
    text: pd.Series[Any],
    header: str,
    reps: pd.Series[Any] | None,
    ctx: _Context,
) -> np.ndarray[Any, Any]:
    """The propensity column, each value a probability in (0, 1] on a row with a rep.

    A cell written as a percent ("80%", "0.67%", as a spreadsheet formats a chance) is divided
    by 100 and flagged: "0.67%" is 0.0067, never 0.67 (a weight a hundred times too small). A
    value outside (0, 1] or on a row without a rep cannot be the chance of a logged
    assignment: it is left blank and flagged, so the lead stays in every analysis and only
    off-policy evaluation treats its assignment as not randomised. A column written in percent
    without the sign (most values above 1, none above 100: "82", "2") is read as percent
    throughout, "1" included (1%, not a certainty), and every value is flagged."""
    values = values.copy()
    given = np.isfinite(values)
    percent = given & text.astype(str).str.contains("%", regex=False).to_numpy(dtype=bool)
    plain = given & ~percent
    scale = plain.any() and (values[plain] > 1.0).mean() > 0.5 and (values[plain] <= 100.0).all()
    if scale:
        percent = given
    for position in np.flatnonzero(percent).tolist():
        values[position] /= 100.0
        ctx.flag(
            int(position),
            header,
            f"{text.iat[position]!r} is a percent"
            + (" (the column is written in percent: most values are above 1)" if scale else ""),
            f"read as {values[position]:g}",
        )
    no_rep = np.ones(len(values), dtype=bool) if reps is None else reps.isna().to_numpy()
    for position in np.flatnonzero(given & ((values <= 0.0) | (values > 1.0))).tolist():
        ctx.flag(
            int(position),
            header,
            f"{text.iat[position]!r} is not a probability in (0, 1] (write 0.07 or 7% for 7%)",
            "left blank: evaluate() treats this assignment as not randomised",
        )
        values[position] = np.nan
    for position in np.flatnonzero(np.isfinite(values) & no_rep).tolist():
        ctx.flag(
            int(position),
            header,
            "a propensity but no rep",
            "left blank: a propensity is the chance of the logged rep",
        )
        values[position] = np.nan
    return values


def _booleans(text: pd.Series[Any], header: str, field: str, ctx: _Context) -> np.ndarray[Any, Any]:
    missing = _blank(text).to_numpy()
    lowered = text.str.lower()
    values = np.full(len(text), None, dtype=object)
    hint = ""
    if field == "converted":
        hint = "; if the column holds sale dates, map it: " + _COLUMNS.given(
            {header: "converted_at"}, ctx.audience
        )
    unknown = "read as no sale recorded" if field == "converted" else "read as unknown"
    words = lowered.tolist()
    read = {word: WORDS.get(unaccented(word), "") for word in set(words)}
    originals = text.tolist()
    for position in np.flatnonzero(~missing).tolist():
        word = read[words[position]]
        if word is None:
            ctx.flag(position, header, f"{originals[position]!r}: not known yet", unknown)
        elif word == "":
            ctx.reject(
                position,
                header,
                f"{originals[position]!r} is not yes or no (write yes/no, true/false, 1/0, "
                f"是/否, oui/non, ja/nein or sí/no){hint}",
            )
        else:
            values[position] = word
    return values
