"""Every public value class rejects a value of the wrong type where it is made: the error is a
`LeadRouterError` that is also a `TypeError` or `ValueError` (so `except ValueError` code keeps
working) and its message names the field, so a mistake never surfaces later as a wrong routing
decision or as a bare `AttributeError` from deep inside."""

from __future__ import annotations

import collections.abc as abc
import types
import typing
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter import rules
from leadrouter._util import FrozenMap
from leadrouter._written import weekdays
from leadrouter.errors import InvalidTypeError, LeadRouterError
from leadrouter.strategies.base import as_pick

from .conftest import T0

PUBLIC: list[type] = [
    cls for name in lr.__all__ if isinstance(cls := getattr(lr, name), type) and attrs.has(cls)
]
"""The attrs classes of leadrouter's public API."""

TIER = lr.Tier(tier=0, strategy=lr.EqualRotation(), patience=timedelta(hours=1))
VALID: dict[str, dict[str, Any]] = {
    "Arrived": {"lead": lr.Lead("L1", T0)},
    "Assigned": {"lead_id": "L1", "rep_id": "a", "at": T0, "by": "EqualRotation"},
    "CapForecast": {
        "rep_id": "a",
        "day": T0.date(),
        "tz": "UTC",
        "metric": "touched",
        "model": "fallback",
        "method": "fallback",
        "history_days": 0,
        "first_day": None,
        "last_day": None,
        "recent": (),
        "params": {},
        "fitted_on": None,
        "components": {},
        "forecast": 5.0,
        "headroom": 0.2,
        "bounds": (1, 500),
        "cap": 6,
    },
    "Claimed": {"lead_id": "L1", "rep_id": "a", "at": T0},
    "Converted": {"lead_id": "L1", "rep_id": "a", "at": T0},
    "Decision": {"lead_id": "L1", "rep_id": "a", "action": "assigned", "at": T0},
    "DynamicCaps": {"fallback": lr.FixedCap(daily=3)},
    "EqualRotation": {},
    "Explore": {"base": lr.EqualRotation()},
    "FixedCap": {},
    "GrabWithCaps": {},
    "Hierarchical": {},
    "Lead": {"id": "L1", "arrived_at": T0},
    "Lifecycle": {},
    "PerformanceWeighted": {},
    "Pick": {"rep_id": "a"},
    "Pooled": {"lead_id": "L1", "at": T0},
    "ProfileMatching": {},
    "QuotaProportional": {},
    "Reason": {"code": "chosen", "detail": "why"},
    "Release": {"lead_id": "L1", "reason": "sla"},
    "Released": {"lead_id": "L1", "rep_id": "a", "at": T0, "reason": "sla"},
    "Rep": {"id": "a"},
    "RepStats": {
        "rep_id": "a",
        "received": 1,
        "touched": 1,
        "touched_within_sla": 1,
        "reached": 1,
        "valid": 1,
        "invalid": 0,
        "converted": 0,
        "revenue": 0.0,
        "released": 0,
    },
    "Shift": {},
    "StrategyTags": {},
    "Tagged": {"lead_id": "L1", "rep_id": "a", "at": T0, "valid": True},
    "Tier": {"tier": 0, "strategy": lr.EqualRotation(), "patience": timedelta(hours=1)},
    "TieredDelay": {"tiers": [TIER]},
    "Touched": {"lead_id": "L1", "rep_id": "a", "at": T0},
    "UtilizationWeighted": {},
    "Weighted": {},
}
"""Settings each class accepts; a test changes one field at a time to a wrong value."""

KNOWN_GAPS: dict[tuple[str, str], str] = {}
"""(class, field) pairs whose wrong-typed values are not yet rejected as promised, and how."""


def _fields() -> list[tuple[type, str, Any]]:
    out = []
    for cls in PUBLIC:
        hints = typing.get_type_hints(cls)
        out += [(cls, f.alias, hints[f.name]) for f in attrs.fields(cls) if f.init]
    return out


FIELDS = _fields()


