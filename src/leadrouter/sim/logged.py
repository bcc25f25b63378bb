"""A History from a routing ledger: what a team logged while routing (with `Explore`, its
propensities), one row per lead, ready for `evaluate`, `compare` and `History.to_csv`.

A ledger records events (arrivals, assignments, touches, releases, sales); a History holds one
row per lead. The row keeps the lead's **first** assignment, its rep, time and propensity,
because that is the decision `evaluate` replays; its first touch, verdict and sale are the
lead's, whoever made them. That is the outcome of the first decision as the team lived it: a
policy sending the lead to the same rep would have met the same reclaim or escalation under
the live rules. A lead moved after its first assignment (released, re-routed, escalated,
handed over, claimed by another rep) is listed in `History.flagged`, so the rows whose
outcome is not the first rep's alone are known by name rather than blended in silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from leadrouter.errors import ConfigError, EmptyExportError
from leadrouter.events import (
    Arrived,
    Assigned,
    Claimed,
    Converted,
    Event,
    Released,
    Tagged,
    Touched,
)
from leadrouter.ledger import Ledger
from leadrouter.model import Rep
from leadrouter.sim.fields import COLUMNS
from leadrouter.sim.history import History

__all__ = ["history_from_ledger"]


def history_from_ledger(
    ledger: Ledger | Iterable[Event],
    *,
    roster: Iterable[Rep] | None = None,
    tz: str = "UTC",
) -> History:
    """The History of every lead that arrived in `ledger` (or in `events`), one row each;
    `EmptyExportError` when none did.

    `rep_id`, `assigned_at` and `propensity` are the lead's first assignment's (a claim from a
    pool has no propensity); `first_touch_at` is its first touch, `reached` whether any touch
    reached it, `valid` its latest verdict, `converted_at` and `amount` its sale. A lead moved
    after that first assignment is listed in `History.flagged` with where it went. `roster`:
    the reps with their regions and skills (`router.reps`), else every rep the ledger assigned
    a lead to or saw claim one, first assignments or later (a rep who only took re-routed
    leads is on the team all the same), in order of first assignment, then of first move.
    `tz`: the zone local days and hours are read in (the ledger's times are kept as they are).
    Lead features become columns of their own, as an export's extra columns do ("feature
    region" for one named like a field, rather than either overwriting the other)."""
    if isinstance(ledger, Iterable) and not isinstance(ledger, str | bytes | pd.DataFrame):
        ledger = Ledger.from_events(ledger)  # each event checked: none of an unknown lead
    if not isinstance(ledger, Ledger):
        raise ConfigError(
            f"history_from_ledger takes a Ledger (router.ledger) or its events, got "
            f"{type(ledger).__name__}; a DataFrame laid out like an export is read with "
            "History.from_frame(frame)"
        )
    rows: dict[str, dict[str, Any]] = {}
    moves: dict[str, list[str]] = {}
    named: dict[str, None] = {}
    for event in ledger.events():
        if isinstance(event, Arrived):
            rows[event.lead.id] = _lead_row(event)
            continue
        row = rows[event.lead_id]
        if isinstance(event, Assigned | Claimed):
            named[event.rep_id] = None
            if row["rep_id"] is None:
                row.update(
                    rep_id=event.rep_id,
                    assigned_at=event.at,
                    propensity=event.propensity if isinstance(event, Assigned) else None,
                )
            else:
                verb = "assigned" if isinstance(event, Assigned) else "claimed by"
                moves.setdefault(event.lead_id, []).append(f"{verb} {event.rep_id}")
        elif isinstance(event, Released):
            moves.setdefault(event.lead_id, []).append(
                f"released by {event.rep_id} ({event.reason})"
            )
        elif isinstance(event, Touched):
            if row["first_touch_at"] is None:
                row["first_touch_at"] = event.at
            row["reached"] = bool(row["reached"]) or event.reached
        elif isinstance(event, Tagged):
            row["valid"] = event.valid
        elif isinstance(event, Converted):
            row.update(converted=True, converted_at=event.at, amount=event.amount)
    if not rows:
        raise EmptyExportError(
            "history_from_ledger: no lead arrived in the ledger, so it holds no history to "
            "evaluate: read the ledger the router routed with (router.ledger), after it routed"
        )
    frame = pd.DataFrame(list(rows.values()))
    frame = frame.sort_values("arrived_at", kind="stable").reset_index(drop=True)
    flagged = [
        (
            position + 2,
            "rep_id",
            f"lead {lead_id} moved after its first assignment: {'; '.join(moves[lead_id])}",
            f"kept its first assignment ({frame['rep_id'].iat[position]}), the decision "
            "evaluate replays; its touches and sale are the lead's, whoever made them",
        )
        for position, lead_id in enumerate(frame["lead_id"].tolist())
        if lead_id in moves
    ]
    return History(
        frame,
        flagged=flagged,
        tz=tz,
        roster=_named(frame, named) if roster is None else roster,
        origin="ledger",
    )


def _named(frame: pd.DataFrame, named: dict[str, None]) -> list[Rep]:
    """The reps of the leads' first assignments, in that order (the History's own roster), then
    those the ledger names only in a later move, so a policy replayed over them may choose them."""
    firsts = dict.fromkeys(frame["rep_id"].dropna().tolist())
    return [Rep(str(rep_id)) for rep_id in {**firsts, **named}]


def _lead_row(event: Arrived) -> dict[str, Any]:
    """A lead's row as it arrived: its fields and features, no assignment or outcome yet."""
    lead = event.lead
    return {
        "lead_id": lead.id,
        "arrived_at": lead.arrived_at,
        "source": lead.source,
        "region": lead.region,
        "product": lead.product,
        "segment": lead.segment,
        "grade": lead.grade,
        "score": lead.score,
        "cost": lead.cost,
        "contact": lead.contact,
        "rep_id": None,
        "assigned_at": None,
        "first_touch_at": None,
        "reached": None,
        "valid": None,
        "converted_at": None,
        "amount": None,
        "propensity": None,
        "converted": False,
        **{
            (f"feature {name}" if name in COLUMNS else name): value
            for name, value in lead.features.items()
        },
    }
