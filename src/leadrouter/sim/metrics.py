"""Metrics of a simulated run, read from its ledger: what `compare` reports per (policy, seed).

Kept apart from `compare` so that the engine (`SimRun.metrics`), calibration and comparisons read
runs the same way without importing each other.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from leadrouter._util import instant
from leadrouter.events import Assigned, Claimed, Converted, Tagged, Touched
from leadrouter.model import Lead

if TYPE_CHECKING:
    from leadrouter.sim.engine import Behaviour, SimRun
    from leadrouter.sim.history import History

__all__ = [
    "BY_PRODUCT",
    "LOWER_IS_BETTER",
    "METRICS",
    "METRIC_KINDS",
    "METRIC_RANGE",
    "PER_REP_COLUMNS",
    "REVENUE",
    "FirstTouches",
    "first_touches",
    "metrics",
    "per_rep",
    "run_metrics",
    "run_per_rep",
    "seen_pairs",
    "touch_speeds",
    "within_range",
]

METRICS = (
    "conversion_rate",
    "revenue",
    "roi",
    "cost_per_sale",
    "speed_to_lead_median",
    "coverage",
    "wasted",
    "gini",
    "max_over_mean",
    "sla_breaches",
    "reassignments",
    "conversion_mechanical",
    "extrapolated_share",
)
"""Every metric `compare` reports, in table order."""

METRIC_KINDS: Mapping[str, str] = {
    "conversion_rate": "model",
    "revenue": "model",
    "roi": "model",
    "cost_per_sale": "model",
    "speed_to_lead_median": "mechanical",
    "coverage": "mechanical",
    "wasted": "mechanical",
    "gini": "mechanical",
    "max_over_mean": "mechanical",
    "sla_breaches": "mechanical",
    "reassignments": "mechanical",
    "conversion_mechanical": "mechanical",
    "extrapolated_share": "diagnostic",
}
"""What each metric's differences rest on. `mechanical`: who got which lead when, queues, speed,
load - the Router's own behaviour under the model's capacity and delays. `model`: sales and money,
which also rest on the fitted (or given) contact, validity and rep x segment conversion rates.
`diagnostic`: not an outcome, a measure of how much a result leans on extrapolation."""

_SHARE = (0.0, 1.0)
_NON_NEGATIVE = (0.0, math.inf)
METRIC_RANGE: Mapping[str, tuple[float, float]] = {
    "conversion_rate": _SHARE,
    "revenue": _NON_NEGATIVE,
    "roi": (-1.0, math.inf),
    "cost_per_sale": _NON_NEGATIVE,
    "speed_to_lead_median": _NON_NEGATIVE,
    "coverage": _SHARE,
    "wasted": _SHARE,
    "gini": _SHARE,
    "max_over_mean": _NON_NEGATIVE,
    "sla_breaches": _NON_NEGATIVE,
    "reassignments": _NON_NEGATIVE,
    "conversion_mechanical": _SHARE,
    "extrapolated_share": _SHARE,
}
"""The values each metric can take: level intervals are clipped to them (a conversion rate's
interval never reaches below 0)."""


def within_range(metric: str, low: float, high: float) -> tuple[float, float]:
    """A level interval's bounds kept within what `metric` can be (`METRIC_RANGE`: a share
    between 0 and 1, a count or an amount not under 0); a NaN bound, no interval, stays NaN."""
    floor, ceiling = METRIC_RANGE[metric]
    return (
        low if math.isnan(low) else max(low, floor),
        high if math.isnan(high) else min(high, ceiling),
    )


PER_REP_COLUMNS = ("received", "touched", "reached", "converted", "revenue", "speed_median")

FirstTouches = dict[str, tuple[str, float, bool]]
"""Each touched lead's first touch: (rep, minutes from the lead's arrival, reached)."""


def first_touches(run: SimRun) -> FirstTouches:
    """Every touched lead's first touch, read from the run's ledger once for all the tables."""
    arrived = {lead.id: lead.arrived_at for lead in run.leads}
    found: FirstTouches = {}
    for event in run.ledger.events():
        # a ledger holds events of its own classes only (`Ledger.append` refuses subclasses)
        if type(event) is Touched and event.lead_id not in found:
            minutes = (instant(event.at) - instant(arrived[event.lead_id])).total_seconds() / 60
            found[event.lead_id] = (event.rep_id, minutes, event.reached)
    return found


def touch_speeds(first: FirstTouches) -> np.ndarray[Any, Any]:
    """Minutes from arrival to first touch, one per touched lead."""
    return np.array([minutes for _, minutes, _ in first.values()], dtype=float)


def _expected_sales(
    run: SimRun, behaviour: Behaviour, first: FirstTouches, by_id: Mapping[str, Lead]
) -> tuple[float, float, float | None]:
    """Expected sales, revenue and sales at the team's rate (None without `p_convert_team`)
    given the run's path: the sum over first-touched leads of the engine's chance of a sale at
    that touch, p_valid x p_contact x p_convert, and that chance times the amount at the lead's
    own `amount` uniform.

    Why: a lead's validity, reach and purchase are drawn from its own uniforms at its first touch
    and at no other time, so its sale indicator minus this chance has mean zero whatever happened
    before (which rep, how late). The sums are therefore unbiased for the run's expected sales
    and revenue, and leave out the coin flips of every touch: with them left in, each replicate
    carries outcome noise that widens the intervals well past what the parameters' uncertainty
    warrants (docs/analyst/limits.md)."""
    draws = run.draws
    amounts = dict(zip(draws.index.tolist(), draws["amount"].tolist(), strict=True))
    team_rate = getattr(behaviour, "p_convert_team", None)
    p_valid, p_contact, p_convert, amount = (
        behaviour.p_valid,
        behaviour.p_contact,
        behaviour.p_convert,
        behaviour.amount,
    )
    sales = revenue = team = 0.0
    for lead_id, (rep, minutes, _) in first.items():
        lead = by_id[lead_id]
        reach = p_valid(lead) * p_contact(rep, lead, minutes)
        chance = reach * p_convert(rep, lead)
        sales += chance
        if chance > 0:
            revenue += chance * max(0.0, float(amount(rep, lead, amounts[lead_id])))
        if team_rate is not None:
            team += reach * team_rate(lead)
    return sales, revenue, (team if team_rate is not None else None)


def _gini(values: np.ndarray[Any, Any]) -> float:
    if len(values) == 0 or values.sum() == 0:
        return 0.0
    ordered = np.sort(values.astype(float))
    n = len(ordered)
    ranks = np.arange(1, n + 1)
    return float((2 * (ranks * ordered).sum()) / (n * ordered.sum()) - (n + 1) / n)


def metrics(
    run: SimRun,
    sla: timedelta = timedelta(hours=1),
    behaviour: Behaviour | None = None,
    seen_pairs: Iterable[tuple[str, str]] | None = None,
) -> dict[str, float]:
    """The run's metrics (every name in `METRICS`), read from its ledger.

    `conversion_rate`: sales / leads. `revenue`: sum of sale amounts. `roi`: (revenue − lead
    cost) / lead cost (NaN with no cost). `cost_per_sale`: lead cost / sales (NaN with no sale,
    or no cost: an export without costs does not make its sales free).
    `speed_to_lead_median`: median minutes from arrival to first touch, over touched leads.
    `coverage`: share of leads first-touched within `sla` of arrival. `wasted`: share never
    touched. `sla_breaches`: leads touched, but later than `sla` (so coverage + breaches / leads +
    wasted = 1). `gini` and `max_over_mean`: of leads received (assigned or claimed) per rep on
    the roster. `reassignments`: receipts beyond each lead's first.

    `conversion_mechanical`: the expected conversion rate had every rep closed the reached valid
    leads at the team's rate for the segment (`behaviour.p_convert_team`; NaN for a behaviour
    without it). `extrapolated_share`: the share of receipts whose (rep, lead segment) pair is not
    in `seen_pairs` (the pairs the history holds; NaN when not given).
    """
    return run_metrics(run, sla, behaviour, seen_pairs, first_touches(run))


def run_metrics(
    run: SimRun,
    sla: timedelta,
    behaviour: Behaviour | None,
    seen_pairs: Iterable[tuple[str, str]] | None,
    first: FirstTouches,
    expected: bool = False,
) -> dict[str, float]:
    """`metrics` with the first touches read already. `expected=True` (what `compare` uses)
    counts sales and revenue as their expectation given the run's path (`_expected_sales`)."""
    leads = run.leads
    n = len(leads)
    by_id = {lead.id: lead for lead in leads}
    cost = float(sum(lead.cost for lead in leads))
    sales: float = 0
    revenue = 0.0
    receipts: dict[str, int] = {rep.id: 0 for rep in run.reps}
    per_lead: dict[str, int] = {}
    seen = set(seen_pairs) if seen_pairs is not None else None
    unseen = 0
    valid: set[str] = set()
    event: Any
    for event in run.ledger.events():
        kind = type(event)  # a ledger's events are of its own classes, never subclasses
        if kind is Converted:
            sales += 1
            revenue += event.amount
        elif kind is Assigned or kind is Claimed:
            receipts[event.rep_id] = receipts.get(event.rep_id, 0) + 1
            per_lead[event.lead_id] = per_lead.get(event.lead_id, 0) + 1
            if seen is not None and (event.rep_id, by_id[event.lead_id].segment) not in seen:
                unseen += 1
        elif kind is Tagged and event.valid:
            valid.add(event.lead_id)
    speeds = touch_speeds(first)
    limit = sla.total_seconds() / 60.0
    within = int((speeds <= limit).sum()) if len(speeds) else 0
    loads = np.array(list(receipts.values()), dtype=float)
    mean_load = loads.mean() if len(loads) else 0.0
    team_rate = getattr(behaviour, "p_convert_team", None)
    team_sales: float | None = None
    if expected and behaviour is not None:
        sales, revenue, team_sales = _expected_sales(run, behaviour, first, by_id)
    elif team_rate is not None:
        team_sales = sum(
            team_rate(by_id[lead_id])
            for lead_id, (_, _, reached) in first.items()
            if reached and lead_id in valid
        )
    mechanical = team_sales / n if team_sales is not None and n else math.nan
    total_receipts = sum(per_lead.values())
    return {
        "conversion_rate": sales / n if n else math.nan,
        "revenue": revenue,
        "roi": (revenue - cost) / cost if cost > 0 else math.nan,
        "cost_per_sale": cost / sales if sales and cost > 0 else math.nan,
        "speed_to_lead_median": float(np.median(speeds)) if len(speeds) else math.nan,
        "coverage": within / n if n else math.nan,
        "wasted": (n - len(first)) / n if n else math.nan,
        "gini": _gini(loads),
        "max_over_mean": float(loads.max() / mean_load) if mean_load > 0 else math.nan,
        "sla_breaches": float(len(first) - within),
        "reassignments": float(sum(count - 1 for count in per_lead.values() if count > 1)),
        "conversion_mechanical": mechanical,
        "extrapolated_share": (
            unseen / total_receipts if seen is not None and total_receipts else math.nan
        ),
    }


