"""Hierarchical routing: choose a team first, then a rep within it (先分小组，再分销售)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import cast

import attrs

from leadrouter.capabilities import check_views
from leadrouter.context import Context
from leadrouter.errors import CapabilityError
from leadrouter.ledger import LedgerView, RepStats
from leadrouter.model import Rep
from leadrouter.roster import Roster
from leadrouter.strategies.base import (
    Pick,
    Strategy,
    StrategyTags,
    as_pick,
    strategy_field,
    to_strategy,
    with_views,
)
from leadrouter.strategies.equal_rotation import EqualRotation

__all__ = ["NO_TEAM", "Hierarchical"]

NO_TEAM = "(no team)"
"""The team name used for reps whose `team` is empty."""


def _team_of(rep: Rep) -> str:
    return rep.team or NO_TEAM


class _TeamView:
    """The ledger seen at team level: each team is one "rep" whose history is its members'."""

    def __init__(self, view: LedgerView, teams: _Teams) -> None:
        self._view = view
        self._members = teams.members
        self._team = teams.team_of
        self._last: tuple[int, dict[str, int]] | None = None
        """(the view's event count, each assigned team's last position) when last worked out."""

    def _positions(self) -> dict[str, int]:
        """Each team with an assigned member, keyed to its most recently assigned member's
        place in the reps' order: one pass at C speed (map, zip, dict; a later rep's position
        overwrites an earlier one's), shared by `lru` and `never_assigned` until an event."""
        events = len(self._view)
        if self._last is None or self._last[0] != events:
            last: dict[str | None, int] = dict(
                zip(map(self._team.get, self._view.lru()), itertools.count())
            )
            last.pop(None, None)  # reps of no team on this roster
            self._last = (events, cast("dict[str, int]", last))
        return self._last[1]

    def __len__(self) -> int:
        return len(self._view)

    def holder(self, lead_id: str) -> str | None:
        rep = self._view.holder(lead_id)
        return None if rep is None else self._team.get(rep)

    def book_size(self, rep_id: str) -> int:
        return sum(self._view.book_size(rep) for rep in self._members.get(rep_id, ()))

    def contact_holder(self, contact: str) -> tuple[str, str] | None:
        found = self._view.contact_holder(contact)
        if found is None or found[1] not in self._team:
            return None
        return found[0], self._team[found[1]]

    def last_assigned(self, rep_id: str) -> datetime | None:
        times = [
            t
            for rep in self._members.get(rep_id, ())
            if (t := self._view.last_assigned(rep)) is not None
        ]
        return max(times) if times else None

    def lru(self) -> Iterator[str]:
        last = self._positions()
        return iter(sorted(last, key=last.__getitem__))

    def never_assigned(self, rep_ids: frozenset[str]) -> frozenset[str]:
        return rep_ids.difference(self._positions())

    def count(
        self, rep_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> int:
        return sum(self._view.count(rep, since, until) for rep in self._members.get(rep_id, ()))

    def received_total(self, since: datetime | None = None) -> int:
        return self._view.received_total(since)

    def last_position(self, rep_id: str) -> int | None:
        found = [
            p
            for rep in self._members.get(rep_id, ())
            if (p := self._view.last_position(rep)) is not None
        ]
        return max(found) if found else None

    def releases(
        self,
        rep_id: str,
        reason: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        return sum(
            self._view.releases(rep, reason, since, until) for rep in self._members.get(rep_id, ())
        )

    def stats(
        self,
        rep_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
        sla: timedelta | None = None,
    ) -> RepStats:
        parts = [self._view.stats(rep, since, until, sla) for rep in self._members.get(rep_id, ())]
        sla_total = None if sla is None else sum(p.touched_within_sla or 0 for p in parts)
        return RepStats(
            rep_id=rep_id,
            received=sum(p.received for p in parts),
            touched=sum(p.touched for p in parts),
            touched_within_sla=sla_total,
            reached=sum(p.reached for p in parts),
            valid=sum(p.valid for p in parts),
            invalid=sum(p.invalid for p in parts),
            converted=sum(p.converted for p in parts),
            revenue=sum(p.revenue for p in parts),
            released=sum(p.released for p in parts),
        )


_MAX_GROUPS = 256
"""Eligible sets whose team groups `_Teams` keeps before it starts afresh."""


@attrs.frozen
class _Teams:
    """A roster seen at team level: the team pseudo-reps, each team's members, each rep's team."""

    roster: Roster
    members: dict[str, frozenset[str]]
    team_of: dict[str, str]
    _groups: dict[frozenset[str], dict[str, frozenset[str]]] = attrs.field(
        factory=dict, init=False, eq=False, repr=False
    )

    def groups(self, ids: frozenset[str]) -> dict[str, frozenset[str]]:
        """Each team's members among `ids`, worked out once per eligible set (the router
        offers the same few sets, one per region and cap state, lead after lead)."""
        found = self._groups.get(ids)
        if found is None:
            if len(self._groups) >= _MAX_GROUPS:
                self._groups.clear()
            found = self._groups[ids] = {team: reps & ids for team, reps in self.members.items()}
        return found


def _teams(roster: Roster) -> _Teams:
    """Team pseudo-reps (quota = members' quotas summed, tier = best member tier), members and
    each rep's team, worked out once per roster."""
    cached: _Teams | None = roster.cache.get("teams")
    if cached is not None:
        return cached
    members: dict[str, set[str]] = {}
    for rep_id in roster:
        members.setdefault(_team_of(roster[rep_id]), set()).add(rep_id)
    pseudo = []
    for team, reps in members.items():
        quotas = [q for r in reps if (q := roster[r].quota) is not None]
        pseudo.append(
            Rep(
                team,
                team=team,
                tier=min(roster[r].tier for r in reps),
                quota=sum(quotas) if quotas else None,
            )
        )
    result = _Teams(
        Roster(pseudo),
        {team: frozenset(reps) for team, reps in members.items()},
        {rep: team for team, reps in members.items() for rep in reps},
    )
    roster.cache["teams"] = result
    return result


@attrs.frozen(repr=False)
class Hierarchical(Strategy):
    """Choose a team with `team` (any strategy, seeing teams as reps), then a rep of that team
    with `rep`.

    When to use it: several teams each with a manager, where leads are shared between teams
    first (e.g. evenly, or by team quota) and each team's leads among its reps. A team is offered
    only if at least one of its reps is eligible and under caps, so a lead never goes to a team
    that cannot take it. Reps with no team form the team "(no team)".

    The team strategy sees a team-level ledger view that answers `LedgerView` only (each team
    one "rep" whose history is its members'); a team strategy that needs more (`needs_views`,
    e.g. TieredDelay or GrabWithCaps) is a CapabilityError here, when Hierarchical is built. The
    rep strategy sees the router's ledger, so its views are Hierarchical's own needs.
    """

    team: Strategy = attrs.field(
        factory=EqualRotation, converter=to_strategy, validator=strategy_field
    )
    rep: Strategy = attrs.field(
        factory=EqualRotation, converter=to_strategy, validator=strategy_field
    )

    def __attrs_post_init__(self) -> None:
        check_views(
            f"{self.team.name}, Hierarchical's team strategy,",
            self.team.tags.needs_views,
            _TeamView,
            "the team level's view (each team one rep, answering LedgerView only)",
            f"use {self.team.name} as Hierarchical's rep strategy (rep=...) or as a Router's own "
            "strategy, where it sees the router's ledger",
        )
        if self.team.tags.needs_profile:
            raise CapabilityError(
                f"{self.team.name}, Hierarchical's team strategy, reads rep profiles, but a team "
                "is seen as one rep with no profile (only its members' quotas summed and their "
                f"best tier): use {self.team.name} as the rep strategy (rep=...)"
            )

    @property
    def tags(self) -> StrategyTags:  # type: ignore[override]  # per instance: the rep's views
        """The rep strategy's needs and views (it reads the router's roster and ledger view),
        and the quota or tier the team strategy needs (a team's are its members')."""
        team = self.team.tags
        own = StrategyTags(needs_quota=team.needs_quota, needs_tier=team.needs_tier)
        return with_views(own, self.rep)

    def route(self, ctx: Context) -> Pick | None:
        teams = _teams(ctx.roster)
        groups = teams.groups(ctx.ids)
        can_take = ctx.can_take
        open_teams = frozenset(team for team, reps in groups.items() if any(map(can_take, reps)))
        team_ctx = Context(
            ctx.lead,
            teams.roster,
            _TeamView(ctx.view, teams),
            ctx.now,
            ctx.seed,
            ids=open_teams,
            can_take=open_teams.__contains__,
        )
        team_pick = as_pick(self.team.route(team_ctx))
        if team_pick.rep_id is None or team_pick.rep_id not in open_teams:
            return None
        team = team_pick.rep_id
        rep_ctx = Context(
            ctx.lead,
            ctx.roster,
            ctx.view,
            ctx.now,
            ctx.seed,
            ids=groups[team],
            can_take=ctx.can_take,
        )
        rep_pick = as_pick(self.rep.route(rep_ctx))
        if rep_pick.rep_id is None:
            return None
        return Pick(
            rep_pick.rep_id,
            scores=rep_pick.scores,
            reason=f"team {team} by {self.team.name}, then rep by {self.rep.name}",
            propensity=_joint(team_pick.propensity, rep_pick.propensity),
        )


def _joint(team: float | None, rep: float | None) -> float | None:
    """The chance of the final pick: P(team) x P(rep | team), a deterministic step counting 1;
    None when neither step randomised."""
    if team is None and rep is None:
        return None
    return (1.0 if team is None else team) * (1.0 if rep is None else rep)
