"""Value objects: Lead, Rep, Shift, Reason and Decision.

All are frozen, slotted attrs classes with validators, so a bad value fails where it is made,
with a message naming the field, instead of surfacing later as a wrong routing decision.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, TypeVar

import attrs

from leadrouter._util import EMPTY, FrozenMap, check_aware, check_id, freeze, instant, plural
from leadrouter._validators import (
    amount_field,
    is_iterable,
    lenient,
    mapping_field,
    of_type,
    optional_amount_field,
    score_field,
    set_of,
    valid_zone,
    whole_number,
    zone,
)
from leadrouter._written import AS_WRITTEN, DAYS_WRITTEN
from leadrouter._written import weekdays as read_weekdays
from leadrouter.errors import (
    ConfigError,
    InvalidTypeError,
    InvalidValueError,
    NaiveDatetimeError,
    NotALeadError,
)

__all__ = ["Decision", "Lead", "Reason", "Rep", "Shift", "zone"]

_T = TypeVar("_T")

LEAD_FIELDS = (
    "id",
    "arrived_at",
    "source",
    "region",
    "product",
    "segment",
    "grade",
    "score",
    "contact",
    "cost",
)


def _v_id(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    check_id(value, f"{type(inst).__name__}.{attr.name}")


def _v_aware(inst: object, attr: attrs.Attribute[Any], value: datetime) -> None:
    check_aware(value, f"{type(inst).__name__}.{attr.name}")


def _v_str(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise InvalidValueError(
            f"{type(inst).__name__}.{attr.name} must be a string, got {type(value).__name__} "
            f"{value!r}"
        )


def _v_opt_str(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _v_str(inst, attr, value)


def str_set(value: Iterable[str] | str) -> frozenset[str]:
    """A set of names from a collection of them, or one name ("" for none)."""
    if isinstance(value, str):
        return frozenset({value}) if value else frozenset()
    return frozenset(is_iterable(value))


def _v_number(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise InvalidTypeError(
            f"{type(inst).__name__}.{attr.name} must be a number or None, got "
            f"{type(value).__name__} {value!r}"
        )


# The converters' parameter types are what a type checker takes each field's argument to be
# (attrs uses the converter's signature for __init__), so they say what a caller should pass;
# at run time anything else passes through for the field's validator to name.


def _to_names(value: Iterable[str]) -> frozenset[str]:
    found: frozenset[str] = lenient(str_set, value)
    return found


def _to_map(value: Mapping[str, Any]) -> FrozenMap[Any]:
    """A mapping frozen; anything else as given, for the field's validator to name."""
    return freeze(value) if isinstance(value, Mapping) else value


def _dict_repr(value: FrozenMap[Any]) -> str:
    return repr(dict(value))


