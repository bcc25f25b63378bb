"""simulate(): deterministic, drives only the Router (invariants hold), common random numbers."""

from __future__ import annotations

import gc
import hashlib
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter._util import unit_uniform
from leadrouter.errors import BehaviourNeededError, ConfigError
from leadrouter.events import Assigned, Claimed, Converted, Event, Released, Tagged, Touched
from leadrouter.model import Lead
from leadrouter.sim import History, SimRun, simulate, synthetic
from leadrouter.sim.engine import (
    PURPOSES,
    lead_uniforms,
    lead_uniforms_many,
    rep_day_uniform,
    rep_day_uniforms,
)
from leadrouter.sim.workweek import WorkClock, WorkWeek

from .conftest import T0

STRATEGIES = Path(__file__).resolve().parents[1] / "strategies"


@pytest.fixture(scope="module")
def history() -> History:
    return synthetic(n_leads=240, n_reps=4, days=6, seed=3)


class Flat:
    """A stand-in behaviour: unlimited capacity, a delay that ignores the backlog, conversion
    that depends on the rep, so where a lead goes matters only for that lead."""

    def capacity(self, rep_id: str) -> float:
        return float("inf")

    def touch_delay_minutes(self, rep_id: str, backlog: int, u: float) -> float:
        return 5.0 + 60.0 * u

    def p_contact(self, rep_id: str, lead: Lead, delay_minutes: float) -> float:
        return 0.6

    def p_valid(self, lead: Lead) -> float:
        return 0.7

    def p_convert(self, rep_id: str, lead: Lead) -> float:
        return 0.9 if rep_id.endswith("1") else 0.1

    def amount(self, rep_id: str, lead: Lead, u: float) -> float:
        return 1000.0 * (1 + u)


def _outcomes(run: SimRun) -> dict[str, tuple[bool, bool, float]]:
    reached: dict[str, bool] = {}
    valid: dict[str, bool] = {}
    amount: dict[str, float] = {}
    for event in run.ledger.events():
        if isinstance(event, Touched):
            reached.setdefault(event.lead_id, event.reached)
        elif isinstance(event, Tagged):
            valid.setdefault(event.lead_id, event.valid)
        elif isinstance(event, Converted):
            amount[event.lead_id] = event.amount
    return {k: (reached[k], valid.get(k, False), amount.get(k, 0.0)) for k in reached}


def test_same_seed_same_run_other_seed_other_run(history: History) -> None:
    one = simulate(history, lr.EqualRotation(), seed=7)
    two = simulate(history, lr.EqualRotation(), seed=7)
    other = simulate(history, lr.EqualRotation(), seed=8)
    assert list(one.ledger.events()) == list(two.ledger.events())
    assert one.metrics() == two.metrics()
    assert list(one.ledger.events()) != list(other.ledger.events())


def test_draws_are_keyed_by_seed_and_lead_never_by_policy(history: History) -> None:
    rotation = simulate(history, lr.EqualRotation(), seed=2)
    weighted = simulate(history, lr.PerformanceWeighted(), seed=2)
    pd.testing.assert_frame_equal(rotation.draws, weighted.draws)
    assert list(rotation.draws.columns) == list(PURPOSES)
    lead_id = history.leads[5].id
    assert list(rotation.draws.loc[lead_id]) == list(lead_uniforms(2, lead_id))
    assert list(lead_uniforms(3, lead_id)) != list(lead_uniforms(2, lead_id))


def test_moving_one_lead_changes_only_that_leads_outcome(history: History) -> None:
    reps = [rep.id for rep in history.roster]
    moved = history.leads[10].id

    def placed(lead_id: str, move: bool) -> str:
        rep = reps[sum(map(ord, lead_id)) % len(reps)]
        if move and lead_id == moved:
            rep = reps[(reps.index(rep) + 1) % len(reps)]
        return rep

    def factory(move: bool) -> object:
        def build(roster: list[lr.Rep], seed: int) -> lr.Router:
            return lr.Router(lambda ctx: placed(ctx.lead.id, move), roster, seed=seed)

        return build

    before = _outcomes(simulate(history, factory(False), Flat(), seed=1))  # type: ignore[arg-type]
    after = _outcomes(simulate(history, factory(True), Flat(), seed=1))  # type: ignore[arg-type]
    assert before.keys() == after.keys() == {lead.id for lead in history.leads}
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= {moved}
    # reached and valid are the lead's own draws, whoever holds it
    assert before[moved][:2] == after[moved][:2]


