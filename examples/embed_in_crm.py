"""Embed leadrouter in a CRM: one working day of a six-rep sales team, simulated.

Run it with `make demo` (or `python examples/embed_in_crm.py`).

A CRM talks to the Router at five places, and this script does exactly the same:

1. a **webhook** receives each new lead (a JSON payload) and calls `router.route(lead)`;
2. a **scheduler** calls `router.tick(now)` every 15 minutes: SLA reclaims, waiting leads;
3. **reps** report calls, verdicts and sales with `router.record(...)`;
4. reps **claim** leads from a pool with `router.claim(...)` (the router may refuse, and says why);
5. when a rep leaves, `router.handover(rep)` re-routes their book.

The day is deterministic: every call passes `now=` explicitly, the router's clock is a
`ManualClock` that moves with the simulated day (never the wall clock), and the leads and the
reps' behaviour come from seeded `random.Random` generators. Two runs print the same day.
"""

from __future__ import annotations

import heapq
import itertools
import os
import random
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import leadrouter as lr
from leadrouter import rules

# --------------------------------------------------------------------------- the team's setup

TZ_NAME = "Asia/Shanghai"
TZ = ZoneInfo(TZ_NAME)
DAY = date(2026, 3, 10)  # a Tuesday
SEED = 20260310


def clock_time(hour: int, minute: int = 0) -> datetime:
    """A time of the simulated day, in the team's time zone."""
    return datetime.combine(DAY, time(hour, minute), TZ)


# Two teams of three. Reps with no regions are generalists: they may take any region.
REPS = [
    lr.Rep("mei", team="north", regions={"north"}),
    lr.Rep("jun", team="north", regions={"north"}),
    lr.Rep("lin", team="north"),  # the generalist
    lr.Rep("hao", team="south", regions={"south"}),
    lr.Rep("yan", team="south", regions={"south"}),
    lr.Rep("qing", team="south", regions={"south"}),
]
# qing works the late shift; everyone else is always on during the day.
SHIFTS = {"qing": lr.Shift(TZ_NAME, start=time(12), end=time(21))}

# At most 9 open leads in a book and 12 new leads a day per rep (days end at Shanghai midnight).
CAP = lr.FixedCap(open=9, daily=12, tz=TZ_NAME)
# A lead nobody has called within 30 minutes goes to someone else (超时回收).
SLA = timedelta(minutes=30)
LIFECYCLE = lr.Lifecycle(first_touch_sla=SLA, reroute=True)
# Leads scored below this go to the "nurture" pool (marketing), not to a rep's book.
NURTURE_BELOW = 0.3

SLOW_REP, MEETING = "jun", (clock_time(10, 30), clock_time(11, 45))  # jun is in a client meeting
LEAVER, LEAVES_AT = "hao", clock_time(15, 0)  # hao moves to key accounts at 15:00
NURTURE_HOUR = clock_time(16, 30)  # when yan goes through the nurture pool
RETRIED = 12  # the webhook for the 12th lead of the day fires twice
OPEN, CLOSE = clock_time(9), clock_time(18)


def build_router(clock: lr.ManualClock) -> lr.Router:
    """The Router, configured the way the sales-ops manager described the policy."""
    return lr.Router(
        lr.EqualRotation(),  # share leads evenly among the reps allowed to take them
        REPS,
        rules=[
            rules.region(),  # north leads to north reps, south to south, generalists take both
            rules.schedule(SHIFTS),  # nobody gets a lead while off shift
            rules.nurture(below=NURTURE_BELOW),  # low-intent leads go to the nurture pool
            rules.dedup_to_owner(),  # a prospect asking again goes to the rep who has them
        ],
        caps=CAP,
        lifecycle=LIFECYCLE,
        clock=clock,  # in production: leave it out and the router uses the wall clock (UTC)
        seed=SEED,
    )


# --------------------------------------------------------------------------- today's leads

SOURCES = {"douyin": 120.0, "baidu": 180.0, "wechat": 90.0, "website": 60.0, "referral": 0.0}


