"""The generated team's process once a lead has a rep: first touch, contact, sale, amount.

`synthetic` draws every lead, every rep and every random number first. What depends on who
holds a lead - when its rep gets to it, whether it is reached and whether it buys - is computed
here, by one `Stream` for both ways a synthetic history is routed:

- the default, equal rotation in order of arrival, all leads at once (`Stream.queue`, then
  `Stream.outcomes` on every lead);
- a logging strategy (`synthetic(..., logging=Explore(EqualRotation()))`), routed lead by lead
  by a live Router that is told each first touch, verdict and sale as it happens, before the
  leads that arrive after it (`route_logged`), so a strategy that learns from sales (performance
  weighting) logs what it would have logged live.

Both paths call the same `outcomes`, so a lead's touch and sale do not depend on which path
computed them, only on its rep and its place in that rep's queue.

`route_logged` also records the truth that off-policy evaluation is measured against: for every
lead and every rep, the chance the lead would have bought had it gone to that rep, everything
logged before it unchanged (`SyntheticTruth.if_assigned`).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from leadrouter.errors import ConfigError
from leadrouter.events import Converted, Tagged, Touched
from leadrouter.model import Lead, Rep, zone
from leadrouter.router import Router
from leadrouter.sim.workweek import WorkClock

if TYPE_CHECKING:
    from leadrouter.sim.synthetic import ContactDecay
    from leadrouter.strategies.base import Strategy

__all__ = ["Outcomes", "Stream", "route_logged"]

Array = np.ndarray[Any, Any]


def sigmoid(x: Array) -> Array:
    result: Array = 1.0 / (1.0 + np.exp(-x))
    return result


def logit(p: float) -> float:
    """The log-odds of a chance `p` (0 < p < 1): the inverse of `sigmoid`."""
    return math.log(p / (1.0 - p))


def centred_logit(rate: float, spread: float) -> float:
    """The log-odds whose average over a standard-normal intent shift of size `spread` gives
    `rate` (probit approximation), so a source's or product's realised rate matches its rate.
    The generator (`leadrouter.sim.synthetic`) draws with it and the truth
    (`leadrouter.sim.truth`) answers with it, so both read one formula."""
    return logit(rate) * math.sqrt(1.0 + math.pi * spread**2 / 8.0)


@attrs.frozen
class Outcomes:
    """What happened to some leads, one entry per lead (times in local wall-clock minutes since
    the start's midnight; NaN where it did not happen)."""

    touched: Array
    touch: Array
    delay: Array
    p_reach: Array
    reached: Array
    p_close: Array
    converted: Array
    sale: Array
    amount: Array


@attrs.frozen(eq=False)
class Stream:
    """The generated leads and reps, and every random number drawn for them.

    Per lead: `assigned` (wall minutes), `valid`, `product_logit` and `intent_logit` (the two
    lead terms of the log-odds of closing), `segment` (index), `price`, and the draws: `lag`
    (exponential with mean 1, scaled by the rep's pick-up), `neglect_u`, `reach_u`, `close_u`
    (uniforms), `sale_lag` (working minutes from touch to sale) and `amount_noise` (lognormal).
    Per rep: `pickup`, `neglect`, `service` (working minutes per first touch), `effect`, and
    `pair` (rep x segment effects)."""

    clock: WorkClock
    contact: ContactDecay
    assigned: Array
    valid: Array
    product_logit: Array
    intent_logit: Array
    segment: Array
    price: Array
    lag: Array
    neglect_u: Array
    reach_u: Array
    close_u: Array
    sale_lag: Array
    amount_noise: Array
    pickup: Array
    neglect: Array
    service: Array
    effect: Array
    pair: Array
    assigned_work: Array = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "assigned_work", self.clock.work(self.assigned))

    def neglected(self, lead: Array, rep: Array) -> Array:
        """Whether each lead is one its rep never touches."""
        result: Array = self.neglect_u[lead] < self.neglect[rep]
        return result

    def ready(self, lead: Array, rep: Array) -> Array:
        """When each rep could first pick the lead up, in working minutes: its assignment plus
        the rep's pick-up lag."""
        result: Array = self.assigned_work[lead] + self.lag[lead] * self.pickup[rep]
        return result

    def queue(self, rep: Array) -> Array:
        """First touches, in working minutes, when lead i goes to rep `rep[i]` (all leads, in
        order of arrival): each rep works their leads in order, one per `service`, never before
        the lead is ready; NaN for a neglected lead."""
        n = len(rep)
        lead = np.arange(n)
        ready = self.ready(lead, rep)
        touch_work = np.full(n, np.nan)
        free = [0.0] * len(self.pickup)
        for i in np.flatnonzero(~self.neglected(lead, rep)).tolist():
            touch_work[i] = self.serve(ready[i], int(rep[i]), free)
        return touch_work

    def serve(self, ready: float, rep: int, free: Array | list[float]) -> float:
        """When `rep`, free from `free[rep]`, first touches a lead ready at `ready` (working
        minutes): not before either; the rep is then busy for one `service`, so `free[rep]`
        moves on. The one rule of the queue, for both ways of routing."""
        begin = max(ready, free[rep])
        free[rep] = begin + self.service[rep]
        return begin

    def outcomes(self, lead: Array, rep: Array, touch_work: Array) -> Outcomes:
        """Touch, contact, sale and amount of each `lead` held by `rep`, first touched at
        `touch_work` (working minutes; NaN = never)."""
        touched = ~np.isnan(touch_work)
        touch = np.full(len(lead), np.nan)
        touch[touched] = self.clock.wall(touch_work[touched])
        delay = np.where(touched, touch - self.assigned[lead], np.nan)
        p_reach = np.where(touched, self.contact.minutes(np.nan_to_num(delay)), 0.0)
        valid = self.valid[lead]
        p_reach = np.where(valid, p_reach, p_reach * self.contact.invalid)
        reached = self.reach_u[lead] < p_reach
        p_close = sigmoid(self.close_logit(lead, rep))
        converted = valid & reached & (self.close_u[lead] < p_close)
        sale_work = self.clock.work(np.nan_to_num(touch)) + self.sale_lag[lead]
        sale = np.where(converted, self.clock.wall(np.where(converted, sale_work, 0.0)), np.nan)
        amount = np.where(
            converted, np.round(self.price[lead] * self.amount_noise[lead], -1), np.nan
        )
        return Outcomes(touched, touch, delay, p_reach, reached, p_close, converted, sale, amount)

    def close_logit(self, lead: Array, rep: Array) -> Array:
        """The log-odds that a valid, reached lead buys from its rep (terms added in one fixed
        order, so both paths give the same floats)."""
        result: Array = (
            self.product_logit[lead]
            + self.effect[rep]
            + self.pair[rep, self.segment[lead]]
            + self.intent_logit[lead]
        )
        return result

    def if_assigned(self, i: int, free: Array) -> Array:
        """Lead i's chance of a sale with each rep, had it gone to them with each rep free from
        `free` (working minutes): not neglected x valid x reached at the delay that rep's
        queue gives x closing with that rep."""
        reps = np.arange(len(self.pickup))
        lead = np.full(len(reps), i)
        begin = np.maximum(self.ready(lead, reps), free)
        delay = self.clock.wall(begin) - self.assigned[i]
        reach = self.contact.minutes(delay)
        close = sigmoid(self.close_logit(lead, reps))
        result: Array = (1.0 - self.neglect) * float(self.valid[i]) * reach * close
        return result


