"""The report of a comparison: a terminal table, and self-contained HTML and Markdown files.

`write_report(comparison, history, behaviour, out_dir)` writes `report.html` (one file: inline
CSS, charts embedded as PNG data URIs, nothing fetched from anywhere) and `report.md` (charts as
PNG files beside it, referenced relatively) into `out_dir`. Both say the same things in the same
order, because the order is part of the honesty:

1. the **calibration verdict first** - a model that cannot replay the history it was fitted on
   has no business predicting other policies, so a failed or uncheckable calibration is a loud
   box above every number;
2. the data: where it came from, how many leads and reps, the dates and time zone, rows rejected
   or flagged;
3. the comparison: what the columns mean (each metric's plain label, definition and better
   direction, and what bold, arrows and units mean), then each metric's level with its 95%
   interval and its difference to the baseline with its interval, grouped into mechanical
   metrics (who got which lead when) and model-driven ones (sales and money, which rest on the
   rep model), the assumption-driven ones marked, and the overlap diagnostic per policy;
4. what a replicate is and what the intervals exclude (`caveats`);
5. whether the ranking hinges on an assumption (when a sensitivity check ran);
6. charts: the differences to the baseline with intervals, load per rep per policy, and the
   speed-to-lead distribution per policy;
7. the behaviour model and its gaps, the per-source table and the anomaly flags;
8. how to read it, and what would make a later evaluation unbiased.

Sections are numbered as they are built (`_numbered`), so none goes unnumbered. Metrics are
named by their plain labels (`leadrouter.sim.labels`), never by their code names; the numbers of
an interval, and of a table column, share one scale; bold means one thing - a difference whose
interval excludes zero (`BOLD_MEANS`).

`comparison_tables(comparison)` and `calibration_panel(calibration)` render the same comparison
and verdict for a terminal (rich), in the same words; `leadrouter compare` prints them with
`caveats(comparison)`. Every text taken from the
data (policy, rep and source names, reasons) is escaped in HTML and Markdown and never read as
rich markup. matplotlib draws on its own Figure objects (Agg, no pyplot, no global backend), so
writing a report changes nothing in the caller's plotting setup.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs
import numpy as np

from leadrouter.errors import ConfigError
from leadrouter.model import zone
from leadrouter.sim.compare import CANNOT_TELL, Comparison
from leadrouter.sim.labels import ARROWS, better, direction, metric_label, plain, zone_label
from leadrouter.sim.metrics import METRIC_KINDS, METRICS

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure
    from rich.console import RenderableType
    from rich.table import Table
    from rich.text import Text

    from leadrouter.sim.calibration import Calibration
    from leadrouter.sim.history import History
    from leadrouter.sim.preflight import PolicyWarning

__all__ = [
    "KEY_METRICS",
    "ReportPaths",
    "calibration_panel",
    "caveats",
    "comparison_tables",
    "write_report",
]

KEY_METRICS = (
    "conversion_rate",
    "revenue",
    "speed_to_lead_median",
    "coverage",
    "wasted",
    "gini",
    "extrapolated_share",
)
"""The metrics of the terminal table (the report shows every metric in `METRICS`)."""

CHART_METRICS = tuple(metric for metric in KEY_METRICS if metric != "extrapolated_share")
"""The metrics of the differences chart (one panel each): the outcomes of the terminal table."""

ASSUMED = "†"
"""The mark beside a value that rests on an assumption rather than on the history."""

NOT_IDENTIFIED = "not identifiable"
"""The text of a difference the export cannot identify (NaN in `Comparison.table()`, listed in
`Comparison.not_identified`)."""


def _cannot_tell(comparison: Comparison) -> str:
    """The plain sentence when the export cannot tell the policies apart on sales, else ""."""
    if not any(comparison.not_identified.values()):
        return ""
    why = sorted({v for row in comparison.not_identified.values() for v in row.values()})
    return f"{CANNOT_TELL[0].upper()}{CANNOT_TELL[1:]}: {'; '.join(why)}."


# ------------------------------------------------------------------------------ formats


KIND_TITLES: Mapping[str, str] = {
    "mechanical": "Mechanical metrics - who got which lead when: speed, queues, load",
    "model": "Model-driven metrics - sales and money, resting on the rep model",
    "diagnostic": "Overlap diagnostic - how far each policy leaves the history",
}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@attrs.frozen
class _Scale:
    """How the numbers of one interval or one table column are written: divided by `divisor`,
    with `decimals` and the `suffix` (k, M) - one scale for all of them, so "-236k to +7k",
    never "-236k to +7,313"."""

    divisor: float
    decimals: int
    suffix: str = ""


def _scale(metric: str, values: Iterable[float]) -> _Scale:
    """The one scale for `values` of `metric`: percents as percent, money by its largest
    magnitude (plain below 10,000, then thousands - one decimal below 100k - then millions),
    minutes and counts whole."""
    kind = metric_label(metric).kind
    if kind in ("percent", "percent0"):
        return _Scale(0.01, 1 if kind == "percent" else 0)
    if kind == "money":
        size = max((abs(v) for v in values if not _missing(v)), default=0.0)
        if round(size / 1e3) >= 1000:
            return _Scale(1e6, 2, "M")
        if round(size) >= 10_000:
            return _Scale(1e3, 0 if round(size / 1e3) >= 100 else 1, "k")
        return _Scale(1.0, 0)
    return _Scale(1.0, 0) if kind in ("minutes", "count") else _Scale(1.0, 3)


def _number(metric: str, value: float, signed: bool = False, scale: _Scale | None = None) -> str:
    """The bare number of a metric's value (no unit) on `scale` (by default the value's own):
    percents as percent (points), money compact (12k, 1.25M), minutes and counts whole. A value
    that rounds to zero is written without a minus sign."""
    scale = scale or _scale(metric, (value,))
    shown = round(value / scale.divisor, scale.decimals) or 0.0
    return f"{shown:{'+' if signed else ''},.{scale.decimals}f}{scale.suffix}"


def _unit(metric: str, diff: bool) -> str:
    kind = metric_label(metric).kind
    if kind in ("percent", "percent0"):
        return " points" if diff else "%"
    return " min" if kind == "minutes" else ""


def fmt_level(metric: str, value: float, scale: _Scale | None = None) -> str:
    """A metric's value as a reader wants it (12.3%, 45.6k, 17 min ...); "-" when unknown.
    `scale`: the column's, so every number of a column has the same suffix."""
    if _missing(value):
        return "-"
    return _number(metric, value, scale=scale) + _unit(metric, diff=False)


