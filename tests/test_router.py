"""Router behaviour: routing, retries, rules, caps, claims, reports and timers."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter import rules
from leadrouter.context import Context
from leadrouter.errors import InvalidTypeError
from leadrouter.events import REP_LEFT

from .conftest import T0, at, claim_race


def team(n: int = 3, **kw: object) -> list[lr.Rep]:
    return [lr.Rep(f"R{i}", **kw) for i in range(n)]  # type: ignore[arg-type]


def lead(i: int | str, minutes: float = 0, **kw: object) -> lr.Lead:
    return lr.Lead(f"L{i}", at(minutes), **kw)  # type: ignore[arg-type]


def router(reps: list[lr.Rep] | None = None, **kw: object) -> lr.Router:
    kw.setdefault("clock", lr.ManualClock(T0))
    return lr.Router(kw.pop("strategy", lr.EqualRotation()), reps or team(), **kw)  # type: ignore[arg-type]


def test_route_rotates_and_records_events() -> None:
    r = router()
    got = [r.route(lead(i), now=at(i)).rep_id for i in range(6)]
    assert Counter(got) == {"R0": 2, "R1": 2, "R2": 2}
    assert got[:3] == got[3:]
    kinds = [type(e).__name__ for e in r.ledger.events()]
    assert kinds == ["Arrived", "Assigned"] * 6
    assert r.ledger.events()[1].by == "EqualRotation"


def test_preview_writes_nothing() -> None:
    r = router()
    decision = r.preview(lead(1))
    assert decision.rep_id is not None
    assert len(r.ledger) == 0
    assert r.route(lead(1)).rep_id == decision.rep_id


def test_retry_returns_first_decision_and_reused_id_is_an_error() -> None:
    r = router()
    first = r.route(lead(1))
    assert r.route(lead(1)) == first
    assert len(r.ledger) == 2
    with pytest.raises(lr.DuplicateLeadError, match="differs in region"):
        r.route(lead(1, region="north"))


def test_retry_after_restart_comes_from_the_ledger() -> None:
    r = router()
    first = r.route(lead(1))
    restarted = router(ledger=r.ledger)
    again = restarted.route(lead(1))
    assert again.rep_id == first.rep_id
    assert len(r.ledger) == 2


def test_now_before_arrival_and_naive_now() -> None:
    r = router()
    with pytest.raises(lr.EventBeforeArrivalError):
        r.route(lead(1, minutes=10), now=at(5))
    with pytest.raises(lr.NaiveDatetimeError):
        r.route(lead(1), now=at(5).replace(tzinfo=None))
    assert len(r.ledger) == 0


def test_region_rule_excludes_with_reasons() -> None:
    reps = [lr.Rep("N", regions={"north"}), lr.Rep("S", regions={"south"}), lr.Rep("G")]
    r = router(reps, rules=[rules.region()])
    decisions = [r.route(lead(i, region="north"), now=at(i)) for i in range(4)]
    assert {d.rep_id for d in decisions} == {"N", "G"}
    excluded = decisions[0].reasons[0]
    assert excluded.code == "excluded"
    assert excluded.reps == {"S"}
    assert "north" in excluded.detail
    assert r.route(lead(9, region=""), now=at(9)).rep_id is not None


def test_skill_rule_with_feature_field_and_composition() -> None:
    reps = [
        lr.Rep("A", skills={"loan"}, regions={"north"}),
        lr.Rep("B", skills={"card"}),
        lr.Rep("C", regions={"south"}),
    ]
    combined = rules.skill() & ~rules.region()
    r = router(reps, rules=[combined])
    d = r.route(lead(1, product="loan", region="north"))
    # skill allows A and C; ~region removes the reps region() allows (A, B): only C is left.
    assert d.rep_id == "C"
    assert repr(combined) == "(skill() & ~region())"
    by_feature = router(reps, rules=[rules.skill(field="industry")])
    d2 = by_feature.route(lr.Lead("X", T0, features={"industry": "card"}))
    assert d2.rep_id in {"B", "C"}


def test_plain_callable_rule_and_or() -> None:
    def seniors_only(ld: lr.Lead, rep: lr.Rep) -> bool:
        return rep.profile.get("seniority", 0) >= 3

    reps = [lr.Rep("J", profile={"seniority": 1}), lr.Rep("S", profile={"seniority": 4})]
    r = router(reps, rules=[seniors_only])
    assert {r.route(lead(i), now=at(i)).rep_id for i in range(3)} == {"S"}
    r2 = router(reps, rules=[rules.as_filter(seniors_only) | rules.region()])
    assert {r2.route(lead(i), now=at(i)).rep_id for i in range(4)} == {"J", "S"}


def test_schedule_rule_each_rep_in_their_own_zone() -> None:
    reps = [lr.Rep("SH"), lr.Rep("BER")]
    shifts = {"SH": lr.Shift("Asia/Shanghai"), "BER": lr.Shift("Europe/Berlin")}
    r = router(reps, rules=[rules.schedule(shifts)])
    # Monday 08:30 UTC: 16:30 in Shanghai (on), 09:30 in Berlin (on).
    assert {r.preview(lead(1, -30), now=at(-30)).rep_id} <= {"SH", "BER"}
    # Monday 12:00 UTC: 20:00 in Shanghai (off), 13:00 in Berlin (on).
    d = r.route(lead(2, 180), now=at(180))
    assert d.rep_id == "BER"
    assert any(x.detail == "off shift now" for x in d.reasons)
    # Monday 23:00 UTC: both off; the lead waits.
    assert r.route(lead(3, 840), now=at(840)).rep_id is None


NOT_LEADS = (
    st.text(max_size=8)
    | st.integers()
    | st.none()
    | st.dictionaries(st.sampled_from(["id", "arrived_at", "score"]), st.text(max_size=4))
    | st.builds(lr.Rep, st.just("R0"))
)


@given(thing=NOT_LEADS, method=st.sampled_from(["route", "preview"]))
def test_anything_but_a_lead_is_a_named_type_error_that_writes_nothing(
    thing: object, method: str
) -> None:
    r = router()
    with pytest.raises(lr.NotALeadError, match=rf"Router\.{method} takes a Lead, got") as caught:
        getattr(r, method)(thing, now=T0)
    assert isinstance(caught.value, TypeError)
    assert "Lead(" in str(caught.value)  # says how to build one
    assert len(r.ledger) == 0


def test_a_lead_id_where_a_lead_belongs_shows_how_to_build_that_lead() -> None:
    with pytest.raises(lr.NotALeadError) as caught:
        router().route("L-9")  # type: ignore[arg-type]
    assert "got the string 'L-9'" in str(caught.value)
    assert "Lead(id='L-9', arrived_at=" in str(caught.value)
    with pytest.raises(lr.NotALeadError, match=r"Lead\.from_row\(row\)"):
        router().route({"id": "L-9", "arrived_at": "2026-01-05T09:00Z"})  # type: ignore[arg-type]


def test_route_many_checks_every_item_before_routing_any() -> None:
    r = router()
    with pytest.raises(lr.NotALeadError, match=r"leads\[1\] takes a Lead, got the string 'L1'"):
        r.route_many([lead(0), "L1", lead(2)], now=T0)  # type: ignore[list-item]
    assert len(r.ledger) == 0
    with pytest.raises(lr.NotALeadError, match=r"got a single Lead \('L0'\): pass \[lead\]"):
        r.route_many(lead(0), now=T0)  # type: ignore[arg-type]
    assert len(r.ledger) == 0
    fresh = [d.rep_id for d in router().route_many([lead(0), lead(1)], now=T0)]
    assert [d.rep_id for d in r.route_many([lead(0), lead(1)], now=T0)] == fresh


def test_route_many_routes_the_batch_at_one_time_read_once_from_the_clock() -> None:
    ticks = iter(at(i) for i in range(100))
    r = router(clock=lambda: next(ticks))
    decided = r.route_many([lead(0), lead(1), lead(2)])
    assert {d.at for d in decided} == {at(0)}


def test_a_release_or_claim_sent_twice_changes_nothing_the_second_time() -> None:
    """Webhooks come at least once: a repeated "rep c gives lead L back" must not take L from
    the rep it went to next, and a repeated claim is no refusal of the rep who holds it."""
    r = router(team(3), lifecycle=lr.Lifecycle(reroute=True))
    first = r.route(lead(1), now=at(0)).rep_id
    assert first is not None
    moved = r.release("L1", "returned", now=at(5), rep_id=first)
    again = r.release("L1", "returned", now=at(5), rep_id=first)
    assert [type(e).__name__ for e in moved] == ["Released", "Assigned"] and again == []
    assert r.ledger.lead_releases("L1") == ("returned",)
    with pytest.raises(lr.errors.UnknownRepError):
        r.release("L1", now=at(6), rep_id="nobody")
    pull = router(team(2), strategy=lr.GrabWithCaps())
    pull.route(lead(2), now=at(0))
    claimed = pull.claim("R1", "L2", now=at(1))
    assert claimed.action == "claimed"
    assert pull.claim("R1", "L2", now=at(2)) == claimed
    assert pull.claim("R0", "L2", now=at(2)).action == "refused"


def test_a_lead_where_a_lead_id_belongs_says_pass_its_id() -> None:
    r = router()
    first = lead(1)
    r.route(first)
    for call in (
        lambda: r.claim("R0", first),  # type: ignore[arg-type]
        lambda: r.release(first),  # type: ignore[arg-type]
        lambda: r.why(first),  # type: ignore[arg-type]
    ):
        with pytest.raises(lr.InvalidValueError, match=r"takes a lead id, got the Lead 'L1'"):
            call()
    assert r.why("L1").rep_id == r.ledger.holder("L1")


@pytest.mark.parametrize("below", [15, -0.1, 1.5, "0.2"])
def test_nurture_threshold_is_on_the_0_to_1_score_scale(below: object) -> None:
    with pytest.raises(lr.ConfigError, match=r"nurture\(below=\.\.\.\) must be .*between 0 and 1"):
        rules.nurture(below=below)  # type: ignore[arg-type]


def test_nurture_sends_low_intent_to_its_pool_and_tick_leaves_it() -> None:
    r = router(rules=[rules.nurture(below=0.3, grades=["D"])])
    d = r.route(lead(1, score=0.1))
    assert (d.rep_id, d.pool, d.action) == (None, "nurture", "pooled")
    assert r.route(lead(2, grade="D")).pool == "nurture"
    assert r.route(lead(3)).rep_id is not None  # no score, no grade: not nurtured
    assert r.tick(at(60)) == []
    assert r.ledger.pool("nurture") == ("L1", "L2")
    claimed = r.claim("R1", "L1", now=at(61))
    assert claimed.action == "claimed"
    assert r.ledger.holder("L1") == "R1"


def test_to_pool_rule() -> None:
    def is_enterprise(ld: lr.Lead) -> bool:
        return ld.segment == "enterprise"

    r = router(rules=[rules.to_pool("key-accounts", is_enterprise)])
    assert r.route(lead(1, segment="enterprise")).pool == "key-accounts"


def test_dedup_to_owner_prefers_the_holder_when_eligible() -> None:
    r = router(rules=[rules.dedup_to_owner()], caps=lr.FixedCap(open=2))
    first = r.route(lead(1, contact="+86 138"))
    r.route(lead(2), now=at(1))
    again = r.route(lead(3, 2, contact="+86 138"), now=at(2))
    assert again.rep_id == first.rep_id
    assert again.reasons[-1].code == "dedup"
    # Now the holder is at the open cap: the next duplicate is routed as usual, with a note.
    later = r.route(lead(4, 3, contact="+86 138"), now=at(3))
    assert later.rep_id != first.rep_id
    assert any(x.code == "skipped" for x in later.reasons)


def test_open_cap_never_exceeded_and_waiting_leads_offered_at_tick() -> None:
    r = router(team(2), caps=lr.FixedCap(open=1))
    decisions = [r.route(lead(i, i), now=at(i)) for i in range(4)]
    assert [d.rep_id is None for d in decisions] == [False, False, True, True]
    assert decisions[2].reasons[-1].code == "waiting"
    assert {x.code for x in decisions[2].reasons} >= {"capped", "waiting"}
    assert r.ledger.waiting() == ("L2", "L3")
    holder = r.ledger.holder("L0")
    assert holder is not None
    r.record(lr.Converted("L0", holder, at(10), 100.0))
    events = r.tick(at(11))
    assert [(type(e).__name__, e.lead_id) for e in events] == [("Assigned", "L2")]
    assert r.ledger.holder("L2") == holder
    assert r.ledger.waiting() == ("L3",)


def test_daily_cap_resets_at_midnight_in_its_zone() -> None:
    r = router(team(1), caps=lr.FixedCap(daily=2, tz="Asia/Shanghai"))
    for i in range(3):
        r.route(lead(i, i), now=at(i))
    assert r.ledger.waiting() == ("L2",)
    # 15:59 UTC is 23:59 in Shanghai: still the same day.
    assert r.tick(at(hours=6, minutes=59)) == []
    events = r.tick(at(hours=7))
    assert [e.lead_id for e in events] == ["L2"]


def test_a_full_reps_words_are_those_of_the_moment_the_lead_was_decided() -> None:
    """Reps a cap found full for the day are left out before the strategy runs, under the
    cap's own words for them at that moment: a decision read after the ledger moved on (a
    lead given to a full rep by hand) still says what the cap said then, and a later decision
    says what it says later. Wording them only when read would give the later words to both."""
    r = router(team(2), caps=lr.FixedCap(open=2, daily=1))
    r.route(lead(1), now=at(1))
    r.route(lead(2), now=at(2))
    assert r.route(lead(3), now=at(3)).rep_id is None  # both found full: L3 waits
    before = r.route(lead(4), now=at(4))
    r.ledger.append(lr.Assigned("L3", "R0", at(5), "by hand"))
    after = r.route(lead(6), now=at(6))
    assert "daily cap 1 reached (1 received today, UTC) for R0; 1 more at it" in before.explain()
    assert "open-lead cap 2 reached (2 held) for R0; 1 more at it" in after.explain()


def test_a_daily_cap_counts_only_its_own_day_when_a_later_day_was_routed_first() -> None:
    """A backfill or a queue replayed after an outage routes a lead at its own, earlier time:
    the later day's receipt is no receipt "today"."""
    cap = lr.FixedCap(daily=1)
    r = router(team(1), caps=cap)
    r.route(lr.Lead("next-day", at(hours=24)), now=at(hours=24))
    backfill = r.route(lead(1), now=at(0))
    assert backfill.rep_id == "R0"
    refused = r.route(lead(2), now=at(1))
    assert refused.rep_id is None
    assert "daily cap 1 reached (1 received today" in refused.explain()
    assert cap.remaining("R0", Context(lead(3), r.roster, r.ledger, at(2))) == 0


