"""Which databases a ledger can live in, from the URL a user writes to a SQLAlchemy engine set
up for a ledger's transactions: SQLite (embedded) and PostgreSQL.

A URL that cannot hold a ledger (another database, an in-memory SQLite, a SQLite path whose
folder is missing) is refused here, before anything connects, with a named error that says how
to write it and never shows the password. Each database's sessions are set up once, when the
engine connects:

- PostgreSQL: keepalives and an idle-in-transaction timeout (`SESSION_OPTIONS`), so a worker
  lost while it holds the write lock does not stop the others for long, and `CONNECT_TIMEOUT`;
- SQLite: `BEGIN IMMEDIATE` (a transaction takes the file's write lock as it starts), the
  busy timeout as the wait for that lock, and a write-ahead log with `synchronous=NORMAL`: a
  commit is durable once it returns as far as any crash of a process goes (the data is in the
  operating system's hands); a power loss or OS crash can undo the last commits before the next
  checkpoint, never tear one (SQLite's WAL guarantee), and saves the fsync that otherwise bounds
  a ledger to one commit per disk flush.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError

from leadrouter.errors import ConfigError, StoreUnavailableError

__all__ = ["CONNECT_TIMEOUT", "SESSION_OPTIONS", "database_url", "engine", "public_url"]

CONNECT_TIMEOUT = 10
"""Seconds PostgreSQL is given to answer a new connection before the try counts as failed."""
SESSION_OPTIONS = (
    "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3 "
    "-c idle_in_transaction_session_timeout=300000"
)
"""PostgreSQL settings of every session: a worker whose host is lost (power, network) while it
holds the write lock is noticed by the server within about a minute, and a session left idle in
a transaction for five minutes (a frozen process) is ended, so its lock does not stop every
other worker for the hours the system's TCP defaults would take. A URL's own `options` win."""


def public_url(url: URL) -> str:
    """The URL as a message may show it: without the password."""
    return url.render_as_string(hide_password=True)


def _redacted(url: str) -> str:
    """A URL that could not be parsed, as a message may show it: whatever stands between a
    user name's colon and the last @ before the host is taken for a password and hidden, even
    in a URL too broken to parse (`postgresql//user:pw@host`)."""
    return re.sub(r"([\w.%+-]+:)[^\s/]*@", r"\1***@", url)


def database_url(url: str) -> URL:
    """The database `url` names, read trimmed (a URL pasted from an env file often brings a
    space or newline), `postgres://` taken as PostgreSQL through psycopg; a ConfigError (or, for
    a SQLite file whose folder is missing, StoreUnavailableError) saying how to write it when it
    names no database a ledger can live in."""
    url = url.strip()
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(
            f"cannot read the ledger URL {_redacted(url)!r}: use sqlite:///path/to/file.db "
            "or postgresql://user:password@host:5432/dbname (a password with @, : or / in "
            "it is written percent-encoded: @ as %40)"
        ) from exc
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):  # postgres:// is what many hosts print
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and parsed.database in (None, "") and parsed.host:
        raise ConfigError(
            f"the SQLite URL {public_url(parsed)!r} names a host, not a file: write three "
            f"slashes for a path relative to the working folder (sqlite:///{parsed.host}) "
            "and four for an absolute one (sqlite:////var/lib/leads.db)"
        )
    if backend != "sqlite" or parsed.database in (None, "", ":memory:"):
        raise ConfigError(
            f"Ledger.open supports sqlite:///path/to/file.db and postgresql://..., got "
            f"{public_url(parsed)!r}: for a ledger in memory use Ledger() (an in-memory "
            "SQLite database would be private to one connection)"
        )
    if str(parsed.database).startswith("~"):
        raise ConfigError(
            f"the SQLite path in {public_url(parsed)!r} starts with ~, which SQLite "
            "does not expand: write the whole path (sqlite:////home/me/leads.db)"
        )
    folder = Path(str(parsed.database)).absolute().parent
    if not folder.is_dir():
        raise StoreUnavailableError(
            f"the folder {folder} of the SQLite ledger {public_url(parsed)} does not "
            "exist or is not a folder: create it first (SQLite makes the file, not its "
            "folder)"
        )
    return parsed


def engine(url: URL, lock_timeout: float) -> Engine:
    """The engine of the database at `url` (from `database_url`), its sessions set up as the
    module says; `lock_timeout` is SQLite's busy timeout (PostgreSQL's is set per transaction)."""
    if url.get_backend_name() == "sqlite":
        found = sa.create_engine(
            url,
            connect_args={
                "timeout": lock_timeout,
                "isolation_level": None,
                "check_same_thread": False,
            },
        )

        @sa.event.listens_for(found, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @sa.event.listens_for(found, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return found
    # no pre-ping: a connection found dead mid-operation fails that operation (nothing
    # committed) and is dropped, so the next operation reconnects. A server that accepts
    # the connection but never answers (stopped, overloaded) is given CONNECT_TIMEOUT
    # seconds a try, so the bounded retries stay bounded
    return sa.create_engine(
        url,
        pool_size=2,
        max_overflow=2,
        connect_args={"connect_timeout": CONNECT_TIMEOUT}
        | ({} if "options" in url.query else {"options": SESSION_OPTIONS}),
    )
