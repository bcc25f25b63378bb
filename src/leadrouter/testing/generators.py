"""Hypothesis strategies for leads, rosters, shifts and valid event streams.

Use them to state your own routing rules as properties::

    from hypothesis import given
    from leadrouter.testing import generators as gen

    @given(gen.rosters(), gen.lead_streams())
    def test_vip_leads_go_to_seniors(reps, leads): ...

Every generated rep has a quota, a tier and a profile, so any built-in strategy can run on it.
Times are timezone-aware and lead streams arrive in time order with unique ids.

A rule of your own reads fields these defaults never hold (a lead's `features["city"]`, a rep's
`profile["languages"]`), and a property over leads that never carry them passes whatever the
rule does. So `leads`, `lead_streams`, `reps` and `rosters` take the draws of such fields:
`features=` / `profile=` as a mapping of key to hypothesis strategy (added to the defaults), and
any other field of `Lead` / `Rep` as a keyword with a hypothesis strategy that replaces its
default draw. A name that is not a field is a ConfigError listing the fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

import attrs
from hypothesis import strategies as st

from leadrouter.errors import ConfigError
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
from leadrouter.model import Lead, Rep, Shift
from leadrouter.testing._scenarios import START

__all__ = [
    "START",
    "ZONES",
    "Draws",
    "event_streams",
    "lead_streams",
    "leads",
    "reps",
    "rosters",
    "shifts",
]

REGIONS = ("north", "south", "east", "west")
PRODUCTS = ("loan", "card", "insurance")
SEGMENTS = ("smb", "mid", "enterprise")
ZONES = ("UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York")
"""The zones `shifts()` draws from: no offset, one without daylight saving and two with it (on
different dates), so a rule that reads local time in the wrong zone is caught."""

Draws = Mapping[str, st.SearchStrategy[Any]] | st.SearchStrategy[Mapping[str, Any]]
"""The draw of `features` or `profile`: a mapping of key to hypothesis strategy (each key
always present), or a hypothesis strategy drawing whole mappings."""

_LEAD_DRAWS: dict[str, st.SearchStrategy[Any]] = {
    "source": st.sampled_from(("ads", "web", "referral", "")),
    "region": st.sampled_from((*REGIONS, "")),
    "product": st.sampled_from((*PRODUCTS, "")),
    "segment": st.sampled_from(SEGMENTS),
    "grade": st.none() | st.sampled_from("ABCD"),
    "score": st.none() | st.floats(0, 1),
    "contact": st.none() | st.sampled_from([f"+86-1380000{i:04d}" for i in range(8)]),
    "cost": st.floats(0, 400),
}
_PROFILE_DRAWS: dict[str, st.SearchStrategy[Any]] = {
    "segment": st.sampled_from(SEGMENTS),
    "seniority": st.integers(1, 5),
}
_REP_DRAWS: dict[str, st.SearchStrategy[Any]] = {
    "team": st.sampled_from(("alpha", "beta")),
    "tier": st.integers(0, 2),
    "regions": st.frozensets(st.sampled_from(REGIONS), max_size=2),
    "skills": st.frozensets(st.sampled_from(PRODUCTS), max_size=2),
    "quota": st.floats(0.5, 50),
    "active": st.booleans() | st.just(True),
}


def _mapping(draws: Draws | None, base: Mapping[str, st.SearchStrategy[Any]], where: str) -> Any:
    """The draw of a features or profile mapping: `base`'s keys with `draws` added (a mapping
    of key to strategy), or `draws` itself (a strategy of mappings)."""
    if draws is None:
        return st.fixed_dictionaries(dict(base))
    if isinstance(draws, st.SearchStrategy):
        return draws
    if isinstance(draws, Mapping) and all(isinstance(d, st.SearchStrategy) for d in draws.values()):
        return st.fixed_dictionaries({**base, **draws})
    raise ConfigError(
        f"{where} takes a mapping of key to hypothesis strategy, e.g. "
        f"{{'city': st.sampled_from(['shanghai', 'beijing'])}}, or a strategy drawing mappings; "
        f"got {draws!r}"
    )


def _fields(
    cls: type, defaults: Mapping[str, st.SearchStrategy[Any]], given: Mapping[str, Any], fixed: str
) -> dict[str, st.SearchStrategy[Any]]:
    """`defaults` with the draws a caller gave for other fields of `cls`, each checked; `fixed`
    names the fields drawn otherwise, the last the one a field of the caller's own goes into."""
    names = [field.name for field in attrs.fields(cls)]
    for name, draw in given.items():
        if name not in names or name in fixed.split():
            raise ConfigError(
                f"{cls.__name__} has no field {name!r} to draw here; the fields are "
                f"{', '.join(n for n in names if n not in fixed.split())}; a field of your "
                f"own goes into {fixed.split()[-1]}={{{name!r}: ...}}"
            )
        if not isinstance(draw, st.SearchStrategy):
            raise ConfigError(
                f"{name}= takes a hypothesis strategy (e.g. st.just({draw!r})), got {draw!r}"
            )
    return {**defaults, **given}


