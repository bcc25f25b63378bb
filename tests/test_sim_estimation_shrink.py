"""Rep factors and rep x segment pairs shrunk by the spread the history shows between them.

A fixed pseudo-count shrinks reps that close alike too little (their luck reads as skill, and a
policy routing by it is credited with a gain it would not have) and reps that differ a lot too
much. The spread is the history's own; a replicate keeps it and draws rep factors and pairs from
their posterior given it, so one seen on almost nothing varies by the team's spread.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadrouter.sim import History, fit_behaviour, synthetic
from leadrouter.sim.estimation_shrink import MOST_PSEUDO_SALES, pair_shape, pseudo_sales, rep_shape
from leadrouter.sim.repspread import rep_spread


def _log_spread(model: object, raw: object) -> float:
    return float(np.log(np.asarray(model)).std() / np.log(np.asarray(raw)).std())


def _raw_factors(model: object) -> dict[str, float]:
    basis = model.basis  # type: ignore[attr-defined]
    at_risk = basis.at_risk.assign(y=basis.at_risk["converted"].astype(float))
    sums = at_risk.groupby("rep_id")[["y", "expected"]].sum()
    return (sums["y"] / sums["expected"]).to_dict()  # type: ignore[no-any-return]


def test_reps_that_close_alike_are_not_told_apart_on_luck() -> None:
    """Their win rates still differ by luck; the fit does not call any of them strong or weak."""
    model = fit_behaviour(synthetic(1500, 8, 30, seed=1, rep_spread=(0.0, 0.0)))
    raw = _raw_factors(model)
    assert max(raw.values()) / min(raw.values()) > 1.5
    assert all(abs(f - 1.0) < 0.02 for f in model.rep_factor.values()), model.rep_factor


def test_reps_that_differ_a_lot_keep_most_of_their_difference() -> None:
    model = fit_behaviour(synthetic(4000, 8, 40, seed=2, rep_spread=(1.0, 0.3)))
    raw = _raw_factors(model)
    reps = sorted(raw)
    ratio = _log_spread([model.rep_factor[r] for r in reps], [raw[r] for r in reps])
    assert 0.78 < ratio < 1.0, ratio


@pytest.fixture(scope="module")
def unseen() -> History:
    """rep99 holds three retail leads, none reached: a pair with no lead at risk of a sale."""
    history = synthetic(n_leads=1500, n_reps=6, days=30, seed=5)
    frame = history.to_frame()
    retail = frame.index[frame["segment"] == "retail"][:3]
    frame.loc[retail, ["rep_id", "reached", "converted"]] = ["rep99", False, False]
    frame.loc[retail, "amount"] = float("nan")
    return History(frame, tz=history.tz)


def test_a_pair_seen_on_nothing_varies_by_the_teams_spread_in_replicates(
    unseen: History,
) -> None:
    model = fit_behaviour(unseen)
    pairs = model.pairs.set_index(["rep_id", "segment"])
    assert pairs.loc[("rep99", "retail"), "reached_valid"] == 0
    # the fit: the prior, exactly
    assert pairs.loc[("rep99", "retail"), "estimate"] == pytest.approx(
        pairs.loc[("rep99", "retail"), "prior"]
    )
    ratios = []
    for seed in range(30):
        drawn = model.replicate(seed).pairs.set_index(["rep_id", "segment"])
        row = drawn.loc[("rep99", "retail")]
        ratios.append(row["estimate"] / row["prior"])
    assert np.std(ratios) > 0.03, ratios
    assert abs(np.mean(ratios) - 1.0) < 3 * np.std(ratios) / np.sqrt(len(ratios)) + 0.02


def test_the_fit_notes_the_spreads_it_shrank_by(unseen: History) -> None:
    note = next(n for n in fit_behaviour(unseen).notes if n.startswith("conversion over"))
    assert "shrunk by the spread between reps (sd " in note
    assert "rep x segment pairs by the spread between them (sd " in note


def _pairs(tau: float, rng: np.random.Generator, n: int = 400) -> tuple[object, ...]:
    count = rng.integers(20, 200, size=n).astype(float)
    prior = rng.uniform(0.1, 0.4, size=n)
    multiple = rng.gamma(1 / tau**2, tau**2, size=n) if tau > 0 else np.ones(n)
    sales = rng.binomial(count.astype(int), np.clip(prior * multiple, 0, 1)).astype(float)
    return sales, count, prior


@pytest.mark.parametrize("tau", [0.0, 0.2, 0.4])
def test_the_pair_spread_recovers_a_known_spread(tau: float) -> None:
    rng = np.random.default_rng(3)
    found = [pair_shape(*_pairs(tau, rng), used=1) ** -0.5 for _ in range(20)]
    assert abs(float(np.mean(found)) - tau) < 0.05, found


def test_no_spread_beyond_chance_leaves_pairs_at_their_prior() -> None:
    count = np.array([50.0, 80.0, 120.0])
    prior = np.array([0.2, 0.3, 0.25])
    assert pair_shape(count * prior, count, prior, used=1) == MOST_PSEUDO_SALES
    # nothing left once the priors' own figures are counted
    assert pair_shape([3.0, 40.0], [50.0, 80.0], [0.2, 0.3], used=2) == MOST_PSEUDO_SALES


@given(
    shape=st.floats(0.05, 1e6),
    seed=st.integers(0, 2**31),
)
def test_pseudo_sales_are_the_shape_in_the_fit_and_a_keyed_draw_in_a_replicate(
    shape: float, seed: int
) -> None:
    names = ["a", "b", "c"]
    assert list(pseudo_sales(shape, None, names)) == [shape] * 3
    drawn = pseudo_sales(shape, seed, names)
    assert (drawn > 0).all() and np.isfinite(drawn).all()
    assert list(pseudo_sales(shape, seed, names[:2])) == list(drawn[:2])


def test_pseudo_sales_are_spread_as_the_prior_is() -> None:
    names = [f"r{i}" for i in range(4000)]
    drawn = pseudo_sales(9.0, 7, names)
    assert abs(drawn.mean() - 9.0) < 0.2 and abs(drawn.var() - 9.0) < 0.8


def test_the_rep_shape_is_the_spread_on_the_rate_ratio_scale() -> None:
    rng = np.random.default_rng(2)
    base = rng.normal(-0.8, 0.6, size=1200)
    who = np.repeat(np.arange(20), 60)
    sold = rng.random(1200) < 1 / (1 + np.exp(-(base + rng.normal(0, 0.5, 20)[who])))
    expected = 1 / (1 + np.exp(-base))
    spread = rep_spread(sold, expected, [f"r{i}" for i in who])
    assert spread is not None
    scale = float((expected * (1 - expected)).sum() / expected.sum())
    assert rep_shape(spread, expected) == pytest.approx(1 / (spread.sd * scale) ** 2)
    assert rep_shape(None, expected) is None


def test_a_replicate_keeps_the_rep_spread_and_draws_reps_around_the_fit() -> None:
    """The reps' spread is the fit's in every replicate, the pairs' re-estimated; the reps'
    factors vary around the fit's, so their mean over replicates is the fit's."""
    model = fit_behaviour(synthetic(1500, 8, 30, seed=4, rep_spread=(0.4, 0.3)))
    assert model.shrinkage is not None
    drawn = [model.replicate(seed) for seed in range(40)]
    shrinkage = [d.shrinkage for d in drawn]
    assert all(s is not None and s.rep == model.shrinkage.rep for s in shrinkage)
    assert len({s.pair for s in shrinkage if s is not None}) > 1
    factors = np.array([[d.rep_factor[r] for r in sorted(model.rep_factor)] for d in drawn])
    fit = np.array([model.rep_factor[r] for r in sorted(model.rep_factor)])
    assert (factors.std(axis=0) > 0.02).all()
    assert np.abs(factors.mean(axis=0) - fit).max() < 3 * factors.std(axis=0).max() / 40**0.5 + 0.03


@pytest.mark.parametrize("tau", [0.2, 0.3, 0.5])
def test_a_replicates_pair_spread_centres_on_the_fits(tau: float) -> None:
    """Re-estimated on Bayesian-bootstrap sums, the pairs' spread counts chance twice (the
    resampling adds its own): its mean over replicates is the fit's. Counted once, it comes out
    larger by a sampling error's worth (about 0.06 here), and a learning policy meets pairs that
    differ more than the data say."""
    rng = np.random.default_rng(11)
    fits, twice, once = [], [], []
    for _ in range(30):
        n = rng.integers(10, 80, 30)
        prior = rng.uniform(0.1, 0.4, 30)
        pair = np.repeat(np.arange(30), n)
        multiple = rng.gamma(1 / tau**2, tau**2, 30)
        sold = (rng.random(len(pair)) < np.clip(prior[pair] * multiple[pair], 0, 1)).astype(float)
        fits.append(1 / pair_shape(np.bincount(pair, sold), np.bincount(pair), prior, used=1))
        for _ in range(4):
            w = rng.exponential(1.0, len(pair))
            sums = (np.bincount(pair, w * sold), np.bincount(pair, w))
            twice.append(1 / pair_shape(*sums, prior, used=1, chance=2.0))
            once.append(1 / pair_shape(*sums, prior, used=1))
    assert abs(np.mean(twice) - np.mean(fits)) < 0.2 * np.mean(fits)
    assert np.mean(once) - np.mean(fits) > 0.03
