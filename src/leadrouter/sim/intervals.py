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

- Replicates come in **pairs that share one parameter draw** (seeds at positions 0 and 1 use the
  first seed's draw, 2 and 3 the third's, ...). A pair's mean is one draw of the model's answer,
  with half a replicate's outcome noise left in it.
- The interval is the prediction interval of one more such draw: `mean ± t · s · sqrt(1 + 1/K)`,
  s the standard deviation of the K pair means, t with K - 1 degrees of freedom. The truth is
  treated as one more draw from the parameters' uncertainty, so the interval does not shrink to
  nothing as seeds grow (s tends to the parameter spread plus half the outcome noise), and it
  errs on the wide side when outcome noise dominates: the outcome noise could be subtracted
  (within-pair differences estimate it), but with 10-20 pairs that subtraction is too noisy to
  keep the promised coverage - measured, it covered 83-91% where parameter spread and outcome
  noise are of similar size. This is the same prediction interval calibration uses.
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
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["Interval", "expected_interval", "pair_draws"]

Interval = tuple[float, float, float]
"""(estimate, low, high)."""


def pair_draws(seeds: Sequence[int]) -> tuple[int, ...]:
    """The parameter draw each seed uses: seeds are paired in the order given, and both seeds of
    a pair use the first one's draw (a lone last seed uses its own)."""
    return tuple(seeds[position - position % 2] for position in range(len(seeds)))


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
