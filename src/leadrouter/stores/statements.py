"""The SQL text of every statement the SQL store runs per operation (`leadrouter.stores.sql`),
in the driver's placeholder style, written once per store."""

from __future__ import annotations

__all__ = ["SNAPSHOT_COLUMNS", "Statements"]

SNAPSHOT_COLUMNS = ("seq", "events", "format", "version", "digest", "data")
"""The columns of a stored snapshot row, in order."""


class Statements:
    """The SQL text of every statement the store runs per operation, in the driver's
    placeholder style (`?` for sqlite3, `%s` for psycopg), written once."""

    def __init__(self, pg: bool, log: str, decisions: str, snaps: str) -> None:
        mark = "%s" if pg else "?"
        self._row = f"({mark}, {mark}, {'CAST(%s AS jsonb)' if pg else '?'}, {mark})"
        self._inserts: dict[int, str] = {}
        self._log = log

        def sql(text: str) -> str:
            return text.replace("?", mark)

        self.begin = "BEGIN; SELECT set_config('lock_timeout', %s, true), pg_advisory_xact_lock(%s)"
        self.since = sql(
            f"SELECT seq, kind, payload FROM {log} WHERE ledger = ? AND seq >= ? ORDER BY seq"
        )
        self.begin_since = f"{self.begin}; {self.since}"
        self.since_upto = sql(
            f"SELECT seq, kind, payload FROM {log} WHERE ledger = ? AND seq > ? AND seq <= ? "
            "ORDER BY seq"
        )
        self.row = sql(f"SELECT seq, kind, payload FROM {log} WHERE ledger = ? AND seq = ?")
        self.has_key = sql(f"SELECT 1 FROM {log} WHERE ledger = ? AND idem_key = ?")
        self.count = sql(f"SELECT count(*) FROM {log} WHERE ledger = ? AND seq <= ? AND kind <> ?")
        self.last = sql(f"SELECT max(seq) FROM {log} WHERE ledger = ?")
        payload = "CAST(%s AS jsonb)" if pg else "?"
        self.add_decision = sql(
            f"INSERT INTO {decisions} (ledger, lead_id, payload) VALUES (?, ?, {payload}) "
            "ON CONFLICT DO NOTHING"
        )
        self.decision = sql(f"SELECT payload FROM {decisions} WHERE ledger = ? AND lead_id = ?")
        columns = ", ".join(SNAPSHOT_COLUMNS)
        self.snapshot = sql(f"SELECT {columns} FROM {snaps} WHERE ledger = ?")
        self.snapshot_events = sql(f"SELECT events FROM {snaps} WHERE ledger = ?")
        updates = ", ".join(f"{column} = excluded.{column}" for column in SNAPSHOT_COLUMNS)
        self.replace_snapshot = sql(
            f"INSERT INTO {snaps} (ledger, {columns}) VALUES (?, ?, ?, ?, ?, ?, ?) "
            f"ON CONFLICT (ledger) DO UPDATE SET {updates}"
        )
        self.save_snapshot = f"{self.replace_snapshot} WHERE {snaps}.seq < excluded.seq"

    def insert_events(self, rows: int) -> str:
        """One INSERT of `rows` events, returning their sequence numbers."""
        text = self._inserts.get(rows)
        if text is None:
            text = self._inserts[rows] = (
                f"INSERT INTO {self._log} (ledger, kind, payload, idem_key) VALUES "
                + ", ".join([self._row] * rows)
                + " RETURNING seq"
            )
        return text
