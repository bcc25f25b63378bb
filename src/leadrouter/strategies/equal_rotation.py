"""Equal rotation (轮流分配): the next lead goes to the eligible rep assigned least recently."""

from __future__ import annotations

import attrs

from leadrouter._util import stable_key
from leadrouter.context import Context
from leadrouter.strategies.base import Strategy, StrategyTags

__all__ = ["EqualRotation"]


@attrs.frozen(repr=False)
class EqualRotation(Strategy):
    """The next lead goes to the eligible rep whose last assignment is the oldest.

    When to use it: a small team, no data yet, or any team that wants leads shared evenly.

    Guarantee: over any stretch of leads, reps that were eligible and under their caps the whole
    time receive counts that differ by at most one. Because the order comes from each rep's last
    assignment in the ledger (not a pointer into a list), reps who join, leave, go inactive, or
    are skipped by a rule or cap do not break the rotation for the others: a newcomer starts at
    the front, a skipped rep keeps their place. Reps never assigned are ordered by a seeded hash
    of their id, so ties break the same way for the same seed on every machine.
    With no history it is simply a rotation in that seeded order.
    """

    tags = StrategyTags()

    def route(self, ctx: Context) -> str | None:
        ids, can_take, view = ctx.ids, ctx.can_take, ctx.view
        fresh = view.never_assigned(ids)
        if fresh:
            seed = ctx.seed

            def order(rep_id: str) -> int:
                return stable_key(seed, rep_id)

            first = min(fresh, key=order)
            if can_take(first):
                return first
            for rep_id in sorted(fresh, key=order):
                if can_take(rep_id):
                    return rep_id
        # the rotation, least recently assigned first, walked in C up to each eligible rep:
        # most of it is reps the lead's rules leave out, or full for the day
        for rep_id in filter(ids.__contains__, view.lru()):
            if can_take(rep_id):
                return rep_id
        return None