def fmt_diff(metric: str, value: float, scale: _Scale | None = None) -> str:
    """A difference to the baseline, signed, in the metric's unit (points - percentage points
    - for rates); "-" when unknown."""
    if _missing(value):
        return "-"
    return _number(metric, value, signed=True, scale=scale) + _unit(metric, diff=True)


def fmt_range(
    metric: str,
    lo: float,
    hi: float,
    diff: bool = False,
    scale: _Scale | None = None,
    unit: bool = True,
) -> str:
    """An interval, its unit once and both ends on one scale: "3.1-4.5%", "-1.4 to +0.2
    points", "-236k to +7k"; "-" when unknown. `scale` defaults to the one both ends fit;
    `unit=False` leaves the unit out (under a value that carries it, in a table cell)."""
    if _missing(lo) or _missing(hi):
        return "-"
    scale = scale or _scale(metric, (lo, hi))
    low, high = _number(metric, lo, diff, scale), _number(metric, hi, diff, scale)
    between = " to " if diff or lo < 0 else "–"
    return f"{low}{between}{high}{_unit(metric, diff) if unit else ''}"


def tone(metric: str, lo: float, hi: float) -> str:
    """`better`, `worse`, `different` (the interval excludes 0 for a name with no better
    direction) or "" (the interval straddles 0: no difference the model's randomness cannot
    explain). Every tone but "" is shown in bold, and only they are."""
    if _missing(lo) or _missing(hi) or lo <= 0.0 <= hi:
        return ""
    way = better(metric)
    if way == 0:
        return "different"
    return "better" if (lo > 0) == (way > 0) else "worse"


def _header(metric: str) -> str:
    """A column's header: the metric's label and the arrow of its better direction."""
    arrow = ARROWS.get(better(metric), "")
    return f"{metric_label(metric).label} {arrow}".strip()


BOLD_MEANS = (
    "Bold marks a difference whose 95% interval excludes zero - one the simulation's "
    "randomness and the model's uncertainty cannot explain - green (better) or red (worse) by "
    "the metric's direction; a difference not in bold is no clear difference, however large it "
    "looks."
)
"""What bold means, in every table of the report and the terminal (and nothing else is bold
there)."""

ARROWS_MEAN = "↑ higher is better, ↓ lower is better"
UNITS_MEAN = (
    "Rates are in %, their differences in points (percentage points: 6.0% against 5.5% is "
    "+0.5 points); money in the export's currency (k = thousand, M = million), one scale per "
    "column."
)


def _definitions(metrics: Iterable[str]) -> list[str]:
    """One line per metric: its label, its definition and its better direction."""
    return [
        f"{metric_label(m).label}: {metric_label(m).meaning} ({direction(m)})"
        if direction(m)
        else f"{metric_label(m).label}: {metric_label(m).meaning}"
        for m in metrics
    ]


def caveats(comparison: Comparison) -> list[str]:
    """`Comparison.caveats()` in plain words (`leadrouter.sim.labels.plain`): what a replicate
    is, what the intervals exclude, which results rest on assumptions - for the terminal and the
    report alike."""
    return [plain(line) for line in comparison.caveats()]


# ------------------------------------------------------------------------------ a document


@attrs.frozen
class Cell:
    """A table cell: the `text`, an optional second line (`note`, e.g. an interval), a `tone`
    (better / worse / different) and a `mark` (the assumption mark)."""

    text: str
    note: str = ""
    tone: str = ""
    mark: str = ""


@attrs.frozen
class _Heading:
    level: int
    text: str
    anchor: str = ""


@attrs.frozen
class _Para:
    text: str
    style: str = ""


@attrs.frozen
class _Bullets:
    items: tuple[str, ...]


@attrs.frozen
class _Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    caption: str = ""


@attrs.frozen
class _Pre:
    text: str


@attrs.frozen
class _Box:
    tone: str
    title: str
    lines: tuple[str, ...]


@attrs.frozen
class _Figure:
    name: str
    png: bytes = attrs.field(repr=False)
    alt: str
    caption: str


_Values: TypeAlias = Mapping[str, Mapping[str, float]]
"""`Comparison.table()` as plain floats: {policy: {column: value}}."""


def _values(comparison: Comparison) -> dict[str, dict[str, float]]:
    table = comparison.table()
    return {
        str(name): {str(column): float(value) for column, value in row.items()}
        for name, row in table.to_dict(orient="index").items()
    }


_Block: TypeAlias = _Heading | _Para | _Bullets | _Table | _Pre | _Box | _Figure


# ------------------------------------------------------------------------------ the report


@attrs.frozen
class ReportPaths:
    """Where `write_report` wrote: the HTML file, the Markdown file and the chart PNGs the
    Markdown file references."""

    html: Path
    markdown: Path
    charts: tuple[Path, ...]


def write_report(
    comparison: Comparison,
    history: History,
    behaviour: Any = None,
    out_dir: str | os.PathLike[str] = "report",
    *,
    title: str = "Routing policies compared",
    notes: Mapping[str, str] | None = None,
    sla: timedelta = timedelta(hours=1),
    anomalies: bool = True,
    skipped: Mapping[str, str] | None = None,
    sensitivity: pd.DataFrame | None = None,
    warnings: Sequence[PolicyWarning] = (),
) -> ReportPaths:
    """Write `report.html` (self-contained) and `report.md` (with `chart-*.png` beside it) into
    `out_dir` (created if needed) and return their paths.

    `behaviour` is the model the comparison ran with (its `summary()` and `gaps` are shown; None
    says a synthetic history's own truth was used). `notes` maps a policy name to one sentence
    on how it is set up (shown beside the policy). `sla` is the SLA the comparison used
    (`compare(sla=...)`), drawn on the speed chart. `anomalies=False` leaves the anomaly checks
    out (they read the whole history again). `skipped` maps a policy that was left out of the
    comparison to why (it could not run on this history); they are listed in a warning box.
    `sensitivity`: the frame `leadrouter.sim.compare.sensitivity` returned, shown as how each
    policy's rank moves when the model's assumptions move. `warnings`: the findings of
    `leadrouter.sim.preflight` on the policies' settings, listed under the bottom line.

    Every file is written whole or not at all (a temporary file renamed into place). Raises
    ConfigError when `out_dir` exists and is not a directory.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a directory; choose another --out")
    blocks = build_blocks(
        comparison,
        history,
        behaviour,
        title=title,
        notes=notes or {},
        sla=sla,
        anomalies=anomalies,
        skipped=skipped or {},
        sensitivity=sensitivity,
        warnings=warnings,
    )
    out.mkdir(parents=True, exist_ok=True)
    charts: list[Path] = []
    for block in blocks:
        if isinstance(block, _Figure):
            charts.append(_write(out / block.name, block.png))
    markdown = _write(out / "report.md", render_markdown(blocks).encode("utf-8"))
    page = _write(out / "report.html", render_html(blocks, title).encode("utf-8"))
    return ReportPaths(page, markdown, tuple(charts))


def _write(target: Path, data: bytes) -> Path:
    """Write `data` to `target` whole or not at all."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()
    return target


