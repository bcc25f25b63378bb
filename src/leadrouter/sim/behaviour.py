"""The behaviour model: what the simulator needs to know about reps, given or fitted from history.

A routing policy decides who gets a lead; what happens next (how soon the rep touches it, whether
the prospect is reached, whether it buys) is the team's behaviour, which no policy changes. The
simulator asks a `Behaviour` for each of these numbers:

- `capacity(rep)`: first touches a rep makes per working day;
- `touch_delay_minutes(rep, backlog, u)`: minutes from assignment to first touch, given how many
  leads the rep already has waiting untouched, for a uniform draw `u`;
- `p_contact(rep, lead, delay)`: chance that a first touch `delay` minutes after assignment
  reaches a valid prospect (an invalid one is reached `invalid_contact` times as often);
- `p_valid(lead)`: chance the lead is valid (a real prospect);
- `p_convert(rep, lead)`: chance of a sale once a valid lead was reached;
- `amount(rep, lead, u)`: the sale amount for a uniform draw `u`.

`GivenBehaviour` takes these from explicit numbers (or from a synthetic History's truth, so the
simulator can be checked against the model that made the data); `fit_behaviour` learns them from a
History and says, in `gaps` and `summary()`, what the data could not support.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from leadrouter._util import EMPTY, FrozenMap, freeze, stable_key
from leadrouter.errors import ConfigError
from leadrouter.model import Lead
from leadrouter.sim.capacity import CapacityFit, fit_capacity
from leadrouter.sim.workweek import (
    WorkClock,
    WorkWeek,
    check_work_week,
    infer_work_week,
    working_minutes_per_day,
)

if TYPE_CHECKING:
    from leadrouter.sim.history import History
    from leadrouter.sim.synthetic import SyntheticTruth

__all__ = [
    "WORKDAY_MINUTES",
    "Behaviour",
    "FittedBehaviour",
    "GivenBehaviour",
    "fit_behaviour",
]

WORKDAY_MINUTES = 540.0
"""Working minutes in a working day (09:00-18:00): a rep with capacity c needs
`WORKDAY_MINUTES / c` minutes per first touch."""

_NORMAL = NormalDist()

LOG_LOGIT, HALF_LIFE = "logit on ln(1 + delay)", "half-life"
"""The two shapes of contact decay `fit_behaviour` chooses between (see `_contact_fit`)."""


@runtime_checkable
class Behaviour(Protocol):
    """What the simulator needs to know about reps; fitted from history or given."""

    def capacity(self, rep_id: str) -> float:
        """Leads a rep works (first-touches) per working day; estimated with its censoring when
        fitted (a rep never backlogged shows demand, not capacity)."""
        ...

    def touch_delay_minutes(self, rep_id: str, backlog: int, u: float) -> float:
        """Minutes from assignment to first touch, given the rep's open untouched backlog and a
        uniform `u` in (0, 1); never negative, non-decreasing in `backlog` and in `u`."""
        ...

    def p_contact(self, rep_id: str, lead: Lead, delay_minutes: float) -> float:
        """Probability the first-touch attempt reaches the (valid) prospect, decaying with
        delay."""
        ...

    def p_valid(self, lead: Lead) -> float:
        """Probability the lead is valid (a real prospect)."""
        ...

    def p_convert(self, rep_id: str, lead: Lead) -> float:
        """Probability of a sale given the lead was reached (and valid)."""
        ...

    def amount(self, rep_id: str, lead: Lead, u: float) -> float:
        """The sale amount for a uniform `u` in (0, 1), non-decreasing in `u`."""
        ...


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


# ---------------------------------------------------------------------- fitted


_MIN_PICKUP_SAMPLE = 20
"""A rep needs this many leads first-touched with nothing waiting before their own pick-up
delays are used; fewer, and the team's are."""


