"""Fields recorded because of the outcome: found, and left out of a fit.

Some CRMs fill a field only when a deal is signed (the industry, the product, even the owner).
Filled on nearly every converted lead and on far fewer of the others, such a field predicts the
sale only because it was written after it, and a model fitted on it would credit the field - or
the rep - with the outcome. `_outcome_leaks` finds such fields, and `fit_behaviour` blanks a
source, region, product or segment recorded that way. An owner (rep_id) recorded that way leaves
the logged assignments the converted leads' alone, so no rep can be told apart from another:
`_forget_owner` prepares the export for a fit that takes rep effects as unknown, and
`_without_owner` replaces the per-rep figures with the team's. `owner_leaked` asks the same
question of an export outside a fit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from leadrouter.sim.pickups import Pickups
from leadrouter.sim.touches import _backlog_at_assignment

if TYPE_CHECKING:
    from leadrouter.sim.estimation import _Basis
    from leadrouter.sim.history import History

__all__ = ["owner_leaked"]


_LEAK_CLEARABLE = ("source", "region", "product", "segment")
"""Fields the model can do without: a leaking one is blanked before fitting."""


def _outcome_leaks(
    frame: Any, names: tuple[str, ...] = (*_LEAK_CLEARABLE, "rep_id")
) -> dict[str, tuple[float, float]]:
    """Fields filled on (nearly) every converted lead but on far fewer of the others: recorded
    because of the outcome (a CRM that fills the industry only when a deal is signed). Returns
    each such field of `names` with its fill rate on converted and on other leads."""
    converted = frame["converted"].astype(bool)
    if converted.sum() < 5 or (~converted).sum() < 20:
        return {}
    found: dict[str, tuple[float, float]] = {}
    for name in names:
        column = frame[name]
        filled = column.notna() & (column.astype(str) != "")
        on_sales = float(filled[converted].mean())
        on_others = float(filled[~converted].mean())
        if on_sales >= 0.9 and on_others <= 0.5 * on_sales:
            found[name] = (on_sales, on_others)
    return found


def owner_leaked(frame: Any) -> bool:
    """True when the export's owner (rep_id) was recorded because of the outcome (filled on
    nearly every converted lead, on at most half as many of the others): its logged assignments
    are then the converted leads' alone, and rep effects cannot be estimated from it."""
    return "rep_id" in _outcome_leaks(frame, ("rep_id",))


_OWNER_SIDE = ("assigned_at", "first_touch_at", "reached", "valid")
"""Fields a CRM writes with the owner: with the owner recorded because of the outcome, one of
them filled the same way was measured on the converted leads alone."""


_NO_REPS = (
    "the export records the owner (rep_id) mostly on converted leads, so no rep can be told "
    "apart from another"
)
"""Why rep effects are unknown: `assumptions["reps"]` of a model fitted on such an export."""


def _forget_owner(frame: Any, gaps: list[str], assumptions: dict[str, str]) -> None:
    """Prepare `frame` (in place) for a fit whose owner was recorded because of the outcome:
    blank every owner-side field recorded the same way, and say in `gaps` / `assumptions` that
    rep effects are unknown."""
    for name, (on_sales, on_others) in _outcome_leaks(frame, _OWNER_SIDE).items():
        frame[name] = frame[name].where(frame[name].isna())
        gaps.append(
            f"{name} is filled on {on_sales:.0%} of converted leads but {on_others:.0%} of the "
            "others, with the owner - measured on converted leads alone, so it is left out"
        )
    sales = int(frame["converted"].astype(bool).sum())
    gaps.append(
        f"rep effects are unknown: conversion is fitted over all {len(frame)} leads ({sales} "
        "sales) as if no owner were recorded, every rep closes at the team's rate, and this "
        "export cannot tell routing policies apart on sales"
    )
    assumptions["reps"] = _NO_REPS


def _without_owner(basis: _Basis, history: History) -> _Basis:
    """`basis` with the per-rep figures read off the owned leads (the converted ones, when the
    owner was recorded because of the outcome) replaced by team figures: each rep's capacity is
    the team's 90th-percentile first touches (without touch times: leads) per local day shared
    evenly over the reps (what an even rotation gave each: a lower bound); pick-up delays are the
    team's, from leads touched while the team had fewer leads waiting than reps; neglect is the
    team's."""
    import numpy as np

    reps = [rep.id for rep in history.roster]
    # the team's first touches per local day when the export has them, else its leads per day
    when = basis.touched["first_touch_at"] if basis.has_touch else basis.assigned["assigned_at"]
    daily = when.groupby(when.dt.tz_convert(history.tz).dt.date).size().to_numpy()
    even = max(float(np.quantile(daily, 0.9)) / max(len(reps), 1), 1.0) if len(daily) else 20.0
    # no owner, no per-rep backlog: a lead counts as picked up with nothing waiting when the
    # whole team had fewer leads waiting than it has reps
    touched = basis.touched
    waiting = _backlog_at_assignment(basis.assigned.assign(rep_id="team"))
    free = touched[waiting.reindex(touched.index).fillna(0).to_numpy() < max(len(reps), 1)]
    why = "the owner was recorded because of the outcome"
    return attrs.evolve(
        basis,
        capacity=dict.fromkeys(reps, even),
        team_capacity=even,
        pickups=Pickups(
            team=tuple(float(x) for x in np.sort(free["work_delay"].to_numpy())), own={}, s2=0.0
        ),
        neglect={},
        gaps=(
            *basis.gaps,
            f"{why}: capacity cannot be read per rep - each is assumed to handle the team's "
            f"90th-percentile {'first touches' if basis.has_touch else 'leads'} per day shared "
            f"evenly over {len(reps)} reps ({even:.1f}, a lower bound); pick-up delays and "
            "neglect are the team's, not each rep's",
        ),
        assumptions={
            **basis.assumptions,
            "delay": f"{why}, so capacity, pick-up delays and neglect per rep are assumed",
        },
    )
