"""load_export: a CRM or ad-platform export (CSV, Excel, Parquet) into a History.

What it guarantees, and why:

- **Nothing is dropped silently.** A row that cannot be used (no lead id, a time or number that
  cannot be read, a lead id seen in an earlier row) is listed in `History.rejected` with its row
  number as a spreadsheet shows it (the header is row 1), the column and the reason; a row kept
  with a value adjusted is listed in `History.flagged`. One line on stderr says how many rows were
  loaded and rejected. A file with no usable row, or without a required column, raises a named
  error naming the file and the column.
- **No guessing of time zones.** Times with an offset are read as written; times without one
  need `tz=` (the zone the CRM wrote them in), else `NaiveExportTimeError` says so. A local time
  that does not exist (the hour skipped when clocks jump forward) is moved forward, and an
  ambiguous one (clocks going back) is read as the first occurrence; both are flagged.
- **The team's file as it is.** Common English, Chinese, French, German and Spanish CRM headers
  are recognised without a map (case, spaces, underscores, accents and bracketed units ignored;
  `leadrouter.sim.headers`); UTF-8
  (with or without BOM), UTF-16 with BOM and GBK/GB18030 files open without naming the
  encoding; ISO times, `dd/mm/yyyy` or `mm/dd/yyyy`, `2025年3月3日`, months and weekdays by
  name (`Mon, Jan 5, 2026 9:15 AM`, `5 janvier 2026`; `leadrouter.sim.dates`), Excel serial
  numbers and Unix timestamps are read. Without `dayfirst`, a file whose dates can only be read
  day first (13/03/2025, `Fri 01/05/2026` by its weekday) is read day first, and flagged so; one
  holding dates only readable day first and dates only readable month first is an error naming
  one of each; one whose dates could be either is read month first, and flagged so. A weekday
  that is not the date's is an error naming the cell, never ignored.
- **One header, one column.** A header written twice that would be read as a field is an error
  naming both positions (which of them holds the field cannot be told); repeated headers read as
  no field are kept as `Owner.1` ... and flagged in the header row.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadrouter.errors import (
    Audience,
    ConfigError,
    EmptyExportError,
    ExportOption,
    MissingColumnError,
    NaiveExportTimeError,
)
from leadrouter.model import zone
from leadrouter.sim.cells import (
    _COLUMNS,
    _OFFSET_END,
    _STR_DTYPE,
    _at,
    _blank,
    _booleans,
    _Context,
    _numbers,
    _propensities,
    _score_scale,
    _text,
    _times,
    excel_errors,
)
from leadrouter.sim.celltime import _DAYFIRST, _TZ, _parse_one
from leadrouter.sim.dates import WrongWeekdayError, clock_words, date_alone
from leadrouter.sim.dayfirst import Order, day_first_because, infer_dayfirst, month_first_note
from leadrouter.sim.headers import (
    ALIASES,
    CURRENCY,
    LOST_REASON,
    _norm,
    _repeated_headers,
    _resolve,
    _unrepeated,
    column_map_direction,
    columns_from_flags,
    converted,
    converted_notes,
)
from leadrouter.sim.history import (
    BOOL_FIELDS,
    COLUMNS,
    NUMBER_FIELDS,
    TIME_DTYPE,
    TIME_FIELDS,
    History,
    _checked_as_of,
    read_frames_with,
)
from leadrouter.sim.inspection import load_summary
from leadrouter.sim.money import Written, currency_column, currency_note
from leadrouter.sim.profiles import GENERIC, Outcomes, detect
from leadrouter.sim.reading import ENCODING, MERGED, merged_cell_notes, read_table, short_row_notes
from leadrouter.sim.stages import (
    LOST,
    WON,
    blank_stages,
    listed,
    not_a_stage,
    outcome_table,
    split_close_dates,
    stage_like,
    statuses,
    unmatched_stages,
)
from leadrouter.sim.words import SUMMARY, digits_lost, no_arrival
from leadrouter.sim.zonenames import written_offset, zone_key, zone_writing

__all__ = ["ALIASES", "build_history", "column_map_direction", "columns_from_flags", "load_export"]

REQUIRED = ("lead_id", "arrived_at")

_AS_OF = ExportOption("as_of")
"""The option a message names as the fix, as a keyword or as the command's flag."""


