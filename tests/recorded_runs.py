"""Recorded runs: fixed workloads whose every event is stored in tests/data/recorded_runs.json.gz,
so a refactor that changes a decision of the router or a simulated ledger fails a test
(tests/test_recorded_runs.py) instead of passing unseen.

Two kinds of workload:

- `router_runs`: a team of eight reps (regions, tiers, quotas, profiles) under region and skill
  rules, FixedCap and a Lifecycle, working three days of leads - routes (single and batched),
  claims, touches, tags, sales, releases, a hand-over and ticks - once per built-in strategy;
- `simulated_runs`: `simulate()` of every demo policy on a small synthetic history, under the
  history's true behaviour and under the behaviour fitted from it.

Regenerate the recording (only when a change of behaviour is intended, and say so in the commit)
with `python -m tests.recorded_runs`.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import leadrouter as lr
from leadrouter import rules
from leadrouter.stores.codec import encode_event

RECORDING = Path(__file__).parent / "data" / "recorded_runs.json.gz"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
REGIONS = ("north", "south", "east")
SEGMENTS = ("smb", "mid", "enterprise")


def _roster() -> list[lr.Rep]:
    rng = random.Random(7)
    return [
        lr.Rep(
            f"r{i}",
            team=f"t{i % 3}",
            tier=i % 2,
            regions=frozenset(rng.sample(REGIONS, rng.randint(1, 2))),
            skills=frozenset(rng.sample(SEGMENTS, rng.randint(1, 3))),
            quota=float(rng.randint(2, 6)),
            profile={"segment": rng.choice(SEGMENTS), "seniority": rng.randint(1, 5)},
        )
        for i in range(8)
    ]


def _strategies() -> dict[str, Callable[[], lr.Strategy]]:
    tiers = [
        lr.Tier(tier=0, strategy=lr.EqualRotation(), patience=timedelta(hours=2)),
        lr.Tier(tier=1, strategy=lr.PerformanceWeighted(), patience=timedelta(hours=4)),
    ]
    return {
        "equal-rotation": lr.EqualRotation,
        "performance-weighted": lambda: lr.PerformanceWeighted(window=timedelta(days=2)),
        "utilization-weighted": lambda: lr.UtilizationWeighted(window=timedelta(days=2)),
        "quota-proportional": lr.QuotaProportional,
        "grab-with-caps": lambda: lr.GrabWithCaps(held=3, daily=8),
        "profile-matching": lambda: lr.ProfileMatching(window=timedelta(days=2)),
        "tiered-delay": lambda: lr.TieredDelay(tiers),
        "explore": lambda: lr.Explore(lr.EqualRotation(), share=0.3),
        "hierarchical": lambda: lr.Hierarchical(team=lr.EqualRotation(), rep=lr.EqualRotation()),
    }


def _caps(name: str) -> list[lr.Cap]:
    if name == "equal-rotation":
        daily = lr.DynamicCaps(lr.FixedCap(daily=9), headroom=0.2, bounds=(2, 12))
        return [daily, lr.FixedCap(open=4)]
    return [lr.FixedCap(open=4, daily=9)]


def _router_events(name: str, make: Callable[[], lr.Strategy]) -> Iterator[lr.Event]:
    rng = random.Random(name)
    clock = lr.ManualClock(START)
    router = lr.Router(
        make(),
        _roster(),
        rules=[rules.region(), rules.skill()],
        caps=_caps(name),
        lifecycle=lr.Lifecycle(
            first_touch_sla=timedelta(minutes=45), expire_after=timedelta(days=1), reroute=True
        ),
        clock=clock,
        seed=11,
    )
    pull = router.strategy.tags.pull
    now = START
    for i in range(240):
        now += timedelta(minutes=rng.choice((3, 7, 12, 25)))
        if now.hour >= 19:
            now = now.replace(hour=8) + timedelta(days=1)
        clock.set(now)
        lead = lr.Lead(
            f"L{i}",
            now,
            source=rng.choice(("ads", "web", "referral")),
            region=rng.choice((*REGIONS, "")),
            segment=rng.choice(SEGMENTS),
            grade=rng.choice("ABC"),
        )
        if i % 17 == 16:
            extra = lr.Lead(f"L{i}b", now, region=rng.choice(REGIONS), segment="mid")
            router.route_many([lead, extra])
        else:
            router.route(lead)
        if pull:
            for lead_id in sorted(router.ledger.pool())[:2]:
                router.claim(rng.choice([r.id for r in router.reps]), lead_id)
        for lead_id, rep_id, _ in sorted(router.ledger.held())[: rng.randint(0, 2)]:
            verb = rng.random()
            if verb < 0.5:
                router.record(lr.Touched(lead_id, rep_id, now, reached=rng.random() < 0.6))
            elif verb < 0.7:
                router.record(lr.Tagged(lead_id, rep_id, now, valid=rng.random() < 0.7))
            elif verb < 0.8:
                router.record(lr.Converted(lead_id, rep_id, now, amount=float(rng.randint(1, 9))))
            elif verb < 0.9:
                router.release(lead_id, now=now)
        if i == 150:
            router.handover("r3", now)
        if i % 5 == 0:
            router.tick(now)
    router.tick(now + timedelta(days=2))
    yield from router.ledger.events()


ROUTER_RUNS = tuple(f"router/{name}" for name in _strategies())


def router_run(run: str) -> list[Any]:
    """Every event of the router workload `run` ("router/<strategy>"), as [kind, payload]."""
    name = run.removeprefix("router/")
    return _encoded(_router_events(name, _strategies()[name]))


def simulated_runs() -> dict[str, list[Any]]:
    """Every event `simulate()` writes for each demo policy, under the true and the fitted
    behaviour of a small synthetic history."""
    from leadrouter.sim import demo_policies, fit_behaviour, simulate, synthetic

    history = synthetic(n_leads=500, n_reps=6, days=12, seed=5)
    behaviours = {"truth": history.truth.behaviour(), "fitted": fit_behaviour(history)}
    runs = {}
    for label, behaviour in behaviours.items():
        for name, policy in demo_policies(history).items():
            run = simulate(history, policy, behaviour=behaviour, seed=3)
            runs[f"sim/{label}/{name}"] = _encoded(run.ledger.events())
    return runs


def _encoded(events: Iterator[lr.Event] | Any) -> list[Any]:
    return [list(encode_event(event)) for event in events]


def record() -> dict[str, list[Any]]:
    return {**{run: router_run(run) for run in ROUTER_RUNS}, **simulated_runs()}


def recorded() -> dict[str, list[Any]]:
    with gzip.open(RECORDING, "rt", encoding="utf-8") as f:
        data: dict[str, list[Any]] = json.load(f)
    return data


if __name__ == "__main__":
    runs = record()
    RECORDING.parent.mkdir(exist_ok=True)
    with gzip.GzipFile(RECORDING, "wb", mtime=0) as f:
        f.write(json.dumps(runs, sort_keys=True, separators=(",", ":")).encode())
    print(f"{len(runs)} runs, {sum(map(len, runs.values()))} events -> {RECORDING}")
