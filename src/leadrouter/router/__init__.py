"""The Router: decides who gets each lead, records every change in the ledger, runs timers.

Every public method takes `now=` (or reads the router's clock) and writes only through the
ledger, which validates each event; a method that raises has written nothing it should not have.
All methods are serialised by one lock, so a router shared by threads never exceeds a cap or
lets two claims win the same lead. On a ledger opened with `Ledger.open(url)` each operation is
also one database transaction under the ledger's write lock, which gives the same guarantees
across processes and hosts (docs/stores.md).

The parts: `_deciding` (rules, caps and the strategy turn a lead into a Decision, writing
nothing), `_capping` (the router's side of caps), `_batch` (`route_many` for batch solvers),
`_timers` (lifecycle deadlines) and `_log` (recent decisions). This module writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NoReturn

import attrs

from leadrouter._trusted import new_arrived as _new_arrived
from leadrouter._trusted import new_assigned as _new_assigned
from leadrouter._trusted import new_claimed as _new_claimed
from leadrouter._trusted import new_decision as _new_decision
from leadrouter._trusted import new_reason as _new_reason
from leadrouter._trusted import new_released as _new_released
from leadrouter._util import EMPTY, check_aware, earlier, earliest
from leadrouter.caps import Cap
from leadrouter.clock import SystemClock
from leadrouter.context import Context, TickContext
from leadrouter.errors import (
    ConfigError,
    EventBeforeArrivalError,
    InvalidTypeError,
    TransitionError,
)
from leadrouter.events import (
    PUBLIC,
    REP_LEFT,
    Arrived,
    Assigned,
    Claimed,
    Converted,
    Event,
    Moved,
    Pooled,
    Released,
    Tagged,
    Touched,
)
from leadrouter.ledger import Ledger
from leadrouter.lifecycle import Lifecycle
from leadrouter.model import Decision, Lead, Rep, lead_id_arg, not_a_lead
from leadrouter.roster import Roster
from leadrouter.router._batch import (
    REPORTED,
    check_batch,
    check_reports,
    check_retry,
    not_a_report,
    route_batch,
)
from leadrouter.router._capping import Caps, as_caps, reason_of
from leadrouter.router._deciding import Decider, as_rules, check_strategy, wrote_ledger
from leadrouter.router._explained import last_reason, with_first_reason
from leadrouter.router._log import DecisionLog, load_table, placed
from leadrouter.router._roster_link import RosterLink
from leadrouter.router._timers import Timers, next_offer, strategy_release, tick_actions
from leadrouter.rules import Rule
from leadrouter.strategies.base import Pick, Strategy, as_strategy, has_timers

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Router"]

_NOBODY: frozenset[str] = frozenset()


class Router:
    """Routes leads to reps with a strategy, under rules, caps and lifecycle timers.

    `strategy` is any Strategy (or a callable `f(ctx) -> rep id | None`); `reps` the roster;
    `ledger` the event store (a new in-memory one by default); `rules` filters, pool rules and
    preference rules in any order (or one rule); `caps` one cap or several (all apply);
    `lifecycle` the timers `tick` runs; `clock` where `now` comes from when a call omits it (the
    wall clock, in UTC, if None); `seed` fixes every tie-break and random draw.

    A strategy whose tags disagree with its code about batching, or that needs a ledger view
    (`StrategyTags.needs_views`) the ledger does not offer, is a CapabilityError here.
    """

    def __init__(
        self,
        strategy: Strategy | Callable[[Context], Pick | str | None],
        reps: Iterable[Rep],
        ledger: Ledger | None = None,
        rules: Iterable[Rule | Callable[[Lead, Rep], bool]]
        | Rule
        | Callable[[Lead, Rep], bool] = (),
        caps: Cap | Iterable[Cap] | None = None,
        lifecycle: Lifecycle | None = None,
        clock: Callable[[], datetime] | None = None,
        seed: int = 0,
        decision_log: int = 10_000,
    ) -> None:
        self.strategy = as_strategy(strategy)
        self._roster = Roster(reps)
        if ledger is not None and not isinstance(ledger, Ledger):
            raise ConfigError(
                f"ledger must be a Ledger, got {ledger!r}: for one in a database, pass "
                f"ledger=Ledger.open(url)"
            )
        self.ledger = ledger if ledger is not None else Ledger()
        check_strategy(self.strategy, self.ledger)
        self.rules: tuple[Rule | Callable[[Lead, Rep], bool], ...] = as_rules(rules)
        """The rules as given, in order (read-only; e.g. to build a shadow router)."""
        self.caps: tuple[Cap, ...] = as_caps(caps)
        self._decider = Decider(self.strategy, self.rules, Caps(self.caps))
        self.lifecycle = lifecycle if lifecycle is not None else Lifecycle()
        if not isinstance(self.lifecycle, Lifecycle):
            raise ConfigError(f"lifecycle must be a Lifecycle, got {lifecycle!r}")
        if clock is not None and not callable(clock):
            raise ConfigError(
                f"clock must be a callable that returns the time, got {clock!r}: for a fixed or "
                "test time write clock=ManualClock(t)"
            )
        self.clock: Callable[[], datetime] = clock if clock is not None else SystemClock()
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be an int, got {seed!r}")
        self.seed = seed
        self._lock = self.ledger._thread_lock
        """The ledger's lock: every router on one ledger holds the same one, and the ledger's
        whole-ledger reads (`verify`, `snapshot`) wait for an operation in progress."""
        if isinstance(decision_log, bool) or not isinstance(decision_log, int) or decision_log < 0:
            raise ConfigError(
                f"decision_log must be a whole number of leads, 0 or more, got {decision_log!r}: "
                "how many recent leads' decisions the router keeps for why(), e.g. 10_000"
            )
        self._log = DecisionLog(decision_log, self._set_roster)
        self._timers = Timers(self.lifecycle)
        self._seen = len(self.ledger) if not len(self.ledger) else -1
        self._generation = self.ledger.generation
        self._durable = self.ledger.durable
        self._one_step = type(self.ledger).append is Ledger.append
        """Whether the ledger takes a lead's Arrived and Assigned in one step (a Ledger whose
        class appends as Ledger does: not a stored ledger, which writes each to its database)."""
        link = RosterLink(lambda: self._roster, self._use_roster)
        self._op = self.ledger.guard(self._lock, link, self._log)
        """Held around every operation: the lock itself in memory; for a stored ledger also one
        database transaction (write lock, catch-up, commit), so the operation is atomic."""
        self._timed = self.lifecycle.has_timers

    def __reduce__(self) -> NoReturn:
        raise InvalidTypeError(
            "a Router cannot be pickled: it holds a lock, and its ledger (a database connection "
            "for a stored one). Keep what it knows instead: a stored ledger "
            "(Ledger.open(url)) keeps it for you, or pickle list(router.ledger.events()) and the "
            "reps and build the Router again with Ledger.from_events(events)"
        )

    # ------------------------------------------------------------------ roster

    @property
    def reps(self) -> tuple[Rep, ...]:
        """Every rep on the roster, inactive ones included."""
        return self._roster.reps

    @property
    def roster(self) -> Roster:
        return self._roster

    def set_rep(self, rep: Rep) -> None:
        """Add a rep, or replace the rep with the same id (e.g. to deactivate or re-skill).

        A new rep joins the rotation at the front; nothing about other reps changes. On a
        stored ledger the new roster becomes the ledger's: the Routers of other processes take
        it up at their next operation (docs/stores.md, "One roster per ledger").
        """
        with self._op:
            self._use_roster(self._roster.replace(rep))

    def _use_roster(self, roster: Roster) -> None:
        """Route with `roster` from now on (inside an operation: a block rolled back gives the
        router the roster before back, `DecisionLog.undo`)."""
        self._log.replaced_roster(self._roster)
        self._set_roster(roster)

    def _set_roster(self, roster: Roster) -> None:
        """Make `roster` the router's; what was worked out for the one before is dropped."""
        self._roster = roster
        self._decider.roster_changed()

    # ------------------------------------------------------------------ time

    def _time(self, now: datetime | None, known: datetime | None = None) -> datetime:
        """`now`, or the clock's time when None; checked to be aware unless it is `known`, a
        time already checked (a lead's own `arrived_at`)."""
        if now is None:
            now = self.clock()
        return now if now is known else check_aware(now, "now")

    @staticmethod
    def _not_before_arrival(lead: Lead, now: datetime) -> None:
        if earlier(now, lead.arrived_at):
            raise EventBeforeArrivalError(
                f"now={now.isoformat()} is before lead {lead.id!r} arrived at "
                f"{lead.arrived_at.isoformat()}: pass a later now= or fix the lead's arrived_at"
            )

    def _context(self, lead: Lead, now: datetime) -> Context:
        return Context(lead, self._roster, self.ledger, now, self.seed)

    def _decide(
        self, lead: Lead, now: datetime, exclude: frozenset[str] = frozenset()
    ) -> tuple[Decision, bool]:
        """The decision for `lead` at `now` and whether it leaves the lead waiting.

        Writes nothing: `preview` returns this, `route` writes it.
        """
        return self._decider.decide(self._context(lead, now), exclude)

    # ------------------------------------------------------------------ writing

    def _write(self, event: Event, arrived: Arrived | None = None) -> None:
        """Append `event`, after `arrived` when given (the lead's Arrived: a Ledger takes an
        Assigned together with it, in one step), and keep the timers in step with the ledger."""
        ledger = self.ledger
        in_sync = ledger.__len__() == self._seen  # a method call: `len()` enters Python from C
        if arrived is None:
            ledger.append(event)
        elif self._one_step and type(event) is Assigned:
            ledger._append_arrived_assigned(arrived, event)
            if in_sync:
                self._seen += 1  # the Arrived; the Assigned is counted below
        else:
            self._write(arrived)
            ledger.append(event)
        if not in_sync:
            return
        self._seen += 1
        if self._timed and (type(event) is Assigned or type(event) is Claimed):
            self._timers.schedule(event.lead_id, event.rep_id, event.at, touched=False)

    def _catch_up(self) -> None:
        """`_resync` when the ledger changed since the router last looked."""
        if self._seen != len(self.ledger) or self._generation != self.ledger.generation:
            self._resync()

    def _resync(self) -> None:
        """Rebuild timer deadlines from the ledger (after a restart, foreign writes, or an
        operation the ledger rolled back: its `generation` moved on)."""
        self._timers.rebuild(self.ledger)
        self._seen = len(self.ledger)
        self._generation = self.ledger.generation

    def _commit(
        self, decision: Decision, waiting: bool, arrived: Arrived | None = None
    ) -> list[Moved]:
        """Write the event that carries out `decision`, for a lead already in the ledger or,
        given its `arrived` event, for a new lead (written first)."""
        event: Event
        if decision.rep_id is not None:
            event = _new_assigned(
                decision.lead_id,
                decision.rep_id,
                decision.at,
                decision.by,
                decision.propensity,
            )
            self._write(event, arrived)
        else:
            assert decision.pool is not None
            if arrived is not None:
                self._write(arrived)
            last = last_reason(decision)
            reason = last.detail if last is not None else ""
            if not waiting and decision.pool == self.ledger.pool_of(decision.lead_id):
                self._log.remember(decision, arrived is not None)
                return []
            event = Pooled(decision.lead_id, decision.at, decision.pool, reason, waiting=waiting)
            self._write(event)
        self._log.remember(decision, arrived is not None)
        if self._durable:
            self.ledger.note_decision(decision)
        return [event]

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
            arrived_at = lead.arrived_at
            if now is not arrived_at:  # a lead routed at its own arrival needs no check
                now = self._time(now)
                self._not_before_arrival(lead, now)
            ledger = self.ledger
            if lead.id in ledger:
                return self._retry(lead)
            decision, waiting = self._decider.decide(
                Context(lead, self._roster, ledger, now, self.seed), _NOBODY
            )
            self._commit(decision, waiting, _new_arrived(lead))
            return decision

    def route_many(self, leads: Iterable[Lead], now: datetime | None = None) -> list[Decision]:
        """Route a batch of leads, all at `now`.

        A strategy that solves batches (`route_batch`, e.g. profile matching as an assignment
        problem) sees them all at once, with each rep's remaining capacity under the caps;
        otherwise leads are routed in order, each seeing the assignments before it. Retries
        and rule outcomes are handled lead by lead exactly as in `route`. Every item is checked
        to be a Lead (NotALeadError naming its position) before any is routed. The batch is one
        operation: when a lead raises (an id repeated with other fields, a `now` before its
        arrival), none of the batch is written: those are found before any lead is routed
        (`check_batch`), so such a batch costs no rollback.
        """
        if isinstance(leads, Lead | str | Mapping):
            raise not_a_lead(leads, "Router.route_many", many=True)
        batch = list(leads)
        for i, lead in enumerate(batch):
            if not isinstance(lead, Lead):
                raise not_a_lead(lead, f"Router.route_many: leads[{i}]")
        with self._op:
            now = self._time(now)  # one time for the batch, also when read from the clock
            check_batch(self, batch, now)
            if not self.strategy.batches:
                return [self.route(lead, now) for lead in batch]
            return route_batch(self, batch, now)

    def _retry(self, lead: Lead) -> Decision:
        check_retry(self.ledger, lead)
        first = self.ledger.first_decision(lead.id) if self._durable else None
        first = first or self._log.first.get(lead.id)
        return first if first is not None else self.why(lead.id)

    def why(self, lead_id: str) -> Decision:
        """The decision that routed this lead: from the decision log while it still says where
        the lead is; else (a lead routed before this router started or pushed out of the log,
        or taken back since without a new decision: a release without re-route, an SLA timer)
        its current place per the ledger, saying who it was last taken from and why, dated when
        the lead got there.
        """
        lead_id = lead_id_arg(lead_id, "Router.why")
        with self._op:
            ledger = self.ledger
            found = self._log.latest.get(lead_id)
            owner = ledger.owner(lead_id) if lead_id in ledger else None
            claimed = ledger.claimed_from(lead_id) if owner is not None else None
            since = ledger.held_since(lead_id) if owner is not None else None
            # the logged decision still says where the lead is only if it made this holding
            # (another worker may have released it and handed it to the same rep since)
            if found is not None and (
                found.rep_id == owner
                and found.at == since
                and (found.action == "claimed") == (claimed is not None)
                if found.rep_id is not None
                else owner is None and found.pool == ledger.pool_of(lead_id)
            ):
                return found
            return placed(ledger, lead_id, owner, claimed, since)

    def claim(self, rep_id: str, lead_id: str, now: datetime | None = None) -> Decision:
        """A rep pulls a lead from a pool into their book (领取).

        Refused claims return a Decision with action "refused" saying why, and change nothing:
        the lead is held or closed, the rep is inactive or not eligible, a cap is reached, or the
        strategy refuses (e.g. a cooldown). Of two claims for the same lead exactly one wins.
        A claim by the rep who holds the lead (a retry whose first answer was lost) changes
        nothing and answers with the decision that put the lead in their book, as `why` does.
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
                if holder == rep_id:
                    return self.why(lead_id)
                return refuse(f"lead is held by {holder}" if holder else f"lead is {status}")
            if not rep.active:
                return refuse("rep is inactive", "active")
            ctx = self._context(lead, now)
            ids, reasons = self._decider.eligible(ctx)
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
            size = len(self.ledger)
            answer = self.strategy.claim(ctx, rep_id)
            if len(self.ledger) != size:
                wrote = len(self.ledger) - size
                raise wrote_ledger(self.strategy, f"claim() of lead {lead_id!r}", wrote)
            if answer is not None:
                said = reason_of(
                    answer, f"strategy {self.strategy!r}", rep_id, "Strategy.claim", "claim"
                )
                return refuse(said, self.strategy.name)
            pool = self.ledger.pool_of(lead_id)
            self._write(_new_claimed(lead_id, rep_id, now))
            chosen = _new_reason(
                "chosen", f"claimed from pool {pool!r}", frozenset({rep_id}), "claim"
            )
            decision = _new_decision(
                lead_id, rep_id, "claimed", now, "claim", pool, (chosen,), EMPTY, None
            )
            self._log.remember(decision)
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
        if not isinstance(event, REPORTED):
            raise not_a_report(event, "record")
        with self._op:
            self._roster[event.rep_id]
            self._write(event)

    def record_many(self, events: Iterable[Touched | Tagged | Converted]) -> None:
        """Record several reports in order as one operation: what `record` does for each, all
        or none. Reports delivered together (a rep's touch, tag and sale) pay for one operation
        (one transaction on a stored ledger) and one roster check per run of one rep's events.

        Items and reps are checked before anything is written (InvalidValueError naming the
        position; UnknownRepError); an event the ledger refuses part-way takes back those
        before it (a touch by a rep not holding the lead): the ledger is as before the call."""
        batch = check_reports(events)
        with self._op:
            roster, rep_id = self._roster, None
            for event in batch:
                if event.rep_id != rep_id:
                    rep_id = roster[event.rep_id].id
            for event in batch:
                self._write(event)

    def release(
        self,
        lead_id: str,
        reason: str = "returned",
        now: datetime | None = None,
        *,
        reroute: bool | None = None,
        rep_id: str | None = None,
    ) -> list[Moved]:
        """Take a lead out of its holder's book into the public pool (退回).

        With `reroute` (default: the lifecycle's setting) it goes on to another rep at once,
        never back to the one who released it. Returns the events written.

        `rep_id`, the rep giving the lead back, makes the call safe to repeat (a webhook
        delivered twice): when that rep no longer holds the lead, it has been given back
        already, and nothing is written (`[]`). Without it the current holder loses the lead,
        whoever that is by now.
        """
        lead_id = lead_id_arg(lead_id, "Router.release")
        with self._op:
            now = self._time(now)
            holder = self.ledger.holder(lead_id)
            if rep_id is not None:
                self._roster[rep_id]  # an unknown rep is an error, not a release made already
                if holder != rep_id:
                    return []
            if holder is None:
                status = self.ledger.status(lead_id)
                raise TransitionError(
                    f"release of lead {lead_id!r}, which nobody holds (it is {status}): only a "
                    "lead in a rep's book can be released"
                )
            again = self.lifecycle.reroute if reroute is None else reroute
            # the caller's reason is checked here, by the event's own validators
            return self._take_back(Released(lead_id, holder, now, reason), again)

    def _take_back(self, released: Released, reroute: bool) -> list[Moved]:
        """Write `released` (the lead leaves its holder's book) and, with `reroute`, route the
        lead on to anyone but that holder."""
        return self._moved(released, reroute)[0]

    def _moved(self, released: Released, reroute: bool) -> tuple[list[Moved], Decision | None]:
        """`_take_back`, and the decision that re-routed the lead (None without `reroute`)."""
        self._write(released)
        if not reroute:
            return [released], None
        lead_id, rep_id, now = released.lead_id, released.rep_id, released.at
        decision, waiting = self._decide(self.ledger.lead(lead_id), now, frozenset({rep_id}))
        decision = with_first_reason(decision, self._decider.moved(rep_id, released.reason))
        return [released, *self._commit(decision, waiting)], decision

    def handover(self, rep_id: str, now: datetime | None = None) -> list[Decision]:
        """A rep leaves (离职交接): they become inactive and every lead in their book is
        released with reason `REP_LEFT` and routed to someone else, oldest first.

        All or nothing, the roster with the ledger: when a re-route raises, the rep is active
        again and keeps their book, as before the call (a roster change is undone with the
        operation's events, as every operation's)."""
        with self._op:
            now = self._time(now)
            self.set_rep(attrs.evolve(self._roster[rep_id], active=False))
            decisions = []
            for lead_id in self.ledger.book_order(rep_id):
                released = _new_released(lead_id, rep_id, now, REP_LEFT, PUBLIC)
                decision = self._moved(released, True)[1]
                assert decision is not None
                decisions.append(decision)
            return decisions

    def tick(self, now: datetime | None = None) -> list[Moved]:
        """Run the timers at `now`, in this order, and return every event written:

        1. the strategy's own timers (e.g. escalation, penalties);
        2. SLA misses and book expiries from the lifecycle (released, re-routed if asked);
        3. leads waiting in the public pool, oldest first, offered again to reps who can now
           take them (a daily cap reset, a book freed, a rep on shift).
        """
        with self._op:
            now = self._time(now)
            self._catch_up()
            try:
                return self._tick(now)
            except BaseException:
                # deadlines taken off the heap for a tick that did not happen: find them again
                self._seen = -1
                raise

    def next_due(self, now: datetime | None = None, *, offers: bool = True) -> datetime | None:
        """The earliest time after `now` at which `tick()` may have something to do; None when
        nothing is set. Writes nothing. It counts the lifecycle's deadlines (first-touch SLA,
        expiry), the strategy's own (`Strategy.next_due`: a tier's patience, an idle claim)
        and, with `offers`, while leads wait in the public pool, each time a rule or cap may
        let a rep take one (`Rule.next_change`: a `schedule` shift starting or ending;
        `Cap.next_reset`: a daily cap's midnight in its zone). `offers=False`: timers alone.

        So a caller ticking at each answer, not every minute, writes what ticking every minute
        would: each timer runs at its own time, and a lead in over lunch, on a holiday or after
        every rep reached the day's cap is taken as soon as a rep can take it. A book freed by
        the CRM (`record`, `release`) or a rep added (`set_rep`) comes with a call of the
        caller's own: tick after it. The answer is a promise to look, not a verdict: by then
        the lead may have been touched or moved, or its SLA counted in working hours may run
        later; the tick then does less, and asked again, the router answers the next time."""
        # it writes nothing: in memory the lock alone serves; a stored ledger's transaction
        # also brings in what other processes wrote
        with self._op if self._durable else self._lock:
            now = self._time(now)
            self._catch_up()
            due = self._timers.next_after(now)
            if not (has_timers(self.strategy) or offers):
                return due
            ctx = TickContext(self._roster, self.ledger, now)
            dues = [due]
            if has_timers(self.strategy):
                dues.append(self.strategy.next_due(ctx))
            if offers and self.ledger.waiting():
                dues.append(next_offer(self.rules, self.caps, ctx))
            return earliest(dues)

    def _tick(self, now: datetime) -> list[Moved]:
        """`tick`'s steps, inside its operation."""
        events: list[Moved] = []
        tick_ctx = TickContext(self._roster, self.ledger, now, self.seed)
        size = len(self.ledger)
        actions = tick_actions(self.strategy, self.strategy.tick(tick_ctx))
        if len(self.ledger) != size:
            wrote = len(self.ledger) - size
            raise wrote_ledger(self.strategy, f"tick() at {now.isoformat()}", wrote)
        for action in actions:
            holder = self.ledger.holder(action.lead_id)
            if holder is not None:
                events += self._take_back(strategy_release(action, holder, now), action.reroute)
        life = self.lifecycle
        for lead_id, rep_id, kind in self._timers.due(now, self.ledger):
            again = life.reroutes(self.ledger.lead_releases(lead_id))
            events += self._take_back(_new_released(lead_id, rep_id, now, kind, PUBLIC), again)
        events += self._offer_waiting(now)
        return events

    def _offer_waiting(self, now: datetime) -> list[Moved]:
        """Offer each waiting lead again, oldest first, and write those a rep takes now.

        An offer that leaves the lead waiting writes nothing, so it builds no Decision; and when
        the caps show that no rep can take any lead (`Cap.would_refuse`, see `all_capped`) the
        offers are skipped, which writes exactly what making them would have: nothing.
        """
        ledger, decider = self.ledger, self._decider
        waiting = ledger.waiting()
        if not waiting:
            return []
        events: list[Moved] = []
        caps = decider.caps
        probe = self._context(ledger.lead(waiting[0]), now)
        gated = bool(self.caps)
        known_full = caps.full_count(probe) if gated else 0
        if gated and caps.all_capped(probe):
            return events
        for lead_id in waiting:
            lead = ledger.lead(lead_id)
            placed = ledger.placed_at(lead_id)
            if placed is not None and earlier(now, placed):
                continue  # pooled by a clock ahead of this tick's: offered at a later tick
            lost_by = ledger.last_holder(lead_id)
            avoid = frozenset({lost_by}) if lost_by else frozenset()
            decision = decider.reoffer(self._context(lead, now), avoid)
            if decision is not None:
                events += self._commit(decision, False)
            if gated and (decision is not None or caps.full_count(probe) != known_full):
                # a lead taken or a rep found full: caps may now refuse everyone
                known_full = caps.full_count(probe)
                if caps.all_capped(probe):
                    break
        return events

    # ------------------------------------------------------------------ reports

    def decisions(self) -> Sequence[Decision]:
        """The most recent decisions (up to `decision_log` of them), oldest first."""
        with self._lock:
            self._log.forget_undone(self.ledger)
            return tuple(self._log.latest.values())

    def explain_load(self, since: datetime | None = None) -> pd.DataFrame:
        """Why is it uneven? One row per rep: leads received since `since`, book size, whether
        active, and — over the decisions in the log — how often the rep was chosen, excluded by
        a rule, or skipped because of a cap."""
        with self._op:
            self._log.forget_undone(self.ledger)
            return load_table(self._log.latest.values(), self.ledger, self.reps, since)

    def __repr__(self) -> str:
        return f"Router({self.strategy!r}, {len(self._roster)} reps, {len(self.ledger)} events)"
