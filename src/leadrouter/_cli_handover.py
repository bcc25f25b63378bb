"""The `leadrouter handover` command (离职交接): a rep leaves, and their open leads in a CRM
export go to the others by the playbook (its strategy, rules and caps), or all to one successor
(`--to`), with the other owners' open leads counted as the books they are; who gets which lead,
and which wait and why, to a CSV.

A command of its own rather than an option of `route`: `route` sends new leads in arrival order
and runs the timers over days, while a hand-over moves leads already owned, at one moment, and
reads the owner column `route` ignores; the two share how they read the playbook and the file,
write the CSV, count the leads and warn (`_cli_reading`, `_cli_playbook`)."""

from __future__ import annotations

import argparse
import difflib
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from leadrouter._cli_playbook import counted, file_warnings
from leadrouter._cli_reading import (
    local_time,
    output_folder,
    read_playbook_and_leads,
    reading_flags,
    write_csv,
)
from leadrouter._util import plural
from leadrouter.errors import ConfigError, MissingColumnError, UnknownRepError
from leadrouter.events import Arrived, Assigned, Event
from leadrouter.model import Decision, Rep
from leadrouter.router import Router

if TYPE_CHECKING:
    from leadrouter.sim.history import History

__all__ = ["HANDOVER_COLUMNS", "handover", "handover_parser"]

HANDOVER_COLUMNS = ("lead_id", "arrived_at", "from_rep_id", "to_rep_id", "pool", "by", "reasons")
"""The columns of `--out`, one row per lead handed over: whose it was, who has it now (or the
pool it waits in), what decided (the strategy, or `--to`) and the reasons."""

REASON = "rep_left"
"""The reason of each release, as `Router.handover` writes it."""


def handover_parser(commands: Any) -> None:
    """The `handover` sub-command's arguments."""
    command = commands.add_parser(
        "handover",
        help="hand a departing rep's open leads (离职交接) to the others, with a playbook",
        description=(
            "Take the open leads the departing reps own in the file and give them to the other "
            "reps by the playbook's strategy, rules and caps (or all to --to), counting every "
            "other owner's open leads as their book; write who gets which lead, and why."
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

    The other owners' open leads are the team's books: each is in the ledger as its owner's,
    arrived and assigned at the export's times, so an `open` cap, a daily cap and a rotation
    see them. Closed leads (won or lost) and leads without an owner are in no book and are not
    moved. A file with any row that cannot be used hands over nothing."""
    with output_folder(args.out, "--out", "the hand-over"):
        _handover_into(args, out)


def _handover_into(args: argparse.Namespace, out: TextIO) -> None:
    leaving = list(dict.fromkeys(args.rep))

    def names(settings: dict[str, Any]) -> None:
        for name in leaving:
            _on_roster(name, "--rep", settings["reps"], args.playbook)
        if args.to is not None:
            _successor(args.to, leaving, settings["reps"], args.playbook)

    settings, notes, history = read_playbook_and_leads(args, "handed over", names)
    owners, closed = _owners(history, args.leads)
    books = [lead_id for lead_id, owner in owners.items() if owner and lead_id not in closed]
    seed = _seed(history.events, set(books))
    at = _at(args.at, history, seed)
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
    strangers = Counter({owner: n for owner, n in others.items() if owner not in router.roster})
    if strangers:
        ids = [rep.id for rep in router.reps]
        listed = ", ".join(_stranger(name, n, ids, leaving) for name, n in strangers.most_common(8))
        out.write(
            f"  warning: owners not on the roster of {args.playbook}: {listed}: "
            "their books count for no cap; if they are reps of the roster under another "
            "name, write the roster's ids in the owner column\n"
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
    file_warnings(settings, history, args.leads, out)


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


def _owners(history: History, path: Path) -> tuple[dict[str, str], set[str]]:
    """Each lead's owner ("" when the row has none) and the ids of the closed ones: won (a
    stage read as won, or a sale) or lost (a stage read as lost, or a lost date). A lead whose
    export says neither is open. MissingColumnError when no column holds the owner."""
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
    shut = (
        frame["stage"].isin(("won", "lost")).fillna(False)
        | frame["converted"].astype(bool)
        | frame["lost_at"].notna()
    )
    return owners, set(frame["lead_id"][shut.to_numpy(dtype=bool)])


def _seed(events: Iterable[Event], books: set[str]) -> list[Event]:
    """The open owned leads as the ledger's history: each lead's `Arrived` at its arrival and
    `Assigned` to its owner at the export's assignment time (its arrival when the export has
    none), in time order. Touches and outcomes are left out: no timer runs in a hand-over."""
    return [
        event
        for event in events
        if isinstance(event, Arrived | Assigned)
        and (event.lead.id if isinstance(event, Arrived) else event.lead_id) in books
    ]


def _at(text: str | None, history: History, seed: Sequence[Event]) -> datetime:
    """When the hand-over happens: `--at` (a time in the leads' zone without an offset, or
    now), else the export's time. Not before the latest assignment of a book it moves or
    counts: the ledger keeps events in time order."""
    like = history.as_of
    if text is None:
        return like
    at = datetime.now(like.tzinfo) if text.strip().lower() == "now" else local_time(text, like)
    if at is None:
        raise ConfigError(
            f"--at {text}: not a time: write a time such as '2026-01-06 18:00' (in the leads' "
            "zone), one with an offset, or now"
        )
    latest = max(seed, key=lambda event: event.at, default=None)
    if latest is not None and at < latest.at:
        lead = latest.lead.id if isinstance(latest, Arrived) else latest.lead_id
        raise ConfigError(
            f"--at {text} is before lead {lead} came into its owner's book "
            f"({latest.at.astimezone(like.tzinfo).isoformat()}): a hand-over moves the books "
            "as they are then; give a later time, or leave --at out (the export's time)"
        )
    return at


def _hand_over(
    router: Router, leaving: Sequence[str], to: str | None, at: datetime
) -> list[tuple[str, Decision]]:
    """(whose it was, the decision) for each lead of each departing rep, oldest first: by
    `Router.handover` (the strategy, rules and caps), or, with `to`, released ("rep_left")
    and claimed by `to` as a rep claims from the pool, so their caps and the rules still hold:
    a refused claim leaves the lead waiting in the pool, the refusal its reason."""
    moved: list[tuple[str, Decision]] = []
    for name in leaving:
        if to is None:
            moved += [(name, decision) for decision in router.handover(name, at)]
            continue
        for lead_id in router.ledger.book_order(name):
            router.release(lead_id, REASON, at, reroute=False, rep_id=name)
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


def _stranger(name: str, n: int, ids: Sequence[str], leaving: Sequence[str]) -> str:
    """An owner not on the roster, their open leads, and the roster's id most like theirs (a
    space, a typo in the CRM): a rep who leaves under another name keeps those leads."""
    close = difflib.get_close_matches(name, ids, 1, 0.5)
    said = f"{name} ({plural(n, 'open lead')}"
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
