"""Benchmark: DynamicCaps' daily recompute for a team, against baselines measured in the same run.

Run from the project root::

    python benchmarks/bench_dynamic_caps.py            # 200 reps, 8 weeks of history
    python benchmarks/bench_dynamic_caps.py --quick    # 40 reps, a smoke test
    python benchmarks/bench_dynamic_caps.py --reps 400 --weeks 12 --days 14
    python benchmarks/bench_dynamic_caps.py --json caps.json   # also write the figures

What is measured (the ledger is built before any clock starts; statsmodels is imported and warmed
up on a tiny series first, so its ~2 s import is not charged to anyone):

- first-time fit: a fresh `DynamicCaps` asked for every rep's cap on the first day — every rep's
  parameters are fitted with statsmodels, then the forecasts are run. This is what the first
  route of a day costs after a process restart (the cache lives in memory).
- daily recompute: the same instance asked on each of the following `--days` days. Each day
  re-reads every rep's series from the ledger and runs the vectorised smoothing update; about
  1/`refit_every` of the reps are refitted that day (each on a day fixed by its id). Median and
  worst day are shown.
- update only: the forecasts recomputed again on one of those days with every fit cached —
  the numpy part plus reading the series.
- baselines, on the same ledger: (a) the rule a team would write first: the plain numpy mean of
  each rep's last 7 days, read through the same ledger views; (b) the naive forecast, one
  statsmodels Holt-Winters fit per rep per day with statsmodels' default settings, timed on a
  subset and extrapolated to the team; (c) the same with DynamicCaps' fit settings (heuristic
  initialisation, no brute-force start), also on a subset.

Timings come from a shared, noisy machine: read the ratios, not the milliseconds.
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _rows import row, write_json

import leadrouter as lr
from leadrouter.dynamic_caps import CapForecast, DynamicCaps
from leadrouter.events import Arrived, Assigned, Event, Touched

AIM_DAILY_S = 1.0
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


@dataclass(frozen=True)
class Team:
    """Reps with their own pace (8-30 leads handled on a weekday, a fifth of that at weekends)
    and Poisson-like noise; some reps joined late, so a few are still on the fallback."""

    reps: int
    weeks: int
    seed: int = 11

    def series(self) -> dict[str, list[int]]:
        rng = random.Random(self.seed)
        days = 7 * self.weeks
        out: dict[str, list[int]] = {}
        for i in range(self.reps):
            pace = rng.uniform(8, 30)
            joined = rng.choice((0,) * 8 + (days - 20, days - 10))
            counts = []
            for d in range(days):
                mean = pace if d % 7 < 5 else pace / 5
                counts.append(0 if d < joined else _poisson(rng, mean))
            out[f"rep{i:03d}"] = counts
        return out

    def ledger(self) -> lr.Ledger:
        """Every lead assigned at its arrival and first touched 20 minutes later."""
        events: list[Event] = []
        for rep, counts in self.series().items():
            for d, n in enumerate(counts):
                for k in range(n):
                    at = START + timedelta(days=d, hours=8, seconds=k * 600)
                    lead_id = f"{rep}-{d}-{k}"
                    events.append(Arrived(lr.Lead(lead_id, at)))
                    events.append(Assigned(lead_id, rep, at, by="history"))
                    events.append(Touched(lead_id, rep, at + timedelta(minutes=20)))
        events.sort(key=lambda e: e.at)
        return lr.Ledger.from_events(events)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth), so the script needs nothing beyond the standard library here."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def numpy_mean_baseline(ledger: lr.Ledger, reps: Sequence[str], today: datetime) -> list[float]:
    """The rule a team would write first: each rep's mean over the last 7 days × 1.2, read
    through the same ledger view DynamicCaps uses."""
    import numpy as np

    edges = [today - timedelta(days=7 - i) for i in range(8)]
    counts = np.array([ledger.counts_between(rep, edges, "touched") for rep in reps])
    return list(np.floor(counts.mean(axis=1) * 1.2 + 0.5))


def statsmodels_fits(series: Sequence[Sequence[int]], tuned: bool) -> None:
    """One Holt-Winters fit (weekly seasonality) per series, and its one-day forecast."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for y in series:
            model = ExponentialSmoothing(
                [float(v) for v in y],
                seasonal="add",
                seasonal_periods=7,
                initialization_method="heuristic" if tuned else "estimated",
            )
            fit = model.fit(use_brute=False, method="SLSQP") if tuned else model.fit()
            fit.forecast(1)


