"""`Ledger.close()`: a worker that reopens its ledger (after a backup restore) or shuts down lets
go of its database connections at once, not when the garbage collector gets to them, and a
ledger used after it is closed says so instead of failing with a driver's error or quietly
connecting again. Before, a stored ledger had no public close: its pool waited for the garbage
collector, which left PostgreSQL sessions open and SQLite's write-ahead log behind."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import leadrouter as lr
from leadrouter.errors import ConfigError, LedgerClosedError
from leadrouter.events import Event
from leadrouter.testing import generators as gen

from .conftest import T0, at
from .test_store import Opener, make_router, opener, sql_opener, team

__all__ = ["opener", "sql_opener"]  # the fixtures, which pytest finds by their names here


def test_every_operation_after_close_names_the_closed_ledger(sql_opener: Opener) -> None:
    ledger = sql_opener()
    router = make_router(ledger)
    router.route(lr.Lead("L1", T0), now=at(1))
    ledger.close()
    ledger.close()  # closing twice is closing once
    calls = [
        lambda: router.route(lr.Lead("L2", T0), now=at(2)),
        lambda: router.tick(now=at(3)),
        lambda: ledger.refresh(),
        lambda: ledger.verify(),
        lambda: ledger.roster(),
        lambda: lr.Router(lr.EqualRotation(), router.reps, ledger=ledger).set_rep(lr.Rep("r9")),
    ]
    for call in calls:
        with pytest.raises(LedgerClosedError, match=rf"{sql_opener.name}.*Ledger\.open"):
            call()
    with pytest.raises(LedgerClosedError, match=sql_opener.name):
        ledger.holder("L1")  # its views as well (test_every_read_..._raises below)
    assert "L2" not in sql_opener()


PUBLIC = sorted(
    name for name in dir(lr.Ledger) if not name.startswith("_") and name not in ("close", "durable")
)
"""Every public name of a ledger: its views, its log, its operations (`durable`, a fact of its
class, and `close` are what a closed ledger still answers)."""

READS: dict[str, Any] = {
    "len": len,
    "in": lambda ledger: "L1" in ledger,
    "holder": lambda ledger: ledger.holder("L1"),
    "status": lambda ledger: ledger.status("L1"),
    "book": lambda ledger: ledger.book("r0"),
    "count": lambda ledger: ledger.count("r0", since=T0),
    "stats": lambda ledger: ledger.stats("r0"),
    "received_total": lambda ledger: ledger.received_total(),
    "waiting": lambda ledger: ledger.waiting(),
    "never_assigned": lambda ledger: ledger.never_assigned(frozenset({"r0", "r9"})),
    "lead_ids": lambda ledger: list(ledger.lead_ids()),
    "events": lambda ledger: list(ledger.events()),
    "snapshot": lambda ledger: ledger.snapshot(),
}
"""Reads as code makes them, with arguments, the per-lead, per-rep and counting views among them
(several keep an index that the first call fills: `count(since=...)`, `waiting`,
`never_assigned`)."""


def _refuses_everything(ledger: lr.Ledger, name: str) -> None:
    """Every public name and every read of `ledger` raises LedgerClosedError naming it."""
    for attribute in PUBLIC:
        with pytest.raises(LedgerClosedError, match=rf"{name}.*Ledger\.open"):
            getattr(ledger, attribute)
    for read in READS.values():
        with pytest.raises(LedgerClosedError, match=name):
            read(ledger)


def test_every_read_of_a_closed_stored_ledger_raises(sql_opener: Opener) -> None:
    """The views, the log and the counts refuse as the operations do: left answering as of the
    last transaction, they would answer a log the other workers go on writing. A sequence
    `events()` gave before keeps its events; a Router cannot be built on a closed ledger."""
    ledger = sql_opener()
    router = make_router(ledger)
    router.route(lr.Lead("L1", T0), now=at(1))
    for read in READS.values():  # every index the reads keep is filled
        read(ledger)
    taken = ledger.events()
    ledger.close()
    _refuses_everything(ledger, sql_opener.name)
    with pytest.raises(LedgerClosedError):
        lr.Router(lr.EqualRotation(), team(), ledger=ledger)
    assert [type(event).__name__ for event in taken] == ["Arrived", "Assigned"]
    assert "closed" in repr(ledger) and sql_opener.name in repr(ledger)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # each example its own ledger
)
@given(events=gen.event_streams(max_events=25))
def test_closing_a_stored_ledger_refuses_its_reads_and_loses_nothing(
    sql_opener: Opener, events: list[Event]
) -> None:
    """Whatever the log holds: after `close()` every read raises, and the ledger opened again
    answers every view as it did before closing."""
    opened = Opener(sql_opener.kind, sql_opener.url)
    try:
        ledger = opened()
        ledger.extend(events)
        views = ledger.snapshot()
        ledger.close()
        _refuses_everything(ledger, opened.name)
        assert opened().snapshot() == views
    finally:
        opened.close()


@settings(deadline=None)
@given(events=gen.event_streams())
def test_closing_an_in_memory_ledger_changes_no_answer(events: list[Event]) -> None:
    """In memory `close()` does nothing: the views and the log answer as before, and the ledger
    goes on taking events."""
    ledger = lr.Ledger.from_events(events)
    views, log = ledger.snapshot(), list(ledger.events())
    ledger.close()
    with ledger:
        pass
    assert ledger.snapshot() == views and list(ledger.events()) == log
    ledger.append(lr.events.Arrived(lr.Lead("closed-then-new", T0)))
    assert "closed-then-new" in ledger


def _waits_in_its_guard(thread: threading.Thread) -> bool:
    frame = sys._current_frames().get(thread.ident or 0)
    while frame is not None:
        if frame.f_code.co_name == "__enter__" and frame.f_code.co_filename.endswith("guard.py"):
            return True
        frame = frame.f_back
    return False


def test_an_operation_waiting_while_its_ledger_closes_raises_and_lets_the_lock_go(
    sql_opener: Opener,
) -> None:
    """A Router operation of another thread, waiting for the ledger's lock while the ledger is
    closed, raises LedgerClosedError when it gets the lock, and lets it go: the lock is the
    Routers' own, which a thread that kept it would hold for good."""
    ledger = sql_opener()
    router = make_router(ledger)
    lock, raised = ledger._thread_lock, []  # type: ignore[attr-defined]

    def route() -> None:
        try:
            router.route(lr.Lead("L1", T0), now=at(1))
        except LedgerClosedError as exc:
            raised.append(exc)

    worker = threading.Thread(target=route)
    with lock:
        worker.start()
        while worker.is_alive() and not _waits_in_its_guard(worker):
            time.sleep(0.01)
        ledger.close()
    worker.join()
    assert len(raised) == 1
    assert lock.acquire(blocking=False)  # nobody holds it
    lock.release()


