"""The `leadrouter handover` command (离职交接): a rep leaves, and their open leads in a CRM
export go to the others by the playbook (its strategy, rules and caps), or all to one successor
(`--to`), with the other owners' open leads counted as the books they are and every owner's
closed leads as the history they are; who gets which lead, and which wait and why, to a CSV.

A command of its own rather than an option of `route`: `route` sends new leads in arrival order
and runs the timers over days, while a hand-over moves leads already owned, at one moment, and
reads the owner column `route` ignores; the two share how they read the playbook and the file,
write the CSV, count the leads and warn (`_cli_reading`, `_cli_playbook`)."""

from __future__ import annotations

import argparse
import difflib
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from leadrouter._cli_playbook import counted, file_warnings
from leadrouter._cli_reading import (
    local_time,
    option_time,
    output_folder,
    read_playbook_and_leads,
    reading_flags,
    write_csv,
)
from leadrouter._util import plural
from leadrouter.errors import ConfigError, MissingColumnError, UnknownRepError
from leadrouter.events import REP_LEFT, Arrived, Event, Tagged
from leadrouter.model import Decision, Rep
from leadrouter.router import Router

if TYPE_CHECKING:
    from leadrouter.sim.history import History

__all__ = ["HANDOVER_COLUMNS", "handover", "handover_parser"]

HANDOVER_COLUMNS = ("lead_id", "arrived_at", "from_rep_id", "to_rep_id", "pool", "by", "reasons")
"""The columns of `--out`, one row per lead handed over: whose it was, who has it now (or the
pool it waits in), what decided (the strategy, or `--to`) and the reasons."""


def handover_parser(commands: Any) -> None:
    """The `handover` sub-command's arguments."""
    command = commands.add_parser(
        "handover",
        help="hand a departing rep's open leads (离职交接) to the others, with a playbook",
        description=(
            "Take the open leads the departing reps own in the file and give them to the other "
            "reps by the playbook's strategy, rules and caps (or all to --to), counting every "
            "other owner's open leads as their book and every owner's closed leads as their "
            "history; write who gets which lead, and why."
        ),
    )
    command.add_argument(
        "playbook",
        type=Path,
        help="the playbook (TOML) that routes them: its strategy, rules, caps and reps",
    )
    command.add_argument(
        "leads",
        type=Path,
        help="the team's leads with their owner (负责人, owner): CSV, Excel (.xlsx) or Parquet",
    )
    command.add_argument(
        "--rep",
        action="append",
        required=True,
        metavar="REP",
        help="a rep who leaves, by their id on the roster; repeat for several: "
        "--rep 王芳 --rep 刘洋",
    )
    command.add_argument(
        "--to",
        default=None,
        metavar="REP",
        help="give every lead to this rep instead of the strategy; a lead their caps or the "
        "rules refuse waits in the pool, and the summary says why",
    )
    command.add_argument(
        "--at",
        default=None,
        metavar="TIME",
        help="when the hand-over happens ('2026-01-06 18:00', in the leads' zone without an "
        "offset, or now); default: the export's time (--as-of, else its latest time)",
    )
    command.add_argument("--out", type=Path, required=True, help="where to write it (CSV)")
    reading_flags(command)


def handover(args: argparse.Namespace, out: TextIO) -> None:
    """`leadrouter handover`: the departing reps' open leads handed over at one time, oldest
    first, each to another rep (never back to a departing one) or to the pool with the reasons;
    the rows to `--out` and a summary.

    Every owned lead of the export is in the ledger as its owner's, at the export's times
    (`_seed`): the open ones are the team's books, which an `open` cap counts; the closed ones
    (won or lost) are history, in no book but counted by a daily cap (the day's assignments) and
    by a strategy that learns from the ledger (who touched, won and lost what). Only the
    departing reps' open leads move: closed leads and leads without an owner are not moved. A
    closed lead whose owner is not on the roster is still history (that owner's, so no rep's),
    and the summary says so. A file with any row that cannot be used hands over nothing."""
    with output_folder(args.out, "--out", "the hand-over"):
        _handover_into(args, out)


