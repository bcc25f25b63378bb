"""The `leadrouter` command (also `python -m leadrouter`).

    leadrouter check PLAYBOOK...                      validate playbooks, show what they would do
    leadrouter route PLAYBOOK LEADS.csv --out F.csv   route a file of leads, with reasons
    leadrouter compare EXPORT --policies strategies/*.toml --seeds 20 --out DIR
                                                      compare policies on an export, write a report
    leadrouter compare --demo --out DIR               the same on a synthetic team, all 8 strategies

Exit codes: 0 success, 2 bad input (a playbook, leads file, export or policy that cannot be used;
the message names the file, row or key and how to fix it), 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from leadrouter._util import format_duration
from leadrouter.errors import (
    ConfigError,
    InvalidExportError,
    LeadRouterError,
)
from leadrouter.lifecycle import Lifecycle
from leadrouter.model import Decision, Lead
from leadrouter.playbooks import load_playbook, read_playbook
from leadrouter.router import Router

if TYPE_CHECKING:
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


class LeadsFileError(LeadRouterError, ValueError):
    """A leads file with rows that cannot be used; lists each row, column and problem."""


class UnknownPolicyError(LeadRouterError, LookupError):
    """A `--policies` entry that is neither a playbook file, a pattern matching playbook files,
    nor the name of a built-in policy; the message lists the built-in names."""


class MissingExtraError(LeadRouterError, ImportError):
    """A command needs an optional dependency that is not installed; names the extra to
    install."""


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
    _compare_parser(commands)
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            for path in args.playbooks:
                _check(path, args.sample, sys.stdout)
        elif args.command == "route":
            _route(args.playbook, args.leads, args.out, args.tz, sys.stdout)
        else:
            _compare(args)
    except LeadRouterError as exc:
        print(f"leadrouter: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("leadrouter: interrupted", file=sys.stderr)
        return 130
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
        "--baseline", metavar="NAME", help="the policy differences are taken to (the first)"
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
    compare.add_argument("--tz", default=None, help="time zone of export times written without one")
    compare.add_argument(
        "--dayfirst", action="store_true", help="read 03-04-2025 as 3 April, not March 4"
    )
    compare.add_argument("--encoding", default=None, help="the export's encoding (detected)")
    compare.add_argument(
        "--columns",
        nargs="+",
        metavar="FIELD=HEADER",
        default=(),
        help="which export header holds a field, e.g. rep_id='Owner Name' (common English "
        "and Chinese headers are recognised without this)",
    )
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


def _column_map(pairs: Sequence[str]) -> dict[str, str]:
    """`--columns field=header ...` as load_export's {header: field}."""
    from leadrouter.sim.history import COLUMNS

    found: dict[str, str] = {}
    for pair in pairs:
        field, sep, header = pair.partition("=")
        field, header = field.strip(), header.strip()
        if not sep or not field or not header:
            raise ConfigError(f"--columns {pair!r}: write FIELD=HEADER, e.g. rep_id='Owner Name'")
        if field not in COLUMNS:
            raise ConfigError(
                f"--columns {pair!r}: {field!r} is not a field; fields: {', '.join(COLUMNS)}"
            )
        found[header] = field
    return found


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
    columns = _column_map(args.columns)
    _need_extras()

    from rich.console import Console

    # a pipe or a file gets 140 columns (rich would use 80) unless COLUMNS says otherwise
    wide = sys.stdout.isatty() or "COLUMNS" in os.environ
    console = Console(highlight=False, width=None if wide else 140)
    status = Console(stderr=True, highlight=False)

    if args.demo:
        history = _demo_history(args, out, status)
    else:
        from leadrouter.sim.loader import load_export

        history = load_export(
            args.export, columns=columns, dayfirst=args.dayfirst, encoding=args.encoding, tz=args.tz
        )
    if args.roster is not None:
        history = _with_roster(history, args.roster, status)
    policies, notes = _resolve_policies(args.policies, history)
    if args.baseline is not None and args.baseline not in policies:
        raise UnknownPolicyError(
            f"--baseline {args.baseline!r} is not one of the policies: {', '.join(policies)}"
        )
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
    return load_export(path)


def _with_roster(history: History, path: Path, status: Console) -> History:
    """The history with its reps replaced by the roster file's rows of the same id."""
    from leadrouter.playbooks import _Reader
    from leadrouter.sim.history import History as HistoryType

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
    return HistoryType(
        history.to_frame(),
        rejected=history.rejected,
        flagged=history.flagged,
        tz=history.tz,
        roster=reps,
        truth=history.truth,
        columns=history.columns,
        origin=history.origin,
    )


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
    and checked, a progress bar per simulation stage, and each result as soon as it is known."""

    def __init__(self, console: Console, status: Console, what: Mapping[str, str]) -> None:
        self.console, self.status, self.what = console, status, what
        self.stack = contextlib.ExitStack()
        self.spinner: Any = None
        self.stage = ""
        self.bar: Callable[[int, int], None] | None = None

    def __enter__(self) -> _Screen:
        self.spinner = self.stack.enter_context(self.status.status("fitting the behaviour model"))
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()

    def progress(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.stack.close()
            self.stage = stage
            self.bar = self.stack.enter_context(_progress(self.status, stage, self.what[stage]))
        assert self.bar is not None
        self.bar(done, total)

    def on_stage(self, name: str, value: Any) -> None:
        from leadrouter.sim.report import calibration_panel, comparison_tables, sensitivity_line

        console = self.console
        if name == "model":
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
            for line in value.caveats():
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
