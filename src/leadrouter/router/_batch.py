"""`Router.route_many`: the checks of a whole batch before any of it is written, and the
batch for a strategy that solves batches (`StrategyTags(batching=True)`); the checks of the
reports `Router.record` and `record_many` take.

Retries and leads a rule settles are handled one by one, exactly as `route` would; the rest go
to the strategy's `route_batch` together, with each rep's remaining capacity under the caps,
and its answers are checked against that capacity before anything of the batch is written.
Each assignment is checked against the caps once more as it is written, so a cap is never
exceeded even when its `remaining` promised more room than its `check` allows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from leadrouter._trusted import new_arrived as _new_arrived
from leadrouter.context import _always
from leadrouter.errors import DuplicateLeadError, InvalidValueError, StrategyError
from leadrouter.events import Converted, Event, Tagged, Touched
from leadrouter.ledger import Ledger
from leadrouter.model import Decision, Lead
from leadrouter.router._capping import Gate
from leadrouter.router._deciding import Pending, wrote_ledger
from leadrouter.router._explained import last_reason
from leadrouter.strategies.base import as_pick

if TYPE_CHECKING:
    from leadrouter.router import Router

__all__ = [
    "REPORTED",
    "check_batch",
    "check_reports",
    "check_retry",
    "lead_diff",
    "not_a_report",
    "route_batch",
]

REPORTED = (Touched, Tagged, Converted)
"""The events the CRM reports, which `Router.record` writes."""


def not_a_report(value: object, where: str) -> InvalidValueError:
    """The error for `value` passed to `where` in place of a Touched, Tagged or Converted."""
    return InvalidValueError(
        f"{where} takes Touched, Tagged or Converted, got {type(value).__name__}: use route() "
        "for new leads, claim() for claims and release() to take a lead back"
    )


def check_reports(
    events: Iterable[Touched | Tagged | Converted],
) -> list[Touched | Tagged | Converted]:
    """`record_many`'s events as a list, each checked to be a report (the error names its
    position) before any is written; a single event is an error saying to pass a list."""
    if isinstance(events, Event):
        raise InvalidValueError(
            f"record_many takes a list of events, got a single {type(events).__name__}: pass "
            "[event], or call record(event)"
        )
    batch = list(events)
    for i, event in enumerate(batch):
        if not isinstance(event, REPORTED):
            raise not_a_report(event, f"record_many: events[{i}]")
    return batch


def lead_diff(old: Lead, new: Lead) -> str:
    """Which fields of two leads with one id differ, in words."""
    names = [f.name for f in attrs.fields(Lead) if getattr(old, f.name) != getattr(new, f.name)]
    return "differs in " + ", ".join(names)


def check_retry(ledger: Ledger, lead: Lead) -> None:
    """Raise DuplicateLeadError when the ledger holds another lead with `lead`'s id: a retry
    must send the same lead."""
    known = ledger.lead(lead.id)
    if not ledger._same_lead(known, lead):
        raise DuplicateLeadError(
            f"lead id {lead.id!r} was already routed with different fields "
            f"({lead_diff(known, lead)}): a retry must send the same lead; a new lead needs "
            "a new id"
        )


def check_batch(router: Router, batch: list[Lead], now: datetime) -> None:
    """Raise what routing `batch` at `now` would raise for one of its leads alone, before any
    of it is written: a `now` before a lead's arrival (EventBeforeArrivalError), an id the
    ledger holds for another lead or repeated in the batch with other fields
    (DuplicateLeadError); in the batch's order, so the error is the one routing it lead by lead
    would meet first. A batch refused here leaves nothing to roll back: the rollback of a
    batch that fails part-way folds the views again, which on a long ledger takes seconds
    under the ledger's lock. The caller holds the router's operation (the views are current)."""
    ledger = router.ledger
    first: dict[str, Lead] = {}
    for lead in batch:
        router._not_before_arrival(lead, now)
        known = first.setdefault(lead.id, lead)
        if known is not lead and not ledger._same_lead(known, lead):
            raise DuplicateLeadError(
                f"lead id {lead.id!r} appears twice in one batch with different "
                f"fields ({lead_diff(known, lead)}): give each lead its own id"
            )
        if known is lead and lead.id in ledger:
            check_retry(ledger, lead)


def route_batch(router: Router, batch: list[Lead], now: datetime) -> list[Decision]:
    """Route `batch` at `now` through the strategy's `route_batch`; the caller holds the
    router's operation lock and has checked the batch (`check_batch`)."""
    ledger, decider = router.ledger, router._decider
    results: list[Decision | None] = [None] * len(batch)
    pending: list[tuple[int, Pending]] = []
    first: set[str] = set()
    for i, lead in enumerate(batch):
        if lead.id in ledger:
            results[i] = router._retry(lead)
            continue
        if lead.id in first:
            continue
        first.add(lead.id)
        prepared = decider.prepare(router._context(lead, now), frozenset())
        if isinstance(prepared, Decision):
            # Settled by a rule (a pool, or dedup to the owner): written at once, so
            # the leads after it and the batch capacities see it.
            router._commit(prepared, False, _new_arrived(lead))
            results[i] = prepared
        else:
            pending.append((i, prepared))
    if pending:
        _solve(router, pending, results)
    decided: dict[str, Decision] = {}
    for i, lead in enumerate(batch):
        decision = results[i]
        if decision is None:
            results[i] = decided[lead.id]
            continue
        if lead.id not in ledger:
            if decision.rep_id is not None and _refused(router, lead, decision.rep_id, now):
                # the caps' `remaining` promised room their `check` no longer gives (a cap
                # whose two answers disagree, or capacity the batch's earlier leads used):
                # this lead is routed as `route` would route it now, so no cap is exceeded
                decision, waiting = decider.decide(router._context(lead, now), frozenset())
                results[i] = decision
            else:
                last = last_reason(decision)
                waiting = last is not None and last.code == "waiting"
            router._commit(decision, waiting, _new_arrived(lead))
        decided.setdefault(lead.id, decision)
    return [d for d in results if d is not None]


