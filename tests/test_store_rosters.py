"""One roster per stored ledger, changed by any worker: a `set_rep` or `handover` made in one
process reaches every Router on the ledger at its next operation (they route with the ledger's
latest roster instead of refusing), a roster the ledger never recorded is refused with the reps
that differ, and rows written before the reps were recorded (a digest alone) still work.

Each test opens the ledger several times, as separate worker processes would."""

from __future__ import annotations

import json

import pytest

import leadrouter as lr
from leadrouter.errors import RosterMismatchError

from .conftest import T0, at
from .test_store import Opener, make_router, opener_over, team

sa = pytest.importorskip("sqlalchemy", reason="the SQL ledgers need: pip install 'leadrouter[db]'")

from leadrouter.stores import snapshotting  # noqa: E402
from leadrouter.stores.rosters import roster_key  # noqa: E402

opener = opener_over("sqlite", "postgresql")


def _rows(opener: Opener) -> list[tuple[int, dict[str, object]]]:
    """(sequence number, payload) of the ledger's roster rows, oldest first."""
    assert opener.url is not None
    engine = sa.create_engine(opener.url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text(
                    "SELECT seq, payload FROM leadrouter_events "
                    "WHERE ledger = :name AND kind = '_roster' ORDER BY seq"
                ),
                {"name": opener.name},
            ).all()
    finally:
        engine.dispose()
    return [
        (seq, payload if isinstance(payload, dict) else json.loads(payload))
        for seq, payload in found
    ]


def _write_digest_only(opener: Opener, reps: list[lr.Rep]) -> None:
    """The roster row a leadrouter before the reps were recorded wrote: the digest alone."""
    assert opener.url is not None
    engine = sa.create_engine(opener.url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO leadrouter_events (ledger, kind, payload) "
                    "VALUES (:name, '_roster', :payload)"
                ),
                {"name": opener.name, "payload": json.dumps({"key": roster_key(reps)})},
            )
    finally:
        engine.dispose()


def test_a_handover_in_one_worker_reaches_the_others(opener: Opener) -> None:
    w1, w2 = make_router(opener()), make_router(opener())
    for i in range(4):
        w2.route(lr.Lead(f"L{i}", T0), now=T0)
    w1.handover("r0", now=at(1))
    taken = [w2.route(lr.Lead(f"L{i}", T0), now=at(2)).rep_id for i in range(4, 12)]
    assert "r0" not in taken and {"r1", "r2", "r3"} <= set(taken)  # and the rest wait: caps
    assert not w2.roster["r0"].active
    assert not w2.ledger.book("r0")
    assert len(_rows(opener)) == 2  # w2 took the new roster up without recording it again


def test_a_rep_added_in_one_worker_gets_leads_from_the_others(opener: Opener) -> None:
    w1, w2 = make_router(opener()), make_router(opener())
    for i in range(4):  # one lead each: the rep added next is the first never given one
        w2.route(lr.Lead(f"L{i}", T0), now=T0)
    w1.set_rep(lr.Rep("r9"))
    assert w2.route(lr.Lead("L4", T0), now=at(1)).rep_id == "r9"
    assert w2.reps == w1.reps
    assert opener().roster() == w1.reps


def test_a_restarted_worker_with_the_old_code_takes_up_the_ledgers_roster(
    opener: Opener,
) -> None:
    """A worker started with the roster of its code after a handover made elsewhere follows
    the ledger, rather than bringing back the rep who left."""
    make_router(opener()).handover("r1", now=T0)
    restarted = make_router(opener())
    assert restarted.route(lr.Lead("L0", T0), now=at(1)).rep_id != "r1"
    assert not restarted.roster["r1"].active


def test_use_roster_reaches_running_workers(opener: Opener) -> None:
    worker = make_router(opener())
    worker.route(lr.Lead("L0", T0), now=T0)
    opener().use_roster([*team(), lr.Rep("r7", regions={"north"})])  # type: ignore[attr-defined]
    worker.route(lr.Lead("L1", T0), now=at(1))
    assert worker.roster["r7"].regions == frozenset({"north"})


