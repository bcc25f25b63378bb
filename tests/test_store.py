"""Ledgers stored in SQLite and PostgreSQL answer exactly as the in-memory ledger does, each
Router operation is one transaction, and what goes wrong gets a named error that loses nothing.

PostgreSQL tests use the database named by LEADROUTER_TEST_PG (`make test` starts a throwaway
one with .ci/postgres); each test works in a ledger of its own name, so a shared database is
fine.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import leadrouter as lr
from leadrouter.errors import (
    InvalidValueError,
    LockTimeoutError,
    RosterMismatchError,
    SchemaVersionError,
    SnapshotWarning,
    StoreUnavailableError,
)

from .conftest import T0, at

sa = pytest.importorskip("sqlalchemy", reason="the SQL ledgers need: pip install 'leadrouter[db]'")
pytest.importorskip("psycopg", reason="the PostgreSQL ledger needs: pip install 'leadrouter[db]'")

from leadrouter.stores import durable, snapshot  # noqa: E402
from leadrouter.stores.codec import (  # noqa: E402
    decode_event,
    encode_event,
    event_of,
    event_text,
    loads,
)
from leadrouter.stores.sql import SCHEMA_VERSION  # noqa: E402

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
        """Wait for the snapshots the opened ledgers are storing (in a thread of their own)."""
        for ledger in self.opened:
            ledger._await_snapshot()  # type: ignore[attr-defined]

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


# ---------------------------------------------------------------------- ledgers and schema


def test_each_team_has_its_own_ledger_in_one_database(sql_opener: Opener) -> None:
    east = make_router(sql_opener())
    west_ledger = lr.Ledger.open(sql_opener.url or "", sql_opener.name + "-west")
    sql_opener.opened.append(west_ledger)
    west = make_router(west_ledger, [lr.Rep("w1")])
    east.route(lr.Lead("L1", T0), now=T0)
    west.route(lr.Lead("L1", T0), now=T0)  # the same id in another team's ledger
    assert west_ledger.holder("L1") == "w1"
    assert east.ledger.holder("L1") in {rep.id for rep in team()}
    assert len(sql_opener()) == 2


def _set_version(url: str, version: int) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE leadrouter_schema SET version = :v"), {"v": version})
    engine.dispose()


def test_a_newer_schema_is_a_named_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    lr.Ledger.open(url).store.dispose()  # type: ignore[attr-defined]
    _set_version(url, SCHEMA_VERSION + 1)
    with pytest.raises(SchemaVersionError, match="newer than this leadrouter"):
        lr.Ledger.open(url)


def test_an_empty_database_without_create_asks_for_db_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(SchemaVersionError, match="leadrouter db upgrade"):
        lr.Ledger.open(url, create=False)


def test_db_upgrade_creates_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from leadrouter.cli import main

    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert main(["db", "upgrade", url]) == 0
    assert f"version {SCHEMA_VERSION}" in capsys.readouterr().out
    assert len(lr.Ledger.open(url, create=False)) == 0
    assert main(["db", "upgrade", url]) == 0
    assert "already" in capsys.readouterr().out


# ---------------------------------------------------------------------- named errors


def test_an_unreachable_database_names_the_url_without_its_password() -> None:
    url = "postgresql://sales:s3cret@127.0.0.1:9/crm"  # port 9 (discard): nothing listens
    with pytest.raises(StoreUnavailableError, match="after 2 tries") as found:
        lr.Ledger.open(url, retries=2)
    assert "s3cret" not in str(found.value)
    assert "127.0.0.1:9/crm" in str(found.value)


def test_an_unreachable_sqlite_file_is_a_named_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"
    with pytest.raises(StoreUnavailableError) as found:
        lr.Ledger.open(f"sqlite:///{missing / 'x.db'}")
    # said before any connection is tried, with the fix, not "check that it runs"
    assert str(found.value) == (
        f"the folder {missing} of the SQLite ledger sqlite:///{missing / 'x.db'} does not exist "
        "or is not a folder: create it first (SQLite makes the file, not its folder)"
    )
    taken = tmp_path / "taken.db"
    taken.mkdir()
    with pytest.raises(StoreUnavailableError, match="file can be written there") as found:
        lr.Ledger.open(f"sqlite:///{taken}", retries=1)
    assert "user and password" not in str(found.value)


def test_waiting_too_long_for_the_lock_is_a_named_error_and_writes_nothing(
    sql_opener: Opener,
) -> None:
    holder = sql_opener()
    waiter = sql_opener(lock_timeout=0.3)
    with holder.transaction(), pytest.raises(LockTimeoutError, match="retry the operation"):
        waiter.append(lr.Arrived(lr.Lead("L1", T0)))
    assert len(waiter) == 0
    waiter.append(lr.Arrived(lr.Lead("L1", T0)))  # the lock is free again
    assert len(sql_opener()) == 1


def test_opening_waits_for_a_table_lock_no_longer_than_lock_timeout() -> None:
    """An admin session holding the schema table (LOCK TABLE, a long migration) makes opening a
    LockTimeoutError after `lock_timeout`, as the write lock does, not a wait without end."""
    url = postgres_url()
    lr.Ledger.open(url, name="locked-schema")  # the schema exists
    admin = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.begin() as conn:
            conn.execute(sa.text("LOCK TABLE leadrouter_schema IN ACCESS EXCLUSIVE MODE"))
            began = time.monotonic()
            with pytest.raises(LockTimeoutError):
                lr.Ledger.open(url, name="locked-schema", lock_timeout=0.5)
            assert time.monotonic() - began < 10
    finally:
        admin.dispose()


def test_lost_tables_are_a_schema_error_not_a_database_to_wait_for(tmp_path: Path) -> None:
    """Retrying cannot bring back dropped tables: the error says to run `db upgrade`, where
    "retry once the database is back" would have a webhook answer 503 for ever."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    router = make_router(lr.Ledger.open(url))
    router.route(lr.Lead("L1", T0), now=T0)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE leadrouter_events"))
    engine.dispose()
    with pytest.raises(SchemaVersionError, match=r"has lost leadrouter's tables .*db upgrade"):
        router.route(lr.Lead("L2", T0), now=at(1))


