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

Sections are numbered as they are built (`document.number_sections`), so none goes
unnumbered. Metrics are named by their plain labels (`leadrouter.sim.labels`), never by their
code names; the numbers of an interval, and of a table column, share one scale; bold means one
thing - a difference whose interval excludes zero (`BOLD_MEANS`).

`comparison_tables(comparison)` and `calibration_panel(calibration)` render the same comparison
and verdict for a terminal (rich), in the same words; `leadrouter compare` prints them with
`caveats(comparison)`. Every text taken from the
data (policy, rep and source names, reasons) is escaped in HTML and Markdown and never read as
rich markup. matplotlib draws on its own Figure objects (Agg, no pyplot, no global backend), so
writing a report changes nothing in the caller's plotting setup.

The package, one concern per module: `formats` (numbers, scales, tones - written by
`leadrouter.sim.formats`, which the results below the report share - definitions, caveats),
`document` (`Cell` and the blocks), `sections` and `analysis_sections` (the sections, as blocks),
`charts` (matplotlib charts, fonts), `render` (HTML and Markdown), `terminal` (rich tables and the
calibration panel); this module writes the files. The names below are re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from leadrouter._util import format_duration, write_atomic
from leadrouter.errors import ConfigError
from leadrouter.sim.report.analysis_sections import (
    anomalies_section,
    sensitivity_line,
    sensitivity_section,
    sources_section,
)
from leadrouter.sim.report.charts import charts_section
from leadrouter.sim.report.document import (
    Block,
    Box,
    Cell,
    Figure,
    Heading,
    Para,
    Pre,
    number_sections,
    with_contents,
)
from leadrouter.sim.report.formats import (
    ASSUMED,
    BOLD_MEANS,
    KEY_METRICS,
    NOT_IDENTIFIED,
    caveats,
    fmt_diff,
    fmt_level,
    fmt_range,
    tone,
    values_table,
)
from leadrouter.sim.report.model_section import behaviour_section
from leadrouter.sim.report.render import render_html, render_markdown
from leadrouter.sim.report.sections import (
    calibration_section,
    caveats_section,
    comparison_section,
    data_section,
    reading_section,
)
from leadrouter.sim.report.terminal import calibration_panel, comparison_tables

if TYPE_CHECKING:
    import pandas as pd

    from leadrouter.sim.compare import Comparison
    from leadrouter.sim.history import History
    from leadrouter.sim.preflight import PolicyWarning