def load_export(
    path: str | PathLike[str],
    columns: Mapping[str, str] | None = None,
    dayfirst: bool | None = None,
    encoding: str | None = None,
    tz: str | None = None,
    *,
    won: Sequence[str] = (),
    lost: Sequence[str] = (),
    as_of: datetime | str | None = None,
    audience: Audience = "python",
) -> History:
    """Read a CSV, Excel (.xlsx) or Parquet export into a History (one row per lead).

    `columns` maps the file's headers to fields, like `DataFrame.rename` ({"Owner Name":
    "rep_id"}); headers it does not name are recognised when they are common CRM headers
    (`ALIASES`: English, Chinese, French, German, Spanish), and any other column is kept as a
    lead feature. Only `lead_id` and
    `arrived_at` are required. `encoding` is detected when not given (UTF-8 with or without BOM,
    UTF-16 with BOM, else GB18030, which reads GBK); an explicit one wins (CSV only: Excel and
    Parquet files carry their own). `dayfirst=True` reads `03/04/2025` as 3 April,
    `dayfirst=False` as March 4; by default the file decides: read day first when some of its
    dates can only be read so (13/03/2025) and none only month first (03/13/2025), which is
    flagged in `History.flagged`, else month first (flagged too when a date such as 03/04/2025
    could be either and none decides); a weekday written before a date decides as well, and
    one that is not the date's raises `InvalidExportError`; both kinds in one file raise
    `InvalidExportError`. A header written twice that would be read as a field raises
    `InvalidExportError` naming its columns. `tz` is the zone of times written without an
    offset; a file with such times and no `tz` raises `NaiveExportTimeError`.

    Headers are read through the export's profile when it is one of a CRM's default exports
    (`leadrouter.sim.profiles`: Salesforce, HubSpot, Pipedrive, Zoho, Odoo; `History.profile`
    names it). A stage or status column gives `stage`: recognised stage names map to won /
    lost / open, `won` and `lost` list the team's own values (they win), and any other value
    is open; `History.outcomes` lists every value with its count and mapping. On rows with a
    status, a close date is the sale time (`converted_at`) only on won rows and the loss time
    (`lost_at`) on lost rows, and only won rows are converted. `as_of` is when the export was
    taken (default: its latest time; a text is read like the file's times).

    The file type is read from its first bytes, not its name. Rejected rows are listed in
    `History.rejected`, adjusted ones in `History.flagged`, and a one-line summary goes to
    stderr. Raises `MissingColumnError` (no lead id or arrival time column), `EmptyExportError`
    (no usable row) or `InvalidExportError` (a file that is missing, unreadable, binary or not
    a table), each naming the file. `audience="command"` words every message, and the reasons in
    `History.rejected`, for the `leadrouter` commands: the option that fixes a problem is named
    as their flag (`--tz Asia/Shanghai`) rather than as a keyword (`tz='Asia/Shanghai'`), so
    the commands and Python share this one reader and its one set of messages.
    """
    source = Path(path)
    raw = read_table(source, encoding, audience)
    return build_history(
        raw,
        origin=str(source),
        columns=columns,
        dayfirst=dayfirst,
        tz=tz,
        won=won,
        lost=lost,
        as_of=as_of,
        audience=audience,
        inspect_command=_inspect_command(source, columns, dayfirst, encoding, tz, won, lost, as_of),
    )


def _inspect_command(
    source: Path,
    columns: Mapping[str, str] | None,
    dayfirst: bool | None,
    encoding: str | None,
    tz: str | None,
    won: Sequence[str],
    lost: Sequence[str],
    as_of: datetime | str | None,
) -> str:
    """The `leadrouter inspect` command that reads `source` as these options do, ready to paste:
    a command's summary names it for the rows it rejected or flagged. Without the options the
    file would read otherwise, or not at all (times without a zone need `--tz`)."""
    words = ["leadrouter inspect", shlex.quote(str(source))]
    single = ((_COLUMNS, columns or None), (_DAYFIRST, dayfirst), (ENCODING, encoding), (_TZ, tz))
    words += [option.given(value, "command") for option, value in single if value is not None]
    words += [
        listed(option, list(values), "command")
        for option, values in ((WON, won), (LOST, lost))
        if values
    ]
    if as_of is not None:
        words.append(_AS_OF.given(as_of, "command"))
    return " ".join(words)