@attrs.frozen(eq=False)
class FittedBehaviour:
    """A Behaviour learned from a History by `fit_behaviour`; see its docstring for how.

    `numbers` holds the fitted figures as a `GivenBehaviour` (capacity, valid rates, the shrunk
    conversion table for a lead of product factor 1, the product factors, amounts); `pairs` keep
    each rep x segment rate over its own product mix, `products` the factors' evidence; contact
    probability is `contact_floor + (1 - contact_floor) * sigmoid(contact_coef[0] +
    contact_coef[1] * ln(1 + delay))`; touch delay is the rep's own empirical pick-up delay
    (quantile `u` of the delays of leads first-touched when nothing else was waiting) plus
    `backlog * workday_minutes / capacity`. `pairs` has one row per rep x segment seen (leads,
    reached_valid, sales, raw rate, prior, estimate, data weight, flagged); `gaps` lists every
    figure the data could not support and was assumed instead.
    """

    numbers: GivenBehaviour
    contact_coef: tuple[float, float]
    pickup_delays: FrozenMap[tuple[float, ...]]
    team_pickup_delays: tuple[float, ...]
    prior_strength: float
    pairs: Any = attrs.field(repr=False)
    rep_factor: FrozenMap[float]
    gaps: tuple[str, ...]
    notes: tuple[str, ...]
    origin: str = "history"
    contact_floor: float = 0.0
    """Where contact levels off for long delays (0: a plain logit)."""
    contact_shape: str = LOG_LOGIT
    """The shape of the contact decay (`LOG_LOGIT` or `HALF_LIFE`, see `_contact_fit`)."""
    assumptions: FrozenMap[str] = attrs.field(default=EMPTY)
    basis: _Basis | None = attrs.field(default=None, repr=False)
    ignored: frozenset[str] = frozenset()
    """Lead fields left out because they were recorded because of the outcome."""
    rep_effects_known: bool = True
    """False when the export recorded the owner (rep_id) because of the outcome (only on
    converted leads): conversion is then fitted over every lead, every rep closes at the team's
    rate, and a comparison reports sales differences between policies as not identifiable."""
    products: Any = attrs.field(default=None, repr=False)
    """One row per product (when the export has more than one): `_PRODUCT_COLUMNS` - reached
    valid leads, sales, the sales the rep x segment rates expect, the raw and the shrunk factor
    (`numbers.product_conversion`), and the sales amounts' median. None without products."""
    segment_rate: FrozenMap[float] = attrs.field(default=EMPTY)
    """Each segment's conversion over its own product mix (`numbers.segment_conversion` is for a
    lead of product factor 1)."""

    def _seen(self, lead: Lead) -> Lead:
        """The lead as the model sees it: fields it left out read as empty."""
        if not self.ignored:
            return lead
        blank: dict[str, Any] = dict.fromkeys(self.ignored, "")
        return attrs.evolve(lead, **blank)

    def replicate(self, seed: int) -> FittedBehaviour:
        """The model refitted on a Bayesian bootstrap of the history's leads: each lead weighted
        by an Exp(1) draw keyed by (seed, lead id), i.e. a flat Dirichlet over the leads.

        Validity, contact decay, segment rates, rep factors and rep x segment rates are
        re-estimated with the weights, so a pair seen on few leads varies a lot between
        replicates and one seen on many hardly at all. Every rep's capacity is drawn from the
        censored capacity fit's posterior (the team's capacity-to-demand mean redrawn from its
        standard error, then each rep given it; keyed by (seed, rep), see
        `leadrouter.sim.capacity`), so a rep measured over many backlogged touches varies little
        and a never-backlogged one as much as the team does. Product factors and each product's
        median sale amount and log spread are re-estimated with the weights too. Each rep's
        empirical pick-up delays (and the team's) are resampled with replacement, keyed by
        (seed, rep), so speed carries the uncertainty of a sample of a few dozen delays. The
        lead-mix expectation stays as fitted. The same seed gives the same replicate.
        """
        if self.basis is None:
            return self
        basis = self.basis
        drawn = basis.fit(basis.bootstrap_weights(seed), capacity=basis.capacity_draw(seed))
        return attrs.evolve(
            drawn,
            pickup_delays=FrozenMap(
                {rep: _resample(seed, rep, sample) for rep, sample in drawn.pickup_delays.items()}
            ),
            team_pickup_delays=_resample(seed, "", drawn.team_pickup_delays),
        )

    def varied(
        self, rep_effects: bool = True, decay: float = 1.0, capacity: float = 1.0
    ) -> FittedBehaviour:
        """The model with an assumption moved, for sensitivity checks: without rep effects
        (every rep closes at the segment rate), with the contact curve's slope times `decay`
        (the same contact at once, falling `decay` times as steeply toward the same floor),
        and/or with every rep's capacity times `capacity`. A varied model does not redraw its
        parameters (`replicate` returns it)."""
        if not decay > 0:
            raise ConfigError(f"varied: decay must be > 0, got {decay!r}")
        a, b = self.contact_coef
        return attrs.evolve(
            self,
            numbers=self.numbers.varied(rep_effects=rep_effects, capacity=capacity),
            rep_factor=self.rep_factor if rep_effects else FrozenMap({}),
            contact_coef=(a, b * decay),
            basis=None,
        )

    def refit(self, history: History) -> FittedBehaviour:
        """The same kind of model fitted on another History (e.g. an earlier time split, for
        calibration on held-out leads)."""
        return fit_behaviour(history, prior_strength=self.prior_strength)

    @property
    def invalid_contact(self) -> float:
        """How often an invalid lead is reached, relative to a valid one at the same delay."""
        return self.numbers.invalid_contact

    @property
    def work_hours(self) -> WorkWeek | None:
        """The team's work week read off the history's first touches (None when it could not
        be: then delays are elapsed minutes)."""
        return self.numbers.work_hours

    def capacity(self, rep_id: str) -> float:
        """First touches per working day, estimated with its censoring: the rep's pace while a
        lead of theirs waited, pooled across the team (see `fit_behaviour`)."""
        return self.numbers.capacity(rep_id)

    def touch_delay_minutes(self, rep_id: str, backlog: int, u: float) -> float:
        """Quantile `u` of the rep's empirical pick-up delay plus the queue wait."""
        sample = self.pickup_delays.get(rep_id, self.team_pickup_delays)
        if sample:
            position = _clip_u(u) * (len(sample) - 1)
            below = int(position)
            above = min(below + 1, len(sample) - 1)
            lag = sample[below] + (sample[above] - sample[below]) * (position - below)
        else:
            lag = -self.numbers.default_pickup * math.log1p(-_clip_u(u))
        wait = _queue_wait(backlog, self.capacity(rep_id), self.numbers.workday_minutes)
        return max(lag, 0.0) + wait

    def p_contact(self, rep_id: str, lead: Lead, delay_minutes: float) -> float:
        """The fitted chance of reaching a valid lead: the fitted curve (`contact_shape`)
        falling toward the floor `contact_floor`."""
        a, b = self.contact_coef
        floor, delay = self.contact_floor, max(delay_minutes, 0.0)
        if self.contact_shape == HALF_LIFE:
            return floor + (1.0 / (1.0 + math.exp(-a)) - floor) * math.exp(b * delay)
        x = a + b * math.log1p(delay)
        return floor + (1.0 - floor) / (1.0 + math.exp(-x)) if x > -700 else floor

    def p_valid(self, lead: Lead) -> float:
        """The source's valid rate, shrunk toward the team's."""
        return self.numbers.p_valid(self._seen(lead))

    def p_convert(self, rep_id: str, lead: Lead) -> float:
        """The shrunk rep x segment rate (else segment rate x rep factor) times the lead's
        product factor (see `fit_behaviour`)."""
        lead = self._seen(lead)
        factor = self.numbers.product_factor(lead)
        row = self.numbers.conversion.get(rep_id)
        if row is not None and lead.segment in row:
            return min(row[lead.segment] * factor, 0.999)
        segment_rate = self.numbers.segment_conversion.get(
            lead.segment, self.numbers.default_conversion
        )
        return min(segment_rate * self.rep_factor.get(rep_id, 1.0) * factor, 0.999)

    def p_neglect(self, rep_id: str) -> float:
        """The share of the rep's leads never touched in the history (leads assigned in the
        export's last three days left out: their touch may simply not have come yet), shrunk
        toward the team's."""
        return self.numbers.p_neglect(rep_id)

    def p_convert_team(self, lead: Lead) -> float:
        """The team's rate for the lead's segment times its product factor, as if no rep were
        better than another."""
        return self.numbers.p_convert_team(self._seen(lead))

    def amount(self, rep_id: str, lead: Lead, u: float) -> float:
        """Lognormal around the product's median sale amount in the history."""
        return self.numbers.amount(rep_id, self._seen(lead), u)

    def extrapolated(self, rep_id: str, segment: str) -> bool:
        """True when the history has no lead of `segment` assigned to `rep_id`: the estimate for
        that pair is the segment rate times the rep's overall factor, not an observation."""
        row = self.numbers.conversion.get(rep_id)
        if row is None or segment not in row:
            return True
        pairs = self.pairs
        hit = pairs[(pairs["rep_id"] == rep_id) & (pairs["segment"] == segment)]
        return bool(hit.empty or int(hit["leads"].iloc[0]) == 0)

    def flagged_pairs(self) -> list[tuple[str, str]]:
        """Rep x segment pairs whose estimate leans on the shrinkage (less data than
        `prior_strength`)."""
        flagged = self.pairs[self.pairs["flagged"]]
        return list(zip(flagged["rep_id"], flagged["segment"], strict=True))

    def _contact_formula(self) -> str:
        a, b = self.contact_coef
        if self.contact_shape == HALF_LIFE:
            top = 1.0 / (1.0 + math.exp(-a))
            half = math.log(2.0) / -b if b < 0 else math.inf
            return f"{top:.0%} at once, halfway to the floor every {half:.0f} minutes"
        return f"logit = {a:.3f} {'-' if b < 0 else '+'} {abs(b):.3f} * ln(1 + delay minutes)"

    def summary(self) -> str:
        """What was fitted, what was assumed (gaps), and the pairs leaning on shrinkage."""
        n = self.numbers
        lines = [f"Behaviour model fitted from {self.origin}", ""]
        lines.append("Fitted:")
        lines.extend(f"  - {note}" for note in self.notes)
        lines.append(
            f"  - contact of a valid lead: {self._contact_formula()}, levelling off at "
            f"{self.contact_floor:.0%} "
            f"(at once {self.p_contact('', _PROBE, 0):.0%}, after 1 h "
            f"{self.p_contact('', _PROBE, 60):.0%}, after 1 day "
            f"{self.p_contact('', _PROBE, 1440):.0%})"
            f"; invalid leads reached {n.invalid_contact:.2f} times as often"
        )
        caps = ", ".join(f"{r} {c:.1f}" for r, c in n.capacity_per_day.items())
        lines.append(f"  - capacity (first touches per working day): {caps}")
        rates = self.segment_rate or n.segment_conversion
        seg = ", ".join(f"{s or '(none)'} {p:.1%}" for s, p in rates.items())
        lines.append(f"  - conversion of reached valid leads by segment: {seg}")
        if self.products is not None:
            by_product = ", ".join(
                f"{row.product} {row.factor:.2f}x ({row.sales:.3g} sales of "
                f"{row.reached_valid:.3g}, {row.expected:.3g} expected)"
                for row in self.products.itertuples()
            )
            lines.append(f"  - conversion by product, a factor on those rates: {by_product}")
            amounts = ", ".join(
                f"{row.product} {row.amount_median:,.0f}"
                for row in self.products.itertuples()
                if not math.isnan(row.amount_median)
            )
            if amounts:
                lines.append(f"  - median sale amount by product: {amounts}")
        lines.append("")
        if self.gaps:
            lines.append("Gaps (assumed, not fitted):")
            lines.extend(f"  - {gap}" for gap in self.gaps)
        else:
            lines.append("Gaps: none")
        lines.append("")
        flagged = self.pairs[self.pairs["flagged"]]
        lines.append(
            f"Rep x segment pairs with too little data (fewer than {self.prior_strength:g} "
            f"reached valid leads; estimates lean on the shrinkage): {len(flagged)} of "
            f"{len(self.pairs)}"
        )
        for row in flagged.itertuples():
            lines.append(
                f"  - {row.rep_id} x {row.segment or '(none)'}: {row.sales:.3g} sales of "
                f"{row.reached_valid:.3g}, estimate {row.estimate:.1%} "
                f"(data weight {row.weight:.0%}, prior {row.prior:.1%})"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<FittedBehaviour from {self.origin}: {len(self.numbers.capacity_per_day)} reps, "
            f"{len(self.pairs)} rep x segment pairs ({int(self.pairs['flagged'].sum())} "
            f"flagged), {len(self.gaps)} gaps>"
        )


