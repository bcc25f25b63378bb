"""The simulation engine: replays a History's leads through a policy's Router over simulated time.

The engine is a plain `heapq` discrete-event loop (DESIGN §7½: SimPy costs ~5× more per lead).
It drives only the public Router API, as a CRM would: `route` at each arrival, `claim` for pull
policies, `record` for touches, tags and sales, and `tick` every `tick_every` for timers. It
never writes to the ledger itself, so every Router invariant (a lead in exactly one place, caps,
the per-lead state machine) holds in a simulated run exactly as it does live.

Random numbers follow DESIGN §7 (common random numbers): every lead has a fixed row of uniforms
keyed by (seed, lead id), one column per purpose (`PURPOSES`), and every rep a uniform per
(seed, rep, local day). Outcomes are thresholds (reached if u < p), so a policy that moves one
lead to another rep changes that lead's outcome only (and, through the reps' backlogs, the
timing of their other leads), and two policies are compared on the same luck.

Assumptions (each one names a choice the history cannot make for us):
- A rep first-touches a lead `behaviour.touch_delay_minutes(rep, backlog, u)` after it enters
  their book, `backlog` being their open untouched leads then. At most
  `floor(capacity + u_rep_day)` first touches per rep per local day; a touch beyond that waits
  for the next local day.
- Contact decays with the minutes from the lead's arrival to its first touch. Every first touch
  is followed by a tag (validity shows when the number is dialled); a reached, valid lead
  converts with `p_convert`, at the touch time, for `behaviour.amount(...)`. Leads that are
  touched but not converted stay open in the book (the Router's lifecycle may expire them).
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
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union
from zoneinfo import ZoneInfo

import attrs
import numpy as np

from leadrouter._util import stable_key
from leadrouter.errors import BehaviourNeededError, ConfigError
from leadrouter.events import Assigned, Claimed, Converted, Tagged, Touched
from leadrouter.ledger import Ledger
from leadrouter.model import Lead, Rep
from leadrouter.router import Router
from leadrouter.sim.behaviour import Behaviour
from leadrouter.strategies.base import Strategy

if TYPE_CHECKING:
    import pandas as pd

    from leadrouter.sim.history import History

__all__ = [
    "PURPOSES",
    "Behaviour",
    "Policy",
    "SimRun",
    "default_behaviour",
    "lead_uniforms",
    "make_router",
    "rep_day_uniform",
    "simulate",
]

PURPOSES = ("delay", "reached", "valid", "converted", "amount")
"""The columns of a lead's row of uniforms, one per purpose; the same in every policy's run."""

_SIM_BY = "sim"


Factory = Callable[[list[Rep], int], Router]
Policy = Union[Strategy, str, "os.PathLike[str]", Factory]
"""A Strategy instance, a playbook path, or a factory `f(reps, seed) -> Router` that returns a
Router with a fresh, empty ledger."""


def lead_uniforms(seed: int, lead_id: str) -> np.ndarray[Any, Any]:
    """The lead's row of uniforms in (0, 1), one per purpose in `PURPOSES`.

    A pure function of (seed, lead id): the same in every policy's run and on every machine.
    """
    rng = np.random.default_rng(stable_key(seed, f"lead\x00{lead_id}"))
    row: np.ndarray[Any, Any] = rng.random(len(PURPOSES))
    return row


def rep_day_uniform(seed: int, rep_id: str, day: str) -> float:
    """The rep's uniform for one local day (ISO date): a pure function of (seed, rep, day)."""
    rng = np.random.default_rng(stable_key(seed, f"rep\x00{rep_id}\x00{day}"))
    return float(rng.random())


def default_behaviour(history: History) -> Behaviour:
    """The true behaviour of a synthetic History; a named error for any other History."""
    truth = history.truth
    if truth is None:
        raise BehaviourNeededError(
            f"{history!r} has no known truth (it was loaded, not generated): pass behaviour= a "
            "model fitted from it or given by you (see leadrouter.sim.behaviour)"
        )
    from leadrouter.sim.behaviour import GivenBehaviour

    found: Behaviour = GivenBehaviour.from_truth(truth)
    return found


