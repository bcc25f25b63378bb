"""The stage or status column of an export: its values read as won / lost / open.

The third layer of `load_export`, after the cells are parsed (`leadrouter.sim.cells`): each
stage value is mapped by `leadrouter.sim.profiles.Outcomes` (the team's `won=` / `lost=` first,
then the export's profile, then the recognised names), a non-blank lost reason marks a deal
lost, and a close date becomes a sale on won rows and a loss on lost rows. Whatever this reads
is shown: every value with its count and mapping in `History.outcomes`, a `won` / `lost` value no
stage is and a column that looks like stages but no field took as notes on the header row, and
a row whose converted column contradicts its stage is rejected, naming the option that fixes it;
a row left without a stage while others have one is flagged with how it was read.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from leadrouter.errors import Audience, ExportOption, StageAsConvertedError
from leadrouter.sim.cells import _COLUMNS, _Context
from leadrouter.sim.headers import ALIASES, LOST_REASON, _norm
from leadrouter.sim.history import OUTCOME_COLUMNS
from leadrouter.sim.locales import unaccented
from leadrouter.sim.profiles import (
    LOST_VALUES,
    QUALIFIED_WHY,
    UNRECOGNISED,
    WON_VALUES,
    Outcomes,
    norm_value,
)
from leadrouter.sim.words import NULLS, WORDS

__all__ = [
    "LOST",
    "WON",
    "blank_stages",
    "listed",
    "not_a_stage",
    "outcome_table",
    "split_close_dates",
    "stage_like",
    "statuses",
    "unmatched_stages",
]

WON, LOST = ExportOption("won"), ExportOption("lost")
"""The options a message may name as the fix, as keywords or as the command's flags."""


def not_a_stage(
    text: pd.Series[Any], header: str, origin: str, reading: Outcomes, audience: Audience
) -> None:
    """A column read as `converted` whose values are stages, not yes / no, is a
    `StageAsConvertedError` (rejecting every row as "not yes or no" would hide the fix)."""
    values = [
        value
        for value in dict.fromkeys(text.tolist())
        if value.lower() not in NULLS and unaccented(value.lower()) not in WORDS
    ]
    stages = [value for value in values if reading.names_stage(value)]
    if not values or (not stages and _norm(header) not in ALIASES["stage"]):
        return
    shown = ", ".join(repr(value) for value in values[:4])
    raise StageAsConvertedError(
        f"{origin}: column {header!r} holds stages ({shown}), not yes / no, and is read as "
        f"converted: map it to stage, which reads stages as won / lost / open: "
        f"{_COLUMNS.given({header: 'stage'}, audience)} (name a stage of your own that means "
        f"won or lost with {listed(WON, ['Signed'], audience)} or "
        f"{listed(LOST, ['Dropped'], audience)})"
    )


def listed(option: ExportOption, values: Sequence[str], audience: Audience) -> str:
    """`won=['Signed']` or `--won Signed`: a list option as the audience writes it."""
    if audience == "python":
        return option.given(list(values), audience)
    return f"{option.named(audience)} " + " ".join(shlex.quote(value) for value in values)


