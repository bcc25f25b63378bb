"""Benchmark: the simulator's cost per lead, against a bare `heapq` loop measured in the same run.

Run from the project root::

    python benchmarks/bench_sim.py                  # 100,000 leads x 50 reps, then the comparison
    python benchmarks/bench_sim.py --quick          # 10,000 leads and a 2-seed comparison
    python benchmarks/bench_sim.py --leads 30000 --no-compare
    python benchmarks/bench_sim.py --million --no-compare   # 1,000,000 leads x 200 reps, measured
    python benchmarks/bench_sim.py --json sim.json  # also write the figures
    python benchmarks/bench_sim.py --leads 20000 --repeat 5 --no-compare --no-scale  # medians

What is measured (histories and behaviour models are built before any clock starts):

- simulate: `simulate(history, policy, behaviour, seed=0)` on `synthetic(n_leads=--leads,
  n_reps=50, days=60)`, one run per policy: EqualRotation, GrabWithCaps (a pull policy: reps
  claim from the pool, daily cap of one and a half average days' leads), PerformanceWeighted and
  TieredDelay (two tiers, see `tiered`). Reported as seconds, simulated leads per second and µs
  per lead; the pull and tiered policies also as a ratio to EqualRotation (aim ≤ 2×). Every
  run draws its own uniforms (`forget_kept`), as a lone simulate() does, though runs of one seed
  share them in `compare`. With
  `--repeat N` every policy runs N times, the policies taking turns, and each figure is the
  median (the turns spread a busy spell of a shared machine over all policies).
- the baseline: a plain `heapq` discrete-event loop with no routing, pushing and popping as many
  events as the EqualRotation run handled (every arrival, first touch, lead given up as lost,
  and tick), keyed by aware datetimes as the engine is, with Python's cyclic garbage collector
  paused as `simulate()` pauses it. It is the floor for a Python event loop (DESIGN §7½
  measured ~4.8 µs per lead for a loop like it).
- the aims: simulate() per lead ≤ 5× the heapq loop (EqualRotation); 100,000 leads x 50 reps,
  EqualRotation, one seed, in ≤ 10 s. A run with fewer leads is projected to 100,000 linearly;
  the cost per lead grows somewhat with the run (bigger ledgers and queues), so a projection
  from a much smaller run is on the low side (in one session on the 2-core development
  machine: 46 µs per lead at 200,000 leads x 200 reps, 57 µs at 300,000).
- scale: EqualRotation on `synthetic(n_leads=--scale-leads, n_reps=200, days=--days)` (by default
  as many leads as above), projected linearly to 1,000,000 leads x 200 reps against the ≤ 60 s
  aim; `--million` runs the full 1,000,000 leads instead (1.5 minutes and 3 GB of memory on the
  2-core development machine; run_all.py does).
- the comparison: `leadrouter.sim.compare` over `synthetic(n_leads=3000, n_reps=12, days=35)`
  with six policies (EqualRotation, PerformanceWeighted, UtilizationWeighted, GrabWithCaps,
  ProfileMatching, TieredDelay) and 5 seeds, its wall time, and one seed of each policy timed
  alone. `compare` also replays the history's own assignments to check calibration, a cost that
  does not grow with the policies. The demo compares 8 policies × 5 seeds in ≤ 2 minutes; this
  wall time scaled by 8/6 says whether that is in reach for the comparison itself (the demo's
  own wall time, with its fitting and report, is measured by the demo).

Timings come from a shared, noisy machine: read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import itertools
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import attrs
from _rows import Row, row, write_json

import leadrouter as lr
from leadrouter.events import Tagged, Touched
from leadrouter.sim import History, compare, simulate, synthetic
from leadrouter.sim.draws import forget_kept
from leadrouter.sim.engine import Policy, _collector_paused, default_behaviour

AIM_LEADS = 100_000
AIM_SECONDS = 10.0
AIM_COMPARE_SECONDS = 120.0
AIM_LOOP_RATIO = 5.0
"""simulate() per lead over the bare heapq loop's."""
AIM_POLICY_RATIO = 2.0
"""Pull and tiered policies' simulated cost per lead over EqualRotation's."""
AIM_SCALE_LEADS, AIM_SCALE_REPS, AIM_SCALE_SECONDS = 1_000_000, 200, 60.0
DEMO_POLICIES = 8
TICK = timedelta(minutes=15)  # simulate()'s default tick_every
HORIZON = timedelta(days=2)  # and its default horizon


