"""Where a ledger's event log lives besides memory: SQL databases shared by many processes.

`Ledger.open(url, name)` is the way in (it imports these modules on first use, so the
in-memory ledger never needs SQLAlchemy): `sql` holds the tables, locks and named errors of
SQLite and PostgreSQL, `codec` turns events and decisions into JSON, and `durable` the
`StoredLedger` that folds the shared log into the usual in-memory views, starting from the
latest snapshot of those views that `snapshot` writes and checks. See docs/stores.md.
"""
