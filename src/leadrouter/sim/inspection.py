"""What a loaded export holds, before anything is fitted: `History.inspect()` and
`leadrouter inspect EXPORT` print this one text.

It shows the profile, which header gave each field, the stage values and their mapping, the
won / lost / open / rejected counts with the reasons, the dates, reps and segments, and each
missing field with what the behaviour model assumes without it (`MISSING_FIELD_ASSUMPTIONS`,
the sentences of `leadrouter.sim.estimation.fit_behaviour`'s docstring, written once here so the
inspection and the fit's gaps can say the same thing).

It reads a History only through its public views (`to_frame`, `columns`, `rejected`, `outcomes`
...) and imports nothing above `leadrouter.sim.fields` at run time, so it sits below
`leadrouter.sim.history`, whose `inspect()` calls it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from leadrouter.sim.fields import COLUMNS, FIELDS, STATUSES
from leadrouter.sim.zones import zone_label

if TYPE_CHECKING:
    from leadrouter.errors import Audience
    from leadrouter.sim.history import History

__all__ = ["MISSING_FIELD_ASSUMPTIONS", "inspect_text"]

MISSING_FIELD_ASSUMPTIONS: dict[str, str] = {
    "rep_id": "no owners: no lead was assigned, so rep effects cannot be fitted",
    "assigned_at": "each lead is taken as assigned when it arrived",
    "first_touch_at": "contact and touch delay are assumed (the contact curve is levelled to "
    "the reach share the export shows, when it has reached flags)",
    "reached": "conversion is measured over touched (or assigned) leads, not reached ones",
    "valid": "validity is assumed; invalid leads are reached as often as valid ones",
    "converted_at": "a sale is dated at the lead's latest known time",
    "amount": "sales carry no amount, so revenue is not compared",
    "source": "one validity rate for every lead",
    "segment": "one segment: rep x segment rates are each rep's overall rate",
    "product": "one product: no product factors, one amount distribution",
    "stage": "no stage: a lead without a sale counts as not converted, whether lost or "
    "still open (nothing is censored)",
    "lost_at": "lost deals have no loss time: how long a deal stayed open before it was lost "
    "is not known",
}
"""What the model assumes when an export lacks a field ({field: sentence}); fields not listed
(region, grade, score, cost, contact) are lead attributes a policy may use, nothing is assumed
for them."""

SHOWN = 8
"""Reps, segments and rejection reasons listed by name; the rest are counted."""


def listed_rows(rows: pd.DataFrame, most: int, where: str = "") -> list[str]:
    """Rows of `History.rejected` or `.flagged`, one line per column and reason, each saying
    which rows (rows sharing both are one line: how many, from which to which, and the first
    one's action), at most `most` lines; the rest are counted (pointing to `where`, if given)."""
    lines = []
    for (column, reason), group in rows.groupby(["column", "reason"], sort=False):
        first = group.iloc[0]
        action = f": {first['action']}" if "action" in group.columns else ""
        at = (
            f"row {first['row']}"
            if len(group) == 1
            else f"{len(group)} rows ({group['row'].min()} to {group['row'].max()})"
        )
        alike = f" in row {first['row']}, alike in the others" if len(group) > 1 and action else ""
        lines.append(f"{at}, column {column!r}: {reason}{action}{alike}")
    if len(lines) > most:
        lines[most:] = [f"... and {len(lines) - most} more" + (f" ({where})" if where else "")]
    return lines


def inspect_text(history: History) -> str:
    """The inspection of `history` as plain text (see the module docstring)."""
    frame = history.to_frame()
    columns = {
        name: header for name, header in history.columns.items() if frame[name].notna().any()
    }
    lines = [f"{history.origin}"]
    profile = history.profile or "none (not read from an export)"
    lines.append(f"  profile   {profile}")
    rejected = history.rejected
    n_rejected = int(rejected["row"].nunique())
    lines.append(
        f"  rows      {len(history)} kept, {n_rejected} rejected, "
        f"{int(history.flagged['row'].nunique())} flagged"
    )
    status = frame["stage"]
    if status.notna().any():
        counts = status.value_counts()
        told = ", ".join(f"{int(counts.get(name, 0))} {name}" for name in STATUSES)
        unknown = int(status.isna().sum())
        lines.append(
            f"  outcomes  {told}"
            + (f", {unknown} without a stage" if unknown else "")
            + " (an open deal may still be won: it is censored at as_of, not lost)"
        )
    else:
        lines.append(f"  outcomes  {int(frame['converted'].sum())} converted (no stage column)")
    if len(history):
        zone = zone_label(history.tz, history.as_of)
        lines.append(f"  as of     {history.as_of:%Y-%m-%d %H:%M}, {zone}")
        local = frame["arrived_at"].dt.tz_convert(history.tz)
        lines.append(f"  arrivals  {local.min():%Y-%m-%d} to {local.max():%Y-%m-%d}")
    unowned = int(frame["rep_id"].isna().sum())
    lines.append(
        "  reps      "
        + _tally(frame["rep_id"].dropna())
        + (
            f"; {unowned} lead{'' if unowned == 1 else 's'} ({unowned / len(frame):.1%}) with "
            "no rep: never assigned, or the owner not recorded"
            if unowned
            else ""
        )
    )
    lines.extend(f"  {line}" for line in _alike(frame["rep_id"].dropna().unique().tolist()))
    segments = frame["segment"][frame["segment"] != ""]
    lines.append("  segments  " + (_tally(segments) if len(segments) else "none"))
    lines.append("fields (field <- header)")
    width = max(len(name) for name in FIELDS)
    split = columns.get("lost_at") is not None and columns.get("lost_at") == columns.get(
        "converted_at"
    )
    rows = {"converted_at": " (won rows)", "lost_at": " (lost rows)"} if split else {}
    for name in COLUMNS:
        if name in columns:
            lines.append(f"  {name:<{width}}  {columns[name]}{rows.get(name, '')}")
    outcomes = history.outcomes
    if len(outcomes) and "stage" in columns:
        lines.append(f"stage values ({columns['stage']})")
        lines.extend(
            _aligned(
                [("value", "rows", "outcome", "mapping")]
                + [
                    (str(r.value), str(r.count), str(r.outcome), str(r.why))
                    for r in outcomes.itertuples(index=False)
                ]
            )
        )
    header_notes = history.flagged[history.flagged["row"] == 1]
    if len(header_notes):
        # flags on the header row are notes on whole columns (a stage-like column no field
        # took, a won / lost value no stage is): said here, where a look before a fit sees them
        lines.append("notes on columns")
        lines.extend(
            f"  {r.column}: {r.reason} ({r.action})" for r in header_notes.itertuples(index=False)
        )
    if n_rejected:
        lines.append("rejected rows")
        lines.extend(f"  {line}" for line in listed_rows(rejected, SHOWN, "History.rejected"))
    adjusted = history.flagged[history.flagged["row"] > 1]
    if len(adjusted):
        lines.append("rows kept with a value adjusted")
        lines.extend(f"  {line}" for line in listed_rows(adjusted, SHOWN, "History.flagged"))
    missing = [
        name
        for name in MISSING_FIELD_ASSUMPTIONS
        if name not in columns and (name != "lost_at" or "stage" in columns)
    ]
    if missing:
        lines.append("missing fields, and what the model assumes without them")
        width = max(len(name) for name in missing)
        lines.extend(f"  {name:<{width}}  {MISSING_FIELD_ASSUMPTIONS[name]}" for name in missing)
    return "\n".join(lines)


_SUFFIX = re.compile(r"\s*[(（\[【].*?[)）\]】]\s*$")


def _alike(reps: list[str]) -> list[str]:
    """A line per group of rep names that differ only by a bracketed suffix or by case
    (张伟 / 张伟(销售一部) / 张伟（销售一部）): likely one person written two ways, whom the
    simulator would take for several reps."""
    groups: dict[str, list[str]] = {}
    for rep in sorted(reps):
        groups.setdefault(_SUFFIX.sub("", rep).casefold(), []).append(rep)
    return [
        f"          may be one rep: {' / '.join(names)} (write one name in the export to merge)"
        for names in groups.values()
        if len(names) > 1
    ]


def _tally(values: pd.Series[str]) -> str:
    """ "4: Ann 15, Ben 12, ..." with the most frequent first."""
    counts = values.value_counts()
    shown = ", ".join(f"{name} {n}" for name, n in counts.iloc[:SHOWN].items())
    more = f", and {len(counts) - SHOWN} more" if len(counts) > SHOWN else ""
    return f"{len(counts)}: {shown}{more}" if len(counts) else "none"


def _aligned(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  "
        + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))
        + "  "
        + row[-1]
        for row in rows
    ]


