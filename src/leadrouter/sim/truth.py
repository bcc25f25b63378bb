"""The exact process a synthetic History was generated with, as a Behaviour the simulator can run.

`synthetic()` draws every lead's latent intent, validity, product, source and segment, and every
rep's capacity, pick-up lag, neglect rate and skill. `history.truth.behaviour()` returns a
`TrueBehaviour` that answers the simulator's questions (`leadrouter.sim.behaviour.Behaviour`) with
those very numbers, per lead:

- `p_valid(lead)`: the lead's own chance of being valid (its source's rate moved by its intent);
- `p_convert(rep, lead)`: the logit of the lead's product close rate, plus the rep's effect and
  rep x segment effect, plus the lead's intent - exactly the generator's formula;
- `amount(rep, lead, u)`: the product's price times a lognormal spread of 0.35, rounded to tens;
- capacity, pick-up lag, neglect, contact decay and working hours: the generating figures.

So `compare(history, policies, behaviour=history.truth.behaviour(), parameter_draws=False)` over
many seeds estimates the *true* expected outcome of each policy on that lead stream: the target
every interval the simulator reports is measured against (benchmarks/bench_coverage.py).
`GivenBehaviour.from_truth` stays as the rep x segment summary of the same truth (intent and
product averaged out), which is what a fitted model can hope to learn.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import TYPE_CHECKING

import attrs

from leadrouter.errors import ConfigError
from leadrouter.model import Lead
from leadrouter.sim.given import WORKDAY_MINUTES, _clip_u
from leadrouter.sim.stream import centred_logit, logit
from leadrouter.sim.workweek import WorkWeek

if TYPE_CHECKING:
    from leadrouter.sim.synthetic import RepTruth, SyntheticTruth

__all__ = ["TrueBehaviour"]

_NORMAL = NormalDist()
_AMOUNT_SIGMA = 0.35
"""The lognormal spread `synthetic` draws sale amounts with."""


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


@attrs.frozen(eq=False)
class TrueBehaviour:
    """The generating process of a synthetic History (see the module docstring).

    Build it with `history.truth.behaviour()`. `rep_effects`, `decay` and `capacity_scale` move
    the truth for sensitivity checks (`varied`): with `rep_effects=False` every rep closes as an
    average rep; `decay` divides the contact half-life; `capacity_scale` multiplies capacities.
    A lead the truth does not know (not in the History it generated) is taken at average intent.
    """

    truth: SyntheticTruth
    rep_effects: bool = True
    decay: float = 1.0
    capacity_scale: float = 1.0
    _leads: dict[str, tuple[float, float]] = attrs.field(init=False, repr=False)
    _reps: dict[str, RepTruth] = attrs.field(init=False, repr=False)
    _product: dict[str, tuple[float, float]] = attrs.field(init=False, repr=False)
    _source: dict[str, float] = attrs.field(init=False, repr=False)
    _half_life: float = attrs.field(init=False, repr=False)
    """The contact half-life in minutes, divided by `decay` (asked on every first touch)."""

    def __attrs_post_init__(self) -> None:
        for name in ("decay", "capacity_scale"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"TrueBehaviour.{name} must be > 0, got {getattr(self, name)!r}")
        per_lead = self.truth.per_lead
        leads = {
            str(lead): (float(p_valid), float(intent))
            for lead, p_valid, intent in zip(
                per_lead["lead_id"], per_lead["p_valid"], per_lead["intent"], strict=True
            )
        }
        truth = self.truth
        object.__setattr__(self, "_leads", leads)
        object.__setattr__(self, "_reps", {rep.id: rep for rep in truth.reps})
        object.__setattr__(
            self,
            "_product",
            {
                p.name: (centred_logit(p.close_rate, truth.intent_close), p.price)
                for p in truth.products
            },
        )
        half_life = truth.contact.half_life.total_seconds() / 60.0 / self.decay
        object.__setattr__(self, "_half_life", half_life)
        object.__setattr__(
            self,
            "_source",
            {s.name: centred_logit(s.valid_rate, truth.intent_valid) for s in truth.sources},
        )

    def varied(
        self, rep_effects: bool = True, decay: float = 1.0, capacity: float = 1.0
    ) -> TrueBehaviour:
        """The truth with an assumption moved (see the class docstring); moves compound."""
        return TrueBehaviour(
            self.truth,
            rep_effects=self.rep_effects and rep_effects,
            decay=self.decay * decay,
            capacity_scale=self.capacity_scale * capacity,
        )

    @property
    def work_hours(self) -> WorkWeek:
        """The reps' working week: touch delays are working minutes on this clock."""
        return self.truth.work_hours

    @property
    def workday_minutes(self) -> float:
        """A capacity is first touches per 540 working minutes, as `synthetic` paces reps."""
        return WORKDAY_MINUTES

    @property
    def invalid_contact(self) -> float:
        """How often an invalid lead is reached, relative to a valid one at the same delay."""
        return self.truth.contact.invalid

    def capacity(self, rep_id: str) -> float:
        """First touches per full working day (540 working minutes)."""
        return self._rep(rep_id).capacity * self.capacity_scale

    def p_neglect(self, rep_id: str) -> float:
        """The chance the rep never gets to a lead pushed to them."""
        return float(self._rep(rep_id).neglect)

    def touch_delay_minutes(self, rep_id: str, backlog: int, u: float) -> float:
        """An exponential pick-up lag with the rep's mean, plus working through `backlog`
        waiting leads at one per `540 / capacity` working minutes - how `synthetic` queues."""
        rep = self._rep(rep_id)
        lag = -rep.pickup * math.log1p(-_clip_u(u))
        return lag + max(backlog, 0) * WORKDAY_MINUTES / (rep.capacity * self.capacity_scale)

    def p_contact(self, rep_id: str, lead: Lead, delay_minutes: float) -> float:
        """The generating `ContactDecay` (half-life divided by `decay`)."""
        contact = self.truth.contact
        fade: float = 0.5 ** (max(delay_minutes, 0.0) / self._half_life)
        return contact.floor + (contact.at_zero - contact.floor) * fade

    def p_valid(self, lead: Lead) -> float:
        """The lead's own chance of being valid."""
        known = self._leads.get(lead.id)
        if known is not None:
            return known[0]
        return _sigmoid(self._source.get(lead.source, 0.0))

    def p_convert(self, rep_id: str, lead: Lead) -> float:
        """The generating close probability of this lead with this rep."""
        rep = self._rep(rep_id)
        shift = rep.effect + rep.segment_effects.get(lead.segment, 0.0) if self.rep_effects else 0.0
        return self._close(lead, shift)

    def p_convert_team(self, lead: Lead) -> float:
        """The close probability with an average rep (no rep effect): the basis of
        `conversion_mechanical`."""
        return self._close(lead, 0.0)

    def amount(self, rep_id: str, lead: Lead, u: float) -> float:
        """The product's price times a lognormal draw (spread 0.35), rounded to tens."""
        known = self._product.get(lead.product)
        price = known[1] if known is not None else self._mean_price()
        return float(round(price * math.exp(_AMOUNT_SIGMA * _NORMAL.inv_cdf(_clip_u(u))), -1))

    def _close(self, lead: Lead, shift: float) -> float:
        known = self._leads.get(lead.id)
        intent = known[1] if known is not None else 0.0
        base = self._product.get(lead.product)
        product = base[0] if base is not None else logit(self._mean_close())
        return _sigmoid(product + shift + self.truth.intent_close * intent)

    def _rep(self, rep_id: str) -> RepTruth:
        rep = self._reps.get(rep_id)
        if rep is None:
            raise ConfigError(
                f"TrueBehaviour: {rep_id!r} is not one of the reps the history was generated "
                f"with ({', '.join(self._reps)})"
            )
        return rep

    def _mean_close(self) -> float:
        products = self.truth.products
        total = sum(p.share for p in products)
        return sum(p.share * p.close_rate for p in products) / total

    def _mean_price(self) -> float:
        products = self.truth.products
        total = sum(p.share for p in products)
        return sum(p.share * p.price for p in products) / total

    def __repr__(self) -> str:
        moved = [
            text
            for text, on in (
                ("no rep effects", not self.rep_effects),
                (f"decay x{self.decay:g}", self.decay != 1.0),
                (f"capacity x{self.capacity_scale:g}", self.capacity_scale != 1.0),
            )
            if on
        ]
        return (
            f"<TrueBehaviour of synthetic(seed={self.truth.seed}): {len(self._reps)} reps, "
            f"{len(self._leads)} leads{': ' + ', '.join(moved) if moved else ''}>"
        )
