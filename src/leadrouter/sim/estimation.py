"""Learning a behaviour model from a History: `fit_behaviour`.

A fit happens in two steps on one object, `_Basis`. `_Basis.read` takes what the History holds,
once: the assigned leads, which fields the export has, pick-up delays and capacity (censored, see
`leadrouter.sim.capacity`), neglect, each lead's chance of a sale from its mix alone, sale
amounts. `_Basis.fit` estimates the model from that with one weight per lead - validity by
source, the contact curve, conversion in layers of shrinkage, product factors - every count a
weighted sum. Unit weights give the fit and Bayesian-bootstrap weights a replicate
(`FittedBehaviour.replicate`), so both share one code path and a replicate varies exactly what
the data leave uncertain. What the data cannot support is assumed and listed in the model's
`gaps`, never filled in silently.

The parts with an idea of their own live beside it: the contact curve (`leadrouter.sim.contact`),
what first touches say (`leadrouter.sim.touches`), conversion by product and sale amounts
(`leadrouter.sim.products`), and fields recorded because of the outcome (`leadrouter.sim.leaks`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs

from leadrouter._util import FrozenMap, shrunk, stable_key
from leadrouter.errors import ConfigError
from leadrouter.sim.capacity import CapacityFit, fit_capacity
from leadrouter.sim.censoring import DEFAULT_HORIZON, Censoring, censoring, history_as_of
from leadrouter.sim.contact import LOG_LOGIT, _contact_curve, _contact_fit, _contact_level
from leadrouter.sim.fitted import FittedBehaviour
from leadrouter.sim.fitting import fitted
from leadrouter.sim.given import WORKDAY_MINUTES, GivenBehaviour
from leadrouter.sim.leaks import _LEAK_CLEARABLE, _forget_owner, _outcome_leaks, _without_owner
from leadrouter.sim.products import _PRODUCT_PRIOR_SD, _amounts, _product_factors
from leadrouter.sim.repspread import rep_spread
from leadrouter.sim.touches import (
    _backlog_at_assignment,
    _neglect,
    _rested_at_assignment,
    _show_week,
    _working_delays,
)
from leadrouter.sim.workweek import WorkWeek, infer_work_week, working_minutes_per_day

if TYPE_CHECKING:
    from leadrouter.sim.history import History

__all__ = ["fit_behaviour"]


_MIN_PICKUP_SAMPLE = 20
"""A rep needs this many leads first-touched with nothing waiting before their own pick-up
delays are used; fewer, and the team's are scaled to theirs."""
_PICKUP_PRIOR = 5.0
"""Pseudo-leads at the team's pace a rep's few pick-up delays are shrunk toward (`_pickups`)."""
_ASSUMED_PICKUP = 30.0
"""Mean pick-up delay in minutes assumed without first-touch times."""
_MAX_CONVERT = 0.95
"""The highest chance of a sale an assumption may leave a reached valid lead (`_basis_share`)."""


