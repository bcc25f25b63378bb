"""Tiered delay (梯度分配): the premium tier gets the first shot; leads that stall fall through.

A lead starts with the top tier's reps. If its holder shows no progress (no reached touch) within
that tier's patience, or tags it "blocked", `tick()` releases it with reason "escalated" and it is
routed to the next tier; after the last tier it goes to the public pool for anyone to claim.

The lead's tier is never remembered by the strategy: it is the number of its releases with reason
"escalated" in the ledger. So a restart, a replay or a second router on the same ledger sees the
same tier, and the escalation path of every lead can be read back from its events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import attrs

from leadrouter._validators import is_iterable, lenient
from leadrouter.capabilities import TierView, tier_view
from leadrouter.context import Context, TickContext
from leadrouter.errors import ConfigError, StrategyError
from leadrouter.events import PUBLIC
from leadrouter.ledger import BLOCKED
from leadrouter.roster import Roster
from leadrouter.strategies.base import (
    Pick,
    Release,
    Strategy,
    StrategyTags,
    as_pick,
    strategy_field,
    to_strategy,
    with_views,
)

__all__ = ["BLOCKED", "ESCALATED", "Tier", "TieredDelay"]

ESCALATED = "escalated"
"""The release reason of one hop down the tiers; counting these gives a lead's tier."""

_BY_TIER = "leadrouter.tiered_delay.by_tier"


def _stage(view: TierView, lead_id: str) -> int:
    """How many times the lead was escalated: its index in the tier list."""
    releases = view.lead_releases(lead_id)
    return releases.count(ESCALATED) if releases else 0


def _by_tier(roster: Roster) -> dict[int, frozenset[str]]:
    """Rep ids by `Rep.tier`, cached on the (immutable) roster."""
    found: dict[int, frozenset[str]] | None = roster.cache.get(_BY_TIER)
    if found is None:
        groups: dict[int, set[str]] = {}
        for rep_id in roster:
            groups.setdefault(roster[rep_id].tier, set()).add(rep_id)
        found = {tier: frozenset(ids) for tier, ids in groups.items()}
        roster.cache[_BY_TIER] = found
    return found


