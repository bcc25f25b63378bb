"""The comparison report: files written whole, HTML self-contained and escaped, the calibration
verdict before the data and any comparison, every section numbered, Markdown charts that exist,
a terminal table that reads data as text - and, in both, plain words: one label and definition
per metric, its better direction, one scale per interval and column, bold for one thing only,
time zones as UTC offsets."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import attrs
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter.errors import ConfigError
from leadrouter.sim import (
    Calibration,
    Comparison,
    History,
    Source,
    calibrate,
    compare,
    fit_behaviour,
    load_export,
    synthetic,
)
from leadrouter.sim.labels import METRIC_LABELS, better, plain, zone_label
from leadrouter.sim.metrics import LOWER_IS_BETTER, METRICS
from leadrouter.sim.report import (
    BOLD_MEANS,
    ReportPaths,
    calibration_panel,
    caveats,
    comparison_tables,
    fmt_diff,
    fmt_level,
    fmt_range,
    tone,
    write_report,
)

EVIL_POLICY = "<script>alert('policy')</script>"
EVIL_SOURCE = "<img src=x onerror=alert(1)>&ads"


@pytest.fixture(scope="module")
def history() -> History:
    sources = [
        Source(EVIL_SOURCE, share=0.5, cost=120.0, valid_rate=0.4),
        Source("search", share=0.5, cost=80.0, valid_rate=0.5),
    ]
    return synthetic(n_leads=360, n_reps=4, days=10, seed=3, sources=sources)


@pytest.fixture(scope="module")
def behaviour(history: History) -> Any:
    return fit_behaviour(history)


def _dump(reps: list[lr.Rep], seed: int) -> lr.Router:
    """Every lead to the first rep: a push policy clearly slower than rotation, so some
    difference is bold; the grab policy's never are (they rest on how reps would claim)."""
    first = reps[0].id
    return lr.Router(lambda ctx: first, reps, seed=seed)


@pytest.fixture(scope="module")
def comparison(history: History, behaviour: Any) -> Comparison:
    result = compare(
        history,
        {"rotation": lr.EqualRotation(), EVIL_POLICY: lr.GrabWithCaps(daily=60), "dump": _dump},
        seeds=4,
        behaviour=behaviour,
        calibrate=False,
    )
    return attrs.evolve(result, calibration=calibrate(history, behaviour, seeds=2, warn=False))


@pytest.fixture(scope="module")
def report(
    tmp_path_factory: pytest.TempPathFactory,
    comparison: Comparison,
    history: History,
    behaviour: Any,
) -> ReportPaths:
    out = tmp_path_factory.mktemp("report") / "nested" / "dir"
    return write_report(
        comparison, history, behaviour, out, title="Test <report>", notes={"rotation": "a & b"}
    )


