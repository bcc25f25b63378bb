"""A policy as the Router a simulated run drives: the forms a policy may take (`Policy`: a
Strategy, a playbook path, a factory), the fresh Router each run gets (`make_router`), the clock
the engine moves for it (`SimClock`), and the behaviour model of one replicate (`replicate`).
Kept apart from `leadrouter.sim.engine`, which runs the Router these make."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Union

from leadrouter.errors import ConfigError
from leadrouter.ledger import Ledger
from leadrouter.model import Rep
from leadrouter.router import Router
from leadrouter.sim.behaviour import Behaviour
from leadrouter.strategies.base import Strategy

__all__ = ["Factory", "Policy", "SimClock", "make_router", "replicate"]


Factory = Callable[[list[Rep], int], Router]
Policy = Union[Strategy, str, "os.PathLike[str]", Factory]
"""A Strategy instance, a playbook path, or a factory `f(reps, seed) -> Router` that returns a
Router with a fresh, empty ledger."""


class SimClock:
    """The simulated time a run's Router reads as its clock: the engine sets `now` as it goes."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def replicate(behaviour: Behaviour, seed: int) -> Behaviour:
    """The behaviour model for one replicate: `behaviour.replicate(seed)` for a model that can
    redraw its parameters (a fitted one: a Bayesian bootstrap of the history's leads), else the
    model itself (given parameters are taken as known)."""
    redraw = getattr(behaviour, "replicate", None)
    if redraw is None:
        return behaviour
    drawn: Behaviour = redraw(seed)
    return drawn


def make_router(
    policy: Policy,
    reps: list[Rep],
    seed: int,
    clock: SimClock | None,
    decision_log: int = 10_000,
) -> Router:
    """A fresh Router for `policy` over `reps`.

    A playbook's own roster is replaced by `reps` (the history's roster): the behaviour model
    knows only the reps in the history, so a simulated rep must be one of them. A Router made
    here from a Strategy or a playbook keeps `decision_log` leads' decisions for `Router.why`
    (see `Router`); a factory's Router is the factory's own.
    """
    if isinstance(policy, Strategy):
        return Router(policy, reps, clock=clock, seed=seed, decision_log=decision_log)
    if isinstance(policy, str | os.PathLike):
        from leadrouter.playbooks import load_playbook

        return load_playbook(
            Path(policy),
            reps=reps,
            clock=clock,
            seed=seed,
            ledger=Ledger(),
            decision_log=decision_log,
        )
    if callable(policy):
        router = policy(list(reps), seed)
        if not isinstance(router, Router):
            raise ConfigError(
                f"policy factory {policy!r} returned {router!r}: a factory must return a Router"
            )
        if len(router.ledger):
            raise ConfigError(
                f"policy factory {policy!r} returned a Router whose ledger already holds "
                f"{len(router.ledger)} events: return one with a fresh ledger each call"
            )
        return router
    raise ConfigError(
        f"a policy is a Strategy, a playbook path or a factory f(reps, seed) -> Router; "
        f"got {policy!r}"
    )
