"""The router's fast paths decide exactly as its plain paths.

What the router keeps between leads (eligible sets per rule key, who a cap holds back for the
day, reasons worded only when read) must never change a decision, an event or a word. Each
test runs the same random workload (roster, rules, caps, timers; routes, claims, releases,
ticks, roster changes, with time going forward and leads sometimes dated in the past) through
a router with its caches and one with them switched off, and compares everything each call
returns, the ledgers, and the words of every decision read long after it was made.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter import caps as caps_module
from leadrouter import rules
from leadrouter.context import Context
from leadrouter.router._explained import WordedLater

from .conftest import T0

REGIONS = ("north", "south", "east")
PRODUCTS = ("crm", "erp")
SEGMENTS = ("smb", "ent")


def ask_everyone(ctx: Context) -> str | None:
    """Asks the caps about every rep on the roster, eligible or not (so caps refuse reps one by
    one, and reps already held back are asked again), then takes the last one allowed."""
    allowed = [rep for rep in sorted(ctx.roster) if ctx.can_take(rep)]
    chosen = [rep for rep in allowed if rep in ctx.ids]
    return chosen[-1] if chosen else None


def first_by_name(ctx: Context) -> lr.Pick:
    """Answers with a Pick, not an id: the first rep by name that a cap lets take the lead, with
    a score and its own words; nobody, in its own words, when none can (or a pool for leads of
    the "ent" segment, left for reps to claim)."""
    if ctx.lead.segment == "ent":
        return lr.Pick(None, pool="grab", reason="enterprise leads are claimed")
    for rep in sorted(ctx.ids):
        if ctx.can_take(rep):
            return lr.Pick(rep, scores={rep: 1.0}, reason="first by name")
    return lr.Pick(None, reason="nobody free by name")


reps_st = st.lists(
    st.builds(
        lambda i, regions, skills, active: lr.Rep(
            f"R{i}", regions=frozenset(regions), skills=frozenset(skills), active=active
        ),
        st.integers(0, 9),
        st.sets(st.sampled_from(REGIONS + SEGMENTS), max_size=2),
        st.sets(st.sampled_from(PRODUCTS), max_size=1),
        st.sampled_from([True, True, True, False]),
    ),
    min_size=1,
    max_size=7,
    unique_by=lambda rep: rep.id,
)

caps_st = st.lists(
    st.builds(
        lr.FixedCap,
        open=st.none() | st.integers(1, 4),
        daily=st.none() | st.integers(1, 3),
        tz=st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York"]),
        reps=st.none() | st.sets(st.sampled_from([f"R{i}" for i in range(10)]), max_size=4),
    ),
    max_size=2,
)

RULES = ("region", "skill", "dedup", "nurture", "either", "segment", "not", "feature", "callable")
rules_st = st.sets(st.sampled_from(RULES))
"""Filters the router files eligible sets for by the lead's attributes (region, skill, either,
segment, not: `Filter._key_attributes`) and filters it cannot (a `features` entry, a plain
callable), pool and preference rules, in any mix."""

route_st = st.tuples(
    st.just("route"),
    st.sampled_from(("", *REGIONS)),
    st.sampled_from(("", *PRODUCTS)),
    st.integers(0, 180),  # minutes the clock moves first
    st.integers(0, 30),  # minutes the lead arrived before now
    st.none() | st.sampled_from(["+1", "+2"]),
    st.none() | st.floats(0, 1),
    st.sampled_from(("", *SEGMENTS)),
    st.sampled_from(("", *PRODUCTS)),  # the lead's "tier" feature
)
op_st = st.one_of(
    route_st,
    route_st,
    route_st,
    route_st,
    st.tuples(st.just("claim"), st.integers(0, 9), st.integers(0, 40)),
    st.tuples(st.just("release"), st.integers(0, 40), st.booleans()),
    st.tuples(st.just("tick"), st.integers(0, 900)),
    st.tuples(st.just("rep"), st.integers(0, 9), st.booleans(), st.sets(st.sampled_from(REGIONS))),
)


def build_rules(names: set[str]) -> list[Any]:
    made: list[Any] = []
    for name in sorted(names):
        if name == "region":
            made.append(rules.region())
        elif name == "skill":
            made.append(rules.skill())
        elif name == "dedup":
            made.append(rules.dedup_to_owner())
        elif name == "nurture":
            made.append(rules.nurture(below=0.1))
        elif name == "either":
            made.append(rules.region() | rules.skill())
        elif name == "segment":
            made.append(rules.region(field="segment"))
        elif name == "not":
            made.append(~rules.skill(field="segment") & rules.region())
        elif name == "feature":
            made.append(rules.skill(field="tier"))
        else:
            made.append(lambda lead, rep: lead.segment != "smb" or rep.id != "R1")
    return made


def make_router(
    strategy: Any,
    reps: list[lr.Rep],
    names: set[str],
    caps: list[lr.FixedCap],
    timers: bool,
    ledger: lr.Ledger | None = None,
) -> lr.Router:
    lifecycle = lr.Lifecycle(expire_after=timedelta(hours=5), reroute=True) if timers else None
    return lr.Router(
        strategy,
        reps,
        ledger=ledger,
        rules=build_rules(names),
        caps=[attrs.evolve(cap) for cap in caps],  # a cap instance of its own
        lifecycle=lifecycle,
        clock=lr.ManualClock(T0),
    )


def plain(router: lr.Router) -> lr.Router:
    router._decider.cached = False
    router._decider.caps.cached = False
    return router


def run(router: lr.Router, op: tuple[Any, ...], leads: list[str], now: Any) -> Any:
    """Apply one operation; what it returned (decisions worded now), or the error's type."""
    kind = op[0]
    try:
        if kind == "route":
            _, region, product, _, before, contact, score, segment, tier = op
            lead_id = f"L{len(leads)}"
            lead = lr.Lead(
                lead_id,
                now - timedelta(minutes=before),
                region=region,
                product=product,
                contact=contact,
                score=score,
                segment=segment,
                features={"tier": tier} if tier else {},
            )
            leads.append(lead_id)
            return router.route(lead, now=now)
        if kind == "claim":
            _, rep, which = op
            if not leads:
                return None
            return router.claim(f"R{rep}", leads[which % len(leads)], now=now)
        if kind == "release":
            _, which, reroute = op
            if not leads:
                return None
            return router.release(leads[which % len(leads)], now=now, reroute=reroute)
        if kind == "tick":
            return router.tick(now=now)
        _, rep, active, regions = op
        router.set_rep(lr.Rep(f"R{rep}", regions=frozenset(regions), active=active))
        return None
    except lr.LeadRouterError as exc:
        return type(exc)