def _refused(router: Router, lead: Lead, rep_id: str, now: datetime) -> bool:
    """Whether a cap refuses `rep_id` one more lead now, with the batch's earlier leads
    written: the check `route` makes (its `Gate`), made again when the lead is written."""
    ctx = router._context(lead, now)
    return not Gate(router._decider.caps, ctx)(rep_id)


def _solve(
    router: Router, pending: list[tuple[int, Pending]], results: list[Decision | None]
) -> None:
    """Ask the strategy for the whole batch and check it kept within capacity."""
    strategy, decider = router.strategy, router._decider
    ctxs = [p.ctx for _, p in pending]
    reps = frozenset().union(*(ctx.ids for ctx in ctxs))
    capacity = {rep: decider.caps.remaining(rep, ctxs[0]) for rep in sorted(reps)}
    size = len(router.ledger)
    answers = list(strategy.route_batch(ctxs, capacity))
    if len(router.ledger) != size:
        where = f"route_batch() for leads {[ctx.lead.id for ctx in ctxs]}"
        raise wrote_ledger(strategy, where, len(router.ledger) - size)
    if len(answers) != len(ctxs):
        raise StrategyError(
            f"{strategy!r}.route_batch returned {len(answers)} answers for "
            f"{len(ctxs)} leads: return one per lead"
        )
    used: dict[str, int] = {}
    for (i, prepared), answer in zip(pending, answers, strict=True):
        rep = answer if isinstance(answer, str) else as_pick(answer).rep_id
        if rep is not None:
            used[rep] = used.get(rep, 0) + 1
            room = capacity.get(rep, 0)
            if room is not None and used[rep] > room:
                raise StrategyError(
                    f"{strategy!r}.route_batch gave rep {rep!r} {used[rep]} leads, "
                    f"but its capacity is {room}"
                )
            prepared.ctx.can_take = _always
        results[i] = decider.conclude(prepared, answer)[0]