def fit_behaviour(
    history: History, prior_strength: float = 20.0, horizon: timedelta = DEFAULT_HORIZON
) -> FittedBehaviour:
    """Learn a Behaviour from a History; what the data cannot support is assumed and listed in
    `model.gaps`, never filled in silently.

    - **Conversion** (a sale, given a valid lead was reached; given only a touch, or only an
      assignment, when the export lacks `reached` / `valid` - a gap says so), in three layers of
      shrinkage with `prior_strength` pseudo-leads at each: the segment's rate shrinks toward the
      team's; each rep's factor is observed sales over the sales a statsmodels GLM (Binomial) of
      the lead mix (segment, product, source) expects for the rep's leads, shrunk toward 1 (so a
      rep given harder leads is not called weak); each rep x segment pair's rate shrinks toward
      segment rate x rep factor. A pair with fewer than `prior_strength` leads is flagged: its
      estimate is mostly the prior. When the export has more than one product, each product
      gets a factor (`model.products`, `numbers.product_conversion`): its sales over the sales
      the rep x segment rates expect for its leads, the log factor shrunk by a normal prior (sd
      1: products are few, each with many leads, and a dearer product is expected to close
      less often). `p_convert(rep, lead)` is the rep x segment rate times the lead's product
      factor over the segment's mean factor, so a rep x segment rate keeps its meaning (the rate
      over the segment's own product mix) and a cheap lead closes more often than a dear one.
    - **Contact**: `floor + (1 - floor) * sigmoid(a + b * ln(1 + delay minutes))` by maximum
      likelihood over first-touched valid leads (all touched leads when validity is unknown),
      starting from a GLM logit: contact falls with delay and levels off at the floor (a late
      call still reaches some prospects); invalid leads' relative contact rate.
    - **Capacity** (first touches per working day of `workday` minutes), estimated with its
      censoring (`leadrouter.sim.capacity`): a rep touches only leads they were given, so
      capacity shows only while a lead of theirs waits. A rep's pace is their first touches per
      working minute over the stretches from one first touch to the next during which another
      of their leads (one touched later) had already waited past three quarters of their own
      pick-ups; every other stretch shows demand, a lower bound. Across the team,
      log(capacity / demand) is normal, fitted by maximum likelihood with each backlogged rep
      an observation (with its sampling error) and each never-backlogged rep censored at what
      they handled (the 90th percentile of their first touches per working day) - a Tobit
      model. A backlogged rep's capacity is their pace shrunk toward the team's; a
      never-backlogged rep's is the team's distribution truncated below at what they handled
      (median); with no rep ever backlogged, it is what each handled, a lower bound (a gap
      says so). `notes` say how many reps and rep-days were binding; `gaps` name the reps whose
      capacity rests on the team.
    - **Touch delay**: the rep's empirical delays of leads first-touched when no other lead of
      theirs was waiting (the team's when the rep has fewer than 20), plus the queue wait
      `backlog * workday / capacity`. When the team's working hours can be read off the first
      touches (`model.work_hours`, from 100 touches), delays are working minutes and `workday`
      is the mean working day; otherwise delays are elapsed minutes (nights included) and the
      working day is taken as 540 minutes.
    - **Validity** per source, shrunk, and **amount** per product (median; one log spread
      pooled over the products); a replicate re-estimates both with its weights.
    - **Assumptions give way to the data.** Without verdicts, invalid leads are reached as
      often as valid ones (nothing tells them apart). Without first-touch times but with
      reached flags, the assumed contact curve is levelled to the reach share the export
      shows. When conversion is measured over more than reached valid leads, it is divided by
      the modelled share of them that are valid and reached; if an assumed valid share or
      contact level makes that share too small for the sales seen (a chance above 95% would be
      needed), it is raised to fit - validity first, then contact - and the raise is listed in
      `gaps`. So replaying the logged assignments gives back the history's sales whatever
      columns it lacks (tests/test_sim_replay.py).
    - **Open deals are censored, not lost** (`leadrouter.sim.censoring`). When the export has
      deals still open at `history.as_of` (`stage` "open"), conversion is "sold within
      `horizon` of arrival" (default 30 days: long enough for nearly every sale an inbound
      lead brings, short enough that a few months of history follow most leads that far) and
      every conversion sum - segment, rep factor and its lead-mix GLM, rep x segment pairs,
      product factors, amounts - counts each lead with its inverse probability of censoring
      weight: 1 / G(D-) when its outcome by the horizon is known at D (won or lost by then, or
      followed beyond the horizon), 0 when it was still open, followed less; G is the
      Kaplan-Meier survival of censoring among the leads that arrived on its weekday. So the
      rates estimate P(sold within the horizon) without counting open deals as lost (which
      biases rates down, most for recent leads and busy reps) or dropping them (which keeps the
      quickly decided). The notes say "N open deals
      treated as censored; conversion is sold within H days", and the simulator's sales are
      then sales within the horizon. Validity and contact are read off every touched lead as
      before (open deals know theirs). With nothing open every weight is 1, a sale counts
      whenever it came, and the fit is exactly what it was; `horizon` then changes nothing.
      Must be positive.
    - **Fields recorded because of the outcome** (filled on nearly every converted lead, on at
      most half as many of the others) are left out. A source, region, product or segment is
      blanked (`model.ignored`). An owner (rep_id) recorded that way leaves the reps unknown
      (`model.rep_effects_known` is False): conversion is fitted over every lead, so the model
      reproduces the history's sales / leads; every rep closes at the team's rate (no rep
      factors, no pairs); touch times, reached and valid flags filled only with the owner are
      left out too; capacity is the team's daily leads shared evenly, and per-rep pick-up
      delays and neglect are not used - each an assumption named in `gaps`.

    Deterministic: the same History gives the same model. `model.replicate(seed)` redraws the
    parameters by a Bayesian bootstrap of the leads (see `FittedBehaviour.replicate`).
    """
    if not prior_strength > 0:
        raise ConfigError(f"fit_behaviour: prior_strength must be > 0, got {prior_strength!r}")
    basis = _Basis.read(history, float(prior_strength), horizon)
    if not basis.owner_known:
        basis = _without_owner(basis, history)
    return basis.fit(None)


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
    pickups: dict[str, tuple[float, ...]]
    team_pickups: tuple[float, ...]
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

    @classmethod
    def read(cls, history: History, k: float, horizon: timedelta = DEFAULT_HORIZON) -> _Basis:
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
        if not (has_touch and has_reached):
            missing = "first-touch times" if not has_touch else "reached / not reached"
            gaps.append(
                f"no {missing} in the export: contact probability vs delay is an assumption "
                "(75% at once, falling with ln(1 + delay minutes)), not fitted"
            )
            assumptions["contact"] = f"the export has no {missing}"

        # ---- pick-up delay (fixed across replicates) and capacity (censored, redrawn)
        capacity: dict[str, float] = {}
        capacity_fit: CapacityFit | None = None
        pickups: dict[str, tuple[float, ...]] = {}
        team_pickups: tuple[float, ...] = ()
        if has_touch and len(touched):
            backlog = _backlog_at_assignment(assigned)
            touched["backlog"] = backlog.reindex(touched.index).fillna(0).to_numpy()
            free = touched[touched["backlog"] == 0]
            team_pickups, pickups = _pickups(free)
            # with the owner recorded because of the outcome, nothing is read per rep (the
            # team's figures replace it: _without_owner)
            capacity_fit = (
                fit_capacity(touched, history.tz, work_hours, workday, pickups, team_pickups)
                if owner_known
                else None
            )
            if capacity_fit is not None:
                capacity.update(capacity_fit.point())
                # the pick-up sample, read again off leads whose rep had finished their last
                # first touch when the lead came (the queue is the simulator's to add)
                service = {rep: workday / c for rep, c in capacity.items() if c > 0}
                rested = _rested_at_assignment(touched, history.tz, work_hours, service)
                if int((rested & (touched["backlog"] == 0)).sum()) >= _MIN_PICKUP_SAMPLE:
                    free = touched[rested & (touched["backlog"] == 0)]
                    team_pickups, pickups = _pickups(free)
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
                f"(a rep's own with {_MIN_PICKUP_SAMPLE}+ such leads, else the team's scaled to "
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
        y = at_risk["converted"].astype(bool).to_numpy().astype(float)
        if risk_weight is None:
            overall = float((y.sum() + 1.0) / (len(y) + 2.0))
        else:
            overall = float(((y * risk_weight).sum() + 1.0) / (risk_weight.sum() + 2.0))
        at_risk["expected"] = _mix_expectation(at_risk, y, overall, np, pd, weights=risk_weight)

        # ---- amounts (a replicate re-estimates them from `sold` with its weights)
        if censored is None:
            sold = assigned[assigned["converted"].astype(bool) & (assigned["amount"] > 0)]
        else:
            # the sales within the horizon, each standing for 1 / G of them
            sold = assigned[deals.sold & deals.weight.gt(0) & (assigned["amount"] > 0)]
        if len(sold) and censored is not None:
            amount_median, sigma, default_amount = _amounts(sold, deals.weight)
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
            notes.append(
                f"amount: median per product over {len(sold)} sales, log spread {sigma:.2f}"
            )
        else:
            amount_median, sigma, default_amount = {}, 0.35, 10000.0
            gaps.append("no sale amounts: every sale is assumed worth 10,000")
            assumptions["amount"] = "the export has no sale amounts"
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
            team_pickups=team_pickups,
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

    def _basis_share(
        self,
        needed: float,
        valid: float,
        invalid_contact: float,
        curve: tuple[str, float, float, float],
        delays: Any,
        gaps: list[str],
    ) -> tuple[float, float, tuple[float, float]]:
        """The modelled share of the basis's leads that are valid and reached, with the valid
        share and contact coefficients that give it: (share, valid, (a, b)).

        Conversion measured per touched (or assigned, or reached) lead is divided by this share
        to give the chance a reached valid lead buys. When an assumption makes the share smaller
        than the sales seen need (the highest rate measured, `needed`, would call for a chance
        above `_MAX_CONVERT`), the data contradict it: the assumed valid share is raised first
        (up to every lead), then the assumed contact level, and each raise is listed in `gaps`.
        Without this the chances are clipped and the model sells less than the history it was
        fitted on (B2B deals close at 30-70%, where the consumer-lead defaults allow ~24%)."""
        import numpy as np

        shape, a, b, floor = curve
        reached_basis = self.basis_name == "reached leads"

        def share_of(v: float, level: float) -> float:
            if reached_basis:
                return v / (v + (1.0 - v) * invalid_contact)
            reach = float(np.mean(_contact_curve(shape, level, b, floor, delays)))
            return v * reach

        share = max(share_of(valid, a), 1e-6)
        want = needed / _MAX_CONVERT
        if want > share and not self.has_valid:
            # without verdicts invalid_contact is 1, so the share is linear in the valid share
            raised = min(1.0, valid * want / share)
            if raised > valid:
                gaps.append(
                    f"the assumed valid share ({valid:.0%}) is too low for the sales seen (up to "
                    f"{needed:.0%} per {self.basis_name[:-1]}): raised to {raised:.0%}"
                )
                valid = raised
                share = max(share_of(valid, a), 1e-6)
        if want > share and not reached_basis and not (self.has_touch and self.has_reached):
            before = float(np.mean(_contact_curve(shape, a, b, floor, delays)))
            goal = min(want / valid, 0.99)
            if goal > before:
                a = _contact_level(shape, a, b, floor, delays, goal)
                gaps.append(
                    f"the assumed contact ({before:.0%} of leads reached) is too low for the "
                    f"sales seen (up to {needed:.0%} per {self.basis_name[:-1]}): raised to "
                    f"{goal:.0%}"
                )
                share = max(share_of(valid, a), 1e-6)
        return share, valid, (a, b)

    def capacity_draw(self, seed: int) -> dict[str, float]:
        """Every rep's capacity for replicate `seed`: a draw from the censored fit's posterior
        keyed by (seed, rep) (`CapacityFit.draw`); reps it has no figure for keep theirs. The
        fitted capacities when there is nothing to redraw (no touch times, or capacity not read
        per rep)."""
        fit = self.capacity_fit
        if fit is None or not self.owner_known:
            return dict(self.capacity)
        return {**self.capacity, **fit.draw(seed)}

    def fit(self, weights: Any, capacity: Mapping[str, float] | None = None) -> FittedBehaviour:
        """The model estimated with one weight per assigned lead (a Series on `assigned`'s
        index; None = every lead once). Every count below is a weighted sum, so unit weights
        give the plain fit and Bayesian-bootstrap weights a replicate. `capacity` replaces the
        fitted capacities (a replicate's draw, `capacity_draw`)."""
        import pandas as pd

        k = self.k
        assigned = self.assigned
        w = pd.Series(1.0, index=assigned.index) if weights is None else weights
        gaps = list(self.gaps)
        notes: list[str] = []
        assumptions = dict(self.assumptions)

        # the conversion sums count each lead with its censoring weight too (open deals)
        cw = self.conversion_weights(weights)

        def rate(frame: Any, column: str, by: Any, weights: Any = w) -> Any:
            """Weighted sum of `column` and weight total per group of `by`."""
            weight = weights.reindex(frame.index)
            hits = frame[column].astype(float) * weight
            return pd.DataFrame({"sum": hits.groupby(by).sum(), "count": weight.groupby(by).sum()})

        # ---- validity by source
        tagged = assigned[assigned["valid"].notna()]
        if self.has_valid:
            tag_w = w.reindex(tagged.index)
            overall_valid = float((tagged["valid"].astype(float) * tag_w).sum() / tag_w.sum())
            by_source = rate(tagged, "valid", tagged["source"])
            valid_rate = {
                str(s): float(shrunk(row["sum"], row["count"], overall_valid, k))
                for s, row in by_source.iterrows()
            }
            notes.append(
                f"valid rate {overall_valid:.1%} over {len(tagged)} tagged leads, by source "
                "shrunk toward it"
            )
        else:
            overall_valid, valid_rate = 0.4, {}

        # ---- contact vs delay
        contact_coef = (math.log(0.75 / 0.25), -0.2)
        contact_floor = 0.0
        contact_shape = LOG_LOGIT
        # without verdicts nothing tells invalid leads' contact from valid ones': the curve
        # read off the touches (or assumed) is every lead's
        invalid_contact = 0.6 if self.has_valid else 1.0
        if self.has_touch and self.has_reached:
            basis = self.touched[self.touched["reached"].notna()]
            if self.has_valid:
                is_valid = basis["valid"].fillna(False).astype(bool)
                is_invalid = basis["valid"].notna() & ~basis["valid"].fillna(True).astype(bool)
                valid_basis, invalid_basis = basis[is_valid], basis[is_invalid]
                if len(invalid_basis) and len(valid_basis):
                    ratio = _weighted_mean(invalid_basis["reached"], w) / max(
                        _weighted_mean(valid_basis["reached"], w), 1e-9
                    )
                    invalid_contact = min(max(ratio, 0.0), 1.0)
                basis = valid_basis
            if len(basis) >= 30 and basis["reached"].astype(bool).nunique() == 2:
                contact_shape, a, b, contact_floor = _contact_fit(
                    basis["reached"].astype(bool).to_numpy(),
                    basis["delay"].to_numpy(),
                    w.reindex(basis.index).to_numpy(),
                )
                contact_coef = (a, b)
                notes.append(
                    f"contact vs first-touch delay: {contact_shape} falling toward a floor (the "
                    f"better fit of two shapes) over {len(basis)} first touches"
                    + (" of valid leads" if self.has_valid else " (validity unknown: all leads)")
                )
            else:
                gaps.append(
                    f"only {len(basis)} first touches with a reached/not-reached outcome: "
                    "contact decay is the default assumption (75% at once, falling with "
                    "ln(1 + delay))"
                )
                assumptions["contact"] = "too few first touches with an outcome to fit it"
        elif self.has_reached:
            seen = assigned[assigned["reached"].notna()]
            if self.has_valid:
                seen = seen[seen["valid"].fillna(False).astype(bool)]
            if len(seen):
                target = _weighted_mean(seen["reached"], w)
                a, b = contact_coef
                level = _contact_level(
                    contact_shape, a, b, contact_floor, _assumed_delays(), target
                )
                contact_coef = (level, b)
                gaps.append(
                    "no first-touch times: the assumed contact curve is levelled so that "
                    f"{target:.0%} of {'valid ' if self.has_valid else ''}leads are reached, "
                    "as in the export"
                )
        notes.extend(self.notes)

        # ---- conversion: segment, rep factor against the lead mix, rep x segment pairs
        at_risk = self.at_risk
        risk_w = cw.reindex(at_risk.index)
        y = at_risk["converted"].astype(bool).astype(float)
        overall = float(((y * risk_w).sum() + 1.0) / (risk_w.sum() + 2.0))
        by_segment = rate(at_risk, "converted", at_risk["segment"], cw)
        segment_rate = {
            str(s): float(shrunk(row["sum"], row["count"], overall, k))
            for s, row in by_segment.iterrows()
        }
        for segment in assigned["segment"].unique():
            segment_rate.setdefault(str(segment), overall)
        weighted = pd.DataFrame(
            {"sales": y * risk_w, "exp": at_risk["expected"] * risk_w, "rep_id": at_risk["rep_id"]}
        )
        rep_stats = weighted.groupby("rep_id")[["sales", "exp"]].sum()
        prior_sales = k * overall
        rep_factor = {
            str(r): float((row["sales"] + prior_sales) / (row["exp"] + prior_sales))
            for r, row in rep_stats.iterrows()
        }
        notes.append(
            f"conversion over {len(at_risk)} {self.basis_name} ({int(y.sum())} sales): segment "
            f"rate, rep factor vs a GLM of the lead mix, rep x segment pairs, each shrunk with "
            f"{k:g} pseudo-leads"
        )
        leads_per_pair = assigned.groupby(["rep_id", "segment"]).size()
        risk_pair = rate(at_risk, "converted", [at_risk["rep_id"], at_risk["segment"]], cw)
        rows = []
        conversion: dict[str, dict[str, float]] = {}
        for key, leads in leads_per_pair.items():
            rep_id, segment = key
            found = (rep_id, segment) in risk_pair.index
            sales = float(risk_pair.loc[(rep_id, segment), "sum"]) if found else 0.0
            count = float(risk_pair.loc[(rep_id, segment), "count"]) if found else 0.0
            prior = min(segment_rate[str(segment)] * rep_factor.get(str(rep_id), 1.0), 0.999)
            estimate = shrunk(sales, count, prior, k)
            conversion.setdefault(str(rep_id), {})[str(segment)] = float(estimate)
            rows.append(
                {
                    "rep_id": str(rep_id),
                    "segment": str(segment),
                    "leads": int(leads),
                    "reached_valid": count,
                    "sales": sales,
                    "raw_rate": sales / count if count else float("nan"),
                    "prior": prior,
                    "estimate": float(estimate),
                    "weight": count / (count + k),
                    "flagged": count < k,
                }
            )
        pairs = pd.DataFrame(rows, columns=list(_PAIR_COLUMNS))
        if weights is None:
            # with open deals, censoring-weighted counts: the leads and sales they stand for
            pairs["reached_valid"] = pairs["reached_valid"].round().astype(int)
            pairs["sales"] = pairs["sales"].round().astype(int)
        if not self.owner_known:
            # the owned leads were picked by their outcome: no rep is told apart from another
            conversion, rep_factor, pairs = {}, {}, pairs.iloc[:0]
            notes.append("no rep factors or rep x segment pairs: the owner is unknown")

        # ---- conversion by product: a factor on the rep x segment rates (see _product_factors)
        cell_rate = [
            conversion.get(str(r), {}).get(str(g), segment_rate.get(str(g), overall))
            for r, g in zip(at_risk["rep_id"], at_risk["segment"], strict=True)
        ]
        product_factor, product_norm, products = _product_factors(at_risk, cw, cell_rate, k)
        if products is not None:
            leads_per_product = assigned["product"].fillna("").astype(str).value_counts()
            products.insert(
                1, "leads", [int(leads_per_product.get(p, 0)) for p in products["product"]]
            )
            if weights is None:
                products["reached_valid"] = products["reached_valid"].round().astype(int)
                products["sales"] = products["sales"].round().astype(int)
            notes.append(
                f"conversion by product over {len(products)} products: a factor on the rep x "
                "segment rates, its sales against the sales those rates expect for its leads "
                f"(log factor shrunk by a normal prior, sd {_PRODUCT_PRIOR_SD:g})"
            )

        # ---- conversion measured over more than reached valid leads: put it on the
        # Protocol's basis
        if self.basis_name != "reached valid leads":
            delays = self.touched["delay"].to_numpy() if self.has_touch else _assumed_delays()
            top_factor = max([1.0, *product_factor.values()])
            needed = top_factor * max(
                [
                    p / product_norm.get(g, 1.0)
                    for row in conversion.values()
                    for g, p in row.items()
                ]
                + [p / product_norm.get(g, 1.0) for g, p in segment_rate.items()]
            )
            share, overall_valid, contact_coef = self._basis_share(
                needed,
                overall_valid,
                invalid_contact,
                (contact_shape, *contact_coef, contact_floor),
                delays,
                gaps,
            )
            conversion = {
                r: {g: min(p / share, 0.999) for g, p in row.items()}
                for r, row in conversion.items()
            }
            segment_rate = {g: min(p / share, 0.999) for g, p in segment_rate.items()}
            overall = min(overall / share, 0.999)
            gaps.append(
                f"conversion was measured per {self.basis_name[:-1]}; it is divided by the "
                f"modelled share of those that are valid and reached ({share:.1%}) so the "
                "simulator's sales rate matches the history's - the split between contact "
                "and closing is assumed"
            )
        # the tables hold the rates of a lead of factor 1: each segment's over its own mix,
        # divided by the mean factor of that mix
        segment_mix = dict(segment_rate)
        if product_norm:
            conversion = {
                r: {g: min(p / product_norm.get(g, 1.0), 0.999) for g, p in row.items()}
                for r, row in conversion.items()
            }
            segment_rate = {
                g: min(p / product_norm.get(g, 1.0), 0.999) for g, p in segment_rate.items()
            }
        amount_median, amount_sigma, default_amount = (
            self.amount_median,
            self.amount_sigma,
            self.default_amount,
        )
        if weights is not None and len(self.sold):
            amount_median, amount_sigma, default_amount = _amounts(self.sold, cw)
        if products is not None:
            products["amount_median"] = [
                amount_median.get(p, math.nan) for p in products["product"]
            ]

        numbers = GivenBehaviour(
            capacity_per_day=self.capacity if capacity is None else capacity,
            default_capacity=self.team_capacity,
            default_pickup=_ASSUMED_PICKUP,
            invalid_contact=invalid_contact,
            valid_rate=valid_rate,
            default_valid=overall_valid,
            conversion=conversion,
            segment_conversion=segment_rate,
            default_conversion=overall,
            product_conversion=product_factor,
            amount_median=amount_median,
            default_amount=default_amount,
            amount_sigma=amount_sigma,
            work_hours=self.work_hours,
            neglect=self.neglect,
            default_neglect=self.team_neglect,
            workday_minutes=(
                working_minutes_per_day(self.work_hours) if self.work_hours else WORKDAY_MINUTES
            ),
        )
        return FittedBehaviour(
            numbers=numbers,
            contact_coef=(float(contact_coef[0]), float(contact_coef[1])),
            contact_floor=float(contact_floor),
            contact_shape=contact_shape,
            pickup_delays=FrozenMap(self.pickups),
            team_pickup_delays=self.team_pickups,
            prior_strength=k,
            pairs=pairs,
            rep_factor=FrozenMap(rep_factor),
            gaps=tuple(gaps),
            notes=tuple(notes),
            origin=self.origin,
            assumptions=FrozenMap(assumptions),
            basis=self,
            ignored=self.ignored,
            rep_effects_known=self.owner_known,
            products=products,
            segment_rate=FrozenMap(segment_mix),
            rep_spread=(
                rep_spread(*_known_outcomes(y, at_risk, self.censored))
                if weights is None and self.owner_known
                else None
            ),
        )

    def bootstrap_weights(self, seed: int) -> Any:
        """Bayesian bootstrap weights: one Exp(1) draw per lead keyed by (seed, lead id),
        scaled to mean 1 - a flat Dirichlet over the leads, the same for a lead whatever
        other leads the history holds or their order."""
        import numpy as np
        import pandas as pd

        keys = np.array(
            [stable_key(seed, f"boot\x00{lead}") for lead in self.assigned["lead_id"]],
            dtype=np.uint64,
        )
        u = (keys >> np.uint64(11)).astype(float) * (1.0 / 9007199254740992.0)
        draws = -np.log1p(-np.clip(u, 0.0, 1.0 - 1e-16))
        return pd.Series(draws / draws.mean(), index=self.assigned.index)


