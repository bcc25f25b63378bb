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

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_all_start_methods, get_context
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import pandas as pd

from leadrouter.errors import ConfigError

if TYPE_CHECKING:
    from leadrouter.sim.engine import Policy
    from leadrouter.sim.history import History

__all__ = [
    "COVERAGE_METRICS",
    "NOMINAL",
    "ROW_COLUMNS",
    "SHAPES",
    "SUMMARY_COLUMNS",
    "SUMMARY_STATS",
    "Shape",
    "coverage_study",
    "study_policies",
    "summarise",
]

NOMINAL = 0.95
"""The coverage every interval promises."""

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
)
"""One row per (history, policy, metric, kind): kind is `level` or `diff`."""

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
) -> list[dict[str, Any]]:
    """The rows of one history: the truth, the fitted comparison and their agreement."""
    from scipy import stats

    from leadrouter.sim.behaviour import fit_behaviour
    from leadrouter.sim.compare import compare

    history = shape.history(seed=10_000 + index)
    assert history.truth is not None
    policies = dict(choose(history))
    baseline = next(iter(policies))
    truth = compare(
        history,
        policies,
        seeds=range(1_000_000, 1_000_000 + truth_seeds),
        behaviour=history.truth.behaviour(),
        calibrate=False,
        parameter_draws=False,
    )
    fitted = compare(
        history, policies, seeds=seeds, behaviour=fit_behaviour(history), calibrate=False
    )
    true_table: dict[str, dict[str, float]] = truth.table().to_dict("index")  # type: ignore[assignment]
    table: dict[str, dict[str, float]] = fitted.table().to_dict("index")  # type: ignore[assignment]
    t = float(stats.t.ppf(0.975, truth_seeds - 1))
    rows: list[dict[str, Any]] = []
    for name in policies:
        for metric in metrics:
            for kind, suffix in (("level", ""), ("diff", "_diff")):
                if kind == "diff" and name == baseline:
                    continue
                column = f"{metric}{suffix}"
                true, est = true_table[name], table[name]
                lo, hi = est[f"{column}_lo"], est[f"{column}_hi"]
                rows.append(
                    {
                        "history": index,
                        "shape": shape.name,
                        "policy": name,
                        "metric": metric,
                        "kind": kind,
                        "truth": true[column],
                        # the truth's standard error, from its t-interval over truth_seeds
                        "truth_se": (true[f"{column}_hi"] - true[column]) / t,
                        "estimate": est[column],
                        "lo": lo,
                        "hi": hi,
                        "covered": bool(lo <= true[column] <= hi),
                    }
                )
    return rows


_JOB: list[Any] = []


def _forked(index: int) -> list[dict[str, Any]]:
    shapes, seeds, truth_seeds, metrics, choose = _JOB[0]
    return _one(index, shapes[index % len(shapes)], seeds, truth_seeds, metrics, choose)


def _share(job: Any) -> None:
    _JOB[:] = [job]


def coverage_study(
    histories: int = 100,
    seeds: int = 20,
    truth_seeds: int = 30,
    shapes: Sequence[Shape] = SHAPES,
    metrics: Sequence[str] = COVERAGE_METRICS,
    policies: Callable[[History], Mapping[str, Policy]] = study_policies,
    processes: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Measure coverage over `histories` synthetic histories (cycling through `shapes`, each
    history with its own generating seed): a tidy frame with `ROW_COLUMNS`, one row per
    (history, policy, metric, level or difference). `policies(history)` gives the policies to
    compare, the first being the baseline. `processes > 1` runs histories in forked worker
    processes. Deterministic: the same arguments give the same frame."""
    if histories < 1 or seeds < 2 or truth_seeds < 2:
        raise ConfigError(
            f"coverage_study: needs histories >= 1, seeds >= 2 and truth_seeds >= 2, got "
            f"{histories}, {seeds}, {truth_seeds}"
        )
    if not shapes:
        raise ConfigError("coverage_study: needs at least one Shape")
    job = (tuple(shapes), seeds, truth_seeds, tuple(metrics), policies)
    found: list[list[dict[str, Any]]] = []
    indices = range(histories)
    if processes > 1 and histories > 1 and "fork" in get_all_start_methods():
        with ProcessPoolExecutor(
            max_workers=min(processes, os.cpu_count() or 1, histories),
            mp_context=get_context("fork"),
            initializer=_share,
            initargs=(job,),
        ) as pool:
            for done, rows in enumerate(pool.map(_forked, indices), start=1):
                found.append(rows)
                if progress is not None:
                    progress(done, histories)
    else:
        _share(job)
        for done, index in enumerate(indices, start=1):
            found.append(_forked(index))
            if progress is not None:
                progress(done, histories)
    return pd.DataFrame([row for rows in found for row in rows], columns=list(ROW_COLUMNS))


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
