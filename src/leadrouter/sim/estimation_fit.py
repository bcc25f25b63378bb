"""The second step of a fit: the model estimated from what was read (`_Basis.fit`).

`estimate(basis, weights)` turns a `_Basis` (`leadrouter.sim.estimation_read`) into a
`FittedBehaviour` with one weight per assigned lead, each part of the behaviour by its own
estimator: validity by source (`_validity`), contact against first-touch delay (`_contact`),
conversion in layers of shrinkage (`_conversion`) and by product (`_by_product`), conversion put
on the reached-valid basis the Protocol speaks of when the export measured it over more leads
(`_on_reached_valid`), and sale amounts. Every count is a weighted sum, so unit weights give the
fit and Bayesian-bootstrap weights a replicate: both run this one code path, and a replicate
varies exactly what the data leave uncertain.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from leadrouter._util import FrozenMap, shrunk
from leadrouter.sim.contact import LOG_LOGIT, _contact_curve, _contact_fit, _contact_level
from leadrouter.sim.estimation_shrink import (
    Shrinkage,
    pair_shape,
    pseudo_sales,
    rep_shape,
    spread_words,
)
from leadrouter.sim.fitted import FittedBehaviour
from leadrouter.sim.given import WORKDAY_MINUTES, GivenBehaviour
from leadrouter.sim.pickups import Samples
from leadrouter.sim.products import _PRODUCT_PRIOR_SD, _amounts, _product_factors
from leadrouter.sim.repspread import RepSpread, rep_spread
from leadrouter.sim.touches import _neglect
from leadrouter.sim.workweek import working_minutes_per_day

if TYPE_CHECKING:
    from leadrouter.sim.censoring import Censoring
    from leadrouter.sim.estimation_read import _Basis


_ASSUMED_PICKUP = 30.0
"""Mean pick-up delay in minutes assumed without first-touch times."""
_MAX_CONVERT = 0.95
"""The highest chance of a sale an assumption may leave a reached valid lead (`_basis_share`)."""
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

Curve = tuple[str, float, float, float]
"""A contact curve: (shape, a, b, floor), see `leadrouter.sim.contact`."""


def estimate(
    basis: _Basis,
    weights: Any,
    capacity: Mapping[str, float] | None = None,
    pickups: Samples | None = None,
    draw: tuple[Shrinkage, int] | None = None,
) -> FittedBehaviour:
    """The model estimated from `basis` with one weight per assigned lead (a Series on
    `basis.assigned`'s index; None = every lead once). Every count below is a weighted sum, so
    unit weights give the plain fit and Bayesian-bootstrap weights a replicate. `capacity`
    replaces the fitted capacities (a replicate's draw, `_Basis.capacity_draw`), `pickups` the
    fitted pick-up samples (a replicate's draw, `leadrouter.sim.pickups.Pickups.draw`), and
    `draw` is a replicate's (the fit's shrinkage of reps and pairs, and the replicate's seed):
    reps (with the fit's spread) and pairs (with a spread re-estimated from the replicate's
    sums) are then drawn from their posterior (`leadrouter.sim.estimation_shrink`)."""
    import pandas as pd

    w = pd.Series(1.0, index=basis.assigned.index) if weights is None else weights
    gaps = list(basis.gaps)
    notes: list[str] = []
    assumptions = dict(basis.assumptions)
    # the conversion sums count each lead with its censoring weight too (open deals)
    cw = basis.conversion_weights(weights)

    overall_valid, valid_rate = _validity(basis, w, notes)
    curve, invalid_contact = _contact(basis, w, notes, gaps, assumptions)
    notes.extend(basis.notes)
    spread = (
        rep_spread(*_known_outcomes(_sold(basis.at_risk), basis.at_risk, basis.censored))
        if draw is None and basis.owner_known
        else None
    )
    overall, segment_rate, rep_factor, conversion, pairs, shrinkage = _conversion(
        basis, cw, weights, notes, spread, draw
    )
    product_factor, product_norm, products = _by_product(
        basis, cw, weights, conversion, segment_rate, overall, notes
    )
    if basis.basis_name != "reached valid leads":
        overall_valid, curve, (overall, segment_rate, conversion) = _on_reached_valid(
            basis,
            (overall, segment_rate, conversion),
            product_factor,
            product_norm,
            (overall_valid, invalid_contact, curve),
            gaps,
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
        basis.amount_median,
        basis.amount_sigma,
        basis.default_amount,
    )
    if weights is not None and len(basis.sold):
        amount_median, amount_sigma, default_amount = _amounts(basis.sold, cw)
    team_pickups, pickups_by_rep = (
        (basis.pickups.team, basis.pickups.point()) if pickups is None else pickups
    )
    neglect, team_neglect = basis.neglect, basis.team_neglect
    if weights is not None and neglect:
        neglect, team_neglect = _neglect(basis.assigned, basis.k, w)
    if products is not None:
        products["amount_median"] = [amount_median.get(p, math.nan) for p in products["product"]]

    shape, a, b, floor = curve
    numbers = GivenBehaviour(
        capacity_per_day=basis.capacity if capacity is None else capacity,
        default_capacity=basis.team_capacity,
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
        work_hours=basis.work_hours,
        neglect=neglect,
        default_neglect=team_neglect,
        workday_minutes=(
            working_minutes_per_day(basis.work_hours) if basis.work_hours else WORKDAY_MINUTES
        ),
    )
    return FittedBehaviour(
        numbers=numbers,
        contact_coef=(float(a), float(b)),
        contact_floor=float(floor),
        contact_shape=shape,
        pickup_delays=FrozenMap(pickups_by_rep),
        team_pickup_delays=team_pickups,
        prior_strength=basis.k,
        pairs=pairs,
        rep_factor=FrozenMap(rep_factor),
        gaps=tuple(gaps),
        notes=tuple(notes),
        origin=basis.origin,
        leads=len(basis.assigned),
        assumptions=FrozenMap(assumptions),
        basis=basis,
        ignored=basis.ignored,
        rep_effects_known=basis.owner_known,
        products=products,
        segment_rate=FrozenMap(segment_mix),
        rep_spread=spread if weights is None else None,
        shrinkage=shrinkage,
    )


def _rate(frame: Any, column: str, by: Any, weights: Any) -> Any:
    """Weighted sum of `column` and weight total per group of `by`."""
    import pandas as pd

    weight = weights.reindex(frame.index)
    hits = frame[column].astype(float) * weight
    return pd.DataFrame({"sum": hits.groupby(by).sum(), "count": weight.groupby(by).sum()})


def _validity(basis: _Basis, w: Any, notes: list[str]) -> tuple[float, dict[str, float]]:
    """The valid share over the tagged leads and each source's, shrunk toward it with `k`
    pseudo-leads: (overall, by source). Without verdicts 0.4 for every source (assumed)."""
    if not basis.has_valid:
        return 0.4, {}
    assigned = basis.assigned
    tagged = assigned[assigned["valid"].notna()]
    tag_w = w.reindex(tagged.index)
    overall_valid = float((tagged["valid"].astype(float) * tag_w).sum() / tag_w.sum())
    by_source = _rate(tagged, "valid", tagged["source"], w)
    valid_rate = {
        str(s): float(shrunk(row["sum"], row["count"], overall_valid, basis.k))
        for s, row in by_source.iterrows()
    }
    notes.append(
        f"valid rate {overall_valid:.1%} over {len(tagged)} tagged leads, by source "
        "shrunk toward it"
    )
    return overall_valid, valid_rate


def _contact(
    basis: _Basis,
    w: Any,
    notes: list[str],
    gaps: list[str],
    assumptions: dict[str, str],
) -> tuple[Curve, float]:
    """The contact curve against first-touch delay and invalid leads' relative contact rate:
    (curve, invalid contact). Fitted over the first-touched valid leads with an outcome (all
    of them without verdicts) when there are at least 30 and both outcomes occur; with reached
    flags but no touch times, the assumed curve levelled to the export's reach share; else the
    assumed curve (75% at once, falling with ln(1 + delay))."""
    shape, (a, b), floor = LOG_LOGIT, (math.log(0.75 / 0.25), -0.2), 0.0
    # without verdicts nothing tells invalid leads' contact from valid ones': the curve
    # read off the touches (or assumed) is every lead's
    invalid_contact = 0.6 if basis.has_valid else 1.0
    if basis.has_touch and basis.has_reached:
        seen = basis.touched[basis.touched["reached"].notna()]
        if basis.has_valid:
            is_valid = seen["valid"].fillna(False).astype(bool)
            is_invalid = seen["valid"].notna() & ~seen["valid"].fillna(True).astype(bool)
            valid_seen, invalid_seen = seen[is_valid], seen[is_invalid]
            if len(invalid_seen) and len(valid_seen):
                ratio = _weighted_mean(invalid_seen["reached"], w) / max(
                    _weighted_mean(valid_seen["reached"], w), 1e-9
                )
                invalid_contact = min(max(ratio, 0.0), 1.0)
            seen = valid_seen
        if len(seen) >= 30 and seen["reached"].astype(bool).nunique() == 2:
            shape, a, b, floor = _contact_fit(
                seen["reached"].astype(bool).to_numpy(),
                seen["delay"].to_numpy(),
                w.reindex(seen.index).to_numpy(),
            )
            notes.append(
                f"contact vs first-touch delay: {shape} falling toward a floor (the "
                f"better fit of two shapes) over {len(seen)} first touches"
                + (" of valid leads" if basis.has_valid else " (validity unknown: all leads)")
            )
        else:
            gaps.append(
                f"only {len(seen)} first touches with a reached/not-reached outcome: "
                "contact decay is the default assumption (75% at once, falling with "
                "ln(1 + delay))"
            )
            assumptions["contact"] = "too few first touches with an outcome to fit it"
    elif basis.has_reached:
        seen = basis.assigned[basis.assigned["reached"].notna()]
        if basis.has_valid:
            seen = seen[seen["valid"].fillna(False).astype(bool)]
        if len(seen):
            target = _weighted_mean(seen["reached"], w)
            a = _contact_level(shape, a, b, floor, _assumed_delays(), target)
            gaps.append(
                "no first-touch times: the assumed contact curve is levelled so that "
                f"{target:.0%} of {'valid ' if basis.has_valid else ''}leads are reached, "
                "as in the export"
            )
    return (shape, a, b, floor), invalid_contact


def _conversion(
    basis: _Basis,
    cw: Any,
    weights: Any,
    notes: list[str],
    spread: RepSpread | None,
    draw: tuple[Shrinkage, int] | None,
) -> tuple[float, dict[str, float], dict[str, float], dict[str, dict[str, float]], Any, Shrinkage]:
    """Conversion over the leads at risk, each counted with its weight in the conversion sums
    `cw`: (overall rate, segment rates, rep factors, rep x segment rates, the pairs table, the
    shrinkage used). The segment's rate shrinks toward the overall one with `k` pseudo-leads. A
    rep's factor is their sales over the sales the lead-mix GLM expects for their leads, and a
    pair's rate a multiple of segment rate x rep factor, each shrunk toward its prior by the
    spread the history shows between reps (`spread`; without one, `k` pseudo-leads at the
    overall rate) and between pairs (`leadrouter.sim.estimation_shrink`). A replicate's `draw`
    (the fit's shrinkage and the replicate's seed) keeps the fit's rep spread, re-estimates the
    pairs' from its weighted sums, and draws reps and pairs from their posterior given them.
    Without a known owner there are no rep factors or pairs."""
    import pandas as pd

    k, assigned, at_risk = basis.k, basis.assigned, basis.at_risk
    risk_w = cw.reindex(at_risk.index)
    y = _sold(at_risk)
    overall = float(((y * risk_w).sum() + 1.0) / (risk_w.sum() + 2.0))
    by_segment = _rate(at_risk, "converted", at_risk["segment"], cw)
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
    held, seed = (None, None) if draw is None else draw
    if held is None:
        measured = rep_shape(spread, at_risk["expected"])
        by_spread = measured is not None
        rep_prior = k * overall if measured is None else measured
    else:
        by_spread, rep_prior = held.by_spread, held.rep
    reps = [str(r) for r in rep_stats.index]
    pseudo = pseudo_sales(rep_prior, seed, [f"rep\x00{r}" for r in reps])
    rep_factor = {
        r: float((sales + extra) / (exp + rep_prior))
        for r, sales, exp, extra in zip(
            reps, rep_stats["sales"], rep_stats["exp"], pseudo, strict=True
        )
    }
    leads_per_pair = assigned.groupby(["rep_id", "segment"]).size()
    risk_pair = _rate(at_risk, "converted", [at_risk["rep_id"], at_risk["segment"]], cw)
    in_pairs = risk_pair.reindex(leads_per_pair.index, fill_value=0.0)
    sales, count = in_pairs["sum"].tolist(), in_pairs["count"].tolist()
    prior = [
        min(segment_rate[str(g)] * rep_factor.get(str(r), 1.0), 0.999)
        for r, g in leads_per_pair.index
    ]
    pair_prior = _pair_spread(
        leads_per_pair.index, sales, count, segment_rate, rep_stats, 1.0 if held is None else 2.0
    )
    pair_pseudo = pseudo_sales(
        pair_prior, seed, [f"pair\x00{r}\x00{g}" for r, g in leads_per_pair.index]
    )
    reps_by = (
        f"the spread between reps ({spread_words(rep_prior)})"
        if by_spread
        else f"{k:g} pseudo-leads"
    )
    notes.append(
        f"conversion over {len(at_risk)} {basis.basis_name} ({int(y.sum())} sales): segment "
        f"rate shrunk with {k:g} pseudo-leads; rep factor vs a GLM of the lead mix shrunk by "
        f"{reps_by}; rep x segment pairs by the spread between them "
        f"({spread_words(pair_prior)})"
    )
    rows = []
    conversion: dict[str, dict[str, float]] = {}
    for (rep_id, segment), leads, n, s_, p, extra in zip(
        leads_per_pair.index, leads_per_pair, count, sales, prior, pair_pseudo, strict=True
    ):
        # the multiple (sales + pseudo) / (n * p + shape) of the prior p, as a rate
        strength = pair_prior / max(p, 1e-12)
        estimate = (s_ + extra) / (n + strength)
        conversion.setdefault(str(rep_id), {})[str(segment)] = float(estimate)
        rows.append(
            {
                "rep_id": str(rep_id),
                "segment": str(segment),
                "leads": int(leads),
                "reached_valid": n,
                "sales": s_,
                "raw_rate": s_ / n if n else float("nan"),
                "prior": p,
                "estimate": float(estimate),
                "weight": n / (n + strength),
                "flagged": n < k,
            }
        )
    pairs = pd.DataFrame(rows, columns=list(_PAIR_COLUMNS))
    if weights is None:
        # with open deals, censoring-weighted counts: the leads and sales they stand for
        pairs["reached_valid"] = pairs["reached_valid"].round().astype(int)
        pairs["sales"] = pairs["sales"].round().astype(int)
    used = Shrinkage(rep=rep_prior, pair=pair_prior, by_spread=by_spread)
    if not basis.owner_known:
        # the owned leads were picked by their outcome: no rep is told apart from another
        conversion, rep_factor, pairs = {}, {}, pairs.iloc[:0]
        notes.append("no rep factors or rep x segment pairs: the owner is unknown")
    return overall, segment_rate, rep_factor, conversion, pairs, used


def _pair_spread(
    keys: Any,
    sales: list[float],
    count: list[float],
    segment_rate: Mapping[str, float],
    reps: Any,
    chance: float,
) -> float:
    """The pseudo-sales pairs are shrunk with (`pair_shape`, `chance` its count of sampling
    errors), their spread measured within their rep: against each rep's own unshrunk factor,
    else what shrinking left of the reps' luck would read as pairs differing."""
    seen = [key for key, n in zip(keys, count, strict=True) if n > 0]
    used = len({r for r, _ in seen}) + len({g for _, g in seen}) - 1
    own = (reps["sales"] / reps["exp"].clip(lower=1e-12)).to_dict()
    within = [min(segment_rate[str(g)] * float(own.get(r, 1.0)), 0.999) for r, g in keys]
    return pair_shape(sales, count, within, used, chance)


def _by_product(
    basis: _Basis,
    cw: Any,
    weights: Any,
    conversion: dict[str, dict[str, float]],
    segment_rate: dict[str, float],
    overall: float,
    notes: list[str],
) -> tuple[dict[str, float], dict[str, float], Any]:
    """Conversion by product, a factor on the rep x segment rates (`_product_factors`):
    (factor per product, each segment's mean factor, the products table or None with one
    product)."""
    at_risk, assigned = basis.at_risk, basis.assigned
    cell_rate = [
        conversion.get(str(r), {}).get(str(g), segment_rate.get(str(g), overall))
        for r, g in zip(at_risk["rep_id"], at_risk["segment"], strict=True)
    ]
    product_factor, product_norm, products = _product_factors(at_risk, cw, cell_rate, basis.k)
    if products is not None:
        leads_per_product = assigned["product"].fillna("").astype(str).value_counts()
        products.insert(1, "leads", [int(leads_per_product.get(p, 0)) for p in products["product"]])
        if weights is None:
            products["reached_valid"] = products["reached_valid"].round().astype(int)
            products["sales"] = products["sales"].round().astype(int)
        notes.append(
            f"conversion by product over {len(products)} products: a factor on the rep x "
            "segment rates, its sales against the sales those rates expect for its leads "
            f"(log factor shrunk by a normal prior, sd {_PRODUCT_PRIOR_SD:g})"
        )
    return product_factor, product_norm, products


def _on_reached_valid(
    basis: _Basis,
    rates: tuple[float, dict[str, float], dict[str, dict[str, float]]],
    product_factor: Mapping[str, float],
    product_norm: Mapping[str, float],
    contact: tuple[float, float, Curve],
    gaps: list[str],
) -> tuple[float, Curve, tuple[float, dict[str, float], dict[str, dict[str, float]]]]:
    """Conversion measured over more than reached valid leads (`rates`: overall, per
    segment, per rep x segment), put on the Protocol's basis: each rate divided by the
    modelled share of the basis's leads that are valid and reached (`_basis_share`, which may
    raise an assumed valid share or contact level the sales seen contradict). `contact` is
    (valid share, invalid contact, curve). Returns (valid share, curve, rates)."""
    overall, segment_rate, conversion = rates
    valid, invalid_contact, curve = contact
    delays = basis.touched["delay"].to_numpy() if basis.has_touch else _assumed_delays()
    top_factor = max([1.0, *product_factor.values()])
    needed = top_factor * max(
        [p / product_norm.get(g, 1.0) for row in conversion.values() for g, p in row.items()]
        + [p / product_norm.get(g, 1.0) for g, p in segment_rate.items()]
    )
    share, valid, (a, b) = _basis_share(basis, needed, valid, invalid_contact, curve, delays, gaps)
    conversion = {
        r: {g: min(p / share, 0.999) for g, p in row.items()} for r, row in conversion.items()
    }
    segment_rate = {g: min(p / share, 0.999) for g, p in segment_rate.items()}
    overall = min(overall / share, 0.999)
    gaps.append(
        f"conversion was measured per {basis.basis_name[:-1]}; it is divided by the "
        f"modelled share of those that are valid and reached ({share:.1%}) so the "
        "simulator's sales rate matches the history's - the split between contact "
        "and closing is assumed"
    )
    return valid, (curve[0], a, b, curve[3]), (overall, segment_rate, conversion)


def _basis_share(
    basis: _Basis,
    needed: float,
    valid: float,
    invalid_contact: float,
    curve: Curve,
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
    reached_basis = basis.basis_name == "reached leads"

    def share_of(v: float, level: float) -> float:
        if reached_basis:
            return v / (v + (1.0 - v) * invalid_contact)
        reach = float(np.mean(_contact_curve(shape, level, b, floor, delays)))
        return v * reach

    share = max(share_of(valid, a), 1e-6)
    want = needed / _MAX_CONVERT
    if want > share and not basis.has_valid:
        # without verdicts invalid_contact is 1, so the share is linear in the valid share
        raised = min(1.0, valid * want / share)
        if raised > valid:
            gaps.append(
                f"the assumed valid share ({valid:.0%}) is too low for the sales seen (up to "
                f"{needed:.0%} per {basis.basis_name[:-1]}): raised to {raised:.0%}"
            )
            valid = raised
            share = max(share_of(valid, a), 1e-6)
    if want > share and not reached_basis and not (basis.has_touch and basis.has_reached):
        before = float(np.mean(_contact_curve(shape, a, b, floor, delays)))
        goal = min(want / valid, 0.99)
        if goal > before:
            a = _contact_level(shape, a, b, floor, delays, goal)
            gaps.append(
                f"the assumed contact ({before:.0%} of leads reached) is too low for the "
                f"sales seen (up to {needed:.0%} per {basis.basis_name[:-1]}): raised to "
                f"{goal:.0%}"
            )
            share = max(share_of(valid, a), 1e-6)
    return share, valid, (a, b)


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


def _sold(at_risk: Any) -> Any:
    """1.0 for each lead at risk that was sold (within the horizon, with open deals), else 0."""
    return at_risk["converted"].astype(bool).astype(float)
