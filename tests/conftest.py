"""Shared helpers: a fixed Monday morning and a terse way to build times after it."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

import leadrouter as lr

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday


def at(minutes: float = 0, *, hours: float = 0, days: float = 0) -> datetime:
    """T0 plus the given offset."""
    return T0 + timedelta(minutes=minutes, hours=hours, days=days)


@pytest.fixture
def t0() -> datetime:
    return T0


def claim_race(
    router: lr.Router, rep_ids: Sequence[str], lead_ids: Sequence[str], now: datetime | None = None
) -> Counter[str]:
    """Every rep claims every lead, one thread per rep, all at once; wins per lead id."""
    wins: Counter[str] = Counter()
    lock = threading.Lock()

    def worker(rep: str) -> None:
        for lead_id in lead_ids:
            if router.claim(rep, lead_id, now=now).ok:
                with lock:
                    wins[lead_id] += 1

    threads = [threading.Thread(target=worker, args=(rep,)) for rep in rep_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return wins