def route_logged(
    stream: Stream,
    leads: Sequence[Lead],
    assigned_at: Sequence[datetime],
    rep_ids: Sequence[str],
    strategy: Strategy,
    seed: int,
    start: date,
    tz: str,
) -> tuple[Array, Array, Array, Array]:
    """Route `leads` with `strategy` in the order of their `assigned_at`, each at that time,
    telling the router each first touch, verdict and sale at its time, as a CRM would.

    Returns each lead's rep (index into `rep_ids`), first touch (working minutes, NaN when
    neglected), the logged propensity (NaN when the strategy did not randomise) and the
    leads x reps chances of a sale had the lead gone to each rep (see `Stream.if_assigned`).
    Raises ConfigError when the strategy leaves a lead without a rep: a synthetic history logs
    a rep for every lead."""
    router = Router(strategy, [Rep(rep_id) for rep_id in rep_ids], seed=seed)
    index = {rep_id: k for k, rep_id in enumerate(rep_ids)}
    n = len(leads)
    rep = np.zeros(n, dtype=np.int64)
    touch_work = np.full(n, np.nan)
    propensity = np.full(n, np.nan)
    chances = np.zeros((n, len(rep_ids)))
    free = np.zeros(len(rep_ids))
    midnight = datetime.combine(start, datetime.min.time())
    local = zone(tz)
    pending: list[tuple[datetime, int, Touched | Tagged | Converted]] = []
    order = itertools.count()

    def when(minutes: float) -> datetime:
        seconds = round(minutes * 60.0)
        return (midnight + timedelta(seconds=seconds)).replace(tzinfo=local)

    for i in np.argsort(stream.assigned, kind="stable").tolist():
        lead, now = leads[i], assigned_at[i]
        while pending and pending[0][0] <= now:
            router.record(heapq.heappop(pending)[2])
        chances[i] = stream.if_assigned(i, free)
        decision = router.route(lead, now=now)
        if decision.rep_id is None:
            raise ConfigError(
                f"synthetic(logging={strategy!r}) left lead {lead.id} without a rep "
                f"({decision.explain()}): a synthetic history logs a rep for every lead, so log "
                "with a push strategy that always assigns (wrap it in Explore to randomise)"
            )
        a = index[decision.rep_id]
        rep[i] = a
        if decision.propensity is not None:
            propensity[i] = decision.propensity
        one, who = np.array([i]), np.array([a])
        if not stream.neglected(one, who)[0]:
            touch_work[i] = stream.serve(stream.ready(one, who)[0], a, free)
        out = stream.outcomes(one, who, touch_work[one])
        if out.touched[0]:
            at = when(float(out.touch[0]))
            holder = decision.rep_id
            heapq.heappush(
                pending, (at, next(order), Touched(lead.id, holder, at, bool(out.reached[0])))
            )
            tagged = Tagged(lead.id, holder, at, bool(stream.valid[i]))
            heapq.heappush(pending, (at, next(order), tagged))
            if out.converted[0]:
                sold = when(float(out.sale[0]))
                sale = Converted(lead.id, holder, sold, float(out.amount[0]))
                heapq.heappush(pending, (sold, next(order), sale))
    return rep, touch_work, propensity, chances