def build_blocks(
    comparison: Comparison,
    history: History,
    behaviour: Any,
    *,
    title: str,
    notes: Mapping[str, str],
    sla: timedelta,
    anomalies: bool = True,
    skipped: Mapping[str, str] | None = None,
    sensitivity: pd.DataFrame | None = None,
    warnings: Sequence[PolicyWarning] = (),
) -> list[_Block]:
    """The report as a list of blocks, in order, for either renderer: the bottom line and the
    warnings on the policies' settings first, then the calibration verdict before the data and
    every comparison, every section heading numbered in order."""
    from leadrouter.sim.preflight import bottom_line

    table = _values(comparison)
    blocks: list[_Block] = [
        _Heading(1, title),
        _Para(f"Bottom line: {bottom_line(comparison, warnings)}", style="note"),
    ]
    if warnings:
        blocks.append(
            _Box("warn", "Check these settings before the numbers", tuple(map(str, warnings)))
        )
    blocks += _calibration_section(comparison.calibration, history.tz)
    blocks += _data_section(comparison, history)
    blocks += _comparison_section(comparison, table, notes, skipped or {})
    blocks += _caveats_section(comparison)
    if sensitivity is not None and len(sensitivity):
        blocks += _sensitivity_section(sensitivity)
    blocks += _charts_section(comparison, table, history, sla)
    blocks += _behaviour_section(behaviour)
    blocks += _sources_section(history)
    if anomalies:
        blocks += _anomalies_section(history)
    blocks += _reading_section(comparison)
    return _numbered(blocks)


def _numbered(blocks: Sequence[_Block]) -> list[_Block]:
    """`blocks` with every section heading numbered in order ("2. The data") and every
    subsection within it ("3.1 Policies"), so no section goes unnumbered and a section moved or
    left out renumbers the rest."""
    numbered: list[_Block] = []
    section = subsection = 0
    for block in blocks:
        if isinstance(block, _Heading) and block.level == 2:
            section, subsection = section + 1, 0
            block = attrs.evolve(block, text=f"{section}. {block.text}")
        elif isinstance(block, _Heading) and block.level == 3 and section:
            subsection += 1
            block = attrs.evolve(block, text=f"{section}.{subsection} {block.text}")
        numbered.append(block)
    return numbered


# ------------------------------------------------------------------------------ sections


def _data_section(comparison: Comparison, history: History) -> list[_Block]:
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
    blocks: list[_Block] = [
        _Heading(2, "The data", "data"),
        _Table(("", ""), tuple((Cell(k), Cell(v)) for k, v in rows)),
    ]
    for name, part, columns in (
        ("Rejected rows", rejected, ("row", "column", "reason")),
        ("Flagged rows", flagged, ("row", "column", "reason", "action")),
    ):
        if len(part):
            shown = part.head(20)
            blocks.append(
                _Table(
                    columns,
                    tuple(
                        tuple(Cell(_text(value)) for value in row)
                        for row in shown.loc[:, list(columns)].itertuples(index=False)
                    ),
                    caption=f"{name}: the first {len(shown)} of {len(part)}",
                )
            )
    return blocks


def _count_rows(frame: pd.DataFrame, what: str) -> str:
    rows = int(frame["row"].nunique())
    return f"{rows:,} ({what}; listed below)" if rows else "0"


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


_VERDICT_TONE = {"pass": "pass", "fail": "fail", "not checkable": "warn"}

_VERDICT_HEADS = {
    "pass": "PASS: replaying the logged assignments through the model reproduces the history",
    "fail": "FAIL: the model does not reproduce the history - do not trust the what-ifs below",
    "not checkable": "NOT CHECKABLE: the history cannot confirm the model - the what-ifs "
    "below are unchecked",
}
"""The verdict's headline, in the report's box and on the terminal's panel."""

_NOT_RUN = (
    "Calibration was not run",
    "The model was not checked against the history, so nothing below says whether it can "
    "reproduce what really happened. Treat every number as unchecked.",
)


def _calibration_lines(calibration: Calibration, tz: str | None) -> list[str]:
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


def _check_table(calibration: Calibration) -> _Table | None:
    """The calibration's checks, one row per split and figure, each row's numbers on one scale;
    None when there are none."""
    if not len(calibration.checks):
        return None
    rows = []
    for row in calibration.checks.to_dict(orient="records"):
        metric, at = str(row["metric"]), row.get("level", calibration.level)
        figures = (row["observed"], row["predicted"], row["lo"], row["hi"])
        scale = _scale(metric, figures)
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
    return _Table(
        ("split", "check", "observed", "model", f"{calibration.level:.0%} interval", "leads",
         "observed is"),
        tuple(rows),
        caption=f"{calibration.replicates} replicates per split; a level in brackets after an "
        "interval: several figures are checked together, each at that wider level, so a right "
        "model fails in at most 5% of histories",
    )  # fmt: skip


def _calibration_section(calibration: Calibration | None, tz: str | None = None) -> list[_Block]:
    blocks: list[_Block] = [_Heading(2, "Calibration (read this first)", "calibration")]
    if calibration is None:
        blocks.append(_Box("warn", _NOT_RUN[0], (_NOT_RUN[1],)))
        return blocks
    verdict = calibration.verdict
    head = _VERDICT_HEADS.get(verdict, verdict.upper())
    lines = _calibration_lines(calibration, tz)
    blocks.append(_Box(_VERDICT_TONE.get(verdict, "warn"), head, tuple(lines)))
    blocks.append(
        _Para(
            "How it is checked: the logged assignments (every lead to the rep who really got it) "
            "are replayed through the behaviour model; the observed conversion and contact "
            "rates, revenue per lead and each product's conversion must fall inside the range "
            "the model predicts, which allows both for what the model is unsure of and for the "
            "chance in the observed figure itself - on the leads the model was fitted on and on "
            "later leads held out from fitting."
        )
    )
    checks = _check_table(calibration)
    if checks is not None:
        blocks.append(checks)
    return blocks


_LEVEL = ("", "_lo", "_hi")
_DIFF = ("_diff", "_diff_lo", "_diff_hi")


def _column_scale(table: _Values, metric: str, parts: Sequence[str]) -> _Scale:
    """One scale for a table column: every policy's `metric` value and interval ends (`parts`:
    `_LEVEL` or `_DIFF`), so the column reads in one unit."""
    return _scale(metric, (row.get(f"{metric}{part}", math.nan) for row in table.values()
                           for part in parts))  # fmt: skip


