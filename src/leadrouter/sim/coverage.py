"""Do the simulator's intervals cover the truth at the rate they promise? Measured, not assumed.

`coverage_study` generates synthetic histories whose generating process is known
(`history.truth.behaviour()`), and for each one:

1. **the truth**: every policy simulated under the exact generating process with many seeds
   (`truth_seeds`, parameters known): the mean is each policy's true expected outcome on that
   lead stream, and the mean paired difference to the baseline its true difference;
2. **the estimate**: the same policies compared as an analyst would, with a behaviour model fitted
   from the history (`fit_behaviour`) and `seeds` replicates (parameter draws shared by up to
   four seeds, `leadrouter.sim.intervals`);
3. for each (policy, metric), whether the 95% level interval covers the true level and the
   difference interval covers the true difference, the error of each estimate and the interval's
   half-width.

`summarise` turns the per-history rows into one row per (policy, metric): the share of histories
covered, the mean (signed) error and the mean half-width. The promise is 93-97% coverage with a
mean error under a fifth of the mean half-width; benchmarks/bench_coverage.py runs the full study
and docs/analyst/limits.md shows its latest table. The truth's own Monte Carlo error (its
standard error is reported per row) counts against coverage, so `truth_seeds` should be several
times `seeds`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import pandas as pd

from leadrouter.errors import ConfigError

if TYPE_CHECKING:
    from leadrouter.sim.engine import Policy
    from leadrouter.sim.history import History

__all__ = [
    "AIM",
    "AIM_ERROR",
    "COVERAGE_METRICS",
    "NOMINAL",
    "ROW_COLUMNS",
    "SHAPES",
    "SUMMARY_COLUMNS",
    "SUMMARY_STATS",
    "IntervalBuilder",
    "Shape",
    "coverage_study",
    "read_rows_file",
    "recheck",
    "study_policies",
    "summarise",
    "verdicts",
]

NOMINAL = 0.95
"""The coverage every interval promises."""

AIM = (0.93, 0.97)
"""The coverage every (policy, metric, kind) row should land in, over 100 histories or more."""

AIM_ERROR = 0.2
"""The largest mean error a row should have, as a share of its mean half-width."""

COVERAGE_METRICS = ("conversion_rate", "revenue", "speed_to_lead_median", "coverage")
"""The metrics whose intervals are checked: sales, money, speed and the SLA."""


@attrs.frozen
class Shape:
    """One kind of synthetic history: volume, team size, days, capacity range (a multiple of
    the average daily leads per rep) and how much reps differ in closing (`rep_spread`, as in
    `synthetic`)."""

    name: str
    n_leads: int
    n_reps: int
    days: int
    capacity: tuple[float, float] = (1.0, 2.0)
    rep_spread: tuple[float, float] = (0.35, 0.30)

    def history(self, seed: int) -> History:
        """The synthetic history of this shape for `seed`."""
        from leadrouter.sim.synthetic import synthetic

        return synthetic(
            self.n_leads,
            self.n_reps,
            self.days,
            seed=seed,
            capacity=self.capacity,
            rep_spread=self.rep_spread,
        )


SHAPES = (
    Shape("mid team", 1500, 10, 30),
    Shape("small team", 900, 6, 21),
    Shape("busy team", 1500, 10, 30, capacity=(0.8, 1.4)),
    Shape("large team", 2400, 16, 30),
    Shape("reps alike", 1500, 10, 30, rep_spread=(0.05, 0.05)),
    Shape("reps differ", 1500, 10, 30, rep_spread=(0.6, 0.4)),
)
"""The shapes the study cycles through: team size, volume, busyness and rep spread vary."""

ROW_COLUMNS = (
    "history",
    "shape",
    "policy",
    "metric",
    "kind",
    "truth",
    "truth_se",
    "estimate",
    "lo",
    "hi",
    "covered",
    "values",
    "draws",
)
"""One row per (history, policy, metric, kind): kind is `level` or `diff`. `values` are the
per-seed values the interval was built from (a level's, or a difference's paired differences)
and `draws` the parameter draw each seed used, so another interval can be measured on the same
simulations (`recheck`) without running them again."""

SUMMARY_STATS = (
    "histories",
    "coverage",
    "mean_error",
    "mean_half_width",
    "error_over_half_width",
    "truth_se",
    "p_nominal",
)
"""What `summarise` gives per group."""

SUMMARY_COLUMNS = ("policy", "metric", "kind", *SUMMARY_STATS)
"""`summarise`'s columns with its default grouping."""


