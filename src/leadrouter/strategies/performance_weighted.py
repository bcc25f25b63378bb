"""Performance-weighted allocation (成交高的员工占用更多的资源): top closers get more leads.

A rep's target weight is their performance over a window (conversion rate, revenue per lead, or
grade-weighted points per lead), shrunk toward the team value with an empirical-Bayes prior, so
a rep with 3 leads and 1 sale is not crowned on luck. The leads themselves are shared by deficit
(`Weighted`): realised shares track the day's targets within one lead.

This module also holds `_DailyWeighted`, the part shared with `UtilizationWeighted`: weights
learned from the ledger over the window that ends at the start of the current day, computed once
per (ledger, day, eligible reps) and cached.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import attrs

from leadrouter._memo import LedgerMemo
from leadrouter._util import FrozenMap, check_aware, shrunk
from leadrouter._validators import non_negative_number, positive_duration
from leadrouter.caps import day_start
from leadrouter.context import Context
from leadrouter.errors import ConfigError
from leadrouter.ledger import LedgerView
from leadrouter.model import Lead, Rep
from leadrouter.strategies.base import Pick, StrategyTags
from leadrouter.strategies.weighted import Weighted

__all__ = ["MEASURES", "PerformanceWeighted"]

MEASURES = ("conversion", "revenue", "points")
"""The performance measures `PerformanceWeighted(measure=...)` accepts."""

_MAX_SETS = 512


@attrs.frozen
class _Fit:
    """One day's learned weights for one eligible set, and a line per rep saying where each
    weight came from (appended to the decision's reason)."""

    weights: dict[str, float]
    notes: dict[str, str]


WINDOW = positive_duration("timedelta(days=30)")
PRIOR = non_negative_number("pseudo-leads at the team rate; 20 is a good start, 0 means raw rates")


@attrs.frozen(repr=False)
class _DailyWeighted(Weighted):
    """Base of weighted strategies whose weights are learned from the ledger.

    Weights come from events dated in the window `[midnight - window, midnight)`, where midnight
    starts the current day in `tz`. So they are the same whichever lead of the day asks first,
    a restart mid-day finds the same weights, and the day's deficit targets stay fixed: new
    outcomes move weights from the next day. They are computed once per (ledger, day, set of
    eligible reps) and cached by ledger, so one instance can serve many routers.

    A subclass implements `_fit`; None from it (no data to tell reps apart) means equal weights.
    """

    _cache: LedgerMemo[dict[frozenset[str], _Fit]] = attrs.field(
        factory=LedgerMemo, init=False, eq=False, repr=False, hash=False
    )

    window: timedelta = attrs.field(validator=WINDOW)
    prior_strength: float = attrs.field(validator=PRIOR)

    def _fit(
        self, view: LedgerView, ids: list[str], since: datetime, until: datetime
    ) -> _Fit | None:
        raise NotImplementedError

    def weights(self, ctx: Context) -> Mapping[str, float]:
        return self._fitted(ctx.view, ctx.ids, ctx.now).weights

    def route(self, ctx: Context) -> Pick | None:
        pick = super().route(ctx)
        if pick is None or pick.rep_id is None:
            return pick
        note = self._fitted(ctx.view, ctx.ids, ctx.now).notes.get(pick.rep_id)
        if not note:
            return pick
        return Pick(
            pick.rep_id,
            scores=pick.scores,
            reason=f"{pick.reason}; {note}",
            propensity=pick.propensity,
            pool=pick.pool,
        )

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
        sets = self._cache.setdefault(view, dict, midnight.date())
        found = sets.get(ids)
        if found is None:
            if len(sets) >= _MAX_SETS:
                sets.clear()
            found = sets[ids] = self._compute(view, ids, midnight)
        return found

    def _compute(self, view: LedgerView, ids: frozenset[str], midnight: datetime) -> _Fit:
        ordered = sorted(ids)
        fit = self._fit(view, ordered, midnight - self.window, midnight) if ordered else None
        if fit is None:
            days = _span(self.window)
            note = f"equal weights: no data to tell reps apart in the {days} before today"
            return _Fit({r: 1.0 for r in ordered}, {r: note for r in ordered})
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


@runtime_checkable
class _SalesView(Protocol):
    """What measure="points" needs beyond `LedgerView`: each sale's lead (for its grade)."""

    def conversions(
        self, rep_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[tuple[datetime, str, float]]: ...

    def lead(self, lead_id: str) -> Lead: ...


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
    every rep stays eligible each rep's count is within one lead of their share at every point.
    A sale recorded today moves weights from tomorrow.

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

    tags = StrategyTags(needs_history=True)

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

    def _fit(
        self, view: LedgerView, ids: list[str], since: datetime, until: datetime
    ) -> _Fit | None:
        received: dict[str, int] = {}
        value: dict[str, float] = {}
        for rep in ids:
            stats = view.stats(rep, since=since, until=until)
            received[rep] = stats.received
            if self.measure == "conversion":
                value[rep] = stats.converted
            elif self.measure == "revenue":
                value[rep] = stats.revenue
            else:
                value[rep] = self._points_of(view, rep, since, until)
        total_n = sum(received.values())
        total_v = sum(value.values())
        if total_n == 0 or total_v <= 0:
            return None
        team = total_v / total_n
        k = self.prior_strength
        weights = {r: shrunk(value[r], received[r], team, k) for r in ids}
        what = {"conversion": "sales", "revenue": "revenue", "points": "points"}[self.measure]
        window = _span(self.window)
        notes = {
            r: (
                f"weight {weights[r]:.4g} = ({value[r]:.6g} {what} + {k:g} x team {team:.4g}) / "
                f"({received[r]} leads + {k:g}) over the {window} before today"
            )
            for r in ids
        }
        return _Fit(weights, notes)

    def _points_of(self, view: LedgerView, rep: str, since: datetime, until: datetime) -> float:
        if not isinstance(view, _SalesView):
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
