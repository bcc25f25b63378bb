"""The report's section on the behaviour model, for a reader: what the model is, a table of
the reps, the segments and products, each rep's closing rate by segment (the thin ones marked),
how each part was fitted, and the gaps.

A fitted model is laid out from its facts (`FittedBehaviour.describe()`), the same facts its
`summary()` writes as text, so the report and the terminal say the same numbers. Any other
behaviour (a `GivenBehaviour`, a user's own) is shown as its `summary()` or repr, as written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from leadrouter.sim.fitted import FittedBehaviour
from leadrouter.sim.modelfacts import ModelFacts, PairFacts, RepFacts, segment_name
from leadrouter.sim.report.document import Block, Bullets, Cell, Heading, Para, Pre, Table

THIN = "°"
"""The mark of a rep x segment estimate that leans on the shrinkage (too little data)."""

MATRIX_SEGMENTS = 10
"""Up to this many segments the rep x segment rates are a matrix (a rep a row); beyond it, a
matrix would not fit the page, so only the thin pairs are listed."""

LISTED_PAIRS = 30
"""The most thin pairs listed when they are not a matrix."""


def behaviour_section(behaviour: Any) -> list[Block]:
    """The behaviour model: a fitted one as tables (`fitted_blocks`), any other as its
    `summary()` (its repr when it has none); then its `gaps`, what the data could not support.
    None says a synthetic history's own truth was used."""
    blocks: list[Block] = [Heading(2, "The behaviour model", "behaviour")]
    if behaviour is None:
        blocks.append(
            Para(
                "No model was given: the synthetic history's own generating parameters (its "
                "truth) were used, so the model is right by construction."
            )
        )
        return blocks
    if isinstance(behaviour, FittedBehaviour):
        blocks += fitted_blocks(behaviour.describe())
    else:
        summary = getattr(behaviour, "summary", None)
        blocks.append(Pre(summary() if callable(summary) else repr(behaviour)))
    gaps = tuple(getattr(behaviour, "gaps", ()) or ())
    if gaps:
        blocks.append(Heading(3, "Gaps: what the data could not support (assumed instead)"))
        blocks.append(Bullets(gaps))
    else:
        blocks.append(Para("Gaps: none - every part of the model was fitted from the history."))
    return blocks


def fitted_blocks(facts: ModelFacts) -> list[Block]:
    """A fitted model's facts for a reader: a lead paragraph, the reps' table, the segments'
    and products' tables, the rep x segment rates and how each part was fitted."""
    blocks: list[Block] = [
        Para(
            "The behaviour model is the simulator's picture of this team: how many leads each "
            "rep gets through in a day, how soon they pick one up, how often a lead is reached "
            f"and bought, and for how much. It was fitted from {facts.origin}, over "
            f"{facts.leads:,} leads, and every what-if above runs on it."
        ),
        Heading(3, "Reps"),
        rep_table(facts),
    ]
    if facts.rep_spread is not None:
        blocks.append(Para(f"How much reps differ in closing: {facts.rep_spread}."))
    blocks.append(Heading(3, "Segments and products"))
    blocks.append(
        Table(
            ("segment", "conversion of reached valid leads"),
            tuple((Cell(segment_name(s)), Cell(f"{p:.1%}")) for s, p in facts.segments),
            caption="The share of reached, valid leads that bought, by segment",
        )
    )
    if facts.products:
        blocks.append(
            Table(
                (
                    "product",
                    "conversion factor",
                    "sales of reached valid leads, expected",
                    "median sale amount",
                ),
                tuple(
                    (
                        Cell(p.product),
                        Cell(f"{p.factor:.2f}x"),
                        Cell(p.evidence()),
                        Cell("-" if p.amount_median is None else f"{p.amount_median:,.0f}"),
                    )
                    for p in facts.products
                ),
                caption="A product's factor multiplies the rates above: its sales against the "
                "sales those rates expect for its leads (below 1x: it closes less often)",
            )
        )
    if facts.pairs:
        blocks += pair_blocks(facts)
    blocks.append(Heading(3, "How each part was fitted"))
    blocks.append(Bullets(facts.fitted))
    return blocks


@attrs.frozen
class _RepColumn:
    """A column of the reps' table: its header, the figure it reads, how it writes it and what
    it means (the table's caption says it for the columns shown)."""

    header: str
    figure: Callable[[RepFacts], float | None]
    write: Callable[[float], str]
    meaning: str


