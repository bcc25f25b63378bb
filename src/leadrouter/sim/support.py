"""What a log of propensities can support, checked before and after `evaluate` replays it.

Before: whether any logged assignment was randomised at all (else `MissingPropensityError`,
saying why and pointing at a column, English or Chinese, that may hold the chances). After:
whether a policy's choices had a logged chance, which the weights tell (over randomised leads a
supported policy's weights average 1), and, when they did not, the likely reasons by name: a
rule or cap the live router had, or a rep the policy was offered before they joined the team.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from leadrouter.errors import MissingPropensityError

if TYPE_CHECKING:
    import pandas as pd

    from leadrouter.sim.history import History

__all__ = ["check_randomised", "randomised", "unshared"]

Array = np.ndarray[Any, Any]

FEW = 30.0
"""An effective sample below this leaves a normal interval, and a mean of the weights,
untrustworthy (evaluate's `FEW`)."""

_LIKE_PROPENSITY = ("propens", "probab", "chance", "likelihood", "概率", "倾向", "几率")
"""Words in a header that may hold the logged chances under a name leadrouter did not map."""

_EARLY = 10
"""Choices of a rep before their first logged lead that are worth naming: fewer are what any
rotation does in its first rounds."""

START = (
    "Until the team logs them, compare the policies with a model (leadrouter compare; "
    "compare() in Python). To start logging, route with a little randomisation - "
    "Router(Explore(your strategy, share=0.05 to 0.10), ...) writes each assignment's "
    "chance in Assigned.propensity - and read the log with history_from_ledger(router.ledger), "
    "or export it as a 'propensity' column"
)


def randomised(propensity: Array) -> Array:
    """The assignments the log randomised: a chance below 1. A propensity of 1 is a choice no
    other rep had any chance of (Explore writes it when one rep alone could take the lead)."""
    return np.isfinite(propensity) & (propensity < 1.0)


def check_randomised(history: History, frame: pd.DataFrame, propensity: Array) -> None:
    """MissingPropensityError when no logged assignment was randomised, saying why: no
    propensity at all (pointing at a column that may hold them), or every one of them 1."""
    if randomised(propensity).any():
        return
    if np.isfinite(propensity).any():
        raise MissingPropensityError(
            f"{history.origin}: every logged propensity is 1, so no assignment was randomised "
            "and the log says nothing of what another rep would have sold. " + START
        )
    from leadrouter.sim.fields import COLUMNS

    like = [
        str(header)
        for header in frame.columns
        if header not in COLUMNS
        and any(word in str(header).lower().replace(" ", "") for word in _LIKE_PROPENSITY)
    ]
    hint = (
        f" The column {like[0]!r} may hold them: map it as the propensity, --columns "
        f"propensity={like[0]!r} on the command line, columns={{'propensity': {like[0]!r}}} in "
        "load_export."
        if like
        else ""
    )
    raise MissingPropensityError(
        f"{history.origin}: no assignment has a propensity, so nothing says what another policy "
        f"would have sold.{hint} " + START
    )


def unshared(
    propensity: Array,
    choice: Sequence[str | None],
    weight: Array,
    logged: Sequence[str | None],
    lead_ids: Sequence[str],
    ess: float,
) -> str:
    """A caveat when the policy often chose reps the logged routing could not have: over
    randomised leads, a policy whose every choice had a logged chance gets weights that
    average 1, so an average well below it (4 standard errors) says the log never offered
    those reps. Not said when the effective sample is under `FEW`: the weights' own spread then
    misses the rare large weights, and a supported policy would be accused on a tiny log.
    Names the reps the policy chose before their first logged lead (a rep who joined
    mid-history is offered to every policy from the start), else points at rules and caps."""
    over = randomised(propensity) & np.array([c is not None for c in choice])
    w = weight[over]
    if len(w) < 2 or ess < FEW:
        return ""
    mean = float(w.mean())
    error = math.sqrt(max(float((w**2).sum()) - float(np.count_nonzero(w)), 0.0)) / len(w)
    if not mean + 4.0 * error < 1.0:
        return ""
    said = (
        f"its weights average {mean:.2f} where a policy the log supports gets 1: on about "
        f"{1 - mean:.0%} of leads it chose a rep the logged routing could not have, counted as "
        "non-matches, so its estimates lean toward 0"
    )
    early = _before_first(choice, logged, lead_ids)
    if early:
        return (
            f"{said}; it chose {early}: every rep of the roster is offered to the policy from "
            "the first lead, so for a rep who joined mid-history evaluate the leads from the "
            "day they joined on (History.from_frame of the rows of history.to_frame() from "
            "then), and leave a rep the log never names out of the roster"
        )
    return (
        f"{said} (a rule or cap the live router had and this policy lacks); evaluate it with "
        "the live router's rules (a playbook)"
    )


def _before_first(
    choice: Sequence[str | None], logged: Sequence[str | None], lead_ids: Sequence[str]
) -> str:
    """ "ed on 57 leads before their first logged lead L300", for each rep the policy chose on
    at least a tenth of the leads logged before that rep's first one, and each rep it chose
    whom the log never names; "" when none."""
    first: dict[str, int] = {}
    for position, rep in enumerate(logged):
        if rep is not None:
            first.setdefault(rep, position)
    named = []
    for rep, start in sorted(first.items(), key=lambda item: item[1]):
        early = sum(1 for c in choice[:start] if c == rep)
        if early >= max(0.1 * start, _EARLY):
            named.append(
                f"{rep} on {early:,} leads before their first logged lead {lead_ids[start]}"
            )
    never = sorted({c for c in choice if c is not None} - set(first))
    named += [f"{rep}, whom the log never names" for rep in never]
    return ", ".join(named)