__all__ = [
    "ASSUMED",
    "BOLD_MEANS",
    "KEY_METRICS",
    "NOT_IDENTIFIED",
    "Cell",
    "ReportPaths",
    "build_blocks",
    "calibration_panel",
    "caveats",
    "comparison_tables",
    "fmt_diff",
    "fmt_level",
    "fmt_range",
    "render_html",
    "render_markdown",
    "sensitivity_line",
    "tone",
    "values_table",
    "write_report",
]


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
    sla: timedelta | None = None,
    anomalies: bool = True,
    skipped: Mapping[str, str] | None = None,
    sensitivity: pd.DataFrame | None = None,
    warnings: Sequence[PolicyWarning] = (),
    off_policy: str | None = None,
) -> ReportPaths:
    """Write `report.html` (self-contained) and `report.md` (with `chart-*.png` beside it) into
    `out_dir` (created if needed) and return their paths.

    `behaviour` is the model the comparison ran with (its `summary()` and `gaps` are shown);
    None takes the one `compare` kept (`comparison.behaviour`: the model it fitted, when it was
    given none), and says so when it was a synthetic history's own truth. `notes` maps a policy
    name to one sentence on how it is set up (shown beside the policy). `sla`: the SLA drawn on the
    speed chart; None, as usual, takes the one the comparison counted coverage against
    (`compare(sla=...)`), and a different one is refused. `anomalies=False` leaves the
    anomaly checks out (they read the whole history again). `skipped` maps a policy that was
    left out of the comparison to why (it could not run on this history); they are listed in a
    warning box. `sensitivity`: the frame `leadrouter.sim.compare.sensitivity` returned, shown
    as how each policy's rank moves when the model's assumptions move. `warnings`: the findings
    of `leadrouter.sim.preflight` on the policies' settings, listed under the bottom line.
    `off_policy`: the estimates from the export's logged propensities
    (`Evaluation.text()`), shown in a section of their own beside the what-if.

    Every file is written whole or not at all (a temporary file renamed into place). Raises
    ConfigError when `out_dir` exists and is not a directory.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a directory; choose another --out")
    from leadrouter.sim.compare import Comparison
    from leadrouter.sim.history import History

    if not isinstance(comparison, Comparison) or not isinstance(history, History):
        raise ConfigError(
            "write_report takes the Comparison compare() returned, then the History it ran on: "
            f"write_report(result, history, ...), got {type(comparison).__name__} and "
            f"{type(history).__name__}"
        )
    if sla is None:
        sla = comparison.sla
    elif sla != comparison.sla:
        raise ConfigError(
            f"write_report: sla={format_duration(sla)} but the comparison counted coverage "
            f"against {format_duration(comparison.sla)}; leave sla out, or run compare(sla=...) "
            "with the one to report"
        )
    if behaviour is None and history.truth is None:
        behaviour = comparison.behaviour  # the model compare fitted: never "the truth"
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
        off_policy=off_policy,
    )
    out.mkdir(parents=True, exist_ok=True)
    charts: list[Path] = []
    for block in blocks:
        if isinstance(block, Figure):
            charts.append(write_atomic(out / block.name, block.png))
    markdown = write_atomic(out / "report.md", render_markdown(blocks).encode("utf-8"))
    page = write_atomic(out / "report.html", render_html(blocks, title).encode("utf-8"))
    return ReportPaths(page, markdown, tuple(charts))


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
    off_policy: str | None = None,
) -> list[Block]:
    """The report as a list of blocks, in order, for either renderer: the bottom line and the
    warnings on the policies' settings first, then the calibration verdict before the data and
    every comparison, every section heading numbered in order."""
    from leadrouter.sim.preflight import bottom_line

    table = values_table(comparison)
    blocks: list[Block] = [
        Heading(1, title),
        Para(
            f"Bottom line: {bottom_line(comparison, warnings, history)}",
            style=_line_style(comparison),
        ),
    ]
    if warnings:
        blocks.append(
            Box("warn", "Check these settings before the numbers", tuple(map(str, warnings)))
        )
    blocks += calibration_section(comparison.calibration, history.tz)
    blocks += data_section(comparison, history)
    blocks += comparison_section(comparison, table, notes, skipped or {})
    blocks += caveats_section(comparison)
    if off_policy:
        blocks += [
            Heading(2, "From the logged propensities", "off-policy"),
            Para(
                "Beside the what-if: each policy estimated from the assignments the export logged "
                "with their chances (propensities), with no model of the reps. Where these "
                "intervals and the what-if's disagree, question the model first."
            ),
            Pre(off_policy),
        ]
    if sensitivity is not None and len(sensitivity):
        blocks += sensitivity_section(sensitivity)
    blocks += charts_section(comparison, table, history, sla)
    blocks += behaviour_section(behaviour)
    blocks += sources_section(history)
    if anomalies:
        blocks += anomalies_section(history)
    blocks += reading_section(comparison)
    return with_contents(number_sections(blocks), after=2)


def _line_style(comparison: Comparison) -> str:
    """The bottom line's box: red when calibration failed (the what-ifs are not to be acted
    on), amber when it could not check the model, blue otherwise."""
    from leadrouter.sim.calibration_checks import FAIL, NOT_CHECKABLE

    verdict = None if comparison.calibration is None else comparison.calibration.verdict
    return {FAIL: "note alert", NOT_CHECKABLE: "note caution"}.get(verdict or "", "note")
