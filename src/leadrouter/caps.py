"""Caps: how many leads a rep may hold, and may receive in a day.

A cap answers one question per rep — may this rep take one more lead now? — and the router asks
it before every assignment and claim, so a cap is never exceeded. Several caps can apply at once
(`Router(caps=[...])`); a rep must pass all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache

import attrs

from leadrouter._memo import LedgerMemo
from leadrouter._validators import cap_limit, lenient, set_of, valid_zone
from leadrouter.context import Context, TickContext
from leadrouter.errors import ConfigError, OutOfRangeError
from leadrouter.ledger import LedgerView
from leadrouter.model import str_set, zone

__all__ = [
    "AT_CAP",
    "PERIODS",
    "Cap",
    "FixedCap",
    "day_start",
    "next_day_start",
    "period_start",
]

AT_CAP = "every eligible rep is at a cap"
"""Why a lead waits when the caps left none of its eligible reps room: the same words whether
the router's caps or a batch strategy's capacity found it, so every worker writes the same log."""


class Cap:
    """Base of every cap."""

    def __repr__(self) -> str:
        """The class name, as explanations show a cap (`capped (WeeklyCap()): ...`), for a cap
        that does not give its own; attrs classes and the built-in caps show their settings."""
        return f"{type(self).__name__}()"

    def check(self, rep_id: str, ctx: Context) -> str | None:
        """None if `rep_id` may take one more lead at `ctx.now`, else why not."""
        raise NotImplementedError

    def remaining(self, rep_id: str, ctx: Context) -> int | None:
        """How many more leads `rep_id` may take at `ctx.now` (None: no limit). Batch routing
        uses it as the rep's capacity.

        The default is derived from `check` and is conservative — one lead when `check` allows
        one, none when it refuses — so a cap that only implements `check` still works, and is
        never exceeded, under `Router.route_many`. Caps that know their room override it.
        """
        return 1 if self.check(rep_id, ctx) is None else 0

    def saturated(self, ctx: Context) -> frozenset[str]:
        """Reps known to be unable to take any lead for the rest of `ctx.now`'s day, whatever
        happens meanwhile (e.g. a daily cap reached: received counts only grow).

        The router leaves them out before the strategy runs, so a strategy does not walk past
        dozens of capped reps on every lead late in the day. The default knows none.
        """
        return frozenset()

    def next_reset(self, ctx: TickContext) -> datetime | None:
        """The first time after `ctx.now` at which this cap may allow a rep it refuses now with
        nothing written meanwhile (a daily limit's count starting over at midnight in the
        cap's zone); None when only events lift its refusals, a lead leaving a book (the
        default).

        `Router.next_due` counts it while leads wait in the public pool, so that a caller
        ticking at each answer offers a lead that waited for the day's cap when the day
        turns. A cap that counts per period should say when the period ends."""
        return None

    def would_refuse(self, rep_id: str, ctx: Context) -> bool | None:
        """What `check(rep_id, ctx)` would answer, known without asking it: True when it would
        refuse the rep and asking would change nothing the cap remembers, False when it would
        allow the rep, None when the cap cannot tell without asking `check` (the default).

        At `tick()` the router asks this about every active rep not `saturated`: when each is
        refused, quietly, by the first cap that refuses them, no waiting lead can be placed
        and offering them would write nothing and teach no cap anything, so the offers are
        skipped. One None (or one rep allowed by every cap) means the offers are made. A cap
        whose `check` remembers what it finds (FixedCap marks a rep at its daily cap as full)
        answers None there, so the router asks and it learns.
        """
        return None


def day_start(now: datetime, tz: str) -> datetime:
    """Midnight of `now`'s day in time zone `tz` (an aware datetime).

    Every zone's offset is a whole number of quarter hours, so all instants in one UTC quarter
    hour share their local day: the answer is cached per quarter hour, not per instant. The
    last answer per zone is also kept against the very `now` object asked about, because the
    router asks every cap about the same `now` for each rep it considers for a lead, and
    against its quarter hour, which the next leads most often share.
    """
    last = _LAST_DAY.get(tz)
    if last is not None and last.now is now:
        return last.start
    try:
        quarter = int(now.timestamp()) // 900
        if last is not None and last.quarter == quarter:
            last.now = now
            return last.start
        start = _day_start(quarter, tz)
    except (OverflowError, ValueError, OSError):
        raise _too_far(now, tz) from None
    _LAST_DAY[tz] = _Day(now, start, quarter)
    return start


class _Day:
    """A zone's last answer in `day_start`: the day's `start` for the instants of one UTC
    `quarter` hour, and `now`, the one asked about last (the next ask is most often the
    same object). Only `now` changes in place; a new quarter hour gets a new `_Day`."""

    __slots__ = ("now", "quarter", "start")

    def __init__(self, now: datetime, start: datetime, quarter: int) -> None:
        self.now = now
        self.start = start
        self.quarter = quarter


def _too_far(now: datetime, tz: str) -> OutOfRangeError:
    return OutOfRangeError(
        f"{now.isoformat()} is too far from today to find its day in {tz}: a placeholder "
        "date for 'no date' (0001-01-01, 9999-12-31)? give the lead's real time"
    )


_LAST_DAY: dict[str, _Day] = {}
"""zone -> its last answer in `day_start`."""


@lru_cache(maxsize=4096)
def _day_start(quarter: int, tz: str) -> datetime:
    local = datetime.fromtimestamp(quarter * 900, zone(tz))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _next_day(start: datetime, tz: str) -> datetime:
    """The start of the day after the one that begins at `start` (23 to 25 hours later).

    Kept per zone against the very `start` object asked about (`day_start` hands out one per
    quarter hour), without touching `day_start`'s own memory of the day asked about: a cap
    counting a rep's day up to its end asks for both, on the same lead."""
    last = _NEXT_DAY.get(tz)
    if last is not None and last[0] is start:
        return last[1]
    later = start + timedelta(hours=36)
    try:
        found = _day_start(int(later.timestamp()) // 900, tz)
    except (OverflowError, ValueError, OSError):
        raise _too_far(later, tz) from None
    _NEXT_DAY[tz] = (start, found)
    return found


_NEXT_DAY: dict[str, tuple[datetime, datetime]] = {}
"""zone -> (a day's start, the next day's start); each entry replaced whole."""


def next_day_start(now: datetime, tz: str) -> datetime:
    """The first midnight after `now` in time zone `tz`: when a count per day starts over."""
    return _next_day(day_start(now, tz), tz)


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


_NOBODY: frozenset[str] = frozenset()


def _only(value: Iterable[str] | None) -> frozenset[str] | None:
    found: frozenset[str] | None = None if value is None else lenient(str_set, value)
    return found


@attrs.frozen(repr=False)
class FixedCap(Cap):
    """At most `open` leads in a rep's book at once, and at most `daily` leads received (assigned
    or claimed) per calendar day in time zone `tz` — never the machine's zone, so a team in
    Shanghai resets at its own midnight. None means no limit. With `reps`, the limits are those
    reps' only (a lower one for new reps, 新人, beside the team's cap); others pass this cap.

    A refusal reason starts with "open-lead cap" or "daily cap", so code reading decisions can
    tell a full book from a day's limit.
    """

    open: int | None = attrs.field(default=None, validator=cap_limit)
    daily: int | None = attrs.field(default=None, validator=cap_limit)
    tz: str = attrs.field(default="UTC", validator=valid_zone)
    reps: frozenset[str] | None = attrs.field(
        default=None,
        kw_only=True,
        converter=_only,
        validator=attrs.validators.optional(set_of(str, "{'zhao'}")),
    )
    _full: LedgerMemo[frozenset[str]] = attrs.field(
        factory=LedgerMemo, init=False, eq=False, hash=False, repr=False
    )

    def __repr__(self) -> str:
        only = "" if self.reps is None else f", reps={sorted(self.reps)!r}"
        name = type(self).__name__
        return f"{name}(open={self.open!r}, daily={self.daily!r}, tz={self.tz!r}{only})"

    def _today(self, view: LedgerView, rep_id: str, start: datetime) -> int:
        """Leads the rep received on the day that begins at `start`. Counted from `start` on,
        which is the day's count unless the ledger holds receipts dated after the day (a lead
        routed at an earlier `now` than others, a backfill): a count at the cap is made again
        up to the day's end, so a later day's leads never fill this one."""
        today = view.count(rep_id, since=start)
        if self.daily is not None and today >= self.daily:
            today = view.count(rep_id, start, _next_day(start, self.tz))
        return today

    def next_reset(self, ctx: TickContext) -> datetime | None:
        """The next midnight in `tz` when `daily` is set: the day's receipts count from zero."""
        return None if self.daily is None else next_day_start(ctx.now, self.tz)

    def saturated(self, ctx: Context) -> frozenset[str]:
        """Reps found at the daily cap earlier today (cached per ledger and day)."""
        if self.daily is None:
            return _NOBODY
        return self._full.get(ctx.view, day_start(ctx.now, self.tz)) or _NOBODY

    def _mark_full(self, rep_id: str, ctx: Context, today: datetime) -> None:
        """Remember a rep at the daily cap for the rest of `today` on this ledger."""
        found = self._full.get(ctx.view, today) or _NOBODY
        if rep_id not in found:
            self._full.put(ctx.view, found | {rep_id}, today)

    def _spares(self, rep_id: str) -> bool:
        """True for a rep this cap does not limit (not among its `reps`)."""
        return self.reps is not None and rep_id not in self.reps

    def remaining(self, rep_id: str, ctx: Context) -> int | None:
        if self._spares(rep_id):
            return None
        room: list[int] = []
        if self.open is not None:
            room.append(self.open - ctx.view.book_size(rep_id))
        if self.daily is not None:
            start = day_start(ctx.now, self.tz)
            room.append(self.daily - ctx.view.count(rep_id, start, _next_day(start, self.tz)))
        return max(min(room), 0) if room else None

    def would_refuse(self, rep_id: str, ctx: Context) -> bool | None:
        """True at the open-lead cap (a refusal that remembers nothing), None at the daily cap
        (`check` would remember the rep as full for the day), False otherwise: the order of
        `check`, which looks at the open-lead cap first."""
        if self._spares(rep_id):
            return False
        view = ctx.view
        if self.open is not None and view.book_size(rep_id) >= self.open:
            return True
        if self.daily is not None and self._today(view, rep_id, day_start(ctx.now, self.tz)) >= (
            self.daily
        ):
            return None
        return False

    def check(self, rep_id: str, ctx: Context) -> str | None:
        if self._spares(rep_id):
            return None
        view = ctx.view
        if self.open is not None:
            held = view.book_size(rep_id)
            if held >= self.open:
                return f"open-lead cap {self.open} reached ({held} held)"
        if self.daily is not None:
            start = day_start(ctx.now, self.tz)
            today = self._today(view, rep_id, start)
            if today >= self.daily:
                self._mark_full(rep_id, ctx, start)
                return f"daily cap {self.daily} reached ({today} received today, {self.tz})"
        return None
