"""DynamicCaps: each rep's daily cap, forecast from the rep's own daily series of handled leads.

A fixed daily cap is either too tight for the rep who works 40 leads a day or too loose for the
one who works 10. `DynamicCaps` learns each rep's pace: it forecasts today's number from the rep's
own daily series (exponential smoothing, with weekly seasonality once there are four weeks of it)
and lets the rep receive that many leads plus a headroom. While a rep's history is short, a fixed
fallback cap applies instead.

How the forecast is kept cheap. Fitting Holt-Winters with statsmodels costs from several to
over a hundred milliseconds per series, far too much to do per lead, and wasteful for every rep
every day. So the work is split:

- *Parameters* (the smoothing weights and the initial state) are fitted with statsmodels rarely:
  once every `refit_every` days per rep, on a day fixed by a hash of the rep id (so about a
  seventh of a team is refitted on any day, never all of it on Mondays), on the history before
  that day; and once more when the rep's model changes between two refit days (history first
  long enough, or long enough for seasonality), on the history as of the day it changed.
- *The forecast* is recomputed once per local day: the same smoothing recursion, run in numpy
  for all reps at once with their fitted parameters over the series up to yesterday.

The model, its fit and the recursion live in `leadrouter.forecast`; this module decides which
series to fit when, and turns forecasts into caps. A fit whose optimiser did not converge is
still used (the bounds apply), and is reported: a `ForecastFitWarning` when it is fitted, and a
note on every `CapForecast` built from it.

Both depend only on the ledger and the day, never on when the router happened to ask, so two
routers over the same ledger, or a restart, give the same caps.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import attrs

from leadrouter._memo import LedgerMemo
from leadrouter._util import EMPTY, FrozenMap, check_aware, stable_key
from leadrouter._validators import (
    count_field,
    mapping_field,
    number_field,
    of_type,
    to_map,
    tuple_of,
    valid_zone,
    whole_number,
)
from leadrouter.caps import Cap, FixedCap, day_start, next_day_start
from leadrouter.context import Context, TickContext
from leadrouter.errors import ConfigError, ForecastFitWarning, InvalidValueError
from leadrouter.forecast import SEASON, Fit, fit_smoothing, run_smoothing
from leadrouter.model import zone

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from leadrouter.ledger import LedgerView

__all__ = ["METRICS", "CapForecast", "DynamicCaps"]

METRICS = ("touched", "received")
"""The daily series a cap can be forecast from: leads first touched, or leads received."""

RECENT = 14
"""How many of the latest daily values `CapForecast.recent` shows."""

FALLBACK, SEASONAL, NON_SEASONAL = "fallback", "seasonal", "non-seasonal"
_MODELS = (SEASONAL, NON_SEASONAL, FALLBACK)


# ------------------------------------------------------------------------------ explanation


def _v_metric(inst: object, attr: attrs.Attribute[str], value: str) -> None:
    if value not in METRICS:
        raise ConfigError(
            f"{type(inst).__name__}.{attr.name} must be one of {', '.join(METRICS)}, got {value!r}"
        )


def _v_model(inst: object, attr: attrs.Attribute[str], value: str) -> None:
    if value not in _MODELS:
        raise InvalidValueError(
            f"{type(inst).__name__}.{attr.name} must be one of {', '.join(_MODELS)}, got {value!r}"
        )


# a headroom of 20 would let a rep get 21 times the forecast: someone meant 20%, written 0.2
_v_headroom = number_field("a fraction: 0.2 = 20% above the forecast", at_least=0, at_most=10)
_v_day = of_type(date, "date(2026, 1, 5)", optional=True)


@attrs.frozen
class CapForecast:
    """The forecast behind one rep's cap on one local day (what `DynamicCaps.explain` returns).

    `model` is "seasonal", "non-seasonal" or "fallback" (and `method` says which smoothing, or why
    the fallback applies). `history_days` counts the days from the rep's first to last active day
    in the lookback (zeros in between included); `recent` are the latest of those daily values,
    oldest first, ending on `last_day`. `params` are the fitted smoothing weights (alpha: level,
    beta: trend, phi: damping, gamma: season), fitted on the days before `fitted_on`.
    `components` split the forecast into level, trend and today's seasonal effect.
    `cap` is today's daily cap: round(forecast × (1 + headroom)) clamped to `bounds`, or the
    fallback's daily limit (None: no daily limit). `note` says when the cap was clamped to the
    bounds, and when the fit's optimiser did not converge (the parameters are its last step).
    """

    rep_id: str = attrs.field(validator=of_type(str, "'rep-1'"))
    day: date = attrs.field(validator=of_type(date, "date(2026, 1, 5)"))
    tz: str = attrs.field(validator=valid_zone)
    metric: str = attrs.field(validator=_v_metric)
    model: str = attrs.field(validator=_v_model)
    method: str = attrs.field(validator=of_type(str, "'Holt-Winters'"))
    history_days: int = attrs.field(validator=count_field)
    first_day: date | None = attrs.field(validator=_v_day)
    last_day: date | None = attrs.field(validator=_v_day)
    recent: tuple[int, ...] = attrs.field(validator=tuple_of(int, "(3, 5, 4)"))
    params: FrozenMap[float] = attrs.field(
        converter=to_map, validator=mapping_field("{'alpha': 0.3}")
    )
    fitted_on: date | None = attrs.field(validator=_v_day)
    components: FrozenMap[float] = attrs.field(
        converter=to_map, validator=mapping_field("{'level': 5.0}")
    )
    forecast: float | None = attrs.field(
        validator=number_field("leads a day", none="the fallback applies", error=InvalidValueError)
    )
    headroom: float = attrs.field(validator=_v_headroom)
    bounds: tuple[int, int] = attrs.field(validator=tuple_of(int, "(1, 500)", length=2))
    cap: int | None = attrs.field(
        validator=whole_number(none="no daily limit", error=InvalidValueError)
    )
    note: str = attrs.field(default="", validator=of_type(str, "'held at the upper bound 500'"))

    @property
    def raw(self) -> float | None:
        """forecast × (1 + headroom), before rounding and the bounds."""
        return None if self.forecast is None else self.forecast * (1.0 + self.headroom)

    def __str__(self) -> str:
        head = f"rep {self.rep_id!r} on {self.day:%a %Y-%m-%d} ({self.tz}): "
        if self.model == FALLBACK:
            limit = "no daily limit" if self.cap is None else f"daily cap {self.cap}"
            lines = [head + f"fallback, {limit}", f"  why        {self.method}"]
            if self.history_days:
                lines.append(self._history_line())
            return "\n".join(lines)
        assert self.forecast is not None and self.raw is not None
        params = " ".join(f"{k}={v:.3g}" for k, v in self.params.items())
        parts = " + ".join(f"{k} {v:.1f}" for k, v in self.components.items())
        lo, hi = self.bounds
        lines = [
            head + f"daily cap {self.cap}",
            f"  model      {self.model}: {self.method}, fitted on the days before "
            f"{self.fitted_on:%Y-%m-%d}",
            self._history_line(),
            f"  parameters {params}",
            f"  forecast   {self.forecast:.1f} leads {self.metric} ({parts})",
            f"  cap        {self.forecast:.1f} × (1 + headroom {self.headroom:g}) = {self.raw:.1f}"
            f" → {self.cap}, bounds [{lo}, {hi}]" + (f"; {self.note}" if self.note else ""),
        ]
        return "\n".join(lines)

    def _history_line(self) -> str:
        recent = " ".join(str(v) for v in self.recent)
        return (
            f"  history    {self.history_days} days of leads {self.metric}, "
            f"{self.first_day:%Y-%m-%d} to {self.last_day:%Y-%m-%d}; last {len(self.recent)}: "
            f"{recent}"
        )


# ------------------------------------------------------------------------------ validators


def _v_fallback(inst: object, attr: attrs.Attribute[FixedCap], value: FixedCap) -> None:
    if not isinstance(value, FixedCap):
        raise ConfigError(
            f"DynamicCaps.fallback must be a FixedCap (the daily cap while history is short), "
            f"got {value!r}"
        )
    if value.open is not None:
        raise ConfigError(
            f"DynamicCaps.fallback={value!r} has open={value.open}, but the forecast replaces "
            "the fallback once history is long enough, so that held cap would silently stop "
            f"applying: put it beside, Router(caps=[DynamicCaps(FixedCap(daily=...)), "
            f"FixedCap(open={value.open})])"
        )


def _bounds(value: Iterable[int]) -> tuple[int, int]:
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise ConfigError(f"DynamicCaps.bounds must be a pair (lo, hi), got {value!r}") from None
    for v in (lo, hi):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConfigError(f"DynamicCaps.bounds must be whole numbers, got {value!r}")
    if not 0 <= lo <= hi or hi < 1:
        raise ConfigError(
            f"DynamicCaps.bounds must satisfy 0 <= lo <= hi and hi >= 1, got ({lo}, {hi})"
        )
    return (lo, hi)


def _v_tz(inst: DynamicCaps, attr: attrs.Attribute[str], value: str) -> None:
    valid_zone(inst, attr, value)
    if inst.fallback.tz != value:
        raise ConfigError(
            f"DynamicCaps counts days in tz={value!r} but its fallback counts them in "
            f"{inst.fallback.tz!r}: give both the same zone, e.g. "
            f"DynamicCaps(FixedCap(daily=..., tz={value!r}), tz={value!r})"
        )


def _v_seasonal_after(inst: DynamicCaps, attr: attrs.Attribute[Any], value: int | None) -> None:
    if value is None:
        return
    whole_number(2 * SEASON)(inst, attr, value)
    if value > inst.window:
        raise ConfigError(
            f"DynamicCaps.seasonal_after={value} is longer than window={inst.window}, so the "
            "seasonal model could never be used: raise window, lower seasonal_after, or pass "
            "seasonal_after=None for no seasonality"
        )


def _v_window(inst: DynamicCaps, attr: attrs.Attribute[int], value: int) -> None:
    whole_number(SEASON)(inst, attr, value)
    if value < inst.min_history_days:
        raise ConfigError(
            f"DynamicCaps.window={value} is shorter than min_history_days="
            f"{inst.min_history_days}, so no rep could ever leave the fallback: raise window"
        )


# ------------------------------------------------------------------------------ the cap


class _Memo:
    """One ledger's cached state: today's forecasts, and every rep's latest fit (kept across
    days until the rep's next refit)."""

    __slots__ = ("day", "fits", "full", "plans")

    def __init__(self) -> None:
        self.day: date | None = None
        self.plans: dict[str, CapForecast] = {}
        self.full: frozenset[str] = frozenset()
        self.fits: dict[str, Fit] = {}


