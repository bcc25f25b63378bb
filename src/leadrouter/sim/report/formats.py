"""How the report writes numbers and words, shared by its sections, its charts and the terminal.

The numbers themselves - a metric's level, difference and interval (`fmt_level`, `fmt_diff`,
`fmt_range`) on one scale per interval (`Scale`, `scale_for`), and its `tone` - are written by
`leadrouter.sim.formats`, below every result that shows itself, and re-exported here. This module
adds what only the report and the terminal say: one scale per table column (`column_scale`), so
"-236k to +7k", never "-236k to +7,313"; what bold means - better / worse / different, the only
things shown in bold (`BOLD_MEANS`, `BOLD_TONES`); the column headers and the metrics'
definitions; and the sentence the report and the terminal both say when the export cannot tell
the policies apart (`cannot_tell_sentence`), written here once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from leadrouter._util import format_duration
from leadrouter.sim.compare import CANNOT_TELL
from leadrouter.sim.formats import (
    ASSUMED,
    KEY_METRICS,
    NOT_IDENTIFIED,
    Scale,
    Values,
    as_text,
    caveats,
    fmt_diff,
    fmt_level,
    fmt_range,
    missing,
    scale_for,
    tone,
    values_table,
)
from leadrouter.sim.labels import ARROWS, better, direction, metric_label

if TYPE_CHECKING:
    from leadrouter.sim.compare import Comparison

__all__ = [
    "ARROWS_MEAN",
    "ASSUMED",
    "BOLD_MEANS",
    "BOLD_TONES",
    "CHART_METRICS",
    "DIFF",
    "KEY_METRICS",
    "LEVEL",
    "NOT_IDENTIFIED",
    "UNITS_MEAN",
    "Scale",
    "Values",
    "as_text",
    "cannot_tell_sentence",
    "caveats",
    "column_header",
    "column_scale",
    "definitions",
    "fmt_diff",
    "fmt_level",
    "fmt_range",
    "missing",
    "scale_for",
    "tone",
    "values_table",
]

CHART_METRICS = tuple(metric for metric in KEY_METRICS if metric != "extrapolated_share")
"""The metrics of the differences chart (one panel each): the outcomes of the terminal table."""


def cannot_tell_sentence(comparison: Comparison) -> str:
    """The plain sentence when the export cannot tell the policies apart on sales, else ""."""
    if not any(comparison.not_identified.values()):
        return ""
    why = sorted({v for row in comparison.not_identified.values() for v in row.values()})
    return f"{CANNOT_TELL[0].upper()}{CANNOT_TELL[1:]}: {'; '.join(why)}."


def column_header(metric: str) -> str:
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


BOLD_TONES = ("better", "worse", "different")
"""The tones shown in bold (`BOLD_MEANS`): a difference whose interval excludes zero."""


ARROWS_MEAN = "↑ higher is better, ↓ lower is better"
UNITS_MEAN = (
    "Rates are in %, their differences in points (percentage points: 6.0% against 5.5% is "
    "+0.5 points); money in the export's currency (k = thousand, M = million), one scale per "
    "column."
)


SLA_METRICS = frozenset({"coverage", "sla_breaches"})
"""The metrics counted against the response-time target (`compare(sla=)`)."""


def meaning(metric: str, sla: timedelta) -> str:
    """A metric's definition, with the target's length where the metric counts against it."""
    said = metric_label(metric).meaning
    return (
        said.replace("(SLA)", f"(SLA: {format_duration(sla)})") if metric in SLA_METRICS else said
    )


def definitions(metrics: Iterable[str], sla: timedelta) -> list[str]:
    """One line per metric: its label, its definition and its better direction."""
    return [
        f"{metric_label(m).label}: {meaning(m, sla)}"
        + (f" ({direction(m)})" if direction(m) else "")
        for m in metrics
    ]


LEVEL = ("", "_lo", "_hi")
DIFF = ("_diff", "_diff_lo", "_diff_hi")


def column_scale(table: Values, metric: str, parts: Sequence[str]) -> Scale:
    """One scale for a table column: every policy's `metric` value and interval ends (`parts`:
    `LEVEL` or `DIFF`), so the column reads in one unit."""
    return scale_for(metric, (row.get(f"{metric}{part}", math.nan) for row in table.values()
                           for part in parts))  # fmt: skip
