"""The `leadrouter` command (also `python -m leadrouter`).

    leadrouter check PLAYBOOK...                      validate playbooks, show what they would do
    leadrouter route PLAYBOOK LEADS.csv --out F.csv   route a file of leads, with reasons

Exit codes: 0 success, 2 bad input (a playbook or leads file that cannot be used; the message
names the file, row or key and how to fix it).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from leadrouter._util import format_duration
from leadrouter.errors import LeadRouterError
from leadrouter.lifecycle import Lifecycle
from leadrouter.model import Decision, Lead
from leadrouter.playbooks import load_playbook, read_playbook
from leadrouter.router import Router

__all__ = ["main"]

DECISION_COLUMNS = (
    "lead_id",
    "arrived_at",
    "action",
    "rep_id",
    "pool",
    "by",
    "reasons",
    "final_rep_id",
    "final_pool",
)


class LeadsFileError(LeadRouterError, ValueError):
    """A leads file with rows that cannot be used; lists each row, column and problem."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = argparse.ArgumentParser(prog="leadrouter", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate playbooks and show what they would do")
    check.add_argument("playbooks", nargs="+", type=Path)
    check.add_argument("--sample", type=int, default=12, help="sample leads to route (12)")
    route = commands.add_parser("route", help="route a CSV file of leads with a playbook")
    route.add_argument("playbook", type=Path)
    route.add_argument("leads", type=Path)
    route.add_argument("--out", type=Path, required=True, help="where to write decisions (CSV)")
    route.add_argument(
        "--tz", default=None, help="time zone for times without one, e.g. Asia/Shanghai"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            for path in args.playbooks:
                _check(path, args.sample, sys.stdout)
        else:
            _route(args.playbook, args.leads, args.out, args.tz, sys.stdout)
    except LeadRouterError as exc:
        print(f"leadrouter: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _check(path: Path, sample: int, out: TextIO) -> None:
    """Print a playbook's settings, then route deterministic sample leads with it."""
    from leadrouter.testing.checks import START, sample_lead

    settings = read_playbook(path)
    reps = settings["reps"]
    teams = Counter(rep.team or "(no team)" for rep in reps)
    out.write(f"{path}: OK\n")
    out.write(f"  strategy : {settings['strategy']!r}\n")
    out.write(f"  rules    : {', '.join(map(repr, settings['rules'])) or 'none'}\n")
    out.write(f"  caps     : {', '.join(map(repr, settings['caps'])) or 'none'}\n")
    out.write(f"  lifecycle: {_describe_lifecycle(settings['lifecycle'])}\n")
    out.write(
        f"  roster   : {len(reps)} reps ({sum(r.active for r in reps)} active); teams "
        + ", ".join(f"{team}={n}" for team, n in sorted(teams.items()))
        + "\n"
    )
    import random

    from leadrouter.clock import ManualClock

    router = load_playbook(path, clock=ManualClock(START))
    rng = random.Random(0)
    out.write(f"  what it would do with {sample} sample leads:\n")
    for i in range(sample):
        lead = sample_lead(i, START + timedelta(minutes=7 * i), rng)
        decision = router.route(lead, now=lead.arrived_at)
        out.write(
            f"    {lead.id:<7} {lead.region:<6} {lead.segment:<10} -> "
            f"{_where(decision):<16} {_short_why(decision)}\n"
        )


def _where(decision: Decision) -> str:
    return decision.rep_id if decision.rep_id else f"pool:{decision.pool}"


def _short_why(decision: Decision) -> str:
    if not decision.reasons:
        return ""
    detail = decision.reasons[-1].detail
    return detail if len(detail) <= 70 else detail[:69] + "…"


def _describe_lifecycle(life: Lifecycle) -> str:
    hours = " (working hours only)" if life.working_hours is not None else ""
    return (
        f"first-touch SLA {format_duration(life.first_touch_sla)}{hours}, expiry "
        f"{format_duration(life.expire_after)}, re-route {'on' if life.reroute else 'off'}"
    )


def read_leads(path: Path, tz: str | None) -> list[Lead]:
    """Leads from a CSV file (UTF-8, with or without BOM). Every unusable row is reported with
    its row number and column; none is dropped silently."""
    if not path.is_file():
        raise LeadsFileError(f"{path}: no such file")
    leads: list[Lead] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        if not {"id", "lead_id"} & set(header) or "arrived_at" not in header:
            raise LeadsFileError(
                f"{path}: needs columns 'lead_id' (or 'id') and 'arrived_at'; found {header}"
            )
        for number, row in enumerate(reader, start=2):
            data = {k: v for k, v in row.items() if k is not None}
            try:
                lead = Lead.from_row(data, tz=tz)
            except LeadRouterError as exc:
                problems.append(f"row {number}: {exc}")
                continue
            if lead.id in seen:
                problems.append(
                    f"row {number}: lead id {lead.id!r} already used in row {seen[lead.id]}"
                )
                continue
            seen[lead.id] = number
            leads.append(lead)
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise LeadsFileError(
            f"{path}: {len(problems)} row(s) cannot be used; nothing was routed:\n  {shown}{more}"
        )
    return leads


def _route(playbook: Path, leads_path: Path, out_path: Path, tz: str | None, out: TextIO) -> None:
    leads = sorted(read_leads(leads_path, tz), key=lambda lead: lead.arrived_at)
    if not leads:
        raise LeadsFileError(f"{leads_path}: no leads in the file")
    from leadrouter.clock import ManualClock

    router: Router = load_playbook(playbook, clock=ManualClock(leads[0].arrived_at))
    decisions = []
    for lead in leads:
        router.tick(lead.arrived_at)
        decisions.append(router.route(lead, now=lead.arrived_at))
    ledger = router.ledger
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(DECISION_COLUMNS)
        for lead, decision in zip(leads, decisions, strict=True):
            writer.writerow(
                [
                    lead.id,
                    lead.arrived_at.isoformat(),
                    decision.action,
                    decision.rep_id or "",
                    decision.pool or "",
                    decision.by,
                    " | ".join(map(str, decision.reasons)),
                    ledger.owner(lead.id) or "",
                    ledger.pool_of(lead.id) or "",
                ]
            )
    counts = Counter(_where(d) for d in decisions)
    out.write(f"routed {len(leads)} leads from {leads_path} with {playbook} -> {out_path}\n")
    for where, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        out.write(f"  {where:<20} {n}\n")
