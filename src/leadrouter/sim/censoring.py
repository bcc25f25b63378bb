"""Open deals are censored, not lost: conversion as "sold within a horizon", estimated with
inverse probability of censoring weighting.

A CRM export is taken at one moment, `as_of`. A deal still open then has not been decided yet:
counting it as lost biases every conversion rate down - most for recent leads and busy reps -
and dropping it keeps the leads decided quickly, which are not a fair sample either. So
conversion is defined over a stated horizon H ("sold within H of arrival") and estimated with
inverse probability of censoring weights (IPCW; Robins & Rotnitzky 1992, Robins & Finkelstein
2000):

- a lead's outcome by H is **known** when it was won or lost before min(H, as_of - arrival), or
  it was still open but followed beyond H (then: not sold within H). It is known at
  D = min(its decision, H);
- a lead still open at `as_of` less than H after it arrived is **censored** there: weight 0;
- a known lead gets weight 1 / G(D-), G the Kaplan-Meier survival of censoring among the leads
  that arrived on the same local weekday (open leads are censoring events at as_of - arrival;
  known leads leave the risk set at D). A lead decided at D had chance G(D-) of being decided
  within the export, so it stands for 1 / G(D-) leads.

Every weighted sum over leads then has the expectation it would have with every outcome known,
so a rate that is a ratio of weighted sums (sales over leads, per rep x segment, per product)
estimates P(sold within H) - provided how long a lead was followed is independent of how soon it
is decided. Both depend on when it arrived: the weekday (Friday's leads wait for Monday, and the
export's weekday fixes which days' leads are the recent ones) - hence a curve per weekday, which
took a 5% bias on synthetic teams to nil - and any change of the team's pace over the history,
which the weights cannot see. They also need leads followed as long as deals take to be decided:
a set of recent leads alone (whose lost deals are all still open, while quick wins are not) is
not estimable, so calibration does not check one (`leadrouter.sim.calibration`). A Hajek ratio
(weighted sales over weighted leads) is used throughout, so the weights need not sum to the lead
count. Measured coverage against a known truth: docs/analyst/behaviour.md, "Open deals".

Where nothing is open (a plain lead export without stages, or every deal decided) every weight
is 1 and a sale counts whenever it came: estimates are exactly what they were without this
module.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import pandas as pd

from leadrouter.errors import ConfigError
from leadrouter.model import zone

if TYPE_CHECKING:
    from leadrouter.sim.history import History

__all__ = [
    "DEFAULT_HORIZON",
    "Censoring",
    "SoldWithin",
    "censoring",
    "history_as_of",
    "sold_within",
]

DEFAULT_HORIZON = timedelta(days=30)
"""The default conversion horizon: 30 days from arrival. Long enough that nearly every sale an
inbound lead will bring has come (most close within days of the first contact; in `synthetic()`
a sale comes two working days after it on average, so 30 days holds all but a few in 10^5), and
short enough that a few months of history follow most leads that far, so few weights are large.
A team with a longer sales cycle sets `horizon=` to it."""

_OPEN, _LOST, _WON = "open", "lost", "won"
_DAY = 86400.0
_LEAD_TIMES = ("arrived_at", "assigned_at", "first_touch_at")


@attrs.frozen(eq=False)
class Censoring:
    """The censoring of one History's leads (rows of its frame) at `as_of`: what `censoring`
    returns.

    - `weight`: per lead (a Series on the frame's index), 1 / G(D-) when its outcome within
      `horizon` is known, 0 when it is censored (open, followed less than `horizon`); all 1
      when nothing is open (`active` False);
    - `sold`: per lead, True when it was sold within `horizon` of arrival (when nothing is
      open: when it converted, whenever);
    - `open`: leads open at `as_of`; `censored`: those among them followed less than
      `horizon` (weight 0); `followed`: the longest any lead was followed (as_of - the first
      arrival).
    """

    weight: Any = attrs.field(repr=False)
    sold: Any = attrs.field(repr=False)
    horizon: timedelta
    as_of: datetime | None
    open: int = 0
    censored: int = 0
    followed: timedelta = timedelta(0)
    _decided: Any = attrs.field(default=None, repr=False)
    """Per lead: (time to D in days, known, censored at) for reweighting (`reweighted`)."""

    @property
    def active(self) -> bool:
        """Whether any lead is open at `as_of` (else weights are 1 and nothing changes)."""
        return self.open > 0

    def describe(self) -> str:
        """The sentence a model's notes carry: how many open deals, and what conversion
        means."""
        return (
            f"{self.open} open deals treated as censored; conversion is sold within "
            f"{_days(self.horizon)} days of arrival ({self.censored} open less than that: "
            "weight 0; decided leads weighted by 1 / the chance of being decided by the export, "
            "a Kaplan-Meier curve of censoring)"
        )

    def gap(self) -> str | None:
        """Why the horizon cannot be fully seen, when the export follows no lead that far."""
        if not self.active or self.followed >= self.horizon:
            return None
        return (
            f"the export follows no lead {_days(self.horizon)} days (the longest: "
            f"{_days(self.followed)} days): conversion within {_days(self.horizon)} days counts "
            f"only the sales that came within {_days(self.followed)} days - set horizon= to at "
            "most that, or export later"
        )

    def rate(self, rows: Any = None, weights: Any = None) -> float:
        """The censoring-aware share of leads sold within the horizon: weighted sales over
        weighted leads, over `rows` (index labels; all when None), each lead's weight times
        `weights` (a Series on the same index, e.g. bootstrap weights; 1 when None). NaN when
        no weight is left."""
        w = self.weight if weights is None else self.weight * weights.reindex(self.weight.index)
        sold = self.sold
        if rows is not None:
            w, sold = w.loc[rows], sold.loc[rows]
        total = float(w.sum())
        return float((w * sold.astype(float)).sum()) / total if total > 0 else math.nan

    def effective_leads(self, rows: Any = None) -> float:
        """(sum of weights)^2 / sum of squared weights over `rows`: how many unweighted leads
        the weighted rate is as precise as (the lead count when nothing is open)."""
        w = self.weight if rows is None else self.weight.loc[rows]
        square = float((w * w).sum())
        return float(w.sum()) ** 2 / square if square > 0 else 0.0

    def reweighted(self, weights: Any) -> Censoring:
        """The same censoring with the Kaplan-Meier curve re-estimated over leads counted
        `weights` times (a Series on the frame's index: a Bayesian bootstrap draw), so a
        replicate carries the curve's own uncertainty. Unchanged when nothing is open."""
        if not self.active:
            return self
        w = weights.reindex(self.weight.index).to_numpy(dtype=float)
        return attrs.evolve(self, weight=pd.Series(self._weights(w), index=self.weight.index))

    def bootstrap_rates(self, draws: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """`rate()` under each row of `draws` (one weight per lead, in the frame's order), the
        censoring curve re-estimated for each row as `reweighted` does."""
        weight = self._weights(draws) if self.active else np.ones_like(draws)
        weight = weight * draws
        total = weight.sum(axis=1)
        sales = (weight * self.sold.to_numpy(dtype=float)).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            found: np.ndarray[Any, Any] = np.where(total > 0, sales / total, np.nan)
        return found

    def _weights(self, counted: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """1 / G(D-) for the known leads, 0 for the censored (`_inverse_g`), G re-estimated over
        leads counted `counted` times (a vector, or a matrix with one row per draw)."""
        return _inverse_g(self._decided, counted)


def censoring(
    frame: pd.DataFrame,
    as_of: datetime | pd.Timestamp | None,
    horizon: timedelta,
    tz: str = "UTC",
) -> Censoring:
    """The censoring of `frame`'s leads (a History's `to_frame()`, or rows of it) at `as_of`,
    for conversion within `horizon` of arrival (see the module docstring).

    A lead is open when its `stage` is "open". A won lead is decided at `converted_at`, a lost
    one at `lost_at`; when the export lacks that time, at the latest time it records for the
    lead (arrival, assignment, first touch: the decision came no earlier), and a won lead without
    a sale time counts as sold within the horizon. A lead without a stage (the export left it
    blank) counts as won when it converted, else as lost. With no open lead, every weight is 1
    and `sold` is `converted`: the figures are exactly those of an export without stages.
    """
    if not isinstance(horizon, timedelta) or not horizon > timedelta(0):
        raise ConfigError(
            f"horizon= (conversion is sold within it) must be a positive timedelta, got "
            f"{horizon!r}: e.g. timedelta(days=30)"
        )
    index = frame.index
    converted = frame["converted"].astype(bool)
    status = (
        frame["stage"].astype(object).where(frame["stage"].notna(), None)
        if "stage" in frame.columns
        else pd.Series(None, index=index, dtype=object)
    )
    is_open = (status == _OPEN).to_numpy() & ~converted.to_numpy()
    if not is_open.any() or as_of is None:
        return Censoring(pd.Series(1.0, index=index), converted.copy(), horizon, _utc(as_of))
    cut = pd.Timestamp(as_of).tz_convert("UTC")
    arrived = frame["arrived_at"]
    limit = horizon.total_seconds() / _DAY
    followed = ((cut - arrived).dt.total_seconds() / _DAY).clip(lower=0.0).to_numpy()
    latest = pd.concat([frame[name] for name in _LEAD_TIMES if name in frame], axis=1).max(axis=1)
    won_at = frame["converted_at"].where(frame["converted_at"].notna(), latest)
    lost_at = frame["lost_at"] if "lost_at" in frame.columns else pd.Series(pd.NaT, index=index)
    lost_at = lost_at.where(lost_at.notna(), latest)
    decided_at = won_at.where(converted, lost_at)
    decision = ((decided_at - arrived).dt.total_seconds() / _DAY).to_numpy()
    decision = np.minimum(np.clip(np.nan_to_num(decision), 0.0, None), followed)
    undated_sale = converted.to_numpy() & frame["converted_at"].isna().to_numpy()
    sold = converted.to_numpy() & ((decision <= limit) | undated_sale)
    # an open lead is decided (not sold) at the horizon when followed that far; else censored
    time = np.where(is_open, np.minimum(followed, limit), np.minimum(decision, limit))
    event = is_open & (followed < limit)
    known = ~event
    weekday = arrived.dt.tz_convert(zone(tz)).dt.day_of_week.to_numpy()
    decided = (time, known, event, weekday)
    weight = _inverse_g(decided, np.ones(len(time)))
    first = float(followed.max()) if len(followed) else 0.0
    return Censoring(
        pd.Series(weight, index=index),
        pd.Series(sold, index=index),
        horizon,
        cut.to_pydatetime(),
        open=int(is_open.sum()),
        censored=int(event.sum()),
        followed=timedelta(days=first),
        decided=decided,
    )


def _inverse_g(decided: tuple[Any, ...], counted: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """1 / G(D-) for the known leads, 0 for the censored, G the Kaplan-Meier curve of
    censoring among the leads that arrived on the same weekday, each counted `counted` times
    (a vector, or a matrix with one row per bootstrap draw). Per weekday, because how soon a
    lead is decided depends on the day it came (Friday's wait for Monday) and how long it was
    followed does too (the export's weekday fixes which days' leads are the recent ones): one
    curve for all would mix them, and measured on synthetic teams it biased the rate by 5%."""
    time, known, event, weekday = decided
    g = np.ones(np.shape(counted))
    for day in np.unique(weekday):
        on = weekday == day
        g[..., on] = _km_before(time[on], event[on], counted[..., on], time[on])
    found: np.ndarray[Any, Any] = np.where(known, 1.0 / np.maximum(g, 1e-12), 0.0)
    return found


def _km_before(
    time: np.ndarray[Any, Any],
    event: np.ndarray[Any, Any],
    weight: np.ndarray[Any, Any],
    at: np.ndarray[Any, Any],
) -> np.ndarray[Any, Any]:
    """The weighted Kaplan-Meier survival of censoring just before each time in `at`:
    G(t-) = product over censoring times s < t of (1 - d(s) / n(s)), d(s) the weight censored
    at s and n(s) the weight still at risk (time >= s). `weight` is one weight per lead, or a
    matrix of them (one row per bootstrap draw, giving one row of G per draw)."""
    order = np.argsort(time, kind="stable")
    t, e = time[order], event[order]
    w = np.atleast_2d(weight)[:, order]
    stops, first = np.unique(t, return_index=True)
    at_risk = np.cumsum(w[:, ::-1], axis=1)[:, ::-1][:, first]
    dropped = np.add.reduceat(w * e, first, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(at_risk > 0, 1.0 - dropped / at_risk, 1.0)
    survival = np.cumprod(np.clip(factor, 0.0, 1.0), axis=1)
    before = np.searchsorted(stops, at, side="left") - 1
    found: np.ndarray[Any, Any] = np.where(before >= 0, survival[:, np.clip(before, 0, None)], 1.0)
    return found if np.ndim(weight) == 2 else found[0]


def _days(span: timedelta) -> str:
    days = span.total_seconds() / _DAY
    return f"{days:g}" if days == int(days) else f"{days:.1f}"


def _utc(as_of: datetime | pd.Timestamp | None) -> datetime | None:
    if as_of is None:
        return None
    found: datetime = pd.Timestamp(as_of).tz_convert("UTC").to_pydatetime()
    return found


def history_as_of(history: History) -> datetime | None:
    """The moment `history`'s outcomes are known as of (`History.as_of`: given, else its latest
    time); None for an empty History."""
    from leadrouter.errors import InvalidValueError

    try:
        found: datetime = history.as_of
    except InvalidValueError:
        return None
    return found


@attrs.frozen
class SoldWithin:
    """A History's share of leads sold within `horizon` of arrival, censoring-aware
    (`sold_within`): the estimate, its `level` interval `lo`-`hi` (a Bayesian bootstrap of the
    leads, the Kaplan-Meier curve re-estimated in each draw), the `leads` it is over, how many
    were `open` at the export, and `naive`: the share counting every open deal as lost (what an
    export read without stages would say)."""

    rate: float
    lo: float
    hi: float
    leads: int
    open: int
    naive: float
    horizon: timedelta
    level: float = 0.95


def sold_within(
    history: History,
    horizon: timedelta = DEFAULT_HORIZON,
    level: float = 0.95,
    draws: int = 400,
    seed: int = 0,
) -> SoldWithin:
    """The share of `history`'s leads sold within `horizon` of arrival, with open deals
    censored at `history.as_of` (see the module docstring), and its `level` interval from
    `draws` Bayesian-bootstrap draws of the leads (Exp(1) weights from `seed`), the censoring
    curve re-estimated in each. The interval covers the team's rate - what a lead like these
    would do - so it holds the leads' own sampling noise, not only the censored leads'.
    Measured on synthetic histories cut at an as-of date: docs/analyst/behaviour.md, "Open
    deals"."""
    if not 0.0 < level < 1.0:
        raise ConfigError(f"sold_within: level must be between 0 and 1, got {level!r}")
    if draws < 2:
        raise ConfigError(f"sold_within: draws must be at least 2, got {draws!r}")
    frame = history.to_frame()
    if frame.empty:
        raise ConfigError(f"sold_within: {history.origin} has no leads")
    found = censoring(frame, history_as_of(history), horizon, history.tz)
    rng = np.random.default_rng(seed)
    rates = found.bootstrap_rates(rng.exponential(1.0, size=(draws, len(frame))))
    tail = (1.0 - level) / 2.0
    lo, hi = np.nanquantile(rates, [tail, 1.0 - tail])
    return SoldWithin(
        rate=found.rate(),
        lo=float(lo),
        hi=float(hi),
        leads=len(frame),
        open=found.open,
        naive=float(frame["converted"].astype(bool).mean()),
        horizon=horizon,
        level=level,
    )