def statuses(
    data: dict[str, Any], mapping: dict[str, str], reading: Outcomes, ctx: _Context
) -> tuple[np.ndarray[Any, Any], dict[str, tuple[str, str]]]:
    """Turn the stage / status texts in `data` into won / lost / open (None where blank);
    a row with a lost reason whose stage is neither won nor lost is lost. Rows whose converted
    column says yes while the stage says lost or open are rejected. Returns each row's value as
    `History.outcomes` shows it, and (status, why) per shown value."""
    if "stage" not in mapping:
        return np.full(0, None, dtype=object), {}
    texts = data["stage"].to_numpy(dtype=object, na_value=None)
    status = np.full(len(texts), None, dtype=object)
    labels = np.array(texts, dtype=object)
    seen: dict[str, tuple[str, str]] = {}
    for position, value in enumerate(texts.tolist()):
        if value is None:
            continue
        if value not in seen:
            seen[value] = reading.outcome_of(value)
        status[position] = seen[value][0]
    reasons = data.get(LOST_REASON)
    if reasons is not None:
        marked = reasons.notna().to_numpy(dtype=bool) & ~np.isin(
            status.astype(str), ("won", "lost")
        )
        for position in np.flatnonzero(marked).tolist():
            label = f"{texts[position] or '(blank)'} + {mapping[LOST_REASON]}"
            seen[label] = ("lost", f"{mapping[LOST_REASON]!r} given")
            labels[position] = label
        status[marked] = "lost"
    converted = data.get("converted")
    if converted is not None:
        clash = np.array([flag is True for flag in converted]) & np.isin(
            status.astype(str), ("lost", "open")
        )
        for position in np.flatnonzero(clash).tolist():
            ctx.reject(
                position,
                mapping["converted"],
                f"converted, but {mapping['stage']!r} is {texts[position]!r} ({status[position]})"
                f": a converted lead is won: give {listed(WON, [texts[position]], ctx.audience)}"
                " if that is the status your CRM gives converted leads, else fix one of the two",
            )
    data["stage"] = status
    return labels, seen


def unmatched_stages(
    reading: Outcomes, seen: Mapping[str, tuple[str, str]], header: str, audience: Audience
) -> list[tuple[int, str, str, str]]:
    """A header-row flag for each `won` / `lost` value no stage in the file is; for each
    stage read by the stage it begins with (`Closed Lost - No Budget`: lost), since a reason a
    team adds may undo its stage (`Closed Won - Cancelled`); and for each stage no name matched,
    read as open, since a team's own word for a sale (`Paid`, `Signed up`) would otherwise keep
    its sales open in silence."""
    options = {"won": WON, "lost": LOST}
    stages = ", ".join(repr(value) for value in sorted(seen)[:8]) or "none"
    unmatched = [
        (
            1,
            header,
            f"{options[option].named(audience)} value {value!r} is no stage in the file "
            f"(its stages: {stages})",
            "ignored: check its spelling",
        )
        for option, value in reading.unmatched(seen)
    ]
    qualified = [
        (
            1,
            header,
            f"stage {value!r} read as {status}: it {why[why.index(QUALIFIED_WHY) :].rstrip(')')}",
            "if its reason undoes the stage, give "
            + listed(options["lost" if status == "won" else "won"], [value], audience),
        )
        for value, (status, why) in sorted(seen.items())
        if f"({QUALIFIED_WHY} " in why
    ]
    unknown = [
        (
            1,
            header,
            f"stage {value!r} is not one leadrouter recognises: its rows are read as open (a "
            "deal still in progress)",
            f"if it means won or lost, give {listed(WON, [value], audience)} or "
            f"{listed(LOST, [value], audience)}",
        )
        for value, (_, why) in sorted(seen.items())
        if why == UNRECOGNISED
    ]
    return unmatched + qualified + unknown


def stage_like(
    texts: Mapping[str, pd.Series[Any]], mapping: Mapping[str, str], audience: Audience
) -> list[tuple[int, str, str, str]]:
    """A header-row flag for each column no field took whose values are nearly all stages
    leadrouter knows (Won, Lost, Closed Won ...): under a header it does not recognise
    (`Result`), it was kept as a feature and the export read as one with no sale at all."""
    used = set(mapping.values())
    notes = []
    for header, text in texts.items():
        if header in used:
            continue
        values = text.dropna().astype(str).str.strip()
        values = values[values != ""]
        known = values.map(norm_value).isin(WON_VALUES | LOST_VALUES)
        if len(values) and known.mean() >= 0.8:
            sample = ", ".join(sorted(set(values[known]))[:3])
            notes.append(
                (
                    1,
                    header,
                    f"looks like a stage ({sample}) but no field took it: it was kept as a "
                    "feature, and no sale is read from it",
                    f"map it: {_COLUMNS.given({header: 'stage'}, audience)}",
                )
            )
    return notes