# ---------------------------------------------------------------------------------- policies


def daily_cap(history: History) -> int:
    """One and a half average days' leads per rep: room for busy days, a ceiling for one rep."""
    leads = history.leads
    days = max(1.0, (leads[-1].arrived_at - leads[0].arrived_at) / timedelta(days=1))
    return max(2, math.ceil(1.5 * len(leads) / len(history.roster) / days))


def tiered(reps: list[lr.Rep], seed: int) -> lr.Router:
    """TieredDelay over copies of the reps: the first two thirds tier 0 (a day's patience), the
    rest tier 1 (two days); a lead nobody reached in time falls through to the next tier. Its
    Router keeps no decision log, as the Router simulate() makes from a Strategy does, so the
    ratio to EqualRotation compares like with like."""
    top = max(1, round(len(reps) * 2 / 3))
    given = [attrs.evolve(rep, tier=0 if i < top else 1) for i, rep in enumerate(reps)]
    strategy = lr.TieredDelay(
        [
            lr.Tier(tier=0, strategy=lr.EqualRotation(), patience=timedelta(days=1)),
            lr.Tier(tier=1, strategy=lr.EqualRotation(), patience=timedelta(days=2)),
        ]
    )
    return lr.Router(strategy, given, seed=seed, decision_log=0)


def engine_policies(history: History) -> dict[str, Policy]:
    return {
        "EqualRotation": lr.EqualRotation(),
        "GrabWithCaps": lr.GrabWithCaps(daily=daily_cap(history)),
        "PerformanceWeighted": lr.PerformanceWeighted(window=timedelta(days=14)),
        "TieredDelay": tiered,
    }


RATIO_AIMED = {"GrabWithCaps": "sim_pull_vs_rotation", "TieredDelay": "sim_tiered_vs_rotation"}


def compare_policies(history: History) -> dict[str, Policy]:
    return {
        "EqualRotation": lr.EqualRotation(),
        "PerformanceWeighted": lr.PerformanceWeighted(window=timedelta(days=14)),
        "UtilizationWeighted": lr.UtilizationWeighted(window=timedelta(days=14)),
        "GrabWithCaps": lr.GrabWithCaps(daily=daily_cap(history)),
        "ProfileMatching": lr.ProfileMatching(),
        "TieredDelay": tiered,
    }


# ---------------------------------------------------------------------------------- baseline


def loop_events(history: History, run: lr.Ledger) -> tuple[int, int, int, int]:
    """(arrivals, first touches, leads given up as lost, ticks) of a simulated run: the events
    its loop handled."""
    leads = history.leads
    touches = closes = 0
    for event in run.events():
        if type(event) is Touched:
            touches += 1
        elif type(event) is Tagged and event.reason == "lost":
            closes += 1
    span = leads[-1].arrived_at + HORIZON - leads[0].arrived_at
    return len(leads), touches, closes, int(span / TICK)


def heapq_baseline(history: History, touches: int, closes: int) -> float:
    """Seconds for a bare heapq loop over as many events: every arrival and tick pushed up
    front; popping an arrival pushes a first touch 20 minutes later (for the first `touches`),
    popping a touch pushes a close three days later (for the first `closes`). Nothing is routed
    or recorded. The collector is paused as in `simulate()`, so the two are timed alike."""
    with _collector_paused():
        return _heapq_loop(history, touches, closes)


def _heapq_loop(history: History, touches: int, closes: int) -> float:
    leads = history.leads
    start, end = leads[0].arrived_at, leads[-1].arrived_at + HORIZON
    later, give_up = timedelta(minutes=20), timedelta(days=3)
    began = time.perf_counter()
    heap: list[tuple[datetime, int, int, str]] = []
    counter = itertools.count()
    for lead in leads:
        heapq.heappush(heap, (lead.arrived_at, 0, next(counter), lead.id))
    at = start + TICK
    while at <= end:
        heapq.heappush(heap, (at, 3, next(counter), ""))
        at += TICK
    while heap:
        when, kind, _, lead_id = heapq.heappop(heap)
        if kind == 0 and touches:
            touches -= 1
            heapq.heappush(heap, (when + later, 1, next(counter), lead_id))
        elif kind == 1 and closes:
            closes -= 1
            heapq.heappush(heap, (when + give_up, 2, next(counter), lead_id))
    return time.perf_counter() - began


