"""Tiered delay: premium first, escalation on no progress or "blocked", public pool at the end."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import event as note
from hypothesis import given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter.context import Context, TickContext
from leadrouter.errors import CapabilityError, ConfigError, StrategyError
from leadrouter.events import Assigned, Claimed, Released
from leadrouter.ledger import BLOCKED
from leadrouter.strategies.base import Release, Strategy
from leadrouter.strategies.equal_rotation import EqualRotation
from leadrouter.strategies.hierarchical import Hierarchical
from leadrouter.strategies.tiered_delay import ESCALATED, Tier, TieredDelay
from leadrouter.testing import check_strategy

from .conftest import T0, at

DOC = Path(__file__).resolve().parent.parent / "docs" / "strategies" / "tiered-delay.md"

PREMIUM = [lr.Rep("p1", tier=0), lr.Rep("p2", tier=0)]
STANDARD = [lr.Rep("s1", tier=1), lr.Rep("s2", tier=1)]


def _two_tiers(premium: timedelta = timedelta(hours=4)) -> TieredDelay:
    return TieredDelay(
        [
            Tier(tier=0, strategy=EqualRotation(), patience=premium),
            Tier(tier=1, strategy=EqualRotation(), patience=timedelta(hours=8)),
        ]
    )


def _router(reps: Sequence[lr.Rep] = (*PREMIUM, *STANDARD), **kw: object) -> lr.Router:
    return lr.Router(_two_tiers(), reps, **kw)  # type: ignore[arg-type]


def _route(router: lr.Router, lead_id: str = "L1", minutes: float = 0) -> str | None:
    return router.route(lr.Lead(lead_id, at(minutes)), now=at(minutes)).rep_id


def _tier_of(router: lr.Router, rep_id: str | None) -> int:
    assert rep_id is not None
    return router.roster[rep_id].tier


# --------------------------------------------------------------------------- routing


@pytest.mark.parametrize(
    ("reps", "said"),
    [
        (STANDARD, "waits for tier 0, which has no rep on the roster"),
        (
            [*(lr.Rep(r.id, tier=0, active=False) for r in PREMIUM), *STANDARD],
            "waits for tier 0, whose reps (p1, p2) are all inactive",
        ),
        (
            [*(lr.Rep(r.id, tier=0, regions={"north"}) for r in PREMIUM), *STANDARD],
            "waits for tier 0: none of its reps is eligible and under its caps now",
        ),
    ],
)
def test_a_lead_waiting_for_its_tier_says_why(reps: list[lr.Rep], said: str) -> None:
    """A tier no rep can take keeps its leads in the pool (its first shot stands): the decision
    says whether the tier is empty, all inactive or only ruled out now, so a team that removed
    its premium reps hears it rather than finding every book empty."""
    router = lr.Router(_two_tiers(), reps, rules=lr.rules.region())
    decision = router.route(lr.Lead("L1", at(0), region="south"), now=at(0))
    assert decision.rep_id is None
    assert said in decision.reasons[-1].detail


def test_new_leads_go_to_the_top_tier_only() -> None:
    router = _router()
    got = [_route(router, f"L{i}", i) for i in range(6)]
    assert set(got) == {"p1", "p2"}
    decision = router.why("L0")
    assert "tier 0 (first shot), by EqualRotation" in decision.reasons[-1].detail


def test_no_reached_touch_within_patience_escalates_to_the_next_tier() -> None:
    router = _router()
    first = _route(router)
    router.record(lr.Touched("L1", first, at(hours=1), reached=False))  # type: ignore[arg-type]
    assert router.tick(at(hours=3, minutes=59)) == []
    events = router.tick(at(hours=4))
    assert len(events) == 2
    released, assigned = events
    assert released == Released("L1", first, at(hours=4), ESCALATED)  # type: ignore[arg-type]
    assert isinstance(assigned, Assigned)
    assert assigned.rep_id in {"s1", "s2"}
    assert assigned.by == "TieredDelay"
    assert router.ledger.lead_releases("L1") == (ESCALATED,)
    assert "after 1 escalation" in router.why("L1").reasons[-1].detail


def test_a_reached_touch_within_patience_stops_escalation() -> None:
    router = _router()
    first = _route(router)
    assert first is not None
    router.record(lr.Touched("L1", first, at(hours=2), reached=True))
    assert router.tick(at(hours=4)) == []
    assert router.tick(at(days=30)) == []
    assert router.ledger.holder("L1") == first


def test_a_lead_reached_after_patience_but_before_the_tick_is_kept() -> None:
    router = _router()
    first = _route(router)
    assert first is not None
    router.record(lr.Touched("L1", first, at(hours=4, minutes=30), reached=True))
    assert router.tick(at(hours=5)) == []


@pytest.mark.parametrize("valid", [True, False])
def test_blocked_tag_escalates_at_the_next_tick_within_patience(valid: bool) -> None:
    router = _router()
    first = _route(router)
    assert first is not None
    router.record(lr.Touched("L1", first, at(10), reached=True))  # progress, yet blocked
    assert router.tick(at(20)) == []
    router.record(lr.Tagged("L1", first, at(30), valid=valid, reason=BLOCKED))
    assert router.ledger.holder("L1") == first  # a blocked lead stays open
    released, assigned = router.tick(at(31))
    assert isinstance(released, Released)
    assert released.reason == ESCALATED
    assert isinstance(assigned, Assigned)
    assert _tier_of(router, assigned.rep_id) == 1
    # The new holder's patience starts fresh: the old "blocked" tag is not theirs.
    assert router.tick(at(32)) == []


def test_other_invalid_tags_still_close_the_lead_and_do_not_escalate() -> None:
    router = _router()
    first = _route(router)
    assert first is not None
    router.record(lr.Tagged("L1", first, at(5), valid=False, reason="wrong number"))
    assert router.ledger.status("L1") == "invalid"
    assert router.tick(at(days=2)) == []


def test_after_the_last_tier_the_lead_goes_to_the_public_pool_for_anyone() -> None:
    reps = [*PREMIUM, *STANDARD, lr.Rep("x", tier=5)]
    router = _router(reps)
    _route(router)
    assert len(router.tick(at(hours=4))) == 2
    standard = router.ledger.holder("L1")
    assert _tier_of(router, standard) == 1
    events = router.tick(at(hours=12))
    assert events == [Released("L1", standard, at(hours=12), ESCALATED)]  # type: ignore[arg-type]
    assert router.ledger.holder("L1") is None
    assert router.ledger.pool_of("L1") == lr.PUBLIC
    assert not router.ledger.is_waiting("L1")  # not pushed again: it is for claiming
    assert "past the last tier" in router.why("L1").reasons[-1].detail
    assert router.tick(at(days=3)) == []
    claimed = router.claim("x", "L1", now=at(days=3))  # a rep of no tier may claim it now
    assert claimed.rep_id == "x"
    assert router.tick(at(days=30)) == []  # never escalated again
    assert router.ledger.lead_releases("L1") == (ESCALATED, ESCALATED)


def test_a_blocked_tag_in_the_last_tier_sends_the_lead_to_the_public_pool() -> None:
    router = lr.Router(TieredDelay([Tier(0, EqualRotation(), timedelta(hours=1))]), PREMIUM)
    first = _route(router)
    assert first is not None
    router.record(lr.Tagged("L1", first, at(5), valid=False, reason=BLOCKED))
    assert router.tick(at(6)) == [Released("L1", first, at(6), ESCALATED)]
    assert router.ledger.pool_of("L1") == lr.PUBLIC


def test_a_tier_with_no_free_rep_makes_the_lead_wait_for_that_tier() -> None:
    reps = [lr.Rep("p1", tier=0), *STANDARD]
    router = _router(reps, caps=lr.FixedCap(open=1))
    assert _route(router, "L1") == "p1"
    router.record(lr.Touched("L1", "p1", at(1), reached=True))
    assert _route(router, "L2", 2) is None  # premium is full: L2 waits, standard does not get it
    assert router.ledger.is_waiting("L2")
    assert router.tick(at(hours=5)) == []  # patience runs only while someone holds the lead
    refused = router.claim("s1", "L2", now=at(hours=5))
    assert refused.action == "refused"
    assert "tier 0" in refused.reasons[0].detail
    router.record(lr.Converted("L1", "p1", at(hours=6)))
    (assigned,) = router.tick(at(hours=6))
    assert assigned == Assigned("L2", "p1", at(hours=6), "TieredDelay")


def test_claims_are_held_to_the_lead_tier() -> None:
    router = _router([lr.Rep("p1", tier=0, active=False), *STANDARD])
    assert _route(router) is None  # no active premium rep: the lead waits for tier 0
    refused = router.claim("s1", "L1", now=at(1))
    assert refused.action == "refused"
    assert refused.reasons[0].rule == "TieredDelay"
    router.set_rep(lr.Rep("p1", tier=0))
    assert router.claim("p1", "L1", now=at(2)).rep_id == "p1"


def test_sla_reroute_stays_in_the_tier_and_restarts_patience() -> None:
    life = lr.Lifecycle(first_touch_sla=timedelta(hours=1), reroute=True)
    router = _router(lifecycle=life)
    first = _route(router)
    released, assigned = router.tick(at(hours=1))
    assert isinstance(released, Released)
    assert released.reason == "sla"
    assert isinstance(assigned, Assigned)
    assert assigned.rep_id != first
    assert _tier_of(router, assigned.rep_id) == 0
    router.record(lr.Touched("L1", assigned.rep_id, at(hours=1, minutes=30)))
    assert router.tick(at(hours=4, minutes=30)) == []  # 3.5 h with the second premium rep
    assert [type(e) for e in router.tick(at(hours=5))] == [Released, Assigned]


def test_tier_is_read_from_the_ledger_after_a_restart() -> None:
    router = _router()
    _route(router)
    router.tick(at(hours=4))
    standard = router.ledger.holder("L1")
    restarted = _router(ledger=router.ledger)
    events = restarted.tick(at(hours=12))
    assert events == [Released("L1", standard, at(hours=12), ESCALATED)]  # type: ignore[arg-type]


def test_escalation_never_returns_to_an_earlier_holder() -> None:
    router = lr.Router(
        TieredDelay(
            [Tier(t, EqualRotation(), timedelta(hours=1)) for t in (0, 1, 2)],
        ),
        [lr.Rep("a", tier=0), lr.Rep("b", tier=1), lr.Rep("c", tier=2)],
    )
    _route(router)
    for hour in (1, 2, 3):
        router.tick(at(hours=hour))
    holders = [e.rep_id for e in router.ledger.events() if isinstance(e, Assigned)]
    assert holders == ["a", "b", "c"]
    assert router.ledger.pool_of("L1") == lr.PUBLIC


# --------------------------------------------------------------------------- composition


class _ReleaseEveryHeld(Strategy):
    """A tier strategy with a timer of its own: it takes back every lead after 30 minutes."""

    def route(self, ctx: Context) -> str | None:
        return min((r for r in ctx.ids if ctx.can_take(r)), default=None)

    def tick(self, ctx: TickContext) -> Sequence[Release]:
        ledger = ctx.view
        assert isinstance(ledger, lr.Ledger)
        return [
            Release(lead_id, "idle", reroute=False)
            for lead_id, _, since in ledger.held()
            if ctx.now - since >= timedelta(minutes=30)
        ]


def test_tier_strategies_timers_run_for_leads_at_their_tier_only() -> None:
    strategy = TieredDelay(
        [
            Tier(0, EqualRotation(), timedelta(hours=4)),
            Tier(1, _ReleaseEveryHeld(), timedelta(hours=8)),
        ]
    )
    router = lr.Router(strategy, [*PREMIUM, *STANDARD])
    _route(router, "L1")
    _route(router, "L2", 1)
    assert router.tick(at(hours=1)) == []  # both at tier 0: tier 1's timer does not touch them
    router.record(lr.Tagged("L2", router.ledger.holder("L2"), at(61), True, BLOCKED))  # type: ignore[arg-type]
    assert [e.reason for e in router.tick(at(62)) if isinstance(e, Released)] == [ESCALATED]
    assert router.ledger.holder("L2") == "s1"
    idle = router.tick(at(hours=3))
    assert idle == [Released("L2", "s1", at(hours=3), "idle")]


def test_a_tier_strategy_that_picks_outside_its_tier_is_a_strategy_error() -> None:
    def rogue(ctx: Context) -> str:
        return "s1"

    router = lr.Router(TieredDelay([Tier(0, rogue, timedelta(hours=1))]), [*PREMIUM, *STANDARD])
    with pytest.raises(StrategyError, match="tier 0"):
        _route(router)


def test_a_view_without_lead_history_fails_when_hierarchical_is_built() -> None:
    with pytest.raises(CapabilityError, match="TieredDelay, Hierarchical's team strategy") as got:
        Hierarchical(team=_two_tiers())
    assert "no lead_releases, held, reached, tag_reason" in str(got.value)
    assert "rep strategy" in str(got.value)


def test_as_hierarchical_rep_strategy_it_reads_the_routers_ledger() -> None:
    reps = [lr.Rep(r.id, tier=r.tier, team="t") for r in [*PREMIUM, *STANDARD]]
    router = lr.Router(Hierarchical(rep=_two_tiers()), reps)
    assert _route(router) == "p1"


def test_a_plain_function_can_be_a_tier_strategy() -> None:
    def last_id(ctx: Context) -> str | None:
        return max((r for r in ctx.ids if ctx.can_take(r)), default=None)

    router = lr.Router(TieredDelay([Tier(0, last_id, timedelta(hours=1))]), [*PREMIUM, *STANDARD])
    assert _route(router) == "p2"
    assert "by last_id" in router.why("L1").reasons[-1].detail


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ([], "at least one Tier"),
        (["tier0"], "list of Tier"),
        (
            [Tier(1, EqualRotation(), timedelta(hours=1)), Tier(0, EqualRotation(), timedelta(1))],
            "increasing tier numbers",
        ),
        (
            [Tier(0, EqualRotation(), timedelta(hours=1)), Tier(0, EqualRotation(), timedelta(1))],
            "increasing tier numbers",
        ),
    ],
)
def test_bad_tier_lists_are_config_errors(tiers: list[Tier], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TieredDelay(tiers)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tier": -1}, "Tier.tier"),
        ({"tier": True}, "Tier.tier"),
        ({"patience": timedelta(0)}, "Tier.patience"),
        ({"patience": 4}, "Tier.patience"),
        ({"strategy": "EqualRotation"}, "Strategy or a callable"),
    ],
)
def test_bad_tiers_are_config_errors(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "tier": 0,
        "strategy": EqualRotation(),
        "patience": timedelta(hours=1),
        **kwargs,
    }
    with pytest.raises(ConfigError, match=message):
        Tier(**args)  # type: ignore[arg-type]


def test_conformance() -> None:
    check_strategy(_two_tiers())
    check_strategy(TieredDelay([Tier(0, EqualRotation(), timedelta(minutes=5))]))


# --------------------------------------------------------------------------- ledger: "blocked"


def _held_ledger() -> lr.Ledger:
    ledger = lr.Ledger()
    ledger.append(lr.Arrived(lr.Lead("L1", T0)))
    ledger.append(lr.Assigned("L1", "R1", at(1), "test"))
    return ledger


@pytest.mark.parametrize("valid", [True, False])
def test_ledger_keeps_a_blocked_lead_open_and_records_the_verdict(valid: bool) -> None:
    ledger = _held_ledger()
    assert ledger.tag_reason("L1") is None
    ledger.append(lr.Tagged("L1", "R1", at(2), valid=valid, reason=BLOCKED))
    assert ledger.status("L1") == "held"
    assert ledger.book("R1") == {"L1"}
    assert ledger.tag_reason("L1") == BLOCKED
    stats = ledger.stats("R1")
    assert (stats.valid, stats.invalid) == ((1, 0) if valid else (0, 1))
    ledger.append(lr.Released("L1", "R1", at(3), ESCALATED))  # still releasable
    assert ledger.tag_reason("L1") is None
    ledger.append(lr.Assigned("L1", "R2", at(4), "test"))
    assert ledger.tag_reason("L1") is None  # the new holder has not tagged it
    replay = lr.Ledger.from_events(ledger.events())
    assert replay.snapshot() == ledger.snapshot()
    assert replay.tag_reason("L1") is None


def test_ledger_tag_reason_follows_the_holder_and_stays_on_a_closed_lead() -> None:
    ledger = _held_ledger()
    ledger.append(lr.Tagged("L1", "R1", at(2), valid=False, reason=BLOCKED))
    ledger.append(lr.Tagged("L1", "R1", at(3), valid=False, reason="wrong number"))
    assert ledger.status("L1") == "invalid"  # a non-blocked invalid tag still closes it
    assert ledger.book("R1") == frozenset()
    assert ledger.tag_reason("L1") == "wrong number"
    assert ledger.stats("R1").invalid == 1  # one verdict per lead, as before
    assert ledger.tag_reason("unknown") is None


# --------------------------------------------------------------------------- invariant

_ACTIONS = (
    "arrive",
    "arrive",
    "time",
    "time",
    "touch",
    "reach",
    "block",
    "claim",
    "convert",
    "close",
)


@settings(max_examples=120, deadline=None)
@given(
    data=st.data(),
    tier_numbers=st.sampled_from([(0,), (0, 1), (0, 1, 2), (1, 2)]),
    rep_tiers=st.lists(st.integers(0, 3), min_size=1, max_size=7),
    capped=st.booleans(),
    sla=st.booleans(),
    staffed=st.booleans(),
)
def test_tier_order_is_never_violated(
    data: st.DataObject,
    tier_numbers: tuple[int, ...],
    rep_tiers: list[int],
    capped: bool,
    sla: bool,
    staffed: bool,
) -> None:
    """Invariant, for random arrivals, touches, blocked tags, claims, sales and time passing:
    every Assigned or Claimed of a lead at tier index k (= its escalations so far) goes to a rep
    of tiers[k] — so the tiers a lead visits never go back up and no rep holds it at two tiers —
    and past the last tier only claims take it; an escalation happens only when it is due
    (blocked, or patience passed with no reached touch), and after every tick no lead is due."""
    tiers = [Tier(t, EqualRotation(), timedelta(hours=1 + t)) for t in tier_numbers]
    strategy = TieredDelay(tiers)
    if staffed:  # else some tiers may have no reps at all
        rep_tiers = [*rep_tiers, *tier_numbers]
    reps = [lr.Rep(f"R{i}", tier=t) for i, t in enumerate(rep_tiers)]
    router = lr.Router(
        strategy,
        reps,
        caps=lr.FixedCap(open=2) if capped else None,
        lifecycle=lr.Lifecycle(first_touch_sla=timedelta(minutes=90), reroute=True)
        if sla
        else None,
    )
    ledger = router.ledger
    now, arrived = T0, 0

    def held() -> list[str]:
        return sorted(lid for lid in ledger.lead_ids() if ledger.holder(lid) is not None)

    for _ in range(data.draw(st.integers(1, 40))):
        action = data.draw(st.sampled_from(_ACTIONS))
        if action == "arrive":
            router.route(lr.Lead(f"L{arrived}", now), now=now)
            arrived += 1
        elif action == "time":
            now += timedelta(minutes=data.draw(st.integers(0, 240)))
            router.tick(now)
            for lead_id in held():
                k = ledger.lead_releases(lead_id).count(ESCALATED)
                if k < len(tiers):
                    since = ledger.held_since(lead_id)
                    assert since is not None
                    assert ledger.tag_reason(lead_id) != BLOCKED
                    assert ledger.reached(lead_id) or now - since < tiers[k].patience
        elif action == "claim":
            pooled = [lid for lid in ledger.lead_ids() if ledger.status(lid) == "pooled"]
            if pooled:
                rep = data.draw(st.sampled_from(reps))
                router.claim(rep.id, data.draw(st.sampled_from(pooled)), now=now)
        elif held():
            lead_id = data.draw(st.sampled_from(held()))
            holder = ledger.holder(lead_id)
            assert holder is not None
            if action in ("touch", "reach"):
                router.record(lr.Touched(lead_id, holder, now, reached=action == "reach"))
            elif action == "block":
                valid = data.draw(st.booleans())
                router.record(lr.Tagged(lead_id, holder, now, valid=valid, reason=BLOCKED))
            elif action == "convert":
                router.record(lr.Converted(lead_id, holder, now))
            else:
                router.record(lr.Tagged(lead_id, holder, now, valid=False, reason="spam"))

    shadow = lr.Ledger()
    holders: dict[str, set[tuple[int, str]]] = {}
    for event in ledger.events():
        if isinstance(event, Released) and event.reason == ESCALATED:
            k = shadow.lead_releases(event.lead_id).count(ESCALATED)
            since = shadow.held_since(event.lead_id)
            assert since is not None
            assert k < len(tiers)
            assert shadow.tag_reason(event.lead_id) == BLOCKED or (
                not shadow.reached(event.lead_id) and event.at - since >= tiers[k].patience
            ), f"{event} was not due"
        if isinstance(event, Assigned | Claimed):
            k = shadow.lead_releases(event.lead_id).count(ESCALATED)
            tier = router.roster[event.rep_id].tier
            if k < len(tiers):
                assert tier == tiers[k].tier, f"{event} at index {k} went to tier {tier}"
                earlier = holders.setdefault(event.lead_id, set())
                assert all(rep != event.rep_id or j == k for j, rep in earlier)
                assert all(j <= k for j, _ in earlier)
                earlier.add((k, event.rep_id))
            else:
                assert isinstance(event, Claimed), f"{event} pushed past the last tier"
        shadow.append(event)
    hops = [e for e in ledger.events() if isinstance(e, Released) and e.reason == ESCALATED]
    note(f"escalations: {'none' if not hops else 'some'}")
    past = any(
        ledger.lead_releases(lid).count(ESCALATED) >= len(tiers) for lid in ledger.lead_ids()
    )
    note(f"a lead went past the last tier: {past}")
    for lead_id in ledger.lead_ids():
        past_last = ledger.lead_releases(lead_id).count(ESCALATED) >= len(tiers)
        if past_last and ledger.status(lead_id) == "pooled":
            assert ledger.pool_of(lead_id) == lr.PUBLIC
            assert not ledger.is_waiting(lead_id)


# --------------------------------------------------------------------------- the docs page


def test_the_docs_worked_example_prints_what_the_page_says() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Worked example", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    shown = re.search(r"```text\n(.*?)```", section, re.S)
    assert code is not None
    assert shown is not None
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code.group(1), str(DOC), "exec"), {"__name__": "docs_example"})
    assert out.getvalue() == shown.group(1)
