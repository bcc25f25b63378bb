"""Calibration first: does the behaviour model reproduce what really happened?

Before any what-if, the simulator replays the history's own logged assignments (every lead to the
rep who really got it, at its arrival) through the behaviour model and checks that the simulated
figures match the observed ones within predictive intervals - on the leads the model was fitted
on and, more tellingly, on a later time split held out from fitting (a fitted model is refitted on
the earlier leads for that check). A model that cannot reproduce the policy that was really used
has no business predicting other policies.

The figures: the conversion rate (when the history has a sale), the contact rate (when it has
reached flags), revenue per lead (`REVENUE`, when its sales carry amounts) and each product's
conversion rate (`product_metric(product)`, when the export has more than one product; the m
products of a split make one check, its error shared out over the m). A model can match the
conversion rate and still sell the wrong things - too many dear products - so revenue and sales
by product are checked too. A figure the history cannot check has a row saying why.

The predictive interval is built from replicates: each replicate redraws the model's parameters
when the model can (`behaviour.replicate(seed)`, a Bayesian bootstrap for a fitted model) and
draws fresh outcomes for the same leads, so its spread holds both the parameter uncertainty and the
noise the observed figure has. With R replicates of mean m and standard deviation s, the interval
is m ± t(R−1) · s · sqrt(1 + 1/R) (a prediction interval for one more realisation); s is at least
the figure's own sampling noise (a rate's binomial spread; revenue per lead's standard error, in
the history or under the model, whichever is larger), and when that computed floor sets s the
normal quantile replaces t.

With deals still open at the export (`leadrouter.sim.censoring`), the history's sales figures are
censoring-aware - sold within the model's conversion horizon, each split over its own censoring
curve - so they compare like with like with the model's; a split with more than a third of its
leads still open has no sales checks (not checkable: its sales are not known yet).

The verdict is `pass`, `fail` (which check, by how much) or `not checkable` (why: no logged
assignments, no sales, too few leads after the split ...). It fails when any check fails, so the
checks are made jointly: with F checks over both splits (conversion, contact, revenue and sales
by product, each where checkable), each interval's level is 1 - (1 - level) / F (Bonferroni), and
a model that is right fails calibration in at most 1 - level (5%) of histories rather than in one
of three, as eight separate 95% checks would. A failed verdict warns with
`CalibrationWarning`; `compare` keeps it in `Comparison.calibration` and reports state it before
any comparison.

This module replays the history, splits it and gives the verdict; the checks of each split (what
can be checked, the replay's figures, the intervals) are `leadrouter.sim.calibration_checks`.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import pandas as pd

from leadrouter.errors import CalibrationWarning, ConfigError
from leadrouter.model import Rep
from leadrouter.router import Router
from leadrouter.sim.calibration_checks import (
    FAIL,
    NOT_CHECKABLE,
    PASS,
    checks_in,
    product_metric,
    scope_of,
    simulated,
    split_rows,
)
from leadrouter.sim.censoring import DEFAULT_HORIZON, censoring, history_as_of
from leadrouter.sim.metrics import BY_PRODUCT, REVENUE
from leadrouter.strategies.base import Pick

if TYPE_CHECKING:
    from leadrouter.context import Context
    from leadrouter.sim.engine import Behaviour
    from leadrouter.sim.history import History
    from leadrouter.sim.repspread import RepSpread

__all__ = [
    "BY_PRODUCT",
    "CHECK_COLUMNS",
    "REVENUE",
    "Calibration",
    "calibrate",
    "fmt_check",
    "product_metric",
    "replay_policy",
    "warn_if_failed",
]

CHECK_COLUMNS = (
    "split",
    "metric",
    "observed",
    "predicted",
    "lo",
    "hi",
    "leads",
    "passed",
    "status",
    "note",
    "level",
)
"""The columns of `Calibration.checks`: one row per (split, metric). `status` is `pass`, `fail`
or `not checkable`; a metric the history cannot check has a row too, its numbers NaN, `passed`
False and `note` saying why (no amounts, no products, no reached flags ...). `level`: the
interval's level - 1 - (1 - level) / F for each of the F checks the verdict rests on, and that
error divided again over the m products of a split, so the checks together err as rarely as one
check at the calibration's level."""


_MIN_LEADS = 50
"""A split needs this many leads to be checked at all."""


def fmt_check(metric: Any, value: Any) -> str:
    """A check's number as text: revenue as money (thousands separated, cents below 1,000),
    every other metric as a percentage; a missing number as `-`."""
    number = math.nan if value is None else float(value)
    if math.isnan(number):
        return "-"
    if metric == REVENUE:
        return f"{number:,.2f}" if abs(number) < 1000 else f"{number:,.0f}"
    return f"{number:.2%}"


def _fmt_level(level: Any) -> str:
    """95%, or 98.3% for a level that is not a whole percentage."""
    text = f"{float(level):.1%}"
    return text.replace(".0%", "%")


_UNASSIGNED = "never assigned"


