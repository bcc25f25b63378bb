"""LedgerMemo: what strategies and caps derive from a ledger is kept per ledger and day, dropped
when the ledger rebuilds its views, and never travels with the strategy."""

from __future__ import annotations

import copy
import gc
import pickle
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import leadrouter as lr
from leadrouter._memo import LedgerMemo

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_a_value_is_kept_per_ledger_and_day() -> None:
    memo: LedgerMemo[int] = LedgerMemo()
    one, two = lr.Ledger(), lr.Ledger()
    memo.put(one, 1, date(2026, 1, 5))
    assert memo.get(one, date(2026, 1, 5)) == 1
    assert memo.get(one, date(2026, 1, 6)) is None
    assert memo.get(two, date(2026, 1, 5)) is None
    assert memo.setdefault(two, lambda: 2) == 2 and memo.get(two) == 2


def test_a_dropped_ledger_frees_its_entry() -> None:
    memo: LedgerMemo[int] = LedgerMemo()
    ledger = lr.Ledger()
    memo.put(ledger, 1)
    del ledger
    gc.collect()
    assert repr(memo) == "LedgerMemo(0 ledgers)"


def test_an_entry_from_before_a_rebuild_is_not_returned() -> None:
    memo: LedgerMemo[int] = LedgerMemo()
    ledger = lr.Ledger()
    memo.put(ledger, 1)
    before = ledger.generation
    ledger._clear()  # what a stored ledger does when it rebuilds its views from its log
    assert ledger.generation == before + 1
    assert memo.get(ledger) is None


def test_a_ledger_that_cannot_be_weakly_referenced_is_served_uncached() -> None:
    memo: LedgerMemo[list[int]] = LedgerMemo()
    key = (1, 2)  # tuples take no weak references
    made = memo.setdefault(key, list)
    assert made == [] and memo.get(key) is None


def test_strategies_and_caps_travel_as_their_configuration() -> None:
    reps = [lr.Rep(f"r{i}") for i in range(3)]
    cap = lr.FixedCap(daily=1)
    strategy = lr.PerformanceWeighted()
    router = lr.Router(strategy, reps, caps=cap)
    for i in range(4):
        router.route(lr.Lead(f"L{i}", T0 + timedelta(minutes=i)), now=T0 + timedelta(minutes=i))
    assert "1 ledgers" in repr(cap._full)
    for value in (cap, strategy):
        for moved in (pickle.loads(pickle.dumps(value)), copy.deepcopy(value)):
            assert moved == value
            memo = moved._full if isinstance(moved, lr.FixedCap) else moved._cache
            assert repr(memo) == "LedgerMemo(0 ledgers)"


def test_every_built_in_policy_pickles_after_routing() -> None:
    """What a Dask worker or a process pool receives: the demo's eight policies, each used on a
    ledger first, arrive equal to what was sent and with nothing cached."""
    from leadrouter.sim import synthetic
    from leadrouter.sim.demo import demo_policies
    from leadrouter.sim.engine import make_router

    history = synthetic(300, 4, 7, seed=1)
    for name, policy in demo_policies(history).items():
        router = make_router(policy, history.roster, 0, None)
        for lead in history.leads[:40]:
            router.route(lead, now=lead.arrived_at)
        moved = pickle.loads(pickle.dumps(policy))
        assert moved == policy, name
        assert "1 ledgers" not in repr(pickle.loads(pickle.dumps(router.strategy))), name


def test_one_policy_serves_routers_in_several_threads() -> None:
    """A strategy and a cap shared by routers over different ledgers, routing in different
    threads at once (switching threads as often as the interpreter allows), decide for each
    ledger what they decide when each router runs alone."""
    strategy, cap = lr.PerformanceWeighted(), lr.FixedCap(daily=3)
    reps = [lr.Rep(f"r{i}") for i in range(4)]

    def run(team: int) -> list[tuple[str, str, object]]:
        router = lr.Router(strategy, reps, caps=cap)
        for i in range(150):
            when = T0 + timedelta(minutes=(11 + 9 * team) * i)
            router.route(lr.Lead(f"T{team}-L{i}", when), now=when)
        events = router.ledger.events()
        return [(type(e).__name__, e.lead_id, getattr(e, "rep_id", None)) for e in events]

    alone = [run(team) for team in range(4)]
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(4) as pool:
            together = list(pool.map(run, range(4)))
    finally:
        sys.setswitchinterval(switching)
    assert together == alone
