"""Notebooks: every notebook in examples/ runs cell by cell without an error, and the result
objects render in a notebook as escaped, well-formed HTML tables that show their key numbers.

The notebooks run in a Jupyter kernel of the interpreter running the tests (its kernelspec is
installed in a temporary directory, so a `python3` kernel installed elsewhere on the machine,
pointing at another Python, is never picked up), with examples/ as the working directory, as
Jupyter runs a notebook opened there.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import attrs
import nbformat
import pytest
from ipykernel.kernelspec import install
from nbclient import NotebookClient

import leadrouter as lr
from leadrouter._html import render
from leadrouter.sim import History, synthetic
from leadrouter.sim.analysis import Analysis, analyse
from leadrouter.sim.labels import metric_label, plain
from leadrouter.sim.report import caveats, fmt_diff, fmt_level, fmt_range

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOTEBOOKS = sorted(p for p in EXAMPLES.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
FIRST_HOUR = EXAMPLES / "first_hour.ipynb"
KERNEL = "leadrouter-tests"
CELL_TIMEOUT = 300  # seconds; the whole first_hour notebook takes about 15 s

SCRIPT = "<script>alert(1)</script>"
CHINESE = "王&李"
POLICY = "<b>fair</b> & co"


# --------------------------------------------------------------------------- running notebooks


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Path], Any]]:
    """`run(path)`: the notebook at `path`, executed once (later calls return the same run)."""
    home = tmp_path_factory.mktemp("jupyter")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUPYTER_PATH", str(home / "share" / "jupyter"))
        env.setenv("JUPYTER_RUNTIME_DIR", str(home / "runtime"))
        env.setenv("JUPYTER_PLATFORM_DIRS", "1")
        install(kernel_name=KERNEL, prefix=str(home))  # runs sys.executable: this interpreter

        @cache
        def execute(path: Path) -> Any:
            notebook = nbformat.read(path, as_version=4)
            client = NotebookClient(
                notebook,
                kernel_name=KERNEL,
                timeout=CELL_TIMEOUT,
                resources={"metadata": {"path": str(path.parent)}},
            )
            client.execute()  # raises CellExecutionError, naming the cell, on any error
            return notebook

        yield execute


def test_the_examples_hold_the_first_hour_notebook() -> None:
    assert FIRST_HOUR in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_runs_without_an_error(path: Path, run: Callable[[Path], Any]) -> None:
    notebook = run(path)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code cell"
    for cell in code:
        assert cell.execution_count is not None, f"a cell of {path.name} did not run"
        assert not [out for out in cell.outputs if out.output_type == "error"], cell.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(path: Path) -> None:
    """Outputs are produced by running the notebook, never stored: a stored output would go
    stale when the library changes, and the test above would not notice."""
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], cell.source
            assert cell.execution_count is None, cell.source


def test_first_hour_shows_each_result_as_a_table(run: Callable[[Path], Any]) -> None:
    notebook = run(FIRST_HOUR)
    shown = [
        out["data"]["text/html"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "execute_result"
        and out.get("data", {}).get("text/html", "").startswith('<div class="leadrouter">')
    ]
    parts = [parse_all(fragment) for fragment in shown]
    titles = [[part.title for part in fragment] for fragment in parts]
    assert titles[0] == ["History: data/sample_export.csv"]
    assert rows_of(parts[0][0])["leads"] == "300"
    verdict, comparison = titles[2][0], titles[3][0]
    assert verdict.startswith("Calibration: ")
    assert comparison == "Comparison over 6 seeds, differences to equal rotation"
    assert titles[1] == ["Analysis", verdict, comparison]
    assert titles[4][0].startswith("Decision: lead L00001 -> rep")
    assert len(shown) == 5
    markdown = [cell for cell in notebook.cells if cell.cell_type == "markdown"]
    assert len(markdown) >= len(shown), "every result needs its explanation"


# --------------------------------------------------------------------------- reading HTML


@attrs.define
class Fragment:
    """An HTML fragment as `render` lays it out, read back: the title, the header row, the
    body rows (cell texts, unescaped) and the notes, plus every tag seen."""

    title: str = ""
    header: list[str] = attrs.Factory(list)
    rows: list[list[str]] = attrs.Factory(list)
    notes: list[str] = attrs.Factory(list)
    tags: set[str] = attrs.Factory(set)


class _Reader(HTMLParser):
    ALLOWED = frozenset(
        {"div", "p", "strong", "table", "thead", "tbody", "tr", "th", "td", "ul", "li"}
    )
    VOID = frozenset({"br"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.found = Fragment()
        self.text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.tags.add(tag)
        if tag in self.VOID:
            assert self.text is not None, f"<{tag}> outside a cell or note"
            self.text.append("\n")
            return
        assert tag in self.ALLOWED, f"unexpected <{tag}>"
        self.open.append(tag)
        if tag in ("strong", "th", "td", "li"):
            self.text = []
        if tag == "tr":
            self.found.rows.append([])

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()
        text = "".join(self.text or [])
        if tag == "strong":
            self.found.title = text
        elif tag in ("th", "td"):
            self.found.rows[-1].append(text)
        elif tag == "li":
            self.found.notes.append(text)
        elif tag == "thead":
            self.found.header = self.found.rows.pop()
        if tag in ("strong", "th", "td", "li"):
            self.text = None

    def handle_data(self, data: str) -> None:
        if data.strip():
            assert self.text is not None, f"text {data!r} outside a cell, the title or a note"
        if self.text is not None:
            self.text.append(data)


def parse(fragment: str) -> Fragment:
    """`fragment` read back; fails unless every tag is one `render` writes and is closed in
    order, and every body row has as many cells as the header."""
    reader = _Reader()
    reader.feed(fragment)
    reader.close()
    assert reader.open == [], f"unclosed {reader.open}"
    found = reader.found
    assert found.title
    width = len(found.header) or 2
    assert all(len(row) == width for row in found.rows), (found.header, found.rows)
    return found


def parse_all(fragment: str) -> list[Fragment]:
    """Each `<div class="leadrouter">` of a fragment built from several, read back."""
    marker = '<div class="leadrouter">'
    assert fragment.startswith(marker)
    return [parse(marker + part) for part in fragment.split(marker)[1:]]


def rows_of(found: Fragment) -> dict[str, str]:
    """A label/value table as {label: value}."""
    return {label: value for label, value in found.rows}


def row_labelled(found: Fragment, label: str) -> list[str]:
    return next(row for row in found.rows if row[0] == label)


def assert_escaped(fragment: str, *texts: str) -> None:
    """Each text is in the fragment, escaped, and reads back as written."""
    assert "<script" not in fragment and "<b>" not in fragment
    for text in texts:
        assert html.escape(text) in fragment


# --------------------------------------------------------------------------- _repr_html_


@pytest.fixture(scope="module")
def hostile() -> History:
    """A small synthetic team whose first two reps are named like an injection and in
    Chinese with an ampersand."""
    frame = synthetic(n_leads=240, n_reps=4, days=6, seed=5).to_frame()
    frame["rep_id"] = frame["rep_id"].replace({"rep01": SCRIPT, "rep02": CHINESE})
    return History.from_frame(frame)


@pytest.fixture(scope="module")
def analysis(hostile: History) -> Analysis:
    policies: dict[str, Any] = {
        "rotation": lr.EqualRotation(),
        POLICY: lr.PerformanceWeighted(),
        "quota": lr.QuotaProportional(),  # the reps have no quota: skipped, with why
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyse(hostile, policies, seeds=2, sensitivity_seeds=1)


def test_render_escapes_every_text_and_keeps_line_breaks() -> None:
    fragment = render('a "title" & <more>', [("x\ny", "it's <i>")], notes=["<br>"])
    found = parse(fragment)
    assert found.title == 'a "title" & <more>'
    assert found.rows == [["x\ny", "it's <i>"]]
    assert found.notes == ["<br>"]
    assert found.tags == {"div", "p", "strong", "table", "tbody", "tr", "td", "br", "ul", "li"}


def test_history_shows_its_size_dates_zone_and_losses(hostile: History) -> None:
    fragment = hostile._repr_html_()
    found = parse(fragment)
    frame = hostile.to_frame()
    local = frame["arrived_at"].dt.tz_convert(hostile.tz)
    assert found.title == "History: DataFrame"
    assert rows_of(found) == {
        "leads": "240",
        "reps": "4",
        "arrivals": f"{local.min():%Y-%m-%d} to {local.max():%Y-%m-%d}",
        "time zone": hostile.tz,
        "leads with a rep": f"{frame['rep_id'].notna().sum():,}",
        "sales": f"{frame['converted'].sum():,}",
        "rows rejected": f"{hostile.rejected['row'].nunique():,}",
        "rows flagged": f"{hostile.flagged['row'].nunique():,}",
    }
    assert bool(len(hostile.flagged)) == any("History.flagged" in n for n in found.notes)


def test_a_rejected_row_is_counted_and_pointed_to(hostile: History) -> None:
    frame = hostile.to_frame().head(30)
    frame.loc[3, "arrived_at"] = None
    history = History.from_frame(frame)
    found = parse(history._repr_html_())
    assert rows_of(found)["leads"] == "29"
    assert rows_of(found)["rows rejected"] == "1"
    assert "History.rejected lists the rows left out, and why" in found.notes


def test_calibration_shows_the_verdict_first_then_each_check(analysis: Analysis) -> None:
    calibration = analysis.calibration
    fragment = calibration._repr_html_()
    found = parse(fragment)
    assert found.title == calibration.summary().splitlines()[0]
    assert fragment.index(html.escape(found.title)) < fragment.index("<table>")
    assert found.header[:4] == ["split", "check", "observed", "model"]
    checks = calibration.checks.to_dict(orient="records")
    assert len(found.rows) == len(checks)
    for row, check in zip(found.rows, checks, strict=True):
        assert row[:2] == [check["split"], metric_label(check["metric"]).label]
        if check["status"] == "not checkable":
            assert row[-1] == plain(check["note"])
        else:
            assert row[2] == fmt_level(check["metric"], check["observed"])
            assert row[-1] == ("inside" if check["passed"] else "OUTSIDE")


def test_comparison_shows_levels_and_differences_with_their_intervals(
    analysis: Analysis,
) -> None:
    comparison = analysis.comparison
    fragment = comparison._repr_html_()
    assert_escaped(fragment, POLICY)
    found = parse(fragment)
    assert found.header == ["metric", "rotation", POLICY, f"{POLICY} - rotation"]
    table = comparison.table()
    conversion = row_labelled(found, "conversion")
    for column, name in enumerate(("rotation", POLICY), start=1):
        level = fmt_level("conversion_rate", table.loc[name, "conversion_rate"])
        lo, hi = table.loc[name, "conversion_rate_lo"], table.loc[name, "conversion_rate_hi"]
        assert conversion[column] == f"{level} ({fmt_range('conversion_rate', lo, hi)})"
    diff = fmt_diff("speed_to_lead_median", table.loc[POLICY, "speed_to_lead_median_diff"])
    assert row_labelled(found, "speed to lead")[3].startswith(f"{diff} (")
    assert found.notes[0] == comparison.calibration.summary().splitlines()[0]
    assert found.notes[1:] == caveats(comparison)


def test_comparison_without_calibration_says_it_was_not_run(analysis: Analysis) -> None:
    unchecked = attrs.evolve(analysis.comparison, calibration=None)
    notes = parse(unchecked._repr_html_()).notes
    assert notes[0] == "Calibration was not run: every number is unchecked."


def test_decision_shows_the_lead_the_rep_and_each_reason(hostile: History) -> None:
    router = lr.Router(lambda ctx: SCRIPT, hostile.roster)
    lead = hostile.leads[0]
    decision = router.route(lead, now=lead.arrived_at)
    fragment = decision._repr_html_()
    assert_escaped(fragment, SCRIPT)
    found = parse(fragment)
    assert found.title.startswith(f"Decision: lead {lead.id} -> {SCRIPT} (assigned by ")
    assert found.header == ["reason", "rule", "detail", "reps"]
    assert [row[0] for row in found.rows] == [r.code for r in decision.reasons]
    assert [row[2] for row in found.rows] == [r.detail for r in decision.reasons]


def test_a_pooled_decision_names_the_pool_and_who_was_excluded() -> None:
    reason = lr.Reason("excluded", "off shift", reps={SCRIPT, CHINESE}, rule="shift")
    at = datetime(2025, 3, 3, 9, tzinfo=UTC)
    decision = lr.Decision(
        "L1", None, "pooled", at, pool="public", reasons=(reason,), scores={CHINESE: 0.5}
    )
    fragment = decision._repr_html_()
    assert_escaped(fragment, SCRIPT, CHINESE)
    found = parse(fragment)
    assert found.title.startswith("Decision: lead L1 -> pool 'public'")
    assert found.rows == [["excluded", "shift", "off shift", ", ".join(sorted((SCRIPT, CHINESE)))]]
    assert found.notes == [f"scores: {CHINESE}=0.5"]


def test_analysis_shows_its_setup_then_the_calibration_and_the_comparison(
    analysis: Analysis,
) -> None:
    fragment = analysis._repr_html_()
    assert_escaped(fragment, POLICY)
    summary, calibration, comparison = parse_all(fragment)
    rows = rows_of(summary)
    assert rows["data"] == "DataFrame: 240 leads, 4 reps"
    assert rows["calibration"] == analysis.calibration.verdict
    assert rows["policies"] == f"rotation, {POLICY}"
    assert rows["skipped"] == "quota"
    assert summary.notes[0] == f"Bottom line: {analysis.bottom_line()}"
    shown = len(analysis.warnings)
    assert summary.notes[1 : 1 + shown] == [str(warning) for warning in analysis.warnings]
    assert summary.notes[1 + shown] == f"quota skipped: {analysis.skipped['quota']}"
    assert summary.notes[2 + shown].startswith("Sensitivity: ")
    assert calibration == parse(analysis.calibration._repr_html_())
    assert comparison == parse(analysis.comparison._repr_html_())
