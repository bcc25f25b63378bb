"""Explore (探索分配): route most leads with a push strategy, a small share at random, and
record the exact chance every assignment had, so the history can be evaluated honestly later.

Evaluating a new policy on logged assignments without bias (replay, inverse propensity
weighting, doubly robust estimators; Li et al. 2011) needs a logging policy that gave every
rep a known, non-zero chance of each lead. A deterministic rule gives every rep but one a
chance of zero, so its history can only support model-based what-ifs. `Explore` turns any
push strategy into such a logging policy and writes the chance into `Assigned.propensity`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from leadrouter._util import stable_key
from leadrouter.context import Context, TickContext
from leadrouter.errors import ConfigError, StrategyError
from leadrouter.strategies.base import (
    Pick,
    Release,
    Strategy,
    StrategyTags,
    as_pick,
    strategy_field,
    to_strategy,
)

__all__ = ["Explore"]


def _v_share(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= 1
    ):
        raise ConfigError(
            f"Explore.share must be a number in (0, 1] (the fraction of leads routed uniformly "
            f"at random, e.g. 0.1 for 10%), got {value!r}"
        )


def _v_base(inst: object, attr: attrs.Attribute[Any], value: Strategy) -> None:
    if value.tags.pull:
        raise ConfigError(
            f"Explore needs a push strategy to explore around, but {value!r} is a pull strategy "
            "(it leaves leads in a pool for reps to claim, so there is no assignment to "
            "randomise): wrap a push strategy such as EqualRotation()"
        )
    if value.tags.randomized:
        raise ConfigError(
            f"Explore needs a deterministic base strategy, but {value!r} is randomised: the "
            "propensity Explore records would need the base's chance for every rep, which it "
            "does not report; wrap the deterministic version of the strategy instead"
        )


def _draws(ctx: Context) -> random.Random:
    """The generator for this decision: `ctx.rng` the first time a lead is routed; for a lead
    routed again after a release (an SLA reclaim, an expiry, a handover), one keyed by
    (seed, lead id, number of releases). Each decision about a lead thus gets its own coin,
    independent of the earlier ones, so its propensity holds given everything before it."""
    releases = getattr(ctx.view, "lead_releases", None)
    attempt = len(releases(ctx.lead.id)) if releases is not None else 0
    if not attempt:
        return ctx.rng
    return random.Random(stable_key(ctx.seed, f"{ctx.lead.id}\x00explore\x00{attempt}"))


def _summary(strategy: Strategy) -> str:
    """The first line of a strategy's docstring: what it does, for a reason."""
    doc = (type(strategy).__doc__ or "").strip().split("\n")[0].rstrip(".")
    return doc or f"chosen by {strategy.name}"


@attrs.frozen(repr=False)
class Explore(Strategy):
    """Route with `base`, except a `share` of leads that go to a uniformly random rep who can
    take them; every assignment records its exact probability in `Assigned.propensity`.

    When to use it: before a change of routing policy that you want to evaluate honestly later
    from your own history, or to keep evaluating alternatives while routing with the current
    one, like the control arm of an A/B test. A share of 5–10% is typical.

    Parameters:

    - `base`: any push strategy (or function) that routes from the ledger deterministically.
    - `share` (default 0.1): the probability, per lead, of routing at random; in (0, 1].

    Guarantee: for each lead `base` picks a rep (the same pick it would make alone); then, with
    probability `share` drawn from `ctx.rng` (so the same for the same router seed and lead id),
    the lead goes to a rep chosen uniformly among the k eligible reps every cap lets take it,
    and otherwise to the base's pick. The recorded propensity is exactly the probability of the
    rep chosen: `(1 - share) + share / k` for the base's pick, `share / k` for any other rep, so
    every rep who could take the lead had a known chance of at least `share / k` > 0. That is
    what inverse propensity weighting needs to estimate, without bias, how another policy would
    have done on the same leads. A lead routed again after a release gets a fresh draw, so each
    propensity holds given everything logged before it. A lead the base leaves in a pool, or
    that no rep can take, is passed through unchanged (no exploration, no propensity). Rules
    and caps hold as for any strategy: exploration never picks a rep who is not eligible or is
    at a cap. Assignments a rule makes without asking the strategy (`dedup_to_owner()`) carry
    no propensity: they were not randomised.

    Cost: about `share` of leads are routed at random, ignoring the base's reasons (performance,
    quota, fit), so the team gives up roughly `share` of whatever the base policy gains over
    random routing. Explored leads are ordinary assignments in the ledger, so a base that
    balances counts (rotation, deficit allocation) makes up for them with its next picks.
    Exploration is among every rep the router offers: around a base that narrows the offer
    itself (`TieredDelay`'s current tier), put `Explore` inside it instead, per tier. Batches
    (`route_many`) are routed lead by lead. With no history it explores around what the base
    does with no history.
    """

    base: Strategy = attrs.field(converter=to_strategy, validator=[strategy_field, _v_base])
    share: float = attrs.field(default=0.1, validator=_v_share)

    @property
    def tags(self) -> StrategyTags:  # type: ignore[override]  # the base's tags, per instance
        """The base's needs, marked randomised; not batching, since Explore routes a batch lead
        by lead (it has no `route_batch`); not weighted, since its random picks move shares off
        the base's weights (and it states none)."""
        return attrs.evolve(self.base.tags, randomized=True, batching=False, weighted=False)

    @property
    def name(self) -> str:
        return f"Explore({self.base.name})"

    def route(self, ctx: Context) -> Pick | str | None:
        result = self.base.route(ctx)
        pick = as_pick(result)
        chosen = pick.rep_id
        if chosen is None:
            return result
        if pick.propensity is not None and pick.propensity < 1:
            raise StrategyError(
                f"{self.base!r} reported propensity {pick.propensity} for lead {ctx.lead.id!r}: "
                "its picks are random, so Explore cannot record an exact propensity; tag it "
                "StrategyTags(randomized=True) and wrap a deterministic strategy instead"
            )
        can_take = ctx.can_take
        takers = sorted(rep for rep in ctx.ids if can_take(rep))
        if chosen not in takers:
            # Not ours to fix: the router rejects a pick it did not offer, naming the strategy.
            return result
        k = len(takers)
        share = float(self.share)
        rng = _draws(ctx)
        explored = rng.random() < share
        if explored:
            chosen = takers[rng.randrange(k)]
        propensity = share / k + (1.0 - share if chosen == pick.rep_id else 0.0)
        propensity = min(propensity, 1.0)
        base_reason = pick.reason or _summary(self.base)
        if explored:
            reason = (
                f"explored: chosen at random among the {k} reps who could take it "
                f"(share {share:g}, propensity {propensity:.4g}); without exploring, "
                f"{self.base.name} would have picked {pick.rep_id} ({base_reason})"
            )
        else:
            reason = f"{base_reason}; not explored (share {share:g}, propensity {propensity:.4g})"
        return Pick(chosen, scores=pick.scores, reason=reason, propensity=propensity)

    def claim(self, ctx: Context, rep_id: str) -> str | None:
        return self.base.claim(ctx, rep_id)

    def tick(self, ctx: TickContext) -> Sequence[Release]:
        return self.base.tick(ctx)

    def next_due(self, ctx: TickContext) -> datetime | None:
        return self.base.next_due(ctx)

    def __repr__(self) -> str:
        return f"Explore({self.base!r}, share={self.share!r})"
