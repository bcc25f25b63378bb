"""The comparison report: files written whole, HTML self-contained and escaped, the calibration
verdict before any comparison, Markdown charts that exist, and a terminal table that reads data
as text."""

from __future__ import annotations

import math
import re
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import attrs
import pandas as pd
import pytest

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
    synthetic,
)
from leadrouter.sim.report import (
    ReportPaths,
    calibration_panel,
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


@pytest.fixture(scope="module")
def comparison(history: History, behaviour: Any) -> Comparison:
    result = compare(
        history,
        {"rotation": lr.EqualRotation(), EVIL_POLICY: lr.GrabWithCaps(daily=60)},
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
    """Every tag and every src / href an HTML page holds."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[tuple[str, str, str]] = []

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
    assert html.index('id="calibration"') < verdict.start() < html.index('id="comparison"')
    markdown = report.markdown.read_text(encoding="utf-8")
    assert markdown.index("Calibration") < markdown.index("The comparison")
    assert markdown.index("The comparison") < markdown.index("| policy |")


def test_sections_come_in_the_documented_order(report: ReportPaths) -> None:
    html = report.html.read_text(encoding="utf-8")
    anchors = re.findall(r'<h2 id="([a-z]+)"', html)
    assert anchors == [
        "data",
        "calibration",
        "comparison",
        "caveats",
        "charts",
        "behaviour",
        "sources",
        "anomalies",
        "reading",
    ]
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
    assert "Overlap diagnostic" in html and "extrapolated" in html
    # the pull policy's results rest on the claim assumption, the push baseline's do not
    assert comparison.assumption_driven[EVIL_POLICY]
    assert '<span class="mark">†</span>' in html
    for line in comparison.caveats():
        assert escape(line) in html


def test_source_table_and_behaviour_model_are_in_the_report(report: ReportPaths) -> None:
    markdown = report.markdown.read_text(encoding="utf-8")
    assert "Lead sources" in markdown and "search" in markdown and "total" in markdown
    assert "Behaviour model fitted from" in markdown
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
    assert "extrap." in text and "†" in text
    assert re.search(r"\d+\.\d%\s*│", text)  # a level
    assert re.search(r"[+-]\d+\.\d to [+-]\d+\.\d pp", text)  # a paired interval


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
    assert fmt_diff("conversion_rate", -0.003) == "-0.3 pp"
    assert fmt_level("revenue", 2_412_345.0) == "2.41M"
    assert fmt_level("revenue", 56_478.0) == "56k"
    assert fmt_level("cost_per_sale", 3012.4) == "3,012"
    assert fmt_level("speed_to_lead_median", 209.4) == "209 min"
    assert fmt_range("coverage", 0.117, 0.174) == "11.7\u201317.4%"
    assert fmt_range("conversion_rate", -0.014, 0.001, diff=True) == "-1.4 to +0.1 pp"
    assert fmt_level("gini", math.nan) == "-"
    assert fmt_range("gini", math.nan, 0.2) == "-"


def test_tone_follows_the_better_direction() -> None:
    assert tone("conversion_rate", 0.001, 0.02) == "better"
    assert tone("conversion_rate", -0.02, -0.001) == "worse"
    assert tone("speed_to_lead_median", -30.0, -5.0) == "better"
    assert tone("wasted", 0.01, 0.02) == "worse"
    assert tone("gini", 0.01, 0.02) == "different"
    assert tone("conversion_rate", -0.01, 0.01) == ""
    assert tone("conversion_rate", math.nan, math.nan) == ""


def test_names_the_chart_fonts_cannot_draw_are_labelled_by_code() -> None:
    from leadrouter.sim.report import _chart_names, _drawable

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
    from leadrouter.sim.report import _sensitivity_section, render_markdown, sensitivity_line

    rows = []
    for scenario in ("as modelled", "no rep effects"):
        for rank, name in enumerate(("rotation", "grab"), start=1):
            rows.append((scenario, name, 0.05, -0.01 * (rank - 1), -0.02, 0.0, rank))
    frame = pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))
    frame.attrs.update(metric="conversion_rate", seeds=3)
    text = render_markdown(_sensitivity_section(frame))
    assert "rotation leads by conversion in every scenario" in text
    assert "| grab | #2" in text.replace("\\#", "#")
    flipped = frame.copy()
    flipped.loc[(flipped["scenario"] == "no rep effects"), "rank"] = [2, 1]
    flipped.attrs.update(frame.attrs)
    assert "changes when the assumptions move" in sensitivity_line(flipped)
    assert "no rep effects: grab" in sensitivity_line(flipped)
