"""Benchmark: routes and claims per second on each ledger store, with 1, 4 and 12 workers.

Run from the project root::

    python benchmarks/bench_store.py                        # memory, SQLite; PostgreSQL if set
    python benchmarks/bench_store.py --pg postgresql://user@host/db --workers 1 4 12
    python benchmarks/bench_store.py --quick                # few operations, a smoke test
    python benchmarks/bench_store.py --open                 # opening long SQLite ledgers
    python benchmarks/bench_store.py --open --sizes 20000   # the same, small

What is measured: worker processes (spawned, each with its own Router on `Ledger.open(url)`)
route `--ops` new leads each into one shared ledger, then claim as many leads from the public
pool (left there by a strategy that picks nobody, each worker claiming its own leads so every
claim succeeds). The clock runs from when every worker is ready until the last one is done, so
start-up and imports are not timed. The in-memory figure is one process (a memory ledger cannot
be shared). Every operation is one transaction behind the ledger's one write lock, so more
workers add no throughput on one ledger; they show what the lock costs under contention.
`bare tx/s` is the baseline for a SQL store: the same workers making the same transactions a
route makes (lock and read what others committed, write two events and a decision, commit)
straight through the store, with no Router, no Ledger and nothing to encode or fold: what the
database and its driver allow on this machine, which no Router can beat.
PostgreSQL is measured when `--pg` or LEADROUTER_TEST_PG names a database.

`--open` measures instead how long `Ledger.open` takes on a SQLite ledger of 100,000 and
1,000,000 events: folding the whole log (no snapshot), loading the snapshot written at the end
of the log, and loading it then folding `--tail` more events (a process opening between two
snapshots folds up to `snapshot_every` events after the latest). The log is written in bulk
(`executemany` of encoded events, four per lead: arrived, assigned, touched, then converted or
released), not routed lead by lead, so building a million events takes seconds.

Timings come from a shared, noisy machine: compare the stores, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import leadrouter as lr

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
REPS = [lr.Rep(f"r{i}") for i in range(20)]


def _nobody(ctx: Any) -> None:
    """Leave every lead waiting in the public pool, for the claim benchmark."""
    return None


def _router(url: str | None, name: str, pool: bool) -> lr.Router:
    ledger = lr.Ledger() if url is None else lr.Ledger.open(url, name, lock_timeout=120)
    strategy: Any = _nobody if pool else lr.EqualRotation()
    return lr.Router(strategy, REPS, ledger=ledger)


def _run(router: lr.Router, worker: int, ops: int, kind: str) -> None:
    for i in range(ops):
        lead_id = f"{kind}-{worker}-{i}"
        if kind == "route":
            router.route(lr.Lead(lead_id, T0), now=T0)
        else:
            decision = router.claim(REPS[worker % len(REPS)].id, lead_id, now=T0)
            assert decision.ok, decision


def _worker(url: str, name: str, worker: int, ops: int, kind: str, ready: Any, go: Any) -> None:
    if kind == "bare":
        _bare(url, name, worker, ops, ready, go)
        return
    router = _router(url, name, pool=kind == "claim")
    router.ledger.refresh()
    ready.put(worker)
    go.wait()
    _run(router, worker, ops, kind)


def _bare(url: str, name: str, worker: int, ops: int, ready: Any, go: Any) -> None:
    """The transactions a route makes, without the Router or the Ledger: take the lock and read
    the rows committed since, write an Arrived, an Assigned and the decision (encoded once,
    before the clock runs), commit. What the database and its driver cost alone."""
    from leadrouter.stores.codec import decision_text, event_text
    from leadrouter.stores.sql import SqlStore

    store = SqlStore(url, name, lock_timeout=120)
    store.check_schema(create=True)
    sample = lr.Router(lr.EqualRotation(), REPS)
    decision = decision_text(sample.route(lr.Lead("bare", T0), now=T0))
    events = [(*event_text(event), None) for event in sample.ledger.events()]
    seq = 0
    ready.put(worker)
    go.wait()
    for i in range(ops):
        with store.locked(seq) as txn:
            txn.events.extend(events)
            txn.decisions.append((f"bare-{worker}-{i}", decision))
        seq = txn.last
    store.dispose()


def _fill_pool(url: str | None, name: str, workers: int, ops: int) -> lr.Router:
    router = _router(url, name, pool=True)
    router.route_many(
        [lr.Lead(f"claim-{w}-{i}", T0) for w in range(workers) for i in range(ops)], now=T0
    )
    return router


def measure(url: str | None, workers: int, ops: int, kind: str) -> float:
    """Operations per second of `workers` processes doing `ops` operations of `kind` each."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    if kind == "claim":
        filled = _fill_pool(url, name, workers, ops)
    if url is None:
        router = filled if kind == "claim" else _router(None, name, pool=False)
        start = time.perf_counter()
        _run(router, 0, ops, kind)
        return ops / (time.perf_counter() - start)
    spawn = mp.get_context("spawn")
    ready, go = spawn.Queue(), spawn.Event()
    procs = [
        spawn.Process(target=_worker, args=(url, name, w, ops, kind, ready, go))
        for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)
    start = time.perf_counter()
    go.set()
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            raise SystemExit(f"a {kind} worker failed (exit code {proc.exitcode})")
    return workers * ops / (time.perf_counter() - start)