@attrs.frozen
class Lead:
    """A prospect's contact record bought or collected from a source (线索 / 资源).

    Only `id` and `arrived_at` are required; the rest describe the lead for rules, strategies and
    reports. `arrived_at` must be timezone-aware. `features` holds anything else an export carries.

    Ranges, checked here so a wrong scale fails where the lead is made rather than silently
    changing what rules do: `score` is None or in 0-1 (the one scale of every rule, playbook and
    grader; divide a 0-100 score by 100), `cost` a finite number >= 0. Out of range raises
    `OutOfRangeError`; a value of the wrong kind (text, NaN) `InvalidValueError`.
    """

    id: str = attrs.field(validator=_v_id)
    arrived_at: datetime = attrs.field(validator=_v_aware)
    source: str = attrs.field(default="", kw_only=True, validator=_v_str)
    region: str = attrs.field(default="", kw_only=True, validator=_v_str)
    product: str = attrs.field(default="", kw_only=True, validator=_v_str)
    segment: str = attrs.field(default="", kw_only=True, validator=_v_str)
    grade: str | None = attrs.field(default=None, kw_only=True, validator=_v_opt_str)
    score: float | None = attrs.field(default=None, kw_only=True, validator=score_field)
    contact: str | None = attrs.field(default=None, kw_only=True, validator=_v_opt_str)
    cost: float = attrs.field(default=0.0, kw_only=True, validator=amount_field)
    features: FrozenMap[Any] = attrs.field(
        default=EMPTY,
        kw_only=True,
        converter=_to_map,
        validator=mapping_field("{'campaign': 'spring'}"),
        repr=_dict_repr,
    )

    @classmethod
    def from_row(cls, row: Mapping[Any, Any], *, tz: str | None = None) -> Lead:
        """Build a Lead from one row of a CRM export or webhook payload.

        Keys named like Lead fields fill them (`lead_id` is accepted for `id`); any other key goes
        into `features`. Strings are parsed: ISO-8601 times, numbers for score and cost. An empty
        cell means "not given", however the row holds it (an empty or blank string, None, or
        the NaN / NA / NaT a pandas or CSV row has), and a feature not given is left out: a
        blank region stays blank (not the text 'nan'), and a webhook retry of the same row is
        the same lead. A naive time needs `tz` (an IANA zone such as "Asia/Shanghai").
        A score must already be 0-1: one row cannot show its scale, so a 0-100 score raises
        `OutOfRangeError` (divide it by 100; `load_export` does that for a whole 0-100 column).
        Errors name the key that was wrong.
        """
        data = dict(row)
        if "lead_id" in data and "id" not in data:
            data["id"] = data.pop("lead_id")
        for required in ("id", "arrived_at"):
            if required not in data or _not_given(data[required]):
                raise InvalidValueError(
                    f"Lead.from_row: the row has no {required!r} value: {row!r}"
                )
        kwargs: dict[str, Any] = {}
        features: dict[str, Any] = dict(data.pop("features", None) or {})
        for key, value in data.items():
            if _not_given(value):
                value = None
            if key not in LEAD_FIELDS:
                if value is not None:
                    features[key] = value
                continue
            try:
                kwargs[key] = _parse_field(key, value, tz)
            except NaiveDatetimeError as exc:
                raise NaiveDatetimeError(
                    f"Lead.from_row: column {key!r} holds a time without a zone ({value!r}): "
                    "pass tz='Asia/Shanghai' (or your zone) to Lead.from_row"
                ) from exc
            except (TypeError, ValueError) as exc:
                raise InvalidValueError(f"Lead.from_row: column {key!r}: {exc}") from exc
        return cls(**kwargs, features=features)


def _not_given(value: Any) -> bool:
    """Whether a row's cell is empty: None, a blank string, a float NaN, or pandas' NA / NaT
    (told by type name, so pandas need not be imported)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return value != value
    return type(value).__name__ in ("NAType", "NaTType")


_NOT_ONE_VALUE = (list, tuple, set, frozenset, dict, bytes, bool)
"""What a row's cell for a text or number field cannot be: JSON's arrays, objects and true /
false (str() of them, "['north']" or "True", would be routed on as if it were the value)."""


def _parse_field(key: str, value: Any, tz: str | None) -> Any:
    if isinstance(value, _NOT_ONE_VALUE) and key != "arrived_at":
        raise ValueError(
            f"one value is needed, a text or a number, got {type(value).__name__} {value!r}; "
            "several values go under another key, into features"
        )
    if key == "id":
        return str(value).strip()
    if key == "arrived_at":
        return parse_time(value, tz)
    if key in ("score", "cost"):
        if value is None or value == "":
            return None if key == "score" else 0.0
        return float(value)
    if key in ("grade", "contact"):
        return None if value is None or value == "" else str(value)
    return "" if value is None else str(value)


def parse_time(value: Any, tz: str | None) -> datetime:
    """A datetime from a datetime or ISO-8601 string; naive values get `tz`, or fail."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip())
    if not isinstance(value, datetime):
        raise InvalidValueError(f"expected a time, got {type(value).__name__} {value!r}")
    if value.tzinfo is None:
        if tz is None:
            return check_aware(value, "time")
        value = value.replace(tzinfo=zone(tz))
    result: datetime = value
    return result