def _fits(kind: Any, value: object) -> bool:
    """Whether `value` is of the declared type `kind` (what the class may take as it is)."""
    origin = typing.get_origin(kind) or kind
    args = typing.get_args(kind)
    if kind is Any or kind is object:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_fits(arg, value) for arg in args)
    if origin is typing.Literal:
        return value in args
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if origin in (tuple, frozenset, set, list, abc.Sequence, abc.Collection, abc.Set):
        if isinstance(value, str) and args and args[0] is str:
            return True  # one name for a set of names
        if isinstance(value, str | bytes | abc.Mapping) or not isinstance(value, abc.Iterable):
            return False
        items = list(value)
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(items) == len(args) and all(map(_fits, args, items))
        return all(_fits(args[0], item) for item in items) if args else True
    if origin in (abc.Mapping, dict, FrozenMap):
        return isinstance(value, abc.Mapping)
    if origin is abc.Callable:
        return callable(value)
    if kind is lr.Strategy:
        return isinstance(value, lr.Strategy) or callable(value)
    if isinstance(origin, type):
        return isinstance(value, origin)
    return True


WRONG = st.one_of(
    st.sampled_from(
        [
            object(),
            "",
            "x",
            "Asia/Nowhere",
            -1,
            0,
            3,
            2.5,
            float("nan"),
            True,
            None,
            [1],
            ["a", 2],
            (1, 2, 3),
            {"a": 1},
            {1, 2},
            datetime(2026, 1, 5, 9),
            T0,
            T0.date(),
            time(9),
            timedelta(hours=-1),
            timedelta(hours=1),
            lr.EqualRotation(),
            lr.Lead("L1", T0),
        ]
    ),
    st.text(max_size=5),
    st.integers(),
    st.floats(),
)


def _cases() -> list[Any]:
    cases = []
    for cls, name, kind in FIELDS:
        gap = KNOWN_GAPS.get((cls.__name__, name))
        marks = [pytest.mark.xfail(reason=gap, strict=True)] if gap else []
        cases.append(pytest.param(cls, name, kind, marks=marks, id=f"{cls.__name__}.{name}"))
    return cases


def test_every_public_attrs_class_has_valid_settings_here() -> None:
    assert sorted(VALID) == sorted(cls.__name__ for cls in PUBLIC)
    for cls in PUBLIC:
        cls(**VALID[cls.__name__])


@pytest.mark.parametrize(("cls", "name", "kind"), _cases())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_a_wrong_type_is_a_named_error_naming_the_field(
    cls: type, name: str, kind: Any, data: st.DataObject
) -> None:
    value = data.draw(
        WRONG.filter(lambda v: not _fits(kind, v) and not _written_as(cls, name, v)),
        label=f"{cls.__name__}.{name}",
    )
    with pytest.raises(LeadRouterError) as info:
        cls(**{**VALID[cls.__name__], name: value})
    assert isinstance(info.value, TypeError | ValueError), type(info.value).__mro__
    assert name in str(info.value), str(info.value)


def _written_as(cls: type, name: str, value: object) -> bool:
    """Whether a field reads `value` as people write it, though its type does not say so:
    `Shift.weekdays` takes day names ("mon", "周一") as well as numbers."""
    if (cls, name) != (lr.Shift, "weekdays") or not isinstance(value, str):
        return False
    try:
        return bool(weekdays(value))
    except ValueError:
        return False


def _message(make: Callable[[], object]) -> LeadRouterError:
    with pytest.raises(LeadRouterError) as info:
        make()
    assert isinstance(info.value, TypeError | ValueError)
    return info.value


