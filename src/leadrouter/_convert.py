"""Typed conversion of settings read from files (a playbook's TOML, a roster's CSV) into
leadrouter's objects, driven by the declared types of the classes and functions they build.

One cattrs `Converter` per kind of file does all of it: a field's resolved annotation
(`attrs.resolve_types`, `typing.get_type_hints`) picks the hook, so a new field of a known type
(a duration, a time of day, a list of text, a table of numbers, a strategy...) needs no reading
code. The hooks are strict: a TOML value must already be of the field's kind (`tier = "1"` is
an error, not tier 1, and `true` is not a number); a CSV cell is text, so the text converter
reads numbers, durations and yes/no from it.

Every failure in one file is collected (cattrs' detailed validation records where each one
happened) and raised as one `PlaybookError` whose lines name the file, the key path
(`strategy.tiers[0].patience`), the value given, the kind expected and what to write instead.
"""

from __future__ import annotations

import collections.abc as abc
import enum
import importlib
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, TypeVar

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, override

from leadrouter._util import FrozenMap
from leadrouter._written import (
    AS_WRITTEN,
    LIST_SEPARATORS,
    as_toml,
    clock_time,
    duration,
    meant,
    shown,
    yes_or_no,
)
from leadrouter.errors import ConfigError, LeadRouterError, NaiveDatetimeError, PlaybookError

__all__ = ["Choice", "Reader", "Source", "duration", "message", "structure_call"]

T = TypeVar("T")
Source = Literal["toml", "text"]
"""Where values come from: a TOML file (typed values) or text cells (a CSV file)."""

Step = str | int
"""One step of a key path: a table key, or the index of an array item."""

_SEQUENCES = {list: list, tuple: tuple, set: set, frozenset: frozenset, abc.Set: frozenset}
_COLLECTIONS: frozenset[Any] = frozenset(
    {list, tuple, set, frozenset, abc.Sequence, abc.Collection, abc.Iterable, abc.Set}
)
_MAPPINGS: frozenset[Any] = frozenset({dict, Mapping, FrozenMap})

_KINDS: dict[Any, tuple[str, str, str]] = {
    bool: ("true or false", "true", "yes"),
    int: ("a whole number", "1", "1"),
    float: ("a number", "0.5", "0.5"),
    str: ("text", '"..."', "..."),
    timedelta: (
        'a duration ("45s", "30m", "30 min", "4h", "1h30m", "7d", "1w" or ISO "PT30M")',
        '"30m"',
        "30m",
    ),
    time: ("a time of day", '"09:00"', "09:00"),
    date: ("a date", "2026-01-05", "2026-01-05"),
    datetime: (
        "a date and time with its UTC offset",
        "2026-01-05T09:00:00+08:00",
        "2026-01-05T09:00:00+08:00",
    ),
}
"""For each scalar type: how a message names it, and an example in TOML and in a CSV cell."""


@attrs.frozen
class Choice:
    """A kind of object a table picks by its `name` key (a strategy, a cap, a rule): the
    table's other keys are the settings of the class or factory function it names.

    `choices` maps each allowed name to "module:attribute"; `default` is the name used when
    the table has none (None: the name is required)."""

    base: type
    what: str
    choices: Mapping[str, str]
    default: str | None = None

    def load(self, name: object) -> Callable[..., Any]:
        """The class or factory `name` stands for; ConfigError naming the allowed names."""
        allowed = ", ".join(self.choices)
        if name is None:
            raise ConfigError(f'missing: name the {self.what}, name = "..." with one of {allowed}')
        if not isinstance(name, str) or name not in self.choices:
            probable = meant(name, self.choices)
            hint = f" (did you mean {shown(probable)}?)" if probable else ""
            raise ConfigError(f"unknown {self.what} {shown(name)}{hint}; allowed: {allowed}")
        module, _, attribute = self.choices[name].partition(":")
        try:
            found: Callable[..., Any] = getattr(importlib.import_module(module), attribute)
        except ImportError as exc:  # an optional dependency of this choice is missing
            raise ConfigError(f"{self.what} {name} cannot be loaded: {exc}") from exc
        return found


