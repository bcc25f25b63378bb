"""A worker that runs through a restore of its ledger's database from a backup stops at its next
operation with LogReplacedError, writing nothing, instead of deciding on views the log no longer
holds; a worker whose view the restored log still holds goes on, and one opened after the
restore works.

SQLite is restored as an operator would restore a live file (SQLite's backup API, what the
sqlite3 shell's `.restore` does), so the restored file also brings back its sequence counter and
snapshots. PostgreSQL shares one database between tests, so its restore is done on this
ledger's rows alone: the rows after the backup are deleted, and rows written since are moved
down into the numbers they had, as a restored sequence would have numbered them.
"""

from __future__ import annotations

import re
import sqlite3
import warnings
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import leadrouter as lr
from leadrouter.errors import LogReplacedError, SnapshotWarning

from .conftest import T0
from .test_store import Opener, make_router, opener_over

sa = pytest.importorskip("sqlalchemy", reason="the SQL ledgers need: pip install 'leadrouter[db]'")

from leadrouter.stores import snapshotting  # noqa: E402
from leadrouter.stores.rosters import ROSTER  # noqa: E402

opener = opener_over("sqlite", "postgresql")
pytestmark = pytest.mark.filterwarnings("error::ResourceWarning")
"""A connection left to the garbage collector (psycopg warns when it collects one) fails."""


class Backup:
    """A backup of the opener's ledger, taken now, and its restore while workers run."""

    def __init__(self, opener: Opener, tmp_path: Path) -> None:
        assert opener.url is not None
        self.opener = opener
        self.engine = sa.create_engine(opener.url.replace("postgresql://", "postgresql+psycopg://"))
        self.copy = tmp_path / "backup.db"
        self.seq = self.last()
        if opener.kind == "sqlite":
            _sqlite_copy(self.path, self.copy)

    @property
    def path(self) -> Path:
        return Path(str(self.engine.url.database))

    def _run(self, sql: str, **values: Any) -> list[Any]:
        with self.engine.begin() as conn:
            found = conn.execute(sa.text(sql), {"name": self.opener.name, **values})
            return list(found.all()) if found.returns_rows else []

    def rows(self) -> list[tuple[int, str]]:
        """(seq, kind) of every row of the ledger's log."""
        return self._run(
            "SELECT seq, kind FROM leadrouter_events WHERE ledger = :name ORDER BY seq"
        )

    def snapshot(self) -> tuple[int, int]:
        """(seq, events) of the ledger's stored snapshot, once the ledgers opened stored theirs."""
        self.opener.settle()
        return self._run("SELECT seq, events FROM leadrouter_snapshots WHERE ledger = :name")[0]

    def events_upto(self, seq: int) -> int:
        """The events (roster rows aside) of the ledger's log up to `seq`."""
        return int(
            self._run(
                "SELECT count(*) FROM leadrouter_events WHERE ledger = :name AND seq <= :seq "
                "AND kind <> :roster",
                seq=seq,
                roster=ROSTER,
            )[0][0]
        )

    def last(self) -> int:
        return int(self._run("SELECT max(seq) FROM leadrouter_events WHERE ledger = :name")[0][0])

    def restore(self) -> None:
        """Put the log back as it was when the backup was taken."""
        if self.opener.kind == "sqlite":
            _sqlite_copy(self.copy, self.path)
        else:
            self._run(
                "DELETE FROM leadrouter_events WHERE ledger = :name AND seq > :seq", seq=self.seq
            )

    def grow_past(self, seq: int) -> None:
        """After `restore`, write new leads until the log's rows reach past `seq`, numbered as
        the restored database numbers them (reusing the numbers the lost rows had)."""
        top = int(self._run("SELECT max(seq) FROM leadrouter_events")[0][0])
        grower = make_router(self.opener(snapshot_every=0))
        while len(new := [row for row, _ in self.rows() if row > top]) < seq - self.seq:
            grower.route(lr.Lead(f"G{len(new)}", T0), now=T0 + timedelta(minutes=1))
        self._run(
            "UPDATE leadrouter_events SET seq = seq - :shift WHERE ledger = :name AND seq > :top",
            shift=new[0] - self.seq - 1,
            top=top,
        )


