"""The checks calibration makes on one split of a history, each against its predictive interval.

`leadrouter.sim.calibration` replays the logged assignments and hands each split (the leads the
model was fitted on, the held-out later leads) here: what the history lets it check at all
(`scope_of`: no sale, no reached flags, too few amounts or products each make a metric not
checkable, with why), a replay's figures over the split's leads (`simulated`), how many checks a
split makes (`checks_in`, for the joint level), and the rows of `Calibration.checks`
(`split_rows`): each figure of the history against the replicates' prediction interval
m ± q · s · √(1 + 1/R), its spread floored by the figure's own sampling noise, and, with deals
still open at the export, the history's sales figures read censoring-aware
(`leadrouter.sim.censoring`) or not checkable while too few of a split's outcomes are known.
The module docstring of `leadrouter.sim.calibration` says why each choice is made.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import numpy as np
import pandas as pd

from leadrouter.events import Converted, Touched
from leadrouter.sim.censoring import Censoring, _days
from leadrouter.sim.metrics import BY_PRODUCT, REVENUE

__all__ = [
    "FAIL",
    "NOT_CHECKABLE",
    "PASS",
    "Scope",
    "checks_in",
    "product_metric",
    "scope_of",
    "simulated",
    "split_rows",
]

PASS, FAIL, NOT_CHECKABLE = "pass", "fail", "not checkable"
"""A check's `status` (and the verdict's): inside its interval, outside it, or not made (why is
in its `note`)."""

_REVENUE_NOISE = "revenue_per_lead noise"
"""A run's standard error of revenue per lead (a floor of the revenue interval's spread); not a
check."""

_MIN_PRODUCT_LEADS = 30
"""A product needs this many leads in a split for its conversion to be checked there."""

_MIN_AMOUNT_SHARE = 0.8
"""Revenue is checked when at least this share of the sales carry an amount (the model's
revenue is then scaled by that share); fewer, and the history's revenue is too incomplete."""


def product_metric(product: str) -> str:
    """The `metric` of the check of `product`'s conversion rate: `conversion_rate[product]`."""
    return f"conversion_rate[{product}]"


@attrs.frozen
class Scope:
    """What a history lets calibration check, read once: why each metric cannot be checked (a
    metric not in `why_not` can be), the share of sales that carry an amount, the products."""

    why_not: dict[str, str]
    amount_share: float
    products: tuple[str, ...]


def scope_of(frame: pd.DataFrame) -> Scope:
    """What a history's rows (`History.to_frame()`) let calibration check (`Scope`)."""
    sold = frame["converted"].astype(bool)
    sales = int(sold.sum())
    why: dict[str, str] = {}
    if not sales:
        why["conversion_rate"] = "the history has no sale, so conversion cannot be checked"
    if frame["reached"].isna().all():
        why["contact_rate"] = (
            "the history records no reached / not reached: contact cannot be checked"
        )
    amount = pd.to_numeric(frame["amount"], errors="coerce")
    priced = int((sold & (amount > 0)).sum())
    share = priced / sales if sales else 0.0
    if not sales:
        why[REVENUE] = "the history has no sale, so revenue cannot be checked"
    elif not priced:
        why[REVENUE] = "the history has no sale amounts, so revenue cannot be checked"
    elif share < _MIN_AMOUNT_SHARE:
        why[REVENUE] = (
            f"only {priced} of {sales} sales carry an amount ({share:.0%}): the history's "
            "revenue is too incomplete to check"
        )
    products = sorted(set(frame["product"].fillna("").astype(str)) - {""})
    if len(products) < 2:
        why[BY_PRODUCT] = (
            f"the export has a single product ({products[0]}), so sales by product cannot be "
            "checked"
            if products
            else "the export has no products, so sales by product cannot be checked"
        )
    elif not sales:
        why[BY_PRODUCT] = "the history has no sale, so sales by product cannot be checked"
    return Scope(why, share, tuple(products) if BY_PRODUCT not in why else ())


