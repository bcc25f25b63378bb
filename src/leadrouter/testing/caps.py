"""`check_cap(cap)`: the conformance check of a cap, as `check_strategy` is a strategy's.

A cap answers four questions (`leadrouter.Cap`), and the router trusts the three optional ones
to agree with `check`: `remaining` sizes a `route_many` batch, `saturated` leaves reps out before
the strategy runs, `would_refuse` lets `tick()` skip offers that would write nothing. A cap whose
answers disagree is not always caught by the router (it checks every assignment again, so no cap
is exceeded, but leads wait that need not, or are offered in vain), and never by a test that
only routes: `check_cap` drives a router with the cap through three days of leads, releases and
touches, and before every lead (about that lead) and after each day's tick asks the cap about
every rep, directly, at that moment.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from leadrouter.caps import Cap
from leadrouter.context import Context
from leadrouter.errors import ConfigError, InvalidTypeError
from leadrouter.events import Touched
from leadrouter.model import Lead
from leadrouter.router import Router
from leadrouter.strategies.equal_rotation import EqualRotation
from leadrouter.testing._scenarios import START, sample_lead, sample_roster

__all__ = ["check_cap"]


def check_cap(
    cap: Cap,
    *,
    days: int = 3,
    leads_per_day: int = 40,
    seed: int = 0,
    leads: Sequence[Lead] = (),
) -> None:
    """Raise AssertionError naming the cap, the rep, the moment, the lead asked about and the
    rule it broke when:

    - `check` answers anything but None or a non-empty reason, or answers twice differently;
    - `remaining` is not None or a whole number >= 0, is 0 while `check` allows the rep, or
      more than 0 while `check` refuses;
    - `would_refuse` is not True, False or None, or says True (False) where `check` allows
      (refuses);
    - `saturated` is not a set of the roster's rep ids, or holds a rep `check` allows.

    `cap` is used as given (one instance, as a router would hold it), over `days` days of
    `leads_per_day` leads each, spread through the working day, on a seeded roster of six reps
    (one inactive). Before each lead is routed the cap is asked about every rep for that lead,
    as the router asks it, so a cap that reads the lead is tried on every kind: the leads vary in
    source, region, segment, grade, score and contact, or are copies of `leads` (examples with
    the fields your cap reads, such as `features`; each copy gets its own id and time)."""
    if not isinstance(cap, Cap):
        raise InvalidTypeError(
            f"check_cap takes a Cap instance, got {cap!r}: pass the cap as a router holds it, "
            "e.g. check_cap(FixedCap(open=3)); a strategy is checked with check_strategy"
        )
    if not all(isinstance(lead, Lead) for lead in leads):
        raise ConfigError(f"check_cap(leads=...) takes example Lead objects, got {leads!r}")
    rng = random.Random(seed)
    reps = sample_roster(6, rng, inactive=1)
    router = Router(EqualRotation(), reps, caps=cap, seed=seed)
    step = timedelta(hours=10) / leads_per_day
    for day in range(days):
        opening = START + timedelta(days=day, hours=8)
        for i in range(leads_per_day):
            now = opening + step * i
            lead = sample_lead(i, now, rng, blanks=True)
            if leads:
                lead = attrs.evolve(rng.choice(leads), id=lead.id, arrived_at=now)
            lead = attrs.evolve(lead, id=f"L{day}-{i}")
            _agrees(cap, router, now, lead)
            held = router.route(lead, now=now).rep_id
            if held is not None and rng.random() < 0.5:
                router.record(Touched(lead.id, held, now, reached=rng.random() < 0.5))
            if held is not None and rng.random() < 0.15:
                router.release(lead.id, "returned", now=now, reroute=False)
        router.tick(opening + timedelta(hours=12))
        _agrees(cap, router, opening + timedelta(hours=12), attrs.evolve(lead, id="probe"))


def _agrees(cap: Cap, router: Router, now: datetime, lead: Lead) -> None:
    """Every answer of `cap` about every rep at `now`, for `lead`, agrees with its `check`."""
    roster = router.roster
    ctx = Context(lead, roster, router.ledger, now)
    where = f"{cap!r} at {now.isoformat()}, asked about lead {_described(lead)}"
    ids = set(roster)
    full = cap.saturated(ctx)
    if not isinstance(full, set | frozenset) or not full <= ids:
        raise AssertionError(
            f"{where}: saturated(ctx) must return a frozenset of the roster's rep ids, got {full!r}"
        )
    for rep in sorted(roster.active_ids):
        foreseen = cap.would_refuse(rep, ctx)
        answer = cap.check(rep, ctx)
        _one_answer(where, rep, answer)
        again = cap.check(rep, ctx)
        if (again is None) != (answer is None):
            raise AssertionError(
                f"{where}: check({rep!r}) answered {answer!r}, then {again!r}, with nothing "
                "written between: a cap's answer may only depend on the ledger and the time"
            )
        refused = answer is not None
        if foreseen not in (True, False, None):
            raise AssertionError(
                f"{where}: would_refuse({rep!r}) must be True, False or None, got {foreseen!r}"
            )
        if foreseen is not None and foreseen != refused:
            raise AssertionError(
                f"{where}: would_refuse({rep!r}) said {foreseen} but check answered {answer!r}: "
                "answer None where the cap cannot tell without asking check"
            )
        room = cap.remaining(rep, ctx)
        _one_room(where, rep, room, answer)
        if rep in full and not refused:
            raise AssertionError(
                f"{where}: saturated(ctx) holds {rep!r}, whom check allows: a saturated rep is "
                "one check refuses for the rest of the day"
            )


def _described(lead: Lead) -> str:
    """The lead's id and the fields it has that a blank lead has not, so a failure that depends
    on the lead shows which kind of lead it was."""
    blank = Lead(lead.id, lead.arrived_at)
    given = [
        f"{field.name}={getattr(lead, field.name)!r}"
        for field in attrs.fields(Lead)
        if getattr(lead, field.name) != getattr(blank, field.name)
    ]
    return f"{lead.id} ({', '.join(given) or 'no fields'})"


def _one_answer(where: str, rep: str, answer: Any) -> None:
    if answer is not None and not (type(answer) is str and answer):
        raise AssertionError(
            f"{where}: check({rep!r}) must answer None (may take one more lead) or the reason "
            f"in words, got {answer!r}"
        )


def _one_room(where: str, rep: str, room: Any, answer: str | None) -> None:
    if room is not None and (isinstance(room, bool) or not isinstance(room, int) or room < 0):
        raise AssertionError(
            f"{where}: remaining({rep!r}) must be None (no limit) or a whole number >= 0, got "
            f"{room!r}"
        )
    if answer is not None and room != 0:
        raise AssertionError(
            f"{where}: check refuses {rep!r} ({answer}) but remaining says {room!r}: route_many "
            "sizes a batch by remaining, so it must be 0 whenever check refuses"
        )
    if answer is None and room == 0:
        raise AssertionError(
            f"{where}: check allows {rep!r} but remaining says 0: route_many would give them "
            "nothing a single route would"
        )