def study_policies(history: History) -> dict[str, Policy]:
    """The policies the study compares: equal rotation (the baseline, and the policy the
    history was logged with) against performance- and utilisation-weighted routing, profile
    matching and tiered delay, set up for the history's team as the demo sets them up
    (`leadrouter.sim.demo.demo_policies`). Pull policies are left out: how reps claim is an
    assumption of the simulator, not something a model fitted from push-only history knows;
    quota-proportional routing too: its quotas would be invented, and its mechanics are those
    of the other weighted strategies."""
    from leadrouter.sim.demo import demo_policies

    every = demo_policies(history)
    names = (
        "equal-rotation",
        "performance-weighted",
        "utilization-weighted",
        "profile-matching",
        "tiered-delay",
    )
    return {name: every[name] for name in names}


def _one(
    index: int,
    shape: Shape,
    seeds: int,
    truth_seeds: int,
    metrics: Sequence[str],
    choose: Callable[[History], Mapping[str, Policy]],
    known: Sequence[Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The rows of one history: the truth, the fitted comparison and their agreement. `known`
    is this history's rows from an earlier study of the same settings, whose truth is taken
    instead of simulated again."""
    from leadrouter.sim.behaviour import fit_behaviour
    from leadrouter.sim.compare import compare

    history = shape.history(seed=10_000 + index)
    policies = dict(choose(history))
    baseline = next(iter(policies))
    true = (
        _simulated_truth(history, policies, truth_seeds)
        if known is None
        else {(row["policy"], _column(row)): (row["truth"], row["truth_se"]) for row in known}
    )
    fitted = compare(
        history, policies, seeds=seeds, behaviour=fit_behaviour(history), calibrate=False
    )
    table: dict[str, dict[str, float]] = fitted.table().to_dict("index")  # type: ignore[assignment]
    order = list(fitted.seeds)
    runs = {
        name: fitted.results[fitted.results["policy"] == name].set_index("seed")
        for name in policies
    }
    draws = None if fitted.draws is None else list(fitted.draws)
    rows: list[dict[str, Any]] = []
    for name in policies:
        for metric in metrics:
            for kind, suffix in (("level", ""), ("diff", "_diff")):
                if kind == "diff" and name == baseline:
                    continue
                column = f"{metric}{suffix}"
                (truth, truth_se), est = true[(name, column)], table[name]
                values = runs[name].loc[order, metric].to_numpy(dtype=float)
                if kind == "diff":
                    values = values - runs[baseline].loc[order, metric].to_numpy(dtype=float)
                lo, hi = est[f"{column}_lo"], est[f"{column}_hi"]
                rows.append(
                    {
                        "history": index,
                        "shape": shape.name,
                        "policy": name,
                        "metric": metric,
                        "kind": kind,
                        "truth": truth,
                        "truth_se": truth_se,
                        "estimate": est[column],
                        "lo": lo,
                        "hi": hi,
                        "covered": bool(lo <= truth <= hi),
                        "values": values.tolist(),
                        "draws": draws,
                    }
                )
    return rows


def _simulated_truth(
    history: History, policies: Mapping[str, Policy], truth_seeds: int
) -> dict[tuple[str, str], tuple[float, float]]:
    """Every (policy, column)'s true expected value and its standard error (from the
    t-interval over `truth_seeds`): the policies simulated under the history's generating
    process with its parameters known."""
    from scipy import stats

    from leadrouter.sim.compare import compare

    assert history.truth is not None
    truth = compare(
        history,
        policies,
        seeds=range(1_000_000, 1_000_000 + truth_seeds),
        behaviour=history.truth.behaviour(),
        calibrate=False,
        parameter_draws=False,
    )
    t = float(stats.t.ppf(0.975, truth_seeds - 1))
    table: dict[str, dict[str, float]] = truth.table().to_dict("index")  # type: ignore[assignment]
    return {
        (name, column): (row[column], (row[f"{column}_hi"] - row[column]) / t)
        for name, row in table.items()
        for column in row
        if not column.endswith(("_lo", "_hi"))
    }


def _column(row: Mapping[str, Any]) -> str:
    """The `table()` column a row measures: its metric, with `_diff` for a difference."""
    return f"{row['metric']}_diff" if row["kind"] == "diff" else str(row["metric"])


_JOB: list[Any] = []


def _forked(index: int) -> tuple[int, list[dict[str, Any]]]:
    (shapes, seeds, truth_seeds, metrics, choose), known = _JOB
    shape = shapes[index % len(shapes)]
    return index, _one(index, shape, seeds, truth_seeds, metrics, choose, known.get(index))


def _share(job: Any, known: Mapping[int, Any]) -> None:
    _JOB[:] = [job, known]


_STUDY = "leadrouter coverage study"
"""What a rows file's first line says it is."""


def _settings(job: tuple[Any, ...]) -> dict[str, Any]:
    """What a history's rows depend on besides its index, as JSON reads it back."""
    shapes, seeds, truth_seeds, metrics, choose = job
    from leadrouter import __version__

    written = {
        "study": _STUDY,
        "leadrouter": __version__,
        "seeds": seeds,
        "truth_seeds": truth_seeds,
        "shapes": [attrs.asdict(shape) for shape in shapes],
        "metrics": metrics,
        "policies": f"{choose.__module__}.{choose.__qualname__}",
        "rows": list(ROW_COLUMNS),
    }
    settings: dict[str, Any] = json.loads(json.dumps(written))
    return settings


def _resumed(path: Path, settings: dict[str, Any]) -> dict[int, list[dict[str, Any]]]:
    """The histories a rows file already holds. A new (or empty) file gets the settings as its
    first line; a file whose last line was cut off mid-write loses that line, whose history is
    then run again."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = text.split("\n")
    if len(lines) < 2 or not lines[0].strip():
        path.write_text(json.dumps(settings) + "\n", encoding="utf-8")
        return {}
    if lines[-1]:
        with path.open("r+", encoding="utf-8") as file:
            file.truncate(len(text.encode("utf-8")) - len(lines[-1].encode("utf-8")))
    fix = f"start a new file, or resume {path} with the settings it was begun with"
    written, found = _rows_in(path, lines, fix)
    _same_settings(path, written, settings, fix)
    return found


def _earlier(path: Path, settings: dict[str, Any]) -> dict[int, list[dict[str, Any]]]:
    """The histories of an earlier study's rows file, for their truth (`truth_from`); refused
    when it was begun with other settings, whose truth is another."""
    fix = "give the rows file of an earlier study begun with this study's settings"
    written, found = _rows_file(path, fix)
    _same_settings(path, written, settings, fix)
    return found


def _rows_file(path: Path, fix: str) -> tuple[dict[str, Any], dict[int, list[dict[str, Any]]]]:
    """A finished or running study's rows file as `_rows_in` reads it; a path that is no file
    is a `ConfigError` ending in `fix`."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such rows file; {fix}")
    return _rows_in(path, path.read_text(encoding="utf-8").split("\n"), fix)


