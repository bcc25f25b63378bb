"""Where a ledger's event log lives besides memory: SQL databases shared by many processes.

`Ledger.open(url, name)` is the way in: this package registers the opener it calls
(`leadrouter.ledger.open_with`) and imports the modules below on first use, so the in-memory
ledger never needs SQLAlchemy. `durable` holds the `StoredLedger`, which folds the shared log
into the usual in-memory views, `guard` what a Router operation holds on it, `snapshotting`
when it loads and stores the snapshot of its views (`snapshot`: what one holds and its checks),
`rosters` the rosters the log records; `sql` the `SqlStore` (one ledger's transactions, locks and
named errors on SQLite and PostgreSQL), `statements`, `schema` and `databases` its SQL text,
tables and URLs, and `codec` turns events and decisions into JSON. docs/architecture.md has the
map. See docs/stores.md.
"""

from __future__ import annotations

from typing import Any

from leadrouter.errors import ConfigError
from leadrouter.ledger import Ledger, open_with


def _open(url: str, name: str, **options: Any) -> Ledger:
    """`Ledger.open`: a StoredLedger over the database at `url` (needs the `db` extra)."""
    try:
        from leadrouter.stores.durable import StoredLedger
    except ImportError as exc:
        raise ConfigError(
            f"Ledger.open needs SQLAlchemy and psycopg ({exc}): pip install 'leadrouter[db]'"
        ) from exc
    return StoredLedger.connect(url, name, **options)


open_with(_open)
