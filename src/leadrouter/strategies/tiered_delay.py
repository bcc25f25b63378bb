"""Tiered delay (梯度分配): the premium tier gets the first shot; leads that stall fall through.

A lead starts with the top tier's reps. If its holder shows no progress (no reached touch) within
that tier's patience, or tags it "blocked", `tick()` releases it with reason "escalated" and it is
routed to the next tier; after the last tier it goes to the public pool for anyone to claim.

The lead's tier is never remembered by the strategy: it is the number of its releases with reason
"escalated" in the ledger. So a restart, a replay or a second router on the same ledger sees the
same tier, and the escalation path of every lead can be read back from its events.

`tick()` finds the leads to escalate, and `next_due()` the next end of patience, through an
index kept per ledger (`_Due`, in a `LedgerMemo`): the unreached held leads in a heap by the end
of their tier's patience, and the leads tagged "blocked". It is fed from the events appended
since it was last read, so a tick looks only at leads that may be due, not at every held lead,
and both answer exactly as a scan of every held lead does (`_scan` and `_scan_next_end`, which
serve any view that is not a `Ledger`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any, TypeGuard

import attrs

from leadrouter._memo import LedgerMemo
from leadrouter._util import instant, show, trusted_constructor
from leadrouter._validators import is_iterable, lenient
from leadrouter.capabilities import TierView, tier_view
from leadrouter.context import Context, TickContext
from leadrouter.errors import ConfigError, StrategyError
from leadrouter.events import PUBLIC, Assigned, Claimed, Tagged
from leadrouter.ledger import BLOCKED, Ledger
from leadrouter.roster import Roster
from leadrouter.strategies.base import (
    Pick,
    Release,
    Strategy,
    StrategyTags,
    as_pick,
    has_timers,
    strategy_field,
    timers_announced,
    to_strategy,
    with_views,
)
from leadrouter.strategies.base import new_pick as _new_pick

__all__ = ["BLOCKED", "ESCALATED", "Tier", "TieredDelay"]

ESCALATED = "escalated"
"""The release reason of one hop down the tiers; counting these gives a lead's tier."""

_BY_TIER = "leadrouter.tiered_delay.by_tier"
_OFFERED = "leadrouter.tiered_delay.offered"
_new_release = trusted_constructor(Release)
_NOBODY: frozenset[str] = frozenset()


def _stage(view: TierView, lead_id: str) -> int:
    """How many times the lead was escalated: its index in the tier list."""
    releases = view.lead_releases(lead_id)
    return releases.count(ESCALATED) if releases else 0


@lru_cache(maxsize=64)
def _past_last(stage: int) -> Pick:
    """The Pick of a lead escalated `stage` times, past the last tier (one per stage)."""
    return Pick(
        None,
        pool=PUBLIC,
        reason=f"escalated {stage} times, past the last tier: in the public pool for any rep to "
        "claim",
    )


def _note(stage: int, tier: int, name: str) -> str:
    """How a pick of the tier at index `stage` (numbered `tier`, chosen by `name`) is worded."""
    where = "first shot" if stage == 0 else f"after {stage} escalation{'s' * (stage > 1)}"
    return f"tier {tier} ({where}), by {name}"


@lru_cache(maxsize=4096)
def _chosen(rep_id: str, stage: int, tier: int, name: str) -> Pick:
    """The Pick of `rep_id` named by a tier's strategy as a bare id: one per rep and tier (a
    Pick is immutable), not one per lead."""
    return Pick(rep_id, reason=_note(stage, tier, name))


def _offered(roster: Roster, ids: frozenset[str], tier: int) -> frozenset[str]:
    """`ids & (the reps of tier)`. The last answer per tier is kept on the roster beside the
    very `ids` object it was computed from when that is a frozenset (the router offers one
    eligible set, unchanged, to lead after lead), so asking again with that object reuses it,
    every element in the same place."""
    kept: dict[int, tuple[frozenset[str], frozenset[str]]] | None = roster.cache.get(_OFFERED)
    if kept is None:
        kept = roster.cache[_OFFERED] = {}
    last = kept.get(tier)
    if last is not None and last[0] is ids:
        return last[1]
    found = ids & _by_tier(roster).get(tier, _NOBODY)
    if type(ids) is frozenset:
        kept[tier] = (ids, found)
    return found


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


