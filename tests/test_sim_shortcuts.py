"""The simulator's own shortcuts: the draws kept between runs of one seed, a run's metrics read
off its ledger, the truth's sale amounts and idle ticks passed at once - each gives the very
numbers, and the very ledger, of the plain computation."""

from __future__ import annotations

import math
from datetime import time, timedelta
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter._util import instant
from leadrouter.events import Assigned, Claimed, Converted, Tagged, Touched
from leadrouter.model import Lead
from leadrouter.sim import History, SimRun, simulate, synthetic
from leadrouter.sim import draws as draws_module
from leadrouter.sim.behaviour import fit_behaviour
from leadrouter.sim.draws import (
    forget_kept,
    lead_rows,
    lead_uniforms_many,
    rep_day_row,
    rep_day_uniforms,
)
from leadrouter.sim.metrics import first_touches, run_metrics, run_per_rep, seen_pairs
from leadrouter.sim.truth import TrueBehaviour
from leadrouter.strategies.base import timers_announced

from .test_sim_engine import IDLE_TICK_CASES, _ticked_every_time


@pytest.fixture(scope="module")
def history() -> History:
    return synthetic(n_leads=300, n_reps=5, days=8, seed=11)


# ------------------------------------------------------------------ draws kept between runs


@given(st.integers(min_value=0, max_value=2**63), st.lists(st.text(min_size=1), max_size=8))
def test_kept_rows_are_the_vectorised_uniforms(seed: int, lead_ids: list[str]) -> None:
    ids = tuple(dict.fromkeys(lead_ids))
    matrix, rows = lead_rows(seed, ids)
    np.testing.assert_array_equal(matrix, lead_uniforms_many(seed, ids))
    assert list(rows) == list(ids)
    assert all(rows[lead_id] == tuple(matrix[i].tolist()) for i, lead_id in enumerate(ids))
    assert not matrix.flags.writeable
    assert rep_day_row(seed, ids, "2025-03-04") == tuple(
        rep_day_uniforms(seed, ids, "2025-03-04").tolist()
    )


def test_rows_are_kept_for_runs_up_to_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = ("a", "b", "c")
    kept = lead_rows(3, ids)
    assert lead_rows(3, ids) is kept
    assert rep_day_row(3, ids, "2025-03-04") is rep_day_row(3, ids, "2025-03-04")
    forget_kept()
    assert lead_rows(3, ids) is not kept
    np.testing.assert_array_equal(lead_rows(3, ids)[0], kept[0])
    monkeypatch.setattr(draws_module, "KEPT_LEADS", 2)
    assert lead_rows(3, ids) is not lead_rows(3, ids)
    np.testing.assert_array_equal(lead_rows(3, ids)[0], lead_rows(3, ids)[0])


def test_a_run_changing_its_draws_changes_no_other_run(history: History) -> None:
    first = simulate(history, lr.EqualRotation(), seed=5)
    before = first.draws.to_numpy().copy()
    first.draws.iloc[0, 0] = 0.5
    again = simulate(history, lr.EqualRotation(), seed=5)
    np.testing.assert_array_equal(again.draws.to_numpy(), before)
    assert list(again.ledger.events()) == list(
        simulate(history, lr.EqualRotation(), seed=5).ledger.events()
    )


# ------------------------------------------------------------------ metrics, read plainly


def _plain_metrics(run: SimRun, behaviour: Any, seen: frozenset[tuple[str, str]]) -> list[Any]:
    """The sums the metrics make, read off the ledger the plain way (isinstance, one lookup per
    attribute): the oracle the readings in `leadrouter.sim.metrics` must equal to the bit."""
    arrived = {lead.id: lead.arrived_at for lead in run.leads}
    by_id = {lead.id: lead for lead in run.leads}
    first: dict[str, tuple[str, float, bool]] = {}
    sales = revenue = 0.0
    receipts: dict[str, int] = {}
    unseen = 0
    valid = set()
    for event in run.ledger.events():
        if isinstance(event, Touched) and event.lead_id not in first:
            delay = (instant(event.at) - instant(arrived[event.lead_id])).total_seconds() / 60
            first[event.lead_id] = (event.rep_id, delay, event.reached)
        elif isinstance(event, Converted):
            sales += 1
            revenue += event.amount
        elif isinstance(event, Assigned | Claimed):
            receipts[event.rep_id] = receipts.get(event.rep_id, 0) + 1
            unseen += (event.rep_id, by_id[event.lead_id].segment) not in seen
        elif isinstance(event, Tagged) and event.valid:
            valid.add(event.lead_id)
    amounts = dict(zip(run.draws.index, run.draws["amount"], strict=True))
    chance_sum = revenue_sum = team = 0.0
    for lead_id, (rep, delay, _) in first.items():
        lead = by_id[lead_id]
        reach = behaviour.p_valid(lead) * behaviour.p_contact(rep, lead, delay)
        chance = reach * behaviour.p_convert(rep, lead)
        chance_sum += chance
        if chance > 0:
            revenue_sum += chance * max(0.0, behaviour.amount(rep, lead, amounts[lead_id]))
        team += reach * behaviour.p_convert_team(lead)
    return [first, sales, revenue, receipts, unseen, chance_sum, revenue_sum, team]


