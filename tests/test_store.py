"""The contract every ledger keeps, in memory, SQLite and PostgreSQL alike: the same answers,
retries that are one event, each Router operation one transaction (all or nothing, its caches
with it), and a fold whose change moves the snapshot format (FOLD_DIGEST). The helpers here
(`Opener`, the `opener` and `sql_opener` fixtures, `make_router`) serve the other store tests:
the database itself and what goes wrong with it (test_store_sql), snapshots (test_store_snapshots),
a caller's blocks (test_store_blocks), rosters, restores and worker processes.

PostgreSQL tests use the database named by LEADROUTER_TEST_PG (`make test` starts a throwaway
one with .ci/postgres); each test works in a ledger of its own name, so a shared database is
fine.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import leadrouter as lr
from leadrouter.errors import (
    InvalidValueError,
)

from .conftest import T0, at

sa = pytest.importorskip("sqlalchemy", reason="the SQL ledgers need: pip install 'leadrouter[db]'")
pytest.importorskip("psycopg", reason="the PostgreSQL ledger needs: pip install 'leadrouter[db]'")

from leadrouter.stores.codec import (  # noqa: E402
    decode_event,
    encode_event,
    event_of,
    event_text,
    loads,
)

STORES = ("memory", "sqlite", "postgresql")


def postgres_url() -> str:
    """LEADROUTER_TEST_PG, or skip saying how to get one."""
    url = os.environ.get("LEADROUTER_TEST_PG")
    if not url:
        why = os.environ.get("LEADROUTER_TEST_PG_MISSING", "LEADROUTER_TEST_PG is not set")
        pytest.skip(
            f"no PostgreSQL for the SQL-ledger tests ({why}): run `make test`, which starts a "
            "throwaway one, or set LEADROUTER_TEST_PG=postgresql://user@host/db"
        )
    return url


def store_url(kind: str, tmp_path: Path) -> str | None:
    """The URL of a fresh database of this kind (None: in memory)."""
    if kind == "memory":
        return None
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return postgres_url()


class Opener:
    """Opens the same ledger (a name of its own) of one store as often as a test likes: each
    open is what another process would see."""

    def __init__(self, kind: str, url: str | None) -> None:
        self.kind = kind
        self.url = url
        self.name = f"t-{uuid.uuid4().hex[:12]}"
        self.opened: list[lr.Ledger] = []

    def __call__(self, **kw: Any) -> lr.Ledger:
        if self.url is None:
            return lr.Ledger()
        self.settle()
        ledger = lr.Ledger.open(self.url, self.name, **kw)
        self.opened.append(ledger)
        return ledger

    def settle(self) -> None:
        """Wait for the snapshots the opened ledgers are storing (in a thread of their own;
        a closed ledger waited for its own)."""
        for ledger in self.opened:
            if not ledger.store.closed:  # type: ignore[attr-defined]
                ledger._snapshots.wait()  # type: ignore[attr-defined]

    def close(self) -> None:
        self.settle()
        for ledger in self.opened:
            ledger.store.dispose()  # type: ignore[attr-defined]


def opener_over(*kinds: str) -> Any:
    """The `opener` fixture over these kinds of store (a test module of SQL-only cases takes
    ("sqlite", "postgresql")): one Opener per test, closed after it."""

    @pytest.fixture(params=kinds, name="opener")
    def fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
        found = Opener(request.param, store_url(request.param, tmp_path))
        yield found
        found.close()

    return fixture


opener = opener_over(*STORES)


@pytest.fixture(params=STORES[1:])
def sql_opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    found = Opener(request.param, store_url(request.param, tmp_path))
    yield found
    found.close()


def team(n: int = 4) -> list[lr.Rep]:
    return [lr.Rep(f"r{i}") for i in range(n)]


def make_router(ledger: lr.Ledger, reps: list[lr.Rep] | None = None, **kw: Any) -> lr.Router:
    kw.setdefault("caps", lr.FixedCap(open=3, daily=6))
    kw.setdefault(
        "lifecycle",
        lr.Lifecycle(
            first_touch_sla=timedelta(minutes=40), expire_after=timedelta(hours=3), reroute=True
        ),
    )
    return lr.Router(lr.EqualRotation(), reps or team(), ledger=ledger, **kw)


# ---------------------------------------------------------------------- the event codec


def test_every_event_kind_survives_json_with_its_zone() -> None:
    shanghai = datetime(2026, 1, 5, 17, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    lead = lr.Lead(
        "L1",
        shanghai,
        source="ads",
        region="east",
        grade="A",
        score=0.5,
        contact="c1",
        cost=3.5,
        features={"campaign": "x", "visits": 3, "seen": shanghai, "tags": ["a", "b"]},
    )
    events = [
        lr.Arrived(lead),
        lr.Assigned("L1", "r1", shanghai, "S", propensity=0.25),
        lr.Claimed("L1", "r1", shanghai),
        lr.Touched("L1", "r1", shanghai, reached=True),
        lr.Tagged("L1", "r1", shanghai, valid=False, reason="blocked"),
        lr.Converted("L1", "r1", shanghai, amount=99.5),
        lr.Released("L1", "r1", shanghai, "sla", pool="vip"),
        lr.Pooled("L1", shanghai, "vip", "rule", waiting=True),
    ]
    for event in events:
        back = decode_event(*encode_event(event))
        assert back == event
        assert back.at.tzinfo == ZoneInfo("Asia/Shanghai")
        kind, text = event_text(event)  # what the store writes: the same JSON, in one pass
        assert (kind, json.loads(text)) == encode_event(event)
        assert event_of(kind, loads(text)) == event


def test_a_feature_json_cannot_hold_is_a_named_error_and_nothing_is_written(
    sql_opener: Opener,
) -> None:
    router = lr.Router(lr.EqualRotation(), team(), ledger=sql_opener())
    odd = lr.Lead("L1", T0, features={"nested": {"tags": {"a", "b"}}})
    with pytest.raises(
        InvalidValueError, match=r"Arrived of lead 'L1'\[.*'nested'\]\['tags'\] holds set"
    ):
        router.route(odd, now=T0)
    assert len(sql_opener()) == 0
    assert router.route(lr.Lead("L2", T0), now=T0).ok


# ---------------------------------------------------------------------- same answers


def workload(router: lr.Router, seed: int, steps: int, later: int = 0) -> list[object]:
    """A random mix of every Router operation; returns what each answered. `later` starts the
    lead ids and the clock further on, to continue an earlier workload."""
    rng = random.Random(seed)
    ledger = router.ledger
    answers: list[object] = []
    now = T0 + timedelta(days=later)
    for step in range(later, later + steps):
        now += timedelta(minutes=rng.choice((1, 3, 7, 20)))
        roll = rng.random()
        held = sorted((lead_id, rep) for lead_id, rep, _ in ledger.held())
        pooled = sorted(ledger.pool())
        if roll < 0.35 or not (held or pooled):
            lead = lr.Lead(f"L{step}", now - timedelta(minutes=1), region=rng.choice("ab"))
            answers.append(router.route(lead, now=now))
        elif roll < 0.5 and pooled:
            answers.append(router.claim(rng.choice(team()).id, rng.choice(pooled), now=now))
        elif roll < 0.6 and held:
            answers.append(router.release(rng.choice(held)[0], now=now, reroute=rng.random() < 0.5))
        elif roll < 0.85 and held:
            lead_id, rep = rng.choice(held)
            kind = rng.random()
            if kind < 0.6:
                event: Any = lr.Touched(lead_id, rep, now, reached=rng.random() < 0.5)
            elif kind < 0.8:
                event = lr.Tagged(lead_id, rep, now, valid=rng.random() < 0.7)
            else:
                event = lr.Converted(lead_id, rep, now, amount=float(rng.randint(1, 9)))
            router.record(event)
            answers.append(event)
        else:
            answers.append(router.tick(now=now))
    return answers


def test_a_stored_router_decides_as_the_in_memory_one(sql_opener: Opener) -> None:
    memory = make_router(lr.Ledger())
    stored = make_router(sql_opener())
    assert workload(stored, seed=7, steps=160) == workload(memory, seed=7, steps=160)
    assert stored.ledger.snapshot() == memory.ledger.snapshot()
    assert list(stored.ledger.events()) == list(memory.ledger.events())
    reopened = sql_opener()
    assert reopened.snapshot() == memory.ledger.snapshot()
    assert lr.Ledger.from_events(reopened.events()).snapshot() == reopened.snapshot()


def test_routers_in_two_processes_share_one_log(opener: Opener) -> None:
    """Two routers on two opens of one ledger (what two workers hold) alternate: each sees
    the other's events, so caps and rotation hold across them as in one router."""
    first = opener()
    second = first if opener.kind == "memory" else opener()
    a, b = make_router(first), make_router(second)
    one = make_router(lr.Ledger())
    for i in range(12):
        lead = lr.Lead(f"L{i}", at(i))
        router = a if i % 2 else b
        assert router.route(lead, now=at(i)).rep_id == one.route(lead, now=at(i)).rep_id
    first.refresh()  # views outside a Router are as of this process's last transaction
    second.refresh()
    assert first.snapshot() == second.snapshot() == one.ledger.snapshot()
    assert max(first.book_size(rep.id) for rep in team()) <= 3


