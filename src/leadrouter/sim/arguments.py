"""What `compare` and `evaluate` are given, checked before anything is fitted or simulated: a
wrong argument an analyst plausibly writes (a list of policies, a strategy class, a policy's
name given as a file, seeds that are not whole numbers, a DataFrame for a History) is a
ConfigError naming it and the fix, never a TypeError from deep inside the first run."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import cast

from leadrouter._util import calls_with
from leadrouter.errors import ConfigError
from leadrouter.sim.engine import Policy
from leadrouter.strategies.base import Strategy, as_strategy

__all__ = ["check_history", "check_options", "check_policies", "check_seeds"]


def check_policies(policies: object, where: str) -> dict[str, Policy]:
    """`policies` as {name: policy}, each a Strategy, a playbook file or a factory, checked
    before anything is fitted or simulated: a list, a strategy class instead of an instance or
    a built-in policy's name given as a file are ConfigErrors naming the policy and the fix,
    not a TypeError from deep in the first run."""
    if not isinstance(policies, Mapping):
        raise ConfigError(
            f"{where} takes the policies as {{name: policy}}, got {type(policies).__name__}: "
            "write e.g. {'rotation': EqualRotation(), 'weighted': PerformanceWeighted()}"
        )
    if not policies:
        raise ConfigError(f"{where} needs at least one policy: {{'name': strategy, ...}}")
    for name, policy in policies.items():
        said = f"{where}: policy {name!r}"
        if isinstance(policy, type):
            as_strategy(policy, said)  # a Strategy class: its message says to call it
            raise ConfigError(f"{said} is the class {policy.__name__}, not a policy")
        if isinstance(policy, str | os.PathLike) and not Path(policy).is_file():
            raise ConfigError(
                f"{said}: {str(policy)!r} is no playbook file: give the path of a .toml "
                "playbook, or a strategy (EqualRotation()); the built-in policies by name are "
                f"leadrouter.sim.demo_policies(history)[{str(policy)!r}]"
            )
        if not isinstance(policy, Strategy | str | os.PathLike) and not (
            callable(policy) and calls_with(policy, 2)
        ):
            raise ConfigError(
                f"{said} is {type(policy).__name__} {policy!r}: a policy is a Strategy, a "
                "playbook path or a factory f(reps, seed) -> Router"
            )
    return dict(policies)


def check_seeds(seeds: object, where: str) -> tuple[int, ...]:
    """`seeds` (a count, or the seeds themselves) as distinct whole numbers; anything else a
    ConfigError naming it."""
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        found: tuple[object, ...] = tuple(range(seeds))
    elif isinstance(seeds, Iterable) and not isinstance(seeds, str | bytes):
        found = tuple(seeds)
    else:
        found = ("not a seed",)
    if any(isinstance(s, bool) or not isinstance(s, int) for s in found):
        raise ConfigError(
            f"{where}: seeds is a count (seeds=20) or the seeds themselves (seeds=range(100, "
            f"120)), got {seeds!r}"
        )
    if not found:
        raise ConfigError(f"{where} needs at least one seed (seeds=20 is usual)")
    if len(set(found)) != len(found):
        raise ConfigError(f"{where}: seeds must be distinct, got {list(found)}")
    return cast("tuple[int, ...]", found)


def check_history(history: object, where: str) -> None:
    """A History, else a ConfigError saying how to make one from what was given."""
    from leadrouter.sim.history import History

    if not isinstance(history, History):
        raise ConfigError(
            f"{where} takes a History, got {type(history).__name__}: make one with "
            "load_export(path) from a file, History.from_frame(frame) from a DataFrame or "
            "history_from_ledger(router.ledger) from what a Router logged"
        )


def check_options(
    where: str, behaviour: object = None, progress: object = None, sla: object = None
) -> None:
    """A behaviour model (or None), a progress callback f(done, total) (or None) and an SLA
    (a timedelta), each else a ConfigError naming it and what to give."""
    if behaviour is not None and not all(
        callable(getattr(behaviour, method, None)) for method in ("capacity", "p_convert")
    ):
        raise ConfigError(
            f"{where}: behaviour is a model, e.g. fit_behaviour(history), or None to fit one; "
            f"got {behaviour!r}"
        )
    if progress is not None and not callable(progress):
        raise ConfigError(
            f"{where}: progress is a function f(done, total) called as runs finish, or None; "
            f"got {progress!r}"
        )
    if sla is not None and not isinstance(sla, timedelta):
        raise ConfigError(f"{where}: sla is a timedelta, e.g. timedelta(minutes=30), got {sla!r}")
