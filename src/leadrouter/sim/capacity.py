"""Reps' capacity read off a history, with its censoring.

A rep can only first-touch the leads they were given, so on a quiet stretch their touches show
demand, not what they could handle: capacity is censored. It shows only while a lead of theirs was
waiting. `fit_capacity` therefore measures each rep's pace over those stretches - the working
minutes from a first touch to their next one, whenever, at the first touch, another lead of theirs
(one they touched later) had already waited longer than three quarters of their own pick-ups with
nothing waiting took (a lead merely not picked up yet is not a backlog) - and reads every other
stretch as a lower bound. Reps are pooled: log(capacity / demand) across the team is normal (a
lognormal capacity relative to each rep's load), fitted by maximum likelihood over the measured
reps (a normal observation each, with its sampling error) and the never-backlogged ones (a
censored observation: at least what they handled), as in a Tobit model. A measured rep's
capacity is their own pace shrunk toward the team by that distribution; a never-backlogged rep's
is the team's distribution truncated below at what they handled. `CapacityFit.draw` redraws every
rep's capacity from that posterior for a replicate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Any

import attrs

from leadrouter._util import stable_key, unit_uniform
from leadrouter.sim.workweek import WorkClock, WorkWeek

__all__ = ["ASSUMED_SPREAD", "CapacityFit", "fit_capacity", "work_positions"]

ASSUMED_SPREAD = 0.25
"""The spread (sd of log capacity / demand across the team) taken when fewer than three reps were
ever backlogged: too few to estimate it."""

_NORMAL = NormalDist()
_PICKUP_QUANTILE = 0.75
"""A waiting lead counts as a backlog once it has waited longer than this quantile of the rep's
pick-up delays with nothing waiting."""
_HANDLED_QUANTILE = 0.9
"""What a rep demonstrably handled: this quantile of their first touches per working day."""
_GAP_PRIOR = 2.0
"""Pseudo-gaps of an exponential service time (coefficient of variation 1) that the spread of a
rep's measured gaps is shrunk toward, so a pace measured on a few gaps is not taken as exact."""


@attrs.frozen(eq=False)
class CapacityFit:
    """The pooled censored estimate of every rep's capacity (first touches per working day of
    `workday` working minutes); see the module docstring.

    `demand` is each rep's first touches per working day over the days from their first to their
    last first touch; `handled` the 90th percentile of their first touches per working day (a
    day's touches over its working minutes, times `workday`); `measured` holds, for reps who were
    backlogged, log(pace / demand) and its sampling variance, and `busy` how many first touches
    that pace was measured on. `mu` and `tau` are the team's mean and spread of log(capacity /
    demand), `mu_se` the standard error of `mu`; `pooled` is False when no rep was ever
    backlogged, and then each rep's capacity is what they handled (a lower bound).
    """

    workday: float
    demand: Mapping[str, float]
    handled: Mapping[str, float]
    measured: Mapping[str, tuple[float, float]]
    busy: Mapping[str, int]
    mu: float = math.nan
    tau: float = ASSUMED_SPREAD
    mu_se: float = 0.0
    spread_assumed: bool = False
    busy_days: int = 0
    days: int = 0

    @property
    def pooled(self) -> bool:
        """True when at least one rep was backlogged, so the team's distribution is fitted."""
        return bool(self.measured)

    @property
    def censored(self) -> list[str]:
        """Reps never backlogged: their capacity rests on the team's distribution."""
        return [rep for rep in self.demand if rep not in self.measured]

    def point(self) -> dict[str, float]:
        """Each rep's capacity: the posterior median (the handled lower bound when no rep was
        backlogged)."""
        return {rep: self._capacity(rep, self.mu, None) for rep in self.demand}

    def draw(self, seed: int) -> dict[str, float]:
        """Every rep's capacity drawn from its posterior, keyed by (seed, rep): the team's mean
        redrawn from its standard error, then each rep from their posterior given it. The same
        seed gives the same draw; without a pooled fit, the point estimate."""
        if not self.pooled:
            return self.point()
        team = unit_uniform(stable_key(seed, "capacity\x00team"))
        mu = self.mu + self.mu_se * _NORMAL.inv_cdf(team)
        return {
            rep: self._capacity(rep, mu, unit_uniform(stable_key(seed, f"capacity\x00{rep}")))
            for rep in self.demand
        }

    def _capacity(self, rep: str, mu: float, u: float | None) -> float:
        demand = self.demand[rep]
        if not self.pooled:
            return max(self.handled[rep], 1.0)
        tau2 = self.tau**2
        if rep in self.measured:
            x, v = self.measured[rep]
            precision = 1.0 / v + 1.0 / tau2
            mean = (x / v + mu / tau2) / precision
            delta = mean + (0.0 if u is None else math.sqrt(1.0 / precision) * _inv(u))
        else:
            floor = math.log(self.handled[rep] / demand)
            below = _NORMAL.cdf((floor - mu) / self.tau)
            p = below + (0.5 if u is None else u) * (1.0 - below)
            delta = max(mu + self.tau * _inv(p), floor)
        return max(demand * math.exp(delta), 1.0)

    def describe(self) -> tuple[list[str], list[str]]:
        """Notes (what was fitted, with how many reps and rep-days were binding) and gaps (what
        rests on the team or on a bound rather than on the rep)."""
        n = len(self.demand)
        if not self.pooled:
            return (
                [
                    f"capacity: no rep ever had a lead waiting past their usual pick-up delay "
                    f"(0 of {self.days} rep-days binding): each rep's is the 90th percentile of "
                    f"their first touches per working day of {self.workday:.0f} minutes, a lower "
                    "bound"
                ],
                [
                    f"no rep ever had a lead waiting past their usual pick-up delay (0 of "
                    f"{self.days} rep-days): capacity cannot be measured, only bounded - each "
                    "rep's is what they handled on their busier days (90th percentile of first "
                    "touches per working day), so a policy that loads a rep more than the history "
                    "did looks slower than it would be"
                ],
            )
        censored = self.censored
        note = (
            f"capacity: first touches per {self.workday:.0f} working minutes while a lead of the "
            f"rep's waited past 3/4 of their pick-ups - {len(self.measured)} of {n} reps "
            f"backlogged ({sum(self.busy.values())} such touches, on {self.busy_days} of "
            f"{self.days} rep-days; the other days show demand only); pooled as a censored "
            f"lognormal of capacity / demand (team median {math.exp(self.mu):.2f}x demand, log "
            f"spread {self.tau:.2f}"
            + (", assumed" if self.spread_assumed else "")
            + ")"
            + (
                f"; {len(censored)} never-backlogged "
                + ("rep takes" if len(censored) == 1 else "reps take")
                + " it truncated below at what they handled"
                if censored
                else ""
            )
        )
        gaps = []
        point = self.point()
        for rep in censored:
            gaps.append(
                f"{rep} never had a lead waiting past their usual pick-up delay: capacity "
                f"{point[rep]:.1f} is the team's capacity-to-demand distribution above what they "
                f"handled ({self.handled[rep]:.1f} a working day), not a measurement of them"
            )
        if censored and self.spread_assumed:
            gaps.append(
                f"only {len(self.measured)} reps were ever backlogged: the spread of capacity / "
                f"demand across the team is assumed ({ASSUMED_SPREAD:g} on the log scale)"
            )
        return [note], gaps


