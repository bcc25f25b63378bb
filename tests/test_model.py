"""Value objects validate where they are made, with messages that say how to fix the input."""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta

import attrs
import pytest

import leadrouter as lr
from leadrouter.errors import InvalidValueError, NaiveDatetimeError

from .conftest import T0, at


def test_lead_defaults_and_immutability() -> None:
    lead = lr.Lead("L1", T0)
    assert (lead.source, lead.region, lead.grade, lead.score, lead.cost) == (
        "",
        "",
        None,
        None,
        0.0,
    )
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        lead.region = "north"  # type: ignore[misc]
    assert hash(lr.Lead("L1", T0, features={"a": [1]})) == hash(
        lr.Lead("L1", T0, features={"a": [1]})
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"id": "", "arrived_at": T0}, InvalidValueError, "non-empty"),
        ({"id": " L1", "arrived_at": T0}, InvalidValueError, "surrounding"),
        ({"id": "L1", "arrived_at": datetime(2026, 1, 5)}, NaiveDatetimeError, "naive"),
        ({"id": "L1", "arrived_at": T0, "cost": -1.0}, InvalidValueError, ">= 0"),
        ({"id": "L1", "arrived_at": T0, "score": math.nan}, InvalidValueError, "NaN"),
    ],
)
def test_lead_rejects_bad_values(
    kwargs: dict[str, object], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        lr.Lead(**kwargs)  # type: ignore[arg-type]


def test_errors_subclass_the_fitting_builtin() -> None:
    assert issubclass(lr.NaiveDatetimeError, ValueError)
    assert issubclass(lr.TransitionError, ValueError)
    assert issubclass(lr.UnknownRepError, LookupError)
    assert issubclass(lr.UnknownLeadError, lr.TransitionError)
    for name in lr.errors.__all__:
        found = getattr(lr.errors, name)
        # warnings are the one other kind of class the module holds
        assert issubclass(found, lr.LeadRouterError) or issubclass(found, UserWarning)
    assert issubclass(lr.errors.CalibrationWarning, UserWarning)


def test_from_row_parses_strings_and_keeps_extra_columns() -> None:
    lead = lr.Lead.from_row(
        {
            "lead_id": "L9",
            "arrived_at": "2026-01-05 10:30",
            "score": "0.4",
            "cost": "",
            "grade": "",
            "campaign": "spring",
        },
        tz="Asia/Shanghai",
    )
    assert lead.id == "L9"
    assert lead.arrived_at.utcoffset() == timedelta(hours=8)
    assert lead.score == 0.4
    assert lead.cost == 0.0
    assert lead.grade is None
    assert lead.features == {"campaign": "spring"}


def test_from_row_names_the_bad_column() -> None:
    with pytest.raises(InvalidValueError, match="'score'"):
        lr.Lead.from_row({"id": "L1", "arrived_at": T0, "score": "high"})
    with pytest.raises(NaiveDatetimeError):
        lr.Lead.from_row({"id": "L1", "arrived_at": "2026-01-05 10:30"})
    with pytest.raises(InvalidValueError, match="no 'arrived_at'"):
        lr.Lead.from_row({"id": "L1"})


def test_rep_sets_and_validation() -> None:
    rep = lr.Rep("R1", regions=["north", "south"], skills="loan")
    assert rep.regions == frozenset({"north", "south"})
    assert rep.skills == frozenset({"loan"})
    with pytest.raises(InvalidValueError):
        lr.Rep("R1", quota=-2.0)
    with pytest.raises(InvalidValueError):
        lr.Rep("")


def test_shift_in_its_own_time_zone() -> None:
    shanghai = lr.Shift("Asia/Shanghai", start=time(9), end=time(18))
    # 09:00 UTC on Monday is 17:00 in Shanghai: on; 11:00 UTC is 19:00: off.
    assert shanghai.is_on(at(0))
    assert not shanghai.is_on(at(hours=2))
    assert shanghai.next_change(at(0)) == at(hours=1)
    night = lr.Shift("UTC", start=time(22), end=time(6), weekdays=range(7))
    assert night.is_on(at(hours=14))
    assert not night.is_on(at(hours=3))


def test_shift_working_time_skips_nights_weekends_and_days_off() -> None:
    shift = lr.Shift("UTC", start=time(9), end=time(17), days_off={at(days=1).date()})
    friday_4pm = at(hours=7, days=4)
    # One working hour on Friday, then Monday 09:00 onwards.
    assert shift.add_working_time(friday_4pm, timedelta(hours=2)) == at(hours=1, days=7)
    assert shift.working_time(friday_4pm, at(hours=1, days=7)) == timedelta(hours=2)
    # Tuesday is a day off: Monday 16:00 + 2h working time lands Wednesday 10:00.
    assert shift.add_working_time(at(hours=7), timedelta(hours=2)) == at(hours=1, days=2)


def test_decision_explain_is_readable() -> None:
    decision = lr.Decision(
        "L1",
        "R1",
        "assigned",
        T0,
        "EqualRotation",
        None,
        (lr.Reason("excluded", "off shift", {"R2"}, "schedule()"),),
        {"R1": 1.0},
    )
    text = decision.explain()
    assert "L1 -> R1" in text
    assert "off shift" in text
    assert "R2" in text
    assert "R1=1" in text
