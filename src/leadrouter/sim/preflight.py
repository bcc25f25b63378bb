"""Checks on the policies of a comparison, and the comparison's bottom line in plain words.

A playbook can be set up so that the simulation measures its settings rather than its strategy: a
first-touch SLA shorter than the reps take to pick a lead up re-routes every lead again and again
and leaves most of them untouched. The numbers then look like a finding (conversion far below the
history's) when they are a configuration mistake. So `analyse` checks each policy twice and says
what to change:

- **before simulating** (`check_timers`): every timer that takes a lead from a rep who has not
  touched it yet - the lifecycle's `first_touch_sla`, `GrabWithCaps.idle_after`, a `TieredDelay`
  tier's `patience` - against the reps' pick-up delays under the behaviour model, counted as the
  timer counts them (working time with `[lifecycle] working_hours`, elapsed time otherwise, so a
  lead assigned in the evening waits for the morning). A timer shorter than the typical (median)
  pick-up is flagged with both numbers, the share of leads that would miss it at each holder, what
  then happens to them, and a setting that would not;
- **after the comparison** (`check_outcomes`): a policy that leaves most leads untouched
  (`wasted` above `MAX_WASTED`) or re-routes each lead more than `MAX_REASSIGNMENTS` times, with
  the numbers and the settings of that policy that can cause it.

`bottom_line(comparison, warnings)` is the one paragraph that opens the terminal output and the
report: whether calibration passed, which policy leads on sales and on speed against the baseline
and by how much (with the interval), where the data cannot tell policies apart, and how many
warnings there are. Both places call it, so they say the same thing in the same words.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from leadrouter._util import format_duration
from leadrouter.rules import PoolRule
from leadrouter.sim.biases import BY_SKILL
from leadrouter.sim.calibration_checks import NOT_CHECKABLE
from leadrouter.sim.compare import CANNOT_TELL, Comparison
from leadrouter.sim.formats import fmt_diff, fmt_level, fmt_range, tone, values_table
from leadrouter.sim.metrics import LOWER_IS_BETTER, REVENUE

if TYPE_CHECKING:
    from leadrouter.router import Router
    from leadrouter.sim.engine import Behaviour, Policy
    from leadrouter.sim.history import History

__all__ = [
    "MAX_REASSIGNMENTS",
    "MAX_WASTED",
    "PolicyWarning",
    "bottom_line",
    "check_outcomes",
    "check_timers",
]

MAX_WASTED = 0.5
"""A policy whose expected share of never-touched leads is above this is flagged."""

MAX_REASSIGNMENTS = 3.0
"""A policy that re-routes each lead more than this many times on average is flagged."""

_QUANTILES = 200
"""Pick-up delay quantiles drawn per rep: `touch_delay_minutes` at u = (k + ½) / Q."""

_ARRIVALS = 1000
"""At most this many of the history's arrivals (evenly spread) place pick-ups on the clock."""

_COVER = 0.9
"""The share of pick-ups a suggested timer should cover."""


@attrs.frozen
class PolicyWarning:
    """A finding about one policy: `kind` is "timer" (a timer shorter than the reps' pick-up),
    "untouched" (most leads never touched), "rerouted" (leads re-routed again and again) or
    "untouched and rerouted"; `text` says what was found, with the numbers, what it does to the
    results and what to change; `settings` are the playbook keys to look at, the likeliest
    first (e.g. "[lifecycle] first_touch_sla"). `str()` reads "policy: text"."""

    policy: str
    kind: str
    text: str
    settings: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.policy}: {self.text}"


# ---------------------------------------------------------------------- what a policy sets


@attrs.frozen
class _Timer:
    """A timer that takes a lead from a holder who has not touched (reached) it in time."""

    label: str
    setting: str
    length: timedelta
    working: bool
    outcome: str


def _timers(router: Router) -> list[_Timer]:
    from leadrouter.strategies.grab_with_caps import GrabWithCaps
    from leadrouter.strategies.tiered_delay import TieredDelay

    life = router.lifecycle
    found: list[_Timer] = []
    if life.first_touch_sla is not None:
        found.append(
            _Timer(
                "first-touch SLA",
                "[lifecycle] first_touch_sla",
                life.first_touch_sla,
                life.working_hours is not None,
                "be taken from its holder and re-routed to another rep, again and again while "
                "each new holder is as slow"
                if life.reroute
                else "be taken from its holder and sent back to the public pool",
            )
        )
    strategy = router.strategy
    if isinstance(strategy, GrabWithCaps) and strategy.idle_after is not None:
        found.append(
            _Timer(
                "idle limit after a claim",
                "[strategy] idle_after",
                strategy.idle_after,
                False,
                "go back to the pool and cost the rep who claimed it a penalty",
            )
        )
    if isinstance(strategy, TieredDelay):
        found.extend(
            _Timer(
                f"tier {tier.tier} patience",
                f"[[strategy.tiers]] patience (tier {tier.tier})",
                tier.patience,
                False,
                "fall through to the next tier before anyone could reach it",
            )
            for tier in strategy.tiers[:-1]
        )
    return found


