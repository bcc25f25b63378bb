"""The ledger enforces the per-lead state machine and folds views incrementally."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter.errors import EventBeforeArrivalError, UnknownLeadError
from leadrouter.testing import generators as gen

from .conftest import T0, at


def _ledger_with(*events: lr.Event) -> lr.Ledger:
    return lr.Ledger.from_events(events)


def _lead(lead_id: str = "L1", **kw: object) -> lr.Lead:
    return lr.Lead(lead_id, T0, **kw)  # type: ignore[arg-type]


def test_lead_moves_pool_book_closed() -> None:
    ledger = _ledger_with(lr.Arrived(_lead()))
    assert ledger.pool() == ("L1",)
    assert ledger.holder("L1") is None
    ledger.append(lr.Assigned("L1", "R1", at(1), "test"))
    assert ledger.holder("L1") == "R1"
    assert ledger.book("R1") == {"L1"}
    assert ledger.pool() == ()
    ledger.append(lr.Touched("L1", "R1", at(5), reached=True))
    ledger.append(lr.Converted("L1", "R1", at(60), amount=500.0))
    assert ledger.holder("L1") is None
    assert ledger.owner("L1") == "R1"
    assert ledger.book("R1") == frozenset()
    assert ledger.status("L1") == "converted"
    stats = ledger.stats("R1", sla=timedelta(minutes=10))
    assert (
        stats.received,
        stats.touched,
        stats.touched_within_sla,
        stats.reached,
        stats.converted,
        stats.revenue,
    ) == (1, 1, 1, 1, 1, 500.0)


def test_a_call_after_the_sale_is_neither_a_touch_nor_a_reach() -> None:
    """A reached touch reported after the lead closed (a thank-you call) is kept in the log but
    counts as no first touch and no reach, so a rep never shows more leads reached than
    touched."""
    ledger = _ledger_with(lr.Arrived(_lead()), lr.Assigned("L1", "R1", at(1), "t"))
    ledger.append(lr.Converted("L1", "R1", at(30), amount=100.0))
    ledger.append(lr.Touched("L1", "R1", at(40), reached=True))
    stats = ledger.stats("R1")
    assert (stats.received, stats.touched, stats.reached, stats.converted) == (1, 0, 0, 1)
    assert isinstance(list(ledger.events())[-1], lr.Touched)


def test_the_first_touch_is_the_earliest_whatever_order_the_reports_came_in() -> None:
    """Webhooks come at least once and unordered: the 09:20 call reported after the 09:45
    one is the first touch, inside a 30-minute SLA, in the views and in a replay alike."""
    ledger = _ledger_with(lr.Arrived(_lead()), lr.Assigned("L1", "R1", at(0), "t"))
    ledger.append(lr.Touched("L1", "R1", at(45)))
    ledger.append(lr.Touched("L1", "R1", at(20), reached=True))
    assert ledger.first_touch("L1") == at(20)
    stats = ledger.stats("R1", sla=timedelta(minutes=30))
    assert (stats.touched, stats.touched_within_sla, stats.reached) == (1, 1, 1)
    assert sum(ledger.daily("R1", metric="touched").values()) == 1
    assert lr.Ledger.from_events(ledger.events()).snapshot() == ledger.snapshot()


def test_invalid_tag_closes_lead_and_frees_the_book() -> None:
    ledger = _ledger_with(lr.Arrived(_lead()), lr.Assigned("L1", "R1", at(1), "t"))
    ledger.append(lr.Tagged("L1", "R1", at(2), valid=False, reason="wrong number"))
    assert ledger.book_size("R1") == 0
    assert ledger.status("L1") == "invalid"
    with pytest.raises(lr.TransitionError):
        ledger.append(lr.Released("L1", "R1", at(3), "returned"))


@pytest.mark.parametrize(
    ("event", "words"),
    [
        (lr.Assigned("L1", "R2", at(2), "t"), "held by 'R1'"),
        (lr.Claimed("L1", "R2", at(2)), "one book only"),
        (lr.Touched("L1", "R2", at(2)), "only the rep who holds"),
        (lr.Converted("L1", "R2", at(2)), "only the rep who holds"),
        (lr.Released("L1", "R2", at(2), "returned"), "only the rep who holds"),
        (lr.Touched("L9", "R1", at(2)), "never arrived"),
    ],
)
def test_illegal_transitions_raise_and_change_nothing(event: lr.Event, words: str) -> None:
    ledger = _ledger_with(lr.Arrived(_lead()), lr.Assigned("L1", "R1", at(1), "t"))
    before, size = ledger.snapshot(), len(ledger)
    with pytest.raises(lr.TransitionError, match=words):
        ledger.append(event)
    assert ledger.snapshot() == before
    assert len(ledger) == size


def test_release_of_pooled_lead_and_unknown_lead() -> None:
    ledger = _ledger_with(lr.Arrived(_lead()))
    with pytest.raises(lr.TransitionError):
        ledger.append(lr.Released("L1", "R1", at(1), "returned"))
    with pytest.raises(UnknownLeadError):
        ledger.append(lr.Assigned("nope", "R1", at(1), "t"))


def test_event_before_arrival_and_duplicate_arrival() -> None:
    ledger = _ledger_with(lr.Arrived(_lead()))
    with pytest.raises(EventBeforeArrivalError, match="before the lead arrived"):
        ledger.append(lr.Assigned("L1", "R1", at(-5), "t"))
    with pytest.raises(lr.DuplicateLeadError, match="same lead"):
        ledger.append(lr.Arrived(_lead()))
    with pytest.raises(lr.DuplicateLeadError, match="different lead"):
        ledger.append(lr.Arrived(_lead(region="north")))


def test_second_conversion_is_refused() -> None:
    ledger = _ledger_with(
        lr.Arrived(_lead()),
        lr.Assigned("L1", "R1", at(1), "t"),
        lr.Converted("L1", "R1", at(2), 10.0),
    )
    with pytest.raises(lr.TransitionError, match="already converted"):
        ledger.append(lr.Converted("L1", "R1", at(3), 10.0))
    ledger.append(lr.Touched("L1", "R1", at(4)))  # follow-up after the sale is fine


def test_windows_and_daily_series() -> None:
    events: list[lr.Event] = []
    for i in range(6):
        events += [
            lr.Arrived(lr.Lead(f"L{i}", at(hours=10 * i))),
            lr.Assigned(f"L{i}", "R1", at(hours=10 * i), "t"),
        ]
    ledger = lr.Ledger.from_events(events)
    assert ledger.count("R1") == 6
    assert ledger.count("R1", since=at(hours=20), until=at(hours=40)) == 2
    assert ledger.daily("R1") == {at(0).date(): 2, at(days=1).date(): 2, at(days=2).date(): 2}
    # 15:00 UTC is 23:00 in Shanghai: the second lead falls on the first local day.
    assert sum(ledger.daily("R1", tz="Asia/Shanghai").values()) == 6


def test_lru_and_never_assigned() -> None:
    ledger = _ledger_with(
        lr.Arrived(_lead("L1")),
        lr.Arrived(_lead("L2")),
        lr.Assigned("L1", "R1", at(1), "t"),
        lr.Assigned("L2", "R2", at(2), "t"),
    )
    assert list(ledger.lru()) == ["R1", "R2"]
    assert ledger.never_assigned(frozenset({"R1", "R3"})) == {"R3"}
    assert ledger.last_assigned("R2") == at(2)


def test_to_frame_has_one_row_per_event() -> None:
    ledger = _ledger_with(lr.Arrived(_lead()), lr.Assigned("L1", "R1", at(1), "rot"))
    frame = ledger.to_frame()
    assert list(frame["event"]) == ["Arrived", "Assigned"]
    assert frame.loc[1, "rep_id"] == "R1"
    assert frame.loc[1, "by"] == "rot"


@settings(max_examples=60, deadline=None)
@given(gen.event_streams())
def test_replay_rebuilds_identical_views(events: list[lr.Event]) -> None:
    """Invariant: any valid event stream replayed into a new ledger gives equal views."""
    ledger = lr.Ledger.from_events(events)
    replay = lr.Ledger.from_events(ledger.events())
    assert replay.snapshot() == ledger.snapshot()
    assert list(replay.events()) == events


@settings(max_examples=60, deadline=None)
@given(gen.event_streams())
def test_every_lead_is_in_exactly_one_place(events: list[lr.Event]) -> None:
    """Invariant: an open lead is in one pool or one book, never both, never neither."""
    ledger = lr.Ledger.from_events(events)
    in_books = [lid for rep in ledger.reps() for lid in ledger.book(rep)]
    assert len(in_books) == len(set(in_books))
    for lead_id in ledger.lead_ids():
        status = ledger.status(lead_id)
        pooled = ledger.pool_of(lead_id) is not None
        held = ledger.holder(lead_id) is not None
        if status in ("converted", "invalid"):
            assert not pooled
            assert not held
            assert lead_id not in in_books
        else:
            assert pooled != held
            assert (lead_id in in_books) == held


LEDGER_API = frozenset(
    {
        *("append", "extend", "from_events", "events", "to_frame", "snapshot", "verify"),
        *("open", "close", "durable", "transaction", "guard", "refresh", "note_decision"),
        "first_decision",
        "roster",
        "placed_at",
        *("lead", "lead_ids", "status", "holder", "owner", "pool_of", "held_since", "held"),
        *("claimed_from", "first_touch", "reached", "tag_reason", "last_holder", "lead_releases"),
        *("book", "book_size", "book_order", "pool", "pools", "waiting", "is_waiting"),
        *("reps", "last_assigned", "lru", "never_assigned", "received_total", "last_position"),
        *("count", "stats", "releases", "last_release", "contact_holder", "conversions"),
        *("receipts", "daily", "counts_between"),
    }
)


def test_public_names_are_unchanged() -> None:
    """`leadrouter.ledger` offers these names, the very objects `leadrouter` offers, and a
    `Ledger` with these methods and views: the public contract, whatever modules inside the
    package implement them (changing this list is changing the API)."""
    import leadrouter.ledger as module

    assert module.__all__ == ["BLOCKED", "CLOCK_SKEW", "Ledger", "LedgerView", "RepStats"]
    assert module.BLOCKED == "blocked"
    for name in ("Ledger", "LedgerView", "RepStats"):
        assert getattr(lr, name) is getattr(module, name)
    assert module.Ledger.__module__ == "leadrouter.ledger"  # how pickles and reprs name it
    assert {name for name in dir(module.Ledger) if not name.startswith("_")} == LEDGER_API
    protocol = {n for n, v in vars(module.LedgerView).items() if callable(v) and n[0] != "_"}
    assert protocol <= LEDGER_API and hasattr(module.Ledger, "__len__")


_REPS = ("R0", "R1", "R2")


def _indexed_reads(
    ledger: lr.Ledger, minutes: list[int], kept: tuple[datetime, ...] = ()
) -> object:
    """The reads that keep an index beside the views, each asked for several times: with
    bounds `kept` from one ask to the next (as a cap asks with the day start `day_start`
    keeps: the index is reused at one comparison) and with an equal bound made afresh."""
    return (
        [ledger.count(rep, since) for rep in _REPS for since in kept],
        [ledger.count(rep, at(m)) for rep in _REPS for m in minutes],
        [ledger.received_total(since) for since in kept],
        [ledger.received_total(at(m)) for m in minutes],
        ledger.waiting(),
        [ledger.never_assigned(frozenset(_REPS[:k])) for k in range(len(_REPS) + 1)],
    )


def _not_before(ledger: lr.Ledger, lead_id: str, minute: int) -> datetime:
    """`at(minute)`, or the time the lead got where it is if that is later: an event on a lead
    is dated after the one it acts on (events on other leads may come in any order)."""
    placed = ledger.placed_at(lead_id)
    assert placed is not None
    return max(at(minute), placed)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(("assign", "claim", "wait", "take waiting", "release")),
            st.sampled_from(_REPS),
            st.integers(0, 120),
        ),
        max_size=30,
    ),
    st.lists(st.integers(0, 120), min_size=1, max_size=3),
)
def test_indexed_reads_between_appends_answer_as_a_replay(
    steps: list[tuple[str, str, int]], minutes: list[int]
) -> None:
    """Asked between every two appends, also of events dated before earlier ones, the reads
    that keep an index (where `count` and `received_total` last found a time, the order of
    `waiting()`, `never_assigned()` per set) answer what a ledger folded afresh answers."""
    ledger = lr.Ledger()
    kept = tuple(at(m) for m in minutes)
    for i, (action, rep, minute) in enumerate(steps):
        lead_id = f"L{i}"
        ledger.append(lr.Arrived(_lead(lead_id)))
        if action == "assign":
            ledger.append(lr.Assigned(lead_id, rep, at(minute), "test"))
        elif action == "claim":
            ledger.append(lr.Claimed(lead_id, rep, at(minute)))
        elif action == "wait":
            ledger.append(lr.Pooled(lead_id, at(minute), waiting=True))
        elif action == "take waiting" and ledger.waiting():
            taken = ledger.waiting()[0]
            ledger.append(lr.Assigned(taken, rep, _not_before(ledger, taken, minute), "test"))
        elif action == "release" and ledger.book_size(rep):
            held = ledger.book_order(rep)[0]
            ledger.append(lr.Released(held, rep, _not_before(ledger, held, minute)))
        fresh = lr.Ledger.from_events(ledger.events())
        asked = _indexed_reads(ledger, minutes, kept)
        again = _indexed_reads(ledger, minutes, kept)
        assert asked == _indexed_reads(fresh, minutes, kept) == again


def test_revenue_is_a_float_whatever_the_amounts_were_written_as() -> None:
    ledger = _ledger_with(
        lr.Arrived(_lead("L1")),
        lr.Assigned("L1", "R1", at(0), "t"),
        lr.Converted("L1", "R1", at(5), amount=100),
    )
    revenue = ledger.stats("R1").revenue
    assert revenue == 100.0 and type(revenue) is float


# ---------------------------------------------------------------------------- events in order

SKEW = lr.ledger.CLOCK_SKEW
MIN = timedelta(minutes=1)


def held_lead(at_minutes: float = 10) -> tuple[lr.Ledger, datetime]:
    """A ledger where rep "a" got lead L1 at T0 + `at_minutes`, and that time."""
    ledger = lr.Ledger()
    got = T0 + at_minutes * MIN
    ledger.append(lr.Arrived(lr.Lead("L1", T0)))
    ledger.append(lr.Assigned("L1", "a", got, "test"))
    return ledger, got


@pytest.mark.parametrize(
    "make",
    [
        lambda at: lr.Touched("L1", "a", at),
        lambda at: lr.Tagged("L1", "a", at, valid=True),
        lambda at: lr.Converted("L1", "a", at, amount=1.0),
        lambda at: lr.Released("L1", "a", at, "returned"),
    ],
    ids=["touched", "tagged", "converted", "released"],
)
def test_a_report_or_release_dated_before_the_holding_is_refused(make: Any) -> None:
    """A worker whose clock is behind dated a touch (or a tag, sale, release) before the rep got
    the lead: the ledger took it, and counted a touch "within the SLA" that came before the
    assignment. Within CLOCK_SKEW it is taken (clocks disagree a little); beyond, refused,
    naming both times, and nothing changes."""
    ledger, got = held_lead()
    before = ledger.snapshot()
    with pytest.raises(lr.EventOutOfOrderError, match="before rep 'a' got the lead"):
        ledger.append(make(got - SKEW - MIN))
    assert ledger.snapshot() == before
    ledger.append(make(got - SKEW))


def test_a_claim_dated_before_the_lead_was_released_is_refused() -> None:
    ledger, got = held_lead()
    ledger.append(lr.Released("L1", "a", got + 5 * MIN, "returned"))
    with pytest.raises(lr.EventOutOfOrderError, match="entered pool 'public'"):
        ledger.append(lr.Claimed("L1", "b", got))
    with pytest.raises(lr.EventOutOfOrderError):
        ledger.append(lr.Assigned("L1", "b", got, "test"))
    assert ledger.placed_at("L1") == got + 5 * MIN
    ledger.append(lr.Claimed("L1", "b", got + 5 * MIN - SKEW))
    assert ledger.holder("L1") == "b"


def test_an_imported_history_may_take_its_dates_as_given() -> None:
    """A history exported from a CRM whose clocks disagreed (a call logged before the
    assignment it followed) replays with `in_order=False`, its dates kept as they are; by
    default the replay stops at that event. The setting ends with the replay: the ledger then
    refuses such an event again."""
    events = [
        lr.Arrived(_lead()),
        lr.Assigned("L1", "a", T0 + 30 * MIN, "crm"),
        lr.Touched("L1", "a", T0 + 10 * MIN),
    ]
    with pytest.raises(lr.EventOutOfOrderError):
        lr.Ledger.from_events(events)
    ledger = lr.Ledger.from_events(events, in_order=False)
    assert list(ledger.events()) == events
    assert ledger.first_touch("L1") == T0 + 10 * MIN
    with pytest.raises(lr.EventOutOfOrderError):
        ledger.append(lr.Converted("L1", "a", T0))


def test_the_router_refuses_a_release_or_claim_dated_before_what_it_acts_on() -> None:
    router = lr.Router(lr.EqualRotation(), [lr.Rep("a"), lr.Rep("b")])
    router.route(lr.Lead("L1", T0), now=T0 + 30 * MIN)
    with pytest.raises(lr.EventOutOfOrderError):
        router.release("L1", now=T0 + 10 * MIN)
    router.release("L1", now=T0 + 40 * MIN)
    with pytest.raises(lr.EventOutOfOrderError):
        router.claim("b", "L1", now=T0 + 35 * MIN)
    assert router.claim("b", "L1", now=T0 + 41 * MIN).rep_id == "b"


def test_a_tick_behind_the_clock_that_pooled_a_lead_leaves_it_for_a_later_tick() -> None:
    """A lead released into the waiting pool by a worker whose clock runs ahead: a tick dated
    before that release does not offer it (an assignment before the release would be refused,
    and fail every tick), a later tick does."""
    router = lr.Router(lr.EqualRotation(), [lr.Rep("a")], caps=lr.FixedCap(open=1))
    router.route(lr.Lead("L1", T0), now=T0)
    router.route(lr.Lead("L2", T0), now=T0)  # waits: "a" is at the cap
    router.release("L1", now=T0 + 30 * MIN)  # "a" may take L2 now
    router.ledger.append(lr.Pooled("L2", T0 + 30 * MIN, "public", "", waiting=True))
    assert router.tick(T0 + 20 * MIN) == []
    assert [type(e).__name__ for e in router.tick(T0 + 31 * MIN)] == ["Assigned"]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["route", "release", "claim", "touch"]),
            st.integers(0, 4),
            st.integers(-10, 10),
        ),
        max_size=40,
    )
)
def test_no_event_is_dated_before_the_event_it_acts_on_beyond_the_skew(ops: list[Any]) -> None:
    """Whatever times the callers give (clocks up to ten minutes apart, either way), the log
    never holds an event dated more than CLOCK_SKEW before the one it acts on: a holding's
    reports and release after the holding began, a claim or assignment after the lead entered
    its pool. Calls that would break it raise EventOutOfOrderError and write nothing."""
    router = lr.Router(lr.EqualRotation(), [lr.Rep("a"), lr.Rep("b")])
    clock = T0
    for step, (op, lead_no, skew) in enumerate(ops):
        clock += MIN
        now, lead_id = clock + skew * MIN, f"L{lead_no}"
        try:
            if op == "route" or lead_id not in router.ledger:
                router.route(lr.Lead(f"L{step}", clock), now=max(now, clock))
            elif op == "release" and router.ledger.holder(lead_id):
                router.release(lead_id, now=now)
            elif op == "claim" and router.ledger.holder(lead_id) is None:
                router.claim("b", lead_id, now=now)
            elif op == "touch" and (holder := router.ledger.holder(lead_id)):
                router.record(lr.Touched(lead_id, holder, now))
        except (lr.EventOutOfOrderError, lr.EventBeforeArrivalError, lr.TransitionError):
            pass
    placed: dict[str, datetime] = {}
    for event in router.ledger.events():
        since = placed.get(event.lead_id, event.at)
        assert event.at >= since - SKEW, event
        if not isinstance(event, lr.Touched | lr.Tagged | lr.Converted):
            placed[event.lead_id] = event.at


class _CountingLog(list[lr.Event]):
    """An event list that counts the slices taken of it: a copy of the log each time."""

    slices = 0

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            type(self).slices += 1
        return super().__getitem__(index)


def test_an_events_view_the_log_has_grown_past_reads_in_place_and_stays_as_it_was() -> None:
    """`events()` is the log as of the call. Indexing a view the log had grown past copied the
    whole window first, so reading such a view event by event cost the log's length each time."""
    from leadrouter.ledger._types import _EventLog

    router = lr.Router(lr.EqualRotation(), [lr.Rep("a"), lr.Rep("b")])
    for i in range(6):
        router.route(lr.Lead(f"L{i}", at(i)), now=at(i))
    log = _CountingLog(router.ledger.events())
    view = _EventLog(log, 8)
    log.append(log[0])
    kept = list(log[:8])
    _CountingLog.slices = 0
    assert [view[i] for i in range(8)] == kept and view[-1] == kept[-1] and view[-8] == kept[0]
    assert list(reversed(view)) == kept[::-1]
    assert _CountingLog.slices == 0
    assert list(view[::3]) == kept[::3] and list(view[-3:]) == kept[-3:]
    for outside in (8, -9):
        with pytest.raises(IndexError):
            view[outside]


