"""A behaviour model from explicit numbers: `GivenBehaviour`.

Each of the simulator's questions (`leadrouter.sim.behaviour.Behaviour`) is answered by a closed
form in a handful of figures - a capacity and a pick-up lag per rep, a contact chance decaying
with a half-life toward a floor, a valid rate per source, a conversion table, a lognormal sale
amount per product - so every answer is a pure function of its arguments. That serves three
uses: a synthetic History's truth as a model (`GivenBehaviour.from_truth`), so the simulator can
be checked against the model that made the data; a model written by hand for a what-if; and the
figures a fit produced (`FittedBehaviour.numbers`), through which the fitted model answers.

`WORKDAY_MINUTES` and the helpers for uniform draws and queue waits are shared with
`leadrouter.sim.fitted`, so both models count a queue the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import attrs

from leadrouter._util import EMPTY, FrozenMap, freeze
from leadrouter.errors import ConfigError
from leadrouter.model import Lead
from leadrouter.sim.workweek import WorkWeek, check_work_week

if TYPE_CHECKING:
    from leadrouter.sim.synthetic import SyntheticTruth

__all__ = ["WORKDAY_MINUTES", "GivenBehaviour"]


WORKDAY_MINUTES = 540.0
"""Working minutes in a working day (09:00-18:00): a rep with capacity c needs
`WORKDAY_MINUTES / c` minutes per first touch."""


_NORMAL = NormalDist()


# ---------------------------------------------------------------------- validators


def _unit(inst: object, attr: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{type(inst).__name__}.{attr.name} must be in [0, 1], got {value!r}")


def _positive(inst: object, attr: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise ConfigError(f"{type(inst).__name__}.{attr.name} must be > 0, got {value!r}")


def _non_negative(inst: object, attr: attrs.Attribute[Any], value: float) -> None:
    if not value >= 0:
        raise ConfigError(f"{type(inst).__name__}.{attr.name} must be >= 0, got {value!r}")


def _map_of(check: Any) -> Any:
    def validate(inst: object, attr: attrs.Attribute[Any], value: Mapping[str, float]) -> None:
        for key, number in value.items():
            try:
                check(inst, attr, number)
            except ConfigError as exc:
                raise ConfigError(f"{exc} (key {key!r})") from None

    return validate


def _validate_conversion(
    inst: object, attr: attrs.Attribute[Any], value: Mapping[str, Mapping[str, float]]
) -> None:
    for rep_id, row in value.items():
        for segment, number in row.items():
            if not 0.0 <= number <= 1.0:
                raise ConfigError(
                    f"{type(inst).__name__}.conversion[{rep_id!r}][{segment!r}] must be in "
                    f"[0, 1], got {number!r}"
                )


def _freeze_table(value: Mapping[str, Mapping[str, float]] | None) -> FrozenMap[FrozenMap[float]]:
    return FrozenMap({str(k): freeze(v) for k, v in (value or {}).items()})


def _clip_u(u: float) -> float:
    return min(max(u, 1e-12), 1.0 - 1e-12)


def _queue_wait(backlog: int, capacity: float, workday: float) -> float:
    return max(backlog, 0) * workday / capacity


@attrs.frozen
class GivenBehaviour:
    """A Behaviour from explicit numbers: deterministic, every answer a pure function of its
    arguments.

    - **Capacity**: `capacity_per_day[rep]` first touches per working day (`default_capacity`
      for a rep not listed).
    - **Touch delay** (working minutes): `pickup * -ln(1 - u) + backlog * workday_minutes /
      capacity` - an exponential pick-up lag with mean `pickup_minutes[rep]`
      (`default_pickup`), plus the time to work through the `backlog` leads already waiting at
      the rep's capacity. This is how `synthetic` generates first touches (a rep works leads in
      order, one per `1 / capacity` of a working day, after a pick-up lag).
    - **Contact**: `contact_floor + (contact_at_zero - contact_floor) * 0.5 ** (delay /
      contact_half_life_minutes)`, the chance of reaching a valid lead; an invalid one is reached
      `invalid_contact` times as often (not part of the Protocol: an engine that draws validity
      can use it).
    - **Validity**: `valid_rate[lead.source]`, else `default_valid`.
    - **Conversion** (a valid lead that was reached): `conversion[rep][segment]`, else
      `segment_conversion[segment]`, else `default_conversion`; times
      `product_conversion[lead.product]` (1 for a product not listed), capped at 1. With product
      factors, the rates are those of a lead whose product has factor 1.
    - **Amount**: lognormal around `amount_median[lead.product]` (else `default_amount`):
      `median * exp(amount_sigma * z(u))`, z the standard normal quantile.
    - **Neglect**: `neglect[rep]` (else `default_neglect`, 0) is the chance that a rep never
      gets to a lead pushed to them at all (it stays untouched in their book).
    - **Working hours**: `work_hours`, a work week (`leadrouter.sim.workweek`: one window of
      local hours per weekday, Monday first, None for a day off) in the history's zone. With
      one, touch delays are working minutes and the simulator counts them on the team's clock
      (a lead assigned at night is touched after the next opening); None means reps work
      around the clock and delays are elapsed minutes.
    """

    capacity_per_day: FrozenMap[float] = attrs.field(
        default=EMPTY, converter=freeze, validator=_map_of(_positive)
    )
    default_capacity: float = attrs.field(default=20.0, validator=_positive)
    pickup_minutes: FrozenMap[float] = attrs.field(
        default=EMPTY, converter=freeze, validator=_map_of(_non_negative)
    )
    default_pickup: float = attrs.field(default=30.0, validator=_non_negative)
    workday_minutes: float = attrs.field(default=WORKDAY_MINUTES, validator=_positive)
    contact_at_zero: float = attrs.field(default=0.75, validator=_unit)
    contact_floor: float = attrs.field(default=0.30, validator=_unit)
    contact_half_life_minutes: float = attrs.field(default=60.0, validator=_positive)
    invalid_contact: float = attrs.field(default=0.6, validator=_unit)
    valid_rate: FrozenMap[float] = attrs.field(
        default=EMPTY, converter=freeze, validator=_map_of(_unit)
    )
    default_valid: float = attrs.field(default=0.4, validator=_unit)
    conversion: FrozenMap[FrozenMap[float]] = attrs.field(
        factory=FrozenMap, converter=_freeze_table, validator=_validate_conversion
    )
    segment_conversion: FrozenMap[float] = attrs.field(
        default=EMPTY, converter=freeze, validator=_map_of(_unit)
    )
    default_conversion: float = attrs.field(default=0.2, validator=_unit)
    product_conversion: FrozenMap[float] = attrs.field(
        default=EMPTY, converter=freeze, validator=_map_of(_non_negative)
    )
    amount_median: FrozenMap[float] = attrs.field(
        default=EMPTY, converter=freeze, validator=_map_of(_positive)
    )
    default_amount: float = attrs.field(default=10000.0, validator=_positive)
    amount_sigma: float = attrs.field(default=0.35, validator=_non_negative)
    work_hours: WorkWeek | None = attrs.field(
        default=None, converter=attrs.converters.optional(check_work_week)
    )
    neglect: FrozenMap[float] = attrs.field(
        default=EMPTY, converter=freeze, validator=_map_of(_unit)
    )
    default_neglect: float = attrs.field(default=0.0, validator=_unit)

    def __attrs_post_init__(self) -> None:
        if self.contact_floor > self.contact_at_zero:
            raise ConfigError(
                f"GivenBehaviour.contact_floor ({self.contact_floor}) must not exceed "
                f"contact_at_zero ({self.contact_at_zero})"
            )

    @classmethod
    def from_truth(cls, truth: SyntheticTruth) -> GivenBehaviour:
        """The behaviour `synthetic` generated a History with (`history.truth`).

        Capacity, pick-up lag, contact decay, valid rates and amounts are the generating figures.
        Conversion per rep x segment is the generating close rate averaged over the products'
        shares and over the latent intent of a valid lead (the generator's intent also raises
        validity, so valid leads close a little more often than an average-intent lead); the
        per-lead product and intent effects are thereby averaged out, which is as close as a
        rep x segment table gets. The reps' neglect rate (leads never touched) has no place in
        the Protocol and is left out.
        """
        import numpy as np

        nodes, weights = np.polynomial.hermite_e.hermegauss(40)
        weights = weights / weights.sum()
        shares = np.array([s.share for s in truth.sources], dtype=float)
        shares /= shares.sum()
        centre = math.sqrt(1.0 + math.pi * truth.intent_valid**2 / 8.0)
        p_valid = np.zeros_like(nodes)
        for share, source in zip(shares, truth.sources, strict=True):
            logit = math.log(source.valid_rate / (1 - source.valid_rate)) * centre
            p_valid += share / (1.0 + np.exp(-(logit + truth.intent_valid * nodes)))
        given_valid = weights * p_valid / float((weights * p_valid).sum())
        product_shares = np.array([p.share for p in truth.products], dtype=float)
        product_shares /= product_shares.sum()
        conversion: dict[str, dict[str, float]] = {}
        for rep in truth.reps:
            row: dict[str, float] = {}
            for segment in truth.segments:
                total = 0.0
                for share, product in zip(product_shares, truth.products, strict=True):
                    at = [
                        truth.close_probability(rep.id, segment, product.name, float(x))
                        for x in nodes
                    ]
                    total += float(share) * float(np.dot(given_valid, at))
                row[segment] = total
            conversion[rep.id] = row
        segment_conversion = {
            segment: float(np.mean([conversion[r.id][segment] for r in truth.reps]))
            for segment in truth.segments
        }
        overall = float(np.mean(list(segment_conversion.values()))) if segment_conversion else 0.2
        contact = truth.contact
        return cls(
            capacity_per_day={r.id: r.capacity for r in truth.reps},
            pickup_minutes={r.id: r.pickup for r in truth.reps},
            workday_minutes=WORKDAY_MINUTES,
            contact_at_zero=contact.at_zero,
            contact_floor=contact.floor,
            contact_half_life_minutes=contact.half_life.total_seconds() / 60.0,
            invalid_contact=contact.invalid,
            valid_rate={s.name: s.valid_rate for s in truth.sources},
            default_valid=float(np.dot(shares, [s.valid_rate for s in truth.sources])),
            conversion=conversion,
            segment_conversion=segment_conversion,
            default_conversion=overall,
            amount_median={p.name: p.price for p in truth.products},
            default_amount=float(np.dot(product_shares, [p.price for p in truth.products])),
            amount_sigma=0.35,
            work_hours=truth.work_hours,
            neglect={r.id: r.neglect for r in truth.reps},
        )

    def varied(
        self, rep_effects: bool = True, decay: float = 1.0, capacity: float = 1.0
    ) -> GivenBehaviour:
        """The model with an assumption moved, for sensitivity checks: without rep effects
        (every rep closes at the segment rate), with contact decaying `decay` times as fast
        (the half-life divided by `decay`), and/or with every rep's capacity (and the default)
        times `capacity`."""
        if not decay > 0:
            raise ConfigError(f"varied: decay must be > 0, got {decay!r}")
        if not capacity > 0:
            raise ConfigError(f"varied: capacity must be > 0, got {capacity!r}")
        return attrs.evolve(
            self,
            conversion=self.conversion if rep_effects else {},
            contact_half_life_minutes=self.contact_half_life_minutes / decay,
            capacity_per_day={r: c * capacity for r, c in self.capacity_per_day.items()},
            default_capacity=self.default_capacity * capacity,
        )

    def capacity(self, rep_id: str) -> float:
        """First touches per working day."""
        return self.capacity_per_day.get(rep_id, self.default_capacity)

    def p_neglect(self, rep_id: str) -> float:
        """The chance the rep never gets to a lead pushed to them."""
        return self.neglect.get(rep_id, self.default_neglect)

    def touch_delay_minutes(self, rep_id: str, backlog: int, u: float) -> float:
        """`pickup * -ln(1 - u) + backlog * workday_minutes / capacity` working minutes."""
        pickup = self.pickup_minutes.get(rep_id, self.default_pickup)
        lag = -pickup * math.log1p(-_clip_u(u))
        return lag + _queue_wait(backlog, self.capacity(rep_id), self.workday_minutes)

    def p_contact(self, rep_id: str, lead: Lead, delay_minutes: float) -> float:
        """The half-life decay from `contact_at_zero` toward `contact_floor`."""
        decay: float = 0.5 ** (max(delay_minutes, 0.0) / self.contact_half_life_minutes)
        return self.contact_floor + (self.contact_at_zero - self.contact_floor) * decay

    def p_valid(self, lead: Lead) -> float:
        """The valid rate of the lead's source."""
        return self.valid_rate.get(lead.source, self.default_valid)

    def p_convert(self, rep_id: str, lead: Lead) -> float:
        """Pair rate, else segment rate, else the default; times the product's factor."""
        row = self.conversion.get(rep_id)
        if row is not None and lead.segment in row:
            return min(row[lead.segment] * self.product_factor(lead), 1.0)
        return self.p_convert_team(lead)

    def p_convert_team(self, lead: Lead) -> float:
        """The segment rate (else the default) times the product's factor, as if no rep were
        better than another: the basis of `conversion_mechanical` in comparisons."""
        rate = self.segment_conversion.get(lead.segment, self.default_conversion)
        return min(rate * self.product_factor(lead), 1.0)

    def product_factor(self, lead: Lead) -> float:
        """`product_conversion[lead.product]`, 1 for a product not listed."""
        return self.product_conversion.get(lead.product, 1.0)

    def amount(self, rep_id: str, lead: Lead, u: float) -> float:
        """Lognormal around the product's median amount."""
        median = self.amount_median.get(lead.product, self.default_amount)
        return median * math.exp(self.amount_sigma * _NORMAL.inv_cdf(_clip_u(u)))
