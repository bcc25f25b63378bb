"""Benchmark: other intervals measured on a coverage study's simulations, beside compare's own.

Run from the project root, on a rows file a coverage study wrote (bench_coverage.py --resume)::

    python benchmarks/bench_intervals.py coverage-rows.jsonl
    python benchmarks/bench_intervals.py coverage-rows.jsonl --json intervals.json
    python benchmarks/bench_intervals.py --normal 5x4     # where the intervals' model holds

A coverage study spends hours simulating; its rows keep the per-seed values each interval was
built from and each seed's parameter draw, so an interval built another way from the same values
is measured against the same truth in seconds (`leadrouter.sim.coverage.recheck`). Three are
measured, all from a row's K groups of m seeds that share one parameter draw (20 seeds: K = 5,
m = 4), with between-group variance s_b^2 (K - 1 degrees of freedom) and pooled within-group
variance s_w^2 (K(m - 1)):

- `compare`: compare's own (`leadrouter.sim.intervals.expected_interval`), the prediction
  interval of one more draw, mean +- t(K-1) s_b sqrt(1 + 1/K). s_b^2 counts the outcome noise
  left in a group's mean, s_w^2 / m, as if it were parameter uncertainty: wide where that noise
  dominates.
- `subtracted`: that noise taken out, V = (1 + 1/K) s_b^2 - s_w^2 / m (the parameter spread
  estimated by one-way ANOVA, plus the mean's own Monte Carlo error s_w^2 / (mK)), never below
  s_w^2 / (mK), with Satterthwaite's degrees of freedom.
- `random effects`: the predictive interval of a normal random-effects model with a flat prior
  on the parameter spread tau and s_w^2 taken as known: a mixture over tau of normals of
  variance tau^2 (1 + 1/K) + s_w^2 / (mK), weighted by the likelihood of s_b^2.

Where every seed had its own draw (m = 1) no outcome noise can be told apart, and the two others
are compare's own.

Printed: per interval, the share of level and difference intervals that covered the truth, the
rows (policy, metric, kind) within the aim (93-97% covered, mean error under a fifth of the
half-width), the rows that depart from 95% by more than chance (binomial test, Bonferroni over
the rows), and the largest err / half-width; then every row's coverage under each interval. An
interval tuned on a study's histories should be judged on histories it was not tuned on: give
`--histories FIRST:STOP` to measure on part of a file.

`--normal 5x4` measures the same intervals where the model they assume holds exactly (normal
draws and noise, no simulation), across the ratio of the parameter spread to the outcome noise
left in a group's mean (tau^2 over the noise variance over m; the F ratio s_b^2 / (s_w^2 / m)
estimates this ratio plus 1), with compare's own coverage also in closed form (`compare:
exact`). It shows what no rows file can: with five draws, a row whose parameters barely move it
(ratio near 0) cannot be told from one they move moderately (ratio 0.5-1), so an interval that
keeps 95% on the latter covers nearly all of the former.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from leadrouter.sim.coverage import IntervalBuilder, read_rows_file, recheck, summarise, verdicts
from leadrouter.sim.intervals import expected_interval

LEVEL = 0.95


def _groups(
    values: np.ndarray[Any, Any], draws: Sequence[int] | None
) -> list[np.ndarray[Any, Any]]:
    """A row's usable values in the groups of seeds that shared a parameter draw."""
    keep = ~np.isnan(values)
    by_draw: dict[int, list[float]] = {}
    for value, draw in zip(values[keep], np.asarray(draws)[keep], strict=True):
        by_draw.setdefault(int(draw), []).append(float(value))
    return [np.array(group) for group in by_draw.values()]


def _spreads(groups: list[np.ndarray[Any, Any]]) -> tuple[int, float, float, float, int]:
    """K, the mean group size m, s_b^2 and s_w^2, and s_w^2's degrees of freedom."""
    means = np.array([group.mean() for group in groups])
    within = sum(len(group) - 1 for group in groups)
    squares = sum(float(((group - group.mean()) ** 2).sum()) for group in groups)
    size = float(np.mean([len(group) for group in groups]))
    return len(groups), size, float(means.var(ddof=1)), squares / within if within else 0.0, within