def in_step(
    fast: lr.Router, slow: lr.Router, ops: list[tuple[Any, ...]], leads: list[str]
) -> Iterator[tuple[Any, Any]]:
    """Each operation run on `fast`, then on `slow`, at the same time (the clock moving first as
    the operation says): what each returned. `leads` collects the ids of the leads routed."""
    slow_leads: list[str] = []
    now = T0
    for op in ops:
        if op[0] == "route":
            now += timedelta(minutes=op[3])
        elif op[0] == "tick":
            now += timedelta(minutes=op[1])
        yield run(fast, op, leads, now), run(slow, op, slow_leads, now)


workloads = given(
    reps=reps_st,
    names=rules_st,
    caps=caps_st,
    timers=st.booleans(),
    ops=st.lists(op_st, min_size=20, max_size=60),
)
"""A random roster, rules, caps and timers, and a workload for them."""

long_examples = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
"""Settings for `workloads`, whose examples are long: no deadline (each test sets its count)."""


@pytest.mark.parametrize(
    "strategy",
    [lr.EqualRotation(), ask_everyone, first_by_name],
    ids=["rotation", "ask", "pick"],
)
@settings(long_examples, max_examples=60)
@workloads
def test_cached_router_decides_and_words_exactly_as_the_plain_one(
    strategy: Any,
    reps: list[lr.Rep],
    names: set[str],
    caps: list[lr.FixedCap],
    timers: bool,
    ops: list[tuple[Any, ...]],
) -> None:
    """Invariant: for any workload, the router with its caches returns the same decisions
    (with the same reasons, read at the end for the cached one and at once for the plain one),
    writes the same events and answers `why` the same as the router without them."""
    fast = make_router(strategy, reps, names, caps, timers)
    slow = plain(make_router(strategy, reps, names, caps, timers))
    fast_leads: list[str] = []
    kept: list[tuple[Any, str | None]] = []
    for got, expected in in_step(fast, slow, ops, fast_leads):
        if isinstance(expected, lr.Decision):
            assert isinstance(got, lr.Decision)
            kept.append((got, expected.explain()))
            assert (got.lead_id, got.rep_id, got.action, got.pool) == (
                expected.lead_id,
                expected.rep_id,
                expected.action,
                expected.pool,
            )
        else:
            assert got == expected
    assert list(fast.ledger.events()) == list(slow.ledger.events())
    for decision, words in kept:
        assert decision.explain() == words
    for lead_id in fast_leads:
        assert fast.why(lead_id) == slow.why(lead_id)
        assert fast.why(lead_id).explain() == slow.why(lead_id).explain()


def routed_with_reasons() -> lr.Decision:
    router = lr.Router(
        lr.EqualRotation(),
        [lr.Rep("A", regions={"north"}), lr.Rep("B"), lr.Rep("C")],
        rules=[rules.region()],
        caps=lr.FixedCap(daily=1),
    )
    router.route(lr.Lead("L0", T0, region="south"), now=T0)
    router.route(lr.Lead("L1", T0, region="south"), now=T0)
    return router.route(lr.Lead("L2", T0, region="south"), now=T0)


