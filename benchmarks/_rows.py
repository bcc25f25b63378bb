"""Summary rows: each benchmark figure beside its baseline and its aim, as `run_all.py` prints
them in one table and writes them to JSON for tracking across versions.

The speed scripts import this (`python benchmarks/bench_x.py` puts this folder on `sys.path`) and,
given `--json PATH`, write `{"rows": [...]}` with one row per figure. A row's `ratio` is its value
over a baseline measured in the same run, so it can be compared between runs on a noisy machine;
an aim `on="ratio"` is judged on that ratio, an aim `on="value"` on the figure itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

On = Literal["ratio", "value"]


@dataclass(frozen=True)
class Row:
    """One figure. `met` is None when the row has no aim or its figure was not measured."""

    benchmark: str
    measure: str
    value: float | None
    unit: str
    baseline: float | None = None
    """The baseline's figure, in the same unit, from the same run."""
    ratio: float | None = None
    """value ÷ baseline."""
    aim: str | None = None
    """The aim as text, e.g. "ratio <= 4" or "value >= 1000"."""
    aim_id: str | None = None
    """A name for the aim that stays the same across runs and versions (several rows may share
    one, e.g. one per lead count)."""
    met: bool | None = None
    note: str = ""


def row(
    benchmark: str,
    measure: str,
    value: float | None,
    unit: str,
    *,
    baseline: float | None = None,
    aim_id: str | None = None,
    at_most: float | None = None,
    at_least: float | None = None,
    on: On = "value",
    note: str = "",
) -> Row:
    """A row with its ratio worked out and its aim (`at_most` or `at_least`, on the value or the
    ratio) judged; an aim on a figure that is missing is left unjudged (`met` None)."""
    ratio = value / baseline if value is not None and baseline else None
    judged = ratio if on == "ratio" else value
    aim = met = None
    if at_most is not None or at_least is not None:
        op, limit = ("<=", at_most) if at_most is not None else (">=", at_least)
        assert limit is not None
        aim = f"{on} {op} {limit:g}"
        if judged is not None:
            met = judged <= limit if op == "<=" else judged >= limit
    return Row(benchmark, measure, value, unit, baseline, ratio, aim, aim_id, met, note)


def as_dicts(rows: Iterable[Row]) -> list[dict[str, object]]:
    return [asdict(r) for r in rows]


def write_json(path: Path, rows: Iterable[Row], extra: Mapping[str, object] | None = None) -> None:
    """Write `{**extra, "rows": [...]}` to `path`."""
    data = {**(extra or {}), "rows": as_dicts(rows)}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