@pytest.fixture
def take_backup(opener: Opener, tmp_path: Path) -> Iterator[Callable[[], Backup]]:
    """Takes a Backup of the opener's ledger when called; after the test, closes the
    connections of every one taken (left to the garbage collector, PostgreSQL's warn)."""
    taken: list[Backup] = []

    def take() -> Backup:
        taken.append(Backup(opener, tmp_path))
        return taken[-1]

    yield take
    for backup in taken:
        backup.engine.dispose()


def _sqlite_copy(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _route(router: lr.Router, *lead_ids: str) -> None:
    for lead_id in lead_ids:
        router.route(lr.Lead(lead_id, T0), now=T0 + timedelta(minutes=1))


def _refused_every_time(router: lr.Router, said: str, backup: Backup) -> None:
    """Each kind of operation of `router` raises LogReplacedError saying `said`, and none
    writes anything."""
    rows = backup.rows()
    operations = [
        lambda: router.route(lr.Lead("N1", T0), now=T0 + timedelta(minutes=2)),
        lambda: router.claim("r0", "L1", now=T0 + timedelta(minutes=2)),
        lambda: router.record(lr.Touched("L1", "r0", T0 + timedelta(minutes=2))),
        lambda: router.route(lr.Lead("N1", T0), now=T0 + timedelta(minutes=2)),
    ]
    for operation in operations:
        with pytest.raises(LogReplacedError) as found:
            operation()
        message = str(found.value)
        assert message.startswith(
            f"the log of ledger {backup.opener.name!r} in {backup.opener.kind}"
        ), message
        assert re.search(said, message), message
        assert "(restored from a backup?)" in message
        assert message.endswith(
            "nothing was written: restart the worker (it reopens the ledger from the database)"
        )
    assert backup.rows() == rows


def _works(router: lr.Router, lead_id: str) -> None:
    decision = router.route(lr.Lead(lead_id, T0), now=T0 + timedelta(minutes=3))
    assert decision.rep_id is not None
    assert router.ledger.verify() == []


def test_a_worker_running_through_a_restore_that_cut_the_log_back_stops(
    opener: Opener, take_backup: Callable[[], Backup]
) -> None:
    stale = make_router(opener(snapshot_every=0))
    idle = make_router(opener(snapshot_every=0))
    _route(stale, "L1", "L2")
    idle.ledger.refresh()  # it read up to the backup, nothing after
    backup = take_backup()
    _route(stale, "L3", "L4")
    read = backup.last()
    backup.restore()
    _refused_every_time(
        stale,
        rf"its last row is now sequence number {backup.seq}, where this worker had read up to "
        rf"sequence number {read};",
        backup,
    )
    _works(idle, "I1")
    fresh = make_router(opener(snapshot_every=0))
    assert sorted(lead_id for lead_id, *_ in fresh.ledger.held()) == ["I1", "L1", "L2"]
    _works(fresh, "F1")


def test_a_worker_running_through_a_restore_the_log_has_grown_past_stops(
    opener: Opener, take_backup: Callable[[], Backup]
) -> None:
    stale = make_router(opener(snapshot_every=0))
    idle = make_router(opener(snapshot_every=0))
    _route(stale, "L1", "L2")
    idle.ledger.refresh()
    backup = take_backup()
    _route(stale, "L3", "L4")
    read = backup.last()
    backup.restore()
    backup.grow_past(read)
    _refused_every_time(
        stale, rf"its row at sequence number {read} is not the one this worker read there;", backup
    )
    _works(idle, "I1")  # the restored log holds every row it read: it catches up and goes on
    fresh = make_router(opener(snapshot_every=0))
    assert "L3" not in {lead_id for lead_id, *_ in fresh.ledger.held()}
    _works(fresh, "F1")


def test_a_worker_whose_last_row_was_deleted_in_a_grown_log_stops(
    opener: Opener, take_backup: Callable[[], Backup]
) -> None:
    stale = make_router(opener(snapshot_every=0))
    _route(stale, "L1")
    backup = take_backup()
    _route(stale, "L2")
    read = backup.last()
    backup._run("DELETE FROM leadrouter_events WHERE ledger = :name AND seq > :seq", seq=backup.seq)
    _route(make_router(opener(snapshot_every=0)), "G1")  # new rows, numbered after the lost ones
    _refused_every_time(
        stale,
        rf"it has no row at sequence number {read} any more, the last one this worker read "
        rf"\(it goes on at {backup.last() - 1}\);",
        backup,
    )


def test_a_snapshot_newer_than_the_restored_log_is_not_used(
    opener: Opener, take_backup: Callable[[], Backup]
) -> None:
    router = make_router(opener(snapshot_every=4))
    _route(router, "L1")
    backup = take_backup()
    _route(router, *(f"L{i}" for i in range(2, 8)))
    opener.settle()
    assert backup._run(
        "SELECT seq FROM leadrouter_snapshots WHERE ledger = :name AND seq > :seq", seq=backup.seq
    )
    backup._run("DELETE FROM leadrouter_events WHERE ledger = :name AND seq > :seq", seq=backup.seq)
    with pytest.warns(SnapshotWarning, match=r"the log holds \d+ events up to there"):
        fresh = opener(snapshot_every=4)
    assert [lead_id for lead_id, *_ in fresh.held()] == ["L1"]
    assert fresh.verify() == []


def test_a_snapshot_taken_after_the_backup_is_not_used_once_the_log_grew_back_past_it(
    opener: Opener, take_backup: Callable[[], Backup]
) -> None:
    """The events restored alone (or a snapshot stored while the restore ran), then the log
    grown back past the snapshot's sequence number: the event counts agree by coincidence, the
    row the snapshot was taken after is another one, and the snapshot is not used."""
    router = make_router(opener(snapshot_every=4))
    _route(router, "L1")
    backup = take_backup()
    _route(router, *(f"L{i}" for i in range(2, 8)))
    taken, events = backup.snapshot()
    assert taken > backup.seq
    backup._run("DELETE FROM leadrouter_events WHERE ledger = :name AND seq > :seq", seq=backup.seq)
    with pytest.warns(SnapshotWarning, match="the log holds"):  # the log cut back: caught
        backup.grow_past(taken)
    assert backup.events_upto(taken) == events  # the counts alone would take the snapshot
    with pytest.warns(
        SnapshotWarning,
        match=rf"the log's row at sequence number {taken} is not the one the snapshot was taken "
        r"after \(restored from a backup\?\); folding the whole log instead",
    ):
        fresh = opener(snapshot_every=4)
    assert not isinstance(fresh._events, snapshotting.StoredEvents)  # type: ignore[attr-defined]
    held = {lead_id for lead_id, *_ in fresh.held()}
    assert "L1" in held and not held & {f"L{i}" for i in range(2, 8)}
    assert fresh.verify() == []  # the views are a replay of the log
    _works(make_router(fresh), "F1")
    opener.settle()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the snapshot was replaced by one of this log
        reopened = opener(snapshot_every=4)
    assert isinstance(reopened._events, snapshotting.StoredEvents)  # type: ignore[attr-defined]
    assert reopened.verify() == []


def test_a_snapshot_the_restored_log_still_holds_is_used(
    opener: Opener, take_backup: Callable[[], Backup]
) -> None:
    _route(make_router(opener(snapshot_every=4)), "L1", "L2")
    opener.settle()  # the snapshot is in the backup
    backup = take_backup()
    stored = backup.snapshot()
    _route(make_router(opener(snapshot_every=0)), "L3", "L4")
    read = backup.last()
    backup.restore()
    backup.grow_past(read)
    assert backup.snapshot() == stored
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fresh = opener(snapshot_every=0)  # stores no snapshot of its own
    assert isinstance(fresh._events, snapshotting.StoredEvents)  # type: ignore[attr-defined]
    assert fresh._snapshots.events == stored[1]  # type: ignore[attr-defined]
    assert "L3" not in {lead_id for lead_id, *_ in fresh.held()}
    assert fresh.verify() == []
    _works(make_router(fresh), "F1")
