"""One call for the whole analyst workflow: fit, calibrate, compare, move the assumptions, report.

`analyse(history, policies)` runs the steps `leadrouter compare` runs, in the same order and with
the same defaults, so a notebook and the command give the same answer:

1. **model**: the behaviour model, fitted from the history (`fit_behaviour`) unless given (a
   synthetic history's exact truth only when passed: `behaviour=history.truth.behaviour()`);
2. **calibration**: the logged assignments replayed through the model (`calibrate`), before any
   what-if, with at least 10 replicates;
3. **preflight**: each policy routes the history's first leads; a policy that cannot run on this
   history (a quota strategy on reps without quotas) is skipped with why, never silently;
4. **checks**: each policy's timers against the reps' pick-up delays
   (`leadrouter.sim.preflight.check_timers`), before any simulation;
5. **comparison**: every remaining policy simulated once per seed (`compare`), against the
   baseline: the one named, else the built-in equal rotation (`choose_baseline`), then the
   outcomes checked for policies that leave most leads untouched or bounce them between reps
   (`check_outcomes`);
6. **sensitivity**: the comparison re-run with the model's least certain assumptions moved
   (`compare.sensitivity`), when `sensitivity_seeds` > 0 and there are two policies or more.

`on_stage(name, value)` is called as each step finishes ("model", "calibration", "skipped",
"checks" with the timer warnings, "comparison", "warnings" with every warning, "sensitivity"), so
a caller can show results as they come; `progress(stage, done, total)` as simulation runs finish
(stages "calibrating", "simulating", "sensitivity").
`Analysis.bottom_line()` is the result in one paragraph; `Analysis.write_report(out)` writes the
HTML and Markdown report.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import timedelta
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
    from leadrouter.sim.preflight import PolicyWarning
    from leadrouter.sim.report import ReportPaths

__all__ = [
    "BUILTIN_BASELINE",
    "PREFLIGHT_LEADS",
    "REMEDY",
    "Analysis",
    "analyse",
    "choose_baseline",
    "preflight",
]

PREFLIGHT_LEADS = 60
"""How many of the history's first leads each policy routes before the comparison starts."""

Stage = Callable[[str, Any], None]
StageProgress = Callable[[str, int, int], None]


@attrs.frozen(eq=False)
class Analysis:
    """What `analyse` found: the model, its calibration verdict, the comparison, the
    sensitivity frame (None when not run), the policies skipped with why, the notes on how
    each policy is set up (shown in the report) and the warnings on the policies' settings
    (`leadrouter.sim.preflight`)."""

    history: History
    behaviour: Behaviour
    calibration: Calibration
    comparison: Comparison
    sensitivity: pd.DataFrame | None = attrs.field(default=None, repr=False)
    skipped: Mapping[str, str] = attrs.field(factory=dict)
    notes: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    warnings: tuple[PolicyWarning, ...] = ()

    def bottom_line(self) -> str:
        """The result in one paragraph (`leadrouter.sim.preflight.bottom_line`): the words that
        open the terminal output and the report."""
        from leadrouter.sim.preflight import bottom_line

        return bottom_line(self.comparison, self.warnings, self.history)

    def write_report(
        self,
        out: str | os.PathLike[str],
        title: str = "Routing policies compared",
        off_policy: str | None = None,
    ) -> ReportPaths:
        """Write `report.html` and `report.md` into `out` (see `leadrouter.sim.write_report`;
        `off_policy`: the estimates from logged propensities, a section of their own)."""
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
            warnings=self.warnings,
            off_policy=off_policy,
        )

    def _repr_html_(self) -> str:
        """The analysis in a notebook: what was analysed and how, then the bottom line, the
        warnings on the policies' settings, the policies skipped with why and the sensitivity
        verdict, followed by the calibration and the comparison."""
        from leadrouter._html import render
        from leadrouter.sim.labels import plain
        from leadrouter.sim.report import sensitivity_line

        history, comparison = self.history, self.comparison
        rows = [
            ("data", f"{history.origin}: {len(history):,} leads, {len(history.roster):,} reps"),
            ("model", repr(self.behaviour).strip("<>")),
            ("calibration", self.calibration.verdict),
            ("policies", ", ".join(comparison.policies)),
            ("baseline", comparison.baseline),
            ("replicates", f"{len(comparison.seeds)} seeds ({plain(comparison.replicates)})"),
            ("skipped", ", ".join(self.skipped) or "none"),
        ]
        notes = [f"Bottom line: {self.bottom_line()}", *map(str, self.warnings)]
        notes += [f"{name} skipped: {why}" for name, why in self.skipped.items()]
        if self.sensitivity is not None and len(self.sensitivity):
            notes.append(sensitivity_line(self.sensitivity))
        summary = render("Analysis", rows, notes=notes)
        return summary + self.calibration._repr_html_() + comparison._repr_html_()


REMEDY = "give the reps what it needs in the history's roster, or leave it out"
"""What `preflight` suggests for a policy that cannot run (the command names its --roster)."""

BUILTIN_BASELINE = "equal-rotation (built in)"
"""The name of the equal rotation `choose_baseline` adds when no baseline is named and none of
the policies is a plain `EqualRotation()`: the name says it was added, not asked for."""

BUILTIN_NOTE = (
    "EqualRotation: equal counts, least-recently-assigned first. Added as the baseline because "
    "none was named (name one of the policies with --baseline NAME, or baseline= in Python)."
)
"""The report's note on the added baseline."""


