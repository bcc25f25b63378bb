"""A caller's own `with ledger.transaction():` around several Router calls is one block, kept
whole or not at all, in memory as in SQLite and PostgreSQL: when it raises, the ledger goes back
to where it began, and so does what the Router remembers beside it, its decision log and its
roster. Before, a rolled-back block left the router answering a re-route that never happened
and holding a roster the ledger had not kept (and a stored ledger then refused every operation
with RosterMismatchError). A Router operation that raises inside the block and is caught there
is undone alone, and the block goes on."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest

import leadrouter as lr

from .conftest import T0, at
from .test_store import Opener, make_router, opener, sql_opener, team

__all__ = ["opener", "sql_opener"]  # the fixtures, which pytest finds by their names here


class CallerError(Exception):
    """An error of the caller's own code, inside its block."""


def _rolled_back(
    ledger: lr.Ledger, body: Callable[[], object], error: type[Exception] = CallerError
) -> None:
    """Run `body` in one `with ledger.transaction():`, which then raises CallerError (unless
    `body` raised `error` itself); the error must reach the caller."""

    def block() -> None:
        with ledger.transaction():
            body()
            raise CallerError("the caller's block fails after the router's calls")

    with pytest.raises(error):
        block()


def _held_leads(router: lr.Router) -> lr.Decision:
    """Route L1 and L2 (each to a rep of its own); the decision that placed L1."""
    first = router.route(lr.Lead("L1", T0), now=at(1))
    router.route(lr.Lead("L2", T0), now=at(1))
    assert first.rep_id is not None
    return first


def _by_lead(decisions: Sequence[lr.Decision]) -> dict[str, lr.Decision]:
    return {decision.lead_id: decision for decision in decisions}


def test_a_rolled_back_block_puts_back_the_decisions_it_replaced(opener: Opener) -> None:
    ledger = opener()
    router = make_router(ledger)
    first = _held_leads(router)
    claim = router.route(lr.Lead("G1", T0), now=at(1))
    before, events = router.decisions(), list(ledger.events())

    def body() -> None:
        moved = router.release("L1", now=at(2), reroute=True)
        assert router.why("L1").rep_id == moved[-1].rep_id != first.rep_id
        router.release("G1", now=at(2), reroute=False)
        router.claim("r3", "G1", now=at(3))
        router.route(lr.Lead("L3", T0), now=at(3))

    _rolled_back(ledger, body)
    assert list(ledger.events()) == events
    assert ledger.holder("L1") == first.rep_id and "L3" not in ledger
    assert _by_lead(router.decisions()) == _by_lead(before)  # a decision put back is the newest
    assert router.why("L1") == first
    assert router.why("G1") == claim
    assert router.route(lr.Lead("L1", T0), now=at(4)) == first  # a retry: the first decision
    assert ledger.verify() == []


def test_a_block_that_ends_well_keeps_every_decision_in_it(opener: Opener) -> None:
    ledger = opener()
    router = make_router(ledger)
    _held_leads(router)
    with ledger.transaction():
        moved = router.release("L1", now=at(2), reroute=True)
        router.route(lr.Lead("L3", T0), now=at(3))
    assert router.why("L1").rep_id == moved[-1].rep_id
    assert [d.lead_id for d in router.decisions()] == ["L2", "L1", "L3"]
    assert router._log.pending == []  # nothing left to put back by a later block


def test_a_rolled_back_block_gives_the_router_back_its_roster(opener: Opener) -> None:
    ledger = opener()
    router = make_router(ledger)
    _held_leads(router)
    reps = router.reps
    _rolled_back(ledger, lambda: (router.set_rep(lr.Rep("r9")), router.handover("r0", now=at(2))))
    assert router.reps == reps
    assert ledger.roster() in (None, reps)
    after = [router.route(lr.Lead(f"N{i}", T0), now=at(3)).rep_id for i in range(4)]
    assert "r9" not in after and "r0" in after
    assert opener().roster() in (None, reps)


def test_a_roster_taken_up_in_a_rolled_back_block_is_given_back(sql_opener: Opener) -> None:
    """A roster another worker recorded is taken up inside the block; rolled back, the router
    takes it up again at its next operation, as a roster recorded on the ledger (a stored
    ledger's: an in-memory ledger records no roster)."""
    opener = sql_opener
    ledger = opener()
    router = make_router(ledger)
    _held_leads(router)
    reps = router.reps
    newer = [*team(), lr.Rep("r9")]

    def body() -> None:
        ledger.use_roster(newer)  # type: ignore[attr-defined]
        router.route(lr.Lead("L3", T0), now=at(2))
        assert len(router.reps) == 5

    _rolled_back(ledger, body)
    assert router.reps == reps and ledger.roster() == reps
    opener().use_roster(newer)  # type: ignore[attr-defined]
    router.route(lr.Lead("L4", T0), now=at(3))
    assert router.reps == tuple(newer)


