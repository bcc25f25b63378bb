"""Benchmark: loading an export with `load_export` in each date form CRMs write, beside a loader
that knows the form.

Run from the project root::

    python benchmarks/bench_load.py                  # 200,000 rows a form, median of 3 runs
    python benchmarks/bench_load.py --quick          # 20,000 rows, one run: a smoke test
    python benchmarks/bench_load.py --rows 50000 --repeat 5
    python benchmarks/bench_load.py --json load.json # also write the figures

Analysts load exports of 10^5-10^6 leads, and the time they wait depends on how the CRM wrote
its dates: ISO 8601 and six common layouts are parsed a column at a time, any other form a cell
at a time. This
measures, for each form below, `load_export(path, tz="UTC")` of a CSV of `--rows` leads (lead
id, created time, owner, first contact time on four rows in five, source, an amount on one row
in ten), written before any clock starts:

- ISO: `2025-02-27 04:21:00`
- US: `2/27/2025 04:21 AM` (month first, 12-hour clock: Salesforce's and Dynamics' default)
- Zoho: `Feb 27, 2025 04:21 AM`
- dotted: `27.02.2025 04:21` (day first with dots: German, Swiss, Nordic spreadsheets)
- German: `27. Februar 2025 04:21` (the month by name)

The baseline, measured in the same run on the same file, is what a hand-written loader that
knows the form costs: `pandas.read_csv` of the file and `pandas.to_datetime(..., format=...)` of
its two time columns with the exact format (for German month names, which no format reads,
each name first replaced by its number). `load_export` does more than that — it finds the
columns, decides the dd/mm order, checks every cell and names the rows it cannot read, reads
the amounts and owners — so the ratio is the price of that and of not knowing the form; it is
what to compare between runs and versions, on a shared and noisy machine, not the seconds.
No aim is set: the ratio is printed as measured.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from _rows import Row, row, write_json

from leadrouter.sim import load_export

TIME_COLUMNS = ("Created Date", "First Contact")
GERMAN_MONTHS = (
    "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
    "Oktober", "November", "Dezember",
)  # fmt: skip


def _us(t: datetime) -> str:
    return f"{t.month}/{t.day}/{t.year} {t:%I:%M %p}"


def _german(t: datetime) -> str:
    return f"{t.day}. {GERMAN_MONTHS[t.month - 1]} {t.year} {t:%H:%M}"


FORMS: dict[str, tuple[Callable[[datetime], str], str]] = {
    "ISO": (lambda t: f"{t:%Y-%m-%d %H:%M:%S}", "%Y-%m-%d %H:%M:%S"),
    "US": (_us, "%m/%d/%Y %I:%M %p"),
    "Zoho": (lambda t: f"{t:%b %d, %Y %I:%M %p}", "%b %d, %Y %I:%M %p"),
    "dotted": (lambda t: f"{t:%d.%m.%Y %H:%M}", "%d.%m.%Y %H:%M"),
    "German": (_german, "%d. %m %Y %H:%M"),
}
"""Each form: how a time is written, and the format the baseline parses it with."""


def write_export(path: Path, form: str, rows: int, seed: int = 1) -> None:
    """`rows` leads over a year, first touched 1-600 minutes after they arrive (on four rows in
    five), their times written in `form`."""
    write = FORMS[form][0]
    rng = random.Random(seed)
    start = datetime(2025, 1, 6)
    lines = ["Lead ID,Created Date,Lead Owner,First Contact,Lead Source,Amount"]
    for i in range(rows):
        arrived = start + timedelta(minutes=rng.randrange(365 * 24 * 60))
        touched = arrived + timedelta(minutes=rng.randrange(1, 600))
        touch = write(touched) if rng.random() < 0.8 else ""
        amount = rng.randrange(5000) if rng.random() < 0.1 else ""
        lines.append(f'{i + 1},"{write(arrived)}",rep{rng.randrange(50)},"{touch}",web,{amount}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def baseline(path: Path, form: str) -> pd.DataFrame:
    """What a loader that knows the form does: read the file, parse its time columns with the
    exact format (German month names replaced by their numbers first)."""
    frame = pd.read_csv(path)
    for column in TIME_COLUMNS:
        cells = frame[column]
        if form == "German":
            for number, name in enumerate(GERMAN_MONTHS, start=1):
                cells = cells.str.replace(name, f"{number:02d}", regex=False)
        frame[column] = pd.to_datetime(cells, format=FORMS[form][1])
    return frame


def load(path: Path) -> int:
    """`load_export` of the file, its one-line summary on stderr kept off the output."""
    with contextlib.redirect_stderr(io.StringIO()):
        history = load_export(path, tz="UTC")
    if not history.rejected.empty:
        raise SystemExit(f"{path}: rows rejected:\n{history.rejected.head()}")
    return len(history)


def timed(fn: Callable[[], object]) -> float:
    gc.collect()
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def measure(path: Path, form: str, repeat: int) -> tuple[float, float]:
    """Median seconds of `load_export` and of the baseline over `repeat` runs, taking turns so
    both see the same load on the machine."""
    loads, bases = [], []
    for _ in range(repeat):
        loads.append(timed(lambda: load(path)))
        bases.append(timed(lambda: baseline(path, form)))
    return statistics.median(loads), statistics.median(bases)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="leads in each file")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, the median shown")
    parser.add_argument("--forms", nargs="+", choices=list(FORMS), default=list(FORMS))
    parser.add_argument("--quick", action="store_true", help="20,000 rows, one run")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.repeat = 20_000, 1
    print(
        f"# load_export by date form — {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}; {args.rows:,} rows a file, median "
        f"of {args.repeat} run(s)"
    )
    print("timings are on a shared, noisy machine: compare the ratios, not the seconds")
    rows: list[Row] = []
    print(f"\n{'form':<8} {'example':<24} {'load_export s':>13} {'baseline s':>10} {'ratio':>7}")
    with tempfile.TemporaryDirectory(prefix="leadrouter-bench-load-") as scratch:
        for form in args.forms:  # first loads pay for imports and caches: not timed
            warm = Path(scratch) / f"warm-{form}.csv"
            write_export(warm, form, 200)
            load(warm)
            baseline(warm, form)
        for form in args.forms:
            path = Path(scratch) / f"{form}.csv"
            write_export(path, form, args.rows)
            example = FORMS[form][0](datetime(2025, 2, 27, 4, 21))
            loaded, base = measure(path, form, args.repeat)
            print(f"{form:<8} {example:<24} {loaded:13.2f} {base:10.2f} {loaded / base:6.1f}×")
            rows.append(
                row(
                    "bench_load",
                    f"load_export of {args.rows:,} rows, {form} times ({example}), vs read_csv "
                    "+ to_datetime with the format",
                    loaded,
                    "s",
                    baseline=base,
                )
            )
    if args.json is not None:
        write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