class _Refs(HTMLParser):
    """Every tag, every src / href and the text an HTML page holds."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[tuple[str, str, str]] = []
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action") and value is not None:
                self.refs.append((tag, name, value))


def _parse(text: str) -> _Refs:
    parser = _Refs()
    parser.feed(text)
    parser.close()
    return parser


# --------------------------------------------------------------------------- the files


def test_writes_html_markdown_and_charts_into_a_new_directory(report: ReportPaths) -> None:
    assert report.html.name == "report.html" and report.html.is_file()
    assert report.markdown.name == "report.md" and report.markdown.is_file()
    assert report.markdown.parent == report.html.parent
    assert len(report.charts) == 3
    for chart in report.charts:
        assert chart.parent == report.html.parent
        assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    leftovers = [p.name for p in report.html.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_html_is_self_contained(report: ReportPaths) -> None:
    text = report.html.read_text(encoding="utf-8")
    page = _parse(text)
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    images = [value for tag, name, value in page.refs if tag == "img"]
    assert len(images) == 3
    assert all(value.startswith("data:image/png;base64,") for value in images)
    external = [ref for ref in page.refs if not ref[2].startswith(("data:", "#"))]
    assert external == []
    assert "<style>" in text
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text)


def test_calibration_verdict_comes_before_the_comparison(report: ReportPaths) -> None:
    html = report.html.read_text(encoding="utf-8")
    verdict = re.search(r'class="box (pass|fail|warn)"', html)
    assert verdict is not None
    assert html.index('id="calibration"') < verdict.start() < html.index('id="data"')
    assert html.index('id="data"') < html.index('id="comparison"')
    markdown = report.markdown.read_text(encoding="utf-8")
    assert markdown.index("Calibration (read this first)") < markdown.index(". The data\n")
    assert markdown.index(". The data\n") < markdown.index(". The comparison\n")
    assert markdown.index("The comparison") < markdown.index("| policy |")


def test_sections_come_in_the_documented_order(report: ReportPaths) -> None:
    html = report.html.read_text(encoding="utf-8")
    sections = (
        "calibration",
        "data",
        "comparison",
        "caveats",
        "charts",
        "behaviour",
        "sources",
        "anomalies",
        "reading",
    )
    anchors = re.findall(r'<h2 id="([a-z-]+)"', html)
    # a section inserted by another feature (a summary on top) does not change this order
    assert [anchor for anchor in anchors if anchor in sections] == list(sections)
    assert "Assigned.propensity" in html and "A/B test" in html


def test_text_from_the_data_is_escaped(report: ReportPaths) -> None:
    html = report.html.read_text(encoding="utf-8")
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;policy&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;&amp;ads" in html
    assert "<title>Test &lt;report&gt;</title>" in html
    assert "a &amp; b" in html
    markdown = report.markdown.read_text(encoding="utf-8")
    assert "<script>" not in markdown and "<img" not in markdown
    assert "&lt;script&gt;" in markdown


def test_markdown_references_the_charts_beside_it(report: ReportPaths) -> None:
    markdown = report.markdown.read_text(encoding="utf-8")
    targets = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert len(targets) == 3
    for target in targets:
        assert not target.startswith(("/", "http:", "https:", "data:"))
        assert (report.markdown.parent / target).is_file()


def test_every_metric_and_the_assumption_mark_are_shown(
    report: ReportPaths, comparison: Comparison
) -> None:
    html = report.html.read_text(encoding="utf-8")
    assert "Mechanical metrics" in html and "Model-driven metrics" in html
    assert "Overlap diagnostic" in html and "unseen pairs" in html
    # the pull policy's results rest on the claim assumption, the push baseline's do not
    assert comparison.assumption_driven[EVIL_POLICY]
    assert '<span class="mark">†</span>' in html
    for line in caveats(comparison):
        assert escape(line) in html


def test_source_table_and_behaviour_model_are_in_the_report(report: ReportPaths) -> None:
    markdown = report.markdown.read_text(encoding="utf-8")
    assert "Lead sources" in markdown and "search" in markdown and "total" in markdown
    assert "The behaviour model is the simulator's picture of this team" in markdown
    assert "capacity, first touches per working day" in markdown
    assert "Anomalies" in markdown


def test_a_failed_calibration_is_a_loud_box_first(
    tmp_path: Path, comparison: Comparison, history: History, behaviour: Any
) -> None:
    failed = Calibration(
        "fail",
        ("held out: conversion_rate observed 9.00% is outside the model's interval",),
        pd.DataFrame(columns=["split", "metric", "observed", "predicted", "lo", "hi"]),
    )
    paths = write_report(
        attrs.evolve(comparison, calibration=failed), history, behaviour, tmp_path, anomalies=False
    )
    html = paths.html.read_text(encoding="utf-8")
    box = html.index('class="box fail"')
    assert box < html.index('id="comparison"')
    assert "do not trust the what-ifs" in html[box : html.index('id="comparison"')]
    assert "❌ FAIL" in paths.markdown.read_text(encoding="utf-8")


def test_no_calibration_is_a_warning(
    tmp_path: Path, comparison: Comparison, history: History
) -> None:
    paths = write_report(
        attrs.evolve(comparison, calibration=None), history, None, tmp_path, anomalies=False
    )
    html = paths.html.read_text(encoding="utf-8")
    assert html.index('class="box warn"') < html.index('id="comparison"')
    assert "Calibration was not run" in html
    assert "truth" in html  # no model given: the synthetic truth was used


def test_refuses_an_out_dir_that_is_a_file(
    tmp_path: Path, comparison: Comparison, history: History
) -> None:
    target = tmp_path / "report"
    target.write_text("not a directory")
    with pytest.raises(ConfigError, match="not a directory"):
        write_report(comparison, history, None, target)
    assert target.read_text() == "not a directory"


# --------------------------------------------------------------------------- the terminal


def test_terminal_tables_show_levels_intervals_and_differences(comparison: Comparison) -> None:
    from rich.console import Console

    console = Console(record=True, width=220, color_system=None)
    console.print(calibration_panel(comparison.calibration))
    for table in comparison_tables(comparison):
        console.print(table)
    text = console.export_text()
    assert text.index("Calibration") < text.index("Levels")
    assert text.index("Levels") < text.index("Difference to rotation")
    assert EVIL_POLICY in text  # shown as text, not read as markup
    assert "baseline" in text and "conversion" in text and "speed" in text
    assert "unseen pairs" in text and "†" in text
    assert re.search(r"\d+\.\d%\s*│", text)  # a level
    assert re.search(r"[+-]\d+\.\d points", text)  # a difference of rates
    assert re.search(r"[+-]\d+\.\d to [+-]\d+\.\d\s*│", text)  # its interval, same unit


def test_terminal_table_reads_markup_in_names_as_text(history: History, behaviour: Any) -> None:
    from rich.console import Console

    result = compare(
        history,
        {"[bold red]x[/]": lr.EqualRotation(), "y": lr.EqualRotation()},
        seeds=2,
        behaviour=behaviour,
        calibrate=False,
    )
    console = Console(record=True, width=200, color_system=None)
    for table in comparison_tables(result):
        console.print(table)
    assert "[bold red]x[/]" in console.export_text()


def test_calibration_panel_without_a_verdict() -> None:
    from rich.console import Console

    console = Console(record=True, width=100, color_system=None)
    console.print(calibration_panel(None))
    assert "NOT RUN" in console.export_text()


# --------------------------------------------------------------------------- formats


def test_formats_read_as_people_write_them() -> None:
    assert fmt_level("conversion_rate", 0.0634) == "6.3%"
    assert fmt_diff("conversion_rate", -0.003) == "-0.3 points"
    assert fmt_level("revenue", 2_412_345.0) == "2.41M"
    assert fmt_level("revenue", 56_478.0) == "56.5k"
    assert fmt_level("revenue", 256_478.0) == "256k"
    assert fmt_level("cost_per_sale", 3012.4) == "3,012"
    assert fmt_level("speed_to_lead_median", 209.4) == "209 min"
    assert fmt_range("coverage", 0.117, 0.174) == "11.7\u201317.4%"
    assert fmt_range("conversion_rate", -0.014, 0.001, diff=True) == "-1.4 to +0.1 points"
    assert fmt_range("revenue", -236_000.0, 7_313.0, diff=True) == "-236k to +7k"
    assert fmt_range("cost_per_sale", 0.0, 28_311.0) == "0.0k\u201328.3k"
    # a difference keeps its sign when it rounds to zero: "-0.0 to +1.3" spans 0, as it does
    assert fmt_diff("conversion_rate", -0.00001) == "-0.0 points"
    assert fmt_range("conversion_rate", -0.00002, 0.0127, diff=True) == "-0.0 to +1.3 points"
    assert fmt_level("gini", math.nan) == "-"
    assert fmt_range("gini", math.nan, 0.2) == "-"


def test_tone_follows_the_better_direction() -> None:
    assert tone("conversion_rate", 0.001, 0.02) == "better"
    assert tone("conversion_rate", -0.02, -0.001) == "worse"
    assert tone("speed_to_lead_median", -30.0, -5.0) == "better"
    assert tone("wasted", 0.01, 0.02) == "worse"
    assert tone("gini", 0.01, 0.02) == "worse"  # lower is better (LOWER_IS_BETTER)
    assert tone("sla_breaches", -9.0, -1.0) == "better"
    assert tone("reassignments", 1.0, 3.0) == "worse"
    assert tone("not_a_metric", 0.01, 0.02) == "different"
    assert tone("conversion_rate", -0.01, 0.01) == ""
    assert tone("conversion_rate", math.nan, math.nan) == ""


def test_names_the_chart_fonts_cannot_draw_are_labelled_by_code() -> None:
    from leadrouter.sim.report.charts import _chart_names, _drawable

    names, key = _chart_names(["rotation"], ["rep01", "张伟"])
    assert names["rotation"] == "rotation" and names["rep01"] == "rep01"
    if _drawable("张"):
        assert names["张伟"] == "张伟" and key == ""
    else:
        assert names["张伟"] == "R2"
        assert "R2 = 张伟" in key


def test_the_sensitivity_section_names_the_leader_in_every_scenario() -> None:
    import pandas as pd

    from leadrouter.sim.compare import SENSITIVITY_COLUMNS
    from leadrouter.sim.report import render_markdown, sensitivity_line
    from leadrouter.sim.report.analysis_sections import sensitivity_section

    rows = []
    for scenario in ("as modelled", "no rep effects"):
        for rank, name in enumerate(("rotation", "grab"), start=1):
            rows.append((scenario, name, 0.05, -0.01 * (rank - 1), -0.02, 0.0, rank))
    frame = pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))
    frame.attrs.update(metric="conversion_rate", seeds=3)
    text = render_markdown(sensitivity_section(frame))
    assert "rotation ranks first by conversion in every scenario" in text
    assert "no cell is bold" in text and "**" not in text
    assert "| grab | #2" in text.replace("\\#", "#")
    flipped = frame.copy()
    flipped.loc[(flipped["scenario"] == "no rep effects"), "rank"] = [2, 1]
    flipped.attrs.update(frame.attrs)
    assert "changes when the assumptions move" in sensitivity_line(flipped)
    assert "no rep effects: grab" in sensitivity_line(flipped)
    tied = frame.copy()
    tied["rank"] = 1
    tied.attrs.update(frame.attrs, assumed="grab")
    line = sensitivity_line(tied)
    assert "grab and rotation share rank 1 by conversion in every scenario" in line
    assert "grab rests on an assumption no scenario moves" in line


# --------------------------------------------------------------------------- plain words


JARGON = (
    re.compile(r"\bpp\b"),
    re.compile(r"gini", re.IGNORECASE),
    re.compile(r"extrap\."),
    re.compile(r"bayesian|bootstrap", re.IGNORECASE),
    re.compile(r"parameter draw"),
    re.compile(r"t-interval|misspecification|predictive interval"),
    re.compile(r"Etc/GMT"),
    re.compile(r"conversion_rate\["),
    *(re.compile(rf"\b{name}\b") for name in METRICS if "_" in name),
    re.compile(r"\b(contact_rate|revenue_per_lead|conversion_by_product)\b"),
)
"""What a new user should never meet: statisticians' words and the metrics' code names."""


def _jargon(text: str) -> list[str]:
    return [found.group(0) for pattern in JARGON for found in pattern.finditer(text)]


def _terminal(comparison: Comparison) -> str:
    """What `leadrouter compare` prints for a comparison: the verdict, the tables, the caveats."""
    from rich.console import Console

    console = Console(record=True, width=160, color_system=None)
    console.print(calibration_panel(comparison.calibration))
    for table in comparison_tables(comparison):
        console.print(table)
    for line in caveats(comparison):
        console.print(f"  - {line}", markup=False)
    return console.export_text()


def test_no_jargon_on_the_terminal_or_in_the_report(
    report: ReportPaths, comparison: Comparison
) -> None:
    terminal = _terminal(comparison)
    assert _jargon(terminal) == []
    markdown = report.markdown.read_text(encoding="utf-8").replace("\\", "")
    assert _jargon(markdown) == []
    page = _parse(report.html.read_text(encoding="utf-8"))
    assert _jargon(" ".join(page.text)) == []


def test_every_metric_is_defined_once_with_its_better_direction(
    report: ReportPaths, comparison: Comparison
) -> None:
    markdown = report.markdown.read_text(encoding="utf-8")
    for metric in METRICS:
        label = METRIC_LABELS[metric]
        # one definition, in the table of what the columns mean, before the first level (the
        # SLA's length is said where a metric counts against it)
        said = label.meaning.replace("(SLA)", "(SLA: 1h)")
        assert markdown.count(said) == 1, metric
        assert markdown.index(said) < markdown.index("Levels: average")
        arrow = "\u2193" if metric in LOWER_IS_BETTER else "\u2191"
        assert f"| {label.label} {arrow} |" in markdown.replace("\\", "")
    legend = markdown[markdown.index("What the columns mean") :]
    assert "\u2191 higher is better, \u2193 lower is better" in legend
    assert BOLD_MEANS.replace("-", "\\-") in legend or BOLD_MEANS in legend
    terminal = _terminal(comparison)
    assert "What the columns mean" in terminal and "lower is better" in terminal
    assert "Bold marks a difference whose 95% interval excludes zero" in terminal
    assert "| SLA breaches \u2193 |" in markdown and "| reassignments \u2193 |" in markdown


def test_every_heading_is_numbered_in_order(
    tmp_path: Path, comparison: Comparison, history: History, behaviour: Any
) -> None:
    from leadrouter.sim.compare import SENSITIVITY_COLUMNS

    rows = [
        (scenario, name, 0.05, 0.0, -0.01, 0.01, 1)
        for scenario in ("as modelled", "no rep effects")
        for name in comparison.policies
    ]
    moved = pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))
    moved.attrs.update(metric="conversion_rate", seeds=2)
    paths = write_report(
        comparison, history, behaviour, tmp_path, anomalies=False, sensitivity=moved
    )
    markdown = paths.markdown.read_text(encoding="utf-8")
    headings = re.findall(r"^(#{2,3}) (.*)$", markdown, re.MULTILINE)
    sections = [text for level, text in headings if level == "##"]
    assert any("hinge on an assumption" in text for text in sections)  # once unnumbered
    assert [text.split(". ", 1)[0] for text in sections] == [
        str(n) for n in range(1, len(sections) + 1)
    ]
    section = "0"
    for level, text in headings:
        if level == "##":
            section = text.split(".", 1)[0]
        else:
            assert re.match(rf"{section}\.\d+ ", text), text
    html = paths.html.read_text(encoding="utf-8")
    assert all(re.match(r"\d+\. ", text) for text in re.findall(r"<h2[^>]*>([^<]*)</h2>", html))


_AMOUNT = r"([+-]?[\d,]+(?:\.\d+)?)([kM]?)"
_ENDS = re.compile(rf"^{_AMOUNT}(?: to |\u2013){_AMOUNT}$")


def _ends(text: str, metric: str, diff: bool) -> tuple[tuple[float, str], tuple[float, str]]:
    """The two ends of a formatted interval: (value in the metric's units, suffix) each."""
    for unit in (" points", "%", " min"):
        text = text.removesuffix(unit)
    found = _ENDS.match(text)
    assert found is not None, text
    size = {"": 1.0, "k": 1e3, "M": 1e6}
    percent = METRIC_LABELS[metric].kind in ("percent", "percent0")
    ends = []
    for number, suffix in (found.group(1, 2), found.group(3, 4)):
        value = float(number.replace(",", "")) * size[suffix]
        ends.append((value / 100 if percent else value, suffix))
    return ends[0], ends[1]


@given(
    metric=st.sampled_from(METRICS),
    ends=st.tuples(
        st.floats(-5e8, 5e8, allow_nan=False), st.floats(-5e8, 5e8, allow_nan=False)
    ).map(sorted),
    diff=st.booleans(),
)
def test_both_ends_of_an_interval_share_one_scale(
    metric: str, ends: list[float], diff: bool
) -> None:
    lo, hi = ends
    text = fmt_range(metric, lo, hi, diff=diff)
    (low, low_suffix), (high, high_suffix) = _ends(text, metric, diff)
    assert low_suffix == high_suffix, text
    # and each end is its value, rounded on that one scale
    step = {"": 1.0, "k": 1e3, "M": 1e6}[low_suffix] * (
        0.01 if METRIC_LABELS[metric].kind in ("percent", "percent0") else 1.0
    )
    assert abs(low - lo) <= step and abs(high - hi) <= step, text


def test_a_table_column_shares_one_scale(comparison: Comparison) -> None:
    from leadrouter.sim.report.sections import metric_tables

    names = list(comparison.policies)
    values = {"cost_per_sale": 3_012.0, "cost_per_sale_lo": 900.0, "cost_per_sale_hi": 5_000.0}
    table = {
        names[0]: {
            **values,
            **{f"cost_per_sale{p}": 0.0 for p in ("_diff", "_diff_lo", "_diff_hi")},
        },
        names[1]: {
            "cost_per_sale": 56_478.0,
            "cost_per_sale_lo": 20_000.0,
            "cost_per_sale_hi": 99_000.0,
            "cost_per_sale_diff": 53_466.0,
            "cost_per_sale_diff_lo": -236_000.0,
            "cost_per_sale_diff_hi": 7_313.0,
        },
    }
    two = attrs.evolve(comparison, policies=tuple(names[:2]))
    levels, diffs = metric_tables(two, table, ["cost_per_sale"])
    level_cells = [row[1] for row in levels.rows]
    assert [cell.text for cell in level_cells] == ["3.0k", "56.5k"]
    assert [cell.note for cell in level_cells] == ["0.9k\u20135.0k", "20.0k\u201399.0k"]
    assert diffs.rows[1][1].text == "+53k" and diffs.rows[1][1].note == "-236k to +7k"


_DIFF_CELL = re.compile(
    r"\| (\*\*)?[+-][^|<]*?(?:\*\* \((?:better|worse)\)|\*\*)?"
    r"<br>([+-][^|]* to [^|]*?) (?=\|)"
)


def _cells(markdown: str) -> list[tuple[str, bool, str]]:
    """Every difference cell with an interval: (its row's first cell, bold, interval text)."""
    found = []
    for line in markdown.splitlines():
        if not line.startswith("| "):
            continue
        row = line.split(" | ", 1)[0][2:]
        for bold, interval in _DIFF_CELL.findall(line):
            found.append((row, bool(bold), interval))
    return found


def test_bold_means_one_thing_the_interval_excludes_zero(report: ReportPaths) -> None:
    """...and the difference rests on the history: the grab policy's, which rest on how reps
    would claim from a pool, are marked and never bold, whatever their intervals."""
    from leadrouter.sim.report import Cell
    from leadrouter.sim.report.render import _CSS, _md_cell

    markdown = report.markdown.read_text(encoding="utf-8").replace("\\", "")
    cells = _cells(markdown)
    assert any(bold for _, bold, _ in cells) and any(not bold for _, bold, _ in cells)
    assumed = [(bold, interval) for row, bold, interval in cells if row.startswith("&lt;script")]
    assert assumed and not any(bold for bold, _ in assumed)
    for row, bold, interval in cells:
        if row.startswith("&lt;script"):
            continue
        lo, hi = (float(re.sub(r"[^\d.+-]", "", end)) for end in interval.split(" to ", 1))
        assert (lo >= 0 or hi <= 0) if bold else (lo <= 0 <= hi), (row, bold, interval)
    # nothing else is bold: not a calibration check outside its interval, not the mark
    assert "**" not in _md_cell(Cell("OUTSIDE", tone="alert"))
    bold_rules = re.findall(r"([^{}]+)\{[^}]*font-weight:(?:[6-9]00|bold)", _CSS)
    assert {rule.strip() for rule in bold_rules} == {"td.better", "td.worse", "td.different"}
    legend = "Bold marks a difference whose 95% interval excludes zero"
    assert legend in markdown and legend in report.html.read_text(encoding="utf-8")


WINTER = datetime(2025, 1, 15, 12, tzinfo=UTC)
SUMMER = datetime(2025, 7, 15, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "at", "until", "expected"),
    [
        ("Asia/Shanghai", WINTER, None, "UTC+8 (Asia/Shanghai)"),
        ("Etc/GMT-8", WINTER, None, "UTC+8"),  # the POSIX sign: Etc/GMT-8 is 8 hours ahead
        ("Etc/GMT+5", SUMMER, None, "UTC-5"),
        ("UTC", SUMMER, None, "UTC"),
        ("Etc/UTC", WINTER, None, "UTC"),
        ("America/New_York", WINTER, None, "UTC-5 (America/New_York)"),
        ("America/New_York", SUMMER, None, "UTC-4 (America/New_York)"),
        ("America/New_York", WINTER, SUMMER, "UTC-5/UTC-4 (America/New_York)"),
        ("Europe/London", WINTER, None, "UTC+0 (Europe/London)"),
        ("Asia/Kolkata", WINTER, None, "UTC+5:30 (Asia/Kolkata)"),
        (timezone(timedelta(hours=8)), WINTER, None, "UTC+8"),
    ],
)
def test_zones_read_as_utc_offsets(
    tz: Any, at: datetime, until: datetime | None, expected: str
) -> None:
    assert zone_label(tz, at, until) == expected


