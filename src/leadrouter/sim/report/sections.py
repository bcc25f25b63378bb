"""The report's sections about the run itself, each a list of blocks: the calibration verdict
(also on the terminal's panel), the data, the comparison's tables (also the terminal's), what
the intervals exclude and how to read it all (the behaviour model's is in `model_section`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, timedelta
from typing import TYPE_CHECKING

import attrs

from leadrouter.model import zone
from leadrouter.sim.compare import CANNOT_TELL, Comparison
from leadrouter.sim.labels import direction, metric_label, plain, zone_label
from leadrouter.sim.metrics import METRIC_KINDS, METRICS
from leadrouter.sim.report.document import (
    Block,
    Box,
    Bullets,
    Cell,
    Heading,
    Para,
    Table,
)
from leadrouter.sim.report.formats import (
    ARROWS_MEAN,
    ASSUMED,
    BOLD_MEANS,
    DIFF,
    LEVEL,
    NOT_IDENTIFIED,
    UNITS_MEAN,
    Scale,
    Values,
    as_text,
    cannot_tell_sentence,
    caveats,
    column_header,
    column_scale,
    fmt_diff,
    fmt_level,
    fmt_range,
    meaning,
    scale_for,
    tone,
)

if TYPE_CHECKING:
    import pandas as pd

    from leadrouter.sim.calibration import Calibration
    from leadrouter.sim.history import History


KIND_TITLES: Mapping[str, str] = {
    "mechanical": "Mechanical metrics - who got which lead when: speed, queues, load",
    "model": "Model-driven metrics - sales and money, resting on the rep model",
    "diagnostic": "Overlap diagnostic - how far each policy leaves the history",
}


def data_section(comparison: Comparison, history: History) -> list[Block]:
    """Where the data came from and what it holds: leads, reps, the dates in the history's own
    zone (as a UTC offset), the rows rejected or flagged (the first 20 of each, listed), the
    policies, the baseline and the replicates."""
    frame = history.to_frame()
    local = frame["arrived_at"].dt.tz_convert(history.tz)
    span = "-"
    if len(frame):
        first, last = local.min().to_pydatetime(), local.max().to_pydatetime()
        where = zone_label(history.tz, first, last)
        span = f"{first:%Y-%m-%d} to {last:%Y-%m-%d}, local time {where}"
    rejected, flagged = history.rejected, history.flagged
    assigned = int(frame["rep_id"].notna().sum())
    sales = int(frame["converted"].astype(bool).sum())
    rows = [
        ("data", history.origin),
        ("leads", f"{len(frame):,}"),
        ("reps", f"{len(history.roster):,}"),
        ("arrivals", span),
        ("logged assignments", f"{assigned:,} leads with a rep; {sales:,} sales"),
        ("rows rejected", _count_rows(rejected, "left out")),
        ("rows flagged", _count_rows(flagged, "kept with a value adjusted")),
        ("policies", ", ".join(comparison.policies)),
        ("baseline", comparison.baseline),
        ("replicates", plain(f"{len(comparison.seeds)} seeds: {comparison.replicates}")),
    ]
    blocks: list[Block] = [
        Heading(2, "The data", "data"),
        Table(("", ""), tuple((Cell(k), Cell(v)) for k, v in rows)),
    ]
    for name, part, columns in (
        ("Rejected rows", rejected, ("row", "column", "reason")),
        ("Flagged rows", flagged, ("row", "column", "reason", "action")),
    ):
        if len(part):
            shown = part.head(20)
            blocks.append(
                Table(
                    columns,
                    tuple(
                        tuple(Cell(as_text(value)) for value in row)
                        for row in shown.loc[:, list(columns)].itertuples(index=False)
                    ),
                    caption=_listed(name, len(shown), part),
                )
            )
    return blocks


def _listed(name: str, shown: int, part: pd.DataFrame) -> str:
    """The caption of a listing of rejected or flagged cells: a row can be listed once per
    column, so the count says both when they differ ("the first 20 of 492 (491 rows)")."""
    rows = int(part["row"].nunique())
    lines = len(part)
    counted = f"{lines:,}" if rows == lines else f"{lines:,} ({rows:,} rows)"
    return f"{name}: the first {shown} of {counted}"


def _count_rows(frame: pd.DataFrame, what: str) -> str:
    rows = int(frame["row"].nunique())
    return f"{rows:,} ({what}; listed below)" if rows else "0"


_VERDICT_TONE = {"pass": "pass", "fail": "fail", "not checkable": "warn"}

PASS_WITHOUT_SALES = (
    "PASS ON WHAT COULD BE CHECKED: sales could not be - the sales and revenue figures below "
    "are the model's assumption"
)


def verdict_head(calibration: Calibration) -> tuple[str, str]:
    """The calibration box's tone and headline. A pass whose sales could not be checked (an
    export with no sale) is amber, not the green of a model checked on what matters most."""
    verdict = calibration.verdict
    if verdict == "pass" and calibration.not_checked("conversion_rate") is not None:
        return "warn", PASS_WITHOUT_SALES
    return _VERDICT_TONE.get(verdict, "warn"), VERDICT_HEADS.get(verdict, verdict.upper())


VERDICT_HEADS = {
    "pass": "PASS: replaying the logged assignments through the model reproduces the history",
    "fail": "FAIL: the model does not reproduce the history - do not trust the what-ifs below",
    "not checkable": "NOT CHECKABLE: the history cannot confirm the model - the what-ifs "
    "below are unchecked",
}
"""The verdict's headline, in the report's box and on the terminal's panel."""