# ---------------------------------------------------------------- scalar hooks


def _date(value: object, _: object = None) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value.strip())
    raise TypeError(f"not a date: {value!r}")


def _datetime(value: object, _: object = None) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip())
    if not isinstance(value, datetime):
        raise TypeError(f"not a date and time: {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(
            f"{value.isoformat()} has no UTC offset, and leadrouter never guesses a time zone: "
            f"write it with its offset, e.g. {value.isoformat()}+08:00"
        )
    return value


def _strict(kind: type[T]) -> Callable[[object, object], T]:
    """A hook taking only values already of `kind` (an int for a float too; never a bool for
    a number): a TOML file says what it means."""

    def structure(value: object, _: object) -> T:
        if isinstance(value, bool) and kind is not bool:
            raise TypeError(f"{value!r} is not {kind.__name__}")
        if isinstance(value, kind) or (kind is float and isinstance(value, int)):
            return kind(value)  # type: ignore[call-arg]
        raise TypeError(f"{value!r} is not {kind.__name__}")

    return structure


def _from_text(kind: type[T]) -> Callable[[object, object], T]:
    """A hook that reads `kind` from a text cell as well (a CSV file holds only text)."""
    strict = _strict(kind)

    def structure(value: object, _: object) -> T:
        if not isinstance(value, str) or kind is str:
            return strict(value, _)
        text = value.strip()
        if kind is bool:
            answer = yes_or_no(text)
            if answer is None:
                raise ValueError(f"{value!r} is not yes or no")
            return kind(answer)  # type: ignore[call-arg]
        return kind(text)  # type: ignore[call-arg]

    return structure


# ---------------------------------------------------------------- container hooks


def _origin(kind: Any) -> Any:
    return typing.get_origin(kind) or kind


def _is_collection(kind: Any) -> bool:
    args = typing.get_args(kind)
    if _origin(kind) is tuple:
        return bool(args)
    return _origin(kind) in _COLLECTIONS and len(args) == 1


def _collection_hook(kind: Any, converter: cattrs.Converter) -> Callable[[object, object], Any]:
    """Lists, tuples and sets, item by item with the item's index in any failure. One table
    given for a list of tables is a list of one; text given for a list of text is split at ";"
    or "," (`regions = "north;east"` or `"north, east"`, as a CSV cell writes it; the Chinese
    "；", "，" and "、" too), never read as one item named "north, east" that matches nothing."""
    args = typing.get_args(kind)
    fixed = _is_fixed(kind)
    items = list(args) if fixed else [args[0]]
    make: Callable[[Iterable[Any]], Any] = _SEQUENCES.get(_origin(kind), tuple)
    hooks = [converter.get_structure_hook(item) for item in items]

    def structure(value: object, _: object) -> Any:
        if isinstance(value, str) and items == [str]:
            value = [part.strip() for part in LIST_SEPARATORS.split(value) if part.strip()]
        elif isinstance(value, Mapping) and not fixed:
            value = [value]
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
            raise TypeError(f"{value!r} is not a list")
        given = list(value)
        if fixed and len(given) != len(items):
            raise ValueError(f"{len(given)} items, not {len(items)}")
        out: list[Any] = []
        errors: list[Exception] = []
        for index, item in enumerate(given):
            item_type = items[index if fixed else 0]
            try:
                out.append(hooks[index if fixed else 0](item, item_type))
            except Exception as exc:
                _note(exc, IterableValidationNote(f"item {index}", index, item_type))
                errors.append(exc)
        if errors:
            raise IterableValidationError(f"in {kind}", errors, _origin(kind))
        return make(out)

    return structure


def _is_mapping(kind: Any) -> bool:
    return _origin(kind) in _MAPPINGS


