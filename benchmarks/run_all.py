"""Run every speed benchmark and print one table: each figure beside its baseline, with its aim.

Run from the project root::

    python benchmarks/run_all.py                      # full size (tens of minutes on 2 cores)
    python benchmarks/run_all.py --json bench.json    # also write the rows for tracking
    python benchmarks/run_all.py --quick              # smoke sizes, about a minute
    python benchmarks/run_all.py --skip bench_store_open --verbose

Each script runs in its own process (so one's memory and caches do not slow the next) with
`--json`, and its rows are collected; `bench_store.py` has no `--json`, so its printed tables are
read instead. Every figure is a row {benchmark, measure, value, unit, baseline, ratio, aim, met}:
the baseline is measured in the same run as the figure, so the ratio is what to compare across
runs and machines. The aims are the issue's (see AIMS); an aim that no script measured in this run
gets a row saying so, so the table always lists every aim.

The honesty studies (bench_coverage.py, bench_evaluate.py) are not speed and are run separately.
A script that fails is reported and makes this exit with status 1; aims not met do not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _rows import Row, as_dicts, row

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

AIMS: dict[str, tuple[str, str, str]] = {
    "route_vs_loop": ("bench_route", "route() per lead / hand-written loop", "ratio <= 4"),
    "route_memory": ("bench_route", "ledger memory per event", "value <= 300"),
    **{
        f"strategy_{name}": (
            "bench_strategies",
            f"{name} route() per lead / EqualRotation, 200 reps",
            "ratio <= 2",
        )
        for name in ("PerformanceWeighted", "UtilizationWeighted", "QuotaProportional")
    },
    "sim_vs_heapq": ("bench_sim", "simulate() per lead / bare heapq loop", "ratio <= 5"),
    "sim_pull_vs_rotation": ("bench_sim", "GrabWithCaps simulated / EqualRotation", "ratio <= 2"),
    "sim_tiered_vs_rotation": ("bench_sim", "TieredDelay simulated / EqualRotation", "ratio <= 2"),
    "sim_1m_200reps": ("bench_sim", "1,000,000 leads × 200 reps simulated", "value <= 60"),
    "sim_100k": ("bench_sim", "100,000 leads × 50 reps simulated", "value <= 10"),
    "sim_compare": ("bench_sim", "compare() 8 policies × 5 seeds", "value <= 120"),
    "matching_5000x500": ("bench_matching", "ProfileMatching 5,000 × 500", "value <= 2"),
    "dynamic_caps_daily": ("bench_dynamic_caps", "daily recompute, 200 reps", "value <= 1"),
    "store_pg_routes_4w": ("bench_store", "PostgreSQL routes/s, 4 workers", "value >= 2000"),
    "store_sqlite_routes_4w": ("bench_store", "SQLite routes/s, 4 workers", "value >= 1000"),
    "store_open_1m": ("bench_store", "open a 1,000,000-event SQLite ledger", "value <= 5"),
}
"""aim id -> (benchmark, what, aim): every aim the table reports, measured or not."""

STORE_AIMS = {
    "postgresql": ("store_pg_routes_4w", 2_000.0),
    "sqlite": ("store_sqlite_routes_4w", 1_000.0),
}
OPEN_AIM_EVENTS, OPEN_AIM_S = 1_000_000, 5.0


# ---------------------------------------------------------------------------------- bench_store


def store_rows(out: str) -> list[Row]:
    """Rows from bench_store.py's throughput table (`store workers routes/s claims/s bare tx/s`),
    each store beside the in-memory ledger measured in the same run, and a SQL store's routes
    beside its bare transactions (the same statements without the Router)."""
    found = re.findall(
        r"^(memory|sqlite|postgresql)\s+(\d+)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+|-)\s*$", out, re.M
    )
    table = [
        (store, int(w), _number(r), _number(c), None if b == "-" else _number(b))
        for store, w, r, c, b in found
    ]
    memory = next(((r, c) for store, _, r, c, _ in table if store == "memory"), (None, None))
    rows = []
    for store, workers, routes, claims, bare in table:
        if store == "memory":
            continue
        aim_id, least = STORE_AIMS[store] if workers == 4 else (None, None)
        for what, value, base, aimed in (
            ("routes", routes, memory[0], True),
            ("claims", claims, memory[1], False),
        ):
            rows.append(
                row(
                    "bench_store",
                    f"{store} {what}/s, {workers} worker(s), vs in-memory ledger",
                    value,
                    f"{what}/s",
                    baseline=base,
                    aim_id=aim_id if aimed else None,
                    at_least=least if aimed else None,
                )
            )
        rows.append(
            row(
                "bench_store",
                f"{store} routes/s, {workers} worker(s), vs its bare transactions",
                routes,
                "routes/s",
                baseline=bare,
            )
        )
    return rows


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def store_open_rows(out: str) -> list[Row]:
    """Rows from bench_store.py --open's table: opening from the snapshot with the tail folded,
    beside folding the whole log."""
    tail = re.search(r"snapshot\+([\d,]+) s", out)
    found = re.findall(
        r"^\s*([\d,]+)\s+([\d.]+)\s+([\d.]+)\s+[\d.]+x\s+([\d.]+)\s+([\d.]+)\s*$", out, re.M
    )
    after = tail.group(1) if tail else "?"
    rows = []
    for events_text, replay, loaded, tailed, _writing in found:
        events = int(_number(events_text))
        aimed = events >= OPEN_AIM_EVENTS
        rows.append(
            row(
                "bench_store",
                f"open {events:,}-event SQLite ledger: snapshot + {after} events, vs full replay",
                float(tailed),
                "s",
                baseline=float(replay),
                aim_id="store_open_1m" if aimed else None,
                at_most=OPEN_AIM_S if aimed else None,
            )
        )
        rows.append(
            row(
                "bench_store",
                f"open {events:,}-event SQLite ledger: snapshot alone, vs full replay",
                float(loaded),
                "s",
                baseline=float(replay),
            )
        )
    return rows


# ---------------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class Job:
    name: str
    script: str
    full: tuple[str, ...]
    quick: tuple[str, ...]
    parse: Callable[[str], list[Row]] | None = None
    """Reads the rows from the script's printed output; None: the script writes them with
    `--json`."""


JOBS = (
    Job("bench_route", "bench_route.py", (), ("--leads", "5000", "--repeat", "1")),
    Job("bench_strategies", "bench_strategies.py", (), ("--quick",)),
    Job("bench_matching", "bench_matching.py", (), ("--quick",)),
    Job("bench_dynamic_caps", "bench_dynamic_caps.py", (), ("--quick",)),
    Job(
        "bench_sim",
        "bench_sim.py",
        ("--million",),  # measures 1,000,000 leads x 200 reps: about 1.5 min and 3 GB here
        ("--leads", "3000", "--compare-leads", "500", "--seeds", "2"),
    ),
    Job("bench_load", "bench_load.py", (), ("--quick",)),
    Job(
        "bench_store",
        "bench_store.py",
        ("--ops", "1000"),  # 4,000 routes a store at 4 workers: about a minute in all
        ("--ops", "20", "--workers", "1", "4"),
        store_rows,
    ),
    Job(
        "bench_store_open",
        "bench_store.py",
        ("--open", "--sizes", str(OPEN_AIM_EVENTS)),
        ("--open", "--sizes", "20000", "--tail", "4000"),
        store_open_rows,
    ),
)


@dataclass
class Outcome:
    job: str
    seconds: float
    rows: list[Row]
    error: str | None = None


def run_job(job: Job, quick: bool, verbose: bool, timeout: float | None) -> Outcome:
    args = list(job.quick if quick else job.full)
    with tempfile.TemporaryDirectory(prefix="leadrouter-bench-") as scratch:
        out_json = Path(scratch) / "rows.json"
        if job.parse is None:
            args += ["--json", str(out_json)]
        command = [sys.executable, str(HERE / job.script), *args]
        print(f"running {' '.join(command[1:])} ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        try:
            done = subprocess.run(
                command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return Outcome(
                job.name, time.perf_counter() - began, [], f"timed out after {timeout:g} s"
            )
        seconds = time.perf_counter() - began
        print(f"  {job.name}: {seconds:.1f} s", file=sys.stderr, flush=True)
        if verbose:
            print(done.stdout, file=sys.stderr, flush=True)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            return Outcome(job.name, seconds, [], f"exit status {done.returncode}:\n{tail}")
        if job.parse is not None:
            rows = job.parse(done.stdout)
        else:
            rows = [Row(**r) for r in json.loads(out_json.read_text(encoding="utf-8"))["rows"]]
        if not rows:
            return Outcome(job.name, seconds, [], "no figures found in its output")
        return Outcome(job.name, seconds, rows)


def missing_aims(rows: Sequence[Row], quick: bool) -> list[Row]:
    """A row for each aim no figure of this run was judged against, saying why."""
    judged = {r.aim_id for r in rows if r.met is not None}
    placeholders = []
    for aim_id, (benchmark, what, aim) in AIMS.items():
        if aim_id in judged:
            continue
        if any(r.aim_id == aim_id for r in rows):
            continue  # reported with its figure missing and its own note
        why = "not measured at --quick sizes" if quick else "not measured in this run"
        if aim_id == "store_pg_routes_4w" and not os.environ.get("LEADROUTER_TEST_PG"):
            why = "not measured: no PostgreSQL (set LEADROUTER_TEST_PG or run under .ci/postgres)"
        placeholders.append(Row(benchmark, what, None, "", aim=aim, aim_id=aim_id, note=why))
    return placeholders


# ---------------------------------------------------------------------------------- report


def number(value: float | None) -> str:
    if value is None:
        return "—"
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def table(rows: Sequence[Row]) -> str:
    """One aligned text table of every row."""
    head = ("benchmark", "measure", "value", "unit", "baseline", "ratio", "aim", "met")
    body = [
        (
            r.benchmark,
            r.measure + (f" [{r.note}]" if r.note else ""),
            number(r.value),
            r.unit,
            number(r.baseline),
            "—" if r.ratio is None else f"{number(r.ratio)}×",
            r.aim or "",
            "" if r.aim is None else ("—" if r.met is None else ("met" if r.met else "NOT met")),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in (head, *body)) for i in range(len(head))]
    right = {2, 4, 5}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, body)])


def report(details: Mapping[str, Any], rows: Sequence[Row]) -> str:
    """The run's heading, the table, and how many aims were met: an aim with several rows (one
    per size) is met when every one of them is."""
    verdicts: dict[str, list[bool]] = {}
    for r in rows:
        if r.aim_id is not None and r.met is not None:
            verdicts.setdefault(r.aim_id, []).append(r.met)
    met = sum(all(v) for v in verdicts.values())
    unmeasured = len({r.aim_id for r in rows if r.aim_id is not None} - verdicts.keys())
    machine = details.get("machine", {})
    return "\n".join(
        [
            f"leadrouter benchmarks ({details.get('mode')} run, {details.get('date')}, "
            f"{details.get('python')}, {machine.get('cpus')} CPUs, "
            f"commit {details.get('git_commit') or 'unknown'})",
            table(rows),
            "",
            f"{met} of {len(verdicts)} aims met ({unmeasured} not measured in this run). "
            "ratio = value ÷ baseline, both from this run: compare ratios, not absolute times.",
        ]
    )


def git_commit() -> str | None:
    try:
        found = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return found.stdout.strip() + ("+local changes" if dirty.stdout.strip() else "")


def load_average() -> list[float] | None:
    """The 1-, 5- and 15-minute load averages: how busy the machine was (None where unknown)."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def about(quick: bool, started: datetime) -> dict[str, object]:
    import leadrouter

    return {
        "date": started.isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "git_commit": git_commit(),
        "leadrouter": leadrouter.__version__,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.machine(),
            "cpus": os.cpu_count(),
            "load_average_at_start": load_average(),
        },
    }


