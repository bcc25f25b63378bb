"""Validators shared by the value objects, caps, lifecycle, rules and strategies, so every value
of one kind is checked the same way and fails with the same kind of message.

Settings (caps, lifecycle, strategies, rule thresholds) fail with a ConfigError naming the class,
the setting and what is allowed. Lead and Rep fields fail with an InvalidValueError (a value of
the wrong kind) or its subclass OutOfRangeError (a number outside its range). Anything other than
a Lead where a Lead is needed is a NotALeadError that says how to build one.

This module imports only `leadrouter.errors` and `leadrouter._util` at load time, so
`leadrouter.model` can use it.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, timedelta, timezone
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import attrs

from leadrouter._util import FrozenMap
from leadrouter.errors import (
    ConfigError,
    InvalidTypeError,
    InvalidValueError,
    LeadRouterError,
    OutOfRangeError,
)

__all__ = [
    "SCORE_SCALE",
    "amount_field",
    "cap_limit",
    "count_field",
    "is_iterable",
    "lenient",
    "mapping_field",
    "non_negative_number",
    "number_field",
    "of_type",
    "optional_amount_field",
    "positive_duration",
    "posix_sign",
    "propensity_field",
    "score_field",
    "score_threshold",
    "set_of",
    "to_map",
    "tuple_of",
    "valid_zone",
    "whole_number",
    "zone",
    "zone_hint",
]

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]
T = TypeVar("T")

SCORE_SCALE = "scores are 0-1"
"""What every message about a score outside 0-1 says: the one scale leadrouter uses."""


def zone(name: str) -> ZoneInfo | timezone:
    """The tz database zone `name`, or a ConfigError that says how to spell one: the zone a name
    people write for it means (`UTC+8`, `GMT+8`, `Beijing`, `北京时间`: 'Asia/Shanghai'; `UTC+9`:
    'Etc/GMT-9', its sign explained), or else an IANA name such as 'Asia/Shanghai'."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        hint = zone_hint(name) or "use an IANA name such as 'UTC' or 'Asia/Shanghai'"
        raise ConfigError(f"unknown time zone {name!r}: {hint}") from exc


_BEIJING = "Beijing time (UTC+8, China Standard Time) is 'Asia/Shanghai'"
_ZONE_WORDS = {
    **dict.fromkeys(
        (
            "beijing",
            "beijingtime",
            "北京",
            "北京时间",
            "东八区",
            "东8区",
            "china",
            "chinastandardtime",
            "中国",
            "中国时间",
            "中国标准时间",
            "shanghai",
            "上海",
            "asia/beijing",
        ),
        _BEIJING,
    ),
    "cst": (
        "CST is China Standard Time or US Central Standard Time: write 'Asia/Shanghai' for "
        "China, 'America/Chicago' for US Central"
    ),
    **dict.fromkeys(("hongkong", "香港", "hkt"), "Hong Kong time is 'Asia/Hong_Kong'"),
    **dict.fromkeys(("taipei", "台北", "台湾"), "Taipei time is 'Asia/Taipei'"),
    "ist": "IST is India Standard Time ('Asia/Kolkata') or Irish or Israel time",
}
"""Names people write for a zone that the tz database does not know, said back with the zone
(spaces, dots and case ignored)."""

_UTC_OFFSET = re.compile(
    r"(?:utc|gmt|ut)?\s*([+-])\s*(\d{1,2})(?:\s*:?\s*(\d{2}))?(?:\s*(?:h|hours?|小时))?"
)
_HALF_HOURS = {
    (5, 30): "Asia/Kolkata",
    (5, 45): "Asia/Kathmandu",
    (9, 30): "Australia/Darwin",
    (3, 30): "Asia/Tehran",
    (4, 30): "Asia/Kabul",
    (6, 30): "Asia/Yangon",
    (-3, 30): "America/St_Johns",
    (-9, 30): "Pacific/Marquesas",
}
"""A zone for each UTC offset that is not whole hours (the Etc zones are whole hours only)."""