def test_a_decision_worded_later_is_a_decision_in_every_way_but_its_type() -> None:
    decision = routed_with_reasons()
    assert isinstance(decision, WordedLater)
    words = [str(reason) for reason in decision.reasons]
    assert words[0].startswith("excluded (region())") and "[A]" in words[0]
    assert any(word.startswith("capped") for word in words)
    same = lr.Decision(*(getattr(decision, f.name) for f in attrs.fields(lr.Decision)))
    assert type(same) is lr.Decision
    assert decision == same and same == decision
    assert not (decision != same) and not (same != decision)  # noqa: SIM202 (both operators)
    assert hash(decision) == hash(same)
    assert repr(decision) == repr(same)
    assert decision.explain() == same.explain()
    assert decision != attrs.evolve(same, by="someone else")
    for copied in (pickle.loads(pickle.dumps(decision)), copy.copy(decision)):
        assert type(copied) is lr.Decision and copied == decision
    evolved = attrs.evolve(decision, by="x")
    assert evolved.by == "x" and evolved.reasons == decision.reasons
    assert evolved == attrs.evolve(same, by="x")


def _keeps_can_take(kept: list[Any]) -> Callable[[Context], str | None]:
    """EqualRotation that keeps every `can_take` it is handed in `kept`, as a buggy strategy
    might."""

    def strategy(ctx: Context) -> str | None:
        kept.append(ctx.can_take)
        return lr.EqualRotation().route(ctx)

    return strategy


def test_can_take_kept_past_its_lead_is_a_named_error() -> None:
    kept: list[Any] = []
    router = lr.Router(_keeps_can_take(kept), [lr.Rep("A")], caps=lr.FixedCap(daily=1))
    assert router.route(lr.Lead("L0", T0), now=T0).rep_id == "A"
    assert kept[0]("A") is True  # asked once already for this lead: the answer it gave then
    with pytest.raises(lr.StrategyError, match="after the router finished with its lead"):
        kept[0]("B")


def test_a_strategy_that_keeps_can_take_from_a_tick_gets_a_named_error() -> None:
    """Invariant: every way the router decides a lead (route, and a waiting lead offered again
    at tick) closes the caps' gate it handed the strategy when it has finished with the lead."""
    kept: list[Any] = []
    router = lr.Router(_keeps_can_take(kept), [lr.Rep("A")], caps=lr.FixedCap(daily=1))
    assert router.route(lr.Lead("L0", T0), now=T0).rep_id == "A"
    assert router.route(lr.Lead("L1", T0), now=T0).rep_id is None  # waits for tomorrow
    kept.clear()
    moved = router.tick(now=T0 + timedelta(days=1))
    assert [type(event).__name__ for event in moved] == ["Assigned"]
    assert kept
    with pytest.raises(lr.StrategyError, match="after the router finished with its lead"):
        kept[0]("B")


def test_eligible_sets_are_filed_by_the_lead_attributes_the_filters_read() -> None:
    """The router reads the lead attributes its filters turn on in one step when every filter
    says which (`Filter._key_attributes`), and asks each filter for its key otherwise."""

    def decider(*made: Any) -> Any:
        return lr.Router(lr.EqualRotation(), [lr.Rep("A")], rules=list(made))._decider

    lead = lr.Lead("L0", T0, region="north", product="crm", segment="smb", features={"t": "x"})
    assert decider(rules.region(), rules.skill())._lead_key(lead) == ("north", "crm")
    assert decider(rules.region() | rules.skill(field="segment"))._lead_key(lead) == (
        "north",
        "smb",
    )
    assert decider(~rules.region())._lead_key(lead) == "north"
    assert decider()._lead_key is None
    assert decider(rules.region(), rules.skill(field="t"))._lead_key is None
    assert decider(rules.region(), lambda lead, rep: True)._lead_key is None
    assert decider(rules.schedule({}))._lead_key is None


zones = st.sampled_from(
    [
        "UTC",
        "Asia/Shanghai",
        "America/New_York",
        "Europe/London",
        "Asia/Kathmandu",  # +05:45
        "Australia/Lord_Howe",  # a half-hour daylight saving shift
        "America/Sao_Paulo",  # once moved its clocks at midnight
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    asks=st.lists(
        st.tuples(
            st.integers(0, 40 * 86_400 * 1_000_000),  # microseconds after the start
            zones,
            st.booleans(),  # ask with the very datetime asked about before
        ),
        min_size=1,
        max_size=40,
    ),
    start=st.sampled_from(
        [
            datetime(2018, 10, 20, tzinfo=UTC),  # Sao Paulo's midnight jump on 2018-11-04
            datetime(2025, 3, 1, tzinfo=UTC),
            datetime(2025, 10, 1, tzinfo=UTC),
        ]
    ),
)
def test_day_start_answers_what_working_it_out_afresh_answers(
    asks: list[tuple[int, str, bool]], start: datetime
) -> None:
    """Invariant: whatever was asked before (the same instant, one in the same quarter hour, in
    another zone, an earlier day), `day_start` and `next_day_start` answer the midnight worked
    out afresh from the instant's quarter hour, as the router's caps count days by."""
    fresh = caps_module._day_start.__wrapped__
    previous: datetime | None = None
    for micros, tz, same in asks:
        now = previous if same and previous is not None else start + timedelta(microseconds=micros)
        previous = now
        expected = fresh(int(now.timestamp()) // 900, tz)
        assert caps_module.day_start(now, tz) == expected
        later = expected + timedelta(hours=36)
        assert caps_module.next_day_start(now, tz) == fresh(int(later.timestamp()) // 900, tz)
