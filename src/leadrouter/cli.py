"""The `leadrouter` command (also `python -m leadrouter`).

    leadrouter check PLAYBOOK...                      validate playbooks, show what they would do
    leadrouter inspect EXPORT                         show how an export is read, before a fit
    leadrouter route PLAYBOOK LEADS --out F.csv       route a file of leads, with reasons
    leadrouter compare EXPORT --policies strategies/*.toml --seeds 20 --out DIR
                                                      compare policies on an export, write a report
    leadrouter compare --demo --out DIR               the same on a synthetic team, all 8 strategies

`route`, `compare` and `inspect` read their file with the same reader as
`leadrouter.sim.load_export` (CSV in any common encoding, Excel, Parquet; English and Chinese
headers; CRM export profiles) and take the same reading flags (`--tz`, `--dayfirst`,
`--encoding`, `--columns`, `--won`, `--lost`, `--as-of`); an error names the flag that fixes it.

Exit codes: 0 success, 2 bad input (a playbook, leads file, export or policy that cannot be used;
the message names the file, row or key and the flag that fixes it), 130 interrupted, 141 when
the reader of the output went away (`leadrouter check ... | head`), without a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import shutil
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import leadrouter
from leadrouter._util import format_duration
from leadrouter.errors import (
    ConfigError,
    InvalidExportError,
    LeadRouterError,
)
from leadrouter.events import Released
from leadrouter.ledger import Ledger
from leadrouter.lifecycle import Lifecycle
from leadrouter.model import Decision
from leadrouter.playbooks import load_playbook, read_playbook
from leadrouter.router import Router

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from leadrouter.sim.engine import Policy
    from leadrouter.sim.history import History

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

SHOWN_ROWS = 20
"""Rows listed in a message about a file's rows; the rest are counted."""


class LeadsFileError(LeadRouterError, ValueError):
    """A leads file with rows that cannot be used; lists each row, column and problem."""


class UnknownPolicyError(LeadRouterError, LookupError):
    """A `--policies` entry that is neither a playbook file, a pattern matching playbook files,
    nor the name of a built-in policy; the message lists the built-in names."""


class MissingExtraError(LeadRouterError, ImportError):
    """A command needs an optional dependency that is not installed; names the extra to
    install."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Bad input is one `leadrouter: error:` line on stderr (exit 2), never a traceback. When the
    reader of the output goes away (`leadrouter check ... | head -3`) the command stops
    quietly with 141, as a shell reports a program ended by SIGPIPE."""
    try:
        args = _parser().parse_args(argv)
        if args.command == "check":
            for path in args.playbooks:
                _check(path, args.sample, sys.stdout)
        elif args.command == "route":
            _route(args, sys.stdout)
        elif args.command == "inspect":
            sys.stdout.write(_read_export(args.export, args).inspect() + "\n")
        elif args.command == "db":
            _db(args, sys.stdout)
        else:
            _compare(args)
        sys.stdout.flush()
    except LeadRouterError as exc:
        print(f"leadrouter: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("leadrouter: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _discard_stdout()
        return 141
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadrouter", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {leadrouter.__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate playbooks and show what they would do")
    check.add_argument("playbooks", nargs="+", type=Path)
    check.add_argument("--sample", type=int, default=12, help="sample leads to route (12)")
    route = commands.add_parser(
        "route",
        help="route a file of leads (CSV, Excel or Parquet) with a playbook",
        description=(
            "Route every lead of the file in arrival order, running the playbook's timers "
            "between arrivals; write each decision with its reasons and where the lead ended."
        ),
    )
    route.add_argument("playbook", type=Path)
    route.add_argument(
        "leads", type=Path, help="the leads: CSV, Excel (.xlsx) or Parquet, as an export"
    )
    route.add_argument("--out", type=Path, required=True, help="where to write decisions (CSV)")
    _reading_flags(route)
    inspect = commands.add_parser(
        "inspect",
        help="show how an export is read, before anything is fitted",
        description=(
            "Read the export as compare would and show it: the CRM profile, which header gave "
            "each field, the stage values and whether each counts as won, lost or open, the "
            "won / lost / open / rejected counts with reasons, dates, reps, segments, and what "
            "the model will assume for each missing field."
        ),
    )
    inspect.add_argument("export", type=Path, help="the CRM export: CSV, Excel (.xlsx) or Parquet")
    _reading_flags(inspect)
    _compare_parser(commands)
    _db_parser(commands)
    return parser