def test_a_read_only_database_is_a_config_error_saying_where_to_point() -> None:
    url = postgres_url()
    admin = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    readonly = sa.engine.make_url(url).set(database="leadrouter_ro")
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("DROP DATABASE IF EXISTS leadrouter_ro"))
        conn.execute(sa.text("CREATE DATABASE leadrouter_ro"))
    ro_url = readonly.render_as_string(hide_password=False)
    lr.Ledger.open(ro_url)  # creates the schema while the database may still be written
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ALTER DATABASE leadrouter_ro SET default_transaction_read_only = on"))
    try:
        fresh = make_router(lr.Ledger.open(ro_url))
        with pytest.raises(lr.errors.ConfigError, match=r"is read-only .*not a standby"):
            fresh.route(lr.Lead("L1", T0), now=T0)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("DROP DATABASE IF EXISTS leadrouter_ro WITH (FORCE)"))
        admin.dispose()


@pytest.mark.parametrize(
    ("tamper", "said"),
    [
        ("UPDATE leadrouter_events SET kind = 'Bogus' WHERE seq = {seq}", r"\(Bogus\).*KeyError"),
        ("UPDATE leadrouter_events SET payload = '{{}}' WHERE seq = {seq}", r"\(Assigned\)"),
        (
            "INSERT INTO leadrouter_events (ledger, kind, payload) SELECT ledger, kind, payload "
            "FROM leadrouter_events WHERE seq = {seq}",
            r"\(Assigned\).*TransitionError",
        ),
    ],
)
def test_a_log_row_changed_outside_leadrouter_is_named_with_its_sequence_number(
    tmp_path: Path, tamper: str, said: str
) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    make_router(lr.Ledger.open(url)).route(lr.Lead("L1", T0), now=T0)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        seq = conn.execute(
            sa.text("SELECT seq FROM leadrouter_events WHERE kind = 'Assigned'")
        ).scalar()
        conn.execute(sa.text(tamper.format(seq=seq)))
    engine.dispose()
    with pytest.raises(
        lr.CorruptLogError, match=r"ledger 'default' in sqlite:.*sequence number "
    ) as found:
        lr.Ledger.open(url)
    assert re.search(said, str(found.value)), found.value
    assert "restore the database from a backup" in str(found.value)


def test_a_second_roster_on_one_ledger_is_refused(sql_opener: Opener) -> None:
    """A roster the ledger never recorded (another deploy) is refused; `use_roster` makes one
    the ledger's, and the routers built with the one before take it up (tests/
    test_store_rosters.py has the rest)."""
    a = make_router(sql_opener())
    a.route(lr.Lead("L1", T0), now=T0)
    with pytest.raises(RosterMismatchError, match="same reps"):
        make_router(sql_opener(), team(3)).route(lr.Lead("L2", T0), now=T0)
    assert "L2" not in sql_opener()
    deploy = sql_opener()
    deploy.use_roster(team(2))  # type: ignore[attr-defined]
    assert make_router(sql_opener(), team(2)).route(lr.Lead("L3", T0), now=at(3)).ok
    a.route(lr.Lead("L4", T0), now=at(4))
    assert a.reps == tuple(team(2))


