"""A small coverage study runs in the suite, so a regression in the intervals fails CI.

The full study (benchmarks/bench_coverage.py, over 100 histories) measures coverage against the
aim of 93-97%; this one uses four small histories, two policies and the default 20 seeds (five
parameter draws of four), and a loose bound: with 48 intervals checked, an honest 95% interval
misses more than a quarter of them with negligible probability, while the intervals this replaced
(a t-interval of the mean over seeds) covered the truth a quarter of the time.
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

import leadrouter as lr
from leadrouter.errors import ConfigError
from leadrouter.sim import History, coverage
from leadrouter.sim.coverage import (
    ROW_COLUMNS,
    SUMMARY_COLUMNS,
    SUMMARY_STATS,
    Shape,
    coverage_study,
    read_rows_file,
    recheck,
    summarise,
)
from leadrouter.sim.intervals import expected_interval

SMALL = (Shape("small", 700, 6, 14), Shape("small, reps differ", 700, 6, 14, rep_spread=(0.6, 0.4)))


def _benchmark(name: str) -> ModuleType:
    """A script of benchmarks/ as a module, to call its `main` and functions."""
    path = Path(__file__).parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


TINY = (Shape("tiny", 150, 3, 5),)


def _tiny(**given: object) -> pd.DataFrame:
    settings: dict[str, object] = {
        "seeds": 4,
        "truth_seeds": 3,
        "shapes": TINY,
        "metrics": ("conversion_rate",),
        "policies": two,
    }
    settings.update(given)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return coverage_study(**settings)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def three_tiny() -> pd.DataFrame:
    return _tiny(histories=3)


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    ran: list[int] = []
    one = coverage._one

    def counted(index: int, *rest: Any) -> list[dict[str, Any]]:
        ran.append(index)
        return one(index, *rest)

    monkeypatch.setattr(coverage, "_one", counted)
    return ran


def test_a_resumed_study_runs_only_what_its_file_lacks_and_equals_one_run(
    three_tiny: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts run at different times, in any order, give the frame one call gives."""
    ran = _counting(monkeypatch)
    rows = tmp_path / "rows.jsonl"
    later = _tiny(histories=2, first=1, resume=rows)
    tail = three_tiny[three_tiny["history"] >= 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(later, tail)
    whole = _tiny(histories=3, resume=rows)
    assert ran == [1, 2, 0]
    pd.testing.assert_frame_equal(whole, three_tiny)
    assert _tiny(histories=3, resume=rows).equals(three_tiny) and ran == [1, 2, 0]
    assert len(rows.read_text().splitlines()) == 1 + 3


def test_a_history_cut_off_mid_write_is_run_again(
    three_tiny: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = tmp_path / "rows.jsonl"
    _tiny(histories=2, resume=rows)
    text = rows.read_text()
    rows.write_text(text[: len(text) - 40])
    ran = _counting(monkeypatch)
    pd.testing.assert_frame_equal(_tiny(histories=3, resume=rows), three_tiny)
    assert ran == [1, 2]
    assert [json.loads(line).get("history") for line in rows.read_text().splitlines()] == [
        None,
        0,
        1,
        2,
    ]


def test_a_rows_file_of_other_settings_or_not_a_rows_file_is_refused(tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    _tiny(histories=1, resume=rows)
    with pytest.raises(ConfigError, match=r"other settings \(seeds: seeds 4, now 6\)"):
        _tiny(histories=1, seeds=6, resume=rows)
    lines = rows.read_text().splitlines()
    rows.write_text("\n".join([lines[0], "{not json", *lines[1:]]) + "\n")
    with pytest.raises(ConfigError, match=r"line 2: not one history's rows.*delete the line"):
        _tiny(histories=1, resume=rows)
    other = tmp_path / "other.csv"
    other.write_text("lead_id,arrived_at\n1,2026-01-05\n")
    with pytest.raises(ConfigError, match="line 1: not a coverage study's rows file"):
        _tiny(histories=1, resume=other)
    with pytest.raises(ConfigError, match="first >= 0"):
        _tiny(histories=1, first=-1)


def test_a_study_reusing_an_earlier_truth_gives_the_same_rows_without_simulating_it(
    three_tiny: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`truth_from` takes each known history's truth (value and standard error) from an earlier
    rows file: the rows are those a full run gives, and only a history the file lacks has its
    truth simulated. A file of other settings holds another truth and is refused."""
    earlier = tmp_path / "earlier.jsonl"
    _tiny(histories=2, resume=earlier)
    simulated: list[int] = []
    truth = coverage._simulated_truth

    def counted(history: History, *rest: Any) -> Any:
        simulated.append(len(history))
        return truth(history, *rest)

    monkeypatch.setattr(coverage, "_simulated_truth", counted)
    again = _tiny(histories=3, truth_from=earlier, resume=tmp_path / "new.jsonl")
    pd.testing.assert_frame_equal(again, three_tiny)
    assert len(simulated) == 1
    with pytest.raises(ConfigError, match=r"other settings \(seeds: seeds 4, now 6\)"):
        _tiny(histories=1, seeds=6, truth_from=earlier)
    with pytest.raises(ConfigError, match="no such rows file"):
        _tiny(histories=1, truth_from=tmp_path / "none.jsonl")


def test_a_rows_file_reads_back_as_the_study_so_far_without_running_or_writing(
    three_tiny: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a long study runs, its file reads back as the histories finished: a line still
    being written is left alone (not cut off, as resuming would), and nothing is run."""
    rows = tmp_path / "rows.jsonl"
    _tiny(histories=3, resume=rows)
    with rows.open("a", encoding="utf-8") as file:
        file.write('{"history": 3, "rows": [{"hist')
    before = rows.read_text()
    ran = _counting(monkeypatch)
    settings, read = read_rows_file(rows)
    assert ran == [] and rows.read_text() == before
    assert (settings["seeds"], settings["truth_seeds"]) == (4, 3)
    pd.testing.assert_frame_equal(read, three_tiny)
    with pytest.raises(ConfigError, match="no such rows file"):
        read_rows_file(tmp_path / "none.jsonl")


def test_the_benchmark_summarises_a_rows_file_so_far(
    three_tiny: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = tmp_path / "rows.jsonl"
    _tiny(histories=3, resume=rows)
    bench = _benchmark("bench_coverage")
    out = tmp_path / "summary.json"
    assert bench.main(["--resume", str(rows), "--done", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Coverage of 95% intervals: 3 histories, 4 replicates, truth from 3")
    written = json.loads(out.read_text())
    assert written["histories"] == 3
    expected = summarise(three_tiny).to_dict("records")
    assert [r["coverage"] for r in written["summary"]] == [r["coverage"] for r in expected]
    # the rows are the --resume file's: none written beside the summary (docs/ keeps only it)
    assert not out.with_suffix(".rows.json").exists()


def test_recheck_with_compares_own_interval_gives_the_rows_back(rows: pd.DataFrame) -> None:
    """The per-seed values kept in each row are the ones its interval was built from."""
    again = recheck(rows, lambda values, draws: expected_interval(values, draws, 0.95))
    pd.testing.assert_frame_equal(again, rows)
    assert all(len(values) == 20 for values in rows["values"])
    assert rows["draws"].map(lambda draws: len(set(draws))).eq(5).all()  # five draws of four


def test_recheck_measures_another_interval_on_the_same_simulations(rows: pd.DataFrame) -> None:
    """An interval twice as wide covers at least what the study's covered, and the estimate
    and truth stay; a rows file without per-seed values is refused, not guessed."""

    def twice(values: Any, draws: tuple[int, ...] | None) -> tuple[float, float, float]:
        mean, lo, hi = expected_interval(values, draws, 0.95)
        return mean, mean - 2 * (mean - lo), mean + 2 * (hi - mean)

    wider = recheck(rows, twice)
    assert (wider["estimate"] == rows["estimate"]).all()
    assert (wider["covered"] >= rows["covered"]).all()
    narrow = rows["kind"] == "diff"
    assert ((wider["hi"] - wider["lo"])[narrow] > (rows["hi"] - rows["lo"])[narrow]).all()
    with pytest.raises(ConfigError, match="do not keep their per-seed values"):
        recheck(rows.drop(columns=["values"]), twice)


def test_a_rows_file_begun_before_values_were_kept_is_refused(tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    _tiny(histories=1, resume=rows)
    lines = rows.read_text().splitlines()
    settings = json.loads(lines[0])
    del settings["rows"]
    rows.write_text("\n".join([json.dumps(settings), *lines[1:]]) + "\n")
    with pytest.raises(ConfigError, match=r"other settings \(rows: rows None, now \["):
        _tiny(histories=1, resume=rows)


def test_the_interval_benchmark_measures_compares_own_as_the_study_did(
    three_tiny: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bench_intervals.py's `compare` line is the study's own coverage; the others are built
    from the same values, and a range with no history is a clear refusal."""
    rows = tmp_path / "rows.jsonl"
    _tiny(histories=3, resume=rows)
    bench = _benchmark("bench_intervals")
    out = tmp_path / "intervals.json"
    assert bench.main([str(rows), "--json", str(out)]) == 0
    assert capsys.readouterr().out.startswith("Intervals measured on 3 histories of ")
    written = json.loads(out.read_text())
    own = next(line for line in written["overall"] if line["interval"] == "compare")
    level = three_tiny[three_tiny["kind"] == "level"]["covered"].mean()
    assert own["levels covered"] == pytest.approx(level)
    assert [line["interval"] for line in written["overall"]] == list(bench.INTERVALS)
    assert bench.main([str(rows), "--histories", "5:9"]) == 2
    assert "no finished histories in 5:9" in capsys.readouterr().err


def test_the_table_limits_md_shows_is_the_committed_study_summary() -> None:
    """docs/analyst/limits.md's coverage table is docs/analyst/coverage-study.json (written by
    `bench_coverage.py --resume FILE --done --json`) as `--markdown` prints it, and the page
    states that study's size and overall shares: a table typed by hand could drift from it."""
    root = Path(__file__).parents[1]
    bench = _benchmark("bench_coverage")
    study = json.loads((root / "docs" / "analyst" / "coverage-study.json").read_text())
    page = (root / "docs" / "analyst" / "limits.md").read_text(encoding="utf-8")
    assert bench.markdown(pd.DataFrame(study["summary"])) in page
    assert f"Latest full run ({study['histories']} histories, {study['seeds']} replicates" in page
    shares = {line["kind"]: line["coverage"] for line in study["overall"]}
    assert (
        f"All level intervals together covered the truth {shares['level']:.1%} of the time, all "
        f"difference intervals {shares['diff']:.1%}"
    ) in " ".join(page.split())


def test_the_normal_study_measures_compares_interval_at_its_closed_form() -> None:
    """Where the interval's model holds, compare's covered share over 400 repeats is its
    closed-form coverage within four standard errors, at every ratio; the other intervals
    are compare's own where no outcome noise can be told apart (no draws, one seed a draw)."""
    bench = _benchmark("bench_intervals")
    table = bench.normal_study(5, 4, (0.0, 1.0, 10.0), repeats=400)
    error = 4 * (0.95 * 0.05 / 400) ** 0.5
    assert (table["compare: covered"] - table["compare: exact"]).abs().max() < error
    assert bench.compare_exact(5, 0.0) == pytest.approx(0.9976, abs=1e-4)
    assert bench.compare_exact(5, 1e6) == pytest.approx(0.95, abs=1e-4)
    values = np.linspace(0.0, 1.0, 8)
    for draws in (None, tuple(range(8)), (0,) * 8):
        for name in ("subtracted", "random effects"):
            own = bench.compare_own(values, draws)
            assert bench.INTERVALS[name](values, draws) == pytest.approx(own, nan_ok=True)