def _bulk_events(first: int, leads: int) -> Iterator[lr.Event]:
    """Four valid events for each of `leads` leads numbered from `first`, in log order."""
    for i in range(first, first + leads):
        lead_id, rep_id = f"L{i}", REPS[i % len(REPS)].id
        at = T0 + timedelta(seconds=i)
        yield lr.Arrived(lr.Lead(lead_id, at, source="ads", region="north", score=0.5))
        yield lr.Assigned(lead_id, rep_id, at, "EqualRotation")
        yield lr.Touched(lead_id, rep_id, at + timedelta(minutes=5), reached=i % 3 == 0)
        if i % 4 == 0:
            yield lr.Converted(lead_id, rep_id, at + timedelta(hours=2), amount=100.0)
        else:
            yield lr.Released(lead_id, rep_id, at + timedelta(hours=3), "expired")


def _append_bulk(path: Path, name: str, events: int, first_lead: int = 0) -> None:
    """Append `events` events (a multiple of 4) to ledger `name` with one executemany."""
    from leadrouter.stores.codec import encode_event

    rows = (
        (name, kind, json.dumps(payload))
        for kind, payload in map(encode_event, _bulk_events(first_lead, events // 4))
    )
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO leadrouter_events (ledger, kind, payload) VALUES (?, ?, ?)", rows
        )


_OPEN = """
import sys, time
import leadrouter as lr
import leadrouter.stores.durable
start = time.perf_counter()
ledger = lr.Ledger.open(sys.argv[1], sys.argv[2], snapshot_every=int(sys.argv[3]))
opened = time.perf_counter() - start
ledger._snapshots.wait()  # one written in the background (snapshot_every=1) is stored
print(opened, time.perf_counter() - start, len(ledger))
"""


def _timed_open(url: str, name: str, snapshot_every: int) -> tuple[float, float, int]:
    """(seconds to open, seconds until a snapshot it started is stored, events) of opening the
    ledger in a new process, as a worker starting does (imports not timed)."""
    found = subprocess.run(
        [sys.executable, "-c", _OPEN, url, name, str(snapshot_every)],
        capture_output=True,
        text=True,
        check=True,
    )
    opened, stored, size = found.stdout.split()
    return float(opened), float(stored), int(size)


def measure_open(directory: Path, events: int, tail: int) -> tuple[float, float, float, float]:
    """Seconds to open a SQLite ledger of `events` events: (folding the whole log, loading a
    snapshot at its end, loading that snapshot then folding `tail` events), and to write the
    snapshot (in a forked child and a thread, after the open that started it returned)."""
    path = directory / f"open-{events}.db"
    url, name = f"sqlite:///{path}", "bench"
    lr.Ledger.open(url, name).store.dispose()  # type: ignore[attr-defined]
    _append_bulk(path, name, events)
    replay, _, size = _timed_open(url, name, snapshot_every=0)  # writes no snapshot
    assert size == events, size
    opened, stored, _ = _timed_open(url, name, snapshot_every=1)  # folds again, writes one
    loaded, _, size = _timed_open(url, name, snapshot_every=0)
    assert size == events, size
    _append_bulk(path, name, tail, first_lead=events // 4)
    tailed, _, size = _timed_open(url, name, snapshot_every=0)
    assert size == events + tail, size
    return replay, loaded, tailed, stored - opened


def main_open(sizes: list[int], tail: int) -> None:
    print(
        f"{'events':>10} {'full replay s':>14} {'snapshot s':>11} {'ratio':>6} "
        f"{f'snapshot+{tail:,} s':>18} {'writing it s':>13}"
    )
    # a 1,000,000-event ledger file takes 300 MB: removed when done
    with tempfile.TemporaryDirectory(prefix="leadrouter-bench-open-") as scratch:
        for events in sizes:
            replay, loaded, tailed, writing = measure_open(Path(scratch), events, tail)
            print(
                f"{events:>10,} {replay:>14.2f} {loaded:>11.2f} {replay / loaded:>5.1f}x "
                f"{tailed:>18.2f} {writing:>13.1f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 12])
    parser.add_argument("--ops", type=int, default=300, help="operations per worker (300)")
    parser.add_argument("--pg", default=os.environ.get("LEADROUTER_TEST_PG"))
    parser.add_argument("--quick", action="store_true", help="30 operations, 1 and 2 workers")
    parser.add_argument("--open", action="store_true", help="time opening long SQLite ledgers")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--tail", type=int, default=25_000, help="events after the snapshot")
    args = parser.parse_args()
    if args.open:
        main_open([size - size % 4 for size in args.sizes], args.tail - args.tail % 4)
        return
    if args.quick:
        args.ops, args.workers = 30, [1, 2]
    directory = Path(tempfile.mkdtemp(prefix="leadrouter-bench-"))
    stores: list[tuple[str, str | None]] = [
        ("memory", None),
        ("sqlite", f"sqlite:///{directory / 'bench.db'}"),
    ]
    if args.pg:
        stores.append(("postgresql", args.pg))
    print(f"{'store':<11} {'workers':>7} {'routes/s':>10} {'claims/s':>10} {'bare tx/s':>10}")
    for label, url in stores:
        for workers in [1] if url is None else args.workers:
            routes = measure(url, workers, args.ops, "route")
            claims = measure(url, workers, args.ops, "claim")
            bare = "-" if url is None else f"{measure(url, workers, args.ops, 'bare'):,.0f}"
            print(f"{label:<11} {workers:>7} {routes:>10,.0f} {claims:>10,.0f} {bare:>10}")


if __name__ == "__main__":
    main()