# ---------------------------------------------------------------------- idempotency


def test_a_retry_in_another_process_returns_the_stored_decision(opener: Opener) -> None:
    first = opener()
    a = make_router(first)
    lead = lr.Lead("L1", T0, region="a")
    decision = a.route(lead, now=at(1))
    a.claim("r2", "L1", now=at(2))  # later events do not change what a retry answers
    other = first if opener.kind == "memory" else opener()
    b = a if opener.kind == "memory" else make_router(other)
    assert b.route(lead, now=at(5)) == decision
    assert len(other) == 2


def test_a_retry_elsewhere_of_a_lead_whose_features_json_changes_is_the_same_lead(
    sql_opener: Opener,
) -> None:
    """Another process reads the lead back from JSON (a tuple as a list, an integer key as a
    string): a retry sent to it with the original features is still the same lead. A NaN,
    which JSON cannot hold, is refused naming where, on every SQL store, and nothing written."""
    features = {"tags": (1, 2), 7: "seven"}
    a = make_router(sql_opener())
    decision = a.route(lr.Lead("L1", T0, features=features), now=at(1))
    b = make_router(sql_opener())
    assert b.route(lr.Lead("L1", T0, features={"tags": (1, 2), 7: "seven"}), now=at(5)) == decision
    with pytest.raises(lr.errors.DuplicateLeadError, match="different fields"):
        b.route(lr.Lead("L1", T0, features={"tags": (1, 3), 7: "seven"}), now=at(6))
    with pytest.raises(lr.errors.InvalidValueError, match=r"\['score_raw'\] is nan, which JSON"):
        a.route(lr.Lead("L2", T0, features={"score_raw": float("nan")}), now=at(7))
    assert "L2" not in b.ledger and len(b.ledger) == 2


