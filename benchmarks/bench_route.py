"""Benchmark: the cost of `Router.route()` per lead, against a minimal hand-written baseline.

Run from the project root::

    python benchmarks/bench_route.py                      # 100,000 and 1,000,000 leads
    python benchmarks/bench_route.py --quick              # 20,000 leads, a smoke test
    python benchmarks/bench_route.py --leads 100000 --json bench.json

What is measured, for each lead count:

- speed: `Router(EqualRotation(), reps, rules=[region(), skill()], caps=FixedCap(daily=...))`
  routing every lead with `now=lead.arrived_at`. The leads are made before the clock starts, so
  only routing is timed. A fresh router for every run; the median of `--repeat` runs below
  500,000 leads, one run above.
- the same bookkeeping written by hand with dicts and lists (the baseline): per-rep counts per
  day, the daily cap check, the least-recently-assigned eligible rep found through precomputed
  region/skill sets, and one event tuple appended per lead. It makes the same choices as the
  router (checked after the first run), so the ratio compares like with like.
- memory, in a separate run under tracemalloc (which slows everything, so it is never timed):
  traced memory after the leads are made, then after routing them all. The growth is split into
  the ledger (freed when the ledger is dropped), the router's own share (mostly its bounded log of
  the last 10,000 decisions) and what stays behind in module-level caches. Lead objects are the
  caller's and are reported separately, per lead.

Timings come from a shared, noisy machine: compare the router/baseline ratio, not the µs.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _rows import Row, as_dicts, row

import leadrouter as lr
from leadrouter import rules
from leadrouter._util import stable_key  # the seeded tie order EqualRotation uses

AIM_RATIO = 4.0
"""route() per lead over the hand-written baseline's, in the same run (issue 13)."""
AIM_BYTES_PER_EVENT = 300.0
SINGLE_RUN_FROM = 500_000
"""Lead counts at or above this are timed once; below it, the median of `--repeat` runs."""

BaselineEvent = tuple[str, str, str | None, datetime]


# ---------------------------------------------------------------------------------- workload


@dataclass(frozen=True)
class Workload:
    """The roster, the lead mix and the cap; the same for the router and the baseline."""

    reps: int = 200
    generalists: float = 0.2
    regions: tuple[str, ...] = (
        "north",
        "south",
        "east",
        "west",
        "central",
        "coast",
        "hills",
        "bay",
    )
    region_weights: tuple[float, ...] = (30, 18, 14, 12, 10, 8, 5, 3)
    no_region: float = 0.05
    products: tuple[str, ...] = ("crm", "erp", "hr", "bi", "pos")
    product_weights: tuple[float, ...] = (35, 25, 20, 12, 8)
    leads_per_day: int = 1_500
    daily_cap: int = 8
    seed: int = 7
    start: datetime = datetime(2025, 1, 6, tzinfo=UTC)

    def make_reps(self) -> list[lr.Rep]:
        """Generalists take anything; the others cover 1-2 regions and, half of them, 1-2
        products (the rest take any product)."""
        rng = random.Random(self.seed)
        reps = []
        for i in range(self.reps):
            rep_id = f"rep{i:03d}"
            if rng.random() < self.generalists:
                reps.append(lr.Rep(rep_id))
                continue
            regions = rng.sample(self.regions, rng.choice((1, 1, 2)))
            skills = rng.sample(self.products, rng.choice((1, 2))) if rng.random() < 0.5 else []
            reps.append(lr.Rep(rep_id, regions=frozenset(regions), skills=frozenset(skills)))
        return reps

    def make_leads(self, n: int) -> list[lr.Lead]:
        """`n` leads, evenly spread at `leads_per_day`, so daily caps reset many times."""
        rng = random.Random(self.seed + 1)
        step = 86_400 / self.leads_per_day
        regions = rng.choices(self.regions, self.region_weights, k=n)
        products = rng.choices(self.products, self.product_weights, k=n)
        return [
            lr.Lead(
                f"L{i:08d}",
                self.start + timedelta(seconds=i * step),
                region="" if rng.random() < self.no_region else regions[i],
                product=products[i],
            )
            for i in range(n)
        ]

    def make_router(self, reps: Sequence[lr.Rep], decision_log: int = 10_000) -> lr.Router:
        return lr.Router(
            lr.EqualRotation(),
            reps,
            rules=[rules.region(), rules.skill()],
            caps=lr.FixedCap(daily=self.daily_cap),
            decision_log=decision_log,
        )

    def describe(self, reps: Sequence[lr.Rep]) -> str:
        generalists = sum(1 for rep in reps if not rep.regions and not rep.skills)
        return (
            f"{len(reps)} reps ({generalists} generalists), {len(self.regions)} regions, "
            f"{len(self.products)} products, {self.leads_per_day:,} leads/day "
            f"(leads routed in arrival order, no tick())"
        )

    def describe_router(self) -> str:
        return (
            f"Router(EqualRotation(), reps, rules=[region(), skill()], "
            f"caps=FixedCap(daily={self.daily_cap})).route(lead, now=lead.arrived_at)"
        )


