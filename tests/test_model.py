"""Value objects validate where they are made, with messages that say how to fix the input."""

from __future__ import annotations

import math
import re
from datetime import datetime, time, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter.errors import InvalidValueError, NaiveDatetimeError, OutOfRangeError

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
        ({"id": "L1", "arrived_at": T0, "cost": -1.0}, OutOfRangeError, ">= 0"),
        ({"id": "L1", "arrived_at": T0, "cost": math.inf}, OutOfRangeError, "finite"),
        ({"id": "L1", "arrived_at": T0, "score": math.nan}, InvalidValueError, "NaN"),
        ({"id": "L1", "arrived_at": T0, "score": "0.5"}, InvalidValueError, "a number"),
        ({"id": "L1", "arrived_at": T0, "score": 85.0}, OutOfRangeError, r"85 -> 0\.85"),
        ({"id": "L1", "arrived_at": T0, "score": -0.1}, OutOfRangeError, "scores are 0-1"),
    ],
)
def test_lead_rejects_bad_values(
    kwargs: dict[str, object], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        lr.Lead(**kwargs)  # type: ignore[arg-type]


@given(st.none() | st.floats(0.0, 1.0))
def test_any_score_in_0_to_1_is_accepted_as_given(score: float | None) -> None:
    assert lr.Lead("L1", T0, score=score).score == score


@given(
    st.floats(allow_nan=False).filter(lambda x: not 0.0 <= x <= 1.0)
    | st.integers().filter(lambda x: x not in (0, 1))
)
def test_any_score_outside_0_to_1_is_out_of_range_and_says_the_scale(score: float) -> None:
    with pytest.raises(OutOfRangeError, match="scores are 0-1") as caught:
        lr.Lead("L1", T0, score=score)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, lr.LeadRouterError)
    if 1 < score <= 100:
        assert "divide a 0-100 score by 100" in str(caught.value)


def test_a_0_to_100_score_from_a_row_is_out_of_range_not_rescaled() -> None:
    """One row cannot show its scale: from_row never guesses, it says how to fix the value."""
    with pytest.raises(OutOfRangeError, match=r"Lead\.score .* divide a 0-100 score by 100"):
        lr.Lead.from_row({"id": "L1", "arrived_at": T0, "score": "85"})


def test_rep_quota_is_a_finite_number_at_least_zero() -> None:
    with pytest.raises(OutOfRangeError, match=r"Rep\.quota must be a finite number >= 0"):
        lr.Rep("wang", quota=-10)
    assert lr.Rep("wang", quota=0).quota == 0


def test_errors_subclass_the_fitting_builtin() -> None:
    assert issubclass(lr.NaiveDatetimeError, ValueError)
    assert issubclass(lr.TransitionError, ValueError)
    assert issubclass(lr.UnknownRepError, LookupError)
    assert issubclass(lr.UnknownLeadError, lr.TransitionError)
    assert issubclass(lr.OutOfRangeError, lr.InvalidValueError)
    assert issubclass(lr.NotALeadError, TypeError)
    assert issubclass(lr.NotALeadError, lr.LeadRouterError)
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


def test_from_row_reads_a_pandas_rows_empty_cells_as_not_given() -> None:
    import io

    import pandas as pd

    text = "lead_id,arrived_at,region,source,score,campaign\nL1,2026-01-05T09:00:00+00:00,,ads,,\n"
    row = pd.read_csv(io.StringIO(text)).to_dict("records")[0]
    assert math.isnan(row["region"]) and math.isnan(row["campaign"])  # what pandas hands over
    lead = lr.Lead.from_row(row)
    assert (lead.region, lead.source, lead.score, lead.features) == ("", "ads", None, {})
    assert lr.Lead.from_row(dict(row)) == lead  # a retry of the same row is the same lead
    frame = pd.DataFrame({"id": ["L2"], "arrived_at": [pd.NaT]})
    with pytest.raises(InvalidValueError, match="no 'arrived_at' value"):
        lr.Lead.from_row(frame.to_dict("records")[0])
    typed = pd.DataFrame({"id": ["L3"], "arrived_at": [T0], "region": [pd.NA]}).astype(
        {"region": "string"}
    )
    assert lr.Lead.from_row(typed.to_dict("records")[0]).region == ""


