"""`check_cap(cap)`: the conformance check of a cap, as `check_strategy` is a strategy's.

A cap answers four questions (`leadrouter.Cap`), and the router trusts the three optional ones
to agree with `check`: `remaining` sizes a `route_many` batch, `saturated` leaves reps out before
the strategy runs, `would_refuse` lets `tick()` skip offers that would write nothing. A cap whose
answers disagree is not always caught by the router (it checks every assignment again, so no cap
is exceeded, but leads wait that need not, or are offered in vain), and never by a test that
only routes: `check_cap` drives a router with the cap through three days of leads, releases and
touches, and after every step asks the cap about every rep, directly, at that moment.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from leadrouter.caps import Cap
from leadrouter.context import Context
from leadrouter.events import Touched
from leadrouter.model import Lead
from leadrouter.router import Router
from leadrouter.strategies.equal_rotation import EqualRotation
from leadrouter.testing._scenarios import START, sample_roster

__all__ = ["check_cap"]


def check_cap(cap: Cap, *, days: int = 3, leads_per_day: int = 40, seed: int = 0) -> None:
    """Raise AssertionError naming the cap, the rep, the moment and the rule it broke when:

    - `check` answers anything but None or a non-empty reason, or answers twice differently;
    - `remaining` is not None or a whole number >= 0, is 0 while `check` allows the rep, or
      more than 0 while `check` refuses;
    - `would_refuse` is not True, False or None, or says True (False) where `check` allows
      (refuses);
    - `saturated` is not a set of the roster's rep ids, or holds a rep `check` allows.

    `cap` is used as given (one instance, as a router would hold it), over `days` days of
    `leads_per_day` leads each, spread through the working day, on a seeded roster of six reps
    (one inactive)."""
    if not isinstance(cap, Cap):
        raise TypeError(f"check_cap takes a Cap instance, got {cap!r}")
    rng = random.Random(seed)
    reps = sample_roster(6, rng, inactive=1)
    router = Router(EqualRotation(), reps, caps=cap, seed=seed)
    _agrees(cap, router, START)  # before any lead, so the router's own checks come second
    step = timedelta(hours=10) / leads_per_day
    for day in range(days):
        opening = START + timedelta(days=day, hours=8)
        for i in range(leads_per_day):
            now = opening + step * i
            lead = Lead(f"L{day}-{i}", now, region=rng.choice(("north", "south", "")))
            decision = router.route(lead, now=now)
            held = decision.rep_id
            if held is not None and rng.random() < 0.5:
                router.record(Touched(lead.id, held, now, reached=rng.random() < 0.5))
            if held is not None and rng.random() < 0.15:
                router.release(lead.id, "returned", now=now, reroute=False)
            _agrees(cap, router, now)
        router.tick(opening + timedelta(hours=12))
        _agrees(cap, router, opening + timedelta(hours=12))


def _agrees(cap: Cap, router: Router, now: datetime) -> None:
    """Every answer of `cap` about every rep at `now` agrees with its `check`."""
    roster = router.roster
    ctx = Context(Lead("probe", now), roster, router.ledger, now)
    where = f"{cap!r} at {now.isoformat()}"
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