@pytest.mark.parametrize(
    ("make", "kind", "words"),
    [
        (lambda: lr.Rep("a", tier="x"), TypeError, ["Rep.tier", "'x'", "tier=1"]),
        (lambda: lr.Rep("a", regions=3), TypeError, ["Rep.regions", "3", "regions={"]),
        (lambda: lr.Rep("a", profile=[1]), TypeError, ["Rep.profile", "[1]", "profile={"]),
        (
            lambda: lr.Lifecycle(reroute="yes"),
            TypeError,
            ["Lifecycle.reroute", "'yes'", "reroute=True"],
        ),
        (
            lambda: lr.Lead("L1", datetime(2026, 1, 5, 9)),
            ValueError,
            ["Lead.arrived_at", "2026-01-05", "tzinfo"],
        ),
        (lambda: lr.FixedCap(open=-1), ValueError, ["FixedCap.open", "-1", ">= 0"]),
        (lambda: lr.FixedCap(tz=8), TypeError, ["FixedCap.tz", "8", "'Asia/Shanghai'"]),
        (
            lambda: lr.FixedCap(tz="Beijing"),
            ValueError,
            ["FixedCap.tz", "'Beijing'", "'Asia/Shanghai'"],
        ),
        (lambda: lr.Shift(start="9:00"), TypeError, ["Shift.start", "'9:00'", "time(9)"]),
        (
            lambda: lr.Shift(weekdays=[7]),
            ValueError,
            ["Shift.weekdays", "7 is not a day", "0 = Monday", "6 = Sunday", "'周一'", "[7]"],
        ),
        (lambda: lr.Shift(weekdays=[]), ValueError, ["Shift.weekdays", "no day", "0 is Monday"]),
        (lambda: lr.Shift(days_off=5), TypeError, ["Shift.days_off", "5", "date("]),
        (lambda: lr.Reason("chosen", "why", reps=[1]), TypeError, ["Reason.reps", "{1}"]),
        (
            lambda: lr.Decision("L1", "a", "sent", T0),
            ValueError,
            ["Decision.action", "'sent'", "assigned"],
        ),
        (
            lambda: lr.Lifecycle(working_hours=rules.region()),
            TypeError,
            ["Lifecycle.working_hours", "rules.schedule("],
        ),
        (lambda: lr.Pick(7), TypeError, ["Pick.rep_id", "7", "rep_id='rep-1'"]),
        (lambda: as_pick(7), TypeError, ["Pick.rep_id", "7", "rep_id='rep-1'"]),
        (lambda: lr.Pick("a", propensity=0.0), ValueError, ["Pick.propensity", "0.0", "(0, 1]"]),
        (
            lambda: lr.Assigned("L1", "a", T0, propensity=1.5),
            ValueError,
            ["Assigned.propensity", "1.5", "(0, 1]"],
        ),
        (lambda: lr.Release("L1", "sla", pool=3), TypeError, ["Release.pool", "3", "pool='"]),
        (lambda: lr.StrategyTags(pull=1), TypeError, ["StrategyTags.pull", "1", "pull=True"]),
        (
            lambda: lr.Hierarchical(rep="EqualRotation"),
            ValueError,
            ["Hierarchical.rep", "'EqualRotation'", "rep=EqualRotation()"],
        ),
        (lambda: lr.TieredDelay([]), ValueError, ["TieredDelay.tiers", "at least one Tier"]),
        (lambda: lr.TieredDelay(3), ValueError, ["TieredDelay.tiers", "3", "tiers=[Tier("]),
        (
            lambda: lr.QuotaProportional(catch_up=True),
            ValueError,
            ["QuotaProportional.catch_up", "True", ">= 0.5"],
        ),
        (lambda: lr.Weighted(catch_up=float("nan")), ValueError, ["Weighted.catch_up", "nan"]),
        (
            lambda: lr.DynamicCaps(lr.FixedCap(daily=3), tz="Mars/Olympus"),
            ValueError,
            ["DynamicCaps.tz", "'Mars/Olympus'", "'Asia/Shanghai'"],
        ),
        (
            lambda: lr.RepStats(**{**VALID["RepStats"], "received": -1}),
            ValueError,
            ["RepStats.received", "-1", ">= 0"],
        ),
        (
            lambda: lr.CapForecast(**{**VALID["CapForecast"], "bounds": (1, 2, 3)}),
            TypeError,
            ["CapForecast.bounds", "(1, 2, 3)", "bounds=(1, 500)"],
        ),
    ],
)
def test_messages_name_the_field_the_value_and_the_fix(
    make: Callable[[], object], kind: type[Exception], words: list[str]
) -> None:
    error = _message(make)
    assert isinstance(error, kind)
    for word in words:
        assert word in str(error), (word, str(error))


@given(st.sampled_from([date(2026, 1, 1), "north", 7, None]))
def test_a_set_of_names_takes_one_name_or_a_collection_only(value: object) -> None:
    if isinstance(value, str):
        assert lr.Rep("a", regions=value).regions == frozenset({value})
    else:
        with pytest.raises(lr.errors.InvalidTypeError, match=r"Rep\.regions must be a set of text"):
            lr.Rep("a", regions=value)  # type: ignore[arg-type]


@given(st.one_of(st.none(), st.text(max_size=5), st.integers(), st.floats(), st.booleans()))
def test_a_bare_answer_becomes_the_pick_the_validated_constructor_makes(answer: Any) -> None:
    """`as_pick` skips Pick's validators for a rep id or None (the answer of most strategies
    for every lead): it must make exactly the Pick they would pass, and refuse the rest alike."""
    if answer is None or isinstance(answer, str):
        assert as_pick(answer) == lr.Pick(answer)
        return
    for make in (lr.Pick, as_pick):
        with pytest.raises(InvalidTypeError, match=r"Pick\.rep_id must be text or None"):
            make(answer)