def _waiting(roster: Roster, tier: int) -> str:
    """Why a lead waits for its tier: a tier with no active rep at all keeps its leads in the
    pool until one joins (the first shot is the tier's, however long), which a team that
    removed its premium reps must hear, not find out from an empty book."""
    members = _by_tier(roster).get(tier, _NOBODY)
    if not members:
        return (
            f"waits for tier {tier}, which has no rep on the roster (until a rep with "
            f"tier={tier} joins; drop the tier from TieredDelay.tiers if it is gone)"
        )
    if not members & roster.active_ids:
        return f"waits for tier {tier}, whose reps ({', '.join(sorted(members))}) are all inactive"
    return f"waits for tier {tier}: none of its reps is eligible and under its caps now"


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
    patience: timedelta = attrs.field(validator=_v_patience, repr=show)


_EXAMPLE = "tiers=[Tier(tier=0, strategy=EqualRotation(), patience=timedelta(hours=4))]"


def _tiers(value: Iterable[Tier] | Tier) -> tuple[Tier, ...]:
    if isinstance(value, Tier):
        return (value,)
    found: tuple[Tier, ...] = lenient(lambda tiers: tuple(is_iterable(tiers)), value)
    return found


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
    _index: LedgerMemo[_Due] = attrs.field(
        factory=LedgerMemo, init=False, eq=False, repr=False, hash=False
    )
    _timed: tuple[Strategy, ...] = attrs.field(init=False, eq=False, repr=False, hash=False)
    """The tiers' strategies that may name a deadline (`next_due` overridden), each once."""

    @_timed.default
    def _timed_default(self) -> tuple[Strategy, ...]:
        # worked out before the validators run: items that are no Tier are theirs to name
        tiers = self.tiers if isinstance(self.tiers, tuple) else ()
        inner = {id(t.strategy): t.strategy for t in tiers if isinstance(t, Tier)}
        return tuple(s for s in inner.values() if type(s).next_due is not Strategy.next_due)

    @property
    def tags(self) -> StrategyTags:  # type: ignore[override]  # per instance: the tiers' views
        """Needs tiers and the `TierView`, plus the views the tiers' strategies read (they see
        the same ledger view)."""
        return with_views(_TAGS, *(tier.strategy for tier in self.tiers))

    @property
    def announces_timers(self) -> bool:
        """`next_due` names every end of patience `tick` escalates at (both read the `_Due`
        index, or scan alike); the tiers' own timers are announced when every tier's strategy
        announces its own (`timers_announced`). A "blocked" tag is due at once: tick after
        recording it."""
        return all(timers_announced(tier.strategy) for tier in self.tiers)

    def route(self, ctx: Context) -> Pick | None:
        view = ctx.view if type(ctx.view) is Ledger else tier_view(ctx.view, "TieredDelay")
        stage = _stage(view, ctx.lead.id)
        if stage >= len(self.tiers):
            return _past_last(stage)
        tier = self.tiers[stage]
        ids = _offered(ctx.roster, ctx.ids, tier.tier)
        if not ids:
            return Pick(None, reason=_waiting(ctx.roster, tier.tier))
        sub = Context(ctx.lead, ctx.roster, ctx.view, ctx.now, ctx.seed, ids, ctx.can_take)
        result = tier.strategy.route(sub)
        if type(result) is str and result in ids:  # a rep id, the answer of most strategies
            return _chosen(result, stage, tier.tier, tier.strategy.name)
        pick = as_pick(result)
        if pick.rep_id is None:
            return pick
        if pick.rep_id not in ids:
            raise StrategyError(
                f"{tier.strategy!r}, the strategy of tier {tier.tier}, chose rep "
                f"{pick.rep_id!r}, who is not an eligible rep of that tier: a strategy must pick "
                "from ctx.ids"
            )
        note = _note(stage, tier.tier, tier.strategy.name)
        # every part was checked where the tier's answer was made, and the note is text
        reason = f"{note}: {pick.reason}" if pick.reason else note
        return _new_pick(pick.rep_id, pick.scores, reason, pick.propensity, None)

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
        due = self._escalations(view, ctx.now)
        actions = [_new_release(lead_id, ESCALATED, True, None) for _, lead_id in due]
        taken = {lead_id for _, lead_id in due}
        seen: set[int] = set()
        for tier in self.tiers:
            inner = tier.strategy
            if id(inner) in seen or not has_timers(inner):
                continue  # asked already, or a strategy without timers (it takes none back)
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

    def next_due(self, ctx: TickContext) -> datetime | None:
        """The earliest end of patience after `ctx.now` of a lead held unreached before its
        last tier, or an earlier deadline of a tier strategy's own timers. A lead tagged
        "blocked" is due at once, at the tick its caller makes when recording the tag.

        Read from the index `tick` uses (the top of its heap, on a `Ledger`), so a caller that
        asks after every tick does not pay for a look at every held lead each time."""
        view = ctx.view
        if _indexed(view):
            end = self._fed_index(view).next_end(self, view, ctx.now)
        else:
            end = _scan_next_end(self, tier_view(view, "TieredDelay"), ctx.now)
        if not self._timed:
            return end
        due = [end] if end is not None else []
        due += [d for s in self._timed if (d := s.next_due(ctx)) is not None]
        return min(due, default=None)

    def _escalations(self, view: TierView, now: datetime) -> list[tuple[datetime, str]]:
        """(held since, lead id) of each lead to escalate at `now`, in that order: from the
        ledger's `_Due` index when it can answer exactly, else from `_scan`."""
        found = self._fed_index(view).due(self, view, now) if _indexed(view) else None
        return _scan(self, view, now) if found is None else found

    def _fed_index(self, view: Ledger) -> _Due:
        """The `_Due` index of `view`, fed with every event the ledger holds: built on first
        use, and again when the ledger's views were started over."""
        index = self._index.get(view)
        if index is None or index.read > len(view):
            return self._index.put(view, _Due(self, view))
        index.feed(self, view)
        return index