# ---------------------------------------------------------------------------------- timing


@dataclass
class EngineResult:
    policy: str
    seconds: float
    leads: int
    events: int

    @property
    def us_per_lead(self) -> float:
        return self.seconds / self.leads * 1e6

    @property
    def leads_per_second(self) -> float:
        return self.leads / self.seconds


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    gc.collect()
    began = time.perf_counter()
    out = fn()
    return time.perf_counter() - began, out


def measure_engine(
    history: History, policies: Mapping[str, Policy], repeat: int = 1
) -> tuple[list[EngineResult], lr.Ledger]:
    """Each policy's median seconds over `repeat` runs, the policies taking turns; and the
    first policy's ledger (its events size the heapq baseline)."""
    behaviour = default_behaviour(history)
    seconds: dict[str, list[float]] = {name: [] for name in policies}
    events: dict[str, int] = {}
    first: lr.Ledger | None = None
    for turn in range(repeat):
        for name, policy in policies.items():
            print(f"  simulating {name} ({turn + 1}/{repeat}) ...", file=sys.stderr, flush=True)
            forget_kept()  # each run draws its uniforms, as a lone simulate() does
            took, run = timed(lambda policy=policy: simulate(history, policy, behaviour, seed=0))
            ledger = run.ledger  # type: ignore[attr-defined]
            seconds[name].append(took)
            events[name] = len(ledger)
            if first is None:
                first = ledger
            del run, ledger
    assert first is not None
    results = [
        EngineResult(name, statistics.median(took), len(history.leads), events[name])
        for name, took in seconds.items()
    ]
    return results, first


