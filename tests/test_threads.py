"""One Router shared by the threads of a service: what a threaded web server or an asyncio
service does. Each test reproduces what went wrong under threads: a grouped block and a plain
call that waited for each other for good, a retry answered with a decision that was rolled back,
and a check of the views that read them half-way through a write."""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import leadrouter as lr

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
REPS = [lr.Rep(name) for name in ("ana", "bo", "cy")]


def run_all(*jobs: object, timeout: float = 120.0) -> list[BaseException]:
    """Run each job in a thread; the errors they raised. Fails if any is still running after
    `timeout` seconds (stuck: a deadlock)."""
    errors: list[BaseException] = []

    def wrapped(job: object) -> None:
        try:
            job()  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(job,), daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck: deadlock"
    return errors


def test_a_transaction_block_and_a_plain_call_on_one_router_never_deadlock(
    tmp_path: Path,
) -> None:
    """A thread in `with ledger.transaction():` calling the router took the ledger's lock, then
    the router's; a plain call took them the other way round: both waited for good, holding
    SQLite's write lock, so every other worker on the file stopped too."""
    ledger = lr.Ledger.open(f"sqlite:///{tmp_path / 'routing.db'}", "team")
    router = lr.Router(lr.EqualRotation(), REPS, ledger=ledger)

    def grouped() -> None:
        for i in range(150):
            with ledger.transaction():
                decision = router.route(lr.Lead(f"G{i}", T0), now=T0)
                assert decision.rep_id is not None
                touched = lr.Touched(decision.lead_id, decision.rep_id, T0 + timedelta(minutes=1))
                router.record(touched)

    def plain() -> None:
        for i in range(150):
            router.route(lr.Lead(f"P{i}", T0), now=T0)

    assert run_all(grouped, plain) == []
    assert len(ledger.events()) == 150 * 2 + 150 * 2 + 150  # arrived and assigned, touches
    assert ledger.verify() == []


def test_a_retry_after_a_rolled_back_batch_answers_what_the_ledger_holds() -> None:
    """A batch that raised was rolled back, but its decisions stayed in the router's memory: a
    lead of that batch routed again later was answered one rep, and every retry of it another
    (the rolled-back one), which the ledger never held."""
    router = lr.Router(lr.EqualRotation(), REPS)
    router.route(lr.Lead("X", T0, cost=1.0), now=T0)
    with pytest.raises(lr.DuplicateLeadError):
        router.route_many([lr.Lead("A", T0), lr.Lead("X", T0, cost=2.0)], now=T0)
    assert "A" not in router.ledger
    assert [decision.lead_id for decision in router.decisions()] == ["X"]
    assert router.explain_load()["chosen"].sum() == 1
    router.route(lr.Lead("B", T0), now=T0)
    first = router.route(lr.Lead("A", T0), now=T0)
    again = router.route(lr.Lead("A", T0), now=T0)
    assert again == first and again.rep_id == router.ledger.holder("A")


def test_threads_whose_batches_are_rolled_back_leave_every_retry_answered_alike() -> None:
    """Threads send batches of which some end in a lead sent before with other fields (the
    batch raises and is rolled back); then each lead is delivered and retried: every answer is
    the rep the ledger holds the lead with, the first and the retry alike."""
    router = lr.Router(lr.EqualRotation(), REPS)
    router.route(lr.Lead("DUP", T0, cost=1.0), now=T0)

    def worker(w: int) -> None:
        for i in range(0, 60, 2):
            leads = [lr.Lead(f"W{w}-{i}", T0), lr.Lead(f"W{w}-{i + 1}", T0)]
            if i % 6 == 0:
                leads.append(lr.Lead("DUP", T0, cost=2.0))
            try:
                router.route_many(leads, now=T0)
            except lr.DuplicateLeadError:
                continue

    assert run_all(*(lambda w=w: worker(w) for w in range(4))) == []
    for w in range(4):
        for i in range(60):
            lead = lr.Lead(f"W{w}-{i}", T0)
            answer = router.route(lead, now=T0)
            assert answer.rep_id == router.ledger.holder(lead.id), lead.id
            assert router.route(lead, now=T0) == answer, lead.id


CHECK_EVERY = 5
"""Leads each writer routes between two of the checker's rounds of reads."""


