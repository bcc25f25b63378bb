"""`trusted_constructor` builds the very object the validated constructor would, for every class
the library builds with it, and a class whose fields are not all in slots still works."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

import leadrouter as lr
from leadrouter._util import FrozenMap, trusted_constructor
from leadrouter.model import Reason
from leadrouter.strategies.base import Pick, Release

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
CASES: list[tuple[type[Any], tuple[Any, ...]]] = [
    (lr.Lead, (lr.Lead("L1", AT, region="north", segment="smb"),)),
    (lr.Arrived, (lr.Arrived(lr.Lead("L1", AT)),)),
    (lr.Assigned, (lr.Assigned("L1", "r1", AT, by="rotation", propensity=0.25),)),
    (lr.Claimed, (lr.Claimed("L1", "r1", AT),)),
    (lr.Touched, (lr.Touched("L1", "r1", AT, reached=True),)),
    (lr.Converted, (lr.Converted("L1", "r1", AT, 120.0),)),
    (lr.Tagged, (lr.Tagged("L1", "r1", AT, valid=False),)),
    (Reason, (Reason("chosen", "next in turn", frozenset({"r1"}), "EqualRotation"),)),
    (Pick, (Pick("r1", scores={"r1": 0.5}, reason="best", propensity=0.5),)),
    (Release, (Release("L1", "sla", reroute=False),)),
    (
        lr.Decision,
        (
            lr.Decision(
                "L1",
                "r1",
                "assigned",
                AT,
                "EqualRotation",
                None,
                (Reason("chosen", "next in turn", frozenset({"r1"}), "EqualRotation"),),
                FrozenMap({"r1": 1.0}),
                None,
            ),
        ),
    ),
]


@pytest.mark.parametrize(("cls", "made"), CASES, ids=[c.__name__ for c, _ in CASES])
def test_the_trusted_constructor_builds_what_the_checked_one_does(
    cls: type[Any], made: tuple[Any, ...]
) -> None:
    (checked,) = made
    values = [getattr(checked, field.name) for field in attrs.fields(cls)]
    trusted = trusted_constructor(cls)(*values)
    assert type(trusted) is cls
    assert trusted == checked and hash(trusted) == hash(checked)
    assert repr(trusted) == repr(checked)
    assert pickle.loads(pickle.dumps(trusted)) == checked
    assert copy.deepcopy(trusted) == checked
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(trusted, attrs.fields(cls)[0].name, values[0])


@attrs.frozen(slots=False)
class _Plain:
    name: str
    size: int = 0


def test_a_class_without_slots_is_built_through_setattr() -> None:
    made = trusted_constructor(_Plain)("a", 3)
    assert made == _Plain("a", 3) and made.__dict__ == {"name": "a", "size": 3}
