"""Benchmark: what a failed Router operation costs on a long ledger, beside a successful one.

Run from the project root::

    python benchmarks/bench_failed_ops.py                    # 200,000 events
    python benchmarks/bench_failed_ops.py --quick            # 20,000 events, a smoke test
    python benchmarks/bench_failed_ops.py --pg postgresql://user@host/db

What is measured, on an in-memory ledger, a SQLite ledger folded from its whole log and one
opened from a snapshot (and PostgreSQL when `--pg` or LEADROUTER_TEST_PG names a database):
`route_many` of `--batch` new leads (the baseline), against `route_many` of the same number
whose last lead fails: it reuses the id of a lead already in the ledger with other fields
(DuplicateLeadError, found before anything is written), or the strategy raises on it (found
only after the batch's earlier leads are written, so the ledger is rolled back). What a
rollback costs is the difference between a failing column and the baseline. The log is built
in bulk (`bench_store._bulk_events`, four events a lead), not routed lead by lead.

Timings come from a shared, noisy machine: compare the columns, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path

from bench_store import REPS, T0, _append_bulk, _bulk_events

import leadrouter as lr

_fresh = count()
_IDS = frozenset(rep.id for rep in REPS)


class ModelDownError(Exception):
    """The strategy's failure on a lead from the source "model down"."""


def _strategy(ctx: lr.Context) -> str:
    """The first rep in order of id; raises on a lead from the source "model down"."""
    if ctx.lead.source == "model down":
        raise ModelDownError("the scoring model is down")
    return min(ctx.ids & _IDS)


def _batch(size: int, last: str) -> list[lr.Lead]:
    """`size` new leads; the last one fails as `last` says ("" for none)."""
    leads = [lr.Lead(f"new-{next(_fresh)}", T0) for _ in range(size)]
    if last == "duplicate":  # lead L0 again, with other fields
        leads[-1] = lr.Lead("L0", T0, source="another source")
    elif last == "strategy":
        leads[-1] = lr.Lead(f"new-{next(_fresh)}", T0, source="model down")
    return leads


def _timed(router: lr.Router, size: int, last: str, repeat: int) -> float:
    """The median seconds of `repeat` calls of `route_many` on batches of `size`."""
    times = []
    for _ in range(repeat):
        leads = _batch(size, last)
        start = time.perf_counter()
        try:
            router.route_many(leads, now=T0)
        except (lr.DuplicateLeadError, ModelDownError):
            assert last
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _ledgers(
    directory: Path, events: int, pg: str | None
) -> list[tuple[str, Callable[[], lr.Ledger]]]:
    """(label, opener) of each ledger measured, each holding `events` events."""
    path = directory / "failed.db"
    url = f"sqlite:///{path}"
    with lr.Ledger.open(url, "bench"):
        pass
    _append_bulk(path, "bench", events)
    with lr.Ledger.open(url, "bench", snapshot_every=1) as ledger:  # stores one at the end
        ledger._snapshots.wait()  # type: ignore[attr-defined]
    found = [
        ("memory", lambda: lr.Ledger.from_events(_bulk_events(0, events // 4))),
        ("sqlite, log", lambda: _without_snapshot(url)),
        ("sqlite, snapshot", lambda: lr.Ledger.open(url, "bench", snapshot_every=0)),
    ]
    if pg:
        found.append(("postgresql, log", lambda: _postgres(pg, events)))
    return found


def _without_snapshot(url: str) -> lr.Ledger:
    """The SQLite ledger folded from its whole log: its snapshot is dropped first."""
    import sqlite3

    copy = url.removeprefix("sqlite:///") + ".log.db"
    if not os.path.exists(copy):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as source, sqlite3.connect(copy) as db:
            source.backup(db)
            db.execute("DELETE FROM leadrouter_snapshots")
    return lr.Ledger.open(f"sqlite:///{copy}", "bench", snapshot_every=0)


def _postgres(url: str, events: int) -> lr.Ledger:
    """A PostgreSQL ledger of `events` events under a name of its own (no snapshot)."""
    name = f"bench-failed-{os.getpid()}"
    ledger = lr.Ledger.open(url, name, snapshot_every=0)
    with ledger.transaction():
        for event in _bulk_events(0, events // 4):
            ledger.append(event)
    return ledger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=20, help="leads per route_many (20)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", default=os.environ.get("LEADROUTER_TEST_PG"))
    parser.add_argument("--quick", action="store_true", help="20,000 events")
    args = parser.parse_args()
    if args.quick:
        args.events = 20_000
    events = args.events - args.events % 4
    print(f"{events:,} events, batches of {args.batch} leads (median of {args.repeat})")
    print(
        f"{'ledger':<18} {'route_many ok s':>16} {'duplicate at end s':>19} {'ratio':>7} "
        f"{'strategy error at end s':>24} {'ratio':>7}"
    )
    with tempfile.TemporaryDirectory(prefix="leadrouter-bench-failed-") as scratch:
        for label, opened in _ledgers(Path(scratch), events, args.pg):
            with opened() as ledger:
                router = lr.Router(_strategy, REPS, ledger=ledger)
                ok = _timed(router, args.batch, "", args.repeat)
                duplicate = _timed(router, args.batch, "duplicate", args.repeat)
                strategy = _timed(router, args.batch, "strategy", args.repeat)
            print(
                f"{label:<18} {ok:>16.4f} {duplicate:>19.4f} {duplicate / ok:>6.2f}x "
                f"{strategy:>24.4f} {strategy / ok:>6.0f}x"
            )


if __name__ == "__main__":
    main()