def test_several_caps_all_apply() -> None:
    r = router(team(1), caps=[lr.FixedCap(open=5), lr.FixedCap(daily=1)])
    assert r.route(lead(1)).rep_id == "R0"
    assert r.route(lead(2)).rep_id is None


def test_claims_refuse_with_reasons_and_change_nothing() -> None:
    reps = [lr.Rep("A", regions={"north"}), lr.Rep("B"), lr.Rep("C", active=False)]
    r = router(reps, strategy=lambda ctx: None, rules=[rules.region()], caps=lr.FixedCap(open=1))
    for i in range(3):
        r.route(lead(i, region="south"))
    size = len(r.ledger)
    refused = {
        "held": ("A", "L0"),  # B holds it
        "eligible": ("A", "L1"),
        "inactive": ("C", "L1"),
    }
    assert r.claim("B", "L0").action == "claimed"
    size += 1
    for words, (rep, lid) in refused.items():
        d = r.claim(rep, lid)
        assert d.action == "refused"
        assert d.rep_id is None
        assert words in str(d.reasons[0]) or words in d.explain()
    cap = r.claim("B", "L1")
    assert cap.action == "refused"
    assert "cap" in cap.explain()
    assert len(r.ledger) == size
    with pytest.raises(lr.UnknownRepError):
        r.claim("Z", "L1")
    with pytest.raises(lr.UnknownLeadError):
        r.claim("B", "nope")