_PAIR_COLUMNS = (
    "rep_id",
    "segment",
    "leads",
    "reached_valid",
    "sales",
    "raw_rate",
    "prior",
    "estimate",
    "weight",
    "flagged",
)


def _assumed_delays() -> Any:
    """First-touch delays in minutes when the export has no touch times: quantiles of the
    exponential pick-up the simulator then assumes (`GivenBehaviour.default_pickup`)."""
    import numpy as np

    return -_ASSUMED_PICKUP * np.log1p(-(np.arange(50) + 0.5) / 50.0)


def _weighted_mean(values: Any, w: Any) -> float:
    weight = w.reindex(values.index)
    return float((values.astype(bool).astype(float) * weight).sum() / max(weight.sum(), 1e-12))


def _known_outcomes(y: Any, at_risk: Any, censored: Censoring | None) -> tuple[Any, Any, Any]:
    """`rep_spread`'s arguments (sold, expected, rep) over the leads whose outcome within the
    horizon is known: all of them without open deals. Unweighted - the spread's likelihood
    counts leads - so it leans a little toward leads decided quickly."""
    keep = (
        slice(None) if censored is None else censored.weight.reindex(at_risk.index).to_numpy() > 0
    )
    return (
        y.to_numpy()[keep],
        at_risk["expected"].to_numpy()[keep],
        at_risk["rep_id"].astype(str).to_numpy()[keep],
    )


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