@attrs.frozen
class SimRun:
    """One simulated run: the Router's ledger (every event the run wrote), the leads, roster and
    seed, and the per-lead uniforms it drew (`draws`: one row per lead id, one column per
    purpose)."""

    ledger: Ledger
    leads: tuple[Lead, ...]
    reps: tuple[Rep, ...]
    seed: int
    draws: pd.DataFrame = attrs.field(eq=False, repr=False)

    def metrics(self, sla: timedelta = timedelta(hours=1)) -> dict[str, float]:
        """The run's metrics (see `leadrouter.sim.compare.metrics`)."""
        from leadrouter.sim.compare import metrics

        return metrics(self, sla)

    def per_rep(self, sla: timedelta = timedelta(hours=1)) -> pd.DataFrame:
        """One row per rep (see `leadrouter.sim.compare.per_rep`)."""
        from leadrouter.sim.compare import per_rep

        return per_rep(self, sla)


class _SimClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def make_router(policy: Policy, reps: list[Rep], seed: int, clock: _SimClock | None) -> Router:
    """A fresh Router for `policy` over `reps`.

    A playbook's own roster is replaced by `reps` (the history's roster): the behaviour model
    knows only the reps in the history, so a simulated rep must be one of them.
    """
    if isinstance(policy, Strategy):
        return Router(policy, reps, clock=clock, seed=seed)
    if isinstance(policy, str | os.PathLike):
        from leadrouter.playbooks import load_playbook

        return load_playbook(Path(policy), reps=reps, clock=clock, seed=seed, ledger=Ledger())
    if callable(policy):
        router = policy(list(reps), seed)
        if not isinstance(router, Router):
            raise ConfigError(
                f"policy factory {policy!r} returned {router!r}: a factory must return a Router"
            )
        if len(router.ledger):
            raise ConfigError(
                f"policy factory {policy!r} returned a Router whose ledger already holds "
                f"{len(router.ledger)} events: return one with a fresh ledger each call"
            )
        return router
    raise ConfigError(
        f"a policy is a Strategy, a playbook path or a factory f(reps, seed) -> Router; "
        f"got {policy!r}"
    )


# event kinds, in the order they run when due at the same time
_ARRIVE, _TOUCH, _TICK = 0, 1, 2


