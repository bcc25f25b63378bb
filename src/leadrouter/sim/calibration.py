"""Calibration first: does the behaviour model reproduce what really happened?

Before any what-if, the simulator replays the history's own logged assignments (every lead to the
rep who really got it, at its arrival) through the behaviour model and checks that the simulated
conversion and contact rates match the observed ones within predictive intervals - on the leads
the model was fitted on and, more tellingly, on a later time split held out from fitting (a fitted
model is refitted on the earlier leads for that check). A model that cannot reproduce the policy
that was really used has no business predicting other policies.

The predictive interval is built from replicates: each replicate redraws the model's parameters
when the model can (`behaviour.replicate(seed)`, a Bayesian bootstrap for a fitted model) and
draws fresh outcomes for the same leads, so its spread holds both the parameter uncertainty and the
binomial noise the observed rate has. With R replicates of mean m and standard deviation s, the
interval is m ± t(R−1) · s · sqrt(1 + 1/R) (a prediction interval for one more realisation).

The verdict is `pass`, `fail` (which check, by how much) or `not checkable` (why: no logged
assignments, no sales, too few leads after the split ...). A failed verdict warns with
`CalibrationWarning`; `compare` keeps it in `Comparison.calibration` and reports state it before
any comparison.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import pandas as pd

from leadrouter.errors import CalibrationWarning, ConfigError
from leadrouter.events import Converted, Touched
from leadrouter.model import Rep
from leadrouter.router import Router
from leadrouter.strategies.base import Pick

if TYPE_CHECKING:
    from leadrouter.context import Context
    from leadrouter.sim.engine import Behaviour
    from leadrouter.sim.history import History

__all__ = ["CHECK_COLUMNS", "Calibration", "calibrate", "replay_policy", "warn_if_failed"]

CHECK_COLUMNS = ("split", "metric", "observed", "predicted", "lo", "hi", "leads", "passed")
"""The columns of `Calibration.checks`: one row per (split, metric)."""

PASS, FAIL, NOT_CHECKABLE = "pass", "fail", "not checkable"

_MIN_LEADS = 50
"""A split needs this many leads to be checked at all."""

_UNASSIGNED = "never assigned"


@attrs.frozen
class Calibration:
    """The calibration verdict and its evidence.

    `verdict`: `pass`, `fail` or `not checkable`. `reasons`: why, in sentences (the failed
    checks, or what made a check impossible). `checks`: one row per (split, metric) with the
    observed rate, the replicates' mean (`predicted`), the predictive interval `lo`-`hi`, the
    split's lead count and whether the observed rate lies inside. `split_at`: where the held-out
    split begins (None when there is none). `model`: how the model was obtained for the held-out
    check (refitted on the earlier leads, or given and used as is).
    """

    verdict: str
    reasons: tuple[str, ...]
    checks: pd.DataFrame = attrs.field(eq=False, repr=False)
    split_at: datetime | None = None
    model: str = ""
    replicates: int = 0
    level: float = 0.95

    @property
    def passed(self) -> bool:
        """True only for a `pass` verdict."""
        return self.verdict == PASS

    def summary(self) -> str:
        """The verdict, its reasons and each check, as plain text for a terminal or a report."""
        head = {
            PASS: "PASS - replaying the logged assignments reproduces the history",
            FAIL: "FAIL - the model does not reproduce the history; do not trust the what-ifs",
            NOT_CHECKABLE: "NOT CHECKABLE - the history cannot confirm the model",
        }[self.verdict]
        lines = [f"Calibration: {head}"]
        if self.model:
            lines.append(f"  model: {self.model}")
        if self.split_at is not None:
            lines.append(f"  held-out split: leads arriving from {self.split_at:%Y-%m-%d %H:%M}")
        lines.extend(f"  - {reason}" for reason in self.reasons)
        for row in self.checks.itertuples():
            mark = "ok " if row.passed else "OUT"
            lines.append(
                f"  [{mark}] {row.split:<9} {row.metric:<15} observed {row.observed:7.2%}  "
                f"model {row.predicted:7.2%}  ({self.level:.0%} interval {row.lo:.2%} to "
                f"{row.hi:.2%}, {row.leads} leads)"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Calibration {self.verdict}: {len(self.checks)} checks>"


def replay_policy(history: History) -> Any:
    """A policy factory `f(reps, seed) -> Router` that sends every lead to the rep the history
    logged for it, and leaves a lead the history never assigned in the pool "never assigned"
    (not re-offered), as it was."""
    frame = history.to_frame()
    logged = {
        str(lead): str(rep)
        for lead, rep in zip(frame["lead_id"], frame["rep_id"], strict=True)
        if isinstance(rep, str) and rep
    }

    def logged_rep(ctx: Context) -> Pick | str:
        rep = logged.get(ctx.lead.id)
        if rep is None or rep not in ctx.ids:
            return Pick(None, reason="the history has no owner for it", pool=_UNASSIGNED)
        return rep

    def factory(reps: list[Rep], seed: int) -> Router:
        return Router(logged_rep, reps, seed=seed)

    return factory


def _observed(frame: pd.DataFrame) -> dict[str, float | None]:
    n = len(frame)
    reached = frame["reached"]
    return {
        "conversion_rate": float(frame["converted"].astype(bool).sum()) / n,
        "contact_rate": (
            float(reached.fillna(False).astype(bool).sum()) / n if reached.notna().any() else None
        ),
    }


def _simulated(events: Iterable[Any], leads: set[str]) -> dict[str, float]:
    sales: set[str] = set()
    reached: set[str] = set()
    touched: set[str] = set()
    for event in events:
        if event.lead_id not in leads:
            continue
        if type(event) is Converted:
            sales.add(event.lead_id)
        elif type(event) is Touched and event.lead_id not in touched:
            touched.add(event.lead_id)
            if event.reached:
                reached.add(event.lead_id)
    n = len(leads)
    return {"conversion_rate": len(sales) / n, "contact_rate": len(reached) / n}


def _interval(values: np.ndarray[Any, Any], level: float, n: int) -> tuple[float, float, float]:
    """Mean and prediction interval of a rate over `n` leads from its replicates. The spread is
    at least the binomial spread of a rate over `n` leads: with few replicates two can agree by
    chance, and a zero-width interval would fail any observation."""
    from scipy import stats

    mean = float(values.mean())
    r = len(values)
    if r < 2:
        return mean, math.nan, math.nan
    spread = max(float(values.std(ddof=1)), math.sqrt(max(mean * (1.0 - mean), 0.0) / n))
    half = float(stats.t.ppf(0.5 + level / 2.0, r - 1)) * spread * math.sqrt(1.0 + 1.0 / r)
    return mean, max(mean - half, 0.0), min(mean + half, 1.0)


def calibrate(
    history: History,
    behaviour: Behaviour | None = None,
    holdout: float = 0.3,
    seeds: int = 10,
    level: float = 0.95,
    warn: bool = True,
    engine: Mapping[str, Any] | None = None,
) -> Calibration:
    """Replay the logged assignments through the model and check the history's conversion and
    contact rates fall inside the model's predictive intervals.

    Leads are split in time: the last `holdout` share (by arrival) is the held-out split. A
    fitted model (one with `refit(history)`, e.g. from `fit_behaviour`) is refitted on the
    earlier leads for the held-out check; a given model is used as is. The whole history is
    simulated in each replicate (so backlogs carry across the split) and rates are read per
    split. `seeds` replicates (at least 2). With `warn`, a failed verdict warns
    (CalibrationWarning). `engine`: keyword arguments for `simulate` (as in `compare`).
    """
    from leadrouter.sim.compare import replicate
    from leadrouter.sim.engine import default_behaviour, simulate
    from leadrouter.sim.history import History as HistoryType

    if not 0.0 < holdout < 1.0:
        raise ConfigError(f"calibrate: holdout must be between 0 and 1, got {holdout!r}")
    if seeds < 2:
        raise ConfigError(f"calibrate: needs at least 2 replicates for an interval, got {seeds}")
    if behaviour is None:
        behaviour = default_behaviour(history)
    frame = history.to_frame()
    reasons: list[str] = []
    empty = pd.DataFrame(columns=list(CHECK_COLUMNS))
    if frame["rep_id"].isna().all():
        return _verdict(
            NOT_CHECKABLE,
            ["the history logs no assignment (no rep_id), so there is nothing to replay"],
            empty,
            None,
            "",
            0,
            level,
            warn,
        )
    if not frame["converted"].astype(bool).any():
        reasons.append("the history has no sale, so conversion cannot be checked")
    cut = round(len(frame) * (1.0 - holdout))
    early, late = frame.iloc[:cut], frame.iloc[cut:]
    split_at: datetime | None = None
    if len(late) < _MIN_LEADS or len(early) < _MIN_LEADS:
        reasons.append(
            f"too few leads for a held-out split ({len(early)} before, {len(late)} after; each "
            f"needs {_MIN_LEADS}): only the fit itself is checked"
        )
        late = frame.iloc[:0]
    else:
        split_at = late["arrived_at"].iloc[0].to_pydatetime()
    refit = getattr(behaviour, "refit", None)
    held_model = behaviour
    how = "given, used as is (it was not fitted on this history's later leads)"
    if refit is not None and len(late):
        earlier = HistoryType(
            early,
            tz=history.tz,
            roster=history.roster,
            truth=history.truth,
            origin=f"{history.origin} (earlier {1 - holdout:.0%} of leads)",
        )
        held_model = refit(earlier)
        how = f"refitted on the earlier {1 - holdout:.0%} of leads for the held-out check"
    elif refit is not None:
        how = "fitted on the whole history"
    policy = replay_policy(history)
    splits = [("fit", early if len(late) else frame, behaviour)]
    if len(late):
        splits.append(("held out", late, held_model))
    # one run per (model, replicate) serves every split checked with that model: a given model
    # checks both splits on the same runs
    sims: dict[str, dict[str, list[float]]] = {
        name: {"conversion_rate": [], "contact_rate": []} for name, _, _ in splits
    }
    for model in {id(model): model for _, _, model in splits}.values():
        parts = [(name, set(part["lead_id"])) for name, part, used in splits if used is model]
        for seed in range(seeds):
            run = simulate(history, policy, replicate(model, seed), seed=seed, **dict(engine or {}))
            events = run.ledger.events()
            for name, ids in parts:
                for metric, rate in _simulated(events, ids).items():
                    sims[name][metric].append(rate)
    rows: list[dict[str, Any]] = []
    for name, part, _ in splits:
        observed = _observed(part)
        for metric, value in observed.items():
            if value is None:
                continue
            if metric == "conversion_rate" and not frame["converted"].astype(bool).any():
                continue
            mean, lo, hi = _interval(np.array(sims[name][metric]), level, len(part))
            rows.append(
                {
                    "split": name,
                    "metric": metric,
                    "observed": value,
                    "predicted": mean,
                    "lo": lo,
                    "hi": hi,
                    "leads": len(part),
                    "passed": bool(lo <= value <= hi),
                }
            )
    if frame["reached"].isna().all():
        reasons.append("the history records no reached / not reached: contact cannot be checked")
    checks = pd.DataFrame(rows, columns=list(CHECK_COLUMNS))
    failed = checks[~checks["passed"].astype(bool)]
    if len(failed):
        verdict = FAIL
        reasons[:0] = [
            f"{row.split}: {row.metric} observed {row.observed:.2%} is outside the model's "
            f"{level:.0%} interval {row.lo:.2%} to {row.hi:.2%}"
            for row in failed.itertuples()
        ]
    elif checks.empty or not len(late):
        verdict = NOT_CHECKABLE
    else:
        verdict = PASS
    return _verdict(verdict, reasons, checks, split_at, how, seeds, level, warn)


def _verdict(
    verdict: str,
    reasons: list[str],
    checks: pd.DataFrame,
    split_at: datetime | None,
    how: str,
    seeds: int,
    level: float,
    warn: bool,
) -> Calibration:
    result = Calibration(verdict, tuple(reasons), checks, split_at, how, seeds, level)
    if warn:
        warn_if_failed(result, stacklevel=4)
    return result


def warn_if_failed(calibration: Calibration, stacklevel: int = 2) -> None:
    """Warn loudly (CalibrationWarning) when `calibration` failed; `stacklevel` as in
    `warnings.warn`, counted from the caller of this function."""
    if calibration.verdict == FAIL:
        warnings.warn(
            "the behaviour model failed calibration, so the what-ifs built on it are not to be "
            "trusted - " + "; ".join(calibration.reasons),
            CalibrationWarning,
            stacklevel=stacklevel + 1,
        )
