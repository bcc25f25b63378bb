"""How the simulator writes its numbers: a metric's level, difference and interval, and its tone.

A metric's level, difference and interval (`fmt_level`, `fmt_diff`, `fmt_range`) are written on
one scale per interval (`Scale`, `scale_for`), so "-236k to +7k", never "-236k to +7,313"; `tone`
says better / worse / different. Metrics are named by their plain labels and definitions
(`leadrouter.sim.labels`), never by their code names.

This module sits below every result that shows itself: `Calibration` and `Comparison` in a
notebook, the policy checks of `leadrouter.sim.preflight` and the report
(`leadrouter.sim.report`, whose `formats` re-exports these names beside the report's own words)
all write a number here, so a figure reads the same wherever it is shown, and no result reaches up
into the report to be written.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

from leadrouter.sim.labels import better, metric_label, plain

if TYPE_CHECKING:
    from leadrouter.sim.compare import Comparison

__all__ = [
    "ASSUMED",
    "KEY_METRICS",
    "NOT_IDENTIFIED",
    "Scale",
    "Values",
    "as_text",
    "caveats",
    "fmt_diff",
    "fmt_level",
    "fmt_range",
    "missing",
    "scale_for",
    "tone",
    "values_table",
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
"""The metrics of the terminal table and of a comparison in a notebook (the report shows every
metric in `METRICS`)."""

ASSUMED = "†"
"""The mark beside a value that rests on an assumption rather than on the history."""

NOT_IDENTIFIED = "not identifiable"
"""The text of a difference the export cannot identify (NaN in `Comparison.table()`, listed in
`Comparison.not_identified`)."""


def missing(value: Any) -> bool:
    """True for an unknown value: None or NaN (shown as "-" or left blank, never as "nan")."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def as_text(value: Any) -> str:
    """A value taken from the data as cell text: "" when `missing`, else `str(value)`."""
    return "" if missing(value) else str(value)


@attrs.frozen
class Scale:
    """How the numbers of one interval or one table column are written: divided by `divisor`,
    with `decimals` and the `suffix` (k, M) - one scale for all of them, so "-236k to +7k",
    never "-236k to +7,313"."""

    divisor: float
    decimals: int
    suffix: str = ""


def scale_for(metric: str, values: Iterable[float]) -> Scale:
    """The one scale for `values` of `metric`: percents as percent, money by its largest
    magnitude (plain below 10,000, then thousands - one decimal below 100k - then millions),
    minutes and counts whole."""
    kind = metric_label(metric).kind
    if kind in ("percent", "percent0"):
        return Scale(0.01, 1 if kind == "percent" else 0)
    if kind == "money":
        size = max((abs(v) for v in values if not missing(v)), default=0.0)
        if round(size / 1e3) >= 1000:
            return Scale(1e6, 2, "M")
        if round(size) >= 10_000:
            return Scale(1e3, 0 if round(size / 1e3) >= 100 else 1, "k")
        return Scale(1.0, 0)
    return Scale(1.0, 0) if kind in ("minutes", "count") else Scale(1.0, 3)


def _number(metric: str, value: float, signed: bool = False, scale: Scale | None = None) -> str:
    """The bare number of a metric's value (no unit) on `scale` (by default the value's own):
    percents as percent (points), money compact (12k, 1.25M), minutes and counts whole. An
    unsigned value that rounds to zero is written without a minus sign; a signed one (a
    difference, an interval's end) keeps its own sign, so an interval from -0.002 to +1.27
    points reads "-0.0 to +1.3", which spans 0 as it does, not "+0.0 to +1.3"."""
    scale = scale or scale_for(metric, (value,))
    shown = round(value / scale.divisor, scale.decimals) or 0.0
    if signed and shown == 0.0 and value < 0.0:
        shown = -0.0
    return f"{shown:{'+' if signed else ''},.{scale.decimals}f}{scale.suffix}"


def _unit(metric: str, diff: bool) -> str:
    kind = metric_label(metric).kind
    if kind in ("percent", "percent0"):
        return " points" if diff else "%"
    return " min" if kind == "minutes" else ""


def fmt_level(metric: str, value: float, scale: Scale | None = None) -> str:
    """A metric's value as a reader wants it (12.3%, 45.6k, 17 min ...); "-" when unknown.
    `scale`: the column's, so every number of a column has the same suffix."""
    if missing(value):
        return "-"
    return _number(metric, value, scale=scale) + _unit(metric, diff=False)


def fmt_diff(metric: str, value: float, scale: Scale | None = None) -> str:
    """A difference to the baseline, signed, in the metric's unit (points - percentage points
    - for rates); "-" when unknown."""
    if missing(value):
        return "-"
    return _number(metric, value, signed=True, scale=scale) + _unit(metric, diff=True)


def fmt_range(
    metric: str,
    lo: float,
    hi: float,
    diff: bool = False,
    scale: Scale | None = None,
    unit: bool = True,
) -> str:
    """An interval, its unit once and both ends on one scale: "3.1-4.5%", "-1.4 to +0.2
    points", "-236k to +7k"; "-" when unknown. `scale` defaults to the one both ends fit;
    `unit=False` leaves the unit out (under a value that carries it, in a table cell)."""
    if missing(lo) or missing(hi):
        return "-"
    scale = scale or scale_for(metric, (lo, hi))
    low, high = _number(metric, lo, diff, scale), _number(metric, hi, diff, scale)
    between = " to " if diff or lo < 0 else "–"
    return f"{low}{between}{high}{_unit(metric, diff) if unit else ''}"


def tone(metric: str, lo: float, hi: float, assumed: bool = False) -> str:
    """`better`, `worse`, `different` (the interval excludes 0 for a name with no better
    direction) or "" (the interval straddles 0: no difference the model's randomness cannot
    explain). Every tone but "" is shown in bold, and only they are.

    A difference that rests on an assumption the history cannot check (`assumed`: the metric is
    assumption-driven for the policy, marked `ASSUMED`) is never called better or worse: its
    interval measures the simulation under that assumption, not how far the assumption and
    what the model can only guess around it are from the team (the demo's grab policy read
    "better" on revenue, and was worse under the process that generated the history)."""
    if assumed or missing(lo) or missing(hi) or lo <= 0.0 <= hi:
        return ""
    way = better(metric)
    if way == 0:
        return "different"
    return "better" if (lo > 0) == (way > 0) else "worse"


def caveats(comparison: Comparison) -> list[str]:
    """`Comparison.caveats()` in plain words (`leadrouter.sim.labels.plain`): what a replicate
    is, what the intervals exclude, which results rest on assumptions - for a notebook, the
    terminal and the report alike."""
    return [plain(line) for line in comparison.caveats()]


Values: TypeAlias = Mapping[str, Mapping[str, float]]
"""`Comparison.table()` as plain floats: {policy: {column: value}}."""


def values_table(comparison: Comparison) -> dict[str, dict[str, float]]:
    """`Comparison.table()` as plain floats, {policy: {column: value}}: what the report's
    sections, its charts, the terminal and `leadrouter.sim.preflight` read, so none depends on
    pandas types."""
    table = comparison.table()
    return {
        str(name): {str(column): float(value) for column, value in row.items()}
        for name, row in table.to_dict(orient="index").items()
    }
