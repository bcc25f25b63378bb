"""The `leadrouter route` command: a file of leads routed with a playbook in arrival order, every
timer (first-touch SLA, expiry, a tier's patience) run at its own time, between arrivals and
after the last one up to a stated end; each lead's first decision, what the timers did to it and
where it ended, to a CSV."""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from leadrouter._cli_playbook import counted, file_warnings
from leadrouter._cli_reading import (
    local_time,
    option_time,
    output_folder,
    read_playbook_and_leads,
    reading_flags,
    write_csv,
)
from leadrouter._util import format_duration, instant, plural
from leadrouter.errors import ConfigError
from leadrouter.events import REP_LEFT, Assigned, Claimed, Event, Pooled, Released
from leadrouter.ledger import Ledger
from leadrouter.lifecycle import EXPIRED, SLA_MISSED
from leadrouter.model import Decision
from leadrouter.router import Router
from leadrouter.strategies.grab_with_caps import IDLE
from leadrouter.strategies.tiered_delay import ESCALATED, TieredDelay

__all__ = ["DECISION_COLUMNS", "route", "route_parser"]

DECISION_COLUMNS = (
    "lead_id",
    "arrived_at",
    "action",
    "rep_id",
    "pool",
    "by",
    "reasons",
    "timers",
    "final_rep_id",
    "final_pool",
)
"""The columns of `--out`: the first decision (action to reasons), what the timers did after it
(`timers`: each change with its time), and where the lead ended (`final_*`)."""

_WHY = {
    SLA_MISSED: "first-touch SLA missed",
    EXPIRED: "expired",
    ESCALATED: "escalated",
    IDLE: "idle claim",
    REP_LEFT: "rep left",
}
"""A release reason as the `timers` column says it."""


def route_parser(commands: Any) -> None:
    """The `route` sub-command's arguments."""
    route = commands.add_parser(
        "route",
        help="route a file of leads (CSV, Excel or Parquet) with a playbook",
        description=(
            "Route every lead of the file in arrival order, running each of the playbook's "
            "timers at its own time, between arrivals and after the last one until --until; "
            "write each decision with its reasons, what the timers did and where the lead ended."
        ),
    )
    route.add_argument(
        "playbook",
        type=Path,
        help="the playbook (TOML) that routes them: its strategy, rules, caps, timers and reps",
    )
    route.add_argument(
        "leads", type=Path, help="the leads: CSV, Excel (.xlsx) or Parquet, as an export"
    )
    route.add_argument("--out", type=Path, required=True, help="where to write decisions (CSV)")
    route.add_argument(
        "--until",
        default=None,
        metavar="TIME",
        help="run the timers until this time ('2026-01-06 18:00', in the leads' zone without "
        "an offset) or this long after the last arrival (24h, 3d); default: the last arrival "
        "plus the playbook's longest timer, so the last lead's timers have their full time",
    )
    reading_flags(route)


def route(args: argparse.Namespace, out: TextIO) -> None:
    """`leadrouter route`: every lead in arrival order, each timer run at its own time; the
    decisions (with what the timers did and where each lead ended) to `--out`, and a summary.

    A file with any row that cannot be used routes nothing: routing is acting, and a lead left
    out of a batch would be lost without anyone noticing."""
    with output_folder(args.out, "--out", "the decisions"):
        _route_into(args, out)