_PROBE = Lead("probe", datetime(2000, 1, 1, tzinfo=UTC))
"""A lead for describing lead-independent figures in `summary()`."""


def fit_behaviour(history: History, prior_strength: float = 20.0) -> FittedBehaviour:
    """Learn a Behaviour from a History; what the data cannot support is assumed and listed in
    `model.gaps`, never filled in silently.

    - **Conversion** (a sale, given a valid lead was reached; given only a touch, or only an
      assignment, when the export lacks `reached` / `valid` - a gap says so), in three layers of
      shrinkage with `prior_strength` pseudo-leads at each: the segment's rate shrinks toward the
      team's; each rep's factor is observed sales over the sales a statsmodels GLM (Binomial) of
      the lead mix (segment, product, source) expects for the rep's leads, shrunk toward 1 (so a
      rep given harder leads is not called weak); each rep x segment pair's rate shrinks toward
      segment rate x rep factor. A pair with fewer than `prior_strength` leads is flagged: its
      estimate is mostly the prior. When the export has more than one product, each product
      gets a factor (`model.products`, `numbers.product_conversion`): its sales over the sales
      the rep x segment rates expect for its leads, the log factor shrunk by a normal prior (sd
      1: products are few, each with many leads, and a dearer product is expected to close
      less often). `p_convert(rep, lead)` is the rep x segment rate times the lead's product
      factor over the segment's mean factor, so a rep x segment rate keeps its meaning (the rate
      over the segment's own product mix) and a cheap lead closes more often than a dear one.
    - **Contact**: `floor + (1 - floor) * sigmoid(a + b * ln(1 + delay minutes))` by maximum
      likelihood over first-touched valid leads (all touched leads when validity is unknown),
      starting from a GLM logit: contact falls with delay and levels off at the floor (a late
      call still reaches some prospects); invalid leads' relative contact rate.
    - **Capacity** (first touches per working day of `workday` minutes), estimated with its
      censoring (`leadrouter.sim.capacity`): a rep touches only leads they were given, so
      capacity shows only while a lead of theirs waits. A rep's pace is their first touches per
      working minute over the stretches from one first touch to the next during which another
      of their leads (one touched later) had already waited past three quarters of their own
      pick-ups; every other stretch shows demand, a lower bound. Across the team,
      log(capacity / demand) is normal, fitted by maximum likelihood with each backlogged rep
      an observation (with its sampling error) and each never-backlogged rep censored at what
      they handled (the 90th percentile of their first touches per working day) - a Tobit
      model. A backlogged rep's capacity is their pace shrunk toward the team's; a
      never-backlogged rep's is the team's distribution truncated below at what they handled
      (median); with no rep ever backlogged, it is what each handled, a lower bound (a gap
      says so). `notes` say how many reps and rep-days were binding; `gaps` name the reps whose
      capacity rests on the team.
    - **Touch delay**: the rep's empirical delays of leads first-touched when no other lead of
      theirs was waiting (the team's when the rep has fewer than 20), plus the queue wait
      `backlog * workday / capacity`. When the team's working hours can be read off the first
      touches (`model.work_hours`, from 100 touches), delays are working minutes and `workday`
      is the mean working day; otherwise delays are elapsed minutes (nights included) and the
      working day is taken as 540 minutes.
    - **Validity** per source, shrunk, and **amount** per product (median; one log spread
      pooled over the products); a replicate re-estimates both with its weights.
    - **Fields recorded because of the outcome** (filled on nearly every converted lead, on at
      most half as many of the others) are left out. A source, region, product or segment is
      blanked (`model.ignored`). An owner (rep_id) recorded that way leaves the reps unknown
      (`model.rep_effects_known` is False): conversion is fitted over every lead, so the model
      reproduces the history's sales / leads; every rep closes at the team's rate (no rep
      factors, no pairs); touch times, reached and valid flags filled only with the owner are
      left out too; capacity is the team's daily leads shared evenly, and per-rep pick-up
      delays and neglect are not used - each an assumption named in `gaps`.

    Deterministic: the same History gives the same model. `model.replicate(seed)` redraws the
    parameters by a Bayesian bootstrap of the leads (see `FittedBehaviour.replicate`).
    """
    if not prior_strength > 0:
        raise ConfigError(f"fit_behaviour: prior_strength must be > 0, got {prior_strength!r}")
    basis = _Basis.read(history, float(prior_strength))
    if not basis.owner_known:
        basis = _without_owner(basis, history)
    return basis.fit(None)


