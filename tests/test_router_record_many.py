"""`Router.record_many`: several reports as one operation, writing what `record` writes for each
in turn, or nothing at all."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leadrouter as lr

from .conftest import at

REPS = ("ana", "bo", "cy")
LEADS = 4


def _router(ledger: lr.Ledger | None = None) -> lr.Router:
    """Three reps in rotation, each of four leads routed at the start."""
    router = lr.Router(lr.EqualRotation(), [lr.Rep(rep) for rep in REPS], ledger=ledger)
    for i in range(LEADS):
        router.route(lr.Lead(f"L{i}", at(i)), now=at(i))
    return router


def _report(kind: str, lead: int, rep: str, minute: int, flag: bool) -> Any:
    lead_id, when = f"L{lead}", at(10 + minute)
    if kind == "touch":
        return lr.Touched(lead_id, rep, when, reached=flag)
    if kind == "tag":
        return lr.Tagged(lead_id, rep, when, valid=flag, reason="" if flag else "blocked")
    return lr.Converted(lead_id, rep, when, amount=100.0 if flag else 0.0)


_REPORTS = st.lists(
    st.builds(
        _report,
        st.sampled_from(["touch", "tag", "sale"]),
        st.integers(0, LEADS - 1),
        st.sampled_from(REPS),
        st.integers(0, 30),
        st.booleans(),
    ),
    max_size=8,
)


def _state(router: lr.Router) -> list[Any]:
    """The ledger's events and what its views say of every lead and rep."""
    ledger = router.ledger
    leads = [f"L{i}" for i in range(LEADS)]
    return [
        list(ledger.events()),
        [
            (ledger.status(i), ledger.holder(i), ledger.first_touch(i), ledger.reached(i))
            for i in leads
        ],
        [(ledger.tag_reason(i), ledger.owner(i)) for i in leads],
        [ledger.book(rep) for rep in REPS],
    ]


@settings(max_examples=60, deadline=None)
@given(_REPORTS, _REPORTS)
def test_record_many_writes_what_recording_one_by_one_writes_or_nothing(
    before: list[Any], batch: list[Any]
) -> None:
    """After any reports recorded before, a batch writes the very events and views that
    recording its reports one by one writes, when every one of them is taken; when one is
    refused (a rep who does not hold the lead, a second sale, a report in the past...), the
    same error is raised and the ledger, views included, is as it was before the batch."""
    one, many = _router(), _router()
    for report in before:
        for router in (one, many):
            with contextlib.suppress(lr.LeadRouterError):
                router.record(report)
    start = _state(many)
    refused: type[Exception] | None = None
    for report in batch:
        try:
            one.record(report)
        except lr.LeadRouterError as exc:
            refused = type(exc)
            break
    if refused is None:
        many.record_many(batch)
        assert _state(many) == _state(one)
    else:
        with pytest.raises(refused):
            many.record_many(batch)
        assert _state(many) == start
        many.record_many([])  # and the router goes on from there
        assert _state(many) == start


def _holders(router: lr.Router) -> tuple[str, str]:
    """L0's holder, and the holder of L1 (another rep)."""
    first, second = router.ledger.holder("L0"), router.ledger.holder("L1")
    assert first is not None and second is not None and first != second
    return first, second


def test_a_refusal_part_way_takes_back_the_reports_before_it() -> None:
    router = _router()
    start = _state(router)
    rep, _ = _holders(router)
    reports = [
        lr.Touched("L0", rep, at(20), reached=True),
        lr.Tagged("L0", rep, at(21), valid=True),
        lr.Touched("L1", rep, at(22)),  # L1 is the other rep's
    ]
    with pytest.raises(lr.TransitionError, match="only the rep who holds"):
        router.record_many(reports)
    assert _state(router) == start
    assert not router.ledger.reached("L0")
    router.record_many(reports[:2])
    assert router.ledger.reached("L0")


def test_a_refusal_part_way_writes_nothing_to_a_stored_ledger(tmp_path: Path) -> None:
    router = _router(lr.Ledger.open(f"sqlite:///{tmp_path / 'log.db'}"))
    size = len(router.ledger)
    rep, _ = _holders(router)
    with pytest.raises(lr.TransitionError):
        router.record_many(
            [lr.Touched("L0", rep, at(20), reached=True), lr.Touched("L1", rep, at(22))]
        )
    assert len(router.ledger) == size
    assert not router.ledger.reached("L0")


def test_every_item_and_rep_is_checked_before_anything_is_written() -> None:
    router = _router()
    size = len(router.ledger)
    rep, other = _holders(router)
    touch = lr.Touched("L0", rep, at(20))
    with pytest.raises(lr.InvalidValueError, match=r"record_many: events\[1\] takes Touched"):
        router.record_many([touch, lr.Released("L1", other, at(20), "returned")])  # type: ignore[list-item]
    with pytest.raises(lr.UnknownRepError, match="'Bo'"):
        router.record_many([touch, lr.Touched("L1", "Bo", at(21))])
    with pytest.raises(lr.InvalidValueError, match="a single Touched"):
        router.record_many(touch)  # type: ignore[arg-type]
    assert len(router.ledger) == size
