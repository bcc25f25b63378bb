"""A small coverage study runs in the suite, so a regression in the intervals fails CI.

The full study (benchmarks/bench_coverage.py, over 100 histories) measures coverage against the
aim of 93-97%; this one uses four small histories and two policies, and a loose bound: with 40
intervals checked, an honest 95% interval misses more than a quarter of them with negligible
probability, while the intervals this replaced (a t-interval of the mean over seeds) covered the
truth a quarter of the time.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import leadrouter as lr
from leadrouter.errors import ConfigError
from leadrouter.sim import History
from leadrouter.sim.coverage import (
    ROW_COLUMNS,
    SUMMARY_COLUMNS,
    SUMMARY_STATS,
    Shape,
    coverage_study,
    summarise,
)

SMALL = (Shape("small", 700, 6, 14), Shape("small, reps differ", 700, 6, 14, rep_spread=(0.6, 0.4)))


def two(history: History) -> dict[str, object]:
    return {"rotation": lr.EqualRotation(), "performance": lr.PerformanceWeighted()}


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return coverage_study(
            histories=4, seeds=10, truth_seeds=24, shapes=SMALL, policies=two, processes=2
        )


def test_rows_have_the_documented_shape(rows: pd.DataFrame) -> None:
    assert list(rows.columns) == list(ROW_COLUMNS)
    # 4 histories x (2 policies x 4 metrics levels + 1 policy x 4 metrics differences)
    assert len(rows) == 4 * (8 + 4)
    assert set(rows["kind"]) == {"level", "diff"}
    assert set(rows[rows["kind"] == "diff"]["policy"]) == {"performance"}
    assert (rows["lo"] <= rows["estimate"]).all() and (rows["estimate"] <= rows["hi"]).all()
    assert rows["covered"].eq((rows["lo"] <= rows["truth"]) & (rows["truth"] <= rows["hi"])).all()


def test_intervals_cover_the_truth_most_of_the_time(rows: pd.DataFrame) -> None:
    assert rows["covered"].mean() >= 0.75, summarise(rows).to_string()
    for kind in ("level", "diff"):
        assert rows[rows["kind"] == kind]["covered"].mean() >= 0.7, kind


def test_the_summary_has_one_row_per_policy_metric_and_kind(rows: pd.DataFrame) -> None:
    summary = summarise(rows)
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert len(summary) == 8 + 4
    assert (summary["histories"] == 4).all()
    assert summary["coverage"].between(0, 1).all()
    overall = summarise(rows.assign(all="all"), by=("all", "kind"))
    assert list(overall.columns) == ["all", "kind", *SUMMARY_STATS]
    assert overall.set_index("kind")["histories"].to_dict() == {"level": 32, "diff": 16}


def test_a_study_of_nothing_is_a_named_error() -> None:
    with pytest.raises(ConfigError, match="histories"):
        coverage_study(histories=0)
    with pytest.raises(ConfigError, match="Shape"):
        coverage_study(histories=1, shapes=())