def outcome_table(
    found: tuple[np.ndarray[Any, Any], dict[str, tuple[str, str]]],
    kept: np.ndarray[Any, Any],
) -> pd.DataFrame:
    """`History.outcomes`: each stage value of the kept rows, its count and mapping."""
    labels, seen = found
    counts = pd.Series(labels[kept]).dropna().value_counts(sort=True)
    return pd.DataFrame(
        {
            "value": [str(value) for value in counts.index],
            "count": counts.to_numpy(dtype="int64"),
            "outcome": [seen[value][0] for value in counts.index],
            "why": [seen[value][1] for value in counts.index],
        },
        columns=list(OUTCOME_COLUMNS),
    )


def split_close_dates(frame: pd.DataFrame, mapping: dict[str, str]) -> dict[str, str]:
    """On rows with a status, only won rows are converted, and a close date is a sale date on
    won rows only: on lost rows it is the loss time (unless a loss time column is given), on
    open rows an expected date, dropped. Returns {field: header}, `lost_at` included when the
    close date column gave it."""
    fields = {field: header for field, header in mapping.items() if field != LOST_REASON}
    status = frame["stage"]
    known = status.notna().to_numpy()
    if not known.any():
        return fields
    won = (status == "won").to_numpy()
    lost = (status == "lost").to_numpy()
    sale = frame["converted_at"]
    if "converted_at" in mapping and "lost_at" not in mapping:
        moved = lost & sale.notna().to_numpy()
        if moved.any():
            frame.loc[moved, "lost_at"] = sale[moved]
            fields["lost_at"] = mapping["converted_at"]
    frame.loc[known & ~won, "converted_at"] = pd.NaT
    frame["converted"] = np.where(known, won, frame["converted"].to_numpy(dtype=bool))
    return fields


def blank_stages(
    frame: pd.DataFrame,
    mapping: dict[str, str],
    kept: np.ndarray[Any, Any],
    ctx: _Context,
    short: set[int],
) -> None:
    """Flag each row whose stage is blank while the column gives other rows one: it is read as
    an export without stages reads a lead, sold when its amount, close date or converted column
    says so and else not (lost, never open), and on a deal export those may be an open deal's
    expected amount and close date, so the reading is said, row by row, never left silent.
    `frame` holds the kept rows (`kept`: their positions in the file) after
    `split_close_dates`; rows whose number is in `short` are flagged already for cells missing
    from their end, the stage among them."""
    if "stage" not in mapping:
        return
    blank = frame["stage"].isna().to_numpy()
    if not blank.any() or blank.all():
        return
    sold = frame["converted"].to_numpy(dtype=bool)
    dated = frame["converted_at"].notna().to_numpy()
    valued = (frame["amount"] > 0).to_numpy(dtype=bool)
    header = mapping["stage"]
    for position in np.flatnonzero(blank).tolist():
        if int(ctx.rows[kept[position]]) in short:
            continue
        if not sold[position]:
            ctx.flag(
                int(kept[position]),
                header,
                "no stage, while the column gives other rows one: read as an export without "
                "stages reads it, not sold",
                "read as lost (not open): fill in its stage",
            )
            continue
        said = [
            f"{mapping[field]!r}"
            for field, shown in (("converted_at", dated), ("amount", valued))
            if field in mapping and shown[position]
        ] or [f"{mapping.get('converted', 'converted')!r}"]
        ctx.flag(
            int(kept[position]),
            header,
            "no stage, while the column gives other rows one: read as an export without stages "
            f"reads it, sold by its {' and '.join(said)}",
            "read as won: fill in its stage (an open deal's amount and close date are expected "
            "ones, not a sale)",
        )
