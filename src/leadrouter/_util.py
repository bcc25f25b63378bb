"""Small shared helpers: immutable mappings, time checks, stable hashing, atomic writes."""

from __future__ import annotations

import hashlib
import math
import os
import secrets
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, overload

import attrs

from leadrouter.errors import InvalidValueError, NaiveDatetimeError

V = TypeVar("V")
T = TypeVar("T")


class FrozenMap(Mapping[str, V]):
    """A read-only, hashable mapping, so value objects holding one stay hashable and comparable."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[str, V] | None = None) -> None:
        self._data: dict[str, V] = dict(data) if data else {}
        self._hash: int | None = None

    def __getitem__(self, key: str) -> V:
        return self._data[key]

    @overload
    def get(self, key: str, /) -> V | None: ...
    @overload
    def get(self, key: str, /, default: V | T) -> V | T: ...
    def get(self, key: str, /, default: Any = None) -> Any:
        """`Mapping.get`, answered by the dict itself: the mixin's `get` goes through
        `__getitem__` and catches a KeyError for a missing key, ten times the cost, on the
        routing and simulation paths (a lead's features, a rep's effect per segment)."""
        return self._data.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles as its items only: a string's hash differs between processes (hash
        randomisation), so a cached hash carried over would make an unpickled map miss in dicts
        and sets of the process that reads it."""
        return (type(self), (self._data,))

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset((k, _hashable(v)) for k, v in self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self._data)


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def freeze(value: Mapping[str, Any] | None) -> FrozenMap[Any]:
    """Converter for mapping fields: reuse a FrozenMap, copy anything else."""
    if isinstance(value, FrozenMap):
        return value
    return FrozenMap(value)


EMPTY: FrozenMap[Any] = FrozenMap()


def check_aware(value: datetime, what: str) -> datetime:
    """Raise NaiveDatetimeError for a datetime without a time zone."""
    if not isinstance(value, datetime):
        raise InvalidValueError(
            f"{what} must be a timezone-aware datetime, got {type(value).__name__} {value!r}"
        )
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise NaiveDatetimeError(
            f"{what} is a naive datetime ({value.isoformat()}): leadrouter never guesses a time "
            "zone; pass an aware one, e.g. datetime(..., tzinfo=timezone.utc)"
        )
    return value


def instant(value: datetime) -> datetime:
    """`value` as a time whose comparisons and arithmetic are real elapsed time: itself when its
    offset is fixed (UTC, +08:00), else the same instant in UTC.

    Python compares and subtracts two datetimes that share one `tzinfo` object by their wall
    clocks, ignoring `fold`: in New York's repeated autumn hour 01:10 EST (the later) is
    "before" 01:45 EDT, and 01:45 + 30 minutes is 02:15 EST, an hour and a half later. Every
    deadline, elapsed time and "is it before" of a time that may carry a named zone goes
    through this."""
    return value if type(value.tzinfo) is timezone else value.astimezone(UTC)


def earlier(first: datetime, second: datetime) -> bool:
    """Whether `first` is an instant before `second`, whatever zones they carry (`instant`);
    the same object is never before itself, at no cost (a lead routed at its own arrival)."""
    return first is not second and instant(first) < instant(second)


def earliest(times: Iterable[datetime | None]) -> datetime | None:
    """The earliest instant of `times` (`instant` order, whatever zones they carry), leaving out
    None; None when there is none: the next of several timers, each of which may be unset."""
    return min((t for t in times if t is not None), key=instant, default=None)


def check_id(value: object, what: str) -> str:
    """An id is a non-empty string without surrounding whitespace."""
    if not isinstance(value, str):
        raise InvalidValueError(f"{what} must be a string, got {type(value).__name__} {value!r}")
    if not value or value != value.strip():
        raise InvalidValueError(
            f"{what} must be a non-empty string without surrounding spaces, got {value!r}"
        )
    return value