def _handover_into(args: argparse.Namespace, out: TextIO) -> None:
    leaving = list(dict.fromkeys(args.rep))

    def names(settings: dict[str, Any]) -> None:
        for name in leaving:
            _on_roster(name, "--rep", settings["reps"], args.playbook)
        if args.to is not None:
            _successor(args.to, leaving, settings["reps"], args.playbook)

    when = _when(args.at)
    settings, notes, history = read_playbook_and_leads(args, "handed over", names)
    export = _read_owners(history, args.leads)
    owners, closed = export.owners, export.closed
    books = [lead_id for lead_id, owner in owners.items() if owner and lead_id not in closed]
    seed, unclosed = _seed(history.events, export)
    at = _at(args.at, when, history, seed)
    from leadrouter.clock import ManualClock
    from leadrouter.ledger import Ledger

    router = Router(**settings, ledger=Ledger.from_events(seed), clock=ManualClock(at))
    for name in leaving:  # before any lead moves: one who leaves never gets another's lead
        router.set_rep(attrs.evolve(router.roster[name], active=False))
    moved = _hand_over(router, leaving, args.to, at)
    arrived = {lead.id: lead.arrived_at for lead in history.leads}
    write_csv(
        args.out,
        "--out",
        "the hand-over",
        HANDOVER_COLUMNS,
        (
            [
                decision.lead_id,
                arrived[decision.lead_id].isoformat(),
                was,
                decision.rep_id or "",
                "" if decision.rep_id else decision.pool or "",
                "--to" if args.to is not None else decision.by,
                " | ".join(map(str, decision.reasons)),
            ]
            for was, decision in moved
        ),
    )
    who = ", ".join(leaving)
    out.write(
        f"handed over {plural(len(moved), 'open lead')} of {who} from {args.leads} with "
        f"{args.playbook} at {at.isoformat()} -> {args.out}\n"
    )
    others = Counter(owners[lead_id] for lead_id in books if owners[lead_id] not in leaving)
    unowned = sum(not owner for owner in owners.values())
    out.write(
        f"  the others' books: {plural(sum(others.values()), 'open lead')} of "
        f"{plural(len(others), 'owner')}; not moved: {plural(len(closed), 'closed lead')}, "
        f"{unowned} without an owner\n"
    )
    past = Counter(owners[lead_id] for lead_id in closed if owners[lead_id])
    if past:
        won = sum(bool(owners[lead_id]) for lead_id in export.won)
        out.write(
            f"  history: {plural(sum(past.values()), 'closed lead')} ({won} won, "
            f"{sum(past.values()) - won} lost) of {plural(len(past), 'owner')}, in the ledger "
            "as theirs at their dates: daily caps and learned strategies count them\n"
        )
    for name in leaving:
        if not any(was == name for was, _ in moved):
            out.write(f"  {_nothing_of(name, owners, args.leads)}\n")
    if moved:
        counted(
            Counter(d.rep_id or f"pool:{d.pool}" for _, d in moved), "where the leads went", out
        )
    for line in _waiting(decision for _, decision in moved):
        out.write(f"  {line}\n")
    for note in notes:  # a file read as GB18030: said, as saving it as UTF-8 is safer
        out.write(f"  note: {note}\n")
    ids = [rep.id for rep in router.reps]
    strangers = Counter({owner: n for owner, n in others.items() if owner not in router.roster})
    if strangers:
        listed = ", ".join(
            _stranger(name, n, "open lead", ids, leaving) for name, n in strangers.most_common(8)
        )
        out.write(
            f"  warning: owners not on the roster of {args.playbook}: {listed}: "
            "their books count for no cap; if they are reps of the roster under another "
            "name, write the roster's ids in the owner column\n"
        )
    gone = Counter({owner: n for owner, n in past.items() if owner not in router.roster})
    if gone:
        listed = ", ".join(
            _stranger(name, n, "closed lead", ids, ()) for name, n in gone.most_common(8)
        )
        more = f" and {plural(len(gone) - 8, 'other')}" if len(gone) > 8 else ""
        out.write(
            f"  history of owners not on the roster of {args.playbook}: {listed}{more}: kept "
            "as theirs, in no rep's numbers; if they are reps of the roster under another "
            "name, write the roster's ids in the owner column\n"
        )
    if unclosed:
        out.write(
            f"  note: {plural(unclosed, 'open lead')} tagged invalid in {args.leads} stay open, "
            "as their stage says: the verdict, which would close them in the ledger, is not "
            "loaded, so they are handed over like any open lead\n"
        )
    idle = {owner: n for owner, n in others.items() if _inactive(router, owner)}
    if idle:
        listed = ", ".join(f"{owner} ({plural(n, 'open lead')})" for owner, n in idle.items())
        flags = " ".join(f"--rep {owner}" for owner in idle)
        out.write(
            f"  warning: inactive on the roster of {args.playbook} but holding open leads: "
            f"{listed}: they keep them, as nobody hands them over; add {flags} to hand them "
            "over too\n"
        )
    file_warnings(settings, history, args, out)


def _inactive(router: Router, rep_id: str) -> bool:
    """Whether `rep_id` is on the router's roster and inactive (`active = false` / 否)."""
    rep = router.roster.get(rep_id)
    return rep is not None and not rep.active