# --------------------------------------------------------------------------- building


def build_history(
    raw: pd.DataFrame,
    *,
    origin: str,
    columns: Mapping[str, str] | None = None,
    dayfirst: bool | None = None,
    tz: str | None = None,
    won: Sequence[str] = (),
    lost: Sequence[str] = (),
    as_of: datetime | str | None = None,
    audience: Audience = "python",
    inspect_command: str | None = None,
) -> History:
    """Read a table laid out like an export (one row per lead, headers as columns) into a
    History; `load_export` and `History.from_frame` both end here. `origin` names the source in
    messages; row numbers count the first data row as row 2; `inspect_command` is the command
    the summary names for the rows rejected or flagged (`load_export`'s, with its options);
    the other options are `load_export`'s."""
    if tz is not None:
        try:
            zone(tz)
        except ConfigError as exc:
            if audience == "python":
                raise
            raise ConfigError(f"{_TZ.given(tz, audience)}: {exc}") from exc
    merged = raw.attrs.pop(MERGED, {})  # before any copy: pandas copies attrs deeply each time
    raw = raw.copy()
    written = [str(header) for header in raw.columns]
    named = _unrepeated(written)
    raw.columns = pd.Index(named)
    texts = {header: _text(raw[header]) for header in raw.columns}
    for header in list(texts):  # a header cell left empty above an empty column: nothing to keep
        if re.fullmatch(r"Unnamed: \d+", header) and _blank(texts[header]).all():
            del texts[header]
            raw = raw.drop(columns=[header])
    headers = list(raw.columns)
    profile = detect(_norm(header) for header in headers)
    reading = Outcomes(profile, tuple(map(str, won)), tuple(map(str, lost)))
    if reading.both():
        raise ConfigError(
            f"{WON.named(audience)} and {LOST.named(audience)} both name "
            f"{reading.both()!r}: a stage is won or lost, not both"
        )
    mapping = _resolve(headers, columns, origin, audience, profile)
    notes = _repeated_headers(written, named, mapping, columns, origin, audience)
    short = short_row_notes(raw, written)
    notes += merged_cell_notes(merged, written)
    notes += converted_notes(headers, mapping, columns)
    if "converted" in mapping:
        not_a_stage(texts[mapping["converted"]], mapping["converted"], origin, reading, audience)
    for field in REQUIRED:
        if field not in mapping:
            looked = ", ".join(repr(alias) for alias in ALIASES[field][:6])
            raise MissingColumnError(
                f"{origin}: no {field} column: none of the headers {headers} is one leadrouter "
                f"recognises for {field} (such as {looked}): name yours with "
                f"{_COLUMNS.given({'your header': field}, audience)} "
                f"({column_map_direction(audience)})"
            )
    used = np.zeros(len(raw), dtype=bool)
    for text in texts.values():
        used |= ~_blank(text).to_numpy()
    raw = raw.loc[used].reset_index(drop=True)
    texts = {header: text.loc[used].reset_index(drop=True) for header, text in texts.items()}
    rows = np.flatnonzero(used) + 2
    if not len(raw):
        raise EmptyExportError(
            f"{origin}: no rows under the header: export the leads, one row per lead"
        )
    dates = {
        header: texts[header]
        for field, header in mapping.items()
        if field in TIME_FIELDS and not pd.api.types.is_datetime64_any_dtype(raw[header])
    }
    order = Order({}) if dayfirst is not None else infer_dayfirst(dates, rows, origin, audience)
    day_only = order.day_only
    if order.unsettled is not None:
        notes.append(month_first_note(order.unsettled, dates, rows, audience))
    ctx = _Context(origin, rows, bool(dayfirst) or bool(day_only), tz, audience)
    if "first_touch_at" in mapping and "assigned_at" not in mapping:
        ctx.timed |= {"arrived_at"}  # a lead is taken as assigned when it arrived
    excel_errors(texts, dict.fromkeys(mapping.values()), ctx)
    stated = _currency_column(mapping, texts)
    if stated is not None:
        notes.append(currency_note(mapping["amount"], stated))
    data: dict[str, Any] = {}
    for field, header in mapping.items():
        column, text = raw[header], texts[header]
        if field in TIME_FIELDS:
            data[field] = _times(column, text, header, ctx, field)
        elif field in NUMBER_FIELDS:
            data[field] = _numbers(
                column, text, header, field, ctx, stated if field == "amount" else None
            )
        elif field in BOOL_FIELDS:
            data[field] = _booleans(text, header, field, ctx)
        else:  # kept as text, not Python objects: a History's text columns are text
            data[field] = text.where(~_blank(text, field).to_numpy())
    if "score" in data:
        data["score"] = _score_scale(data["score"], texts[mapping["score"]], mapping["score"], ctx)
    if "propensity" in data:
        header = mapping["propensity"]
        data["propensity"] = _propensities(
            data["propensity"], texts[header], header, data.get("rep_id"), ctx
        )
    _quoted_amounts(data, mapping, ctx)
    why = statuses(data, mapping, reading, ctx)
    summaries = {int(rows[position]) for position in _require(data, texts, mapping, ctx)}
    notes += [note for note in short if note[0] not in summaries]  # a footer line is short
    keep = np.ones(len(raw), dtype=bool)
    for position, _, _ in ctx.rejected:
        keep[position] = False
    if not keep.any():
        first = sorted(ctx.rejected, key=lambda item: item[0])[:3]
        shown = "; ".join(f"row {rows[p]}, {h}: {r}" for p, h, r in first)
        raise EmptyExportError(
            f"{origin}: no usable rows: "
            f"{'its one row was' if len(raw) == 1 else f'all {len(raw)} rows were'} rejected "
            f"({shown}{' ...' if len(ctx.rejected) > 3 else ''}): fix "
            f"those columns, or map the right headers with {_COLUMNS.named(audience)} "
            f"({column_map_direction(audience)})"
        )
    kept = np.flatnonzero(keep)
    frame = _frame(data, raw, texts, mapping, kept)
    fields = split_close_dates(frame, mapping)
    blank_stages(frame, mapping, kept, ctx, {note[0] for note in short})
    _check_order(frame, fields, kept, ctx)
    _orphans(frame, fields, kept, ctx)
    said = {(p, h): r for p, h, r in reversed(ctx.rejected)}  # a cell's first reason says it
    rejected = sorted((int(rows[p]), h, r) for (p, h), r in said.items())
    if day_only:
        notes.append(_day_first_note(day_only, texts, rows, keep, audience))
    if "stage" in mapping:
        notes += unmatched_stages(reading, why[1], mapping["stage"], audience)
    else:
        notes += stage_like(texts, mapping, audience)
    flagged = sorted([(int(rows[p]), h, r, a) for p, h, r, a in ctx.flagged if keep[p]] + notes)
    arrivals = raw[mapping["arrived_at"]].iloc[kept], texts[mapping["arrived_at"]].iloc[kept]
    naming = ctx.zones.get(mapping["arrived_at"], {})
    whole = {key for key, at in naming.items() if at.issuperset(kept.tolist())}
    ctx.tz = tz or _zone_of(*arrivals, whole)  # a naive as_of is read in the file's own zone
    known_as_of = _checked_as_of(_as_of(as_of, ctx), frame, f"{origin}:", _AS_OF.named(audience))
    history = History(
        frame,
        rejected=rejected,
        flagged=flagged,
        tz=ctx.tz,
        columns={field: fields[field] for field in COLUMNS if field in fields},
        origin=origin,
        as_of=known_as_of,
        profile=profile.name if profile is not None else GENERIC,
        outcomes=outcome_table(why, kept) if "stage" in mapping else None,
    )
    read_as = (
        "day first (dd/mm/yyyy)"
        if day_only
        else "month first (mm/dd/yyyy), which nothing in the file settles"
        if order.unsettled is not None
        else None
    )
    counted = len({row for row, _, _ in rejected}), len({row for row, _, _, _ in flagged})
    stages = frame["stage"] if "stage" in mapping else None
    print(
        load_summary(origin, len(history), stages, counted, audience, inspect_command, read_as),
        file=sys.stderr,
    )
    return history


