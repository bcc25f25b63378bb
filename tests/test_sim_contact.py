"""The fitted contact curve: it levels off at a floor, and the shape the data support is kept.

A curve without a floor sends contact toward zero for long queues, which made a fitted model
charge concentrating policies about twice the true penalty; these tests pin the fix.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from leadrouter.model import Lead
from leadrouter.sim import fit_behaviour, synthetic
from leadrouter.sim.contact import HALF_LIFE, LOG_LOGIT, _contact_curve, _contact_fit

LEAD = Lead("L1", datetime(2026, 1, 5, 9, tzinfo=UTC))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_fitted_curve_follows_the_truth_and_its_floor(seed: int) -> None:
    history = synthetic(n_leads=3000, n_reps=8, days=40, seed=seed)
    assert history.truth is not None
    truth = history.truth.behaviour()
    fitted = fit_behaviour(history)
    for minutes in (5.0, 30.0, 60.0, 240.0, 1440.0, 4320.0):
        assert fitted.p_contact("rep01", LEAD, minutes) == pytest.approx(
            truth.p_contact("rep01", LEAD, minutes), abs=0.07
        ), minutes
    # long waits level off (the truth at 30%), not toward zero
    assert fitted.contact_floor > 0.15
    assert "falling toward a floor" in fitted.summary() or "levelling off" in fitted.summary()


def test_the_shape_the_data_support_is_kept() -> None:
    rng = np.random.default_rng(4)
    delay = rng.exponential(120.0, size=6000)
    # contact generated from a logit on ln(1 + delay) with a floor of 0.1
    p = _contact_curve(LOG_LOGIT, 2.5, -1.0, 0.1, delay)
    shape, _, b, floor = _contact_fit(rng.random(6000) < p, delay)
    assert shape == LOG_LOGIT
    assert floor == pytest.approx(0.1, abs=0.06) and b < 0
    # and from a half-life decay
    p = _contact_curve(HALF_LIFE, 1.0, -np.log(2) / 45.0, 0.25, delay)
    shape, _, b, floor = _contact_fit(rng.random(6000) < p, delay)
    assert shape == HALF_LIFE
    assert np.log(2) / -b == pytest.approx(45.0, rel=0.35)
    assert floor == pytest.approx(0.25, abs=0.05)