def todays_payloads(rng: random.Random) -> list[dict[str, str]]:
    """The webhook payloads of the day, as an ad platform or web form would post them.

    About one lead in ten is the same prospect asking again through another form: same phone
    number, same region, a few minutes or hours later.
    """
    payloads: list[dict[str, str]] = []
    arrived = OPEN
    while True:
        arrived += timedelta(minutes=rng.randint(3, 17))
        if arrived > clock_time(17, 30):
            return payloads
        source = rng.choice(sorted(SOURCES))
        region = rng.choice(("north", "south"))
        phone = f"+86 138 {rng.randint(0, 9999):04d} {rng.randint(0, 9999):04d}"
        if len(payloads) > 3 and rng.random() < 0.12:
            earlier = rng.choice(payloads[-6:])
            phone, region = earlier["contact"], earlier["region"]
        payloads.append(
            {
                "lead_id": f"L-{len(payloads) + 1:03d}",
                "arrived_at": arrived.isoformat(),
                "source": source,
                "region": region,
                "score": f"{rng.betavariate(3, 2):.2f}",  # most leads look promising
                "contact": phone,
                "cost": f"{SOURCES[source]:.0f}",
            }
        )


# --------------------------------------------------------------------------- the reps


@dataclass(frozen=True)
class Habit:
    """How a rep follows up: minutes until the first call, chance a call connects, chance a
    reached and valid prospect buys today."""

    first_call: tuple[int, int]
    reach: float
    close: float


HABITS = {
    "mei": Habit((5, 20), reach=0.60, close=0.20),
    "jun": Habit((8, 25), reach=0.50, close=0.15),
    "lin": Habit((3, 15), reach=0.65, close=0.25),
    "hao": Habit((10, 25), reach=0.45, close=0.10),
    "yan": Habit((5, 20), reach=0.55, close=0.15),
    "qing": Habit((5, 20), reach=0.55, close=0.15),
}
DEAL_SIZES = (1800.0, 2600.0, 4800.0, 9800.0)


# --------------------------------------------------------------------------- the CRM


@dataclass
class Row:
    """One line of the routing table."""

    at: datetime
    lead: str
    where: str
    score: str
    outcome: str
    why: str


@dataclass
class Day:
    """What happened: the router (its ledger is the full record), the routing table, and the
    moments worth a closer look."""

    router: lr.Router
    rows: list[Row] = field(default_factory=list)
    dedup: lr.Decision | None = None
    sla: lr.Decision | None = None
    retry: tuple[lr.Decision, lr.Decision] | None = None
    refused: lr.Decision | None = None
    claimed: lr.Decision | None = None
    handover: list[lr.Decision] = field(default_factory=list)


# Ties at the same minute run in this order: leads arrive, reps act, managers act, the tick.
WEBHOOK, REP, MANAGER, SCHEDULER = range(4)


