"""Snapshots of a stored ledger's folded views: a ledger opened from one answers as a full
replay of its log, a bad or tampered one is ignored with a warning and the log replayed, storing
one never holds up or fails the operation that passed the mark, and opening folds a long log
without holding the write lock.

PostgreSQL tests use the database named by LEADROUTER_TEST_PG (`make test` starts a throwaway
one with .ci/postgres); each test works in a ledger of its own name.
"""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import leadrouter as lr
from leadrouter.errors import RosterMismatchError, SnapshotWarning

from .conftest import T0, at
from .test_store import Opener, make_router, opener, sql_opener, team, workload

sa = pytest.importorskip("sqlalchemy", reason="the SQL ledgers need: pip install 'leadrouter[db]'")
pytest.importorskip("psycopg", reason="the PostgreSQL ledger needs: pip install 'leadrouter[db]'")

from leadrouter.stores import durable, snapshot, snapshotting  # noqa: E402

__all__ = ["opener", "sql_opener"]  # the fixtures, which pytest finds by their names here

# ---------------------------------------------------------------------- snapshots


def _snapshot_row(opener: Opener, name: str | None = None) -> dict[str, Any]:
    """The stored snapshot row of the opener's ledger (of `name`, if given), once the snapshots
    the opener's ledgers are writing are stored."""
    opener.settle()
    engine = sa.create_engine((opener.url or "").replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        row = (
            conn.execute(
                sa.text("SELECT * FROM leadrouter_snapshots WHERE ledger = :name"),
                {"name": name or opener.name},
            )
            .mappings()
            .one()
        )
    engine.dispose()
    return dict(row)


def _set_snapshot(opener: Opener, **values: Any) -> None:
    opener.settle()
    engine = sa.create_engine((opener.url or "").replace("postgresql://", "postgresql+psycopg://"))
    columns = ", ".join(f"{column} = :{column}" for column in values)
    with engine.begin() as conn:
        conn.execute(
            sa.text(f"UPDATE leadrouter_snapshots SET {columns} WHERE ledger = :name"),
            {**values, "name": opener.name},
        )
    engine.dispose()


def _folded(ledger: lr.Ledger) -> dict[str, Any]:
    """Every part of the folded state as comparable data (the per-lead and per-rep records by
    their fields, caches left out)."""

    def fields(record: Any) -> tuple[Any, ...]:
        slots = [slot for slot in type(record).__slots__ if slot != "received_starts"]
        return tuple(getattr(record, slot) for slot in slots)

    state = ledger._export_state()
    state["_leads"] = {lid: fields(lead) for lid, lead in state["_leads"].items()}
    state["_reps"] = {rid: fields(rep) for rid, rep in state["_reps"].items()}
    return {
        name: list(value.items()) if isinstance(value, dict) else value
        for name, value in state.items()
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_a_ledger_opened_from_a_snapshot_answers_as_full_replay(
    sql_opener: Opener, seed: int
) -> None:
    memory = make_router(lr.Ledger())
    stored = make_router(sql_opener(snapshot_every=7))
    assert workload(stored, seed, steps=90) == workload(memory, seed, steps=90)
    reopened = sql_opener(snapshot_every=7)
    assert isinstance(reopened._events, snapshotting.StoredEvents)  # opened from a snapshot
    assert len(reopened) - reopened._snapshots.events < 7  # type: ignore[attr-defined]
    assert reopened.snapshot() == memory.ledger.snapshot()
    assert _folded(reopened) == _folded(memory.ledger)  # in order, not only as views
    assert reopened.verify() == []
    with pytest.raises(RosterMismatchError):  # the roster came back with the snapshot
        make_router(reopened, team(3)).route(lr.Lead("X", T0), now=T0)
    again = make_router(reopened)  # a worker restarted from the snapshot goes on deciding
    assert workload(again, seed + 10, steps=60, later=1000) == workload(
        memory, seed + 10, steps=60, later=1000
    )
    assert reopened.snapshot() == memory.ledger.snapshot()
    assert list(reopened.events()) == list(memory.ledger.events())
    assert lr.Ledger.from_events(sql_opener(snapshot_every=0).events()).snapshot() == (
        memory.ledger.snapshot()
    )


def _code_in_a_pickle(row: dict[str, Any]) -> dict[str, Any]:
    import pickle

    data = pickle.dumps({"events": row["events"], "payload": print})
    return {"data": data, "digest": hashlib.sha256(data).hexdigest()}


def _of_the_format_before(row: dict[str, Any]) -> dict[str, Any]:
    """The row as the snapshot format before this one wrote it: the same views, without the
    row of the log they were taken after."""
    state = snapshot.load(row, snapshotting.KEYS)
    assert isinstance(state, dict)
    del state["mark"]
    old = snapshot.dump(state, row["seq"], row["events"])
    return {"data": old["data"], "digest": old["digest"], "format": snapshot.FORMAT - 1}


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        (lambda row: {"data": bytes(row["data"])[:-9] + b"x" * 9}, "digest"),
        (lambda row: {"version": "0.0.1"}, "written by leadrouter 0.0.1"),
        (lambda row: {"events": row["events"] - 1}, "the log holds"),
        (_code_in_a_pickle, "builtins.print is not part of a ledger's state"),
        (
            _of_the_format_before,
            rf"written in snapshot format {snapshot.FORMAT - 1}, which this leadrouter \S+ no "
            rf"longer reads \(it writes format {snapshot.FORMAT}\); folding the whole log",
        ),
    ],
    ids=["corrupt", "other-version", "not-the-log", "code", "format-before"],
)
def test_a_bad_snapshot_is_ignored_with_a_warning_and_the_log_replayed(
    sql_opener: Opener, tamper: Callable[[dict[str, Any]], dict[str, Any]], why: str
) -> None:
    router = make_router(sql_opener(snapshot_every=5))
    workload(router, seed=5, steps=40)
    expected = router.ledger.snapshot()
    _set_snapshot(sql_opener, **tamper(_snapshot_row(sql_opener)))
    with pytest.warns(SnapshotWarning, match=why):
        replayed = sql_opener(snapshot_every=5)
    assert replayed._snapshots.events == len(replayed)  # type: ignore[attr-defined]
    assert replayed.snapshot() == expected
    assert replayed.verify() == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the bad snapshot was replaced by a good one
        reopened = sql_opener(snapshot_every=5)
    assert isinstance(reopened._events, snapshotting.StoredEvents)  # type: ignore[attr-defined]
    assert reopened.snapshot() == expected


