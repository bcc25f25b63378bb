"""The simulation engine: replays a History's leads through a policy's Router over simulated time.

The engine is a plain `heapq` discrete-event loop (DESIGN §7½: SimPy costs ~5× more per lead).
It drives only the public Router API, as a CRM would: `route` at each arrival, `claim` for pull
policies, `record` for touches, tags and sales, and `tick` every `tick_every` for timers (a
tick that could not act - a strategy without timers, a lifecycle without deadlines and no lead
waiting - is skipped: it would write nothing; with no lead waiting and timers the Router
announces, `timers_announced`, only the ticks at which `Router.next_due` finds one due run). It
never writes to the ledger itself, so every Router invariant (a lead in exactly one place, caps,
the per-lead state machine) holds in a simulated run exactly as it does live.

Random numbers follow DESIGN §7 (common random numbers): every lead has a fixed row of uniforms
keyed by (seed, lead id), one column per purpose (`PURPOSES`), and every rep a uniform per
(seed, rep, local day). Outcomes are thresholds (reached if u < p), so a policy that moves one
lead to another rep changes that lead's outcome only (and, through the reps' backlogs, the
timing of their other leads), and two policies are compared on the same luck.

Assumptions (each one names a choice the history cannot make for us):
- A rep first-touches a lead `behaviour.touch_delay_minutes(rep, backlog, u)` after it enters
  their book, `backlog` being their open untouched leads then. When the behaviour has working
  hours (`behaviour.work_hours`, see `leadrouter.sim.workweek`) the delay is counted in working
  minutes on the team's clock, so a lead assigned at night is touched after the next opening;
  otherwise in elapsed minutes. At most `floor(capacity * share + u_rep_day)` first touches per
  rep per local day, `share` being the day's working minutes over `behaviour.workday_minutes`
  (1 without working hours); a touch beyond that waits for the next day's opening.
- A pushed lead is never worked with the rep's `behaviour.p_neglect(rep)` (when the behaviour
  has it), drawn from the lead's own `neglect` uniform; a lead a rep claimed is always worked.
- Contact decays with the minutes from the lead's arrival to its first touch. Every first touch
  is followed by a tag (validity shows when the number is dialled); a reached, valid lead
  converts with `p_convert`, at the touch time, for `behaviour.amount(...)` (a model fitted on
  an export with open deals gives the chance of a sale within its `fit_behaviour(horizon=)`, so
  a run's sales are sales within that horizon). A valid lead that did not buy is worked for
  `follow_up` (3 days) and then closed as lost, so books and held caps drain; `follow_up=None`
  keeps such leads open (only the policy's lifecycle drains them).
- Pull policies (`strategy.tags.pull`): at every arrival and tick each active rep with fewer
  than `claim_backlog` untouched leads and first-touch capacity left today claims the oldest
  leads in the pools, reps in an order drawn per (seed, day); a refused claim ends that rep's
  turn. How reps would really claim cannot be learned from push-only history, so results of
  pull policies are assumption-driven.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

import attrs

from leadrouter._trusted import new_tagged as _new_tagged
from leadrouter._trusted import new_touched as _new_touched
from leadrouter.errors import BehaviourNeededError, ConfigError
from leadrouter.events import (
    Arrived,
    Assigned,
    Claimed,
    Converted,
    Pooled,
    Released,
    Tagged,
    Touched,
)
from leadrouter.ledger import Ledger
from leadrouter.model import Decision, Lead, Rep
from leadrouter.sim.behaviour import Behaviour
from leadrouter.sim.collector import collector_paused as _collector_paused
from leadrouter.sim.draws import (
    PURPOSES,
    lead_rows,
    lead_uniforms,
    lead_uniforms_many,
    rep_day_row,
    rep_day_uniform,
    rep_day_uniforms,
)
from leadrouter.sim.metrics import metrics, per_rep
from leadrouter.sim.routers import Policy, SimClock, make_router, replicate
from leadrouter.sim.workweek import WorkClock
from leadrouter.strategies.base import has_timers, timers_announced

if TYPE_CHECKING:
    import pandas as pd

    from leadrouter.sim.history import History

__all__ = [
    "LOST",
    "PURPOSES",
    "Behaviour",
    "Policy",
    "SimRun",
    "default_behaviour",
    "lead_uniforms",
    "lead_uniforms_many",
    "make_router",
    "rep_day_uniform",
    "rep_day_uniforms",
    "replicate",
    "simulate",
]

_SIM_BY = "sim"


def default_behaviour(history: History, fit: bool = False) -> Behaviour:
    """The model to use when none is given: the exact generating process of a synthetic History
    (`history.truth.behaviour()`); for any other History, with `fit`, the model
    `fit_behaviour(history)` learns from it, and without, a named error (a single run should
    say which model it runs)."""
    truth = history.truth
    if truth is not None:
        return truth.behaviour()
    if fit:
        from leadrouter.sim.behaviour import fit_behaviour

        return fit_behaviour(history)
    raise BehaviourNeededError(
        f"{history!r} has no known truth (it was loaded, not generated): pass behaviour= a "
        "model fitted from it (fit_behaviour(history)) or given by you (see "
        "leadrouter.sim.behaviour)"
    )


@attrs.frozen
class SimRun:
    """One simulated run: the Router's ledger (every event the run wrote), the leads, roster and
    seed, the per-lead uniforms it drew (`draws`: one row per lead id, one column per purpose)
    and the behaviour model the reps followed."""

    ledger: Ledger
    leads: tuple[Lead, ...]
    reps: tuple[Rep, ...]
    seed: int
    draws: pd.DataFrame = attrs.field(eq=False, repr=False)
    behaviour: Behaviour | None = attrs.field(default=None, eq=False, repr=False)

    def metrics(
        self,
        sla: timedelta = timedelta(hours=1),
        seen_pairs: Iterable[tuple[str, str]] | None = None,
    ) -> dict[str, float]:
        """The run's metrics (see `leadrouter.sim.metrics.metrics`); `extrapolated_share` needs
        the history's (rep, segment) pairs (`leadrouter.sim.metrics.seen_pairs(history)`)."""
        return metrics(self, sla, self.behaviour, seen_pairs)

    def per_rep(self, sla: timedelta = timedelta(hours=1)) -> pd.DataFrame:
        """One row per rep (see `leadrouter.sim.metrics.per_rep`)."""
        return per_rep(self, sla)