@attrs.frozen
class Rep:
    """A sales person who follows leads up (销售员 / 顾问).

    Empty `regions` (or `skills`) means a generalist who may take any region (skill). `tier` ranks
    reps for tiered delay (0 = top). `quota` is the rep's target for the period; `profile` holds
    what matching strategies compare with lead features. An inactive rep gets no new leads.
    """

    id: str = attrs.field(validator=_v_id)
    team: str = attrs.field(default="", kw_only=True, validator=_v_str)
    tier: int = attrs.field(default=0, kw_only=True, validator=[of_type(int, "1"), whole_number()])
    regions: frozenset[str] = attrs.field(
        default=frozenset(),
        kw_only=True,
        converter=_to_names,
        validator=set_of(str, "{'north', 'east'}"),
    )
    skills: frozenset[str] = attrs.field(
        default=frozenset(), kw_only=True, converter=_to_names, validator=set_of(str, "{'solar'}")
    )
    quota: float | None = attrs.field(default=None, kw_only=True, validator=optional_amount_field)
    profile: FrozenMap[Any] = attrs.field(
        default=EMPTY,
        kw_only=True,
        converter=_to_map,
        validator=mapping_field("{'segment': 'smb'}"),
        repr=_dict_repr,
    )
    active: bool = attrs.field(default=True, kw_only=True, validator=of_type(bool, "False"))