read_frames_with(build_history)


def _currency_column(
    mapping: Mapping[str, str], texts: Mapping[str, pd.Series[Any]]
) -> Written | None:
    """The currency column the amounts are checked against, read for them, when the export
    has both and the amounts are not a converted column (`Amount (converted)`), which is in one
    currency whatever the currency of its row's unconverted amount."""
    if CURRENCY not in mapping or "amount" not in mapping or converted(mapping["amount"]):
        return None
    amounts = texts[mapping["amount"]]
    header = mapping[CURRENCY]
    return currency_column(header, texts[header], amounts.where(~_blank(amounts)))


def _zone_of(column: pd.Series[Any], text: pd.Series[Any], keys: set[str]) -> str:
    """The zone to read local days in when no `tz` was given: a typed column's own zone, the
    zone every arrival time names (`keys`: `09:15 America/New_York`), the zone whose names
    they are written with (EST and EDT -> "America/New_York"), or the one UTC offset every
    arrival time is written with (+08:00 or HKT -> "Etc/GMT-8"), else UTC. A name or offset
    in parentheses counts as without them (`(EST)`, `(GMT+8)`)."""
    if len(keys) == 1:
        return next(iter(keys))
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        name = str(column.dtype.tz)
        try:
            zone(name)
        except ConfigError:
            return "UTC"
        return name
    endings = set(text.str.slice(-6).unique().tolist())
    if any(str(ending).endswith(")") for ending in endings):
        endings = {_unbracketed(str(ending)) for ending in text.str.slice(-16).unique().tolist()}
    if (named := zone_writing(map(str, endings))) is not None:
        return named
    offsets = set()
    for ending in endings:
        found = _OFFSET_END.search(str(ending))
        offsets.add(found.group(1) if found else written_offset(str(ending)))
    if len(offsets) != 1 or None in offsets:
        return "UTC"
    offset = offsets.pop()
    if offset is None or offset in "zZ" or offset[-2:] != "00":
        return "UTC"
    hours = int(offset[:3])
    return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"


