"""The Router: decides who gets each lead, records every change in the ledger, runs timers.

Every public method takes `now=` (or reads the router's clock) and writes only through the
ledger, which validates each event; a method that raises has written nothing it should not have.
All methods are serialised by one lock, so a router shared by threads never exceeds a cap or
lets two claims win the same lead. On a ledger opened with `Ledger.open(url)` each operation is
also one database transaction under the ledger's write lock, which gives the same guarantees
across processes and hosts (docs/stores.md).
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, cast

import attrs

from leadrouter._util import EMPTY, check_aware, trusted_constructor
from leadrouter._validators import lead_id_arg, not_a_lead
from leadrouter.caps import Cap, FixedCap, day_start
from leadrouter.clock import SystemClock
from leadrouter.context import Context, TickContext, _always
from leadrouter.errors import (
    ConfigError,
    DuplicateLeadError,
    EventBeforeArrivalError,
    InvalidValueError,
    StrategyError,
    TransitionError,
)
from leadrouter.events import (
    PUBLIC,
    Arrived,
    Assigned,
    Claimed,
    Converted,
    Event,
    Pooled,
    Released,
    Tagged,
    Touched,
)
from leadrouter.ledger import Ledger
from leadrouter.lifecycle import Lifecycle
from leadrouter.model import Decision, Lead, Reason, Rep
from leadrouter.roster import Roster
from leadrouter.rules import Filter, Rule, as_filter
from leadrouter.strategies.base import Pick, Strategy, as_pick, as_strategy

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Router"]

_REPORTED = (Touched, Tagged, Converted)
_new_decision = trusted_constructor(Decision)
_new_assigned = trusted_constructor(Assigned)
_new_arrived = trusted_constructor(Arrived)
_new_reason = trusted_constructor(Reason)
_NO_NOTE = Pick(None)
_WAIT_REASON = "it waits in the public pool and is offered again at tick()"


class Router:
    """Routes leads to reps with a strategy, under rules, caps and lifecycle timers.

    `strategy` is any Strategy (or a callable `f(ctx) -> rep id | None`); `reps` the roster;
    `ledger` the event store (a new in-memory one by default); `rules` filters, pool rules and
    preference rules in any order; `caps` one cap or several (all apply); `lifecycle` the timers
    `tick` runs; `clock` where `now` comes from when a call omits it (the wall clock, in UTC, if
    None); `seed` fixes every tie-break and random draw.
    """

    def __init__(
        self,
        strategy: Strategy | Callable[[Context], object],
        reps: Iterable[Rep],
        ledger: Ledger | None = None,
        rules: Iterable[Rule | Callable[[Lead, Rep], bool]] = (),
        caps: Cap | Iterable[Cap] | None = None,
        lifecycle: Lifecycle | None = None,
        clock: Callable[[], datetime] | None = None,
        seed: int = 0,
        decision_log: int = 10_000,
    ) -> None:
        self.strategy = as_strategy(strategy)  # type: ignore[arg-type]
        self._roster = Roster(reps)
        self.ledger = ledger if ledger is not None else Ledger()
        self._filters: list[Filter] = []
        self._pool_rules: list[Rule] = []
        self._prefer_rules: list[Rule] = []
        self.rules: tuple[Rule | Callable[[Lead, Rep], bool], ...] = tuple(rules)
        """The rules as given, in order (read-only; e.g. to build a shadow router)."""
        for rule in self.rules:
            self._add_rule(rule)
        self.caps: tuple[Cap, ...] = _caps(caps)
        self.lifecycle = lifecycle if lifecycle is not None else Lifecycle()
        if not isinstance(self.lifecycle, Lifecycle):
            raise ConfigError(f"lifecycle must be a Lifecycle, got {lifecycle!r}")
        self.clock: Callable[[], datetime] = clock if clock is not None else SystemClock()
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be an int, got {seed!r}")
        self.seed = seed
        self._lock = threading.RLock()
        self._eligible_cache: dict[
            tuple[Hashable, ...], tuple[frozenset[str], tuple[Reason, ...]]
        ] = {}
        self._chosen_cache: dict[str, Reason] = {}
        self._saturated_cache: dict[
            tuple[frozenset[str], tuple[frozenset[str], ...]],
            tuple[frozenset[str], tuple[tuple[Cap, str, tuple[str, ...]], ...]],
        ] = {}
        self._log: OrderedDict[str, Decision] = OrderedDict()
        self._first: OrderedDict[str, Decision] = OrderedDict()
        self._log_size = decision_log
        self._deadlines: list[tuple[datetime, int, str, str, datetime, str]] = []
        self._counter = itertools.count()
        self._seen = len(self.ledger) if not len(self.ledger) else -1
        self._durable = self.ledger.durable
        self._roster_digest: tuple[Roster, str] | None = None
        self._op = self.ledger.guard(self._lock, self._roster_key)
        """Held around every operation: the lock itself in memory; for a stored ledger also one
        database transaction (write lock, catch-up, commit), so the operation is atomic."""
        self._timed = self.lifecycle.has_timers

    def _add_rule(self, rule: Rule | Callable[[Lead, Rep], bool]) -> None:
        if isinstance(rule, Filter) or (callable(rule) and not isinstance(rule, Rule)):
            self._filters.append(as_filter(rule))
            return
        if not isinstance(rule, Rule):
            raise ConfigError(f"rules takes leadrouter rules or callables, got {rule!r}")
        kind = type(rule)
        if kind.pool_for is not Rule.pool_for:
            self._pool_rules.append(rule)
        if kind.prefer is not Rule.prefer:
            self._prefer_rules.append(rule)

    # ------------------------------------------------------------------ roster

    @property
    def reps(self) -> tuple[Rep, ...]:
        """Every rep on the roster, inactive ones included."""
        return tuple(self._roster[rep_id] for rep_id in self._roster)

    @property
    def roster(self) -> Roster:
        return self._roster

    def _roster_key(self) -> str:
        """The roster's digest, which a stored ledger compares across processes (computed once
        per roster: `set_rep` makes a new one)."""
        from leadrouter.stores.durable import roster_key

        cached = self._roster_digest
        if cached is None or cached[0] is not self._roster:
            cached = self._roster_digest = (self._roster, roster_key(self.reps))
        return cached[1]

    def set_rep(self, rep: Rep) -> None:
        """Add a rep, or replace the rep with the same id (e.g. to deactivate or re-skill).

        A new rep joins the rotation at the front; nothing about other reps changes.
        """
        with self._op:
            self._roster = self._roster.replace(rep)
            self._eligible_cache.clear()

    # ------------------------------------------------------------------ time

    def _time(self, now: datetime | None) -> datetime:
        return check_aware(self.clock() if now is None else now, "now")

    @staticmethod
    def _not_before_arrival(lead: Lead, now: datetime) -> None:
        if now < lead.arrived_at:
            raise EventBeforeArrivalError(
                f"now={now.isoformat()} is before lead {lead.id!r} arrived at "
                f"{lead.arrived_at.isoformat()}: pass a later now= or fix the lead's arrived_at"
            )

    # ------------------------------------------------------------------ deciding

    def _eligible(self, ctx: Context) -> tuple[frozenset[str], tuple[Reason, ...]]:
        """Eligible rep ids after every filter, and why each other rep was excluded.

        Cached by what the filters depend on (region, shift window ...), so routing many leads
        for the same region costs one dictionary lookup here.
        """
        keys: list[Hashable] | None = []
        for rule in self._filters:
            key = rule.key(ctx)
            if key is None:
                keys = None
                break
            assert keys is not None
            keys.append(key)
        cache_key = tuple(keys) if keys is not None else None
        if cache_key is not None:
            hit = self._eligible_cache.get(cache_key)
            if hit is not None:
                return hit
        roster = ctx.roster
        ids = roster.active_ids
        reasons: list[Reason] = []
        inactive = frozenset(roster) - ids
        if inactive:
            reasons.append(Reason("excluded", "inactive", inactive, "active"))
        for rule in self._filters:
            allowed = rule.eligible(ctx)
            removed = ids - allowed
            if removed:
                reasons.append(Reason("excluded", rule.describe(ctx), removed, repr(rule)))
                ids = ids & allowed
        result = (ids, tuple(reasons))
        if cache_key is not None:
            if len(self._eligible_cache) > 4096:
                self._eligible_cache.clear()
            self._eligible_cache[cache_key] = result
        return result

    def _decide(
        self, lead: Lead, now: datetime, exclude: frozenset[str] = frozenset()
    ) -> tuple[Decision, bool]:
        """The decision for `lead` at `now` and whether it leaves the lead waiting.

        Writes nothing: `preview` returns this, `route` writes it.
        """
        prepared = self._prepare(lead, now, exclude)
        if isinstance(prepared, Decision):
            return prepared, False
        return self._conclude(prepared, self.strategy.route(prepared.ctx))

    def _prepare(self, lead: Lead, now: datetime, exclude: frozenset[str]) -> Decision | _Pending:
        """Everything before the strategy runs: pool rules, filters, caps and preference rules.

        Returns a finished Decision when a rule settles the lead, else what the strategy needs.
        """
        ctx = Context(lead, self._roster, self.ledger, now, self.seed)
        for rule in self._pool_rules:
            hit = rule.pool_for(ctx)
            if hit is not None:
                pool, why = hit
                reason = Reason("pooled", why, frozenset(), repr(rule))
                return Decision(lead.id, None, "pooled", now, repr(rule), pool, (reason,))
        ids, reasons = self._eligible(ctx)
        if exclude and not ids.isdisjoint(exclude):
            reasons = (
                *reasons,
                Reason(
                    "excluded",
                    "just lost this lead; a re-route never goes back to them",
                    ids & exclude,
                    "reroute",
                ),
            )
            ids = ids - exclude
        capped: dict[str, tuple[str, str]] = {}
        if self.caps:
            ids = self._drop_saturated(ctx, ids, capped)
        can_take = self._cap_check(ctx, capped)
        ctx.ids = ids
        ctx.can_take = can_take
        for rule in self._prefer_rules:
            hit = rule.prefer(ctx)
            if hit is None:
                continue
            rep_id, why = hit
            if rep_id in ids and can_take(rep_id):
                reason = Reason("dedup", why, frozenset({rep_id}), repr(rule))
                return Decision(
                    lead.id,
                    rep_id,
                    "assigned",
                    now,
                    repr(rule),
                    None,
                    (*reasons, *self._cap_reasons(capped), reason),
                )
            reasons = (
                *reasons,
                Reason(
                    "skipped",
                    f"{why}, but that rep is not eligible or is capped; routed as usual",
                    frozenset({rep_id}),
                    repr(rule),
                ),
            )
        return _Pending(ctx, reasons, capped)

    def _conclude(self, pending: _Pending, result: Pick | str | None) -> tuple[Decision, bool]:
        """Turn the strategy's answer into a Decision (and whether the lead waits), after
        checking the strategy kept to what it was offered."""
        ctx, reasons, capped = pending.ctx, pending.reasons, pending.capped
        lead, now, name = ctx.lead, ctx.now, self.strategy.name
        pick = _NO_NOTE if type(result) is str else as_pick(result)
        chosen_id = result if type(result) is str else pick.rep_id
        if chosen_id is None:
            if pick.pool is not None:
                why = pick.reason or "left in the pool for reps to claim"
                reasons = (*reasons, Reason("pooled", why, frozenset(), name))
                return Decision(
                    lead.id, None, "pooled", now, name, pick.pool, reasons, pick.scores
                ), False
            if capped or any(r.code == "capped" for r in reasons):
                why = "every eligible rep is at a cap"
            elif not ctx.ids:
                why = "no rep is eligible (see the exclusions)"
            else:
                why = f"{name} chose nobody"
            reasons = (
                *reasons,
                *self._cap_reasons(capped),
                Reason("waiting", f"{why}; {_WAIT_REASON}", frozenset(), name),
            )
            return Decision(lead.id, None, "pooled", now, name, PUBLIC, reasons, pick.scores), True
        if chosen_id not in ctx.ids or not ctx.can_take(chosen_id):
            problem = (
                "was not offered (not eligible)" if chosen_id not in ctx.ids else "is over a cap"
            )
            raise StrategyError(
                f"{self.strategy!r} chose rep {chosen_id!r} for lead {lead.id!r}, but that rep "
                f"{problem}: a strategy must pick from ctx.ids and check ctx.can_take"
            )
        chosen = self._chosen(chosen_id, pick.reason)
        if capped:
            reasons = (*reasons, *self._cap_reasons(capped))
        decision = _new_decision(
            lead.id,
            chosen_id,
            "assigned",
            now,
            name,
            None,
            (*reasons, chosen),
            pick.scores,
            pick.propensity,
        )
        return decision, False

    def _cap_check(self, ctx: Context, capped: dict[str, tuple[str, str]]) -> Callable[[str], bool]:
        caps = self.caps
        if not caps:
            return _always
        memo: dict[str, bool] = {}
        names: dict[int, str] = {}

        def can_take(rep_id: str) -> bool:
            known = memo.get(rep_id)
            if known is not None:
                return known
            for i, cap in enumerate(caps):
                why = cap.check(rep_id, ctx)
                if why is not None:
                    name = names.get(i)
                    if name is None:
                        name = names[i] = repr(cap)
                    capped[rep_id] = (why, name)
                    memo[rep_id] = False
                    return False
            memo[rep_id] = True
            return True

        return can_take

    def _drop_saturated(
        self, ctx: Context, ids: frozenset[str], capped: dict[str, tuple[str, str]]
    ) -> frozenset[str]:
        """Leave out reps a cap knows are full for the rest of the day, entered in `capped`
        under that cap with its own words (its `check` of the first of them), so a cap that
        stops reps both ways is explained once, one way, in `_cap_reasons`."""
        found = tuple(cap.saturated(ctx) for cap in self.caps)
        full = frozenset().union(*found)
        if not full or ids.isdisjoint(full):
            return ids
        key = (ids, found)
        hit = self._saturated_cache.get(key)
        if hit is None:
            left, stopped = ids & full, []
            for cap, reps in zip(self.caps, found, strict=True):
                mine = sorted(left & reps)
                if mine:
                    stopped.append((cap, repr(cap), tuple(mine)))
                    left -= reps
            hit = (ids - full, tuple(stopped))
            if len(self._saturated_cache) > 1024:
                self._saturated_cache.clear()
            self._saturated_cache[key] = hit
        for cap, name, held_back in hit[1]:
            why = cap.check(held_back[0], ctx) or "full for the rest of the day"
            for rep in held_back:
                capped[rep] = (why, name)
        return hit[0]

    @staticmethod
    def _cap_reasons(capped: dict[str, tuple[str, str]]) -> tuple[Reason, ...]:
        """One reason per cap, naming every rep it stopped (the first rep's numbers shown)."""
        by_cap: dict[str, list[tuple[str, str]]] = {}
        for rep, (why, cap) in capped.items():
            by_cap.setdefault(cap, []).append((rep, why))
        out = []
        for cap, hits in by_cap.items():
            rep, why = hits[0]
            detail = why if len(hits) == 1 else f"{why} for {rep}; {len(hits) - 1} more at it"
            out.append(Reason("capped", detail, frozenset(r for r, _ in hits), cap))
        return tuple(out)

    def _chosen(self, rep_id: str, note: str) -> Reason:
        if note:
            return Reason("chosen", note, frozenset({rep_id}), self.strategy.name)
        found = self._chosen_cache.get(rep_id)
        if found is None:
            doc = (type(self.strategy).__doc__ or "").strip().split("\n")[0].rstrip(".")
            found = Reason(
                "chosen", doc or "chosen by the strategy", frozenset({rep_id}), self.strategy.name
            )
            self._chosen_cache[rep_id] = found
        return found

    # ------------------------------------------------------------------ writing

    def _write(self, event: Event) -> None:
        in_sync = len(self.ledger) == self._seen
        self.ledger.append(event)
        if not in_sync:
            return
        self._seen += 1
        if self._timed and (type(event) is Assigned or type(event) is Claimed):
            self._schedule(event.lead_id, event.rep_id, event.at, touched=False)

    def _schedule(self, lead_id: str, rep_id: str, since: datetime, touched: bool) -> None:
        life = self.lifecycle
        if life.first_touch_sla is not None and not touched:
            heapq.heappush(
                self._deadlines,
                (since + life.first_touch_sla, next(self._counter), lead_id, rep_id, since, "sla"),
            )
        if life.expire_after is not None:
            heapq.heappush(
                self._deadlines,
                (since + life.expire_after, next(self._counter), lead_id, rep_id, since, "expired"),
            )

    def _resync(self) -> None:
        """Rebuild timer deadlines from the ledger (after a restart or foreign writes)."""
        self._deadlines = []
        for lead_id, rep_id, since in self.ledger.held():
            touched = self.ledger.first_touch(lead_id) is not None
            self._schedule(lead_id, rep_id, since, touched)
        self._seen = len(self.ledger)

    def _commit(self, decision: Decision, waiting: bool) -> list[Event]:
        """Write the event that carries out `decision` for a lead already in the ledger."""
        event: Event
        if decision.rep_id is not None:
            event = _new_assigned(
                decision.lead_id,
                decision.rep_id,
                decision.at,
                decision.by,
                decision.propensity,
            )
        else:
            assert decision.pool is not None
            reason = decision.reasons[-1].detail if decision.reasons else ""
            if not waiting and decision.pool == self.ledger.pool_of(decision.lead_id):
                self._remember(decision)
                return []
            event = Pooled(decision.lead_id, decision.at, decision.pool, reason, waiting=waiting)
        self._write(event)
        self._remember(decision)
        if self._durable:
            self.ledger.note_decision(decision)
        return [event]

    def _remember(self, decision: Decision) -> None:
        """Keep the latest decision per lead (for `why`) and the first (for retries), for the
        most recent `decision_log` leads."""
        log = self._log
        lead_id = decision.lead_id
        if lead_id in log:
            del log[lead_id]
        log[lead_id] = decision
        if lead_id not in self._first:
            self._first[lead_id] = decision
        if len(log) > self._log_size:
            log.popitem(last=False)
        if len(self._first) > self._log_size:
            self._first.popitem(last=False)

    # ------------------------------------------------------------------ public API

    def preview(self, lead: Lead, now: datetime | None = None) -> Decision:
        """What `route(lead)` would decide now, with its reasons. Writes nothing.

        Raises NotALeadError (a TypeError) for anything but a Lead."""
        if not isinstance(lead, Lead):
            raise not_a_lead(lead, "Router.preview")
        with self._op:
            now = self._time(now)
            self._not_before_arrival(lead, now)
            if lead.id in self.ledger:
                return self._retry(lead)
            return self._decide(lead, now)[0]

    def route(self, lead: Lead, now: datetime | None = None) -> Decision:
        """Give `lead` to a rep, or leave it in a pool, and record it.

        Never raises because no rep can take the lead: it waits in the public pool (offered
        again at `tick`), with the reasons. Routing the same lead again (a webhook retry)
        returns the first decision; another lead with a used id raises DuplicateLeadError.
        Anything but a Lead (an id, a dict) raises NotALeadError, a TypeError, before anything
        is written.
        """
        if not isinstance(lead, Lead):
            raise not_a_lead(lead, "Router.route")
        with self._op:
            now = self._time(now)
            self._not_before_arrival(lead, now)
            if lead.id in self.ledger:
                return self._retry(lead)
            decision, waiting = self._decide(lead, now)
            self._write(_new_arrived(lead))
            self._commit(decision, waiting)
            return decision

    def route_many(self, leads: Iterable[Lead], now: datetime | None = None) -> list[Decision]:
        """Route a batch of leads, all at `now`.

        A strategy that solves batches (`route_batch`, e.g. profile matching as an assignment
        problem) sees them all at once, with each rep's remaining capacity under the caps;
        otherwise leads are routed in order, each seeing the assignments before it. Retries
        and rule outcomes are handled lead by lead exactly as in `route`. Every item is checked
        to be a Lead (NotALeadError naming its position) before any is routed.
        """
        if isinstance(leads, Lead | str | Mapping):
            raise not_a_lead(leads, "Router.route_many", many=True)
        batch = list(leads)
        for i, lead in enumerate(batch):
            if not isinstance(lead, Lead):
                raise not_a_lead(lead, f"Router.route_many: leads[{i}]")
        if not self.strategy.batches:
            return [self.route(lead, now) for lead in batch]
        with self._op:
            now = self._time(now)
            for lead in batch:
                self._not_before_arrival(lead, now)
            results: list[Decision | None] = [None] * len(batch)
            pending: list[tuple[int, _Pending]] = []
            first: dict[str, Lead] = {}
            for i, lead in enumerate(batch):
                if lead.id in self.ledger:
                    results[i] = self._retry(lead)
                    continue
                if lead.id in first:
                    if first[lead.id] != lead:
                        raise DuplicateLeadError(
                            f"lead id {lead.id!r} appears twice in one batch with different "
                            f"fields ({_diff(first[lead.id], lead)}): give each lead its own id"
                        )
                    continue
                first[lead.id] = lead
                prepared = self._prepare(lead, now, frozenset())
                if isinstance(prepared, Decision):
                    # Settled by a rule (a pool, or dedup to the owner): written at once, so
                    # the leads after it and the batch capacities see it.
                    self._write(_new_arrived(lead))
                    self._commit(prepared, False)
                    results[i] = prepared
                else:
                    pending.append((i, prepared))
            if pending:
                self._solve_batch(pending, results)
            decided: dict[str, Decision] = {}
            for i, lead in enumerate(batch):
                decision = results[i]
                if decision is None:
                    results[i] = decided[lead.id]
                    continue
                decided.setdefault(lead.id, decision)
                if lead.id not in self.ledger:
                    self._write(_new_arrived(lead))
                    self._commit(decision, decision.reasons[-1].code == "waiting")
            return [d for d in results if d is not None]

    def _solve_batch(
        self, pending: list[tuple[int, _Pending]], results: list[Decision | None]
    ) -> None:
        """Ask the strategy for the whole batch and check it kept within capacity."""
        ctxs = [p.ctx for _, p in pending]
        reps = frozenset().union(*(ctx.ids for ctx in ctxs))
        capacity = {rep: self._remaining(rep, ctxs[0]) for rep in sorted(reps)}
        answers = list(self.strategy.route_batch(ctxs, capacity))
        if len(answers) != len(ctxs):
            raise StrategyError(
                f"{self.strategy!r}.route_batch returned {len(answers)} answers for "
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
                        f"{self.strategy!r}.route_batch gave rep {rep!r} {used[rep]} leads, "
                        f"but its capacity is {room}"
                    )
                prepared.ctx.can_take = _always
            results[i] = self._conclude(prepared, answer)[0]

    def _remaining(self, rep_id: str, ctx: Context) -> int | None:
        """How many more leads every cap lets `rep_id` take now (None: no cap limits it)."""
        rooms = [room for cap in self.caps if (room := cap.remaining(rep_id, ctx)) is not None]
        return min(rooms) if rooms else None

    def _retry(self, lead: Lead) -> Decision:
        known = self.ledger.lead(lead.id)
        if known != lead:
            raise DuplicateLeadError(
                f"lead id {lead.id!r} was already routed with different fields "
                f"({_diff(known, lead)}): a retry must send the same lead; a new lead needs a "
                "new id"
            )
        first = self.ledger.first_decision(lead.id) if self._durable else None
        first = first or self._first.get(lead.id)
        return first if first is not None else self.why(lead.id)

    def why(self, lead_id: str) -> Decision:
        """The decision that routed this lead: from the decision log, or, for a lead routed
        before this router started (or pushed out of the log), its current place per the ledger.
        """
        lead_id = lead_id_arg(lead_id, "Router.why")
        with self._op:
            found = self._log.get(lead_id)
            if found is not None:
                return found
            lead = self.ledger.lead(lead_id)
            owner = self.ledger.owner(lead_id)
            note = Reason("retry", "routed earlier; this is its place now, from the ledger")
            return Decision(
                lead_id,
                owner,
                "assigned" if owner else "pooled",
                lead.arrived_at,
                "ledger",
                self.ledger.pool_of(lead_id),
                (note,),
            )

    def claim(self, rep_id: str, lead_id: str, now: datetime | None = None) -> Decision:
        """A rep pulls a lead from a pool into their book (领取).

        Refused claims return a Decision with action "refused" saying why, and change nothing:
        the lead is held or closed, the rep is inactive or not eligible, a cap is reached, or the
        strategy refuses (e.g. a cooldown). Of two claims for the same lead exactly one wins.
        """
        lead_id = lead_id_arg(lead_id, "Router.claim")
        with self._op:
            now = self._time(now)
            rep = self._roster[rep_id]
            lead = self.ledger.lead(lead_id)
            self._not_before_arrival(lead, now)

            def refuse(why: str, rule: str = "") -> Decision:
                return self._refusal(lead_id, rep_id, now, why, rule)

            status = self.ledger.status(lead_id)
            if status != "pooled":
                holder = self.ledger.holder(lead_id)
                return refuse(f"lead is held by {holder}" if holder else f"lead is {status}")
            if not rep.active:
                return refuse("rep is inactive", "active")
            ctx = Context(lead, self._roster, self.ledger, now, self.seed)
            ids, reasons = self._eligible(ctx)
            if rep_id not in ids:
                why = next((r for r in reasons if rep_id in r.reps), None)
                return refuse(
                    f"not eligible: {why.detail if why else 'excluded'}", why.rule if why else ""
                )
            for cap in self.caps:
                capped = cap.check(rep_id, ctx)
                if capped is not None:
                    return refuse(f"cap reached: {capped}", repr(cap))
            ctx.ids = ids
            refusal = self.strategy.claim(ctx, rep_id)
            if refusal:
                return refuse(refusal, self.strategy.name)
            pool = self.ledger.pool_of(lead_id)
            self._write(Claimed(lead_id, rep_id, now))
            decision = Decision(
                lead_id,
                rep_id,
                "claimed",
                now,
                "claim",
                pool,
                (Reason("chosen", f"claimed from pool {pool!r}", frozenset({rep_id}), "claim"),),
            )
            self._remember(decision)
            return decision

    def _refusal(self, lead_id: str, rep_id: str, now: datetime, why: str, rule: str) -> Decision:
        """A refused claim's Decision. Refusals are the common answer when many reps claim
        (each rep asks again until a claim succeeds), so it is built without re-checking parts
        that are checked already: ids from the roster and ledger, an aware time, words."""
        reason = _new_reason("refused", why, frozenset({rep_id}), rule)
        pool = self.ledger.pool_of(lead_id)
        return _new_decision(lead_id, None, "refused", now, "claim", pool, (reason,), EMPTY, None)

    def record(self, event: Touched | Tagged | Converted) -> None:
        """Record what the CRM reports: a touch, a valid/invalid tag, or a sale.

        The ledger checks the rep holds the lead (or, for a closed lead, that it is theirs);
        a rep not on the roster raises UnknownRepError.
        """
        if not isinstance(event, _REPORTED):
            raise InvalidValueError(
                f"record takes Touched, Tagged or Converted, got {type(event).__name__}: use "
                "route() for new leads, claim() for claims and release() to take a lead back"
            )
        with self._op:
            self._roster[event.rep_id]
            self._write(event)

    def release(
        self,
        lead_id: str,
        reason: str = "returned",
        now: datetime | None = None,
        *,
        reroute: bool | None = None,
    ) -> list[Event]:
        """Take a lead out of its holder's book into the public pool (退回).

        With `reroute` (default: the lifecycle's setting) it goes on to another rep at once,
        never back to the one who released it. Returns the events written.
        """
        lead_id = lead_id_arg(lead_id, "Router.release")
        with self._op:
            now = self._time(now)
            holder = self.ledger.holder(lead_id)
            if holder is None:
                status = self.ledger.status(lead_id)
                raise TransitionError(
                    f"release of lead {lead_id!r}, which nobody holds (it is {status}): only a "
                    "lead in a rep's book can be released"
                )
            again = self.lifecycle.reroute if reroute is None else reroute
            return self._take_back(lead_id, holder, reason, now, again)

    def _take_back(
        self,
        lead_id: str,
        rep_id: str,
        reason: str,
        now: datetime,
        reroute: bool,
        pool: str | None = None,
    ) -> list[Event]:
        released = Released(lead_id, rep_id, now, reason, pool=PUBLIC if pool is None else pool)
        self._write(released)
        if not reroute:
            return [released]
        decision, waiting = self._decide(self.ledger.lead(lead_id), now, frozenset({rep_id}))
        moved = Reason(
            "moved", f"taken back from {rep_id} ({reason})", frozenset({rep_id}), "release"
        )
        decision = attrs.evolve(decision, reasons=(moved, *decision.reasons))
        return [released, *self._commit(decision, waiting)]

    def handover(self, rep_id: str, now: datetime | None = None) -> list[Decision]:
        """A rep leaves (离职交接): they become inactive and every lead in their book is
        released with reason "rep_left" and routed to someone else, oldest first."""
        with self._op:
            now = self._time(now)
            rep = self._roster[rep_id]
            self.set_rep(attrs.evolve(rep, active=False))
            decisions = []
            for lead_id in self.ledger.book_order(rep_id):
                self._take_back(lead_id, rep_id, "rep_left", now, reroute=True)
                decisions.append(self._log[lead_id])
            return decisions

    def tick(self, now: datetime | None = None) -> list[Event]:
        """Run the timers at `now`, in this order, and return every event written:

        1. the strategy's own timers (e.g. escalation, penalties);
        2. SLA misses and book expiries from the lifecycle (released, re-routed if asked);
        3. leads waiting in the public pool, oldest first, offered again to reps who can now
           take them (a daily cap reset, a book freed, a rep on shift).
        """
        with self._op:
            now = self._time(now)
            if self._seen != len(self.ledger):
                self._resync()
            events: list[Event] = []
            tick_ctx = TickContext(self._roster, self.ledger, now, self.seed)
            for action in self.strategy.tick(tick_ctx):
                holder = self.ledger.holder(action.lead_id)
                if holder is not None:
                    events += self._take_back(
                        action.lead_id, holder, action.reason, now, action.reroute, action.pool
                    )
            events += self._run_deadlines(now)
            events += self._offer_waiting(now)
            return events

    def _offer_waiting(self, now: datetime) -> list[Event]:
        """Offer each waiting lead again, oldest first, and write those a rep takes now.

        An offer that leaves the lead waiting writes nothing, so it builds no Decision; and when
        the caps show that no rep can take any lead (see `_all_capped`) the offers are skipped,
        which writes exactly what making them would have: nothing.
        """
        ledger = self.ledger
        waiting = ledger.waiting()
        if not waiting:
            return []
        events: list[Event] = []
        probe = Context(ledger.lead(waiting[0]), self._roster, ledger, now, self.seed)
        gated = self._cap_gate()
        known_full = self._full_count(probe) if gated else 0
        if gated and self._all_capped(probe):
            return events
        for lead_id in waiting:
            lost_by = ledger.last_holder(lead_id)
            avoid = frozenset({lost_by}) if lost_by else frozenset()
            decision = self._reoffer(ledger.lead(lead_id), now, avoid)
            if decision is not None:
                events += self._commit(decision, False)
            if gated and (decision is not None or self._full_count(probe) != known_full):
                # a lead taken or a rep found full: caps may now refuse everyone
                known_full = self._full_count(probe)
                if self._all_capped(probe):
                    break
        return events

    def _reoffer(self, lead: Lead, now: datetime, avoid: frozenset[str]) -> Decision | None:
        """`_decide` for a waiting lead: the Decision when it places the lead with a rep, None
        when the lead would stay waiting (or go to a pool, which a waiting lead is already in)."""
        prepared = self._prepare(lead, now, avoid)
        if isinstance(prepared, Decision):
            return prepared if prepared.rep_id is not None else None
        result = self.strategy.route(prepared.ctx)
        chosen = result if type(result) is str else as_pick(result).rep_id
        if chosen is None:
            return None
        return self._conclude(prepared, result)[0]

    def _cap_gate(self) -> bool:
        """Whether `_all_capped` can answer for these caps: FixedCaps only (not subclasses),
        whose rules the router knows exactly."""
        return bool(self.caps) and all(type(cap) is FixedCap for cap in self.caps)

    def _full_count(self, ctx: Context) -> int:
        return sum(len(cap.saturated(ctx)) for cap in self.caps)

    def _all_capped(self, ctx: Context) -> bool:
        """True when the caps (all FixedCaps) refuse every active rep at `ctx.now` and asking
        them again could not change what they remember, so offering a waiting lead can place it
        with nobody and change nothing.

        Reps a cap knows are full today are left out before any cap is asked about them
        (`_drop_saturated`). Of the others, a rep refused by an open-lead cap is refused with
        nothing remembered; a rep a daily cap would refuse is remembered as full by `check`, so
        then the offers are made (and the next tick finds the rep known full).
        """
        view, now = ctx.view, ctx.now
        caps = cast("tuple[FixedCap, ...]", self.caps)
        full: frozenset[str] = frozenset()
        for cap in caps:
            found = cap.saturated(ctx)
            if found:
                full = full | found
        for rep_id in ctx.roster.active_ids:
            if rep_id in full:
                continue
            for cap in caps:
                if cap.open is not None and view.book_size(rep_id) >= cap.open:
                    break
                if (
                    cap.daily is not None
                    and view.count(rep_id, since=day_start(now, cap.tz)) >= cap.daily
                ):
                    return False
            else:
                return False
        return True

    def _run_deadlines(self, now: datetime) -> list[Event]:
        life, ledger, heap = self.lifecycle, self.ledger, self._deadlines
        events: list[Event] = []
        while heap and heap[0][0] <= now:
            _, _, lead_id, rep_id, since, kind = heapq.heappop(heap)
            if ledger.holder(lead_id) != rep_id or ledger.held_since(lead_id) != since:
                continue
            if kind == "sla":
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
                            heap, (real_due, next(self._counter), lead_id, rep_id, since, kind)
                        )
                        continue
            events += self._take_back(lead_id, rep_id, kind, now, life.reroute)
        return events

    # ------------------------------------------------------------------ reports

    def decisions(self) -> Sequence[Decision]:
        """The most recent decisions (up to `decision_log` of them), oldest first."""
        with self._lock:
            return tuple(self._log.values())

    def explain_load(self, since: datetime | None = None) -> pd.DataFrame:
        """Why is it uneven? One row per rep: leads received since `since`, book size, whether
        active, and — over the decisions in the log — how often the rep was chosen, excluded by
        a rule, or skipped because of a cap."""
        import pandas as pd

        with self._op:
            chosen: dict[str, int] = {}
            excluded: dict[str, int] = {}
            capped: dict[str, int] = {}
            for decision in self._log.values():
                if decision.rep_id is not None:
                    chosen[decision.rep_id] = chosen.get(decision.rep_id, 0) + 1
                for reason in decision.reasons:
                    table = {"excluded": excluded, "capped": capped}.get(reason.code)
                    if table is not None:
                        for rep in reason.reps:
                            table[rep] = table.get(rep, 0) + 1
            rows = [
                {
                    "rep_id": rep.id,
                    "team": rep.team,
                    "active": rep.active,
                    "received": self.ledger.count(rep.id, since=since),
                    "book": self.ledger.book_size(rep.id),
                    "chosen": chosen.get(rep.id, 0),
                    "excluded": excluded.get(rep.id, 0),
                    "capped": capped.get(rep.id, 0),
                }
                for rep in self.reps
            ]
        return pd.DataFrame(rows).set_index("rep_id")

    def __repr__(self) -> str:
        return f"Router({self.strategy!r}, {len(self._roster)} reps, {len(self.ledger)} events)"


class _Pending:
    """A lead between the rules and the strategy: its context, the reasons so far, and the
    caps hit while the strategy looked."""

    __slots__ = ("capped", "ctx", "reasons")

    def __init__(
        self, ctx: Context, reasons: tuple[Reason, ...], capped: dict[str, tuple[str, str]]
    ) -> None:
        self.ctx = ctx
        self.reasons = reasons
        self.capped = capped


def _caps(caps: Cap | Iterable[Cap] | None) -> tuple[Cap, ...]:
    if caps is None:
        return ()
    found = (caps,) if isinstance(caps, Cap) else tuple(caps)
    for cap in found:
        if not isinstance(cap, Cap):
            raise ConfigError(f"caps takes Cap objects such as FixedCap(...), got {cap!r}")
    return found


def _diff(old: Lead, new: Lead) -> str:
    names = [f.name for f in attrs.fields(Lead) if getattr(old, f.name) != getattr(new, f.name)]
    return "differs in " + ", ".join(names)