def _mapping_hook(kind: Any, converter: cattrs.Converter) -> Callable[[object, object], Any]:
    """Tables of values (`team_quotas = { north = 2.0 }`, a rep's profile), each value
    structured by the declared value type, its key in any failure."""
    args = typing.get_args(kind)
    value_type = args[-1] if args else Any
    hook = converter.get_structure_hook(value_type)
    frozen = _origin(kind) is FrozenMap

    def structure(value: object, _: object) -> Any:
        if not isinstance(value, Mapping):
            raise TypeError(f"{value!r} is not a table")
        out: dict[str, Any] = {}
        errors: list[Exception] = []
        for key, item in value.items():
            try:
                out[str(key)] = hook(item, value_type)
            except Exception as exc:
                _note(exc, IterableValidationNote(f"key {key!r}", str(key), value_type))
                errors.append(exc)
        if errors:
            raise IterableValidationError(f"in {kind}", errors, dict)
        return FrozenMap(out) if frozen else out

    return structure


def _is_callable(kind: Any) -> bool:
    return _origin(kind) is Callable or kind is Callable


def _import_callable(value: object, _: object) -> Callable[..., Any]:
    """A function named "package.module:name" (a scorer, a lead score)."""
    if not isinstance(value, str) or ":" not in value:
        raise TypeError(f"{value!r} is not 'package.module:name'")
    module, _, name = value.partition(":")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(
            f'cannot import {value!r}: write it as "package.module:name" of an importable function'
        ) from exc
    if not callable(found):
        raise ConfigError(f"{value!r} is not callable")
    return found  # type: ignore[no-any-return]


# ---------------------------------------------------------------- classes and factories


def _note(exc: BaseException, note: str) -> None:
    exc.__notes__ = [*getattr(exc, "__notes__", []), note]


def _check_keys(given: Mapping[str, Any], allowed: Sequence[str], owner: str) -> None:
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        takes = f"allowed: {', '.join(allowed)}" if allowed else f"{owner} takes no settings"
        if {"open", "daily"} & set(unknown) and not {"open", "daily"} & set(allowed):
            takes += "; open and daily are cap settings: write them in a [[caps]] table"
        # TOML puts every key after a [table] header into that table: a playbook's top-level
        # key written below one lands here
        placed = (
            "; roster is a top-level key of a playbook: write it above the first [table]"
            if "roster" in unknown
            else ""
        )
        raise ConfigError(f"unknown key(s) {unknown} for {owner}; {takes}{placed}")


