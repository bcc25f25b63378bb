"""The `leadrouter` command (also `python -m leadrouter`).

    leadrouter check PLAYBOOK...                      validate playbooks, show what they would do
    leadrouter inspect EXPORT                         show how an export is read, before a fit
    leadrouter route PLAYBOOK LEADS --out F.csv       route a file of leads, with reasons
    leadrouter handover PLAYBOOK LEADS --rep R --out F.csv
                                                      hand a departing rep's open leads to others
    leadrouter compare EXPORT --policies strategies/*.toml --seeds 20 --out DIR
                                                      compare policies on an export, write a report
    leadrouter compare --demo --out DIR               the same on a synthetic team, all 8 strategies
    leadrouter evaluate EXPORT --policies ...         estimate policies from logged propensities
    leadrouter db upgrade URL                         create or migrate a SQL ledger's tables

`route`, `handover`, `inspect`, `compare` and `evaluate` read their file with the same reader as
`leadrouter.sim.load_export` (CSV in any common encoding, Excel, Parquet; English, Chinese,
French, German and Spanish headers; CRM export profiles) and take the same reading flags
(`--tz`, `--dayfirst`, `--encoding`, `--columns`, `--won`, `--lost`, `--as-of`); an error names
the flag that fixes it.

Exit codes: 0 success, 2 bad input (a playbook, leads file, export or policy that cannot be used;
the message names the file, row or key and the flag that fixes it), 130 interrupted, 141 when
the reader of the output went away (`leadrouter check ... | head`), without a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

import leadrouter
from leadrouter._cli_compare import BUILTIN_POLICIES, compare, compare_parser
from leadrouter._cli_evaluate import evaluate, evaluate_parser
from leadrouter._cli_handover import handover, handover_parser
from leadrouter._cli_playbook import fields_read, playbook_warnings, table
from leadrouter._cli_reading import (
    count,
    read_export,
    reading_flags,
    working,
)
from leadrouter._cli_route import route, route_parser
from leadrouter._util import format_duration, plural
from leadrouter.errors import ConfigError, LeadRouterError, MissingExtraError
from leadrouter.lifecycle import Lifecycle
from leadrouter.model import Decision
from leadrouter.playbooks import read_playbook
from leadrouter.router import Router
from leadrouter.rules import Schedule
from leadrouter.rules._base import LEAD_ATTRS

__all__ = ["BUILTIN_POLICIES", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Bad input is one `leadrouter: error:` line on stderr (exit 2), never a traceback. When the
    reader of the output goes away (`leadrouter check ... | head -3`) the command stops
    quietly with 141, as a shell reports a program ended by SIGPIPE."""
    try:
        args = _parser().parse_args(argv)
        if args.command == "check":
            return _check_all(args.playbooks, args.sample)
        elif args.command == "route":
            route(args, sys.stdout)
        elif args.command == "handover":
            handover(args, sys.stdout)
        elif args.command == "inspect":
            with working(f"reading {args.export.name}"):
                history = read_export(args.export, args)
            sys.stdout.write(history.inspect() + "\n")
        elif args.command == "db":
            _db(args, sys.stdout)
        elif args.command == "evaluate":
            evaluate(args, sys.stdout)
        else:
            compare(args)
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
    check = commands.add_parser(
        "check",
        help="validate playbooks and show what they would do",
        description=(
            "Load each playbook, print its strategy, rules, caps, timers and roster, and route "
            "deterministic sample leads with it; a playbook that cannot load is an error naming "
            "every problem, and one that loads but likely does not do what was meant ends with "
            "warning: lines."
        ),
    )
    check.add_argument("playbooks", nargs="+", type=Path, help="the playbooks (TOML) to check")
    check.add_argument(
        "--sample", type=count, default=12, help="how many sample leads to route (12)"
    )
    route_parser(commands)
    handover_parser(commands)
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
    reading_flags(inspect)
    compare_parser(commands)
    evaluate_parser(commands)
    _db_parser(commands)
    return parser


def _discard_stdout() -> None:
    """Point stdout at the null device, so the interpreter's last flush of what the closed
    pipe did not take ends quietly instead of printing an ignored BrokenPipeError."""
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())


# ---------------------------------------------------------------------------- check


def _check_all(paths: Sequence[Path], sample: int) -> int:
    """Check every playbook given, a bad one not stopping the others (`check strategies/*.toml`
    shows every broken file in one run); 2 when any failed."""
    failed = 0
    for path in paths:
        try:
            _check(path, sample, sys.stdout)
        except LeadRouterError as exc:
            sys.stdout.flush()
            print(f"leadrouter: error: {exc}", file=sys.stderr)
            failed += 1
    if failed and len(paths) > 1:
        print(f"leadrouter: {failed} of {len(paths)} playbooks failed", file=sys.stderr)
    sys.stdout.flush()
    return 2 if failed else 0