def _v_tier(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(
            f"Tier.tier must be an int >= 0 (the Rep.tier of its reps, 0 = top), got {value!r}"
        )


def _v_patience(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ConfigError(
            f"Tier.patience must be a positive timedelta (e.g. timedelta(hours=4)), got {value!r}"
        )


@attrs.frozen
class Tier:
    """One rung of a `TieredDelay`: the reps with `Rep.tier == tier`, the `strategy` that
    chooses among them (any Strategy, or a callable `f(ctx) -> rep id | None`), and the
    `patience` a holder of this tier has to reach the lead before it falls through."""

    tier: int = attrs.field(validator=_v_tier)
    strategy: Strategy = attrs.field(converter=to_strategy, validator=strategy_field)
    patience: timedelta = attrs.field(validator=_v_patience)


_EXAMPLE = "tiers=[Tier(tier=0, strategy=EqualRotation(), patience=timedelta(hours=4))]"


def _tiers(value: Iterable[Tier] | Tier) -> tuple[Tier, ...] | Any:
    if isinstance(value, Tier):
        return (value,)
    return lenient(lambda tiers: tuple(is_iterable(tiers)), value)


def _v_tiers(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    """A non-empty tuple of Tier, top first with increasing tier numbers."""
    if not isinstance(value, tuple) or not all(isinstance(tier, Tier) for tier in value):
        raise ConfigError(
            f"TieredDelay.tiers takes a list of Tier(tier=, strategy=, patience=), got "
            f"{type(value).__name__} {value!r}: write e.g. {_EXAMPLE}"
        )
    if not value:
        raise ConfigError(f"TieredDelay.tiers needs at least one Tier, e.g. {_EXAMPLE}")
    numbers = [tier.tier for tier in value]
    if any(a >= b for a, b in pairwise(numbers)):
        raise ConfigError(
            f"TieredDelay.tiers must be listed top first with increasing tier numbers (0 = "
            f"premium, 1 = standard, ...), got tiers {numbers}: reorder them or drop the repeat"
        )


_TAGS = StrategyTags(needs_tier=True, needs_views=(TierView,))


@attrs.frozen(repr=False)
class TieredDelay(Strategy):
    """Premium first, then standard: each lead goes down the `tiers` in order until a tier makes
    progress with it.

    When to use it: a premium team (senior reps, a partner agency) should get the first shot at
    every lead, but a lead they cannot work must not rot in their books — after the tier's
    patience without a reached touch, or as soon as the holder tags it "blocked" (whatever
    `valid` says), it falls through to the standard team (梯度分配); after the last tier it goes to
    the public pool (公海) for anyone to claim.

    Guarantee:

    - A lead's tier index is the number of its releases with reason "escalated" in the ledger,
      and the router only ever assigns it to reps of that tier (`Rep.tier == tiers[index].tier`),
      chosen by that tier's strategy. Claims are held to the same rule. So the tiers a lead visits
      never go back up, and no rep of an earlier tier gets it again by escalation.
    - `tick()` escalates a lead held at index `i` when its holder tagged it "blocked", or when
      `tiers[i].patience` has passed since the holder got it and nobody has reached it. A reached
      touch stops escalation for as long as that rep holds the lead. Every hop is a `Released`
      event with reason "escalated", followed by the `Assigned` (or the wait) that it led to.
    - Past the last tier the lead sits in the public pool, not waiting: any rep may claim it
      (rules and caps still apply), and it is never escalated again.
    - When no rep of the lead's tier is eligible and under its caps, the lead *waits* in the public
      pool and every `tick()` offers it again to that tier. It does not skip ahead: a busy
      premium team keeps its first shot. Patience runs only while someone holds the lead.

    With no history every lead goes to the top tier, routed by the top tier's strategy. Reps
    whose `Rep.tier` is in no Tier get leads only by claiming them from the public pool.
    """

    tiers: tuple[Tier, ...] = attrs.field(converter=_tiers, validator=_v_tiers)

    @property
    def tags(self) -> StrategyTags:  # type: ignore[override]  # per instance: the tiers' views
        """Needs tiers and the `TierView`, plus the views the tiers' strategies read (they see
        the same ledger view)."""
        return with_views(_TAGS, *(tier.strategy for tier in self.tiers))

    def route(self, ctx: Context) -> Pick | None:
        view = tier_view(ctx.view, "TieredDelay")
        stage = _stage(view, ctx.lead.id)
        if stage >= len(self.tiers):
            return Pick(
                None,
                pool=PUBLIC,
                reason=f"escalated {stage} times, past the last tier: in the public pool for any "
                "rep to claim",
            )
        tier = self.tiers[stage]
        ids = ctx.ids & _by_tier(ctx.roster).get(tier.tier, frozenset())
        if not ids:
            return None
        sub = Context(ctx.lead, ctx.roster, ctx.view, ctx.now, ctx.seed, ids, ctx.can_take)
        pick = as_pick(tier.strategy.route(sub))
        if pick.rep_id is None:
            return pick
        if pick.rep_id not in ids:
            raise StrategyError(
                f"{tier.strategy!r}, the strategy of tier {tier.tier}, chose rep "
                f"{pick.rep_id!r}, who is not an eligible rep of that tier: a strategy must pick "
                "from ctx.ids"
            )
        where = "first shot" if stage == 0 else f"after {stage} escalation{'s' * (stage > 1)}"
        note = f"tier {tier.tier} ({where}), by {tier.strategy.name}"
        return Pick(
            pick.rep_id,
            scores=pick.scores,
            reason=f"{note}: {pick.reason}" if pick.reason else note,
            propensity=pick.propensity,
        )

    def claim(self, ctx: Context, rep_id: str) -> str | None:
        """Only reps of the lead's current tier may claim it; past the last tier, anyone."""
        stage = _stage(tier_view(ctx.view, "TieredDelay"), ctx.lead.id)
        if stage >= len(self.tiers):
            return None
        tier = self.tiers[stage]
        rep_tier = ctx.rep(rep_id).tier
        if rep_tier != tier.tier:
            return (
                f"the lead is with tier {tier.tier} ({stage} escalations so far) and rep "
                f"{rep_id} is tier {rep_tier}: only tier {tier.tier} may claim it now, anyone "
                "once it is past the last tier"
            )
        members = _by_tier(ctx.roster).get(tier.tier, frozenset())
        sub = Context(ctx.lead, ctx.roster, ctx.view, ctx.now, ctx.seed, ctx.ids & members)
        return tier.strategy.claim(sub, rep_id)

    def tick(self, ctx: TickContext) -> Sequence[Release]:
        """Escalations (oldest holding first), then the tier strategies' own timer actions for
        leads at their tier."""
        view = tier_view(ctx.view, "TieredDelay")
        last = len(self.tiers)
        due: list[tuple[datetime, str]] = []
        for lead_id, _, since in view.held():
            stage = _stage(view, lead_id)
            if stage >= last:
                continue
            if view.tag_reason(lead_id) == BLOCKED or (
                not view.reached(lead_id) and ctx.now - since >= self.tiers[stage].patience
            ):
                due.append((since, lead_id))
        due.sort()
        actions = [Release(lead_id, ESCALATED, reroute=True) for _, lead_id in due]
        taken = {lead_id for _, lead_id in due}
        seen: set[int] = set()
        for tier in self.tiers:
            inner = tier.strategy
            if id(inner) in seen:
                continue
            seen.add(id(inner))
            for action in inner.tick(ctx):
                stage = _stage(view, action.lead_id)
                if (
                    action.lead_id not in taken
                    and stage < last
                    and self.tiers[stage].strategy is inner
                ):
                    taken.add(action.lead_id)
                    actions.append(action)
        return actions