def _read_whole_beside_writers(router: lr.Router, leads: int, *reads: str) -> None:
    """Two threads route and give back `leads` leads each while a third calls `verify()` and
    the other whole-ledger `reads` (method names) in a loop: no read raises, and every
    `verify()` finds the views agree with the log.

    The checker reads again each time a writer has routed `CHECK_EVERY` more leads (the writers
    go on writing while it reads), not in a loop without pause: each `verify()` replays the
    whole log under the lock, and a checker taking the lock back the moment it let go of it
    starved the writers: the test took anything from 2 to 17 s on an idle machine, and could
    run past `run_all`'s limit on a loaded one."""
    ledger = router.ledger
    turn, done = threading.Event(), threading.Event()
    found: list[list[str]] = []
    failed: list[BaseException] = []

    def writer(w: int) -> None:
        for i in range(leads):
            decision = router.route(lr.Lead(f"W{w}-{i}", T0), now=T0)
            router.release(decision.lead_id, now=T0, rep_id=decision.rep_id)
            if i % CHECK_EVERY == CHECK_EVERY - 1:
                turn.set()

    def checker() -> None:
        while True:  # at least once, and once more after the writers are done
            turn.wait()
            turn.clear()
            try:
                found.append(ledger.verify())
                for read in reads:
                    getattr(ledger, read)()
            except Exception as exc:
                failed.append(exc)
            if done.is_set():
                return

    check = threading.Thread(target=checker, daemon=True)
    check.start()
    try:
        assert run_all(lambda: writer(0), lambda: writer(1)) == []
    finally:
        done.set()
        turn.set()
        check.join(120)
    assert not check.is_alive(), "the checker is stuck"
    assert failed == []
    assert found and all(drift == [] for drift in found)


def test_verify_and_snapshot_beside_routing_threads_read_whole_writes(tmp_path: Path) -> None:
    """`verify()` from a maintenance thread of the serving process read the views half-way
    through a router's write: it raised "dictionary changed size during iteration" or reported
    drift that was not there (telling the operator to take the service down)."""
    ledger = lr.Ledger.open(f"sqlite:///{tmp_path / 'routing.db'}", "team")
    _read_whole_beside_writers(lr.Router(lr.EqualRotation(), REPS, ledger=ledger), 400, "snapshot")


def test_an_in_memory_ledger_read_whole_beside_routing_threads() -> None:
    """An in-memory ledger took no lock: `verify()`, `snapshot()`, `held()`, `lead_ids()` and
    `to_frame()` from another thread read the views half-way through a router's write ("dictionary
    changed size during iteration", or drift that was not there). They now take the lock every
    router on the ledger holds around its operations."""
    router = lr.Router(lr.EqualRotation(), REPS)
    _read_whole_beside_writers(router, 300, "snapshot", "held", "lead_ids", "pools", "to_frame")


def test_two_routers_on_one_in_memory_ledger_share_its_lock() -> None:
    """Every router on a ledger holds the ledger's one lock, so two routers on one in-memory
    ledger, called from two threads, write one operation at a time: no lead is given twice and
    the views match the log."""
    ledger = lr.Ledger()
    first = lr.Router(lr.EqualRotation(), REPS, ledger=ledger)
    second = lr.Router(lr.EqualRotation(), REPS, ledger=ledger)

    def worker(router: lr.Router, w: int) -> None:
        for i in range(300):
            router.route(lr.Lead(f"W{w}-{i}", T0), now=T0)

    assert run_all(lambda: worker(first, 0), lambda: worker(second, 1)) == []
    assert len(ledger.events()) == 2 * 300 * 2
    assert ledger.verify() == []


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_events_read_beside_a_routing_thread_hold_whole_operations(
    store: str, tmp_path: Path
) -> None:
    """`ledger.events()` was a live view of the log, read without the ledger's lock: a thread
    reading it while a router wrote saw half an operation (a lead released and not yet routed
    on, an arrival before its assignment, events an operation that raises would take back), and
    a view whose length and contents disagreed as the log grew under it. It is now the log as
    of the call, its length read under the lock: whole operations, and the same events for as
    long as the view is kept."""
    ledger = (
        lr.Ledger()
        if store == "memory"
        else lr.Ledger.open(f"sqlite:///{tmp_path / 'routing.db'}", "team")
    )
    router = lr.Router(lr.EqualRotation(), REPS, ledger=ledger)
    reading, done = threading.Event(), threading.Event()
    seen: list[int] = []

    def writer() -> None:
        try:
            for i in range(200):
                if i % 40 == 0:  # the reader reads at least once between these stretches
                    reading.clear()
                    reading.wait(60)
                router.route(lr.Lead(f"W{i}", T0), now=T0)
                router.release(f"W{i}", now=T0, reroute=True)  # Released, then Assigned
        finally:
            done.set()

    def reader() -> None:
        while not done.is_set():
            view = ledger.events()
            events = list(view)
            assert len(events) == len(view)
            assert not events or type(events[-1]) is lr.Assigned, events[-1]
            assert list(view) == events and list(reversed(view)) == events[::-1]
            seen.append(len(events))
            reading.set()

    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads take turns within an operation, not between two
    try:
        assert run_all(writer, reader) == []
    finally:
        sys.setswitchinterval(switching)
    assert len(ledger.events()) == 200 * 4
    assert len(set(seen)) > 2  # the reader read while the log grew (five stretches, at least)