RefusedUntil = Callable[[Ledger, str, datetime], "datetime | None"]
"""A pull strategy's optional `refused_until(view, rep_id, now)`: a time before which it refuses
every claim by the rep, whatever the lead and however the ledger grows meanwhile (None: no
promise; `GrabWithCaps` makes one for its daily cap and cooldown). The simulator then skips that
rep's turns until that time: each would end in a refused claim, which writes nothing."""

REMEMBER_REFUSALS = True
"""Whether the simulator trusts a strategy's `refused_until` (False: every rep asks every turn;
the two write the same ledger, which the tests check by comparing them)."""

# event kinds, in the order they run when due at the same time
_ARRIVE, _TOUCH, _TICK = 0, 1, 2
_CLOSE = 3

LOST = "lost"
"""The reason of the `Tagged(valid=False)` that closes a lead as lost: the simulator's, for a lead
worked for `follow_up` without a sale, and `leadrouter handover`'s, for an export's lost deals."""


def _work_clock(behaviour: Behaviour, tz: str, start: datetime, end: datetime) -> WorkClock | None:
    """The team's working-hours clock over the run (with a year's margin for backlogs), when
    the behaviour has working hours."""
    hours = getattr(behaviour, "work_hours", None)
    if not hours:
        return None
    first = start.astimezone(ZoneInfo(tz)).date() - timedelta(days=1)
    return WorkClock(first, (end - start).days + 370, hours, tz)


