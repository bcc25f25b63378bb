"""The SQL event log behind `Ledger.open`: SQLite (embedded) and PostgreSQL, via SQLAlchemy Core.

One table holds the events of every ledger in the database, each row with a sequence number,
the ledger's name, the event's kind, its JSON payload and, for what the CRM reports, an
idempotency key unique per ledger. Beside it, `leadrouter_snapshots` keeps each ledger's
latest snapshot of its folded views (a cache: see durable.py), and `leadrouter_decisions` each
lead's first decision. A transaction on a ledger first takes that ledger's write
lock, so all writers to one ledger are serialised and each sees every event committed before it:

- PostgreSQL: `pg_advisory_xact_lock` on a 64-bit key derived from the ledger's name (released
  at commit, rollback, or when the session dies with its process), waited for at most
  `lock_timeout` seconds;
- SQLite: `BEGIN IMMEDIATE`, which takes the database's write lock (one lock for every ledger in
  the file), waited for by SQLite's busy timeout.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from leadrouter.errors import (
    ConfigError,
    LockTimeoutError,
    SchemaVersionError,
    StoreUnavailableError,
)

__all__ = ["SCHEMA_VERSION", "SqlStore", "public_url"]

SCHEMA_VERSION = 2
"""The schema this leadrouter writes; `SqlStore.upgrade` brings older databases to it.

1: the event log and first decisions. 2: adds `leadrouter_snapshots` (the upgrade creates it;
nothing else changes, so a version-1 log is kept as it is)."""

_metadata = sa.MetaData()

_schema = sa.Table(
    "leadrouter_schema",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

_events = sa.Table(
    "leadrouter_events",
    _metadata,
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("ledger", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column("idem_key", sa.String(64), nullable=True),
    sa.UniqueConstraint("ledger", "idem_key", name="leadrouter_events_idem"),
    sqlite_autoincrement=True,
)
sa.Index("leadrouter_events_ledger_seq", _events.c.ledger, _events.c.seq)

_decisions = sa.Table(
    "leadrouter_decisions",
    _metadata,
    sa.Column("ledger", sa.String(200), primary_key=True),
    sa.Column("lead_id", sa.String(200), primary_key=True),
    sa.Column("payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
)

_snapshots = sa.Table(
    "leadrouter_snapshots",
    _metadata,
    sa.Column("ledger", sa.String(200), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("events", sa.BigInteger, nullable=False),
    sa.Column("format", sa.Integer, nullable=False),
    sa.Column("version", sa.String(40), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)
"""The latest snapshot of each ledger's folded state: a cache beside the log (see durable.py)."""

_MIGRATION_LOCK = 0x6C72_6D69_6772  # "lrmigr": serialises schema changes on PostgreSQL


def public_url(url: URL) -> str:
    """The URL as a message may show it: without the password."""
    return url.render_as_string(hide_password=True)