@attrs.frozen(repr=False)
class DynamicCaps(Cap):
    """A daily cap per rep, forecast from the rep's own daily series of handled leads.

    When to use it: reps work at different paces and a single daily cap is wrong for most of
    them; you want each rep to get about what they can handle, a little more so they can grow,
    and no flood on a day when leads spike.

    Parameters:

    - `fallback`: the FixedCap (daily limit only) that applies to a rep with fewer than
      `min_history_days` days of history. A held cap goes beside, not inside:
      `Router(caps=[DynamicCaps(FixedCap(daily=20)), FixedCap(open=50)])`.
    - `min_history_days`: days from a rep's first to last active day needed for a forecast.
    - `headroom`: the cap is the forecast × (1 + headroom), rounded, so a rep can get more than
      they handled before — and this is also how fast a cap can grow when it binds every day.
    - `bounds=(lo, hi)`: the cap is clamped to this range; `lo >= 1` means nobody is starved.
    - `tz`: the zone days are counted in (the fallback must use the same).
    - `metric`: the series forecast. "touched" (default) counts leads a rep first followed up
      each day — what they handled, so a rep who lets leads rot gets fewer; it needs the CRM to
      report `Touched` events (a rep with none stays on the fallback). "received" counts leads
      assigned or claimed — use it when touches are not reported (in push routing it mostly
      echoes past allocation, which still damps surges).
    - `window`: days of history a fit looks back over, from the rep's refit day (the daily
      forecast then also runs through the days since).
    - `seasonal_after`: history days from which the model has weekly seasonality (None: never).
    - `refit_every`: days between statsmodels fits of a rep's parameters.
    - `trend`: add a damped trend (Holt) to the model.

    Guarantee: a rep never receives more leads in a local day than that day's cap: the forecast
    cap with enough history, else the fallback's daily limit. A day's cap is computed once, from
    the series up to yesterday (today's partial day is never in it), and does not change during
    the day. Caches are keyed by ledger and day, so one instance can serve many routers.
    """

    fallback: FixedCap = attrs.field(validator=_v_fallback)
    min_history_days: int = attrs.field(default=14, validator=whole_number(SEASON))
    headroom: float = attrs.field(default=0.2, validator=_v_headroom)
    bounds: tuple[int, int] = attrs.field(default=(1, 500), kw_only=True, converter=_bounds)
    tz: str = attrs.field(default="UTC", kw_only=True, validator=_v_tz)
    metric: str = attrs.field(default="touched", kw_only=True, validator=_v_metric)
    window: int = attrs.field(default=56, kw_only=True, validator=_v_window)
    seasonal_after: int | None = attrs.field(default=28, kw_only=True, validator=_v_seasonal_after)
    refit_every: int = attrs.field(default=7, kw_only=True, validator=whole_number(1))
    trend: bool = attrs.field(default=False, kw_only=True, validator=of_type(bool, "True"))
    _memos: LedgerMemo[_Memo] = attrs.field(
        factory=LedgerMemo, init=False, eq=False, repr=False, hash=False
    )

    def __repr__(self) -> str:
        """The fallback, min_history_days and headroom, then only settings changed from their
        defaults, so a cap reason stays readable."""
        shown = [f"fallback={self.fallback!r}"]
        for field in attrs.fields(type(self)):
            if not field.init or field.name == "fallback":
                continue
            value = getattr(self, field.name)
            if field.name in ("min_history_days", "headroom") or value != field.default:
                shown.append(f"{field.name}={value!r}")
        return f"DynamicCaps({', '.join(shown)})"

    # -------------------------------------------------------------- the Cap protocol

    def check(self, rep_id: str, ctx: Context) -> str | None:
        plan = self._plan(rep_id, ctx.view, ctx.now, (r.id for r in ctx.roster.active))
        if plan.model == FALLBACK:
            why = self.fallback.check(rep_id, ctx)
        else:
            assert plan.cap is not None and plan.forecast is not None
            today = ctx.view.count(rep_id, since=day_start(ctx.now, self.tz))
            if today < plan.cap:
                return None
            note = f", {plan.note}" if plan.note else ""
            why = (
                f"forecast daily cap {plan.cap} reached ({today} received today; forecast "
                f"{plan.forecast:.1f} × {1 + self.headroom:g}{note}, {self.tz})"
            )
        if why is not None:
            self._mark_full(rep_id, ctx.view, plan.day)
        return why

    def next_reset(self, ctx: TickContext) -> datetime | None:
        """The next midnight in `tz`: each day has its own forecast cap, counted from zero."""
        return next_day_start(ctx.now, self.tz)

    def saturated(self, ctx: Context) -> frozenset[str]:
        """Reps found at today's cap earlier today (cached per ledger and day): a day's cap never
        changes and receipts only grow, so they stay full until the next local day. (The
        fallback may not hold an `open` limit, so its refusals are all daily ones too.)"""
        memo = self._memo(ctx.view, create=False)
        if memo is None or not memo.full or memo.day != day_start(ctx.now, self.tz).date():
            return frozenset()
        return memo.full

    def _mark_full(self, rep_id: str, view: LedgerView, day: date) -> None:
        memo = self._memo(view, create=False)
        if memo is not None and memo.day == day and rep_id not in memo.full:
            memo.full = memo.full | {rep_id}

    def remaining(self, rep_id: str, ctx: Context) -> int | None:
        plan = self._plan(rep_id, ctx.view, ctx.now, (r.id for r in ctx.roster.active))
        if plan.model == FALLBACK:
            return self.fallback.remaining(rep_id, ctx)
        assert plan.cap is not None
        today = ctx.view.count(rep_id, since=day_start(ctx.now, self.tz))
        return max(plan.cap - today, 0)

    # -------------------------------------------------------------- explaining

    def explain(self, rep_id: str, ledger: LedgerView, now: datetime) -> CapForecast:
        """The forecast behind `rep_id`'s cap on `now`'s local day (the one `check` uses)."""
        check_aware(now, "now")
        return self._plan(rep_id, ledger, now, ())

    def explain_many(
        self, rep_ids: Iterable[str], ledger: LedgerView, now: datetime
    ) -> dict[str, CapForecast]:
        """`explain` for many reps at once (one vectorised recompute for those not cached)."""
        check_aware(now, "now")
        ids = list(dict.fromkeys(rep_ids))
        if not ids:
            return {}
        self._plan(ids[0], ledger, now, ids)
        return {rep: self._plan(rep, ledger, now, ()) for rep in ids}

    # -------------------------------------------------------------- caching

    def _plan(
        self, rep_id: str, view: LedgerView, now: datetime, batch: Iterable[str]
    ) -> CapForecast:
        """Today's forecast for `rep_id`, computing it (with `batch`, the reps likely to be
        asked next) on the first call of the day for this ledger."""
        day = day_start(now, self.tz).date()
        memo = self._memo(view, create=True)
        assert memo is not None
        if memo.day != day:
            memo.day, memo.plans, memo.full = day, {}, frozenset()
        plan = memo.plans.get(rep_id)
        if plan is None:
            todo = [rep_id, *(r for r in batch if r != rep_id and r not in memo.plans)]
            memo.plans.update(self._compute(todo, view, day, memo.fits))
            plan = memo.plans[rep_id]
        return plan

    def _memo(self, view: LedgerView, create: bool) -> _Memo | None:
        """The cache for this ledger (`LedgerMemo`: none from before the ledger rebuilt its
        views, so no rep stays "full today" because of leads a rollback took back); a view
        that cannot be weakly referenced gets a fresh one each time (correct, but uncached)."""
        if create:
            return self._memos.setdefault(view, _Memo)
        return self._memos.get(view)

    # -------------------------------------------------------------- computing

    def _compute(
        self, rep_ids: Sequence[str], view: LedgerView, day: date, fits: dict[str, Fit]
    ) -> dict[str, CapForecast]:
        """Forecast `day`'s cap for every rep in `rep_ids`: series, fits where due, then one
        vectorised smoothing pass."""
        span = self.window + self.refit_every - 1
        start = day - timedelta(days=span)
        where = zone(self.tz)
        edges = [_midnight(start + timedelta(days=i), where) for i in range(span + 1)]
        out: dict[str, CapForecast] = {}
        ready: list[tuple[str, list[int], int, int, Fit, date]] = []
        for rep in rep_ids:
            counts = _daily_counts(view, rep, edges, self.metric)
            since_refit = (day.toordinal() + stable_key(0, rep)) % self.refit_every
            anchor = span - since_refit
            active = [i for i in range(anchor - self.window, span) if counts[i] > 0]
            if not active:
                why = f"no leads {self.metric} in the last {self.window} days" + (
                    " (does your CRM report Touched events? if not, use metric='received')"
                    if self.metric == "touched"
                    else ""
                )
                out[rep] = self._fallback(rep, day, why, counts, None, None, start)
                continue
            first, last = active[0], active[-1]
            days = last - first + 1
            if days < self.min_history_days:
                why = f"{days} days of history, fewer than min_history_days={self.min_history_days}"
                out[rep] = self._fallback(rep, day, why, counts, first, last, start)
                continue
            seasonal = self.seasonal_after is not None and days >= self.seasonal_after
            needed = self.seasonal_after if seasonal else self.min_history_days
            assert needed is not None
            before = [i for i in active if i < anchor]
            if before and before[-1] - first + 1 >= needed:
                fit_last = before[-1]
                fitted_on = day - timedelta(days=since_refit)
            else:  # long enough only since the refit day: fit as of the first day it was
                fit_last = next(i for i in active if i - first + 1 >= needed)
                fitted_on = start + timedelta(days=fit_last + 1)
            key = (seasonal, start + timedelta(days=first), start + timedelta(days=fit_last))
            fit = fits.get(rep)
            if fit is None or fit.key != key:
                try:
                    fit = fit_smoothing(counts[first : fit_last + 1], seasonal, self.trend, key)
                except Exception as exc:  # any statsmodels failure: the fallback is safe
                    why = f"the forecast model could not be fitted ({type(exc).__name__}: {exc})"
                    out[rep] = self._fallback(rep, day, why, counts, first, last, start)
                    continue
                fits[rep] = fit
                if fit.note:
                    self._warn_fit(rep, fit, fitted_on)
            ready.append((rep, counts, first, last, fit, fitted_on))
        if ready:
            out.update(self._smooth(ready, day, start, span))
        return out

    def _smooth(
        self,
        ready: list[tuple[str, list[int], int, int, Fit, date]],
        day: date,
        start: date,
        span: int,
    ) -> dict[str, CapForecast]:
        """Run every rep's smoothing recursion at once, one day per step, and turn the states
        into today's forecasts and caps."""
        import numpy as np

        y: npt.NDArray[np.float64] = np.array([r[1] for r in ready], dtype=float)
        first = np.array([r[2] for r in ready])
        last = np.array([r[3] for r in ready])
        smoothed = run_smoothing(y, first, last, [r[4] for r in ready], start.weekday(), span)
        out: dict[str, CapForecast] = {}
        for i, (rep, counts, lo_i, hi_i, fit, fitted_on) in enumerate(ready):
            value = float(smoothed.forecast[i])
            if not math.isfinite(value):
                why = "the forecast was not a finite number"
                out[rep] = self._fallback(rep, day, why, counts, lo_i, hi_i, start)
                continue
            seasonal = bool(fit.key[0])
            components = {"level": float(smoothed.level[i])}
            if self.trend:
                components["trend"] = float(smoothed.trend[i])
            if seasonal:
                components["season"] = float(smoothed.season[i])
            cap, bounded = self._cap_from(value)
            note = "; ".join(part for part in (bounded, fit.note) if part)
            out[rep] = CapForecast(
                rep_id=rep,
                day=day,
                tz=self.tz,
                metric=self.metric,
                model=SEASONAL if seasonal else NON_SEASONAL,
                method=fit.method,
                history_days=hi_i - lo_i + 1,
                first_day=start + timedelta(days=lo_i),
                last_day=start + timedelta(days=hi_i),
                recent=tuple(counts[max(lo_i, hi_i + 1 - RECENT) : hi_i + 1]),
                params=fit.params(seasonal, self.trend),
                fitted_on=fitted_on,
                components=components,
                forecast=value,
                headroom=float(self.headroom),
                bounds=self.bounds,
                cap=cap,
                note=note,
            )
        return out

    def _warn_fit(self, rep: str, fit: Fit, fitted_on: date) -> None:
        """Say, once per fit, that `rep`'s forecast rests on a fit that did not converge."""
        warnings.warn(
            ForecastFitWarning(
                f"DynamicCaps: the {fit.method} model of rep {rep!r}, fitted on the days before "
                f"{fitted_on:%Y-%m-%d}: {fit.note}; its caps are used, within bounds="
                f"{self.bounds}, until the next refit. Check the series and parameters with "
                f"DynamicCaps.explain({rep!r}, ledger, now): an outlier day is the usual cause"
            ),
            stacklevel=2,
        )

    def _cap_from(self, forecast: float) -> tuple[int, str]:
        """round(forecast × (1 + headroom)) clamped to the bounds, and a note when clamped."""
        lo, hi = self.bounds
        cap = math.floor(forecast * (1.0 + self.headroom) + 0.5)
        if cap < lo:
            return lo, f"raised to the lower bound {lo}"
        if cap > hi:
            return hi, f"held at the upper bound {hi}"
        return cap, ""

    def _fallback(
        self,
        rep: str,
        day: date,
        why: str,
        counts: list[int],
        first: int | None,
        last: int | None,
        start: date,
    ) -> CapForecast:
        has = first is not None and last is not None
        lo_i, hi_i = (first or 0, last or 0) if has else (0, -1)
        return CapForecast(
            rep_id=rep,
            day=day,
            tz=self.tz,
            metric=self.metric,
            model=FALLBACK,
            method=f"{why}; {self.fallback!r} applies",
            history_days=hi_i - lo_i + 1,
            first_day=start + timedelta(days=lo_i) if has else None,
            last_day=start + timedelta(days=hi_i) if has else None,
            recent=tuple(counts[max(lo_i, hi_i + 1 - RECENT) : hi_i + 1]),
            params=EMPTY,
            fitted_on=None,
            components=EMPTY,
            forecast=None,
            headroom=float(self.headroom),
            bounds=self.bounds,
            cap=self.fallback.daily,
        )


# ------------------------------------------------------------------------------ series


def _midnight(day: date, where: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=where)


def _daily_counts(
    view: LedgerView, rep_id: str, edges: Sequence[datetime], metric: str
) -> list[int]:
    """The rep's `metric` per local day, for the days between consecutive `edges`.

    A `Ledger` answers in one bisect per edge (`counts_between`); any other view through the
    `LedgerView` protocol, a few times slower.
    """
    fast = getattr(view, "counts_between", None)
    if fast is not None:
        return list(fast(rep_id, edges, metric))
    if metric == "received":
        upto = [view.count(rep_id, until=edge) for edge in edges]
        return [b - a for a, b in pairwise(upto)]
    return [view.stats(rep_id, since=a, until=b).touched for a, b in pairwise(edges)]
