"""The report's charts as PNG bytes: the differences to the baseline with their intervals, the
load per rep per policy and the speed-to-lead distribution per policy.

matplotlib draws on its own Figure objects (Agg, no pyplot, no global backend), so writing a
report changes nothing in the caller's plotting setup; PNGs carry no software stamp, so the same
comparison draws the same bytes. Names the chart fonts cannot draw (Chinese names without a CJK
font) are labelled by code, with a key in the report's text.
"""

from __future__ import annotations

import functools
import io
import math
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from leadrouter.sim.compare import Comparison
from leadrouter.sim.labels import direction, metric_label
from leadrouter.sim.report.document import Block, Figure, Heading, Para
from leadrouter.sim.report.formats import (
    ASSUMED,
    CHART_METRICS,
    DIFF,
    NOT_IDENTIFIED,
    Values,
    column_scale,
    missing,
    tone,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

    from leadrouter.sim.history import History


def charts_section(
    comparison: Comparison, table: Values, history: History, sla: timedelta
) -> list[Block]:
    """The three charts with their captions, drawn in fonts that can show the names (a key in
    words for the names drawn as codes); `sla` is drawn on the speed chart."""
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
        Heading(2, "Charts", "charts"),
        *([Para(key)] if key else []),
        Figure(
            "chart-differences.png",
            differences,
            f"Differences to {base} with their 95% intervals",
            f"Each panel: every policy's difference to {base} (dot) with its 95% interval "
            "(line); an interval that does not cross the dashed zero line is a "
            "difference the model's randomness cannot explain. Green: better, red: worse, "
            f"grey: no clear difference, or a difference that rests on an assumption ({ASSUMED} "
            "after a policy's name: assumption-driven for that metric, never green or red, "
            "however far from zero).",
        ),
        Figure(
            "chart-load.png", load, "Leads received per rep, per policy", load_caption(len(reps))
        ),
        Figure(
            "chart-speed.png",
            speed,
            "Speed to lead per policy",
            "Share of all leads first touched within x minutes of arrival (log scale), pooled "
            f"over seeds; the dashed line is the SLA ({sla.total_seconds() / 60:g} min). A "
            "curve that ends below 100% leaves leads never touched.",
        ),
    ]


def _figure(width: float, height: float) -> MplFigure:
    from matplotlib.figure import Figure as MplFigure

    return MplFigure(figsize=(width, height), dpi=100, layout="constrained")


def _png(figure: MplFigure) -> bytes:
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


_CJK_FILES = ("wqy", "notosanscjk", "notoserifcjk", "sourcehan", "msyh", "simhei", "pingfang")
"""Parts of the file names of the CJK fonts above, lower case, without separators."""


@functools.cache
def _font_files() -> tuple[tuple[str, str], ...]:
    """(family, file) of matplotlib's default font and of every installed CJK family.

    matplotlib lists the fonts it found when it first ran, in a cache it does not refresh: a
    CJK font installed since is missing from it, and Chinese names were drawn as codes on a
    machine that has the font. When the list has no CJK family, the system's font files are
    looked through for one and added."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    if not any(entry.name in _CJK_FAMILIES for entry in manager.ttflist):
        for path in font_manager.findSystemFonts():
            name = re.sub(r"[\W_]", "", Path(path).name.lower())
            if any(part in name for part in _CJK_FILES):
                try:
                    manager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue  # a font file matplotlib cannot read: the others may do
    found: list[tuple[str, str]] = [("DejaVu Sans", str(font_manager.findfont("DejaVu Sans")))]
    for entry in manager.ttflist:
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


_TONE_COLOURS = {"better": "#1a7f37", "worse": "#cf222e", "different": "#0969da", "": "#6e7781"}


def _chart_differences(comparison: Comparison, table: Values, names: Mapping[str, str]) -> bytes:
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
            assumed = metric in comparison.assumption_driven.get(name, {})
            colour = _TONE_COLOURS[
                tone(metric, row[f"{metric}_diff_lo"], row[f"{metric}_diff_hi"], assumed)
            ]
            if not missing(lo) and not missing(hi):
                axis.plot([lo, hi], [y, y], color=colour, linewidth=2.2, solid_capstyle="butt")
            if not missing(mean):
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
            labels.append(names[name] + (ASSUMED if assumed else ""))
        axis.axvline(0.0, color="#444", linestyle="--", linewidth=0.9)
        axis.set_yticks(range(len(labels)), labels, fontsize=8)
        axis.set_ylim(-0.7, max(len(labels), 1) - 0.3)
        axis.set_title(f"{spec.label}{unit}", fontsize=10, loc="left")
        axis.set_xlabel(f"difference to {names[comparison.baseline]}{arrow}", fontsize=8)
        axis.tick_params(axis="x", labelsize=8)
        if spec.kind == "money":
            ticks = column_scale(table, metric, DIFF)
            axis.xaxis.set_major_formatter(
                _formatter(lambda v, t=ticks: f"{v / t.divisor:,g}{t.suffix}")
            )
        axis.grid(axis="x", color="#ddd", linewidth=0.6)
    return _png(figure)


HEAT_MAP_REPS = 40
"""Up to this many reps the load chart is a heat map (one cell per rep and policy, each
readable); beyond, each policy's reps sorted from most to fewest leads, one line a policy."""

