"""The ledger enforces the per-lead state machine and folds views incrementally."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings

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
