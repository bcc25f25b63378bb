"""Intervals for the expected outcome of a policy on a lead stream, from replicates.

The estimand. `compare` reports, for each policy, the outcome it would have *on average* over the
randomness of outcomes (who answers, who buys) on this history's lead stream, under the team's
true behaviour; and each difference between two policies of those expectations. A replicate
(one seed) draws the behaviour model's parameters from their uncertainty (a Bayesian bootstrap of
the history, for a fitted model) and one set of outcomes; its value for a metric is

    value = g(parameters) + outcome noise,

where g is the expected outcome under those parameters. The spread of g over parameter draws is
what we do not know about the truth; the outcome noise is not part of the estimand. Sales and
revenue are taken out of most of it at the source: `compare` counts each run's sales as their
expectation given the run's path (`leadrouter.sim.metrics._expected_sales`), so what remains is
the noise of the path (who was touched, when), not the coin flip of every sale.

- Replicates come in **groups that share one parameter draw**: up to four seeds a draw
  (`SEEDS_PER_DRAW`), and never fewer than five draws (`FEWEST_DRAWS`) when there are five seeds
  or more. With 20 seeds, positions 0-3 use the first seed's draw, 4-7 the fifth's, ...; with 12,
  five draws of two or three seeds; with 40, ten draws of four; with 4, every seed its own draw.
  A group's mean is one draw of the model's answer, with 1/m of a replicate's outcome noise left
  in it for a group of m.
- The interval is the prediction interval of one more such draw: `mean ± t · s · sqrt(1 + 1/K)`,
  s the standard deviation of the K group means, t with K - 1 degrees of freedom. The truth is
  treated as one more draw from the parameters' uncertainty, so the interval does not shrink to
  nothing as seeds grow (s tends to the parameter spread plus a quarter of the outcome noise), and
  it errs on the wide side when outcome noise dominates. Why four, and at least five draws: the
  outcome noise left in a group's mean is what makes the interval err wide, and the price of
  larger groups is fewer draws, so fewer degrees of freedom for t. Measured on the coverage
  benchmark's histories with 20 seeds, groups of four (5 draws) covered the truth in 95.8% of
  levels and 96.1% of differences, pairs (10 draws) in 97.6% and 98.5%, with the difference rows
  of the weighted policies at 99-100% (docs/analyst/limits.md). Subtracting the outcome noise
  instead (within-group differences estimate it) is too noisy with 5-20 draws to keep the
  promised coverage: measured, it covered 82-91%. Where the interval's own model holds exactly
  (benchmarks/bench_intervals.py --normal, and in closed form), it covers 95.1-97% where the
  parameter spread's variance is over about twice that of the outcome noise left in a group's
  mean, and up to 99.8% where the parameters barely move a figure: five draws cannot tell the
  two apart, so no interval built from them can be narrower there and keep 95% elsewhere
  (docs/analyst/limits.md). Calibration predicts one observed
  realisation, outcome noise included, so there every seed has its own draw
  (`leadrouter.sim.calibration`).
- With parameters taken as known (a given model, or `parameter_draws=False`), every replicate is
  an outcome draw and the estimand's only uncertainty is Monte Carlo error: the interval is the
  t-interval of the mean, `mean ± t · s / sqrt(R)`, which does shrink as seeds grow.

Differences are computed per replicate first (paired: both policies saw the same parameters and
outcomes), then the same interval is built from the paired differences. Coverage against a known
truth is measured by benchmarks/bench_coverage.py (docs/analyst/limits.md). Intervals exclude
model misspecification.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "FEWEST_DRAWS",
    "SEEDS_PER_DRAW",
    "Interval",
    "draws_shared",
    "expected_interval",
    "share_draws",
]

Interval = tuple[float, float, float]
"""(estimate, low, high)."""


SEEDS_PER_DRAW = 4
"""The most seeds that share one parameter draw (see the module docstring for why four)."""

FEWEST_DRAWS = 5
"""The fewest parameter draws the seeds are shared over, while there are that many seeds."""


def share_draws(seeds: Sequence[int]) -> tuple[int, ...]:
    """The parameter draw each seed uses: the seeds, in the order given, are split into
    K = max(min(n, FEWEST_DRAWS), ceil(n / SEEDS_PER_DRAW)) consecutive groups whose sizes differ by
    at most one, and every seed of a group uses the draw of the group's first seed."""
    n = len(seeds)
    k = max(min(n, FEWEST_DRAWS), -(-n // SEEDS_PER_DRAW))
    # position i is in group i*k // n, which starts at position ceil(group * n / k)
    return tuple(seeds[-(-(position * k // n) * n // k)] for position in range(n))


def draws_shared(draws: Sequence[int]) -> str:
    """How `share_draws` shared the draws, in words: "5 parameter draws, 4 seeds each", "5
    parameter draws of 2-3 seeds", "4 parameter draws, one per seed"."""
    sizes = Counter(draws).values()
    low, high = min(sizes, default=0), max(sizes, default=0)
    count = f"{len(sizes)} parameter draw{'' if len(sizes) == 1 else 's'}"
    if high <= 1:
        return f"{count}, one per seed"
    return f"{count}, {high} seeds each" if low == high else f"{count} of {low}-{high} seeds"


def expected_interval(
    values: np.ndarray[Any, Any], draws: Sequence[int] | None, level: float = 0.95
) -> Interval:
    """The estimate and `level` interval of an expected outcome from per-replicate `values`
    (see the module docstring). `draws[i]` is the parameter draw replicate i used (None: the
    parameters were known, every replicate an outcome draw). NaN values are left out; with
    fewer than two usable draws the interval is NaN. Equal values give a zero-width interval.
    """
    from scipy import stats

    values = np.asarray(values, dtype=float)
    keep = ~np.isnan(values)
    if not keep.any():
        return math.nan, math.nan, math.nan
    mean = float(values[keep].mean())
    if draws is None:
        units = values[keep]
        scale = 1.0 / len(units)
    else:
        groups: dict[int, list[float]] = {}
        for value, draw, ok in zip(values, draws, keep, strict=True):
            if ok:
                groups.setdefault(draw, []).append(float(value))
        units = np.array([np.mean(group) for group in groups.values()])
        scale = 1.0 + 1.0 / len(units)
    k = len(units)
    if k < 2:
        return mean, math.nan, math.nan
    spread = float(units.std(ddof=1))
    if spread == 0.0:
        return mean, mean, mean
    half = float(stats.t.ppf(0.5 + level / 2.0, k - 1)) * spread * math.sqrt(scale)
    return mean, mean - half, mean + half
