"""The off-policy estimators' arithmetic (`leadrouter.sim.evaluate`): each estimator's mean
over the supported leads and its normal interval, whose variance comes from the direct model
recalibrated to the log (`Moments`), never from the outcomes' own variance; and the cuts that
keep an estimate and its interval inside what a rate or an amount can be."""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
from scipy import stats

__all__ = ["Moments", "cut", "half_width", "interval", "plain", "z_of"]

Array = np.ndarray[Any, Any]


def cut(mean: float, half: float, ceiling: float) -> tuple[float, float, float]:
    """An estimate and its interval cut to [0, ceiling], where every truth lies: the estimate
    is kept inside its cut interval (a doubly robust mean can fall below 0), and an interval
    wholly outside gives no estimate (NaN): the log and the model then disagree too much for
    any figure to stand."""
    low, high = max(mean - half, 0.0), min(mean + half, ceiling)
    if low > high:
        return math.nan, math.nan, math.nan
    return min(max(mean, low), high), low, high


def z_of(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2.0))


@attrs.frozen(eq=False)
class Moments:
    """One policy's supported leads for one metric, and the three estimators' intervals.

    The variance of each estimator is computed from the direct model, recalibrated to the log
    (`mean`, `second`: the model's first and second moment of the outcome for the policy's
    choice, times `Evaluation.calibration`), never from the outcomes themselves. Why: with
    weights of 30 to 50, the outcomes' own variance moves with the estimate - a log in which
    few of the matched leads happened to buy gives both a low estimate and a near-zero
    variance, so the interval is narrowest exactly when it is most wrong (measured: two in
    three covered), and taking the larger of the two variances over-covers (99%). The model's
    variance depends only on which leads matched, not on whether they bought, so the error
    over its standard error is close to normal (measured coverage 94-97%, docs/analyst/
    evaluate.md).

    Per lead, with `p` the logged chance of the policy's choice (so `w = 1/p` when matched and
    0 otherwise), the variance of each term is estimated without bias by its matched part
    `w^2 E[...]` less the square of its expectation, the unmatched leads contributing only the
    latter.
    """

    w: Array
    q_logged: Array
    q: Array
    mean: Array
    second: Array

    @property
    def top(self) -> float:
        """The largest weight (at least 1): the variances are summed in units of its square,
        so a propensity of 1e-300 (a weight of 1e300) does not overflow a square."""
        return max(float(self.w.max(initial=1.0)), 1.0)

    def doubly_robust(self, y: Array, level: float) -> tuple[float, float]:
        """Mean of `q(a*) + w (y - q(a))`: the residual `y - q` has second moment
        `second - 2 q mean + q^2` and mean `mean - q` under the recalibrated model."""
        residual = self.second - 2.0 * self.q * self.mean + self.q**2
        top = self.top
        terms = (self.w / top) ** 2 * residual - ((self.mean - self.q) / top) ** 2
        return interval(self.q + self.w * (y - self.q_logged), terms, level, top)

    def inverse_propensity(self, y: Array, level: float) -> tuple[float, float]:
        """Mean of `w y`: per lead `w^2 second - mean^2`."""
        top = self.top
        terms = (self.w / top) ** 2 * self.second - (self.mean / top) ** 2
        return interval(self.w * y, terms, level, top)

    def self_normalised(self, y: Array, level: float) -> tuple[float, float]:
        """`sum(w y) / sum(w)` with its delta-method variance: the influence of a lead is
        `w (y - ratio)` over the mean weight, its second moment taken under the model and
        centred on the estimate itself (so this one half-width moves with the estimate)."""
        n = len(y)
        total = float(self.w.sum())
        if n == 0 or total <= 0:
            return math.nan, math.nan
        ratio = float((self.w * y).sum()) / total
        share = self.w / (total / n)  # each weight over the mean weight, however large they are
        terms = share**2 * (self.second - 2.0 * ratio * self.mean + ratio**2)
        return ratio, half_width(terms, level)


def plain(values: Array, level: float) -> tuple[float, float]:
    """The mean of observed outcomes with its normal half-width from their own variance (no
    weights, many leads: the case the empirical variance is right for)."""
    n = len(values)
    if n < 2:
        return (float(values.mean()) if n else math.nan), math.inf if n else math.nan
    return float(values.mean()), z_of(level) * float(values.std(ddof=1)) / math.sqrt(n)


def interval(values: Array, terms: Array, level: float, unit: float = 1.0) -> tuple[float, float]:
    """The mean of `values` and the half-width of its normal interval (`half_width`); NaN for
    no values."""
    if len(values) == 0:
        return math.nan, math.nan
    return float(values.mean()), half_width(terms, level, unit)


def half_width(terms: Array, level: float, unit: float = 1.0) -> float:
    """The normal half-width of a mean over n leads whose variance is `sum(terms) / n^2`, each
    term a lead's variance under the model in units of `unit` squared."""
    return z_of(level) * unit * math.sqrt(max(float(terms.sum()), 0.0)) / len(terms)