def _bits(value: Any) -> Any:
    return value.hex() if isinstance(value, float) and not math.isnan(value) else value


@settings(max_examples=12, deadline=None)
@given(
    st.integers(min_value=0, max_value=2**32),
    st.sampled_from(["rotation", "grab", "tiered"]),
    st.booleans(),
)
def test_metrics_equal_the_plain_reading_to_the_bit(
    history: History, seed: int, name: str, fitted: bool
) -> None:
    policies: dict[str, Any] = {
        "rotation": lr.EqualRotation(),
        "grab": lr.GrabWithCaps(daily=6),
        "tiered": lr.TieredDelay(
            [lr.Tier(tier=0, strategy=lr.EqualRotation(), patience=timedelta(hours=6))]
        ),
    }
    behaviour = _fitted(history) if fitted else history.truth.behaviour()  # type: ignore[union-attr]
    run = simulate(history, policies[name], behaviour, seed=seed)
    seen = seen_pairs(history)
    first, sales, revenue, receipts, unseen, chances, money, team = _plain_metrics(
        run, behaviour, seen
    )
    assert first_touches(run) == first
    n = len(run.leads)
    counted = run_metrics(run, timedelta(hours=1), behaviour, seen, first)
    assert _bits(counted["conversion_rate"]) == _bits(sales / n)
    assert _bits(counted["revenue"]) == _bits(revenue)
    expected = run_metrics(run, timedelta(hours=1), behaviour, seen, first, expected=True)
    assert _bits(expected["conversion_rate"]) == _bits(chances / n)
    assert _bits(expected["revenue"]) == _bits(money)
    assert _bits(expected["conversion_mechanical"]) == _bits(team / n)
    assert _bits(expected["extrapolated_share"]) == _bits(unseen / sum(receipts.values()))
    table = run_per_rep(run, first)
    assert table["received"].to_dict() == {
        rep.id: float(receipts.get(rep.id, 0)) for rep in run.reps
    }
    assert table["touched"].sum() == len(first)


_FITS: dict[int, Any] = {}


def _fitted(history: History) -> Any:
    if id(history) not in _FITS:
        _FITS[id(history)] = fit_behaviour(history)
    return _FITS[id(history)]


def test_a_receipt_by_a_rep_off_the_roster_has_a_row(history: History) -> None:
    run = simulate(history, lr.EqualRotation(), seed=2)
    shrunk = SimRun(run.ledger, run.leads, run.reps[1:], run.seed, run.draws, run.behaviour)
    table = run_per_rep(shrunk, first_touches(shrunk))
    gone = run.reps[0].id
    assert table.loc[gone, "received"] == run_per_rep(run, first_touches(run)).loc[gone, "received"]
    assert table.loc[gone, "received"] > 0


# ------------------------------------------------------------------ the truth's amounts