def _level_cell(
    comparison: Comparison, table: _Values, name: str, metric: str, scale: _Scale | None = None
) -> Cell:
    row = table[name]
    driven = comparison.assumption_driven.get(name, {})
    scale = scale or _column_scale(table, metric, _LEVEL)
    return Cell(
        fmt_level(metric, row[metric], scale),
        fmt_range(metric, row[f"{metric}_lo"], row[f"{metric}_hi"], scale=scale, unit=False),
        mark=ASSUMED if metric in driven else "",
    )


def _diff_cell(
    comparison: Comparison, table: _Values, name: str, metric: str, scale: _Scale | None = None
) -> Cell:
    if name == comparison.baseline:
        return Cell("baseline")
    if metric in comparison.not_identified.get(name, {}):
        return Cell(NOT_IDENTIFIED)
    row = table[name]
    lo, hi = row[f"{metric}_diff_lo"], row[f"{metric}_diff_hi"]
    scale = scale or _column_scale(table, metric, _DIFF)
    return Cell(
        fmt_diff(metric, row[f"{metric}_diff"], scale),
        fmt_range(metric, lo, hi, diff=True, scale=scale, unit=False),
        tone=tone(metric, lo, hi),
    )


def _metric_tables(
    comparison: Comparison, table: _Values, metrics: Sequence[str], star: bool = False
) -> tuple[_Table, _Table]:
    """The levels and the differences to the baseline of `metrics`, one column each (its label
    and better direction; `star`: a `*` on model-driven ones), every column on one scale."""
    header = (
        "policy",
        *(_header(m) + ("*" if star and METRIC_KINDS.get(m) == "model" else "") for m in metrics),
    )
    tables = []
    for parts, cell in ((_LEVEL, _level_cell), (_DIFF, _diff_cell)):
        scales = {m: _column_scale(table, m, parts) for m in metrics}
        rows = tuple(
            (Cell(name), *(cell(comparison, table, name, m, scales[m]) for m in metrics))
            for name in comparison.policies
        )
        tables.append(_Table(header, rows))
    return tables[0], tables[1]


_RESTS_ON: Mapping[str, str] = {
    "mechanical": "who got which lead when",
    "model": "the rep model too",
    "diagnostic": "(a diagnostic)",
}
"""What a metric kind's differences rest on, in a few words (`METRIC_KINDS`)."""


def _legend() -> list[_Block]:
    """What the columns mean, before the first table: each metric's label, definition, better
    direction and what it rests on, then what the arrows, bold, units and marks mean."""
    rows = tuple(
        (
            Cell(_header(m)),
            Cell(metric_label(m).meaning),
            Cell(direction(m)),
            Cell(_RESTS_ON.get(METRIC_KINDS.get(m, ""), "")),
        )
        for m in METRICS
    )
    return [
        _Heading(3, "What the columns mean"),
        _Table(("column", "what it is", "better", "rests on"), rows),
        _Para(
            f"{ARROWS_MEAN}. Under each level, its 95% interval; under each difference, the "
            f"difference's 95% interval, in the same unit. {BOLD_MEANS} {UNITS_MEAN} "
            f"{ASSUMED} marks a value that rests on an assumption rather than on the history "
            "(see the section on what the intervals exclude)."
        ),
    ]