def test_every_lead_is_in_exactly_one_place_and_routed_once(history: History) -> None:
    run = simulate(history, lr.EqualRotation(), seed=0)
    ledger = run.ledger
    for lead in history.leads:
        status = ledger.status(lead.id)
        holder, pool = ledger.holder(lead.id), ledger.pool_of(lead.id)
        if status == "held":
            assert holder is not None and pool is None
        elif status == "pooled":
            assert holder is None and pool is not None
        else:
            assert status in {"converted", "invalid"} and holder is None
    replayed = lr.Ledger.from_events(ledger.events())
    assert len(replayed) == len(ledger)


def test_daily_and_open_caps_are_never_exceeded(history: History) -> None:
    def capped(roster: list[lr.Rep], seed: int) -> lr.Router:
        return lr.Router(
            lr.EqualRotation(),
            roster,
            caps=lr.FixedCap(open=3, daily=5, tz=history.tz),
            seed=seed,
        )

    run = simulate(history, capped, seed=0, tick_every=timedelta(hours=1))
    daily: Counter[tuple[str, str]] = Counter()
    open_now: Counter[str] = Counter()
    holder: dict[str, str] = {}
    for event in run.ledger.events():
        if isinstance(event, Assigned | Claimed):
            day = event.at.astimezone(ZoneInfo(history.tz)).date()
            daily[(event.rep_id, str(day))] += 1
            open_now[event.rep_id] += 1
            holder[event.lead_id] = event.rep_id
            assert open_now[event.rep_id] <= 3
        elif isinstance(event, Released | Converted) or (
            isinstance(event, Tagged) and not event.valid
        ):
            open_now[holder.pop(event.lead_id)] -= 1
    assert daily and max(daily.values()) <= 5
    assert run.ledger.waiting(), "with these caps some leads must wait in the public pool"


def test_pull_policy_reps_claim_from_the_pool(history: History) -> None:
    run = simulate(history, lr.GrabWithCaps(held=100, daily=40), seed=0)
    kinds = Counter(type(event).__name__ for event in run.ledger.events())
    assert kinds["Claimed"] > len(history.leads) // 2
    assert kinds["Assigned"] == 0
    assert kinds["Converted"] > 0


def test_playbook_path_runs_on_the_history_roster(history: History) -> None:
    run = simulate(
        history, STRATEGIES / "small-team-no-data.toml", seed=0, tick_every=timedelta(hours=1)
    )
    roster = {rep.id for rep in history.roster}
    receivers = {e.rep_id for e in run.ledger.events() if isinstance(e, Assigned)}
    assert receivers and receivers <= roster


def test_a_loaded_history_needs_a_behaviour_model(history: History) -> None:
    frame = history.to_frame()
    loaded = History.from_frame(frame)
    assert loaded.truth is None
    with pytest.raises(BehaviourNeededError, match="behaviour="):
        simulate(loaded, lr.EqualRotation())
    run = simulate(loaded, lr.EqualRotation(), Flat(), seed=0)
    assert run.metrics()["wasted"] == 0.0


def test_a_policy_that_is_not_one_is_a_named_error(history: History) -> None:
    with pytest.raises(ConfigError, match="factory"):
        simulate(history, 42, Flat())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="tick_every"):
        simulate(history, lr.EqualRotation(), Flat(), tick_every=timedelta(0))


@given(st.integers(min_value=0, max_value=2**32), st.text(min_size=1, max_size=12))
def test_lead_uniforms_are_a_pure_function_of_seed_and_lead(seed: int, lead_id: str) -> None:
    row = lead_uniforms(seed, lead_id)
    assert row.shape == (len(PURPOSES),)
    assert ((row >= 0.0) & (row < 1.0)).all()
    assert list(row) == list(lead_uniforms(seed, lead_id))