def zone_hint(name: str) -> str | None:
    """What a zone name the tz database does not know probably meant, in words, or None: a
    name people write (`Beijing`, `北京时间`, `CST`), a UTC offset (`UTC+8`, `GMT+08:00`,
    `+8`), or a tz name in another case or misspelt (`asia/shanghai`, `Asia/Shangai`)."""
    folded = re.sub(r"[\s._]", "", name.strip().replace("＋", "+").replace("－", "-")).casefold()
    if folded in _ZONE_WORDS:
        return _ZONE_WORDS[folded]
    offset = _UTC_OFFSET.fullmatch(folded)
    if offset is not None:
        return _offset_hint(offset.group(1), int(offset.group(2)), int(offset.group(3) or 0))
    names = available_timezones()
    same = [known for known in names if known.casefold() == name.strip().casefold()]
    if same:
        return f"did you mean {same[0]!r}? (zone names match case exactly)"
    close = difflib.get_close_matches(name.strip(), sorted(names), 1, 0.8)
    return f"did you mean {close[0]!r}?" if close else None


def _offset_hint(sign: str, hours: int, minutes: int) -> str:
    said = f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")
    if hours > 14 or minutes >= 60:
        return f"no zone is {said}: a UTC offset is at most 14 hours"
    if minutes:
        known = _HALF_HOURS.get((hours if sign == "+" else -hours, minutes))
        return (f"{known!r} is {said}" if known else f"name the zone of a place at {said}") + (
            " (the Etc zones, an offset without a place, are whole hours only)"
        )
    if hours == 0:
        return "UTC+0 is 'UTC'"
    etc = f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"
    posix = posix_sign(etc, hours if sign == "+" else -hours)
    if (sign, hours) == ("+", 8):
        return f"{_BEIJING} (the offset without a place is {etc!r}; {posix})"
    return (
        f"for {said} write {etc!r} ({posix}), or better the zone of the place (such as "
        "'Europe/Berlin'), which also follows its daylight-saving changes"
    )


def posix_sign(name: str, hours: int) -> str:
    """Why an Etc/GMT zone is not the offset its name seems to say: `name` (the zone as the
    message writes it) is UTC`hours`, not the opposite. The one wording of the advice, for the
    hint of an unknown "UTC+8" and the warning of a playbook's "Etc/GMT+8", so a reader who
    meets both reads the same explanation."""
    return (
        f"{name} is UTC{hours:+d}, not UTC{-hours:+d}: the Etc/GMT zones carry the POSIX sign, "
        "the inverse of the usual one"
    )