def test_a_roster_never_recorded_is_refused_naming_the_reps_that_differ(opener: Opener) -> None:
    make_router(opener()).route(lr.Lead("L0", T0), now=T0)
    other = [lr.Rep("r0"), lr.Rep("r1"), lr.Rep("r2", regions={"north"}), lr.Rep("r7")]
    with pytest.raises(RosterMismatchError) as refused:
        make_router(opener(), other).route(lr.Lead("L1", T0), now=at(1))
    said = str(refused.value)
    seq = _rows(opener)[-1][0]
    assert f"ledger {opener.name!r}" in said
    assert f"recorded at sequence number {seq} on 20" in said
    assert "only this Router has r7" in said
    assert "only the ledger's roster has r3" in said
    assert "changed r2 (regions={'north'} here, {} on the ledger)" in said
    assert "never used on this ledger" in said and "use_roster" in said
    assert "L1" not in opener()


def test_a_digest_only_row_of_an_older_leadrouter_still_works(opener: Opener) -> None:
    opener()  # the schema
    _write_digest_only(opener, team())
    worker = make_router(opener())
    for i in range(4):
        assert worker.route(lr.Lead(f"L{i}", T0), now=T0).ok
    assert worker.ledger.roster() is None
    assert len(_rows(opener)) == 1  # the same roster: not recorded again
    with pytest.raises(RosterMismatchError, match="digest alone") as refused:
        make_router(opener(), team(3)).route(lr.Lead("L5", T0), now=at(1))
    assert "which reps differ cannot be said" in str(refused.value)
    worker.set_rep(lr.Rep("r9"))  # recorded with its reps from now on
    assert make_router(opener()).route(lr.Lead("L6", T0), now=at(2)).rep_id == "r9"


def test_a_roster_that_was_digest_only_cannot_be_taken_up(opener: Opener) -> None:
    """The ledger's latest roster is a digest alone: a Router whose roster came before it has
    nothing to take up, and is refused as before, saying how to record the reps."""
    worker = make_router(opener())
    worker.route(lr.Lead("L0", T0), now=T0)
    _write_digest_only(opener, team(3))
    with pytest.raises(RosterMismatchError, match="cannot be taken up"):
        worker.route(lr.Lead("L1", T0), now=at(1))


def test_the_roster_comes_back_with_a_snapshot(opener: Opener) -> None:
    worker = make_router(opener(snapshot_every=5))
    for i in range(4):
        worker.route(lr.Lead(f"L{i}", T0), now=T0)
    worker.handover("r0", now=at(1))
    for i in range(4, 10):
        worker.route(lr.Lead(f"L{i}", T0), now=at(2))
    reopened = opener(snapshot_every=5)
    assert isinstance(reopened._events, snapshotting.StoredEvents)  # opened from a snapshot
    assert reopened._snapshots.events > 4  # type: ignore[attr-defined]  # past the handover
    assert reopened.roster() == worker.reps
    restarted = make_router(reopened)  # its roster, recorded before the snapshot, is known
    assert restarted.route(lr.Lead("L10", T0), now=at(3)).rep_id != "r0"
    with pytest.raises(RosterMismatchError, match="only this Router has r4, r5"):
        make_router(reopened, team(6)).route(lr.Lead("L11", T0), now=at(3))


def test_an_in_memory_ledger_records_no_roster() -> None:
    router = make_router(lr.Ledger())
    router.route(lr.Lead("L0", T0), now=T0)
    assert router.ledger.roster() is None


class _RecordingError(Exception):
    """Recording the roster failed (an error of any kind, as a bug or a MemoryError would)."""


def test_an_operation_whose_roster_cannot_be_recorded_ends_its_transaction(
    opener: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recording the router's changed roster is the operation's last step; when it raised, the
    transaction stayed open: the write lock held (every other worker timed out), the ledger's
    thread lock held, and the router kept a roster the ledger never recorded."""
    ledger = opener()
    router = make_router(ledger)
    router.route(lr.Lead("L1", T0), now=at(1))
    reps = router.reps

    def fails(link: object) -> None:
        raise _RecordingError("the roster could not be recorded")

    monkeypatch.setattr(ledger, "note_roster", fails)
    with pytest.raises(_RecordingError):
        router.set_rep(lr.Rep("r9"))
    monkeypatch.undo()
    assert router.reps == reps and ledger.roster() == reps
    other = make_router(opener(lock_timeout=1.0))  # another worker takes the write lock
    assert other.route(lr.Lead("L2", T0), now=at(2)).rep_id is not None
    assert router.route(lr.Lead("L3", T0), now=at(3)).rep_id is not None
    assert sorted(opener().lead_ids()) == ["L1", "L2", "L3"]
