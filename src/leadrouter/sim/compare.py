"""Compare routing policies on one History with common random numbers and paired intervals.

`compare(history, {"name": policy, ...}, seeds=20)` runs every policy once per seed. A seed is a
replicate: a draw of the behaviour model's parameters (for a model that can redraw itself, such as
a fitted one: a Bayesian bootstrap of the history's leads; up to four consecutive seeds share one
draw) plus fresh outcome draws (every lead's row of uniforms and every rep-day uniform are keyed by
the seed), shared by every policy within that seed, so each policy sees the same leads, the same
model and the same luck (DESIGN §7). Each policy's expected outcome on this lead stream, and each
paired difference to the baseline, is reported with a 95% interval that carries the parameter
uncertainty and the Monte Carlo error (`leadrouter.sim.intervals`). A policy compared with itself
gives exactly zero difference with a zero-width interval.

The intervals cover the fitted model's parameter uncertainty; they exclude model misspecification
(a wrong contact decay, rep effects never seen in history). Two diagnostics say how far to trust
a difference: `extrapolated_share` (the share of a policy's assignments to rep x segment pairs the
history never saw, whose conversion is extrapolated) and `conversion_mechanical` (the conversion a
policy would get if every rep closed at the team's rate: its difference is what speed, contact and
coverage alone explain; the rest of a conversion difference rests on the rep model).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from datetime import timedelta
from multiprocessing import get_all_start_methods, get_context
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import pandas as pd

from leadrouter.errors import ConfigError, MissingExtraError
from leadrouter.sim.arguments import check_history, check_options, check_policies, check_seeds
from leadrouter.sim.biases import known_biases
from leadrouter.sim.engine import Behaviour, Policy, default_behaviour, replicate, simulate
from leadrouter.sim.intervals import draws_shared, expected_interval, share_draws
from leadrouter.sim.metrics import (
    LOWER_IS_BETTER,
    METRIC_KINDS,
    METRICS,
    PER_REP_COLUMNS,
    first_touches,
    metrics,
    per_rep,
    run_metrics,
    run_per_rep,
    seen_pairs,
    touch_speeds,
    within_range,
)

if TYPE_CHECKING:
    from leadrouter.sim.calibration import Calibration
    from leadrouter.sim.history import History
    from leadrouter.strategies.base import Strategy

__all__ = [
    "METRICS",
    "METRIC_KINDS",
    "PER_REP_COLUMNS",
    "SCENARIOS",
    "Comparison",
    "compare",
    "metrics",
    "per_rep",
    "seen_pairs",
    "sensitivity",
]

Progress = Callable[[int, int], None]
"""`progress(done, total)`: called as (policy, seed) runs finish."""


@attrs.frozen
class Comparison:
    """The result of `compare`.

    - `results`: one row per (policy, seed) with every metric in `METRICS`;
    - `baseline`: the policy differences are taken to; `policies`, `seeds`: as run;
    - `per_rep`: one frame per policy (rep tables summed over seeds, divided by their number);
    - `speeds`: per policy, minutes from arrival to first touch of every touched lead, pooled
      over seeds (for distributions);
    - `calibration`: the calibration verdict (`leadrouter.sim.calibration.Calibration`), None
      when `compare` was asked not to check;
    - `replicates`: what a seed redraws (model parameters and outcomes, or outcomes only);
    - `assumption_driven`: per policy, the metrics whose values rest on an assumption rather
      than on the history, each with why (see `caveats`);
    - `draws`: the parameter draw each seed used (up to four seeds share one
      draw, see `leadrouter.sim.intervals`), None when the model's parameters were taken as known;
    - `biases`: per policy, what a fitted model is known to get wrong for its kind (routing by
      skill under-stated where reps differ a lot; `leadrouter.sim.biases`), said
      in `caveats`;
    - `sla`: the response-time target of `coverage` and `sla_breaches` (`compare(sla=)`).
    """

    results: pd.DataFrame = attrs.field(eq=False, repr=False)
    baseline: str
    policies: tuple[str, ...]
    seeds: tuple[int, ...]
    per_rep: Mapping[str, pd.DataFrame] = attrs.field(eq=False, repr=False)
    speeds: Mapping[str, np.ndarray[Any, Any]] = attrs.field(eq=False, repr=False, factory=dict)
    calibration: Calibration | None = attrs.field(default=None, eq=False, repr=False)
    replicates: str = "outcome draws"
    assumption_driven: Mapping[str, Mapping[str, str]] = attrs.field(
        eq=False, repr=False, factory=dict
    )
    draws: tuple[int, ...] | None = None
    not_identified: Mapping[str, Mapping[str, str]] = attrs.field(
        eq=False, repr=False, factory=dict
    )
    """Per policy, the metrics whose difference to the baseline the history cannot identify,
    each with why: their `_diff`, `_diff_lo`, `_diff_hi` cells in `table()` are NaN (see
    `_not_identified`)."""
    biases: Mapping[str, str] = attrs.field(eq=False, repr=False, factory=dict)
    """Per policy, what the fitted model is known to get wrong for its kind (`sim.biases`)."""
    behaviour: Any = attrs.field(default=None, eq=False, repr=False)
    """The behaviour model the policies were simulated under (the one given, the fit `compare`
    made, or a synthetic history's truth), so the report describes that model and no other."""
    sla: timedelta = timedelta(hours=1)
    """The response-time target `coverage` and `sla_breaches` were counted against, so the
    report states it and draws it where the figures were measured."""

    def table(self, level: float = 0.95) -> pd.DataFrame:
        """One row per policy (index = policy name, in the order given), per metric the columns
        `<metric>`, `<metric>_lo`, `<metric>_hi` (the expected outcome over the replicates and
        its `level` interval) and `<metric>_diff`, `<metric>_diff_lo`, `<metric>_diff_hi` (the
        expected paired difference to the baseline and its interval).

        The estimand is the policy's expected outcome on this lead stream; the interval is the
        prediction interval of one more parameter draw over the means of the groups of seeds that
        share one draw, so it carries the model's parameter uncertainty and does not shrink to
        nothing as seeds grow (`leadrouter.sim.intervals`)."""
        base = self.results[self.results["policy"] == self.baseline].set_index("seed")
        draws = self.draws
        rows: dict[str, dict[str, float]] = {}
        for name in self.policies:
            own = self.results[self.results["policy"] == name].set_index("seed")
            row: dict[str, float] = {}
            for metric in METRICS:
                values = own.loc[list(self.seeds), metric].to_numpy(dtype=float)
                diffs = values - base.loc[list(self.seeds), metric].to_numpy(dtype=float)
                mean, lo, hi = expected_interval(values, draws, level)
                row[metric] = mean
                row[f"{metric}_lo"], row[f"{metric}_hi"] = within_range(metric, lo, hi)
                mean, lo, hi = expected_interval(diffs, draws, level)
                row[f"{metric}_diff"] = mean
                row[f"{metric}_diff_lo"] = lo
                row[f"{metric}_diff_hi"] = hi
            rows[name] = row
        columns = [
            f"{metric}{suffix}"
            for metric in METRICS
            for suffix in ("", "_lo", "_hi", "_diff", "_diff_lo", "_diff_hi")
        ]
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
        frame.index.name = "policy"
        return _blank_not_identified(frame, self.not_identified)

    def caveats(self) -> list[str]:
        """Plain sentences on what the results cannot show, for reports: what a replicate
        redraws, what the intervals exclude, which differences the export cannot identify
        (`not_identified`: "this export cannot tell these policies apart on sales", with why)
        and each policy's assumption-driven metrics."""
        lines = [
            f"Each seed is a replicate: {self.replicates}. Intervals exclude model "
            "misspecification (a wrong contact decay, rep effects the history never showed).",
        ]
        if len(self.seeds) < 2:
            lines.append(
                "One seed gives estimates but no intervals (their columns are blank): an interval "
                "needs the spread between replicates; run seeds=20."
            )
        lines += [f"{name}: {self.biases[name]}." for name in self.policies if name in self.biases]
        for name in self.policies:
            driven = self.assumption_driven.get(name, {})
            if driven:
                why = "; ".join(sorted({part for v in driven.values() for part in v.split("; ")}))
                lines.append(f"{name}: assumption-driven - {', '.join(driven)} (because {why}).")
        blank: dict[tuple[str, str], list[str]] = {}
        for name in self.policies:
            for metric, why in self.not_identified.get(name, {}).items():
                blank.setdefault((metric, why), []).append(name)
        for at, why in enumerate(dict.fromkeys(why for _, why in blank), start=1):
            metrics = [m for m, w in blank if w == why]
            names = list(dict.fromkeys(n for (_, w), ns in blank.items() if w == why for n in ns))
            lines.insert(
                at,
                f"{CANNOT_TELL[0].upper()}{CANNOT_TELL[1:]}: {why}. The differences to "
                f"{self.baseline} in {', '.join(metrics)} of {', '.join(names)} are not "
                "identifiable (left blank).",
            )
        return lines

    def _repr_html_(self) -> str:
        """The comparison in a notebook: one row per key metric, each policy's level as
        "x (lo-hi)" and each paired difference to the baseline as "d (lo to hi)", marked
        better / worse / different when its interval excludes 0 (95% intervals, written as the
        report writes them), then the calibration verdict and the caveats in plain words."""
        from leadrouter._html import render
        from leadrouter.sim import formats
        from leadrouter.sim.labels import metric_label

        table = self.table().to_dict(orient="index")
        others = [name for name in self.policies if name != self.baseline]

        def scale(metric: str, suffix: str) -> formats.Scale:
            """One scale for a metric's row (its levels, or its differences), so a mean and
            its interval never mix units: never "-7,981 (-73.6k to +57.6k)"."""
            parts = (f"{metric}{suffix}{end}" for end in ("", "_lo", "_hi"))
            return formats.scale_for(metric, [row[c] for row in table.values() for c in parts])

        def level(name: str, metric: str) -> str:
            mean, lo, hi = (table[name][f"{metric}{part}"] for part in ("", "_lo", "_hi"))
            mark = formats.ASSUMED if metric in self.assumption_driven.get(name, {}) else ""
            at = scale(metric, "")
            shown = formats.fmt_range(metric, lo, hi, scale=at)
            return f"{formats.fmt_level(metric, mean, at)}{mark} ({shown})"

        def diff(name: str, metric: str) -> str:
            if metric in self.not_identified.get(name, {}):
                return formats.NOT_IDENTIFIED
            mean, lo, hi = (table[name][f"{metric}_diff{part}"] for part in ("", "_lo", "_hi"))
            assumed = metric in self.assumption_driven.get(name, {})
            told = formats.tone(metric, lo, hi, assumed)
            at = scale(metric, "_diff")
            shown = (
                f"{formats.fmt_diff(metric, mean, at)}{formats.ASSUMED if assumed else ''} "
                f"({formats.fmt_range(metric, lo, hi, True, scale=at)})"
            )
            return shown + (f": {told}" if told else "")

        rows = [
            (
                metric_label(metric).label,
                *(level(name, metric) for name in self.policies),
                *(diff(name, metric) for name in others),
            )
            for metric in formats.KEY_METRICS
        ]
        header = ("metric", *self.policies, *(f"{name} - {self.baseline}" for name in others))
        verdict = self.calibration.summary().splitlines()[0] if self.calibration else None
        notes = [verdict or "Calibration was not run: every number is unchecked."]
        title = f"Comparison over {len(self.seeds)} seeds, differences to {self.baseline}"
        return render(title, rows, header=header, notes=[*notes, *formats.caveats(self)])


@attrs.frozen
class _Outcome:
    rows: list[dict[str, Any]]
    tables: dict[str, pd.DataFrame]
    speeds: dict[str, np.ndarray[Any, Any]]


@attrs.frozen(eq=False)
class _Job:
    """Everything a seed's runs need, shared by every seed (and inherited by forked workers)."""

    history: History
    policies: Mapping[str, Policy]
    behaviour: Behaviour
    sla: timedelta
    seen: frozenset[tuple[str, str]] | None
    draws: bool
    engine: Mapping[str, Any]

    def run(self, seed: int, draw: int, done: Callable[[], None] | None = None) -> _Outcome:
        """Every policy once with `seed`'s random numbers and the model's parameter draw
        `draw`: the same model replicate and luck for every policy."""
        model = replicate(self.behaviour, draw) if self.draws else self.behaviour
        out = _Outcome([], {}, {})
        for name, policy in self.policies.items():
            run = simulate(self.history, policy, model, seed=seed, **self.engine)
            first = first_touches(run)
            out.rows.append(
                {
                    "policy": name,
                    "seed": seed,
                    **run_metrics(run, self.sla, model, self.seen, first, expected=True),
                }
            )
            out.tables[name] = run_per_rep(run, first)
            out.speeds[name] = touch_speeds(first)
            if done is not None:
                done()
        return out


_SHARED: list[_Job] = []


def _share(job: _Job) -> None:
    """Worker initializer: with the fork start method the job is inherited, never pickled (a
    History or a behaviour model need not be picklable)."""
    _SHARED[:] = [job]


def _shared_seed(seed: int, draw: int) -> _Outcome:
    return _SHARED[0].run(seed, draw)


def _collect(
    futures: Mapping[Future[_Outcome], int],
    seeds: Iterable[int],
    policies: int,
    one_done: Callable[[], None],
) -> list[_Outcome]:
    """The seeds' outcomes in seed order, reporting progress as each finishes. When one fails
    or the user presses Ctrl-C, the seeds not started are cancelled, so the error arrives when
    the seeds running finish, not after every queued one (a worker interrupted mid-seed hands
    its KeyboardInterrupt back as that seed's result and would take the next one)."""
    found: dict[int, _Outcome] = {}
    try:
        for future in as_completed(futures):
            found[futures[future]] = future.result()
            for _ in range(policies):
                one_done()
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return [found[seed] for seed in seeds]


@contextlib.contextmanager
def _executor(given: Executor | Any) -> Iterator[Executor]:
    """`compare`'s `executor` as a `concurrent.futures.Executor`: as given, a Dask Client's
    executor, or for "dask" the current Dask client's (one started on a local cluster, and
    closed after, when there is none)."""
    if isinstance(given, Executor):
        yield given
        return
    if given == "dask":
        try:
            from distributed import Client, default_client
        except ImportError as exc:
            raise MissingExtraError(
                "compare(executor='dask') needs Dask distributed: pip install 'leadrouter[dask]'"
            ) from exc
        try:
            client = default_client()  # type: ignore[no-untyped-call]
        except ValueError:
            with Client() as started:  # type: ignore[no-untyped-call]
                yield started.get_executor()
            return
        yield client.get_executor()
        return
    if callable(getattr(given, "get_executor", None)):
        yield given.get_executor()
        return
    raise ConfigError(
        f"executor must be a concurrent.futures.Executor, a Dask Client or 'dask'; got {given!r}"
    )


def compare(
    history: History,
    policies: Mapping[str, Policy],
    seeds: int | Iterable[int] = 20,
    behaviour: Behaviour | None = None,
    baseline: str | None = None,
    sla: timedelta = timedelta(hours=1),
    processes: int = 1,
    calibrate: bool = True,
    parameter_draws: bool = True,
    progress: Progress | None = None,
    calibration_seeds: int = 10,
    engine: Mapping[str, Any] | None = None,
    executor: Executor | Any | None = None,
) -> Comparison:
    """Simulate every policy on `history` once per seed, with common random numbers.

    `seeds`: a count (seeds 0 … n−1) or the seeds themselves; 20 or more give intervals whose
    parameter spread is well estimated (up to four consecutive seeds share a parameter draw, in at
    least five draws: 20 seeds are five draws of four).
    `behaviour`: any object with the `Behaviour` methods; None takes the exact truth of a
    synthetic History (`history.truth.behaviour()`) and `fit_behaviour(history)` for any other,
    as `leadrouter compare` does. `baseline`: the policy differences are taken to (the
    first by default). `processes > 1` runs seeds in parallel forked worker processes (where the
    platform can fork; elsewhere, e.g. Windows, seeds run one after another).

    `calibrate`: first check the model against the history (`leadrouter.sim.calibrate`, on a
    later time split held out from fitting) and keep the verdict in `.calibration`; a failed
    check warns (CalibrationWarning) but the comparison still runs, so the report can show both.
    `engine`: keyword arguments for every `simulate` run (and the calibration's replays), e.g.
    `{"claim_backlog": 3, "follow_up": timedelta(days=7)}` to move the engine's assumptions.
    `calibration_seeds` replicates (10 by default, whatever `seeds` is) build the calibration's
    intervals. `parameter_draws`: each seed redraws the model's parameters when the model can
    (`behaviour.replicate(seed)`); off, a seed redraws outcomes only. `progress(done, total)` is
    called as (policy, seed) runs finish.

    `executor`: where the seeds run, instead of `processes`: any `concurrent.futures.Executor`
    (a thread pool, a process pool, a cluster's executor), a Dask distributed `Client`, or
    "dask" for the current Dask client (a local cluster started, and closed after, when there is
    none; `pip install 'leadrouter[dask]'`). Each seed is one task; its policies, history and
    model travel with it, so they must pickle for an executor in other processes. The result is
    the same as the serial run's for the same seeds, wherever the seeds ran.
    """
    check_history(history, "compare")
    policies = check_policies(policies, "compare")
    check_options("compare", behaviour, progress, sla)
    if not isinstance(calibrate, bool):
        raise ConfigError(f"compare: calibrate is True or False, got {calibrate!r}")
    names = tuple(policies)
    if baseline is None:
        baseline = names[0]
    if baseline not in policies:
        raise ConfigError(f"baseline {baseline!r} is not one of the policies {list(names)}")
    seed_list = check_seeds(seeds, "compare")
    if processes < 1:
        raise ConfigError(f"processes must be >= 1, got {processes}")
    if behaviour is None:
        behaviour = default_behaviour(history, fit=True)
    verdict = None
    if calibrate:
        from leadrouter.sim.calibration import calibrate as check
        from leadrouter.sim.calibration import warn_if_failed

        verdict = check(history, behaviour, seeds=calibration_seeds, warn=False, engine=engine)
        warn_if_failed(verdict, stacklevel=2)
    draws = parameter_draws and getattr(behaviour, "replicate", None) is not None
    # with the owner recorded because of the outcome, the history's pairs say nothing about
    # which pairs a policy extrapolates to
    known = getattr(behaviour, "rep_effects_known", True)
    seen = seen_pairs(history) if known else None
    total = len(seed_list) * len(names)
    finished = 0

    def one_done() -> None:
        nonlocal finished
        finished += 1
        if progress is not None:
            progress(finished, total)

    if progress is not None:
        progress(0, total)  # first, so a progress bar and its clock start with the work

    shared = share_draws(seed_list)
    job = _Job(history, dict(policies), behaviour, sla, seen, draws, dict(engine or {}))
    if executor is not None:
        with _executor(executor) as pool:
            futures = {
                pool.submit(job.run, seed, draw): seed
                for seed, draw in zip(seed_list, shared, strict=True)
            }
            outputs = _collect(futures, seed_list, len(names), one_done)
    elif processes == 1 or len(seed_list) == 1 or "fork" not in get_all_start_methods():
        outputs = [
            job.run(seed, draw, one_done) for seed, draw in zip(seed_list, shared, strict=True)
        ]
    else:
        context = get_context("fork")
        with ProcessPoolExecutor(
            max_workers=processes, mp_context=context, initializer=_share, initargs=(job,)
        ) as pool:
            futures = {
                pool.submit(_shared_seed, seed, draw): seed
                for seed, draw in zip(seed_list, shared, strict=True)
            }
            outputs = _collect(futures, seed_list, len(names), one_done)
    rows = [row for out in outputs for row in out.rows]
    tables: dict[str, pd.DataFrame] = {}
    speeds: dict[str, np.ndarray[Any, Any]] = {}
    for name in names:
        total_table = outputs[0].tables[name]
        for out in outputs[1:]:
            total_table = total_table.add(out.tables[name], fill_value=0.0)
        tables[name] = total_table / len(seed_list)
        speeds[name] = np.concatenate([out.speeds[name] for out in outputs])
    results = pd.DataFrame(rows, columns=["policy", "seed", *METRICS])
    strategies = _strategies(history, policies)
    return Comparison(
        results,
        baseline,
        names,
        seed_list,
        tables,
        speeds=speeds,
        calibration=verdict,
        replicates=(
            "a Bayesian bootstrap draw of the model's parameters plus fresh outcome draws "
            f"({draws_shared(shared)})"
            if draws
            else "fresh outcome draws (the model's parameters are taken as known)"
        ),
        assumption_driven=_assumption_driven(strategies, behaviour),
        draws=shared if draws else None,
        not_identified=_not_identified(names, baseline, behaviour),
        biases=known_biases(strategies, behaviour),
        behaviour=behaviour,
        sla=sla,
    )


_DEPENDS: Mapping[str, frozenset[str]] = {
    "speed_to_lead_median": frozenset({"delay", "claiming"}),
    "coverage": frozenset({"delay", "claiming"}),
    "wasted": frozenset({"delay", "claiming"}),
    "sla_breaches": frozenset({"delay", "claiming"}),
    "gini": frozenset({"claiming"}),
    "max_over_mean": frozenset({"claiming"}),
    "reassignments": frozenset({"claiming"}),
    "conversion_mechanical": frozenset({"delay", "claiming", "contact", "validity", "conversion"}),
    "conversion_rate": frozenset(
        {"delay", "claiming", "contact", "validity", "conversion", "reps"}
    ),
    "revenue": frozenset(
        {"delay", "claiming", "contact", "validity", "conversion", "amount", "reps"}
    ),
    "roi": frozenset({"delay", "claiming", "contact", "validity", "conversion", "amount", "reps"}),
    "cost_per_sale": frozenset({"delay", "claiming", "contact", "validity", "conversion", "reps"}),
}
"""Which parts of the model each metric rests on (see `FittedBehaviour.assumptions`; `reps`:
rep effects, unknown when the owner was recorded because of the outcome)."""

_CLAIMING = "how reps would claim from a pool cannot be learned from push-only history"

CANNOT_TELL = "this export cannot tell these policies apart on sales"
"""The plain words for a comparison whose sales differences are not identifiable."""

_ON_SALES = tuple(metric for metric, kind in METRIC_KINDS.items() if kind == "model")
"""The metrics that rest on the rep model (`METRIC_KINDS` "model"): conversion and money."""


def _not_identified(
    names: Iterable[str], baseline: str, behaviour: Behaviour
) -> dict[str, dict[str, str]]:
    """Per policy, the metrics whose difference to the baseline the history cannot identify.

    The rule: when the model says rep effects are unknown (`rep_effects_known` False: the
    export recorded the owner because of the outcome), every policy but the baseline has its
    sales differences (`_ON_SALES`) not identified - with no rep told apart from another, any
    sales difference would rest on the model's assumed contact, delays and capacity, which the
    export cannot check, and calibration cannot replay the logged assignments."""
    if getattr(behaviour, "rep_effects_known", True):
        return {}
    why = str(
        dict(getattr(behaviour, "assumptions", {}) or {}).get(
            "reps", "the behaviour model does not know the reps' effects"
        )
    )
    return {name: dict.fromkeys(_ON_SALES, why) for name in names if name != baseline}


def _blank_not_identified(
    frame: pd.DataFrame, not_identified: Mapping[str, Mapping[str, str]]
) -> pd.DataFrame:
    """`frame` (a `table()`) with the difference cells of `not_identified` set to NaN."""
    for name, blank in not_identified.items():
        for metric in blank:
            columns = [f"{metric}_diff", f"{metric}_diff_lo", f"{metric}_diff_hi"]
            if name in frame.index and set(columns) <= set(frame.columns):
                frame.loc[name, columns] = math.nan
    return frame


def _strategies(history: History, policies: Mapping[str, Policy]) -> dict[str, Strategy]:
    """Each policy's strategy, as a router built for the history's roster holds it."""
    from leadrouter.sim.engine import make_router

    reps = list(history.roster)
    return {name: make_router(policy, reps, 0, None).strategy for name, policy in policies.items()}


def _assumption_driven(
    strategies: Mapping[str, Strategy], behaviour: Behaviour
) -> dict[str, dict[str, str]]:
    """Per policy, each metric resting on an assumed part of the model, with why."""
    assumed = dict(getattr(behaviour, "assumptions", {}) or {})
    found: dict[str, dict[str, str]] = {}
    for name, strategy in strategies.items():
        parts = dict(assumed)
        if strategy.tags.pull:
            parts["claiming"] = _CLAIMING
        found[name] = {
            metric: "; ".join(parts[part] for part in sorted(needs) if part in parts)
            for metric, needs in _DEPENDS.items()
            if needs & parts.keys()
        }
    return found


SCENARIOS: Mapping[str, Mapping[str, Any]] = {
    "as modelled": {},
    "no rep effects": {"rep_effects": False},
    "contact decays 2x as fast": {"decay": 2.0},
    "contact decays half as fast": {"decay": 0.5},
    "capacity x0.75": {"capacity": 0.75},
    "capacity x1.5": {"capacity": 1.5},
}
"""The assumptions `sensitivity` moves: `behaviour.varied(**arguments)` per scenario."""

SENSITIVITY_COLUMNS = ("scenario", "policy", "value", "diff", "diff_lo", "diff_hi", "rank")


def sensitivity(
    history: History,
    policies: Mapping[str, Policy],
    behaviour: Behaviour | None = None,
    seeds: int | Iterable[int] = 3,
    metric: str = "conversion_rate",
    baseline: str | None = None,
    processes: int = 1,
    progress: Progress | None = None,
    engine: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """How the comparison moves when the model's least certain assumptions move (`SCENARIOS`):
    rep effects removed (every rep closes at the team's rate), contact decaying twice as fast,
    and half as fast, and every rep's capacity times 0.75 and times 1.5 (capacity is estimated
    from the stretches a rep was backlogged, and is an estimate where they never were).

    Returns a tidy frame (`frame.attrs` holds the `metric`, the number of `seeds`,
    `not_identified`: why the metric's differences are not identifiable, "" if they are, and
    `assumed`: the policies whose metric rests on an assumption no scenario moves, such as how
    reps would claim from a pool, comma-separated), one row
    per (scenario, policy), columns `SENSITIVITY_COLUMNS`: the
    metric's mean, its paired difference to the baseline with the 95% interval, and the
    policy's rank in that scenario (1 = highest; for `speed_to_lead_median`, `wasted`,
    `cost_per_sale`, `sla_breaches`, `gini` and `max_over_mean` lower is better). A ranking that
    holds in every scenario does not hinge on those assumptions; one that flips does. Model
    parameters are not redrawn (each scenario is one fixed model), calibration is not re-run.
    `behaviour` must have `varied(rep_effects=, decay=, capacity=)` (GivenBehaviour and
    FittedBehaviour do).
    """
    if metric not in METRICS:
        raise ConfigError(f"sensitivity: unknown metric {metric!r}; one of {list(METRICS)}")
    if behaviour is None:
        behaviour = default_behaviour(history, fit=True)
    vary = getattr(behaviour, "varied", None)
    if vary is None:
        raise ConfigError(
            f"sensitivity: {type(behaviour).__name__} has no varied(rep_effects=, decay=, "
            "capacity=), so its assumptions cannot be moved; use GivenBehaviour or fit_behaviour"
        )
    seed_list = tuple(range(seeds)) if isinstance(seeds, int) else tuple(seeds)
    total = len(SCENARIOS) * len(seed_list) * len(policies)
    offset = 0

    def forward(done: int, _: int) -> None:
        if progress is not None:
            progress(offset + done, total)

    lower_is_better = metric in LOWER_IS_BETTER
    rows: list[dict[str, Any]] = []
    for scenario, arguments in SCENARIOS.items():
        result = compare(
            history,
            policies,
            seeds=seed_list,
            behaviour=vary(**arguments),
            baseline=baseline,
            processes=processes,
            calibrate=False,
            parameter_draws=False,
            progress=forward,
            engine=engine,
        )
        offset += len(seed_list) * len(policies)
        table = result.table()
        ranks = table[metric].rank(ascending=lower_is_better, method="min")
        for name in result.policies:
            rows.append(
                {
                    "scenario": scenario,
                    "policy": name,
                    "value": table.loc[name, metric],
                    "diff": table.loc[name, f"{metric}_diff"],
                    "diff_lo": table.loc[name, f"{metric}_diff_lo"],
                    "diff_hi": table.loc[name, f"{metric}_diff_hi"],
                    "rank": int(ranks[name]) if not math.isnan(ranks[name]) else 0,
                }
            )
    frame = pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))
    blank = {why for row in result.not_identified.values() for m, why in row.items() if m == metric}
    assumed = sorted(name for name, row in result.assumption_driven.items() if metric in row)
    frame.attrs.update(
        metric=metric,
        seeds=len(seed_list),
        not_identified="; ".join(sorted(blank)),
        assumed=", ".join(assumed),
    )
    return frame