def _comparison_section(
    comparison: Comparison,
    table: _Values,
    notes: Mapping[str, str],
    skipped: Mapping[str, str],
) -> list[_Block]:
    n = len(comparison.seeds)
    blocks: list[_Block] = [
        _Heading(2, "The comparison", "comparison"),
        _Para(
            f"Every policy was run on the same leads with the same random numbers, {n} times "
            f"(one run per seed). A level is the policy's average over the runs, with a 95% "
            f"interval: the range its expected result lies in, given the chance in outcomes and "
            f"what the model is unsure of. A difference is to the baseline, "
            f"{comparison.baseline}, taken run by run (same leads, same luck), with its own 95% "
            f"interval."
        ),
        *_legend(),
    ]
    if notes:
        blocks.append(_Heading(3, "Policies"))
        blocks.append(
            _Bullets(
                tuple(
                    f"{name}: {notes[name]}" if name in notes else name
                    for name in comparison.policies
                )
            )
        )
    if skipped:
        blocks.append(
            _Box(
                "warn",
                "Left out: these policies cannot run on this history",
                tuple(f"{name}: {why}" for name, why in skipped.items()),
            )
        )
    cannot_tell = _cannot_tell(comparison)
    if cannot_tell:
        title = CANNOT_TELL[0].upper() + CANNOT_TELL[1:]
        blank = dict.fromkeys(m for row in comparison.not_identified.values() for m in row)
        blocks.append(
            _Box(
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
        blocks.append(_Heading(3, KIND_TITLES.get(kind, kind)))
        levels, diffs = _metric_tables(comparison, table, metrics)
        blocks.append(attrs.evolve(levels, caption="Levels: average over the runs, 95% interval"))
        if kind != "diagnostic":
            caption = (
                f"Difference to {comparison.baseline}: average over the runs, 95% interval "
                "(bold: the interval excludes zero)"
            )
            blocks.append(attrs.evolve(diffs, caption=caption))
    return blocks


def _caveats_section(comparison: Comparison) -> list[_Block]:
    return [
        _Heading(2, "What a replicate is, and what the intervals exclude", "caveats"),
        _Bullets(tuple(caveats(comparison))),
        _Para(
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


def _leaders(frame: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """Per scenario, the policies ranked first (ties share the rank)."""
    first = frame[frame["rank"] == 1]
    return {
        str(scenario): tuple(sorted(str(p) for p in group["policy"]))
        for scenario, group in first.groupby("scenario", sort=False)
    }


def _sensitivity_verdict(frame: pd.DataFrame) -> str:
    metric = metric_label(str(frame.attrs.get("metric", "conversion_rate"))).label
    if frame.attrs.get("not_identified"):
        return (
            f"{CANNOT_TELL[0].upper()}{CANNOT_TELL[1:]} ({frame.attrs['not_identified']}); "
            f"ranks by {metric} only order the model's levels, not differences the export "
            "supports."
        )
    leaders = _leaders(frame)
    distinct = set(leaders.values())
    if len(distinct) == 1:
        names = " and ".join(next(iter(distinct)))
        return (
            f"{names} leads by {metric} in every scenario: that conclusion does not hinge on the "
            "rep effects, the contact decay or the reps' capacity."
        )
    named = "; ".join(f"{scenario}: {', '.join(names)}" for scenario, names in leaders.items())
    return (
        f"The policy leading by {metric} changes when the assumptions move ({named}): which "
        "policy is best rests on them; read small differences as ties."
    )


def sensitivity_line(frame: pd.DataFrame) -> str:
    """One sentence for the terminal: does the leader hold when the assumptions move?"""
    verdict = _sensitivity_verdict(frame)
    if verdict.startswith("The "):
        verdict = "the " + verdict[4:]
    return f"Sensitivity: {verdict}"


def _sensitivity_section(frame: pd.DataFrame) -> list[_Block]:
    """How each policy's rank (and difference to the baseline) moves across the scenarios."""
    scenarios = list(dict.fromkeys(frame["scenario"]))
    policies = list(dict.fromkeys(frame["policy"]))
    metric = str(frame.attrs.get("metric", "conversion_rate"))
    cells = frame.set_index(["scenario", "policy"])
    scale = _scale(metric, frame["diff"].astype(float))
    rows: list[tuple[Cell, ...]] = []
    for name in policies:
        row: list[Cell] = [Cell(name)]
        for scenario in scenarios:
            found = cells.loc[(scenario, name)]
            row.append(
                Cell(
                    f"#{int(found['rank'])} ({fmt_diff(metric, float(found['diff']), scale)})",
                    tone=tone(metric, float(found["diff_lo"]), float(found["diff_hi"])),
                )
            )
        rows.append(tuple(row))
    verdict = _sensitivity_verdict(frame)
    return [
        _Heading(2, "Does the ranking hinge on an assumption?", "sensitivity"),
        _Para(
            f"Each column re-runs the comparison "
            f"({int(frame.attrs.get('seeds', 0)) or 'a few'} seeds each, model parameters fixed) "
            f"with one assumption moved (rep effects removed; contact decaying twice as fast, or "
            f"half as fast; every rep's capacity x0.75 or x1.5) and ranks the policies by "
            f"{metric_label(metric).label} ({direction(metric)}); in brackets, the difference to "
            f"the baseline, in bold when its interval excludes zero. " + verdict
        ),
        _Table(("policy", *scenarios), tuple(rows)),
    ]


def _charts_section(
    comparison: Comparison, table: _Values, history: History, sla: timedelta
) -> list[_Block]:
    import matplotlib

    base = comparison.baseline
    reps = [rep.id for rep in history.roster]
    for name in comparison.policies:
        reps += [rep for rep in comparison.per_rep[name].index if rep not in reps]
    names, key = _chart_names(list(comparison.policies), reps)
    # a list of families makes matplotlib fall back glyph by glyph; the generic "sans-serif"
    # would resolve to its first installed font only, and Chinese names draw as empty boxes
    with matplotlib.rc_context({"font.family": _fonts()}):
        differences = _chart_differences(comparison, table, names)
        load = _chart_load(comparison, reps, names)
        speed = _chart_speed(comparison, history, sla, names)
    return [
        _Heading(2, "Charts", "charts"),
        *([_Para(key)] if key else []),
        _Figure(
            "chart-differences.png",
            differences,
            f"Differences to {base} with their 95% intervals",
            f"Each panel: every policy's difference to {base} (dot) with its 95% interval "
            "(line); an interval that does not cross the dashed zero line is a "
            "difference the model's randomness cannot explain. Green: better, red: worse, "
            f"grey: no clear difference. {ASSUMED} after a name: assumption-driven for that "
            "metric.",
        ),
        _Figure(
            "chart-load.png",
            load,
            "Leads received per rep, per policy",
            "Leads each rep received (assigned or claimed), mean per seed: how evenly each "
            "policy spreads the load.",
        ),
        _Figure(
            "chart-speed.png",
            speed,
            "Speed to lead per policy",
            "Share of all leads first touched within x minutes of arrival (log scale), pooled "
            f"over seeds; the dashed line is the SLA ({sla.total_seconds() / 60:g} min). A "
            "curve that ends below 100% leaves leads never touched.",
        ),
    ]


def _behaviour_section(behaviour: Any) -> list[_Block]:
    blocks: list[_Block] = [_Heading(2, "The behaviour model", "behaviour")]
    if behaviour is None:
        blocks.append(
            _Para(
                "No model was given: the synthetic history's own generating parameters (its "
                "truth) were used, so the model is right by construction."
            )
        )
        return blocks
    summary = getattr(behaviour, "summary", None)
    blocks.append(_Pre(summary() if callable(summary) else repr(behaviour)))
    gaps = tuple(getattr(behaviour, "gaps", ()) or ())
    if gaps:
        blocks.append(_Heading(3, "Gaps: what the data could not support (assumed instead)"))
        blocks.append(_Bullets(gaps))
    else:
        blocks.append(_Para("Gaps: none - every part of the model was fitted from the history."))
    return blocks


_SOURCE_FORMATS: Mapping[str, Callable[[Any], str]] = {
    "leads": lambda v: f"{int(v):,}",
    "cost": lambda v: f"{v:,.0f}",
    "valid_rate": lambda v: "-" if _missing(v) else f"{v:.1%}",
    "contact_rate": lambda v: "-" if _missing(v) else f"{v:.1%}",
    "conversions": lambda v: f"{int(v):,}",
    "conversion_rate": lambda v: "-" if _missing(v) else f"{v:.1%}",
    "revenue": lambda v: f"{v:,.0f}",
    "roi": lambda v: "-" if _missing(v) else f"{v:.0%}",
    "cost_per_sale": lambda v: "-" if _missing(v) else f"{v:,.0f}",
}


def _sources_section(history: History) -> list[_Block]:
    from leadrouter.sim.sources import source_table

    frame = source_table(history)
    columns = [c for c in _SOURCE_FORMATS if c in frame.columns]
    rows = tuple(
        (Cell(str(source)), *(Cell(_SOURCE_FORMATS[c](frame.loc[source, c])) for c in columns))
        for source in frame.index
    )
    return [
        _Heading(2, "Lead sources", "sources"),
        _Para(
            "What each source cost and brought in, counted from the history alone (no model): "
            "every number can be checked by hand against the export."
        ),
        _Table(("source", *(metric_label(c).label for c in columns)), rows),
    ]


def _anomalies_section(history: History) -> list[_Block]:
    from leadrouter.sim.anomalies import anomalies_frame

    frame = anomalies_frame(history)
    blocks: list[_Block] = [
        _Heading(2, "Anomalies", "anomalies"),
        _Para(
            "Reps whose numbers deserve a human look, each with its evidence - prompts, never "
            "verdicts. Each check compares a rep with their peers on comparable leads; a check "
            "the data cannot support says so."
        ),
    ]
    flags = frame[frame["kind"] != "not_checkable"]
    skipped = frame[frame["kind"] == "not_checkable"]
    if len(flags):
        blocks.append(
            _Table(
                ("check", "rep", "evidence", "p-value", "leads behind it"),
                tuple(
                    (
                        Cell(str(row["check"])),
                        Cell(_text(row["rep_id"])),
                        Cell(str(row["evidence"])),
                        Cell("-" if _missing(row["p_value"]) else f"{row['p_value']:.2g}"),
                        Cell(f"{len(row['lead_ids']):,}"),
                    )
                    for row in flags.to_dict(orient="records")
                ),
            )
        )
    else:
        blocks.append(_Para("No rep was flagged by any check that could run."))
    if len(skipped):
        blocks.append(_Bullets(tuple(str(e) for e in skipped["evidence"])))
    return blocks


def _reading_section(comparison: Comparison) -> list[_Block]:
    return [
        _Heading(2, "How to read this", "reading"),
        _Bullets(
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
                "These are model-based what-ifs on past leads, not measurements. The history "
                "was produced by one deterministic rule, so it cannot show unbiasedly what "
                "another rule would have done.",
            )
        ),
        _Para(
            "What makes a later evaluation unbiased: an A/B test (leads split at random between "
            "two policies), or a randomised router that logs Assigned.propensity - the chance "
            "it gave the chosen rep - for every lead. With those logs, replay and "
            "inverse-propensity estimates evaluate a new policy without a behaviour model.",
            style="note",
        ),
    ]


# ------------------------------------------------------------------------------ charts


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _label(text: str) -> str:
    """Text for a matplotlib label: `$` would start mathtext."""
    return text.replace("$", r"\$")


_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
    "Arial Unicode MS",
)
"""Fonts that draw Chinese names, tried after matplotlib's own when they are installed."""


@functools.cache
def _font_files() -> tuple[tuple[str, str], ...]:
    """(family, file) of matplotlib's default font and of every installed CJK family."""
    from matplotlib import font_manager

    found: list[tuple[str, str]] = [("DejaVu Sans", str(font_manager.findfont("DejaVu Sans")))]
    for entry in font_manager.fontManager.ttflist:
        if entry.name in _CJK_FAMILIES and entry.name not in {f for f, _ in found}:
            found.append((entry.name, str(entry.fname)))
    return tuple(found)


def _fonts() -> list[str]:
    return [family for family, _ in _font_files()]


@functools.cache
def _drawable(char: str) -> bool:
    """True when one of the chart fonts has a glyph for `char`."""
    from matplotlib.ft2font import FT2Font

    return any(FT2Font(path).get_char_index(ord(char)) for _, path in _font_files())


def _chart_names(policies: list[str], reps: list[str]) -> tuple[dict[str, str], str]:
    """Chart labels for policy and rep names: the name itself when the chart fonts can draw
    it, else a short code (P1, R1 ...) - with a key, in words, for the report's text (which
    shows every name). No CJK font installed means Chinese rep names become codes rather than
    empty boxes."""
    names: dict[str, str] = {}
    key: list[str] = []
    for prefix, group in (("P", policies), ("R", reps)):
        for index, name in enumerate(group, start=1):
            if all(_drawable(char) for char in name):
                names[name] = _label(name)
            else:
                names[name] = f"{prefix}{index}"
                key.append(f"{prefix}{index} = {name}")
    text = (
        "The charts' fonts cannot draw some names; they are labelled by code: "
        + ", ".join(key)
        + "."
        if key
        else ""
    )
    return names, text


_BOLD_TONES = ("better", "worse", "different")
"""The tones shown in bold (`BOLD_MEANS`): a difference whose interval excludes zero."""

_TONE_COLOURS = {"better": "#1a7f37", "worse": "#cf222e", "different": "#0969da", "": "#6e7781"}


def _chart_differences(comparison: Comparison, table: _Values, names: Mapping[str, str]) -> bytes:
    others = [name for name in comparison.policies if name != comparison.baseline]
    metrics = [m for m in CHART_METRICS if table and f"{m}_diff" in next(iter(table.values()))]
    columns = 3
    rows = max(1, math.ceil(len(metrics) / columns))
    height = max(2.6, 0.32 * len(others) + 1.4)
    figure = _figure(4.2 * columns, height * rows)
    axes = figure.subplots(rows, columns, squeeze=False)
    for index, axis in enumerate(axes.flat):
        if index >= len(metrics):
            axis.set_visible(False)
            continue
        metric = metrics[index]
        spec = metric_label(metric)
        scale = 100.0 if spec.kind in ("percent", "percent0") else 1.0
        unit = {"percent": " (points)", "percent0": " (points)", "minutes": " (min)"}.get(
            spec.kind, ""
        )
        arrow = f"  {direction(metric)}" if direction(metric) else ""
        labels = []
        for y, name in enumerate(reversed(others)):
            row = table[name]
            mean = row[f"{metric}_diff"] * scale
            lo, hi = row[f"{metric}_diff_lo"] * scale, row[f"{metric}_diff_hi"] * scale
            colour = _TONE_COLOURS[tone(metric, row[f"{metric}_diff_lo"], row[f"{metric}_diff_hi"])]
            if not _missing(lo) and not _missing(hi):
                axis.plot([lo, hi], [y, y], color=colour, linewidth=2.2, solid_capstyle="butt")
            if not _missing(mean):
                axis.plot([mean], [y], "o", color=colour, markersize=5)
            elif metric in comparison.not_identified.get(name, {}):
                axis.annotate(
                    NOT_IDENTIFIED,
                    (0.0, y),
                    xytext=(4, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=7,
                    color=_TONE_COLOURS[""],
                )
            mark = ASSUMED if metric in comparison.assumption_driven.get(name, {}) else ""
            labels.append(names[name] + mark)
        axis.axvline(0.0, color="#444", linestyle="--", linewidth=0.9)
        axis.set_yticks(range(len(labels)), labels, fontsize=8)
        axis.set_ylim(-0.7, max(len(labels), 1) - 0.3)
        axis.set_title(f"{spec.label}{unit}", fontsize=10, loc="left")
        axis.set_xlabel(f"difference to {names[comparison.baseline]}{arrow}", fontsize=8)
        axis.tick_params(axis="x", labelsize=8)
        if spec.kind == "money":
            ticks = _column_scale(table, metric, _DIFF)
            axis.xaxis.set_major_formatter(
                _formatter(lambda v, t=ticks: f"{v / t.divisor:,g}{t.suffix}")
            )
        axis.grid(axis="x", color="#ddd", linewidth=0.6)
    return _png(figure)


def _chart_load(comparison: Comparison, reps: list[str], names: Mapping[str, str]) -> bytes:
    policies = list(comparison.policies)
    values = np.array(
        [
            [
                float(comparison.per_rep[name]["received"].get(rep, 0.0))
                if "received" in comparison.per_rep[name]
                else 0.0
                for rep in reps
            ]
            for name in policies
        ]
    )
    figure = _figure(max(6.0, 0.55 * len(reps) + 3.0), max(3.2, 0.42 * len(policies) + 1.3))
    axis = figure.subplots()
    image = axis.imshow(values, aspect="auto", cmap="Blues", vmin=0.0)
    axis.set_xticks(range(len(reps)), [names[r] for r in reps], rotation=45, ha="right", fontsize=8)
    axis.set_yticks(range(len(policies)), [names[p] for p in policies], fontsize=8)
    if values.size <= 400:
        top = float(values.max()) if values.size else 0.0
        for (i, j), value in np.ndenumerate(values):
            axis.text(
                j,
                i,
                f"{value:.0f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if top and value > 0.6 * top else "#222",
            )
    figure.colorbar(image, ax=axis, label="leads per seed")
    axis.set_title("Leads received per rep", fontsize=10, loc="left")
    return _png(figure)


def _chart_speed(
    comparison: Comparison, history: History, sla: timedelta, names: Mapping[str, str]
) -> bytes:
    figure = _figure(8.0, 4.6)
    axis = figure.subplots()
    total = max(1, len(history) * len(comparison.seeds))
    colours = _palette(len(comparison.policies))
    drawn = False
    top = 1.0
    for colour, name in zip(colours, comparison.policies, strict=True):
        minutes = np.sort(np.asarray(comparison.speeds.get(name, np.array([])), dtype=float))
        minutes = minutes[~np.isnan(minutes)]
        if not len(minutes):
            continue
        shares = np.arange(1, len(minutes) + 1) / total
        top = max(top, float(minutes[-1]))
        axis.step(
            np.maximum(minutes, 0.1),
            shares,
            where="post",
            color=colour,
            linewidth=1.4,
            label=names[name],
        )
        drawn = True
    limit = sla.total_seconds() / 60.0
    axis.axvline(limit, color="#444", linestyle="--", linewidth=0.9)
    axis.text(limit, 1.01, " SLA", fontsize=8, va="bottom")
    axis.set_xscale("log")
    ticks = [t for t in _SPEED_TICKS if t[0] <= max(limit, top) * 1.5]
    axis.set_xticks([t[0] for t in ticks], [t[1] for t in ticks], fontsize=8)
    axis.minorticks_off()
    axis.set_ylim(0.0, 1.05)
    axis.set_xlabel("minutes from arrival to first touch (log scale)", fontsize=9)
    axis.set_ylabel("share of leads touched", fontsize=9)
    axis.yaxis.set_major_formatter(_percent_formatter())
    axis.grid(color="#e5e5e5", linewidth=0.6)
    if drawn:
        axis.legend(fontsize=8, loc="upper left", frameon=False)
    else:
        axis.text(0.5, 0.5, "no lead was touched", transform=axis.transAxes, ha="center")
    axis.set_title("Speed to lead", fontsize=10, loc="left")
    return _png(figure)


_SPEED_TICKS = (
    (1.0, "1 min"),
    (5.0, "5 min"),
    (15.0, "15 min"),
    (60.0, "1 h"),
    (240.0, "4 h"),
    (1440.0, "1 day"),
    (10080.0, "1 week"),
    (43200.0, "30 days"),
)


def _formatter(function: Callable[..., str]) -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: function(value))


def _palette(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _percent_formatter() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=0)


# ------------------------------------------------------------------------------ HTML


_CSS = """
body{font:15px/1.5 -apple-system,"Segoe UI",Roboto,"Noto Sans","PingFang SC","Microsoft YaHei",
sans-serif;color:#1f2328;max-width:1180px;margin:2em auto;padding:0 1.2em;background:#fff}
h1{font-size:1.8em;margin-bottom:.2em}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2em;
margin-top:2em}h3{margin-top:1.4em;font-size:1.05em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.86em}
th,td{border:1px solid #d0d7de;padding:.3em .55em;text-align:left;vertical-align:top}
th{background:#f6f8fa}caption{caption-side:top;text-align:left;color:#57606a;
font-size:.95em;padding:.2em 0}
td .note{display:block;color:#6e7781;font-size:.9em;white-space:nowrap}
td.better{color:#1a7f37;font-weight:600}td.worse{color:#cf222e;font-weight:600}
td.different{font-weight:600}td.alert{color:#cf222e}.mark{color:#9a6700}
.box{border:2px solid;border-radius:6px;padding:.8em 1.1em;margin:1em 0}
.box h3{margin:0 0 .4em}.box ul{margin:.2em 0 0}
.box.fail{border-color:#cf222e;background:#ffebe9}.box.fail h3{color:#a40e26}
.box.warn{border-color:#bf8700;background:#fff8c5}.box.warn h3{color:#7d4e00}
.box.pass{border-color:#1a7f37;background:#dafbe1}.box.pass h3{color:#116329}
pre{background:#f6f8fa;border:1px solid #d0d7de;padding:.8em;overflow-x:auto;font-size:.85em}
figure{margin:1em 0 2em}figure img{max-width:100%;border:1px solid #d0d7de}
figcaption{color:#57606a;font-size:.9em;margin-top:.3em}
p.note{border-left:4px solid #0969da;background:#ddf4ff;padding:.6em 1em}
.overflow{overflow-x:auto}
"""


def render_html(blocks: Sequence[_Block], title: str) -> str:
    """The blocks as one self-contained HTML page: inline CSS, images as data URIs."""
    e = _escape_html
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
    ]
    for block in blocks:
        parts.append(_html_block(block))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _escape_html(text: str) -> str:
    return html.escape(text, quote=True)


def _html_cell(cell: Cell, tag: str = "td") -> str:
    e = _escape_html
    classes = f' class="{cell.tone}"' if cell.tone else ""
    mark = f'<span class="mark">{e(cell.mark)}</span>' if cell.mark else ""
    note = f'<span class="note">{e(cell.note)}</span>' if cell.note else ""
    return f"<{tag}{classes}>{e(cell.text)}{mark}{note}</{tag}>"


def _html_block(block: _Block) -> str:
    e = _escape_html
    if isinstance(block, _Heading):
        anchor = f' id="{e(block.anchor)}"' if block.anchor else ""
        return f"<h{block.level}{anchor}>{e(block.text)}</h{block.level}>"
    if isinstance(block, _Para):
        style = f' class="{block.style}"' if block.style else ""
        return f"<p{style}>{e(block.text)}</p>"
    if isinstance(block, _Bullets):
        return "<ul>" + "".join(f"<li>{e(item)}</li>" for item in block.items) + "</ul>"
    if isinstance(block, _Table):
        caption = f"<caption>{e(block.caption)}</caption>" if block.caption else ""
        head = ""
        if any(block.header):
            head = (
                "<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in block.header) + "</tr></thead>"
            )
        body = "".join(
            "<tr>" + "".join(_html_cell(cell) for cell in row) + "</tr>" for row in block.rows
        )
        return f'<div class="overflow"><table>{caption}{head}<tbody>{body}</tbody></table></div>'
    if isinstance(block, _Pre):
        return f"<pre>{e(block.text)}</pre>"
    if isinstance(block, _Box):
        items = "".join(f"<li>{e(line)}</li>" for line in block.lines)
        listing = f"<ul>{items}</ul>" if items else ""
        return f'<div class="box {block.tone}"><h3>{e(block.title)}</h3>{listing}</div>'
    data = base64.b64encode(block.png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{e(block.alt)}">'
        f"<figcaption>{e(block.caption)}</figcaption></figure>"
    )


# ------------------------------------------------------------------------------ Markdown


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def _escape_md(text: str) -> str:
    """Text for Markdown: HTML-significant characters as entities (a renderer would read raw
    HTML), Markdown punctuation backslash-escaped, newlines as spaces."""
    text = html.escape(text, quote=False)
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def _md_cell(cell: Cell) -> str:
    text = _escape_md(cell.text) + _escape_md(cell.mark)
    if cell.tone in _BOLD_TONES:
        word = {"better": " (better)", "worse": " (worse)"}.get(cell.tone, "")
        text = f"**{text}**{word}"
    if cell.note:
        text += f"<br>{_escape_md(cell.note)}"
    return text or " "


def render_markdown(blocks: Sequence[_Block]) -> str:
    """The blocks as Markdown; figures are referenced by their file names (written beside)."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, _Heading):
            out.append(f"{'#' * block.level} {_escape_md(block.text)}")
        elif isinstance(block, _Para):
            text = _escape_md(block.text)
            out.append(f"> {text}" if block.style else text)
        elif isinstance(block, _Bullets):
            out.append("\n".join(f"- {_escape_md(item)}" for item in block.items))
        elif isinstance(block, _Table):
            lines = []
            if block.caption:
                lines.append(f"*{_escape_md(block.caption)}*")
                lines.append("")
            header = [_escape_md(h) or " " for h in block.header]
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "|".join("---" for _ in header) + "|")
            lines.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows)
            out.append("\n".join(lines))
        elif isinstance(block, _Pre):
            fence = "````" if "```" in block.text else "```"
            out.append(f"{fence}text\n{block.text}\n{fence}")
        elif isinstance(block, _Box):
            mark = {"fail": "❌", "warn": "⚠️", "pass": "✅"}.get(block.tone, "")
            lines = [f"> **{mark} {_escape_md(block.title)}**"]
            if block.lines:
                lines.append(">")
                lines.extend(f"> - {_escape_md(line)}" for line in block.lines)
            out.append("\n".join(lines))
        else:
            out.append(f"![{_escape_md(block.alt)}]({block.name})\n\n*{_escape_md(block.caption)}*")
    return "\n\n".join(out) + "\n"


# ------------------------------------------------------------------------------ terminal


_RICH_TONES = {"better": "bold green", "worse": "bold red", "different": "bold", "alert": "red"}
"""A cell's tone on a terminal: bold only for `_BOLD_TONES`, as in the report."""


def _rich_cell(cell: Cell) -> Text:
    from rich.text import Text

    text = Text(cell.text, style=_RICH_TONES.get(cell.tone, ""))
    if cell.mark:
        text.append(cell.mark, style="yellow")
    if cell.note:
        text.append("\n" + cell.note, style="dim")
    return text


def _rich_table(block: _Table, title: str = "") -> Table:
    """A report table as a rich Table: the same header, cells and caption. Data is text, never
    markup."""
    from rich.table import Table

    grid = Table(
        title=title or None,
        title_justify="left",
        caption=block.caption or None,
        caption_justify="left",
    )
    for index, name in enumerate(block.header):
        first = index == 0
        grid.add_column(name, justify="left" if first else "right", overflow="fold", no_wrap=first)
    for row in block.rows:
        grid.add_row(*(_rich_cell(cell) for cell in row))
    return grid


def calibration_panel(calibration: Calibration | None, tz: str | None = None) -> RenderableType:
    """The calibration verdict as a rich Panel: red for fail, yellow for not checkable (or not
    run), green for pass - the report's headline, reasons and table of checks, in the same
    words. `tz`: the history's zone, for the held-out split's time."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    if calibration is None:
        return Panel(
            Text(_NOT_RUN[1]),
            title="Calibration: NOT RUN",
            title_align="left",
            border_style="yellow",
        )
    style = {"pass": "green", "fail": "bold red"}.get(calibration.verdict, "yellow")
    body = Text("\n".join(f"- {line}" for line in _calibration_lines(calibration, tz)))
    if calibration.verdict == "fail":
        body.stylize("red")
    checks = _check_table(calibration)
    head = _VERDICT_HEADS.get(calibration.verdict, calibration.verdict.upper())
    return Panel(
        Group(body, _rich_table(checks)) if checks is not None else body,
        title=f"Calibration: {head}",
        title_align="left",
        border_style=style,
    )


def comparison_tables(comparison: Comparison, metrics: Iterable[str] = KEY_METRICS) -> list[Table]:
    """Two rich tables for a terminal: levels with their 95% intervals, and differences to the
    baseline with their intervals, for `metrics` - labelled, scaled and marked as in the report
    (bold: the interval excludes zero; green better, red worse), with what the columns mean
    under the levels."""
    chosen = [m for m in metrics if m in METRICS]
    compared = [m for m in chosen if METRIC_KINDS.get(m) != "diagnostic"]
    table = _values(comparison)
    levels, _ = _metric_tables(comparison, table, chosen, star=True)
    _, diffs = _metric_tables(comparison, table, compared, star=True)
    legend = [
        f"What the columns mean ({ARROWS_MEAN}):",
        *(f"  {line}" for line in _definitions(chosen)),
        "* rests on the rep model too (sales and money); "
        f"{ASSUMED} rests on an assumption for that policy (see the notes below).",
        UNITS_MEAN,
    ]
    cannot_tell = _cannot_tell(comparison)
    n = len(comparison.seeds)
    return [
        _rich_table(
            attrs.evolve(levels, caption="\n".join(legend)),
            f"Levels - average over {n} runs (seeds), the 95% interval below each",
        ),
        _rich_table(
            attrs.evolve(diffs, caption="\n".join(filter(None, (BOLD_MEANS, cannot_tell)))),
            f"Difference to {comparison.baseline} - same leads, same luck, the 95% interval "
            "below each",
        ),
    ]
