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
from datetime import datetime
from typing import Any, ClassVar, cast

import attrs

from leadrouter._util import EMPTY, FrozenMap, calls_with, show, trusted_constructor
from leadrouter._validators import (
    is_iterable,
    lenient,
    mapping_field,
    of_type,
    propensity_field,
    to_map,
)
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
    "has_timers",
    "strategy_field",
    "timers_announced",
    "to_strategy",
    "with_views",
]


def _views(value: Iterable[type] | type) -> tuple[type, ...]:
    found = (value,) if isinstance(value, type) else lenient(lambda v: tuple(is_iterable(v)), value)
    if not isinstance(found, tuple) or not all(isinstance(need, type) for need in found):
        raise ConfigError(
            f"StrategyTags.needs_views takes view protocols such as "
            f"leadrouter.capabilities.ClaimsView, got {type(value).__name__} {value!r}: write "
            "e.g. needs_views=(ClaimsView,)"
        )
    return tuple(dict.fromkeys(found))


_FLAG = of_type(bool, "True")


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
    `weighted`: it states target weights (`weights(ctx)`) and promises the realised shares
    track them, as `Weighted` does (every subclass of it carries the tag); the testing kit then
    holds it to that promise (`check_shares_track_weights`).
    """

    needs_quota: bool = attrs.field(default=False, validator=_FLAG)
    needs_tier: bool = attrs.field(default=False, validator=_FLAG)
    needs_profile: bool = attrs.field(default=False, validator=_FLAG)
    needs_history: bool = attrs.field(default=False, validator=_FLAG)
    pull: bool = attrs.field(default=False, validator=_FLAG)
    randomized: bool = attrs.field(default=False, validator=_FLAG)
    batching: bool = attrs.field(default=False, validator=_FLAG)
    weighted: bool = attrs.field(default=False, validator=_FLAG)
    needs_views: tuple[type, ...] = attrs.field(default=(), converter=_views)


@attrs.frozen
class Pick:
    """A strategy's choice with its evidence: `rep_id` (None = no rep now), per-rep `scores`,
    a `reason` in words, and the `propensity` of this choice when the strategy randomises.

    With `rep_id=None`, `pool` names the pool the lead is left in for reps to claim (a pull
    strategy); without it the lead waits in the public pool and is offered again at tick.

    Every field is checked where the Pick is made (text, a mapping, a propensity in (0, 1]), so a
    strategy's mistake is an error naming the field, not a wrong record in the ledger.
    """

    rep_id: str | None = attrs.field(validator=of_type(str, "'rep-1'", optional=True))
    scores: FrozenMap[float] = attrs.field(
        default=EMPTY, converter=to_map, validator=mapping_field("{'rep-1': 0.8}")
    )
    reason: str = attrs.field(default="", validator=of_type(str, "'lowest deficit'"))
    propensity: float | None = attrs.field(default=None, validator=propensity_field)
    pool: str | None = attrs.field(default=None, validator=of_type(str, "'public'", optional=True))

    def __attrs_post_init__(self) -> None:
        if self.pool is not None and self.rep_id is not None:
            raise ConfigError(
                f"Pick({self.rep_id!r}, pool={self.pool!r}): a pick names a rep or a pool to "
                "leave the lead in, not both"
            )


@attrs.frozen
class Release:
    """A tick action: take `lead_id` back from its holder with `reason`; `reroute` sends it on
    to another rep at once (never back to the one who lost it). `pool` names the pool it goes
    back to (None: the public pool), e.g. the pool a rep claimed it from."""

    lead_id: str = attrs.field(validator=of_type(str, "'L-1'"))
    reason: str = attrs.field(validator=of_type(str, "'sla'"))
    reroute: bool = attrs.field(default=True, validator=of_type(bool, "False"))
    pool: str | None = attrs.field(default=None, validator=of_type(str, "'public'", optional=True))


class Strategy:
    """Base class: every moment defaults to doing nothing special."""

    tags: ClassVar[StrategyTags] = StrategyTags()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        tags = getattr(cls, "tags", None)
        if isinstance(tags, property):
            return  # tags of each instance (a wrapper's are its inner strategy's): checked then
        if not isinstance(tags, StrategyTags):
            raise CapabilityError(
                f"{cls.__name__}.tags must be a StrategyTags instance, got {tags!r}: write "
                "tags = StrategyTags(...) (with the parentheses), e.g. "
                "StrategyTags(needs_quota=True)"
            )
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

    def next_due(self, ctx: TickContext) -> datetime | None:
        """The earliest time after `ctx.now` at which `tick()` may take a lead back, or None
        when no timer of this strategy is set; the default (no timers) says None.

        A promise to look, not a verdict: `tick()` then decides from the ledger, and may take
        nothing. It lets a caller tick at each deadline instead of on a fixed beat
        (`Router.next_due`, `leadrouter route`). A strategy that overrides `tick()` should
        override this too; one that does not is ticked only when its caller ticks for another
        reason (an arrival, another timer)."""
        return None

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


_NEEDS = ("needs_quota", "needs_tier", "needs_profile", "needs_history")


def with_views(tags: StrategyTags, *inner: Strategy) -> StrategyTags:
    """`tags` with the needs of the `inner` strategies added (their views, and the roster
    fields and history they read): the tags of a strategy that hands its own roster and ledger
    view on to them (a tier's strategy, Hierarchical's rep strategy), so the Router's check at
    build time covers their views and the conformance checks give them the reps they need."""
    views = [*tags.needs_views, *(view for s in inner for view in s.tags.needs_views)]
    needs = {
        name: getattr(tags, name) or any(getattr(s.tags, name) for s in inner) for name in _NEEDS
    }
    return attrs.evolve(tags, needs_views=tuple(views), **needs)


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


def as_strategy(
    strategy: Strategy | Callable[[Context], Pick | str | None], where: str = "a strategy"
) -> Strategy:
    """A Strategy as is; a plain callable wrapped as a push strategy; anything else a
    ConfigError saying that `where` takes one of those."""
    if isinstance(strategy, Strategy):
        return strategy
    if isinstance(strategy, type) and issubclass(strategy, Strategy):
        raise ConfigError(
            f"{where} is the class {strategy.__name__}, not a strategy: write "
            f"{strategy.__name__}() (with its settings)"
        )
    if callable(strategy) and calls_with(strategy, 1):
        return _FunctionStrategy(cast("Callable[[Context], Pick | str | None]", strategy))
    raise _not_a_strategy(strategy, where, "EqualRotation()")


def to_strategy(value: Strategy | Callable[[Context], Pick | str | None]) -> Strategy:
    """Converter of a field holding a strategy (`Hierarchical.team`, `Explore.base`,
    `Tier.strategy`): `as_strategy` where it applies, else the value as given, for the
    `strategy_field` validator to name the class and the field (the parameter's type is what
    a type checker lets the field take)."""
    found: Strategy = lenient(as_strategy, value)
    return found


def strategy_field(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    """A Strategy (which `to_strategy` made of any callable), else a ConfigError naming the
    class, the field, the value and what to write."""
    if not isinstance(value, Strategy):
        raise _not_a_strategy(
            value, f"{type(inst).__name__}.{attr.name}", f"{attr.name}=EqualRotation()"
        )


def _not_a_strategy(value: object, where: str, example: str) -> ConfigError:
    return ConfigError(
        f"{where} must be a Strategy or a callable f(ctx) -> rep id | Pick | None, got "
        f"{type(value).__name__} {value!r}: write e.g. {example}"
    )


new_pick = trusted_constructor(Pick)
"""A positional Pick constructor that skips validation, for picks made of checked parts (see
`leadrouter._util.trusted_constructor`); the one every built-in strategy uses."""


def has_timers(strategy: Strategy) -> bool:
    """Whether `strategy` has timers of its own: its class overrides `Strategy.tick`, whose
    default takes nothing back. A strategy without them can be left out of a tick."""
    return type(strategy).tick is not Strategy.tick


def timers_announced(strategy: Strategy) -> bool:
    """Whether `strategy.next_due` announces every time its `tick` may take a lead back: it
    has no timers, or it says so (`announces_timers`, e.g. a strategy whose `next_due` is
    worked out from the very deadlines its `tick` checks; a lead a write makes due at once,
    such as a "blocked" tag, is the writer's to tick after). A caller may then tick only at
    the times `Router.next_due` answers and write what ticking on a fixed beat writes (the
    simulator does). A strategy that overrides `tick` says nothing by default: its timers may
    act at times its `next_due` does not name, so its caller keeps the beat."""
    return not has_timers(strategy) or getattr(strategy, "announces_timers", False) is True


def as_pick(result: Pick | str | None) -> Pick:
    """A strategy's answer (rep id, Pick or None) as a Pick; anything else is an
    InvalidTypeError naming `Pick.rep_id`.

    A rep id or None is the answer of most strategies for every routed lead, so it becomes a
    Pick without re-running the validators that one isinstance check here already settles."""
    if isinstance(result, Pick):
        return result
    if result is None or isinstance(result, str):
        return new_pick(result, EMPTY, "", None, None)
    return Pick(result)
