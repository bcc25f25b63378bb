"""Quota-proportional allocation (按目标分配): shares follow each rep's target for the period."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from leadrouter._validators import mapping_field, to_map
from leadrouter.context import Context
from leadrouter.errors import ConfigError
from leadrouter.strategies._deficits import FastWeighted
from leadrouter.strategies.base import StrategyTags

__all__ = ["QuotaProportional"]


def _v_quotas(inst: object, attr: attrs.Attribute[Any], value: Mapping[str, Any]) -> None:
    """Every team's quota a number >= 0 (not a bool, not NaN), naming the team."""
    for team, quota in value.items():
        if isinstance(quota, bool) or not isinstance(quota, int | float) or not quota >= 0:
            raise ConfigError(
                f"{type(inst).__name__}.{attr.name}[{team!r}] must be a number >= 0, got "
                f"{quota!r}: write e.g. {attr.name}={{{team!r}: 100}}"
            )


@attrs.frozen(repr=False)
class QuotaProportional(FastWeighted):
    """Each rep's share of leads is proportional to their quota (`Rep.quota`).

    When to use it: reps (or teams) have targets for the month and leads should follow them —
    a rep with twice the quota gets twice the leads. A rep with quota 0 gets none.

    `team_quotas` maps a team to its quota, split evenly across the team's reps that have no
    quota of their own. A rep with neither raises ConfigError naming the rep. Allocation is by
    deficit over `period` (see `Weighted`): quotas 1:2:3 over 600 leads give exactly
    100/200/300, within one lead at every point (two at most for quotas far apart). It needs no
    history.
    """

    team_quotas: Mapping[str, float] = attrs.field(
        factory=dict,
        converter=to_map,
        validator=[mapping_field("{'north': 100}"), _v_quotas],
        hash=False,
    )

    tags = StrategyTags(needs_quota=True, weighted=True)

    def weights(self, ctx: Context) -> Mapping[str, float]:
        table = self._weight_table(ctx)
        if not table.keys() >= ctx.ids:
            missing = [rep for rep in ctx.ids if rep not in table]
            rep = ctx.roster[sorted(missing)[0]]
            raise ConfigError(
                f"QuotaProportional: rep {rep.id!r} has no quota and team {rep.team!r} has "
                "none in team_quotas: set Rep(quota=...) or QuotaProportional(team_quotas="
                "{team: quota})"
            )
        return table

    def _table_key(self, ctx: Context) -> object:
        return ctx.roster

    def _weight_table(self, ctx: Context) -> dict[str, float]:
        """The weights of every active rep whose quota is known, one table per roster."""
        table: dict[str, float] | None = ctx.roster.cache.get(("quota weights", self))
        if table is None:
            table = ctx.roster.cache[("quota weights", self)] = self._table(ctx)
        return table

    def _table(self, ctx: Context) -> dict[str, float]:
        """Every active rep's weight that can be known (computed once per roster)."""
        team_size: dict[str, int] = {}
        for rep in ctx.roster.active:
            if rep.quota is None:
                team_size[rep.team] = team_size.get(rep.team, 0) + 1
        table: dict[str, float] = {}
        for rep in ctx.roster.active:
            if rep.quota is not None:
                table[rep.id] = rep.quota
            elif rep.team in self.team_quotas:
                table[rep.id] = self.team_quotas[rep.team] / team_size[rep.team]
        return table

    def __hash__(self) -> int:
        return hash(
            (
                type(self),
                self.period,
                self.tz,
                self.catch_up,
                tuple(sorted(self.team_quotas.items())),
            )
        )