# ---------------------------------------------------------------------------------- baseline


@dataclass(frozen=True)
class BaselineSetup:
    """What the baseline precomputes once, before the clock starts."""

    order: tuple[str, ...]
    """Rep ids in EqualRotation's seeded tie order (the rotation before anyone is assigned)."""
    eligible: dict[tuple[str, str], frozenset[str]]
    """(lead region, lead product) -> ids of the reps the region and skill rules allow."""
    daily_cap: int


def baseline_setup(work: Workload, reps: Sequence[lr.Rep], seed: int = 0) -> BaselineSetup:
    order = tuple(sorted((rep.id for rep in reps), key=lambda rep_id: stable_key(seed, rep_id)))
    eligible = {
        (region, product): frozenset(
            rep.id
            for rep in reps
            if (not region or not rep.regions or region in rep.regions)
            and (not product or not rep.skills or product in rep.skills)
        )
        for region in ("", *work.regions)
        for product in ("", *work.products)
    }
    return BaselineSetup(order, eligible, work.daily_cap)


def run_baseline(leads: Sequence[lr.Lead], setup: BaselineSetup) -> list[BaselineEvent]:
    """Least-recently-assigned eligible rep under the daily cap, by hand."""
    rotation = dict.fromkeys(setup.order)  # insertion order = least recently assigned first
    eligible_by_key = setup.eligible
    cap = setup.daily_cap
    per_day: dict[int, dict[str, int]] = {}
    day_now = -1
    today: dict[str, int] = {}
    events: list[BaselineEvent] = []
    append = events.append
    for lead in leads:
        at = lead.arrived_at
        day = at.toordinal()
        if day != day_now:
            day_now = day
            today = per_day.setdefault(day, {})
        eligible = eligible_by_key[lead.region, lead.product]
        chosen = None
        for rep_id in rotation:
            if rep_id in eligible and today.get(rep_id, 0) < cap:
                chosen = rep_id
                break
        if chosen is None:
            append(("pooled", lead.id, None, at))
            continue
        del rotation[chosen]
        rotation[chosen] = None
        today[chosen] = today.get(chosen, 0) + 1
        append(("assigned", lead.id, chosen, at))
    return events


# ---------------------------------------------------------------------------------- timing


def time_router(router: lr.Router, leads: Sequence[lr.Lead]) -> float:
    """Seconds to route every lead through `router` (made before the clock starts)."""
    route = router.route
    start = time.perf_counter()
    for lead in leads:
        route(lead, now=lead.arrived_at)
    return time.perf_counter() - start


def time_baseline(leads: Sequence[lr.Lead], setup: BaselineSetup) -> float:
    """Seconds for the baseline; its event list is freed after the clock stops, like the
    router's ledger."""
    start = time.perf_counter()
    events = run_baseline(leads, setup)
    elapsed = time.perf_counter() - start
    del events
    return elapsed


@dataclass
class SpeedResult:
    leads: int
    runs: int
    router_us: list[float] = field(default_factory=list)
    baseline_us: list[float] = field(default_factory=list)
    events: int = 0
    assigned: int = 0
    waiting: int = 0
    same_choices: bool = False
    mismatches: int = 0

    @property
    def router_median(self) -> float:
        return statistics.median(self.router_us)

    @property
    def baseline_median(self) -> float:
        return statistics.median(self.baseline_us)

    @property
    def ratio(self) -> float:
        return self.router_median / self.baseline_median


def compare_choices(router: lr.Router, events: Sequence[BaselineEvent]) -> int:
    """How many leads the router and the baseline placed differently."""
    by_router: dict[str, str | None] = {}
    for event in router.ledger.events():
        if isinstance(event, lr.Assigned):
            by_router[event.lead_id] = event.rep_id
    return sum(1 for _, lead_id, rep_id, _ in events if by_router.get(lead_id) != rep_id)


def measure_speed(
    work: Workload, reps: Sequence[lr.Rep], leads: Sequence[lr.Lead], runs: int
) -> SpeedResult:
    """Router and baseline alternate, so a slow patch on the machine hits both."""
    n = len(leads)
    result = SpeedResult(leads=n, runs=runs)
    setup = baseline_setup(work, reps)
    for run in range(runs):
        router = work.make_router(reps)
        gc.collect()
        result.router_us.append(time_router(router, leads) / n * 1e6)
        if run == 0:
            events = run_baseline(leads, setup)
            result.mismatches = compare_choices(router, events)
            result.same_choices = result.mismatches == 0
            result.events = len(router.ledger)
            result.assigned = sum(1 for event in events if event[2] is not None)
            result.waiting = n - result.assigned
            del events
        del router
        gc.collect()
        result.baseline_us.append(time_baseline(leads, setup) / n * 1e6)
    return result