@attrs.frozen(eq=False)
class _Basis:
    """What a fit reads from a History, prepared once: the assigned leads with the columns the
    estimates need, and the figures a replicate keeps fixed (pick-up delays, empirical samples;
    the lead-mix expectation). Capacity is the censored fit's point estimate;
    `capacity_fit` redraws it for a replicate (`capacity_draw`)."""

    k: float
    origin: str
    assigned: Any
    touched: Any
    at_risk: Any
    basis_name: str
    has_touch: bool
    has_reached: bool
    has_valid: bool
    capacity: dict[str, float]
    team_capacity: float
    pickups: dict[str, tuple[float, ...]]
    team_pickups: tuple[float, ...]
    amount_median: dict[str, float]
    amount_sigma: float
    default_amount: float
    sold: Any
    """The assigned sales with an amount (product, amount): a replicate re-estimates the
    amounts from them with its weights."""
    gaps: tuple[str, ...]
    notes: tuple[str, ...]
    assumptions: dict[str, str]
    ignored: frozenset[str] = frozenset()
    owner_known: bool = True
    """False when the owner (rep_id) was recorded because of the outcome: `assigned` then holds
    every lead, and nothing is read per rep (see `_forget_owner`, `_without_owner`)."""
    work_hours: WorkWeek | None = None
    neglect: dict[str, float] = attrs.field(factory=dict)
    team_neglect: float = 0.0
    capacity_fit: CapacityFit | None = None
    """The censored capacity estimate behind `capacity` (None without first-touch times)."""

    @classmethod
    def read(cls, history: History, k: float) -> _Basis:
        import warnings

        import numpy as np
        import pandas as pd

        frame = history.to_frame()
        gaps: list[str] = []
        notes: list[str] = []
        assumptions: dict[str, str] = {}
        ignored = _outcome_leaks(frame)
        for name, (on_sales, on_others) in ignored.items():
            gaps.append(
                f"{name} is filled on {on_sales:.0%} of converted leads but {on_others:.0%} of "
                "the others - recorded because of the outcome, so it is left out of the model "
                "(every lead is treated as having none)"
            )
            if name in _LEAK_CLEARABLE:
                frame[name] = ""
        owner_known = "rep_id" not in ignored
        if not owner_known:
            _forget_owner(frame, gaps, assumptions)
        # with the owner recorded because of the outcome, every lead counts (owner unknown)
        assigned = frame[frame["rep_id"].notna() | (not owner_known)].copy()
        if assigned.empty:
            raise ConfigError(
                f"fit_behaviour: {history.origin} has no lead with a rep (rep_id): a behaviour "
                "model needs the logged assignments; map the owner column with "
                "columns={'rep_id': ...}"
            )
        reps = [rep.id for rep in history.roster]
        assigned["assigned_at"] = assigned["assigned_at"].fillna(assigned["arrived_at"])
        has_touch = bool(assigned["first_touch_at"].notna().any())
        has_reached = bool(assigned["reached"].notna().any())
        has_valid = bool(assigned["valid"].notna().any())
        touched = assigned[assigned["first_touch_at"].notna()].copy()
        delay = (touched["first_touch_at"] - touched["assigned_at"]).dt.total_seconds() / 60.0
        touched["delay"] = delay.clip(lower=0.0)
        work_hours = infer_work_week(touched["first_touch_at"], history.tz) if has_touch else None
        touched["work_delay"] = touched["delay"]
        workday = working_minutes_per_day(work_hours) if work_hours else WORKDAY_MINUTES
        if work_hours is not None:
            touched["work_delay"] = _working_delays(touched, history.tz, work_hours)
            notes.append(
                f"working hours read off the first touches ({_show_week(work_hours)}): pick-up "
                "delays are working minutes, and the simulator counts them on that clock"
            )
        if not has_valid:
            gaps.append(
                "no valid/invalid verdicts: every lead is assumed valid with probability 0.4, "
                "and conversion is fitted over leads regardless of validity"
            )
            assumptions["validity"] = "the export has no valid/invalid verdicts"
        if not (has_touch and has_reached):
            missing = "first-touch times" if not has_touch else "reached / not reached"
            gaps.append(
                f"no {missing} in the export: contact probability vs delay is an assumption "
                "(75% at once, falling with ln(1 + delay minutes)), not fitted"
            )
            assumptions["contact"] = f"the export has no {missing}"

        # ---- pick-up delay (fixed across replicates) and capacity (censored, redrawn)
        capacity: dict[str, float] = {}
        capacity_fit: CapacityFit | None = None
        pickups: dict[str, tuple[float, ...]] = {}
        team_pickups: tuple[float, ...] = ()
        if has_touch and len(touched):
            backlog = _backlog_at_assignment(assigned)
            touched["backlog"] = backlog.reindex(touched.index).fillna(0).to_numpy()
            free = touched[touched["backlog"] == 0]
            team_pickups = tuple(float(x) for x in np.sort(free["work_delay"].to_numpy()))
            for rep_id, group in free.groupby("rep_id"):
                if len(group) >= _MIN_PICKUP_SAMPLE:
                    pickups[str(rep_id)] = tuple(
                        float(x) for x in np.sort(group["work_delay"].to_numpy())
                    )
            # with the owner recorded because of the outcome, nothing is read per rep (the
            # team's figures replace it: _without_owner)
            capacity_fit = (
                fit_capacity(touched, history.tz, work_hours, workday, pickups, team_pickups)
                if owner_known
                else None
            )
            if capacity_fit is not None:
                capacity.update(capacity_fit.point())
                found, missing_capacity = capacity_fit.describe()
                notes.extend(found)
                gaps.extend(missing_capacity)
                if not capacity_fit.pooled:
                    assumptions.setdefault(
                        "delay", "no rep was ever backlogged, so capacity is only a lower bound"
                    )
            notes.append(
                f"pick-up delay: empirical per rep over {len(free)} leads touched with nothing "
                f"waiting ({len(pickups)} reps with their own, others the team's); queue wait "
                f"backlog * {workday:g} / capacity"
            )
            for rep_id in reps:
                if rep_id not in capacity and owner_known:
                    gaps.append(f"{rep_id} never first-touched a lead: capacity is the team median")
        else:
            gaps.append(
                "no first-touch times: capacity (assumed = 90th percentile of daily "
                "assignments) and touch delay (assumed 30-minute mean pick-up plus the queue) "
                "are assumptions"
            )
            assumptions["delay"] = "the export has no first-touch times"
            local_day = assigned["assigned_at"].dt.tz_convert(history.tz).dt.date
            daily = assigned.groupby([assigned["rep_id"], local_day]).size()
            for rep_id, counts in daily.groupby(level=0):
                capacity[str(rep_id)] = max(float(np.quantile(counts.to_numpy(), 0.9)), 1.0)
        neglect, team_neglect = _neglect(assigned, k) if has_touch else ({}, 0.0)
        if has_touch:
            notes.append(
                f"neglect: {team_neglect:.1%} of leads never touched (the last three days left "
                "out), per rep shrunk toward it"
            )
        team_capacity = float(np.median(list(capacity.values()))) if capacity else 20.0
        for rep_id in reps:
            capacity.setdefault(rep_id, team_capacity)

        # ---- the leads at risk of a sale, and each one's chance from its mix alone
        if has_reached and has_valid:
            mask = assigned["reached"].fillna(False).astype(bool) & assigned["valid"].fillna(
                False
            ).astype(bool)
            at_risk, basis_name = assigned[mask], "reached valid leads"
        elif has_reached:
            at_risk = assigned[assigned["reached"].fillna(False).astype(bool)]
            basis_name = "reached leads"
            gaps.append("no validity verdicts: conversion is per reached lead, valid or not")
        elif has_touch:
            at_risk, basis_name = touched, "touched leads"
            gaps.append("no reached / not reached: conversion is per touched lead, not per contact")
        else:
            at_risk, basis_name = assigned, "assigned leads"
            gaps.append("no contact outcomes: conversion is per assigned lead, not per contact")
        if basis_name != "reached valid leads":
            assumptions["conversion"] = (
                f"conversion was measured per {basis_name[:-1]}, so the split between contact "
                "and closing is assumed"
            )
        at_risk = at_risk.copy()
        y = at_risk["converted"].astype(bool).to_numpy().astype(float)
        overall = float((y.sum() + 1.0) / (len(y) + 2.0))
        at_risk["expected"] = _mix_expectation(at_risk, y, overall, warnings, np, pd)

        # ---- amounts (a replicate re-estimates them from `sold` with its weights)
        sold = assigned[assigned["converted"].astype(bool) & (assigned["amount"] > 0)]
        if len(sold):
            medians = sold.groupby("product")["amount"].median()
            amount_median = {str(p): float(v) for p, v in medians.items()}
            logs = np.log(sold["amount"].to_numpy() / sold["product"].map(medians).to_numpy())
            sigma = float(np.std(logs)) if len(logs) > 1 else 0.35
            default_amount = float(np.median(sold["amount"]))
            notes.append(
                f"amount: median per product over {len(sold)} sales, log spread {sigma:.2f}"
            )
        else:
            amount_median, sigma, default_amount = {}, 0.35, 10000.0
            gaps.append("no sale amounts: every sale is assumed worth 10,000")
            assumptions["amount"] = "the export has no sale amounts"
        return cls(
            k=k,
            origin=history.origin,
            assigned=assigned,
            touched=touched,
            at_risk=at_risk,
            basis_name=basis_name,
            has_touch=has_touch,
            has_reached=has_reached,
            has_valid=has_valid,
            capacity=capacity,
            team_capacity=team_capacity,
            pickups=pickups,
            team_pickups=team_pickups,
            amount_median=amount_median,
            amount_sigma=sigma,
            default_amount=default_amount,
            sold=sold[["product", "amount"]],
            gaps=tuple(gaps),
            notes=tuple(notes),
            assumptions=assumptions,
            ignored=frozenset(name for name in ignored if name in _LEAK_CLEARABLE),
            owner_known=owner_known,
            work_hours=work_hours,
            neglect=neglect,
            team_neglect=team_neglect,
            capacity_fit=capacity_fit,
        )

    def capacity_draw(self, seed: int) -> dict[str, float]:
        """Every rep's capacity for replicate `seed`: a draw from the censored fit's posterior
        keyed by (seed, rep) (`CapacityFit.draw`); reps it has no figure for keep theirs. The
        fitted capacities when there is nothing to redraw (no touch times, or capacity not read
        per rep)."""
        fit = self.capacity_fit
        if fit is None or not self.owner_known:
            return dict(self.capacity)
        return {**self.capacity, **fit.draw(seed)}

    def fit(self, weights: Any, capacity: Mapping[str, float] | None = None) -> FittedBehaviour:
        """The model estimated with one weight per assigned lead (a Series on `assigned`'s
        index; None = every lead once). Every count below is a weighted sum, so unit weights
        give the plain fit and Bayesian-bootstrap weights a replicate. `capacity` replaces the
        fitted capacities (a replicate's draw, `capacity_draw`)."""
        import numpy as np
        import pandas as pd

        k = self.k
        assigned = self.assigned
        w = pd.Series(1.0, index=assigned.index) if weights is None else weights
        gaps = list(self.gaps)
        notes: list[str] = []
        assumptions = dict(self.assumptions)

        def rate(frame: Any, column: str, by: Any) -> Any:
            """Weighted sum of `column` and weight total per group of `by`."""
            weight = w.reindex(frame.index)
            hits = frame[column].astype(float) * weight
            return pd.DataFrame({"sum": hits.groupby(by).sum(), "count": weight.groupby(by).sum()})

        # ---- validity by source
        tagged = assigned[assigned["valid"].notna()]
        if self.has_valid:
            tag_w = w.reindex(tagged.index)
            overall_valid = float((tagged["valid"].astype(float) * tag_w).sum() / tag_w.sum())
            by_source = rate(tagged, "valid", tagged["source"])
            valid_rate = {
                str(s): float((row["sum"] + k * overall_valid) / (row["count"] + k))
                for s, row in by_source.iterrows()
            }
            notes.append(
                f"valid rate {overall_valid:.1%} over {len(tagged)} tagged leads, by source "
                "shrunk toward it"
            )
        else:
            overall_valid, valid_rate = 0.4, {}

        # ---- contact vs delay
        contact_coef = (math.log(0.75 / 0.25), -0.2)
        contact_floor = 0.0
        contact_shape = LOG_LOGIT
        invalid_contact = 0.6
        if self.has_touch and self.has_reached:
            basis = self.touched[self.touched["reached"].notna()]
            if self.has_valid:
                is_valid = basis["valid"].fillna(False).astype(bool)
                is_invalid = basis["valid"].notna() & ~basis["valid"].fillna(True).astype(bool)
                valid_basis, invalid_basis = basis[is_valid], basis[is_invalid]
                if len(invalid_basis) and len(valid_basis):
                    ratio = _weighted_mean(invalid_basis["reached"], w) / max(
                        _weighted_mean(valid_basis["reached"], w), 1e-9
                    )
                    invalid_contact = min(max(ratio, 0.0), 1.0)
                basis = valid_basis
            if len(basis) >= 30 and basis["reached"].astype(bool).nunique() == 2:
                contact_shape, a, b, contact_floor = _contact_fit(
                    basis["reached"].astype(bool).to_numpy(),
                    basis["delay"].to_numpy(),
                    w.reindex(basis.index).to_numpy(),
                )
                contact_coef = (a, b)
                notes.append(
                    f"contact vs first-touch delay: {contact_shape} falling toward a floor (the "
                    f"better fit of two shapes) over {len(basis)} first touches"
                    + (" of valid leads" if self.has_valid else " (validity unknown: all leads)")
                )
            else:
                gaps.append(
                    f"only {len(basis)} first touches with a reached/not-reached outcome: "
                    "contact decay is the default assumption (75% at once, falling with "
                    "ln(1 + delay))"
                )
                assumptions["contact"] = "too few first touches with an outcome to fit it"
        notes.extend(self.notes)

        # ---- conversion: segment, rep factor against the lead mix, rep x segment pairs
        at_risk = self.at_risk
        risk_w = w.reindex(at_risk.index)
        y = at_risk["converted"].astype(bool).astype(float)
        overall = float(((y * risk_w).sum() + 1.0) / (risk_w.sum() + 2.0))
        by_segment = rate(at_risk, "converted", at_risk["segment"])
        segment_rate = {
            str(s): float((row["sum"] + k * overall) / (row["count"] + k))
            for s, row in by_segment.iterrows()
        }
        for segment in assigned["segment"].unique():
            segment_rate.setdefault(str(segment), overall)
        weighted = pd.DataFrame(
            {"sales": y * risk_w, "exp": at_risk["expected"] * risk_w, "rep_id": at_risk["rep_id"]}
        )
        rep_stats = weighted.groupby("rep_id")[["sales", "exp"]].sum()
        prior_sales = k * overall
        rep_factor = {
            str(r): float((row["sales"] + prior_sales) / (row["exp"] + prior_sales))
            for r, row in rep_stats.iterrows()
        }
        notes.append(
            f"conversion over {len(at_risk)} {self.basis_name} ({int(y.sum())} sales): segment "
            f"rate, rep factor vs a GLM of the lead mix, rep x segment pairs, each shrunk with "
            f"{k:g} pseudo-leads"
        )
        leads_per_pair = assigned.groupby(["rep_id", "segment"]).size()
        risk_pair = rate(at_risk, "converted", [at_risk["rep_id"], at_risk["segment"]])
        rows = []
        conversion: dict[str, dict[str, float]] = {}
        for key, leads in leads_per_pair.items():
            rep_id, segment = key
            found = (rep_id, segment) in risk_pair.index
            sales = float(risk_pair.loc[(rep_id, segment), "sum"]) if found else 0.0
            count = float(risk_pair.loc[(rep_id, segment), "count"]) if found else 0.0
            prior = min(segment_rate[str(segment)] * rep_factor.get(str(rep_id), 1.0), 0.999)
            estimate = (sales + k * prior) / (count + k)
            conversion.setdefault(str(rep_id), {})[str(segment)] = float(estimate)
            rows.append(
                {
                    "rep_id": str(rep_id),
                    "segment": str(segment),
                    "leads": int(leads),
                    "reached_valid": count,
                    "sales": sales,
                    "raw_rate": sales / count if count else float("nan"),
                    "prior": prior,
                    "estimate": float(estimate),
                    "weight": count / (count + k),
                    "flagged": count < k,
                }
            )
        pairs = pd.DataFrame(rows, columns=list(_PAIR_COLUMNS))
        if weights is None:
            pairs["reached_valid"] = pairs["reached_valid"].astype(int)
            pairs["sales"] = pairs["sales"].astype(int)
        if not self.owner_known:
            # the owned leads were picked by their outcome: no rep is told apart from another
            conversion, rep_factor, pairs = {}, {}, pairs.iloc[:0]
            notes.append("no rep factors or rep x segment pairs: the owner is unknown")

        # ---- conversion by product: a factor on the rep x segment rates (see _product_factors)
        cell_rate = [
            conversion.get(str(r), {}).get(str(g), segment_rate.get(str(g), overall))
            for r, g in zip(at_risk["rep_id"], at_risk["segment"], strict=True)
        ]
        product_factor, product_norm, products = _product_factors(at_risk, w, cell_rate, k)
        if products is not None:
            leads_per_product = assigned["product"].fillna("").astype(str).value_counts()
            products.insert(
                1, "leads", [int(leads_per_product.get(p, 0)) for p in products["product"]]
            )
            if weights is None:
                products["reached_valid"] = products["reached_valid"].astype(int)
                products["sales"] = products["sales"].astype(int)
            notes.append(
                f"conversion by product over {len(products)} products: a factor on the rep x "
                "segment rates, its sales against the sales those rates expect for its leads "
                f"(log factor shrunk by a normal prior, sd {_PRODUCT_PRIOR_SD:g})"
            )

        # ---- conversion measured over more than reached valid leads: put it on the
        # Protocol's basis
        if self.basis_name != "reached valid leads":
            a, b = contact_coef
            if self.basis_name == "reached leads":
                share = overall_valid / (overall_valid + (1 - overall_valid) * invalid_contact)
            else:
                delays = self.touched["delay"].to_numpy() if self.has_touch else np.array([30.0])
                reach = _contact_curve(contact_shape, a, b, contact_floor, delays)
                share = overall_valid * float(np.mean(reach))
            share = max(share, 1e-6)
            conversion = {
                r: {g: min(p / share, 0.999) for g, p in row.items()}
                for r, row in conversion.items()
            }
            segment_rate = {g: min(p / share, 0.999) for g, p in segment_rate.items()}
            overall = min(overall / share, 0.999)
            gaps.append(
                f"conversion was measured per {self.basis_name[:-1]}; it is divided by the "
                f"modelled share of those that are valid and reached ({share:.1%}) so the "
                "simulator's sales rate matches the history's - the split between contact "
                "and closing is assumed"
            )
        # the tables hold the rates of a lead of factor 1: each segment's over its own mix,
        # divided by the mean factor of that mix
        segment_mix = dict(segment_rate)
        if product_norm:
            conversion = {
                r: {g: min(p / product_norm.get(g, 1.0), 0.999) for g, p in row.items()}
                for r, row in conversion.items()
            }
            segment_rate = {
                g: min(p / product_norm.get(g, 1.0), 0.999) for g, p in segment_rate.items()
            }
        amount_median, amount_sigma, default_amount = (
            self.amount_median,
            self.amount_sigma,
            self.default_amount,
        )
        if weights is not None and len(self.sold):
            amount_median, amount_sigma, default_amount = _amounts(self.sold, w)
        if products is not None:
            products["amount_median"] = [
                amount_median.get(p, math.nan) for p in products["product"]
            ]

        numbers = GivenBehaviour(
            capacity_per_day=self.capacity if capacity is None else capacity,
            default_capacity=self.team_capacity,
            default_pickup=30.0,
            invalid_contact=invalid_contact,
            valid_rate=valid_rate,
            default_valid=overall_valid,
            conversion=conversion,
            segment_conversion=segment_rate,
            default_conversion=overall,
            product_conversion=product_factor,
            amount_median=amount_median,
            default_amount=default_amount,
            amount_sigma=amount_sigma,
            work_hours=self.work_hours,
            neglect=self.neglect,
            default_neglect=self.team_neglect,
            workday_minutes=(
                working_minutes_per_day(self.work_hours) if self.work_hours else WORKDAY_MINUTES
            ),
        )
        return FittedBehaviour(
            numbers=numbers,
            contact_coef=(float(contact_coef[0]), float(contact_coef[1])),
            contact_floor=float(contact_floor),
            contact_shape=contact_shape,
            pickup_delays=FrozenMap(self.pickups),
            team_pickup_delays=self.team_pickups,
            prior_strength=k,
            pairs=pairs,
            rep_factor=FrozenMap(rep_factor),
            gaps=tuple(gaps),
            notes=tuple(notes),
            origin=self.origin,
            assumptions=FrozenMap(assumptions),
            basis=self,
            ignored=self.ignored,
            rep_effects_known=self.owner_known,
            products=products,
            segment_rate=FrozenMap(segment_mix),
        )

    def bootstrap_weights(self, seed: int) -> Any:
        """Bayesian bootstrap weights: one Exp(1) draw per lead keyed by (seed, lead id),
        scaled to mean 1 - a flat Dirichlet over the leads, the same for a lead whatever
        other leads the history holds or their order."""
        import numpy as np
        import pandas as pd

        keys = np.array(
            [stable_key(seed, f"boot\x00{lead}") for lead in self.assigned["lead_id"]],
            dtype=np.uint64,
        )
        u = (keys >> np.uint64(11)).astype(float) * (1.0 / 9007199254740992.0)
        draws = -np.log1p(-np.clip(u, 0.0, 1.0 - 1e-16))
        return pd.Series(draws / draws.mean(), index=self.assigned.index)


