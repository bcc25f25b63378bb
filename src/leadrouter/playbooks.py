"""Playbooks: a whole Router configured in one TOML file, for one business situation.

A playbook names the strategy and its settings, the rules, caps, lifecycle timers and the roster
(inline `[[reps]]` or a CSV `roster = "file.csv"` next to the playbook). `load_playbook(path)`
returns a ready Router. A playbook that cannot work raises `PlaybookError` naming the file, the
key and what is allowed there — before any lead is routed.

Format (every section but `[strategy]` is optional)::

    [strategy]
    name = "QuotaProportional"     # a strategy class name; other keys are its settings
    period = "month"

    [[rules]]
    name = "region"                # region, skill, schedule, dedup_to_owner, nurture
    [[rules]]
    name = "nurture"
    below = 0.3                    # Lead.score is 0-1

    [[caps]]
    name = "FixedCap"              # or DynamicCaps
    open = 30
    daily = 40
    tz = "Asia/Shanghai"

    [lifecycle]
    first_touch_sla = "30m"        # durations: "45s", "30m", "4h", "7d", "1w" or ISO "PT30M"
    expire_after = "7d"
    reroute = true

    [router]
    seed = 7

    [[reps]]
    id = "wang"
    team = "north"
    regions = ["north"]
    quota = 120

Nested strategies (`Hierarchical`'s `team`/`rep`, `TieredDelay`'s `tiers`) are tables with a
`name` key, e.g. `[[strategy.tiers]]` with `tier`, `patience` and `strategy = {name = "..."}`.
"""

from __future__ import annotations

import csv
import importlib
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import attrs

from leadrouter.caps import Cap
from leadrouter.errors import ConfigError, PlaybookError
from leadrouter.lifecycle import Lifecycle
from leadrouter.model import Rep, Shift
from leadrouter.router import Router
from leadrouter.rules import Rule

__all__ = ["CAPS", "STRATEGIES", "PlaybookError", "load_playbook", "read_playbook"]


STRATEGIES: dict[str, str] = {
    "EqualRotation": "leadrouter.strategies.equal_rotation",
    "Hierarchical": "leadrouter.strategies.hierarchical",
    "QuotaProportional": "leadrouter.strategies.quota_proportional",
    "PerformanceWeighted": "leadrouter.strategies.performance_weighted",
    "UtilizationWeighted": "leadrouter.strategies.utilization_weighted",
    "GrabWithCaps": "leadrouter.strategies.grab_with_caps",
    "ProfileMatching": "leadrouter.strategies.profile_matching",
    "TieredDelay": "leadrouter.strategies.tiered_delay",
}
"""Strategy names a playbook may use, and the module defining each."""

CAPS: dict[str, str] = {
    "FixedCap": "leadrouter.caps",
    "DynamicCaps": "leadrouter.dynamic_caps",
}
"""Cap names a playbook may use, and the module defining each."""