def _route_into(args: argparse.Namespace, out: TextIO) -> None:
    until = _until(args.until)
    settings, notes, history = read_playbook_and_leads(args, "routed")
    leads = history.leads
    last = leads[-1].arrived_at
    end, why_end = _end(args.until, until, settings, last)
    from leadrouter.clock import ManualClock

    router = Router(**settings, clock=ManualClock(leads[0].arrived_at))
    decisions = []
    for lead in leads:
        run_timers(router, lead.arrived_at, before=True)
        router.tick(lead.arrived_at)
        decisions.append(router.route(lead, now=lead.arrived_at))
    run_timers(router, end)
    ledger = router.ledger
    changes = _changes(ledger, router, {lead.id for lead in leads})
    ended = {lead.id: _final(ledger, lead.id) for lead in leads}
    write_csv(
        args.out,
        "--out",
        "the decisions",
        DECISION_COLUMNS,
        (
            [
                lead.id,
                lead.arrived_at.isoformat(),
                decision.action,
                decision.rep_id or "",
                decision.pool or "",
                decision.by,
                " | ".join(map(str, decision.reasons)),
                " | ".join(changes.get(lead.id, ())),
                *ended[lead.id],
            ]
            for lead, decision in zip(leads, decisions, strict=True)
        ),
    )
    routed = plural(len(leads), "lead")
    out.write(f"routed {routed} from {args.leads} with {args.playbook} -> {args.out}\n")
    out.write(f"  timers run until {end.isoformat()} ({why_end})")
    # the timers alone: a shift's start is no timer left for a lead no rep may ever take
    pending = router.next_due(end, offers=False)
    if pending is not None:
        at = pending.astimezone(end.tzinfo).isoformat()
        out.write(f"; a timer is still set after it, the next at {at}: give a later --until")
    out.write("\n")
    _summary(decisions, ended, ledger, out)
    for note in notes:  # a file read as GB18030: said, as saving it as UTF-8 is safer
        out.write(f"  note: {note}\n")
    file_warnings(settings, history, args, out)


def run_timers(router: Router, end: datetime, *, before: bool = False) -> None:
    """Tick `router` at each time `Router.next_due` answers up to `end` (`before`: only those
    earlier than `end`), in the zone of `end`: a timer runs at its own time, not at the next
    arrival, and a waiting lead is offered when a shift starts or a daily cap's day turns. Each
    next time is later than the one before, and every timer is a positive delay, so the run
    ends."""
    at = router.clock()
    while (due := router.next_due(at)) is not None and (due < end if before else due <= end):
        at = due.astimezone(end.tzinfo)
        router.tick(at)


def _until(until: str | None) -> timedelta | datetime | None:
    """`--until` read before the leads: a duration after the last arrival or a time (`_end`
    places it), None when not given; neither is a `ConfigError` saying what it takes."""
    if until is None:
        return None
    from leadrouter._written import duration

    try:
        return duration(until)
    except (ValueError, ConfigError):
        pass
    found = option_time(until)
    if found is None:
        raise ConfigError(
            f"--until {until}: neither a time nor a duration: write a time such as "
            "'2026-01-06 18:00' (in the leads' zone) or a duration after the last arrival, "
            "such as 24h or 3d"
        )
    return found


def _end(
    written: str | None,
    until: timedelta | datetime | None,
    settings: Mapping[str, Any],
    last: datetime,
) -> tuple[datetime, str]:
    """When the timers stop, and why then: `--until` as `written` and read (`_until`: a time,
    or a duration after the last arrival), else the last arrival plus the playbook's longest
    timer."""
    if until is None:
        return _horizon(settings, last)
    if isinstance(until, timedelta):
        return last + until, f"--until {written} after the last arrival"
    end = local_time(until, last)
    if end < last:
        raise ConfigError(
            f"--until {written} is before the last lead's arrival ({last.isoformat()}): give a "
            "later time, or a duration such as 24h"
        )
    return end, f"--until {written}"


def _horizon(settings: Mapping[str, Any], last: datetime) -> tuple[datetime, str]:
    """The last arrival plus the playbook's longest timer: the first-touch SLA (counted in
    working hours where set: a lead in at 20:00 with a 1h SLA is due at 10:00 the next working
    day), the expiry, or a TieredDelay lead's way down every tier. Every lead's timers have then
    had their full time once; later ones (a re-routed lead's next SLA) need `--until`."""
    life, strategy = settings["lifecycle"], settings["strategy"]
    ends: list[tuple[datetime, str]] = []
    if life.expire_after is not None:
        ends.append(
            (instant(last) + life.expire_after, f"expiry {format_duration(life.expire_after)}")
        )
    sla = life.first_touch_sla
    if sla is not None:
        hours = life.working_hours
        shifts = {hours.shift_for(rep.id) for rep in settings["reps"]} if hours else {None}
        due = max(
            instant(last) + sla if s is None else s.add_working_time(last, sla) for s in shifts
        )
        said = " of working time" if hours else ""
        ends.append((due, f"first-touch SLA {format_duration(sla)}{said}"))
    if isinstance(strategy, TieredDelay):
        total = sum((tier.patience for tier in strategy.tiers), timedelta(0))
        ends.append((instant(last) + total, f"every tier's patience, {format_duration(total)}"))
    if not ends:
        return last, "the last arrival: the playbook has no timers"
    end, longest = max(ends, key=lambda pair: pair[0])
    return end.astimezone(
        last.tzinfo
    ), f"the last arrival plus the playbook's longest timer, {longest}"