def test_the_report_shows_a_fixed_offset_zone_as_its_offset(
    comparison: Comparison, history: History
) -> None:
    from leadrouter.sim.report import render_markdown
    from leadrouter.sim.report.sections import data_section

    shown = render_markdown(data_section(comparison, history))
    assert "local time UTC+8 (Asia/Shanghai)" in shown
    fixed = History(history.to_frame(), tz="Etc/GMT-8", roster=history.roster, origin="x.csv")
    shown = render_markdown(data_section(comparison, fixed))
    assert "local time UTC+8 |" in shown and "GMT" not in shown


def test_labels_cover_every_metric_and_plain_translates_code_names() -> None:
    assert set(METRIC_LABELS) == set(METRICS)
    assert all(better(m) == (-1 if m in LOWER_IS_BETTER else 1) for m in METRICS)
    text = plain(
        "held out: conversion_rate[pro] and speed_to_lead_median, gini; a Bayesian bootstrap"
    )
    assert (
        text
        == "held out: conversion of pro and speed to lead, load inequality; a random reweighting"
    )
    assert plain("leads wasted by no one") == "leads wasted by no one"


def test_a_report_of_an_export_describes_the_model_compare_fitted(tmp_path: Path) -> None:
    """With no behaviour given, the report shows the model compare() fitted and kept on the
    Comparison, never "the synthetic history's own truth ... right by construction" for an
    export that has no truth; arguments given the wrong way round are a ConfigError."""
    export = Path(__file__).resolve().parents[1] / "examples" / "data" / "sample_export.csv"
    history = load_export(export, tz="Asia/Shanghai")
    result = compare(history, {"rot": lr.EqualRotation()}, seeds=2, calibrate=False)
    assert result.behaviour is not None
    write_report(result, history, None, tmp_path / "out")
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "right by construction" not in markdown
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert f"It was fitted from {escape(result.behaviour.origin)}, over" in html
    with pytest.raises(ConfigError, match=r"write_report\(result, history, \.\.\.\)"):
        write_report(history, result, None, tmp_path / "swapped")  # type: ignore[arg-type]