def _neglect(assigned: Any, k: float) -> tuple[dict[str, float], float]:
    """Per rep, the share of their leads never first-touched, shrunk toward the team's with `k`
    pseudo-leads; leads assigned in the last three days of the export are left out."""
    import pandas as pd

    cutoff = assigned["assigned_at"].max() - pd.Timedelta(days=3)
    old = assigned[assigned["assigned_at"] <= cutoff]
    if old.empty:
        return {}, 0.0
    never = old["first_touch_at"].isna()
    team = float(never.mean())
    per_rep = never.groupby(old["rep_id"]).agg(["sum", "count"])
    return (
        {
            str(r): float((row["sum"] + k * team) / (row["count"] + k))
            for r, row in per_rep.iterrows()
        },
        team,
    )


def _working_delays(touched: Any, tz: str, week: WorkWeek) -> Any:
    """Working minutes from assignment to first touch on the team's clock."""
    import pandas as pd

    local_assigned = touched["assigned_at"].dt.tz_convert(tz).dt.tz_localize(None)
    local_touch = touched["first_touch_at"].dt.tz_convert(tz).dt.tz_localize(None)
    start = local_assigned.min().normalize() - pd.Timedelta(days=1)
    days = int((local_touch.max() - start).days) + 2
    clock = WorkClock(start.date(), days, week, tz)
    a = clock.work(((local_assigned - start).dt.total_seconds() / 60.0).to_numpy())
    t = clock.work(((local_touch - start).dt.total_seconds() / 60.0).to_numpy())
    return pd.Series((t - a).clip(min=0.0), index=touched.index)


