"""The lifecycle's timers: when each held lead's first-touch SLA and expiry fall due; a
strategy's own timers, what its `tick()` answered, checked and turned into releases; and when the
rules and caps may let a waiting lead be taken (`next_offer`).

Deadlines are kept in a heap built from the ledger, so `tick()` looks only at what is due. They
are elapsed time: a 30-minute SLA falls due 30 minutes later also across a daylight-saving
change, whatever zone the times are given in. A
deadline is a promise to look, not a verdict: when it comes up, the lead must still be held by
the same rep since the same time (and, for the SLA, still untouched) for it to count.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from leadrouter._trusted import new_released
from leadrouter._util import earliest, instant
from leadrouter.caps import Cap
from leadrouter.context import TickContext
from leadrouter.errors import StrategyError
from leadrouter.events import PUBLIC, Released
from leadrouter.ledger import Ledger
from leadrouter.lifecycle import EXPIRED, SLA_MISSED, Lifecycle
from leadrouter.model import Lead, Rep
from leadrouter.rules import Rule
from leadrouter.strategies.base import Release, Strategy

__all__ = ["Timers", "next_offer", "strategy_release", "tick_actions"]


class Timers:
    """The deadlines of one router's lifecycle, in due order, and for deadlines due at the same
    instant in the order of their lead ids: an order the ledger alone fixes, so a router rebuilt
    from it (a restart, another worker, a rolled-back call) re-routes the same leads in the same
    order as the router that lived through it, whatever order the deadlines were set in."""

    __slots__ = ("_counter", "_heap", "lifecycle")

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self._heap: list[tuple[datetime, str, str, int, str, datetime]] = []
        self._counter = itertools.count()

    def schedule(self, lead_id: str, rep_id: str, since: datetime, touched: bool) -> None:
        """Set the deadlines of a lead `rep_id` holds since `since`."""
        life = self.lifecycle
        start = instant(since)  # elapsed time, also across a daylight-saving change
        for delay, kind in ((life.first_touch_sla, SLA_MISSED), (life.expire_after, EXPIRED)):
            if delay is None or (touched and kind == SLA_MISSED):
                continue
            try:
                due = start + delay
            except OverflowError:
                continue  # past the last representable time: never due
            heapq.heappush(self._heap, (due, lead_id, kind, next(self._counter), rep_id, since))

    def rebuild(self, ledger: Ledger) -> None:
        """Every deadline again, from who holds what in `ledger` (after a restart or writes by
        another router)."""
        self._heap = []
        for lead_id, rep_id, since in ledger.held():
            touched = ledger.first_touch(lead_id) is not None
            self.schedule(lead_id, rep_id, since, touched)

    def next_after(self, now: datetime) -> datetime | None:
        """The earliest deadline later than `now` (None when none is set): after a `due(now)`
        pass every deadline left is later, so this is the top of the heap, found without a
        scan unless deadlines at or before `now` are still waiting for their pass."""
        heap, moment = self._heap, instant(now)
        if not heap or heap[0][0] > moment:
            return heap[0][0] if heap else None
        return min((entry[0] for entry in heap if entry[0] > moment), default=None)

    def due(self, now: datetime, ledger: Ledger) -> Iterator[tuple[str, str, str]]:
        """(lead id, rep id, "sla" or "expired") for each deadline due at `now` that still
        holds, earliest first. An SLA counted in working hours that is not really due yet goes
        back on the heap at its real time. The caller may schedule new deadlines between
        items (a re-route); those due by `now` come up in this same pass."""
        life, heap = self.lifecycle, self._heap
        now = instant(now)
        while heap and heap[0][0] <= now:
            _, lead_id, kind, _, rep_id, since = heapq.heappop(heap)
            if ledger.holder(lead_id) != rep_id or ledger.held_since(lead_id) != since:
                continue
            if kind == SLA_MISSED:
                if ledger.first_touch(lead_id) is not None:
                    continue
                shift = (
                    life.working_hours.shift_for(rep_id) if life.working_hours is not None else None
                )
                if shift is not None:
                    assert life.first_touch_sla is not None
                    real_due = shift.add_working_time(since, life.first_touch_sla)
                    if real_due > now:
                        heapq.heappush(
                            heap, (real_due, lead_id, kind, next(self._counter), rep_id, since)
                        )
                        continue
            yield lead_id, rep_id, kind


def next_offer(
    rules: Iterable[Rule | Callable[[Lead, Rep], bool]], caps: Iterable[Cap], ctx: TickContext
) -> datetime | None:
    """The first time after `ctx.now` at which a rule's answers may change with the time
    (`Rule.next_change`) or a cap's count start over (`Cap.next_reset`): when a lead waiting
    because no rep could take it may be taken at a tick, with nothing else happening. A plain
    callable as a rule does not say, and is taken to answer the same at any time."""
    changes = (rule.next_change(ctx) for rule in rules if isinstance(rule, Rule))
    return earliest(itertools.chain(changes, (cap.next_reset(ctx) for cap in caps)))


def tick_actions(strategy: Strategy, answer: object) -> list[Release]:
    """What `strategy.tick()` answered, as a list of Release actions; anything else is a
    StrategyError saying what it returned and what to return, instead of a TypeError from
    iterating it (a tick() that forgot its `return` answers None)."""
    if answer is None or isinstance(answer, str | Release) or not isinstance(answer, Iterable):
        raise StrategyError(
            f"{strategy!r}.tick() returned {answer!r}; return a list of Release (an empty list "
            "when it takes nothing back)"
        )
    actions = list(answer)
    for action in actions:
        if not isinstance(action, Release):
            raise StrategyError(
                f"{strategy!r}.tick() returned {action!r} among its actions; return "
                "Release(lead_id, reason) for each lead to take back"
            )
    return actions


def strategy_release(action: Release, holder: str, now: datetime) -> Released:
    """The Released event of a strategy's `Release` of a lead its `holder` has. The lead id is
    one the ledger holds and a `Release` checked its reason (a str) when it was made, so with no
    pool named (the public one) the event is built without checking them again; a named pool
    (which the event requires to be an id) or an action of another type goes through the
    event's own validators."""
    if type(action) is Release and action.pool is None:
        return new_released(action.lead_id, holder, now, action.reason, PUBLIC)
    pool = PUBLIC if action.pool is None else action.pool
    return Released(action.lead_id, holder, now, action.reason, pool=pool)