def test_verify_reports_drift_from_a_tampered_snapshot(sql_opener: Opener) -> None:
    router = make_router(sql_opener(snapshot_every=5))
    workload(router, seed=8, steps=40)
    row = _snapshot_row(sql_opener)
    state = snapshot.load(row, snapshotting.KEYS)
    assert isinstance(state, dict)
    lead_id = next(lid for lid, s in state["_leads"].items() if s.status == "held")
    state["_leads"][lead_id].rep = "ghost"
    state["_received_count"] += 1
    forged = snapshot.dump(state, row["seq"], row["events"])
    _set_snapshot(sql_opener, data=forged["data"], digest=forged["digest"])
    ledger = sql_opener(snapshot_every=5)  # the checks pass: only a replay can tell
    assert ledger.verify() == [
        f"leads: 1 entries differ from the log ({lead_id!r})",
        "received_count: differs from the log",
    ]


def test_a_snapshot_that_cannot_be_stored_warns_and_the_operation_stands(
    sql_opener: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(snapshot, "dump", broken)
    router = make_router(sql_opener(snapshot_every=2))

    def route_then_settle() -> None:
        router.route(lr.Lead("L1", T0), now=T0)  # the dump fails in a child process
        sql_opener.settle()  # the thread waiting for the child warns

    with pytest.warns(SnapshotWarning, match="disk full.*the operation itself was committed"):
        route_then_settle()
    assert sql_opener(snapshot_every=0).holder("L1") is not None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="without fork the dump runs in the operation")