def _show_week(week: WorkWeek) -> str:
    names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    return ", ".join(
        f"{name} {w[0]:02d}-{w[1]:02d}" for name, w in zip(names, week, strict=True) if w
    )


_LEAK_CLEARABLE = ("source", "region", "product", "segment")
"""Fields the model can do without: a leaking one is blanked before fitting."""


def _outcome_leaks(
    frame: Any, names: tuple[str, ...] = (*_LEAK_CLEARABLE, "rep_id")
) -> dict[str, tuple[float, float]]:
    """Fields filled on (nearly) every converted lead but on far fewer of the others: recorded
    because of the outcome (a CRM that fills the industry only when a deal is signed). Returns
    each such field of `names` with its fill rate on converted and on other leads."""
    converted = frame["converted"].astype(bool)
    if converted.sum() < 5 or (~converted).sum() < 20:
        return {}
    found: dict[str, tuple[float, float]] = {}
    for name in names:
        column = frame[name]
        filled = column.notna() & (column.astype(str) != "")
        on_sales = float(filled[converted].mean())
        on_others = float(filled[~converted].mean())
        if on_sales >= 0.9 and on_others <= 0.5 * on_sales:
            found[name] = (on_sales, on_others)
    return found


def owner_leaked(frame: Any) -> bool:
    """True when the export's owner (rep_id) was recorded because of the outcome (filled on
    nearly every converted lead, on at most half as many of the others): its logged assignments
    are then the converted leads' alone, and rep effects cannot be estimated from it."""
    return "rep_id" in _outcome_leaks(frame, ("rep_id",))


_OWNER_SIDE = ("assigned_at", "first_touch_at", "reached", "valid")
"""Fields a CRM writes with the owner: with the owner recorded because of the outcome, one of
them filled the same way was measured on the converted leads alone."""