def test_two_threads_claiming_the_same_lead_one_wins() -> None:
    r = router(team(8), strategy=lambda ctx: None)
    for i in range(50):
        r.route(lead(i))
    wins = claim_race(r, [f"R{k}" for k in range(8)], [f"L{i}" for i in range(50)])
    assert set(wins.values()) == {1}
    assert len(wins) == 50


def test_concurrent_routing_never_exceeds_caps() -> None:
    r = router(team(4), caps=lr.FixedCap(open=5))

    def worker(k: int) -> None:
        for i in range(20):
            r.route(lead(f"{k}-{i}"))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.ledger.book_size(rep.id) == 5 for rep in r.reps)
    assert len(r.ledger.waiting()) == 80 - 20


def test_record_checks_holder_and_event_kind() -> None:
    r = router()
    d = r.route(lead(1))
    other = next(rep.id for rep in r.reps if rep.id != d.rep_id)
    size = len(r.ledger)
    with pytest.raises(lr.TransitionError, match="only the rep who holds"):
        r.record(lr.Touched("L1", other, at(1)))
    with pytest.raises(lr.UnknownRepError):
        r.record(lr.Touched("L1", "ghost", at(1)))
    with pytest.raises(lr.InvalidValueError, match="use route"):
        r.record(lr.Assigned("L1", other, at(1), "x"))  # type: ignore[arg-type]
    assert len(r.ledger) == size


def test_release_to_pool_or_reroute_never_back() -> None:
    r = router()
    d = r.route(lead(1))
    assert d.rep_id is not None
    events = r.release("L1", "returned", now=at(5))
    assert [type(e).__name__ for e in events] == ["Released"]
    assert r.ledger.pool() == ("L1",)
    assert r.ledger.waiting() == ()
    r.claim(d.rep_id, "L1", now=at(6))
    events = r.release("L1", "returned", now=at(7), reroute=True)
    assert isinstance(events[-1], lr.Assigned)
    assert events[-1].rep_id != d.rep_id
    r.route(lead(2, 8), now=at(8))
    holder = r.ledger.holder("L2")
    assert holder is not None
    r.record(lr.Converted("L2", holder, at(9)))
    with pytest.raises(lr.TransitionError, match="nobody holds"):
        r.release("L2", now=at(10))


def test_sla_reclaim_reroutes_to_someone_else() -> None:
    life = lr.Lifecycle(first_touch_sla=timedelta(minutes=30), reroute=True)
    r = router(lifecycle=life)
    a = r.route(lead(1))
    b = r.route(lead(2))
    assert a.rep_id
    assert b.rep_id
    r.record(lr.Touched("L2", b.rep_id, at(10)))
    assert r.tick(at(29)) == []
    events = r.tick(at(31))
    assert [(type(e).__name__, e.lead_id) for e in events] == [
        ("Released", "L1"),
        ("Assigned", "L1"),
    ]
    released, assigned = events
    assert isinstance(released, lr.Released)
    assert released.reason == "sla"
    assert isinstance(assigned, lr.Assigned)
    assert assigned.rep_id != a.rep_id
    assert r.ledger.holder("L2") == b.rep_id
    # The new holder's SLA clock starts at the re-route.
    assert r.tick(at(60)) == []
    assert [e.lead_id for e in r.tick(at(62))] == ["L1", "L1"]


def test_sla_counts_only_working_hours() -> None:
    hours = rules.schedule(default=lr.Shift("UTC", start=time(9), end=time(17)))
    life = lr.Lifecycle(first_touch_sla=timedelta(minutes=30), working_hours=hours)
    r = router(team(1), lifecycle=life)
    r.route(lead(1, hours_late := 7 * 60 + 50), now=at(hours_late))  # Monday 16:50
    assert r.tick(at(hours=9)) == []  # Monday 18:00: only 10 working minutes used
    assert r.tick(at(hours=24, minutes=19)) == []  # Tuesday 09:19
    events = r.tick(at(hours=24, minutes=21))  # Tuesday 09:21: 31 working minutes
    assert [getattr(e, "reason", None) for e in events] == ["sla"]


def test_expiry_returns_to_public_pool() -> None:
    r = router(lifecycle=lr.Lifecycle(expire_after=timedelta(days=7)))
    d = r.route(lead(1))
    assert d.rep_id
    r.record(lr.Touched("L1", d.rep_id, at(5)))
    assert r.tick(at(days=6)) == []
    events = r.tick(at(days=7))
    assert [(type(e).__name__, getattr(e, "reason", "")) for e in events] == [
        ("Released", "expired")
    ]
    assert r.ledger.pool() == ("L1",)


def test_timers_survive_a_restart() -> None:
    life = lr.Lifecycle(first_touch_sla=timedelta(minutes=30))
    first = router(lifecycle=life)
    first.route(lead(1))
    restarted = router(ledger=first.ledger, lifecycle=life)
    assert [type(e).__name__ for e in restarted.tick(at(31))] == ["Released"]


def test_handover_reroutes_the_whole_book() -> None:
    r = router()
    for i in range(6):
        r.route(lead(i), now=at(i))
    leaving = "R1"
    book = r.ledger.book_order(leaving)
    decisions = r.handover(leaving, now=at(30))
    assert [d.lead_id for d in decisions] == list(book)
    assert all(d.rep_id not in (None, leaving) for d in decisions)
    assert r.ledger.book(leaving) == frozenset()
    assert not r.roster[leaving].active
    assert all(r.route(lead(10 + i), now=at(31)).rep_id != leaving for i in range(4))
    # each re-routed lead says so first, in the same words: one Reason, worded once and shared
    moved = {id(d.reasons[0]) for d in decisions}
    assert len(decisions) > 1 and len(moved) == 1
    assert decisions[0].reasons[0] == lr.Reason(
        "moved", f"taken back from {leaving} (rep_left)", frozenset({leaving}), "release"
    )