def _one_seed_a_draw(values: np.ndarray[Any, Any], draws: Sequence[int] | None) -> bool:
    """Whether no outcome noise can be told apart from the parameter spread: parameters known
    (no draws), every seed its own draw, or fewer than two draws."""
    if draws is None:
        return True
    groups = _groups(values, draws)
    return len(groups) < 2 or all(len(group) < 2 for group in groups)


def compare_own(
    values: np.ndarray[Any, Any], draws: Sequence[int] | None
) -> tuple[float, float, float]:
    return expected_interval(values, draws, LEVEL)


def _from_groups(
    build: Callable[[float, int, float, float, float, int], tuple[float, float, float]],
) -> IntervalBuilder:
    """An interval built from a row's mean, K, m, s_b^2, s_w^2 and s_w^2's degrees of freedom;
    compare's own where no outcome noise can be told apart (`_one_seed_a_draw`)."""

    def interval(
        values: np.ndarray[Any, Any], draws: Sequence[int] | None
    ) -> tuple[float, float, float]:
        if _one_seed_a_draw(values, draws):
            return compare_own(values, draws)
        return build(float(np.nanmean(values)), *_spreads(_groups(values, draws)))

    return interval


@_from_groups
def subtracted(
    mean: float, k: int, m: float, between: float, within: float, df_within: int
) -> tuple[float, float, float]:
    scale, share = 1.0 + 1.0 / k, 1.0 / m
    variance = scale * between - share * within
    floor = within / (m * k)
    if variance <= floor:
        variance, df = floor, float(df_within)
    else:
        df = variance**2 / ((scale * between) ** 2 / (k - 1) + (share * within) ** 2 / df_within)
    half = float(stats.t.ppf(0.5 + LEVEL / 2, max(df, 1.0))) * math.sqrt(variance)
    return mean, mean - half, mean + half


_TAU = np.concatenate([[0.0], np.geomspace(1e-3, 200.0, 400)])
"""The grid of parameter spreads, in units of the row's own spread."""


@_from_groups
def random_effects(
    mean: float, k: int, m: float, between: float, within: float, _: int
) -> tuple[float, float, float]:
    unit = math.sqrt(max(between, within / m))
    if unit == 0.0:
        return mean, mean, mean
    tau = _TAU * unit
    spread = tau**2 + within / m
    log_weight = -(k - 1) / 2 * np.log(spread) - (k - 1) * between / (2 * spread)
    weight = np.exp(log_weight - log_weight.max()) * np.gradient(tau)
    weight /= weight.sum()
    sd = np.sqrt(tau**2 * (1 + 1 / k) + within / (m * k))
    low, high = 0.0, 50.0 * unit
    for _ in range(60):  # the half-width at which the mixture holds LEVEL, by bisection
        half = (low + high) / 2
        inside = float((weight * (2 * stats.norm.cdf(half / sd) - 1)).sum())
        low, high = (half, high) if inside < LEVEL else (low, half)
    return mean, mean - high, mean + high


INTERVALS: dict[str, IntervalBuilder] = {
    "compare": compare_own,
    "subtracted": subtracted,
    "random effects": random_effects,
}