def _inv(p: float) -> float:
    return _NORMAL.inv_cdf(min(max(p, 1e-12), 1.0 - 1e-12))


def work_positions(frame: Any, tz: str, week: WorkWeek | None) -> tuple[Any, Any]:
    """Each row's `assigned_at` and `first_touch_at` as minutes on one axis: working minutes on
    the team's clock with a work week (nights and days off take no time), else elapsed minutes."""
    import pandas as pd

    if week is None:
        origin = frame["assigned_at"].min()
        return (
            ((frame["assigned_at"] - origin).dt.total_seconds() / 60.0).to_numpy(),
            ((frame["first_touch_at"] - origin).dt.total_seconds() / 60.0).to_numpy(),
        )
    local_assigned = frame["assigned_at"].dt.tz_convert(tz).dt.tz_localize(None)
    local_touch = frame["first_touch_at"].dt.tz_convert(tz).dt.tz_localize(None)
    start = min(local_assigned.min(), local_touch.min()).normalize() - pd.Timedelta(days=1)
    days = int((max(local_touch.max(), local_assigned.max()) - start).days) + 2
    clock = WorkClock(start.date(), days, week, tz)
    a = clock.work(((local_assigned - start).dt.total_seconds() / 60.0).to_numpy())
    t = clock.work(((local_touch - start).dt.total_seconds() / 60.0).to_numpy())
    return a, t


