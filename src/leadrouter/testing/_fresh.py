"""A fresh strategy for every check and every machine run, from whatever the user passed.

A strategy should hold configuration only, but one that keeps hidden state (a counter, a cache
keyed wrongly) would otherwise carry it from one check into the next, so a failure would depend
on which checks ran before. Every check therefore gets its own instance.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from typing import Any, cast

from leadrouter.context import Context
from leadrouter.errors import ConfigError
from leadrouter.strategies.base import Strategy, as_strategy

__all__ = ["StrategySource", "as_factory"]

StrategySource = Strategy | Callable[[Context], Any] | Callable[[], Any]
"""A Strategy instance, a plain function strategy `f(ctx)`, or a zero-argument factory (a
Strategy class, a lambda) returning either."""


def _is_factory(source: Callable[..., Any]) -> bool:
    """True for a callable that takes no arguments (a factory), False for one that takes a
    context (a function strategy)."""
    if isinstance(source, type):
        return True
    try:
        signature = inspect.signature(source)
    except (TypeError, ValueError):
        return False
    required = [
        p
        for p in signature.parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return not required


def _copies(original: Strategy) -> Callable[[], Strategy]:
    def fresh() -> Strategy:
        try:
            return copy.deepcopy(original)
        except Exception as exc:
            raise ConfigError(
                f"cannot copy {original!r} to give each check a fresh instance "
                f"({type(exc).__name__}: {exc}): pass a factory that makes one instead, e.g. "
                f"`{type(original).__name__}` or `lambda: {type(original).__name__}(...)`"
            ) from exc

    return fresh


def as_factory(source: StrategySource) -> Callable[[], Strategy]:
    """A zero-argument callable returning a new, independent Strategy on every call.

    A Strategy instance (or a function strategy) is deep-copied on every call, so the original
    is never used and no state passes between copies; a zero-argument callable is called.
    """
    if isinstance(source, Strategy):
        return _copies(source)
    if not callable(source):
        raise ConfigError(
            f"expected a strategy, a function strategy f(ctx) or a zero-argument factory that "
            f"returns one, got {source!r}"
        )
    if not _is_factory(source):
        return _copies(as_strategy(cast("Callable[[Context], Any]", source)))
    factory = cast("Callable[[], Any]", source)

    def fresh() -> Strategy:
        try:
            made = factory()
        except TypeError as exc:
            raise ConfigError(
                f"calling {factory!r} with no arguments to make a strategy failed ({exc}): pass "
                "an instance, or a factory such as `lambda: MyStrategy(...)`"
            ) from exc
        return as_strategy(made)

    return fresh