class CRM:
    """A stand-in for your CRM: a webhook, a 15-minute scheduler and reps reporting back.

    Everything that happens is an item on an agenda, run in time order; the ManualClock
    follows the agenda, so the router's notion of now is the simulated one.
    """

    def __init__(self) -> None:
        self.clock = lr.ManualClock(OPEN)
        self.router = build_router(self.clock)
        self.day = Day(self.router)
        self.reps_rng = random.Random(SEED + 1)
        self.first_decision: dict[str, lr.Decision] = {}  # what the webhook answered first
        self._agenda: list[tuple[datetime, int, int, Callable[[datetime], None]]] = []
        self._seq = itertools.count()

    def at(self, when: datetime, order: int, action: Callable[[datetime], None]) -> None:
        heapq.heappush(self._agenda, (when, order, next(self._seq), action))

    def run(self, until: datetime) -> None:
        """Run the agenda up to `until`; what is left (tomorrow's calls) is dropped."""
        while self._agenda and self._agenda[0][0] <= until:
            when, _, _, action = heapq.heappop(self._agenda)
            self.clock.set(when)
            action(when)

    # ----------------------------------------------------------------- 1. the webhook

    def webhook(self, payload: dict[str, str], now: datetime, retry: bool = False) -> None:
        """POST /leads: parse the payload, route the lead, start the rep's follow-up."""
        lead = lr.Lead.from_row(payload, tz=TZ_NAME)
        decision = self.router.route(lead, now=now)
        if retry:
            self.day.retry = (self.first_decision[lead.id], decision)
            self.log(now, lead.id, outcome(decision), RETRY_WHY)
            return
        self.first_decision[lead.id] = decision
        if self.day.dedup is None and any(r.code == "dedup" for r in decision.reasons):
            self.day.dedup = decision
        self.log(now, lead.id, outcome(decision), short_why(decision))
        if decision.rep_id is not None:
            self.assigned(lead.id, decision.rep_id, now)

    # ----------------------------------------------------------------- 2. the scheduler

    def scheduler(self, now: datetime) -> None:
        """Every 15 minutes: run the router's timers and follow up whatever they moved."""
        released: dict[str, lr.Released] = {}
        for event in self.router.tick(now=now):
            if isinstance(event, lr.Released):
                released[event.lead_id] = event
                continue
            lost = released.pop(event.lead_id, None)
            if isinstance(event, lr.Assigned):
                decision = self.router.why(event.lead_id)
                if lost is not None and lost.reason == "sla" and self.day.sla is None:
                    self.day.sla = decision
                if lost is not None:
                    why = sla_why(lost)
                else:
                    why = "waited for a free rep; " + short_why(decision)
                self.log(now, event.lead_id, f"-> {event.rep_id}", why)
                self.assigned(event.lead_id, event.rep_id, now)
            elif isinstance(event, lr.Pooled) and lost is not None:
                self.log(now, event.lead_id, "-> waiting", sla_why(lost) + "; nobody free")
        for lead_id, lost in released.items():
            self.log(now, lead_id, "-> public pool", sla_why(lost))

    # ----------------------------------------------------------------- 3. reps report back

    def assigned(self, lead_id: str, rep_id: str, now: datetime) -> None:
        """A rep got a lead: their first call comes after their usual delay."""
        habit = HABITS[rep_id]
        call_at = now + timedelta(minutes=self.reps_rng.randint(*habit.first_call))
        if rep_id == SLOW_REP and MEETING[0] <= now < MEETING[1]:
            call_at = MEETING[1] + timedelta(minutes=10)  # calls back after the meeting
        self.at(call_at, REP, lambda t: self.call(lead_id, rep_id, t, attempt=1))

    def call(self, lead_id: str, rep_id: str, now: datetime, attempt: int) -> None:
        """The rep calls; the CRM reports the touch, the verdict and maybe a sale."""
        if self.router.ledger.holder(lead_id) != rep_id:
            return  # the lead moved on (SLA reclaim or handover): not theirs to call any more
        habit, rng = HABITS[rep_id], self.reps_rng
        reached = rng.random() < habit.reach
        self.router.record(lr.Touched(lead_id, rep_id, now, reached=reached))
        if not reached:
            if attempt < 3:
                retry_at = now + timedelta(minutes=rng.randint(45, 120))
                self.at(retry_at, REP, lambda t: self.call(lead_id, rep_id, t, attempt + 1))
            return
        if rng.random() < 0.2:
            why = rng.choice(("wrong number", "not interested", "student, no budget"))
            self.router.record(lr.Tagged(lead_id, rep_id, now, valid=False, reason=why))
            return
        self.router.record(lr.Tagged(lead_id, rep_id, now, valid=True))
        if rng.random() < habit.close:
            amount = rng.choice(DEAL_SIZES)
            sale_at = now + timedelta(minutes=rng.randint(40, 150))
            self.at(sale_at, REP, lambda t: self.sale(lead_id, rep_id, t, amount))

    def sale(self, lead_id: str, rep_id: str, now: datetime, amount: float) -> None:
        if self.router.ledger.holder(lead_id) == rep_id:
            self.router.record(lr.Converted(lead_id, rep_id, now, amount=amount))

    # ----------------------------------------------------------------- 4./5. managers

    def nurture_hour(self, now: datetime) -> None:
        """yan has a quiet half hour and goes through the nurture pool for a south lead.

        mei (north) clicks the same lead first: the region rule applies to claims too.
        """
        ledger = self.router.ledger
        south = [lid for lid in ledger.pool("nurture") if ledger.lead(lid).region == "south"]
        if not south:
            return
        best = max(south, key=lambda lid: ledger.lead(lid).score or 0.0)
        refused = self.router.claim("mei", best, now=now)
        self.day.refused = refused
        self.log(now, best, "refused: mei", short_why(refused))
        claimed = self.router.claim("yan", best, now=now)
        self.day.claimed = claimed
        self.log(now, best, outcome(claimed), short_why(claimed))
        if claimed.rep_id is not None:
            self.assigned(best, claimed.rep_id, now)

    def leave(self, now: datetime) -> None:
        """hao moves to another team: his open leads go to colleagues, oldest first."""
        decisions = self.router.handover(LEAVER, now=now)
        self.day.handover = decisions
        for decision in decisions:
            why = f"{LEAVER} left; {short_why(decision)}"
            self.log(now, decision.lead_id, outcome(decision), why)
            if decision.rep_id is not None:
                self.assigned(decision.lead_id, decision.rep_id, now)

    # ----------------------------------------------------------------- the table

    def log(self, now: datetime, lead_id: str, result: str, why: str) -> None:
        lead = self.router.ledger.lead(lead_id)
        score = f"{lead.score:.2f}" if lead.score is not None else ""
        self.day.rows.append(Row(now, lead_id, f"{lead.source}/{lead.region}", score, result, why))


RETRY_WHY = "webhook retry: same payload, the first decision comes back; nothing new written"