def test_a_worker_forked_after_opening_connects_anew(sql_opener: Opener) -> None:
    """A process forked after the ledger connected (gunicorn --preload) must not share the
    parent's connection: on PostgreSQL one session's advisory lock excludes nobody. Each child
    connects anew, so caps hold and every lead is written once, and the parent's connection
    still works after its children exit."""
    router = make_router(sql_opener(), caps=lr.FixedCap(open=4))
    router.route(lr.Lead("P0", T0), now=T0)  # the parent holds a connection now
    children = []
    for k in range(3):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's outcome is its exit code
            code = 0
            try:
                for i in range(8):
                    router.route(lr.Lead(f"C{k}-{i}", T0), now=at(i))
            except BaseException:
                code = 1
            os._exit(code)
        children.append(pid)
    assert [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children] == [0, 0, 0]
    assert router.route(lr.Lead("P1", T0), now=at(9)).lead_id == "P1"
    ledger = sql_opener()
    arrived = [e.lead_id for e in ledger.events() if isinstance(e, lr.Arrived)]
    assert sorted(arrived) == sorted(
        ["P0", "P1", *(f"C{k}-{i}" for k in range(3) for i in range(8))]
    )
    assert all(ledger.book_size(rep.id) <= 4 for rep in team())


def test_a_connection_lost_mid_operation_commits_nothing_and_recovers() -> None:
    url = postgres_url()
    opener = Opener("postgresql", url)
    ledger = opener()
    router = make_router(ledger)
    router.route(lr.Lead("L1", T0), now=T0)
    killer = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))

    def append_and_lose_the_connection() -> None:
        with ledger.transaction():
            ledger.append(lr.Arrived(lr.Lead("L2", T0)))
            conn = ledger._txn.conn  # type: ignore[attr-defined]
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            with killer.begin() as other:
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    with pytest.raises(StoreUnavailableError, match="not committed"):
        append_and_lose_the_connection()
    killer.dispose()
    assert "L2" not in ledger and len(ledger) == 2
    assert router.route(lr.Lead("L3", T0), now=at(1)).ok  # the next operation reconnects
    assert [e.lead_id for e in opener().events()] == ["L1", "L1", "L3", "L3"]
    opener.close()


@pytest.mark.parametrize("url", ["mysql://x@y/z", "sqlite://", "not a url"])
def test_an_unsupported_url_is_a_config_error(url: str) -> None:
    with pytest.raises(lr.errors.ConfigError):
        lr.Ledger.open(url)


def test_reconnecting_to_a_database_that_went_away_is_retried_then_named(tmp_path: Path) -> None:
    """After the kept connection is lost, every operation reconnects through the same bounded
    retries, and a database still away is StoreUnavailableError each time: the driver's own
    error (which the pool hands up when it connects) is never what a caller sees."""
    folder = tmp_path / "gone"
    folder.mkdir()
    ledger = lr.Ledger.open(f"sqlite:///{folder / 'x.db'}", retries=2)
    router = make_router(ledger)
    router.route(lr.Lead("L1", T0), now=T0)
    ledger.store._drop()  # type: ignore[attr-defined]  # as after the server restarted
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    for minutes in (1, 2):
        with pytest.raises(StoreUnavailableError, match="after 2 tries"):
            router.route(lr.Lead(f"L{minutes + 1}", T0), now=at(minutes))


@pytest.mark.parametrize(
    ("url", "said"),
    [
        (
            "postgresql//leadrouter:s3cret@127.0.0.1:5432/db",
            "cannot read the ledger URL 'postgresql//leadrouter:***@127.0.0.1:5432/db'",
        ),
        ("postgresql://u:s3cret@host:port/db", "percent-encoded"),
        ("sqlite://rel.db", "write three slashes for a path relative to the working folder"),
        ("sqlite:///~/x.db", "starts with ~, which SQLite does not expand"),
    ],
)
def test_a_malformed_url_says_the_fix_and_never_the_password(url: str, said: str) -> None:
    with pytest.raises(lr.errors.ConfigError) as found:
        lr.Ledger.open(url)
    assert said in str(found.value)
    assert "s3cret" not in str(found.value)


def test_a_url_as_an_env_file_gives_it_and_the_postgres_alias_are_read(tmp_path: Path) -> None:
    """A trailing newline or a leading space is trimmed; postgres:// (what many hosts print) is
    PostgreSQL, reached through the same driver (here: nothing listens on port 9)."""
    assert len(lr.Ledger.open(f" sqlite:///{tmp_path / 'x.db'}\n")) == 0
    with pytest.raises(StoreUnavailableError, match=r"postgresql\+psycopg://u:\*\*\*@"):
        lr.Ledger.open("postgres://u:s3cret@127.0.0.1:9/db", retries=1)


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
    assert isinstance(reopened._events, durable._StoredEvents)  # opened from a snapshot
    assert len(reopened) - reopened._snapshot_events < 7  # type: ignore[attr-defined]
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
    import hashlib
    import pickle

    data = pickle.dumps({"events": row["events"], "payload": print})
    return {"data": data, "digest": hashlib.sha256(data).hexdigest()}