def _day_share(behaviour: Behaviour) -> Callable[[str], float]:
    """`share(iso_day)`: the day's working minutes over the behaviour's working day, by which a
    rep's capacity (first touches per working day) scales on that day - a short Saturday holds
    fewer first touches than a full weekday. 1 for every day without working hours."""
    hours = getattr(behaviour, "work_hours", None)
    workday = float(getattr(behaviour, "workday_minutes", 0.0) or 0.0)
    if not hours or workday <= 0:
        return lambda day: 1.0

    def share(day: str) -> float:
        window = hours[date.fromisoformat(day).weekday()]
        return (window[1] - window[0]) * 60.0 / workday if window else 0.0

    return share


def simulate(
    history: History,
    policy: Policy,
    behaviour: Behaviour | None = None,
    seed: int = 0,
    tick_every: timedelta = timedelta(minutes=15),
    horizon: timedelta = timedelta(days=2),
    claim_backlog: int = 1,
    follow_up: timedelta | None = timedelta(days=3),
) -> SimRun:
    """Run `history`'s leads through `policy` with reps acting as `behaviour` says.

    Deterministic for a seed. Leads are routed in arrival order at their arrival time; the run
    goes on `horizon` past the last arrival so late touches happen (`horizon` bounds the run;
    what a sale means - one within the model's conversion horizon - is the behaviour's). The
    Router is built fresh (see `make_router`), so one policy object can serve many runs. A lead
    first-touched without a sale is worked for `follow_up` and then closed as lost
    (`Tagged(valid=False, reason="lost")`, which keeps its first verdict in the statistics), so
    books and held caps drain as they do when reps give up on leads; None keeps such leads open
    for ever.

    While it runs, Python's cyclic garbage collector is paused (a run makes next to no cyclic
    garbage, and the collector's passes over the growing ledger cost about a fifth of the run);
    it is left as it was found when the run ends or fails. A Router the run makes itself (from
    a Strategy or a playbook) keeps no log of decisions (`decision_log=0`): nothing reads it,
    and the events, decisions and explanations are the same; a factory may do the same.
    """
    if behaviour is None:
        behaviour = default_behaviour(history)
    if tick_every <= timedelta(0):
        raise ConfigError(f"tick_every must be positive, got {tick_every!r}")
    if follow_up is not None and follow_up < timedelta(0):
        raise ConfigError(f"follow_up must be >= 0 or None, got {follow_up!r}")
    if not history.leads:
        raise ConfigError(f"{history!r} has no leads to simulate")
    with _collector_paused():
        return _Simulation(
            history, policy, behaviour, seed, tick_every, horizon, claim_backlog, follow_up
        ).run()


_U_DELAY, _U_REACHED, _U_VALID, _U_CONVERTED, _U_AMOUNT, _U_NEGLECT = (
    PURPOSES.index(name) for name in ("delay", "reached", "valid", "converted", "amount", "neglect")
)
_NEVER = datetime.min.replace(tzinfo=UTC)
"""A time before any run: the bounds of "today" before a day is known (no instant falls in
[_NEVER, _NEVER)) and the instant `later` remembers before it has placed one."""


