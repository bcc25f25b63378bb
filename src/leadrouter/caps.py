"""Caps: how many leads a rep may hold, and may receive in a day.

A cap answers one question per rep — may this rep take one more lead now? — and the router asks
it before every assignment and claim, so a cap is never exceeded. Several caps can apply at once
(`Router(caps=[...])`); a rep must pass all of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

import attrs

from leadrouter.context import Context
from leadrouter.errors import ConfigError
from leadrouter.model import zone

__all__ = ["PERIODS", "Cap", "FixedCap", "day_start", "period_start"]


class Cap:
    """Base of every cap."""

    def check(self, rep_id: str, ctx: Context) -> str | None:
        """None if `rep_id` may take one more lead at `ctx.now`, else why not."""
        raise NotImplementedError

    def remaining(self, rep_id: str, ctx: Context) -> int | None:
        """How many more leads `rep_id` may take at `ctx.now` (None: no limit). Batch routing
        uses it as the rep's capacity."""
        raise NotImplementedError


@lru_cache(maxsize=4096)
def day_start(now: datetime, tz: str) -> datetime:
    """Midnight of `now`'s day in time zone `tz` (an aware datetime)."""
    local = now.astimezone(zone(tz))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


PERIODS = ("day", "week", "month", "all")


def period_start(now: datetime, period: str, tz: str) -> datetime | None:
    """Start of the day, week (Monday) or month containing `now` in zone `tz`; None for "all"."""
    if period == "all":
        return None
    start = day_start(now, tz)
    if period == "week":
        return day_start(start - timedelta(days=start.weekday()), tz)
    if period == "month":
        return day_start(start.replace(day=1), tz)
    if period != "day":
        raise ConfigError(f"unknown period {period!r}: use one of {', '.join(PERIODS)}")
    return start


def _v_limit(inst: object, attr: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ConfigError(
            f"FixedCap.{attr.name} must be a whole number >= 0 or None, got {value!r}"
        )


def _v_tz(inst: object, attr: attrs.Attribute[str], value: str) -> None:
    zone(value)


@attrs.frozen
class FixedCap(Cap):
    """At most `open` leads in a rep's book at once, and at most `daily` leads received (assigned
    or claimed) per calendar day in time zone `tz` — never the machine's zone, so a team in
    Shanghai resets at its own midnight. None means no limit.
    """

    open: int | None = attrs.field(default=None, validator=_v_limit)
    daily: int | None = attrs.field(default=None, validator=_v_limit)
    tz: str = attrs.field(default="UTC", validator=_v_tz)

    def remaining(self, rep_id: str, ctx: Context) -> int | None:
        room: list[int] = []
        if self.open is not None:
            room.append(self.open - ctx.view.book_size(rep_id))
        if self.daily is not None:
            room.append(self.daily - ctx.view.count(rep_id, since=day_start(ctx.now, self.tz)))
        return max(min(room), 0) if room else None

    def check(self, rep_id: str, ctx: Context) -> str | None:
        view = ctx.view
        if self.open is not None:
            held = view.book_size(rep_id)
            if held >= self.open:
                return f"holds {held} open leads (cap {self.open})"
        if self.daily is not None:
            today = view.count(rep_id, since=day_start(ctx.now, self.tz))
            if today >= self.daily:
                return f"received {today} leads today (daily cap {self.daily}, {self.tz})"
        return None
