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
import difflib
import json
import os
import re
import shutil
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

import attrs

import leadrouter
from leadrouter._cli_compare import BUILTIN_POLICIES, compare, compare_parser
from leadrouter._cli_evaluate import evaluate, evaluate_parser
from leadrouter._cli_reading import (
    cannot_write,
    count,
    output_folder,
    read_export,
    reading_flags,
    working,
)
from leadrouter._util import format_duration, plural
from leadrouter.errors import ConfigError, LeadRouterError, LeadsFileError, MissingExtraError
from leadrouter.events import Released
from leadrouter.ledger import Ledger
from leadrouter.lifecycle import Lifecycle
from leadrouter.model import Decision, Lead
from leadrouter.playbooks import read_playbook
from leadrouter.router import Router
from leadrouter.rules import Reserve, Schedule, lead_value

__all__ = ["BUILTIN_POLICIES", "main"]

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
            _route(args, sys.stdout)
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
    check = commands.add_parser("check", help="validate playbooks and show what they would do")
    check.add_argument("playbooks", nargs="+", type=Path, help="the playbooks (TOML) to check")
    check.add_argument("--sample", type=count, default=12, help="sample leads to route (12)")
    route = commands.add_parser(
        "route",
        help="route a file of leads (CSV, Excel or Parquet) with a playbook",
        description=(
            "Route every lead of the file in arrival order, running the playbook's timers "
            "between arrivals; write each decision with its reasons and where the lead ended."
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
    reading_flags(route)
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
        _table(rows, 4, out)
    for warning in (*_playbook_warnings(settings), *_check_warnings(settings, rows, router)):
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
    for what, field in _fields_read(settings):
        if field not in _LEAD_FIELDS:
            near = difflib.get_close_matches(field, sorted(_LEAD_FIELDS), 1, 0.75)
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


_SEPARATOR = re.compile(r"[/|]|^\s|\s$|(?=.*[\u3000-\u9fff])\s")
"""A region or skill name that is likely several, or carries a stray space: "华东/华南",
"华北 华东" (a space between Chinese names; "New York" is one name), "华南 "."""


def _playbook_warnings(settings: Mapping[str, Any], leads_tz: str | None = None) -> Iterator[str]:
    """What a playbook says that is likely not what was meant, seen without any lead: an
    `Etc/GMT+N` zone (its sign is inverted: Etc/GMT+8 is UTC-8, not Beijing); times read
    in UTC beside times in another zone (a table without `tz` is UTC; with `leads_tz`, the zone
    the leads are read in, the comparison is with it); a rep's own shift without the default's
    days off (it replaces the default, holidays included); schedule and working hours with
    different days off (the SLA runs on days the reps are off); a `reserve` rule that leaves
    the leads it reserves no active rep; a region or skill name that is likely several
    ("华东/华南") or carries a space."""
    schedules: list[tuple[str, Schedule]] = [
        ("schedule", rule) for rule in settings["rules"] if isinstance(rule, Schedule)
    ]
    life = settings.get("lifecycle")
    if life is not None and life.working_hours is not None:
        schedules.append(("[lifecycle] working_hours", life.working_hours))
    zoned: list[tuple[str, str]] = []
    for where, table in schedules:
        if table.default is not None:
            zoned.append((f"{where}'s default", table.default.tz))
        zoned += [(f"{where}'s shift of {rep}", shift.tz) for rep, shift in table.shifts.items()]
    for part in (settings["strategy"], *(settings.get("caps") or ())):
        # a day in its zone: the caps' daily limit, the weighted strategies' day of targets
        if isinstance(getattr(part, "tz", None), str) and getattr(part, "daily", 0) is not None:
            zoned.append((type(part).__name__, part.tz))
    elsewhere = sorted({tz for _, tz in zoned if tz != "UTC"})
    in_utc = [what for what, tz in zoned if tz == "UTC"]
    local = leads_tz if leads_tz not in (None, "UTC") else None
    if in_utc and (local or elsewhere):
        said = f"the leads are read in {local}" if local else f"{', '.join(elsewhere)} elsewhere"
        yield (
            f"{', '.join(in_utc[:4])}{' ...' if len(in_utc) > 4 else ''} in UTC, but {said}: "
            f'a table without tz is UTC; write tz = "{local or elsewhere[0]}" in it'
        )
    for where, table in schedules:
        holidays = table.default.days_off if table.default is not None else frozenset()
        short = [rep for rep, shift in table.shifts.items() if not holidays <= shift.days_off]
        if short:
            first = min(holidays - table.shifts[short[0]].days_off)
            yield (
                f"{where}: the shift of {', '.join(short[:4])} leaves out days off of the "
                f"default ({first.isoformat()} ...): a rep's own shift replaces the default, "
                "holidays included; list them in that shift too"
            )
    if len(schedules) > 1 and all(table.default is not None for _, table in schedules):
        days = [table.default.days_off for _, table in schedules if table.default is not None]
        if days[0] != days[-1]:
            yield (
                "schedule and [lifecycle] working_hours have different days off (in one only: "
                f"{min(days[0] ^ days[-1]).isoformat()} ...): the first-touch SLA runs on days "
                "the reps are off, or stops on days they work; write the same days in both"
            )
    hours = None if life is None else life.working_hours
    tables: list[tuple[str, object]] = [
        ("strategy", settings["strategy"]),
        *((f"caps[{i}]", cap) for i, cap in enumerate(settings.get("caps") or ())),
        *((f"rules[{i}]", rule) for i, rule in enumerate(settings["rules"])),
        # a playbook writes working hours as one shift table
        ("lifecycle.working_hours", hours.default if hours and not hours.shifts else hours),
    ]
    zones = [found for where, table in tables for found in _zones_in(table, where)]
    if leads_tz:
        zones.append(("--tz", leads_tz))
    for where, tz in zones:
        inverted = _posix_sign(tz)
        if inverted:
            yield f"{where}: {inverted}"
    for rule in settings["rules"]:
        if isinstance(rule, Reserve) and not any(
            rep.active and rule.picks(rep) for rep in settings["reps"]
        ):
            picked = [rep.id for rep in settings["reps"] if rule.picks(rep)]
            why = (
                f"{', '.join(picked)} {'is' if len(picked) == 1 else 'are'} inactive"
                if picked
                else f"no rep on the roster matches: {rule.who()}"
            )
            yield (
                f"{rule!r} leaves the leads whose {rule.condition()} no active rep ({why}): "
                "they would wait in the pool for a claim"
            )
    for rep in settings["reps"]:
        for kind, names in (("region", rep.regions), ("skill", rep.skills)):
            for name in sorted(names):
                if _SEPARATOR.search(name):
                    parts = [part for part in re.split(r"[/|\s]+", name) if part]
                    toml = "[" + ", ".join(json.dumps(p, ensure_ascii=False) for p in parts) + "]"
                    yield (
                        f"rep {rep.id}'s {kind} {json.dumps(name, ensure_ascii=False)} is one "
                        f"{kind} of that name: write {kind}s = {toml} for "
                        + (f"{len(parts)} {kind}s" if len(parts) > 1 else "one without the space")
                    )


def _zones_in(value: object, where: str, depth: int = 0) -> Iterator[tuple[str, str]]:
    """(key path, zone) of every `tz` setting in a playbook's built objects: strategies (and
    those nested in them), caps, shifts of rules and working hours."""
    if depth > 6 or isinstance(value, str):
        return
    kind: Any = type(value)
    if attrs.has(kind):
        for field in attrs.fields(kind):
            if not field.init:
                continue
            item = getattr(value, field.name, None)
            if field.name == "tz" and isinstance(item, str):
                yield where, item
            else:
                yield from _zones_in(item, f"{where}.{field.alias}", depth + 1)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            bare = re.fullmatch(r"[A-Za-z0-9_-]+", str(key))
            step = str(key) if bare else json.dumps(str(key), ensure_ascii=False)
            yield from _zones_in(item, f"{where}.{step}", depth + 1)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _zones_in(item, f"{where}[{i}]", depth + 1)


_ETC_GMT = re.compile(r"(?:Etc/)?GMT([+-])(\d{1,2})")


def _posix_sign(tz: str) -> str | None:
    """What an Etc/GMT+N zone really is, in words: its sign is POSIX's, the inverse of the usual
    one, so "Etc/GMT+8" written for Beijing is UTC-8, 16 hours off; None for any other zone."""
    found = _ETC_GMT.fullmatch(tz)
    if found is None or int(found.group(2)) == 0:
        return None
    hours = int(found.group(2)) * (-1 if found.group(1) == "+" else 1)
    said = (
        f'tz = "{tz}" is UTC{hours:+d}, not UTC{-hours:+d}: the Etc/GMT zones carry the POSIX '
        f"sign, the inverse of the usual one ({abs(hours)} hours "
        f"{'ahead of' if hours > 0 else 'behind'} UTC)"
    )
    if hours == 8:
        return f'{said}; that is Beijing time, which tz = "Asia/Shanghai" says plainly'
    return f'{said}; for Beijing time (UTC+8) write tz = "Asia/Shanghai"'


def _where(decision: Decision) -> str:
    return decision.rep_id if decision.rep_id else f"pool:{decision.pool}"


def _hours(working: Schedule) -> str:
    """The working hours the timers count, in words: one shift for everyone, or how many reps
    have their own (with the default for the rest)."""
    default = "always on" if working.default is None else working.default.describe()
    if not working.shifts:
        return default
    return f"{plural(len(working.shifts), 'rep')} on their own shifts, the others {default}"


_LEAD_FIELDS = frozenset(field.name for field in attrs.fields(Lead))


def _fields_read(settings: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(who reads it, field) for each lead field a playbook's rules and strategy read by name
    (region, skill, pool_by): a name no lead has turns the rule off without a word."""
    for rule in settings["rules"]:
        field = getattr(rule, "field", None)
        if isinstance(field, str):
            yield repr(rule), field
    pool_by = getattr(settings["strategy"], "pool_by", None)
    if isinstance(pool_by, str):
        yield f"{settings['strategy'].name}'s pool_by", pool_by


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


# ---------------------------------------------------------------------------- route


def _final(ledger: Ledger, lead_id: str) -> tuple[str, str]:
    """(rep, pool) where the lead is now: the rep it is with, or the pool it waits in."""
    rep = ledger.owner(lead_id)
    return (rep, "") if rep else ("", ledger.pool_of(lead_id) or "")


def _route(args: argparse.Namespace, out: TextIO) -> None:
    """`leadrouter route`: every lead in arrival order, the timers run between arrivals; the
    decisions (with where each lead ended) to `--out`, and a summary of where the leads ended.

    A file with any row that cannot be used routes nothing: routing is acting, and a lead left
    out of a batch would be lost without anyone noticing."""
    with output_folder(args.out, "--out", "the decisions"):
        _route_into(args, out)


def _route_into(args: argparse.Namespace, out: TextIO) -> None:
    notes: list[str] = []
    # a broken playbook is said before the leads file is read
    settings = read_playbook(args.playbook, notes=notes)
    history = read_export(args.leads, args)
    from leadrouter.sim.inspection import listed_rows

    if len(history.rejected):
        rows = history.rejected["row"].nunique()
        raise LeadsFileError(
            f"{args.leads}: {rows} row(s) cannot be used; nothing was routed:\n  "
            + "\n  ".join(listed_rows(history.rejected, SHOWN_ROWS))
        )
    if len(history.flagged):
        print(
            f"{args.leads}: {history.flagged['row'].nunique()} row(s) kept with a value "
            "adjusted:\n  " + "\n  ".join(listed_rows(history.flagged, SHOWN_ROWS)),
            file=sys.stderr,
        )
    leads = history.leads
    from leadrouter.clock import ManualClock

    router = Router(**settings, clock=ManualClock(leads[0].arrived_at))
    decisions = []
    for lead in leads:
        router.tick(lead.arrived_at)
        decisions.append(router.route(lead, now=lead.arrived_at))
    ledger = router.ledger
    ended = {lead.id: _final(ledger, lead.id) for lead in leads}
    try:
        # with a BOM: Excel opens a CSV without one in the machine's code page (GBK on a
        # Chinese Windows), and 张伟 would show as mojibake
        with args.out.open("w", newline="", encoding="utf-8-sig") as handle:
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
        raise cannot_write(args.out, "--out", "the decisions", exc) from exc
    routed = plural(len(leads), "lead")
    out.write(f"routed {routed} from {args.leads} with {args.playbook} -> {args.out}\n")
    _summary(decisions, ended, ledger, out)
    for note in notes:
        out.write(f"  note: {note}\n")
    for warning in _playbook_warnings(settings, history.tz):
        out.write(f"  warning: {warning}\n")
    mapped = {header: name for name, header in history.columns.items()}
    for what, field in _fields_read(settings):
        if all(lead_value(lead, field) in (None, "") for lead in leads):
            columns = sorted({key for lead in leads for key in lead.features})
            fix = (
                f": the file's column {field!r} is read as the lead's {mapped[field]}; write "
                f'field = "{mapped[field]}" (or leave field out)'
                if field in mapped
                else f" (other columns: {', '.join(columns) or 'none'})"
            )
            out.write(
                f"  warning: {what} reads {field!r}, which no lead in {args.leads} has, so it "
                f"let every lead through{fix}\n"
            )


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
        line += (
            ": route replays no touches (the file's were made by the reps who held the leads "
            "then), so no first-touch SLA is met"
        )
    out.write(line + "\n")


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