def test_from_row_names_the_bad_column() -> None:
    with pytest.raises(InvalidValueError, match="'score'"):
        lr.Lead.from_row({"id": "L1", "arrived_at": T0, "score": "high"})
    with pytest.raises(NaiveDatetimeError):
        lr.Lead.from_row({"id": "L1", "arrived_at": "2026-01-05 10:30"})
    with pytest.raises(InvalidValueError, match="no 'arrived_at'"):
        lr.Lead.from_row({"id": "L1"})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("region", ["north"]),
        ("contact", ["+86-1", "+86-2"]),
        ("source", {"utm": "x"}),
        ("score", True),
        ("id", ["L1"]),
    ],
)
def test_from_row_refuses_a_json_list_object_or_boolean_where_one_value_goes(
    key: str, value: object
) -> None:
    """str() of them ("['north']") would be routed on as a region no rep has, and true a
    score of 1.0: a webhook gets the 400 that Lead(...) gives for the same value."""
    row = {"id": "L1", "arrived_at": T0, key: value}
    with pytest.raises(InvalidValueError, match=f"column '{key}': one value is needed"):
        lr.Lead.from_row(row)
    assert lr.Lead.from_row({"id": "L1", "arrived_at": T0, "tags": ["a", "b"]}).features == {
        "tags": ["a", "b"]
    }


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


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: lr.Rep("a", tier="x"), "Rep.tier must be a whole number, got str 'x'"),
        (lambda: lr.Rep("a", tier=True), "Rep.tier must be a whole number, got bool True"),
        (lambda: lr.Rep("a", active="no"), "Rep.active must be True or False"),
        (lambda: lr.Lifecycle(reroute="yes"), "Lifecycle.reroute must be True or False"),
        (lambda: lr.Lifecycle(working_hours=3), "Lifecycle.working_hours must be a Schedule"),
        (lambda: lr.Arrived("L-1"), "Arrived.lead must be a Lead, got str 'L-1'"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_named_type_error(make, says) -> None:
    with pytest.raises(lr.errors.InvalidTypeError, match=re.escape(says)) as caught:
        make()
    assert isinstance(caught.value, TypeError) and "write e.g." in str(caught.value)


def test_a_frozen_map_pickled_in_another_process_hashes_as_that_process_does() -> None:
    """A FrozenMap's hash is cached, and string hashes differ between processes: the pickle
    carries the items, never the cached hash."""
    import os
    import pickle
    import subprocess
    import sys

    from leadrouter._util import FrozenMap

    original = FrozenMap({"region": "north", "segment": "smb"})
    hash(original)  # cache it
    code = (
        "import pickle, sys\n"
        "from leadrouter._util import FrozenMap\n"
        "m = pickle.loads(sys.stdin.buffer.read())\n"
        "fresh = FrozenMap({'region': 'north', 'segment': 'smb'})\n"
        "print(hash(m) == hash(fresh), m in {fresh}, m == fresh)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=pickle.dumps(original),
        capture_output=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert result.stdout.decode().split() == ["True", "True", "True"]


def test_a_negative_tier_and_a_shift_of_no_day_are_refused() -> None:
    with pytest.raises(lr.ConfigError, match=r"Rep\.tier must be a whole number >= 0, got -1"):
        lr.Rep("a", tier=-1)
    with pytest.raises(lr.ConfigError, match=r"has no day, so the rep would never be on shift"):
        lr.Shift("UTC", weekdays=())
    assert lr.Rep("a", tier=2).tier == 2 and lr.Shift("UTC", weekdays={5}).weekdays == {5}


def test_explain_lists_tied_scores_by_rep_id_whatever_order_the_mapping_has() -> None:
    """Fast and plain weighted paths build the same scores from equal sets of reps that can
    iterate in different orders: the words must not follow that order."""
    one = lr.Decision("L1", "r2", "assigned", T0, "s", scores={"r5": 0.5, "r1": 0.5, "r2": 0.9})
    other = attrs.evolve(one, scores={"r2": 0.9, "r1": 0.5, "r5": 0.5})
    assert one.explain() == other.explain()
    assert one.explain().splitlines()[-1] == "  scores: r2=0.9, r1=0.5, r5=0.5"


def test_a_roster_is_a_mapping_whose_get_answers_none_for_a_stranger() -> None:
    roster = lr.Roster([lr.Rep("ana")])
    assert roster.get("ana") == lr.Rep("ana") and roster.get("zed") is None
    with pytest.raises(lr.UnknownRepError, match="not on the roster"):
        roster["zed"]


@given(
    st.dictionaries(st.sampled_from("abcd"), st.integers()),
    st.one_of(st.sampled_from("abcdz"), st.integers(), st.none()),
)
def test_a_frozen_maps_get_and_in_answer_as_its_dicts(data: dict[str, int], key: object) -> None:
    """`get` (with and without a default) and `in` on a FrozenMap answer as on the dict it
    holds, for any key, one of another type included (they are the dict's own, not the
    Mapping mixin's, which catches a KeyError for every missing key)."""
    from leadrouter._util import FrozenMap

    frozen = FrozenMap(data)
    assert frozen.get(key) == data.get(key)
    assert frozen.get(key, -1) == data.get(key, -1)
    assert (key in frozen) == (key in data)
