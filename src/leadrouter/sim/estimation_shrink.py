"""How far a fitted model shrinks rep factors and rep x segment rates, and how a replicate
redraws them: by the spread the history shows between them, net of chance (empirical Bayes).

A rep's closing factor is their sales over the sales their lead mix leads one to expect, and a
rep x segment pair's rate is a multiple of its prior (segment rate x rep factor). Both are
gamma-Poisson: the true multiple has a gamma prior of mean 1 and variance tau^2, i.e. `shape =
1 / tau^2` pseudo-sales at the prior, and its posterior mean is `(sales + shape) / (expected +
shape)`. A fixed pseudo-count shrinks reps that close alike too little: the luckiest and
unluckiest of them then read as strong and weak, and a policy that picks reps by those same
win rates (a tiered policy's weakest closers) is credited with a gain it would not have, since
policy and model select on the same sales (a winner's curse). The posterior mean under the
right prior carries no such bias, whatever the selection. So tau is the history's own:

- between reps, `RepSpread` (`leadrouter.sim.repspread`: maximum likelihood of a random-effects
  logistic model), its log-odds sd put on the scale of a rate ratio (`rep_shape`);
- between pairs, the DerSimonian-Laird moment estimate over the pairs' sales against their
  priors, the chance part counted with the degrees of freedom the priors used up (`pair_shape`).

A replicate keeps the fit's rep spread and re-estimates the pairs' from its own weighted sums;
it then draws the reps and pairs from their posterior given those spreads: its sales are the
Bayesian bootstrap's weighted sums, which vary as the data's uncertainty does, and its
pseudo-sales a Gamma(shape, 1) draw keyed by (seed, name) (`pseudo_sales`), whose mean is the
`shape`. The sum `(sales + pseudo) / (expected + shape)` then varies about as its posterior does:
a rep or pair seen on many sales by its sampling error, one seen on almost none by the team's
spread. Across reps, posterior means differ less than the true reps do (by the shrinkage); the
posterior draws add back what is missing, so a policy that learns inside the simulation who
closes best (performance weighting, profile matching) meets reps that differ about as much as
the spread says.

How a replicate treats each spread is what the coverage study measured (docs/analyst/limits.md).
The pairs' spread is often estimated at zero, and held there a learning policy met no pair
differences in any replicate and its gain came out too small; re-estimated from the replicate's
weighted sums it varies as the estimate's own uncertainty does (`pair_shape`'s `chance`: the
bootstrap adds a second sampling error to the data's, so chance is counted twice and the
replicates' spreads centre on the fit's). The reps' spread is held: drawing it from its
flat-prior posterior made reps differ more than the truth on small histories.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from leadrouter._util import stable_key, unit_uniform
from leadrouter.sim.repspread import RepSpread

__all__ = [
    "MOST_PSEUDO_SALES",
    "Shrinkage",
    "pair_shape",
    "pseudo_sales",
    "rep_shape",
    "spread_words",
]

MOST_PSEUDO_SALES = 1e6
"""The pseudo-sales of a spread of (nearly) zero: the prior alone, to within a millionth."""


@attrs.frozen
class Shrinkage:
    """The pseudo-sales a fit shrank rep factors (`rep`) and rep x segment pairs (`pair`) with,
    `1 / tau^2` each; a replicate shrinks reps with the same and re-estimates the pairs' (see the
    module docstring). `by_spread` is False when no spread between reps could be measured (reps
    unknown, or no sale) and the reps' prior is the fit's fixed pseudo-count."""

    rep: float
    pair: float
    by_spread: bool = True


def spread_words(shape: float) -> str:
    """A gamma prior's spread in words: the sd of the true multiple of its mean."""
    return f"sd {0.0 if shape >= MOST_PSEUDO_SALES else shape**-0.5:.0%} of the rate"


def _shape(variance: float) -> float:
    """Pseudo-sales of a gamma prior of mean 1 and `variance`."""
    return MOST_PSEUDO_SALES if variance <= 1.0 / MOST_PSEUDO_SALES else 1.0 / variance


def rep_shape(spread: RepSpread | None, expected: Any) -> float | None:
    """The pseudo-sales a rep factor is shrunk with: `1 / tau^2`, tau the between-rep spread of
    closing (`spread.sd`) put from the log-odds scale on the rate-ratio scale of a rep factor: a
    rep's expected sales `sum p` move by `sum p (1 - p) / sum p` per unit of log-odds,
    `expected` the leads' chances from their mix. None when there is no spread to go by (reps
    unknown, or nothing to tell apart): the caller keeps its fixed prior."""
    if spread is None:
        return None
    p = np.clip(np.asarray(expected, dtype=float), 0.0, 1.0)
    scale = float((p * (1.0 - p)).sum() / max(float(p.sum()), 1e-12))
    return _shape((spread.sd * scale) ** 2)


def pair_shape(sales: Any, count: Any, prior: Any, used: int, chance: float = 1.0) -> float:
    """The pseudo-sales a rep x segment pair's multiple of its prior is shrunk with: `1 / tau^2`,
    tau^2 the DerSimonian-Laird moment estimate of the pairs' spread beyond chance.

    Each pair's ratio of `sales` to expected sales (`count * prior`) has sampling variance
    `(1 - prior) / expected` (binomial); Cochran's Q of the ratios, less the `pairs - used`
    it would average from chance alone, over the weights' spread, is tau^2 (at least 0). `used`
    counts the figures the priors were fitted with (reps + segments - 1), so a team whose pairs
    are only what their rep and segment make them gets tau^2 near 0 and pairs at their prior.
    Pairs without an expected sale tell nothing and are left out. `chance` counts the sampling
    errors in the sums: 1 for the data, 2 for a Bayesian-bootstrap replicate's weighted sums
    (the resampling adds its own), so a replicate's tau^2 centres on the fit's."""
    expected = np.asarray(count, dtype=float) * np.asarray(prior, dtype=float)
    keep = expected > 0
    free = int(keep.sum()) - used
    if free < 1:
        return MOST_PSEUDO_SALES
    expected, found = expected[keep], np.asarray(sales, dtype=float)[keep]
    weight = expected / np.clip(1.0 - np.asarray(prior, dtype=float)[keep], 1e-3, 1.0)
    ratio = found / expected
    centre = float((weight * ratio).sum() / weight.sum())
    q = float((weight * (ratio - centre) ** 2).sum())
    scale = float(weight.sum() - (weight**2).sum() / weight.sum())
    return _shape(max(q - chance * free, 0.0) / max(scale, 1e-12))


def pseudo_sales(shape: float, seed: int | None, names: list[str]) -> Any:
    """The pseudo-sales at the prior, one per name: `shape` itself in the fit (`seed` None, the
    posterior mean), a Gamma(shape, 1) draw keyed by (seed, name) in a replicate, so the prior's
    part of a posterior varies as the prior does."""
    from scipy import stats

    if seed is None:
        return np.full(len(names), float(shape))
    u = np.array([unit_uniform(stable_key(seed, f"shrink\x00{name}")) for name in names])
    return np.asarray(stats.gamma.ppf(u, shape), dtype=float)