# ---------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke sizes (about a minute)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the rows and run details")
    names = [job.name for job in JOBS]
    parser.add_argument(
        "--skip",
        nargs="+",
        default=[],
        choices=names,
        metavar="NAME",
        help=f"benchmarks to leave out: {', '.join(names)}",
    )
    parser.add_argument(
        "--timeout", type=float, help="seconds allowed per benchmark (none by default)"
    )
    parser.add_argument("--verbose", action="store_true", help="echo each script's own output")
    parser.add_argument(
        "--show",
        type=Path,
        metavar="PATH",
        help="print the table of an earlier run's --json file, running nothing",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.show is not None:
        saved = json.loads(args.show.read_text(encoding="utf-8"))
        print(report(saved, [Row(**r) for r in saved["rows"]]))
        return 0
    started = datetime.now(UTC)
    details = about(args.quick, started)
    outcomes = [
        run_job(job, args.quick, args.verbose, args.timeout)
        for job in JOBS
        if job.name not in args.skip
    ]
    rows = [r for outcome in outcomes for r in outcome.rows]
    failed = [o for o in outcomes if o.error is not None]
    for o in failed:
        first = (o.error or "").splitlines()[0]
        rows.append(Row(o.job, f"FAILED ({first}); its output is shown above", None, ""))
        print(f"\n{o.job} FAILED: {o.error}", file=sys.stderr)
    rows += missing_aims(rows, args.quick)
    order = {job.name: i for i, job in enumerate(JOBS)}
    rows.sort(key=lambda r: order.get(r.benchmark, len(JOBS)))
    print("\n" + report(details, rows))
    if args.json is not None:
        details["seconds"] = {o.job: round(o.seconds, 1) for o in outcomes}
        details["load_average_at_end"] = load_average()
        details["failed"] = {o.job: o.error for o in failed}
        details["rows"] = as_dicts(rows)
        args.json.write_text(
            json.dumps(details, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        print(f"wrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
