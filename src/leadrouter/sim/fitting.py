"""Running a statsmodels fit: its routine numeric chatter kept quiet, its failure to converge
never.

statsmodels warns freely while it fits (a log of zero on a boundary step, an overflow in an
exponent, a Hessian it inverts with a pseudo-inverse), and a fitted model that printed a
screenful of those on every `compare` would teach users to ignore warnings. But one of them
matters: that the optimiser stopped before converging, when the estimates are only its last
step. `fitted` silences the rest and turns that one into a `ModelFitWarning` naming what was
being fitted, so it reaches the user (and `warnings.simplefilter("error", ModelFitWarning)`
can stop a pipeline on it).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TypeVar

from leadrouter.errors import ModelFitWarning

__all__ = ["fitted"]

R = TypeVar("R")


def fitted(fit: Callable[[], R], what: str, stacklevel: int = 3) -> R:
    """`fit()`'s result, with every warning raised during it held back, except that a fit that
    did not converge (a statsmodels ConvergenceWarning, or a result whose `converged` is False)
    warns ModelFitWarning: "`what` did not converge: ...". Exceptions pass through."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit()
    said = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    if said or getattr(result, "converged", True) is False:
        detail = said[0].splitlines()[0] if said else "the optimiser stopped early"
        warnings.warn(
            ModelFitWarning(
                f"{what} did not converge ({detail}): its estimates are the optimiser's last "
                "values; with more history or fewer sparse groups it usually does"
            ),
            stacklevel=stacklevel,
        )
    return result