def measure(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per interval, the overall figures; and every row's coverage under each."""
    overall, per_row = [], {}
    for name, build in INTERVALS.items():
        again = recheck(rows, build)
        summary = summarise(again)
        kinds = again.groupby("kind")["covered"].mean()
        departing = summary["p_nominal"] < 0.05 / len(summary)
        overall.append(
            {
                "interval": name,
                "levels covered": float(kinds.get("level", math.nan)),
                "differences covered": float(kinds.get("diff", math.nan)),
                "rows within the aim": int((verdicts(summary) == "ok").sum()),
                "rows departing": int(departing.sum()),
                "largest err / half-width": float(summary["error_over_half_width"].max()),
            }
        )
        per_row[name] = summary.set_index(["policy", "metric", "kind"])["coverage"]
    return pd.DataFrame(overall), pd.DataFrame(per_row)


def normal_study(
    groups: int, size: int, ratios: Sequence[float], repeats: int, seed: int = 1
) -> pd.DataFrame:
    """Each interval's coverage and mean width where the model it assumes holds exactly:
    `groups` draws of `size` seeds, value = g_k + e, g_k ~ N(0, tau^2) one draw's answer,
    e ~ N(0, 1) outcome noise, the truth a fresh g ~ N(0, tau^2); per ratio tau^2 / (1 / size),
    the parameter spread over the outcome noise left in a group's mean. `oracle` is the width
    an interval knowing tau and the noise would have."""
    rng = np.random.default_rng(seed)
    draws = tuple(np.repeat(np.arange(groups), size).tolist())
    found = []
    for ratio in ratios:
        tau = math.sqrt(ratio / size)
        covered = dict.fromkeys(INTERVALS, 0)
        width = dict.fromkeys(INTERVALS, 0.0)
        for _ in range(repeats):
            answers = rng.normal(0.0, tau, groups)
            truth = rng.normal(0.0, tau)
            values = answers[np.asarray(draws)] + rng.normal(0.0, 1.0, groups * size)
            for name, build in INTERVALS.items():
                _, low, high = build(values, draws)
                covered[name] += low <= truth <= high
                width[name] += high - low
        oracle = 2 * 1.96 * math.sqrt(tau**2 * (1 + 1 / groups) + 1 / (size * groups))
        row: dict[str, float] = {
            "tau^2 / noise": ratio,
            "oracle width": oracle,
            "compare: exact": compare_exact(groups, ratio),
        }
        for name in INTERVALS:
            row[f"{name}: covered"] = covered[name] / repeats
            row[f"{name}: width"] = width[name] / repeats
        found.append(row)
    return pd.DataFrame(found)


def compare_exact(groups: int, ratio: float) -> float:
    """Compare's own coverage where its model holds, in closed form: the error of the mean over
    the truth is normal and independent of s_b^2, so the covered share is
    P(|T(K-1)| <= t sqrt(c)), c = (ratio + 1)(1 + 1/K) / (ratio (1 + 1/K) + 1/K)."""
    scale = 1 + 1 / groups
    c = (ratio + 1) * scale / (ratio * scale + 1 / groups)
    t = float(stats.t.ppf(0.5 + LEVEL / 2, groups - 1))
    return float(2 * stats.t.cdf(t * math.sqrt(c), groups - 1) - 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "rows", type=Path, nargs="?", help="a coverage study's rows file (JSON lines)"
    )
    parser.add_argument(
        "--normal",
        metavar="KxM",
        help="instead, measure the intervals where their model holds exactly, K draws of M "
        "seeds (5x4 is compare's default of 20 seeds), across parameter-to-noise ratios",
    )
    parser.add_argument("--repeats", type=int, default=1000, help="with --normal (1000)")
    parser.add_argument(
        "--histories", default=":", help="FIRST:STOP, the histories to measure on (all)"
    )
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    if args.normal is not None:
        groups, _, size = args.normal.partition("x")
        ratios = (0.0, 0.2, 0.5, 1.0, 3.0, 10.0, 100.0)
        table = normal_study(int(groups), int(size), ratios, args.repeats)
        print(f"Intervals where their model holds: {groups} draws of {size} seeds\n")
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
        return 0
    if args.rows is None:
        parser.error("give a coverage study's rows file, or --normal KxM")
    _, rows = read_rows_file(args.rows)
    first, _, stop = args.histories.partition(":")
    histories = rows["history"]
    rows = rows[(histories >= int(first or 0)) & (histories < int(stop or histories.max() + 1))]
    if rows.empty:
        print(f"{args.rows}: no finished histories in {args.histories}", file=sys.stderr)
        return 2
    overall, per_row = measure(rows.reset_index(drop=True))
    count = rows["history"].nunique()
    print(f"Intervals measured on {count} histories of {args.rows} ({len(per_row)} rows)\n")
    print(overall.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print()
    print(per_row.to_string(float_format=lambda x: f"{x:.0%}"))
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "histories": count,
                    "overall": overall.to_dict("records"),
                    "rows": per_row.reset_index().to_dict("records"),
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