def test_a_listing_of_flagged_cells_counts_cells_and_rows_apart() -> None:
    """A row flagged in two columns is two lines of the listing and one row of the count."""
    import pandas as pd

    from leadrouter.sim.report.sections import _listed

    twice = pd.DataFrame({"row": [7, 7, 9], "column": ["a", "b", "a"]})
    assert _listed("Flagged rows", 3, twice) == "Flagged rows: the first 3 of 3 (2 rows)"
    once = pd.DataFrame({"row": [7, 9], "column": ["a", "a"]})
    assert _listed("Flagged rows", 2, once) == "Flagged rows: the first 2 of 2"


def test_the_report_states_and_draws_the_sla_coverage_was_counted_against(
    history: History, behaviour: Any, tmp_path: Path
) -> None:
    half_hour = compare(
        history,
        {"rotation": lr.EqualRotation(), "dump": _dump},
        seeds=4,
        behaviour=behaviour,
        calibrate=False,
        sla=timedelta(minutes=30),
    )
    assert half_hour.sla == timedelta(minutes=30)
    paths = write_report(half_hour, history, behaviour, tmp_path, anomalies=False)
    markdown = paths.markdown.read_text(encoding="utf-8")
    assert "first touched within the response-time target (SLA: 30m)" in markdown
    assert "first touched later than the response-time target (SLA: 30m)" in markdown
    assert "the dashed line is the SLA (30 min)" in markdown
    assert "(SLA: 30m)" in "\n".join(str(t.caption) for t in comparison_tables(half_hour))
    with pytest.raises(ConfigError, match="counted coverage against 30m"):
        write_report(half_hour, history, behaviour, tmp_path, sla=timedelta(hours=1))


