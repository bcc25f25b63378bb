"""The invariants every Router must keep, as assertions shared by the conformance checks and
`router_machine`: one piece of code states each rule, wherever it is checked.

Each raises AssertionError starting with `where` (the check or machine step) and saying which
lead or rep broke the rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date

from leadrouter._validators import zone
from leadrouter.caps import Cap, FixedCap
from leadrouter.ledger import Ledger

__all__ = ["assert_caps_kept", "assert_one_place", "assert_replays"]

_CLOSED = ("converted", "invalid")


def assert_one_place(ledger: Ledger, where: str) -> None:
    """Every lead is in exactly one place: one rep's book or one pool. A closed lead (converted,
    or tagged invalid) is in none: it stays attributed to its rep but leaves the book."""
    places: Counter[str] = Counter()
    for rep_id in ledger.reps():
        places.update(ledger.book(rep_id))
    for name in ledger.pools():
        places.update(ledger.pool(name))
    for lead_id in ledger.lead_ids():
        expected = 0 if ledger.status(lead_id) in _CLOSED else 1
        assert places[lead_id] == expected, (
            f"{where}: lead {lead_id} ({ledger.status(lead_id)}) is in {places[lead_id]} places "
            f"(expected {expected}); holder {ledger.holder(lead_id)!r}, pool "
            f"{ledger.pool_of(lead_id)!r}"
        )


def assert_caps_kept(ledger: Ledger, caps: Iterable[Cap], where: str) -> None:
    """No rep holds more open leads than a FixedCap's `open`, or received more leads on any day
    (in the cap's time zone) than its `daily`. Other caps decide from state this cannot see
    after the fact; the router refuses their verdicts as they are made."""
    for cap in caps:
        if not isinstance(cap, FixedCap):
            continue
        for rep_id in sorted(ledger.reps()):
            held = ledger.book_size(rep_id)
            book = ", ".join(sorted(ledger.book(rep_id)))
            assert cap.open is None or held <= cap.open, (
                f"{where}: {rep_id} holds {held} open leads ({book}), over {cap!r}"
            )
            if cap.daily is None:
                continue
            for day, count in sorted(ledger.daily(rep_id, tz=cap.tz).items()):
                assert count <= cap.daily, (
                    f"{where}: {rep_id} received {count} leads on {day} "
                    f"({_received_on(ledger, rep_id, day, cap.tz)}), over {cap!r}"
                )


def _received_on(ledger: Ledger, rep_id: str, day: date, tz: str) -> str:
    """The leads `rep_id` received on local `day`, each with its time: which ones broke a cap."""
    local = zone(tz)
    return ", ".join(
        f"{lead_id} at {at.isoformat()}"
        for at, lead_id in ledger.receipts(rep_id)
        if at.astimezone(local).date() == day
    )


def assert_replays(ledger: Ledger, where: str) -> None:
    """Folding the ledger's own events into a new ledger gives the same state: the event log
    alone is the truth, and no view depends on how the events were written."""
    replay = Ledger.from_events(ledger.events())
    assert replay.snapshot() == ledger.snapshot(), (
        f"{where}: replaying the {len(ledger)} events gives a different state than the ledger "
        "that wrote them"
    )