def per_rep(run: SimRun, sla: timedelta = timedelta(hours=1)) -> pd.DataFrame:
    """One row per rep on the roster (index `rep_id`), columns `PER_REP_COLUMNS`: leads
    received, first touches made, of them reached, sales, revenue, and median minutes from
    arrival to their first touches. (`sla` is accepted for symmetry with `metrics`.)"""
    del sla
    return run_per_rep(run, first_touches(run))


def run_per_rep(run: SimRun, first: FirstTouches) -> pd.DataFrame:
    rows: dict[str, dict[str, float]] = {
        rep.id: dict.fromkeys(PER_REP_COLUMNS, 0.0) for rep in run.reps
    }
    speeds: dict[str, list[float]] = {rep.id: [] for rep in run.reps}
    event: Any
    for event in run.ledger.events():
        kind = type(event)
        if kind is Assigned or kind is Claimed:
            row = rows.get(event.rep_id)
            if row is None:
                row = rows[event.rep_id] = dict.fromkeys(PER_REP_COLUMNS, 0.0)
            row["received"] += 1
        elif kind is Converted:
            row = rows[event.rep_id]
            row["converted"] += 1
            row["revenue"] += event.amount
    for rep, minutes, reached in first.values():
        rows[rep]["touched"] += 1
        rows[rep]["reached"] += int(reached)
        speeds.setdefault(rep, []).append(minutes)
    for rep, values in speeds.items():
        rows[rep]["speed_median"] = float(np.median(values)) if values else math.nan
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(PER_REP_COLUMNS))
    frame.index.name = "rep_id"
    return frame


def seen_pairs(history: History) -> frozenset[tuple[str, str]]:
    """The (rep, segment) pairs the history's logged assignments hold."""
    frame = history.to_frame()
    assigned = frame[frame["rep_id"].notna()]
    return frozenset(
        (str(rep), str(segment))
        for rep, segment in zip(assigned["rep_id"], assigned["segment"], strict=True)
    )


REVENUE = "revenue_per_lead"
"""The calibration's revenue check: the sale amounts of a split's leads over its lead count
(money, not a rate)."""

BY_PRODUCT = "conversion_by_product"
"""The calibration row that says why sales by product could not be checked at all; checked,
each product has its own row, `calibration.product_metric(product)`."""

LOWER_IS_BETTER = frozenset(
    {
        "speed_to_lead_median",
        "wasted",
        "cost_per_sale",
        "sla_breaches",
        "gini",
        "max_over_mean",
        "reassignments",
        "extrapolated_share",
    }
)
