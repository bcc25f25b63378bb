"""The report's section on the behaviour model: a fitted model laid out as tables of its own
figures (a row per rep, the rep x segment rates with the thin ones marked), written from the
same facts as `summary()`, readable in Markdown and HTML with nothing preformatted; any other
behaviour shown as its summary or repr."""

from __future__ import annotations

import re
import statistics
from typing import Any

import pytest

from leadrouter.sim import FittedBehaviour, GivenBehaviour, History, fit_behaviour, synthetic
from leadrouter.sim.report import model_section
from leadrouter.sim.report.document import Block, Bullets, Pre, Table
from leadrouter.sim.report.model_section import THIN, behaviour_section
from leadrouter.sim.report.render import render_html, render_markdown

PIPED = "retail|online"
"""A segment name with a Markdown table's column separator in it."""


@pytest.fixture(scope="module")
def history() -> History:
    base = synthetic(n_leads=900, n_reps=5, days=15, seed=7)
    frame = base.to_frame()
    frame["segment"] = frame["segment"].replace("retail", PIPED)
    return History(frame, tz=base.tz)


@pytest.fixture(scope="module")
def fitted(history: History) -> FittedBehaviour:
    return fit_behaviour(history)


def _table(blocks: list[Block], first: str, containing: str = "") -> Table:
    return next(
        b
        for b in blocks
        if isinstance(b, Table) and b.header[0] == first and containing in " ".join(b.header)
    )


def _column(table: Table, starts: str) -> list[str]:
    index = next(i for i, name in enumerate(table.header) if name.startswith(starts))
    return [row[index].text for row in table.rows]


def test_the_rep_table_holds_the_models_own_figures(
    history: History, fitted: FittedBehaviour
) -> None:
    reps = list(fitted.numbers.capacity_per_day)
    table = _table(behaviour_section(fitted), "rep", "capacity")
    assert [row[0].text for row in table.rows] == reps
    assigned = history.to_frame()["rep_id"].value_counts()
    assert _column(table, "leads") == [f"{assigned[r]:,}" for r in reps]
    assert _column(table, "capacity") == [f"{fitted.capacity(r):.1f}" for r in reps]
    assert _column(table, "never touched") == [f"{fitted.p_neglect(r):.1%}" for r in reps]
    assert _column(table, "closing vs team") == [f"{fitted.rep_factor[r]:.2f}x" for r in reps]
    medians = [statistics.median(fitted.pickup_delays[r]) for r in reps]
    assert _column(table, "pick-up delay, median working minutes") == [
        f"{m:.0f}" if m >= 10 else f"{m:.1f}" for m in medians
    ]
    facts = fitted.describe()
    assert [r.capacity for r in facts.reps] == [fitted.capacity(r) for r in reps]
    assert [r.pickup_median for r in facts.reps] == pytest.approx(medians)
    assert facts.leads == int(history.to_frame()["rep_id"].notna().sum())


def test_summary_is_the_text_of_the_same_facts(fitted: FittedBehaviour) -> None:
    facts = fitted.describe()
    assert fitted.summary() == facts.text()
    assert fitted.summary().startswith(f"Behaviour model fitted from {fitted.origin}\n")
    assert [(p.rep_id, p.segment) for p in facts.thin_pairs()] == fitted.flagged_pairs()


def test_the_rep_x_segment_rates_are_a_matrix_with_the_thin_ones_marked(
    fitted: FittedBehaviour,
) -> None:
    blocks = behaviour_section(fitted)
    segments = list(fitted.segment_rate)
    matrix = _table(blocks, "rep", PIPED)
    assert list(matrix.header[1:]) == segments
    pairs = fitted.pairs.set_index(["rep_id", "segment"])
    for row in matrix.rows:
        for segment, cell in zip(segments, row[1:], strict=True):
            pair = pairs.loc[(row[0].text, segment)]
            assert cell.text == f"{pair['estimate']:.1%}"
            assert cell.mark == (THIN if pair["flagged"] else "")
    marked = sum(cell.mark == THIN for row in matrix.rows for cell in row)
    assert marked == len(fitted.flagged_pairs()) > 0
    assert any(f"{marked} of {len(fitted.pairs)} pairs" in b.text for b in _paras(blocks))


def _paras(blocks: list[Block]) -> list[Any]:
    return [b for b in blocks if hasattr(b, "text") and not isinstance(b, Pre)]


def test_many_segments_list_the_thin_pairs_instead(
    fitted: FittedBehaviour, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_section, "MATRIX_SEGMENTS", 2)
    monkeypatch.setattr(model_section, "LISTED_PAIRS", 3)
    listing = _table(behaviour_section(fitted), "rep", "closing rate")
    thin = fitted.flagged_pairs()
    assert [(row[0].text, row[1].text) for row in listing.rows] == thin[:3]
    assert f"{len(thin)} of {len(fitted.pairs)} pairs" in listing.caption


def test_markdown_tables_keep_their_columns_with_a_pipe_in_a_name(
    fitted: FittedBehaviour,
) -> None:
    markdown = render_markdown(behaviour_section(fitted))
    assert "retail\\|online" in markdown
    for table in re.findall(r"(?:^\|.*\|\n?)+", markdown, flags=re.MULTILINE):
        widths = {len(re.split(r"(?<!\\)\|", line)) for line in table.strip().splitlines()}
        assert len(widths) == 1, table


def test_the_html_has_nothing_preformatted_for_a_fitted_model(fitted: FittedBehaviour) -> None:
    html = render_html(behaviour_section(fitted), "t")
    assert "<pre" not in html
    assert "<table>" in html and fitted.origin in html


def test_what_the_model_lacks_is_left_out_of_the_rep_table(history: History) -> None:
    """Without first-touch times there is no pick-up delay nor neglect to show."""
    model = fit_behaviour(History.from_frame(history.to_frame().drop(columns=["first_touch_at"])))
    table = _table(behaviour_section(model), "rep", "capacity")
    assert not any(h.startswith(("pick-up", "never touched")) for h in table.header)
    assert len(table.rows) == len(model.numbers.capacity_per_day)


class _OwnBehaviour:
    gaps = ("contact assumed",)

    def summary(self) -> str:
        return "my own model"


@pytest.mark.parametrize(
    ("behaviour", "shown"),
    [(_OwnBehaviour(), "my own model"), (GivenBehaviour(), repr(GivenBehaviour()))],
)
def test_another_behaviour_is_shown_as_its_summary_or_repr(behaviour: Any, shown: str) -> None:
    blocks = behaviour_section(behaviour)
    assert [b.text for b in blocks if isinstance(b, Pre)] == [shown]
    assert not any(isinstance(b, Table) for b in blocks)
    gaps = [b.items for b in blocks if isinstance(b, Bullets)]
    assert gaps == ([("contact assumed",)] if isinstance(behaviour, _OwnBehaviour) else [])