def _rep_columns(facts: ModelFacts) -> tuple[_RepColumn, ...]:
    """Every figure a model can hold per rep, in the table's order, each with its unit."""
    return (
        _RepColumn(
            "leads", lambda r: r.leads, lambda v: f"{v:,.0f}", "Leads: assigned in the history."
        ),
        _RepColumn(
            "capacity, first touches per working day",
            lambda r: r.capacity,
            lambda v: f"{v:.1f}",
            f"Capacity: first touches the rep makes in a working day "
            f"({facts.workday_minutes:.0f} working minutes) when leads wait.",
        ),
        _RepColumn(
            f"pick-up delay, median {facts.delay_unit}",
            lambda r: r.pickup_median,
            lambda v: f"{v:.0f}" if v >= 10 else f"{v:.1f}",
            "Pick-up delay: the usual time to a first touch with nothing else waiting.",
        ),
        _RepColumn(
            "never touched",
            lambda r: r.neglect,
            lambda v: f"{v:.1%}",
            "Never touched: the share of the rep's leads no one touched.",
        ),
        _RepColumn(
            "closing vs team",
            lambda r: r.closing_factor,
            lambda v: f"{v:.2f}x",
            "Closing vs team: the rep's sales over those the team makes with the same leads "
            "(1.00x: as the team).",
        ),
    )


def rep_table(facts: ModelFacts) -> Table:
    """One row per rep, a column per figure the model holds for some rep (a figure it holds
    for none is left out, with its word in the caption; one it lacks for a rep reads "-")."""
    columns = [c for c in _rep_columns(facts) if any(c.figure(r) is not None for r in facts.reps)]
    rows = tuple(
        (
            Cell(rep.rep_id),
            *(Cell("-" if (v := c.figure(rep)) is None else c.write(v)) for c in columns),
        )
        for rep in facts.reps
    )
    return Table(
        ("rep", *(c.header for c in columns)),
        rows,
        caption=" ".join(c.meaning for c in columns),
    )


def pair_blocks(facts: ModelFacts) -> list[Block]:
    """Each rep's closing rate by segment: a matrix (a rep a row, a segment a column, the
    reached valid leads under each rate, thin ones marked `THIN`) up to `MATRIX_SEGMENTS`
    segments, else the thin pairs listed (the first `LISTED_PAIRS`)."""
    thin = facts.thin_pairs()
    count = (
        f"{len(thin)} of {len(facts.pairs)} pairs have fewer than {facts.prior_strength:g} "
        "reached valid leads: their rate leans toward the segment's rate times the rep's factor"
    )
    segments = list(
        dict.fromkeys([*(s for s, _ in facts.segments), *(p.segment for p in facts.pairs)])
    )
    blocks: list[Block] = [Heading(3, "Closing rate by rep and segment")]
    if len(segments) > MATRIX_SEGMENTS:
        shown = thin[:LISTED_PAIRS]
        blocks.append(
            Table(
                ("rep", "segment", "closing rate", "sales of reached valid leads", "data weight"),
                tuple(
                    (
                        Cell(p.rep_id),
                        Cell(segment_name(p.segment)),
                        Cell(f"{p.estimate:.1%}", f"prior {p.prior:.1%}"),
                        Cell(f"{p.sales:.3g} of {p.reached_valid:.3g}"),
                        Cell(f"{p.weight:.0%}"),
                    )
                    for p in shown
                ),
                caption=f"{count}; the first {len(shown)} listed",
            )
        )
        return blocks
    found = {(p.rep_id, p.segment): p for p in facts.pairs}
    reps = list(dict.fromkeys(p.rep_id for p in facts.pairs))
    blocks.append(
        Para(
            "The share of a rep's reached valid leads that buy, by segment, and under it the "
            f"reached valid leads it rests on. {count} (marked {THIN}). A dash: the rep had no "
            "lead of the segment, and the model extrapolates."
        )
    )
    blocks.append(
        Table(
            ("rep", *(segment_name(s) for s in segments)),
            tuple(
                (Cell(rep), *(_pair_cell(found.get((rep, s))) for s in segments)) for rep in reps
            ),
        )
    )
    return blocks


def _pair_cell(pair: PairFacts | None) -> Cell:
    if pair is None or not pair.leads:
        return Cell("-")
    return Cell(
        f"{pair.estimate:.1%}",
        f"{pair.reached_valid:.3g} leads",
        mark=THIN if pair.thin else "",
    )