def _on_roster(name: str, flag: str, reps: Sequence[Rep], playbook: Path) -> Rep:
    """The rep `name` of the playbook's roster, or UnknownRepError naming the closest ids."""
    found = next((rep for rep in reps if rep.id == name), None)
    if found is not None:
        return found
    ids = [rep.id for rep in reps]
    close = difflib.get_close_matches(name, ids, 3, 0.5)
    meant = f" (did you mean {' or '.join(close)}?)" if close else ""
    shown = ", ".join(ids[:12]) + (" ..." if len(ids) > 12 else "")
    raise UnknownRepError(
        f"{flag} {name}: no rep of that id on the roster of {playbook}{meant}; its reps are "
        f"{shown}: write the id as the roster has it"
    )


def _successor(name: str, leaving: Sequence[str], reps: Sequence[Rep], playbook: Path) -> None:
    """`--to` names an active rep of the roster who is not leaving, or a ConfigError says why."""
    rep = _on_roster(name, "--to", reps, playbook)
    if name in leaving:
        raise ConfigError(
            f"--to {name} is a rep who leaves (--rep {name}): a lead cannot go back to them; "
            "name another rep, or leave --to out to share the leads by the strategy"
        )
    if not rep.active:
        raise ConfigError(
            f"--to {name}: {name} is inactive in {playbook} and takes no lead: name an active "
            "rep, or make them active (active = true) first"
        )


@attrs.frozen
class _Owned:
    """Who owns what in the export: each lead's owner ("" when the row has none), the won leads
    (a stage read as won, or a sale) and the lost ones (a stage read as lost, or a lost date),
    each with its loss time (None when the export has none). A lead that is neither is open."""

    owners: dict[str, str]
    won: frozenset[str]
    lost: dict[str, datetime | None]

    @property
    def closed(self) -> frozenset[str]:
        """The won and the lost leads (a new set each call)."""
        return self.won | self.lost.keys()


def _read_owners(history: History, path: Path) -> _Owned:
    """Who owns what in the export (`_Owned`), read from the History's frame as the loader
    left it: its `stage` (won / lost / open, by the export's profile and `--won` / `--lost`),
    `converted` and `lost_at`. MissingColumnError when no column holds the owner."""
    import pandas as pd

    if "rep_id" not in history.columns:
        headers = sorted({key for lead in history.leads for key in lead.features})
        raise MissingColumnError(
            f"{path}: no column holds each lead's owner, which handover moves leads by (read "
            "from a header such as 负责人, 跟进人, owner or Lead Owner); the file's other "
            f"columns are {', '.join(headers) or 'none'}: name yours with --columns "
            "rep_id='Your Header'"
        )
    frame = history.to_frame()
    owners = {
        lead_id: owner if isinstance(owner, str) else ""
        for lead_id, owner in zip(frame["lead_id"], frame["rep_id"].astype(object), strict=True)
    }
    won = frame["converted"].astype(bool) | frame["stage"].eq("won").fillna(False)
    lost = ~won & (frame["stage"].eq("lost").fillna(False) | frame["lost_at"].notna())
    rows = frame[lost.to_numpy(dtype=bool)]
    return _Owned(
        owners,
        frozenset(frame["lead_id"][won.to_numpy(dtype=bool)]),
        {
            lead_id: None if pd.isna(when) else when.to_pydatetime()
            for lead_id, when in zip(rows["lead_id"], rows["lost_at"], strict=True)
        },
    )


def _seed(events: Iterable[Event], owned: _Owned) -> tuple[list[Event], int]:
    """The owned leads as the ledger's history, in time order, and how many open leads' invalid
    verdicts it leaves out.

    Each owned lead's events as the History logs them (`History.events`: its arrival, the
    assignment to its owner at the export's assignment time or its arrival, its first touch,
    verdict and sale), so caps and strategies read the ledger of a team that worked as the
    export says. A lost lead is closed as the simulator closes one, by a `Tagged(valid=False,
    reason=LOST)` at its loss time (not before its last recorded event, when the export dates
    the loss earlier or not at all): a lost lead is in no book, and a verdict it already had
    stays its owner's. An open lead's invalid verdict is left out, and counted: the ledger
    would close the lead, which the export says its owner still works. Leads without an owner
    are left out: they are in nobody's book or history."""
    from leadrouter.sim.engine import LOST

    closed = owned.closed
    kept: list[Event] = []
    last: dict[str, datetime] = {}
    shut: set[str] = set()
    unclosed = 0
    for event in events:
        lead_id = event.lead.id if isinstance(event, Arrived) else event.lead_id
        if not owned.owners[lead_id]:
            continue
        if isinstance(event, Tagged) and not event.valid:
            if lead_id not in closed:
                unclosed += 1
                continue
            shut.add(lead_id)
        kept.append(event)
        last[lead_id] = event.at
    closing: list[Event] = [
        Tagged(lead_id, owned.owners[lead_id], max(at or last[lead_id], last[lead_id]), False, LOST)
        for lead_id, at in owned.lost.items()
        if lead_id in last and lead_id not in shut
    ]
    return sorted(kept + closing, key=lambda event: event.at), unclosed


