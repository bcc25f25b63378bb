"""Hypothesis strategies for leads, rosters and valid event streams.

Use them to state your own routing rules as properties::

    from hypothesis import given
    from leadrouter.testing import generators as gen

    @given(gen.rosters(), gen.lead_streams())
    def test_vip_leads_go_to_seniors(reps, leads): ...

Every generated rep has a quota, a tier and a profile, so any built-in strategy can run on it.
Times are timezone-aware and lead streams arrive in time order with unique ids.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

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
from leadrouter.model import Lead, Rep
from leadrouter.testing._scenarios import START

__all__ = ["START", "event_streams", "lead_streams", "leads", "reps", "rosters"]

REGIONS = ("north", "south", "east", "west")
PRODUCTS = ("loan", "card", "insurance")
SEGMENTS = ("smb", "mid", "enterprise")


def leads(lead_id: str | None = None, at: datetime | None = None) -> st.SearchStrategy[Lead]:
    """One lead with varied fields (the id and time fixed when given)."""
    return st.builds(
        Lead,
        id=st.just(lead_id) if lead_id else st.from_regex(r"L[0-9]{1,6}", fullmatch=True),
        arrived_at=st.just(at) if at else st.just(START),
        source=st.sampled_from(("ads", "web", "referral", "")),
        region=st.sampled_from((*REGIONS, "")),
        product=st.sampled_from((*PRODUCTS, "")),
        segment=st.sampled_from(SEGMENTS),
        grade=st.none() | st.sampled_from("ABCD"),
        score=st.none() | st.floats(0, 1),
        contact=st.none() | st.sampled_from([f"+86-1380000{i:04d}" for i in range(8)]),
        cost=st.floats(0, 400),
    )


@st.composite
def lead_streams(
    draw: st.DrawFn, min_size: int = 0, max_size: int = 40, start: datetime = START
) -> list[Lead]:
    """Leads with unique ids arriving in time order (gaps of 0 to 90 minutes)."""
    n = draw(st.integers(min_size, max_size))
    at = start
    out = []
    for i in range(n):
        at += timedelta(minutes=draw(st.integers(0, 90)))
        out.append(draw(leads(lead_id=f"L{i}", at=at)))
    return out


def reps(rep_id: str | None = None) -> st.SearchStrategy[Rep]:
    """One rep with a team, tier, quota, regions, skills and profile."""
    return st.builds(
        Rep,
        id=st.just(rep_id) if rep_id else st.from_regex(r"R[0-9]{1,3}", fullmatch=True),
        team=st.sampled_from(("alpha", "beta")),
        tier=st.integers(0, 2),
        regions=st.frozensets(st.sampled_from(REGIONS), max_size=2),
        skills=st.frozensets(st.sampled_from(PRODUCTS), max_size=2),
        quota=st.floats(0.5, 50),
        profile=st.fixed_dictionaries(
            {"segment": st.sampled_from(SEGMENTS), "seniority": st.integers(1, 5)}
        ),
        active=st.booleans() | st.just(True),
    )


@st.composite
def rosters(draw: st.DrawFn, min_size: int = 1, max_size: int = 8) -> list[Rep]:
    """Reps with unique ids R0, R1 …; at least one is active."""
    n = draw(st.integers(min_size, max_size))
    out = [draw(reps(f"R{i}")) for i in range(n)]
    if out and not any(rep.active for rep in out):
        out[0] = Rep(
            out[0].id,
            team=out[0].team,
            tier=out[0].tier,
            regions=out[0].regions,
            skills=out[0].skills,
            quota=out[0].quota,
            profile=out[0].profile,
        )
    return out


@st.composite
def event_streams(draw: st.DrawFn, max_events: int = 60, n_reps: int = 4) -> list[Event]:
    """A valid event stream: every event is legal given the ones before it.

    Built by drawing an action among those legal in the current state and checking it against
    a Ledger, so the stream exercises arrivals, assignments, claims, touches, tags, conversions
    and releases in every order the state machine allows.
    """
    ledger = Ledger()
    rep_ids = [f"R{i}" for i in range(n_reps)]
    events: list[Event] = []
    at = START
    for i in range(draw(st.integers(0, max_events))):
        at += timedelta(minutes=draw(st.integers(0, 60)))
        pooled = [lid for lid in ledger.lead_ids() if ledger.status(lid) == "pooled"]
        held = [lid for lid in ledger.lead_ids() if ledger.holder(lid) is not None]
        choices: list[str] = ["arrive"]
        if pooled:
            choices += ["assign", "claim"]
        if held:
            choices += ["touch", "tag", "convert", "release"]
        action = draw(st.sampled_from(choices))
        event: Any
        if action == "arrive":
            event = Arrived(draw(leads(lead_id=f"L{i}", at=at)))
        elif action in ("assign", "claim"):
            lead_id = draw(st.sampled_from(pooled))
            rep = draw(st.sampled_from(rep_ids))
            event = (
                Assigned(lead_id, rep, at, "test")
                if action == "assign"
                else Claimed(lead_id, rep, at)
            )
        else:
            lead_id = draw(st.sampled_from(held))
            holder = ledger.holder(lead_id)
            assert holder is not None
            rep = holder
            if action == "touch":
                event = Touched(lead_id, rep, at, reached=draw(st.booleans()))
            elif action == "tag":
                event = Tagged(
                    lead_id,
                    rep,
                    at,
                    valid=draw(st.booleans()),
                    reason=draw(st.sampled_from(("", "blocked", "wrong number"))),
                )
            elif action == "convert":
                event = Converted(lead_id, rep, at, amount=draw(st.floats(0, 5000)))
            else:
                event = Released(
                    lead_id, rep, at, draw(st.sampled_from(("returned", "expired", "sla")))
                )
        before = len(ledger)
        ledger.append(event)
        if len(ledger) > before:  # not a report equal to one already recorded (kept once)
            events.append(event)
    return events
