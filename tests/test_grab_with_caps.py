"""GrabWithCaps: pools, claim caps, idle release back to the pool, penalties, concurrency."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter import rules
from leadrouter.strategies.grab_with_caps import IDLE, GrabWithCaps
from leadrouter.testing import check_strategy

from .conftest import T0, at, claim_race

HALF_HOUR = timedelta(minutes=30)


def grab_router(strategy: GrabWithCaps, n: int = 3, **kw: object) -> lr.Router:
    reps = kw.pop("reps", None) or [lr.Rep(f"R{i}") for i in range(n)]
    return lr.Router(strategy, reps, clock=lr.ManualClock(T0), **kw)  # type: ignore[arg-type]


def pool_leads(router: lr.Router, n: int, minutes: float = 0, **fields: object) -> list[str]:
    ids = []
    for i in range(n):
        lead = lr.Lead(f"L{len(router.ledger)}-{i}", at(minutes), **fields)  # type: ignore[arg-type]
        router.route(lead, now=at(minutes))
        ids.append(lead.id)
    return ids


def test_route_never_assigns_and_pools_by_region() -> None:
    r = grab_router(GrabWithCaps(pool_by="region"))
    north = r.route(lr.Lead("N", T0, region="north"), now=T0)
    blank = r.route(lr.Lead("B", T0), now=T0)
    feature = grab_router(GrabWithCaps(pool_by="city", pool="unsorted"))
    sh = feature.route(lr.Lead("S", T0, features={"city": "Shanghai"}), now=T0)
    none = feature.route(lr.Lead("X", T0), now=T0)
    assert (north.rep_id, north.pool, north.action) == (None, "north", "pooled")
    assert "left in pool 'north'" in north.reasons[-1].detail
    assert "region 'north'" in north.reasons[-1].detail
    assert blank.pool == lr.PUBLIC and "has no region" in blank.reasons[-1].detail
    assert r.ledger.pool("north") == ("N",) and r.ledger.pool() == ("B",)
    assert (sh.pool, none.pool) == ("Shanghai", "unsorted")
    # Pooled leads are not "waiting": tick does not offer them to anyone.
    assert r.ledger.waiting() == ()
    assert r.tick(at(hours=5)) == []
    assert r.ledger.pool("north") == ("N",)


def test_pool_rules_still_apply_before_the_strategy() -> None:
    r = grab_router(GrabWithCaps(pool_by="region"), rules=[rules.nurture(below=0.2)])
    low = r.route(lr.Lead("L", T0, region="north", score=0.1), now=T0)
    assert low.pool == "nurture"
    assert r.ledger.pool("nurture") == ("L",)


def test_claims_respect_held_cap_with_a_clear_reason() -> None:
    r = grab_router(GrabWithCaps(held=2))
    ids = pool_leads(r, 4)
    assert r.claim("R0", ids[0], now=at(1)).action == "claimed"
    assert r.claim("R0", ids[1], now=at(2)).action == "claimed"
    size = len(r.ledger)
    refused = r.claim("R0", ids[2], now=at(3))
    assert refused.action == "refused" and refused.rep_id is None
    assert "holds 2 open leads (held cap 2)" in refused.explain()
    assert refused.reasons[0].rule == "GrabWithCaps"
    assert len(r.ledger) == size and r.ledger.pool_of(ids[2]) == lr.PUBLIC
    r.record(lr.Converted(ids[0], "R0", at(4), amount=100.0))  # a closed lead frees the book
    assert r.claim("R0", ids[2], now=at(5)).ok
    assert r.claim("R1", ids[3], now=at(5)).ok  # caps are per rep


def test_daily_cap_refuses_then_resets_next_day() -> None:
    r = grab_router(GrabWithCaps(daily=2))
    ids = pool_leads(r, 4)
    for i in range(2):
        assert r.claim("R0", ids[i], now=at(i + 1)).ok
        r.release(ids[i], "returned", now=at(i + 1, hours=1))  # releasing does not undo a receipt
    refused = r.claim("R0", ids[2], now=at(hours=10))
    assert refused.action == "refused"
    assert "received 2 leads today (daily cap 2)" in refused.explain()
    assert "resets at 2026-01-06T00:00:00+00:00" in refused.explain()
    assert r.claim("R0", ids[2], now=datetime(2026, 1, 6, 0, 0, tzinfo=T0.tzinfo)).ok


def test_daily_cap_day_is_counted_in_its_time_zone() -> None:
    r = grab_router(GrabWithCaps(daily=1, tz="Asia/Shanghai"))
    ids = pool_leads(r, 2)
    assert r.claim("R0", ids[0], now=at(hours=6)).ok  # 15:00 UTC = 23:00 Shanghai
    assert not r.claim("R0", ids[1], now=at(hours=6, minutes=59)).ok
    assert r.claim("R0", ids[1], now=at(hours=7)).ok  # midnight in Shanghai


def test_idle_claim_goes_back_to_its_pool_at_tick() -> None:
    r = grab_router(GrabWithCaps(idle_after=HALF_HOUR, pool_by="region"))
    r.route(lr.Lead("N", T0, region="north"), now=T0)
    assert r.claim("R0", "N", now=at(10)).ok
    assert r.tick(at(39)) == []  # 29 minutes after the claim
    events = r.tick(at(40))
    assert events == [lr.Released("N", "R0", at(40), IDLE, pool="north")]
    assert r.ledger.pool("north") == ("N",)
    assert r.ledger.holder("N") is None and not r.ledger.is_waiting("N")
    assert r.ledger.releases("R0", IDLE) == 1
    assert r.tick(at(hours=3)) == []  # back in its pool, nobody re-routes it


def test_touched_lead_is_never_released_for_idleness() -> None:
    r = grab_router(GrabWithCaps(idle_after=HALF_HOUR))
    ids = pool_leads(r, 2)
    assert r.claim("R0", ids[0], now=at(1)).ok
    assert r.claim("R1", ids[1], now=at(1)).ok
    r.record(lr.Touched(ids[0], "R0", at(31)))  # exactly at the limit is within it
    events = r.tick(at(hours=5))
    assert [(e.lead_id, e.reason) for e in events] == [(ids[1], IDLE)]  # type: ignore[union-attr]
    assert r.ledger.holder(ids[0]) == "R0"


def test_assigned_leads_are_not_idle_claims() -> None:
    """A dedup_to_owner assignment was not grabbed, so the idle timer leaves it alone."""
    r = grab_router(GrabWithCaps(idle_after=HALF_HOUR), rules=[rules.dedup_to_owner()])
    r.route(lr.Lead("A", T0, contact="+86-1"), now=T0)
    assert r.claim("R0", "A", now=at(1)).ok
    r.record(lr.Touched("A", "R0", at(2)))
    second = r.route(lr.Lead("B", at(3), contact="+86-1"), now=at(3))
    assert (second.rep_id, second.action) == ("R0", "assigned")
    assert r.tick(at(hours=2)) == []
    assert r.ledger.holder("B") == "R0"


def test_cooldown_refuses_claims_until_it_ends_and_comes_from_the_ledger() -> None:
    r = grab_router(GrabWithCaps(idle_after=HALF_HOUR, cooldown=timedelta(hours=1)))
    ids = pool_leads(r, 4)
    assert r.claim("R0", ids[0], now=at(0)).ok
    r.tick(at(30))
    size = len(r.ledger)
    refused = r.claim("R0", ids[1], now=at(31))
    assert refused.action == "refused"
    assert "in cooldown until 2026-01-05T10:30:00+00:00" in refused.explain()
    assert "untouched for 30 min" in refused.explain()
    assert len(r.ledger) == size
    assert r.claim("R1", ids[1], now=at(31)).ok  # other reps are not penalised
    # A new router over a replay of the log refuses the same claim: no hidden state.
    again = lr.Router(r.strategy, r.reps, ledger=lr.Ledger.from_events(r.ledger.events()))
    assert not again.claim("R0", ids[2], now=at(89, hours=0)).ok
    assert r.claim("R0", ids[2], now=at(hours=1, minutes=30)).ok  # the cooldown has ended
    assert r.claim("R0", ids[0], now=at(hours=1, minutes=31)).ok  # its lost lead too


def test_manual_idle_release_counts_as_a_penalty() -> None:
    r = grab_router(GrabWithCaps(cooldown=timedelta(minutes=15)))
    ids = pool_leads(r, 2)
    assert r.claim("R0", ids[0], now=at(1)).ok
    r.release(ids[0], IDLE, now=at(2))
    assert not r.claim("R0", ids[1], now=at(16)).ok
    assert r.claim("R0", ids[1], now=at(17)).ok


def test_lower_caps_penalty_lowers_caps_and_blocks_the_lost_lead() -> None:
    strategy = GrabWithCaps(
        held=3, idle_after=HALF_HOUR, cooldown=timedelta(hours=2), penalty="lower_caps"
    )
    r = grab_router(strategy)
    ids = pool_leads(r, 6)
    assert r.claim("R0", ids[0], now=at(0)).ok
    assert r.claim("R0", ids[1], now=at(0)).ok
    r.tick(at(30))  # both idle: the held cap drops from 3 to 1 for two hours
    lost = r.claim("R0", ids[0], now=at(31))
    assert "may not claim it again before 2026-01-05T11:30:00+00:00" in lost.explain()
    assert r.claim("R0", ids[2], now=at(32)).ok
    capped = r.claim("R0", ids[3], now=at(33))
    assert "holds 1 open leads (held cap 1, lowered by 2 until" in capped.explain()
    assert r.claim("R0", ids[3], now=at(31, hours=2)).ok  # the penalty is over: cap 3 again


def test_threads_claiming_the_same_leads_one_winner_each_and_caps_hold() -> None:
    r = grab_router(GrabWithCaps(held=10), n=6)
    ids = pool_leads(r, 50)
    wins = claim_race(r, [f"R{k}" for k in range(6)], ids, now=at(1))
    assert set(wins.values()) == {1}
    assert len(wins) == 50
    assert all(r.ledger.book_size(f"R{k}") <= 10 for k in range(6))


def test_router_release_action_honours_its_pool() -> None:
    """Shared-file addition: `Release.pool` names where a tick release goes (default public),
    and `Ledger.claimed_from` says which pool the holder claimed a lead from."""

    class SendToVip(lr.EqualRotation):
        def tick(self, ctx: lr.TickContext) -> list[lr.Release]:
            return [
                lr.Release("L1", "vip", reroute=False, pool="vip"),
                lr.Release("L2", "back", reroute=False),
            ]

    r = grab_router(SendToVip())  # type: ignore[arg-type]
    r.route(lr.Lead("L1", T0), now=T0)
    r.route(lr.Lead("L2", T0), now=T0)
    assert r.ledger.claimed_from("L1") is None  # assigned, not claimed
    r.tick(at(1))
    assert r.ledger.pool("vip") == ("L1",) and r.ledger.pool() == ("L2",)
    assert r.claim("R0", "L1", now=at(2)).ok
    assert r.ledger.claimed_from("L1") == "vip"
    r.release("L1", now=at(3))
    assert r.ledger.claimed_from("L1") is None


def test_bad_configuration_is_named() -> None:
    for kw, words in [
        ({"held": -1}, "held must be a whole number"),
        ({"daily": True}, "daily must be a whole number"),
        ({"idle_after": timedelta(0)}, "idle_after must be a positive timedelta or None"),
        ({"cooldown": None}, "cooldown must be a positive timedelta"),
        ({"penalty": "fine"}, "penalty must be one of"),
        ({"pool": ""}, "pool must be a non-empty name"),
        ({"pool_by": " region"}, "pool_by must be a non-empty name"),
        ({"penalty": "lower_caps"}, "neither is set"),
    ]:
        with pytest.raises(lr.ConfigError, match=words):
            GrabWithCaps(**kw)  # type: ignore[arg-type]
    with pytest.raises(lr.ConfigError):
        GrabWithCaps(tz="Mars/Olympus")


def test_grab_with_caps_conforms() -> None:
    check_strategy(GrabWithCaps())
    check_strategy(GrabWithCaps(held=2, daily=3, idle_after=HALF_HOUR, pool_by="region"))
    check_strategy(GrabWithCaps(held=2, idle_after=HALF_HOUR, penalty="lower_caps"))
    assert GrabWithCaps.tags.pull


# ---------------------------------------------------------------------- property

_op = st.one_of(
    st.tuples(st.just("arrive"), st.sampled_from(("north", "south", ""))),
    st.tuples(st.just("claim"), st.integers(0, 2), st.integers(0, 30)),
    st.tuples(st.just("touch"), st.integers(0, 30)),
    st.tuples(st.just("close"), st.integers(0, 30)),
    st.tuples(st.just("wait"), st.integers(1, 120)),
)


@settings(max_examples=150, deadline=None)
@given(
    ops=st.lists(_op, max_size=70),
    held=st.integers(1, 4),
    daily=st.integers(1, 6),
    penalty=st.sampled_from(("cooldown", "lower_caps")),
)
def test_random_claims_never_exceed_caps_or_lose_a_lead(
    ops: list[tuple[object, ...]], held: int, daily: int, penalty: str
) -> None:
    """Invariant: whatever reps claim, touch or close and however time passes (with ticks),
    no rep ever holds more than `held` open leads or receives more than `daily` in a day; no
    claim succeeds while the rep's cooldown runs; after each tick no claimed lead sits
    untouched past `idle_after`; and every lead is in exactly one place, in the pool it was
    routed to whenever nobody holds it."""
    strategy = GrabWithCaps(
        held=held,
        daily=daily,
        idle_after=HALF_HOUR,
        cooldown=timedelta(hours=1),
        penalty=penalty,
        pool_by="region",
    )
    r = grab_router(strategy, n=3)
    ledger = r.ledger
    now = T0
    home: dict[str, str] = {}
    for op in ops:
        kind = op[0]
        leads = list(home)
        if kind == "arrive":
            lead = lr.Lead(f"L{len(home)}", now, region=str(op[1]))
            home[lead.id] = r.route(lead, now=now).pool or "?"
        elif kind == "claim" and leads:
            rep, lead_id = f"R{op[1]}", leads[int(op[2]) % len(leads)]  # type: ignore[call-overload]
            last_idle = ledger.last_release(rep, IDLE)
            if r.claim(rep, lead_id, now=now).ok and penalty == "cooldown":
                assert last_idle is None or now >= last_idle + timedelta(hours=1)
        elif kind in ("touch", "close") and leads:
            lead_id = leads[int(op[1]) % len(leads)]  # type: ignore[call-overload]
            holder = ledger.holder(lead_id)
            if holder is not None:
                event = (
                    lr.Touched(lead_id, holder, now)
                    if kind == "touch"
                    else lr.Converted(lead_id, holder, now)
                )
                r.record(event)
        elif kind == "wait":
            now += timedelta(minutes=int(op[1]))  # type: ignore[call-overload]
            r.tick(now)
            for lead_id, _, since in ledger.held():
                assert ledger.first_touch(lead_id) is not None or now - since < HALF_HOUR
        for k in range(3):
            assert ledger.book_size(f"R{k}") <= held
            assert all(n <= daily for n in ledger.daily(f"R{k}").values())
        assert sorted(ledger.lead_ids()) == sorted(home)
        for lead_id, pool in home.items():
            status = ledger.status(lead_id)
            where = (ledger.holder(lead_id), ledger.pool_of(lead_id))
            if status == "held":
                assert where[0] is not None and where[1] is None
            elif status == "pooled":
                assert where == (None, pool)
            else:
                assert where == (None, None)