def test_new_rep_joins_at_the_front_of_the_rotation() -> None:
    r = router()
    for i in range(3):
        r.route(lead(i), now=at(i))
    r.set_rep(lr.Rep("NEW"))
    assert r.route(lead(9), now=at(9)).rep_id == "NEW"


def test_hierarchical_alternates_teams_then_reps() -> None:
    reps = [lr.Rep("A1", team="A"), lr.Rep("A2", team="A"), lr.Rep("B1", team="B")]
    r = router(reps, strategy=lr.Hierarchical(team=lr.EqualRotation(), rep=lr.EqualRotation()))
    got = [r.route(lead(i), now=at(i)).rep_id for i in range(8)]
    assert Counter(got) == {"B1": 4, "A1": 2, "A2": 2}
    assert "team" in r.why("L0").reasons[-1].detail


def test_strategy_picking_an_unoffered_rep_is_an_error() -> None:
    def rogue(ctx: Context) -> str:
        return "R0"

    r = router(team(2), strategy=rogue, rules=[lambda ld, rep: rep.id != "R0"])
    with pytest.raises(lr.StrategyError, match="not offered"):
        r.route(lead(1))
    assert len(r.ledger) == 0


def test_why_and_explain_load() -> None:
    reps = [lr.Rep("N", regions={"north"}), lr.Rep("S", regions={"south"})]
    r = router(reps, rules=[rules.region()], caps=lr.FixedCap(open=2))
    for i in range(4):
        r.route(lead(i, i, region="north"), now=at(i))
    assert r.why("L1").rep_id == "N"
    table = r.explain_load()
    assert table.loc["N", "received"] == 2
    assert table.loc["S", "excluded"] == 4
    assert table.loc["N", "capped"] == 2


def test_bad_configuration_is_named() -> None:
    with pytest.raises(lr.ConfigError, match="twice"):
        lr.Router(lr.EqualRotation(), [lr.Rep("A"), lr.Rep("A")])
    with pytest.raises(lr.ConfigError, match="Cap"):
        lr.Router(lr.EqualRotation(), team(), caps=[object()])  # type: ignore[list-item]
    with pytest.raises(lr.ConfigError, match="time zone"):
        lr.FixedCap(daily=3, tz="Mars/Base")
    with pytest.raises(lr.ConfigError):
        lr.Lifecycle(first_touch_sla=timedelta(0))
    with pytest.raises(lr.ConfigError, match="threshold"):
        rules.nurture()
    # a database URL where the ledger goes is the likeliest slip: the fix is named
    with pytest.raises(lr.ConfigError, match=r"pass ledger=Ledger\.open\(url\)"):
        lr.Router(lr.EqualRotation(), team(), ledger="sqlite:///team.db")  # type: ignore[arg-type]


def test_misfits_are_named_when_the_router_is_built_not_at_the_first_lead() -> None:
    reps = team()
    with pytest.raises(lr.ConfigError, match=r"the class EqualRotation, not a strategy: write "):
        lr.Router(lr.EqualRotation, reps)  # type: ignore[arg-type]
    with pytest.raises(lr.ConfigError, match=r"region cannot be called as a filter.*write region"):
        lr.Router(lr.EqualRotation(), reps, rules=[rules.region])  # type: ignore[list-item]
    with pytest.raises(lr.ConfigError, match="a function of the lead and the rep"):
        lr.Router(lr.EqualRotation(), reps, rules=[lambda lead: True])  # type: ignore[list-item]
    with pytest.raises(lr.ConfigError, match=r"clock=ManualClock\(t\)"):
        lr.Router(lr.EqualRotation(), reps, clock=T0)  # type: ignore[arg-type]
    with pytest.raises(lr.ConfigError, match=r"callable f\(ctx\)"):
        lr.Router(lambda: "R0", reps)  # type: ignore[arg-type,misc]
    # what fits is still taken: a function of the context, a filter of the lead and the rep
    fits = lr.Router(lambda ctx: "R0", reps, rules=[lambda lead, rep: True])
    assert fits.route(lead(1), now=at(1)).rep_id == "R0"


def test_one_rule_alone_is_taken_as_caps_takes_one_cap() -> None:
    reps = [lr.Rep("north", regions=frozenset({"north"})), lr.Rep("any")]
    alone = router(reps, rules=rules.region())  # type: ignore[arg-type]
    listed = router(reps, rules=[rules.region()])
    assert alone.rules == listed.rules
    south = lead(1, region="south")
    assert alone.route(south) == listed.route(south) and alone.ledger.holder("L1") == "any"


def test_waiting_lead_is_not_offered_back_to_the_rep_who_lost_it() -> None:
    life = lr.Lifecycle(first_touch_sla=timedelta(minutes=30), reroute=True)
    r = router(team(2), caps=lr.FixedCap(open=1), lifecycle=life)
    first = r.route(lead(1))
    r.route(lead(2))
    assert first.rep_id
    events = r.tick(at(31))  # both miss the SLA; each is re-routed to the other, or waits
    assert {getattr(e, "reason", None) for e in events if isinstance(e, lr.Released)} == {"sla"}
    for lead_id in ("L1", "L2"):
        assert r.ledger.holder(lead_id) != r.ledger.last_holder(lead_id)
    assert r.ledger.releases(first.rep_id, "sla") == 1
    assert r.ledger.lead_releases("L1") == ("sla",)


def test_strategy_tick_actions_release_and_reroute() -> None:
    class ReturnsStale(lr.EqualRotation):
        """Takes back any lead held for over an hour without a reached touch."""

        def tick(self, ctx: lr.TickContext) -> list[lr.Release]:
            ledger = ctx.view
            assert isinstance(ledger, lr.Ledger)
            return [
                lr.Release(lead_id, "stale")
                for lead_id, _, since in ledger.held()
                if ctx.now - since > timedelta(hours=1) and not ledger.reached(lead_id)
            ]

    r = router(strategy=ReturnsStale())
    d = r.route(lead(1))
    assert r.tick(at(30)) == []
    events = r.tick(at(61))
    assert [type(e).__name__ for e in events] == ["Released", "Assigned"]
    assert events[1].rep_id != d.rep_id  # type: ignore[union-attr]


def test_released_events_carry_the_reason_and_pool_and_bad_ones_are_named_errors() -> None:
    """A strategy's Release into the public pool, a named pool, and release() all write the
    reason and pool given; a reason that is not text, or a pool that is not an id, is refused
    by name before anything is written."""

    class Returns(lr.EqualRotation):
        def __init__(self, pool: str | None) -> None:
            object.__setattr__(self, "_pool", pool)

        def tick(self, ctx: lr.TickContext) -> list[lr.Release]:
            assert isinstance(ctx.view, lr.Ledger)
            return [
                lr.Release(lead_id, "stale", pool=self._pool) for lead_id, _, _ in ctx.view.held()
            ]

    for pool, written in ((None, lr.PUBLIC), ("nurture", "nurture")):
        r = router(strategy=Returns(pool))
        r.route(lead(1))
        released = r.tick(at(5))[0]
        assert isinstance(released, lr.Released)
        assert (released.reason, released.pool, released.at) == ("stale", written, at(5))
    r = router(strategy=Returns(""))
    r.route(lead(1))
    written_before = len(r.ledger)
    with pytest.raises(lr.InvalidValueError, match=r"Released\.pool"):
        r.tick(at(5))
    with pytest.raises(InvalidTypeError, match=r"Released\.reason must be text"):
        r.release("L1", 5, at(6))  # type: ignore[arg-type]
    assert len(r.ledger) == written_before
    events = r.release("L1", "returned", at(7), reroute=False)
    assert [(type(e).__name__, e.reason, e.pool) for e in events] == [  # type: ignore[union-attr]
        ("Released", "returned", lr.PUBLIC)
    ]


