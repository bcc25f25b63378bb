"""History: a team's past leads, the assignments and outcomes logged for them, and its roster.

A History is what the simulator learns from and replays. It is built by `load_export` (a CRM
export), `synthetic` (a generated team) or `History.from_frame` (a DataFrame you already have),
and all three hold the same thing: one canonical row per lead (`to_frame()`), from which the
leads, the logged events and the roster are derived. Rows of the source that could not be used
are listed in `rejected`; rows kept with a value adjusted are listed in `flagged`. Nothing is
dropped silently.

Everything else in the simulator is built on a History, so this module imports nothing above it:
`inspect()` calls `leadrouter.sim.inspection`, which sits below it (it reads a History through its
public views alone). `History.from_frame` reads a DataFrame exactly as `load_export` reads a file,
which needs the export reader of `leadrouter.sim.loader` - a layer above, since the reader builds
Histories. Rather than reach up into it, `from_frame` calls the reader registered here
(`read_frames_with`), and `leadrouter.sim.loader` registers `build_history` when it is imported.
The package's `__init__` imports the loader, and importing any module of `leadrouter.sim` runs the
package's `__init__` first, so the reader is registered before any History can be asked for one:
the call form stays `History.from_frame(frame)` and the dependency points one way.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from leadrouter._trusted import new_arrived as _new_arrived
from leadrouter._trusted import new_assigned as _new_assigned
from leadrouter._trusted import new_converted as _new_converted
from leadrouter._trusted import new_lead as _new_lead
from leadrouter._trusted import new_tagged as _new_tagged
from leadrouter._trusted import new_touched as _new_touched
from leadrouter._util import FrozenMap, write_atomic
from leadrouter.errors import ConfigError, InvalidValueError, NaiveDatetimeError
from leadrouter.events import Event
from leadrouter.model import Lead, Rep, zone
from leadrouter.sim.fields import (
    BOOL_FIELDS,
    COLUMNS,
    FIELDS,
    FLAGGED_COLUMNS,
    NUMBER_FIELDS,
    OPTIONAL_COLUMNS,
    REJECTED_COLUMNS,
    STATUSES,
    TEXT_FIELDS,
    TIME_DTYPE,
    TIME_FIELDS,
    canonical,
    is_missing,
    row_table,
)
from leadrouter.sim.inspection import inspect_text

if TYPE_CHECKING:
    from leadrouter.sim.synthetic import SyntheticTruth

__all__ = [
    "BOOL_FIELDS",
    "COLUMNS",
    "FIELDS",
    "FLAGGED_COLUMNS",
    "LOGGED_BY",
    "NUMBER_FIELDS",
    "OPTIONAL_COLUMNS",
    "OUTCOME_COLUMNS",
    "REJECTED_COLUMNS",
    "STATUSES",
    "TEXT_FIELDS",
    "TIME_DTYPE",
    "TIME_FIELDS",
    "FrameReader",
    "History",
    "canonical",
    "read_frames_with",
]

LOGGED_BY = "history"
"""`Assigned.by` of the assignments a History logs: they come from the team's past, not from a
strategy of this library."""


class FrameReader(Protocol):
    """What `History.from_frame` reads a DataFrame with: a table laid out like an export, its
    `origin` for messages and `load_export`'s options, into a History
    (`leadrouter.sim.loader.build_history`)."""

    def __call__(
        self,
        raw: pd.DataFrame,
        *,
        origin: str,
        columns: Mapping[str, str] | None,
        dayfirst: bool | None,
        tz: str | None,
    ) -> History: ...


_frame_reader: FrameReader | None = None


def read_frames_with(reader: FrameReader) -> None:
    """Make `reader` the one `History.from_frame` reads with. `leadrouter.sim.loader` registers
    its `build_history` when it is imported (see the module docstring), so a DataFrame is read
    by the same reader as a file."""
    global _frame_reader
    _frame_reader = reader


class History:
    """A team's past: leads, the logged assignments and outcomes, and the roster.

    - `leads`: one `Lead` per usable row, in order of arrival (times in `tz`).
    - `events`: the logged events, in time order, valid under the ledger's state machine
      (`Ledger.from_events(history.events)` succeeds): `Arrived` for every lead; for a lead with a
      rep, `Assigned(by="history")` at `assigned_at` (the arrival time when the export has none),
      `Touched` at the first touch (`reached` as recorded), `Tagged` with the valid verdict (at the
      first touch, or the assignment when there is none) and `Converted` with the amount (at the
      sale time, or the latest known time of the lead when only the amount says it converted). A
      lead without a rep was never assigned (or its owner was not recorded): only `Arrived`.
    - `roster`: one `Rep` per rep id seen (or, for `synthetic`, every generated rep).
    - `rejected`: rows that could not be used (row, column, reason); `row` is the row as a
      spreadsheet shows it, the header being row 1.
    - `flagged`: rows kept with a value adjusted (row, column, reason, action), e.g. a local time
      skipped by a daylight-saving jump, or a sale dated before its lead.
    - `tz`: the zone local days and hours are read in; `truth`: for a synthetic History, the
      parameters it was generated from (None otherwise); `columns`: which header each field was
      read from.

    A History is read-only: `to_frame()`, `leads`, `events`, `rejected` and `flagged` return
    copies. Round trip: `load_export(h.to_csv(path))` has a `to_frame()` equal to `h`'s.
    """

    __slots__ = (
        "_as_of",
        "_columns",
        "_events",
        "_flagged",
        "_frame",
        "_leads",
        "_origin",
        "_outcomes",
        "_profile",
        "_rejected",
        "_roster",
        "_truth",
        "_tz",
    )

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        rejected: Iterable[Sequence[Any]] | pd.DataFrame | None = None,
        flagged: Iterable[Sequence[Any]] | pd.DataFrame | None = None,
        tz: str = "UTC",
        roster: Iterable[Rep] | None = None,
        truth: SyntheticTruth | None = None,
        columns: Mapping[str, str] | None = None,
        origin: str = "history",
        as_of: datetime | None = None,
        profile: str = "",
        outcomes: pd.DataFrame | None = None,
    ) -> None:
        zone(tz)
        frame = canonical(frame)
        if frame["lead_id"].isna().any() or frame["arrived_at"].isna().any():
            raise InvalidValueError("every lead of a History needs a lead_id and an arrived_at")
        duplicated = frame["lead_id"][frame["lead_id"].duplicated()]
        if len(duplicated):
            raise InvalidValueError(
                f"a History holds one row per lead; duplicate lead ids {list(duplicated[:5])}"
            )
        arrivals = frame["arrived_at"].to_numpy(dtype="datetime64[us]")  # not Timestamps: 20x
        order = np.argsort(arrivals, kind="stable")
        self._frame = frame.iloc[order].reset_index(drop=True)
        self._rejected = row_table(rejected, REJECTED_COLUMNS)
        self._flagged = row_table(flagged, FLAGGED_COLUMNS)
        self._tz = tz
        self._truth = truth
        self._columns = dict(columns or {})
        self._origin = origin
        self._as_of = _checked_as_of(as_of, self._frame)
        self._profile = profile
        self._outcomes = _outcome_table(outcomes, self._frame)
        self._leads: list[Lead] | None = None
        self._events: list[Event] | None = None
        self._roster: list[Rep] | None = list(roster) if roster is not None else None

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        columns: Mapping[str, str] | None = None,
        dayfirst: bool | None = None,
        tz: str | None = None,
    ) -> History:
        """A History from a DataFrame laid out like an export (one row per lead), read exactly
        as `load_export` reads a file: same header recognition, parsing, rejections and flags.
        Row numbers count the first row of `frame` as row 2, as if it were written to a sheet
        under a header row. A column name the frame repeats is read as a repeated header of a
        file: an `InvalidExportError` naming its positions when it would be read as a field.
        Without `tz`, a frame from `History.to_frame()` keeps its history's zone (carried in
        `frame.attrs["tz"]`): its times are UTC, and local days would otherwise be UTC days."""
        assert _frame_reader is not None, "leadrouter.sim.loader registers it on import"
        if tz is None and isinstance(frame.attrs.get("tz"), str):
            tz = frame.attrs["tz"]
        return _frame_reader(frame, origin="DataFrame", columns=columns, dayfirst=dayfirst, tz=tz)

    # ------------------------------------------------------------------ views

    @property
    def tz(self) -> str:
        """The zone of local days and hours: the `tz` the export was read with; else the zone
        of a typed time column, or the one UTC offset all its arrival times carry ("Etc/GMT-8"
        for +08:00); else UTC."""
        return self._tz

    @property
    def truth(self) -> SyntheticTruth | None:
        """For a synthetic History, the parameters it was generated from; else None."""
        return self._truth

    @property
    def columns(self) -> dict[str, str]:
        """Which source header each field was read from ({field: header})."""
        return dict(self._columns)

    @property
    def as_of(self) -> datetime:
        """The moment the export's outcomes are known as of, in `tz`: the `as_of` it was built
        with, else the latest time the frame holds (any time field). A lead still open then
        may yet be won: it is censored at `as_of`, not lost."""
        if self._as_of is not None:
            return _local(pd.Timestamp(self._as_of), self._tz)
        latest = _latest(self._frame)
        if latest is None:
            raise InvalidValueError("History.as_of: an empty History holds no time")
        return _local(latest, self._tz)

    @property
    def profile(self) -> str:
        """The export profile whose headers were recognised ("Salesforce Opportunities",
        "HubSpot deals", "generic" ...); "" when the History was not read from an export."""
        return self._profile

    @property
    def outcomes(self) -> pd.DataFrame:
        """The stage / status values of the export, one row each, most frequent first: `value`
        (as written), `count` (rows kept), `outcome` (won / lost / open) and `why` (how the
        value was mapped: a recognised stage name, `won=` / `lost=`, or "any other value is
        open"). Without a stage column: one row per `stage` value of the frame."""
        return self._outcomes.copy()

    def with_roster(self, roster: Iterable[Rep]) -> History:
        """The same History with `roster` for its reps (e.g. skills and quotas from a roster
        file): every lead, rejected and flagged row, zone, truth, column map, profile, outcome
        table and as-of time kept. Written here, beside the constructor, so a new attribute is
        carried over where it is defined rather than wherever a copy is made."""
        return History(
            self._frame,
            rejected=self._rejected,
            flagged=self._flagged,
            tz=self._tz,
            roster=roster,
            truth=self._truth,
            columns=self._columns,
            origin=self._origin,
            as_of=self._as_of,
            profile=self._profile,
            outcomes=self._outcomes,
        )

    @property
    def origin(self) -> str:
        """Where the History came from: the file, "DataFrame", or "synthetic(seed=…)"."""
        return self._origin

    @property
    def rejected(self) -> pd.DataFrame:
        """Rows that could not be used: `row` (header = row 1), `column` (the source header) and
        `reason`. A row may appear once per problem."""
        return self._rejected.copy()

    @property
    def flagged(self) -> pd.DataFrame:
        """Rows kept with a value adjusted: `row`, `column`, `reason` and `action` (what was
        done)."""
        return self._flagged.copy()

    @property
    def leads(self) -> list[Lead]:
        """The leads, oldest arrival first (a new list each call)."""
        if self._leads is None:
            self._leads = self._build_leads()
        return list(self._leads)

    @property
    def events(self) -> list[Event]:
        """The logged events in time order (a new list each call); see the class docstring."""
        if self._events is None:
            self._events = self._build_events()
        return list(self._events)

    @property
    def roster(self) -> list[Rep]:
        """One Rep per rep id, in order of first assignment (a new list each call)."""
        if self._roster is None:
            seen = dict.fromkeys(self._frame["rep_id"].dropna())
            self._roster = [Rep(str(rep_id)) for rep_id in seen]
        return list(self._roster)

    def __len__(self) -> int:
        return len(self._frame)

    def __repr__(self) -> str:
        return (
            f"<History {self._origin}: {len(self)} leads, {len(self.roster)} reps, {self._span()}, "
            f"{self._rejected['row'].nunique()} rows rejected, "
            f"{self._flagged['row'].nunique()} flagged, tz={self._tz!r}>"
        )

    def inspect(self) -> str:
        """What the History holds, as text, before anything is fitted: the profile, which
        header gave each field, the stage values and their mapping, won / lost / open and
        rejected counts with reasons, dates, reps, segments, and each missing field with what
        the model assumes without it (`leadrouter inspect EXPORT` prints the same text)."""
        return inspect_text(self)

    def to_frame(self) -> pd.DataFrame:
        """One row per lead, oldest first: the export fields (`COLUMNS`), then any other column
        of the export as it was read. Times are UTC; NaN / NA / NaT where the export had no
        value. `attrs["tz"]` holds the history's zone, which `History.from_frame` reads back."""
        frame = self._frame.copy()
        frame.attrs["tz"] = self._tz
        return frame

    def to_csv(self, path: str | os.PathLike[str], encoding: str = "utf-8") -> Path:
        """Write the History as an export and return its path.

        Headers are the field names; times are local to `tz` with their UTC offset
        ("2025-03-03 09:15:27+08:00"), so reading the file back needs no `tz`; booleans are
        true / false, missing values empty. `stage` and `lost_at` are written when some lead
        has one (a plain lead export stays as it was; reading it back gives them missing). The
        file is written whole or not at all.
        """
        empty = [name for name in OPTIONAL_COLUMNS if self._frame[name].isna().all()]
        frame = self._frame.drop(columns=empty)
        for name in TIME_FIELDS:
            if name in frame.columns:
                frame[name] = _iso(frame[name], self._tz)
        for name in BOOL_FIELDS:
            frame[name] = [_bool_text(v) for v in frame[name]]
        text = frame.to_csv(index=False, lineterminator="\n")
        try:
            data = text.encode(encoding)
        except LookupError as exc:
            raise ConfigError(f"History.to_csv: unknown encoding {encoding!r}") from exc
        except UnicodeEncodeError as exc:
            raise InvalidValueError(
                f"History.to_csv: {exc.object[exc.start : exc.end]!r} cannot be written in "
                f"{encoding}: use encoding='utf-8' (or 'gb18030' for Chinese Excel)"
            ) from exc
        target = Path(path)
        return write_atomic(target, data)

    # ------------------------------------------------------------------ derivation

    def _build_leads(self) -> list[Lead]:
        """Leads from the frame; `canonical` checked every value, so no per-lead validation."""
        frame = self._frame
        arrived = _datetimes(frame["arrived_at"], self._tz)
        extra = {name: frame[name].tolist() for name in frame.columns if name not in COLUMNS}
        columns = [
            frame[name].tolist()
            for name in ("lead_id", "source", "region", "product", "segment", "grade", "score")
        ]
        costs, contacts = frame["cost"].tolist(), frame["contact"].tolist()
        leads = []
        for i, (lead_id, source, region, product, segment, grade, score) in enumerate(
            zip(*columns, strict=True)
        ):
            features = {
                name: values[i] for name, values in extra.items() if not is_missing(values[i])
            }
            leads.append(
                _new_lead(
                    id=lead_id,
                    arrived_at=arrived[i],
                    source=source,
                    region=region,
                    product=product,
                    segment=segment,
                    grade=None if is_missing(grade) else grade,
                    score=None if math.isnan(score) else score,
                    contact=None if is_missing(contacts[i]) else contacts[i],
                    cost=0.0 if math.isnan(costs[i]) else costs[i],
                    features=FrozenMap(features),
                )
            )
        return leads

    def _build_events(self) -> list[Event]:
        """The logged events in time order (ties: arrival, assignment, touch, tag, sale)."""
        frame = self._frame
        if self._leads is None:
            self._leads = self._build_leads()
        leads = self._leads
        assigned = _datetimes(frame["assigned_at"], self._tz)
        touched = _datetimes(frame["first_touch_at"], self._tz)
        sold = _datetimes(frame["converted_at"], self._tz)
        events: list[Event] = []
        keys: list[tuple[datetime, int, int]] = []
        rows = zip(
            frame["rep_id"].tolist(),
            frame["reached"].tolist(),
            frame["valid"].tolist(),
            frame["converted"].tolist(),
            frame["amount"].tolist(),
            frame["propensity"].tolist(),
            strict=True,
        )
        for i, (rep_id, reached, valid, converted, amount, chance) in enumerate(rows):
            lead = leads[i]
            events.append(_new_arrived(lead))
            keys.append((lead.arrived_at, 0, i))
            if is_missing(rep_id):
                continue
            at = assigned[i] or lead.arrived_at
            propensity = None if math.isnan(chance) else chance
            events.append(_new_assigned(lead.id, rep_id, at, LOGGED_BY, propensity))
            keys.append((at, 1, i))
            latest = at
            first = touched[i]
            if first is not None:
                hit = not is_missing(reached) and bool(reached)
                events.append(_new_touched(lead.id, rep_id, first, hit))
                keys.append((first, 2, i))
                latest = max(latest, first)
            sale = (sold[i] or latest) if converted else None
            if not is_missing(valid):
                tag_at = first or at
                if sale is not None:
                    tag_at = min(tag_at, sale)
                events.append(_new_tagged(lead.id, rep_id, tag_at, bool(valid), ""))
                keys.append((tag_at, 3, i))
            if sale is not None:
                value = 0.0 if math.isnan(amount) else float(amount)
                events.append(_new_converted(lead.id, rep_id, sale, value))
                keys.append((sale, 4, i))
        order = sorted(range(len(events)), key=keys.__getitem__)
        return [events[j] for j in order]

    def _span(self) -> str:
        """The local dates of the first and last arrival: "2025-03-03 to 2025-03-16"."""
        start, end = self._frame["arrived_at"].min(), self._frame["arrived_at"].max()
        return f"{_local(start, self._tz):%Y-%m-%d} to {_local(end, self._tz):%Y-%m-%d}"

    def _repr_html_(self) -> str:
        """The History in a notebook: its size, dates, zone and what the export lost."""
        from leadrouter._html import render

        rejected, flagged = self._rejected["row"].nunique(), self._flagged["row"].nunique()
        rows = [
            ("leads", f"{len(self):,}"),
            ("reps", f"{len(self.roster):,}"),
            ("arrivals", self._span() if len(self) else "-"),
            ("time zone", self._tz),
            ("leads with a rep", f"{int(self._frame['rep_id'].notna().sum()):,}"),
            ("sales", f"{int(self._frame['converted'].sum()):,}"),
            ("rows rejected", f"{rejected:,}"),
            ("rows flagged", f"{flagged:,}"),
        ]
        notes = [
            text
            for count, text in (
                (rejected, "History.rejected lists the rows left out, and why"),
                (flagged, "History.flagged lists the rows kept with a value adjusted"),
            )
            if count
        ]
        return render(f"History: {self._origin}", rows, notes=notes)


OUTCOME_COLUMNS = ("value", "count", "outcome", "why")


def _outcome_table(given: pd.DataFrame | None, frame: pd.DataFrame) -> pd.DataFrame:
    """`History.outcomes`: the table a loader made, else the frame's own status values."""
    if given is not None:
        table = given.loc[:, list(OUTCOME_COLUMNS)].reset_index(drop=True)
        table["count"] = table["count"].astype("int64")
        return table
    counts = frame["stage"].value_counts(sort=True)
    return pd.DataFrame(
        {
            "value": [str(v) for v in counts.index],
            "count": counts.to_numpy(dtype="int64"),
            "outcome": [str(v) for v in counts.index],
            "why": ["the stage field"] * len(counts),
        },
        columns=list(OUTCOME_COLUMNS),
    )


def _latest(frame: pd.DataFrame) -> pd.Timestamp | None:
    """The latest time of any time field the frame has, or None for a frame without one."""
    found = [
        frame[name].max() for name in TIME_FIELDS if name in frame and frame[name].notna().any()
    ]
    return max(found) if found else None


def _checked_as_of(
    as_of: datetime | None, frame: pd.DataFrame, where: str = "History:", option: str = "as_of"
) -> datetime | None:
    """`as_of` if it is aware and not before anything the frame records (outcomes cannot be
    known as of a moment earlier than a time they hold). A message starts with `where` and
    names the `option` as its reader writes it (`load_export` and the commands: the file and
    `--as-of`)."""
    if as_of is None:
        return None
    if not isinstance(as_of, datetime) or as_of.utcoffset() is None:
        raise NaiveDatetimeError(
            f"{where} {option} must be a timezone-aware datetime, got {as_of!r}: e.g. "
            "datetime(2025, 3, 31, 18, tzinfo=ZoneInfo('Asia/Shanghai'))"
        )
    latest = _latest(frame)
    if latest is not None and pd.Timestamp(as_of) < latest:
        field = next(name for name in TIME_FIELDS if name in frame and frame[name].max() == latest)
        raise InvalidValueError(
            f"{where} {option} {as_of.isoformat(sep=' ')} is before the latest {field} of the "
            f"export ({latest.isoformat(sep=' ')}): outcomes are known as of a moment after "
            f"everything the export records; give a later {option}, or none (the latest time)"
        )
    return as_of


def _local(value: pd.Timestamp, tz: str) -> datetime:
    result: datetime = value.tz_convert(zone(tz)).to_pydatetime()
    return result


def _datetimes(column: pd.Series[Any], tz: str) -> list[datetime | None]:
    """Aware datetimes in `tz` (None for NaT), exact to the microsecond."""
    values = column.dt.tz_convert(zone(tz)).array.to_pydatetime()
    if not column.hasnans:
        result: list[datetime | None] = values.tolist()
        return result
    return [None if value is pd.NaT else value for value in values.tolist()]


def _iso(column: pd.Series[Any], tz: str) -> list[str]:
    """ISO 8601 local times in `tz` with their offset ("2025-03-03 09:15:27+08:00"), "" for NaT;
    to the second unless some value has a fraction."""
    wall = column.dt.tz_convert(zone(tz)).dt.tz_localize(None).to_numpy("datetime64[us]")
    moment = column.dt.tz_localize(None).to_numpy("datetime64[us]")
    known = ~np.isnat(wall)
    whole = (wall[known].astype("int64") % 1_000_000 == 0).all()
    text = np.datetime_as_string(wall, unit="s" if whole else "us")
    minutes = np.where(known, (wall - moment).astype("timedelta64[m]").astype("int64"), 0)
    labels = {
        m: f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
        for m in set(minutes.tolist())
    }
    return [
        f"{stamp[:10]} {stamp[11:]}{labels[offset]}" if ok else ""
        for stamp, offset, ok in zip(text.tolist(), minutes.tolist(), known.tolist(), strict=True)
    ]


def _bool_text(value: Any) -> str:
    if is_missing(value):
        return ""
    return "true" if value else "false"