def valid_zone(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    """An IANA time zone name: text (else InvalidTypeError) that names a zone of the tz
    database (else ConfigError), each naming the class and the field."""
    of_type(str, "'Asia/Shanghai'")(inst, attr, value)
    try:
        zone(str(value))
    except ConfigError as exc:
        raise ConfigError(f"{type(inst).__name__}.{attr.name}: {exc}") from None


def lenient(convert: Callable[[Any], T], value: Any) -> T | Any:
    """`convert(value)` where it works, else `value` as given: for attrs converters, so that
    the field's validator rejects the value with a message naming the class and the field (a
    converter is not told which field it converts)."""
    try:
        return convert(value)
    except (TypeError, ValueError):
        return value


def set_of(kind: type | tuple[type, ...], example: str) -> Validator:
    """A frozenset whose items are all of `kind` (a bool is not taken for an int), else
    InvalidTypeError naming the class, the field, the value and an `example` of a right one."""

    def check(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, frozenset) and _all_of(kind, value):
            return
        raise InvalidTypeError(
            f"{type(inst).__name__}.{attr.name} must be a set of {_plural(kind)}, got "
            f"{type(value).__name__} {value!r}: write e.g. {attr.name}={example}"
        )

    return check


def tuple_of(
    kind: type | tuple[type, ...], example: str, *, length: int | None = None
) -> Validator:
    """A tuple of `length` items (any number when None), all of `kind` (a bool is not taken for
    an int), else InvalidTypeError naming the class, the field, the value and an `example`."""

    def check(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
        if (
            isinstance(value, tuple)
            and (length is None or len(value) == length)
            and _all_of(kind, value)
        ):
            return
        count = "" if length is None else f"{length} "
        raise InvalidTypeError(
            f"{type(inst).__name__}.{attr.name} must be a tuple of {count}{_plural(kind)}, got "
            f"{type(value).__name__} {value!r}: write e.g. {attr.name}={example}"
        )

    return check


def _all_of(kind: type | tuple[type, ...], items: Iterable[object]) -> bool:
    """Whether every item is of `kind`, a bool not counting as an int."""
    ints = kind is int
    return all(isinstance(item, kind) and not (ints and isinstance(item, bool)) for item in items)


def _plural(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "text", int: "whole numbers"}
    return " or ".join(names.get(k, f"{k.__name__} values") for k in kinds)


def mapping_field(example: str) -> Validator:
    """A mapping (the field's converter freezes any dict), else InvalidTypeError naming the
    class, the field, the value and an `example`."""

    def check(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, FrozenMap):  # what the converter makes: skip the slower ABC check
            return
        if not isinstance(value, Mapping):
            raise InvalidTypeError(
                f"{type(inst).__name__}.{attr.name} must be a mapping (a dict), got "
                f"{type(value).__name__} {value!r}: write e.g. {attr.name}={example}"
            )

    return check


def to_map(value: Mapping[str, Any]) -> FrozenMap[Any]:
    """Converter for mapping fields: a mapping frozen (a FrozenMap as it is), anything else as
    given, for the field's `mapping_field` validator to name (the parameter's type is what a
    type checker lets the field take)."""
    if isinstance(value, FrozenMap):
        return value
    return FrozenMap(value) if isinstance(value, Mapping) else value


def is_iterable(value: object) -> Iterable[Any]:
    """`value` itself when it can be iterated over as a collection (not text, not a mapping),
    else TypeError: for converters that build a set from a list."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise TypeError(f"{value!r} is not a collection")
    return value


def of_type(kind: type, example: str, optional: bool = False) -> Validator:
    """A value of `kind` (None too when `optional`), else InvalidTypeError naming the class,
    the field, the value and an `example` of a right one. A bool is not taken for an int: a
    `tier=True` is a mistake, not tier 1. One isinstance check for a right value: it guards
    value objects built per routed lead (`Pick`)."""
    ints = kind is int

    def check(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, kind):
            if not (ints and isinstance(value, bool)):
                return
        elif value is None and optional:
            return
        raise InvalidTypeError(
            f"{type(inst).__name__}.{attr.name} must be {_article(kind)}"
            + (" or None" if optional else "")
            + f", got {type(value).__name__} {value!r}: write e.g. {attr.name}={example}"
        )

    return check


def _article(kind: type) -> str:
    names = {bool: "True or False", int: "a whole number", float: "a number", str: "text"}
    return names.get(kind, f"a {kind.__name__}")


def whole_number(
    at_least: int = 0, *, none: str | None = None, error: type[LeadRouterError] = ConfigError
) -> Validator:
    """A whole number >= `at_least` (a bool is not one), or None when `none` says what None
    means; else `error` (a ConfigError for a setting) naming the class, the field, what is
    allowed and the value."""
    allowed = f"a whole number >= {at_least}" + (f" or None ({none})" if none else "")

    def check(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
        if value is None and none:
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < at_least:
            raise error(f"{type(inst).__name__}.{attr.name} must be {allowed}, got {value!r}")

    return check


cap_limit = whole_number(none="no limit")
"""A cap's limit: a whole number >= 0, or None for no limit."""

count_field = whole_number(error=InvalidValueError)
"""A count of leads or days (`RepStats.received`, `CapForecast.history_days`): a whole number
>= 0, else InvalidValueError."""


def positive_duration(example: str, *, optional: bool = False) -> Validator:
    """A positive timedelta (or None when `optional`); the message shows `example`."""

    def check(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        if not isinstance(value, timedelta) or value <= timedelta(0):
            allowed = " or None" if optional else ""
            raise ConfigError(
                f"{type(inst).__name__}.{attr.name} must be a positive timedelta{allowed}, "
                f"e.g. {example}, got {value!r}"
            )

    return check


def number_field(
    hint: str,
    *,
    at_least: float | None = None,
    at_most: float | None = None,
    finite: bool = True,
    none: str | None = None,
    error: type[LeadRouterError] = ConfigError,
) -> Validator:
    """A number (a bool is not one, NaN never is), finite unless `finite=False`, >= `at_least`
    and <= `at_most` when given, or None when `none` says what None means; else `error` (a
    ConfigError for a setting) naming the class, the field, what is allowed (`hint` says what
    the number means) and the value."""
    allowed = (
        ("a finite number" if finite else "a number")
        + ("" if at_least is None else f" >= {at_least:g}")
        + ("" if at_least is None or at_most is None else " and")
        + ("" if at_most is None else f" <= {at_most:g}")
        + f" ({hint})"
        + (f" or None ({none})" if none else "")
    )
    low = -math.inf if at_least is None else at_least
    high = math.inf if at_most is None else at_most

    def check(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
        if value is None and none:
            return
        number = _number(value)
        if number is None or (finite and math.isinf(number)) or not low <= number <= high:
            raise error(f"{type(inst).__name__}.{attr.name} must be {allowed}, got {value!r}")

    return check


def non_negative_number(hint: str) -> Validator:
    """A finite number >= 0; `hint` says what the number means, for the message."""
    return number_field(hint, at_least=0)


def propensity_field(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    """None, or the probability a randomising strategy had of choosing the rep: a number in
    (0, 1], else InvalidValueError naming the class, the field and the value. Checked where a
    `Pick` or an `Assigned` is made, so a wrong one never reaches an off-policy estimate."""
    if value is None or (type(value) is float and 0.0 < value <= 1.0):
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value <= 1.0:
        raise InvalidValueError(
            f"{type(inst).__name__}.{attr.name} must be a number in (0, 1] or None (the chance "
            f"the strategy had of choosing this rep), got {type(value).__name__} {value!r}"
        )


def _number(value: object) -> float | None:
    """`value` as a float (an int too large for one as +-inf), or None when it is not a number
    (bool, text, None) or is NaN."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        number = math.inf if value > 0 else -math.inf
    return None if math.isnan(number) else number


def _check_score(
    value: object, what: str, kind_error: type[LeadRouterError], range_error: type[LeadRouterError]
) -> float:
    """`value` as a score in [0, 1]; `kind_error` when it is no number (or NaN), `range_error`
    when it is outside 0-1, with the 0-100 hint when it looks like a percentage."""
    number = _number(value)
    if number is None:
        raise kind_error(f"{what} must be a number between 0 and 1 (not NaN), got {value!r}")
    if not 0.0 <= number <= 1.0:
        hint = (
            f"; divide a 0-100 score by 100 ({number:g} -> {number / 100:g})"
            if 1.0 < number <= 100.0
            else ""
        )
        raise range_error(f"{what} must be between 0 and 1, got {value!r}: {SCORE_SCALE}{hint}")
    return number


def score_field(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    """A lead score: None (not scored) or a number in [0, 1].

    One scale everywhere, so a rule such as `nurture(below=0.15)` means the same on every lead:
    a number that is not one is an InvalidValueError, one outside 0-1 an OutOfRangeError.
    """
    if value is not None:
        _check_score(
            value, f"{type(inst).__name__}.{attr.name}", InvalidValueError, OutOfRangeError
        )


def score_threshold(value: object, what: str) -> float:
    """A setting compared with lead scores (e.g. `nurture(below=...)`): a number in [0, 1],
    else a ConfigError saying scores are 0-1. A threshold of 15 meant for 0-100 scores would
    otherwise send every lead to the pool without a word."""
    return _check_score(value, what, ConfigError, ConfigError)


def amount_field(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    """A money amount or count (Lead.cost, Rep.quota): a finite number >= 0.

    Not a number (or NaN): InvalidValueError; negative or infinite: OutOfRangeError.
    """
    what = f"{type(inst).__name__}.{attr.name}"
    number = _number(value)
    if number is None:
        kind = "finite number >= 0" if isinstance(value, float) else "number"
        raise InvalidValueError(f"{what} must be a {kind}, got {type(value).__name__} {value!r}")
    if math.isinf(number) or number < 0:
        raise OutOfRangeError(f"{what} must be a finite number >= 0, got {value!r}")


def optional_amount_field(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    """None, or what `amount_field` allows."""
    if value is not None:
        amount_field(inst, attr, value)