def test_the_bottom_line_is_red_when_calibration_failed_and_colour_has_its_word(
    comparison: Comparison,
) -> None:
    from leadrouter.sim.report import Cell, _line_style
    from leadrouter.sim.report.document import Table
    from leadrouter.sim.report.render import render_html

    assert comparison.calibration is not None
    failed = attrs.evolve(comparison.calibration, verdict="fail")
    unchecked = attrs.evolve(comparison.calibration, verdict="not checkable")
    assert _line_style(attrs.evolve(comparison, calibration=failed)) == "note alert"
    assert _line_style(attrs.evolve(comparison, calibration=unchecked)) == "note caution"
    assert _line_style(attrs.evolve(comparison, calibration=None)) == "note"
    html = render_html([Table(("a",), ((Cell("+1.0", tone="better"),),))], "t")
    assert '<td class="better">+1.0 <span class="word">(better)</span></td>' in html
    assert "@media print" in html and "break-inside:avoid" in html


def _png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels, from the PNG's header."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


@pytest.mark.parametrize("reps", [8, 34, 40, 41, 200])
def test_the_load_chart_keeps_a_readable_width_for_any_team_size(reps: int) -> None:
    """Drawn one cell per rep across, 34 reps made a 2,200-pixel-wide chart that a page shrinks
    to unreadable labels; a larger team is drawn down the page, and beyond HEAT_MAP_REPS as
    each policy's sorted load (the caption says which)."""
    import types

    import pandas as pd

    from leadrouter.sim.report.charts import HEAT_MAP_REPS, _chart_load, load_caption

    ids = [f"rep{i:03d}" for i in range(reps)]
    per_rep = {
        name: pd.DataFrame({"received": [float(i * k % 17) for i in range(reps)]}, index=ids)
        for k, name in enumerate(["rotation", "weighted", "matching"], start=1)
    }
    comparison = types.SimpleNamespace(policies=list(per_rep), per_rep=per_rep)
    names = {name: name for name in [*ids, *per_rep]}
    width, height = _png_size(_chart_load(comparison, ids, names))  # type: ignore[arg-type]
    assert width <= 1000  # the report's column is 1,180 px: drawn at its size or smaller
    assert height <= 1200
    sorted_profile = "sorted from most to fewest" in load_caption(reps)
    assert sorted_profile == (reps > HEAT_MAP_REPS)