def _check(path: Path, sample: int, out: TextIO) -> None:
    """Print a playbook's settings, then route deterministic sample leads with it."""
    from leadrouter.testing._scenarios import REGIONS
    from leadrouter.testing.checks import START, sample_lead

    notes: list[str] = []
    settings = read_playbook(path, notes=notes)
    reps = settings["reps"]
    teams = Counter(rep.team or "(no team)" for rep in reps)
    import random

    from leadrouter.clock import ManualClock

    router = Router(**settings, clock=ManualClock(START))  # the playbook as read above, once
    rng = random.Random(0)
    rows = []
    # the team's own regions when it names others (华北, 华东): the built-in north, south, east
    # would wait with every rep of such a team, a false alarm
    named = sorted(set().union(*(rep.regions for rep in reps)))
    regions = named if named and not set(named) <= set(REGIONS) else REGIONS
    for i in range(sample):  # before saying OK: a playbook that cannot route is not OK
        lead = sample_lead(i, START + timedelta(minutes=7 * i), rng, regions=regions)
        try:
            decision = router.route(lead, now=lead.arrived_at)
        except LeadRouterError as exc:
            raise ConfigError(
                f"{path}: the playbook loads, but routing sample lead {lead.id} fails: {exc}"
            ) from exc
        if decision.rep_id is None:  # every reason: the exclusions say why the lead waits
            why = "; ".join(map(str, decision.reasons))
        else:
            why = decision.reasons[-1].detail if decision.reasons else ""
        rows.append((lead.id, lead.region, lead.segment, "->", _where(decision), why))
    out.write(f"{path}: OK\n")
    for note in notes:  # a file read as GB18030: said, as saving it as UTF-8 is safer
        out.write(f"  note     : {note}\n")
    out.write(f"  strategy : {settings['strategy']!r}\n")
    out.write(f"  rules    : {', '.join(map(repr, settings['rules'])) or 'none'}\n")
    out.write(f"  caps     : {', '.join(map(repr, settings['caps'])) or 'none'}\n")
    out.write(f"  lifecycle: {_describe_lifecycle(settings['lifecycle'])}\n")
    out.write(
        f"  roster   : {plural(len(reps), 'rep')} ({sum(r.active for r in reps)} active); teams "
        + ", ".join(f"{team}={n}" for team, n in sorted(teams.items()))
        + "\n"
    )
    out.write(f"  what it would do with {sample} sample leads:\n")
    if rows:
        table(rows, 4, out)
    for warning in (*playbook_warnings(settings), *_check_warnings(settings, rows, router)):
        out.write(f"  warning: {warning}\n")


def _check_warnings(
    settings: dict[str, Any], rows: Sequence[tuple[str, ...]], router: Router
) -> Iterator[str]:
    """What loads but will likely not do what was meant: no sample lead reaching a rep (a push
    strategy's leads all waiting: caps of 0, every rep inactive, a rule no lead passes), and reps
    a TieredDelay offers nothing to (their tier is in no Tier)."""
    from leadrouter.strategies.tiered_delay import TieredDelay

    strategy = settings["strategy"]
    if rows and not strategy.tags.pull and all(row[4].startswith("pool:") for row in rows):
        yield (
            f"none of the {len(rows)} sample leads went to a rep; the first waits because: "
            f"{rows[0][5]}"
        )
    for what, field in fields_read(settings):
        if field not in LEAD_ATTRS:
            near = difflib.get_close_matches(field, sorted(LEAD_ATTRS), 1, 0.75)
            if near:
                yield (
                    f"{what} reads {field!r}, which is no Lead field (did you mean {near[0]!r}?): "
                    "it is read from each lead's features, and a lead without it passes"
                )
    if isinstance(strategy, TieredDelay):
        tiers = {tier.tier for tier in strategy.tiers}
        outside = [f"{rep.id} (tier {rep.tier})" for rep in router.reps if rep.tier not in tiers]
        if outside:
            yield (
                f"{', '.join(outside)} in no tier of TieredDelay: they get leads only by "
                "claiming them from the public pool after the last tier"
            )


def _where(decision: Decision) -> str:
    return decision.rep_id if decision.rep_id else f"pool:{decision.pool}"


def _hours(working: Schedule) -> str:
    """The working hours the timers count, in words: one shift for everyone, or how many reps
    have their own (with the default for the rest)."""
    default = "always on" if working.default is None else working.default.describe()
    if not working.shifts:
        return default
    return f"{plural(len(working.shifts), 'rep')} on their own shifts, the others {default}"


def _describe_lifecycle(life: Lifecycle) -> str:
    hours = "" if life.working_hours is None else f" (working hours {_hours(life.working_hours)})"
    return (
        f"first-touch SLA {format_duration(life.first_touch_sla)}{hours}, expiry "
        f"{format_duration(life.expire_after)}, re-route {'on' if life.reroute else 'off'}"
        + (
            f" (at most {life.max_reroutes} times a lead)"
            if life.reroute and life.max_reroutes is not None
            else ""
        )
    )


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