def test_a_ledger_is_closed_at_the_end_of_its_with_block(opener: Opener) -> None:
    """The in-memory ledger takes the same `with` and `close()`, doing nothing: code that
    closes the ledger it was given runs alike on either."""
    with opener() as ledger:
        make_router(ledger).route(lr.Lead("L1", T0), now=at(1))
    if opener.kind == "memory":
        assert make_router(ledger).route(lr.Lead("L2", T0), now=at(2)).rep_id is not None
        return
    with pytest.raises(LedgerClosedError):
        ledger.refresh()


def test_closing_inside_the_ledgers_own_block_is_refused(sql_opener: Opener) -> None:
    ledger = sql_opener()
    with ledger.transaction(), pytest.raises(ConfigError, match="after the block ends"):
        ledger.close()
    make_router(ledger).route(lr.Lead("L1", T0), now=at(1))  # still open
    ledger.close()


def test_a_closed_sqlite_ledger_leaves_no_write_ahead_log(tmp_path: Path) -> None:
    """SQLite folds its -wal file back and removes it when the last connection to the file
    closes: proof that none is left open."""
    path = tmp_path / "team.db"
    ledger = lr.Ledger.open(f"sqlite:///{path}", "team", snapshot_every=1)
    make_router(ledger).route(lr.Lead("L1", T0), now=at(1))  # and stores a snapshot
    wal = Path(f"{path}-wal")
    assert wal.exists()
    ledger.close()
    assert not wal.exists()


def _sessions(url: str, pids: list[int]) -> list[int]:
    """Which of the server processes `pids` still serve a session."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
        ).fetchall()
    return [pid for (pid,) in rows]


@pytest.mark.parametrize("sql_opener", ["postgresql"], indirect=True)
def test_a_closed_postgresql_ledger_ends_its_sessions_at_once(sql_opener: Opener) -> None:
    """The server ends the sessions while the worker still holds the ledger object (a worker
    reopening after a restore keeps running): nothing waits for the garbage collector (SQLite's
    file: the test above)."""
    assert sql_opener.url is not None
    ledger = sql_opener()
    make_router(ledger).route(lr.Lead("L1", T0), now=at(1))
    pids = [ledger.store._held.driver_connection.info.backend_pid]  # type: ignore[attr-defined]
    assert _sessions(sql_opener.url, pids) == pids
    ledger.close()
    deadline = time.monotonic() + 60  # a loaded server may take a while to end a backend
    while _sessions(sql_opener.url, pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sessions(sql_opener.url, pids) == []
    assert ledger.store.closed  # type: ignore[attr-defined]