def _pickups(free: Any) -> tuple[tuple[float, ...], dict[str, tuple[float, ...]]]:
    """The team's sorted pick-up delays and each rep's, from leads first-touched with nothing
    waiting: a rep with `_MIN_PICKUP_SAMPLE` or more such leads gets their own delays; a rep with
    fewer gets the team's scaled by how slow their few are (the mean of ln(1 + delay) against
    the team's, shrunk with `_PICKUP_PRIOR` pseudo-leads), so a slow rep the queue seldom left
    idle is not given the quick reps' habits."""
    import numpy as np

    sorted_team = np.sort(free["work_delay"].to_numpy(dtype=float))
    team = tuple(float(x) for x in sorted_team)
    centre = float(np.log1p(sorted_team).mean()) if len(team) else 0.0
    own: dict[str, tuple[float, ...]] = {}
    for rep_id, group in free.groupby("rep_id"):
        delays = np.sort(group["work_delay"].to_numpy(dtype=float))
        if len(delays) >= _MIN_PICKUP_SAMPLE:
            own[str(rep_id)] = tuple(float(x) for x in delays)
        else:
            shift = float((np.log1p(delays) - centre).sum()) / (len(delays) + _PICKUP_PRIOR)
            own[str(rep_id)] = tuple(float(x) for x in sorted_team * math.exp(shift))
    return team, own
