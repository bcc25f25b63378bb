"""One call for the whole analyst workflow: fit, calibrate, compare, move the assumptions, report.

`analyse(history, policies)` runs the steps `leadrouter compare` runs, in the same order and with
the same defaults, so a notebook and the command give the same answer:

1. **model**: the behaviour model, fitted from the history (`fit_behaviour`) unless given (a
   synthetic history's exact truth only when passed: `behaviour=history.truth.behaviour()`);
2. **calibration**: the logged assignments replayed through the model (`calibrate`), before any
   what-if, with at least 10 replicates;
3. **preflight**: each policy routes the history's first leads; a policy that cannot run on this
   history (a quota strategy on reps without quotas) is skipped with why, never silently;
4. **comparison**: every remaining policy simulated once per seed (`compare`);
5. **sensitivity**: the comparison re-run with the model's least certain assumptions moved
   (`compare.sensitivity`), when `sensitivity_seeds` > 0 and there are two policies or more.

`on_stage(name, value)` is called as each step finishes ("model", "calibration", "skipped",
"comparison", "sensitivity"), so a caller can show results as they come; `progress(stage, done,
total)` as simulation runs finish. `Analysis.write_report(out)` writes the HTML and Markdown
report.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from leadrouter.errors import ConfigError, LeadRouterError, PolicyCannotRunError

if TYPE_CHECKING:
    import pandas as pd

    from leadrouter.sim.behaviour import Behaviour
    from leadrouter.sim.calibration import Calibration
    from leadrouter.sim.compare import Comparison
    from leadrouter.sim.engine import Policy
    from leadrouter.sim.history import History
    from leadrouter.sim.report import ReportPaths

__all__ = ["PREFLIGHT_LEADS", "REMEDY", "Analysis", "analyse", "preflight"]

PREFLIGHT_LEADS = 60
"""How many of the history's first leads each policy routes before the comparison starts."""

Stage = Callable[[str, Any], None]
StageProgress = Callable[[str, int, int], None]


@attrs.frozen(eq=False)
class Analysis:
    """What `analyse` found: the model, its calibration verdict, the comparison, the
    sensitivity frame (None when not run), the policies skipped with why, and the notes on how
    each policy is set up (shown in the report)."""

    history: History
    behaviour: Behaviour
    calibration: Calibration
    comparison: Comparison
    sensitivity: pd.DataFrame | None = attrs.field(default=None, repr=False)
    skipped: Mapping[str, str] = attrs.field(factory=dict)
    notes: Mapping[str, str] = attrs.field(factory=dict, repr=False)

    def write_report(
        self, out: str | os.PathLike[str], title: str = "Routing policies compared"
    ) -> ReportPaths:
        """Write `report.html` and `report.md` into `out` (see `leadrouter.sim.write_report`)."""
        from leadrouter.sim.report import write_report

        return write_report(
            self.comparison,
            self.history,
            self.behaviour,
            out,
            title=title,
            notes=self.notes,
            skipped=self.skipped,
            sensitivity=self.sensitivity,
        )


REMEDY = "give the reps what it needs in the history's roster, or leave it out"
"""What `preflight` suggests for a policy that cannot run (the command names its --roster)."""


def preflight(
    history: History,
    policies: Mapping[str, Policy],
    behaviour: Behaviour,
    remedy: str = REMEDY,
) -> dict[str, str]:
    """Route the history's first `PREFLIGHT_LEADS` leads with each policy; {name: why, with
    `remedy`} for those that cannot run on this history."""
    from leadrouter.sim.engine import simulate
    from leadrouter.sim.history import History as HistoryType

    first = HistoryType(
        history.to_frame().iloc[:PREFLIGHT_LEADS],
        tz=history.tz,
        roster=history.roster,
        truth=history.truth,
        origin=history.origin,
    )
    failed: dict[str, str] = {}
    for name, policy in policies.items():
        try:
            simulate(first, policy, behaviour, seed=0)
        except LeadRouterError as exc:
            failed[name] = f"{exc} ({remedy})"
    return failed


def analyse(
    history: History,
    policies: Mapping[str, Policy],
    *,
    seeds: int = 20,
    baseline: str | None = None,
    behaviour: Behaviour | None = None,
    processes: int = 1,
    sensitivity_seeds: int = 2,
    notes: Mapping[str, str] | None = None,
    remedy: str = REMEDY,
    on_stage: Stage | None = None,
    progress: StageProgress | None = None,
) -> Analysis:
    """Fit, calibrate, preflight, compare and move the assumptions (see the module docstring).

    `baseline` defaults to the first policy that can run; `remedy` is the advice given with a
    policy that cannot run (`preflight`). Raises PolicyCannotRunError when no
    policy, or the chosen baseline, can run on this history.
    """
    from leadrouter.sim.behaviour import fit_behaviour
    from leadrouter.sim.calibration import calibrate
    from leadrouter.sim.compare import compare, sensitivity

    if not policies:
        raise ConfigError("analyse needs at least one policy: {'name': strategy, ...}")
    if baseline is not None and baseline not in policies:
        raise ConfigError(f"baseline {baseline!r} is not one of the policies {list(policies)}")

    def stage(name: str, value: Any) -> None:
        if on_stage is not None:
            on_stage(name, value)

    def forward(name: str) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        report = progress
        return lambda done, total: report(name, done, total)

    model: Behaviour = fit_behaviour(history) if behaviour is None else behaviour
    stage("model", model)
    verdict = calibrate(history, model, seeds=max(seeds, 10), warn=False)
    stage("calibration", verdict)
    skipped = preflight(history, policies, model, remedy)
    stage("skipped", skipped)
    runnable = {name: policy for name, policy in policies.items() if name not in skipped}
    if not runnable:
        raise PolicyCannotRunError(
            "no policy can run on this history: "
            + "; ".join(f"{name}: {why}" for name, why in skipped.items())
        )
    if baseline in skipped:
        raise PolicyCannotRunError(
            f"the baseline {baseline!r} cannot run on this history ({skipped[baseline]}); "
            f"choose another baseline (one of {', '.join(runnable)})"
        )
    chosen = baseline or next(iter(runnable))
    result = compare(
        history,
        runnable,
        seeds=seeds,
        behaviour=model,
        baseline=chosen,
        processes=processes,
        calibrate=False,
        progress=forward("simulating"),
    )
    result = attrs.evolve(result, calibration=verdict)
    stage("comparison", result)
    moved = None
    if sensitivity_seeds > 0 and len(runnable) > 1:
        moved = sensitivity(
            history,
            runnable,
            model,
            seeds=sensitivity_seeds,
            baseline=chosen,
            processes=processes,
            progress=forward("sensitivity"),
        )
        stage("sensitivity", moved)
    return Analysis(
        history,
        model,
        verdict,
        result,
        sensitivity=moved,
        skipped=skipped,
        notes=dict(notes or {}),
    )
