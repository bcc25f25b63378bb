"""A small coverage study runs in the suite, so a regression in the intervals fails CI.

The full study (benchmarks/bench_coverage.py, over 100 histories) measures coverage against the
aim of 93-97%; this one uses four small histories, two policies and the default 20 seeds (five
parameter draws of four), and a loose bound: with 48 intervals checked, an honest 95% interval
misses more than a quarter of them with negligible probability, while the intervals this replaced
(a t-interval of the mean over seeds) covered the truth a quarter of the time.
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
            histories=4, seeds=20, truth_seeds=24, shapes=SMALL, policies=two, processes=2
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


def test_the_binomial_test_tells_chance_from_a_real_departure_from_95() -> None:
    """A row covered 95 times in 100 is exactly on promise (p = 1); 80 in 100 is far off
    (p < 1e-6), and so is 100 in 100 over 300 histories (too wide, p < 1e-6)."""

    def row(covered: int, n: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "policy": "p",
                "metric": "m",
                "kind": "diff",
                "truth": 0.0,
                "truth_se": 0.0,
                "estimate": 0.0,
                "lo": -1.0,
                "hi": 1.0,
                "covered": [True] * covered + [False] * (n - covered),
            }
        )

    assert summarise(row(95, 100))["p_nominal"].iloc[0] == pytest.approx(1.0)
    assert summarise(row(80, 100))["p_nominal"].iloc[0] < 1e-6
    assert summarise(row(300, 300))["p_nominal"].iloc[0] < 1e-6
