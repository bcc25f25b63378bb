"""A behaviour model learned from a History: `FittedBehaviour`, what `fit_behaviour` returns.

It answers the simulator's questions from the fitted figures (held as a `GivenBehaviour` in
`numbers`) and from what a fit knows beyond them: the contact curve's shape and floor, each rep's
empirical pick-up delays, the rep x segment pairs and product factors behind the conversion
table, and the gaps - what the data could not support and was assumed instead - which
`summary()` puts in words. It keeps what the fit read (`basis`), so `replicate(seed)` refits on a
Bayesian bootstrap of the leads and a comparison's intervals carry the parameters' uncertainty.
How each figure is estimated is in `leadrouter.sim.estimation`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs

from leadrouter._util import EMPTY, FrozenMap
from leadrouter.errors import ConfigError
from leadrouter.model import Lead
from leadrouter.sim.contact import HALF_LIFE, LOG_LOGIT
from leadrouter.sim.given import GivenBehaviour, _clip_u, _queue_wait
from leadrouter.sim.modelfacts import ModelFacts, PairFacts, ProductFacts, RepFacts

if TYPE_CHECKING:
    from leadrouter.sim.estimation import _Basis
    from leadrouter.sim.estimation_shrink import Shrinkage
    from leadrouter.sim.history import History
    from leadrouter.sim.repspread import RepSpread
    from leadrouter.sim.workweek import WorkWeek

__all__ = ["FittedBehaviour"]


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
    rep_spread: RepSpread | None = attrs.field(default=None, repr=False)
    """How much reps really differ in closing once sampling noise is taken out, with the test of
    "no differences" (`leadrouter.sim.repspread`); None when the reps are unknown or there is
    nothing to tell apart. A replicate does not recompute it."""
    shrinkage: Shrinkage | None = attrs.field(default=None, repr=False)
    """The pseudo-sales rep factors and rep x segment pairs were shrunk with: the spreads the
    history shows between them (`leadrouter.sim.estimation_shrink`); a replicate keeps the reps'
    and re-estimates the pairs'."""
    segment_rate: FrozenMap[float] = attrs.field(default=EMPTY)
    """Each segment's conversion over its own product mix (`numbers.segment_conversion` is for a
    lead of product factor 1)."""
    leads: int = 0
    """The leads the fit read: those with a rep (every lead when the owner is unknown)."""
    fitter: Callable[[History], FittedBehaviour] | None = attrs.field(
        default=None, repr=False, eq=False
    )
    """How this model was fitted (`fit_behaviour` with its settings), for `refit`; the fitting
    code hands it over, so the model needs no import of it (the estimation builds on the
    model, not the reverse)."""

    def _seen(self, lead: Lead) -> Lead:
        """The lead as the model sees it: fields it left out read as empty."""
        if not self.ignored:
            return lead
        blank: dict[str, Any] = dict.fromkeys(self.ignored, "")
        return attrs.evolve(lead, **blank)

    def replicate(self, seed: int) -> FittedBehaviour:
        """The model refitted on a Bayesian bootstrap of the history's leads: each lead weighted
        by an Exp(1) draw keyed by (seed, lead id), i.e. a flat Dirichlet over the leads.

        Validity, contact decay and segment rates are re-estimated with the weights. Rep factors
        and rep x segment rates are drawn from their posterior (the weighted sales plus a gamma
        draw of the prior's pseudo-sales), given the fit's spread between reps (`shrinkage`) and
        the spread between pairs re-estimated from the weighted sums (see
        `leadrouter.sim.estimation_shrink`), so a pair seen on many leads varies by its
        sampling error and one seen on almost none by the spread between pairs. Every rep's
        capacity is drawn from the censored capacity fit's posterior (the team's
        capacity-to-demand mean redrawn from its standard error, then each rep given it;
        keyed by (seed, rep), see `leadrouter.sim.capacity`), so a rep measured over many
        backlogged touches varies little and a never-backlogged one as much as the team
        does. Product factors and each product's median sale amount and log spread are
        re-estimated with the weights too, and so is each rep's neglect (the share of their
        leads never touched). Each rep's empirical pick-up delays (and the team's) are
        resampled with replacement, keyed by (seed, rep), so speed carries the uncertainty
        of a sample of a few dozen delays; a rep with too few delays of their own has the
        team's scaled by a shift drawn from its posterior (`leadrouter.sim.pickups`). The
        lead-mix expectation stays as fitted. The same seed gives the same replicate.
        """
        if self.basis is None:
            return self
        basis = self.basis
        drawn = basis.fit(
            basis.bootstrap_weights(seed),
            capacity=basis.capacity_draw(seed),
            pickups=basis.pickups.draw(seed),
            draw=None if self.shrinkage is None else (self.shrinkage, seed),
        )
        return attrs.evolve(drawn, fitter=self.fitter)

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
        if self.fitter is None:
            raise ConfigError(
                "refit: this model was not made by fit_behaviour, so how to fit it again is "
                "unknown; call fit_behaviour(history, ...) instead"
            )
        return self.fitter(history)

    @property
    def invalid_contact(self) -> float:
        """How often an invalid lead is reached, relative to a valid one at the same delay."""
        return self.numbers.invalid_contact

    @property
    def work_hours(self) -> WorkWeek | None:
        """The team's work week read off the history's first touches (None when it could not
        be: then delays are elapsed minutes)."""
        return self.numbers.work_hours

    @property
    def workday_minutes(self) -> float:
        """The working minutes a capacity is counted over (the mean working day)."""
        return self.numbers.workday_minutes

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

    def describe(self) -> ModelFacts:
        """The model's facts as plain data (`leadrouter.sim.modelfacts.ModelFacts`): how each
        part was fitted, each rep's capacity, median pick-up delay, neglect and closing factor,
        conversion by segment and by product, the gaps and the rep x segment pairs - the one
        source both `summary()` and the report's section on the model are written from."""
        n = self.numbers
        contact = (
            f"contact of a valid lead: {self._contact_formula()}, levelling off at "
            f"{self.contact_floor:.0%} "
            f"(at once {self.p_contact('', _PROBE, 0):.0%}, after 1 h "
            f"{self.p_contact('', _PROBE, 60):.0%}, after 1 day "
            f"{self.p_contact('', _PROBE, 1440):.0%})"
            f"; invalid leads reached {n.invalid_contact:.2f} times as often"
        )
        pairs = tuple(
            PairFacts(
                rep_id=str(row.rep_id),
                segment=str(row.segment),
                leads=int(row.leads),
                reached_valid=float(row.reached_valid),
                sales=float(row.sales),
                prior=float(row.prior),
                estimate=float(row.estimate),
                weight=float(row.weight),
                thin=bool(row.flagged),
            )
            for row in self.pairs.itertuples()
        )
        leads: dict[str, int] = {}
        for pair in pairs:
            leads[pair.rep_id] = leads.get(pair.rep_id, 0) + pair.leads
        reps = tuple(
            RepFacts(
                rep_id=rep,
                leads=leads.get(rep),
                capacity=n.capacity_per_day.get(rep),
                pickup_median=_median(self.pickup_delays.get(rep, self.team_pickup_delays)),
                neglect=n.neglect.get(rep),
                closing_factor=self.rep_factor.get(rep),
            )
            for rep in _reps(n.capacity_per_day, self.pickup_delays, n.neglect, leads)
        )
        products = (
            ()
            if self.products is None
            else tuple(
                ProductFacts(
                    product=str(row.product),
                    factor=float(row.factor),
                    sales=float(row.sales),
                    reached_valid=float(row.reached_valid),
                    expected=float(row.expected),
                    amount_median=None
                    if math.isnan(row.amount_median)
                    else float(row.amount_median),
                )
                for row in self.products.itertuples()
            )
        )
        return ModelFacts(
            origin=self.origin,
            leads=self.leads,
            fitted=(*self.notes, contact),
            reps=reps,
            segments=tuple((self.segment_rate or n.segment_conversion).items()),
            products=products,
            rep_spread=None if self.rep_spread is None else self.rep_spread.describe(),
            gaps=self.gaps,
            pairs=pairs,
            prior_strength=self.prior_strength,
            delay_unit="working minutes" if self.work_hours is not None else "minutes",
            workday_minutes=self.workday_minutes,
        )

    def summary(self) -> str:
        """What was fitted, what was assumed (gaps), and the pairs leaning on shrinkage: the
        text of `describe()`."""
        return self.describe().text()

    def __repr__(self) -> str:
        return (
            f"<FittedBehaviour from {self.origin}: {len(self.numbers.capacity_per_day)} reps, "
            f"{len(self.pairs)} rep x segment pairs ({int(self.pairs['flagged'].sum())} "
            f"flagged), {len(self.gaps)} gaps>"
        )


_PROBE = Lead("probe", datetime(2000, 1, 1, tzinfo=UTC))
"""A lead for describing lead-independent figures in `describe()`."""


def _median(sample: tuple[float, ...]) -> float | None:
    """The sample's median; None for no sample."""
    return statistics.median(sample) if sample else None


def _reps(*keyed: Mapping[str, object]) -> list[str]:
    """Every rep the mappings name, in their order of first appearance."""
    return list(dict.fromkeys(rep for mapping in keyed for rep in mapping))
