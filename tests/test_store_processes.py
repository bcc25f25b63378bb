"""Many worker processes on one stored ledger, one of them killed mid-run (SIGKILL, most likely
inside a transaction, where a worker spends nearly all its time): afterwards no lead is lost,
none was ever held by two reps, no cap was ever exceeded, and replaying the log gives exactly
the state every surviving worker sees."""

from __future__ import annotations

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

PUSHERS, CLAIMERS, OPERATIONS, OPEN_CAP = 4, 4, 120, 4
MINUTE = timedelta(minutes=1)
REPS = [lr.Rep(f"r{i}") for i in range(6)]


def _router(url: str, name: str) -> lr.Router:
    ledger = lr.Ledger.open(url, name, lock_timeout=60)
    return lr.Router(lr.EqualRotation(), REPS, ledger=ledger, caps=lr.FixedCap(open=OPEN_CAP))


def _worker(role: str, index: int, url: str, name: str, out: Any, finish: Any) -> None:
    """A pusher routes new leads (retrying some, as a webhook does); a claimer claims pooled
    leads for its rep and works its book (touch, sale, release). Reports what it wrote, then,
    once every worker is done, the state it sees."""
    router = _router(url, name)
    ledger = router.ledger
    rng = random.Random(index)
    routed: dict[str, lr.Decision] = {}
    now = T0
    for step in range(OPERATIONS):
        now = T0 + (step + 1) * MINUTE
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
    finish.wait(120)
    ledger.refresh()
    out.put(("state", role, index, ledger.snapshot()))


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
    out, finish = spawn.Queue(), spawn.Event()
    workers = {
        (role, i): spawn.Process(target=_worker, args=(role, i, url, name, out, finish))
        for role, count in (("pusher", PUSHERS), ("claimer", CLAIMERS))
        for i in range(count)
    }
    for process in workers.values():
        process.start()
    victim = workers[("claimer", 0)]
    watcher = lr.Ledger.open(url, name)
    deadline = time.monotonic() + 60
    while len(watcher) < 150 and time.monotonic() < deadline:  # well under way
        time.sleep(0.05)
        watcher.refresh()
    assert victim.pid is not None
    os.kill(victim.pid, signal.SIGKILL)
    victim.join(10)

    pushed: list[str] = []
    for _ in range(len(workers) - 1):
        message = out.get(timeout=120)
        assert message[0] == "done" and message[1:3] != ("claimer", 0)  # killed before done
        pushed += message[3]
    finish.set()
    states = [out.get(timeout=60) for _ in range(len(workers) - 1)]
    for key, process in workers.items():
        process.join(30)
        assert process.exitcode == (-signal.SIGKILL if key == ("claimer", 0) else 0), key

    final = lr.Ledger.open(url, name)
    events = list(final.events())
    _check_log(events)
    assert all(lead_id in final for lead_id in pushed)  # no lead lost
    assert len(pushed) > PUSHERS * OPERATIONS * 0.8
    arrived = [e.lead_id for e in events if isinstance(e, lr.Arrived)]
    assert len(arrived) == len(set(arrived))  # a retried route is not a second lead
    replayed = lr.Ledger.from_events(events).snapshot()
    assert final.snapshot() == replayed
    for message in states:
        assert message[3] == replayed, message[:3]
    for ledger in (watcher, final):
        ledger.store.dispose()  # type: ignore[attr-defined]
