"""The tables a SQL ledger keeps and their version: what `leadrouter db upgrade URL` creates or
migrates, and what opening a ledger checks before it reads a row.

One table holds the events of every ledger in the database, each row with a sequence number,
the ledger's name, the event's kind, its JSON payload and, for what the CRM reports, an
idempotency key unique per ledger. Beside it, `leadrouter_snapshots` keeps each ledger's latest
snapshot of its folded views (a cache: see `snapshotting`), and `leadrouter_decisions` each lead's
first decision. A database of another version is refused with what to run, never read as if
it were this one's (`mismatch`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from leadrouter.errors import SchemaVersionError

__all__ = ["DECISIONS", "EVENTS", "SCHEMA_VERSION", "SNAPSHOTS", "migrate", "mismatch", "version"]

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
"""The latest snapshot of each ledger's folded state: a cache beside the log (`snapshotting`)."""

EVENTS, DECISIONS, SNAPSHOTS = _events.name, _decisions.name, _snapshots.name
"""The tables' names, as the per-operation statements (`statements.Statements`) name them."""

_MIGRATION_LOCK = 0x6C72_6D69_6772  # "lrmigr": serialises schema changes on PostgreSQL


def version(conn: Connection) -> int | None:
    """The schema version the database at `conn` records (None: no leadrouter schema)."""
    if not sa.inspect(conn).has_table(_schema.name):
        return None
    return conn.execute(sa.select(_schema.c.version)).scalar()


def migrate(conn: Connection, where: str) -> tuple[int | None, int]:
    """Create or migrate the schema to `SCHEMA_VERSION` in `conn`'s open transaction, which the
    caller commits; (version before, version now). On PostgreSQL it first takes a lock of its
    own, so workers upgrading at once do it once. `where` is the database as a message shows it
    (no password)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
    before = version(conn)
    if before is not None and before > SCHEMA_VERSION:
        raise _too_new(where, before)
    if before != SCHEMA_VERSION:
        _metadata.create_all(conn)
        conn.execute(sa.delete(_schema))
        conn.execute(sa.insert(_schema).values(id=1, version=SCHEMA_VERSION))
    return before, SCHEMA_VERSION


def mismatch(found: int | None, where: str, password: bool) -> SchemaVersionError | None:
    """Why a database whose schema is version `found` (None: none) cannot be used by this
    leadrouter as it is, saying what to run (with `password` when the URL has one, which `where`
    hides); None when it is this leadrouter's."""
    if found == SCHEMA_VERSION:
        return None
    if found is not None and found > SCHEMA_VERSION:
        return _too_new(where, found)
    return SchemaVersionError(
        f"the ledger database {where} has "
        + ("no leadrouter schema" if found is None else f"schema version {found}")
        + f"; this leadrouter needs version {SCHEMA_VERSION}: run `leadrouter db upgrade "
        "URL` with this ledger's URL" + (", password included" if password else "")
    )


def _too_new(where: str, found: int) -> SchemaVersionError:
    return SchemaVersionError(
        f"the ledger database {where} has schema version {found}, newer than this "
        f"leadrouter's {SCHEMA_VERSION}: upgrade leadrouter (pip install -U leadrouter) on "
        "every worker before it opens this database"
    )