def simulate(
    history: History,
    policy: Policy,
    behaviour: Behaviour | None = None,
    seed: int = 0,
    tick_every: timedelta = timedelta(minutes=15),
    horizon: timedelta = timedelta(days=2),
    claim_backlog: int = 1,
) -> SimRun:
    """Run `history`'s leads through `policy` with reps acting as `behaviour` says.

    Deterministic for a seed. Leads are routed in arrival order at their arrival time; the run
    goes on `horizon` past the last arrival so late touches happen. The Router is built fresh
    (see `make_router`), so one policy object can serve many runs.
    """
    import pandas as pd

    if behaviour is None:
        behaviour = default_behaviour(history)
    if tick_every <= timedelta(0):
        raise ConfigError(f"tick_every must be positive, got {tick_every!r}")
    leads = sorted(history.leads, key=lambda lead: (lead.arrived_at, lead.id))
    reps = list(history.roster)
    if not leads:
        raise ConfigError(f"{history!r} has no leads to simulate")
    start = leads[0].arrived_at
    clock = _SimClock(start)
    router = make_router(policy, reps, seed, clock)
    ledger = router.ledger
    tz = ZoneInfo(history.tz)
    pull = bool(router.strategy.tags.pull)
    by_id = {lead.id: lead for lead in leads}
    draws = {lead.id: lead_uniforms(seed, lead.id) for lead in leads}
    col = {name: i for i, name in enumerate(PURPOSES)}
    active = [rep.id for rep in reps if rep.active]
    capacity = {rep: float(behaviour.capacity(rep)) for rep in active}

    untouched: dict[str, set[str]] = {rep.id: set() for rep in reps}
    touched: set[str] = set()
    used: dict[tuple[str, str], int] = {}
    seen = 0
    heap: list[tuple[datetime, int, int, str, str]] = []
    counter = itertools.count()

    def day_of(at: datetime) -> str:
        return at.astimezone(tz).date().isoformat()

    def next_day(at: datetime) -> datetime:
        local = at.astimezone(tz)
        midnight = datetime(local.year, local.month, local.day, tzinfo=tz) + timedelta(days=1)
        return midnight.astimezone(at.tzinfo)

    def daily_limit(rep: str, day: str) -> float:
        cap = capacity.get(rep, 0.0)
        if math.isinf(cap):
            return cap
        return math.floor(cap + rep_day_uniform(seed, rep, day))

    def room_today(rep: str, at: datetime) -> bool:
        day = day_of(at)
        return used.get((rep, day), 0) < daily_limit(rep, day)

    def follow(now: datetime) -> None:
        """Schedule first touches for leads the router just put in a book."""
        nonlocal seen
        events = ledger.events()
        for event in events[seen:]:
            if type(event) is Assigned or type(event) is Claimed:
                lead_id, rep = event.lead_id, event.rep_id
                if lead_id in touched or rep not in untouched:
                    continue
                backlog = len(untouched[rep])
                untouched[rep].add(lead_id)
                u = float(draws[lead_id][col["delay"]])
                delay = max(0.0, float(behaviour.touch_delay_minutes(rep, backlog, u)))
                when = event.at + timedelta(minutes=delay)
                heapq.heappush(heap, (when, _TOUCH, next(counter), lead_id, rep))
        seen = len(events)

    def touch(now: datetime, lead_id: str, rep: str) -> None:
        untouched[rep].discard(lead_id)
        if lead_id in touched or ledger.holder(lead_id) != rep:
            return
        day = day_of(now)
        if used.get((rep, day), 0) >= daily_limit(rep, day):
            untouched[rep].add(lead_id)
            heapq.heappush(heap, (next_day(now), _TOUCH, next(counter), lead_id, rep))
            return
        used[(rep, day)] = used.get((rep, day), 0) + 1
        touched.add(lead_id)
        lead = by_id[lead_id]
        u = draws[lead_id]
        minutes = (now - lead.arrived_at).total_seconds() / 60.0
        valid = bool(u[col["valid"]] < behaviour.p_valid(lead))
        # p_contact is the chance of reaching a valid lead; invalid ones answer less often.
        p_reach = behaviour.p_contact(rep, lead, minutes)
        if not valid:
            p_reach *= float(getattr(behaviour, "invalid_contact", 1.0))
        reached = bool(u[col["reached"]] < p_reach)
        router.record(Touched(lead_id, rep, now, reached=reached))
        router.record(Tagged(lead_id, rep, now, valid=valid, reason=_SIM_BY))
        if reached and valid and u[col["converted"]] < behaviour.p_convert(rep, lead):
            amount = max(0.0, float(behaviour.amount(rep, lead, float(u[col["amount"]]))))
            router.record(Converted(lead_id, rep, now, amount=amount))

    def claims(now: datetime) -> None:
        day = day_of(now)
        order = sorted(active, key=lambda rep: rep_day_uniform(seed, rep, day))
        for rep in order:
            while len(untouched[rep]) < claim_backlog and room_today(rep, now):
                offered = [lead for name in ledger.pools() for lead in ledger.pool(name)]
                if not offered:
                    return
                oldest = min(offered, key=lambda lead_id: (by_id[lead_id].arrived_at, lead_id))
                decision = router.claim(rep, oldest, now=now)
                follow(now)
                if decision.rep_id != rep:
                    break

    for lead in leads:
        heapq.heappush(heap, (lead.arrived_at, _ARRIVE, next(counter), lead.id, ""))
    end = leads[-1].arrived_at + horizon
    tick_at = start + tick_every
    while tick_at <= end:
        heapq.heappush(heap, (tick_at, _TICK, next(counter), "", ""))
        tick_at += tick_every

    while heap:
        when, kind, _, lead_id, rep = heapq.heappop(heap)
        if when > end:
            break
        clock.now = when
        if kind == _ARRIVE:
            router.route(by_id[lead_id], now=when)
            follow(when)
            if pull:
                claims(when)
        elif kind == _TOUCH:
            touch(when, lead_id, rep)
        else:
            router.tick(now=when)
            follow(when)
            if pull:
                claims(when)

    frame = pd.DataFrame.from_dict(
        {lead_id: row for lead_id, row in draws.items()}, orient="index", columns=list(PURPOSES)
    )
    frame.index.name = "lead_id"
    return SimRun(ledger, tuple(leads), tuple(reps), seed, frame)