_NO_REPS = (
    "the export records the owner (rep_id) mostly on converted leads, so no rep can be told "
    "apart from another"
)
"""Why rep effects are unknown: `assumptions["reps"]` of a model fitted on such an export."""


def _forget_owner(frame: Any, gaps: list[str], assumptions: dict[str, str]) -> None:
    """Prepare `frame` (in place) for a fit whose owner was recorded because of the outcome:
    blank every owner-side field recorded the same way, and say in `gaps` / `assumptions` that
    rep effects are unknown."""
    for name, (on_sales, on_others) in _outcome_leaks(frame, _OWNER_SIDE).items():
        frame[name] = frame[name].where(frame[name].isna())
        gaps.append(
            f"{name} is filled on {on_sales:.0%} of converted leads but {on_others:.0%} of the "
            "others, with the owner - measured on converted leads alone, so it is left out"
        )
    sales = int(frame["converted"].astype(bool).sum())
    gaps.append(
        f"rep effects are unknown: conversion is fitted over all {len(frame)} leads ({sales} "
        "sales) as if no owner were recorded, every rep closes at the team's rate, and this "
        "export cannot tell routing policies apart on sales"
    )
    assumptions["reps"] = _NO_REPS


def _without_owner(basis: _Basis, history: History) -> _Basis:
    """`basis` with the per-rep figures read off the owned leads (the converted ones, when the
    owner was recorded because of the outcome) replaced by team figures: each rep's capacity is
    the team's 90th-percentile first touches (without touch times: leads) per local day shared
    evenly over the reps (what an even rotation gave each: a lower bound); pick-up delays are the
    team's, from leads touched while the team had fewer leads waiting than reps; neglect is the
    team's."""
    import numpy as np

    reps = [rep.id for rep in history.roster]
    # the team's first touches per local day when the export has them, else its leads per day
    when = basis.touched["first_touch_at"] if basis.has_touch else basis.assigned["assigned_at"]
    daily = when.groupby(when.dt.tz_convert(history.tz).dt.date).size().to_numpy()
    even = max(float(np.quantile(daily, 0.9)) / max(len(reps), 1), 1.0) if len(daily) else 20.0
    # no owner, no per-rep backlog: a lead counts as picked up with nothing waiting when the
    # whole team had fewer leads waiting than it has reps
    touched = basis.touched
    waiting = _backlog_at_assignment(basis.assigned.assign(rep_id="team"))
    free = touched[waiting.reindex(touched.index).fillna(0).to_numpy() < max(len(reps), 1)]
    why = "the owner was recorded because of the outcome"
    return attrs.evolve(
        basis,
        capacity=dict.fromkeys(reps, even),
        team_capacity=even,
        team_pickups=tuple(float(x) for x in np.sort(free["work_delay"].to_numpy())),
        pickups={},
        neglect={},
        gaps=(
            *basis.gaps,
            f"{why}: capacity cannot be read per rep - each is assumed to handle the team's "
            f"90th-percentile {'first touches' if basis.has_touch else 'leads'} per day shared "
            f"evenly over {len(reps)} reps ({even:.1f}, a lower bound); pick-up delays and "
            "neglect are the team's, not each rep's",
        ),
        assumptions={
            **basis.assumptions,
            "delay": f"{why}, so capacity, pick-up delays and neglect per rep are assumed",
        },
    )


_PAIR_COLUMNS = (
    "rep_id",
    "segment",
    "leads",
    "reached_valid",
    "sales",
    "raw_rate",
    "prior",
    "estimate",
    "weight",
    "flagged",
)


def _resample(seed: int, rep_id: str, sample: tuple[float, ...]) -> tuple[float, ...]:
    """A bootstrap resample of a sorted sample (with replacement, sorted), keyed by (seed,
    rep): the same for a rep whatever other reps are drawn."""
    import numpy as np

    if len(sample) < 2:
        return sample
    rng = np.random.default_rng(stable_key(seed, f"pickup\x00{rep_id}"))
    return tuple(float(x) for x in np.sort(rng.choice(np.asarray(sample), size=len(sample))))


def _weighted_mean(values: Any, w: Any) -> float:
    weight = w.reindex(values.index)
    return float((values.astype(bool).astype(float) * weight).sum() / max(weight.sum(), 1e-12))


def _contact_curve(shape: str, a: float, b: float, floor: float, delay: Any) -> Any:
    """The chance of reaching a valid lead first touched `delay` minutes after it came (a float
    or an array), for a contact curve of `shape` (see `_contact_fit`)."""
    import numpy as np

    if shape == HALF_LIFE:
        top = 1.0 / (1.0 + math.exp(-a))
        return floor + (top - floor) * np.exp(b * np.asarray(delay, dtype=float))
    x = np.clip(a + b * np.log1p(delay), -700.0, 700.0)
    return floor + (1.0 - floor) / (1.0 + np.exp(-x))


def _contact_fit(y: Any, x: Any, weights: Any = None) -> tuple[str, float, float, float]:
    """The contact curve that fits first touches best: (shape, a, b, floor) by weighted maximum
    likelihood (`weights`: frequency weights; None = once each), `x` the delays in minutes.

    Contact falls with delay but not to nothing: a prospect called the next day still answers
    sometimes. Two shapes, each with a floor where it levels off, are fitted and the one with
    the higher likelihood kept (both have three parameters):

    - `LOG_LOGIT`: `floor + (1 - floor) * sigmoid(a + b * ln(1 + delay))` - steep in the first
      minutes, as the speed-to-lead studies describe;
    - `HALF_LIFE`: `floor + (sigmoid(a) - floor) * exp(b * delay)` - the contact at once falls
      halfway to the floor every `ln 2 / -b` minutes (the shape `GivenBehaviour` takes).

    Without a floor a curve sends contact toward zero for long queues and overstates what a
    backlog costs. The log-logit starts from a statsmodels GLM logit; scipy maximises both.
    """
    import numpy as np
    from scipy.optimize import minimize

    a0, b0 = _logit_fit(y, np.log1p(x), weights)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    hit = np.asarray(y, dtype=float)
    log_delay = np.log1p(x)

    def nll(p: Any) -> float:
        p = np.clip(p, 1e-12, 1 - 1e-12)
        return float(-(w * (hit * np.log(p) + (1.0 - hit) * np.log1p(-p))).sum())

    def sigmoid(v: float) -> float:
        return 1.0 / (1.0 + math.exp(-min(max(v, -700.0), 700.0)))

    def log_logit(theta: Any) -> float:
        a, b, f = theta
        floor = sigmoid(f)
        return nll(floor + (1.0 - floor) / (1.0 + np.exp(-np.clip(a + b * log_delay, -700, 700))))

    def half_life(theta: Any) -> float:
        a, rate, f = theta
        floor = sigmoid(f)
        return nll(floor + (sigmoid(a) - floor) * np.exp(-math.exp(rate) * x))

    median = max(float(np.median(x)), 1.0)
    method = "Nelder-Mead"
    fits = [
        (LOG_LOGIT, minimize(log_logit, np.array([a0, b0, start]), method=method))
        for start in (-6.0, -1.0)
    ] + [
        (HALF_LIFE, minimize(half_life, np.array([a0, -math.log(scale), -1.0]), method=method))
        for scale in (median / 4.0, median)
    ]
    shape, best = min(fits, key=lambda found: float(found[1].fun))
    a, b, f = (float(v) for v in best.x)
    if shape == HALF_LIFE:
        return shape, a, -math.exp(b), sigmoid(f)
    return shape, a, b, sigmoid(f)


def _logit_fit(y: Any, x: Any, weights: Any = None) -> tuple[float, float]:
    """Intercept and slope of a statsmodels GLM Binomial (logit) of `y` on `x`, each
    observation counted `weights` times (frequency weights; None = once)."""
    import warnings

    import numpy as np
    import statsmodels.api as sm

    design = np.column_stack([np.ones(len(x)), x])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = sm.GLM(
            y.astype(float), design, family=sm.families.Binomial(), freq_weights=weights
        ).fit()
    a, b = (float(v) for v in result.params)
    return a, b