def _lock_key(name: str) -> int:
    """A signed 64-bit advisory-lock key for a ledger name (the same in every process)."""
    digest = hashlib.sha256(f"leadrouter:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _is_lock_timeout(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    if code == "55P03":  # PostgreSQL lock_not_available
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text


class SqlStore:
    """One ledger's rows in a SQL database, and the transactions that read and append them.

    `retries` bounds how often connecting is tried (with doubling waits from `backoff` seconds)
    before `StoreUnavailableError`; `lock_timeout` bounds the wait for the write lock before
    `LockTimeoutError`. Neither error leaves anything written.
    """

    def __init__(
        self,
        url: str,
        name: str,
        *,
        lock_timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.1,
    ) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ConfigError(
                f"cannot read the ledger URL {url!r}: use sqlite:///path/to/file.db or "
                "postgresql://user:password@host:5432/dbname"
            ) from exc
        backend = parsed.get_backend_name()
        if backend == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        elif backend != "sqlite" or parsed.database in (None, "", ":memory:"):
            raise ConfigError(
                f"Ledger.open supports sqlite:///path/to/file.db and postgresql://..., got "
                f"{public_url(parsed)!r}: for a ledger in memory use Ledger() (an in-memory "
                "SQLite database would be private to one connection)"
            )
        if not name or len(name) > 200:
            raise ConfigError(f"a ledger name must be 1-200 characters, got {name!r}")
        self.url = parsed
        self.name = name
        self.dialect = backend
        self.lock_timeout = lock_timeout
        self.retries = max(1, retries)
        self.backoff = backoff
        self._key = _lock_key(name)
        self._lock_query = sa.text(
            "SELECT set_config('lock_timeout', :timeout, true), pg_advisory_xact_lock(:key)"
        )
        self.engine = self._engine()

    def _engine(self) -> Engine:
        if self.dialect == "sqlite":
            engine = sa.create_engine(
                self.url,
                connect_args={
                    "timeout": self.lock_timeout,
                    "isolation_level": None,
                    "check_same_thread": False,
                },
            )

            @sa.event.listens_for(engine, "connect")
            def _pragmas(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=FULL")
                cursor.close()

            @sa.event.listens_for(engine, "begin")
            def _begin(conn: Connection) -> None:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

            return engine
        # no pre-ping: a connection found dead mid-operation fails that operation (nothing
        # committed) and SQLAlchemy then drops the pool's connections, so the next reconnects
        return sa.create_engine(self.url, pool_size=2, max_overflow=2)

    # ------------------------------------------------------------------ connecting

    def _connect(self) -> Connection:
        """A connection, retried with backoff while the database cannot be reached."""
        wait = self.backoff
        for attempt in range(1, self.retries + 1):
            try:
                return self.engine.connect()
            except OperationalError as exc:
                if attempt == self.retries:
                    raise StoreUnavailableError(
                        f"cannot reach the ledger database {public_url(self.url)} after "
                        f"{self.retries} tries: {str(exc.orig).strip()}; check that it runs and "
                        "the URL, user and password are right"
                    ) from exc
                time.sleep(wait)
                wait = min(wait * 2, 5.0)
        raise AssertionError("unreachable")

    @contextmanager
    def locked(self) -> Iterator[Connection]:
        """A transaction holding this ledger's write lock; committed when the block ends,
        rolled back if it raises. Database errors come out as the named errors."""
        conn = self._connect()
        try:
            with self._named_errors():
                conn.begin()
                if self.dialect == "postgresql":
                    timeout_ms = str(max(1, int(self.lock_timeout * 1000)))
                    conn.execute(self._lock_query, {"timeout": timeout_ms, "key": self._key})
                else:
                    # the BEGIN IMMEDIATE of the begin event runs at the first statement
                    conn.exec_driver_sql("SELECT 1").close()
            try:
                yield conn
                with self._named_errors():
                    conn.commit()
            except BaseException:
                conn.rollback()
                raise
        finally:
            conn.close()

    @contextmanager
    def _named_errors(self) -> Iterator[None]:
        try:
            yield
        except DBAPIError as exc:
            if _is_lock_timeout(exc):
                raise LockTimeoutError(
                    f"waited more than {self.lock_timeout:g} s for the write lock of ledger "
                    f"{self.name!r} in {public_url(self.url)}; another worker holds it: nothing "
                    "was written, retry the operation (or raise lock_timeout)"
                ) from exc
            if isinstance(exc, OperationalError):
                raise StoreUnavailableError(
                    f"lost the ledger database {public_url(self.url)} during an operation on "
                    f"ledger {self.name!r} ({str(exc.orig).strip()}): the operation was not "
                    "committed; retry it once the database is back"
                ) from exc
            raise

    # ------------------------------------------------------------------ schema

    def _version(self, conn: Connection) -> int | None:
        if not sa.inspect(conn).has_table(_schema.name):
            return None
        return conn.execute(sa.select(_schema.c.version)).scalar()

    def _too_new(self, version: int) -> SchemaVersionError:
        return SchemaVersionError(
            f"the ledger database {public_url(self.url)} has schema version {version}, newer "
            f"than this leadrouter's {SCHEMA_VERSION}: upgrade leadrouter (pip install -U "
            "leadrouter) on every worker before it opens this database"
        )

    def upgrade(self) -> tuple[int | None, int]:
        """Create or migrate the schema to `SCHEMA_VERSION`; (version before, version now).

        Runs in one transaction under a lock, so workers upgrading at once do it once."""
        conn = self._connect()
        try:
            with self._named_errors(), conn.begin():
                if self.dialect == "postgresql":
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
                before = self._version(conn)
                if before is not None and before > SCHEMA_VERSION:
                    raise self._too_new(before)
                if before != SCHEMA_VERSION:
                    _metadata.create_all(conn)
                    conn.execute(sa.delete(_schema))
                    conn.execute(sa.insert(_schema).values(id=1, version=SCHEMA_VERSION))
                return before, SCHEMA_VERSION
        finally:
            conn.close()

    def check_schema(self, create: bool) -> None:
        """Raise SchemaVersionError unless the schema is this leadrouter's; create it in an
        empty database when `create`."""
        conn = self._connect()
        try:
            with self._named_errors():
                version = self._version(conn)
                conn.rollback()
        finally:
            conn.close()
        if version == SCHEMA_VERSION:
            return
        if version is not None and version > SCHEMA_VERSION:
            raise self._too_new(version)
        if version is None and create:
            self.upgrade()
            return
        raise SchemaVersionError(
            f"the ledger database {public_url(self.url)} has "
            + ("no leadrouter schema" if version is None else f"schema version {version}")
            + f"; this leadrouter needs version {SCHEMA_VERSION}: run `leadrouter db upgrade "
            f"{public_url(self.url)}`"
        )

    # ------------------------------------------------------------------ rows

    def since(
        self, conn: Connection, seq: int, upto: int | None = None
    ) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """(seq, kind, payload) of this ledger's events after `seq` (up to `upto` included), in
        order. A long read (from 0, or bounded) is streamed in batches; a catch-up, a few rows,
        is one round trip."""
        query = (
            sa.select(_events.c.seq, _events.c.kind, _events.c.payload)
            .where(_events.c.ledger == self.name, _events.c.seq > seq)
            .order_by(_events.c.seq)
        )
        if upto is not None:
            query = query.where(_events.c.seq <= upto)
        if seq == 0 or upto is not None:
            query = query.execution_options(yield_per=5000)
        with self._named_errors():
            for row in conn.execute(query):
                yield row[0], row[1], row[2]

    def has_key(self, conn: Connection, key: str) -> bool:
        """Whether an event with this idempotency key is in the log."""
        query = sa.select(_events.c.seq).where(
            _events.c.ledger == self.name, _events.c.idem_key == key
        )
        with self._named_errors():
            return conn.execute(query).first() is not None

    def write(
        self,
        conn: Connection,
        events: Sequence[tuple[str, dict[str, Any], str | None]],
        decisions: Sequence[tuple[str, dict[str, Any]]],
    ) -> int:
        """Append events (kind, payload, key) and first decisions (lead id, payload); returns
        the last sequence number written (0 when no event)."""
        last = 0
        with self._named_errors():
            if events:
                rows = [
                    {"ledger": self.name, "kind": kind, "payload": payload, "idem_key": key}
                    for kind, payload, key in events
                ]
                result = conn.execute(sa.insert(_events).returning(_events.c.seq), rows)
                last = max(result.scalars().all())
            if decisions:
                insert = (postgresql if self.dialect == "postgresql" else sqlite).insert(_decisions)
                conn.execute(
                    insert.on_conflict_do_nothing(),
                    [{"ledger": self.name, "lead_id": lid, "payload": p} for lid, p in decisions],
                )
        return last

    def decision(self, conn: Connection, lead_id: str) -> dict[str, Any] | None:
        """The stored first decision for a lead, if any."""
        query = sa.select(_decisions.c.payload).where(
            _decisions.c.ledger == self.name, _decisions.c.lead_id == lead_id
        )
        with self._named_errors():
            found = conn.execute(query).scalar()
        return found if isinstance(found, dict) else None

    def count(self, conn: Connection, upto: int, skip_kind: str) -> tuple[int, int]:
        """(rows up to `upto` of any kind but `skip_kind`, this ledger's last sequence number)."""
        log = _events.c
        counted = sa.select(sa.func.count()).where(
            log.ledger == self.name, log.seq <= upto, log.kind != skip_kind
        )
        last = sa.select(sa.func.max(log.seq)).where(log.ledger == self.name)
        with self._named_errors():
            return conn.execute(counted).scalar() or 0, conn.execute(last).scalar() or 0

    def snapshot(self, conn: Connection) -> dict[str, Any] | None:
        """This ledger's stored snapshot row (seq, events, format, version, digest, data)."""
        query = sa.select(_snapshots).where(_snapshots.c.ledger == self.name)
        with self._named_errors():
            row = conn.execute(query).mappings().first()
        return None if row is None else dict(row)

    def snapshot_events(self, conn: Connection) -> int | None:
        """The event count of this ledger's stored snapshot, if any (without reading it)."""
        query = sa.select(_snapshots.c.events).where(_snapshots.c.ledger == self.name)
        with self._named_errors():
            found = conn.execute(query).scalar()
        return None if found is None else int(found)

    def save_snapshot(self, conn: Connection, row: dict[str, Any], replace: bool = False) -> bool:
        """Keep `row` as this ledger's snapshot unless one at the same or a later sequence
        number is stored (two processes may write one at once) and not to be `replace`d (it
        failed its checks); whether it was written."""
        table = _snapshots.c
        with self._named_errors():
            stored = conn.execute(sa.select(table.seq).where(table.ledger == self.name)).scalar()
            if stored is not None and stored >= row["seq"] and not replace:
                return False
            conn.execute(sa.delete(_snapshots).where(table.ledger == self.name))
            conn.execute(sa.insert(_snapshots).values(ledger=self.name, **row))
        return True

    def dispose(self) -> None:
        self.engine.dispose()
