"""Performance-weighted allocation (成交高的员工占用更多的资源): top closers get more leads.

A rep's target weight is their performance over a window (conversion rate, revenue per lead, or
grade-weighted points per lead), shrunk toward the team value with an empirical-Bayes prior, so
a rep with 3 leads and 1 sale is not crowned on luck. The leads themselves are shared by deficit
(`Weighted`): realised shares track the day's targets within two leads (one in most teams).

This module also holds `_DailyWeighted`, the part shared with `UtilizationWeighted`: weights
learned from the ledger over the window that ends at the start of the current day. Each rep's
numbers are read once per (ledger, day) and the weights of each set of eligible reps computed
from them once, and cached.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import cast

import attrs

from leadrouter._memo import LedgerMemo
from leadrouter._util import FrozenMap, check_aware, shrunk
from leadrouter._validators import non_negative_number, positive_duration
from leadrouter.capabilities import is_sales_view
from leadrouter.caps import day_start
from leadrouter.context import Context
from leadrouter.errors import ConfigError
from leadrouter.ledger import LedgerView
from leadrouter.model import Rep
from leadrouter.strategies._deficits import FastWeighted
from leadrouter.strategies.base import StrategyTags

__all__ = ["MEASURES", "PerformanceWeighted"]

MEASURES = ("conversion", "revenue", "points")
"""The performance measures `PerformanceWeighted(measure=...)` accepts."""

_MAX_SETS = 512


@attrs.frozen
class _Fit:
    """One day's learned weights for one eligible set, and `note(rep)`: a line saying where a
    rep's weight came from (appended to the decision's reason), written by `write` when first
    asked for."""

    weights: dict[str, float]
    write: Callable[[str], str]
    notes: dict[str, str] = attrs.field(factory=dict, eq=False, repr=False)

    def note(self, rep: str) -> str:
        found = self.notes.get(rep)
        if found is None:
            found = self.notes[rep] = self.write(rep)
        return found


class _Day:
    """What a strategy learnt from one ledger for one day: each rep's measures over the window
    (`_DailyWeighted._measure`, read once a day) and the fit of each eligible set made from
    them, so a new set (a rep capped, a rule) costs arithmetic, not ledger reads."""

    __slots__ = ("measures", "sets")

    def __init__(self) -> None:
        self.measures: dict[str, tuple[float, ...]] = {}
        self.sets: dict[frozenset[str], _Fit] = {}


WINDOW = positive_duration("timedelta(days=30)")
PRIOR = non_negative_number("pseudo-leads at the team rate; 20 is a good start, 0 means raw rates")


@attrs.frozen(repr=False)
class _DailyWeighted(FastWeighted):
    """Base of weighted strategies whose weights are learned from the ledger.

    Weights come from events dated in the window `[midnight - window, midnight)`, where midnight
    starts the current day in `tz`. So they are the same whichever lead of the day asks first,
    a restart mid-day finds the same weights, and the day's deficit targets stay fixed: new
    outcomes move weights from the next day. They are computed once per (ledger, day, set of
    eligible reps) and cached by ledger, so one instance can serve many routers.

    A subclass implements `_measure` (one rep's numbers over the window) and `_fit` (the
    weights of a set of reps from their numbers); None from `_fit` (no data to tell reps apart)
    means equal weights.
    """

    _cache: LedgerMemo[_Day] = attrs.field(
        factory=LedgerMemo, init=False, eq=False, repr=False, hash=False
    )

    window: timedelta = attrs.field(validator=WINDOW)
    prior_strength: float = attrs.field(validator=PRIOR)

    def _measure(
        self, view: LedgerView, rep: str, since: datetime, until: datetime
    ) -> tuple[float, ...]:
        raise NotImplementedError

    def _fit(self, ids: list[str], measures: Mapping[str, tuple[float, ...]]) -> _Fit | None:
        raise NotImplementedError

    def weights(self, ctx: Context) -> Mapping[str, float]:
        return self._fitted(ctx.view, ctx.ids, ctx.now).weights

    def _weight_table(self, ctx: Context) -> _Fit:
        return self._fitted(ctx.view, ctx.ids, ctx.now)

    _table_key = _weight_table  # the fit itself: the same object while the day's entry lasts

    def _note(self, table: object, rep_id: str) -> str:
        """Where the picked rep's weight came from, appended to the decision's reason."""
        return cast(_Fit, table).note(rep_id)

    def explain_weights(
        self, ledger: LedgerView, reps: Iterable[str | Rep], now: datetime
    ) -> dict[str, float]:
        """The target weight of each of `reps` on `now`'s day, when they are all eligible.

        These are the weights `route` renormalises into target shares (share = weight / sum of
        the eligible reps' weights); the same cached values the router uses that day.
        """
        check_aware(now, f"{self.name}.explain_weights(now=)")
        ids = frozenset(r.id if isinstance(r, Rep) else r for r in reps)
        weights = self._fitted(ledger, ids, now).weights
        return {rep: weights[rep] for rep in sorted(weights)}

    def _fitted(self, view: LedgerView, ids: frozenset[str], now: datetime) -> _Fit:
        midnight = day_start(now, self.tz)
        day = self._cache.setdefault(view, _Day, midnight.date())
        found = day.sets.get(ids)
        if found is None:
            if len(day.sets) >= _MAX_SETS:
                day.sets.clear()
            found = day.sets[ids] = self._compute(view, ids, midnight, day.measures)
        return found

    def _compute(
        self,
        view: LedgerView,
        ids: frozenset[str],
        midnight: datetime,
        known: dict[str, tuple[float, ...]],
    ) -> _Fit:
        ordered = sorted(ids)
        since = midnight - self.window
        for rep in ordered:
            if rep not in known:
                known[rep] = self._measure(view, rep, since, midnight)
        fit = self._fit(ordered, known) if ordered else None
        if fit is None:
            days = _span(self.window)
            note = f"equal weights: no data to tell reps apart in the {days} before today"
            return _Fit({r: 1.0 for r in ordered}, lambda rep: note)
        return fit

    def __repr__(self) -> str:
        fields = [f for f in attrs.fields(type(self)) if f.init and f.repr]
        fields.sort(key=lambda f: f.kw_only)
        args = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields)
        return f"{self.name}({args})"


def _span(length: timedelta) -> str:
    """A duration in words for reasons: "30 days", "1 hour", "90 minutes"."""
    for unit, name in ((timedelta(days=1), "day"), (timedelta(hours=1), "hour")):
        if not length % unit:
            count = length // unit
            return f"{count} {name}" + ("s" if count != 1 else "")
    if not length % timedelta(minutes=1):
        count = length // timedelta(minutes=1)
        return f"{count} minute" + ("s" if count != 1 else "")
    return str(length)


def _points(value: Mapping[str, float] | None) -> FrozenMap[float] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"PerformanceWeighted.points must be a mapping of lead grade to points, e.g. "
            f'{{"A": 1, "D": 4}}, got {value!r}'
        )
    for grade, pts in value.items():
        if not isinstance(grade, str):
            raise ConfigError(
                f"PerformanceWeighted.points keys are lead grades (strings), got {grade!r}"
            )
        if (
            isinstance(pts, bool)
            or not isinstance(pts, int | float)
            or not math.isfinite(pts)
            or pts < 0
        ):
            raise ConfigError(
                f"PerformanceWeighted.points[{grade!r}] must be a finite number >= 0, got {pts!r}"
            )
    return FrozenMap({grade: float(pts) for grade, pts in value.items()})


def _v_measure(inst: object, attr: attrs.Attribute[str], value: str) -> None:
    if value not in MEASURES:
        raise ConfigError(
            f"PerformanceWeighted.measure must be one of {', '.join(map(repr, MEASURES))}, "
            f"got {value!r}"
        )


@attrs.frozen(repr=False)
class PerformanceWeighted(_DailyWeighted):
    """Shares grow with each rep's performance over `window`, shrunk toward the team.

    When to use it: the team has history and wants leads to follow results — "成交高的员工占用
    更多的资源", top closers get more leads — without crowning a rep on a lucky week.

    Weight of rep r (per lead received in the window, among the eligible reps):

        weight(r) = (value(r) + k * team) / (received(r) + k),   team = sum(value) / sum(received)

    with `k = prior_strength` pseudo-leads at the team rate (an empirical-Bayes beta prior), so a
    rep with few leads sits near the team rate and earns distance from it with volume. `value` is
    the number of sales (`measure="conversion"`), their revenue (`"revenue"`), or points per sale
    by the sold lead's grade (`"points"`, with `points={"A": 1, "D": 4}`; a grade not listed, or
    none, counts 1), so reps given harder leads are not punished for it.

    Guarantee: weights come from events dated in the `window` before the start of the current
    day (in `tz`) and are fixed for the day; leads are shared by deficit over `period`, so while
    every rep stays eligible each rep's count is within two leads of their share at every point
    (one in most teams). A sale recorded today moves weights from tomorrow.
    With a `period` longer than a day ("week", "month", "all") the weights are learned again
    at each midnight inside it, so the target moves there: the bound holds from the period's
    start to the first midnight inside it, and each change is then absorbed at the bounded
    catch-up pace (`Weighted`), as `leadrouter.testing.check_shares_track_weights` checks.

    With no history — no lead received by the eligible reps in the window, or no sale (revenue,
    points) among them — every rep gets weight 1: equal rotation by deficit.

    Caveat: weighting by results can entrench early luck (more leads, more sales, more leads).
    `prior_strength` (how many leads a rep needs before their own rate counts) and `window` (how
    long a good or bad run is remembered) are the levers.
    """

    window: timedelta = attrs.field(default=timedelta(days=30), validator=WINDOW)
    prior_strength: float = attrs.field(default=20.0, validator=PRIOR)
    measure: str = attrs.field(default="conversion", validator=_v_measure)
    points: FrozenMap[float] | None = attrs.field(default=None, converter=_points)

    tags = StrategyTags(needs_history=True, weighted=True)

    def __attrs_post_init__(self) -> None:
        if self.measure == "points" and self.points is None:
            raise ConfigError(
                'PerformanceWeighted(measure="points") needs points={grade: points}, e.g. '
                'points={"A": 1, "D": 4}'
            )
        if self.measure != "points" and self.points is not None:
            raise ConfigError(
                f'PerformanceWeighted: points= is only used with measure="points" (measure is '
                f"{self.measure!r}): drop points= or set measure='points'"
            )

    def _measure(
        self, view: LedgerView, rep: str, since: datetime, until: datetime
    ) -> tuple[float, ...]:
        """(leads received, value) over the window."""
        stats = view.stats(rep, since=since, until=until)
        if self.measure == "conversion":
            return stats.received, stats.converted
        if self.measure == "revenue":
            return stats.received, stats.revenue
        return stats.received, self._points_of(view, rep, since, until)

    def _fit(self, ids: list[str], measures: Mapping[str, tuple[float, ...]]) -> _Fit | None:
        received = {rep: measures[rep][0] for rep in ids}
        value = {rep: measures[rep][1] for rep in ids}
        total_n = sum(received.values())
        total_v = sum(value.values())
        if total_n == 0 or total_v <= 0:
            return None
        team = total_v / total_n
        k = self.prior_strength
        weights = {r: shrunk(value[r], received[r], team, k) for r in ids}
        what = {"conversion": "sales", "revenue": "revenue", "points": "points"}[self.measure]
        window = _span(self.window)

        def note(r: str) -> str:
            return (
                f"weight {weights[r]:.4g} = ({value[r]:.6g} {what} + {k:g} x team {team:.4g}) / "
                f"({received[r]} leads + {k:g}) over the {window} before today"
            )

        return _Fit(weights, note)

    def _points_of(self, view: LedgerView, rep: str, since: datetime, until: datetime) -> float:
        if not is_sales_view(view):
            raise ConfigError(
                f'PerformanceWeighted(measure="points") needs each sale\'s lead, which this '
                f"ledger view ({type(view).__name__}) does not offer (conversions() and lead()): "
                'use measure="conversion" or "revenue" here, e.g. at the team level of '
                "Hierarchical"
            )
        table = self.points or FrozenMap()
        total = 0.0
        for _, lead_id, _ in view.conversions(rep, since, until):
            grade = view.lead(lead_id).grade
            total += table.get(grade, 1.0) if grade is not None else 1.0
        return total