def check_amount(value: object, what: str) -> float:
    """A finite, non-negative number (cost, amount)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValueError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise InvalidValueError(f"{what} must be a finite number >= 0, got {value!r}")
    return float(value)


def trusted_constructor(cls: type[T]) -> Callable[..., T]:
    """A positional constructor for frozen attrs class `cls` that skips validators and
    converters.

    Only for values the caller has already validated (the router's own events and decisions,
    whose parts come from validated leads, roster ids and checked times): it saves about two
    microseconds per object on the routing hot path. Generated once per class, like attrs'
    own `__init__`. A field held in a slot is set through that slot's own setter (what the
    frozen class's `object.__setattr__` ends up calling, without the lookup); any other field
    through `object.__setattr__`.
    """
    names = [field.name for field in attrs.fields(cls)]  # type: ignore[arg-type]
    namespace: dict[str, Any] = {
        "_new": object.__new__,
        "_bind": object.__setattr__.__get__,
        "cls": cls,
    }
    lines = [f"def make({', '.join(names)}):", "    self = _new(cls)"]
    bound = False
    for position, name in enumerate(names):
        slot = next((k.__dict__[name] for k in cls.__mro__ if name in k.__dict__), None)
        if isinstance(slot, types.MemberDescriptorType):
            namespace[f"_set{position}"] = slot.__set__
            lines.append(f"    _set{position}(self, {name})")
        else:
            if not bound:
                lines.append("    _s = _bind(self)")
                bound = True
            lines.append(f"    _s({name!r}, {name})")
    lines.append("    return self")
    exec("\n".join(lines), namespace)
    maker: Callable[..., T] = namespace["make"]
    return maker


def calls_with(fn: Callable[..., Any], n: int) -> bool:
    """Whether `fn` can be called with `n` positional arguments, by its signature (True when
    it has none Python can read, as for some builtins: it is then tried when called). Lets a
    misfit be named where it is given (a rule factory passed uncalled, `f(lead)` where
    `f(lead, rep)` is meant), not at the first lead."""
    import inspect

    try:
        inspect.signature(fn).bind(*range(n))
    except TypeError:
        return False
    except ValueError:
        return True
    return True


def format_duration(value: timedelta | None) -> str:
    """A duration as a playbook would write it: "30m", "4h", "7d" ("off" for None)."""
    if value is None:
        return "off"
    seconds = int(value.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def show(value: Any) -> str:
    """repr, except durations, which read as "30m"."""
    return repr(format_duration(value)) if isinstance(value, timedelta) else repr(value)


@lru_cache(maxsize=65536)
def stable_key(seed: int, name: str) -> int:
    """A 64-bit key from (seed, name) that is the same on every machine and Python run.

    Used for seeded tie-breaks, so an order depends on who is tied, never on draw order.
    """
    digest = hashlib.blake2b(f"{seed}\x00{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@overload
def unit_uniform(key: int, bits: int = 53) -> float: ...
@overload
def unit_uniform(key: Any, bits: int = 53) -> Any: ...
def unit_uniform(key: Any, bits: int = 53) -> Any:
    """A 64-bit key as a uniform in (0, 1): its top `bits` bits as an integer n, then
    (n + 1/2) / 2**bits, the middle of the key's cell of width 2**-bits, so 0 is never drawn.

    Takes an int or a numpy uint64 array (elementwise, no Python loop); the two give the same
    float for the same key, bit for bit. Every seeded uniform of the simulator comes out of
    this one mapping; its users differ only in how they make the key (the engine mixes a
    blake2b key with a salt per purpose by splitmix64, `leadrouter.sim.capacity` takes
    `stable_key` as it is) and in the resolution. With `bits` at most 52, n + 1/2 is exact, so
    the least value is 2**-(bits + 1) and the most 1 - 2**-(bits + 1); with 53, n + 1/2 rounds
    to even in the top half of (0, 1), and the top cell (one key in 2**53) gives 1.0: a user
    that cannot take 1 clips or takes 52. A user's resolution is fixed once chosen: another
    would change every draw, so every simulated ledger and fitted replicate for a seed.
    """
    return ((key >> (64 - bits)) + 0.5) * 2.0**-bits


@overload
def shrunk(value: float, n: float, prior: float, k: float) -> float: ...
@overload
def shrunk(value: Any, n: Any, prior: Any, k: float) -> Any: ...
def shrunk(value: Any, n: Any, prior: Any, k: float) -> Any:
    """`(value + k * prior) / (n + k)`: a rate from `value` over `n` leads, pulled toward
    `prior` as if there were also `k` pseudo-leads at that rate (the posterior mean under a beta
    prior), so a short lucky run does not read as skill. With no leads and no pseudo-leads it is
    `prior`. Every shrunk rate in the library (strategies and the fitted model) is this one
    formula; it also takes numpy arrays and pandas columns, elementwise."""
    if isinstance(n, int | float) and n + k <= 0:
        return prior
    return (value + k * prior) / (n + k)


def plural(n: int, word: str) -> str:
    """`n` and `word`, plural when n is not 1: "1 lead", "3 leads", "2 policies", "5 days"."""
    if n == 1:
        return f"{n} {word}"
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "o", "u"):
        return f"{n} {word[:-1]}ies"
    return f"{n} {word}s"


def write_atomic(target: Path, data: bytes) -> Path:
    """Write `data` to `target` through a temporary file in the same folder, renamed into place,
    so a crash or a reader at the wrong moment sees the old file or the new one, never half of
    one; the temporary file has a random name (two writers never share it) and is removed when
    the write fails. Returns `target`."""
    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(temp, "xb") as out:
            out.write(data)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target
