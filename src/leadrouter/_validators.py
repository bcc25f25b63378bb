"""attrs validators shared by caps, lifecycle and strategies, so every setting of one kind is
checked the same way and fails with the same kind of message (a ConfigError naming the class,
the setting and what is allowed)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs

from leadrouter.errors import ConfigError
from leadrouter.model import zone

__all__ = ["cap_limit", "non_negative_number", "positive_duration", "valid_zone"]

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def valid_zone(inst: object, attr: attrs.Attribute[Any], value: str) -> None:
    """An IANA time zone name (ConfigError from `zone` otherwise)."""
    zone(value)


def cap_limit(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    """A whole number >= 0, or None for no limit."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ConfigError(
            f"{type(inst).__name__}.{attr.name} must be a whole number >= 0 or None (no limit), "
            f"got {value!r}"
        )


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


def non_negative_number(hint: str) -> Validator:
    """A finite number >= 0; `hint` says what the number means, for the message."""

    def check(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise ConfigError(
                f"{type(inst).__name__}.{attr.name} must be a finite number >= 0 ({hint}), "
                f"got {value!r}"
            )

    return check