def test_a_pull_playbook_claims_from_its_named_pools(history: History) -> None:
    run = simulate(history, STRATEGIES / "cross-region-grab.toml", seed=0)
    claimed = [e for e in run.ledger.events() if isinstance(e, Claimed)]
    assert claimed and {e.rep_id for e in claimed} <= {rep.id for rep in history.roster}
    assert list(run.ledger.events()) == list(
        simulate(history, STRATEGIES / "cross-region-grab.toml", seed=0).ledger.events()
    )


# ------------------------------------------------------------------ uniforms, vectorised


@given(st.integers(min_value=0, max_value=2**63), st.lists(st.text(min_size=1), max_size=8))
def test_vectorised_uniforms_equal_the_scalar_functions(seed: int, lead_ids: list[str]) -> None:
    many = lead_uniforms_many(seed, lead_ids)
    assert many.shape == (len(lead_ids), len(PURPOSES))
    for i, lead_id in enumerate(lead_ids):
        assert list(many[i]) == list(lead_uniforms(seed, lead_id))
    days = rep_day_uniforms(seed, lead_ids, "2025-03-04")
    assert [rep_day_uniform(seed, rep, "2025-03-04") for rep in lead_ids] == list(days)


def test_a_leads_row_depends_on_nothing_but_seed_and_lead() -> None:
    ids = [f"L{i}" for i in range(200)]
    rows = {
        lead_id: list(row) for lead_id, row in zip(ids, lead_uniforms_many(5, ids), strict=True)
    }
    shuffled = [*ids[::-1][:50], "never-seen"]
    again = lead_uniforms_many(5, shuffled)
    assert all(list(again[i]) == rows[lead_id] for i, lead_id in enumerate(shuffled[:-1]))
    # purposes and leads are not copies of one another
    matrix = lead_uniforms_many(5, ids)
    assert len({float(u) for u in matrix.ravel()}) == matrix.size
    reps = rep_day_uniforms(5, ["a", "b", "c"], "2025-03-04")
    assert rep_day_uniform(5, "b", "2025-03-04") == reps[1]
    assert rep_day_uniform(5, "b", "2025-03-05") != reps[1]
    assert rep_day_uniform(6, "b", "2025-03-04") != reps[1]


def test_uniforms_are_strictly_inside_zero_and_one() -> None:
    from leadrouter.sim.draws import _BITS

    keys = np.array([0, 1, 2**12, 2**64 - 1, 2**64 - 2**12], dtype=np.uint64)
    extremes = unit_uniform(keys, _BITS)
    assert ((extremes > 0.0) & (extremes < 1.0)).all()
    assert extremes[0] == extremes[1] == 2.0**-53
    assert extremes[3] == 1.0 - 2.0**-53
    matrix = lead_uniforms_many(0, [f"L{i}" for i in range(20_000)])
    assert ((matrix > 0.0) & (matrix < 1.0)).all()
    # roughly uniform: every tenth of (0, 1) holds about a tenth of the draws
    counts = np.histogram(matrix, bins=10, range=(0.0, 1.0))[0] / matrix.size
    assert np.abs(counts - 0.1).max() < 0.01


@given(st.integers(min_value=0, max_value=2**64 - 1), st.integers(min_value=1, max_value=53))
def test_a_key_gives_the_same_uniform_as_an_int_and_in_an_array(key: int, bits: int) -> None:
    """One mapping serves scalar keys (capacity draws) and arrays (the engine): the same float
    for the same key, the centre of its cell of width 2**-bits, never 0."""
    one = unit_uniform(key, bits)
    assert isinstance(one, float)
    assert float(unit_uniform(np.array([key], dtype=np.uint64), bits)[0]) == one
    cell = key >> (64 - bits)
    assert 0.0 < one <= 1.0
    assert abs(one - (cell + 0.5) / 2**bits) <= 2.0**-54
    if bits <= 52:
        assert one == (cell + 0.5) / 2**bits < 1.0