def test_a_resent_report_is_one_event(opener: Opener) -> None:
    first = opener()
    a = make_router(first)
    a.route(lr.Lead("L1", T0), now=T0)
    rep = a.ledger.holder("L1")
    assert rep is not None
    touch = lr.Touched("L1", rep, at(3), reached=True)
    sale = lr.Converted("L1", rep, at(9), amount=5.0)
    a.record(touch)
    a.record(touch)  # the CRM's webhook retried
    b = a if opener.kind == "memory" else make_router(opener())
    b.record(touch)  # from another worker too
    b.record(sale)
    b.record(sale)  # a resent sale is not a second sale (nor an error)
    with pytest.raises(lr.errors.TransitionError):
        b.record(lr.Converted("L1", rep, at(9), amount=6.0))  # another sale of a closed lead
    # the same reports written another way: an integer amount, the same instant in another zone
    b.record(lr.Converted("L1", rep, at(9), amount=5))
    b.record(lr.Touched("L1", rep, at(3).astimezone(ZoneInfo("Asia/Shanghai")), reached=True))
    log = first.events() if opener.kind == "memory" else opener().events()
    assert [type(e).__name__ for e in log] == ["Arrived", "Assigned", "Touched", "Converted"]
    assert b.ledger.stats(rep).touched == 1
    if opener.kind != "memory":  # one row per event, so a snapshot's count still matches
        from leadrouter.stores.rosters import ROSTER

        store = b.ledger.store  # type: ignore[attr-defined]
        with store.locked() as txn:
            assert store.count(txn, 10**9, ROSTER)[0] == len(log)


