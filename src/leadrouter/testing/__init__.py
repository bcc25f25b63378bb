"""leadrouter.testing: tools for teams unit-testing their own routing rules and strategies.

- `check_strategy(strategy)` runs the conformance checks that apply to the strategy (chosen by
  its `StrategyTags`, listed by `checks_for(strategy)`), each on a fresh instance;
- `parametrize_with_checks([...])` turns them into one pytest test per (strategy, check), with
  expected failures as strict xfails carrying their reason;
- `check_shares_track_weights(strategy)` (also run by `check_strategy` for a weighted
  strategy) checks realised shares stay within two leads of the weights the strategy states;
- `check_cap(cap)` checks a cap's optional answers (`remaining`, `saturated`, `would_refuse`)
  agree with its `check` over three days of routing;
- `router_machine(strategy)` is a hypothesis state machine running the strategy through a Router
  (imported on demand: it needs the `testing` extra);
- `leadrouter.testing.generators` has hypothesis strategies for leads, rosters and event streams
  (also the `testing` extra);
- `-p leadrouter.testing.plugin` adds `clock`, `ledger` and `router_factory` fixtures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from leadrouter.testing.caps import check_cap
from leadrouter.testing.checks import (
    CHECKS,
    AppliesTo,
    applies_to,
    check_shares_track_weights,
    sample_roster,
)
from leadrouter.testing.suite import check_strategy, checks_for, parametrize_with_checks

if TYPE_CHECKING:
    from leadrouter.testing.machine import router_machine

__all__ = [
    "CHECKS",
    "AppliesTo",
    "applies_to",
    "check_cap",
    "check_shares_track_weights",
    "check_strategy",
    "checks_for",
    "parametrize_with_checks",
    "router_machine",
    "sample_roster",
]


if not TYPE_CHECKING:  # a type checker sees the import above, and flags a misspelt name

    def __getattr__(name: str) -> object:
        """`router_machine` is imported on first use, so `import leadrouter.testing` does not
        load hypothesis."""
        if name == "router_machine":
            from leadrouter.testing.machine import router_machine

            return router_machine
        raise AttributeError(f"module 'leadrouter.testing' has no attribute {name!r}")
