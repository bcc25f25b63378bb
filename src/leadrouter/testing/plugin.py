"""Opt-in pytest plugin: `pytest -p leadrouter.testing.plugin` (or `pytest_plugins = [...]`).

Fixtures:

- `clock`: a ManualClock at Monday 2026-01-05 09:00 UTC; move it with `clock.advance(...)`.
- `ledger`: a fresh in-memory Ledger.
- `router_factory`: `router_factory(strategy, reps=None, **kwargs)` builds a Router on that
  clock and ledger (four generalist reps R0-R3 by default).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from leadrouter.clock import ManualClock
from leadrouter.ledger import Ledger
from leadrouter.model import Rep
from leadrouter.router import Router
from leadrouter.testing._scenarios import START


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when the test moves it."""
    return ManualClock(START)


@pytest.fixture
def ledger() -> Ledger:
    """A fresh in-memory ledger."""
    return Ledger()


@pytest.fixture
def router_factory(clock: ManualClock, ledger: Ledger) -> Callable[..., Router]:
    """Build Routers sharing the test's clock and ledger."""

    def make(strategy: Any, reps: Iterable[Rep] | None = None, **kwargs: Any) -> Router:
        roster = list(reps) if reps is not None else [Rep(f"R{i}") for i in range(4)]
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("ledger", ledger)
        return Router(strategy, roster, **kwargs)

    return make
