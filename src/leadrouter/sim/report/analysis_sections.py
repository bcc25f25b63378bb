"""The report's sections that look past the run: whether the ranking hinges on an assumption
(the sensitivity check, also one line on the terminal), what each lead source cost and brought
in, and the reps whose numbers deserve a human look.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from leadrouter.sim.compare import CANNOT_TELL
from leadrouter.sim.labels import direction, metric_label
from leadrouter.sim.report.document import Block, Bullets, Cell, Heading, Para, Table
from leadrouter.sim.report.formats import as_text, fmt_diff, missing, scale_for

if TYPE_CHECKING:
    import pandas as pd

    from leadrouter.sim.history import History


def _leaders(frame: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """Per scenario, the policies ranked first (ties share the rank)."""
    first = frame[frame["rank"] == 1]
    return {
        str(scenario): tuple(sorted(str(p) for p in group["policy"]))
        for scenario, group in first.groupby("scenario", sort=False)
    }


def _sensitivity_verdict(frame: pd.DataFrame) -> str:
    metric = metric_label(str(frame.attrs.get("metric", "conversion_rate"))).label
    if frame.attrs.get("not_identified"):
        return (
            f"{CANNOT_TELL[0].upper()}{CANNOT_TELL[1:]} ({frame.attrs['not_identified']}); "
            f"ranks by {metric} only order the model's levels, not differences the export "
            "supports."
        )
    leaders = _leaders(frame)
    distinct = set(leaders.values())
    assumed = str(frame.attrs.get("assumed", ""))
    caveat = (
        f" ({assumed} rest{'s' if ',' not in assumed else ''} on an assumption no scenario moves, "
        "such as how reps would claim from a pool)"
        if assumed
        else ""
    )
    if len(distinct) == 1:
        first = next(iter(distinct))
        ranked = f"{first[0]} ranks first" if len(first) == 1 else f"{_joined(first)} share rank 1"
        return (
            f"{ranked} by {metric} in every scenario, so the order at the top does not hinge on "
            "the rep effects, the contact decay or the reps' capacity; whether it beats the "
            f"baseline is the comparison's interval above, not a rank{caveat}."
        )
    named = "; ".join(f"{scenario}: {_joined(names)}" for scenario, names in leaders.items())
    return (
        f"The policy ranked first by {metric} changes when the assumptions move ({named}): which "
        f"policy is best rests on them; read small differences as ties{caveat}."
    )


def _joined(names: tuple[str, ...]) -> str:
    """Names in a sentence: a; a and b; a, b and c."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def sensitivity_line(frame: pd.DataFrame) -> str:
    """One sentence for the terminal: does the leader hold when the assumptions move?"""
    verdict = _sensitivity_verdict(frame)
    if verdict.startswith("The "):
        verdict = "the " + verdict[4:]
    return f"Sensitivity: {verdict}"


def sensitivity_section(frame: pd.DataFrame) -> list[Block]:
    """How each policy's rank (and difference to the baseline) moves across the scenarios."""
    scenarios = list(dict.fromkeys(frame["scenario"]))
    policies = list(dict.fromkeys(frame["policy"]))
    metric = str(frame.attrs.get("metric", "conversion_rate"))
    cells = frame.set_index(["scenario", "policy"])
    scale = scale_for(metric, frame["diff"].astype(float))
    rows: list[tuple[Cell, ...]] = []
    for name in policies:
        row: list[Cell] = [Cell(name)]
        for scenario in scenarios:
            found = cells.loc[(scenario, name)]
            row.append(
                Cell(f"#{int(found['rank'])} ({fmt_diff(metric, float(found['diff']), scale)})")
            )
        rows.append(tuple(row))
    verdict = _sensitivity_verdict(frame)
    return [
        Heading(2, "Does the ranking hinge on an assumption?", "sensitivity"),
        Para(
            f"Each column re-runs the comparison "
            f"({int(frame.attrs.get('seeds', 0)) or 'a few'} seeds each, model parameters fixed) "
            f"with one assumption moved (rep effects removed; contact decaying twice as fast, or "
            f"half as fast; every rep's capacity x0.75 or x1.5) and ranks the policies by "
            f"{metric_label(metric).label} ({direction(metric)}), the first column with none "
            "moved (a run of its own, so its figures differ a little from the tables above); in "
            "brackets, the difference to the baseline. With the parameters fixed and few seeds, "
            "these runs test whether the order holds, not whether a difference is real: no cell "
            "is bold. " + verdict
        ),
        Table(("policy", *scenarios), tuple(rows)),
    ]


_SOURCE_FORMATS: Mapping[str, Callable[[Any], str]] = {
    "leads": lambda v: f"{int(v):,}",
    "cost": lambda v: "-" if missing(v) else f"{v:,.0f}",
    "valid_rate": lambda v: "-" if missing(v) else f"{v:.1%}",
    "contact_rate": lambda v: "-" if missing(v) else f"{v:.1%}",
    "conversions": lambda v: f"{int(v):,}",
    "conversion_rate": lambda v: "-" if missing(v) else f"{v:.1%}",
    "revenue": lambda v: f"{v:,.0f}",
    "roi": lambda v: "-" if missing(v) else f"{v:.0%}",
    "cost_per_sale": lambda v: "-" if missing(v) else f"{v:,.0f}",
}


def sources_section(history: History) -> list[Block]:
    """What each lead source cost and brought in, from the history alone (no model)."""
    from leadrouter.sim.sources import source_table

    frame = source_table(history)
    columns = [c for c in _SOURCE_FORMATS if c in frame.columns]
    rows = tuple(
        (Cell(str(source)), *(Cell(_SOURCE_FORMATS[c](frame.loc[source, c])) for c in columns))
        for source in frame.index
    )
    return [
        Heading(2, "Lead sources", "sources"),
        Para(
            "What each source cost and brought in, counted from the history alone (no model): "
            "every number can be checked by hand against the export."
        ),
        Table(("source", *(metric_label(c).label for c in columns)), rows),
    ]


def anomalies_section(history: History) -> list[Block]:
    """The reps flagged by the anomaly checks, each with its evidence, and the checks the data
    could not support."""
    from leadrouter.sim.anomalies import anomalies_frame

    frame = anomalies_frame(history)
    blocks: list[Block] = [
        Heading(2, "Anomalies", "anomalies"),
        Para(
            "Reps whose numbers deserve a human look, each with its evidence - prompts, never "
            "verdicts. Each check compares a rep with their peers on comparable leads; a check "
            "the data cannot support says so."
        ),
    ]
    flags = frame[frame["kind"] != "not_checkable"]
    skipped = frame[frame["kind"] == "not_checkable"]
    if len(flags):
        blocks.append(
            Table(
                ("check", "rep", "evidence", "p-value", "leads behind it"),
                tuple(
                    (
                        Cell(str(row["check"])),
                        Cell(as_text(row["rep_id"])),
                        Cell(str(row["evidence"])),
                        Cell("-" if missing(row["p_value"]) else f"{row['p_value']:.2g}"),
                        Cell(f"{len(row['lead_ids']):,}"),
                    )
                    for row in flags.to_dict(orient="records")
                ),
            )
        )
    else:
        blocks.append(Para("No rep was flagged by any check that could run."))
    if len(skipped):
        blocks.append(Bullets(tuple(str(e) for e in skipped["evidence"])))
    return blocks
