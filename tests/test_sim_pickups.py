"""Pick-up delays: a rep's own or the team's scaled to their few, and what a replicate redraws."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from leadrouter.sim.pickups import MIN_SAMPLE, PRIOR, Pickups, read_pickups


def _free(delays: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(rep, d) for rep, values in delays.items() for d in values],
        columns=["rep_id", "work_delay"],
    )


def _team_and_few() -> Pickups:
    rng = np.random.default_rng(3)
    return read_pickups(
        _free(
            {
                "quick": list(rng.exponential(10.0, 120)),
                "slow": list(rng.exponential(40.0, 80)),
                "few": [55.0, 90.0, 130.0],
            }
        )
    )


def test_a_rep_with_few_delays_gets_the_teams_scaled_by_the_shrunk_shift() -> None:
    found = _team_and_few()
    point = found.point()
    assert point["quick"] == tuple(sorted(point["quick"])) and len(point["quick"]) == 120
    centre = np.log1p(found.team).mean()
    shift = (np.log1p(found.own["few"]) - centre).sum() / (3 + PRIOR)
    assert np.allclose(np.array(point["few"]) / np.array(found.team), math.exp(shift))


def test_a_replicate_draws_a_scaled_reps_shift_from_its_posterior() -> None:
    """The shift of a rep seen three times is uncertain by sqrt(s2 / (3 + PRIOR)) on the log
    scale; resampling the team's delays (what a replicate did) moved it by a few hundredths."""
    found = _team_and_few()
    point = math.log(found.point()["few"][-1] / found.team[-1])
    shifts = []
    for seed in range(600):
        team, own = found.draw(seed)
        ratio = np.array(own["few"]) / np.array(team)
        assert np.allclose(ratio, ratio[0])
        shifts.append(math.log(ratio[0]))
    posterior_sd = math.sqrt(found.s2 / (3 + PRIOR))
    assert abs(np.mean(shifts) - point) < 4 * posterior_sd / math.sqrt(len(shifts))
    assert 0.9 * posterior_sd < np.std(shifts) < 1.1 * posterior_sd


def test_the_within_rep_variance_is_pooled_over_reps_with_two_delays_or_more() -> None:
    found = read_pickups(_free({"a": [1.0, 3.0], "b": [2.0, 2.0, 5.0], "c": [9.0]}))
    a, b = np.log1p([1.0, 3.0]), np.log1p([2.0, 2.0, 5.0])
    squares = ((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()
    assert math.isclose(found.s2, squares / 3)


@settings(max_examples=40, deadline=None)
@given(
    delays=st.dictionaries(
        st.sampled_from(["r1", "r2", "r3", "r4"]),
        st.lists(
            st.floats(0.0, 600.0, allow_subnormal=False), min_size=1, max_size=MIN_SAMPLE + 10
        ),
        min_size=1,
    ),
    seed=st.integers(0, 2**31),
)
def test_a_draw_resamples_own_delays_and_scales_the_teams(
    delays: dict[str, list[float]], seed: int
) -> None:
    """Whatever the delays: a draw is the same for the same seed; a rep with their own sample
    gets a resample of it; a rep with too few gets the drawn team's sample times one positive
    scale; the team's draw is a resample of the team's."""
    found = read_pickups(_free(delays))
    team, own = found.draw(seed)
    assert (team, own) == found.draw(seed)
    assert set(team) <= set(found.team) and len(team) == len(found.team)
    for rep, sample in own.items():
        if len(found.own[rep]) >= MIN_SAMPLE:
            assert set(sample) <= set(found.own[rep]) and len(sample) == len(found.own[rep])
        else:
            assert len(sample) == len(team)
            scales = {b / a for a, b in zip(team, sample, strict=True) if a > 0}
            assert all(math.isclose(s, next(iter(scales))) for s in scales)
            assert all(s > 0 for s in scales)
