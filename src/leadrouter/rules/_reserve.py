"""`reserve()`: leads matching a condition on one of their fields (大客户: score >= 0.8) go only to
the reserved reps; every other lead is left alone."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from typing import Any

import attrs

from leadrouter._util import FrozenMap
from leadrouter._validators import score_threshold
from leadrouter.context import Context
from leadrouter.errors import ConfigError, InvalidTypeError
from leadrouter.model import Lead, Rep
from leadrouter.roster import Roster
from leadrouter.rules._base import Filter, lead_reader

__all__ = ["Reserve", "reserve"]

_REP_ATTRS = frozenset(a.name for a in attrs.fields(Rep)) - {"profile"}


@attrs.frozen(repr=False)
class Reserve(Filter):
    """Leads matching a condition on one of their fields may go only to the reserved reps;
    every other lead is left alone. Made by `reserve()`, which checks and documents the
    settings.

    The eligible set depends only on whether the lead matches (`key`), so the router computes
    it once per roster for matching leads and leaves the others' sets as the other rules made
    them."""

    field: str
    at_least: float | None
    at_most: float | None
    values: frozenset[str]
    reps: frozenset[str]
    teams: frozenset[str]
    tiers: frozenset[int]
    having: FrozenMap[Any]
    reason: str
    _value: Callable[[Lead], Any] = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_value", lead_reader(self.field))

    def matches(self, lead: Lead) -> bool:
        """Whether the lead's `field` meets the condition. A lead without the field (None, an
        empty text), or with a value the condition cannot compare (text that is no number for
        `at_least`, NaN), does not match: missing data never hides a lead from reps."""
        value = self._value(lead)
        if value is None or value == "":
            return False
        if self.values:
            return isinstance(value, str) and value in self.values
        number = _as_number(value)
        if number is None:
            return False
        return (self.at_least is None or number >= self.at_least) and (
            self.at_most is None or number <= self.at_most
        )

    def picks(self, rep: Rep) -> bool:
        """Whether `rep` is one of the reserved reps (active or not)."""
        if rep.id in self.reps or rep.team in self.teams or rep.tier in self.tiers:
            return True
        return bool(self.having) and all(
            _holds(_rep_value(rep, key), wanted) for key, wanted in self.having.items()
        )

    def reserved(self, roster: Roster) -> frozenset[str]:
        """The active reps of `roster` that matching leads may go to."""
        cache_key = (self, "reserved")
        found: frozenset[str] | None = roster.cache.get(cache_key)
        if found is None:
            found = roster.cache[cache_key] = frozenset(
                rep.id for rep in roster.active if self.picks(rep)
            )
        return found

    def key(self, ctx: Context) -> Hashable:
        return self.matches(ctx.lead)

    def eligible(self, ctx: Context) -> frozenset[str]:
        if not self.matches(ctx.lead):
            return ctx.roster.active_ids
        return self.reserved(ctx.roster)

    def describe(self, ctx: Context) -> str:
        # the same words for every matching lead: the router caches them by `key`
        why = f" ({self.reason})" if self.reason else ""
        return f"reserved for {self.who()}: lead {self.condition()}{why}"

    def condition(self) -> str:
        """The condition in words: "score >= 0.8", "source is '展会' or '官网'"."""
        if self.values:
            return f"{self.field} is " + " or ".join(map(repr, sorted(self.values)))
        low = None if self.at_least is None else _number_repr(self.at_least)
        high = None if self.at_most is None else _number_repr(self.at_most)
        if low is not None and high is not None:
            return f"{low} <= {self.field} <= {high}"
        return f"{self.field} >= {low}" if low is not None else f"{self.field} <= {high}"

    def who(self) -> str:
        """The reserved reps in words: "tier 0 or rep zhang"."""
        parts = []
        for word, names in (
            ("rep", sorted(self.reps)),
            ("team", [repr(t) for t in sorted(self.teams)]),
            ("tier", [str(t) for t in sorted(self.tiers)]),
        ):
            if names:
                parts.append(f"{word}{'s' if len(names) > 1 else ''} {', '.join(names)}")
        if self.having:
            parts.append(
                "reps with "
                + " and ".join(f"{key} {_wanted(value)}" for key, value in self.having.items())
            )
        return " or ".join(parts)

    def __repr__(self) -> str:
        args = [repr(self.field)]
        for name in ("at_least", "at_most"):
            bound = getattr(self, name)
            if bound is not None:
                args.append(f"{name}={_number_repr(bound)}")
        for name in ("values", "reps", "teams", "tiers"):
            if getattr(self, name):
                args.append(f"{name}={sorted(getattr(self, name))!r}")
        if self.having:
            shown = {key: _listed(value) for key, value in self.having.items()}
            args.append(f"having={shown!r}")
        if self.reason:
            args.append(f"reason={self.reason!r}")
        return f"reserve({', '.join(args)})"


def _as_number(value: object) -> float | None:
    """A lead's value as a number: a number as is, text that writes one (a CSV cell, read into
    `features` as text) as that number; None for anything else, NaN and booleans included."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _rep_value(rep: Rep, key: str) -> Any:
    """A Rep field (`team`, `skills`, `quota` ...) by name, else the rep's `profile` entry."""
    return getattr(rep, key) if key in _REP_ATTRS else rep.profile.get(key)


def _same(held: object, wanted: object) -> bool:
    """Equal, a boolean never standing for 1 or 0 (`senior = true` is not `level = 1`)."""
    return isinstance(held, bool) == isinstance(wanted, bool) and held == wanted


