"""Clocks: where the router's `now` comes from when a call does not pass one.

Nothing in leadrouter reads the wall clock except `SystemClock`, and only when the router was
given no other clock. Tests and simulations pass a `ManualClock` (or `now=`) and are exact.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadrouter._util import check_aware

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock:
    """Base: a callable returning an aware datetime."""

    def __call__(self) -> datetime:
        raise NotImplementedError


class SystemClock(Clock):
    """The wall clock, in UTC. The router's default when no clock is given."""

    def __call__(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock(Clock):
    """A clock that moves only when told to: `advance(minutes=5)` or `set(when)`."""

    def __init__(self, start: datetime) -> None:
        self._now = check_aware(start, "ManualClock start")

    def __call__(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to `when` (may go back, for tests that need it)."""
        self._now = check_aware(when, "ManualClock.set")

    def advance(self, delta: timedelta | None = None, **units: float) -> datetime:
        """Move forward by `delta` or by keyword units (`hours=2`); returns the new time."""
        step = (delta or timedelta()) + timedelta(**units)
        self._now = self._now + step
        return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"
