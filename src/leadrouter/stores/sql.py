"""`SqlStore`: one ledger's transactions on its SQL database (SQLite or PostgreSQL), the rows
they read and write, and the one connection they go through.

A transaction on a ledger first takes that ledger's write lock, so all writers to one ledger are
serialised and each sees every event committed before it:

- PostgreSQL: `pg_advisory_xact_lock` on a 64-bit key derived from the ledger's name (released
  at commit, rollback, or when the session dies with its process), waited for at most
  `lock_timeout` seconds;
- SQLite: `BEGIN IMMEDIATE`, which takes the database's write lock (one lock for every ledger in
  the file), waited for by SQLite's busy timeout.

Which URLs name a database and how its sessions are set up is `databases`; the tables and their
version `schema`; the SQL text of each statement `statements`. SQLAlchemy creates the schema and
pools the connections; the per-operation statements go to the driver as fixed SQL text (see
`SqlStore`), and the database's errors come out as leadrouter's named errors.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import PoolProxiedConnection

from leadrouter.errors import (
    ConfigError,
    LeadRouterError,
    LedgerClosedError,
    LockTimeoutError,
    SchemaVersionError,
    StoreUnavailableError,
)
from leadrouter.stores import schema
from leadrouter.stores.codec import loads
from leadrouter.stores.databases import database_url, engine, public_url
from leadrouter.stores.schema import SCHEMA_VERSION
from leadrouter.stores.statements import SNAPSHOT_COLUMNS, Statements

__all__ = ["SCHEMA_VERSION", "SqlStore", "public_url"]


def _lock_key(name: str) -> int:
    """A signed 64-bit advisory-lock key for a ledger name (the same in every process)."""
    digest = hashlib.sha256(f"leadrouter:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _is_lock_timeout(exc: BaseException | None) -> bool:
    if getattr(exc, "sqlstate", None) == "55P03":  # PostgreSQL lock_not_available
        return True
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text


_BATCH = 200
"""Rows per multi-row INSERT: well under both databases' limits on bound parameters."""

_LONG_READ = 5000
"""Rows fetched at a time when reading a long stretch of the log (from the start, or up to a
snapshot), so memory holds a batch of rows, not the whole log, besides the decoded events."""

Row = tuple[int, str, dict[str, Any]]
"""One event of the log as stored: (sequence number, kind, JSON payload)."""


class Transaction:
    """One transaction holding a ledger's write lock, on the store's connection.

    `caught` holds the events from the sequence number the transaction was opened at on, read
    under the lock (payloads as `codec.loads` reads them): the row at that number first, if it
    is still there, so the caller can tell it is the row it read last (`StoredLedger`) without
    a query of its own; `events` (kind, JSON text,
    idempotency key) and `decisions` (lead id, JSON text) are what the caller appends, written
    together with the commit; once committed, `seqs` holds the sequence numbers the events got,
    in their order, and `last` the greatest."""

    __slots__ = ("caught", "conn", "decisions", "events", "keys", "last", "seqs")

    def __init__(self, conn: Any, caught: list[Row]) -> None:
        self.conn = conn
        """The driver's connection (`sqlite3.Connection` or `psycopg.Connection`)."""
        self.caught = caught
        self.events: list[tuple[str, str, str | None]] = []
        self.keys: set[str] = set()
        """The idempotency keys among `events`."""
        self.decisions: list[tuple[str, str]] = []
        self.seqs: list[int] = []
        self.last = 0