# ---------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--leads", type=int, default=AIM_LEADS, help="leads (default 100000)")
    parser.add_argument("--reps", type=int, default=50, help="reps (default 50)")
    parser.add_argument("--days", type=int, default=60, help="days of arrivals (default 60)")
    parser.add_argument("--compare-leads", type=int, default=3000)
    parser.add_argument("--compare-reps", type=int, default=12)
    parser.add_argument("--seeds", type=int, default=5, help="seeds of the comparison")
    parser.add_argument(
        "--processes", type=int, default=1, help="compare(processes=...) (default 1)"
    )
    parser.add_argument("--no-compare", action="store_true", help="skip the comparison")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of each policy, taking turns; figures are medians (default 1)",
    )
    parser.add_argument(
        "--scale-leads",
        type=int,
        help=f"leads of the {AIM_SCALE_REPS}-rep scale run, projected to "
        f"{AIM_SCALE_LEADS:,} (default: --leads)",
    )
    parser.add_argument(
        "--million",
        action="store_true",
        help=f"run the scale run at the full {AIM_SCALE_LEADS:,} leads (minutes, ~3 GB of memory)",
    )
    parser.add_argument("--no-scale", action="store_true", help="skip the scale run")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    parser.add_argument(
        "--quick", action="store_true", help="10,000 leads; a 1,000-lead, 2-seed comparison"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.leads, args.compare_leads, args.seeds = 10_000, 1_000, 2
    if args.million:
        args.scale_leads = AIM_SCALE_LEADS
    if args.scale_leads is None:
        args.scale_leads = args.leads
    sizes = (
        args.leads,
        args.reps,
        args.days,
        args.compare_leads,
        args.seeds,
        args.scale_leads,
        args.repeat,
    )
    if min(sizes) < 1:
        parser.error("sizes must be positive")
    return args


def measure_scale(leads: int, days: int) -> EngineResult:
    """EqualRotation on `leads` leads over AIM_SCALE_REPS reps, the history made untimed."""
    history = synthetic(n_leads=leads, n_reps=AIM_SCALE_REPS, days=days, seed=3)
    print(f"{len(history.leads):,} leads made for the scale run", file=sys.stderr, flush=True)
    behaviour = default_behaviour(history)
    seconds, run = timed(lambda: simulate(history, lr.EqualRotation(), behaviour, seed=0))
    return EngineResult("EqualRotation", seconds, leads, len(run.ledger))  # type: ignore[attr-defined]


def engine_rows(results: Sequence[EngineResult], base_us: float, reps: int) -> list[Row]:
    """EqualRotation beside the heapq loop; every other policy beside EqualRotation."""
    equal = results[0]
    rows = [
        row(
            "bench_sim",
            f"simulate() EqualRotation, {equal.leads:,} leads × {reps} reps, vs bare heapq loop",
            equal.us_per_lead,
            "µs/lead",
            baseline=base_us,
            aim_id="sim_vs_heapq",
            at_most=AIM_LOOP_RATIO,
            on="ratio",
        )
    ]
    for r in results[1:]:
        aim_id = RATIO_AIMED.get(r.policy)
        rows.append(
            row(
                "bench_sim",
                f"simulate() {r.policy}, {r.leads:,} leads × {reps} reps, vs EqualRotation",
                r.us_per_lead,
                "µs/lead",
                baseline=equal.us_per_lead,
                aim_id=aim_id,
                at_most=AIM_POLICY_RATIO if aim_id else None,
                on="ratio",
            )
        )
    return rows


def projected_row(
    result: EngineResult, leads: int, reps: int, aim_s: float, aim_id: str
) -> tuple[Row, str]:
    """The run's seconds scaled linearly to `leads`, judged against `aim_s`; and how it was
    obtained ("measured" or "projected from N leads")."""
    how = "measured" if result.leads == leads else f"projected from {result.leads:,} leads"
    return (
        row(
            "bench_sim",
            f"simulate() EqualRotation, {leads:,} leads × {reps} reps, one seed",
            result.seconds * leads / result.leads,
            "s",
            aim_id=aim_id,
            at_most=aim_s,
            note=how,
        ),
        how,
    )


def finish(args: argparse.Namespace, rows: Sequence[Row]) -> int:
    if args.json is not None:
        write_json(args.json, rows)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(
        f"# simulator benchmark — {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}; leadrouter {lr.__version__}"
    )
    print("timings are on a shared, noisy machine: compare the ratios, not the seconds")
    print(f"making synthetic(n_leads={args.leads}, ...) ...", file=sys.stderr, flush=True)
    history = synthetic(n_leads=args.leads, n_reps=args.reps, days=args.days, seed=1)
    made = len(history.leads)  # leads are built (and cached) before any clock starts
    print(f"{made:,} leads made", file=sys.stderr)
    default_behaviour(history)
    results, ledger = measure_engine(history, engine_policies(history), args.repeat)
    arrivals, touches, closes, ticks = loop_events(history, ledger)
    base_s = min(heapq_baseline(history, touches, closes) for _ in range(3))
    base_us = base_s / arrivals * 1e6

    print()
    runs = f"median of {args.repeat} runs" if args.repeat > 1 else "one run"
    print(
        f"simulate(): synthetic(n_leads={args.leads:,}, n_reps={args.reps}, days={args.days}), "
        f"one seed, {runs} per policy; behaviour = the history's truth"
    )
    print(
        f"| {'policy':<20} | {'seconds':>8} | {'leads/s':>9} | {'µs/lead':>8} | "
        f"{'× heapq loop':>12} | {'events':>9} |"
    )
    print(f"|{'-' * 22}|{'-' * 10}|{'-' * 11}|{'-' * 10}|{'-' * 14}|{'-' * 11}|")
    for r in results:
        print(
            f"| {r.policy:<20} | {r.seconds:8.2f} | {r.leads_per_second:9,.0f} | "
            f"{r.us_per_lead:8.1f} | {r.us_per_lead / base_us:12.1f} | {r.events:9,} |"
        )
    print(
        f"| {'bare heapq loop':<20} | {base_s:8.2f} | {arrivals / base_s:9,.0f} | "
        f"{base_us:8.1f} | {1.0:12.1f} | {'':>9} |"
    )
    print(
        f"baseline: {arrivals:,} arrivals + {touches:,} first touches + {closes:,} leads given up "
        f"+ {ticks:,} ticks (the EqualRotation run's) pushed and popped, nothing routed (best of "
        "3); × heapq loop = µs/lead over the baseline's µs/lead"
    )
    rows = engine_rows(results, base_us, args.reps)
    for r in rows:
        if r.aim is not None:
            print(f"aim: {r.measure} — {r.aim}: {r.ratio:.1f}× ({_met(r.met)})")
    aimed, how = projected_row(results[0], AIM_LEADS, 50, AIM_SECONDS, "sim_100k")
    if args.reps == 50:
        rows.append(aimed)
    print(
        f"aim: {AIM_LEADS:,} leads × 50 reps, EqualRotation, one seed ≤ {AIM_SECONDS:g} s — "
        f"{aimed.value:.1f} s ({how}, {args.reps} reps): {_met(aimed.met)}"
    )
    if not args.no_scale:
        print(f"scale run: {args.scale_leads:,} leads × {AIM_SCALE_REPS} reps ...", file=sys.stderr)
        scale = measure_scale(args.scale_leads, args.days)
        aimed, how = projected_row(
            scale, AIM_SCALE_LEADS, AIM_SCALE_REPS, AIM_SCALE_SECONDS, "sim_1m_200reps"
        )
        rows.append(aimed)
        print(
            f"aim: {AIM_SCALE_LEADS:,} leads × {AIM_SCALE_REPS} reps, EqualRotation, one seed "
            f"≤ {AIM_SCALE_SECONDS:g} s — {aimed.value:.0f} s ({how}: {scale.seconds:.1f} s, "
            f"{scale.us_per_lead:.1f} µs/lead): {_met(aimed.met)}"
        )
    if args.no_compare:
        return finish(args, rows)

    print(file=sys.stderr)
    small = synthetic(n_leads=args.compare_leads, n_reps=args.compare_reps, days=35, seed=2)
    print(f"{len(small.leads):,} leads made", file=sys.stderr)
    behaviour = default_behaviour(small)
    policies = compare_policies(small)
    print("\ncompare(): one seed of each policy alone")
    print(f"| {'policy':<20} | {'seconds':>8} | {'µs/lead':>8} |")
    print(f"|{'-' * 22}|{'-' * 10}|{'-' * 10}|")
    alone = 0.0
    for name, policy in policies.items():
        forget_kept()
        seconds, _ = timed(lambda policy=policy: simulate(small, policy, behaviour, seed=0))
        alone += seconds
        print(f"| {name:<20} | {seconds:8.2f} | {seconds / args.compare_leads * 1e6:8.1f} |")
    print(f"| {'sum':<20} | {alone:8.2f} | {'':>8} |")
    print(
        f"compare(synthetic(n_leads={args.compare_leads:,}, n_reps={args.compare_reps}, "
        f"days=35), {len(policies)} policies, seeds={args.seeds}, "
        f"processes={args.processes}) ...",
        file=sys.stderr,
        flush=True,
    )
    wall, _ = timed(lambda: compare(small, policies, seeds=args.seeds, processes=args.processes))
    runs = len(policies) * args.seeds
    print(
        f"compare wall time: {wall:.1f} s for {len(policies)} policies × {args.seeds} seeds "
        f"({runs} runs, processes={args.processes}); it includes what compare does besides the "
        "runs (its calibration replays, metrics, per-rep tables)"
    )
    runs_only = alone / len(policies) * DEMO_POLICIES * 5
    print(
        f"the runs alone for {DEMO_POLICIES} policies × 5 seeds, from the table above: "
        f"~{runs_only:.0f} s on one process"
    )
    scaled = wall * DEMO_POLICIES / len(policies)
    rows.append(
        row(
            "bench_sim",
            f"compare() {len(policies)} policies × {args.seeds} seeds, "
            f"{args.compare_leads:,} leads, scaled to {DEMO_POLICIES} policies",
            scaled,
            "s",
            aim_id="sim_compare" if args.seeds == 5 else None,
            at_most=AIM_COMPARE_SECONDS if args.seeds == 5 else None,
            note="the aim is for 5 seeds" if args.seeds != 5 else "",
        )
    )
    if args.seeds == 5:
        met = "within reach" if scaled <= AIM_COMPARE_SECONDS else "NOT within reach"
        print(
            f"aim: the demo's {DEMO_POLICIES} policies × 5 seeds ≤ {AIM_COMPARE_SECONDS:g} s — "
            f"this compare scaled by {DEMO_POLICIES}/{len(policies)}: {scaled:.0f} s ({met}; the "
            "demo's own fitting and report are not in this figure)"
        )
    else:
        print(f"aim: run with --seeds 5 to compare with the ≤ {AIM_COMPARE_SECONDS:g} s aim")
    return finish(args, rows)


def _met(met: bool | None) -> str:
    return "met" if met else "NOT met"


if __name__ == "__main__":
    raise SystemExit(main())
