"""Days of a shift are written as a playbook author writes them: numbers (0 = Monday), English
names in any case, Chinese names (周一, 星期一, 礼拜一; 周日 / 周天), and ranges ("Mon-Fri",
"周一至周五"), in a list or as one text; an item that is no day is named with the days spelt
out, so nobody reads 1 as Monday."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter.playbooks import PlaybookError, read_playbook

ENGLISH = (
    ("Mon", "Monday"),
    ("Tue", "Tues", "Tuesday"),
    ("Wed", "Wednesday"),
    ("Thu", "Thur", "Thurs", "Thursday"),
    ("Fri", "Friday"),
    ("Sat", "Saturday"),
    ("Sun", "Sunday"),
)
CHINESE = tuple(
    tuple(prefix + numeral for prefix in ("周", "星期", "礼拜") for numeral in numerals)
    for numerals in ("一", "二", "三", "四", "五", "六", "日天")
)
RANGE_SEPARATORS = ("-", "–", "~", "至", "到", " - ", " 至 ")


@st.composite
def spelling(draw: st.DrawFn, day: int) -> str | int:
    """One way of writing `day`: its number, an English name in some case, a Chinese name."""
    kind = draw(st.sampled_from(["number", "english", "chinese"]))
    if kind == "number":
        return day
    if kind == "chinese":
        return draw(st.sampled_from(CHINESE[day]))
    name = draw(st.sampled_from(ENGLISH[day]))
    case = draw(st.sampled_from([str.lower, str.upper, str.title, str.swapcase, str]))
    return case(name)


@st.composite
def written(draw: st.DrawFn, days: frozenset[int]) -> object:
    """`days` written some way: each day alone or runs of days as ranges, in a list or (when
    every part is a name) as one text joined by a list separator."""
    ordered = sorted(days)
    runs: list[list[int]] = []
    for day in ordered:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str | int] = []
    for run in runs:
        if len(run) > 1 and draw(st.booleans()):
            first, last = draw(st.sampled_from(CHINESE[run[0]] + ENGLISH[run[0]])), None
            last = draw(st.sampled_from(CHINESE[run[-1]] + ENGLISH[run[-1]]))
            parts.append(f"{first}{draw(st.sampled_from(RANGE_SEPARATORS))}{last}")
        else:
            parts.extend(draw(spelling(day)) for day in run)
    parts = draw(st.permutations(parts))
    if all(isinstance(part, str) for part in parts) and draw(st.booleans()):
        separator = draw(st.sampled_from([", ", ",", "; ", "、", "，"]))
        return separator.join(str(part) for part in parts)
    return parts


@settings(max_examples=200, deadline=None)
@given(data=st.data(), days=st.frozensets(st.integers(0, 6), min_size=1))
def test_any_spelling_of_the_days_is_the_same_shift_as_their_numbers(
    data: st.DataObject, days: frozenset[int]
) -> None:
    value = data.draw(written(days), label="weekdays")
    assert lr.Shift("Asia/Shanghai", weekdays=value) == lr.Shift("Asia/Shanghai", weekdays=days)


@pytest.mark.parametrize(
    ("value", "days"),
    [
        (["周一", "周二"], {0, 1}),
        (["Mon", "Tue"], {0, 1}),
        ("Mon-Fri", {0, 1, 2, 3, 4}),
        ("周一至周五", {0, 1, 2, 3, 4}),
        ("周一至五", {0, 1, 2, 3, 4}),  # the end without its prefix, as people write it
        ("星期一到星期三", {0, 1, 2}),
        ("Mon–Wed, Fri", {0, 1, 2, 4}),
        ("Sat~Mon", {5, 6, 0}),  # a range runs forward, over the weekend
        (["礼拜天", "周天", "星期日", "SUNDAY"], {6}),
        ("mon.", {0}),
    ],
)
def test_names_and_ranges(value: object, days: set[int]) -> None:
    assert lr.Shift(weekdays=value).weekdays == days  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (["Mon", "Funday"], 'Shift.weekdays: "Funday" is not a day: days are 0 = Monday, '),
        ([7, "周八"], 'Shift.weekdays: 7 is not a day; "周八" is not a day: days are 0 = Monday'),
        ("Mon-Funday", '"Funday" in "Mon-Funday" is not a day'),
        ("Mon-Wed-Fri", '"Mon-Wed-Fri" is not a day or a range of days'),
        ("1-5", '"1" in "1-5" is not a day'),  # numbers are numbers, not text
    ],
)
def test_an_item_that_is_no_day_is_named_with_the_days_spelt_out(value: object, said: str) -> None:
    with pytest.raises(lr.ConfigError) as info:
        lr.Shift(weekdays=value)  # type: ignore[arg-type]
    message = str(info.value)
    assert said in message
    assert "6 = Sunday, or names like 'Mon' / 'Monday' / '周一' / '星期一'" in message


def test_a_value_of_the_wrong_kind_is_a_type_error_naming_the_field() -> None:
    for value in (3, None, {"Mon": 1}, [True], [2.5]):
        with pytest.raises(lr.InvalidTypeError, match=r"Shift\.weekdays must be a set of days"):
            lr.Shift(weekdays=value)  # type: ignore[arg-type]


def test_a_playbook_writes_days_by_name(tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text(
        """
[strategy]
name = "EqualRotation"

[[rules]]
name = "schedule"
default = { tz = "Asia/Shanghai", weekdays = ["周一", "周二", "周三", "周四", "周五"] }
shifts = { "王芳" = { tz = "Asia/Shanghai", weekdays = "周二至周六" } }

[lifecycle]
first_touch_sla = "30m"
working_hours = { tz = "Asia/Shanghai", weekdays = "Mon-Fri" }

[[reps]]
id = "王芳"

[[reps]]
id = "张伟"
""",
        encoding="utf-8",
    )
    settings = read_playbook(path)
    schedule = settings["rules"][0]
    assert schedule.default.weekdays == {0, 1, 2, 3, 4}
    assert schedule.shifts["王芳"].weekdays == {1, 2, 3, 4, 5}
    assert settings["lifecycle"].working_hours.default.weekdays == {0, 1, 2, 3, 4}
    path.write_text(
        path.read_text(encoding="utf-8").replace('"周二至周六"', '["周二", "Funday", 9]'),
        encoding="utf-8",
    )
    with pytest.raises(PlaybookError) as info:
        read_playbook(path)
    assert (
        'rules[0].shifts."王芳": Shift.weekdays: "Funday" is not a day; 9 is not a day: days are '
        "0 = Monday, 1 = Tuesday" in str(info.value)
    )
