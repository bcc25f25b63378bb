"""How much reps really differ in closing, once sampling noise is taken out.

Every performance-weighting decision rests on this question, and raw win rates answer it badly:
thirty reps whose true rates are equal still show a spread of win rates, from luck alone. So the
fit estimates the spread of a random-effects model: each lead's log-odds of buying is what its
mix (segment, product, source) predicts - the rep-blind GLM `fit_behaviour` already uses - plus
an effect of its rep, the reps' effects drawn from a normal distribution with standard deviation
`sd`. `sd` is the between-rep spread on the log-odds scale: 0 means reps close alike and every
apparent difference is noise.

- `sd` is its maximum likelihood estimate, the likelihood integrated over each rep's effect by
  Gauss-Hermite quadrature;
- its 95% interval is the profile likelihood interval (every sd whose likelihood ratio to the
  best is within the chi-square(1) 95% point), which keeps its coverage near zero, where a
  Wald interval would not;
- `p_value` is the likelihood-ratio test of "no rep differences" (sd = 0), its null distribution
  the 50:50 mixture of chi-square(0) and chi-square(1), as sd = 0 sits on the boundary.

tests/test_sim_repspread.py measures the interval's coverage and the test's size on data whose
spread is known.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

__all__ = ["RepSpread", "rep_spread"]

_NODES = 40
_GRID_TOP = 3.0
"""The largest spread searched: a rep 3 sd above average would close 20x the odds."""
_CHI2_95 = 3.841458820694124


@attrs.frozen
class RepSpread:
    """How much reps differ in closing after sampling noise (see the module docstring): `sd`
    of the reps' effects on the log-odds of a sale, its 95% interval (`sd_lo`, `sd_hi`) and the
    p-value of the test that they do not differ at all, over `reps` reps and `sales` sales."""

    reps: int
    leads: int
    sales: int
    sd: float
    sd_lo: float
    sd_hi: float
    p_value: float

    @property
    def shown(self) -> bool:
        """Whether the data show reps differ: the test rejects "no differences" at 5%."""
        return self.p_value < 0.05

    def describe(self) -> str:
        """The finding in plain words, for the model's summary, the terminal and the report."""
        spread = (
            f"a rep one standard deviation above the average closes {math.exp(self.sd):.2f}x "
            f"the odds (95% interval {math.exp(self.sd_lo):.2f}x to {math.exp(self.sd_hi):.2f}x)"
        )
        if self.shown:
            verdict = f"reps differ in closing by more than luck alone gives ({_p(self.p_value)})"
        else:
            verdict = (
                f"the data cannot tell reps apart in closing ({_p(self.p_value)}): the "
                "spread of their win rates is within what luck alone often gives"
            )
        return f"{verdict}; {spread}; over {self.reps} reps and {self.sales} sales"


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def rep_spread(sold: Any, expected: Any, reps: Any) -> RepSpread | None:
    """The between-rep spread of conversion (see the module docstring), from one row per lead
    at risk of a sale: `sold` (0/1), `expected` (its chance from its mix alone, without its rep)
    and `reps` (its rep). None with fewer than 2 reps or no sale (nothing to tell apart)."""
    from scipy import optimize, stats

    y = np.asarray(sold, dtype=float)
    p = np.clip(np.asarray(expected, dtype=float), 1e-6, 1 - 1e-6)
    names, group = np.unique(np.asarray(reps).astype(str), return_inverse=True)
    if len(names) < 2 or y.sum() == 0 or y.sum() == len(y):
        return None
    order = np.argsort(group, kind="stable")
    y, p, group = y[order], p[order], group[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    offset = np.log(p / (1 - p))
    nodes, weights = np.polynomial.hermite_e.hermegauss(_NODES)
    log_w = np.log(weights / math.sqrt(2 * math.pi))

    def loglik(sd: float) -> float:
        eta = offset[:, None] + sd * nodes[None, :]
        per_lead = y[:, None] * eta - np.logaddexp(0.0, eta)
        per_rep = np.add.reduceat(per_lead, starts, axis=0)
        return float(np.logaddexp.reduce(per_rep + log_w[None, :], axis=1).sum())

    found = optimize.minimize_scalar(
        lambda sd: -loglik(sd), bounds=(0.0, _GRID_TOP), method="bounded"
    )
    at_zero = loglik(0.0)
    sd, top = (float(found.x), -float(found.fun))
    if at_zero >= top:
        sd, top = 0.0, at_zero
    cut = top - _CHI2_95 / 2.0

    def gap(value: float) -> float:
        return loglik(value) - cut

    lo = 0.0 if gap(0.0) >= 0 else optimize.brentq(gap, 0.0, sd, xtol=1e-4)
    hi = _GRID_TOP if gap(_GRID_TOP) >= 0 else optimize.brentq(gap, sd, _GRID_TOP, xtol=1e-4)
    ratio = max(2.0 * (top - at_zero), 0.0)
    p_value = 0.5 * float(stats.chi2.sf(ratio, 1)) if ratio > 0 else 1.0
    return RepSpread(
        reps=len(names),
        leads=len(y),
        sales=int(y.sum()),
        sd=sd,
        sd_lo=float(lo),
        sd_hi=float(hi),
        p_value=min(p_value, 1.0),
    )
