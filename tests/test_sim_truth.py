"""The exact truth of a synthetic History: `history.truth.behaviour()` is the generating process.

Per lead, its answers are the generator's own chances (validity, closing with the rep who really
got the lead); replaying the logged assignments under it reproduces the history's conversion,
contact and revenue within their sampling noise; sensitivity moves change what they say.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from leadrouter.errors import ConfigError
from leadrouter.events import Converted, Touched
from leadrouter.sim import History, synthetic
from leadrouter.sim.calibration import replay_policy
from leadrouter.sim.engine import default_behaviour, simulate
from leadrouter.sim.truth import TrueBehaviour


@pytest.fixture(scope="module")
def history() -> History:
    return synthetic(n_leads=2400, n_reps=8, days=21, seed=11)


@pytest.fixture(scope="module")
def truth(history: History) -> TrueBehaviour:
    assert history.truth is not None
    return history.truth.behaviour()


def test_per_lead_chances_are_the_generators(history: History, truth: TrueBehaviour) -> None:
    frame = history.to_frame().set_index("lead_id")
    assert history.truth is not None
    per_lead = history.truth.per_lead.set_index("lead_id")
    for lead in history.leads[:400]:
        rep = str(frame.loc[lead.id, "rep_id"])
        assert truth.p_valid(lead) == pytest.approx(per_lead.loc[lead.id, "p_valid"], abs=1e-12)
        assert truth.p_convert(rep, lead) == pytest.approx(
            per_lead.loc[lead.id, "p_close"], abs=1e-12
        )


def test_replaying_the_logged_policy_reproduces_the_history(
    history: History, truth: TrueBehaviour
) -> None:
    frame = history.to_frame()
    n = len(frame)
    policy = replay_policy(history)
    sales, contact, revenue = [], [], []
    for seed in range(6):
        events = simulate(history, policy, truth, seed=seed).ledger.events()
        sales.append(sum(type(e) is Converted for e in events) / n)
        revenue.append(sum(e.amount for e in events if type(e) is Converted))
        first: set[str] = set()
        reached = 0
        for event in events:
            if type(event) is Touched and event.lead_id not in first:
                first.add(event.lead_id)
                reached += event.reached
        contact.append(reached / n)
    for name, simulated, observed in (
        ("conversion", sales, float(frame["converted"].mean())),
        ("contact", contact, float(frame["reached"].mean())),
    ):
        # the observed rate is one draw of the same process: within 3.5 binomial sd of the mean
        # of the replays (whose own error is smaller by sqrt(6))
        sd = math.sqrt(observed * (1 - observed) / n) * math.sqrt(1 + 1 / len(simulated))
        assert abs(np.mean(simulated) - observed) < 3.5 * sd, (name, simulated, observed)
    observed_revenue = float(frame["amount"].sum())
    spread = float(np.std(revenue, ddof=1)) * math.sqrt(1 + 1 / len(revenue))
    assert abs(np.mean(revenue) - observed_revenue) < 3.5 * spread


def test_default_behaviour_of_a_synthetic_history_is_the_exact_truth(history: History) -> None:
    assert isinstance(default_behaviour(history), TrueBehaviour)


def test_varied_moves_rep_effects_decay_and_capacity(
    history: History, truth: TrueBehaviour
) -> None:
    lead = history.leads[0]
    reps = [rep.id for rep in history.roster]
    flat = truth.varied(rep_effects=False)
    assert len({round(flat.p_convert(rep, lead), 12) for rep in reps}) == 1
    assert flat.p_convert(reps[0], lead) == pytest.approx(truth.p_convert_team(lead))
    assert len({round(truth.p_convert(rep, lead), 12) for rep in reps}) > 1
    fast = truth.varied(decay=2.0)
    assert fast.p_contact(reps[0], lead, 60.0) < truth.p_contact(reps[0], lead, 60.0)
    assert fast.p_contact(reps[0], lead, 0.0) == truth.p_contact(reps[0], lead, 0.0)
    assert truth.varied(capacity=1.5).capacity(reps[0]) == pytest.approx(
        1.5 * truth.capacity(reps[0])
    )
    assert truth.varied(capacity=0.5).touch_delay_minutes(reps[0], 4, 0.5) > (
        truth.touch_delay_minutes(reps[0], 4, 0.5)
    )
    with pytest.raises(ConfigError, match="decay"):
        truth.varied(decay=0.0)


def test_amounts_follow_the_product_price(history: History, truth: TrueBehaviour) -> None:
    assert history.truth is not None
    prices = {p.name: p.price for p in history.truth.products}
    for lead in history.leads[:50]:
        median = truth.amount("", lead, 0.5)
        assert median == pytest.approx(prices[lead.product], rel=0.01)
        assert truth.amount("", lead, 0.9) > median > truth.amount("", lead, 0.1)


def test_an_unknown_rep_is_a_named_error(history: History, truth: TrueBehaviour) -> None:
    with pytest.raises(ConfigError, match="not one of the reps"):
        truth.capacity("nobody")
