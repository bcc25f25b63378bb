"""fitted(): statsmodels' routine numeric warnings stay quiet; a fit that did not converge is
said, with what was being fitted."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import statsmodels.api as sm

from leadrouter.errors import ModelFitWarning
from leadrouter.sim.fitting import fitted


def test_routine_numeric_warnings_are_kept_quiet() -> None:
    def noisy() -> int:
        warnings.warn("divide by zero encountered in log", RuntimeWarning, stacklevel=1)
        return 7

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fitted(noisy, "a quiet fit") == 7


def test_a_fit_that_stops_early_is_a_model_fit_warning() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = (rng.random(200) < 1 / (1 + np.exp(-2 * x))).astype(float)
    model = sm.GLM(y, sm.add_constant(x), family=sm.families.Binomial())
    with pytest.warns(ModelFitWarning, match="the test logit did not converge"):
        result = fitted(lambda: model.fit(maxiter=1), "the test logit")
    assert result.converged is False


def test_a_converged_fit_says_nothing() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=300)
    y = (rng.random(300) < 1 / (1 + np.exp(-x))).astype(float)
    model = sm.GLM(y, sm.add_constant(x), family=sm.families.Binomial())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fitted(model.fit, "a good logit").converged