def _of_the_format_before(row: dict[str, Any]) -> dict[str, Any]:
    """The row as the snapshot format before this one wrote it: the same views, without the
    row of the log they were taken after."""
    state = snapshot.load(row, durable._SNAPSHOT_KEYS)
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
    assert replayed._snapshot_events == len(replayed)  # type: ignore[attr-defined]
    assert replayed.snapshot() == expected
    assert replayed.verify() == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the bad snapshot was replaced by a good one
        reopened = sql_opener(snapshot_every=5)
    assert isinstance(reopened._events, durable._StoredEvents)  # type: ignore[attr-defined]
    assert reopened.snapshot() == expected


def test_verify_reports_drift_from_a_tampered_snapshot(sql_opener: Opener) -> None:
    router = make_router(sql_opener(snapshot_every=5))
    workload(router, seed=8, steps=40)
    row = _snapshot_row(sql_opener)
    state = snapshot.load(row, durable._SNAPSHOT_KEYS)
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


def test_db_upgrade_migrates_a_version_1_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from leadrouter.cli import main

    url = f"sqlite:///{tmp_path / 'x.db'}"
    old = lr.Ledger.open(url, snapshot_every=0)
    make_router(old).route(lr.Lead("L1", T0), now=T0)
    old.store.dispose()  # type: ignore[attr-defined]
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # what a version-1 database holds
        conn.execute(sa.text("DROP TABLE leadrouter_snapshots"))
    engine.dispose()
    _set_version(url, 1)
    with pytest.raises(SchemaVersionError, match=r"schema version 1.*leadrouter db upgrade"):
        lr.Ledger.open(url)
    assert main(["db", "upgrade", url]) == 0
    assert f"from version 1 to {SCHEMA_VERSION}" in capsys.readouterr().out
    ledger = lr.Ledger.open(url, snapshot_every=1, create=False)
    assert ledger.holder("L1") is not None  # the log was kept
    ledger._await_snapshot()  # type: ignore[attr-defined]
    assert isinstance(lr.Ledger.open(url)._events, durable._StoredEvents)  # type: ignore[attr-defined]


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
    state = snapshot.load(row, durable._SNAPSHOT_KEYS)
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
    assert early.ledger._snapshot_events == stored["events"]  # type: ignore[attr-defined]


def test_ledger_open_defaults_to_the_stores_snapshot_interval() -> None:
    import inspect

    default = inspect.signature(lr.Ledger.open).parameters["snapshot_every"].default
    assert default == durable.SNAPSHOT_EVERY


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


def test_a_server_that_accepts_but_never_answers_is_given_a_bounded_wait() -> None:
    """A PostgreSQL server stopped mid-flight (the port open, nothing answering) made opening
    wait without end; each try now waits CONNECT_TIMEOUT seconds, then the bounded retries end
    in StoreUnavailableError."""
    from leadrouter.stores.sql import CONNECT_TIMEOUT

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        began = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="after 1 tries"):
            lr.Ledger.open(f"postgresql://u:pw@127.0.0.1:{port}/db", retries=1)
        assert time.monotonic() - began < CONNECT_TIMEOUT + 20


def test_a_postgresql_session_bounds_a_lost_worker_holding_the_lock() -> None:
    """Every session the store opens has server-side keepalives and an idle-in-transaction
    limit: a worker whose host vanished while holding the write lock is noticed in about a
    minute, not after the system's TCP defaults (hours) of every other worker refused."""
    ledger = lr.Ledger.open(postgres_url(), name="session-settings")
    store = ledger.store  # type: ignore[attr-defined]
    with store.locked() as txn:
        # set by the session's options ("client"); SHOW gives 0 for keepalives on a unix socket
        shown = dict(
            txn.conn.execute(
                "SELECT name, source FROM pg_settings WHERE name IN "
                "('tcp_keepalives_idle', 'idle_in_transaction_session_timeout')"
            ).fetchall()
        )
        idle = txn.conn.execute("SHOW idle_in_transaction_session_timeout").fetchone()[0]
    assert shown == {
        "tcp_keepalives_idle": "client",
        "idle_in_transaction_session_timeout": "client",
    }
    assert idle == "5min"


FOLD_DIGEST = {
    3: "4ec52f4c3344c251",
    4: "d4435dc39178deb0",
    5: "493ad09e7ddba725",
    6: "d2430b8ed146f654",
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