def _unbracketed(ending: str) -> str:
    """The last six characters of a time's ending with a name or offset in parentheses read as
    without them (`09:15 (GMT+8)` -> ` +0800`), as the cells themselves are read."""
    return clock_words(zone_key(ending, str)[0])[-6:]


def _day_first_note(
    day_only: dict[str, np.ndarray[Any, Any]],
    texts: dict[str, pd.Series[Any]],
    rows: np.ndarray[Any, Any],
    keep: np.ndarray[Any, Any],
    audience: Audience,
) -> tuple[int, str, str, str]:
    """The flag saying the file's dates were read day first, at its first date that can only
    be read so (on a kept row when there is one)."""
    found = [(h, np.flatnonzero(mask & keep)) for h, mask in day_only.items()]
    header, where = next(((h, at) for h, at in found if len(at)), (None, None))
    if header is None or where is None:
        header = next(iter(day_only))
        where = np.flatnonzero(day_only[header])
    position = int(where[0])
    cell = texts[header].iat[position]
    return (
        int(rows[position]),
        header,
        f"dates read day first (dd/mm/yyyy): {cell!r} "
        f"{day_first_because(cell, 'cannot be month first')}, and no date of the file can "
        "only be month first",
        f"every dd/mm/yyyy date of the file read day first; give "
        f"{_DAYFIRST.given(False, audience)} to read them month first",
    )


# --------------------------------------------------------------------------- rows


def _require(
    data: dict[str, Any], texts: dict[str, pd.Series[Any]], mapping: dict[str, str], ctx: _Context
) -> set[int]:
    """Reject rows without a lead id or arrival time, and later rows repeating a lead id; the
    positions of the rows that are a report's totals or footer lines, not leads (`SUMMARY`),
    are returned. Such a line is named so, in one reason, by its lead id or, on a row without
    one, by its first cell in whichever column that is."""
    id_header, at_header = mapping["lead_id"], mapping["arrived_at"]
    ids = data["lead_id"]
    none = ids.isna().to_numpy()
    summaries: set[int] = set()
    for position in np.flatnonzero(_blank(texts[at_header], "arrived_at").to_numpy()).tolist():
        label: str | None = None if none[position] else str(ids.iat[position])
        written_in: str | None = None
        if label is None:
            label, written_in = _first_cell(texts, position)
        if label is not None and SUMMARY.match(label):
            summaries.add(position)
        ctx.reject(int(position), at_header, no_arrival(label, written_in))
    again = ids.duplicated().to_numpy() & ~none
    first: dict[str, int] = {}
    if again.any():
        firsts = ids.duplicated(keep=False).to_numpy() & ~none & ~again
        first = {lead_id: position for position, lead_id in ids[firsts].items()}
    unnamed = none.copy()
    unnamed[list(summaries)] = False  # its one reason says what the line is
    for position in np.flatnonzero(unnamed | again).tolist():
        lead_id = ids.iat[position]
        if unnamed[position]:
            ctx.reject(position, id_header, "no lead id: every row needs one")
        else:
            ctx.reject(
                position,
                id_header,
                f"lead id {lead_id!r} is already in row {ctx.rows[first[lead_id]]}: one row per "
                f"lead, the first is kept{digits_lost(lead_id)}",
            )
    return summaries


