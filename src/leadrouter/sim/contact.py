"""The contact curve: the chance a first touch reaches a valid prospect, by how long it waited.

Contact falls with delay but not to nothing: a prospect called the next day still answers
sometimes. A curve without a floor sends contact toward zero for long queues and overstates what
a backlog costs, so a fit tries two shapes, each levelling off at a floor (`LOG_LOGIT`, steep in
the first minutes; `HALF_LIFE`, the shape `GivenBehaviour` takes), and keeps the one the data
support (`_contact_fit`). `_contact_curve` evaluates either shape over an array of delays, and
`FittedBehaviour.p_contact` answers with the kept one. The curve is a small model of its own, so
it lives apart from the rest of the estimation; statsmodels and scipy are imported only when a
curve is fitted.
"""

from __future__ import annotations

import math
from typing import Any

from leadrouter.sim.fitting import fitted

__all__ = ["HALF_LIFE", "LOG_LOGIT"]


LOG_LOGIT, HALF_LIFE = "logit on ln(1 + delay)", "half-life"
"""The two shapes of contact decay `fit_behaviour` chooses between (see `_contact_fit`)."""


def _contact_curve(shape: str, a: float, b: float, floor: float, delay: Any) -> Any:
    """The chance of reaching a valid lead first touched `delay` minutes after it came (a float
    or an array), for a contact curve of `shape` (see `_contact_fit`)."""
    import numpy as np

    if shape == HALF_LIFE:
        top = 1.0 / (1.0 + math.exp(-a))
        return floor + (top - floor) * np.exp(b * np.asarray(delay, dtype=float))
    x = np.clip(a + b * np.log1p(delay), -700.0, 700.0)
    return floor + (1.0 - floor) / (1.0 + np.exp(-x))


def _contact_fit(y: Any, x: Any, weights: Any = None) -> tuple[str, float, float, float]:
    """The contact curve that fits first touches best: (shape, a, b, floor) by weighted maximum
    likelihood (`weights`: frequency weights; None = once each), `x` the delays in minutes.

    Contact falls with delay but not to nothing: a prospect called the next day still answers
    sometimes. Two shapes, each with a floor where it levels off, are fitted and the one with
    the higher likelihood kept (both have three parameters):

    - `LOG_LOGIT`: `floor + (1 - floor) * sigmoid(a + b * ln(1 + delay))` - steep in the first
      minutes, as the speed-to-lead studies describe;
    - `HALF_LIFE`: `floor + (sigmoid(a) - floor) * exp(b * delay)` - the contact at once falls
      halfway to the floor every `ln 2 / -b` minutes (the shape `GivenBehaviour` takes).

    Without a floor a curve sends contact toward zero for long queues and overstates what a
    backlog costs. The log-logit starts from a statsmodels GLM logit; scipy maximises both.
    """
    import numpy as np
    from scipy.optimize import minimize

    a0, b0 = _logit_fit(y, np.log1p(x), weights)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    hit = np.asarray(y, dtype=float)
    log_delay = np.log1p(x)

    def nll(p: Any) -> float:
        p = np.clip(p, 1e-12, 1 - 1e-12)
        return float(-(w * (hit * np.log(p) + (1.0 - hit) * np.log1p(-p))).sum())

    def sigmoid(v: float) -> float:
        return 1.0 / (1.0 + math.exp(-min(max(v, -700.0), 700.0)))

    def log_logit(theta: Any) -> float:
        a, b, f = theta
        floor = sigmoid(f)
        return nll(floor + (1.0 - floor) / (1.0 + np.exp(-np.clip(a + b * log_delay, -700, 700))))

    def half_life(theta: Any) -> float:
        a, rate, f = theta
        floor = sigmoid(f)
        return nll(floor + (sigmoid(a) - floor) * np.exp(-math.exp(rate) * x))

    median = max(float(np.median(x)), 1.0)
    method = "Nelder-Mead"
    fits = [
        (LOG_LOGIT, minimize(log_logit, np.array([a0, b0, start]), method=method))
        for start in (-6.0, -1.0)
    ] + [
        (HALF_LIFE, minimize(half_life, np.array([a0, -math.log(scale), -1.0]), method=method))
        for scale in (median / 4.0, median)
    ]
    shape, best = min(fits, key=lambda found: float(found[1].fun))
    a, b, f = (float(v) for v in best.x)
    if shape == HALF_LIFE:
        return shape, a, -math.exp(b), sigmoid(f)
    return shape, a, b, sigmoid(f)


def _logit_fit(y: Any, x: Any, weights: Any = None) -> tuple[float, float]:
    """Intercept and slope of a statsmodels GLM Binomial (logit) of `y` on `x`, each
    observation counted `weights` times (frequency weights; None = once)."""

    import numpy as np
    import statsmodels.api as sm

    design = np.column_stack([np.ones(len(x)), x])
    model = sm.GLM(y.astype(float), design, family=sm.families.Binomial(), freq_weights=weights)
    result = fitted(model.fit, "the contact-decay logit (reached on first-touch delay)")
    a, b = (float(v) for v in result.params)
    return a, b


def _contact_level(
    shape: str, a: float, b: float, floor: float, delay: Any, target: float
) -> float:
    """The intercept `a` that moves the curve's mean over `delay` to `target` (its shape, slope
    and floor kept): how an assumed curve is brought to the reach share an export shows.
    Bisection on `a`, as the mean rises with it; a target beyond the curve's reach (below its
    floor, or 1) gives the nearest `a` the search allows."""
    import numpy as np

    def mean(level: float) -> float:
        return float(np.mean(_contact_curve(shape, level, b, floor, delay)))

    low, high = a - 30.0, a + 30.0
    for _ in range(80):
        middle = (low + high) / 2.0
        if mean(middle) < target:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0
