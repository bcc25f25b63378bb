"""The between-rep spread of conversion, checked on data whose spread is known.

Reps' effects on the log-odds of a sale are drawn with a known standard deviation; the interval
must cover it at about its promised 95%, and the test of "no rep differences" must reject about
5% of the time when reps are alike and nearly always when they differ a lot.
"""

from __future__ import annotations

import numpy as np
import pytest

from leadrouter.sim.repspread import RepSpread, rep_spread


def team(sd: float, rng: np.random.Generator, reps: int = 20, leads: int = 60) -> RepSpread:
    base = rng.normal(-0.8, 0.6, size=reps * leads)
    who = np.repeat(np.arange(reps), leads)
    effect = rng.normal(0.0, sd, size=reps)[who]
    sold = rng.random(reps * leads) < 1 / (1 + np.exp(-(base + effect)))
    found = rep_spread(sold, 1 / (1 + np.exp(-base)), [f"r{i}" for i in who])
    assert found is not None
    return found


@pytest.mark.parametrize("sd", [0.0, 0.3, 0.6])
def test_the_interval_covers_the_true_spread_at_about_95_percent(sd: float) -> None:
    rng = np.random.default_rng(7)
    found = [team(sd, rng) for _ in range(100)]
    covered = np.mean([f.sd_lo <= sd <= f.sd_hi for f in found])
    assert covered >= 0.88, covered


def test_the_no_differences_test_keeps_its_size_and_has_power() -> None:
    rng = np.random.default_rng(11)
    alike = np.mean([team(0.0, rng).shown for _ in range(150)])
    differ = np.mean([team(0.6, rng).shown for _ in range(60)])
    assert alike <= 0.09, alike
    assert differ >= 0.9, differ


def test_the_finding_is_said_in_plain_words() -> None:
    rng = np.random.default_rng(3)
    alike, differ = team(0.0, rng), team(0.8, rng)
    assert not alike.shown and "cannot tell reps apart" in alike.describe()
    assert differ.shown and "reps differ in closing by more than luck" in differ.describe()
    assert "20 reps" in differ.describe()


def test_nothing_to_tell_apart_gives_none() -> None:
    assert rep_spread([0, 1, 0], [0.3, 0.3, 0.3], ["a", "a", "a"]) is None
    assert rep_spread([0, 0, 0, 0], [0.3] * 4, ["a", "a", "b", "b"]) is None


def test_the_fit_says_whether_reps_differ_on_synthetic_teams() -> None:
    """On synthetic teams, reps drawn alike are not called different and reps drawn far apart
    are, and the summary says so in words."""
    from leadrouter.sim import fit_behaviour, synthetic

    alike = fit_behaviour(synthetic(3000, 8, 40, seed=2, rep_spread=(0.0, 0.0)))
    differ = fit_behaviour(synthetic(3000, 8, 40, seed=2, rep_spread=(1.0, 0.3)))
    assert alike.rep_spread is not None and differ.rep_spread is not None
    assert not alike.rep_spread.shown
    assert differ.rep_spread.shown and differ.rep_spread.sd_lo > 0.2
    assert "reps differ in closing: reps differ in closing by more than luck" in differ.summary()