INDEXED = True
"""Whether `TieredDelay.tick` and `next_due` use the `_Due` index on a `Ledger` (False: always
`_scan` and `_scan_next_end`; the two give the same answers, which the tests check by comparing
them)."""


def _indexed(view: object) -> TypeGuard[Ledger]:
    """Whether `view` is answered from the `_Due` index: a `Ledger`, with `INDEXED` on."""
    return INDEXED and isinstance(view, Ledger)


def _scan(strategy: TieredDelay, view: TierView, now: datetime) -> list[tuple[datetime, str]]:
    """The escalations at `now` by looking at every held lead: blocked, or unreached past its
    tier's patience; oldest holding first (ties by lead id)."""
    tiers, last = strategy.tiers, len(strategy.tiers)
    moment = instant(now)
    due: list[tuple[datetime, str]] = []
    for lead_id, _, since in view.held():
        stage = _stage(view, lead_id)
        if stage >= last:
            continue
        if view.tag_reason(lead_id) == BLOCKED or (
            not view.reached(lead_id) and _past(tiers[stage].patience, since, moment)
        ):
            due.append((since, lead_id))
    due.sort(key=_oldest_first)
    return due


def _scan_next_end(strategy: TieredDelay, view: TierView, now: datetime) -> datetime | None:
    """The earliest end of patience after `now` of a lead held unreached before its last tier,
    by looking at every held lead."""
    tiers, last = strategy.tiers, len(strategy.tiers)
    moment = instant(now)
    ends: list[datetime] = []
    for lead_id, _, since in view.held():
        stage = _stage(view, lead_id)
        if stage >= last or view.reached(lead_id):
            continue
        end = _utc_after(since, tiers[stage].patience)
        if end is not None and end > moment:  # None: past the last time there is, never due
            ends.append(end)
    return min(ends, default=None)


def _past(patience: timedelta, since: datetime, moment: datetime) -> bool:
    """Whether `patience` has run out at `moment` (an `instant`) for a holding since `since`:
    elapsed time, also across a daylight-saving change."""
    return moment - instant(since) >= patience


def _utc_after(at: datetime, delay: timedelta = timedelta(0)) -> datetime | None:
    """`at + delay` as an instant in UTC, as deadlines are compared (None when out of range)."""
    try:
        return instant(at) + delay
    except OverflowError:
        return None


def _oldest_first(item: tuple[datetime, str]) -> tuple[datetime, str]:
    """The order escalations are made in: the holding's instant, then the lead id."""
    return instant(item[0]), item[1]


