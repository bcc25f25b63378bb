"""The first step of a fit: what `fit_behaviour` reads from a History, once (`_Basis.read`).

A History's frame is turned into the figures every estimate works from: the assigned leads with
the columns the estimates need (delays in working minutes, backlog at assignment), which fields
the export has, fields recorded because of the outcome (left out, `leadrouter.sim.leaks`),
pick-up delays and capacity (censored, `leadrouter.sim.capacity`), neglect, the leads at risk of
a sale with each one's chance from its mix alone, the open deals' censoring
(`leadrouter.sim.censoring`) and sale amounts. Nothing here depends on the weights a replicate
draws: the second step, `leadrouter.sim.estimation_fit`, estimates the model from a `_Basis`
with one weight per lead, as often as replicates are asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs

from leadrouter._util import stable_key
from leadrouter.errors import ConfigError
from leadrouter.sim.capacity import CapacityFit, fit_capacity
from leadrouter.sim.censoring import DEFAULT_HORIZON, Censoring, censoring, history_as_of
from leadrouter.sim.estimation_fit import estimate
from leadrouter.sim.fitting import fitted
from leadrouter.sim.given import WORKDAY_MINUTES
from leadrouter.sim.leaks import _LEAK_CLEARABLE, _forget_owner, _outcome_leaks
from leadrouter.sim.pickups import MIN_SAMPLE, Pickups, Samples, read_pickups
from leadrouter.sim.products import _amounts
from leadrouter.sim.touches import (
    _backlog_at_assignment,
    _neglect,
    _rested_at_assignment,
    _show_week,
    _working_delays,
)
from leadrouter.sim.workweek import WorkWeek, infer_work_week, working_minutes_per_day

if TYPE_CHECKING:
    from leadrouter.sim.estimation_shrink import Shrinkage
    from leadrouter.sim.fitted import FittedBehaviour
    from leadrouter.sim.history import History


@attrs.frozen(eq=False)
class _Basis:
    """What a fit reads from a History, prepared once: the assigned leads with the columns the
    estimates need, and the figures a replicate keeps fixed (pick-up delays, empirical samples;
    the lead-mix expectation). Capacity is the censored fit's point estimate;
    `capacity_fit` redraws it for a replicate (`capacity_draw`)."""

    k: float
    origin: str
    assigned: Any
    touched: Any
    at_risk: Any
    basis_name: str
    has_touch: bool
    has_reached: bool
    has_valid: bool
    capacity: dict[str, float]
    team_capacity: float
    pickups: Pickups
    amount_median: dict[str, float]
    amount_sigma: float
    default_amount: float
    sold: Any
    """The assigned sales with an amount (product, amount): a replicate re-estimates the
    amounts from them with its weights."""
    gaps: tuple[str, ...]
    notes: tuple[str, ...]
    assumptions: dict[str, str]
    ignored: frozenset[str] = frozenset()
    owner_known: bool = True
    """False when the owner (rep_id) was recorded because of the outcome: `assigned` then holds
    every lead, and nothing is read per rep (see `_forget_owner`, `_without_owner`)."""
    work_hours: WorkWeek | None = None
    neglect: dict[str, float] = attrs.field(factory=dict)
    team_neglect: float = 0.0
    capacity_fit: CapacityFit | None = None
    """The censored capacity estimate behind `capacity` (None without first-touch times)."""
    horizon: timedelta = DEFAULT_HORIZON
    """Conversion is "sold within `horizon` of arrival" when the history has open deals."""
    censored: Censoring | None = None
    """The open deals' censoring (`leadrouter.sim.censoring`) on `assigned`'s index: its
    weights multiply every conversion sum. None when no deal is open (every weight 1)."""

    def conversion_weights(self, weights: Any) -> Any:
        """The weight of each assigned lead in the conversion sums: `weights` (None = 1) times
        its censoring weight, the Kaplan-Meier curve re-estimated under `weights` for a
        replicate; `weights` itself when no deal is open."""
        import pandas as pd

        w = pd.Series(1.0, index=self.assigned.index) if weights is None else weights
        if self.censored is None:
            return w
        found = self.censored if weights is None else self.censored.reweighted(weights)
        return w * found.weight

    def fit(
        self,
        weights: Any,
        capacity: Mapping[str, float] | None = None,
        pickups: Samples | None = None,
        draw: tuple[Shrinkage, int] | None = None,
    ) -> FittedBehaviour:
        """The model estimated with one weight per assigned lead (a Series on `assigned`'s
        index; None = every lead once): unit weights give the plain fit, Bayesian-bootstrap
        weights (`bootstrap_weights`) a replicate. `capacity` replaces the fitted capacities
        and `pickups` the pick-up samples (a replicate's draws: `capacity_draw`,
        `pickups.draw`), and `draw` is a replicate's shrinkage and seed. See
        `leadrouter.sim.estimation_fit.estimate`."""
        return estimate(self, weights, capacity, pickups, draw)

    @classmethod
    def read(cls, history: History, k: float, horizon: timedelta = DEFAULT_HORIZON) -> _Basis:
        """Everything a fit needs from `history`, read once; what the export lacks is an
        assumption, named in `gaps` (and `assumptions`) here, never filled in silently.
        `k` is the fit's prior strength, `horizon` what a sale within it means when deals
        are open."""
        import numpy as np
        import pandas as pd

        frame = history.to_frame()
        gaps: list[str] = []
        notes: list[str] = []
        assumptions: dict[str, str] = {}
        ignored = _outcome_leaks(frame)
        for name, (on_sales, on_others) in ignored.items():
            gaps.append(
                f"{name} is filled on {on_sales:.0%} of converted leads but {on_others:.0%} of "
                "the others - recorded because of the outcome, so it is left out of the model "
                "(every lead is treated as having none)"
            )
            if name in _LEAK_CLEARABLE:
                frame[name] = ""
        owner_known = "rep_id" not in ignored
        if not owner_known:
            _forget_owner(frame, gaps, assumptions)
        # with the owner recorded because of the outcome, every lead counts (owner unknown)
        assigned = frame[frame["rep_id"].notna() | (not owner_known)].copy()
        if assigned.empty:
            raise ConfigError(
                f"fit_behaviour: {history.origin} has no lead with a rep (rep_id): a behaviour "
                "model needs the logged assignments; map the owner column with "
                "columns={'rep_id': ...}"
            )
        reps = [rep.id for rep in history.roster]
        assigned["assigned_at"] = assigned["assigned_at"].fillna(assigned["arrived_at"])
        has_touch = bool(assigned["first_touch_at"].notna().any())
        has_reached = bool(assigned["reached"].notna().any())
        has_valid = bool(assigned["valid"].notna().any())
        touched = assigned[assigned["first_touch_at"].notna()].copy()
        delay = (touched["first_touch_at"] - touched["assigned_at"]).dt.total_seconds() / 60.0
        touched["delay"] = delay.clip(lower=0.0)
        work_hours = infer_work_week(touched["first_touch_at"], history.tz) if has_touch else None
        touched["work_delay"] = touched["delay"]
        workday = working_minutes_per_day(work_hours) if work_hours else WORKDAY_MINUTES
        if work_hours is not None:
            touched["work_delay"] = _working_delays(touched, history.tz, work_hours)
            notes.append(
                f"working hours read off the first touches ({_show_week(work_hours)}): pick-up "
                "delays are working minutes, and the simulator counts them on that clock"
            )
        if not has_valid:
            gaps.append(
                "no valid/invalid verdicts: every lead is assumed valid with probability 0.4, "
                "and conversion is fitted over leads regardless of validity"
            )
            assumptions["validity"] = "the export has no valid/invalid verdicts"
        if has_touch and _days_alone(assigned["assigned_at"], history.tz):
            gaps.append(
                "every assignment time (the arrival, where the export has no assignment time) "
                "is midnight: the export gives days, not times, so each delay to first touch "
                "is measured from the start of its day - pick-up delays, capacity and speed to "
                "lead are hours too slow; export the arrival (or assignment) with its time of "
                "day"
            )
            assumptions["delay"] = "the export's assignment times are days, not times"
        if not (has_touch and has_reached):
            missing = "first-touch times" if not has_touch else "reached / not reached"
            gaps.append(
                f"no {missing} in the export: contact probability vs delay is an assumption "
                "(75% at once, falling with ln(1 + delay minutes)), not fitted"
            )
            assumptions["contact"] = f"the export has no {missing}"

        # ---- pick-up delay and capacity (censored), each redrawn by a replicate
        capacity, capacity_fit, pickups = _delays_and_capacity(
            history, assigned, touched, (work_hours, workday), owner_known, notes, gaps, assumptions
        )
        neglect, team_neglect = _neglect(assigned, k) if has_touch else ({}, 0.0)
        if has_touch:
            notes.append(
                f"neglect: {team_neglect:.1%} of leads never touched (the last three days left "
                "out), per rep shrunk toward it"
            )
        team_capacity = float(np.median(list(capacity.values()))) if capacity else 20.0
        for rep_id in reps:
            capacity.setdefault(rep_id, team_capacity)

        # ---- the leads at risk of a sale, and each one's chance from its mix alone
        at_risk, basis_name = _at_risk(
            assigned, touched, (has_touch, has_reached, has_valid), gaps, assumptions
        )
        at_risk = at_risk.copy()
        # ---- open deals: censored at the export, conversion is sold within the horizon
        deals = censoring(assigned, history_as_of(history), horizon, history.tz)
        censored = deals if deals.active else None
        risk_weight = None
        if censored is not None:
            at_risk["converted"] = deals.sold.reindex(at_risk.index)
            risk_weight = deals.weight.reindex(at_risk.index).to_numpy()
            notes.append(deals.describe())
            gap = deals.gap()
            if gap is not None:
                gaps.append(gap)
            late = _sold_after(assigned, deals, horizon)
            if late is not None:
                gaps.append(late)
        y = at_risk["converted"].astype(bool).to_numpy().astype(float)
        if not assigned["converted"].astype(bool).any():
            # (0 + 1) / (n + 2) is the prior's rate, not a measured one: every figure built on
            # it is marked as assumed, and the gap says how little 0 sales bound it
            gaps.append(
                f"no sale among the {len(assigned):,} assigned leads: conversion and revenue "
                f"rest on a prior rate (at most {3 / max(len(assigned), 1):.1%} with 95% "
                "confidence, by the rule of three), not on the data"
            )
            assumptions["conversion"] = "the export records no sale"
        if risk_weight is None:
            overall = float((y.sum() + 1.0) / (len(y) + 2.0))
        else:
            overall = float(((y * risk_weight).sum() + 1.0) / (risk_weight.sum() + 2.0))
        at_risk["expected"] = _mix_expectation(at_risk, y, overall, np, pd, weights=risk_weight)

        # ---- amounts (a replicate re-estimates them from `sold` with its weights)
        sold, (amount_median, sigma, default_amount) = _sales(
            assigned, censored, notes, gaps, assumptions
        )
        return cls(
            k=k,
            origin=history.origin,
            assigned=assigned,
            touched=touched,
            at_risk=at_risk,
            basis_name=basis_name,
            has_touch=has_touch,
            has_reached=has_reached,
            has_valid=has_valid,
            capacity=capacity,
            team_capacity=team_capacity,
            pickups=pickups,
            amount_median=amount_median,
            amount_sigma=sigma,
            default_amount=default_amount,
            sold=sold[["product", "amount"]],
            gaps=tuple(gaps),
            notes=tuple(notes),
            assumptions=assumptions,
            ignored=frozenset(name for name in ignored if name in _LEAK_CLEARABLE),
            owner_known=owner_known,
            work_hours=work_hours,
            neglect=neglect,
            team_neglect=team_neglect,
            capacity_fit=capacity_fit,
            horizon=horizon,
            censored=censored,
        )

    def capacity_draw(self, seed: int) -> dict[str, float]:
        """Every rep's capacity for replicate `seed`: a draw from the censored fit's posterior
        keyed by (seed, rep) (`CapacityFit.draw`); reps it has no figure for keep theirs. The
        fitted capacities when there is nothing to redraw (no touch times, or capacity not read
        per rep)."""
        fit = self.capacity_fit
        if fit is None or not self.owner_known:
            return dict(self.capacity)
        return {**self.capacity, **fit.draw(seed)}

    def bootstrap_weights(self, seed: int) -> Any:
        """Bayesian bootstrap weights: one Exp(1) draw per lead keyed by (seed, lead id),
        scaled to mean 1 - a flat Dirichlet over the leads, the same for a lead whatever
        other leads the history holds or their order. The uniform behind a draw is the left
        edge of its key's 53-bit cell, in [0, 1) (an Exp(1) by inversion needs no more than
        that), not the cell's middle `leadrouter._util.unit_uniform` gives: every replicate's
        weights rest on these bits, so the two stay as they were written."""
        import numpy as np
        import pandas as pd

        keys = np.array(
            [stable_key(seed, f"boot\x00{lead}") for lead in self.assigned["lead_id"]],
            dtype=np.uint64,
        )
        u = (keys >> np.uint64(11)).astype(float) * (1.0 / 9007199254740992.0)
        draws = -np.log1p(-np.clip(u, 0.0, 1.0 - 1e-16))
        return pd.Series(draws / draws.mean(), index=self.assigned.index)


def _delays_and_capacity(
    history: History,
    assigned: Any,
    touched: Any,
    clock: tuple[WorkWeek | None, float],
    owner_known: bool,
    notes: list[str],
    gaps: list[str],
    assumptions: dict[str, str],
) -> tuple[dict[str, float], CapacityFit | None, Pickups]:
    """Each rep's capacity, the censored fit behind it, and the pick-up delays with nothing
    waiting (`leadrouter.sim.pickups`): (capacity, fit, pickups). With first-touch
    times capacity is the censored fit's point estimate (`leadrouter.sim.capacity`) and the
    pick-up sample is read again off leads whose rep was done with their last first touch;
    without, capacity is the 90th percentile of daily assignments and there are no pick-ups.
    `clock` is the team's work week (None: elapsed minutes) and working day in minutes. Sets
    `touched["backlog"]`; what rests on an assumption goes to `gaps` / `assumptions`."""
    import numpy as np

    work_hours, workday = clock
    reps = [rep.id for rep in history.roster]
    capacity: dict[str, float] = {}
    capacity_fit: CapacityFit | None = None
    pickups = Pickups(team=(), own={}, s2=0.0)
    if len(touched):
        backlog = _backlog_at_assignment(assigned)
        touched["backlog"] = backlog.reindex(touched.index).fillna(0).to_numpy()
        free = touched[touched["backlog"] == 0]
        pickups = read_pickups(free)
        # with the owner recorded because of the outcome, nothing is read per rep (the
        # team's figures replace it: _without_owner)
        capacity_fit = (
            fit_capacity(touched, history.tz, work_hours, workday, pickups.point(), pickups.team)
            if owner_known
            else None
        )
        if capacity_fit is not None:
            capacity.update(capacity_fit.point())
            # the pick-up sample, read again off leads whose rep had finished their last
            # first touch when the lead came (the queue is the simulator's to add)
            service = {rep: workday / c for rep, c in capacity.items() if c > 0}
            rested = _rested_at_assignment(touched, history.tz, work_hours, service)
            if int((rested & (touched["backlog"] == 0)).sum()) >= MIN_SAMPLE:
                free = touched[rested & (touched["backlog"] == 0)]
                pickups = read_pickups(free)
            found, missing_capacity = capacity_fit.describe()
            notes.extend(found)
            gaps.extend(missing_capacity)
            if not capacity_fit.pooled:
                assumptions.setdefault(
                    "delay", "no rep was ever backlogged, so capacity is only a lower bound"
                )
        notes.append(
            f"pick-up delay: empirical per rep over {len(free)} leads touched with nothing "
            "waiting and their rep done with the last first touch "
            f"(a rep's own with {MIN_SAMPLE}+ such leads, else the team's scaled to "
            "their few); queue wait "
            f"backlog * {workday:g} / capacity"
        )
        for rep_id in reps:
            if rep_id not in capacity and owner_known:
                gaps.append(f"{rep_id} never first-touched a lead: capacity is the team median")
    else:
        gaps.append(
            "no first-touch times: capacity (assumed = 90th percentile of daily "
            "assignments) and touch delay (assumed 30-minute mean pick-up plus the queue) "
            "are assumptions"
        )
        assumptions["delay"] = "the export has no first-touch times"
        local_day = assigned["assigned_at"].dt.tz_convert(history.tz).dt.date
        daily = assigned.groupby([assigned["rep_id"], local_day]).size()
        for owner, counts in daily.groupby(level=0):
            capacity[str(owner)] = max(float(np.quantile(counts.to_numpy(), 0.9)), 1.0)
    return capacity, capacity_fit, pickups


def _at_risk(
    assigned: Any,
    touched: Any,
    has: tuple[bool, bool, bool],
    gaps: list[str],
    assumptions: dict[str, str],
) -> tuple[Any, str]:
    """The leads conversion is measured over and their name: the reached valid leads when the
    export has both flags, else the reached, the touched or the assigned ones (the split
    between contact and closing is then an assumption, in `gaps` and `assumptions`). `has`:
    whether the export has first-touch times, reached flags and valid verdicts."""
    has_touch, has_reached, has_valid = has
    if has_reached and has_valid:
        mask = assigned["reached"].fillna(False).astype(bool) & assigned["valid"].fillna(
            False
        ).astype(bool)
        at_risk, basis_name = assigned[mask], "reached valid leads"
    elif has_reached:
        at_risk = assigned[assigned["reached"].fillna(False).astype(bool)]
        basis_name = "reached leads"
        gaps.append("no validity verdicts: conversion is per reached lead, valid or not")
    elif has_touch:
        at_risk, basis_name = touched, "touched leads"
        gaps.append("no reached / not reached: conversion is per touched lead, not per contact")
    else:
        at_risk, basis_name = assigned, "assigned leads"
        gaps.append("no contact outcomes: conversion is per assigned lead, not per contact")
    if basis_name != "reached valid leads":
        assumptions["conversion"] = (
            f"conversion was measured per {basis_name[:-1]}, so the split between contact "
            "and closing is assumed"
        )
    return at_risk, basis_name


def _days_alone(times: Any, tz: str) -> bool:
    """True when every time given, two or more, is midnight in `tz`: a column of days written
    as times (one lead at midnight is not a column of days)."""
    given = times.dropna()
    if len(given) < 2:
        return False
    local = given.dt.tz_convert(tz)
    return bool((local == local.dt.normalize()).all())


def _sales(
    assigned: Any,
    censored: Censoring | None,
    notes: list[str],
    gaps: list[str],
    assumptions: dict[str, str],
) -> tuple[Any, tuple[dict[str, float], float, float]]:
    """The assigned sales with an amount (within the horizon, when deals are open) and the
    amounts read off them: (sales, (median per product, log spread, the overall median)).
    With open deals each sale stands for 1 / G of them (`_amounts` with censoring weights);
    without amounts every sale is assumed worth 10,000 (a gap says so)."""
    import numpy as np

    if censored is None:
        sold = assigned[assigned["converted"].astype(bool) & (assigned["amount"] > 0)]
    else:
        # the sales within the horizon, each standing for 1 / G of them
        sold = assigned[censored.sold & censored.weight.gt(0) & (assigned["amount"] > 0)]
    if len(sold) and censored is not None:
        amount_median, sigma, default_amount = _amounts(sold, censored.weight)
        notes.append(
            f"amount: median per product over {len(sold)} sales within the horizon "
            f"(censoring-weighted), log spread {sigma:.2f}"
        )
    elif len(sold):
        medians = sold.groupby("product")["amount"].median()
        amount_median = {str(p): float(v) for p, v in medians.items()}
        logs = np.log(sold["amount"].to_numpy() / sold["product"].map(medians).to_numpy())
        sigma = float(np.std(logs)) if len(logs) > 1 else 0.35
        default_amount = float(np.median(sold["amount"]))
        notes.append(f"amount: median per product over {len(sold)} sales, log spread {sigma:.2f}")
    else:
        amount_median, sigma, default_amount = {}, 0.35, 10000.0
        gaps.append("no sale amounts: every sale is assumed worth 10,000")
        assumptions["amount"] = (
            "the export has no sale amounts, so every sale is priced at an assumed 10,000: read "
            "revenue as sales x 10,000"
        )
    if amount_median:
        products = assigned["product"].fillna("").astype(str)
        unpriced = sorted(set(products[products != ""]) - set(amount_median))
        if unpriced:
            counts = products.value_counts()
            named = ", ".join(f"{p} ({int(counts[p]):,} leads)" for p in unpriced)
            gaps.append(
                f"no priced sale of {named}: a simulated sale of it is valued at the median of "
                f"all sales ({default_amount:,.0f}), a guess that may be far from its price"
            )
    return sold, (amount_median, sigma, default_amount)


def _mix_expectation(
    at_risk: Any,
    y: Any,
    overall: float,
    np: Any,
    pd: Any,
    weights: Any = None,
) -> Any:
    """Each lead's chance of a sale from its mix alone (segment, product, source), by a
    statsmodels GLM Binomial without rep terms; the overall rate when it cannot be fitted.
    `weights` (None = 1): each lead's censoring weight, the GLM fitted over the leads whose
    outcome is known, each counted that many times."""
    import statsmodels.api as sm

    features = [name for name in ("segment", "product", "source") if at_risk[name].nunique() > 1]
    if not features or len(at_risk) < 50 or y.sum() < 5:
        return np.full(len(at_risk), overall)
    design = pd.get_dummies(at_risk[features].astype(str), drop_first=True, dtype=float)
    design.insert(0, "const", 1.0)
    known = slice(None) if weights is None else weights > 0
    counted = {} if weights is None else {"freq_weights": weights[known]}
    model = sm.GLM(y[known], design.to_numpy()[known], family=sm.families.Binomial(), **counted)
    try:
        result = fitted(
            lambda: model.fit_regularized(alpha=1.0 / len(y), L1_wt=0.0),
            "the lead-mix logistic model of conversion (segment, product, source)",
        )
    except (ValueError, np.linalg.LinAlgError):
        return np.full(len(at_risk), overall)
    return 1.0 / (1.0 + np.exp(-(design.to_numpy() @ np.asarray(result.params))))


LATE_SALES = 0.1
"""Above this share of an export's sales coming after the conversion horizon, the fit says so:
conversion and revenue then read well below the export's own rates."""


def _sold_after(assigned: Any, deals: Censoring, horizon: timedelta) -> str | None:
    """The gap to name when many of the export's sales came after `horizon`: its conversion
    counts sales within the horizon, so a team with a longer sales cycle sees a rate below its
    own, with no word why (2.7% against the export's 6.8%)."""
    won = assigned["converted"].astype(bool)
    sales = int(won.sum())
    late = int((won & ~deals.sold.reindex(assigned.index).astype(bool)).sum())
    if not sales or late <= LATE_SALES * sales:
        return None
    days = horizon / timedelta(days=1)
    return (
        f"{late:,} of the export's {sales:,} sales ({late / sales:.0%}) came more than {days:g} "
        f"days after the lead arrived: conversion and revenue here count sales within {days:g} "
        "days (the model's horizon), so they read below the export's own rates; set the "
        "horizon to the team's sales cycle (--horizon 90d; horizon= in Python)"
    )