_WIDE_REPS = 12
"""Up to this many reps the heat map runs reps across; beyond, down the page, so the chart keeps
the page's width and its labels stay readable (34 reps across were drawn 2,200 px wide)."""


def load_caption(reps: int) -> str:
    """The load chart's caption for a team of `reps` reps (its form depends on the size)."""
    receipts = (
        "A lead taken back and given to another rep counts for each rep who got it, so a "
        "policy that re-routes shows more receipts than leads."
    )
    if reps > HEAT_MAP_REPS:
        return (
            f"Leads each rep received (assigned or claimed), mean per seed, with each policy's "
            f"{reps} reps sorted from most to fewest: a flat line spreads the load evenly, a "
            f"steep one concentrates it on a few reps. {receipts}"
        )
    return (
        "Leads each rep received (assigned or claimed), mean per seed: how evenly each "
        f"policy spreads the load. {receipts}"
    )


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
    if len(reps) > HEAT_MAP_REPS:
        return _load_profile(values, [names[p] for p in policies])
    across = len(reps) <= _WIDE_REPS
    shown = values if across else values.T
    rows, columns = ([names[p] for p in policies], [names[r] for r in reps])
    if not across:
        rows, columns = columns, rows
    figure = _figure(
        max(6.0, 0.55 * len(columns) + 3.0), max(3.2, (0.42 if across else 0.26) * len(rows) + 1.3)
    )
    axis = figure.subplots()
    image = axis.imshow(shown, aspect="auto", cmap="Blues", vmin=0.0)
    if across:
        axis.set_xticks(range(len(columns)), columns, rotation=45, ha="right", fontsize=8)
    else:  # the policies as a header above a tall chart
        axis.xaxis.tick_top()
        axis.set_xticks(range(len(columns)), columns, fontsize=8)
    axis.set_yticks(range(len(rows)), rows, fontsize=8)
    top = float(shown.max()) if shown.size else 0.0
    for (i, j), value in np.ndenumerate(shown):
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


def _load_profile(values: np.ndarray[Any, Any], policies: list[str]) -> bytes:
    """Each policy's leads per rep, sorted from most to fewest, one line a policy: a team too
    large for one readable cell per rep."""
    figure = _figure(8.0, 4.6)
    axis = figure.subplots()
    ranks = np.arange(1, values.shape[1] + 1)
    for colour, label, row in zip(_palette(len(policies)), policies, values, strict=True):
        axis.plot(ranks, np.sort(row)[::-1], color=colour, linewidth=1.4, label=label)
    axis.set_xlim(1, max(values.shape[1], 2))
    axis.set_ylim(bottom=0.0)
    axis.set_xlabel("reps, from most to fewest leads", fontsize=9)
    axis.set_ylabel("leads per seed", fontsize=9)
    axis.tick_params(labelsize=8)
    axis.grid(color="#e5e5e5", linewidth=0.6)
    axis.legend(fontsize=8, loc="upper right", frameon=False)
    axis.set_title("Leads received per rep, sorted", fontsize=10, loc="left")
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
