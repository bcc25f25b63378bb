"""What a fitted model is known to get wrong for some kinds of policy, measured against known
truth, said beside those policies' results (`Comparison.biases`, in `caveats()`).

- Routing by who closes better (performance weighting, profile matching) gains what the reps'
  differences are worth, and the fit shrinks those differences toward the team's (partial
  pooling, right for the small-sample reps it protects). Where reps differ a lot, the gain comes
  out smaller than it is: on the coverage benchmark's histories whose reps differ strongly, a
  fifth to a quarter of a half-width below the truth on average (docs/analyst/limits.md).

A tiered policy whose tiers are picked on the history's own win rates was listed here too, its
sales difference over-stated (a winner's curse: the fit credited the reps picked as weak with
the same bad luck that picked them). Since the fit shrinks reps by the spread the history shows
between them (`leadrouter.sim.estimation_shrink`) that bias is gone on the coverage benchmark
(docs/analyst/limits.md), and nothing is said beside a tiered policy.

Given behaviours (the truth of a synthetic history, a hand-made model) have neither bias.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from leadrouter.sim.engine import Behaviour

if TYPE_CHECKING:
    from leadrouter.strategies.base import Strategy

__all__ = ["BY_SKILL", "known_biases"]

BY_SKILL = (
    "the fitted model shrinks reps' differences in closing toward the team's, so where reps "
    "differ a lot the gain of routing by who closes better comes out smaller than it is: read "
    "it as a floor"
)


def known_biases(strategies: Mapping[str, Strategy], behaviour: Behaviour) -> dict[str, str]:
    """Per policy (by its strategy), the known bias of a fitted `behaviour` for its kind (see
    the module docstring); nothing for a given behaviour."""
    from leadrouter.sim.fitted import FittedBehaviour
    from leadrouter.strategies.performance_weighted import PerformanceWeighted
    from leadrouter.strategies.profile_matching import ProfileMatching

    if not isinstance(behaviour, FittedBehaviour):
        return {}
    found: dict[str, str] = {}
    for name, strategy in strategies.items():
        if isinstance(strategy, PerformanceWeighted | ProfileMatching):
            found[name] = BY_SKILL
    return found