NOT_RUN = (
    "Calibration was not run",
    "The model was not checked against the history, so nothing below says whether it can "
    "reproduce what really happened. Treat every number as unchecked.",
)


def calibration_lines(calibration: Calibration, tz: str | None) -> list[str]:
    """The verdict's reasons in plain words, how the model was obtained and where the held-out
    split begins (in `tz`, the history's zone, else the split time's own)."""
    lines = [plain(reason) for reason in calibration.reasons]
    if calibration.model:
        lines.append(f"Model: {calibration.model}.")
    split = calibration.split_at
    if split is not None:
        local = split.astimezone(zone(tz)) if tz else split
        where = zone_label(tz or local.tzinfo or UTC, local)
        lines.append(f"Held-out split: leads arriving from {local:%Y-%m-%d %H:%M} {where}.")
    if calibration.rep_spread is not None:
        lines.append(f"How much reps differ in closing: {calibration.rep_spread.describe()}.")
    return lines


def check_table(calibration: Calibration) -> Table | None:
    """The calibration's checks, one row per split and figure, each row's numbers on one scale;
    None when there are none."""
    if not len(calibration.checks):
        return None
    rows = []
    for row in calibration.checks.to_dict(orient="records"):
        metric, at = str(row["metric"]), row.get("level", calibration.level)
        figures = (row["observed"], row["predicted"], row["lo"], row["hi"])
        scale = scale_for(metric, figures)
        interval = fmt_range(metric, row["lo"], row["hi"], scale=scale)
        if row.get("status") == "not checkable":
            outcome, interval, at = Cell(f"not checkable: {plain(str(row['note']))}"), "-", None
        else:
            passed = bool(row["passed"])
            outcome = Cell("inside" if passed else "OUTSIDE", tone="" if passed else "alert")
        rows.append(
            (
                Cell(str(row["split"])),
                Cell(metric_label(metric).label),
                Cell(fmt_level(metric, row["observed"], scale)),
                Cell(fmt_level(metric, row["predicted"], scale)),
                Cell(interval + ("" if at in (None, calibration.level) else f" ({at:.1%})")),
                Cell(f"{int(row['leads']):,}"),
                outcome,
            )
        )
    return Table(
        ("split", "check", "observed", "model", "interval", "leads", "observed is"),
        tuple(rows),
        caption=f"{calibration.replicates} replicates per split; each interval at "
        f"{calibration.level:.0%}, or at the wider level in brackets after it: several figures "
        "are checked together, each at that wider level, so a right model fails in at most "
        f"{1 - calibration.level:.0%} of histories",
    )  # fmt: skip


def calibration_section(calibration: Calibration | None, tz: str | None = None) -> list[Block]:
    """The verdict as a box (a loud warning when calibration did not run), how it is checked and
    the table of checks - the first section, before any number the model produced."""
    blocks: list[Block] = [Heading(2, "Calibration (read this first)", "calibration")]
    if calibration is None:
        blocks.append(Box("warn", NOT_RUN[0], (NOT_RUN[1],)))
        return blocks
    tone, head = verdict_head(calibration)
    lines = calibration_lines(calibration, tz)
    blocks.append(Box(tone, head, tuple(lines)))
    blocks.append(
        Para(
            "How it is checked: the logged assignments (every lead to the rep who really got it) "
            "are replayed through the behaviour model; the observed conversion and contact "
            "rates, revenue per lead and each product's conversion must fall inside the range "
            "the model predicts, which allows both for what the model is unsure of and for the "
            "chance in the observed figure itself - on the leads the model was fitted on and on "
            "later leads held out from fitting."
        )
    )
    checks = check_table(calibration)
    if checks is not None:
        blocks.append(checks)
    return blocks