def test_a_touch_its_tag_and_its_sale_convert_their_times_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A report's two date checks (not before the lead arrived, not more than CLOCK_SKEW before
    the holding began) share one conversion of its time and one of the holding's start to an
    instant, and a touch, its tag and its sale reported at one time share those: two
    conversions for the three, where each check converted both of its times (twelve)."""
    from zoneinfo import ZoneInfo

    from leadrouter import _util
    from leadrouter.ledger import _fold

    converted: list[datetime] = []

    def counted(value: datetime) -> datetime:
        converted.append(value)
        return real(value)

    real = _util.instant
    monkeypatch.setattr(_util, "instant", counted)
    monkeypatch.setattr(_fold, "instant", counted)
    start = T0.astimezone(ZoneInfo("Europe/Berlin"))
    ledger = _ledger_with(lr.Arrived(lr.Lead("L1", start)))
    ledger.append(lr.Assigned("L1", "a", start + MIN, "test"))
    converted.clear()
    now = start + 30 * MIN
    ledger.append(lr.Touched("L1", "a", now, reached=True))
    ledger.append(lr.Tagged("L1", "a", now, valid=True))
    ledger.append(lr.Converted("L1", "a", now, amount=1.0))
    assert len(converted) == 2
    assert ledger.status("L1") == "converted"


def test_a_dropped_ledger_is_freed_at_once_not_by_the_garbage_collector() -> None:
    """A ledger is no reference cycle (its fold's handlers are the class's functions, its
    block reaches back to it weakly), so one dropped (a simulation run's, a replay's) goes when
    its last reference does: used, a block entered, one rolled back."""
    import gc
    import weakref

    def used() -> weakref.ref[lr.Ledger]:
        ledger = lr.Ledger()
        ledger.append(lr.Arrived(lr.Lead("L1", T0)))
        ledger.append(lr.Assigned("L1", "ana", at(1), "t"))
        with ledger.transaction():
            ledger.append(lr.Touched("L1", "ana", at(2)))
        try:
            with ledger.transaction():
                ledger.append(lr.Arrived(lr.Lead("L2", at(3))))
                raise KeyError("the caller's own error: the block is rolled back")
        except KeyError:
            pass
        assert "L2" not in ledger and len(ledger) == 3
        return weakref.ref(ledger)

    gc.disable()
    try:
        assert used()() is None
    finally:
        gc.enable()


def test_an_unknown_lead_id_is_named_with_its_fix_as_the_errors_page_shows() -> None:
    from pathlib import Path

    router = lr.Router(lr.EqualRotation(), [lr.Rep("a")])
    page = (Path(__file__).parent.parent / "docs" / "errors.md").read_text(encoding="utf-8")
    for call in (lambda: router.release("L404", "x"), lambda: router.ledger.lead("L404")):
        with pytest.raises(UnknownLeadError) as caught:
            call()
        assert "check the id" in str(caught.value)
        assert str(caught.value) in page
