"""What `Router.route` writes in one step leaves exactly what writing event by event leaves.

Most leads are assigned as they arrive, and the ledger takes their Arrived and Assigned events
together (`_append_arrived_assigned`), without passing the lead through the public pool. These
tests hold that step to the plain one: the same log, the same views and the same errors, on
their own and under a router (whose timers must stay in step with the ledger); and a memo entry
kept for a ledger is never served to another ledger, even one that reuses a dropped one's id.
"""

from __future__ import annotations

import gc
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter._memo import LedgerMemo
from leadrouter.events import Arrived, Assigned

from .conftest import T0
from .test_router_fast import in_step, long_examples, make_router, plain, workloads


class EventByEvent(lr.Ledger):
    """A ledger whose class appends in its own way, so every write goes event by event."""

    def append(self, event: lr.Event) -> None:
        super().append(event)


def views(ledger: lr.Ledger) -> dict[str, Any]:
    """Every view of `ledger`, including the ones `snapshot` leaves out."""
    reps = sorted(ledger.reps())
    since = T0 + timedelta(minutes=30)
    return {
        "snapshot": ledger.snapshot(),
        "events": list(ledger.events()),
        "lru": list(ledger.lru()),
        "last": {rep: ledger.last_assigned(rep) for rep in reps},
        "position": {rep: ledger.last_position(rep) for rep in reps},
        "count": {rep: (ledger.count(rep), ledger.count(rep, since=since)) for rep in reps},
        "receipts": {rep: ledger.receipts(rep) for rep in reps},
        "total": (ledger.received_total(), ledger.received_total(since)),
        "order": list(ledger.lead_ids()),
        "pools": ledger.pools(),
        "waiting": ledger.waiting(),
        "contacts": {c: ledger.contact_holder(c) for c in ("+1", "+2")},
        "verify": ledger.verify(),
    }


write_st = st.tuples(
    st.integers(0, 12),  # lead id
    st.integers(0, 120),  # minutes after T0 the lead arrived
    st.integers(-5, 30),  # minutes after its arrival it is assigned (before it: an error)
    st.sampled_from(["A", "B", "C"]),
    st.none() | st.sampled_from(["+1", "+2"]),
    st.booleans(),  # True: arrival and assignment together; False: arrival alone
)


@settings(max_examples=200, deadline=None)
@given(writes=st.lists(write_st, max_size=25))
def test_arrival_and_assignment_together_leave_what_two_appends_leave(
    writes: list[tuple[int, int, int, str, str | None, bool]],
) -> None:
    """Invariant: for any writes (new leads, repeated ids, assignments dated before arrival,
    leads arriving out of order, leads left in the pool), the one-step write leaves the same
    log and views as appending the two events, and raises the same error where that raises."""
    together, apart = lr.Ledger(), lr.Ledger()
    for lead_no, arrive, after, rep, contact, assign in writes:
        lead = lr.Lead(f"L{lead_no}", T0 + timedelta(minutes=arrive), contact=contact)
        arrived = Arrived(lead)
        assigned = Assigned(lead.id, rep, lead.arrived_at + timedelta(minutes=after), "test")
        outcomes = []
        for ledger, one_step in ((together, True), (apart, False)):
            try:
                if not assign:
                    ledger.append(arrived)
                elif one_step:
                    ledger._append_arrived_assigned(arrived, assigned)
                else:
                    ledger.append(arrived)
                    ledger.append(assigned)
                outcomes.append(None)
            except lr.LeadRouterError as exc:
                outcomes.append(type(exc))
        assert outcomes[0] == outcomes[1]
    assert views(together) == views(apart)


def test_a_ledger_that_appends_its_own_way_gets_each_event_through_its_append() -> None:
    seen: list[lr.Event] = []

    class Watching(lr.Ledger):
        def append(self, event: lr.Event) -> None:
            seen.append(event)
            super().append(event)

    router = lr.Router(lr.EqualRotation(), [lr.Rep("A")], ledger=Watching())
    router.route(lr.Lead("L0", T0), now=T0)
    assert [type(event) for event in seen] == [Arrived, Assigned]
    assert list(router.ledger.events()) == seen


@settings(long_examples, max_examples=40)
@workloads
def test_a_router_writing_in_one_step_decides_and_times_as_one_writing_event_by_event(
    reps: list[lr.Rep],
    names: set[str],
    caps: list[lr.FixedCap],
    timers: bool,
    ops: list[tuple[Any, ...]],
) -> None:
    """Invariant: a router on a plain ledger (one-step writes, every cache on) and a plain
    router on a ledger that takes events one by one return the same decisions, write the same
    events, release the same leads at `tick` (its timers kept in step) and keep the same
    views."""
    fast = make_router(lr.EqualRotation(), reps, names, caps, timers)
    slow = plain(make_router(lr.EqualRotation(), reps, names, caps, timers, EventByEvent()))
    for got, expected in in_step(fast, slow, ops, []):
        if isinstance(expected, lr.Decision):
            assert isinstance(got, lr.Decision)
            assert got == expected
            assert got.explain() == expected.explain()
        else:
            assert got == expected
    assert views(fast.ledger) == views(slow.ledger)
    assert fast._seen == len(fast.ledger) and slow._seen == len(slow.ledger)


def test_a_memo_entry_is_served_only_to_its_own_ledger() -> None:
    """Entries are filed by the ledger's id, which a new ledger may get once the old one is
    gone: the entry's weak reference tells them apart, and goes with its ledger."""
    memo: LedgerMemo[str] = LedgerMemo()
    one, two = lr.Ledger(), lr.Ledger()
    memo.put(one, "one")
    memo._entries[id(two)] = memo._entries[id(one)]  # as if `two` had been given one's id
    assert memo.get(two) is None and memo.get(one) == "one"
    memo.put(two, "two")
    assert memo.get(two) == "two" and memo.get(one) == "one"
    del one
    gc.collect()
    assert repr(memo) == "LedgerMemo(1 ledgers)"