def _level_cell(
    comparison: Comparison, table: Values, name: str, metric: str, scale: Scale | None = None
) -> Cell:
    row = table[name]
    driven = comparison.assumption_driven.get(name, {})
    scale = scale or column_scale(table, metric, LEVEL)
    return Cell(
        fmt_level(metric, row[metric], scale),
        fmt_range(metric, row[f"{metric}_lo"], row[f"{metric}_hi"], scale=scale, unit=False),
        mark=ASSUMED if metric in driven else "",
    )


def _diff_cell(
    comparison: Comparison, table: Values, name: str, metric: str, scale: Scale | None = None
) -> Cell:
    if name == comparison.baseline:
        return Cell("baseline")
    if metric in comparison.not_identified.get(name, {}):
        return Cell(NOT_IDENTIFIED)
    row = table[name]
    lo, hi = row[f"{metric}_diff_lo"], row[f"{metric}_diff_hi"]
    scale = scale or column_scale(table, metric, DIFF)
    assumed = metric in comparison.assumption_driven.get(name, {})
    return Cell(
        fmt_diff(metric, row[f"{metric}_diff"], scale),
        fmt_range(metric, lo, hi, diff=True, scale=scale, unit=False),
        tone=tone(metric, lo, hi, assumed),
        mark=ASSUMED if assumed else "",
    )


def metric_tables(
    comparison: Comparison, table: Values, metrics: Sequence[str], star: bool = False
) -> tuple[Table, Table]:
    """The levels and the differences to the baseline of `metrics`, one column each (its label
    and better direction; `star`: a `*` on model-driven ones), every column on one scale."""
    header = (
        "policy",
        *(
            column_header(m) + ("*" if star and METRIC_KINDS.get(m) == "model" else "")
            for m in metrics
        ),
    )
    tables = []
    for parts, cell in ((LEVEL, _level_cell), (DIFF, _diff_cell)):
        scales = {m: column_scale(table, m, parts) for m in metrics}
        rows = tuple(
            (Cell(name), *(cell(comparison, table, name, m, scales[m]) for m in metrics))
            for name in comparison.policies
        )
        tables.append(Table(header, rows))
    return tables[0], tables[1]


_RESTS_ON: Mapping[str, str] = {
    "mechanical": "who got which lead when",
    "model": "the rep model too",
    "diagnostic": "(a diagnostic)",
}
"""What a metric kind's differences rest on, in a few words (`METRIC_KINDS`)."""


def _legend(sla: timedelta) -> list[Block]:
    """What the columns mean, before the first table: each metric's label, definition, better
    direction and what it rests on, then what the arrows, bold, units and marks mean."""
    rows = tuple(
        (
            Cell(column_header(m)),
            Cell(meaning(m, sla)),
            Cell(direction(m)),
            Cell(_RESTS_ON.get(METRIC_KINDS.get(m, ""), "")),
        )
        for m in METRICS
    )
    return [
        Heading(3, "What the columns mean"),
        Table(("column", "what it is", "better", "rests on"), rows),
        Para(
            f"{ARROWS_MEAN}. Under each level, its 95% interval; under each difference, the "
            f"difference's 95% interval, in the same unit. {BOLD_MEANS} {UNITS_MEAN} "
            f"{ASSUMED} marks a value that rests on an assumption rather than on the history "
            "(see the section on what the intervals exclude)."
        ),
    ]


