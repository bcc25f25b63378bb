"""Many worker processes on one stored ledger, one of them killed mid-run (SIGKILL while it holds
the write lock, its transaction's rows written but not committed): afterwards no lead is lost,
none was ever held by two reps, no cap was ever exceeded, and replaying the log gives exactly
the state every surviving worker sees.

At the issue's scale: 6 claimers and 6 pushers, 250 operations each (3,000 in all) per store,
which takes some 10 to 30 s a store on a 2-core machine. LEADROUTER_STRESS_OPS=2000 runs the
same test with that many operations per worker (24,000 in all; minutes).

The workers date their operations by one clock, the machine's (as processes on one machine, or
on machines kept in time, do): a ledger refuses an event dated more than `CLOCK_SKEW` before what
it acts on, and workers each counting their own minutes would be hours apart."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import signal
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import leadrouter as lr

from .conftest import T0
from .test_store import postgres_url

pytest.importorskip("sqlalchemy", reason="the SQL ledgers need: pip install 'leadrouter[db]'")

PUSHERS, CLAIMERS, OPEN_CAP = 6, 6, 4
OPERATIONS = int(os.environ.get("LEADROUTER_STRESS_OPS", "250"))
"""Operations per worker."""
WAIT = 120 + OPERATIONS * (PUSHERS + CLAIMERS) / 50
"""Seconds to wait for the workers: generous, so a slow machine fails no assertion."""
REPS = [lr.Rep(f"r{i}") for i in range(6)]


VICTIM = ("claimer", 0)
DOOMED = "routed-by-the-killed-worker"


def _router(url: str, name: str) -> lr.Router:
    ledger = lr.Ledger.open(url, name, lock_timeout=60)
    return lr.Router(lr.EqualRotation(), REPS, ledger=ledger, caps=lr.FixedCap(open=OPEN_CAP))


def _worker(
    role: str,
    index: int,
    url: str,
    name: str,
    out: Any,
    finish: Any,
    holding: Any,
    began: float,
) -> None:
    """A pusher routes new leads (retrying some, as a webhook does); a claimer claims pooled
    leads for its rep and works its book (touch, sale, release). Reports what it wrote, then,
    once every worker is done, the state it sees."""
    router = _router(url, name)
    ledger = router.ledger
    rng = random.Random(index)
    routed: dict[str, lr.Decision] = {}
    for step in range(OPERATIONS):
        now = T0 + timedelta(seconds=time.time() - began)
        if (role, index) == VICTIM and step == OPERATIONS // 4:
            _wait_to_be_killed_in_a_transaction(router, now, holding)
        if role == "pusher":
            if routed and rng.random() < 0.1:
                lead_id = rng.choice(sorted(routed))
                again = router.route(lr.Lead(lead_id, T0), now=now)
                assert again == routed[lead_id], (again, routed[lead_id])
                continue
            lead_id = f"P{index}-{step}"
            routed[lead_id] = router.route(lr.Lead(lead_id, T0), now=now)
            continue
        rep = REPS[index].id
        book = ledger.book_order(rep)
        roll = rng.random()
        if book and roll < 0.3:
            router.record(lr.Converted(book[0], rep, now, amount=1.0))
        elif book and roll < 0.5:
            router.release(book[-1], now=now, reroute=False)
        elif book and roll < 0.6:
            router.record(lr.Touched(book[0], rep, now))
        else:
            pooled = ledger.pool()
            if pooled:
                router.claim(rep, rng.choice(pooled), now=now)
            else:
                ledger.refresh()
    out.put(("done", role, index, sorted(routed)))
    finish.wait(WAIT)
    ledger.refresh()
    out.put(("state", role, index, ledger.snapshot()))


def _wait_to_be_killed_in_a_transaction(router: lr.Router, now: Any, holding: Any) -> None:
    """Route a lead in a transaction, write its rows to the database without committing them
    (the ledger's write lock held), tell the test, and wait there for SIGKILL.

    Told by an Event, not the queue: a queue's feeder thread may still be writing, holding the
    queue's lock shared with the other workers, when the kill comes."""
    ledger: Any = router.ledger
    with ledger.transaction():
        router.route(lr.Lead(DOOMED, T0), now=now)  # joins the open transaction
        store, txn = ledger.store, ledger._txn
        for kind, payload, key in txn.events:
            values = (store.name, kind, json.dumps(payload), key)
            txn.conn.execute(store._sql.insert_events(1), values).fetchall()
        holding.set()
        time.sleep(WAIT)


def _check_log(events: list[lr.events.Event]) -> None:
    """Replay the log event by event: never two holders, never a book over the cap."""
    replay = lr.Ledger()
    for event in events:
        replay.append(event)  # raises TransitionError at a second holder
        if isinstance(event, lr.Assigned | lr.Claimed):
            assert replay.book_size(event.rep_id) <= OPEN_CAP, event
    held = [lead for rep in REPS for lead in replay.book(rep.id)]
    assert len(held) == len(set(held))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_workers_killed_mid_run_lose_nothing(kind: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}" if kind == "sqlite" else postgres_url()
    name = f"procs-{uuid.uuid4().hex[:10]}"
    lr.Ledger.open(url, name).store.dispose()  # type: ignore[attr-defined]
    spawn = mp.get_context("spawn")
    out, finish, holding = spawn.Queue(), spawn.Event(), spawn.Event()
    began = time.time()
    workers = {
        (role, i): spawn.Process(
            target=_worker, args=(role, i, url, name, out, finish, holding, began)
        )
        for role, count in (("pusher", PUSHERS), ("claimer", CLAIMERS))
        for i in range(count)
    }
    for process in workers.values():
        process.start()
    victim = workers[VICTIM]
    assert holding.wait(WAIT)
    assert victim.pid is not None
    os.kill(victim.pid, signal.SIGKILL)
    victim.join(10)

    messages = [out.get(timeout=WAIT) for _ in range(len(workers) - 1)]
    pushed = [lead_id for message in messages for lead_id in message[3]]
    assert sorted(m[:3] for m in messages) == sorted(
        ("done", *key) for key in workers if key != VICTIM
    )
    finish.set()
    states = [out.get(timeout=WAIT) for _ in range(len(workers) - 1)]
    for key, process in workers.items():
        process.join(30)
        assert process.exitcode == (-signal.SIGKILL if key == VICTIM else 0), key

    final = lr.Ledger.open(url, name)
    events = list(final.events())
    _check_log(events)
    assert DOOMED not in final  # the killed transaction left none of its rows
    assert all(lead_id in final for lead_id in pushed)  # no lead lost
    assert len(pushed) > PUSHERS * OPERATIONS * 0.8
    arrived = [e.lead_id for e in events if isinstance(e, lr.Arrived)]
    assert len(arrived) == len(set(arrived))  # a retried route is not a second lead
    replayed = lr.Ledger.from_events(events).snapshot()
    assert final.snapshot() == replayed
    for message in states:
        assert message[3] == replayed, message[:3]
    final.store.dispose()  # type: ignore[attr-defined]