@attrs.frozen
class Calibration:
    """The calibration verdict and its evidence.

    `verdict`: `pass`, `fail` or `not checkable`. `reasons`: why, in sentences (the failed
    checks, or what made a check impossible). `checks`: one row per (split, metric) with the
    observed figure, the replicates' mean (`predicted`), the predictive interval `lo`-`hi`, the
    split's lead count (a product's: its leads), whether the observed figure lies inside, the
    `status` (`pass`, `fail`, `not checkable`), a `note` (why not checkable) and the interval's
    `level` (see `CHECK_COLUMNS`); `fmt_check` formats a figure. `split_at`: where the held-out
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
    rep_spread: RepSpread | None = None
    """How much the model found reps differ in closing (`leadrouter.sim.repspread`), shown with
    the verdict: it is what every policy that routes by rep skill rests on. None when the model
    does not estimate it."""

    @property
    def passed(self) -> bool:
        """True only for a `pass` verdict."""
        return self.verdict == PASS

    def not_checked(self, metric: str) -> str | None:
        """Why `metric` could not be checked on any split (its rows' note), or None when it
        was checked somewhere or has no row: a pass on the other figures says nothing of it."""
        checks = self.checks
        if not {"metric", "status", "note"} <= set(checks.columns):
            return None
        rows = checks[checks["metric"] == metric]
        if len(rows) and (rows["status"] == NOT_CHECKABLE).all():
            return str(rows["note"].iloc[0]).rstrip(".")
        return None

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
        checks = self.checks
        status = checks["status"] if "status" in checks else pd.Series(PASS, index=checks.index)
        unchecked = checks[status == NOT_CHECKABLE]
        notes = set(unchecked["note"]) if len(unchecked) else set()
        # a reason that a not-checkable row says is printed with the row, not twice
        lines.extend(f"  - {reason}" for reason in self.reasons if reason not in notes)
        checked = checks[status != NOT_CHECKABLE]
        width = max([15, *(len(str(m)) for m in checked["metric"])])
        for row in checked.itertuples():
            mark = "ok " if row.passed else "OUT"
            observed = fmt_check(row.metric, row.observed)
            predicted = fmt_check(row.metric, row.predicted)
            at = getattr(row, "level", self.level)
            lines.append(
                f"  [{mark}] {row.split:<9} {row.metric:<{width}} observed {observed:>7}  "
                f"model {predicted:>7}  ({_fmt_level(at)} interval "
                f"{fmt_check(row.metric, row.lo)} to {fmt_check(row.metric, row.hi)}, "
                f"{row.leads} leads)"
            )
        for (metric, note), group in unchecked.groupby(["metric", "note"], sort=False):
            splits = ", ".join(dict.fromkeys(group["split"]))
            lines.append(f"  [ - ] {metric} not checkable ({splits}): {note}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Calibration {self.verdict}: {len(self.checks)} checks>"

    def _repr_html_(self) -> str:
        """The verdict in a notebook: the verdict's line of `summary()` as the title, then one
        row per check (observed, model, interval, whether the observed figure lies inside), the
        figures written and named as the report writes them."""
        from leadrouter._html import render
        from leadrouter.sim.formats import fmt_level, fmt_range
        from leadrouter.sim.labels import metric_label, plain

        rows = []
        for row in self.checks.to_dict(orient="records"):
            metric, leads = str(row["metric"]), f"{int(row['leads']):,}"
            label = metric_label(metric).label
            if row.get("status") == NOT_CHECKABLE:
                rows.append((row["split"], label, "-", "-", "-", leads, plain(str(row["note"]))))
                continue
            interval = fmt_range(metric, row["lo"], row["hi"])
            at = _fmt_level(row.get("level", self.level))
            observed, predicted = (fmt_level(metric, row[k]) for k in ("observed", "predicted"))
            outcome = "inside" if row["passed"] else "OUTSIDE"
            rows.append(
                (row["split"], label, observed, predicted, f"{interval} ({at})", leads, outcome)
            )
        head, *lines = self.summary().splitlines()
        # summary() gives the model, the split and the reasons no row already says before the checks
        notes = [
            plain(line.strip().removeprefix("- "))
            for line in lines
            if not line.strip().startswith("[")
        ]
        header = ("split", "check", "observed", "model", "interval", "leads", "observed is")
        return render(head, rows, header=header, notes=notes)


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


def calibrate(
    history: History,
    behaviour: Behaviour | None = None,
    holdout: float = 0.3,
    seeds: int = 10,
    level: float = 0.95,
    warn: bool = True,
    engine: Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Calibration:
    """Replay the logged assignments through the model and check the history's conversion and
    contact rates, revenue per lead and each product's conversion fall inside the model's
    predictive intervals (see the module docstring); a figure the history cannot check gets a
    `not checkable` row with why.

    Leads are split in time: the last `holdout` share (by arrival) is the held-out split. A
    fitted model (one with `refit(history)`, e.g. from `fit_behaviour`) is refitted on the
    earlier leads for the held-out check; a given model is used as is. The whole history is
    simulated in each replicate (so backlogs carry across the split) and rates are read per
    split. `seeds` replicates (at least 2). With `warn`, a failed verdict warns
    (CalibrationWarning). `engine`: keyword arguments for `simulate` (as in `compare`).
    `progress(done, total)` is called with 0 before the first replay and after each one (a
    replay simulates the whole history, so on a long export each takes minutes).
    """
    from leadrouter.sim.engine import default_behaviour, replicate, simulate
    from leadrouter.sim.history import History as HistoryType

    if not 0.0 < holdout < 1.0:
        raise ConfigError(f"calibrate: holdout must be between 0 and 1, got {holdout!r}")
    if seeds < 2:
        raise ConfigError(f"calibrate: needs at least 2 replicates for an interval, got {seeds}")
    if behaviour is None:
        behaviour = default_behaviour(history, fit=True)
    spread = getattr(behaviour, "rep_spread", None)
    frame = history.to_frame()
    reasons: list[str] = []
    from leadrouter.sim.behaviour import owner_leaked

    unreplayable = None
    if frame["rep_id"].isna().all():
        unreplayable = "the history logs no assignment (no rep_id), so there is nothing to replay"
    elif owner_leaked(frame):
        unreplayable = (
            "the owner (rep_id) is recorded mostly on converted leads - because of the "
            "outcome - so the logged assignments are the sales alone and cannot be replayed"
        )
    if unreplayable is not None:
        empty = pd.DataFrame(columns=list(CHECK_COLUMNS))
        return _verdict(NOT_CHECKABLE, [unreplayable], empty, None, "", 0, level, warn, spread)
    scope = scope_of(frame)
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
            # the earlier leads' outcomes are known as of the export, not as of their own end
            as_of=history_as_of(history),
        )
        held_model = refit(earlier)
        how = f"refitted on the earlier {1 - holdout:.0%} of leads for the held-out check"
    elif refit is not None:
        how = "fitted on the whole history"
    policy = replay_policy(history)
    splits = [("fit", early if len(late) else frame, behaviour)]
    if len(late):
        splits.append(("held out", late, held_model))
    ids_of = {name: set(part["lead_id"]) for name, part, _ in splits}
    product_of: dict[str, str] = {}
    if scope.products:
        product_of = {
            str(lead): str(product)
            for lead, product in zip(frame["lead_id"], frame["product"], strict=True)
            if product in scope.products
        }
    # one run per (model, replicate) serves every split checked with that model: a given model
    # checks both splits on the same runs
    sims: dict[str, dict[str, list[float]]] = {name: {} for name, _, _ in splits}
    models = {id(model): model for _, _, model in splits}.values()
    total = len(models) * seeds
    if progress is not None:
        progress(0, total)
    for done, (model, seed) in enumerate(itertools.product(models, range(seeds)), start=1):
        run = simulate(history, policy, replicate(model, seed), seed=seed, **dict(engine or {}))
        events = run.ledger.events()
        for name, _, used in splits:
            if used is model:
                for metric, value in simulated(events, ids_of[name], product_of).items():
                    sims[name].setdefault(metric, []).append(value)
        if progress is not None:
            progress(done, total)
    # the verdict fails when any check fails: each of the F checks is made at 1 - (1 - level) / F
    # (Bonferroni), so a model that is right fails in at most 1 - level of histories
    families = sum(checks_in(part, scope) for _, part, _ in splits)
    each = 1.0 - (1.0 - level) / max(families, 1)
    rows: list[dict[str, Any]] = []
    as_of = history_as_of(history)
    for name, part, model in splits:
        # each split's censoring curve is its own: a later split's leads were followed less
        censored = censoring(part, as_of, _horizon(model), history.tz)
        rows.extend(split_rows(name, part, sims[name], scope, each, censored))
    reasons.extend(scope.why_not.values())
    checks = pd.DataFrame(rows, columns=list(CHECK_COLUMNS))
    failed = checks[checks["status"] == FAIL]
    if len(failed):
        verdict = FAIL
        reasons[:0] = [
            f"{row.split}: {row.metric} observed {fmt_check(row.metric, row.observed)} is "
            f"outside the model's {_fmt_level(row.level)} interval "
            f"{fmt_check(row.metric, row.lo)} to {fmt_check(row.metric, row.hi)}"
            for row in failed.itertuples()
        ]
    elif (checks["status"] == NOT_CHECKABLE).all() or not len(late):
        verdict = NOT_CHECKABLE
    else:
        verdict = PASS
    return _verdict(verdict, reasons, checks, split_at, how, seeds, level, warn, spread)


def _horizon(behaviour: Any) -> timedelta:
    """The conversion horizon of a fitted model (`fit_behaviour(horizon=)`); the default for a
    model without one (a given model, or the truth: its chance of a sale is taken as within
    it)."""
    basis = getattr(behaviour, "basis", None)
    found = getattr(basis, "horizon", None)
    return found if isinstance(found, timedelta) else DEFAULT_HORIZON


def _verdict(
    verdict: str,
    reasons: list[str],
    checks: pd.DataFrame,
    split_at: datetime | None,
    how: str,
    seeds: int,
    level: float,
    warn: bool,
    spread: RepSpread | None,
) -> Calibration:
    result = Calibration(verdict, tuple(reasons), checks, split_at, how, seeds, level, spread)
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