def comparison_section(
    comparison: Comparison,
    table: Values,
    notes: Mapping[str, str],
    skipped: Mapping[str, str],
) -> list[Block]:
    """How the runs were paired, what the columns mean, the policies (`notes`), the ones left
    out (`skipped`) and whether the export can tell them apart, then the levels and the
    differences of every metric, grouped by kind (`KIND_TITLES`)."""
    n = len(comparison.seeds)
    blocks: list[Block] = [
        Heading(2, "The comparison", "comparison"),
        Para(
            f"Every policy was run on the same leads with the same random numbers, {n} times "
            f"(one run per seed). A level is the policy's average over the runs, with a 95% "
            f"interval: the range its expected result lies in, given the chance in outcomes and "
            f"what the model is unsure of. A difference is to the baseline, "
            f"{comparison.baseline}, taken run by run (same leads, same luck), with its own 95% "
            f"interval."
        ),
        *_legend(comparison.sla),
    ]
    if notes:
        blocks.append(Heading(3, "Policies"))
        blocks.append(
            Bullets(
                tuple(
                    f"{name}: {notes[name]}" if name in notes else name
                    for name in comparison.policies
                )
            )
        )
    if skipped:
        blocks.append(
            Box(
                "warn",
                "Left out: these policies cannot run on this history",
                tuple(f"{name}: {why}" for name, why in skipped.items()),
            )
        )
    cannot_tell = cannot_tell_sentence(comparison)
    if cannot_tell:
        title = CANNOT_TELL[0].upper() + CANNOT_TELL[1:]
        blank = dict.fromkeys(m for row in comparison.not_identified.values() for m in row)
        blocks.append(
            Box(
                "warn",
                title,
                (
                    f"Why: {cannot_tell.removeprefix(f'{title}: ')}",
                    f"Their differences in {', '.join(metric_label(m).label for m in blank)} "
                    f'read "{NOT_IDENTIFIED}" below: they would rest on rep effects and '
                    "assumptions the export cannot check. Levels and mechanical differences are "
                    "still shown, marked where they rest on assumptions (see the section on what "
                    "the intervals exclude).",
                ),
            )
        )
    for kind in ("mechanical", "model", "diagnostic"):
        metrics = [m for m in METRICS if METRIC_KINDS.get(m, "diagnostic") == kind]
        if not metrics:
            continue
        blocks.append(Heading(3, KIND_TITLES.get(kind, kind)))
        levels, diffs = metric_tables(comparison, table, metrics)
        blocks.append(attrs.evolve(levels, caption="Levels: average over the runs, 95% interval"))
        if kind != "diagnostic":
            caption = (
                f"Difference to {comparison.baseline}: average over the runs, 95% interval "
                "(bold: the interval excludes zero)"
            )
            blocks.append(attrs.evolve(diffs, caption=caption))
    return blocks


def caveats_section(comparison: Comparison) -> list[Block]:
    """What a replicate is and what the intervals cover and exclude (`caveats`)."""
    return [
        Heading(2, "What a replicate is, and what the intervals exclude", "caveats"),
        Bullets(tuple(caveats(comparison))),
        Para(
            "A random reweighting gives every lead of the history a random weight, so each "
            "refit sees a slightly different history and the model's parameters vary as much "
            "as the data leave them uncertain. The intervals cover that uncertainty and the "
            "chance in outcomes. They do not cover a wrong model: a contact decay that is not the "
            "team's, rep x segment effects the history never showed, or claims reps would not "
            "make. Mechanical differences (speed, coverage, waste, load) rest on the Router's "
            "own behaviour under the model's capacity and delays and deserve more trust than "
            "conversion and revenue differences, which also rest on the rep model."
        ),
    ]


def reading_section(comparison: Comparison) -> list[Block]:
    """How to read the report, and what would make a later evaluation unbiased."""
    return [
        Heading(2, "How to read this", "reading"),
        Bullets(
            (
                "Start with the calibration verdict. If it failed, or could not be checked, the "
                "numbers below it are a model's guesses, not predictions.",
                "Read differences, not levels: each policy saw the same leads and the same luck, "
                "so a difference whose interval excludes 0 is one the model's randomness cannot "
                "explain. An interval that straddles 0 means the data cannot tell the two "
                "policies apart - that is a finding too.",
                "Trust mechanical differences (speed, coverage, waste, load) more than sales and "
                "revenue ones, which also rest on the rep model; values marked "
                f"{ASSUMED} rest on assumptions the history cannot check.",
                f"A high share of {metric_label('extrapolated_share').label} means the policy "
                "sends leads to reps for segments they never had in the history: the more it "
                "does, the more its sales figures are the model's guess rather than the "
                "history's.",
                "These are model-based what-ifs on past leads, not measurements: a history "
                "routed by one fixed rule cannot show unbiasedly what another rule would have "
                "done (one whose assignments logged their propensities can: the command "
                "leadrouter evaluate estimates from them).",
            )
        ),
        Para(
            "What makes a later evaluation unbiased: an A/B test (leads split at random between "
            "two policies), or a randomised router that logs Assigned.propensity - the chance "
            "it gave the chosen rep - for every lead. With those logs, replay and "
            "inverse-propensity estimates evaluate a new policy without a behaviour model.",
            style="note",
        ),
    ]
