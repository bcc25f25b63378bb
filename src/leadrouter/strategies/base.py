"""The Strategy protocol: how a routing policy plugs into the Router.

A strategy decides at up to three moments and implements only the ones it needs:

- `route(ctx)` (push): pick one of `ctx.ids` that `ctx.can_take`, or None to leave the lead in
  the pool. Return a rep id, or a `Pick` to add scores, a reason or a propensity.
- `claim(ctx, rep_id)` (pull): return None to allow a rep's claim, or a refusal reason.
- `tick(ctx)` (timers): return `Release` actions for leads to take back (and re-route).

A strategy holds configuration only. Everything it remembers is in the ledger (`ctx.view`), so
the same inputs give the same decision, one instance can serve many routers, and a restart loses
nothing. What it needs from the roster is declared in `tags` (e.g. quotas, tiers), so checks and
generated test rosters can supply it without looking at class names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

import attrs

from leadrouter._util import EMPTY, FrozenMap, freeze, show
from leadrouter.context import Context, TickContext

__all__ = ["Pick", "Release", "Strategy", "StrategyTags", "as_pick", "as_strategy"]


@attrs.frozen
class StrategyTags:
    """What a strategy needs and does, as data (never inferred from its class name).

    `needs_*`: the roster fields or history it reads. `pull`: route() leaves leads in a pool and
    reps claim them. `randomized`: it draws from `ctx.rng` (and records propensities).
    `batching`: it solves a batch of leads together in `route_batch` (`Router.route_many`).
    """

    needs_quota: bool = False
    needs_tier: bool = False
    needs_profile: bool = False
    needs_history: bool = False
    pull: bool = False
    randomized: bool = False
    batching: bool = False


@attrs.frozen
class Pick:
    """A strategy's choice with its evidence: `rep_id` (None = no rep now), per-rep `scores`,
    a `reason` in words, and the `propensity` of this choice when the strategy randomises.

    With `rep_id=None`, `pool` names the pool the lead is left in for reps to claim (a pull
    strategy); without it the lead waits in the public pool and is offered again at tick.
    """

    rep_id: str | None
    scores: FrozenMap[float] = attrs.field(default=EMPTY, converter=freeze)
    reason: str = ""
    propensity: float | None = None
    pool: str | None = None


@attrs.frozen
class Release:
    """A tick action: take `lead_id` back from its holder with `reason`; `reroute` sends it on
    to another rep at once (never back to the one who lost it). `pool` names the pool it goes
    back to (None: the public pool), e.g. the pool a rep claimed it from."""

    lead_id: str
    reason: str
    reroute: bool = True
    pool: str | None = None


class Strategy:
    """Base class: every moment defaults to doing nothing special."""

    tags: ClassVar[StrategyTags] = StrategyTags()

    @property
    def name(self) -> str:
        """The name written into `Assigned.by` and decisions."""
        return type(self).__name__

    def route(self, ctx: Context) -> Pick | str | None:
        """Choose a rep for `ctx.lead` among `ctx.ids`; the default leaves it in the pool."""
        return None

    def claim(self, ctx: Context, rep_id: str) -> str | None:
        """Allow (None) or refuse (a reason) `rep_id` claiming `ctx.lead`; default allows."""
        return None

    def route_batch(
        self, ctxs: Sequence[Context], capacity: Mapping[str, int | None]
    ) -> Sequence[Pick | str | None]:
        """Choose for many leads at once (`Router.route_many`); one answer per context.

        `capacity` is how many more leads each rep may take now (None: no limit); the answers
        must respect it. A strategy that does not override this is called lead by lead, each
        seeing the assignments before it.
        """
        raise NotImplementedError

    @property
    def batches(self) -> bool:
        """True when the strategy declares `batching` in its tags (and so overrides
        `route_batch`)."""
        return self.tags.batching

    def tick(self, ctx: TickContext) -> Sequence[Release]:
        """Leads to take back at `ctx.now`; the default takes none."""
        return ()

    def __repr__(self) -> str:
        fields = getattr(type(self), "__attrs_attrs__", ())
        args = ", ".join(f"{f.name}={show(getattr(self, f.name))}" for f in fields if f.repr)
        return f"{self.name}({args})"


@attrs.frozen(repr=False)
class _FunctionStrategy(Strategy):
    """A plain callable `f(ctx) -> rep id | Pick | None` used as a push strategy."""

    func: Callable[[Context], Pick | str | None]

    @property
    def name(self) -> str:
        return str(getattr(self.func, "__name__", "function"))

    def route(self, ctx: Context) -> Pick | str | None:
        return self.func(ctx)

    def __repr__(self) -> str:
        return self.name


def as_strategy(strategy: Strategy | Callable[[Context], Pick | str | None]) -> Strategy:
    """A Strategy as is; a plain callable wrapped as a push strategy."""
    if isinstance(strategy, Strategy):
        return strategy
    if callable(strategy):
        return _FunctionStrategy(strategy)
    from leadrouter.errors import ConfigError

    raise ConfigError(f"a strategy must be a Strategy or a callable, got {strategy!r}")


def as_pick(result: Pick | str | None) -> Pick:
    """A strategy's answer (rep id, Pick or None) as a Pick."""
    return result if isinstance(result, Pick) else Pick(result)