def choose_baseline(
    policies: Mapping[str, Policy], baseline: str | None = None
) -> tuple[dict[str, Policy], str]:
    """The policies to compare and the baseline's name.

    A named `baseline` must be one of `policies` (else a ConfigError listing their names).
    Without one, the baseline is the built-in equal rotation - what most teams do first, so
    every difference reads as "against sharing leads evenly" rather than against whichever
    policy happens to come first: a policy that is exactly `EqualRotation()` is used when there
    is one, else `EqualRotation()` is added first under `BUILTIN_BASELINE`.
    """
    from leadrouter.strategies.equal_rotation import EqualRotation

    if baseline is not None:
        if baseline not in policies:
            raise ConfigError(
                f"baseline {baseline!r} is not one of the policies: {', '.join(policies)}; "
                "give one of these names, or leave baseline out to compare against the built-in "
                "equal rotation"
            )
        return dict(policies), baseline
    plain = EqualRotation()
    for name, policy in policies.items():
        if isinstance(policy, EqualRotation) and policy == plain:
            return dict(policies), name
    return {BUILTIN_BASELINE: plain, **policies}, BUILTIN_BASELINE


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
    horizon: timedelta | None = None,
    processes: int = 1,
    sensitivity_seeds: int = 2,
    notes: Mapping[str, str] | None = None,
    remedy: str = REMEDY,
    on_stage: Stage | None = None,
    progress: StageProgress | None = None,
) -> Analysis:
    """Fit, calibrate, preflight, check, compare and move the assumptions (see the module
    docstring).

    `horizon`: conversion counts sales within it of arrival when the model is fitted here (the
    fit's default, 30 days, when None; a given `behaviour` keeps its own).
    `baseline` names one of `policies`; without it the built-in equal rotation is the baseline,
    added when none of the policies is one (`choose_baseline`). `remedy` is the advice given
    with a policy that cannot run (`preflight`). Raises ConfigError for an unknown baseline,
    PolicyCannotRunError when none of `policies`, or the chosen baseline, can run on this
    history.
    """
    from leadrouter.sim.behaviour import fit_behaviour
    from leadrouter.sim.calibration import calibrate
    from leadrouter.sim.censoring import DEFAULT_HORIZON
    from leadrouter.sim.compare import compare, sensitivity
    from leadrouter.sim.preflight import check_outcomes, check_timers

    if not policies:
        raise ConfigError("analyse needs at least one policy: {'name': strategy, ...}")
    policies, chosen = choose_baseline(policies, baseline)
    notes = dict(notes or {})
    if chosen == BUILTIN_BASELINE:
        notes.setdefault(chosen, BUILTIN_NOTE)

    def stage(name: str, value: Any) -> None:
        if on_stage is not None:
            on_stage(name, value)

    def forward(name: str) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        report = progress
        return lambda done, total: report(name, done, total)

    if behaviour is None:
        _enough_to_fit(history)
    model: Behaviour = (
        fit_behaviour(history, horizon=horizon or DEFAULT_HORIZON)
        if behaviour is None
        else behaviour
    )
    stage("model", model)
    verdict = calibrate(
        history, model, seeds=max(seeds, 10), warn=False, progress=forward("calibrating")
    )
    stage("calibration", verdict)
    skipped = preflight(history, policies, model, remedy)
    stage("skipped", skipped)
    runnable = {name: policy for name, policy in policies.items() if name not in skipped}
    if not set(runnable) - {BUILTIN_BASELINE}:
        raise PolicyCannotRunError(
            "no policy can run on this history: "
            + "; ".join(f"{name}: {why}" for name, why in skipped.items())
        )
    if chosen in skipped:
        raise PolicyCannotRunError(
            f"the baseline {chosen!r} cannot run on this history ({skipped[chosen]}); "
            f"choose another baseline (one of {', '.join(runnable)})"
        )
    before = check_timers(history, runnable, model)
    stage("checks", before)
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
    after = check_outcomes(result, history, runnable, before)
    order = {name: at for at, name in enumerate(result.policies)}
    warnings = tuple(sorted((*before, *after), key=lambda warning: order[warning.policy]))
    stage("warnings", warnings)
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
        notes=notes,
        warnings=warnings,
    )


FEWEST_ASSIGNED = 30
"""Below this many leads with a rep, `analyse` does not fit a model: every figure would be the
model's priors, dressed as a comparison."""


def _enough_to_fit(history: History) -> None:
    """InvalidExportError when the history has too few assigned leads to fit how reps behave
    (a one-row export gave a full report of invented levels). The fix it names depends on why:
    no column read as the rep (map it), one empty in every row (export it filled), or too
    short a period (export a longer one)."""
    from leadrouter.errors import InvalidExportError

    frame = history.to_frame()
    assigned = int(frame["rep_id"].notna().sum())
    if assigned < FEWEST_ASSIGNED:
        sales = int(frame["converted"].astype(bool).sum())
        header = history.columns.get("rep_id")
        if header is None:
            fix = (
                "no column was read as the rep (owner): export the lead owner's column, or "
                "name yours with --columns rep_id='Owner Name' (columns={'Owner Name': "
                "'rep_id'} in Python)"
            )
        elif assigned == 0:
            fix = f"its column {header!r} is empty in every row: export the leads with their owner"
        else:
            fix = "export a longer period"
        raise InvalidExportError(
            f"{history.origin}: only {assigned} lead{'' if assigned == 1 else 's'} with a rep "
            f"({len(frame)} in all, {sales} sale{'' if sales == 1 else 's'}): too few to learn "
            f"how the reps behave (at least {FEWEST_ASSIGNED}; a few hundred give intervals "
            f"worth reading), so every figure would be the model's assumption; {fix}"
        )