def simulated(
    events: Iterable[Any], leads: set[str], product_of: Mapping[str, str]
) -> dict[str, float]:
    """A run's figures over `leads`: conversion, contact, revenue per lead (and its standard
    error over the leads, `_REVENUE_NOISE`) and, for the products in `product_of` (lead id ->
    product), each product's conversion rate."""
    sales: set[str] = set()
    reached: set[str] = set()
    touched: set[str] = set()
    revenue: dict[str, float] = {}
    for event in events:
        if event.lead_id not in leads:
            continue
        if type(event) is Converted:
            sales.add(event.lead_id)
            revenue[event.lead_id] = revenue.get(event.lead_id, 0.0) + event.amount
        elif type(event) is Touched and event.lead_id not in touched:
            touched.add(event.lead_id)
            if event.reached:
                reached.add(event.lead_id)
    n = len(leads)
    mean = sum(revenue.values()) / n
    spread = max(sum(x * x for x in revenue.values()) / n - mean * mean, 0.0)
    out = {
        "conversion_rate": len(sales) / n,
        "contact_rate": len(reached) / n,
        REVENUE: mean,
        _REVENUE_NOISE: math.sqrt(spread / max(n - 1, 1)),
    }
    if product_of:
        counts: dict[str, int] = {}
        sold: dict[str, int] = {}
        for lead in leads:
            product = product_of.get(lead)
            if product is not None:
                counts[product] = counts.get(product, 0) + 1
                sold[product] = sold.get(product, 0) + (lead in sales)
        for product, count in counts.items():
            out[product_metric(product)] = sold[product] / count
    return out


def _interval(
    values: np.ndarray[Any, Any], level: float, floor: float, upper: float = 1.0
) -> tuple[float, float, float]:
    """Mean and prediction interval of a figure from its replicates: m ± q · s · √(1 + 1/R).
    The spread s is the replicates' standard deviation, but at least `floor`, the figure's own
    sampling noise (the binomial spread of a rate over its leads; the standard error of revenue
    per lead): with few replicates two can agree by chance, and a zero-width interval would
    fail any observation. q is Student's t on R - 1 degrees of freedom when s was estimated from
    the replicates, the normal quantile when the floor - computed, not estimated - set it.
    Clipped to [0, `upper`]."""
    from scipy import stats

    mean = float(values.mean()) if len(values) else math.nan
    r = len(values)
    if r < 2:
        return mean, math.nan, math.nan
    spread = float(values.std(ddof=1))
    if spread >= floor:
        q = float(stats.t.ppf(0.5 + level / 2.0, r - 1))
    else:
        spread, q = floor, float(stats.norm.ppf(0.5 + level / 2.0))
    half = q * spread * math.sqrt(1.0 + 1.0 / r)
    return mean, max(mean - half, 0.0), min(mean + half, upper)


def _product_leads(part: pd.DataFrame, scope: Scope) -> dict[str, int]:
    product = part["product"].fillna("").astype(str)
    return {name: int((product == name).sum()) for name in scope.products}


def checks_in(part: pd.DataFrame, scope: Scope) -> int:
    """How many checks a split makes: conversion, contact, revenue (each when checkable) and
    sales by product (one check of all products with enough leads)."""
    found = sum(metric not in scope.why_not for metric in ("conversion_rate", "contact_rate"))
    found += REVENUE not in scope.why_not
    leads = _product_leads(part, scope).values()
    return found + any(count >= _MIN_PRODUCT_LEADS for count in leads)