def _same_settings(path: Path, written: dict[str, Any], settings: dict[str, Any], fix: str) -> None:
    differing = sorted(key for key in settings if written.get(key) != settings[key])
    if differing:
        raise ConfigError(
            f"{path} was begun with other settings ({', '.join(differing)}: "
            + "; ".join(f"{k} {written.get(k)!r}, now {settings[k]!r}" for k in differing)
            + f"), and rows of two settings measure nothing together; {fix}"
        )


def _rows_in(
    path: Path, lines: list[str], fix: str
) -> tuple[dict[str, Any], dict[int, list[dict[str, Any]]]]:
    """A rows file's settings (its first line) and the rows of each history on a whole line
    after it (the last element of `lines`, empty or a line still being written, is left)."""
    try:
        written = json.loads(lines[0])
    except json.JSONDecodeError:
        written = None
    if not isinstance(written, dict) or written.get("study") != _STUDY:
        raise ConfigError(f"{path}, line 1: not a coverage study's rows file; {fix}")
    found: dict[int, list[dict[str, Any]]] = {}
    for number, line in enumerate(lines[1:-1], start=2):
        try:
            history = json.loads(line)
            found[int(history["history"])] = list(history["rows"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise ConfigError(
                f"{path}, line {number}: not one history's rows ({error}); delete the line to "
                "run that history again"
            ) from None
    return written, found


def read_rows_file(path: str | Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """What a `coverage_study(resume=...)` file holds so far: the settings it was begun with
    and the rows of every history finished (`ROW_COLUMNS`, in history order). Nothing is run
    and nothing written, so a study of hours can be summarised while it goes on."""
    written, found = _rows_file(Path(path), "give the file a study was resumed into")
    rows = [row for index in sorted(found) for row in found[index]]
    return written, pd.DataFrame(rows, columns=list(ROW_COLUMNS))


def coverage_study(
    histories: int = 100,
    seeds: int = 20,
    truth_seeds: int = 30,
    shapes: Sequence[Shape] = SHAPES,
    metrics: Sequence[str] = COVERAGE_METRICS,
    policies: Callable[[History], Mapping[str, Policy]] = study_policies,
    processes: int = 1,
    progress: Callable[[int, int], None] | None = None,
    first: int = 0,
    resume: str | Path | None = None,
    truth_from: str | Path | None = None,
) -> pd.DataFrame:
    """Measure coverage over `histories` synthetic histories, numbered from `first` (history `i`
    has shape `shapes[i % len(shapes)]` and its own generating seed): a tidy frame with
    `ROW_COLUMNS`, one row per (history, policy, metric, level or difference), in history order.
    `policies(history)` gives the policies to compare, the first being the baseline.
    `processes > 1` runs histories in forked worker processes. Deterministic: the same arguments
    give the same frame, however the histories are split between calls.

    `resume` names a JSON-lines file that keeps each history's rows the moment it is done, and
    whose histories are read instead of run again. A full study takes hours; with it, a run cut
    off (a time box, a killed process) loses only the histories in flight, and a study can be run
    in parts (`first`) and summarised whole. The file's first line records the settings; resuming
    with other settings, or another leadrouter version, is a `ConfigError`, since rows of two
    models would measure neither. (A change of the model within one version is not seen: start
    a new file when the simulator changes.)

    `truth_from` names the rows file of an earlier study of the same settings: each history it
    holds takes its truth from there instead of simulating it again, which halves the cost of
    measuring a change to the fitted model on the same histories. The truth depends on the
    history, the policies and the simulator, not on the fit; after a change to the simulator
    itself, run the truth again."""
    if histories < 1 or seeds < 2 or truth_seeds < 2 or first < 0:
        raise ConfigError(
            f"coverage_study: needs histories >= 1, seeds >= 2, truth_seeds >= 2 and first >= 0, "
            f"got {histories}, {seeds}, {truth_seeds}, {first}"
        )
    if not shapes:
        raise ConfigError("coverage_study: needs at least one Shape")
    job = (tuple(shapes), seeds, truth_seeds, tuple(metrics), policies)
    indices = range(first, first + histories)
    path = None if resume is None else Path(resume)
    found = {} if path is None else _resumed(path, _settings(job))
    found = {index: found[index] for index in indices if index in found}
    todo = [index for index in indices if index not in found]
    known = {} if truth_from is None else _earlier(Path(truth_from), _settings(job))

    def keep(index: int, rows: list[dict[str, Any]]) -> None:
        found[index] = rows
        if path is not None:
            with path.open("a", encoding="utf-8") as file:
                file.write(json.dumps({"history": index, "rows": rows}, default=float) + "\n")
        if progress is not None:
            progress(len(found), histories)

    if processes > 1 and len(todo) > 1 and "fork" in get_all_start_methods():
        with ProcessPoolExecutor(
            max_workers=min(processes, os.cpu_count() or 1, len(todo)),
            mp_context=get_context("fork"),
            initializer=_share,
            initargs=(job, known),
        ) as pool:
            for future in as_completed([pool.submit(_forked, index) for index in todo]):
                keep(*future.result())
    else:
        _share(job, known)
        for index in todo:
            keep(*_forked(index))
    return pd.DataFrame(
        [row for index in indices for row in found[index]], columns=list(ROW_COLUMNS)
    )


IntervalBuilder = Callable[
    [np.ndarray[Any, Any], tuple[int, ...] | None], tuple[float, float, float]
]
"""An interval to measure (`recheck`): `(values, draws) -> (estimate, low, high)`, given a
row's per-seed values and the parameter draw each seed used (None: parameters known, every seed
an outcome draw); `compare`'s own is
`leadrouter.sim.intervals.expected_interval` at 95%."""


def recheck(rows: pd.DataFrame, interval: IntervalBuilder) -> pd.DataFrame:
    """`rows` (from `coverage_study` or `read_rows_file`) with each interval built again by
    `interval` from the same per-seed values: `estimate`, `lo`, `hi` and `covered` replaced, a
    level's bounds kept within its metric's range as `Comparison.table` keeps them. An interval
    is measured on the study's simulations in seconds, where running them takes hours; given
    `compare`'s own interval, the rows come back as they were."""
    from leadrouter.sim.metrics import within_range

    if "values" not in rows or rows["values"].map(lambda kept: not isinstance(kept, list)).any():
        raise ConfigError(
            "recheck: these rows do not keep their per-seed values (a rows file begun before "
            "they were kept); run the study again into a new file"
        )
    built = []
    for values, draws, metric, kind in zip(
        rows["values"], rows["draws"], rows["metric"], rows["kind"], strict=True
    ):
        mean, low, high = interval(
            np.asarray(values, dtype=float), None if draws is None else tuple(draws)
        )
        built.append(
            (mean, *within_range(metric, low, high)) if kind == "level" else (mean, low, high)
        )
    estimate, lo, hi = (np.array(part, dtype=float) for part in zip(*built, strict=True))
    truth = rows["truth"].to_numpy(dtype=float)
    return rows.assign(estimate=estimate, lo=lo, hi=hi, covered=(lo <= truth) & (truth <= hi))


def summarise(rows: pd.DataFrame, by: Iterable[str] = ("policy", "metric", "kind")) -> pd.DataFrame:
    """One row per group of `by` (`SUMMARY_COLUMNS`): how many histories, the share whose
    interval covered the truth, the mean signed error (estimate - truth), the mean half-width,
    their ratio (the aim: under 0.2), the truth's mean standard error, and `p_nominal`: the
    two-sided binomial test of the covered count against the promised 95%.

    Why the test: a coverage share over n histories is itself a binomial estimate. With n = 102
    and intervals that cover exactly 95%, a row's share falls outside 93-97% about one time in
    three by chance alone, so across 36 rows some always will; `p_nominal` says which rows depart
    from 95% by more than chance (small p), so over- and under-coverage can be told from luck."""
    from scipy import stats

    keys = list(by)
    frame = rows.assign(
        error=rows["estimate"] - rows["truth"], half_width=(rows["hi"] - rows["lo"]) / 2.0
    )
    grouped = frame.groupby(keys, sort=False)
    summary = pd.DataFrame(
        {
            "histories": grouped.size(),
            "coverage": grouped["covered"].mean(),
            "mean_error": grouped["error"].mean(),
            "mean_half_width": grouped["half_width"].mean(),
            "truth_se": grouped["truth_se"].mean(),
        }
    )
    summary["error_over_half_width"] = (
        summary["mean_error"].abs() / summary["mean_half_width"]
    ).replace([np.inf], np.nan)
    covered = grouped["covered"].sum()
    summary["p_nominal"] = [
        stats.binomtest(int(k), int(n), NOMINAL).pvalue
        for k, n in zip(covered, summary["histories"], strict=True)
    ]
    return summary.reset_index()[[*keys, *SUMMARY_STATS]]


def verdicts(summary: pd.DataFrame) -> pd.Series[str]:
    """Per row of `summarise`'s table, how it stands against the aim: "ok", or what it misses
    ("coverage" outside `AIM`, "error" over `AIM_ERROR` of the half-width, or both)."""
    coverage = ~summary["coverage"].between(*AIM)
    error = summary["error_over_half_width"] > AIM_ERROR
    words = [
        ", ".join(word for word, missed in (("coverage", c), ("error", e)) if missed) or "ok"
        for c, e in zip(coverage, error, strict=True)
    ]
    return pd.Series(words, index=summary.index, dtype=object)