def _when(text: str | None) -> datetime | None:
    """`--at` read before the export: its time (without an offset: in the leads' zone, placed
    by `_at`), now, or None when not given; anything else a `ConfigError` saying what it
    takes."""
    if text is None:
        return None
    at = datetime.now(UTC) if text.strip().lower() == "now" else option_time(text)
    if at is None:
        raise ConfigError(
            f"--at {text}: not a time: write a time such as '2026-01-06 18:00' (in the leads' "
            "zone), one with an offset, or now"
        )
    return at


def _at(
    text: str | None, when: datetime | None, history: History, seed: Sequence[Event]
) -> datetime:
    """When the hand-over happens: `--at` as `text` and read (`_when`), else the export's
    time. Not before the latest event of the history it loads (`_seed`, in time order): a
    hand-over at a time the export had not reached would count assignments, sales and losses
    still to come."""
    like = history.as_of
    if when is None:
        return like
    at = local_time(when, like)
    latest = seed[-1] if seed else None
    if latest is not None and at < latest.at:
        lead = latest.lead.id if isinstance(latest, Arrived) else latest.lead_id
        raise ConfigError(
            f"--at {text} is before what the export records of lead {lead} "
            f"({type(latest).__name__} at {latest.at.astimezone(like.tzinfo).isoformat()}): a "
            "hand-over moves the books as they are then, after the history it counts; give a "
            "later time, or leave --at out (the export's time)"
        )
    return at


def _hand_over(
    router: Router, leaving: Sequence[str], to: str | None, at: datetime
) -> list[tuple[str, Decision]]:
    """(whose it was, the decision) for each lead of each departing rep, oldest first: by
    `Router.handover` (the strategy, rules and caps), or, with `to`, released (`REP_LEFT`)
    and claimed by `to` as a rep claims from the pool, so their caps and the rules still hold:
    a refused claim leaves the lead waiting in the pool, the refusal its reason."""
    moved: list[tuple[str, Decision]] = []
    for name in leaving:
        if to is None:
            moved += [(name, decision) for decision in router.handover(name, at)]
            continue
        for lead_id in router.ledger.book_order(name):
            router.release(lead_id, REP_LEFT, at, reroute=False, rep_id=name)
            moved.append((name, router.claim(to, lead_id, at)))
    return moved


def _nothing_of(name: str, owners: dict[str, str], path: Path) -> str:
    """Why a departing rep has nothing to hand over, and the owners of the file most like them
    when they own nothing there at all (the roster's id and the CRM's name may differ)."""
    theirs = [lead_id for lead_id, owner in owners.items() if owner == name]
    if theirs:
        return (
            f"{name} owns no open lead in {path} ({plural(len(theirs), 'lead')}, all closed): "
            "nothing to hand over"
        )
    names = sorted(set(owners.values()) - {""})
    close = difflib.get_close_matches(name, names, 3, 0.5)
    hint = (
        f"; owners there like it: {', '.join(close)}"
        if close
        else f"; its owners: {', '.join(names[:8]) or 'none'}"
    )
    return f"{name} owns no lead in {path}: nothing to hand over{hint}"


def _stranger(name: str, n: int, kind: str, ids: Sequence[str], leaving: Sequence[str]) -> str:
    """An owner not on the roster, their `n` leads of `kind` ("open lead"), and the roster's id
    most like theirs (a space, a typo in the CRM): a rep of `leaving` under another name keeps
    those leads."""
    close = difflib.get_close_matches(name, ids, 1, 0.5)
    said = f"{name} ({plural(n, kind)}"
    if not close:
        return said + ")"
    if close[0] in leaving:
        return said + f", like {close[0]}, who leaves: not handed over)"
    return said + f", like {close[0]})"


def _waiting(decisions: Iterable[Decision]) -> list[str]:
    """How many leads wait in a pool, by why (the reasons after the release), most first."""
    why = Counter(
        "; ".join(str(reason) for reason in decision.reasons if reason.code != "moved")
        for decision in decisions
        if decision.rep_id is None
    )
    return [f"{plural(n, 'lead')} waiting, because: {because}" for because, n in why.most_common()]