def _final(ledger: Ledger, lead_id: str) -> tuple[str, str]:
    """(rep, pool) where the lead is now: the rep it is with, or the pool it waits in."""
    rep = ledger.owner(lead_id)
    return (rep, "") if rep else ("", ledger.pool_of(lead_id) or "")


def _changes(ledger: Ledger, router: Router, lead_ids: set[str]) -> dict[str, list[str]]:
    """What happened to each lead after its first decision, each change with its time: a
    timer's release and where the lead went ("first-touch SLA missed: ana -> bo"; an escalation
    names the tier it fell to), and a waiting lead taken from its pool."""
    stories: dict[str, list[Event]] = defaultdict(list)
    for event in ledger.events():
        if isinstance(event, Assigned | Claimed | Pooled | Released) and event.lead_id in lead_ids:
            stories[event.lead_id].append(event)
    tiers = {rep.id: rep.tier for rep in router.reps}
    said: dict[str, list[str]] = {}
    for lead_id, story in stories.items():
        lines = (
            _change(story[i - 1], story[i], story[i + 1 : i + 2], tiers)
            for i in range(1, len(story))
        )
        said[lead_id] = [line for line in lines if line]
    return said


def _change(before: Event, event: Event, after: Sequence[Event], tiers: Mapping[str, int]) -> str:
    """`event` in words, or "" when the line of the release before it said it already."""
    at = event.at.isoformat()
    if isinstance(event, Released):
        then = after[0] if after else None
        if isinstance(then, Assigned | Claimed):
            to = then.rep_id
            if event.reason == ESCALATED:
                to += f" (fell to tier {tiers.get(then.rep_id, '?')})"
        else:
            to = f"pool:{then.pool if isinstance(then, Pooled) else event.pool}"
        return f"{at} {_WHY.get(event.reason, event.reason)}: {event.rep_id} -> {to}"
    if isinstance(event, Assigned | Claimed) and not isinstance(before, Released):
        where = f"pool:{before.pool}" if isinstance(before, Pooled) else "the pool"
        return f"{at} taken from {where} -> {event.rep_id}"
    return ""


def _summary(
    decisions: Sequence[Decision],
    ended: Mapping[str, tuple[str, str]],
    ledger: Ledger,
    out: TextIO,
) -> None:
    """Where the leads ended (a rep or a pool), then how that differs from the first
    decisions: the timers' releases, by reason. A first decision is not where a lead is: with a
    first-touch SLA, every assigned lead is taken back, as the file's touches (made by whoever
    held the lead then) are not replayed."""
    places = Counter(rep or f"pool:{pool}" for rep, pool in ended.values())
    counted(places, "where the leads ended", out)
    assigned = sum(d.rep_id is not None for d in decisions)
    releases = Counter(e.reason for e in ledger.events() if isinstance(e, Released))
    line = f"first decisions: {assigned} to a rep, {len(decisions) - assigned} to a pool"
    if releases:
        line += f"; taken back by the timers {sum(releases.values())} times (" + ", ".join(
            f"{why} {n}" for why, n in releases.most_common()
        )
        line += ")"
    if releases.get(SLA_MISSED):
        line += (
            ": route replays no touches (the file's were made by the reps who held the leads "
            "then), so no first-touch SLA is met"
        )
    out.write(line + "\n")