# ---------------------------------------------------------------------- atomicity


def test_an_operation_that_raises_writes_none_of_its_events(sql_opener: Opener) -> None:
    failing = False

    def first_rep(ctx: Any) -> str:
        if failing:
            raise RuntimeError("strategy crashed")
        return str(sorted(ctx.ids)[0])

    router = lr.Router(first_rep, team(), ledger=sql_opener())
    router.route(lr.Lead("L1", T0), now=T0)
    before = router.ledger.snapshot()
    failing = True
    with pytest.raises(RuntimeError, match="strategy crashed"):
        router.release("L1", now=at(5), reroute=True)  # Released written, then the re-route fails
    assert router.ledger.snapshot() == before
    assert sql_opener().snapshot() == before
    assert len(sql_opener()) == 2


def test_a_transaction_longer_than_one_insert_is_written_whole_and_in_order(
    sql_opener: Opener,
) -> None:
    """One transaction of more events than one INSERT carries (several statements in one
    script on PostgreSQL), with a decision beside them: all are stored, in the order
    appended, and another process folds them to the same views."""
    from leadrouter.stores.sql import _BATCH

    ledger = sql_opener()
    router = lr.Router(lambda ctx: None, team(), ledger=ledger)  # every lead to the pool
    leads = [lr.Lead(f"L{i}", T0 + timedelta(seconds=i)) for i in range(_BATCH + 31)]
    with ledger.transaction():
        for lead in leads:
            ledger.append(lr.Arrived(lead))
        router.route(lr.Lead("last", at(1)), now=at(1))
    other = sql_opener()
    assert [e.lead_id for e in other.events()][: len(leads)] == [lead.id for lead in leads]
    assert len(other) == len(ledger) == len(leads) + 2  # the last lead's Arrived and Pooled
    assert other.snapshot() == ledger.snapshot()
    assert other.verify() == []
    assert other.first_decision("last") == router.why("last")


def test_verify_finds_no_drift_and_names_views_that_drift(opener: Opener) -> None:
    ledger = opener()
    router = make_router(ledger)
    workload(router, seed=3, steps=40)
    assert ledger.verify() == []
    held = next(iter(ledger.held()))
    ledger._leads[held[0]].rep = "ghost"  # corrupt one view, as a bug would
    assert ledger.verify() == [f"leads: 1 entries differ from the log ({held[0]!r})"]


def test_the_roster_key_is_the_same_in_every_process() -> None:
    """Set-valued fields (regions, skills) print in a per-process order; the key must not."""
    code = (
        "import leadrouter as lr; from leadrouter.stores.durable import roster_key; "
        "print(roster_key([lr.Rep('a', regions={'north', 'south', 'east'}, skills={'x', 'y'}, "
        "profile={'b': 1, 'a': 2})]))"
    )
    keys = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(keys) == 1


def test_the_in_memory_router_holds_only_its_lock() -> None:
    """In memory an operation takes the router's lock and marks the log (to roll back to if it
    raises); there is no transaction to open, and the ledger's block is one object, entered
    again for each block (nothing allocated per call)."""
    router = make_router(lr.Ledger())
    taken = []
    with router._op:
        worker = threading.Thread(target=lambda: taken.append(router._lock.acquire(timeout=0)))
        worker.start()
        worker.join()
    assert taken == [False]  # held while the operation runs
    assert router._lock.acquire(timeout=0)  # and let go after it
    router._lock.release()
    assert router.ledger.transaction() is router.ledger.transaction()


# ---------------------------------------------------------------------- caches after a rollback


def _at_cap_then_fail(ctx: Any) -> str:
    """The first rep the caps let take the lead; fails on lead "BOOM", after asking the caps."""
    room = [rep for rep in sorted(ctx.ids) if ctx.can_take(rep)]
    if ctx.lead.id == "BOOM":
        raise RuntimeError("strategy crashed")
    return room[0]


