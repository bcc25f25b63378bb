"""Decisions that word their reasons when they are read, not when they are made.

Most decisions are never explained: a CRM reads `rep_id` and moves on. Building every Reason
of every decision (the reps each rule excluded, every rep a cap stopped, with their numbers)
cost more than choosing the rep. A `WordedLater` decision keeps what the reasons are made of,
the parts already built (a filter's exclusions are shared by every lead of a region) and what
the caps found, and builds the same tuple of Reasons the first time `reasons` is read, then
keeps it. Everything the words depend on is captured when the decision is made, so reading them
later, after other leads were routed, gives the words of that moment.

A copy made with `attrs.evolve` is a `WordedLater` with its reasons already worded. To
everything but `type()` it is a `Decision`: same fields, equal (and hashing equal) to a
`Decision` with the same fields, the same `repr`, `explain()` and `_repr_html_()`; it pickles and
copies as a plain `Decision`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from operator import attrgetter
from typing import Any

import attrs

from leadrouter._util import EMPTY, FrozenMap
from leadrouter.model import Decision, Reason
from leadrouter.router._capping import Capped, cap_reasons

__all__ = ["WordedLater", "last_reason", "with_first_reason", "worded_later"]

_SLOT = Decision.__dict__["reasons"]
"""The slot that holds a Decision's reasons (attrs makes Decision slotted)."""
_FIELDS = tuple(field.name for field in attrs.fields(Decision))
_values = attrgetter(*_FIELDS)


class WordedLater(Decision):
    """A Decision whose `reasons` are `(*head, *reasons of capped, last)`, built on first read."""

    __slots__ = ("_capped", "_head", "_last")

    _head: tuple[Reason, ...]
    _capped: Capped | None
    _last: Reason

    @property
    def reasons(self) -> tuple[Reason, ...]:
        try:
            found: tuple[Reason, ...] = _SLOT.__get__(self, Decision)
        except AttributeError:
            capped = self._capped
            found = (*self._head, *(cap_reasons(capped) if capped else ()), self._last)
            _SLOT.__set__(self, found)
        return found

    @reasons.setter
    def reasons(self, value: tuple[Reason, ...]) -> None:
        _SLOT.__set__(self, value)

    def plain(self) -> Decision:
        """The same decision as a plain `Decision` (its reasons built)."""
        return Decision(*_values(self))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Decision):
            return bool(_values(self) == _values(other))
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, Decision):
            return bool(_values(self) != _values(other))
        return NotImplemented

    __hash__ = Decision.__hash__

    def __repr__(self) -> str:
        return repr(self.plain())

    def __reduce__(self) -> tuple[Callable[..., Decision], tuple[Any, ...]]:
        return Decision, _values(self)


_new = object.__new__
(
    _set_lead_id,
    _set_rep_id,
    _set_action,
    _set_at,
    _set_by,
    _set_pool,
    _set_scores,
    _set_propensity,
) = (
    Decision.__dict__[name].__set__
    for name in ("lead_id", "rep_id", "action", "at", "by", "pool", "scores", "propensity")
)
_set_head = WordedLater.__dict__["_head"].__set__
_set_capped = WordedLater.__dict__["_capped"].__set__
_set_last = WordedLater.__dict__["_last"].__set__


def worded_later(
    lead_id: str,
    rep_id: str | None,
    action: str,
    at: datetime,
    by: str,
    pool: str | None,
    head: tuple[Reason, ...],
    capped: Capped | None,
    last: Reason,
    scores: FrozenMap[float] = EMPTY,
    propensity: float | None = None,
) -> WordedLater:
    """A WordedLater decision from parts the router has checked already (ids from the roster
    and ledger, an aware time, a known action), so no validator runs again. Each field is set
    through its slot's own setter, which is what the frozen class's setattr ends up calling,
    minus the lookup by name."""
    self = _new(WordedLater)
    _set_lead_id(self, lead_id)
    _set_rep_id(self, rep_id)
    _set_action(self, action)
    _set_at(self, at)
    _set_by(self, by)
    _set_pool(self, pool)
    _set_scores(self, scores)
    _set_propensity(self, propensity)
    _set_head(self, head)
    _set_capped(self, capped)
    _set_last(self, last)
    return self


def last_reason(decision: Decision) -> Reason | None:
    """The decision's last reason (what a Pooled event quotes), without wording the rest."""
    last: Reason | None = getattr(decision, "_last", None)
    if last is not None:
        return last
    return decision.reasons[-1] if decision.reasons else None


def with_first_reason(decision: Decision, reason: Reason) -> Decision:
    """`decision` with `reason` put before its reasons (still worded later if it was)."""
    if isinstance(decision, WordedLater) and getattr(decision, "_last", None) is not None:
        return worded_later(
            decision.lead_id,
            decision.rep_id,
            decision.action,
            decision.at,
            decision.by,
            decision.pool,
            (reason, *decision._head),
            decision._capped,
            decision._last,
            decision.scores,
            decision.propensity,
        )
    return attrs.evolve(decision, reasons=(reason, *decision.reasons))