def _first_cell(texts: dict[str, pd.Series[Any]], position: int) -> tuple[str | None, str | None]:
    """The row's first written cell, and its column's header (None, None on a blank row)."""
    for header, text in texts.items():
        cell = text.iat[position]
        if isinstance(cell, str) and cell.strip():
            return cell.strip(), header
    return None, None


def _quoted_amounts(data: dict[str, Any], mapping: dict[str, str], ctx: _Context) -> None:
    """Without a stage column a positive amount makes a sale, unless the converted column says
    no: then the amount is a quote (hand-kept sheets fill it on every lead), so it is left out,
    each such row flagged, rather than a "no" overruled in silence."""
    if "stage" in mapping or "converted" not in data or "amount" not in data:
        return
    amounts = data["amount"]
    said_no = np.array([flag is False for flag in data["converted"]], dtype=bool)
    quoted = said_no & (np.nan_to_num(amounts) > 0)
    if "converted_at" in data:  # a sale date beside a "no" is not a quote: left as it is
        quoted &= data["converted_at"].isna().to_numpy()
    for position in np.flatnonzero(quoted).tolist():
        ctx.flag(
            position,
            mapping["amount"],
            f"amount {amounts[position]:,.2f} on a lead {mapping['converted']!r} marks not "
            "converted",
            "read as not converted; the amount left out as a quote",
        )
    amounts[quoted] = np.nan


def _frame(
    data: dict[str, Any],
    raw: pd.DataFrame,
    texts: dict[str, pd.Series[Any]],
    mapping: dict[str, str],
    kept: np.ndarray[Any, Any],
) -> pd.DataFrame:
    """The kept rows as a History frame: parsed fields, defaults for absent ones, `converted`
    derived, other columns as features."""
    n = len(kept)
    every = n == len(raw)  # no row rejected: nothing to take out

    def kept_rows(column: pd.Series[Any]) -> pd.Series[Any]:
        return column.reset_index(drop=True) if every else column.iloc[kept].reset_index(drop=True)

    out: dict[str, Any] = {}
    for name in COLUMNS:
        value = data.get(name)
        if isinstance(value, pd.Series):
            out[name] = kept_rows(value)
        elif value is not None:
            out[name] = np.asarray(value) if every else np.asarray(value)[kept]
        elif name in TIME_FIELDS:
            out[name] = pd.Series(pd.NaT, index=pd.RangeIndex(n), dtype=TIME_DTYPE)
        elif name in NUMBER_FIELDS:
            out[name] = np.full(n, np.nan)
        elif name in BOOL_FIELDS:
            out[name] = pd.Series(pd.NA, index=pd.RangeIndex(n), dtype="boolean")
        else:  # in the dtype the given text fields have, so History need not convert it
            out[name] = pd.Series(None, index=pd.RangeIndex(n), dtype=_STR_DTYPE)
    sold = out["converted_at"].notna().to_numpy() | (np.nan_to_num(out["amount"]) > 0)
    said = data.get("converted")
    if said is not None:
        sold |= np.array([flag is True for flag in out["converted"]], dtype=bool)
    out["converted"] = sold
    frame = pd.DataFrame(out)
    mapped = {header for field, header in mapping.items() if field not in (LOST_REASON, CURRENCY)}
    for header in raw.columns:
        if header in mapped:
            continue
        name = header if header not in COLUMNS else f"{header} (unmapped)"
        column = raw[header]
        if _is_text(column):
            column = texts[header]
        frame[name] = kept_rows(column.reset_index(drop=True).where(~_blank(texts[header])))
    return frame


