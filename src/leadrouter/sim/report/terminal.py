"""The comparison and the calibration verdict for a terminal (rich), built from the report's own
tables and words: `comparison_tables` and `calibration_panel`, which `leadrouter compare` prints.
Data (policy, rep and source names, reasons) is rich text, never read as markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from leadrouter.sim.metrics import METRIC_KINDS, METRICS
from leadrouter.sim.report.document import Cell, Table
from leadrouter.sim.report.formats import (
    ARROWS_MEAN,
    ASSUMED,
    BOLD_MEANS,
    KEY_METRICS,
    UNITS_MEAN,
    cannot_tell_sentence,
    definitions,
    values_table,
)
from leadrouter.sim.report.sections import (
    NOT_RUN,
    calibration_lines,
    check_table,
    metric_tables,
    verdict_head,
)

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table as RichTable
    from rich.text import Text

    from leadrouter.sim.calibration import Calibration
    from leadrouter.sim.compare import Comparison


_RICH_TONES = {"better": "bold green", "worse": "bold red", "different": "bold", "alert": "red"}
"""A cell's tone on a terminal: bold only for `BOLD_TONES`, as in the report."""


def _rich_cell(cell: Cell) -> Text:
    from rich.text import Text

    text = Text(cell.text, style=_RICH_TONES.get(cell.tone, ""))
    if cell.mark:
        text.append(cell.mark, style="yellow")
    if cell.note:
        text.append("\n" + cell.note, style="dim")
    return text


def _rich_table(block: Table, title: str = "") -> RichTable:
    """A report table as a rich Table: the same header, cells and caption. Data is text, never
    markup."""
    from rich.table import Table as RichTable

    grid = RichTable(
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
            Text(NOT_RUN[1]),
            title="Calibration: NOT RUN",
            title_align="left",
            border_style="yellow",
        )
    tone, head = verdict_head(calibration)
    style = {"pass": "green", "fail": "bold red"}.get(tone, "yellow")
    body = Text("\n".join(f"- {line}" for line in calibration_lines(calibration, tz)))
    if calibration.verdict == "fail":
        body.stylize("red")
    checks = check_table(calibration)
    return Panel(
        Group(body, _rich_table(checks)) if checks is not None else body,
        title=f"Calibration: {head}",
        title_align="left",
        border_style=style,
    )


def comparison_tables(
    comparison: Comparison, metrics: Iterable[str] = KEY_METRICS
) -> list[RichTable]:
    """Two rich tables for a terminal: levels with their 95% intervals, and differences to the
    baseline with their intervals, for `metrics` - labelled, scaled and marked as in the report
    (bold: the interval excludes zero; green better, red worse), with what the columns mean
    under the levels."""
    chosen = [m for m in metrics if m in METRICS]
    compared = [m for m in chosen if METRIC_KINDS.get(m) != "diagnostic"]
    table = values_table(comparison)
    levels, _ = metric_tables(comparison, table, chosen, star=True)
    _, diffs = metric_tables(comparison, table, compared, star=True)
    legend = [
        f"What the columns mean ({ARROWS_MEAN}):",
        *(f"  {line}" for line in definitions(chosen, comparison.sla)),
        "* rests on the rep model too (sales and money); "
        f"{ASSUMED} rests on an assumption for that policy (see the notes below).",
        UNITS_MEAN,
    ]
    cannot_tell = cannot_tell_sentence(comparison)
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