def test_late_retry_still_returns_the_first_decision_and_reroutes_say_why() -> None:
    life = lr.Lifecycle(first_touch_sla=timedelta(minutes=30), reroute=True)
    r = router(team(2), lifecycle=life)
    first = r.route(lead(1))
    r.tick(at(45))
    assert r.route(lead(1), now=at(50)) == first
    latest = r.why("L1")
    assert latest.rep_id != first.rep_id
    assert latest.reasons[0].code == "moved" and "(sla)" in latest.reasons[0].detail
    decisions = r.handover(str(latest.rep_id), now=at(55))
    assert decisions[0].reasons[0].detail.endswith(f"({REP_LEFT})")


def test_reps_at_the_daily_cap_are_left_out_with_one_grouped_reason() -> None:
    seen: list[frozenset[str]] = []

    def spy(ctx: Context) -> str | None:
        seen.append(ctx.ids)
        return lr.EqualRotation().route(ctx)

    r = router(team(4), strategy=spy, caps=lr.FixedCap(daily=1))
    for i in range(4):
        r.route(lead(i), now=at(i))
    assert r.route(lead(8), now=at(8)).rep_id is None  # the caps find the reps full
    late = r.route(lead(9), now=at(9))
    assert late.rep_id is None
    assert seen[-1] == frozenset()  # now the strategy is not walked past full reps
    capped = [x for x in late.reasons if x.code == "capped"]
    assert len(capped) == 1 and capped[0].reps == {"R0", "R1", "R2", "R3"}
    assert "at a cap" in late.reasons[-1].detail
    # The next day they are back.
    assert r.route(lead("next", days_later := 24 * 60), now=at(days_later)).rep_id is not None


def test_batch_with_dedup_never_exceeds_a_cap() -> None:
    r = router(
        team(3),
        strategy=lr.ProfileMatching(),
        rules=[rules.dedup_to_owner()],
        caps=lr.FixedCap(open=2),
    )
    owner = r.route(lead(0, contact="+86 1"))
    batch = [lead(i, 1, contact="+86 1") for i in range(1, 5)]
    decisions = r.route_many(batch, now=at(1))
    assert r.ledger.book_size(str(owner.rep_id)) == 2
    assert all(r.ledger.book_size(rep.id) <= 2 for rep in r.reps)
    assert len(decisions) == 4


def test_a_cap_with_only_check_is_respected_by_batches() -> None:
    class AtMostTwo(lr.Cap):
        """At most two open leads, known only through check()."""

        def check(self, rep_id: str, ctx: Context) -> str | None:
            return "full" if ctx.view.book_size(rep_id) >= 2 else None

    r = router(team(2), strategy=lr.ProfileMatching(), caps=AtMostTwo())
    r.route_many([lead(i) for i in range(6)], now=at(0))
    assert sorted(r.ledger.book_size(rep.id) for rep in r.reps) == [1, 1]
    r.route_many([lead(i) for i in range(6, 12)], now=at(1))
    assert all(r.ledger.book_size(rep.id) == 2 for rep in r.reps)


def test_the_router_package_keeps_its_import_path_and_module_sizes() -> None:
    import leadrouter.router
    from leadrouter.router import Router

    assert Router is lr.Router and leadrouter.router.__all__ == ["Router"]
    package = Path(leadrouter.router.__file__).parent
    sizes = {p.name: len(p.read_text().splitlines()) for p in package.glob("*.py")}
    assert max(sizes.values()) <= 700, sizes


# ---------------------------------------------------------------------------- all or nothing


class Flaky:
    """A strategy giving each lead to the first free rep, raising "model down" (a scoring
    service gone) while `failing`."""

    def __init__(self) -> None:
        self.failing = False

    def __call__(self, ctx: Context) -> str:
        if self.failing:
            raise RuntimeError("model down")
        return sorted(ctx.ids)[0]


def test_an_operation_that_raises_part_way_leaves_the_ledger_as_it_found_it() -> None:
    """In memory as in a database transaction: a tick whose re-route fails keeps the lead with
    its rep (the release is not kept without the re-route), and the next tick does both."""
    first_free = Flaky()

    lifecycle = lr.Lifecycle(first_touch_sla=timedelta(minutes=30), reroute=True)
    r = lr.Router(first_free, team(2), lifecycle=lifecycle)
    r.route(lead(1), now=at(0))
    before = list(r.ledger.events())
    first_free.failing = True
    with pytest.raises(RuntimeError, match="model down"):
        r.tick(at(31))
    assert list(r.ledger.events()) == before
    assert r.ledger.holder("L1") == "R0" and r.ledger.verify() == []
    first_free.failing = False
    written = r.tick(at(40))
    assert [type(e).__name__ for e in written] == ["Released", "Assigned"]
    assert r.ledger.holder("L1") == "R1"


def failing_on(broken: set[str]) -> Callable[[Context], str]:
    """The first free rep, raising "model down" for the leads in `broken`."""

    def first_free(ctx: Context) -> str:
        if ctx.lead.id in broken:
            raise RuntimeError("model down")
        return sorted(ctx.ids)[0]

    return first_free


def test_a_rolled_back_reroute_leaves_the_decision_before_it() -> None:
    """A tick re-routed L1 (SLA), then failed re-routing L2 and was rolled back: the ledger kept
    L1 with R0, but `decisions()` and `explain_load()` still showed the rolled-back re-route to
    R1 as L1's latest decision. The decision before it is back."""
    broken: set[str] = set()
    lifecycle = lr.Lifecycle(first_touch_sla=timedelta(minutes=30), reroute=True)
    r = lr.Router(failing_on(broken), team(2), lifecycle=lifecycle)
    first = r.route(lead(1), now=at(0))
    r.route(lead(2, minutes=1), now=at(1))
    broken.add("L2")
    with pytest.raises(RuntimeError, match="model down"):
        r.tick(at(32))
    assert r.ledger.holder("L1") == "R0"
    assert [d for d in r.decisions() if d.lead_id == "L1"] == [first]
    assert r.why("L1") == first
    assert r.explain_load()["chosen"].to_dict() == {"R0": 2, "R1": 0}
    broken.clear()
    moved = r.tick(at(33))
    assert [(type(e).__name__, e.lead_id) for e in moved][:2] == [
        ("Released", "L1"),
        ("Assigned", "L1"),
    ]
    assert r.decisions()[-2].lead_id == "L1" and r.decisions()[-2].rep_id == "R1"


def test_a_retry_after_a_rolled_back_reroute_answers_what_the_ledger_holds() -> None:
    """A router started on a ledger routed before (it knows no first decision of L1) re-routed
    L1 in a tick that was then rolled back: the re-route was kept as L1's first decision, so a
    retry of L1 answered R1, a rep the ledger never gave it to."""
    broken: set[str] = set()
    lifecycle = lr.Lifecycle(first_touch_sla=timedelta(minutes=30), reroute=True)
    before = lr.Router(failing_on(broken), team(2), lifecycle=lifecycle)
    before.route(lead(1), now=at(0))
    before.route(lead(2, minutes=1), now=at(1))
    ledger = lr.Ledger.from_events(before.ledger.events())
    r = lr.Router(failing_on(broken), team(2), ledger=ledger, lifecycle=lifecycle)
    broken.add("L2")
    with pytest.raises(RuntimeError, match="model down"):
        r.tick(at(32))
    assert r.route(lead(1), now=at(33)).rep_id == ledger.holder("L1") == "R0"