def test_an_operation_that_raises_in_a_block_is_rolled_back_with_the_block(
    opener: Opener,
) -> None:
    """Operations nest in the caller's block: one that raises is undone when the error leaves
    the block, with everything else in it, alike in memory and in a database."""
    ledger = opener()
    router = make_router(ledger)
    first = _held_leads(router)
    events = list(ledger.events())
    batch = [lr.Lead("L5", T0), lr.Lead("L2", T0, cost=9.0)]  # L2 again, with other fields
    _rolled_back(
        ledger,
        lambda: (
            router.release("L1", now=at(2), reroute=True),
            router.route_many(batch, now=at(3)),
        ),
        lr.errors.DuplicateLeadError,
    )
    assert list(ledger.events()) == events
    assert router.why("L1") == first and "L5" not in ledger
    assert sorted(d.lead_id for d in router.decisions()) == ["L1", "L2"]


def test_an_operation_that_raises_in_a_block_is_undone_alone_when_the_caller_catches_it(
    opener: Opener,
) -> None:
    """A caller that catches a Router error inside its block (one bad lead of several) goes on,
    and the block commits without what the failed operation wrote before it raised (here the
    batch's first lead), or what its router remembered of it. Before, it committed that part."""
    ledger = opener()
    router = make_router(ledger)
    _held_leads(router)
    with ledger.transaction():
        moved = router.release("L1", now=at(2), reroute=True)
        with pytest.raises(lr.errors.DuplicateLeadError):
            router.route_many([lr.Lead("L5", T0), lr.Lead("L2", T0, cost=9.0)], now=at(3))
        assert "L5" not in ledger and ledger.holder("L1") == moved[-1].rep_id
        router.route(lr.Lead("L6", T0), now=at(3))
    for seen in [ledger] if opener.kind == "memory" else [ledger, opener()]:  # and another process
        seen.refresh()
        assert "L5" not in seen and "L6" in seen
        assert seen.holder("L1") == moved[-1].rep_id
    assert [d.lead_id for d in router.decisions()] == ["L2", "L1", "L6"]
    assert router.why("L1").rep_id == moved[-1].rep_id and router._log.pending == []
    again = router.route(lr.Lead("L5", T0), now=at(4))  # delivered again: routed afresh
    assert again.rep_id is not None and router.route(lr.Lead("L5", T0), now=at(5)) == again
    assert ledger.verify() == []


def test_a_handover_undone_alone_in_a_block_gives_the_router_back_its_roster(
    opener: Opener,
) -> None:
    """A hand-over whose re-route raises inside the caller's block is undone alone: the rep is
    active again on the router and the ledger, and holds its leads; the block's other
    operations, before and after it, are kept."""
    failing = False

    def first_free(ctx: lr.Context) -> str:
        if failing:
            raise RuntimeError("model down")
        return sorted(ctx.ids)[0]

    ledger = opener()
    router = lr.Router(first_free, team(), ledger=ledger)
    reps = router.reps
    router.route(lr.Lead("L1", T0), now=at(1))
    with ledger.transaction():
        router.route(lr.Lead("L2", T0), now=at(2))
        failing = True
        with pytest.raises(RuntimeError, match="model down"):
            router.handover("r0", now=at(3))
        failing = False
        assert router.reps == reps
        router.route(lr.Lead("L3", T0), now=at(4))
    assert router.reps == reps and ledger.roster() in (None, reps)
    assert [ledger.holder(lead) for lead in ("L1", "L2", "L3")] == ["r0"] * 3
    assert ledger.verify() == []
    if opener.kind != "memory":
        assert opener().roster() == reps and opener().holder("L3") == "r0"


def test_an_operation_whose_undo_fails_in_a_block_still_lets_go_of_the_lock(
    opener: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operation that raises inside the caller's block is undone alone; when undoing it
    fails too (the database gone while a ledger opened from a snapshot reads its log back), the
    operation still ends its part of the block, so the ledger's lock is free for other threads
    once the block is over. Before, a stored ledger's operation left its part open, holding the
    lock for as long as the error was kept (a logger or pytest keeping the traceback)."""
    ledger = opener()
    router = make_router(ledger)
    _held_leads(router)

    def undo_fails(self: lr.Ledger, mark: Any) -> bool:
        raise lr.errors.StoreUnavailableError("the database went away while undoing")

    monkeypatch.setattr(type(ledger), "_roll_back_to", undo_fails)
    batch = [lr.Lead("L5", T0), lr.Lead("L2", T0, cost=9.0)]  # L2 again, with other fields
    with pytest.raises(lr.errors.StoreUnavailableError) as caught, ledger.transaction():
        router.route_many(batch, now=at(3))  # `caught` keeps the traceback
    free: list[bool] = []

    def other_thread() -> None:
        free.append(ledger._thread_lock.acquire(timeout=10))
        if free[0]:
            ledger._thread_lock.release()

    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    assert free == [True], caught.value
    monkeypatch.undo()
    assert "L5" not in ledger and ledger.verify() == []
