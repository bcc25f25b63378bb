"""The Strategy protocol: how a routing policy plugs into the Router.

A strategy decides at up to three moments and implements only the ones it needs:

- `route(ctx)` (push): pick one of `ctx.ids` that `ctx.can_take`, or None to leave the lead in
  the pool. Return a rep id, or a `Pick` to add scores, a reason or a propensity.
- `claim(ctx, rep_id)` (pull): return None to allow a rep's claim, or a refusal reason.
- `tick(ctx)` (timers): return `Release` actions for leads to take back (and re-route).

A strategy holds configuration only. Everything it remembers is in the ledger (`ctx.view`), so
the same inputs give the same decision, one instance can serve many routers, and a restart loses
nothing. What it needs and does is declared in `tags` (quotas, tiers, ledger views, batching,
pull), so the router, checks and generated test rosters can rely on it without looking at class
names or at which methods a class overrides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

import attrs

from leadrouter._util import EMPTY, FrozenMap, freeze, show
from leadrouter.context import Context, TickContext
from leadrouter.errors import CapabilityError, ConfigError

__all__ = [
    "Pick",
    "Release",
    "Strategy",
    "StrategyTags",
    "as_pick",
    "as_strategy",
    "check_batching",
    "with_views",
]


def _views(value: Iterable[type]) -> tuple[type, ...]:
    found = (value,) if isinstance(value, type) else tuple(value)
    for need in found:
        if not isinstance(need, type):
            raise ConfigError(
                f"StrategyTags.needs_views takes view protocols such as "
                f"leadrouter.capabilities.ClaimsView, got {need!r}"
            )
    return tuple(dict.fromkeys(found))


@attrs.frozen
class StrategyTags:
    """What a strategy needs and does, as data (never inferred from its class name).

    `needs_*`: the roster fields or history it reads. `needs_views`: the ledger views beyond
    `LedgerView` it reads (protocols from `leadrouter.capabilities`, e.g. `ClaimsView`); the
    Router, and a composed strategy for its inner ones, checks them when it is built. `pull`:
    route() leaves leads in a pool and reps claim them. `randomized`: it draws from `ctx.rng`
    (and records propensities). `batching`: it solves a batch of leads together in
    `route_batch` (`Router.route_many`); a class that overrides `route_batch` must declare it,
    and one that declares it must override it (CapabilityError when the class is defined).
    """

    needs_quota: bool = False
    needs_tier: bool = False
    needs_profile: bool = False
    needs_history: bool = False
    pull: bool = False
    randomized: bool = False
    batching: bool = False
    needs_views: tuple[type, ...] = attrs.field(default=(), converter=_views)


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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        tags = getattr(cls, "tags", None)
        if isinstance(tags, StrategyTags):
            check_batching(cls, tags)

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
        must respect it. Override it together with `StrategyTags(batching=True)`; a strategy
        that does not is called lead by lead, each seeing the assignments before it.
        """
        raise NotImplementedError

    @property
    def batches(self) -> bool:
        """True when the strategy declares `batching` in its tags (and so overrides
        `route_batch`: `check_batching` holds every class to that)."""
        return self.tags.batching

    def tick(self, ctx: TickContext) -> Sequence[Release]:
        """Leads to take back at `ctx.now`; the default takes none."""
        return ()

    def __repr__(self) -> str:
        fields = getattr(type(self), "__attrs_attrs__", ())
        args = ", ".join(f"{f.name}={show(getattr(self, f.name))}" for f in fields if f.repr)
        return f"{self.name}({args})"


def check_batching(cls: type[Strategy], tags: StrategyTags) -> None:
    """CapabilityError unless `cls` overrides `route_batch` exactly when `tags` declares
    `batching`: the router calls `route_batch` on the tag alone, so a batch solver without the
    tag would never run, and the tag without a solver would fail in `route_many`.

    Run when a Strategy subclass with class-level tags is defined, and by the Router for
    strategies whose tags depend on the instance (a wrapper such as `Explore`)."""
    overrides = cls.route_batch is not Strategy.route_batch
    if overrides and not tags.batching:
        raise CapabilityError(
            f"{cls.__name__} overrides route_batch but its tags do not declare batching, so "
            "Router.route_many would never call it: declare tags = StrategyTags(..., "
            "batching=True), or remove route_batch"
        )
    if tags.batching and not overrides:
        raise CapabilityError(
            f"{cls.__name__} declares StrategyTags(batching=True) but does not override "
            "route_batch, so Router.route_many would fail: implement route_batch(ctxs, "
            "capacity), or drop batching=True"
        )


def with_views(tags: StrategyTags, *inner: Strategy) -> StrategyTags:
    """`tags` with the views of the `inner` strategies added: the tags of a strategy that hands
    its own ledger view on to them (a tier's strategy, Hierarchical's rep strategy), so the
    Router's check at build time covers them too."""
    views = [*tags.needs_views, *(view for s in inner for view in s.tags.needs_views)]
    return attrs.evolve(tags, needs_views=tuple(views))


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
    raise ConfigError(f"a strategy must be a Strategy or a callable, got {strategy!r}")


def as_pick(result: Pick | str | None) -> Pick:
    """A strategy's answer (rep id, Pick or None) as a Pick."""
    return result if isinstance(result, Pick) else Pick(result)
