"""Exponential smoothing of daily series (Holt-Winters): the fit with statsmodels, and the same
recursion run in numpy for many series at once. `DynamicCaps` forecasts each rep's daily cap
with it.

The model. A daily series y is a level, optionally a damped trend, and optionally an additive
effect per weekday (a season of `SEASON` days). After each day the state is updated by the
additive recursion (Hyndman's error-correction form, as statsmodels runs it), with `'` marking
yesterday's value and s the effect of this day's weekday:

    level  = alpha (y - s) + (1 - alpha) (level' + phi trend')
    trend  = beta (level - level') + (1 - beta) phi trend'
    s      = gamma (y - level' - phi trend') + (1 - gamma) s

Without a trend, beta = 0 and trend = 0 (phi = 1); without a season, gamma = 0 and s = 0. The
forecast h days after the last observed day is level + (phi + phi² + … + phi^h) trend + the
effect of that day's weekday. `describe` names the four forms: simple exponential smoothing,
Holt's damped trend, Holt-Winters with additive weekly seasonality, with or without the trend.

What is fitted. `fit_smoothing` estimates the smoothing weights (alpha, beta, phi, gamma) by
least squares of the one-step errors, with statsmodels' `ExponentialSmoothing` (SLSQP, no
brute-force start), and the initial state (level, trend, the first week's effects) from the
first days by statsmodels' heuristic when the series is long enough, else by the same least
squares. The result is a `Fit`.

Why fit and recursion are apart. A statsmodels fit costs from several to over a hundred
milliseconds per series, while the recursion with known weights costs microseconds. So a caller
fits rarely and reruns the recursion (`run_smoothing`) over the newest days, for all its series
in one vectorised pass; with the same weights and initial state it lands on statsmodels' own
forecast.

A fit whose optimiser stops without converging is kept (its parameters are the optimiser's last
step, and the caller's bounds still apply), and says so in `Fit.note`, with the optimiser's
reason. Non-convergence is rare: a huge outlier day, an exponential climb, now and then an
ordinary series where SLSQP stops at a bound. Two kinds of warning from statsmodels are not
passed on: its `ConvergenceWarning`, since `Fit.note` carries it, and the `RuntimeWarning`s of a
fit with no error at all (a short flat series, e.g. a rep held at a fixed cap), which come from
the log of the zero error in its information criteria, on which no parameter depends. Every
other warning is passed on.

numpy and statsmodels are imported inside the functions, so importing this module stays light.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Floats = NDArray[np.float64]
    Ints = NDArray[np.int64]

__all__ = ["SEASON", "Fit", "Smoothed", "describe", "fit_smoothing", "run_smoothing"]

SEASON = 7
"""Days in a season: a week."""

_HOLTWINTERS = r"statsmodels\.tsa\.holtwinters\.model"
_EXACT_FIT_CHATTER = (
    "divide by zero encountered in log",
    "invalid value encountered in scalar add",
)
"""What numpy says, in statsmodels' information criteria, of a fit with zero error: log(0) for
AIC and BIC, then -inf + inf for AICc when the series is as short as the model."""


@attrs.frozen
class Fit:
    """Smoothing parameters and the initial state, fitted once on `key`'s stretch of a series.

    `key` is the caller's tag for what was fitted (its first element: whether the model is
    seasonal), so the caller can tell when a refit is due. `alpha`, `beta`, `gamma` and `phi`
    are the weights of the recursion in the module docstring, `level`, `trend` and `seasons`
    the state at the start of the stretch. A non-seasonal model has gamma = 0 and seasons all
    0; no trend: beta = 0, trend = 0, phi = 1. `note` is "" for a fit whose optimiser converged,
    else why it did not (the parameters are then its last step).
    """

    key: tuple[Any, ...]
    method: str
    alpha: float
    beta: float
    gamma: float
    phi: float
    level: float
    trend: float
    seasons: tuple[float, ...]
    """Initial seasonal effects of the first `SEASON` days of the fitted stretch, in order."""
    note: str = ""

    def params(self, seasonal: bool, trend: bool) -> dict[str, float]:
        """The weights the model form uses, by name (alpha; beta and phi with a trend; gamma
        with a season)."""
        out = {"alpha": self.alpha}
        if trend:
            out.update(beta=self.beta, phi=self.phi)
        if seasonal:
            out["gamma"] = self.gamma
        return out


def describe(seasonal: bool, trend: bool) -> str:
    """The name of the model form, as `Fit.method` and a cap's explanation show it."""
    if seasonal:
        base = "Holt-Winters with additive weekly seasonality"
        return base + (" and a damped trend" if trend else "")
    return "Holt's damped trend" if trend else "simple exponential smoothing"