def load_summary(
    origin: str,
    loaded: int,
    stages: pd.Series[Any] | None,
    counted: tuple[int, int],
    audience: Audience,
    inspect_command: str | None = None,
    dates: str | None = None,
) -> str:
    """The line `load_export` prints: the rows loaded (won, lost, open and without a stage, by
    `stages`, each kept row's when the export has a stage column), the rows rejected and flagged
    (`counted`), where to read which and why (`History.rejected` from Python, the inspect command
    from a terminal), and how `dates` were read when the file itself did not say."""
    n_rejected, n_flagged = counted
    python = audience == "python"
    summary = f"{origin}: {loaded} loaded"
    if stages is not None and stages.notna().any():
        counts, blank = stages.value_counts(), int(stages.isna().sum())
        read = [f"{counts.get(s, 0)} {s}" for s in STATUSES] + [f"{blank} without a stage"]
        summary += " (" + ", ".join(read[: len(STATUSES) + bool(blank)]) + ")"
    summary += f", {n_rejected} rejected"
    summary += ", see History.rejected" if python else ""
    if n_flagged:
        summary += f"; {n_flagged} flagged" + (", see History.flagged" if python else "")
    if (n_rejected or n_flagged) and not python:
        summary += f" ({inspect_command or f'leadrouter inspect {origin}'} lists which and why)"
    if dates is not None:
        summary += f"; dates read {dates}"
    return summary