def test_a_batch_with_a_bad_lead_late_in_it_writes_none_of_it() -> None:
    r, untouched = router(), router()
    r.route(lead(0), now=at(0))
    untouched.route(lead(0), now=at(0))
    before = list(r.ledger.events())
    batch = [lead(1), lead(2), lr.Lead("L2", T0, cost=3.0)]  # the last repeats L2, differently
    with pytest.raises(lr.errors.DuplicateLeadError):
        r.route_many(batch, now=at(5))
    assert list(r.ledger.events()) == before
    assert "L1" not in r.ledger and r.ledger.verify() == []
    # and it decides afterwards as a router that never saw the failed batch
    assert r.route_many(batch[:2], now=at(5)) == untouched.route_many(batch[:2], now=at(5))


def test_leads_routed_after_a_rolled_back_operation_still_get_their_deadlines() -> None:
    """A rolled-back batch leaves the router's count of the events its timers saw ahead of the
    ledger; when the ledger caught up again, the leads in between had no SLA at all."""
    r = router(team(2), lifecycle=lr.Lifecycle(first_touch_sla=timedelta(minutes=30)))
    r.route(lead(0), now=at(0))
    with pytest.raises(lr.errors.DuplicateLeadError):
        r.route_many([lead(1), lead(2), lead(3), lr.Lead("L0", T0, cost=3.0)], now=at(0))
    for i in range(4, 8):
        r.route(lead(i), now=at(0))
    released = {e.lead_id for e in r.tick(at(120)) if isinstance(e, lr.Released)}
    assert released == {"L0", "L4", "L5", "L6", "L7"}


def test_a_deadline_a_failed_tick_took_up_comes_due_at_the_next_tick() -> None:
    """embedding.md: after a tick whose re-route raised, the next tick releases and re-routes
    the lead again, also when other reports came in between."""
    first_free = Flaky()

    lifecycle = lr.Lifecycle(first_touch_sla=timedelta(minutes=30), reroute=True)
    r = lr.Router(first_free, team(2), lifecycle=lifecycle)
    r.route(lead(1), now=at(0))
    r.route(lead(2), now=at(0))
    first_free.failing = True
    with pytest.raises(RuntimeError):
        r.tick(at(31))
    first_free.failing = False
    r.record(lr.Touched("L2", "R0", at(32)))
    written = r.tick(at(33))
    moved = [(type(e).__name__, e.lead_id) for e in written]
    assert moved == [("Released", "L1"), ("Assigned", "L1")]


def test_a_waiting_lead_stamped_ahead_of_the_ticks_clock_waits_for_a_later_tick() -> None:
    """A web worker's clock a few minutes ahead of the scheduler's: the lead it routed waits,
    and the scheduler's tick must neither offer it before its arrival nor fail every tick."""
    life = lr.Lifecycle(first_touch_sla=timedelta(minutes=30))
    r = router(team(2), caps=lr.FixedCap(open=1), lifecycle=life)
    r.route(lead(1), now=at(0))
    r.route(lead(2), now=at(0))
    r.route(lead(3, minutes=33), now=at(33))  # everyone at the cap: it waits
    assert {e.lead_id for e in r.tick(at(31))} == {"L1", "L2"}  # both reclaimed; L3 not yet due
    assert r.ledger.holder("L3") is None
    assert [(type(e).__name__, e.lead_id) for e in r.tick(at(34))] == [("Assigned", "L3")]


def test_a_handover_is_all_or_nothing_roster_included_and_needs_no_decision_log() -> None:
    first_free = Flaky()

    r = lr.Router(first_free, team(2), decision_log=0)
    r.route(lead(1), now=at(0))
    r.route(lead(2), now=at(0))
    first_free.failing = True
    with pytest.raises(RuntimeError):
        r.handover("R0", now=at(5))
    assert r.roster["R0"].active and r.ledger.book("R0") == {"L1", "L2"}
    first_free.failing = False
    assert r.route(lead(3), now=at(6)).rep_id == "R0"  # still in the rotation
    moved = r.handover("R0", now=at(7))
    assert [(d.lead_id, d.rep_id) for d in moved] == [("L1", "R1"), ("L2", "R1"), ("L3", "R1")]
    assert not r.roster["R0"].active and not r.ledger.book("R0")


def test_why_says_where_a_lead_is_after_it_was_taken_back_without_a_new_decision() -> None:
    life = lr.Lifecycle(first_touch_sla=timedelta(minutes=30))  # no re-route: back to the pool
    r = router(team(2), lifecycle=life)
    first = r.route(lead(1), now=at(0))
    assert r.why("L1") == first  # the decision still says where the lead is
    r.tick(at(31))
    now = r.why("L1")
    assert (now.rep_id, now.action, now.pool) == (None, "pooled", "public")
    assert now.reasons[-1].detail == (
        f"taken back from {first.rep_id} (sla); this is its place now, from the ledger"
    )
    released = next(e for e in r.ledger.events() if isinstance(e, lr.Released))
    assert now.at == released.at  # dated when it was taken back, not when it arrived
    r.claim("R1", "L1", now=at(40))
    assert r.why("L1").rep_id == "R1" and r.why("L1").action == "claimed"
    restarted = router(team(2), lifecycle=life, ledger=r.ledger)  # its log never saw the claim
    assert (restarted.why("L1").rep_id, restarted.why("L1").at) == ("R1", at(40))
    r.release("L1", "returned", now=at(41), reroute=False)
    assert r.why("L1").reasons[-1].detail.startswith("taken back from R1 (returned)")
    assert r.why("L1").at == at(41)


def test_a_filter_or_cap_answering_in_the_other_ones_words_is_named() -> None:
    """A filter says True / False, a cap None / a reason: the other way round would let every
    rep through (a filter's "not senior" is truthy) or refuse them all (a cap's True)."""
    import numpy as np

    def worded(lead: lr.Lead, rep: lr.Rep) -> bool:
        return "not senior"  # type: ignore[return-value]

    with pytest.raises(lr.errors.StrategyError, match=r"filter worded answered 'not senior'"):
        router(rules=[worded]).route(lead(1), now=at(1))
    numpy = router(rules=[lambda lead, rep: np.bool_(rep.id != "R0")])
    assert numpy.route(lead(1), now=at(1)).rep_id != "R0"

    class Agrees(lr.Cap):
        def __init__(self, answer: object) -> None:
            self.answer = answer

        def check(self, rep_id: str, ctx: Context) -> str | None:
            return self.answer  # type: ignore[return-value]

        def __repr__(self) -> str:
            return "Agrees()"

    for answer in (True, ""):
        with pytest.raises(lr.errors.StrategyError, match=r"Cap\.check returns None when"):
            router(caps=Agrees(answer)).route(lead(1), now=at(1))
    assert router(caps=Agrees(None)).route(lead(1), now=at(1)).rep_id is not None