def outcome(decision: lr.Decision) -> str:
    """Where a decision put the lead, for the table."""
    if decision.rep_id is not None:
        return f"-> {decision.rep_id}"
    if decision.pool == lr.PUBLIC:
        return "-> waiting"
    return f"-> pool {decision.pool}"


def ruled_out_as(reason: lr.Reason) -> str | None:
    """A short label for a reason that ruled reps out ("off shift", "book full" ...), else None."""
    if reason.code == "capped":
        return "book full" if reason.detail.startswith("open-lead cap") else "daily limit reached"
    if reason.code != "excluded":
        return None
    if reason.rule.startswith("schedule"):
        return "off shift"
    if reason.rule.startswith("region"):
        return "other region"
    return {"active": "has left", "reroute": "just lost it"}.get(reason.rule, reason.rule)


# Expected exclusions the region column already explains, and a rep who left, are not news.
_NOT_NEWS = ("other region", "has left")


def short_why(decision: lr.Decision) -> str:
    """One line from a decision's reasons; `decision.explain()` has the full story."""
    for reason in decision.reasons:
        if reason.code in ("dedup", "pooled", "refused"):
            return reason.detail
    if decision.action == "claimed":
        return decision.reasons[-1].detail
    ruled_out: set[str] = set()
    news: dict[str, list[str]] = {}
    for reason in decision.reasons:
        label = ruled_out_as(reason)
        if label is None:
            continue
        ruled_out |= reason.reps
        if label not in _NOT_NEWS:
            news.setdefault(label, []).extend(sorted(reason.reps))
    if decision.rep_id is None:
        head = "nobody free: waits in the public pool"
    else:
        head = "next in turn among " + ", ".join(sorted({rep.id for rep in REPS} - ruled_out))
    notes = "; ".join(f"{', '.join(sorted(reps))} {label}" for label, reps in news.items())
    return head + (f" ({notes})" if notes else "")


