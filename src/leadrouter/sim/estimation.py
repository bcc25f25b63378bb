"""Learning a behaviour model from a History: `fit_behaviour`.

A fit happens in two steps on one object, `_Basis`. `_Basis.read` takes what the History holds,
once: the assigned leads, which fields the export has, pick-up delays and capacity (censored, see
`leadrouter.sim.capacity`), neglect, each lead's chance of a sale from its mix alone, sale
amounts (`leadrouter.sim.estimation_read`). `_Basis.fit` estimates the model from that with one
weight per lead - validity by source, the contact curve, conversion in layers of shrinkage,
product factors - every count a weighted sum (`leadrouter.sim.estimation_fit`). Unit weights
give the fit and Bayesian-bootstrap weights a replicate (`FittedBehaviour.replicate`), so both
share one code path and a replicate varies exactly what the data leave uncertain. What the data
cannot support is assumed and listed in the model's `gaps`, never filled in silently.

The parts with an idea of their own live beside it: the contact curve (`leadrouter.sim.contact`),
what first touches say (`leadrouter.sim.touches`), conversion by product and sale amounts
(`leadrouter.sim.products`), and fields recorded because of the outcome (`leadrouter.sim.leaks`).
This module is the entry point and keeps every name the two steps define importable from here.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import TYPE_CHECKING

import attrs

from leadrouter.errors import ConfigError
from leadrouter.sim.censoring import DEFAULT_HORIZON
from leadrouter.sim.estimation_fit import _ASSUMED_PICKUP as _ASSUMED_PICKUP
from leadrouter.sim.estimation_fit import _MAX_CONVERT as _MAX_CONVERT
from leadrouter.sim.estimation_fit import _PAIR_COLUMNS as _PAIR_COLUMNS
from leadrouter.sim.estimation_fit import _assumed_delays as _assumed_delays
from leadrouter.sim.estimation_fit import _known_outcomes as _known_outcomes
from leadrouter.sim.estimation_fit import _weighted_mean as _weighted_mean
from leadrouter.sim.estimation_read import _Basis as _Basis
from leadrouter.sim.estimation_read import _mix_expectation as _mix_expectation
from leadrouter.sim.leaks import _without_owner

if TYPE_CHECKING:
    from leadrouter.sim.fitted import FittedBehaviour
    from leadrouter.sim.history import History

__all__ = ["fit_behaviour"]


def fit_behaviour(
    history: History, prior_strength: float = 20.0, horizon: timedelta = DEFAULT_HORIZON
) -> FittedBehaviour:
    """Learn a Behaviour from a History; what the data cannot support is assumed and listed in
    `model.gaps`, never filled in silently.

    - **Conversion** (a sale, given a valid lead was reached; given only a touch, or only an
      assignment, when the export lacks `reached` / `valid` - a gap says so), in three layers of
      shrinkage: the segment's rate shrinks toward the team's with `prior_strength`
      pseudo-leads; each rep's factor is observed sales over the sales a statsmodels GLM
      (Binomial) of the lead mix (segment, product, source) expects for the rep's leads, shrunk
      toward 1 (so a rep given harder leads is not called weak); each rep x segment pair's rate
      shrinks toward segment rate x rep factor. Reps and pairs are shrunk by the spread the
      history shows between them net of chance (`leadrouter.sim.estimation_shrink`: the rep
      spread of `model.rep_spread`, the pairs' by DerSimonian-Laird moments), not by a fixed
      count: reps that close alike are not told apart on luck (which a policy picking reps by
      their win rates would otherwise be credited with), and reps that differ a lot keep most
      of their difference. A pair with fewer than `prior_strength` leads is flagged: its
      estimate leans on the prior. When the export has more than one product, each product
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
    - **Assumptions give way to the data.** Without verdicts, invalid leads are reached as
      often as valid ones (nothing tells them apart). Without first-touch times but with
      reached flags, the assumed contact curve is levelled to the reach share the export
      shows. When conversion is measured over more than reached valid leads, it is divided by
      the modelled share of them that are valid and reached; if an assumed valid share or
      contact level makes that share too small for the sales seen (a chance above 95% would be
      needed), it is raised to fit - validity first, then contact - and the raise is listed in
      `gaps`. So replaying the logged assignments gives back the history's sales whatever
      columns it lacks (tests/test_sim_replay.py).
    - **Open deals are censored, not lost** (`leadrouter.sim.censoring`). When the export has
      deals still open at `history.as_of` (`stage` "open"), conversion is "sold within
      `horizon` of arrival" (default 30 days: long enough for nearly every sale an inbound
      lead brings, short enough that a few months of history follow most leads that far) and
      every conversion sum - segment, rep factor and its lead-mix GLM, rep x segment pairs,
      product factors, amounts - counts each lead with its inverse probability of censoring
      weight: 1 / G(D-) when its outcome by the horizon is known at D (won or lost by then, or
      followed beyond the horizon), 0 when it was still open, followed less; G is the
      Kaplan-Meier survival of censoring among the leads that arrived on its weekday. So the
      rates estimate P(sold within the horizon) without counting open deals as lost (which
      biases rates down, most for recent leads and busy reps) or dropping them (which keeps the
      quickly decided). The notes say "N open deals
      treated as censored; conversion is sold within H days", and the simulator's sales are
      then sales within the horizon. Validity and contact are read off every touched lead as
      before (open deals know theirs). With nothing open every weight is 1, a sale counts
      whenever it came, and the fit is exactly what it was; `horizon` then changes nothing.
      Must be positive.
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
    basis = _Basis.read(history, float(prior_strength), horizon)
    if not basis.owner_known:
        basis = _without_owner(basis, history)
    again = functools.partial(fit_behaviour, prior_strength=prior_strength, horizon=horizon)
    return attrs.evolve(basis.fit(None), fitter=again)