class SqlStore:
    """One ledger's rows in a SQL database, and the transactions that read and append them.

    `retries` bounds how often connecting is tried (with doubling waits from `backoff` seconds)
    before `StoreUnavailableError`; `lock_timeout` bounds the wait for the write lock before
    `LockTimeoutError`. Neither error leaves anything written.

    The store keeps one connection open (reconnecting after one is lost) and talks to it through
    the database driver with fixed SQL text, not through SQLAlchemy's statement compiler: an
    operation is a handful of short statements under the lock, and each microsecond spent in
    Python there is a microsecond every other worker waits. On PostgreSQL the statements go
    as scripts (`_script`): taking the lock and reading the new events is one round trip,
    appending and committing another. Not thread-safe: `StoredLedger` serialises its use.
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
        parsed = database_url(url)
        if not name or len(name) > 200:
            raise ConfigError(f"a ledger name must be 1-200 characters, got {name!r}")
        self.url = parsed
        self.name = name
        self.dialect = parsed.get_backend_name()
        self.lock_timeout = lock_timeout
        self.retries = max(1, retries)
        self.backoff = backoff
        self._key = _lock_key(name)
        self._pg = self.dialect == "postgresql"
        self.engine = engine(parsed, lock_timeout)

        self._dbapi: Any = self.engine.dialect.dbapi
        self._timeout_ms = str(max(1, int(lock_timeout * 1000)))
        """`lock_timeout` as PostgreSQL's setting takes it."""
        self._pid = os.getpid()
        self.closed = False
        """Whether `close` ran: the store connects no more."""
        self._held: PoolProxiedConnection | None = None
        self._cursor: Any = None
        """The kept connection's ClientCursor on PostgreSQL (see `_script`)."""
        self._sql = Statements(self._pg, schema.EVENTS, schema.DECISIONS, schema.SNAPSHOTS)
        self._loads: Callable[[Any], dict[str, Any]] = (
            _as_is if self._pg else loads  # psycopg decodes jsonb itself, with `loads`
        )

    # ------------------------------------------------------------------ connecting

    def _retrying(self, connect: Callable[[], _C]) -> _C:
        """`connect()`, retried with backoff while the database cannot be reached; every
        connection the store makes is made here, so a closed store makes none."""
        if self.closed:
            raise self.closed_error()
        wait = self.backoff
        for attempt in range(1, self.retries + 1):
            try:
                return connect()
            except (OperationalError, self._dbapi.OperationalError) as exc:
                # SQLAlchemy wraps the driver's error when it connects for a Connection; its
                # pool hands the driver's own up when it connects for a raw one
                if attempt == self.retries:
                    raise StoreUnavailableError(
                        f"cannot reach the ledger database {public_url(self.url)} after "
                        f"{self.retries} tries: {str(getattr(exc, 'orig', exc)).strip()}; "
                        + (
                            "check that the file can be written there"
                            if self.dialect == "sqlite"
                            else "check that it runs and the URL, user and password are right"
                        )
                    ) from exc
                time.sleep(wait)
                wait = min(wait * 2, 5.0)
        raise AssertionError("unreachable")

    def _connect(self) -> Connection:
        """A SQLAlchemy connection (for the schema), retried while the database is away."""
        return self._retrying(self.engine.connect)

    def _driver(self) -> Any:
        """The driver connection this store keeps, connecting (with retries) if it has none.

        A process forked after the store connected (gunicorn --preload, multiprocessing) must
        not use the parent's connection: both would talk over one session, whose advisory lock
        then excludes neither. The child leaves it to the parent untouched (closing it would end
        the parent's session too) and connects anew."""
        self._leave_parent()
        if self._held is not None:
            return self._held.driver_connection
        self._held = self._retrying(self.engine.raw_connection)
        conn: Any = self._held.driver_connection
        if self._pg:
            # the scripts say BEGIN and COMMIT themselves; the driver adds none
            conn.autocommit = True
            self._dbapi.types.json.set_json_loads(loads, conn)
        return conn

    def _leave_parent(self) -> None:
        """In a process forked after the store connected: forget the parent's connections
        without closing them (closing would end the parent's sessions)."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._held = self._cursor = None
            self.engine.dispose(close=False)

    def _drop(self) -> None:
        """Forget the kept connection (it broke, or its state is unknown): the next use
        connects anew."""
        held, self._held = self._held, None
        if held is not None:
            with suppress(Exception):
                held.invalidate()

    @contextmanager
    def locked(self, after: int | None = None) -> Iterator[Transaction]:
        """A transaction holding this ledger's write lock, with the events from sequence
        number `after` on read under it (none read when None); its `events` and `decisions` are
        written and committed when the block ends, nothing is if it raises. Database errors
        come out as the named errors."""
        conn = self._driver()
        try:
            with self._named_errors():
                txn = Transaction(conn, self._begin(conn, after))
            yield txn
            with self._named_errors():
                txn.seqs = self._commit(conn, txn)
                txn.last = txn.seqs[-1] if txn.seqs else 0
        except BaseException as exc:
            try:
                conn.rollback()
            except Exception:
                self._drop()
            else:
                if isinstance(exc, StoreUnavailableError):
                    self._drop()
            raise

    @contextmanager
    def reading(self) -> Iterator[Transaction]:
        """A transaction that reads what was committed without the write lock (other workers
        keep writing meanwhile), for the long reads of opening a ledger; it writes nothing."""
        conn = self._driver()
        with self._named_errors():
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if self._pg else "BEGIN")
        try:
            yield Transaction(conn, [])
        finally:
            try:
                conn.execute("ROLLBACK")
            except Exception:
                self._drop()

    def _begin(self, conn: Any, after: int | None) -> list[Row]:
        """Take the write lock, then read the events from `after` on: one round trip on
        PostgreSQL (the read is a statement of its own, so its snapshot is taken once the lock
        is held and sees every commit before it)."""
        since = (self.name, after)
        if not self._pg:
            conn.execute("BEGIN IMMEDIATE")
            rows = [] if after is None else conn.execute(self._sql.since, since).fetchall()
        else:
            cursor = self._script(conn)
            timeout_ms = self._timeout_ms
            if after is None:
                cursor.execute(self._sql.begin, (timeout_ms, self._key))
                return []
            cursor.execute(self._sql.begin_since, (timeout_ms, self._key, *since))
            cursor.nextset()
            cursor.nextset()
            rows = cursor.fetchall()
        decode = self._loads
        return [(seq, kind, decode(payload)) for seq, kind, payload in rows]

    def _commit(self, conn: Any, txn: Transaction) -> list[int]:
        """Write the transaction's events and decisions and commit (one round trip on
        PostgreSQL); the sequence numbers the events got, in their order (one INSERT numbers
        its rows in order, whatever order RETURNING gives them in)."""
        name, step = self.name, 4 * _BATCH
        values = [v for kind, text, key in txn.events for v in (name, kind, text, key)]
        rows = [values[i : i + step] for i in range(0, len(values), step)]
        decisions = [(name, lead_id, text) for lead_id, text in txn.decisions]
        if self._pg:
            return self._commit_script(conn, rows, decisions)
        insert = self._sql.insert_events
        cursors = [conn.execute(insert(len(batch) // 4), batch) for batch in rows]
        if decisions:
            conn.cursor().executemany(self._sql.add_decision, decisions)
        seqs = sorted(row[0] for cursor in cursors for row in cursor.fetchall())
        conn.commit()
        return seqs

    def _commit_script(
        self, conn: Any, rows: list[list[Any]], decisions: list[tuple[str, str, str]]
    ) -> list[int]:
        """PostgreSQL's write and commit as one script: the event INSERTs (each returning its
        sequence numbers), the decisions' INSERTs, COMMIT."""
        if not rows and not decisions:
            conn.commit()
            return []
        insert = self._sql.insert_events
        statements = [insert(len(values) // 4) for values in rows]
        statements += [self._sql.add_decision] * len(decisions)
        cursor = self._script(conn)
        cursor.execute(
            "; ".join([*statements, "COMMIT"]),
            [v for values in rows for v in values] + [v for d in decisions for v in d],
        )
        seqs: list[int] = []
        for _ in rows:
            seqs += sorted(seq for (seq,) in cursor.fetchall())
            cursor.nextset()
        return seqs

    def _script(self, conn: Any) -> Any:
        """The kept connection's cursor for scripts: several statements sent as one (the
        simple query protocol, with values bound on the client), so a transaction's start and
        its end are one round trip each, at a fraction of a pipeline's cost in Python."""
        if self._cursor is None or self._cursor.connection is not conn:
            self._cursor = self._dbapi.ClientCursor(conn)
        return self._cursor

    @contextmanager
    def _named_errors(self) -> Iterator[None]:
        try:
            yield
        except (DBAPIError, self._dbapi.Error) as exc:
            orig = exc.orig if isinstance(exc, DBAPIError) else exc
            if _is_lock_timeout(orig):
                raise LockTimeoutError(
                    f"waited more than {self.lock_timeout:g} s for the write lock of ledger "
                    f"{self.name!r} in {public_url(self.url)}; another worker holds it: nothing "
                    "was written, retry the operation (or raise lock_timeout)"
                ) from exc
            problem = self._lasting(orig)
            if problem is not None:
                raise problem from exc
            if isinstance(orig, self._dbapi.OperationalError):
                said, full = str(orig).strip(), getattr(orig, "sqlstate", None) == "53100"
                full = full or "disk is full" in said or "No space left" in said
                advice = "free space, then retry it" if full else "retry it once it is back"
                raise StoreUnavailableError(
                    f"{'the disk is full for' if full else 'lost'} the ledger database "
                    f"{public_url(self.url)} during an operation on ledger {self.name!r} "
                    f"({said}): the operation was not committed; {advice}"
                ) from exc
            raise

    def _lasting(self, orig: BaseException | None) -> LeadRouterError | None:
        """The named error for a database error that retrying will not cure (a role without
        the right, a read-only database or file, the tables gone), None for any other: said as
        what to change, where "retry it once the database is back" would be retried forever."""
        state = getattr(orig, "sqlstate", None)
        said = str(orig).strip().splitlines()[0] if orig is not None else ""
        where = f"the ledger database {public_url(self.url)}"
        if state == "42501":
            return ConfigError(
                f"{where}: the role may not do this ({said}): grant it the right, or create the "
                "schema once with `leadrouter db upgrade URL` as the database's owner"
            )
        if state == "25006" or "readonly database" in said:
            return ConfigError(
                f"{where} is read-only ({said}): "
                + (
                    "let this process write the file and its folder (SQLite writes a -wal file "
                    "beside it)"
                    if self.dialect == "sqlite"
                    else "point the URL at the primary server, not a standby"
                )
            )
        if state == "42P01" or said.startswith("no such table"):
            return SchemaVersionError(
                f"{where} has lost leadrouter's tables ({said}): run `leadrouter db upgrade URL` "
                "with this ledger's URL to create them (the events in it are gone)"
            )
        return None

    # ------------------------------------------------------------------ schema

    def upgrade(self) -> tuple[int | None, int]:
        """Create or migrate the schema to `SCHEMA_VERSION`; (version before, version now).

        Runs in one transaction under a lock, so workers upgrading at once do it once."""
        conn = self._connect()
        try:
            with self._named_errors(), conn.begin():
                return schema.migrate(conn, public_url(self.url))
        finally:
            conn.close()

    def check_schema(self, create: bool) -> None:
        """Raise SchemaVersionError unless the schema is this leadrouter's; create it in an
        empty database when `create`."""
        conn = self._connect()
        try:
            with self._named_errors():
                if self._pg:  # a table lock (an admin's LOCK TABLE) waits no longer than the lock
                    conn.exec_driver_sql(
                        "SELECT set_config('lock_timeout', %s, true)", (self._timeout_ms,)
                    )
                version = schema.version(conn)
                conn.rollback()
        finally:
            conn.close()
        if version is None and create:
            self.upgrade()
            return
        problem = schema.mismatch(version, public_url(self.url), bool(self.url.password))
        if problem is not None:
            raise problem

    # ------------------------------------------------------------------ rows

    def _one(self, txn: Transaction, sql: str, *params: Any) -> Any:
        """The first row of a query in `txn`, or None."""
        with self._named_errors():
            return txn.conn.execute(sql, params).fetchone()

    def since(self, txn: Transaction, seq: int, upto: int) -> Iterator[Row]:
        """(seq, kind, payload) of this ledger's events after `seq` up to `upto` (included),
        in order, read in batches (a long read: the transaction's own catch-up covers the
        short ones)."""
        decode = self._loads
        with self._named_errors():
            cursor = txn.conn.cursor(name="leadrouter_log") if self._pg else txn.conn.cursor()
            try:
                cursor.execute(self._sql.since_upto, (self.name, seq, upto))
                while batch := cursor.fetchmany(_LONG_READ):
                    for found, kind, payload in batch:
                        yield found, kind, decode(payload)
            finally:
                cursor.close()

    def row(self, txn: Transaction, seq: int) -> Row | None:
        """This ledger's row at sequence number `seq`, if its log holds one."""
        found = self._one(txn, self._sql.row, self.name, seq)
        return None if found is None else (found[0], found[1], self._loads(found[2]))

    def has_key(self, txn: Transaction, key: str) -> bool:
        """Whether an event with this idempotency key is in the log."""
        return self._one(txn, self._sql.has_key, self.name, key) is not None

    def decision(self, txn: Transaction, lead_id: str) -> dict[str, Any] | None:
        """The stored first decision for a lead, if any."""
        found = self._one(txn, self._sql.decision, self.name, lead_id)
        return None if found is None else self._loads(found[0])

    def count(self, txn: Transaction, upto: int, skip_kind: str) -> tuple[int, int]:
        """(rows up to `upto` of any kind but `skip_kind`, this ledger's last sequence number)."""
        counted = self._one(txn, self._sql.count, self.name, upto, skip_kind)
        return counted[0] or 0, self.last(txn)

    def last(self, txn: Transaction) -> int:
        """This ledger's last sequence number (0 when its log is empty)."""
        return self._one(txn, self._sql.last, self.name)[0] or 0

    def snapshot(self, txn: Transaction) -> dict[str, Any] | None:
        """This ledger's stored snapshot row (seq, events, format, version, digest, data)."""
        found = self._one(txn, self._sql.snapshot, self.name)
        return None if found is None else dict(zip(SNAPSHOT_COLUMNS, found, strict=True))

    def snapshot_events(self, txn: Transaction) -> int | None:
        """The event count of this ledger's stored snapshot, if any (without reading it)."""
        found = self._one(txn, self._sql.snapshot_events, self.name)
        return None if found is None else int(found[0])

    def save_snapshot(self, row: dict[str, Any], replace: bool = False) -> bool:
        """Keep `row` as this ledger's snapshot unless one at the same or a later sequence
        number is stored (two processes may write one at once) and not to be `replace`d (it
        failed its checks); whether it was written.

        One statement (an upsert, atomic without the ledger's write lock), on a connection of
        its own: it runs in a thread beside the operations, which use the kept connection."""
        values = (self.name, *(row[column] for column in SNAPSHOT_COLUMNS))
        sql = self._sql.replace_snapshot if replace else self._sql.save_snapshot
        conn = self._retrying(self.engine.raw_connection)
        try:
            with self._named_errors():
                written = conn.cursor()
                written.execute(sql, values)
                conn.commit()
                return bool(written.rowcount)
        finally:
            conn.close()

    def closed_error(self) -> LedgerClosedError:
        """What any use of this ledger after `close` raises (the store's and the ledger's)."""
        return LedgerClosedError(
            f"ledger {self.name!r} in {public_url(self.url)} was closed (Ledger.close(), or "
            "the end of its with block), so it reads, answers and writes nothing: open it again "
            "with Ledger.open(url, name)"
        )

    def close(self) -> None:
        """Close every connection of this process and make no more (`LedgerClosedError`)."""
        self.closed = True
        self._leave_parent()
        self.dispose()

    def dispose(self) -> None:
        """Close the kept connection and every pooled one."""
        held, self._held = self._held, None
        self._cursor = None
        if held is not None:
            with suppress(Exception):
                held.close()
        self.engine.dispose()


_C = TypeVar("_C")


def _as_is(payload: Any) -> Any:
    return payload