def _discard_stdout() -> None:
    """Point stdout at the null device, so the interpreter's last flush of what the closed
    pipe did not take ends quietly instead of printing an ignored BrokenPipeError."""
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())


def _reading_flags(command: argparse.ArgumentParser) -> None:
    """How to read the file, the same flags on `route`, `compare` and `inspect`, named as
    `load_export`'s keywords: an error's advice (`--tz Asia/Shanghai`) fits every command."""
    command.add_argument(
        "--tz",
        default=None,
        help="time zone of times written without one, e.g. Asia/Shanghai; a local time a "
        "daylight-saving change skips is moved forward, a repeated one read as the first, "
        "and both are listed",
    )
    command.add_argument(
        "--dayfirst", action="store_true", help="read 03-04-2025 as 3 April, not March 4"
    )
    command.add_argument(
        "--encoding",
        default=None,
        help="the file's encoding, e.g. big5 (detected: UTF-8, UTF-16 with BOM, GBK/GB18030)",
    )
    command.add_argument(
        "--columns",
        nargs="+",
        metavar="FIELD=HEADER",
        default=(),
        help="which header holds a field, the field first, e.g. rep_id='Owner Name' (common "
        "English and Chinese headers are recognised without this)",
    )
    command.add_argument(
        "--won",
        nargs="+",
        metavar="STAGE",
        default=(),
        help="stage or status values of yours that mean won, e.g. --won Signed 'Paid in full' "
        "(Closed Won, closedwon, Won, 成交 ... are recognised without this)",
    )
    command.add_argument(
        "--lost",
        nargs="+",
        metavar="STAGE",
        default=(),
        help="stage or status values of yours that mean lost (Closed Lost, Lost, 输单 ... are "
        "recognised); any other stage is an open deal",
    )
    command.add_argument(
        "--as-of",
        dest="as_of",
        default=None,
        metavar="TIME",
        help="when the export was taken, e.g. 2025-03-31 (the end of that day) or "
        "'2025-03-31 18:00+08:00'; open deals are censored then (default: the export's "
        "latest time)",
    )


def _read_export(path: Path, args: argparse.Namespace) -> History:
    """The file at `path` read by `load_export` with the command's reading flags; its messages
    (errors, rejected rows) name those flags."""
    from leadrouter.sim.loader import columns_from_flags, load_export

    return load_export(
        path,
        columns=columns_from_flags(args.columns),
        dayfirst=args.dayfirst,
        encoding=args.encoding,
        tz=args.tz,
        won=args.won,
        lost=args.lost,
        as_of=args.as_of,
        audience="command",
    )


# ---------------------------------------------------------------------------- terminal text


