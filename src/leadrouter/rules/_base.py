"""The rule families (`Rule`, `Filter`, `PoolRule`, `PreferenceRule`), plain callables as filters
(`Predicate`), the composition of filters (`&`, `|`, `~`) and how a rule reads a lead's field
(`lead_value`): what every rule of `leadrouter.rules` is built on."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from operator import attrgetter
from typing import Any, ClassVar

import attrs

from leadrouter._util import earliest
from leadrouter.context import Context, TickContext
from leadrouter.errors import CapabilityError, ConfigError, StrategyError
from leadrouter.model import Lead, Rep

__all__ = [
    "Filter",
    "PoolRule",
    "Predicate",
    "PreferenceRule",
    "Rule",
    "as_filter",
    "lead_value",
]

_FAMILY_OF = {"eligible": "Filter", "pool_for": "PoolRule", "prefer": "PreferenceRule"}
"""Each family's question (its method) and the family's name, for the definition check."""


class Rule:
    """Base of the rule families (`Filter`, `PoolRule`, `PreferenceRule`); subclass one of them.

    A subclass that defines a family's method (`eligible`, `pool_for`, `prefer`) without
    subclassing that family raises CapabilityError when the class is defined: the router asks a
    rule only its families' questions, so the method would never be called.

    `pool_for` and `prefer` answer "no opinion" here, so code that asks any rule either question
    keeps working; the router itself asks only the rules of the matching family.
    """

    _family: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        families = {vars(k).get("_family") for k in cls.__mro__}
        for method, family in _FAMILY_OF.items():
            owner = next((k for k in cls.__mro__ if method in vars(k)), Rule)
            if family not in families and owner is not Rule:
                raise CapabilityError(
                    f"{cls.__name__} defines {method}() but is not a {family}, so the router "
                    f"would never call it: subclass leadrouter.rules.{family} (class "
                    f"{cls.__name__}({family}): ...)"
                )

    def next_change(self, ctx: TickContext) -> datetime | None:
        """The first time after `ctx.now` at which this rule's answers may change with the
        time alone, the leads, roster and ledger staying as they are (a `schedule` shift
        starting or ending); None when only they change its answers (the default).

        `Router.next_due` counts it while leads wait in the public pool, so that a caller
        ticking at each answer offers a waiting lead when this rule may first let a rep take
        it. A rule whose answers turn on the clock should say when."""
        return None

    def pool_for(self, ctx: Context) -> tuple[str, str] | None:
        """No pool: only a `PoolRule` sends leads to pools."""
        return None

    def prefer(self, ctx: Context) -> tuple[str, str] | None:
        """No preference: only a `PreferenceRule` names reps."""
        return None


class PoolRule(Rule):
    """A rule that can send a lead to a named pool instead of a rep. Pool rules are asked first,
    in order; the first that answers wins."""

    _family = "PoolRule"

    def pool_for(self, ctx: Context) -> tuple[str, str] | None:
        """(pool name, why) to keep the lead away from reps, or None."""
        raise NotImplementedError


class PreferenceRule(Rule):
    """A rule that can name the rep who should get a lead, if that rep is eligible and under
    every cap; otherwise the lead is routed as usual and the decision says so."""

    _family = "PreferenceRule"

    def prefer(self, ctx: Context) -> tuple[str, str] | None:
        """(rep id, why) for a rep who should get the lead if eligible and under caps, or None."""
        raise NotImplementedError


class Filter(Rule):
    """A rule that narrows the eligible reps. Compose with `&` (both), `|` (either), `~` (not)."""

    _family = "Filter"

    def eligible(self, ctx: Context) -> frozenset[str]:
        """Ids of the active reps this rule allows for `ctx.lead`."""
        raise NotImplementedError

    def key(self, ctx: Context) -> Hashable | None:
        """What `eligible` depends on besides the roster, or None if it cannot be cached."""
        return None

    def _key_attributes(self) -> tuple[str, ...] | None:
        """The Lead attributes that `key`, `eligible` and `describe` depend on alone, besides
        the roster (None: something else too, or a `features` entry). The router then finds
        the eligible set of a lead by those attributes' values, read in one step, instead of
        asking each filter for its key. Only the library's own filters answer."""
        return None

    def describe(self, ctx: Context) -> str:
        """Why a rep this rule excludes is excluded, in words."""
        return f"not allowed by {self!r}"

    def __and__(self, other: Filter | Callable[[Lead, Rep], bool]) -> Filter:
        return _And(self, as_filter(other))

    def __rand__(self, other: Callable[[Lead, Rep], bool]) -> Filter:
        return _And(as_filter(other), self)

    def __or__(self, other: Filter | Callable[[Lead, Rep], bool]) -> Filter:
        return _Or(self, as_filter(other))

    def __ror__(self, other: Callable[[Lead, Rep], bool]) -> Filter:
        return _Or(as_filter(other), self)

    def __invert__(self) -> Filter:
        return _Not(self)