# ---------------------------------------------------------------------------------- memory


@dataclass
class MemoryResult:
    leads: int
    events: int
    lead_bytes: float
    """Traced bytes per Lead object (the caller's; the ledger keeps them alive)."""
    total_bytes: int
    """Growth of traced memory from after the leads were made to after routing them all."""
    ledger_bytes: int
    router_bytes: int
    """The router's own share: the decision log (last 10,000 decisions) and small caches."""
    module_bytes: int
    """What stays after router and ledger are gone: module-level lru caches (bounded)."""
    capped_leads: int
    """Leads for which at least one eligible rep was skipped because of the daily cap."""

    @property
    def total_per_event(self) -> float:
        return self.total_bytes / self.events

    @property
    def ledger_per_event(self) -> float:
        return self.ledger_bytes / self.events


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def measure_memory(work: Workload, n: int) -> MemoryResult:
    reps = work.make_reps()
    gc.collect()
    tracemalloc.start()
    try:
        empty = _traced()
        leads = work.make_leads(n)
        before = _traced()
        router = work.make_router(reps)
        route = router.route
        capped = 0
        for lead in leads:
            decision = route(lead, now=lead.arrived_at)
            for reason in decision.reasons:
                if reason.code == "capped":
                    capped += 1
                    break
        del decision, route
        after = _traced()
        ledger = router.ledger
        events = len(ledger)
        del router
        with_ledger = _traced()
        del ledger
        rest = _traced()
    finally:
        tracemalloc.stop()
    return MemoryResult(
        leads=n,
        events=events,
        lead_bytes=(before - empty) / n,
        total_bytes=after - before,
        ledger_bytes=with_ledger - rest,
        router_bytes=after - with_ledger,
        module_bytes=rest - before,
        capped_leads=capped,
    )


# ---------------------------------------------------------------------------------- report


def _check(value: float, aim: float) -> str:
    return "yes" if value <= aim else "NO"


def report(
    work: Workload,
    reps: Sequence[lr.Rep],
    speeds: Sequence[SpeedResult],
    memories: Sequence[MemoryResult],
) -> str:
    lines = [
        "leadrouter Router.route() benchmark",
        f"Python {platform.python_version()} ({platform.python_implementation()}) on "
        f"{platform.system()} {platform.machine()}; leadrouter {lr.__version__}",
        f"workload: {work.describe(reps)}",
        f"router:   {work.describe_router()}",
        "note: timings are on a shared, noisy machine; the router/baseline ratio is the figure",
        "      to compare, not the absolute µs. Lead creation is not timed.",
        "",
        "speed (µs per routed lead; median of runs, a fresh router each run)",
        f"{'leads':>11} {'runs':>4} {'router':>8} {'baseline':>9} {'ratio':>6} "
        f"{'aim':>5} {'met':>4} {'waiting':>8} {'same picks':>10}",
    ]
    for s in speeds:
        same = "yes" if s.same_choices else f"NO ({s.mismatches:,})"
        lines.append(
            f"{s.leads:>11,} {s.runs:>4} {s.router_median:>8.2f} {s.baseline_median:>9.2f} "
            f"{s.ratio:>6.1f} {f'≤{AIM_RATIO:g}×':>5} "
            f"{_check(s.ratio, AIM_RATIO):>4} "
            f"{s.waiting / s.leads:>8.1%} {same:>10}"
        )
    for s in speeds:
        if s.runs > 1:
            runs = ", ".join(f"{r:.2f}" for r in s.router_us)
            base = ", ".join(f"{b:.2f}" for b in s.baseline_us)
            lines.append(f"{'':>11} all runs {s.leads:,}: router [{runs}]  baseline [{base}]")
    lines += [
        "",
        "memory (tracemalloc, separate untimed run; bytes per ledger event)",
        f"{'leads':>11} {'events':>10} {'total':>6} {'ledger':>7} {'aim':>4} {'met':>4} "
        f"{'decision log':>13} {'module caches':>14} {'capped':>7} {'B/lead obj':>10}",
    ]
    for m in memories:
        lines.append(
            f"{m.leads:>11,} {m.events:>10,} {m.total_per_event:>6.0f} {m.ledger_per_event:>7.0f} "
            f"{AIM_BYTES_PER_EVENT:>4.0f} {_check(m.ledger_per_event, AIM_BYTES_PER_EVENT):>4} "
            f"{m.router_bytes / 1e6:>10.1f} MB {m.module_bytes / 1e6:>11.1f} MB "
            f"{m.capped_leads / m.leads:>7.1%} {m.lead_bytes:>10.0f}"
        )
    lines += [
        "",
        "total = (traced after routing - traced after making the leads) / events; ledger = what",
        "dropping the ledger frees; decision log = the router's own share (its last 10,000",
        "decisions; Router(decision_log=0) keeps none); module caches = lru caches left behind.",
        "Lead objects are the caller's and not counted as ledger memory (B/lead obj). capped =",
        "leads for which the daily cap made the router skip at least one eligible rep; waiting =",
        "leads no eligible rep under the cap could take (left in the public pool).",
        "baseline = dicts and lists by hand: per-rep counts per day, cap check, least recently",
        "assigned eligible rep via precomputed region/skill sets, one event tuple per lead. It",
        "does no validation, writes no Arrived event, keeps no per-lead state, gives no reasons.",
    ]
    return "\n".join(lines)