def test_the_operation_passing_the_mark_does_not_wait_for_the_snapshot(
    sql_opener: Opener, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    go, dump = tmp_path / "go", snapshot.dump

    def held_back(state: dict[str, Any], seq: int, events: int) -> dict[str, Any]:
        deadline = time.monotonic() + 30  # a dump in the operation itself fails the test
        while not go.exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the dump was never let go")
            time.sleep(0.01)
        return dump(state, seq, events)

    monkeypatch.setattr(snapshot, "dump", held_back)
    ledger = sql_opener(snapshot_every=4)
    router = make_router(ledger)
    memory = make_router(lr.Ledger())
    for i in range(2):  # four events: the second route passes the mark
        for each in (router, memory):
            each.route(lr.Lead(f"L{i}", T0), now=at(i))
    marked = memory.ledger.snapshot()
    for each in (router, memory):  # the next operation goes on while the dump waits
        each.route(lr.Lead("L2", T0), now=at(2))
    with pytest.raises(sa.exc.NoResultFound):  # nothing stored yet
        _snapshot_row(Opener(sql_opener.kind, sql_opener.url), name=sql_opener.name)
    go.touch()
    row = _snapshot_row(sql_opener)
    assert row["events"] == 4  # the state as of the mark, not as of when it was pickled
    state = snapshot.load(row, snapshotting.KEYS)
    assert isinstance(state, dict)
    from_snapshot = lr.Ledger()
    from_snapshot._import_state(state, [])
    assert from_snapshot.snapshot() == marked
    assert sql_opener(snapshot_every=0).snapshot() == memory.ledger.snapshot()


def test_a_worker_skips_the_snapshot_another_one_just_stored(sql_opener: Opener) -> None:
    early = make_router(sql_opener(snapshot_every=6))
    late = make_router(sql_opener(snapshot_every=6))
    for i in range(4):  # 8 events by `late`: it stores a snapshot at its mark
        late.route(lr.Lead(f"L{i}", T0), now=T0)
    stored = _snapshot_row(sql_opener)
    early.route(lr.Lead("L9", T0), now=T0)  # past its own mark, but one was just stored
    assert _snapshot_row(sql_opener)["seq"] == stored["seq"]
    assert early.ledger._snapshots.events == stored["events"]  # type: ignore[attr-defined]


def test_ledger_open_defaults_to_the_stores_snapshot_interval() -> None:
    import inspect

    default = inspect.signature(lr.Ledger.open).parameters["snapshot_every"].default
    assert default == durable.SNAPSHOT_EVERY


def test_opening_folds_the_log_without_holding_the_write_lock(
    sql_opener: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker starting on a long log (no usable snapshot: a first start, an upgrade) folds it
    while the others keep routing; what they commit meanwhile is caught up under the lock."""
    from leadrouter.stores.durable import StoredLedger

    writer = make_router(sql_opener())
    for i in range(12):
        writer.route(lr.Lead(f"L{i}", T0), now=at(i))
    other = make_router(sql_opener(lock_timeout=1.0))
    folding = StoredLedger._catch_up
    meanwhile: list[lr.Decision] = []

    def slow_fold(self: StoredLedger, rows: Any) -> None:
        rows = list(rows)
        if len(rows) > 5 and not meanwhile:  # the opening fold: another worker routes now
            meanwhile.append(other.route(lr.Lead("W1", T0), now=at(20)))
        folding(self, rows)

    monkeypatch.setattr(StoredLedger, "_catch_up", slow_fold)
    opened = sql_opener()
    assert [d.lead_id for d in meanwhile] == ["W1"]  # no LockTimeoutError: no lock held
    assert "W1" in opened and len(opened) == len(other.ledger)