class _Due:
    """The leads of one ledger that a tick may escalate: a heap of (end of patience, lead id)
    for leads held unreached, and the set of leads tagged "blocked".

    An entry is a promise to look, not a verdict: when it comes up, the lead's state now
    decides, with the very test `_scan` makes (an entry of a lead reached, released, closed or
    held again since is dropped). Fed from the events appended since the last read (`read`): an
    `Assigned` or `Claimed` adds the lead's current holding, a `Tagged` the lead if it is
    blocked now. The log only grows; a ledger that rebuilt its views gets a new index
    (`LedgerMemo` checks the generation).

    Patience is elapsed time (`leadrouter._util.instant`): the end of patience is kept in UTC, so
    holdings in any zones, and ticks in any zone, compare exactly, also across a daylight-saving
    change.
    """

    __slots__ = ("blocked", "heap", "read")

    def __init__(self, strategy: TieredDelay, view: Ledger) -> None:
        self.heap: list[tuple[datetime, str]] = []
        self.blocked: set[str] = set()
        self.read = len(view)
        for lead_id, _, _ in view.held():
            self._add(strategy, view, lead_id, taken=True, tagged=True)

    def _add(
        self, strategy: TieredDelay, view: Ledger, lead_id: str, taken: bool, tagged: bool
    ) -> None:
        """Index the lead's current holding (`taken`) and its "blocked" tag (`tagged`)."""
        since = view.held_since(lead_id)
        if since is None:
            return
        stage = _stage(view, lead_id)
        if stage >= len(strategy.tiers):
            return
        if tagged and view.tag_reason(lead_id) == BLOCKED:
            self.blocked.add(lead_id)
        if taken and not view.reached(lead_id):
            deadline = _utc_after(since, strategy.tiers[stage].patience)
            if deadline is not None:  # else past the last representable time: never due
                heapq.heappush(self.heap, (deadline, lead_id))

    def feed(self, strategy: TieredDelay, view: Ledger) -> None:
        """Take in the events appended since the last read."""
        end = len(view)
        if end == self.read:
            return
        taken: dict[str, None] = {}
        tagged: dict[str, None] = {}
        for event in view.events()[self.read : end]:
            kind = type(event)
            if kind is Assigned or kind is Claimed:
                taken[event.lead_id] = None
            elif isinstance(event, Tagged) and event.reason == BLOCKED:
                tagged[event.lead_id] = None
        self.read = end
        for lead_id in taken:
            self._add(strategy, view, lead_id, taken=True, tagged=lead_id in tagged)
        for lead_id in tagged:
            if lead_id not in taken:
                self._add(strategy, view, lead_id, taken=False, tagged=True)

    def _stands(self, strategy: TieredDelay, view: Ledger, entry: tuple[datetime, str]) -> bool:
        """Whether a heap entry is the end of patience of the lead's holding now (held
        unreached before its last tier, since the time the entry was made from). An entry
        that is not can go: `due` would drop it, or find its lead through the entry of the
        lead's current holding, which stands."""
        deadline, lead_id = entry
        since = view.held_since(lead_id)
        if since is None or view.reached(lead_id):
            return False
        stage = _stage(view, lead_id)
        tiers = strategy.tiers
        return stage < len(tiers) and _utc_after(since, tiers[stage].patience) == deadline

    def next_end(self, strategy: TieredDelay, view: Ledger, now: datetime) -> datetime | None:
        """What `_scan_next_end` answers at `now`, from the heap: entries that no longer stand
        are dropped from its top until one stands, which is the answer when it is later than
        `now`. An entry due by `now` that stands waits for a tick's pass (`due`); while one is
        on top, the answer is looked for among the others."""
        heap, moment = self.heap, instant(now)
        while heap and not self._stands(strategy, view, heap[0]):
            heapq.heappop(heap)
        if not heap or heap[0][0] > moment:
            return heap[0][0] if heap else None
        return min(
            (
                entry[0]
                for entry in heap
                if entry[0] > moment and self._stands(strategy, view, entry)
            ),
            default=None,
        )

    def due(
        self, strategy: TieredDelay, view: Ledger, now: datetime
    ) -> list[tuple[datetime, str]] | None:
        """What `_scan` returns at `now`, or None when `now` is past the last representable time
        (the scan then answers). Entries of leads escalated now go back on the heap: if the lead
        is still held at the next tick (nobody applied the release), it is due again, as the
        scan would find it."""
        tiers, heap = strategy.tiers, self.heap
        found: dict[str, datetime] = {}
        if heap:
            limit = _utc_after(now)
            if limit is None:
                return None
            kept: list[tuple[datetime, str]] = []
            while heap and heap[0][0] <= limit:
                entry = heapq.heappop(heap)
                lead_id = entry[1]
                since = view.held_since(lead_id)
                if since is None or view.reached(lead_id):
                    continue
                stage = _stage(view, lead_id)
                if stage < len(tiers) and _past(tiers[stage].patience, since, limit):
                    found[lead_id] = since
                    kept.append(entry)
            for entry in kept:
                heapq.heappush(heap, entry)
        for lead_id in list(self.blocked):
            start = view.held_since(lead_id)
            if (
                start is None
                or view.tag_reason(lead_id) != BLOCKED
                or _stage(view, lead_id) >= len(tiers)
            ):
                self.blocked.discard(lead_id)
            else:
                found[lead_id] = start
        return sorted(((since, lead_id) for lead_id, since in found.items()), key=_oldest_first)