def split_rows(
    split: str,
    part: pd.DataFrame,
    sims: Mapping[str, list[float]],
    scope: Scope,
    level: float,
    censored: Censoring,
) -> list[dict[str, Any]]:
    """The check rows of one split: each metric checked against its replicates, or said not
    checkable (with why). With open deals (`censored.active`) the history's sales figures -
    conversion, each product's, revenue - are censoring-aware, sold within the model's
    horizon (`leadrouter.sim.censoring`), as the model's are; their own noise is counted over
    the effective number of leads the weights leave."""
    n = len(part)
    sold = censored.sold.astype(bool)
    rows: list[dict[str, Any]] = []
    still_open = _still_open(censored, n)

    def unchecked(metric: str, leads: int, note: str) -> None:
        rows.append(
            {
                "split": split,
                "metric": metric,
                "observed": math.nan,
                "predicted": math.nan,
                "lo": math.nan,
                "hi": math.nan,
                "leads": leads,
                "passed": False,
                "status": NOT_CHECKABLE,
                "note": note,
                "level": math.nan,
            }
        )

    def check(
        metric: str,
        value: float,
        leads: int,
        floor: float | None,
        scale: float = 1.0,
        at: float = level,
        noise_leads: float | None = None,
    ) -> None:
        values = np.asarray(sims.get(metric, []), dtype=float) * scale
        if floor is None:  # a rate: the binomial spread over its (effective) leads
            mean = float(values.mean()) if len(values) else 0.0
            over = leads if noise_leads is None else noise_leads
            floor = math.sqrt(max(mean * (1.0 - mean), 0.0) / max(over, 1))
            mean, lo, hi = _interval(values, at, floor)
        else:
            mean, lo, hi = _interval(values, at, floor, upper=math.inf)
        passed = bool(lo <= value <= hi)
        rows.append(
            {
                "split": split,
                "metric": metric,
                "observed": value,
                "predicted": mean,
                "lo": lo,
                "hi": hi,
                "leads": leads,
                "passed": passed,
                "status": PASS if passed else FAIL,
                "note": "",
                "level": at,
            }
        )

    for metric in ("conversion_rate", "contact_rate"):
        if metric in scope.why_not:
            unchecked(metric, n, scope.why_not[metric])
        elif metric == "conversion_rate" and still_open:
            unchecked(metric, n, still_open)
        elif metric == "conversion_rate" and censored.active:
            check(metric, censored.rate(), n, None, noise_leads=censored.effective_leads())
        elif metric == "conversion_rate":
            check(metric, float(sold.sum()) / n, n, None, 1.0)
        else:
            reached = part["reached"].fillna(False).astype(bool)
            check(metric, float(reached.sum()) / n, n, None, 1.0)
    if REVENUE in scope.why_not:
        unchecked(REVENUE, n, scope.why_not[REVENUE])
    elif still_open:
        unchecked(REVENUE, n, still_open)
    else:
        amount = pd.to_numeric(part["amount"], errors="coerce")
        per_lead = amount.where(sold & (amount > 0), 0.0).fillna(0.0).to_numpy(dtype=float)
        # revenue per lead's sampling noise: its standard error over the split's leads, in the
        # history or under the model, whichever is larger - a few large sales make revenue
        # lumpy, and a few replicates can miss how lumpy
        observed = float(per_lead.std(ddof=1)) / math.sqrt(n) if n > 1 else 0.0
        modelled = float(np.mean(sims.get(_REVENUE_NOISE, [0.0]))) * scope.amount_share
        revenue = float(per_lead.sum()) / n
        if censored.active:
            share = censored.weight.to_numpy(dtype=float)
            revenue = float((per_lead * share).sum() / max(share.sum(), 1e-12))
            known = max(censored.effective_leads(), 1.0)
            observed = float(per_lead[share > 0].std(ddof=1)) / math.sqrt(known) if n > 1 else 0.0
            modelled *= math.sqrt(n / known)
        check(REVENUE, revenue, n, max(observed, modelled), scope.amount_share)
    if BY_PRODUCT in scope.why_not:
        unchecked(BY_PRODUCT, n, scope.why_not[BY_PRODUCT])
    product = part["product"].fillna("").astype(str)
    leads_of = _product_leads(part, scope)
    checked = sum(leads >= _MIN_PRODUCT_LEADS for leads in leads_of.values())
    joint = 1.0 - (1.0 - level) / max(checked, 1)
    for name, leads in leads_of.items():
        if still_open and leads >= _MIN_PRODUCT_LEADS:
            unchecked(product_metric(name), leads, still_open)
        elif leads < _MIN_PRODUCT_LEADS:
            unchecked(
                product_metric(name),
                leads,
                f"only {leads} leads of {name} in this split (a product needs "
                f"{_MIN_PRODUCT_LEADS} to be checked)",
            )
        elif censored.active:
            rows_of = part.index[(product == name).to_numpy()]
            rate = censored.rate(rows_of)
            noise = censored.effective_leads(rows_of)
            check(product_metric(name), rate, leads, None, at=joint, noise_leads=noise)
        else:
            rate = float(sold[product == name].sum()) / leads
            check(product_metric(name), rate, leads, None, at=joint)
    return rows


_MIN_KNOWN = 2.0 / 3.0
"""With open deals, a split's sales are checked when at least this share of its leads have a
known outcome within the horizon (`_still_open`)."""


def _still_open(censored: Censoring, leads: int) -> str:
    """Why a split's sales within the horizon cannot be checked yet ("" when they can): fewer
    than `_MIN_KNOWN` of its leads have a known outcome. The censoring weights stand the known
    leads in for the open ones, which needs leads of the split followed as long as deals take
    to be decided; a split of recent leads has none - its lost deals are all still open, its
    quick wins are not - and measured on synthetic teams its weighted rate came out 50% high
    when a 7-day split had 40% of its leads known."""
    if not censored.active or leads - censored.censored >= _MIN_KNOWN * leads:
        return ""
    return (
        f"{censored.censored} of {leads} leads of this split were still open at the export, "
        f"followed less than the {_days(censored.horizon)}-day horizon: their sales within it "
        "are not known yet (check again on a later export, or with a shorter horizon=)"
    )