def _mix_expectation(at_risk: Any, y: Any, overall: float, warnings: Any, np: Any, pd: Any) -> Any:
    """Each lead's chance of a sale from its mix alone (segment, product, source), by a
    statsmodels GLM Binomial without rep terms; the overall rate when it cannot be fitted."""
    import statsmodels.api as sm

    features = [name for name in ("segment", "product", "source") if at_risk[name].nunique() > 1]
    if not features or len(at_risk) < 50 or y.sum() < 5:
        return np.full(len(at_risk), overall)
    design = pd.get_dummies(at_risk[features].astype(str), drop_first=True, dtype=float)
    design.insert(0, "const", 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = sm.GLM(y, design.to_numpy(), family=sm.families.Binomial()).fit_regularized(
                alpha=1.0 / len(y), L1_wt=0.0
            )
        except (ValueError, np.linalg.LinAlgError):
            return np.full(len(at_risk), overall)
    return 1.0 / (1.0 + np.exp(-(design.to_numpy() @ np.asarray(result.params))))


def _weighted_median(values: Any, weights: Any) -> float:
    """The smallest value with at least half the weight at or below it."""
    import numpy as np

    order = np.argsort(values, kind="stable")
    cum = np.cumsum(np.asarray(weights, dtype=float)[order])
    at = int(np.searchsorted(cum, 0.5 * cum[-1]))
    return float(np.asarray(values, dtype=float)[order][min(at, len(order) - 1)])


def _amounts(sold: Any, w: Any) -> tuple[dict[str, float], float, float]:
    """Median sale amount per product, log spread around them and the overall median, each
    sale counted with its weight in `w` (a replicate's bootstrap weights)."""
    import numpy as np

    weight = w.reindex(sold.index).to_numpy(dtype=float)
    amount = sold["amount"].to_numpy(dtype=float)
    product = sold["product"].fillna("").astype(str).to_numpy()
    medians = {
        str(p): _weighted_median(amount[product == p], weight[product == p])
        for p in sorted(set(product))
    }
    centre = np.array([medians[p] for p in product])
    logs = np.log(amount / centre)
    sigma = 0.35
    if len(logs) > 1 and weight.sum() > 0:
        spread = (logs - np.average(logs, weights=weight)) ** 2
        sigma = float(np.sqrt(np.average(spread, weights=weight)))
    return medians, sigma, _weighted_median(amount, weight)


_PRODUCT_PRIOR_SD = 1.0
"""The prior spread of a product's log conversion factor (a normal centred on 1x): the same
weight the lead-mix GLM's ridge gives a product term. Weaker than the `prior_strength`
pseudo-leads reps are shrunk with: products are few, each with many leads, and expected to differ
(a dearer product closes less often)."""

_PRODUCT_COLUMNS = (
    "product",
    "leads",
    "reached_valid",
    "sales",
    "expected",
    "raw_factor",
    "factor",
    "amount_median",
)


def _log_factor(sales: float, expected: float, sd: float) -> float:
    """The posterior mode of a log rate ratio θ: Poisson `sales` against `expected * e^θ`, with
    a normal(0, `sd`) prior on θ (Newton's method on a concave objective)."""
    theta = 0.0
    for _ in range(50):
        grad = sales - expected * math.exp(theta) - theta / sd**2
        step = grad / (expected * math.exp(theta) + 1.0 / sd**2)
        theta += step
        if abs(step) < 1e-10:
            break
    return theta


def _product_factors(
    at_risk: Any, w: Any, base: Any, k: float
) -> tuple[dict[str, float], dict[str, float], Any]:
    """Each product's conversion factor against the lead mix, and each segment's normaliser.

    The model is `p = rate(rep, segment) * factor(product) / norm(segment)`: `rate` the shrunk
    rep x segment rate of the leads at risk (`base`, one per lead), `norm(segment)` the mean
    factor over the segment's leads at risk (shrunk toward the team's mean with `k`
    pseudo-leads), so each rep x segment rate keeps its meaning - the rate over the segment's
    own product mix. A factor is a product's sales over the sales the rates expect for its
    leads (indirect standardisation, so a product sold mostly in a weak segment or by weak reps
    is not blamed for it), shrunk by `_log_factor`; factor and normaliser are solved together
    and scaled so the leads' mean factor is 1. Leads without a product count with factor 1.
    Weighted by `w` (bootstrap weights in a replicate). Empty when fewer than two products."""
    import numpy as np
    import pandas as pd

    product = at_risk["product"].fillna("").astype(str).to_numpy()
    known = sorted(set(product) - {""})
    if len(known) < 2:
        return {}, {}, None
    # product code per lead (len(known) = no product, factor 1) and segment code
    code = np.searchsorted(known, product)
    code = np.where(np.isin(product, known), code, len(known))
    segments, seg_code = np.unique(
        at_risk["segment"].fillna("").astype(str).to_numpy(), return_inverse=True
    )
    weight = w.reindex(at_risk.index).to_numpy(dtype=float)
    base = np.asarray(base, dtype=float)
    n = len(known)
    sales = np.bincount(code, at_risk["converted"].astype(bool).to_numpy() * weight, n + 1)[:n]
    counts = np.bincount(code, weight, n + 1)[:n]
    seg_w = np.bincount(seg_code, weight, len(segments))
    theta = np.zeros(n)
    expected: Any = np.zeros(n)
    norm: Any = np.ones(len(segments))
    for _ in range(50):
        factor = np.append(np.exp(theta), 1.0)[code]
        mean = float((weight * factor).sum() / max(weight.sum(), 1e-12))
        norm = (np.bincount(seg_code, weight * factor, len(segments)) + k * mean) / (seg_w + k)
        expected = np.bincount(code, weight * base / norm[seg_code], n + 1)[:n]
        new = np.array(
            [
                _log_factor(float(s), float(e), _PRODUCT_PRIOR_SD)
                for s, e in zip(sales, expected, strict=True)
            ]
        )
        moved = float(np.abs(new - theta).max())
        theta = new
        if moved < 1e-8:
            break
    factor = np.append(np.exp(theta), 1.0)[code]
    mean = float((weight * factor).sum() / max(weight.sum(), 1e-12))
    factors = {p: float(math.exp(t)) / mean for p, t in zip(known, theta, strict=True)}
    norms = {str(g): float(v) / mean for g, v in zip(segments, norm, strict=True)}
    at_mean = expected * mean
    table = pd.DataFrame(
        {
            "product": known,
            "reached_valid": counts,
            "sales": sales,
            # the sales the rep x segment rates expect for the product's leads (mean factor 1)
            "expected": at_mean,
            "raw_factor": np.divide(sales, at_mean, out=np.full(n, math.nan), where=at_mean > 0),
            "factor": [factors[p] for p in known],
        }
    )
    return factors, norms, table


def _backlog_at_assignment(assigned: Any) -> Any:
    """For each assigned lead, how many of its rep's earlier leads (ones eventually touched) were
    still untouched when it was assigned."""
    import numpy as np
    import pandas as pd

    out = pd.Series(0, index=assigned.index, dtype="int64")
    for _, group in assigned.groupby("rep_id"):
        order = group.sort_values("assigned_at", kind="stable")
        at = order["assigned_at"].to_numpy("datetime64[us]")
        touch = order["first_touch_at"].to_numpy("datetime64[us]")
        touched = ~np.isnat(touch)
        before = np.cumsum(touched) - touched
        done = np.searchsorted(np.sort(touch[touched]), at, side="right")
        out.loc[order.index] = np.maximum(before - done, 0)
    return out