def _table(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{value!r} is not a table")
    return value


def _attrs_hook(cls: type[Any], converter: cattrs.Converter) -> Callable[[object, object], Any]:
    """An attrs class from a table: cattrs' generated structuring by the resolved field types,
    after checking the table names only the class's init fields (all unknown keys reported
    along with the fields' own failures)."""
    # a field the class's own converter reads as the file writes it (`weekdays = ["周一"]`) is
    # passed on as given, not structured by its type (a set of whole numbers) first
    written: dict[str, Any] = {
        field.name: override(struct_hook=_as_given)
        for field in attrs.fields(cls)
        if field.metadata.get(AS_WRITTEN)
    }
    made = make_dict_structure_fn(cls, converter, _cattrs_use_alias=True, **written)
    keys = [field.alias for field in attrs.fields(cls) if field.init]

    def structure(value: object, _: object) -> Any:
        table = _table(value)
        try:
            _check_keys(table, keys, cls.__name__)
        except ConfigError as unknown:
            try:
                made(table, cls)
            except Exception as exc:
                found = list(exc.exceptions) if isinstance(exc, ClassValidationError) else [exc]
                raise ClassValidationError(f"in {cls.__name__}", [unknown, *found], cls) from None
            raise
        try:
            return made(table, cls)
        except (LeadRouterError, ClassValidationError) as exc:
            said = exc.exceptions if isinstance(exc, ClassValidationError) else [exc]
            if len(said) != 1 or not isinstance(said[0], LeadRouterError):
                raise  # a value of the wrong kind: cattrs has said every one already
            found = _field_checks(cls, table, converter)
            if len(found) > 1:  # said all at once, not the first the class's __init__ met
                raise ClassValidationError(f"in {cls.__name__}", found, cls) from None
            raise

    return structure


def _as_given(value: object, _: object) -> object:
    return value


def _field_checks(
    cls: type[Any], table: Mapping[str, Any], converter: cattrs.Converter
) -> list[Exception]:
    """The failures of every field's own check on the values `table` gives, each field checked
    alone: a class's `__init__` stops at its first failing validator, so `open = -1` and
    `daily = -5` in one table would otherwise take two runs to see. A value that cannot be
    structured, or a check that needs the other fields, is left to the class's own run."""
    stub = object.__new__(cls)
    found: list[Exception] = []
    for field in attrs.fields(cls):
        if not field.init or field.validator is None or field.alias not in table:
            continue
        try:
            value = table[field.alias]
            if not field.metadata.get(AS_WRITTEN):
                value = converter.structure(value, field.type)
            if field.converter is not None:
                value = field.converter(value)
            field.validator(stub, field, value)
        except LeadRouterError as exc:
            found.append(exc)
        except Exception:  # left to the class's own run, which says it
            continue
    return found


def structure_call(
    converter: cattrs.Converter, target: Callable[..., T], table: Mapping[str, Any], base: type
) -> T:
    """`target(**table)` with every value structured by the target's resolved annotation
    (an attrs class by its fields, a factory function by its signature); failures are
    collected with their key, as cattrs does for a class."""
    if isinstance(target, type) and attrs.has(target):
        return typing.cast(T, converter.structure(table, target))
    hints = typing.get_type_hints(target)
    names = [
        p.name
        for p in inspect.signature(target).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    owner = getattr(target, "__name__", repr(target))
    _check_keys(table, names, owner)
    kwargs: dict[str, Any] = {}
    errors: list[Exception] = []
    for key, value in table.items():
        kind = hints.get(key, Any)
        try:
            kwargs[key] = converter.structure(value, kind)
        except Exception as exc:
            _note(exc, AttributeValidationNote(f"key {key}", key, kind))
            errors.append(exc)
    if errors:
        raise ClassValidationError(f"While structuring {owner}", errors, base)
    return target(**kwargs)


def _choice_hook(choice: Choice, converter: cattrs.Converter) -> Callable[[object, object], Any]:
    def structure(value: object, _: object) -> Any:
        table = _table(value)
        try:
            target = choice.load(table.get("name", choice.default))
        except ConfigError as exc:
            _note(exc, AttributeValidationNote("key name", "name", str))
            raise ClassValidationError(
                f"While choosing a {choice.what}", [exc], choice.base
            ) from None
        settings = {key: item for key, item in table.items() if key != "name"}
        return structure_call(converter, target, settings, choice.base)

    return structure


class Reader:
    """Reads values from one kind of file into leadrouter's objects.

    `source` says what the file holds: typed TOML values, or text cells (a CSV file).
    `choices` are the kinds of object a table picks by name (a strategy, a cap, a rule);
    `shorthands` build a type from a table of another one, e.g. a `Schedule` from one
    `Shift` table: `{Schedule: (Shift, lambda shift: schedule(default=shift))}`.
    """

    def __init__(
        self,
        source: Source,
        choices: Sequence[Choice] = (),
        shorthands: Mapping[type, tuple[type, Callable[[Any], Any]]] | None = None,
    ) -> None:
        self.source: Source = source
        self.choices = {choice.base: choice for choice in choices}
        self.shorthands = dict(shorthands or {})
        self.converter = converter = cattrs.Converter(detailed_validation=True)
        scalar = _strict if source == "toml" else _from_text
        hooks: dict[type, Callable[[object, object], Any]] = {
            **{kind: scalar(kind) for kind in (bool, int, float, str)},
            timedelta: lambda value, _: duration(value),
            time: clock_time,
            date: _date,
            datetime: _datetime,
        }
        for kind, hook in hooks.items():
            converter.register_structure_hook(kind, hook)
        converter.register_structure_hook_func(_is_callable, _import_callable)
        converter.register_structure_hook_factory(attrs.has, _attrs_hook)
        converter.register_structure_hook_factory(_is_collection, _collection_hook)
        converter.register_structure_hook_factory(_is_mapping, _mapping_hook)
        # by identity: a hook registered for a class would also serve its subclasses
        for target, (given, build) in self.shorthands.items():
            converter.register_structure_hook_func(_exactly(target), self._shorthand(given, build))
        for choice in choices:
            converter.register_structure_hook_func(
                _exactly(choice.base), _choice_hook(choice, converter)
            )

    def _shorthand(
        self, given: type, build: Callable[[Any], Any]
    ) -> Callable[[object, object], Any]:
        def structure(value: object, _: object) -> Any:
            return build(self.converter.structure(value, given))

        return structure

    def read(self, data: Any, kind: type[T], *, file: str) -> T:
        """`data` structured as `kind`, or one PlaybookError listing every failure: the file
        and the key path of each, the value given, the kind expected and what to write."""
        return self.read_many([("", data)], kind, file=file)[0]

    def read_many(self, items: Iterable[tuple[str, Any]], kind: type[T], *, file: str) -> list[T]:
        """Each `(where, data)` structured as `kind` (e.g. the rows of a CSV file, `where`
        "row 3"), or one PlaybookError listing the failures of every item."""
        built: list[T] = []
        problems: list[str] = []
        for where, data in items:
            try:
                built.append(self.converter.structure(data, kind))
            except Exception as exc:
                problems += self.describe(exc, data, kind, where)
        if problems:
            raise PlaybookError(message(file, problems))
        return built

    def describe(self, exc: BaseException, data: Any, kind: Any, where: str = "") -> Iterator[str]:
        """One line per failure inside `exc` (a cattrs validation tree or a single error)."""
        for path, leaf_kind, leaf in _leaves(exc, (), kind):
            place = _place(where, path, self.source)
            if isinstance(leaf, LeadRouterError):
                yield f"{place}: {as_toml(str(leaf)) if self.source == 'toml' else leaf}"
                continue
            key = path[-1] if path and isinstance(path[-1], str) else None
            found, value = _lookup(data, path)
            example = _unquoted(value, self._given(leaf_kind)) or self.example(leaf_kind)
            write = f"{key} = {example}" if key and self.source == "toml" else example
            if isinstance(leaf, KeyError) and not found:
                yield f"{place}: missing: " + (
                    f"write e.g. {write}" if self.source == "toml" else "every row needs one"
                )
            else:
                yield (
                    f"{place}: expected {self.kind(leaf_kind)}, got {shown(value)}: "
                    f"write e.g. {write}"
                )

    def kind(self, kind: Any) -> str:
        """How a message names what a field of type `kind` takes."""
        kind = self._given(kind)
        if kind is bool and self.source == "text":
            return "yes or no"
        if kind in _KINDS:
            return _KINDS[kind][0]
        args = typing.get_args(kind)
        if _origin(kind) is Literal:
            return "one of " + ", ".join(shown(arg) for arg in args)
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            return "one of " + ", ".join(shown(member.value) for member in kind)
        if _is_collection(kind):
            if _is_fixed(kind):
                return f"a list of {len(args)} items, each {self.kind(args[0])}"
            return f"a list, each item {self.kind(args[0])}"
        if _is_mapping(kind):
            value = args[-1] if args else Any
            return "a table" + ("" if value is Any else f", each value {self.kind(value)}")
        if _is_callable(kind):
            return 'a function named "package.module:name"'
        if kind in self.choices:
            choice = self.choices[kind]
            return f"a table naming the {choice.what} (name = one of {', '.join(choice.choices)})"
        if isinstance(kind, type) and attrs.has(kind):
            return f"a table of {kind.__name__} settings"
        return str(kind)

    def example(self, kind: Any) -> str:
        """A right value for a field of type `kind`, as the file writes it."""
        kind = self._given(kind)
        text = self.source == "text"
        if kind in _KINDS:
            return _KINDS[kind][2 if text else 1]
        args = typing.get_args(kind)
        if _origin(kind) is Literal:
            return str(args[0]) if text else shown(args[0])
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            first = next(iter(kind)).value
            return str(first) if text else shown(first)
        if _is_collection(kind):
            if _is_fixed(kind):
                return "[" + ", ".join(self.example(arg) for arg in args) + "]"
            one = self.example(args[0])
            return f"{one};{one}" if text else f"[{one}]"
        if _is_mapping(kind):
            return f"{{ key = {self.example(args[-1])} }}" if args else "{ key = ... }"
        if _is_callable(kind):
            return '"package.module:name"'
        if kind in self.choices:
            choice = self.choices[kind]
            return f"{{ name = {shown(choice.default or next(iter(choice.choices)))} }}"
        return "{ ... }"

    def _given(self, kind: Any) -> Any:
        kind = _optional(kind)
        return self.shorthands[kind][0] if kind in self.shorthands else kind


def _exactly(target: type) -> Callable[[Any], bool]:
    return lambda kind: kind is target


def message(file: str, problems: Sequence[str]) -> str:
    """One line for one problem, else a count and one indented line each."""
    if len(problems) == 1:
        return f"{file}: {problems[0]}"
    return f"{file}: {len(problems)} problems:\n" + "\n".join(f"  {p}" for p in problems)


def _is_fixed(kind: Any) -> bool:
    args = typing.get_args(kind)
    return _origin(kind) is tuple and not (len(args) == 2 and args[1] is Ellipsis)


def _leaves(
    exc: BaseException, path: tuple[Step, ...], kind: Any
) -> Iterator[tuple[tuple[Step, ...], Any, BaseException]]:
    if isinstance(exc, ClassValidationError | IterableValidationError):
        noted, other = exc.group_exceptions()
        for sub in other:  # about the table itself (unknown keys): said first
            yield from _leaves(sub, path, kind)
        for sub, note in noted:
            step = note.name if isinstance(note, AttributeValidationNote) else note.index
            yield from _leaves(sub, (*path, step), note.type)
    else:
        yield path, kind, exc


def _place(where: str, path: tuple[Step, ...], source: Source) -> str:
    dotted = ""
    for step in path:
        if isinstance(step, int):
            dotted += f"[{step}]"
        else:
            bare = re.fullmatch(r"[A-Za-z0-9_-]+", step)
            quoted = step if bare else json.dumps(step, ensure_ascii=False)  # "王芳", not \u738b
            dotted += ("." if dotted else "") + quoted
    if source == "text" and dotted:
        return f"{where}, column {dotted}" if where else f"column {dotted}"
    if where:
        return f"{where}: {dotted}" if dotted else where
    return dotted or "top level"


def _lookup(data: Any, path: tuple[Step, ...]) -> tuple[bool, Any]:
    """The value at `path` in the document (a table given for a list counts as its item 0)."""
    for step in path:
        if isinstance(data, Mapping) and isinstance(step, str) and step in data:
            data = data[step]
        elif isinstance(data, Mapping) and step == 0:
            continue
        elif isinstance(data, list | tuple) and isinstance(step, int) and step < len(data):
            data = data[step]
        else:
            return False, None
    return True, data


def _unquoted(value: object, kind: Any) -> str | None:
    """A number written as text (`held = "15"`), written as the number it says (`15`), so the
    fix offered is the user's own value without its quotes; None for anything else."""
    if kind not in (int, float) or not isinstance(value, str):
        return None
    try:
        number = kind(value.strip())
    except ValueError:
        return None
    return str(number)


def _optional(kind: Any) -> Any:
    args = typing.get_args(kind)
    if _origin(kind) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [arg for arg in args if arg is not type(None)]
        return rest[0] if len(rest) == 1 else kind
    return kind
