"""What a lead's product changes in a fitted model: its conversion factor and its sale amount.

With more than one product, each gets a factor on the rep x segment conversion rates
(`_product_factors`): its sales over the sales those rates expect for its leads, the log factor
shrunk by a normal prior - indirect standardisation, so a product sold mostly in a weak segment
or by weak reps is not blamed for it, and a dearer product may close less often. Sale amounts are
a median per product with one log spread pooled over the products (`_amounts`, weighted for a
replicate). Each is a small model of its own, kept apart so `leadrouter.sim.estimation` reads as
the fit's steps.
"""

from __future__ import annotations

import math
from typing import Any

from leadrouter._util import shrunk

_PRODUCT_PRIOR_SD = 1.0
"""The prior spread of a product's log conversion factor (a normal centred on 1x): the same
weight the lead-mix GLM's ridge gives a product term. Weaker than reps are usually shrunk
(`leadrouter.sim.estimation_shrink`): products are few, each with many leads, and expected to
differ (a dearer product closes less often)."""


_PRODUCT_COLUMNS = (
    "product",
    "leads",
    "reached_valid",
    "sales",
    "expected",
    "raw_factor",
    "factor",
    "amount_median",
)


def _log_factor(sales: float, expected: float, sd: float) -> float:
    """The posterior mode of a log rate ratio θ: Poisson `sales` against `expected * e^θ`, with
    a normal(0, `sd`) prior on θ (Newton's method on a concave objective)."""
    theta = 0.0
    for _ in range(50):
        grad = sales - expected * math.exp(theta) - theta / sd**2
        step = grad / (expected * math.exp(theta) + 1.0 / sd**2)
        theta += step
        if abs(step) < 1e-10:
            break
    return theta


def _product_factors(
    at_risk: Any, w: Any, base: Any, k: float
) -> tuple[dict[str, float], dict[str, float], Any]:
    """Each product's conversion factor against the lead mix, and each segment's normaliser.

    The model is `p = rate(rep, segment) * factor(product) / norm(segment)`: `rate` the shrunk
    rep x segment rate of the leads at risk (`base`, one per lead), `norm(segment)` the mean
    factor over the segment's leads at risk (shrunk toward the team's mean with `k`
    pseudo-leads), so each rep x segment rate keeps its meaning - the rate over the segment's
    own product mix. A factor is a product's sales over the sales the rates expect for its
    leads (indirect standardisation, so a product sold mostly in a weak segment or by weak reps
    is not blamed for it), shrunk by `_log_factor`; factor and normaliser are solved together
    and scaled so the leads' mean factor is 1. Leads without a product count with factor 1.
    Weighted by `w` (bootstrap weights in a replicate). Empty when fewer than two products."""
    import numpy as np
    import pandas as pd

    product = at_risk["product"].fillna("").astype(str).to_numpy()
    known = sorted(set(product) - {""})
    if len(known) < 2:
        return {}, {}, None
    # product code per lead (len(known) = no product, factor 1) and segment code
    code = np.searchsorted(known, product)
    code = np.where(np.isin(product, known), code, len(known))
    segments, seg_code = np.unique(
        at_risk["segment"].fillna("").astype(str).to_numpy(), return_inverse=True
    )
    weight = w.reindex(at_risk.index).to_numpy(dtype=float)
    base = np.asarray(base, dtype=float)
    n = len(known)
    sales = np.bincount(code, at_risk["converted"].astype(bool).to_numpy() * weight, n + 1)[:n]
    counts = np.bincount(code, weight, n + 1)[:n]
    seg_w = np.bincount(seg_code, weight, len(segments))
    theta = np.zeros(n)
    expected: Any = np.zeros(n)
    norm: Any = np.ones(len(segments))
    for _ in range(50):
        factor = np.append(np.exp(theta), 1.0)[code]
        mean = float((weight * factor).sum() / max(weight.sum(), 1e-12))
        norm = shrunk(np.bincount(seg_code, weight * factor, len(segments)), seg_w, mean, k)
        expected = np.bincount(code, weight * base / norm[seg_code], n + 1)[:n]
        new = np.array(
            [
                _log_factor(float(s), float(e), _PRODUCT_PRIOR_SD)
                for s, e in zip(sales, expected, strict=True)
            ]
        )
        moved = float(np.abs(new - theta).max())
        theta = new
        if moved < 1e-8:
            break
    factor = np.append(np.exp(theta), 1.0)[code]
    mean = float((weight * factor).sum() / max(weight.sum(), 1e-12))
    factors = {p: float(math.exp(t)) / mean for p, t in zip(known, theta, strict=True)}
    norms = {str(g): float(v) / mean for g, v in zip(segments, norm, strict=True)}
    at_mean = expected * mean
    table = pd.DataFrame(
        {
            "product": known,
            "reached_valid": counts,
            "sales": sales,
            # the sales the rep x segment rates expect for the product's leads (mean factor 1)
            "expected": at_mean,
            "raw_factor": np.divide(sales, at_mean, out=np.full(n, math.nan), where=at_mean > 0),
            "factor": [factors[p] for p in known],
        }
    )
    return factors, norms, table


def _weighted_median(values: Any, weights: Any) -> float:
    """The smallest value with at least half the weight at or below it."""
    import numpy as np

    order = np.argsort(values, kind="stable")
    cum = np.cumsum(np.asarray(weights, dtype=float)[order])
    at = int(np.searchsorted(cum, 0.5 * cum[-1]))
    return float(np.asarray(values, dtype=float)[order][min(at, len(order) - 1)])


def _amounts(sold: Any, w: Any) -> tuple[dict[str, float], float, float]:
    """Median sale amount per product, log spread around them and the overall median, each
    sale counted with its weight in `w` (a replicate's bootstrap weights)."""
    import numpy as np

    weight = w.reindex(sold.index).to_numpy(dtype=float)
    amount = sold["amount"].to_numpy(dtype=float)
    product = sold["product"].fillna("").astype(str).to_numpy()
    medians = {
        str(p): _weighted_median(amount[product == p], weight[product == p])
        for p in sorted(set(product))
    }
    centre = np.array([medians[p] for p in product])
    logs = np.log(amount / centre)
    sigma = 0.35
    if len(logs) > 1 and weight.sum() > 0:
        spread = (logs - np.average(logs, weights=weight)) ** 2
        sigma = float(np.sqrt(np.average(spread, weights=weight)))
    return medians, sigma, _weighted_median(amount, weight)
