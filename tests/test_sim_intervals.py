"""Intervals for an expected outcome from replicates that share parameter draws.

The interval must cover the expected outcome at least at its nominal rate when replicates hold
parameter spread and outcome noise (near it when parameter spread dominates), must not shrink to
nothing as replicates grow while the parameters are uncertain, and must reduce to the t-interval of
the mean when the parameters are known.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from leadrouter.sim.intervals import (
    FEWEST_DRAWS,
    SEEDS_PER_DRAW,
    draws_shared,
    expected_interval,
    share_draws,
)


def test_seeds_share_the_draw_of_the_first_seed_of_their_group() -> None:
    assert share_draws(range(20)) == tuple(p - p % 4 for p in range(20))
    assert share_draws([7, 3, 9, 4, 11, 5, 8, 1, 2, 6]) == (7, 7, 9, 9, 11, 11, 8, 8, 2, 2)
    assert share_draws([7, 3, 9]) == (7, 3, 9)
    assert share_draws([]) == ()
    assert draws_shared(share_draws(range(20))) == "5 parameter draws, 4 seeds each"
    assert draws_shared(share_draws(range(12))) == "5 parameter draws of 2-3 seeds"
    assert draws_shared(share_draws(range(4))) == "4 parameter draws, one per seed"


@given(st.integers(0, 200))
def test_draws_are_consecutive_groups_of_at_most_four_and_at_least_five_draws(n: int) -> None:
    draws = share_draws(range(n))
    sizes = Counter(draws).values()
    assert list(draws) == sorted(draws)  # groups are consecutive
    assert all(draws[p] == p for p in set(draws))
    assert len(sizes) == max(min(n, FEWEST_DRAWS), math.ceil(n / SEEDS_PER_DRAW))
    if sizes:
        assert max(sizes) - min(sizes) <= 1
        assert max(sizes) <= SEEDS_PER_DRAW


def test_known_parameters_give_the_t_interval_of_the_mean() -> None:
    values = np.array([0.1, 0.3, 0.2, 0.25, 0.15])
    mean, lo, hi = expected_interval(values, None)
    half = stats.t.ppf(0.975, 4) * values.std(ddof=1) / math.sqrt(5)
    assert mean == pytest.approx(0.2)
    assert (lo, hi) == pytest.approx((0.2 - half, 0.2 + half))


def test_equal_values_give_a_zero_width_interval_and_nan_is_left_out() -> None:
    assert expected_interval(np.zeros(6), share_draws(range(6))) == (0.0, 0.0, 0.0)
    mean, lo, hi = expected_interval(np.array([1.0, np.nan, 3.0, 2.0]), None)
    assert mean == pytest.approx(2.0) and lo < 2.0 < hi
    assert all(math.isnan(x) for x in expected_interval(np.array([np.nan, np.nan]), None))
    assert math.isnan(expected_interval(np.array([1.0]), None)[1])


def _draw(rng: np.random.Generator, r: int, sd_param: float, sd_outcome: float) -> np.ndarray:
    """`r` replicates sharing parameter draws as `share_draws` shares them, around a true mean
    of 0."""
    draws = np.array(share_draws(range(r)))
    params = rng.normal(0.0, sd_param, size=r)
    return params[draws] + rng.normal(0.0, sd_outcome, size=r)


@pytest.mark.parametrize(
    ("sd_param", "sd_outcome", "most"),
    [(1.0, 0.1, 0.97), (1.0, 0.3, 0.97), (1.0, 1.0, 0.99), (0.3, 1.0, 1.0)],
)
def test_covers_the_expected_value_at_least_at_the_nominal_rate(
    sd_param: float, sd_outcome: float, most: float
) -> None:
    # The parameter draws stand for the posterior around the truth: the truth (0) sits in the
    # parameter spread as a fresh draw would. 95% intervals cover it at least 93% of the time,
    # and no more than 97% when the parameter spread dominates.
    rng = np.random.default_rng(1)
    trials, r = 2000, 20
    draws = share_draws(range(r))
    covered = 0
    for _ in range(trials):
        centre = rng.normal(0.0, sd_param)  # where the fitted model's posterior is centred
        _, lo, hi = expected_interval(centre + _draw(rng, r, sd_param, sd_outcome), draws)
        covered += lo <= 0.0 <= hi
    assert 0.93 <= covered / trials <= most


def test_the_interval_does_not_shrink_to_nothing_as_replicates_grow() -> None:
    rng = np.random.default_rng(2)
    widths = []
    for r in (20, 200, 2000):
        _, lo, hi = expected_interval(_draw(rng, r, 1.0, 1.0), share_draws(range(r)))
        widths.append(hi - lo)
    # the spread of the means of four seeds stays (sd_param plus a quarter of the outcome noise):
    # the width tends to 2 * 1.96 * sqrt(1 + 1/4), never to zero
    assert widths[-1] == pytest.approx(2 * 1.96 * math.sqrt(1.25), rel=0.15)
    known = [
        expected_interval(_draw(rng, r, 0.0, 1.0), None)
        for r in (20, 2000)  # known parameters: the Monte Carlo error alone, which does shrink
    ]
    assert (known[1][2] - known[1][1]) < 0.2 * (known[0][2] - known[0][1])