def _lead_kwargs(
    features: Draws | None, fields: Mapping[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    draws = _fields(Lead, _LEAD_DRAWS, fields, "id arrived_at features")
    return st.fixed_dictionaries({**draws, "features": _mapping(features, {}, "features=")})


def leads(
    lead_id: str | None = None,
    at: datetime | None = None,
    *,
    features: Draws | None = None,
    **fields: st.SearchStrategy[Any],
) -> st.SearchStrategy[Lead]:
    """One lead with varied fields (the id and time fixed when given, else a random id at
    START); `features=` and other fields' draws as in the module docstring:
    `leads(features={"city": st.sampled_from(["shanghai", "beijing"])}, region=st.just(""))`."""
    ids = st.just(lead_id) if lead_id else st.from_regex(r"L[0-9]{1,6}", fullmatch=True)
    return st.tuples(ids, _lead_kwargs(features, fields)).map(
        lambda drawn: Lead(drawn[0], at or START, **drawn[1])
    )


def lead_streams(
    min_size: int = 0,
    max_size: int = 40,
    start: datetime = START,
    *,
    max_gap: timedelta = timedelta(minutes=90),
    features: Draws | None = None,
    **fields: st.SearchStrategy[Any],
) -> st.SearchStrategy[list[Lead]]:
    """Leads with unique ids L0, L1 … arriving in time order from `start`, 0 to `max_gap`
    apart (whole minutes; widen it to reach nights and weekends), with the fields `leads`
    draws."""
    return _lead_streams(
        _lead_kwargs(features, fields), min_size, max_size, start, int(max_gap / _MINUTE)
    )


_MINUTE = timedelta(minutes=1)


@st.composite
def _lead_streams(
    draw: st.DrawFn,
    kwargs: st.SearchStrategy[dict[str, Any]],
    min_size: int,
    max_size: int,
    start: datetime,
    gap: int,
) -> list[Lead]:
    at = start
    out = []
    for i in range(draw(st.integers(min_size, max_size))):
        at += timedelta(minutes=draw(st.integers(0, max(gap, 0))))
        out.append(Lead(f"L{i}", at, **draw(kwargs)))
    return out


def _rep_kwargs(
    profile: Draws | None, fields: Mapping[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    draws = _fields(Rep, _REP_DRAWS, fields, "id profile")
    return st.fixed_dictionaries(
        {**draws, "profile": _mapping(profile, _PROFILE_DRAWS, "profile=")}
    )


def reps(
    rep_id: str | None = None,
    *,
    profile: Draws | None = None,
    **fields: st.SearchStrategy[Any],
) -> st.SearchStrategy[Rep]:
    """One rep with a team, tier, quota, regions, skills and profile (`segment`, `seniority`,
    and the keys of `profile=`); other fields' draws as in the module docstring:
    `reps(profile={"languages": st.sets(st.sampled_from(["shanghainese", "mandarin"]))})`."""
    ids = st.just(rep_id) if rep_id else st.from_regex(r"R[0-9]{1,3}", fullmatch=True)
    return st.tuples(ids, _rep_kwargs(profile, fields)).map(lambda drawn: Rep(drawn[0], **drawn[1]))


def rosters(
    min_size: int = 1,
    max_size: int = 8,
    *,
    profile: Draws | None = None,
    **fields: st.SearchStrategy[Any],
) -> st.SearchStrategy[list[Rep]]:
    """Reps with unique ids R0, R1 …, drawn as `reps` draws them; at least one is active."""
    return _rosters(_rep_kwargs(profile, fields), min_size, max_size)


@st.composite
def _rosters(
    draw: st.DrawFn, kwargs: st.SearchStrategy[dict[str, Any]], min_size: int, max_size: int
) -> list[Rep]:
    out = [Rep(f"R{i}", **draw(kwargs)) for i in range(draw(st.integers(min_size, max_size)))]
    if out and not any(rep.active for rep in out):
        out[0] = attrs.evolve(out[0], active=True)
    return out


@st.composite
def shifts(draw: st.DrawFn, tz: str | st.SearchStrategy[str] | None = None) -> Shift:
    """A `Shift` in `tz` (a zone name, a strategy of names, or one of `ZONES`): a day shift
    starting 06:00-11:30 for 4-10 hours, or a night shift past midnight; on some weekdays
    (Mon-Fri most often), sometimes with a lunch break. For rules that read when a rep works:
    draw one per rep and pass them to `rules.schedule({...})`."""
    zone = draw(
        tz if isinstance(tz, st.SearchStrategy) else st.just(tz) if tz else st.sampled_from(ZONES)
    )
    night = draw(st.booleans())
    begin = draw(st.integers(20 * 2, 23 * 2)) if night else draw(st.integers(6 * 2, 11 * 2 + 1))
    hours = draw(st.integers(4, 10))
    start = time(begin // 2, 30 * (begin % 2))
    end = time((begin // 2 + hours) % 24, start.minute)
    weekdays = draw(st.just(frozenset(range(5))) | st.frozensets(st.integers(0, 6), min_size=1))
    breaks: tuple[tuple[time, time], ...] = ()
    if not night and hours >= 6 and draw(st.booleans()):
        lunch = time(begin // 2 + 3, start.minute)
        breaks = ((lunch, time(lunch.hour + 1, lunch.minute)),)
    return Shift(zone, start=start, end=end, weekdays=weekdays, breaks=breaks)


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