def test_a_known_products_amount_does_not_work_out_the_catalogue_mean(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    truth = history.truth.behaviour()  # type: ignore[union-attr]
    lead = history.leads[0]
    expected = truth.amount("", lead, 0.3)
    unknown = Lead("nowhere", arrived_at=lead.arrived_at, product="not-a-product")
    mean_price = truth._mean_price()

    def never() -> float:
        raise AssertionError("the catalogue's mean price was worked out for a known product")

    monkeypatch.setattr(TrueBehaviour, "_mean_price", lambda self: never())
    assert truth.amount("", lead, 0.3) == expected
    monkeypatch.setattr(TrueBehaviour, "_mean_price", lambda self: mean_price)
    assert truth.amount("", unknown, 0.5) == round(mean_price, -1)


# ------------------------------------------------------------------ idle ticks passed at once


@pytest.fixture(scope="module")
def on_the_grid() -> History:
    """Leads arriving on the quarter hour, so arrivals and ticks fall at one time."""
    made = synthetic(n_leads=160, n_reps=4, days=5, seed=8)
    frame = made.to_frame()
    frame["arrived_at"] = frame["arrived_at"].dt.floor("15min")
    return History(frame, tz=made.tz, roster=made.roster, truth=made.truth)


def _capped(open_leads: int) -> Any:
    """Strategy -> a policy whose reps hold at most `open_leads` leads, so a lead waits until a
    book drains (a sale, or a lead closed as lost after the follow-up)."""
    return lambda strategy: (
        lambda roster, seed: lr.Router(
            strategy, roster, caps=lr.FixedCap(open=open_leads), seed=seed
        )
    )


GRID_CASES: dict[str, Any] = {
    **IDLE_TICK_CASES,
    "one open lead each: leads wait a while": _capped(1),
}


@settings(max_examples=12, deadline=None)
@given(
    st.sampled_from(sorted(GRID_CASES)),
    st.sampled_from([5, 15, 45]),
    st.sampled_from([timedelta(minutes=30), timedelta(hours=4), timedelta(days=3)]),
    st.integers(min_value=0, max_value=2**32),
)
def test_idle_ticks_passed_at_once_write_what_ticking_each_writes(
    on_the_grid: History, case: str, minutes: int, follow_up: timedelta, seed: int
) -> None:
    """A push policy without timers: the idle ticks up to the next arrival or touch are passed
    at once; the ledger is the one ticking every time (every tick a Router.tick) writes, with
    arrivals, touches and ticks falling at one time and leads waiting now and then."""
    policy = GRID_CASES[case]
    engine: dict[str, Any] = {"tick_every": timedelta(minutes=minutes), "follow_up": follow_up}
    passed = simulate(on_the_grid, policy(lr.EqualRotation()), seed=seed, **engine)
    ticked = simulate(
        on_the_grid, policy(_ticked_every_time(lr.EqualRotation())), seed=seed, **engine
    )
    assert list(passed.ledger.events()) == list(ticked.ledger.events())


# ------------------------------------------------------------------ ticks only when a timer is due


def _unannounced(strategy: lr.TieredDelay) -> lr.Strategy:
    """`strategy` under its own name, saying nothing of its timers (`announces_timers` False),
    so the engine ticks it every `tick_every`, as it ticks a strategy whose `next_due` may miss
    a time its `tick` acts at."""
    twin = type("TieredDelay", (lr.TieredDelay,), {"announces_timers": property(lambda s: False)})
    ticked: lr.Strategy = twin(strategy.tiers)
    return ticked


_OFFICE = lr.rules.schedule(
    default=lr.Shift("Asia/Shanghai", start=time(9), end=time(18), weekdays=frozenset(range(5)))
)
_PATIENCE = [timedelta(minutes=10), timedelta(hours=1), timedelta(hours=5), timedelta(days=1)]


@settings(max_examples=20, deadline=None)
@given(
    st.booleans(),
    st.lists(st.sampled_from(_PATIENCE), min_size=1, max_size=3),
    st.sampled_from([5, 15, 45]),
    st.sampled_from(
        [
            None,
            lr.Lifecycle(first_touch_sla=timedelta(minutes=40), reroute=True),
            lr.Lifecycle(first_touch_sla=timedelta(hours=3), reroute=True, working_hours=_OFFICE),
            lr.Lifecycle(expire_after=timedelta(days=1)),
        ]
    ),
    st.sampled_from([None, 1, 3]),
    st.integers(min_value=0, max_value=2**32),
)
def test_ticks_only_when_a_timer_is_due_write_what_ticking_each_writes(
    history: History,
    on_the_grid: History,
    gridded: bool,
    patience: list[timedelta],
    minutes: int,
    lifecycle: lr.Lifecycle | None,
    open_leads: int | None,
    seed: int,
) -> None:
    """TieredDelay announces its timers: with no lead waiting, the engine ticks only when
    `Router.next_due` says a tier's patience or a lifecycle deadline (SLA counted in working
    hours or not, expiry) is due, passing the ticks between at once; the ledger is the one
    ticking every `tick_every` writes, with arrivals on or off the tick grid, tiers of any
    patience (shorter than a tick too), and leads waiting for a book to drain now and then."""
    tiers = [
        lr.Tier(tier=i, strategy=lr.EqualRotation(), patience=p) for i, p in enumerate(patience)
    ]
    strategy = lr.TieredDelay(tiers)
    made = on_the_grid if gridded else history
    caps = lr.FixedCap(open=open_leads) if open_leads is not None else None

    def policy(chosen: lr.Strategy) -> Any:
        def factory(roster: list[lr.Rep], seed: int) -> lr.Router:
            reps = [attrs.evolve(rep, tier=i % len(tiers)) for i, rep in enumerate(roster)]
            return lr.Router(chosen, reps, caps=caps, lifecycle=lifecycle, seed=seed)

        return factory

    engine: dict[str, Any] = {"tick_every": timedelta(minutes=minutes), "seed": seed}
    skipped = simulate(made, policy(strategy), **engine)
    ticked = simulate(made, policy(_unannounced(strategy)), **engine)
    assert list(skipped.ledger.events()) == list(ticked.ledger.events())


def test_a_tier_whose_timers_are_not_announced_keeps_the_beat() -> None:
    """A tier's strategy with a `tick` of its own and no say on its timers makes the whole
    TieredDelay unannounced: its tick may act at a time `next_due` does not name."""
    quiet = lr.Tier(tier=0, strategy=lr.EqualRotation(), patience=timedelta(hours=1))
    loud = lr.Tier(
        tier=1, strategy=_ticked_every_time(lr.EqualRotation()), patience=timedelta(hours=1)
    )
    assert timers_announced(lr.TieredDelay([quiet]))
    assert not timers_announced(lr.TieredDelay([quiet, loud]))
    assert timers_announced(lr.EqualRotation())
    assert not timers_announced(_ticked_every_time(lr.EqualRotation()))
