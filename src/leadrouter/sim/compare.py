"""Compare routing policies on one History with common random numbers and paired intervals.

`compare(history, {"name": policy, ...}, seeds=10)` runs every policy once per seed. A seed is a
replicate: fresh outcome draws (every lead's row of uniforms and every rep-day uniform are keyed
by the seed), shared by every policy within that seed, so each policy sees the same leads and the
same luck (DESIGN §7). Levels are reported with a 95% predictive interval across replicates;
differences to the baseline as a paired t-interval over seeds. A policy compared with itself gives
exactly zero difference with a zero-width interval.

The intervals cover the randomness of outcomes under the behaviour model; they exclude model
misspecification (a wrong contact decay, rep effects never seen in history) and, for now, the
uncertainty of a fitted model's parameters (no Bayesian bootstrap of leads yet).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from multiprocessing import get_all_start_methods, get_context
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import pandas as pd

from leadrouter.errors import ConfigError
from leadrouter.events import Assigned, Claimed, Converted, Touched
from leadrouter.sim.engine import Behaviour, Policy, SimRun, default_behaviour, simulate

if TYPE_CHECKING:
    from leadrouter.sim.history import History

__all__ = ["METRICS", "PER_REP_COLUMNS", "Comparison", "compare", "metrics", "per_rep"]

METRICS = (
    "conversion_rate",
    "revenue",
    "roi",
    "cost_per_sale",
    "speed_to_lead_median",
    "coverage",
    "wasted",
    "gini",
    "max_over_mean",
    "sla_breaches",
    "reassignments",
)
"""Every metric `metrics()` returns, in table order."""

PER_REP_COLUMNS = ("received", "touched", "reached", "converted", "revenue", "speed_median")


def _first_touches(run: SimRun) -> dict[str, tuple[str, Any, bool]]:
    found: dict[str, tuple[str, Any, bool]] = {}
    for event in run.ledger.events():
        if isinstance(event, Touched) and event.lead_id not in found:
            found[event.lead_id] = (event.rep_id, event.at, event.reached)
    return found


def _gini(values: np.ndarray[Any, Any]) -> float:
    if len(values) == 0 or values.sum() == 0:
        return 0.0
    ordered = np.sort(values.astype(float))
    n = len(ordered)
    ranks = np.arange(1, n + 1)
    return float((2 * (ranks * ordered).sum()) / (n * ordered.sum()) - (n + 1) / n)


def metrics(run: SimRun, sla: timedelta = timedelta(hours=1)) -> dict[str, float]:
    """The run's metrics, read from its ledger.

    `conversion_rate`: sales / leads. `revenue`: sum of sale amounts. `roi`: (revenue − lead
    cost) / lead cost (NaN with no cost). `cost_per_sale`: lead cost / sales (NaN with no sale).
    `speed_to_lead_median`: median minutes from arrival to first touch, over touched leads.
    `coverage`: share of leads first-touched within `sla` of arrival. `wasted`: share never
    touched. `sla_breaches`: leads touched, but later than `sla` (so coverage + breaches / leads +
    wasted = 1). `gini` and `max_over_mean`: of leads received (assigned or claimed) per rep on
    the roster. `reassignments`: receipts beyond each lead's first.
    """
    leads = run.leads
    n = len(leads)
    arrived = {lead.id: lead.arrived_at for lead in leads}
    cost = float(sum(lead.cost for lead in leads))
    sales = 0
    revenue = 0.0
    receipts: dict[str, int] = {rep.id: 0 for rep in run.reps}
    per_lead: dict[str, int] = {}
    for event in run.ledger.events():
        if isinstance(event, Converted):
            sales += 1
            revenue += event.amount
        elif isinstance(event, Assigned | Claimed):
            receipts[event.rep_id] = receipts.get(event.rep_id, 0) + 1
            per_lead[event.lead_id] = per_lead.get(event.lead_id, 0) + 1
    first = _first_touches(run)
    speeds = np.array(
        [(at - arrived[lead_id]).total_seconds() / 60.0 for lead_id, (_, at, _) in first.items()]
    )
    limit = sla.total_seconds() / 60.0
    within = int((speeds <= limit).sum()) if len(speeds) else 0
    loads = np.array(list(receipts.values()), dtype=float)
    mean_load = loads.mean() if len(loads) else 0.0
    return {
        "conversion_rate": sales / n if n else math.nan,
        "revenue": revenue,
        "roi": (revenue - cost) / cost if cost > 0 else math.nan,
        "cost_per_sale": cost / sales if sales else math.nan,
        "speed_to_lead_median": float(np.median(speeds)) if len(speeds) else math.nan,
        "coverage": within / n if n else math.nan,
        "wasted": (n - len(first)) / n if n else math.nan,
        "gini": _gini(loads),
        "max_over_mean": float(loads.max() / mean_load) if mean_load > 0 else math.nan,
        "sla_breaches": float(len(first) - within),
        "reassignments": float(sum(count - 1 for count in per_lead.values() if count > 1)),
    }


def per_rep(run: SimRun, sla: timedelta = timedelta(hours=1)) -> pd.DataFrame:
    """One row per rep on the roster (index `rep_id`), columns `PER_REP_COLUMNS`: leads
    received, first touches made, of them reached, sales, revenue, and median minutes from
    arrival to their first touches."""
    del sla
    arrived = {lead.id: lead.arrived_at for lead in run.leads}
    rows: dict[str, dict[str, float]] = {
        rep.id: {name: 0.0 for name in PER_REP_COLUMNS} for rep in run.reps
    }
    speeds: dict[str, list[float]] = {rep.id: [] for rep in run.reps}
    for event in run.ledger.events():
        if isinstance(event, Assigned | Claimed):
            rows.setdefault(event.rep_id, {name: 0.0 for name in PER_REP_COLUMNS})
            rows[event.rep_id]["received"] += 1
        elif isinstance(event, Converted):
            rows[event.rep_id]["converted"] += 1
            rows[event.rep_id]["revenue"] += event.amount
    for lead_id, (rep, at, reached) in _first_touches(run).items():
        rows[rep]["touched"] += 1
        rows[rep]["reached"] += int(reached)
        speeds.setdefault(rep, []).append((at - arrived[lead_id]).total_seconds() / 60.0)
    for rep, values in speeds.items():
        rows[rep]["speed_median"] = float(np.median(values)) if values else math.nan
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(PER_REP_COLUMNS))
    frame.index.name = "rep_id"
    return frame


@attrs.frozen
class Comparison:
    """The result of `compare`: `results` holds one row per (policy, seed) with every metric;
    `baseline` names the policy differences are taken to; `per_rep` one frame per policy (rep
    tables summed over seeds, divided by the number of seeds)."""

    results: pd.DataFrame = attrs.field(eq=False, repr=False)
    baseline: str
    policies: tuple[str, ...]
    seeds: tuple[int, ...]
    per_rep: Mapping[str, pd.DataFrame] = attrs.field(eq=False, repr=False)

    def table(self, level: float = 0.95) -> pd.DataFrame:
        """One row per policy (index = policy name, in the order given), per metric the columns
        `<metric>`, `<metric>_lo`, `<metric>_hi` (mean across seeds and a `level` predictive
        interval: the quantiles of the seeds' values) and `<metric>_diff`, `<metric>_diff_lo`,
        `<metric>_diff_hi` (mean paired difference to the baseline and its t-interval)."""
        from scipy import stats

        alpha = (1.0 - level) / 2.0
        base = self.results[self.results["policy"] == self.baseline].set_index("seed")
        rows: dict[str, dict[str, float]] = {}
        n = len(self.seeds)
        t = float(stats.t.ppf(1.0 - alpha, n - 1)) if n > 1 else math.nan
        for name in self.policies:
            own = self.results[self.results["policy"] == name].set_index("seed")
            row: dict[str, float] = {}
            for metric in METRICS:
                values = own[metric].to_numpy(dtype=float)
                diffs = (own[metric] - base[metric]).to_numpy(dtype=float)
                row[metric] = _nanmean(values)
                row[f"{metric}_lo"] = _quantile(values, alpha)
                row[f"{metric}_hi"] = _quantile(values, 1.0 - alpha)
                mean, half = _paired(diffs, t)
                row[f"{metric}_diff"] = mean
                row[f"{metric}_diff_lo"] = mean - half
                row[f"{metric}_diff_hi"] = mean + half
            rows[name] = row
        columns = [
            f"{metric}{suffix}"
            for metric in METRICS
            for suffix in ("", "_lo", "_hi", "_diff", "_diff_lo", "_diff_hi")
        ]
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
        frame.index.name = "policy"
        return frame


def _nanmean(values: np.ndarray[Any, Any]) -> float:
    kept = values[~np.isnan(values)]
    return float(kept.mean()) if len(kept) else math.nan


def _quantile(values: np.ndarray[Any, Any], q: float) -> float:
    kept = values[~np.isnan(values)]
    return float(np.quantile(kept, q)) if len(kept) else math.nan


def _paired(diffs: np.ndarray[Any, Any], t: float) -> tuple[float, float]:
    """Mean of the paired differences and the half-width of its t-interval (0 when every
    difference is equal, NaN with fewer than two usable seeds)."""
    kept = diffs[~np.isnan(diffs)]
    if len(kept) == 0:
        return math.nan, math.nan
    mean = float(kept.mean())
    if len(kept) < 2:
        return mean, math.nan
    spread = float(kept.std(ddof=1))
    if spread == 0.0:
        return mean, 0.0
    if len(kept) != len(diffs):
        from scipy import stats

        t = float(stats.t.ppf(0.975, len(kept) - 1))
    return mean, t * spread / math.sqrt(len(kept))


def _run_seed(
    history: History,
    policies: Mapping[str, Policy],
    behaviour: Behaviour,
    seed: int,
    sla: timedelta,
) -> tuple[list[dict[str, Any]], dict[str, pd.DataFrame]]:
    rows: list[dict[str, Any]] = []
    tables: dict[str, pd.DataFrame] = {}
    for name, policy in policies.items():
        run = simulate(history, policy, behaviour, seed=seed)
        rows.append({"policy": name, "seed": seed, **metrics(run, sla)})
        tables[name] = per_rep(run, sla)
    return rows, tables


_SHARED: list[tuple[Any, ...]] = []


def _share(job: tuple[Any, ...]) -> None:
    """Worker initializer: with the fork start method the job is inherited, never pickled (a
    History or a behaviour model need not be picklable)."""
    _SHARED[:] = [job]


def _shared_seed(seed: int) -> tuple[list[dict[str, Any]], dict[str, pd.DataFrame]]:
    history, policies, behaviour, sla = _SHARED[0]
    return _run_seed(history, policies, behaviour, seed, sla)


def compare(
    history: History,
    policies: Mapping[str, Policy],
    seeds: int | Iterable[int] = 10,
    behaviour: Behaviour | None = None,
    baseline: str | None = None,
    sla: timedelta = timedelta(hours=1),
    processes: int = 1,
) -> Comparison:
    """Simulate every policy on `history` once per seed, with common random numbers.

    `seeds`: a count (seeds 0 … n−1) or the seeds themselves. `behaviour`: any object with the
    `Behaviour` methods; None takes the truth of a synthetic History and raises
    BehaviourNeededError for any other. `baseline`: the policy differences are taken to (the
    first by default). `processes > 1` runs seeds in parallel forked worker processes (where the
    platform can fork; elsewhere, e.g. Windows, seeds run one after another).
    """
    if not policies:
        raise ConfigError("compare needs at least one policy: {'name': strategy, ...}")
    names = tuple(policies)
    if baseline is None:
        baseline = names[0]
    if baseline not in policies:
        raise ConfigError(f"baseline {baseline!r} is not one of the policies {list(names)}")
    seed_list = tuple(range(seeds)) if isinstance(seeds, int) else tuple(seeds)
    if not seed_list:
        raise ConfigError("compare needs at least one seed (seeds=10 is usual; 10-20)")
    if len(set(seed_list)) != len(seed_list):
        raise ConfigError(f"seeds must be distinct, got {list(seed_list)}")
    if processes < 1:
        raise ConfigError(f"processes must be >= 1, got {processes}")
    if behaviour is None:
        behaviour = default_behaviour(history)
    job = (history, dict(policies), behaviour, sla)
    if processes == 1 or len(seed_list) == 1 or "fork" not in get_all_start_methods():
        outputs = [_run_seed(*job[:3], seed, sla) for seed in seed_list]
    else:
        context = get_context("fork")
        with ProcessPoolExecutor(
            max_workers=processes, mp_context=context, initializer=_share, initargs=(job,)
        ) as pool:
            outputs = list(pool.map(_shared_seed, seed_list))
    rows = [row for out, _ in outputs for row in out]
    tables: dict[str, pd.DataFrame] = {}
    for name in names:
        total = outputs[0][1][name]
        for _, out in outputs[1:]:
            total = total.add(out[name], fill_value=0.0)
        tables[name] = total / len(seed_list)
    results = pd.DataFrame(rows, columns=["policy", "seed", *METRICS])
    return Comparison(results, baseline, names, seed_list, tables)