def test_pickling_a_router_says_what_to_keep_instead() -> None:
    import pickle

    with pytest.raises(InvalidTypeError, match=r"Ledger\.from_events\(events\)"):
        pickle.dumps(router())
    with pytest.raises(lr.errors.InvalidValueError, match="sla must be a timedelta"):
        router().ledger.stats("R0", sla=30)  # type: ignore[arg-type]
    naive = T0.replace(tzinfo=None)
    with pytest.raises(lr.errors.NaiveDatetimeError, match="since is a naive datetime"):
        router().ledger.stats("R0", since=naive)


@pytest.mark.parametrize(
    "read",
    [
        lambda r, t: r.ledger.count("R0", since=t),
        lambda r, t: r.ledger.count("R0", until=t),
        lambda r, t: r.ledger.received_total(since=t),
        lambda r, t: r.ledger.receipts("R0", since=t),
        lambda r, t: r.ledger.conversions("R0", until=t),
        lambda r, t: r.explain_load(since=t),
        lambda r, t: r.ledger.stats("R0", until=t),
    ],
)
def test_a_naive_window_bound_is_named_on_every_windowed_read(read: Any) -> None:
    """Every read over a time window refuses a naive bound with the named error, on the hot
    paths too (count and received_total, which remember their bounds), not a TypeError from
    comparing it with the ledger's aware times."""
    routed = router()
    routed.route(lr.Lead("L1", T0), now=T0)
    with pytest.raises(lr.errors.NaiveDatetimeError, match=r"(since|until) is a naive datetime"):
        read(routed, T0.replace(tzinfo=None))


def test_schedule_takes_shifts_only_and_nurture_takes_one_grade_as_written() -> None:
    with pytest.raises(lr.ConfigError, match=r"schedule's shift of rep 'a' must be a Shift"):
        rules.schedule({"a": "9-18"})  # type: ignore[dict-item]
    with pytest.raises(lr.ConfigError, match=r"schedule's default must be a Shift"):
        rules.schedule(default={"tz": "UTC"})  # type: ignore[arg-type]
    one = rules.nurture(grades="Poor")
    assert one == rules.nurture(grades=["Poor"])
    r = router(rules=[one])
    assert r.route(lead(1, grade="Poor"), now=at(1)).pool == "nurture"
    assert r.route(lead(2, grade="P"), now=at(2)).rep_id is not None  # not one of its letters


def test_an_error_from_the_teams_own_code_says_which_lead_it_was_routing() -> None:
    def senior_only(lead: lr.Lead, rep: lr.Rep) -> bool:
        return bool({"junior": False}["senior"])

    with pytest.raises(KeyError) as caught:
        router(rules=[senior_only]).route(lead(7), now=at(1))
    assert caught.value.__notes__ == [
        f"(raised while routing lead 'L7' at {at(1).isoformat()} with EqualRotation(), its "
        "rules and caps)"
    ]
    r = router()
    r.route(lead(1), now=at(1))
    with pytest.raises(lr.errors.DuplicateLeadError) as own:  # the library's errors say it all
        r.route(lead(1, cost=2.0), now=at(2))
    assert not getattr(own.value, "__notes__", None)


def test_a_pick_names_a_rep_or_a_pool_and_the_decision_log_a_count() -> None:
    with pytest.raises(lr.ConfigError, match="a rep or a pool to leave the lead in, not both"):
        lr.Pick("R0", pool="grab")
    assert lr.Pick(None, pool="grab").pool == "grab"
    for size in (-1, "10", 1.5, True):
        with pytest.raises(lr.ConfigError, match="decision_log must be a whole number"):
            router(decision_log=size)


def test_a_region_that_differs_only_in_case_is_shown_as_a_near_miss() -> None:
    r = router([lr.Rep("R0", regions=frozenset({"north"}))], rules=[rules.region()])
    excluded = r.route(lead(1, region="North"), now=at(1)).reasons[0]
    assert excluded.detail == (
        "lead region 'North' is not among the rep's regions (reps cover 'north': values match "
        "exactly, case and spaces included)"
    )
    other = r.route(lead(2, region="south"), now=at(2)).reasons[0]
    assert other.detail == "lead region 'south' is not among the rep's regions"


def test_a_cap_without_its_own_repr_is_named_by_its_class_in_explanations() -> None:
    class Closed(lr.Cap):
        def check(self, rep_id: str, ctx: Context) -> str | None:
            return "closed today"

    explained = router(caps=Closed()).route(lead(1), now=at(1)).explain()
    assert "capped (Closed()): closed today" in explained and "object at 0x" not in explained


def test_a_schedule_says_its_hours_in_words() -> None:
    """Its repr (shown by `check` and in explanations) says the hours as a person checks them,
    not `datetime.time(9, 0)` and a frozenset of weekday numbers."""
    assert repr(rules.schedule({"a": lr.Shift("UTC")})) == "schedule(1 shift)"
    assert repr(rules.schedule(default=lr.Shift("Asia/Shanghai", weekdays={1, 2, 3}))) == (
        "schedule(everyone 09:00-18:00 Tue-Thu, Asia/Shanghai)"
    )
    assert repr(rules.schedule()) == "schedule(always on)"


def test_can_take_after_the_router_finished_with_the_lead_is_an_error_not_a_stale_answer() -> None:
    """A strategy that keeps its ctx and asks later got the caps' answers of that moment: "yes"
    for a rep since at the cap. It is the StrategyError writing-your-own.md promises."""
    kept: list[Context] = []

    def keeper(ctx: Context) -> str:
        kept.append(ctx)
        return sorted(ctx.ids)[0]

    r = router(team(2), strategy=keeper, caps=lr.FixedCap(open=1))
    r.route(lead(1), now=at(0))
    with pytest.raises(lr.errors.StrategyError, match=r"can_take\('R0'\) was called after"):
        kept[0].can_take("R0")


def test_a_cap_or_weighted_strategy_missing_its_method_is_named_when_the_router_is_built() -> None:
    """Not an empty NotImplementedError at the first lead."""
    from leadrouter.strategies.weighted import Weighted

    class NoCheck(lr.Cap):
        pass

    @attrs.frozen(repr=False)
    class NoWeights(Weighted):
        pass

    with pytest.raises(lr.ConfigError, match=r"NoCheck\(\) does not define check\(rep_id, ctx\)"):
        router(caps=NoCheck())
    with pytest.raises(lr.ConfigError, match=r"does not define weights\(ctx\)"):
        router(strategy=NoWeights())

    def full(rep_id: str, ctx: Context) -> None:
        return None

    with pytest.raises(lr.ConfigError, match=r"got the function 'full'.*rules=\[\.\.\.\]"):
        router(caps=full)  # type: ignore[arg-type]


def test_a_placeholder_date_is_a_named_error_or_a_deadline_never_due() -> None:
    """.NET's 0001-01-01 and 9999-12-31 stand for "no date" in some CRMs: a daily cap cannot
    place them in a day (OutOfRangeError, nothing written), and an SLA past the last
    representable time never falls due (it had been a bare OverflowError)."""
    from datetime import UTC, datetime

    far = datetime(9999, 12, 31, 12, tzinfo=UTC)
    timed = lr.Router(
        lr.EqualRotation(), team(1), lifecycle=lr.Lifecycle(first_touch_sla=timedelta(days=1))
    )
    assert timed.route(lr.Lead("F", far), now=far).rep_id == "R0"
    assert timed.tick(far) == []
    old = datetime(1, 1, 1, 0, 30, tzinfo=UTC)
    capped = lr.Router(
        lr.EqualRotation(), team(1), caps=lr.FixedCap(daily=3, tz="America/New_York")
    )
    with pytest.raises(lr.errors.OutOfRangeError, match="placeholder date"):
        capped.route(lr.Lead("O", old), now=old)
    assert len(capped.ledger) == 0


