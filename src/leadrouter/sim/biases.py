"""What a fitted model is known to get wrong for some kinds of policy, measured against known
truth, said beside those policies' results (`Comparison.biases`, in `caveats()`).

Both come from the same source, a model fitted to the history it is then asked about:

- A tiered policy's premium tier is chosen from the history's own win rates, which flatter the
  reps who were lucky; the fit then credits them with that luck again (a winner's curse). On the
  coverage benchmark's histories (docs/analyst/limits.md) its conversion difference was the one
  row with a bias over a fifth of its half-width, always toward promising more.
- Routing by who closes better (performance weighting, profile matching) gains what the reps'
  differences are worth, and the fit shrinks those differences toward the team's (partial
  pooling, right for the small-sample reps it protects). Where reps differ a lot, the gain comes
  out smaller than it is: about half the truth on two synthetic teams whose best reps closed
  several times the odds of the worst.

Given behaviours (the truth of a synthetic history, a hand-made model) have neither bias.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from leadrouter.sim.engine import Behaviour

if TYPE_CHECKING:
    from leadrouter.strategies.base import Strategy

__all__ = ["BY_SKILL", "known_biases"]

_TIERED = (
    "the fitted model over-states a tiered policy's sales difference (its premium tier is "
    "picked on the history's own win rates, whose luck the fit credits again): read its "
    "conversion and revenue differences as optimistic"
)
BY_SKILL = (
    "the fitted model shrinks reps' differences in closing toward the team's, so where reps "
    "differ a lot the gain of routing by who closes better comes out smaller than it is "
    "(about half the truth on synthetic teams whose reps differed most): read it as a floor"
)


def known_biases(strategies: Mapping[str, Strategy], behaviour: Behaviour) -> dict[str, str]:
    """Per policy (by its strategy), the known bias of a fitted `behaviour` for its kind (see
    the module docstring); nothing for a given behaviour."""
    from leadrouter.sim.fitted import FittedBehaviour
    from leadrouter.strategies.performance_weighted import PerformanceWeighted
    from leadrouter.strategies.profile_matching import ProfileMatching
    from leadrouter.strategies.tiered_delay import TieredDelay

    if not isinstance(behaviour, FittedBehaviour):
        return {}
    found: dict[str, str] = {}
    for name, strategy in strategies.items():
        if isinstance(strategy, TieredDelay):
            found[name] = _TIERED
        elif isinstance(strategy, PerformanceWeighted | ProfileMatching):
            found[name] = BY_SKILL
    return found