def _router(policy: Policy, history: History) -> Router:
    from leadrouter.sim.engine import make_router

    return make_router(policy, list(history.roster), 0, None)


# ---------------------------------------------------------------------- before simulating


def _pickups(
    history: History, behaviour: Behaviour, elapsed: bool
) -> dict[str, np.ndarray[Any, Any]]:
    """Each active rep's pick-up delays in minutes (backlog 0): the behaviour's quantiles, and
    with `elapsed`, each placed after one of the history's arrivals on the team's working-hours
    clock and measured in elapsed time (a lead assigned at 20:00 to a team opening at 9:00 waits
    the night). Without working hours in the behaviour, both clocks are the same."""
    from leadrouter.sim.engine import _work_clock

    reps = [rep.id for rep in history.roster if rep.active]
    grid = (np.arange(_QUANTILES) + 0.5) / _QUANTILES
    working = {
        rep: np.array([max(0.0, float(behaviour.touch_delay_minutes(rep, 0, u))) for u in grid])
        for rep in reps
    }
    leads = sorted(lead.arrived_at for lead in history.leads)
    if not elapsed or not leads:
        return working
    clock = _work_clock(behaviour, history.tz, leads[0], leads[-1])
    if clock is None:
        return working
    picked = np.linspace(0, len(leads) - 1, min(len(leads), _ARRIVALS)).round().astype(int)
    # every picked arrival at least once and every quantile equally often, paired cyclically
    pairs = np.arange(-(-len(picked) // _QUANTILES) * _QUANTILES)
    minutes = np.array([clock.minute_of(leads[i]) for i in picked])[pairs % len(picked)]
    base = clock.work(minutes)
    order = pairs % _QUANTILES
    return {rep: clock.wall(base + delays[order]) - minutes for rep, delays in working.items()}


def _minutes(value: float) -> str:
    """Minutes in words: "25 min", "4.6 h", "3.2 days"."""
    if value < 90:
        return f"{value:.0f} min"
    if value < 48 * 60:
        return f"{value / 60:.1f} h"
    return f"{value / 1440:.1f} days"


def _suggest(minutes: float) -> str:
    """A timer covering `minutes`, rounded up as a playbook would write it ("45m", "16h", "3d")."""
    if minutes <= 60:
        step = 5.0
    elif minutes <= 48 * 60:
        step = 60.0
    else:
        step = 1440.0
    return format_duration(timedelta(minutes=max(step, math.ceil(minutes / step) * step)))


def check_timers(
    history: History, policies: Mapping[str, Policy], behaviour: Behaviour
) -> list[PolicyWarning]:
    """Before simulating: a warning for every timer of a policy (first-touch SLA, idle limit,
    tier patience) shorter than the reps' median pick-up delay under `behaviour`, counted on
    the timer's own clock (see the module docstring), in the order of `policies`.

    The guarantee: a timer is flagged exactly when more than half of the modelled pick-ups
    (backlog 0, the team's active reps pooled) would miss it - then most leads are taken from
    their rep before the first call, whatever the strategy - and the warning names the setting
    and a value that covers 90% of pick-ups."""
    samples: dict[bool, dict[str, np.ndarray[Any, Any]]] = {}
    warnings: list[PolicyWarning] = []
    for name, policy in policies.items():
        for timer in _timers(_router(policy, history)):
            for elapsed in (False, not timer.working):
                if elapsed not in samples:
                    samples[elapsed] = _pickups(history, behaviour, elapsed)
            by_rep = samples[not timer.working]
            if not by_rep:
                continue
            pooled = np.concatenate(list(by_rep.values()))
            if float(np.median(pooled)) <= timer.length.total_seconds() / 60.0:
                continue
            working = np.concatenate(list(samples[False].values()))
            text, settings = _timer_text(timer, by_rep, working)
            warnings.append(PolicyWarning(name, "timer", text, settings))
    return warnings


def _timer_text(
    timer: _Timer, by_rep: Mapping[str, np.ndarray[Any, Any]], working: np.ndarray[Any, Any]
) -> tuple[str, tuple[str, ...]]:
    """The warning on a timer - both numbers, the share that misses it, what happens to those
    leads and what to change - and the settings it names. `by_rep`: pick-ups on the timer's
    clock; `working`: the team's in working time."""
    pooled = np.concatenate(list(by_rep.values()))
    limit = timer.length.total_seconds() / 60.0
    medians = sorted(float(np.median(values)) for values in by_rep.values())
    nights = not timer.working and not np.array_equal(np.sort(working), np.sort(pooled))
    if timer.working:
        clock = "in working time, as this timer counts it"
    elif nights:
        clock = (
            "in elapsed time, as this timer counts it: nights and days off included "
            f"({_minutes(float(np.median(working)))} of working time)"
        )
    else:
        clock = "in elapsed time"
    low, high = _minutes(medians[0]), _minutes(medians[-1])
    spread = f" (per rep {low} to {high})" if low != high else ""
    text = (
        f"its {timer.label} ({timer.setting} = {format_duration(timer.length)}) is shorter than "
        f"the reps' typical pick-up: median {_minutes(float(np.median(pooled)))}{spread} "
        f"from assignment to first touch {clock}. About {float(np.mean(pooled > limit)):.0%} "
        f"of leads would miss it at each holder and {timer.outcome}, so the results would "
        f"measure this timer, not the strategy. Change: raise {timer.setting} to at least "
        f"{_suggest(float(np.quantile(pooled, _COVER)))} ({_COVER:.0%} of pick-ups)"
    )
    if nights and timer.setting == "[lifecycle] first_touch_sla":
        text += (
            ", or set [lifecycle] working_hours so that only working time counts (then "
            f"{_suggest(float(np.quantile(working, _COVER)))} covers {_COVER:.0%})"
        )
        return text + ".", (timer.setting, "[lifecycle] working_hours")
    return text + ".", (timer.setting,)


# ---------------------------------------------------------------------- after the comparison


def _levers(router: Router) -> list[tuple[str, str]]:
    """The settings of a policy that can leave leads untouched or bounce them: (the playbook
    key, the key with its value in words)."""
    levers = [
        (timer.setting, f"{timer.setting} ({format_duration(timer.length)})")
        for timer in _timers(router)
    ]
    expiry = router.lifecycle.expire_after
    if expiry is not None:
        levers.append(
            ("[lifecycle] expire_after", f"[lifecycle] expire_after ({format_duration(expiry)})")
        )
    levers += [
        (f"[[rules]] {rule!r}", f"[[rules]] {rule!r} (its leads wait in a pool no rep is pushed)")
        for rule in router.rules
        if isinstance(rule, PoolRule)
    ]
    if router.caps:
        levers.append(("[[caps]]", "the [[caps]] limits (open, daily)"))
    if router.strategy.tags.pull:
        levers.append(
            (
                "[strategy] held, daily",
                "[strategy] held and daily (a pull policy: how reps claim is the simulator's "
                "assumption)",
            )
        )
    return levers


def check_outcomes(
    comparison: Comparison,
    history: History,
    policies: Mapping[str, Policy],
    timers: Sequence[PolicyWarning] = (),
    max_wasted: float = MAX_WASTED,
    max_reassignments: float = MAX_REASSIGNMENTS,
) -> list[PolicyWarning]:
    """After the comparison: one warning for each policy whose expected `wasted` share is above
    `max_wasted` (kind "untouched") and/or whose reassignments per lead of the history are above
    `max_reassignments` ("rerouted"), with the numbers, the baseline's waste for contrast, and
    the policy's settings that can cause it - its timers flagged in `timers` (what
    `check_timers` found) first. A policy not in `policies` is checked, but its settings are not
    named."""
    table = values_table(comparison)
    leads = max(1, len(history.leads))
    base = comparison.baseline
    warnings: list[PolicyWarning] = []
    for name in comparison.policies:
        row = table[name]
        found: list[str] = []
        kinds: list[str] = []
        if row["wasted"] > max_wasted:
            kinds.append("untouched")
            contrast = "" if name == base else f"; the baseline {base}: {table[base]['wasted']:.0%}"
            found.append(
                f"{row['wasted']:.0%} of leads are never touched (95% interval "
                f"{fmt_range('wasted', row['wasted_lo'], row['wasted_hi'])}{contrast})"
            )
        per_lead = row["reassignments"] / leads
        if per_lead > max_reassignments:
            kinds.append("rerouted")
            found.append(
                f"each lead is re-routed {per_lead:.1f} times on average "
                f"({row['reassignments']:,.0f} reassignments for {leads:,} leads)"
            )
        if not found:
            continue
        levers = _levers(_router(policies[name], history)) if name in policies else []
        first = [key for warning in timers if warning.policy == name for key in warning.settings]
        rest = [words for key, words in levers if key not in first]
        if first:
            change = f"start with {', '.join(dict.fromkeys(first))} (the timer warning above)"
            change += f"; other settings that can cause it: {'; '.join(rest)}" if rest else ""
        else:
            change = f"look at {'; '.join(rest)}" if rest else "look at its settings"
        warnings.append(
            PolicyWarning(
                name,
                " and ".join(kinds),
                f"{' and '.join(found)}, so its sales and speed describe the few leads it still "
                f"works, not what the strategy would do. Change: {change}.",
                settings=tuple(dict.fromkeys([*first, *(key for key, _ in levers)])),
            )
        )
    return warnings


# ---------------------------------------------------------------------- the bottom line


_ASPECTS: Mapping[str, tuple[str, str, str, str]] = {
    "conversion_rate": ("sales", "conversion", "converts less", "convert less"),
    "speed_to_lead_median": ("speed", "median time to first touch", "is slower", "are slower"),
}
"""Per metric of the bottom line: the aspect, what the value is, and how one policy or several
lag behind."""


def _names(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


FEW_SALES = 30
"""Below this many sales in the history, a calibration pass says it could catch little: with
a dozen sales, the conversion check's interval runs from 0 to about twice the rate."""


def _calibration_sentence(comparison: Comparison) -> str:
    verdict = comparison.calibration
    if verdict is None:
        return "Calibration was not run, so every number below is unchecked."
    if verdict.verdict == "pass":
        checks = verdict.checks
        read = {"status", "metric", "note"} <= set(checks.columns)
        on_sales = checks[checks["metric"] == "conversion_rate"] if read else checks.iloc[:0]
        why = verdict.not_checked("conversion_rate")
        if why is not None:
            return (
                f"Calibration passed on what it could check, but not on sales ({why}): the "
                "sales and revenue figures below are the model's assumption."
            )
        caveats = []
        why = verdict.not_checked(REVENUE)
        if why is not None:
            caveats.append(
                f"revenue could not be checked ({why}), so the revenue figures below rest on "
                "assumed amounts"
            )
        checked = on_sales[on_sales["status"] != NOT_CHECKABLE] if read else on_sales
        sold = round(float((checked["observed"] * checked["leads"]).sum())) if read else FEW_SALES
        if sold < FEW_SALES:
            caveats.append(
                f"it rests on {sold} sale{'' if sold == 1 else 's'}, too few to catch any but a "
                "large misfit: read the sales figures as rough"
            )
        if caveats:
            return f"Calibration passed, but {'; and '.join(caveats)}."
        return "Calibration passed: replaying the history's own assignments reproduces it."
    if verdict.verdict == "fail":
        return (
            "Calibration failed: the model does not reproduce the history, so do not act on the "
            "what-ifs below."
        )
    why = f" ({verdict.reasons[0].rstrip('.')})" if verdict.reasons else ""
    return f"Calibration could not be checked{why}, so the what-ifs below are unchecked."


def _skill_sentence(comparison: Comparison) -> tuple[str, ...]:
    """When the model found no demonstrable difference between reps in closing, the sentence
    that says what follows for the compared policies that route by rep skill (named by
    `Comparison.biases`); nothing otherwise, nor when no such policy was compared."""
    spread = comparison.calibration.rep_spread if comparison.calibration else None
    skill = [name for name, bias in comparison.biases.items() if bias == BY_SKILL]
    if spread is None or spread.shown or not skill:
        return ()
    return (
        f"The data cannot tell reps apart in closing (p = {spread.p_value:.2f}), so "
        f"{_names(skill)}, routing by who closes better, "
        f"{'have' if len(skill) > 1 else 'has'} no demonstrable gain on this data.",
    )


def _aspect_sentence(
    comparison: Comparison,
    table: Mapping[str, Mapping[str, float]],
    metric: str,
    flagged: Iterable[str],
) -> str:
    aspect, what, lags, lag = _ASPECTS[metric]
    base = comparison.baseline
    others = [name for name in comparison.policies if name != base]
    if not others:
        return f"Only {base} was simulated, so there is nothing to compare it with on {aspect}."
    blank = [name for name in others if metric in comparison.not_identified.get(name, {})]
    if blank:
        why = sorted({comparison.not_identified[name][metric] for name in blank})
        return f"On {aspect}, {CANNOT_TELL} ({'; '.join(why)})."
    bounds = {
        name: (table[name][f"{metric}_diff_lo"], table[name][f"{metric}_diff_hi"])
        for name in others
    }
    unknown = [name for name in others if any(math.isnan(end) for end in bounds[name])]
    driven = {
        name: comparison.assumption_driven[name][metric]
        for name in others
        if metric in comparison.assumption_driven.get(name, {}) and name not in unknown
    }
    tones = {
        name: tone(metric, *bounds[name])
        for name in others
        if name not in unknown and name not in driven
    }
    better = [name for name in tones if tones[name] == "better"]
    worse = [name for name in tones if tones[name] == "worse"]
    tied = [name for name in tones if tones[name] not in ("better", "worse")]
    warned = set(flagged)

    def note(name: str) -> str:
        return " (see its warning)" if name in warned else ""

    def figures(name: str) -> str:
        diff, lo, hi = (table[name][f"{metric}_diff{end}"] for end in ("", "_lo", "_hi"))
        return f"{fmt_diff(metric, diff)} ({fmt_range(metric, lo, hi, diff=True)})"

    parts: list[str] = []
    if better:
        sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
        leader = max(better, key=lambda name: sign * table[name][f"{metric}_diff"])
        parts.append(
            f"On {aspect}, {leader} leads{note(leader)}: {what} "
            f"{fmt_level(metric, table[leader][metric])} against "
            f"{fmt_level(metric, table[base][metric])} for {base} (the baseline), a "
            f"difference of {figures(leader)}"
        )
        also = [name for name in better if name != leader]
        if also:
            named = _names([name + note(name) for name in also])
            parts.append(f"{named} also beat{'s' if len(also) == 1 else ''} the baseline")
    elif worse and not tied and not unknown and not driven:
        parts.append(f"On {aspect}, the baseline {base} leads: every other policy {lags}")
    elif driven and not (worse or tied or unknown):
        parts.append(f"On {aspect}, no policy can be judged against the baseline {base}")
    else:
        parts.append(f"On {aspect}, no policy is shown to beat the baseline {base}")
    if tied:
        parts.append(
            f"the data cannot tell {_names(tied)} apart from {base} (the difference "
            f"interval{'s span' if len(tied) > 1 else ' spans'} 0)"
        )
    if worse and (better or tied or unknown or driven):
        parts.append(f"{_names(worse)} {lag if len(worse) > 1 else lags}")
    if unknown:
        parts.append(
            f"{_names(unknown)} {'have' if len(unknown) > 1 else 'has'} no interval yet (too few "
            "seeds: four or more give one)"
        )
    if driven:
        reasons = "; ".join(sorted(set(driven.values())))
        parts.append(
            f"{_names(list(driven))} {'are' if len(driven) > 1 else 'is'} not judged: the "
            f"figures rest "
            f"on an assumption the history cannot check ({reasons})"
        )
    return "; ".join(parts) + "."


def _rejected_sentence(history: History | None) -> tuple[str, ...]:
    """The rows of the export left out of every figure, when any were (a column the loader could
    not read can take out exactly the leads a figure is about, such as the untouched ones)."""
    if history is None or history.rejected.empty:
        return ()
    rows = int(history.rejected["row"].nunique())
    total = rows + len(history)
    return (
        f"{rows} of the export's {total} rows ({rows / total:.1%}) were rejected and are in no "
        "figure: `leadrouter inspect` (or History.rejected) lists them with why.",
    )


def bottom_line(
    comparison: Comparison, warnings: Sequence[PolicyWarning] = (), history: History | None = None
) -> str:
    """The comparison's bottom line in one paragraph of plain words: the calibration verdict;
    which policy leads on sales (conversion) and on speed (median time to first touch) against
    the baseline, by how much, with the 95% interval of the paired difference; which policies
    the data cannot tell apart from the baseline (their difference interval spans 0, or, when
    the export cannot identify sales differences, "this export cannot tell these policies apart
    on sales"); when the model cannot tell reps apart in closing, that rep-skill routing has no
    demonstrable gain on this data; how many rows of the `history` (the export compared) were
    rejected, which no figure includes; and how many warnings there are. A policy leads only
    when its interval excludes 0 in the better direction."""
    table = values_table(comparison)
    flagged = [warning.policy for warning in warnings]
    count = len(warnings)
    closing = (
        "No warnings."
        if not count
        else f"{count} warning{'s' if count > 1 else ''} below: read "
        f"{'them' if count > 1 else 'it'} before the numbers."
    )
    return " ".join(
        (
            _calibration_sentence(comparison),
            *_skill_sentence(comparison),
            _aspect_sentence(comparison, table, "conversion_rate", flagged),
            _aspect_sentence(comparison, table, "speed_to_lead_median", flagged),
            *_rejected_sentence(history),
            closing,
        )
    )
