"""leadrouter.testing: tools for teams unit-testing their own routing rules and strategies.

- `check_strategy(strategy)` runs the conformance checks every strategy must pass;
- `parametrize_with_checks([...])` turns them into one pytest test per (strategy, check);
- `leadrouter.testing.generators` has hypothesis strategies for leads, rosters and event streams
  (imported on demand: it needs the `testing` extra);
- `-p leadrouter.testing.plugin` adds `clock`, `ledger` and `router_factory` fixtures.
"""

from leadrouter.testing.checks import (
    CHECKS,
    check_strategy,
    parametrize_with_checks,
    sample_roster,
)

__all__ = ["CHECKS", "check_strategy", "parametrize_with_checks", "sample_roster"]