def fit_capacity(
    touched: Any,
    tz: str,
    week: WorkWeek | None,
    workday: float,
    pickups: Mapping[str, Sequence[float]],
    team_pickups: Sequence[float],
) -> CapacityFit | None:
    """The censored capacity fit over first-touched leads (`rep_id`, `assigned_at`,
    `first_touch_at`), on the team's working clock when `week` is known (else elapsed minutes,
    a backlogged stretch then counted only within a local day). `pickups` / `team_pickups` are
    the sorted pick-up delays with nothing waiting, per rep and the team's. None when no lead
    has a rep."""
    import numpy as np
    import pandas as pd

    rows = touched[touched["rep_id"].notna()]
    if rows.empty:
        return None
    wa, wt = work_positions(rows, tz, week)
    local = rows["first_touch_at"].dt.tz_convert(tz)
    dates = local.dt.date.to_numpy()
    lengths = [
        workday if week is None else (0.0 if w is None else (w[1] - w[0]) * 60.0)
        for w in (week or (None,) * 7)
    ]
    rep_ids = rows["rep_id"].astype(str).to_numpy()
    demand: dict[str, float] = {}
    handled: dict[str, float] = {}
    measured: dict[str, tuple[float, float]] = {}
    busy: dict[str, int] = {}
    busy_days = days = 0
    for rep in sorted(set(rep_ids)):
        mine = rep_ids == rep
        order = np.argsort(wt[mine], kind="stable")
        a, t, d = wa[mine][order], wt[mine][order], dates[mine][order]
        # what they handled, day by day, and their demand over their span of days
        per_day = pd.Series(1, index=pd.Index(d)).groupby(level=0).size()
        minutes = np.array([lengths[day.weekday()] for day in per_day.index])
        worked = minutes > 0
        if not worked.any():
            continue
        span = pd.date_range(per_day.index.min(), per_day.index.max(), freq="D")
        span_minutes = sum(lengths[day.weekday()] for day in span)
        demand[rep] = len(t) * workday / max(span_minutes, workday)
        rates = per_day.to_numpy()[worked] / minutes[worked] * workday
        handled[rep] = max(float(np.quantile(rates, _HANDLED_QUANTILE)), demand[rep])
        days += int(worked.sum())
        # the pace while a backlog waited
        sample = pickups.get(rep) or team_pickups
        wait = float(np.quantile(sample, _PICKUP_QUANTILE)) if len(sample) else 0.0
        earliest_later = np.minimum.accumulate(a[::-1])[::-1]
        gap = np.diff(t)
        ok = (t[:-1] - earliest_later[1:] > wait) & (gap <= workday)
        if week is None:
            ok &= d[1:] == d[:-1]
        count, total = int(ok.sum()), float(gap[ok].sum())
        if count == 0 or total <= 0:
            continue
        busy[rep] = count
        busy_days += len(set(d[:-1][ok]))
        cv2 = float(np.var(gap[ok], ddof=1)) / (total / count) ** 2 if count > 1 else 0.0
        shrunk = ((count - 1) * cv2 + _GAP_PRIOR) / (count - 1 + _GAP_PRIOR)
        measured[rep] = (math.log(count / total * workday / demand[rep]), shrunk / count)
    if not demand:
        return None
    fit = CapacityFit(
        workday=workday,
        demand=demand,
        handled=handled,
        measured=measured,
        busy=busy,
        busy_days=busy_days,
        days=days,
    )
    if not measured:
        return fit
    floors = [math.log(handled[rep] / demand[rep]) for rep in fit.censored]
    mu, tau, mu_se, assumed = _tobit(list(measured.values()), floors)
    return attrs.evolve(fit, mu=mu, tau=tau, mu_se=mu_se, spread_assumed=assumed)


def _tobit(
    measured: list[tuple[float, float]], floors: list[float]
) -> tuple[float, float, float, bool]:
    """Maximum likelihood of the team's mean and spread of log(capacity / demand): each measured
    rep an observation N(mu, tau^2 + its sampling variance), each never-backlogged rep a
    censored one (at least its floor). The spread is `ASSUMED_SPREAD` with fewer than three
    measured reps. Returns (mu, tau, standard error of mu from the likelihood's curvature,
    whether the spread was assumed)."""
    import numpy as np
    from scipy.optimize import minimize
    from scipy.special import log_ndtr

    x = np.array([m[0] for m in measured])
    v = np.array([m[1] for m in measured])
    floor = np.array(floors)

    def nll(mu: float, tau: float) -> float:
        s2 = tau**2 + v
        out = 0.5 * float(np.sum((x - mu) ** 2 / s2 + np.log(s2)))
        if len(floor):
            out -= float(np.sum(log_ndtr((mu - floor) / tau)))
        return out

    assumed = len(x) < 3
    start = float(np.mean(x))
    if assumed:
        tau = ASSUMED_SPREAD
        found = minimize(lambda p: nll(float(p[0]), tau), [start], method="L-BFGS-B")
        mu = float(found.x[0])
    else:
        spread = max(float(np.std(x)), 0.05)
        found = minimize(
            lambda p: nll(float(p[0]), math.exp(float(p[1]))),
            [start, math.log(spread)],
            method="L-BFGS-B",
            bounds=[(start - 5.0, start + 5.0), (math.log(0.01), math.log(3.0))],
        )
        mu, tau = float(found.x[0]), math.exp(float(found.x[1]))
    h = 1e-3
    curvature = (nll(mu + h, tau) - 2.0 * nll(mu, tau) + nll(mu - h, tau)) / h**2
    se = 1.0 / math.sqrt(curvature) if curvature > 0 else tau / math.sqrt(len(x))
    return mu, tau, se, assumed