class _Simulation:
    """One run of `simulate`: the Router, the reps' state the Router does not keep (untouched
    leads per rep, today's first touches and limits per rep, today's claim order) and the queue
    of scheduled touches and closures. `run` merges arrivals, that queue and ticks in time
    order; every other method handles one kind of step. Built for one run and dropped.

    What does not depend on the run is worked out before it starts, once: every lead's row of
    uniforms (`lead_rows`, kept for the next run of the seed, as the reps' uniforms of each day
    are, `rep_day_row`), where each arrival falls on the working-hours clock (one
    time-zone conversion of all arrivals instead of one per lead), each rep's capacity and
    chance of neglect (asked once per rep; the Behaviour protocol makes them functions of the
    rep alone). Time only moves forward, so the reps' per-day counts are kept for the current
    day only.
    """

    def __init__(
        self,
        history: History,
        policy: Policy,
        behaviour: Behaviour,
        seed: int,
        tick_every: timedelta,
        horizon: timedelta,
        claim_backlog: int,
        follow_up: timedelta | None,
    ) -> None:
        leads = sorted(history.leads, key=lambda lead: (lead.arrived_at, lead.id))
        reps = list(history.roster)
        self.leads = leads
        self.reps = reps
        self.seed = seed
        self.behaviour = behaviour
        self.tick_every = tick_every
        self.end = leads[-1].arrived_at + horizon
        self.claim_backlog = claim_backlog
        self.follow_up = follow_up
        self.clock = SimClock(leads[0].arrived_at)
        # the run's Router is dropped with it, so its log of decisions for `Router.why` would
        # only be written, each decision kept alive until the run's end for nobody to read
        self.router = router = make_router(policy, reps, seed, self.clock, decision_log=0)
        self.ledger = router.ledger
        self.tz = ZoneInfo(history.tz)
        self.pull = bool(router.strategy.tags.pull)
        self.timers = has_timers(router.strategy) or router.lifecycle.has_timers
        """Whether `Router.tick` may act with no lead waiting: the strategy has timers of its
        own (it overrides `Strategy.tick`) or the lifecycle has deadlines. Without either, a
        tick with nothing waiting writes nothing (see `Router.tick`), so the run skips it."""
        self.announced = timers_announced(router.strategy)
        """Whether `Router.next_due` names every time a tick may act with no lead waiting (see
        `timers_announced`): then the run ticks only when a timer is due, not each `tick_every`."""
        self.by_id = {lead.id: lead for lead in leads}
        self.ids = tuple(self.by_id)
        self.matrix, self.draws = lead_rows(seed, self.ids)
        self.active = tuple(rep.id for rep in reps if rep.active)
        self.capacity = {rep: float(behaviour.capacity(rep)) for rep in self.active}
        self.day_share = _day_share(behaviour)
        self.invalid_contact = float(getattr(behaviour, "invalid_contact", 1.0))
        self.neglect_of = getattr(behaviour, "p_neglect", None)
        self.neglect: dict[str, float] = {}
        """Each rep's `p_neglect`, asked the first time a lead is pushed to them."""
        self.work = work = _work_clock(behaviour, history.tz, leads[0].arrived_at, self.end)
        self.arrival_work: dict[str, float] = (
            {}
            if work is None
            else dict(
                zip(self.ids, work.work_at_many([lead.arrived_at for lead in leads]), strict=True)
            )
        )
        """Each lead's arrival on the working-hours clock (`WorkClock.work_at`)."""
        self.untouched: dict[str, set[str]] = {rep.id: set() for rep in reps}
        self.touched: set[str] = set()
        self.seen = 0
        """How many of the ledger's events `follow` has read."""
        self.reported = 0
        """How many reports (touches, tags, sales, closures) the run recorded since `follow`
        last read the ledger: one event each, none of which `follow` acts on, so `decided` finds
        where a route's or claim's events begin without reading them."""
        self.heap: list[tuple[datetime, int, str, str, int]] = []
        """First touches and lost-closures due: (at, order, lead, rep, what)."""
        self.counter = itertools.count()
        self.pooled: list[tuple[datetime, str]] = []
        """Leads that may be in a pool, oldest arrival first, for claims. Entries go stale when
        a lead is claimed or assigned (dropped when they reach the top); a lead that comes back
        to a pool is pushed again."""
        self.day = ""
        self.day_from = self.day_until = _NEVER
        """Today: the local day (ISO date) of the latest step that asked (`today`), from that
        step's time to the next local midnight."""
        self.limit: dict[str, float] = {}
        """Today's first-touch limit of each active rep."""
        self.used: dict[str, int] = {}
        """First touches each rep made today."""
        self.order: list[str] = []
        """Today's order of the active reps' claims."""
        self.last_at, self.last_work = _NEVER, 0.0
        """The last instant `later` placed on the working-hours clock, and its place."""
        asked = getattr(router.strategy, "refused_until", None)
        self.refused_until: RefusedUntil | None = (
            asked if REMEMBER_REFUSALS and self.pull and callable(asked) else None
        )
        """The strategy's promise of refusals, when it makes one (see `RefusedUntil`)."""
        self.refused: dict[str, datetime] = {}
        """Per rep, a time (in UTC) before which the strategy refuses all their claims."""

    def today(self, at: datetime) -> None:
        """Make `at`'s local day today (time never goes back, so a new day starts afresh):
        every active rep's uniform for the day, drawn at once, gives their first-touch limit
        and the order they claim in."""
        if self.day_from <= at < self.day_until:
            return
        day = at.astimezone(self.tz).date().isoformat()
        self.day_from, self.day_until = at, self.next_day(at)
        if day == self.day:
            return
        self.day = day
        active, capacity = self.active, self.capacity
        drawn = rep_day_row(self.seed, active, day)
        scale = self.day_share(day)
        self.limit = limit = {}
        for rep, u in zip(active, drawn, strict=True):
            cap = capacity[rep]
            limit[rep] = cap if math.isinf(cap) else math.floor(cap * scale + u)
        by_rep = dict(zip(active, drawn, strict=True))
        self.order = sorted(active, key=by_rep.__getitem__)
        self.used = {}

    def next_day(self, at: datetime) -> datetime:
        tz = self.tz
        local = at.astimezone(tz)
        midnight = datetime(local.year, local.month, local.day, tzinfo=tz) + timedelta(days=1)
        return midnight.astimezone(at.tzinfo)

    def later(self, at: datetime, minutes: float, lead_id: str = "") -> datetime | None:
        """`minutes` after `at`: working minutes on the team's clock when the behaviour has
        working hours, else elapsed; None when that is past the end of the calendar.

        On the clock, `at`'s own place is the arrival's precomputed one when `at` is the
        arrival of `lead_id`, else the last one asked again (the claims of one tick share
        their time), else `WorkClock.work_at`; the result is `WorkClock.after_working`'s."""
        work = self.work
        if work is None:
            return at + timedelta(minutes=minutes)
        if lead_id and at == self.by_id[lead_id].arrived_at:
            start = self.arrival_work[lead_id]
        elif at == self.last_at:
            start = self.last_work
        else:
            start = self.last_work = work.work_at(at)
            self.last_at = at
        try:
            return work.wall_at(start + max(minutes, 0.0))
        except ConfigError:
            return None  # past the calendar's end, where `after_working` says None

    def follow(self, moved: Sequence[Any] = ()) -> None:
        """Schedule first touches for leads the router just put in a book; note leads that
        entered a pool. `moved`: what a tick returned; when the new events are the run's own
        `reported` ones then exactly those, it is read instead of the ledger (see `decided`)."""
        end = len(self.ledger)
        seen, reported = self.seen, self.reported
        self.reported = 0
        if seen == end:
            return
        self.seen = end
        untouched, by_id, pooled, pull = self.untouched, self.by_id, self.pooled, self.pull
        took = self.took
        event: Any
        news = moved if seen + reported + len(moved) == end else self.ledger.events()[seen:end]
        for event in news:
            kind = type(event)
            if kind is Assigned or kind is Claimed:
                took(event.lead_id, event.rep_id, event.at, kind is Assigned)
            elif kind is Released:
                # a lead taken back before its first touch no longer waits on that rep
                waiting = untouched.get(event.rep_id)
                if waiting is not None:
                    waiting.discard(event.lead_id)
                if pull:
                    lead_id = event.lead_id
                    heapq.heappush(pooled, (by_id[lead_id].arrived_at, lead_id))
            elif pull and (kind is Arrived or kind is Pooled):
                lead_id = event.lead_id
                heapq.heappush(pooled, (by_id[lead_id].arrived_at, lead_id))

    def decided(self, decision: Decision, written: int, pushed: bool) -> None:
        """`follow` after a route or claim that wrote `written` events, the last of them the
        one that put the lead in `decision.rep_id`'s book at `decision.at` (`pushed`: an
        Assigned, else a Claimed), or none (`Router.route` writes a new lead's Arrived, then the
        event that carries out its decision; `Router.claim` the Claimed or nothing): after the
        run's own `reported` events, the decision says what `follow` would read; any other
        number of new events is read from the ledger."""
        seen = self.seen + self.reported + written
        if len(self.ledger) != seen:
            self.follow()
            return
        self.seen, self.reported = seen, 0
        if written:
            self.took(decision.lead_id, cast(str, decision.rep_id), decision.at, pushed)

    def took(self, lead_id: str, rep: str, at: datetime, pushed: bool) -> None:
        """The lead entered `rep`'s book at `at`, `pushed` to them (else claimed): its first
        touch is scheduled, after the delay the behaviour draws for the rep's backlog, unless
        it was touched already, the rep is not on the history's roster or never gets to a
        pushed lead (`p_neglect`), or the touch would fall past the working-hours calendar."""
        book = self.untouched.get(rep)
        if book is None or lead_id in self.touched:
            return
        row = self.draws[lead_id]
        if self.neglect_of is not None and pushed:
            chance = self.neglect.get(rep)
            if chance is None:
                chance = self.neglect[rep] = self.neglect_of(rep)
            if row[_U_NEGLECT] < chance:
                return  # the rep never gets to this lead
        delay = max(0.0, float(self.behaviour.touch_delay_minutes(rep, len(book), row[_U_DELAY])))
        when = self.later(at, delay, lead_id)
        if when is not None:
            book.add(lead_id)
            heapq.heappush(self.heap, (when, next(self.counter), lead_id, rep, _TOUCH))

    def touch(self, now: datetime, lead_id: str, rep: str) -> None:
        """The rep's first touch of the lead, when it is still theirs and untouched and they
        have first touches left today (else it waits for the next day's opening): the touch,
        the verdict and, for a reached valid lead that buys, the sale; a valid lead that did
        not buy is closed as lost after `follow_up`."""
        untouched = self.untouched[rep]
        untouched.discard(lead_id)
        if lead_id in self.touched or self.ledger.holder(lead_id) != rep:
            return
        if not self.day_from <= now < self.day_until:
            self.today(now)
        done = self.used.get(rep, 0)
        if done >= self.limit.get(rep, 0.0):
            tomorrow = self.later(self.next_day(now), 0.0)
            if tomorrow is not None:
                untouched.add(lead_id)
                heapq.heappush(self.heap, (tomorrow, next(self.counter), lead_id, rep, _TOUCH))
            return
        self.used[rep] = done + 1
        self.touched.add(lead_id)
        behaviour = self.behaviour
        lead = self.by_id[lead_id]
        u = self.draws[lead_id]
        minutes = (now - lead.arrived_at).total_seconds() / 60.0
        valid = bool(u[_U_VALID] < behaviour.p_valid(lead))
        # p_contact is the chance of reaching a valid lead; invalid ones answer less often.
        p_reach = behaviour.p_contact(rep, lead, minutes)
        if not valid:
            p_reach *= self.invalid_contact
        reached = bool(u[_U_REACHED] < p_reach)
        # every part is checked already (ids from the lead and roster, an aware time, bools)
        reports: list[Touched | Tagged | Converted] = [_new_touched(lead_id, rep, now, reached)]
        reports.append(_new_tagged(lead_id, rep, now, valid, _SIM_BY))
        if reached and valid and u[_U_CONVERTED] < behaviour.p_convert(rep, lead):
            amount = max(0.0, float(behaviour.amount(rep, lead, u[_U_AMOUNT])))
            reports.append(Converted(lead_id, rep, now, amount=amount))
        elif valid and self.follow_up is not None:
            heapq.heappush(
                self.heap, (now + self.follow_up, next(self.counter), lead_id, rep, _CLOSE)
            )
        self.router.record_many(reports)  # one operation for the lead's reports
        self.reported += len(reports)

    def close(self, now: datetime, lead_id: str, rep: str) -> None:
        """The rep gives up on a lead still in their book after the follow-up window."""
        if self.ledger.holder(lead_id) == rep:
            self.router.record(_new_tagged(lead_id, rep, now, False, LOST))
            self.reported += 1

    def oldest_pooled(self) -> str | None:
        pooled, pool_of = self.pooled, self.ledger.pool_of
        while pooled:
            lead_id = pooled[0][1]
            if pool_of(lead_id) is not None:
                return lead_id
            heapq.heappop(pooled)
        return None

    def claims(self, now: datetime) -> None:
        """Each rep in the day's order claims the oldest pooled leads while they have fewer
        than `claim_backlog` untouched and first touches left today; a refused claim ends
        their turn. A rep the strategy promised to refuse until later (`refused_until`) has no
        turn before then: it would end in a refusal, which writes nothing."""
        if not self.pooled or self.oldest_pooled() is None:
            return  # nothing to claim: no rep's turn could change anything
        self.today(now)
        untouched, used, limit, backlog = self.untouched, self.used, self.limit, self.claim_backlog
        claim, ask = self.router.claim, self.refused_until
        refused, ledger = self.refused, self.ledger
        at = now.astimezone(UTC)
        for rep in self.order:
            if len(untouched[rep]) >= backlog or refused.get(rep, _NEVER) > at:
                continue
            while len(untouched[rep]) < backlog and used.get(rep, 0) < limit.get(rep, 0.0):
                oldest = self.oldest_pooled()
                if oldest is None:
                    return
                decision = claim(rep, oldest, now=now)
                claimed = decision.rep_id == rep
                self.decided(decision, 1 if claimed else 0, pushed=False)
                if not claimed:
                    if ask is not None:
                        until = ask(ledger, rep, now)
                        if until is not None:
                            refused[rep] = until.astimezone(UTC)
                    break

    def run(self) -> SimRun:
        """Three streams merged in time order: arrivals (already sorted), touches (a heap) and
        ticks (every `tick_every`). At the same time an arrival runs first, then touches in the
        order they were scheduled, then the tick (skipped when it could not act, see `timers`
        and `announced`; for a push policy the idle ticks up to the next arrival, touch or timer
        are passed at once); nothing runs after `end` (`horizon` past the last arrival)."""
        import pandas as pd

        leads, clock, heap, pull = self.leads, self.clock, self.heap, self.pull
        end, tick_every = self.end, self.tick_every
        # the arrivals, then a time past `end`: once every stream is past it the run is over
        arrivals = [lead.arrived_at for lead in leads]
        arrivals.append(end + tick_every)
        tick_at = arrivals[0] + tick_every
        route, tick, pop = self.router.route, self.router.tick, heapq.heappop
        follow, claims, touch, close = self.follow, self.claims, self.touch, self.close
        timers, waiting = self.timers, self.ledger.waiting
        announced, next_due = self.announced, self.router.next_due
        checked = arrivals[0]
        i = 0
        while True:
            when = arrivals[i]
            kind = _ARRIVE
            if heap:
                due = heap[0][0]
                if due < when:
                    when, kind = due, _TOUCH
            if tick_at < when:
                when, kind = tick_at, _TICK
            if when > end:
                break
            clock.now = when
            if kind == _ARRIVE:
                decision = route(leads[i], now=when)
                i += 1
                if pull or decision.rep_id is None:
                    follow()
                else:  # a push policy gave it to a rep: its Arrived and Assigned
                    self.decided(decision, 2, pushed=True)
                if pull:
                    claims(when)
            elif kind == _TOUCH:
                _, _, lead_id, rep, what = pop(heap)
                if what == _TOUCH:
                    touch(when, lead_id, rep)
                else:
                    close(when, lead_id, rep)
            else:
                tick_at += tick_every
                if waiting() or (timers and not announced):
                    follow(tick(now=when))
                    checked = when
                else:
                    # timers due by `checked` have run; one set since falls due after `checked`
                    timer = next_due(checked, offers=False) if timers else None
                    checked = when
                    if timer is not None and not timer > when:
                        follow(tick(now=when))
                    elif not pull:
                        # idle, and so is every tick before the next arrival, touch or timer
                        # (nothing runs between): pass them as the loop would, without a step each
                        after = min(arrivals[i], heap[0][0]) if heap else arrivals[i]
                        after = after if timer is None else min(after, timer)
                        while tick_at < after and not tick_at > end:
                            tick_at += tick_every
                if pull:
                    claims(when)
        frame = pd.DataFrame(
            self.matrix, index=pd.Index(self.ids, name="lead_id"), columns=list(PURPOSES)
        )
        return SimRun(self.ledger, tuple(leads), tuple(self.reps), self.seed, frame, self.behaviour)