def _as_of(value: datetime | str | None, ctx: _Context) -> datetime | None:
    """`as_of` as an aware time: a datetime as given (History checks it), a text read like
    the export's times (in `tz` when it has no offset); a date alone is the end of that day."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        parsed = _parse_one(str(value), ctx.dayfirst, ctx.audience, ctx.tz)
    except WrongWeekdayError as exc:
        parsed = exc.reason
    if isinstance(parsed, str):
        raise ConfigError(f"{_AS_OF.given(value, ctx.audience)}: {parsed}")
    if date_alone(str(value)):
        parsed = parsed + timedelta(days=1, microseconds=-1)
    if parsed.tzinfo is None:
        if ctx.tz is None:
            raise NaiveExportTimeError(
                f"{_AS_OF.given(value, ctx.audience)}: a time without a zone and no "
                f"{_TZ.named(ctx.audience)} was given: write its offset, e.g. "
                f"{_AS_OF.given('2025-03-31 18:00+08:00', ctx.audience)}, or give "
                + _TZ.given("Asia/Shanghai", ctx.audience)
            )
        stamp = pd.Timestamp(parsed).tz_localize(
            zone(ctx.tz), nonexistent="shift_forward", ambiguous=True
        )
        result: datetime = stamp.to_pydatetime()
        return result
    return parsed


def _is_text(column: pd.Series[Any]) -> bool:
    """True for a column of strings (read from CSV, or built from Python strings)."""
    if column.dtype != object:
        return pd.api.types.is_string_dtype(column.dtype)
    return all(isinstance(value, str) for value in column if not pd.isna(value))


_WHAT = {
    "assigned_at": "assignment",
    "first_touch_at": "first touch",
    "converted_at": "sale",
    "lost_at": "loss",
}


def _check_order(
    frame: pd.DataFrame, mapping: dict[str, str], kept: np.ndarray[Any, Any], ctx: _Context
) -> None:
    """Move an assignment, first touch or sale dated before the lead (or before the assignment)
    to that time, and flag it, so the logged events replay in order."""
    arrived = frame["arrived_at"]
    assigned = frame["assigned_at"]
    for field in _WHAT:
        if field not in mapping:
            continue
        values = frame[field]
        floor = arrived if field == "assigned_at" else assigned.where(assigned.notna(), arrived)
        early = (values.notna() & (values < floor)).to_numpy()
        for position in np.flatnonzero(early).tolist():
            before = (
                "the assignment"
                if field != "assigned_at" and not pd.isna(_at(assigned, position))
                else "the lead arrived"
            )
            ctx.flag(
                int(kept[position]),
                mapping[field],
                f"{_WHAT[field]} dated {_show(values.iat[position], ctx.tz)}, before {before}",
                f"set to {_show(floor.iat[position], ctx.tz)}",
            )
        frame.loc[early, field] = floor[early]
        if field == "assigned_at":
            assigned = frame["assigned_at"]


def _orphans(
    frame: pd.DataFrame, mapping: dict[str, str], kept: np.ndarray[Any, Any], ctx: _Context
) -> None:
    """Flag leads with an outcome but no rep: kept, but they log no events beyond Arrived."""
    sale_header = mapping.get("converted_at") or mapping.get("amount") or mapping.get("converted")
    outcomes = (
        ("first touch", mapping.get("first_touch_at"), frame["first_touch_at"].notna()),
        ("verdict", mapping.get("valid"), frame["valid"].notna()),
        ("sale", sale_header, frame["converted"]),
    )
    no_rep = frame["rep_id"].isna().to_numpy()
    done = np.zeros(len(frame), dtype=bool)
    for what, header, present in outcomes:
        if header is None:
            continue
        for position in np.flatnonzero(no_rep & present.to_numpy(dtype=bool) & ~done).tolist():
            done[position] = True
            ctx.flag(
                int(kept[position]),
                header,
                f"a {what} but no rep",
                "kept in to_frame(); events log only its arrival (the ledger needs the rep who "
                "held the lead)",
            )


def _show(value: Any, tz: str | None) -> str:
    stamp = pd.Timestamp(value).tz_convert(zone(tz or "UTC"))
    return stamp.isoformat(sep=" ")