def fit_smoothing(y: Sequence[float], seasonal: bool, trend: bool, key: tuple[Any, ...]) -> Fit:
    """Fit the smoothing parameters of one series with statsmodels (the expensive step).

    Heuristic initialisation (from the first weeks) leaves only the smoothing weights to
    optimise, which is several times faster than estimating the initial state too; statsmodels
    needs ten days for it (sixteen with weekly seasonality), so shorter series estimate it.
    Raises ValueError when statsmodels returns non-finite parameters (and passes on whatever
    statsmodels raises).
    """
    import numpy as np
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    series = np.asarray(y, dtype=float)
    heuristic = len(series) >= (10 + 2 * (SEASON // 2) if seasonal else 10)
    model = ExponentialSmoothing(
        series,
        trend="add" if trend else None,
        damped_trend=trend,
        seasonal="add" if seasonal else None,
        seasonal_periods=SEASON if seasonal else None,
        initialization_method="heuristic" if heuristic else "estimated",
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        for message in _EXACT_FIT_CHATTER:
            warnings.filterwarnings("ignore", message, RuntimeWarning, _HOLTWINTERS)
        result = model.fit(use_brute=False, method="SLSQP")
    params = result.params

    def get(name: str, default: float) -> float:
        value = params.get(name)
        return default if value is None or not np.isfinite(value) else float(value)

    seasons = tuple(float(s) for s in np.asarray(params["initial_seasons"]).ravel())
    fit = Fit(
        key=key,
        method=describe(seasonal, trend),
        alpha=get("smoothing_level", math.nan),
        beta=get("smoothing_trend", 0.0) if trend else 0.0,
        gamma=get("smoothing_seasonal", 0.0) if seasonal else 0.0,
        phi=get("damping_trend", 1.0) if trend else 1.0,
        level=get("initial_level", math.nan),
        trend=get("initial_trend", 0.0) if trend else 0.0,
        seasons=seasons if seasonal else (0.0,) * SEASON,
        note=_convergence_note(result.mle_retvals),
    )
    if not all(math.isfinite(v) for v in (fit.alpha, fit.level, *fit.seasons)):
        raise ValueError(f"statsmodels returned non-finite parameters {dict(params)}")
    return fit


def _convergence_note(retvals: Any) -> str:
    """ "" when statsmodels' optimiser result says it converged (or there was nothing to
    optimise), else the note `Fit.note` carries."""
    if retvals is None or getattr(retvals, "success", True):
        return ""
    reason = str(getattr(retvals, "message", "")).strip() or "no reason given"
    return (
        f"the fit did not converge (statsmodels' optimiser: {reason}); the parameters are its "
        "last step"
    )


class Smoothed(NamedTuple):
    """`run_smoothing`'s answer, one entry per series: the forecast and its three parts
    (forecast = level + trend + season, added in that order)."""

    forecast: Floats
    level: Floats
    trend: Floats
    """The damped trend's contribution on the forecast day: (phi + … + phi^h) trend."""
    season: Floats
    """The effect of the forecast day's weekday."""


def run_smoothing(
    y: Floats, first: Ints, last: Ints, fits: Sequence[Fit], weekday0: int, target: int
) -> Smoothed:
    """Run every series' recursion at once, one day per step, and forecast day `target`.

    Row i of `y` is a daily series whose column t is day t; day 0 is weekday `weekday0`
    (Monday = 0). `fits[i]` was fitted on a stretch starting on day `first[i]`, so its initial
    state belongs there; the recursion runs from `first[i]` through `last[i]` (the fitted
    stretch and any days since) and the forecast is for `target` >= every `last[i]`.
    """
    import numpy as np

    alpha = np.array([f.alpha for f in fits])
    beta = np.array([f.beta for f in fits])
    gamma = np.array([f.gamma for f in fits])
    phi = np.array([f.phi for f in fits])
    level = np.array([f.level for f in fits])
    trend = np.array([f.trend for f in fits])
    season = np.zeros((len(fits), SEASON))
    rows = np.arange(len(fits))
    for j in range(SEASON):
        weekday = (weekday0 + first + j) % SEASON
        season[rows, weekday] = [f.seasons[j] for f in fits]
    for t in range(int(first.min()), int(last.max()) + 1):
        on = (first <= t) & (t <= last)
        w = (weekday0 + t) % SEASON
        obs, s_old = y[:, t], season[:, w]
        damped = phi * trend
        new_level = alpha * (obs - s_old) + (1 - alpha) * (level + damped)
        new_trend = beta * (new_level - level) + (1 - beta) * damped
        new_season = gamma * (obs - level - damped) + (1 - gamma) * s_old
        level = np.where(on, new_level, level)
        trend = np.where(on, new_trend, trend)
        season[:, w] = np.where(on, new_season, s_old)
    ahead = target - last
    damping = np.where(
        phi == 1.0, ahead, phi * (1 - phi**ahead) / np.where(phi == 1.0, 1.0, 1 - phi)
    )
    ahead_trend = damping * trend
    today = season[:, (weekday0 + target) % SEASON]
    return Smoothed(level + ahead_trend + today, level, ahead_trend, today)
