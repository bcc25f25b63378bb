"""Stored ledgers as databases: several ledgers in one database, the schema and its upgrades,
and what goes wrong with a database (unreachable, locked, read-only, tables lost, rows changed
outside leadrouter, a connection lost or a server that never answers), each a named error that
says what to do and loses nothing.

PostgreSQL tests use the database named by LEADROUTER_TEST_PG (`make test` starts a throwaway
one with .ci/postgres); each test works in a ledger of its own name.
"""

from __future__ import annotations

import os
import re
import socket
import time
from pathlib import Path

import pytest

import leadrouter as lr
from leadrouter.errors import (
    LockTimeoutError,
    RosterMismatchError,
    SchemaVersionError,
    StoreUnavailableError,
)

from .conftest import T0, at
from .test_store import Opener, make_router, postgres_url, sql_opener, team

sa = pytest.importorskip("sqlalchemy", reason="the SQL ledgers need: pip install 'leadrouter[db]'")
pytest.importorskip("psycopg", reason="the PostgreSQL ledger needs: pip install 'leadrouter[db]'")

from leadrouter.stores import snapshotting  # noqa: E402
from leadrouter.stores.sql import SCHEMA_VERSION  # noqa: E402

__all__ = ["sql_opener"]  # the fixture, which pytest finds by its name here

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
    ledger._snapshots.wait()  # type: ignore[attr-defined]
    assert isinstance(lr.Ledger.open(url)._events, snapshotting.StoredEvents)  # type: ignore[attr-defined]


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


def test_a_server_that_accepts_but_never_answers_is_given_a_bounded_wait() -> None:
    """A PostgreSQL server stopped mid-flight (the port open, nothing answering) made opening
    wait without end; each try now waits CONNECT_TIMEOUT seconds, then the bounded retries end
    in StoreUnavailableError."""
    from leadrouter.stores.databases import CONNECT_TIMEOUT

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