def test_the_runs_draws_are_the_vectorised_rows(history: History) -> None:
    run = simulate(history, lr.EqualRotation(), seed=4)
    ids = list(run.draws.index)
    assert sorted(ids) == sorted(lead.id for lead in history.leads)
    np.testing.assert_array_equal(run.draws.to_numpy(), lead_uniforms_many(4, ids))


_ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Shanghai")
_WEEKS = (
    ((9, 18),) * 5 + ((10, 16), None),
    ((0, 24),) * 7,
    (None, (8, 12), (13, 24), None, (0, 1), (9, 18), None),
)


@given(
    st.sampled_from(_ZONES),
    st.sampled_from(_WEEKS),
    st.lists(
        st.datetimes(
            min_value=datetime(2025, 1, 2),
            max_value=datetime(2025, 12, 30),
            timezones=st.sampled_from([ZoneInfo(name) for name in _ZONES]),
        ),
        min_size=1,
        max_size=20,
    ),
)
def test_arrivals_placed_at_once_on_the_work_clock_are_placed_as_one_by_one(
    tz: str, week: WorkWeek, instants: list[datetime]
) -> None:
    """Invariant: the engine places every arrival on the working-hours clock at once
    (`WorkClock.work_at_many`, numpy) at exactly the float `WorkClock.work_at` gives for it
    alone, in any zone, from any zone, across daylight-saving jumps - the touch times of a run
    depend on it."""
    clock = WorkClock(date(2025, 1, 1), 370, week, tz)
    assert clock.work_at_many(instants) == [clock.work_at(at) for at in instants]