def _v_weekdays(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    """Some of the days 0 (Monday) to 6 (Sunday), as `_to_days` read them; else why not, the
    item that is no day named (the converter leaves a value it cannot read as given)."""
    if isinstance(value, frozenset) and value <= _WEEK and value:
        return
    if isinstance(value, frozenset) and value <= _WEEK:
        raise ConfigError(
            "Shift.weekdays has no day, so the rep would never be on shift: write e.g. "
            "weekdays={0, 1, 2, 3, 4} or ['Mon-Fri'] for Monday to Friday (0 is Monday)"
        )
    try:
        read_weekdays(value)
    except TypeError as exc:
        collection = isinstance(value, Iterable) and not isinstance(value, bytes | Mapping)
        raise InvalidTypeError(
            f"Shift.weekdays must be a set of days, got {type(value).__name__} {value!r}"
            + (f" ({exc})" if collection else "")
            + f": {DAYS_WRITTEN}"
        ) from None
    except ValueError as exc:
        raise ConfigError(f"Shift.weekdays: {exc}: {DAYS_WRITTEN} (got {value!r})") from None
    raise InvalidTypeError(f"Shift.weekdays must be a set of days, got {value!r}: {DAYS_WRITTEN}")


def _frozen(value: Iterable[_T]) -> frozenset[_T]:
    found: frozenset[_T] = lenient(lambda items: frozenset(is_iterable(items)), value)
    return found


_WEEK = frozenset(range(7))


def _to_days(value: Iterable[int | str] | str) -> frozenset[int]:
    """Days as numbers, from numbers or names ("Mon", "周一", "Mon-Fri", "周一至周五")."""
    found: frozenset[int] = lenient(read_weekdays, value)
    return found


def _to_dates(value: Iterable[date]) -> frozenset[date]:
    return _frozen(value)


def _to_breaks(value: Iterable[tuple[time, time]]) -> tuple[tuple[time, time], ...]:
    """Pairs as tuples (a playbook writes lists); anything else as given, for `_v_breaks`."""
    found: tuple[tuple[time, time], ...] = lenient(
        lambda pairs: tuple(tuple(p) if isinstance(p, list) else p for p in is_iterable(pairs)),
        value,
    )
    return found


def _v_breaks(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    pairs = isinstance(value, tuple) and all(
        isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(t, time) for t in pair)
        for pair in value
    )
    if not pairs:
        raise InvalidTypeError(
            f"Shift.breaks holds (start, end) pairs of times, got {type(value).__name__} "
            f"{value!r}: write e.g. breaks=[(time(12), time(13, 30))]"
        )


_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@attrs.frozen
class Shift:
    """Working hours of one rep: `start`-`end` local time on `weekdays` (0 = Monday; or names,
    "Mon", "周一", and ranges, "Mon-Fri", "周一至周五"), in `tz`, except `days_off`, and on
    `workdays` too (调休: a Saturday worked in exchange for a holiday);
    `breaks` are times off inside the shift, each (start, end) in local time (午休 12:00-13:30:
    nobody is on shift then, and an SLA's clock stops). An `end` earlier than `start` is a night
    shift running past midnight.

    Times are evaluated in the rep's own zone, never the machine's, so a Shanghai rep and a Berlin
    rep are each on shift in their own daytime.
    """

    tz: str = attrs.field(default="UTC", validator=valid_zone)
    start: time = attrs.field(default=time(9), kw_only=True, validator=of_type(time, "time(9)"))
    end: time = attrs.field(default=time(18), kw_only=True, validator=of_type(time, "time(18)"))
    weekdays: frozenset[int] = attrs.field(
        default=frozenset(range(5)),
        kw_only=True,
        converter=_to_days,
        validator=_v_weekdays,
        metadata={AS_WRITTEN: True},
    )
    days_off: frozenset[date] = attrs.field(
        default=frozenset(),
        kw_only=True,
        converter=_to_dates,
        validator=set_of(date, "{date(2026, 1, 1)}"),
    )
    workdays: frozenset[date] = attrs.field(
        default=frozenset(),
        kw_only=True,
        converter=_to_dates,
        validator=set_of(date, "{date(2026, 9, 27)}"),
    )
    breaks: tuple[tuple[time, time], ...] = attrs.field(
        default=(), kw_only=True, converter=_to_breaks, validator=_v_breaks
    )

    def __attrs_post_init__(self) -> None:
        if self.start == self.end:
            raise ConfigError("Shift.start equals Shift.end: a shift must have some working time")
        length = self._offset(self.end)
        previous = timedelta(0)
        for item in self.breaks:
            begin, end = self._offset(item[0]), self._offset(item[1])
            if not previous <= begin < end <= length:
                raise ConfigError(
                    f"Shift.breaks: {item[0]:%H:%M}-{item[1]:%H:%M} must lie inside the shift "
                    f"{self.start:%H:%M}-{self.end:%H:%M}, after any earlier break, and end after "
                    "it starts"
                )
            previous = end

    def _offset(self, at: time) -> timedelta:
        """How far into the shift the local time `at` is (past midnight for a night shift)."""
        since = datetime.combine(date.min, at) - datetime.combine(date.min, self.start)
        return since if since > timedelta(0) or at == self.start else since + timedelta(days=1)

    def describe(self) -> str:
        """The shift in words, as a person checks it: "09:00-18:00 Mon-Fri, Asia/Shanghai"
        (weekdays by name, so `weekdays = [1, 2, 3, 4, 5]` reads as the Tue-Sat it means)."""
        days = sorted(self.weekdays)
        runs: list[list[int]] = []
        for day in days:
            if runs and day == runs[-1][-1] + 1:
                runs[-1].append(day)
            else:
                runs.append([day])
        named = ", ".join(
            _DAY_NAMES[run[0]] if len(run) == 1 else f"{_DAY_NAMES[run[0]]}-{_DAY_NAMES[run[-1]]}"
            for run in runs
        )
        off = f" ({plural(len(self.days_off), 'day')} off)" if self.days_off else ""
        extra = f" (and {plural(len(self.workdays), 'workday')})" if self.workdays else ""
        pauses = "".join(f", break {a:%H:%M}-{b:%H:%M}" for a, b in self.breaks)
        return f"{self.start:%H:%M}-{self.end:%H:%M}{pauses} {named}{extra}, {self.tz}{off}"

    def _intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """Working intervals that start on local `day`, in UTC: their lengths and the times
        measured against them are real elapsed time (a night shift across a daylight-saving
        change is 7 or 9 hours, not 8), whatever zone a caller's times carry."""
        if (day.weekday() not in self.weekdays and day not in self.workdays) or (
            day in self.days_off
        ):
            return []
        tzinfo = zone(self.tz)
        edges = [self.start]
        for pause in self.breaks:
            edges.extend(pause)
        edges.append(self.end)
        out = []
        for begin_at, end_at in zip(edges[::2], edges[1::2], strict=True):
            begin = datetime.combine(
                day + (timedelta(days=1) if begin_at < self.start else timedelta(0)),
                begin_at,
                tzinfo,
            )
            finish = datetime.combine(
                day + (timedelta(days=1) if end_at <= self.start else timedelta(0)), end_at, tzinfo
            )
            out.append((begin.astimezone(UTC), finish.astimezone(UTC)))
        return out

    def _around(
        self, at: datetime, days_back: int, days_ahead: int
    ) -> list[tuple[datetime, datetime]]:
        local = at.astimezone(zone(self.tz)).date()
        out: list[tuple[datetime, datetime]] = []
        for offset in range(-days_back, days_ahead + 1):
            out.extend(self._intervals(local + timedelta(days=offset)))
        return out

    def is_on(self, at: datetime) -> bool:
        """True when `at` falls inside a working interval."""
        at = instant(at)
        return any(begin <= at < finish for begin, finish in self._around(at, 1, 0))

    def next_change(self, at: datetime) -> datetime:
        """The first moment after `at` when `is_on` may flip (a shift starts or ends)."""
        horizon = 8 + len(self.days_off)
        at = instant(at)
        edges = [t for pair in self._around(at, 1, horizon) for t in pair if t > at]
        return min(edges) if edges else at + timedelta(days=horizon)

    def working_time(self, begin: datetime, end: datetime) -> timedelta:
        """Working time between two instants (zero if `end` <= `begin`)."""
        begin, end = instant(begin), instant(end)
        if end <= begin:
            return timedelta(0)
        days = (end - begin).days + 2
        total = timedelta(0)
        for a, b in self._around(begin, 1, days):
            lo, hi = max(a, begin), min(b, end)
            if hi > lo:
                total += hi - lo
        return total

    def add_working_time(self, begin: datetime, amount: timedelta) -> datetime:
        """The instant when `amount` of working time has passed since `begin`."""
        remaining = amount
        cursor = instant(begin)
        local = zone(self.tz)
        for _ in range(3660):
            after = datetime.combine(cursor.astimezone(local).date() + timedelta(days=8), time(0))
            for a, b in self._around(cursor, 1, 7):
                lo = max(a, cursor)
                if b <= lo:
                    continue
                if b - lo >= remaining:
                    return lo + remaining
                remaining -= b - lo
                cursor = b
            # the intervals of the days looked at are used up: go on from the first day after
            # them (jumping a week from the last interval's end skipped a week's working time)
            cursor = max(cursor, after.replace(tzinfo=local).astimezone(UTC))
        raise ConfigError(f"{self!r} has no working time in ten years: check weekdays and days_off")


ReasonCode = Literal[
    "chosen",
    "excluded",
    "capped",
    "pooled",
    "waiting",
    "refused",
    "retry",
    "dedup",
    "skipped",
    "moved",
]
"""Every code the router writes in a `Reason` (docs/embedding.md lists what each means)."""
REASON_CODES: tuple[ReasonCode, ...] = typing.get_args(ReasonCode)


def _v_code(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    _v_str(inst, attr, value)
    if value not in REASON_CODES:
        raise InvalidValueError(
            f"Reason.code must be one of {', '.join(REASON_CODES)}, got {value!r}"
        )


@attrs.frozen
class Reason:
    """One line of a decision's explanation.

    `code` says what kind of line it is; `reps` are the reps it concerns (e.g. every rep a rule
    excluded); `rule` names the rule, cap or strategy; `detail` says why in words.
    """

    code: ReasonCode = attrs.field(validator=_v_code)
    detail: str = attrs.field(validator=_v_str)
    reps: frozenset[str] = attrs.field(
        default=frozenset(), converter=_to_names, validator=set_of(str, "{'wang'}")
    )
    rule: str = attrs.field(default="", validator=_v_str)

    def __str__(self) -> str:
        who = ""
        if self.reps:
            names = sorted(self.reps)
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            who = f" [{shown}]"
        source = f" ({self.rule})" if self.rule else ""
        return f"{self.code}{source}: {self.detail}{who}"


Action = Literal["assigned", "pooled", "claimed", "refused"]
ACTIONS: tuple[Action, ...] = typing.get_args(Action)


def _v_action(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if value not in ACTIONS:
        raise InvalidValueError(
            f"Decision.action must be one of {', '.join(ACTIONS)}, got {value!r}"
        )


def _v_reasons(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not all(isinstance(r, Reason) for r in value):
        raise InvalidTypeError(
            f"Decision.reasons must be a tuple of Reason, got {type(value).__name__} {value!r}: "
            'write e.g. reasons=(Reason("chosen", "why"),)'
        )


@attrs.frozen
class Decision:
    """What the router did (or, from `preview`, would do) with one lead, and why.

    `rep_id` is the rep who got the lead, or None when it was left in (or stays in) the pool
    named by `pool`. `reasons` list every rep excluded and why, every cap hit and which rule sent
    the lead to which pool. `scores` are the strategy's scores per rep, when it has any.
    """

    lead_id: str = attrs.field(validator=_v_str)
    rep_id: str | None = attrs.field(validator=_v_opt_str)
    action: Action = attrs.field(validator=_v_action)
    at: datetime = attrs.field(validator=_v_aware)
    by: str = attrs.field(default="", validator=_v_str)
    pool: str | None = attrs.field(default=None, validator=_v_opt_str)
    reasons: tuple[Reason, ...] = attrs.field(default=(), validator=_v_reasons)
    scores: FrozenMap[float] = attrs.field(
        default=EMPTY, converter=_to_map, validator=mapping_field("{'wang': 0.5}"), repr=_dict_repr
    )
    propensity: float | None = attrs.field(default=None, validator=_v_number)

    @property
    def ok(self) -> bool:
        """True when the lead went to a rep (assigned or claimed)."""
        return self.rep_id is not None

    def explain(self) -> str:
        """The decision as readable text, one reason a line."""
        if self.action == "refused":
            head = f"lead {self.lead_id}: claim refused"
        elif self.rep_id is not None:
            head = f"lead {self.lead_id} -> {self.rep_id} ({self.action} by {self.by or 'router'})"
        else:
            head = f"lead {self.lead_id} -> pool {self.pool!r}"
        head += f" at {self.at.isoformat()}"
        lines = [head, *(f"  - {reason}" for reason in self.reasons)]
        if self.scores:
            # ties by rep id: the words must not depend on the order a set of reps iterates in
            top = sorted(self.scores.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
            lines.append("  scores: " + ", ".join(f"{rep}={score:.3g}" for rep, score in top))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The decision in a notebook: the head line of `explain()` (lead, rep or pool, by
        whom, when), one row per reason, and the top scores."""
        from leadrouter._html import render

        head, *lines = self.explain().splitlines()
        rows = [(r.code, r.rule, r.detail, ", ".join(sorted(r.reps))) for r in self.reasons]
        notes = [line.strip() for line in lines[len(self.reasons) :]]
        header = ("reason", "rule", "detail", "reps")
        return render(f"Decision: {head}", rows, header=header, notes=notes)


def not_a_lead(value: object, where: str, *, many: bool = False) -> NotALeadError:
    """The error for `value` passed to `where` in place of a Lead (with `many`, in place of a
    list of Leads), saying how to build one: from an id (`Lead(id=..., arrived_at=...)`) or from
    a CRM row (`Lead.from_row(row)`)."""
    wanted = "a list of Leads" if many else "a Lead"
    build = 'Lead(id="L-9", arrived_at=datetime(..., tzinfo=timezone.utc), ...)'
    if many and isinstance(value, Lead):
        return NotALeadError(
            f"{where} takes {wanted}, got a single Lead ({value.id!r}): pass [lead], or call "
            "route(lead)"
        )
    if isinstance(value, str):
        return NotALeadError(
            f"{where} takes {wanted}, got the string {value!r}: build a Lead with "
            f"Lead(id={value!r}, arrived_at=datetime(..., tzinfo=timezone.utc), ...); to act on "
            "a lead already routed, pass its id to claim(), release() or why()"
        )
    if isinstance(value, Mapping):
        return NotALeadError(
            f"{where} takes {wanted}, got a {type(value).__name__}: build a Lead with "
            f"Lead.from_row(row) (keys named like Lead fields fill them, others go to features) "
            f"or {build}"
        )
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return NotALeadError(
        f"{where} takes {wanted}, got {type(value).__name__} {shown}: build a Lead with {build} "
        "or Lead.from_row(row)"
    )


def lead_id_arg(value: object, where: str) -> str:
    """`value` as the lead id a method such as `Router.claim` takes; a Lead passed in its place
    is an InvalidValueError saying to pass `lead.id` (else the lookup would report a lead that
    "never arrived")."""
    if isinstance(value, str):
        return value
    if isinstance(value, Lead):
        raise InvalidValueError(
            f"{where} takes a lead id, got the Lead {value.id!r} itself: pass lead.id"
        )
    raise InvalidValueError(
        f"{where} takes a lead id (a string), got {type(value).__name__} {value!r}"
    )
