"""A fitted model reproduces the history it was fitted on, whatever columns the export lacks.

Every subset of {first_touch_at, reached, valid, amount} is dropped from two synthetic exports:
consumer leads that rarely buy (about 5% of leads), and B2B deals that mostly do (about 55%,
where the consumer defaults - 40% valid, contact falling from 75% - would leave at most ~24% of
leads able to buy). Replaying the logged assignments under the model fitted on that very export
must give back its conversion, revenue per lead (when it has amounts) and each rep's
conversion, within sampling error: an assumption the data contradict is raised to fit, never
left to clip the model's chances.
"""

from __future__ import annotations

import itertools
import math
import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest

from leadrouter.sim import History, fit_behaviour, simulate, synthetic
from leadrouter.sim.calibration import replay_policy
from leadrouter.sim.synthetic import ContactDecay, Product, Source

OPTIONAL = ("first_touch_at", "reached", "valid", "amount")
DROPS = [drop for k in range(len(OPTIONAL) + 1) for drop in itertools.combinations(OPTIONAL, k)]
B2B = {
    "products": (
        Product("basic", 0.55, 0.85, 3000.0),
        Product("pro", 0.35, 0.7, 12000.0),
        Product("enterprise", 0.10, 0.5, 60000.0),
    ),
    "sources": (Source("inbound", 0.6, 200.0, 0.95), Source("outbound", 0.4, 100.0, 0.9)),
    "contact": ContactDecay(at_zero=0.95, floor=0.8),
}
SEEDS = 3


@cache
def export(kind: str) -> pd.DataFrame:
    return synthetic(800, 6, 20, seed=1, **(B2B if kind == "b2b" else {})).to_frame()


def replayed(frame: pd.DataFrame) -> list[pd.Series]:
    """Per seed, the amount of each lead the replay sold (indexed by lead id), under the model
    fitted on `frame`, the logged assignments replayed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = History.from_frame(frame)
        model = fit_behaviour(history)
    policy = replay_policy(history)
    runs = []
    for seed in range(SEEDS):
        run = simulate(history, policy, model, seed=seed)
        sold = {e.lead_id: e.amount for e in run.ledger.events() if type(e).__name__ == "Converted"}
        runs.append(pd.Series(sold, dtype=float))
    return runs


def z(observed: np.ndarray, simulated: float, runs: int) -> float:
    """How many standard errors the simulated mean lies from the observed one: the history's
    sampling error plus the replay's Monte Carlo error (each run about as noisy as the data)."""
    se = observed.std(ddof=1) / math.sqrt(len(observed)) * math.sqrt(1.0 + 1.0 / runs)
    return abs(observed.mean() - simulated) / max(se, 1e-12)


@pytest.mark.parametrize("kind", ["consumer", "b2b"])
@pytest.mark.parametrize("drop", DROPS, ids=lambda d: "-".join(d) or "none")
def test_replay_reproduces_the_history_it_was_fitted_on(kind: str, drop: tuple[str, ...]) -> None:
    frame = export(kind).drop(columns=list(drop))
    runs = replayed(frame)
    leads = frame["lead_id"].astype(str)
    sold = frame["converted"].astype(bool).to_numpy(dtype=float)
    sim_sold = [leads.isin(run.index).to_numpy(dtype=float) for run in runs]
    assert z(sold, float(np.mean([s.mean() for s in sim_sold])), SEEDS) < 3.0

    if "amount" not in drop:
        money = np.where(sold > 0, frame["amount"].fillna(0.0).to_numpy(dtype=float), 0.0)
        sim_money = [leads.map(run).fillna(0.0).to_numpy(dtype=float) for run in runs]
        assert z(money, float(np.mean([m.mean() for m in sim_money])), SEEDS) < 3.0

    reps = frame["rep_id"].astype(str).to_numpy()
    worst = max(
        z(sold[reps == rep], float(np.mean([s[reps == rep].mean() for s in sim_sold])), SEEDS)
        for rep in np.unique(reps)
    )
    assert worst < 3.5