def _width(text: str) -> int:
    """Terminal columns `text` takes: East Asian wide and full-width characters (张伟, Ａ) take
    two, combining marks none, so tables line up whatever script rep ids are written in."""
    return sum(
        0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in "WF" else 1
        for char in text
    )


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` columns, broken only between words; a word wider
    than a line gets a line of its own, whole."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and _width(line) + 1 + _width(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines


def _table(rows: Sequence[Sequence[str]], indent: int, out: TextIO) -> None:
    """Rows as aligned columns; the last column is wrapped at word boundaries to the terminal's
    width (100 when not a terminal), its further lines starting under its first."""
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lead = indent + sum(widths) + len(widths)
    room = max(30, shutil.get_terminal_size((100, 24)).columns - lead)
    for row in rows:
        cells = " ".join(_pad(cell, width) for cell, width in zip(row, widths, strict=False))
        lines = _wrap(row[-1], room) or [""]
        out.write(f"{' ' * indent}{cells} {lines[0]}".rstrip() + "\n")
        for more in lines[1:]:
            out.write(f"{' ' * lead}{more}\n")


# ---------------------------------------------------------------------------- check


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
    rows = []
    for i in range(sample):
        lead = sample_lead(i, START + timedelta(minutes=7 * i), rng)
        decision = router.route(lead, now=lead.arrived_at)
        why = decision.reasons[-1].detail if decision.reasons else ""
        rows.append((lead.id, lead.region, lead.segment, "->", _where(decision), why))
    if rows:
        _table(rows, 4, out)


def _where(decision: Decision) -> str:
    return decision.rep_id if decision.rep_id else f"pool:{decision.pool}"


def _describe_lifecycle(life: Lifecycle) -> str:
    hours = " (working hours only)" if life.working_hours is not None else ""
    return (
        f"first-touch SLA {format_duration(life.first_touch_sla)}{hours}, expiry "
        f"{format_duration(life.expire_after)}, re-route {'on' if life.reroute else 'off'}"
    )


# ---------------------------------------------------------------------------- route


def _listed(rows: pd.DataFrame) -> str:
    """Rows of `History.rejected` or `.flagged`, one line per column and reason (rows sharing
    both are one line: how many, and the first one's action), at most SHOWN_ROWS lines."""
    lines = []
    for (column, reason), group in rows.groupby(["column", "reason"], sort=False):
        first = group.iloc[0]
        action = f": {first['action']}" if "action" in group.columns else ""
        where = (
            f"row {first['row']}"
            if len(group) == 1
            else f"{len(group)} rows ({group['row'].min()} to {group['row'].max()})"
        )
        alike = f" in row {first['row']}, alike in the others" if len(group) > 1 and action else ""
        lines.append(f"{where}, column {column!r}: {reason}{action}{alike}")
    if len(lines) > SHOWN_ROWS:
        lines[SHOWN_ROWS:] = [f"… and {len(lines) - SHOWN_ROWS} more"]
    return "\n  ".join(lines)


def _final(ledger: Ledger, lead_id: str) -> tuple[str, str]:
    """(rep, pool) where the lead is now: the rep it is with, or the pool it waits in."""
    rep = ledger.owner(lead_id)
    return (rep, "") if rep else ("", ledger.pool_of(lead_id) or "")


def _route(args: argparse.Namespace, out: TextIO) -> None:
    """`leadrouter route`: every lead in arrival order, the timers run between arrivals; the
    decisions (with where each lead ended) to `--out`, and a summary of where the leads ended.

    A file with any row that cannot be used routes nothing: routing is acting, and a lead left
    out of a batch would be lost without anyone noticing."""
    history = _read_export(args.leads, args)
    if len(history.rejected):
        rows = history.rejected["row"].nunique()
        raise LeadsFileError(
            f"{args.leads}: {rows} row(s) cannot be used; nothing was routed:\n  "
            + _listed(history.rejected)
        )
    if len(history.flagged):
        print(
            f"{args.leads}: {history.flagged['row'].nunique()} row(s) kept with a value "
            f"adjusted:\n  {_listed(history.flagged)}",
            file=sys.stderr,
        )
    leads = history.leads
    from leadrouter.clock import ManualClock

    router: Router = load_playbook(args.playbook, clock=ManualClock(leads[0].arrived_at))
    decisions = []
    for lead in leads:
        router.tick(lead.arrived_at)
        decisions.append(router.route(lead, now=lead.arrived_at))
    ledger = router.ledger
    ended = {lead.id: _final(ledger, lead.id) for lead in leads}
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", newline="", encoding="utf-8") as handle:
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
                        *ended[lead.id],
                    ]
                )
    except OSError as exc:
        raise ConfigError(
            f"--out {args.out}: cannot write the decisions ({exc.strerror or exc}): give a file "
            "path in a folder you can write to"
        ) from exc
    routed = _plural(len(leads), "lead")
    out.write(f"routed {routed} from {args.leads} with {args.playbook} -> {args.out}\n")
    _summary(decisions, ended, ledger, out)


def _summary(
    decisions: Sequence[Decision],
    ended: Mapping[str, tuple[str, str]],
    ledger: Ledger,
    out: TextIO,
) -> None:
    """Where the leads ended (a rep or a pool), then how that differs from the first
    decisions: the timers' releases, by reason. A first decision is not where a lead is: with a
    first-touch SLA and no touches in the file, every assigned lead is taken back."""
    places = Counter(rep or f"pool:{pool}" for rep, pool in ended.values())
    ranked = sorted(places.items(), key=lambda kv: (-kv[1], kv[0]))
    width = max(_width("where the leads ended"), *(_width(where) for where, _ in ranked))
    digits = max(len("leads"), *(len(str(n)) for _, n in ranked))
    out.write(f"  {_pad('where the leads ended', width)}  {'leads':>{digits}}\n")
    for where, n in ranked:
        out.write(f"  {_pad(where, width)}  {n:>{digits}}\n")
    assigned = sum(d.rep_id is not None for d in decisions)
    releases = Counter(e.reason for e in ledger.events() if isinstance(e, Released))
    line = f"first decisions: {assigned} to a rep, {len(decisions) - assigned} to a pool"
    if releases:
        line += f"; taken back by the timers {sum(releases.values())} times (" + ", ".join(
            f"{why} {n}" for why, n in releases.most_common()
        )
        line += ")"
    if releases.get("sla"):
        line += ": the file records no touches, so no first-touch SLA was met"
    out.write(line + "\n")


# ---------------------------------------------------------------------------- compare

BUILTIN_POLICIES = (
    "equal-rotation",
    "performance-weighted",
    "utilization-weighted",
    "quota-proportional",
    "grab-with-caps",
    "dynamic-caps",
    "profile-matching",
    "tiered-delay",
)
"""`leadrouter.sim.demo.DEMO_POLICIES`, spelled out so that building the parser imports nothing
from the simulator (a test checks the two agree)."""

_GLOB = frozenset("*?[")
_EXPORT_SUFFIXES = frozenset({".csv", ".xlsx", ".parquet", ".pq", ".tsv", ".txt"})


def _compare_parser(commands: Any) -> None:
    """The `compare` sub-command's arguments (nothing heavy is imported here, so `check` and
    `route` stay fast)."""
    compare = commands.add_parser(
        "compare",
        help="compare routing policies on an export (or --demo) and write a report",
        description=(
            "Load an export, fit how the reps behave, check the model against the history "
            "(calibration), simulate every policy on the same leads and random numbers over "
            "several seeds, print the comparison and write an HTML and a Markdown report."
        ),
    )
    compare.add_argument(
        "export", nargs="?", type=Path, help="the CRM export: CSV, Excel (.xlsx) or Parquet"
    )
    compare.add_argument(
        "--demo",
        action="store_true",
        help="compare the eight built-in policies on a synthetic team instead of an export",
    )
    compare.add_argument(
        "--policies",
        nargs="+",
        metavar="POLICY",
        help="playbook files (TOML; a glob pattern works too) and/or built-in policy names: "
        f"{', '.join(BUILTIN_POLICIES)} (default: all eight built-in); a policy's name is its "
        "file name without .toml",
    )
    compare.add_argument(
        "--baseline",
        metavar="NAME",
        help="the policy differences are taken to (default: the built-in equal rotation, "
        "added as 'equal-rotation (built in)' when it is not among the policies)",
    )
    compare.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="replicates per policy, two per parameter draw (20; 12 with --demo)",
    )
    compare.add_argument(
        "--sensitivity-seeds",
        type=int,
        default=2,
        metavar="N",
        help="seeds per scenario for the sensitivity check, which re-runs the comparison "
        "without rep effects, with contact decaying twice as fast and half as fast, and with "
        "every rep's capacity x0.75 and x1.5 (2; 0 skips it)",
    )
    compare.add_argument(
        "--out", type=Path, default=None, help="where to write the report (--demo: demo-report)"
    )
    compare.add_argument("--title", default=None, help="the report's title")
    _reading_flags(compare)
    compare.add_argument(
        "--roster",
        type=Path,
        default=None,
        help="a CSV of reps (id, and any of team, tier, quota, regions, skills, active) "
        "giving the export's reps what quota or tiered policies need",
    )
    # for tests and benchmarks: the demo's size and the worker processes
    compare.add_argument("--processes", type=int, default=None, help=argparse.SUPPRESS)
    compare.add_argument("--demo-leads", type=int, default=None, help=argparse.SUPPRESS)
    compare.add_argument("--demo-reps", type=int, default=None, help=argparse.SUPPRESS)
    compare.add_argument("--demo-days", type=int, default=None, help=argparse.SUPPRESS)


def _need_extras() -> None:
    missing = []
    for module in ("matplotlib", "rich"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise MissingExtraError(
            f"leadrouter compare needs {' and '.join(missing)} (charts, the terminal table and "
            "the progress bar): pip install 'leadrouter[sim]'"
        )


def _compare(args: argparse.Namespace) -> None:
    """`leadrouter compare`: load, fit, calibrate, compare, print, write the report."""
    from leadrouter.sim.demo import DEMO_SEEDS

    if args.demo and args.export is not None:
        raise ConfigError(
            f"compare: give an export or --demo, not both (got {args.export} and --demo)"
        )
    if not args.demo and args.export is None:
        raise ConfigError(
            "compare: give an export file (leadrouter compare export.csv --out report) or "
            "--demo for a synthetic team"
        )
    seeds = args.seeds if args.seeds is not None else (DEMO_SEEDS if args.demo else 20)
    if seeds < 4:
        raise ConfigError(
            f"--seeds {seeds}: intervals need at least 4 seeds (two parameter draws); 20 is usual"
        )
    processes = args.processes or min(2, os.cpu_count() or 1)
    if processes < 1:
        raise ConfigError(f"--processes {processes}: must be at least 1")
    if args.export is not None and not args.export.is_file():
        raise InvalidExportError(
            f"{args.export}: no such file"
            + (" (it is a directory)" if args.export.is_dir() else "")
            + "; give the path of a CSV, Excel (.xlsx) or Parquet export"
        )
    if args.out is None and not args.demo:
        raise ConfigError("compare: --out DIR is needed: where to write the report")
    out: Path = args.out if args.out is not None else Path("demo-report")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a directory; choose another")
    from leadrouter.sim.loader import columns_from_flags

    columns_from_flags(args.columns)  # a wrong --columns fails before the slow imports
    _need_extras()

    from rich.console import Console

    # a pipe or a file gets 140 columns (rich would use 80) unless COLUMNS says otherwise
    wide = sys.stdout.isatty() or "COLUMNS" in os.environ
    console = Console(highlight=False, width=None if wide else 140)
    status = Console(stderr=True, highlight=False, soft_wrap=True)

    history = _demo_history(args, out, status) if args.demo else _read_export(args.export, args)
    if args.roster is not None:
        history = _with_roster(history, args.roster, status)
    policies, notes = _resolve_policies(args.policies, history)
    if args.baseline is not None and args.baseline not in policies:
        raise UnknownPolicyError(
            f"--baseline {args.baseline!r} is not one of the policies: {', '.join(policies)}; "
            "give one of these names (a built-in policy is named by adding it to --policies), "
            "or leave --baseline out to compare against the built-in equal rotation"
        )
    from leadrouter.sim.analysis import choose_baseline

    policies, args.baseline = choose_baseline(policies, args.baseline)
    _run_comparison(args, history, policies, notes, seeds, processes, out, console, status)


def _demo_history(args: argparse.Namespace, out: Path, status: Console) -> History:
    """The demo walks the user's path: a synthetic history written as an export, read back."""
    from leadrouter.sim.demo import DEMO_DAYS, DEMO_LEADS, DEMO_REPS, demo_history
    from leadrouter.sim.loader import load_export

    leads = args.demo_leads or DEMO_LEADS
    reps = args.demo_reps or DEMO_REPS
    days = args.demo_days or DEMO_DAYS
    with status.status(f"generating a synthetic team: {leads} leads, {reps} reps, {days} days"):
        synthetic = demo_history(n_leads=leads, n_reps=reps, days=days)
        out.mkdir(parents=True, exist_ok=True)
        path = synthetic.to_csv(out / "demo-export.csv")
    status.print(f"wrote the synthetic history as an export: {path}")
    return load_export(path, audience="command")


def _with_roster(history: History, path: Path, status: Console) -> History:
    """The history with its reps replaced by the roster file's rows of the same id."""
    from leadrouter.playbooks import _Reader

    if not path.is_file():
        raise ConfigError(f"--roster {path}: no such file; give a CSV with an id column")
    given = {rep.id: rep for rep in _Reader(path).roster_file(path.name, "--roster")}
    reps = [given.get(rep.id, rep) for rep in history.roster]
    matched = sum(rep.id in given for rep in history.roster)
    if not matched:
        raise ConfigError(
            f"--roster {path}: none of its {len(given)} rep ids is a rep of the export "
            f"({', '.join(rep.id for rep in history.roster[:6])} ...): use the export's ids"
        )
    unknown = sorted(set(given) - {rep.id for rep in history.roster})
    status.print(
        f"roster {path}: {matched} of the export's {len(reps)} reps given"
        + (f"; not in the export, ignored: {', '.join(unknown)}" if unknown else "")
    )
    return history.with_roster(reps)


def _resolve_policies(
    entries: Sequence[str] | None, history: History
) -> tuple[dict[str, Policy], dict[str, str]]:
    """`--policies` entries as {name: policy} and {name: note}: built-in names, playbook paths
    and glob patterns, in the order given; a name is a playbook's file stem."""
    import glob

    from leadrouter.sim.demo import DEMO_POLICIES, demo_notes, demo_policies

    wanted = list(entries) if entries else list(DEMO_POLICIES)
    builtin = demo_policies(history)
    builtin_notes = demo_notes(history)
    policies: dict[str, Policy] = {}
    notes: dict[str, str] = {}
    origins: dict[str, str] = {}

    def add(name: str, policy: Policy, note: str, origin: str) -> None:
        if name in policies:
            if origins[name] == origin:
                return
            raise ConfigError(
                f"--policies: two policies are named {name!r} ({origins[name]} and {origin}); "
                "a policy's name is its file name without .toml: rename one"
            )
        policies[name], notes[name], origins[name] = policy, note, origin

    for entry in wanted:
        if entry in builtin:
            add(entry, builtin[entry], builtin_notes[entry], f"built-in {entry}")
            continue
        if _GLOB & set(entry):
            matches = sorted(glob.glob(entry))
            if not matches:
                raise UnknownPolicyError(f"--policies {entry!r}: the pattern matches no file")
            paths = [Path(match) for match in matches]
        else:
            paths = [Path(entry)]
        for path in paths:
            name, policy, note = _playbook_policy(path, entry, DEMO_POLICIES)
            add(name, policy, note, str(path.resolve()))
    return policies, notes


def _playbook_policy(path: Path, entry: str, builtin: Sequence[str]) -> tuple[str, Policy, str]:
    import difflib

    from leadrouter.playbooks import read_playbook

    if path.is_dir():
        raise UnknownPolicyError(
            f"--policies {entry!r}: {path} is a directory; give playbook files, e.g. {path}/*.toml"
        )
    if not path.is_file():
        close = difflib.get_close_matches(entry, builtin, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownPolicyError(
            f"--policies {entry!r}: no such playbook file and no built-in policy of that name."
            f"{hint} Built-in policies: {', '.join(builtin)}"
        )
    if path.suffix.lower() in _EXPORT_SUFFIXES:
        raise UnknownPolicyError(
            f"--policies {entry!r}: {path} looks like an export, not a playbook; put the export "
            "first: leadrouter compare EXPORT --policies PLAYBOOK.toml ..."
        )
    settings = read_playbook(path)
    strategy = settings["strategy"]
    note = (
        f"playbook {path} ({type(strategy).__name__}); its rules, caps and timers over the "
        "history's reps (the playbook's own roster is replaced)"
    )
    return path.stem, path, note


@contextlib.contextmanager
def _progress(status: Console, label: str, what: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on `status` for work that reports `progress(done, total)`; no refresh
    thread, because compare forks worker processes."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(f"runs ({what})"),
        TimeElapsedColumn(),
        console=status,
        auto_refresh=False,
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)
            bar.refresh()

        yield advance


def _plural(n: int, word: str) -> str:
    return (
        f"{n} {word}" if n == 1 else f"{n} {word[:-1]}ies" if word.endswith("y") else f"{n} {word}s"
    )


class _Screen:
    """What `leadrouter compare` shows while `analyse` works: a spinner while the model is fitted
    and checked, a progress bar per simulation stage, and the results.

    The output opens with the bottom line (`leadrouter.sim.preflight.bottom_line`) and the
    warnings, which need the comparison: the calibration panel, the skipped policies and the
    comparison are held until then (`HELD`; the status line says each verdict as it comes),
    and shown after it. Whatever was held is shown even when `analyse` stops with an error."""

    HELD = ("calibration", "skipped", "comparison")

    def __init__(self, console: Console, status: Console, what: Mapping[str, str]) -> None:
        self.console, self.status, self.what = console, status, what
        self.stack = contextlib.ExitStack()
        self.spinner: Any = None
        self.stage = ""
        self.bar: Callable[[int, int], None] | None = None
        self.held: list[tuple[str, Any]] = []
        self.opened = False

    def __enter__(self) -> _Screen:
        self.spinner = self.stack.enter_context(self.status.status("fitting the behaviour model"))
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()
        self._release()

    def _release(self) -> None:
        """Show what was held, in the order it came."""
        self.opened = True
        held, self.held = self.held, []
        for name, value in held:
            self.on_stage(name, value)

    def _open(self, warnings: Sequence[Any]) -> None:
        """The bottom line and the warnings, then what was held."""
        from rich.panel import Panel
        from rich.text import Text

        from leadrouter.sim.preflight import bottom_line

        comparison = next(value for name, value in self.held if name == "comparison")
        self.stack.close()
        self.console.print(Panel(Text(bottom_line(comparison, warnings)), title="Bottom line"))
        for warning in warnings:
            self.console.print("[bold yellow]warning[/] ", end="")
            self.console.print(str(warning), markup=False)
        self._release()

    def progress(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.stack.close()
            self.stage = stage
            self.bar = self.stack.enter_context(_progress(self.status, stage, self.what[stage]))
        assert self.bar is not None
        self.bar(done, total)

    def on_stage(self, name: str, value: Any) -> None:
        from leadrouter.sim.report import (
            calibration_panel,
            caveats,
            comparison_tables,
            sensitivity_line,
        )

        console = self.console
        if name in self.HELD and not self.opened:
            self.held.append((name, value))
            if name == "calibration":
                self.status.print(f"calibration: {value.verdict} (shown with the results)")
                self.spinner.update("checking the policies")
            return
        if name == "checks":
            self.status.print(
                f"checked the policies' timers before simulating: {_plural(len(value), 'warning')}"
                + (" (shown with the results)" if value else "")
            )
        elif name == "warnings":
            self._open(value)
        elif name == "model":
            self.status.print(
                f"fitted the behaviour model: {len(value.gaps)} gaps (see the report)"
            )
            self.spinner.update("checking calibration: replaying the history")
        elif name == "calibration":
            self.stack.close()
            console.print(calibration_panel(value))
        elif name == "skipped":
            for policy, why in value.items():
                console.print(
                    f"[bold yellow]skipped {policy}:[/] cannot run on this history: ", end=""
                )
                console.print(why, markup=False)
        elif name == "comparison":
            self.stack.close()
            for table in comparison_tables(value):
                console.print(table)
            for line in caveats(value):
                console.print(f"  - {line}", markup=False, style="dim")
        elif name == "sensitivity":
            self.stack.close()
            console.print(sensitivity_line(value), markup=False)


def _run_comparison(
    args: argparse.Namespace,
    history: History,
    policies: dict[str, Policy],
    notes: dict[str, str],
    seeds: int,
    processes: int,
    out: Path,
    console: Console,
    status: Console,
) -> None:
    from leadrouter.sim.analysis import analyse
    from leadrouter.sim.compare import SCENARIOS

    runs = _plural(len(policies), "policy")
    what = {
        "simulating": f"{runs} x {seeds} seeds",
        "sensitivity": f"{len(SCENARIOS)} scenarios x {runs} x {args.sensitivity_seeds} seeds",
    }
    with _Screen(console, status, what) as screen:
        analysis = analyse(
            history,
            policies,
            seeds=seeds,
            baseline=args.baseline,
            processes=processes,
            sensitivity_seeds=args.sensitivity_seeds,
            notes=notes,
            remedy="give the reps what it needs with --roster FILE, or leave it out",
            on_stage=screen.on_stage,
            progress=screen.progress,
        )

    title = args.title or (
        "Demo: eight routing policies compared on a synthetic team"
        if args.demo
        else f"Routing policies compared on {Path(history.origin).name}"
    )
    with status.status("writing the report (charts, sources, anomalies)"):
        paths = analysis.write_report(out, title=title)
    console.print(f"\nReport: {paths.html}")
    console.print(f"        {paths.markdown} (charts beside it)", markup=False)


# ---------------------------------------------------------------------- db


def _db_parser(commands: Any) -> None:
    """`leadrouter db upgrade URL`: create or migrate the schema of a SQL ledger database."""
    db = commands.add_parser("db", help="create or migrate a SQL ledger database")
    actions = db.add_subparsers(dest="db_command", required=True)
    upgrade = actions.add_parser(
        "upgrade",
        help="create the ledger tables, or migrate them to this leadrouter's schema",
        description=(
            "Create the ledger tables in an empty database, or migrate older ones to this "
            "leadrouter's schema, in one transaction (workers upgrading at once do it once). "
            "URL: sqlite:///path/to/file.db or postgresql://user:password@host/dbname."
        ),
    )
    upgrade.add_argument("url", help="the database, as Ledger.open takes it")


def _db(args: argparse.Namespace, out: TextIO) -> None:
    try:
        from leadrouter.stores.sql import SqlStore, public_url
    except ImportError as exc:
        raise MissingExtraError(
            f"leadrouter db needs SQLAlchemy and psycopg ({exc}): pip install 'leadrouter[db]'"
        ) from exc
    store = SqlStore(args.url, "default")
    try:
        before, now = store.upgrade()
    finally:
        store.dispose()
    where = public_url(store.url)
    if before == now:
        out.write(f"{where}: already at schema version {now}\n")
    elif before is None:
        out.write(f"{where}: created the ledger schema, version {now}\n")
    else:
        out.write(f"{where}: migrated the ledger schema from version {before} to {now}\n")