def _holds(held: object, wanted: object) -> bool:
    """Whether a rep's value is the wanted one (or one of them, for a set of wanted values); a
    set-valued field (`skills`, `regions`) holds a value it contains."""
    options = wanted if isinstance(wanted, frozenset) else (wanted,)
    if isinstance(held, frozenset | set | list | tuple):
        return any(_same(item, option) for item in held for option in options)
    return any(_same(held, option) for option in options)


def _listed(value: object) -> object:
    """A wanted value as written: a set of them as a sorted list (the same words every run)."""
    return sorted(value, key=repr) if isinstance(value, frozenset) else value


def _wanted(value: object) -> str:
    if isinstance(value, frozenset):
        return f"in {_listed(value)!r}"
    return f"= {value!r}"


def _number_repr(value: float) -> str:
    """50000.0 as 50000, as a playbook writes it; 0.8 as 0.8."""
    return repr(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _names(value: object, factory: str, param: str, kind: type = str) -> frozenset[Any]:
    """A setting that lists names (or tiers): one given alone, or a collection of them; else
    an InvalidTypeError naming the factory and the parameter."""
    word = "whole numbers" if kind is int else "text"
    if isinstance(value, kind) and not isinstance(value, bool):
        return frozenset({value}) if value != "" else frozenset()
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping):
        items = list(value)
        if all(isinstance(item, kind) and not isinstance(item, bool) for item in items):
            return frozenset(items)
    example = "[0]" if kind is int else '["north"]'
    raise InvalidTypeError(
        f"{factory}({param}=...) takes a list of {word}, got {type(value).__name__} {value!r}: "
        f"write e.g. {param}={example}"
    )


def _bound(value: object, param: str, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidTypeError(
            f"reserve({param}=...) must be a number, got {type(value).__name__} {value!r}: "
            f"write e.g. {param}=0.8"
        )
    if field == "score":
        return score_threshold(value, f"reserve({param}=...) for the lead's score")
    if not math.isfinite(value):
        raise ConfigError(f"reserve({param}=...) must be a finite number, got {value!r}")
    return float(value)


def _having(value: object) -> FrozenMap[Any]:
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise InvalidTypeError(
            f"reserve(having=...) takes a mapping of rep field or profile key to the value "
            f"wanted, got {type(value).__name__} {value!r}: write e.g. "
            "having={'level': 'senior'}"
        )
    wanted: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, list | tuple | set | frozenset):
            item = frozenset(item)  # one of these values
            if not item:
                raise ConfigError(f"reserve(having=...): {key!r} lists no value")
        wanted[key] = item
    return FrozenMap(wanted)


def reserve(
    field: str,
    at_least: float | None = None,
    at_most: float | None = None,
    values: Collection[str] = (),
    *,
    reps: Collection[str] = (),
    teams: Collection[str] = (),
    tiers: Collection[int] = (),
    having: Mapping[str, Any] | None = None,
    reason: str = "",
) -> Reserve:
    """Leads whose `field` is at least `at_least` (and/or at most `at_most`), or is one of
    `values`, may go only to the reserved reps; every other lead is left alone (大客户 only
    to senior reps: `reserve("score", at_least=0.8, tiers=[0])`).

    `field` names a Lead attribute (`score`, `product`, `source`, `region` ...) or a
    `features` key; a number written as text (a CSV cell in `features`) is read as the number.
    `values` are text, matched exactly (case and spaces included). A lead without the field,
    or whose value cannot be compared (text that is no number, NaN), does not match and is left
    alone: missing data never hides a lead from reps. On `score`, bounds are on its 0-1 scale.

    The reserved reps are those listed in `reps` (ids), or in one of `teams`, or of one of
    `tiers`, or `having` every value given (`{"level": "senior"}`: a key names a Rep field such
    as `skills`, or else a `profile` entry; a list of values means any of them; a set field
    such as `skills` holds a value it contains). Inactive reps are never eligible. `reason`
    names the rule's business purpose in the decision's explanation ("大客户").

    Settings that cannot work are a ConfigError (an InvalidTypeError for a value of the wrong
    kind) naming `reserve` and the parameter.
    """
    if not isinstance(field, str) or not field.strip():
        raise InvalidTypeError(
            f"reserve(field=...) must name a lead field (score, product, source, region ...) or "
            f"a features key, got {type(field).__name__} {field!r}"
        )
    low, high = _bound(at_least, "at_least", field), _bound(at_most, "at_most", field)
    named = _names(values, "reserve", "values")
    if not named and low is None and high is None:
        raise ConfigError(
            "reserve needs a condition on the lead: at_least=<number>, at_most=<number> or "
            "values=[...] (e.g. reserve('score', at_least=0.8, tiers=[0]))"
        )
    if named and (low is not None or high is not None):
        raise ConfigError(
            "reserve takes a condition of one kind: at_least/at_most (a number) or values "
            "(text), not both; write two reserve rules for two conditions"
        )
    if low is not None and high is not None and low > high:
        raise ConfigError(
            f"reserve(at_least={at_least!r}, at_most={at_most!r}): no value is at least "
            f"{at_least!r} and at most {at_most!r}"
        )
    if not isinstance(reason, str):
        raise InvalidTypeError(f"reserve(reason=...) must be text, got {reason!r}")
    rule = Reserve(
        field=field,
        at_least=low,
        at_most=high,
        values=named,
        reps=_names(reps, "reserve", "reps"),
        teams=_names(teams, "reserve", "teams"),
        tiers=_names(tiers, "reserve", "tiers", int),
        having=_having({} if having is None else having),
        reason=reason,
    )
    if not (rule.reps or rule.teams or rule.tiers or rule.having):
        raise ConfigError(
            "reserve needs the reps the leads are reserved for: reps=[ids], teams=[...], "
            "tiers=[...] or having={'level': 'senior'}"
        )
    return rule
