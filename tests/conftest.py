"""Shared helpers: a fixed Monday morning and a terse way to build times after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday


def at(minutes: float = 0, *, hours: float = 0, days: float = 0) -> datetime:
    """T0 plus the given offset."""
    return T0 + timedelta(minutes=minutes, hours=hours, days=days)


@pytest.fixture
def t0() -> datetime:
    return T0