@pytest.mark.parametrize(
    "cap",
    [
        lr.FixedCap(daily=1),
        lr.DynamicCaps(lr.FixedCap(daily=1), min_history_days=14),
    ],
    ids=["FixedCap", "DynamicCaps"],
)
def test_a_rolled_back_operation_leaves_no_rep_marked_full(sql_opener: Opener, cap: Any) -> None:
    """In one transaction r0 takes its one lead of the day and is then found full; the
    transaction rolls back, so r0 has no lead today and must not stay marked full."""
    ledger = sql_opener()
    router = lr.Router(_at_cap_then_fail, team(2), ledger=ledger, caps=cap)

    def one_transaction() -> None:
        with ledger.transaction():
            assert router.route(lr.Lead("L1", T0), now=at(1)).rep_id == "r0"
            router.route(lr.Lead("BOOM", T0), now=at(1))  # finds r0 full, then fails

    with pytest.raises(RuntimeError, match="strategy crashed"):
        one_transaction()
    assert "L1" not in ledger
    assert router.route(lr.Lead("L2", T0), now=at(2)).rep_id == "r0"


# ---------------------------------------------------------------------- the router suite


Scenario = Callable[[lr.Ledger], None]


def _caps_and_claims(ledger: lr.Ledger) -> None:
    router = make_router(ledger, caps=lr.FixedCap(open=2))
    for i in range(10):
        router.route(lr.Lead(f"L{i}", T0), now=T0)
    assert all(ledger.book_size(rep.id) == 2 for rep in team())
    assert ledger.waiting() == ("L8", "L9")
    router.release(ledger.book_order("r0")[0], now=at(1), reroute=False)
    assert not router.claim("r1", "L8", now=at(2)).ok  # r1 is at its cap
    claimed = router.claim("r0", "L8", now=at(2))
    assert claimed.ok
    assert router.claim("r0", "L8", now=at(2)) == claimed  # a retry answers the claim again
    assert not router.claim("r2", "L8", now=at(2)).ok  # held now


def _timers_and_handover(ledger: lr.Ledger) -> None:
    router = make_router(ledger)
    for i in range(4):
        router.route(lr.Lead(f"L{i}", T0), now=T0)
    router.record(lr.Touched("L0", ledger.holder("L0") or "", at(5)))
    released = router.tick(now=at(41))
    assert sorted(e.lead_id for e in released if isinstance(e, lr.Released)) == ["L1", "L2", "L3"]
    holder = ledger.holder("L0")
    assert holder is not None
    book = ledger.book_order(holder)
    assert "L0" in book
    moved = router.handover(holder, now=at(50))
    assert [d.lead_id for d in moved] == list(book)
    assert all(d.rep_id not in (None, holder) for d in moved)
    assert ledger.book_size(holder) == 0


@pytest.mark.parametrize("scenario", [_caps_and_claims, _timers_and_handover])
def test_router_behaviour_on_every_store(opener: Opener, scenario: Scenario) -> None:
    ledger = opener()
    scenario(ledger)
    if opener.kind != "memory":
        assert opener().snapshot() == ledger.snapshot()


FOLD_DIGEST = {
    3: "4ec52f4c3344c251",
    4: "d4435dc39178deb0",
    5: "493ad09e7ddba725",
    6: "0361c59a552dacf1",
    7: "5f3d6673a5cd0043",
}
"""Per snapshot FORMAT, a digest of the fold's source (ledger/_fold.py and _state.py)."""


def test_a_change_of_the_fold_moves_the_snapshot_format() -> None:
    """A snapshot is trusted when its FORMAT and version match; a fold changed within one
    version would load a snapshot whose views a replay no longer gives."""
    from leadrouter.stores.snapshot import FORMAT

    root = Path(lr.__file__).parent / "ledger"
    source = b"".join((root / name).read_bytes() for name in ("_fold.py", "_state.py"))
    assert FOLD_DIGEST.get(FORMAT) == hashlib.sha256(source).hexdigest()[:16], (
        "the fold changed: bump leadrouter.stores.snapshot.FORMAT and record the new digest "
        "in FOLD_DIGEST (old snapshots are then refused and the log replayed once)"
    )