def summary_rows(speeds: Sequence[SpeedResult], memories: Sequence[MemoryResult]) -> list[Row]:
    """The figures for `run_all.py`'s table: route() over the baseline per lead count, and ledger
    bytes per event."""
    rows = [
        row(
            "bench_route",
            f"route() per lead, {s.leads:,} leads, vs hand-written loop",
            s.router_median,
            "µs/lead",
            baseline=s.baseline_median,
            aim_id="route_vs_loop",
            at_most=AIM_RATIO,
            on="ratio",
            note="" if s.same_choices else f"{s.mismatches:,} leads placed differently",
        )
        for s in speeds
    ]
    rows += [
        row(
            "bench_route",
            f"ledger memory, {m.leads:,} leads",
            m.ledger_per_event,
            "bytes/event",
            aim_id="route_memory",
            at_most=AIM_BYTES_PER_EVENT,
        )
        for m in memories
    ]
    return rows


def to_json(
    work: Workload,
    reps: Sequence[lr.Rep],
    speeds: Sequence[SpeedResult],
    memories: Sequence[MemoryResult],
) -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "leadrouter": lr.__version__,
        "workload": work.describe(reps),
        "router": work.describe_router(),
        "aims": {"ratio_to_baseline": AIM_RATIO, "bytes_per_event": AIM_BYTES_PER_EVENT},
        "speed": [
            {
                **asdict(s),
                "router_us_median": s.router_median,
                "baseline_us_median": s.baseline_median,
                "ratio": s.ratio,
            }
            for s in speeds
        ],
        "memory": [
            {
                **asdict(m),
                "total_bytes_per_event": m.total_per_event,
                "ledger_bytes_per_event": m.ledger_per_event,
            }
            for m in memories
        ],
        "rows": as_dicts(summary_rows(speeds, memories)),
    }


# ---------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument(
        "--leads",
        type=int,
        nargs="+",
        default=[100_000, 1_000_000],
        help="lead counts to route (default: 100000 1000000)",
    )
    parser.add_argument("--quick", action="store_true", help="a small run: 20,000 leads")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help=f"timed runs per lead count below {SINGLE_RUN_FROM:,} (median reported; default 3)",
    )
    parser.add_argument(
        "--daily-cap",
        type=int,
        default=Workload.daily_cap,
        help=f"FixedCap(daily=...) for every rep (default {Workload.daily_cap})",
    )
    parser.add_argument(
        "--leads-per-day",
        type=int,
        default=Workload.leads_per_day,
        help=f"arrival rate; with the default cap about 14%% of leads meet a capped rep and "
        f"5%% wait (default {Workload.leads_per_day})",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc run")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.leads = [20_000]
    if min(*args.leads, args.repeat, args.daily_cap, args.leads_per_day) < 1:
        parser.error("--leads, --repeat, --daily-cap and --leads-per-day must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    work = Workload(daily_cap=args.daily_cap, leads_per_day=args.leads_per_day)
    reps = work.make_reps()
    speeds: list[SpeedResult] = []
    memories: list[MemoryResult] = []
    for n in args.leads:
        runs = args.repeat if n < SINGLE_RUN_FROM else 1
        print(f"{n:,} leads: making leads, timing {runs} run(s)...", file=sys.stderr, flush=True)
        leads = work.make_leads(n)
        speeds.append(measure_speed(work, reps, leads, runs))
        del leads
        if not args.no_memory:
            print(f"{n:,} leads: memory run (tracemalloc)...", file=sys.stderr, flush=True)
            memories.append(measure_memory(work, n))
    print(report(work, reps, speeds, memories))
    if args.json is not None:
        args.json.write_text(json.dumps(to_json(work, reps, speeds, memories), indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
