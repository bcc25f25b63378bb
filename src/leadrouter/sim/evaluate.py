"""Off-policy evaluation: what a policy would have sold, estimated from logged propensities.

A team that routes with a little randomisation (`Explore(base, share=0.05)`) logs, with every
assignment, the exact chance it had (`Assigned.propensity`, the export's `propensity` column).
From that log any other policy can be evaluated without a model of the team:

1. **Replay.** The logged events are appended, in time order, to each candidate policy's own
   ledger. Just before each logged lead is routed, the candidate previews it
   (`Router.preview`) on the ledger as it stood then, so a stateful policy (rotation pointer,
   caps, dynamic caps) decides from the state it would have seen. Its choice `a*` is compared
   with the logged rep `a` and the logged chance `p`.
2. **Weights.** `w = 1/p` when `a* == a`, else 0 (Li et al. 2011). A lead whose assignment was
   not randomised (no propensity) has `p = 1` for its logged rep and no chance for any other:
   where the policy would choose another rep, or hold the lead in a pool, the log says nothing
   about it, and the lead has **no support**.
3. **Estimators**, each a mean over the supported leads with a normal 95% interval (cut at 0,
   and at 1 for conversion: no truth lies beyond), whose variance is the direct model's,
   recalibrated to the log's own totals - never the outcomes' own variance, which moves with
   the estimate (see `Moments`):
   - inverse propensity (`_ips`): mean of `w y` - unbiased, its variance grows with the weights;
   - self-normalised (`_snips`): `sum(w y) / sum(w)` - slightly biased, far steadier when the
     weights are large (delta-method interval);
   - doubly robust (no suffix, the headline): mean of `q(a*) + w (y - q(a))`, where `q` is the
     direct model, a fitted Behaviour's expected sale for that rep (its valid, contact and
     conversion chances at the rep's backlog then); unbiased whenever the propensities are
     right, however wrong the model, and tighter the better the model is.

`y` is the lead's sale (conversion) or its amount (revenue per lead). The estimand: the mean
outcome per lead had each lead gone where the policy sends it, everything logged before it as
it was; for a synthetic history generated with `logging=`, `Evaluation.truth()` computes it
exactly, and `benchmarks/bench_evaluate.py` measures how often the intervals cover it.

Assumption the log cannot check: when a lead's assignment was randomised, every rep the policy
may choose had a chance (true of Explore, which spreads its share over every rep that could
take the lead under the router's rules); a policy that sends a lead to a rep the logging
rules excluded is then counted as a non-match, which the weights show on a log large enough
(`support.unshared`: its note names reps chosen before they joined).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import pandas as pd
from scipy import stats

from leadrouter._util import stable_key
from leadrouter.errors import ConfigError, InvalidValueError
from leadrouter.events import Arrived, Assigned, Touched
from leadrouter.model import Lead, Rep
from leadrouter.sim.arguments import check_history, check_options, check_policies
from leadrouter.sim.engine import Policy, make_router
from leadrouter.sim.estimators import Moments, cut, plain, z_of
from leadrouter.sim.grading import wilson
from leadrouter.sim.support import FEW, check_randomised, randomised, unshared

if TYPE_CHECKING:
    from leadrouter.router import Router
    from leadrouter.sim.behaviour import Behaviour
    from leadrouter.sim.history import History

__all__ = ["ESTIMATORS", "METRICS", "Evaluation", "evaluate", "leads_needed"]

Array = np.ndarray[Any, Any]
Progress = Callable[[int, int], None]

METRICS = ("conversion_rate", "revenue")
"""What is estimated per lead: the chance of a sale, and the amount sold."""
ESTIMATORS = ("dr", "ips", "snips")
"""Doubly robust (the table's unsuffixed columns), inverse propensity, self-normalised."""
_GRID = (0.1, 0.3, 0.5, 0.7, 0.9)
"""Quantiles at which the direct model averages a rep's delay and a sale's amount."""
_FEW_SALES = 3.0
"""Below this many logged sales the log says little of the level of sales: intervals take it as
this many (the rule of three), so none is zero wide."""


@attrs.frozen(eq=False)
class _Policy:
    """One policy replayed on the log: per lead its choice, whether the log supports it, the
    weight, and the direct model's expected sale and amount for its choice."""

    choice: list[str | None]
    supported: Array
    weight: Array
    q: Array


@attrs.frozen(eq=False)
class Evaluation:
    """The result of `evaluate`: one replayed policy per name, over the same logged leads.

    `lead_ids`, `logged` (rep per lead, None when the log left it without one), `propensity`
    (NaN when not randomised), `sale` (1 when the lead bought) and `amount` (0 unless it
    bought), `q` (the direct model's expected sale, amount and squared amount per lead for the
    logged rep), `level` (0.95), `amounts` (whether the log's sales have amounts)."""

    history: History
    lead_ids: tuple[str, ...]
    logged: tuple[str | None, ...]
    propensity: Array
    sale: Array
    amount: Array
    q: Array
    policies: Mapping[str, _Policy]
    level: float = 0.95
    amounts: bool = True
    """False when no sale in the log has an amount: revenue is then not estimated (NaN), as the
    log's revenue would read 0 beside a model that prices every sale."""

    @property
    def choices(self) -> pd.DataFrame:
        """The rep each policy would have chosen for each logged lead (None: kept in a pool)."""
        data = {name: policy.choice for name, policy in self.policies.items()}
        return pd.DataFrame(data, index=pd.Index(self.lead_ids, name="lead_id"))

    def table(self) -> pd.DataFrame:
        """One row per policy (index: its name).

        - `conversion_rate`, `revenue` (per lead) with `_lo` / `_hi`: the doubly robust estimate
          and its interval (the headline);
        - the same with `_ips` (inverse propensity) and `_snips` (self-normalised) suffixes;
        - `matched`: the share of leads where the policy chose the logged rep;
        - `ess`: the effective sample size of the weights, (sum w)^2 / sum w^2, leads whose
          information the estimate really rests on;
        - `no_support`: the share of leads where the policy's choice had no logged chance; they
          are left out (the estimate is over the others), and `note` says so;
        - `note`: what limits the row, in words ("" when nothing does).
        """
        # a weight past the floats (a propensity below 1e-308) is inf: its row shows no
        # estimate, and its note names the lead, rather than numpy warning about the inf
        with np.errstate(over="ignore", invalid="ignore"):
            rows = {name: self._row(policy) for name, policy in self.policies.items()}
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "policy"
        return frame

    def logged_outcome(self) -> pd.Series[float]:
        """The logged policy's own per-lead conversion and revenue, with intervals: the
        baseline every estimate is beside."""
        n, sales = len(self.sale), float(self.sale.sum())
        low, high = wilson(int(sales), n, z_of(self.level))
        row = {
            "conversion_rate": sales / n if n else math.nan,
            "conversion_rate_lo": low,
            "conversion_rate_hi": high,
        }
        if not self.amounts:
            mean = half = math.nan
        elif sales < _FEW_SALES:  # a spread from one or two sales says nothing
            mean, half = (float(self.amount.mean()) if n else math.nan), math.nan
        else:
            mean, half = plain(self.amount, self.level)
        row.update(revenue=mean, revenue_lo=mean - half, revenue_hi=mean + half)
        return pd.Series(row, name="logged")

    def truth(self) -> pd.DataFrame:
        """The exact per-lead conversion and revenue of each policy on the supported leads, for
        a synthetic history generated with `logging=` (`SyntheticTruth.if_assigned`): what the
        intervals should cover. Raises ConfigError for any other history."""
        truth = self.history.truth
        chances = None if truth is None else truth.if_assigned
        if truth is None or chances is None:
            raise ConfigError(
                "Evaluation.truth() needs a synthetic history generated with logging=, e.g. "
                "synthetic(..., logging=Explore(EqualRotation(), share=0.1))"
            )
        table = chances.loc[list(self.lead_ids)]
        columns = {rep: k for k, rep in enumerate(table.columns)}
        values = table.to_numpy()
        amount = truth.per_lead.set_index("lead_id").loc[list(self.lead_ids), "amount_mean"]
        amount_mean = amount.to_numpy(dtype=float)
        rows = {}
        for name, policy in self.policies.items():
            keep = np.flatnonzero(policy.supported)
            picked = np.array([columns[str(policy.choice[i])] for i in keep], dtype=np.int64)
            chance = values[keep, picked]
            rows[name] = {
                "conversion_rate": float(chance.mean()) if len(keep) else math.nan,
                "revenue": float((chance * amount_mean[keep]).mean()) if len(keep) else math.nan,
            }
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "policy"
        return frame

    def __str__(self) -> str:
        return self.text()

    def text(self) -> str:
        """The estimates as plain text: the logged policy's own outcome, then each policy's
        doubly robust estimate with its interval, how much of the log it rests on, and what
        limits it; then the same by the two other estimators."""
        n = len(self.lead_ids)
        drawn = int(randomised(self.propensity).sum())
        own = self.logged_outcome()
        lines = [
            f"Off-policy estimates from {n:,} logged leads ({drawn:,} randomised "
            f"assignments); {self.level:.0%} intervals",
            f"  logged policy: conversion {_range(own, 'conversion_rate', True)}, revenue per "
            f"lead {_range(own, 'revenue', False)}",
            "",
        ]
        if not self.amounts:
            lines.insert(-1, "  revenue: no sale in the export has an amount, so none is estimated")
        table = self.table()
        width = max(len("policy"), *(len(str(name)) for name in table.index))
        lines.append(
            f"  {'policy':<{width}}  {'conversion (doubly robust)':<26}  "
            f"{'revenue per lead':<24}  matched  effective n"
        )
        for name, row in table.iterrows():
            lines.append(
                f"  {name!s:<{width}}  {_range(row, 'conversion_rate', True):<26}  "
                f"{_range(row, 'revenue', False):<24}  {row['matched']:>7.0%}  {row['ess']:>11,.0f}"
            )
            if row["note"]:
                lines.append(f"  {'':<{width}}  {row['note']}")
        if len({policy.supported.tobytes() for policy in self.policies.values()}) > 1:
            lines.append(
                "  (the rows rest on different leads, each on those its choices had a logged "
                "chance for: a difference between two rows is also one of leads)"
            )
        lines += ["", "  by estimator (conversion): inverse propensity | self-normalised"]
        for name, row in table.iterrows():
            lines.append(
                f"  {name!s:<{width}}  {_range(row, 'conversion_rate_ips', True)} | "
                f"{_range(row, 'conversion_rate_snips', True)}"
            )
        return "\n".join(lines)

    @property
    def calibration(self) -> Array:
        """The direct model's expected sale, amount and squared amount recalibrated to the log:
        per column, the logged total over the model's total for the logged reps (1 where the
        model predicts nothing). The intervals' variances use the model times these factors, so
        a model that is right about which leads and reps sell but off in level (a fitted model
        typically is, by 10-20%) does not make every interval too narrow or too wide."""
        sales = float(self.sale.sum())
        observed = np.array([sales, self.amount.sum(), (self.amount**2).sum()], dtype=float)
        if sales < _FEW_SALES:
            # so few sales that the level is unknown: taken as three (the rule of three's
            # bound), never as zero, which would make every interval zero wide
            observed = observed * (_FEW_SALES / sales) if sales else np.array([_FEW_SALES, 0, 0])
        predicted = self.q.sum(axis=0)
        factors: Array = np.divide(observed, predicted, out=np.ones(3), where=predicted > 0)
        if sales == 0:
            factors[1:] = factors[0]  # no amount was seen: the model's amounts, at that level
        return factors

    def _row(self, policy: _Policy) -> dict[str, Any]:
        keep = policy.supported
        n = int(keep.sum())
        w = policy.weight[keep]
        row: dict[str, Any] = {}
        outside: set[str] = set()
        level = self.level
        scale = self.calibration
        for metric, y, column, square in (
            ("conversion_rate", self.sale[keep], 0, 0),
            ("revenue", self.amount[keep], 1, 2),
        ):
            moments = Moments(
                w=w,
                q_logged=self.q[keep, column],
                q=policy.q[keep, column],
                mean=policy.q[keep, column] * scale[column],
                second=policy.q[keep, square] * scale[square],
            )
            estimates = {
                "dr": moments.doubly_robust(y, level),
                "ips": moments.inverse_propensity(y, level),
                "snips": moments.self_normalised(y, level),
            }
            ceiling = 1.0 if metric == "conversion_rate" else math.inf
            priced = metric == "conversion_rate" or self.amounts
            for estimator in ESTIMATORS:
                mean, half = estimates[estimator] if priced else (math.nan, math.nan)
                name = metric if estimator == "dr" else f"{metric}_{estimator}"
                cuts = cut(mean, half, ceiling)
                row.update(zip((name, f"{name}_lo", f"{name}_hi"), cuts, strict=True))
                if priced and not math.isnan(mean) and math.isnan(row[name]):
                    outside.add(metric)
        order = [
            f"{metric}{suffix}{end}"
            for suffix in ("", "_ips", "_snips")
            for metric in METRICS
            for end in ("", "_lo", "_hi")
        ]
        unit = w / w.max() if n and w.max() > 0 else w  # (sum w)^2 / sum w^2, no square of w
        ess = float(unit.sum() ** 2 / (unit**2).sum()) if n and w.max() > 0 else 0.0
        total = len(self.lead_ids)
        out = {name: row[name] for name in order}
        out.update(
            matched=np.count_nonzero(policy.weight) / total,  # weighted exactly where matched
            ess=ess,
            no_support=1.0 - n / total,
            note="; ".join(
                filter(
                    None,
                    (
                        _note(n, total, ess, sum(rep is None for rep in policy.choice)),
                        self._outweighs(policy.weight),
                        self._dominates(policy.weight),
                        unshared(
                            self.propensity,
                            policy.choice,
                            policy.weight,
                            self.logged,
                            self.lead_ids,
                            ess,
                        ),
                        _beyond(sorted(outside)),
                    ),
                )
            ),
        )
        return out

    def _outweighs(self, weight: Array) -> str:
        """A caveat naming the lead of the largest weight when it alone counts for more than
        every logged lead together (weight above their number): a propensity that small (1e-300
        is a weight of 1e300) makes the estimates that lead's, whatever the others did."""
        total = len(self.lead_ids)
        heavy = np.flatnonzero(weight > total)
        if not len(heavy):
            return ""
        top = int(heavy[np.argmax(weight[heavy])])
        more = f" ({len(heavy) - 1:,} other leads too)" if len(heavy) > 1 else ""
        return (
            f"lead {self.lead_ids[top]}'s propensity {self.propensity[top]:.3g} gives it a "
            f"weight of {weight[top]:.3g}, more than all {total:,} logged leads together{more}: "
            "the estimates rest on it; check the export's propensity column"
        )

    def _dominates(self, weight: Array) -> str:
        """A caveat naming the lead that alone makes up most of the inverse propensity
        revenue estimate (a large weight on a large sale): the interval then rests on one
        lead's luck, however many leads matched."""
        if not self.amounts:
            return ""
        share_of = weight * self.amount
        total = float(share_of.sum())
        if not (math.isfinite(total) and total > 0):
            return ""
        top = int(np.argmax(share_of))
        if share_of[top] / total <= 0.5:
            return ""
        return (
            f"lead {self.lead_ids[top]} alone makes up {share_of[top] / total:.0%} of the "
            f"revenue estimate (weight {weight[top]:.3g}, amount {self.amount[top]:,.0f}): "
            "read its revenue as that one sale's luck"
        )


def _range(row: pd.Series[Any], name: str, percent: bool) -> str:
    """ "6.1% (4.9% to 7.3%)" or "812 (640 to 990)"; "no estimate" for NaN, "(no interval)"
    when the estimate has none (the log's revenue from fewer than three sales)."""
    value, low, high = row[name], row[f"{name}_lo"], row[f"{name}_hi"]
    if not math.isfinite(value):
        return "no estimate"
    if math.isnan(low) or math.isnan(high):
        return f"{_number(value, percent)} (no interval)"
    return f"{_number(value, percent)} ({_number(low, percent)} to {_number(high, percent)})"


def _beyond(metrics: list[str]) -> str:
    """The note for estimates whose whole interval fell outside what a rate or an amount can
    be."""
    if not metrics:
        return ""
    named = " and ".join("conversion" if m == "conversion_rate" else m for m in metrics)
    return (
        f"no {named} estimate: its whole interval fell below 0 (or above 100%), so the direct "
        "model and the log disagree for this policy; check the model, or log longer"
    )


def _number(value: float, percent: bool) -> str:
    """ "6.1%" or "812"; in short (-3.16e+298%) when an extreme weight makes it huge."""
    if percent:
        return f"{value:.1%}" if abs(value) < 1e4 else f"{value * 100:.3g}%"
    return f"{value:,.0f}" if abs(value) < 1e12 else f"{value:.3g}"


def _note(n: int, total: int, ess: float, pooled: int) -> str:
    """What limits a row: leads without support (and how many of them the policy would hold in
    a pool, which no logged assignment did), and too small an effective sample."""
    notes = []
    held = f"; it would hold {pooled:,} in a pool or for a tier, which the log never did"
    if n == 0:
        return "no estimate: no lead's choice had a logged chance" + (held if pooled else "")
    if n < total:
        notes.append(
            f"over the {n:,} of {total:,} leads whose choice had a logged chance"
            + (held if pooled else "")
        )
    if ess < FEW:
        notes.append(
            f"effective sample {ess:.0f} leads: too few for a normal interval; log longer or "
            "explore more"
        )
    return "; ".join(notes)


class _DirectModel:
    """A Behaviour's expected sale, amount and squared amount for a lead with a rep at that
    rep's backlog: p_valid x mean over delay quantiles of p_contact x p_convert, times the mean
    (and the mean square) of the amount over its quantiles; zeros for no rep. Cached per (lead,
    rep, backlog)."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self._cache: dict[tuple[str, str, int], tuple[float, float, float]] = {}

    def __call__(self, lead: Lead, rep: str | None, backlog: int) -> tuple[float, float, float]:
        if rep is None:
            return 0.0, 0.0, 0.0
        key = (lead.id, rep, backlog)
        found = self._cache.get(key)
        if found is not None:
            return found
        model = self.behaviour
        contact = sum(
            model.p_contact(rep, lead, model.touch_delay_minutes(rep, backlog, u)) for u in _GRID
        ) / len(_GRID)
        sale = model.p_valid(lead) * contact * model.p_convert(rep, lead)
        amounts = [model.amount(rep, lead, u) for u in _GRID]
        amount = sum(amounts) / len(_GRID)
        square = sum(a * a for a in amounts) / len(_GRID)
        result = (float(sale), float(sale * amount), float(sale * square))
        self._cache[key] = result
        return result


def evaluate(
    history: History,
    policies: Mapping[str, Policy],
    *,
    behaviour: Behaviour | None = None,
    level: float = 0.95,
    seed: int = 0,
    progress: Progress | None = None,
) -> Evaluation:
    """Estimate each policy's per-lead conversion and revenue from `history`'s logged
    propensities, without simulating (see the module docstring for the method).

    `policies`: {name: policy} as for `compare` (a Strategy, a playbook path or a factory).
    `behaviour`: the direct model of the doubly robust estimator; `fit_behaviour(history)` by
    default. `seed`: each policy's router seed (its tie order); a randomised policy draws one
    choice per lead from random numbers of its own, derived from it (never the logged
    router's, which would copy the log's exploration).
    `level`: the intervals' coverage, a fraction in (0, 1).
    `progress(done, total)` is called as leads are replayed.

    Raises MissingPropensityError when no assignment in `history` has a propensity, saying
    how to log them.
    """
    check_history(history, "evaluate")
    policies = check_policies(policies, "evaluate")
    check_options("evaluate", behaviour, progress)
    if not (isinstance(level, float | int) and 0.0 < level < 1.0):
        raise InvalidValueError(
            f"evaluate: level={level!r}; give the interval's coverage as a fraction between 0 "
            "and 1, e.g. level=0.95"
        )
    frame = history.to_frame()
    propensity = frame["propensity"].to_numpy(dtype=float)
    check_randomised(history, frame, propensity)
    if behaviour is None:
        from leadrouter.sim.estimation import fit_behaviour

        behaviour = fit_behaviour(history)
    rep_ids = frame["rep_id"].tolist()
    logged: tuple[str | None, ...] = tuple(None if pd.isna(r) else str(r) for r in rep_ids)
    sale = frame["converted"].to_numpy(dtype=float)
    given = frame["amount"].to_numpy(dtype=float)
    amount = np.where(sale > 0, np.nan_to_num(given), 0.0)
    replay = _Replay(history, policies, seed, _DirectModel(behaviour), progress)
    replay.run()
    drawn = randomised(propensity)
    chance = np.where(drawn, propensity, 1.0)
    with np.errstate(over="ignore"):
        inverse = 1.0 / chance  # inf past the floats (below 1e-308): see Evaluation.table
    named = {}
    for k, name in enumerate(policies):
        choice = replay.choices[k]
        same = np.array([c is not None and c == a for c, a in zip(choice, logged, strict=True)])
        chose_rep = np.array([c is not None for c in choice])
        supported = same | (drawn & chose_rep)
        named[name] = _Policy(
            choice=choice,
            supported=supported,
            weight=np.where(same, inverse, 0.0),
            q=replay.q[k],
        )
    return Evaluation(
        history=history,
        lead_ids=tuple(frame["lead_id"].tolist()),
        logged=logged,
        propensity=propensity,
        sale=sale,
        amount=amount,
        q=replay.logged,
        policies=named,
        level=level,
        amounts=bool(np.isfinite(given[sale > 0]).any()) or not sale.any(),
    )


def _replaying(policy: Policy, reps: list[Rep], seed: int) -> Router:
    """The router that replays `policy`. A randomised one draws from `ctx.rng`, keyed by (seed,
    lead): with the logging router's seed (0 unless it was set, as evaluate's default) it would
    draw the logged draws and copy the log's exploration lead for lead, so it gets a seed of
    its own. A deterministic one keeps `seed`, its tie order being part of the policy."""
    router = make_router(policy, reps, seed, None)
    if router.strategy.tags.randomized:
        router = make_router(policy, reps, stable_key(seed, "off-policy replay"), None)
    return router


class _Replay:
    """The logged events appended in time order to every policy's ledger, with each policy's
    preview of each lead just before its logged assignment (or arrival, for a lead the log left
    without a rep), and the direct model's expectations at the reps' backlogs then."""

    def __init__(
        self,
        history: History,
        policies: Mapping[str, Policy],
        seed: int,
        model: _DirectModel,
        progress: Progress | None,
    ) -> None:
        reps = history.roster
        self.routers: list[Router] = [_replaying(p, reps, seed) for p in policies.values()]
        self.history = history
        self.model = model
        self.progress = progress
        n = len(history)
        self.position = {lead.id: i for i, lead in enumerate(history.leads)}
        self.choices: list[list[str | None]] = [[None] * n for _ in self.routers]
        self.q = [np.zeros((n, 3)) for _ in self.routers]
        self.logged = np.zeros((n, 3))
        self.untouched: dict[str, int] = {}
        self.open: dict[str, str] = {}

    def run(self) -> None:
        leads = self.history.leads
        assigned = {e.lead_id for e in self.history.events if isinstance(e, Assigned)}
        waiting: dict[str, Arrived] = {}
        done, total = 0, len(leads)
        for event in self.history.events:
            if isinstance(event, Arrived) and event.lead.id in assigned:
                waiting[event.lead.id] = event
                continue
            if isinstance(event, Arrived):
                self._decide(event.lead, event.lead.arrived_at, None)
                self._append(event)
            elif isinstance(event, Assigned) and event.lead_id in waiting:
                lead = leads[self.position[event.lead_id]]
                self._decide(lead, event.at, event.rep_id)
                self._append(waiting.pop(event.lead_id))
                self._append(event)
            else:
                self._append(event)
                continue
            done += 1
            if self.progress is not None and (done % 500 == 0 or done == total):
                self.progress(done, total)

    def _decide(self, lead: Lead, now: datetime, logged: str | None) -> None:
        i = self.position[lead.id]
        self.logged[i] = self.model(lead, logged, self.untouched.get(logged or "", 0))
        for k, router in enumerate(self.routers):
            rep = router.preview(lead, now).rep_id
            self.choices[k][i] = rep
            self.q[k][i] = self.model(lead, rep, self.untouched.get(rep or "", 0))

    def _append(self, event: Any) -> None:
        for router in self.routers:
            router.ledger.append(event)
        if isinstance(event, Assigned):
            self.untouched[event.rep_id] = self.untouched.get(event.rep_id, 0) + 1
            self.open[event.lead_id] = event.rep_id
        elif isinstance(event, Touched):
            rep = self.open.pop(event.lead_id, None)
            if rep is not None:
                self.untouched[rep] -= 1


def leads_needed(
    share: float,
    reps: int,
    agreement: float,
    rate: float,
    difference: float,
    *,
    level: float = 0.95,
    power: float = 0.8,
) -> int:
    """How many leads logged with `Explore(base, share)` over `reps` reps tell a candidate's
    conversion from the logged policy's, when they differ by `difference` (absolute, 0.01 = one
    point), at conversion `rate`, with the candidate choosing the base's rep on `agreement` of
    the leads: the two-sided test at `level` detects it with probability `power`.

    Why: per lead, the inverse propensity estimate of the difference has variance about
    `rate x (E[1/p] - 1)`, where p is the logged chance of the candidate's choice: `1 - share +
    share/reps` where it agrees with the base, `share/reps` where it does not. Every lead on
    which the candidate departs from the base costs `reps/share` leads' worth of variance, so
    the number needed grows with how far the candidate departs and shrinks in proportion to the
    exploration share. An estimate for planning (the doubly robust estimator does a little
    better when the model is good), not a guarantee."""
    if (
        not (0 < share <= 1 and reps >= 1 and 0 <= agreement <= 1 and 0 < rate < 1)
        or not (math.isfinite(difference) and difference)
        or (reps == 1 and agreement < 1)
    ):
        raise InvalidValueError(
            f"leads_needed: share must be in (0, 1], reps >= 1, agreement in [0, 1] (1 with one "
            f"rep: there is no other to choose), rate in (0, 1) and difference a number not 0; "
            f"got share={share}, reps={reps}, agreement={agreement}, rate={rate}, "
            f"difference={difference}"
        )
    inverse = agreement / (1.0 - share + share / reps) + (1.0 - agreement) * reps / share
    variance = rate * max(inverse - 1.0, 0.0)
    z = z_of(level) + float(stats.norm.ppf(power))
    return math.ceil(z**2 * variance / difference**2)