def test_a_rebuilt_router_reroutes_deadlines_due_together_in_the_same_order() -> None:
    """Leads held since one instant fall due together; a router rebuilt from the ledger (a
    restart, another worker) must take them in the order the live one does, or the re-routes
    go to other reps."""
    life = lr.Lifecycle(first_touch_sla=timedelta(minutes=30), reroute=True)
    live = router(team(3), lifecycle=life)
    for i in (3, 0, 2, 1):  # assigned in an order that is neither the ids' nor the reps'
        live.route(lead(i), now=at(0))
    rebuilt = router(team(3), lifecycle=life, ledger=lr.Ledger.from_events(live.ledger.events()))
    assert rebuilt.tick(at(31)) == live.tick(at(31))


@pytest.mark.parametrize(
    "make",
    [
        lambda: lr.Router(lr.PerformanceWeighted(), team(2)),
        lambda: lr.Router(lr.EqualRotation(), team(2), caps=lr.FixedCap(daily=3)),
        lambda: lr.Router(lr.ProfileMatching(), team(2)),
    ],
    ids=["weighted-window", "daily-cap", "matching"],
)
@pytest.mark.parametrize(
    "when", [datetime(1, 1, 2, tzinfo=UTC), datetime(9999, 12, 31, 23, tzinfo=UTC)]
)
def test_a_placeholder_date_at_the_calendar_edge_is_a_named_error(make, when) -> None:  # type: ignore[no-untyped-def]
    """Either routed, or refused by name before anything is written; never a raw
    OverflowError from the days and windows around a 0001-01-02 or 9999-12-31 lead."""
    router_ = make()
    try:
        decision = router_.route(lr.Lead("L1", when), now=when)
    except lr.errors.OutOfRangeError as exc:
        said = str(exc)
    else:
        assert decision.lead_id == "L1"
        return
    assert "placeholder date" in said and "L1" in said
    assert len(router_.ledger) == 0


def test_why_on_a_router_whose_log_was_overtaken_says_the_holding_now() -> None:
    """Router A routed the lead; router B, on the same ledger, took it back and the same rep
    claimed it: A's log still names its own decision, which no longer made this holding."""
    shared = lr.Ledger()
    a, b = router(team(1), ledger=shared), router(team(1), ledger=shared)
    a.route(lead(1), now=at(0))
    b.release("L1", "returned", now=at(1), reroute=False)
    b.claim("R0", "L1", now=at(2))
    now = a.why("L1")
    assert (now.rep_id, now.action, now.pool, now.at) == ("R0", "claimed", "public", at(2))


def test_a_batch_writes_the_same_wait_reason_whatever_the_caps_remember() -> None:
    """A router that lived through the day knows the reps are at their daily cap; one rebuilt
    from the ledger finds it out in the batch. Both must write the same Pooled event."""

    def build(ledger: lr.Ledger | None = None) -> lr.Router:
        return lr.Router(lr.ProfileMatching(), team(2), ledger=ledger, caps=lr.FixedCap(daily=1))

    live = build()
    for i in range(3):
        live.route(lead(i), now=at(0))
    rebuilt = build(lr.Ledger.from_events(live.ledger.events()))
    for each in (live, rebuilt):
        each.route_many([lead(3)], now=at(0))
    assert live.ledger.events()[-1] == rebuilt.ledger.events()[-1]
    assert "every eligible rep is at a cap" in live.ledger.events()[-1].reason  # type: ignore[union-attr]


def test_a_rule_class_without_its_answer_is_refused_when_the_router_is_built() -> None:
    class Senior(lr.rules.Filter):
        """A filter that forgot eligible()."""

    with pytest.raises(lr.ConfigError, match=r"is a Filter without its eligible\(ctx\)"):
        router(rules=[Senior()])
    assert router(rules=[rules.region() & rules.skill()]).route(lead(1), now=at(1)).ok


@given(limit=st.integers(0, 4), reps=st.integers(2, 4))
def test_a_lead_nobody_works_is_re_routed_at_most_max_reroutes_times(limit: int, reps: int) -> None:
    """With two reps and re-route on, a lead nobody touched went back and forth for ever (30
    minutes each, never resting in the public pool); `max_reroutes` stops it there."""
    life = lr.Lifecycle(first_touch_sla=timedelta(minutes=30), reroute=True, max_reroutes=limit)
    router = lr.Router(lr.EqualRotation(), [lr.Rep(f"r{i}") for i in range(reps)], lifecycle=life)
    router.route(lr.Lead("L1", T0), now=T0)
    for k in range(1, limit + 4):
        router.tick(T0 + timedelta(minutes=31 * k))
    assert router.ledger.lead_releases("L1") == ("sla",) * (limit + 1)
    assert router.ledger.holder("L1") is None and router.ledger.pool_of("L1") == lr.PUBLIC
    assert router.ledger.waiting() == ()  # it rests there for a claim, not offered again
    assert router.claim("r0", "L1", now=T0 + timedelta(hours=9)).action == "claimed"
    unlimited = lr.Router(
        lr.EqualRotation(),
        [lr.Rep("a"), lr.Rep("b")],
        lifecycle=lr.Lifecycle(first_touch_sla=timedelta(minutes=30), reroute=True),
    )
    unlimited.route(lr.Lead("L1", T0), now=T0)
    for k in range(1, 7):
        unlimited.tick(T0 + timedelta(minutes=31 * k))
    assert (
        unlimited.ledger.holder("L1") is not None and len(unlimited.ledger.lead_releases("L1")) == 6
    )


def test_a_mistyped_rep_id_names_the_rep_meant_and_writes_nothing() -> None:
    r = lr.Router(lr.EqualRotation(), [lr.Rep("bo"), lr.Rep("ana"), lr.Rep("cy")])
    held = r.route(lr.Lead("L1", at(0)), now=at(0))
    size = len(r.ledger)
    typo = held.rep_id.upper() if held.rep_id else ""
    with pytest.raises(lr.UnknownRepError, match=rf"did you mean '{held.rep_id}'\?.*as the roster"):
        r.record(lr.Touched("L1", typo, at(1)))
    with pytest.raises(lr.UnknownRepError, match=r"'an' is not on the roster \(did you mean 'ana'"):
        r.claim("an", "L1", now=at(1))
    with pytest.raises(lr.UnknownRepError) as unknown:
        r.handover("zed", now=at(1))
    assert "did you mean" not in str(unknown.value)
    assert "its reps are ana, bo, cy" in str(unknown.value)
    assert len(r.ledger) == size


def test_a_dropped_router_is_freed_at_once_not_by_the_garbage_collector() -> None:
    """Its decision log reaches back to it weakly, and its ledger is no cycle either: a router
    dropped (a simulation's, a request's) goes when its last reference does, and the ledger it
    made with it."""
    import gc
    import weakref

    reps = [lr.Rep(id=f"r{i}") for i in range(3)]
    gc.disable()
    try:
        router = lr.Router(lr.EqualRotation(), reps)
        for i in range(5):
            router.route(lr.Lead(id=f"L{i}", arrived_at=T0), now=T0)
        router.set_rep(lr.Rep(id="r3"))
        dropped, its_ledger = weakref.ref(router), weakref.ref(router.ledger)
        del router
        assert dropped() is None
        assert its_ledger() is None
    finally:
        gc.enable()