def as_filter(rule: Filter | Callable[[Lead, Rep], bool]) -> Filter:
    """A Filter as is; a plain callable `f(lead, rep) -> bool` wrapped in `Predicate`."""
    if isinstance(rule, Filter):
        return rule
    if callable(rule):
        return Predicate(rule)
    raise ConfigError(f"a rule must be a leadrouter rule or a callable, got {rule!r}")


@attrs.frozen(repr=False)
class Predicate(Filter):
    """A plain callable `f(lead, rep) -> bool` as a filter (evaluated for every active rep)."""

    func: Callable[[Lead, Rep], bool]

    def eligible(self, ctx: Context) -> frozenset[str]:
        lead, func = ctx.lead, self.func
        allowed = []
        for rep in ctx.roster.active:
            answer = func(lead, rep)
            if answer is True or (answer is not False and _yes(self, answer, lead, rep)):
                allowed.append(rep.id)
        return frozenset(allowed)

    def __repr__(self) -> str:
        return getattr(self.func, "__name__", repr(self.func))


def _yes(rule: Predicate, answer: object, lead: Lead, rep: Rep) -> bool:
    """A filter's answer that is not a Python bool: numpy's bool as its value; anything else
    a StrategyError, since a truthy string ("not senior", as a cap words a refusal) would let
    every rep through."""
    kind = type(answer)
    if kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_"):
        return bool(answer)
    raise StrategyError(
        f"filter {rule!r} answered {answer!r} for lead {lead.id!r} and rep {rep.id!r}: a filter "
        "returns True (the rep may get the lead) or False"
    )


@attrs.frozen(repr=False)
class _Pair(Filter):
    """Two filters combined: what the result depends on, and when it may change, is what
    either part's does."""

    left: Filter
    right: Filter

    def key(self, ctx: Context) -> Hashable | None:
        return _pair_key(self.left.key(ctx), self.right.key(ctx))

    def _key_attributes(self) -> tuple[str, ...] | None:
        if type(self) not in (_And, _Or):
            return None
        left, right = self.left._key_attributes(), self.right._key_attributes()
        return None if left is None or right is None else (*left, *right)

    def next_change(self, ctx: TickContext) -> datetime | None:
        return earliest((self.left.next_change(ctx), self.right.next_change(ctx)))


@attrs.frozen(repr=False)
class _And(_Pair):
    def eligible(self, ctx: Context) -> frozenset[str]:
        return self.left.eligible(ctx) & self.right.eligible(ctx)

    def __repr__(self) -> str:
        return f"({self.left!r} & {self.right!r})"


@attrs.frozen(repr=False)
class _Or(_Pair):
    def eligible(self, ctx: Context) -> frozenset[str]:
        return self.left.eligible(ctx) | self.right.eligible(ctx)

    def __repr__(self) -> str:
        return f"({self.left!r} | {self.right!r})"


@attrs.frozen(repr=False)
class _Not(Filter):
    inner: Filter

    def eligible(self, ctx: Context) -> frozenset[str]:
        return ctx.roster.active_ids - self.inner.eligible(ctx)

    def key(self, ctx: Context) -> Hashable | None:
        return self.inner.key(ctx)

    def _key_attributes(self) -> tuple[str, ...] | None:
        return self.inner._key_attributes() if type(self) is _Not else None

    def next_change(self, ctx: TickContext) -> datetime | None:
        return self.inner.next_change(ctx)

    def __repr__(self) -> str:
        return f"~{self.inner!r}"


def _pair_key(left: Hashable | None, right: Hashable | None) -> Hashable | None:
    return None if left is None or right is None else (left, right)


LEAD_ATTRS = frozenset(a.name for a in attrs.fields(Lead))


def lead_value(lead: Lead, field: str) -> Any:
    """A lead attribute, or a `features` entry when the Lead has no such attribute."""
    if field in LEAD_ATTRS:
        return getattr(lead, field)
    return lead.features.get(field)


@attrs.frozen
class Feature:
    """`lead_value(lead, field)` for a `field` that is not a Lead attribute."""

    field: str

    def __call__(self, lead: Lead) -> Any:
        return lead.features.get(self.field)


def lead_reader(field: str) -> Callable[[Lead], Any]:
    """`lead_value(lead, field)` as one callable made once per rule: the attribute's getter,
    or the `features` entry's (a rule reads the field of every lead it sees)."""
    return attrgetter(field) if field in LEAD_ATTRS else Feature(field)