def warm_up() -> None:
    """Import statsmodels and numpy and run one tiny fit, outside every timing."""
    statsmodels_fits([[5, 6, 7, 5, 6, 1, 1] * 3], tuned=True)
    statsmodels_fits([[5, 6, 7, 5, 6, 1, 1] * 3], tuned=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--days", type=int, default=7, help="daily recomputes to time")
    parser.add_argument("--subset", type=int, default=20, help="reps fitted for baselines b, c")
    parser.add_argument("--quick", action="store_true", help="40 reps, 3 days, subset 5")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.days, args.subset = 40, 3, 5

    team = Team(args.reps, args.weeks)
    print(
        f"# DynamicCaps daily recompute — {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}"
    )
    t0 = time.perf_counter()
    ledger = team.ledger()
    reps = sorted(ledger.reps())
    print(
        f"workload: {len(reps)} reps, {args.weeks} weeks of history, {len(ledger):,} events "
        f"(built in {time.perf_counter() - t0:.1f} s)"
    )
    warm_up()

    caps = DynamicCaps(lr.FixedCap(daily=20))
    first = START + timedelta(weeks=args.weeks, hours=8)
    found: dict[str, CapForecast] = {}
    first_s = timed(lambda: found.update(caps.explain_many(reps, ledger, first)))
    models = {
        m: sum(1 for f in found.values() if f.model == m)
        for m in ("seasonal", "non-seasonal", "fallback")
    }

    days: list[float] = []
    for d in range(1, args.days + 1):
        days.append(timed(lambda d=d: caps.explain_many(reps, ledger, first + timedelta(days=d))))
    last_day = first + timedelta(days=args.days)
    memo = caps._memo(ledger, create=False)  # benchmark only: drop today's forecasts, keep fits
    assert memo is not None
    memo.plans.clear()
    update_s = timed(lambda: caps.explain_many(reps, ledger, last_day))

    mean_s = timed(lambda: numpy_mean_baseline(ledger, reps, last_day.replace(hour=0)))
    series = team.series()
    subset = [series[rep] for rep in reps[: args.subset]]
    naive_s = timed(lambda: statsmodels_fits(subset, tuned=False)) / len(subset) * len(reps)
    tuned_s = timed(lambda: statsmodels_fits(subset, tuned=True)) / len(subset) * len(reps)

    median_day, worst_day = statistics.median(days), max(days)
    rows = [
        ("first-time fit (every rep fitted)", first_s, ""),
        (f"daily recompute, median of {len(days)} days", median_day, ""),
        ("daily recompute, worst day", worst_day, ""),
        ("update only (fits cached)", update_s, ""),
        ("baseline a: numpy mean of last 7 days", mean_s, "measured"),
        (
            "baseline b: statsmodels HW fit per rep, defaults",
            naive_s,
            f"extrapolated from {len(subset)} reps",
        ),
        (
            "baseline c: statsmodels HW fit per rep, tuned",
            tuned_s,
            f"extrapolated from {len(subset)} reps",
        ),
    ]
    print(f"models on the first day: {models}")
    print()
    print(f"| {'what':<50} | {'seconds':>8} | {'per rep ms':>10} | note |")
    print(f"|{'-' * 52}|{'-' * 10}|{'-' * 12}|------|")
    for name, seconds, note in rows:
        print(f"| {name:<50} | {seconds:8.3f} | {seconds / len(reps) * 1000:10.2f} | {note} |")
    print()
    print("ratios")
    print(f"  daily recompute (median) / numpy mean baseline : {median_day / mean_s:6.1f}×")
    print(f"  naive daily HW refit / daily recompute (median) : {naive_s / median_day:6.1f}×")
    print(f"  first-time fit / naive daily HW refit           : {first_s / naive_s:6.2f}×")
    aim_s = AIM_DAILY_S * len(reps) / 200
    met = "met" if worst_day <= aim_s else "NOT met"
    print(
        f"aim: daily recompute ≤ {AIM_DAILY_S:g} s for 200 reps — worst day {worst_day:.3f} s "
        f"for {len(reps)} reps: {met}"
    )
    if args.json is not None:
        team_of = f"{len(reps)} reps"
        write_json(
            args.json,
            [
                row(
                    "bench_dynamic_caps",
                    f"daily recompute, worst of {len(days)} days, {team_of} (aim: 1 s per 200)",
                    worst_day,
                    "s",
                    aim_id="dynamic_caps_daily",
                    at_most=aim_s,
                ),
                row(
                    "bench_dynamic_caps",
                    f"daily recompute, median day, {team_of}, vs numpy 7-day mean",
                    median_day,
                    "s",
                    baseline=mean_s,
                ),
                row(
                    "bench_dynamic_caps",
                    f"first-time fit, {team_of}, vs a statsmodels fit per rep (extrapolated "
                    f"from {len(subset)} reps)",
                    first_s,
                    "s",
                    baseline=naive_s,
                ),
            ],
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