RULES = ("region", "skill", "schedule", "dedup_to_owner", "nurture")
SECTIONS = ("strategy", "rules", "caps", "lifecycle", "router", "reps", "roster")
REP_KEYS = ("id", "team", "tier", "regions", "skills", "quota", "profile", "active")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class _Reader:
    """Walks one playbook, turning values into objects; every error says file and key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> PlaybookError:
        return PlaybookError(f"{self.path}: {key}: {problem}")

    def table(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {type(value).__name__} {value!r}")
        return value

    def tables(self, value: Any, key: str) -> list[dict[str, Any]]:
        if isinstance(value, dict):
            return [value]
        if not isinstance(value, list):
            raise self.fail(key, "expected an array of tables ([[...]])")
        return [self.table(item, f"{key}[{i}]") for i, item in enumerate(value)]

    def only(self, table: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> None:
        unknown = sorted(set(table) - set(allowed))
        if unknown:
            raise self.fail(key, f"unknown key(s) {unknown}; allowed: {', '.join(allowed)}")

    def duration(self, value: Any, key: str) -> timedelta:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return timedelta(seconds=float(value))
        if isinstance(value, str):
            match = _DURATION.match(value)
            if match:
                return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
            iso = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", value)
            if iso and any(iso.groups()):
                d, h, m, s = (int(g or 0) for g in iso.groups())
                return timedelta(days=d, hours=h, minutes=m, seconds=s)
        raise self.fail(
            key, f'expected a duration such as "30m", "4h", "7d" or "PT30M", got {value!r}'
        )

    def clock_time(self, value: Any, key: str) -> time:
        if isinstance(value, time):
            return value
        if isinstance(value, str):
            try:
                return time.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(key, f'expected a time of day such as "09:00", got {value!r}')

    def load_class(self, name: Any, registry: Mapping[str, str], key: str) -> type[Any]:
        if not isinstance(name, str) or name not in registry:
            raise self.fail(key, f"unknown name {name!r}; allowed: {', '.join(registry)}")
        try:
            module = importlib.import_module(registry[name])
        except ImportError as exc:  # a strategy whose optional dependency is missing
            raise self.fail(key, f"{name} cannot be loaded: {exc}") from exc
        found: type[Any] = getattr(module, name)
        return found

    def build(self, cls: type[Any], settings: Mapping[str, Any], key: str) -> Any:
        """Instantiate an attrs class from TOML settings, converting by declared field type."""
        fields = {f.name: f for f in attrs.fields(cls) if f.init}
        self.only(settings, key, ("name", *fields))
        kwargs: dict[str, Any] = {}
        for name, value in settings.items():
            if name == "name":
                continue
            kwargs[name] = self.convert(value, str(fields[name].type), f"{key}.{name}")
        try:
            return cls(**kwargs)
        except (ConfigError, TypeError, ValueError) as exc:
            raise self.fail(key, str(exc)) from exc

    def convert(self, value: Any, type_text: str, key: str) -> Any:
        if "timedelta" in type_text and value is not None:
            return self.duration(value, key)
        if "Tier" in type_text and isinstance(value, list):
            return [self.tier(item, f"{key}[{i}]") for i, item in enumerate(value)]
        if "Strategy" in type_text and isinstance(value, dict):
            return self.strategy(value, key)
        if "Cap" in type_text and isinstance(value, dict):
            return self.cap(value, key)
        if "Callable" in type_text and isinstance(value, str):
            return self.callable(value, key)
        if "tuple" in type_text and isinstance(value, list):
            return tuple(value)
        return value

    def callable(self, path: str, key: str) -> Callable[..., Any]:
        module_name, _, attr = path.partition(":")
        try:
            found = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError, ValueError) as exc:
            raise self.fail(
                key, f'cannot import {path!r} (write it as "package.module:name")'
            ) from exc
        if not callable(found):
            raise self.fail(key, f"{path!r} is not callable")
        return found  # type: ignore[no-any-return]

    def strategy(self, spec: Any, key: str) -> Any:
        table = self.table(spec, key)
        cls = self.load_class(table.get("name"), STRATEGIES, f"{key}.name")
        return self.build(cls, table, key)

    def tier(self, spec: Any, key: str) -> Any:
        tier = self.load_class("Tier", {"Tier": STRATEGIES["TieredDelay"]}, key)
        return self.build(tier, self.table(spec, key), key)

    def cap(self, spec: Any, key: str) -> Cap:
        table = self.table(spec, key)
        cls = self.load_class(table.get("name", "FixedCap"), CAPS, f"{key}.name")
        built: Cap = self.build(cls, {"name": "", **table}, key)
        return built

    def shift(self, spec: Any, key: str) -> Shift:
        table = self.table(spec, key)
        self.only(table, key, ("tz", "start", "end", "weekdays", "days_off"))
        kwargs: dict[str, Any] = {}
        for name in ("start", "end"):
            if name in table:
                kwargs[name] = self.clock_time(table[name], f"{key}.{name}")
        if "weekdays" in table:
            kwargs["weekdays"] = table["weekdays"]
        if "days_off" in table:
            kwargs["days_off"] = table["days_off"]
        try:
            return Shift(table.get("tz", "UTC"), **kwargs)
        except (ConfigError, TypeError, ValueError) as exc:
            raise self.fail(key, str(exc)) from exc

    def rule(self, spec: dict[str, Any], key: str) -> Rule:
        from leadrouter import rules

        name = spec.get("name")
        if name not in RULES:
            raise self.fail(f"{key}.name", f"unknown rule {name!r}; allowed: {', '.join(RULES)}")
        settings = {k: v for k, v in spec.items() if k != "name"}
        if name in ("region", "skill"):
            self.only(settings, key, ("field",))
            factory = rules.region if name == "region" else rules.skill
            return factory(**settings)
        if name == "dedup_to_owner":
            self.only(settings, key, ())
            return rules.dedup_to_owner()
        if name == "nurture":
            self.only(settings, key, ("below", "grades", "pool"))
            try:
                return rules.nurture(**settings)
            except ConfigError as exc:
                raise self.fail(key, str(exc)) from exc
        self.only(settings, key, ("shifts", "default"))
        shifts = {
            rep: self.shift(s, f"{key}.shifts.{rep}")
            for rep, s in self.table(settings.get("shifts", {}), f"{key}.shifts").items()
        }
        default = (
            self.shift(settings["default"], f"{key}.default") if "default" in settings else None
        )
        return rules.schedule(shifts, default=default)

    def rep(self, spec: Mapping[str, Any], key: str) -> Rep:
        self.only(spec, key, REP_KEYS)
        data = dict(spec)
        for name in ("regions", "skills"):
            value = data.get(name)
            if isinstance(value, str):
                data[name] = [part.strip() for part in value.split(";") if part.strip()]
        for name, kind in (("tier", int), ("quota", float)):
            if data.get(name) in ("", None):
                data.pop(name, None)
            elif isinstance(data[name], str):
                try:
                    data[name] = kind(data[name])
                except ValueError as exc:
                    raise self.fail(
                        f"{key}.{name}", f"expected a number, got {data[name]!r}"
                    ) from exc
        if isinstance(data.get("active"), str):
            data["active"] = data["active"].strip().lower() not in ("0", "false", "no", "")
        if "id" not in data:
            raise self.fail(key, "a rep needs an id")
        try:
            return Rep(data.pop("id"), **data)
        except (ConfigError, TypeError, ValueError) as exc:
            raise self.fail(key, str(exc)) from exc

    def roster_file(self, value: Any, key: str) -> Iterator[Rep]:
        if not isinstance(value, str):
            raise self.fail(key, "expected a CSV file name")
        path = (self.path.parent / value).resolve()
        if not path.is_file():
            raise self.fail(key, f"roster file {path} does not exist")
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for number, row in enumerate(csv.DictReader(handle), start=2):
                yield self.rep(
                    {k: v for k, v in row.items() if v not in (None, "")}, f"{value} row {number}"
                )


def read_playbook(path: str | Path) -> dict[str, Any]:
    """The playbook's settings as built objects (strategy, rules, caps, lifecycle, reps, seed),
    without making a Router. Raises PlaybookError for anything that cannot work."""
    path = Path(path)
    reader = _Reader(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PlaybookError(f"{path}: no such playbook file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PlaybookError(f"{path}: not valid TOML: {exc}") from exc
    reader.only(data, "top level", SECTIONS)
    if "strategy" not in data:
        raise reader.fail("strategy", "missing: add a [strategy] table with a name")
    strategy = reader.strategy(data["strategy"], "strategy")
    rules = [
        reader.rule(spec, f"rules[{i}]")
        for i, spec in enumerate(reader.tables(data.get("rules", []), "rules"))
    ]
    caps = [
        reader.cap(spec, f"caps[{i}]")
        for i, spec in enumerate(reader.tables(data.get("caps", []), "caps"))
    ]
    lifecycle = Lifecycle()
    if "lifecycle" in data:
        spec = reader.table(data["lifecycle"], "lifecycle")
        reader.only(
            spec, "lifecycle", ("first_touch_sla", "expire_after", "reroute", "working_hours")
        )
        kwargs: dict[str, Any] = {
            name: reader.duration(spec[name], f"lifecycle.{name}")
            for name in ("first_touch_sla", "expire_after")
            if name in spec
        }
        if "reroute" in spec:
            kwargs["reroute"] = spec["reroute"]
        if "working_hours" in spec:
            from leadrouter import rules as rule_factories

            kwargs["working_hours"] = rule_factories.schedule(
                default=reader.shift(spec["working_hours"], "lifecycle.working_hours")
            )
        try:
            lifecycle = Lifecycle(**kwargs)
        except (ConfigError, TypeError, ValueError) as exc:
            raise reader.fail("lifecycle", str(exc)) from exc
    router_settings = reader.table(data.get("router", {}), "router")
    reader.only(router_settings, "router", ("seed",))
    reps = [
        reader.rep(spec, f"reps[{i}]")
        for i, spec in enumerate(reader.tables(data.get("reps", []), "reps"))
    ]
    if "roster" in data:
        reps += list(reader.roster_file(data["roster"], "roster"))
    if not reps:
        raise reader.fail("reps", 'no reps: add [[reps]] tables or roster = "reps.csv"')
    ids = [rep.id for rep in reps]
    duplicates = sorted({rep_id for rep_id in ids if ids.count(rep_id) > 1})
    if duplicates:
        raise reader.fail("reps", f"rep ids appear twice: {duplicates}")
    return {
        "strategy": strategy,
        "rules": rules,
        "caps": caps,
        "lifecycle": lifecycle,
        "reps": reps,
        "seed": router_settings.get("seed", 0),
    }


def load_playbook(path: str | Path, **overrides: Any) -> Router:
    """A ready Router from a playbook file; keyword `overrides` (e.g. `clock=`, `ledger=`)
    are passed to the Router."""
    settings = read_playbook(path)
    settings.update(overrides)
    return Router(**settings)
