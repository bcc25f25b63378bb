"""`Ledger.close()`: a worker that reopens its ledger (after a backup restore) or shuts down lets
go of its database connections at once, not when the garbage collector gets to them, and a
ledger used after it is closed says so instead of failing with a driver's error or quietly
connecting again. Before, a stored ledger had no public close: its pool waited for the garbage
collector, which left PostgreSQL sessions open and SQLite's write-ahead log behind."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import leadrouter as lr
from leadrouter.errors import ConfigError, LedgerClosedError

from .conftest import T0, at
from .test_store import Opener, make_router, opener, sql_opener

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
        ledger.refresh,
        ledger.verify,
        ledger.roster,
        lambda: lr.Router(lr.EqualRotation(), router.reps, ledger=ledger).set_rep(lr.Rep("r9")),
    ]
    for call in calls:
        with pytest.raises(LedgerClosedError, match=rf"{sql_opener.name}.*Ledger\.open"):
            call()
    assert ledger.holder("L1") is not None  # the views answer as of the last transaction
    assert "L2" not in sql_opener()


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