def sla_why(released: lr.Released) -> str:
    if released.reason == "sla":
        minutes = int(SLA.total_seconds() // 60)
        return f"re-routed: {released.rep_id} made no call within {minutes} min (SLA)"
    return f"re-routed: released by {released.rep_id} ({released.reason})"


# --------------------------------------------------------------------------- the day


def run_day() -> Day:
    """Simulate the day and return what happened (nothing is printed)."""
    crm = CRM()
    payloads = todays_payloads(random.Random(SEED))
    for number, payload in enumerate(payloads, start=1):
        arrived = datetime.fromisoformat(payload["arrived_at"])
        crm.at(arrived, WEBHOOK, partial(crm.webhook, payload))
        if number == RETRIED:  # the ad platform did not see our 200 OK and posts again
            crm.at(
                arrived + timedelta(minutes=2),
                WEBHOOK,
                partial(crm.webhook, payload, retry=True),
            )
    tick = OPEN
    while tick <= CLOSE:
        crm.at(tick, SCHEDULER, crm.scheduler)
        tick += timedelta(minutes=15)
    crm.at(LEAVES_AT, MANAGER, crm.leave)
    crm.at(NURTURE_HOUR, MANAGER, crm.nurture_hour)
    crm.run(until=CLOSE)
    return crm.day


# --------------------------------------------------------------------------- the report


def print_table(rows: Sequence[Row]) -> None:
    print(f"{'time':<5}  {'lead':<5}  {'source/region':<16} {'score':>5}  {'outcome':<16} why")
    print("-" * 100)
    for row in rows:
        print(
            f"{row.at.astimezone(TZ):%H:%M}  {row.lead:<5}  {row.where:<16} {row.score:>5}  "
            f"{row.outcome:<16} {row.why}"
        )
    print(
        "\n-> waiting: the lead is in the public pool; the 15-minute tick offers it again as soon "
        "as a rep has room.\n-> pool nurture: kept out of reps' books; a rep may claim it."
    )


def print_summary(router: lr.Router) -> None:
    ledger = router.ledger
    print(
        f"{'rep':<6} {'team':<6} {'regions':<8} {'received':>8} {'in book':>8} {'touched':>8} "
        f"{'taken back':>10} {'converted':>9} {'revenue':>9}  note"
    )
    print("-" * 90)
    totals: Counter[str] = Counter()
    for rep in router.reps:
        stats = ledger.stats(rep.id)
        regions = ",".join(sorted(rep.regions)) or "any"
        note = "" if rep.active else f"left at {LEAVES_AT:%H:%M}"
        if rep.id in SHIFTS:
            shift = SHIFTS[rep.id]
            note = f"shift {shift.start:%H:%M}-{shift.end:%H:%M}"
        print(
            f"{rep.id:<6} {rep.team:<6} {regions:<8} {stats.received:>8} "
            f"{ledger.book_size(rep.id):>8} {stats.touched:>8} {stats.released:>10} "
            f"{stats.converted:>9} {stats.revenue:>9,.0f}  {note}"
        )
        totals.update(
            received=stats.received,
            book=ledger.book_size(rep.id),
            touched=stats.touched,
            released=stats.released,
            converted=stats.converted,
        )
        totals["revenue"] += int(stats.revenue)
    print("-" * 90)
    print(
        f"{'total':<22} {totals['received']:>8} {totals['book']:>8} {totals['touched']:>8} "
        f"{totals['released']:>10} {totals['converted']:>9} {totals['revenue']:>9,}"
    )
    pools = ", ".join(f"{name} {n}" for name, n in ledger.pools().items() if n)
    spend = sum(ledger.lead(lid).cost for lid in ledger.lead_ids())
    print(
        f"\n{len(list(ledger.lead_ids()))} leads arrived (lead spend CNY {spend:,.0f}); "
        f"in pools at close: {pools or 'none'}.\nreceived counts every time a lead entered a "
        "book, so a re-routed lead counts for both reps;\ntaken back: SLA reclaims and handover."
    )


def print_uneven(router: lr.Router) -> None:
    ledger = router.ledger
    arrived = Counter(ledger.lead(lid).region for lid in ledger.lead_ids())
    for region in sorted(arrived):
        takers = [rep.id for rep in REPS if not rep.regions or region in rep.regions]
        print(f"{arrived[region]} {region} leads arrived today; they can go to {', '.join(takers)}")
    print()
    print(router.explain_load(since=OPEN).to_string())
    print(
        "\nreceived: leads that entered the rep's book today (assigned or claimed). chosen, "
        "excluded,\ncapped: over the latest decision about each lead, how often the rep got it, "
        "was ruled\nout by a rule, or was at a cap. In words:\n"
    )
    ruled_out: dict[str, Counter[str]] = {rep.id: Counter() for rep in router.reps}
    for decision in router.decisions():
        for reason in decision.reasons:
            label = ruled_out_as(reason)
            if label is not None:
                for rep_id in reason.reps:
                    ruled_out[rep_id][label] += 1
    for rep in router.reps:
        takes = ", ".join(sorted(rep.regions)) + " only" if rep.regions else "every region"
        why = ", ".join(f"{label} {n}x" for label, n in ruled_out[rep.id].most_common())
        print(f"  {rep.id:<5} takes {takes}; ruled out: {why or 'never'}")


def report(day: Day) -> None:
    router = day.router
    print(f"leadrouter demo: one day of a six-rep team, {DAY:%A %Y-%m-%d} ({TZ_NAME})")
    print(
        f"policy: {router.strategy.name}; rules: region, shifts, nurture below score "
        f"{NURTURE_BELOW}, repeat inquiries to the current owner;\n"
        f"caps: {CAP.open} open leads and {CAP.daily} new leads a day per rep; "
        "first call within 30 min or the lead moves on\n"
    )
    print("== who got which lead, and why ==\n")
    print_table(day.rows)
    print("\n== per rep, at the end of the day ==\n")
    print_summary(router)
    print("\n== why is it uneven? ==\n")
    print_uneven(router)
    if day.dedup is not None:
        print("\n== the full story of a repeat inquiry (dedup to the current owner) ==\n")
        print(day.dedup.explain())
    if day.sla is not None:
        print("\n== the full story of an SLA re-route ==\n")
        print(sla_story(router, day.sla.lead_id))
        print(day.sla.explain())


def sla_story(router: lr.Router, lead_id: str) -> str:
    """What led to the re-route, from the ledger (the re-route decision itself does not say)."""
    events = [e for e in router.ledger.events() if e.lead_id == lead_id]
    released, lost = next(
        (e, i) for i, e in enumerate(events) if isinstance(e, lr.Released) and e.reason == "sla"
    )
    got = next(e for e in reversed(events[:lost]) if isinstance(e, lr.Assigned | lr.Claimed))
    due = got.at + SLA
    return (
        f"{got.rep_id} got {lead_id} at {got.at:%H:%M} and had not called by {due:%H:%M}; the "
        f"{released.at:%H:%M} tick released it (reason {released.reason!r}) and re-routed it:"
    )


def main() -> lr.Router:
    day = run_day()
    report(day)
    return day.router


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:  # `python embed_in_crm.py | head`: the reader left; end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