def test_a_contents_list_links_every_section_in_html_and_markdown(report: ReportPaths) -> None:
    """The report runs to a dozen sections: a contents list under the bottom line links each, in
    HTML to the section's id and in Markdown to the anchor Markdown renderers give its heading."""
    from leadrouter.sim.report.render import _slug

    html = report.html.read_text(encoding="utf-8")
    nav = html[html.index('<nav class="contents"') : html.index("</nav>")]
    targets = re.findall(r'href="#([a-z-]+)"', nav)
    sections = re.findall(r'<h2 id="([a-z-]+)"', html)
    assert targets == sections and len(sections) >= 8
    assert html.index("Bottom line") < html.index("<nav") < html.index('<h2 id="calibration"')

    markdown = report.markdown.read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", markdown, flags=re.MULTILINE)
    links = re.findall(r"^- \[(.+)\]\(#([^)]+)\)$", markdown, flags=re.MULTILINE)
    assert [text for text, _ in links] == headings
    assert links[0][1] == "1-calibration-read-this-first"
    assert all(anchor == _slug(text.replace("\\", "")) for text, anchor in links)


def test_a_cjk_font_installed_after_matplotlib_cached_its_list_is_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """matplotlib keeps the font list of its first run: a Chinese font installed later was not
    in it, and the report drew Chinese names as codes on a machine that had the font."""
    from matplotlib import font_manager

    from leadrouter.sim.report import charts

    manager = font_manager.fontManager
    stale = [entry for entry in manager.ttflist if entry.name not in charts._CJK_FAMILIES]
    monkeypatch.setattr(manager, "ttflist", stale)
    charts._font_files.cache_clear()
    try:
        found = dict(charts._font_files())
        on_disk = [
            path
            for path in font_manager.findSystemFonts()
            if any(part in re.sub(r"[\W_]", "", path.lower()) for part in charts._CJK_FILES)
        ]
        assert any(family in charts._CJK_FAMILIES for family in found) == bool(on_disk)
        assert "DejaVu Sans" in found
    finally:
        charts._font_files.cache_clear()
        charts._drawable.cache_clear()
