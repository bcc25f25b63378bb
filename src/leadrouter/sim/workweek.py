"""Working hours as a clock: leads that arrive at night wait for the morning.

A team's working week is one window of whole local hours per weekday (Monday first), or None for
a day off: `((9, 18), (9, 18), (9, 18), (9, 18), (9, 18), (10, 16), None)` is Monday-Friday
09:00-18:00 and Saturday 10:00-16:00. `WorkClock` turns local wall-clock minutes into working
minutes and back, so a delay measured in working minutes (a pick-up lag, a queue) lands at the
right wall-clock instant: a lead assigned at 23:00 with a 10-minute lag is touched at 09:10.

`synthetic` generates first touches on this clock, the simulator schedules them on it, and
`fit_behaviour` infers the week from when the history's first touches happen - one code path for
all three.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from leadrouter.errors import ConfigError
from leadrouter.model import zone

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

__all__ = [
    "WorkClock",
    "WorkWeek",
    "check_work_week",
    "infer_work_week",
    "working_minutes_per_day",
]

WorkWeek = tuple[tuple[int, int] | None, ...]
"""Seven entries, Monday first: (start hour, end hour) local, or None for a day off."""


def check_work_week(hours: Sequence[tuple[int, int] | None]) -> WorkWeek:
    """`hours` as a WorkWeek, or ConfigError saying what is wrong."""
    week = tuple(None if h is None else (int(h[0]), int(h[1])) for h in hours)
    if len(week) != 7:
        raise ConfigError(f"a work week has 7 entries (Monday first), got {len(week)}")
    for day, window in enumerate(week):
        if window is not None and not 0 <= window[0] < window[1] <= 24:
            raise ConfigError(
                f"work week day {day} (0 = Monday): hours {window} must satisfy 0 <= start < "
                "end <= 24"
            )
    if not any(week):
        raise ConfigError("a work week needs at least one working day")
    return week


def working_minutes_per_day(hours: WorkWeek) -> float:
    """The mean working minutes of a working day of the week."""
    lengths = [(end - start) * 60.0 for start, end in (w for w in hours if w is not None)]
    return sum(lengths) / len(lengths)


class WorkClock:
    """Working minutes as a clock over `days` local days from `start`'s midnight.

    `work(m)` counts the working minutes from the start's midnight to local minute `m` (a minute
    outside working hours counts as the next opening); `wall(w)` is the local minute when `w`
    working minutes have passed. Both take numpy arrays. `work_at` and `wall_at` do the same for
    one aware datetime, read in the clock's zone.
    """

    def __init__(self, start: date, days: int, hours: WorkWeek, tz: str = "UTC") -> None:
        hours = check_work_week(hours)
        opens = np.zeros(days)
        lengths = np.zeros(days)
        for day in range(days):
            window = hours[(start + timedelta(days=day)).weekday()]
            if window is not None:
                opens[day] = window[0] * 60.0
                lengths[day] = (window[1] - window[0]) * 60.0
        self.start = start
        self.tz = tz
        self._zone = zone(tz)
        self._midnight = datetime.combine(start, datetime.min.time())
        self._local_midnight = self._midnight.replace(tzinfo=self._zone)
        """The start's midnight in the clock's zone: adding a duration to it moves its wall
        clock and keeps the zone, what `instant` gives (one step, not a naive sum then
        `replace`, which costs twice as much on every first touch)."""
        self.opens = opens
        self.lengths = lengths
        self.before = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
        self.after = self.before + lengths
        # plain-float copies for the one-instant methods: numpy costs ~20 µs per scalar call,
        # which the simulator would pay on every first touch
        self._day: list[tuple[float, float, float]] = list(
            zip(opens.tolist(), lengths.tolist(), self.before.tolist(), strict=True)
        )
        self._after: list[float] = self.after.tolist()

    def work(self, minutes: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Working minutes up to each local minute."""
        day = np.clip(np.floor(minutes / 1440.0).astype(int), 0, len(self.opens) - 1)
        into = minutes - day * 1440.0 - self.opens[day]
        result: np.ndarray[Any, Any] = self.before[day] + np.clip(into, 0.0, self.lengths[day])
        return result

    def wall(self, work: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """The local minute at which each amount of working minutes has passed; an amount that
        ends one working day is the next day's opening (where work resumes)."""
        day = np.searchsorted(self.after, work, side="right")
        if (day >= len(self.after)).any():
            raise self._past_the_end()
        result: np.ndarray[Any, Any] = day * 1440.0 + self.opens[day] + (work - self.before[day])
        return result

    def _past_the_end(self) -> ConfigError:
        return ConfigError(
            f"the working-hours calendar ({len(self.after)} days from {self.start}) ends "
            "before the work does: a rep's backlog runs past it"
        )

    def minute_of(self, at: datetime) -> float:
        """`at` as local wall-clock minutes since the start's midnight. The instant is read
        through UTC, so a wall time a daylight-saving jump skipped (02:30 on the spring-forward
        day, which Python keeps as written when the zone is already the clock's) counts as the
        wall time that instant really shows (03:30)."""
        local = at.astimezone(UTC).astimezone(self._zone).replace(tzinfo=None)
        return (local - self._midnight).total_seconds() / 60.0

    def instant(self, minute: float) -> datetime:
        """The aware instant of a local wall-clock minute since the start's midnight (a time
        skipped by a daylight-saving jump reads with the offset before the jump, so it moves
        forward by the jump)."""
        return self._local_midnight + timedelta(minutes=minute)

    def work_at(self, at: datetime) -> float:
        """Working minutes from the start's midnight to `at` (`work` for one instant)."""
        minute = self.minute_of(at)
        day = min(max(int(minute // 1440.0), 0), len(self._day) - 1)
        opens, length, before = self._day[day]
        return before + min(max(minute - day * 1440.0 - opens, 0.0), length)

    def work_at_many(self, instants: Sequence[datetime]) -> list[float]:
        """`work_at` for many instants at once (the simulator places every arrival in one go):
        the very floats `work_at` gives one by one, at a fraction of the cost.

        Each instant's local wall time (pandas' time-zone conversion, with the clock's own
        zone) in whole microseconds from the start's midnight, over 10**6 then 60 - what
        `minute_of` computes per instant (exactly: the microseconds are integers below 2**53,
        and each division is correctly rounded either way) - then `work`, `work_at`'s formula
        on an array."""
        utc = np.fromiter(
            ((at - _EPOCH) // _MICROSECOND for at in instants), np.int64, len(instants)
        )
        local = (
            pd.DatetimeIndex(utc.astype("datetime64[us]")).tz_localize(UTC).tz_convert(self._zone)
        )
        wall = local.tz_localize(None).asi8
        midnight = np.datetime64(self.start, "us").astype(np.int64)
        minutes = (wall - midnight).astype(float) / 1e6 / 60.0
        found: list[float] = self.work(minutes).tolist()
        return found

    def wall_at(self, work: float) -> datetime:
        """The instant when `work` working minutes have passed since the start's midnight
        (`wall` for one amount)."""
        day = bisect_right(self._after, work)
        if day >= len(self._after):
            raise self._past_the_end()
        opens, _, before = self._day[day]
        return self.instant(day * 1440.0 + opens + (work - before))

    def after_working(self, at: datetime, minutes: float) -> datetime | None:
        """The instant `minutes` working minutes after `at` (counted from the next opening when
        `at` is outside working hours); None when that lies past the calendar's end."""
        target = self.work_at(at) + max(minutes, 0.0)
        if target >= self._after[-1]:
            return None
        return self.wall_at(target)


def infer_work_week(touches: pd.Series[Any], tz: str, min_share: float = 0.02) -> WorkWeek | None:
    """The team's working week read off when first touches happen (aware times): a weekday with
    under `min_share` of the touches of an average day is off; on the others, the window runs
    from the hour of the 1st percentile of touch times to the hour after the 99th. None with
    fewer than 100 touches."""
    times = touches.dropna()
    if len(times) < 100:
        return None
    local = times.dt.tz_convert(tz)
    hour = local.dt.hour + local.dt.minute / 60.0
    weekday = local.dt.day_of_week
    per_day = len(times) / 7.0
    week: list[tuple[int, int] | None] = []
    for day in range(7):
        hours = hour[weekday == day]
        if len(hours) == 0 or len(hours) < min_share * per_day:
            week.append(None)
            continue
        start = int(np.floor(np.quantile(hours, 0.01)))
        end = min(int(np.floor(np.quantile(hours, 0.99))) + 1, 24)
        week.append((start, max(end, start + 1)))
    return tuple(week) if any(week) else None