@pytest.mark.parametrize("on", [True, False])
def test_a_run_leaves_the_garbage_collector_as_it_found_it(history: History, on: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if on else gc.disable()
        simulate(history, lr.EqualRotation(), seed=0)
        assert gc.isenabled() is on
        with pytest.raises(ConfigError):
            simulate(history, 42, seed=0)  # type: ignore[arg-type]
        assert gc.isenabled() is on
    finally:
        gc.enable() if was else gc.disable()


def test_pull_policies_are_deterministic_for_a_seed(history: History) -> None:
    grab = lr.GrabWithCaps(held=6, daily=20, idle_after=timedelta(minutes=45))
    one = simulate(history, grab, seed=3)
    two = simulate(history, grab, seed=3)
    assert list(one.ledger.events()) == list(two.ledger.events())
    assert one.metrics() == two.metrics()


# ------------------------------------------------------------------ tick: re-offering waiting leads


class ReferenceTick(lr.Router):
    """Router.tick's re-offer as first written: every waiting lead decided in full at every
    tick. The router's own re-offer skips work; it must write exactly the same events."""

    def _offer_waiting(self, now: datetime) -> list[Event]:
        events: list[Event] = []
        for lead_id in self.ledger.waiting():
            lost_by = self.ledger.last_holder(lead_id)
            avoid = frozenset({lost_by}) if lost_by else frozenset()
            decision, _ = self._decide(self.ledger.lead(lead_id), now, avoid)
            if decision.rep_id is not None:
                events += self._commit(decision, False)
        return events


def _both(build: Callable[[type[lr.Router], list[lr.Rep], int], lr.Router]) -> tuple[Any, Any]:
    def fast(roster: list[lr.Rep], seed: int) -> lr.Router:
        return build(lr.Router, roster, seed)

    def reference(roster: list[lr.Rep], seed: int) -> lr.Router:
        return build(ReferenceTick, roster, seed)

    return fast, reference


def _tiers(roster: list[lr.Rep]) -> list[lr.Rep]:
    return [attrs.evolve(rep, tier=i % 2) for i, rep in enumerate(roster)]


WAITING_POLICIES: dict[str, Callable[[type[lr.Router], list[lr.Rep], int], lr.Router]] = {
    # every book fills (touched leads stay open): leads wait, and every rep is at the open cap
    "rotation, open and daily caps": lambda cls, roster, seed: cls(
        lr.EqualRotation(), roster, caps=lr.FixedCap(open=3, daily=5, tz="Asia/Shanghai"), seed=seed
    ),
    # a daily cap in one FixedCap, an open cap in another; books expire back to the pool
    "weighted, two caps, expiry": lambda cls, roster, seed: cls(
        lr.PerformanceWeighted(),
        roster,
        caps=[lr.FixedCap(daily=4, tz="Asia/Shanghai"), lr.FixedCap(open=6)],
        lifecycle=lr.Lifecycle(expire_after=timedelta(days=1), reroute=True),
        seed=seed,
    ),
    # the region rule leaves reps idle who could take a lead from another region
    "regions, SLA re-routes": lambda cls, roster, seed: cls(
        lr.UtilizationWeighted(),
        roster,
        rules=[lr.rules.region()],
        caps=lr.FixedCap(open=4, daily=3, tz="Asia/Shanghai"),
        lifecycle=lr.Lifecycle(first_touch_sla=timedelta(minutes=30), reroute=True),
        seed=seed,
    ),
    # the strategy, not a cap, leaves leads waiting: tier 2 has no reps
    "tiers": lambda cls, roster, seed: cls(
        lr.TieredDelay(
            [
                lr.Tier(tier=0, strategy=lr.EqualRotation(), patience=timedelta(hours=1)),
                lr.Tier(tier=1, strategy=lr.EqualRotation(), patience=timedelta(hours=2)),
                lr.Tier(tier=2, strategy=lr.EqualRotation(), patience=timedelta(hours=2)),
            ]
        ),
        _tiers(roster),
        caps=lr.FixedCap(open=5),
        seed=seed,
    ),
    # claims under a cap: refused claims and idle releases, no lead ever waits
    "a claim policy with a cap": lambda cls, roster, seed: cls(
        lr.GrabWithCaps(held=5, idle_after=timedelta(minutes=45)),
        roster,
        caps=lr.FixedCap(daily=6, tz="Asia/Shanghai"),
        seed=seed,
    ),
}


@pytest.mark.parametrize("name", list(WAITING_POLICIES))
def test_skipping_re_offers_writes_exactly_what_making_them_writes(
    history: History, name: str
) -> None:
    fast, reference = _both(WAITING_POLICIES[name])
    for seed in (0, 1):
        got = simulate(history, fast, seed=seed)
        want = simulate(history, reference, seed=seed)
        assert list(got.ledger.events()) == list(want.ledger.events())
        assert got.ledger.snapshot() == want.ledger.snapshot()
    assert got.ledger.waiting() or name.startswith("a claim"), "the case must make leads wait"


def _ticked_every_time(strategy: lr.Strategy) -> lr.Strategy:
    """The strategy under its own name with a `tick` of its own (doing what the base class's
    does), so the engine cannot tell that it has no timers and ticks it every time."""
    cls = type(strategy)

    def tick(self: lr.Strategy, ctx: Any) -> Any:
        return lr.Strategy.tick(self, ctx)

    twin = type(cls.__name__, (cls,), {"tick": tick})
    fields = {f.alias: getattr(strategy, f.name) for f in attrs.fields(cls) if f.init}
    ticked: lr.Strategy = twin(**fields)
    return ticked


IDLE_TICK_CASES: dict[str, Callable[[lr.Strategy], Any]] = {
    "no caps: no lead ever waits": lambda strategy: strategy,
    "open and daily caps: leads wait": lambda strategy: (
        lambda roster, seed: lr.Router(
            strategy, roster, caps=lr.FixedCap(open=3, daily=5, tz="Asia/Shanghai"), seed=seed
        )
    ),
}


@pytest.mark.parametrize("case", list(IDLE_TICK_CASES))
@pytest.mark.parametrize("strategy", [lr.EqualRotation(), lr.PerformanceWeighted()], ids=repr)
def test_ticks_skipped_as_idle_would_have_written_nothing(
    history: History, case: str, strategy: lr.Strategy
) -> None:
    """A strategy without timers, no lifecycle deadlines and no lead waiting: the engine skips
    the tick, and the ledger is the one ticking every time writes."""
    policy = IDLE_TICK_CASES[case]
    skipped = simulate(history, policy(strategy), seed=2)
    ticked = simulate(history, policy(_ticked_every_time(strategy)), seed=2)
    assert list(skipped.ledger.events()) == list(ticked.ledger.events())
    assert bool(skipped.ledger.waiting()) == case.endswith("leads wait")


def test_when_no_rep_can_take_a_lead_tick_asks_the_strategy_nothing() -> None:
    calls: list[str] = []

    def first_free(ctx: lr.Context) -> str | None:
        calls.append(ctx.lead.id)
        return next((rep for rep in sorted(ctx.ids) if ctx.can_take(rep)), None)

    reps = [lr.Rep("a"), lr.Rep("b")]
    router = lr.Router(first_free, reps, caps=lr.FixedCap(open=1, daily=5))
    t0 = T0
    for i in range(4):
        router.route(Lead(f"L{i}", t0 + timedelta(minutes=i)), now=t0 + timedelta(minutes=i))
    assert router.ledger.waiting() == ("L2", "L3")
    calls.clear()
    assert router.tick(now=t0 + timedelta(hours=1)) == []
    assert calls == [], "both books are full: no waiting lead can be placed"
    router.record(Tagged("L0", "a", t0 + timedelta(hours=1), valid=False))
    events = router.tick(now=t0 + timedelta(hours=2))
    assert [(type(e).__name__, e.lead_id) for e in events] == [("Assigned", "L2")]
    assert calls == ["L2"], "once a lead is placed and every book is full again, it stops"
    assert router.ledger.waiting() == ("L3",)


def test_waiting_order_follows_every_change() -> None:
    reps = [lr.Rep("a"), lr.Rep("b")]
    router = lr.Router(lr.EqualRotation(), reps, caps=lr.FixedCap(open=1))
    t0 = T0
    # arrival order differs from id order and from the order leads start waiting
    for i, minutes in enumerate([5, 0, 7, 1, 3]):
        router.route(Lead(f"L{i}", t0 + timedelta(minutes=minutes)), now=t0 + timedelta(minutes=9))
    ledger = router.ledger

    def fresh() -> tuple[str, ...]:
        pooled = [lid for lid in ledger.lead_ids() if ledger.is_waiting(lid)]
        return tuple(sorted(pooled, key=lambda lid: ledger.lead(lid).arrived_at))

    assert ledger.waiting() == fresh() == ("L3", "L4", "L2")
    holder = ledger.holder("L0")
    assert holder is not None
    router.record(Tagged("L0", holder, t0 + timedelta(minutes=10), valid=False))
    router.tick(now=t0 + timedelta(minutes=11))
    assert ledger.waiting() == fresh() == ("L4", "L2")
    router.release(ledger.book_order("b")[0], now=t0 + timedelta(minutes=12), reroute=False)
    assert ledger.waiting() == fresh() == ("L4", "L2")


# ------------------------------------------------------------- ledger counts strategies ask for

ZONES = (ZoneInfo("UTC"), ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York"))
STEPS = st.lists(
    st.tuples(
        st.sampled_from(("assign", "assign", "ask")),
        st.integers(0, 2),  # the rep assigned to
        st.integers(0, 20),  # when: T0 + 30 minutes x this (assign) or x 8 (ask)
        st.integers(0, len(ZONES) - 1),  # the zone the time is written in
    ),
    max_size=60,
)


@given(STEPS)
def test_remembered_counts_equal_counting_from_scratch(
    steps: list[tuple[str, int, int, int]],
) -> None:
    """count(rep, since) and received_total(since) remember where `since` falls in a series;
    assignments out of time order, asks in other zones and repeated asks must not fool them."""
    ledger = lr.Ledger()
    received: dict[str, list[datetime]] = {"r0": [], "r1": [], "r2": []}
    for i, (kind, rep_number, step, zone) in enumerate(steps):
        if kind == "assign":
            at = (T0 + timedelta(minutes=30 * step)).astimezone(ZONES[zone])
            ledger.append(lr.Arrived(Lead(f"L{i}", T0)))
            ledger.append(Assigned(f"L{i}", f"r{rep_number}", at))
            received[f"r{rep_number}"].append(at)
            continue
        since = (T0 + timedelta(minutes=30 * 8 * (step % 3))).astimezone(ZONES[zone])
        for rep, times in received.items():
            assert ledger.count(rep, since) == sum(1 for t in times if t >= since)
        every = [t for times in received.values() for t in times]
        assert ledger.received_total(since) == sum(1 for t in every if t >= since)


# ------------------------------------------------------------- recorded runs


def _line(event: Event) -> str:
    """An event as what it says happened: its kind and every field, times as ISO text, an
    arrival as its lead's id and time (so the digest does not move with how a Lead prints)."""
    if isinstance(event, lr.Arrived):
        return f"Arrived|{event.lead.id}|{event.lead.arrived_at.isoformat()}"
    values = [getattr(event, field.name) for field in attrs.fields(type(event))]
    shown = [v.isoformat() if isinstance(v, datetime) else repr(v) for v in values]
    return "|".join([type(event).__name__, *shown])


def _digest(run: SimRun) -> str:
    text = "\n".join(map(_line, run.ledger.events()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


RECORDED: dict[tuple[str, int], str] = {
    ("rotation", 0): "87ffb127d38aeb0f",
    ("rotation", 5): "14bcfe1d42e3824b",
    ("weighted", 0): "9300f50061005003",
    ("weighted", 5): "7e11a9ea4764d7c3",
    ("profile", 0): "44206e7e22cf5031",
    ("profile", 5): "9df839e30f91c177",
    ("grab", 0): "adcadd0b2104bb41",
    ("grab", 5): "24f0dd0360cd038b",
    ("rotation, open and daily caps", 1): "7812528a79eaaa62",
    # deadlines due at one instant come up in lead-id order, as a rebuilt router takes them
    ("weighted, two caps, expiry", 1): "8ebeb771cbf54a42",
    ("regions, SLA re-routes", 1): "04a04b3877861a16",
    ("tiers", 1): "d91386cce88fbc2e",  # reasons only: a lead waiting for an empty tier says so
    ("a claim policy with a cap", 1): "700ebb5f978aade3",
}
"""A digest of every event of these runs over the `history` fixture (`_line`), recorded from
the engine as it was written first (one function of closures): the same seed must keep writing
the same ledger, event for event, whatever shape the engine takes."""


def _recorded_policy(name: str) -> Any:
    plain = {
        "rotation": lr.EqualRotation(),
        "weighted": lr.PerformanceWeighted(),
        "profile": lr.ProfileMatching(),
        "grab": lr.GrabWithCaps(held=6, daily=20, idle_after=timedelta(minutes=45)),
    }
    if name in plain:
        return plain[name]
    build = WAITING_POLICIES[name]
    return lambda roster, seed: build(lr.Router, roster, seed)


@pytest.mark.parametrize(("name", "seed"), list(RECORDED))
def test_a_seed_writes_the_ledger_it_always_wrote(history: History, name: str, seed: int) -> None:
    assert _digest(simulate(history, _recorded_policy(name), seed=seed)) == RECORDED[(name, seed)]


def _tiered(reps: list[lr.Rep], seed: int) -> lr.Router:
    """TieredDelay over the first half of the reps as tier 0, the rest tier 1: leads nobody
    reached in time are released and assigned again."""
    given_reps = [
        attrs.evolve(rep, tier=0 if i < len(reps) // 2 else 1) for i, rep in enumerate(reps)
    ]
    tiers = [
        lr.Tier(tier=t, strategy=lr.EqualRotation(), patience=timedelta(hours=2)) for t in (0, 1)
    ]
    return lr.Router(lr.TieredDelay(tiers), given_reps, seed=seed)


DECIDED_POLICIES: dict[str, Callable[[], Any]] = {
    "EqualRotation": lr.EqualRotation,
    "PerformanceWeighted": lambda: lr.PerformanceWeighted(window=timedelta(days=2)),
    "with open caps, leads wait": lambda: (
        lambda roster, seed: lr.Router(
            lr.EqualRotation(), roster, caps=lr.FixedCap(open=3), seed=seed
        )
    ),
    "TieredDelay, leads released": lambda: _tiered,
    "GrabWithCaps, claims refused": lambda: lr.GrabWithCaps(daily=8, held=3),
    "GrabWithCaps, idle claims released": lambda: lr.GrabWithCaps(
        held=5, idle_after=timedelta(minutes=45)
    ),
}


@pytest.mark.parametrize("name", list(DECIDED_POLICIES))
def test_assignments_read_off_decisions_write_what_reading_the_log_writes(
    history: History, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lead a push policy's route gave to a rep, or a rep claimed, is scheduled from the
    decision route or claim returned (`_Simulation.decided`), not from the events it wrote:
    the run is event for event the one that reads every new event from the ledger."""
    from leadrouter.sim.engine import _Simulation

    decided = simulate(history, DECIDED_POLICIES[name](), seed=4)
    monkeypatch.setattr(_Simulation, "decided", lambda self, *_, **__: self.follow())
    read = simulate(history, DECIDED_POLICIES[name](), seed=4)
    assert list(decided.ledger.events()) == list(read.ledger.events())


def test_a_push_run_does_not_read_the_log_after_every_lead(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a lead's assignment off route's decision spares the run a read of the ledger's
    new events after each lead (the lock, a view and a slice each time): with no lead waiting
    and no timers, the run reads none."""
    reads = 0
    events = lr.Ledger.events

    def counted(self: lr.Ledger) -> Any:
        nonlocal reads
        reads += 1
        return events(self)

    monkeypatch.setattr(lr.Ledger, "events", counted)
    run = simulate(history, lr.EqualRotation(), seed=0)
    monkeypatch.undo()
    assert reads == 0
    assert sum(type(event) is Assigned for event in run.ledger.events()) == len(history.leads)


@pytest.mark.parametrize(
    "name", [name for name, policy in DECIDED_POLICIES.items() if isinstance(policy(), lr.Strategy)]
)
def test_a_run_keeps_no_decision_log_and_writes_what_a_logging_router_writes(
    history: History, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Router a run makes from a Strategy keeps no decisions for `Router.why` (nobody can
    ask it once the run is over); the run is event for event the one a Router keeping the
    default log writes."""
    from leadrouter.sim import engine

    made: list[lr.Router] = []
    make = engine.make_router

    def keep(*args: Any, **kwargs: Any) -> lr.Router:
        made.append(make(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(engine, "make_router", keep)
    bare = simulate(history, DECIDED_POLICIES[name](), seed=4)
    monkeypatch.undo()
    assert [router.decisions() for router in made] == [()]

    def logging(reps: list[lr.Rep], seed: int) -> lr.Router:
        return lr.Router(DECIDED_POLICIES[name](), reps, seed=seed)

    logged = simulate(history, logging, seed=4)
    assert list(bare.ledger.events()) == list(logged.ledger.events())


def test_a_tick_is_read_off_what_it_returned(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a tick the run schedules from the events `Router.tick` returned, not from the
    ledger's new events (its own reports aside, they are those): a push policy whose ticks
    release and re-route leads reads the ledger after no tick, and the run is event for event
    the one that reads the ledger after every tick."""
    import sys

    from leadrouter.sim.engine import _Simulation

    reads = 0
    events = lr.Ledger.events

    def counted(self: lr.Ledger) -> Any:
        nonlocal reads
        reads += sys._getframe(1).f_code.co_name == "follow"
        return events(self)

    monkeypatch.setattr(lr.Ledger, "events", counted)
    returned = simulate(history, _tiered, seed=4)
    assert reads == 0
    follow = _Simulation.follow
    monkeypatch.setattr(_Simulation, "follow", lambda self, moved=(): follow(self))
    read = simulate(history, _tiered, seed=4)
    assert reads > 0
    released = [event for event in returned.ledger.events() if type(event) is Released]
    assert released
    assert list(returned.ledger.events()) == list(read.ledger.events())
