"""The examples are documentation that runs: each one is executed here and what it claims to
show is checked against the ledger, not just that it ran."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import leadrouter as lr
from leadrouter.events import REP_LEFT

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DEMO = EXAMPLES / "embed_in_crm.py"


def load(path: Path) -> ModuleType:
    """Import an example by path, as `python examples/x.py` would find it."""
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo() -> Iterator[ModuleType]:
    module = load(DEMO)
    yield module
    sys.modules.pop(module.__name__, None)


@pytest.fixture(scope="module")
def day(demo: ModuleType) -> Any:
    """The demo's day, run once for the module (`run_day` prints nothing)."""
    return demo.run_day()


@pytest.fixture(scope="module")
def events(day: Any) -> list[lr.Event]:
    return list(day.router.ledger.events())


def lead_events(events: list[lr.Event], lead_id: str) -> list[lr.Event]:
    return [e for e in events if e.lead_id == lead_id]


# --------------------------------------------------------------------------- main() and output


def test_main_prints_the_table_the_summary_and_the_stories(
    demo: ModuleType, day: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    router = demo.main()
    out = capsys.readouterr().out
    assert isinstance(router, lr.Router)
    assert list(router.ledger.events()) == list(day.router.ledger.events())
    assert "time   lead   source/region" in out
    assert "== per rep, at the end of the day ==" in out
    assert "received  in book  touched taken back converted   revenue" in out
    for rep in demo.REPS:
        assert f"\n{rep.id:<6} {rep.team:<6}" in out, f"no summary row for {rep.id}"
    assert "== why is it uneven? ==" in out
    assert "chosen  excluded  capped" in out  # the explain_load() table
    assert "full story of a repeat inquiry" in out
    assert "full story of an SLA re-route" in out
    assert day.dedup.explain() in out
    assert day.sla.explain() in out
    lead_rows = [line for line in out.splitlines() if line[:2].isdigit() and " L-" in line]
    assert 40 <= len({line.split()[1] for line in lead_rows}) <= 60


def test_demo_prints_the_same_day_every_run() -> None:
    """Two runs in fresh interpreters (different hash seeds) print identical text, so nothing
    depends on set order, the wall clock or unseeded randomness."""
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, str(DEMO)], capture_output=True, text=True, env=env, check=True
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert "== why is it uneven? ==" in outputs[0]


def test_demo_piped_into_a_reader_that_leaves_ends_quietly() -> None:
    """`python embed_in_crm.py | head -1`: the script is a template for integrations, so when
    the reader goes away it stops with 141 (as SIGPIPE would), not a BrokenPipeError trace."""
    with subprocess.Popen(
        [sys.executable, str(DEMO)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as demo:
        assert demo.stdout is not None and demo.stderr is not None
        first = demo.stdout.readline()
        demo.stdout.close()
        errors = demo.stderr.read().decode()
    assert first.startswith(b"leadrouter demo: one day")
    assert demo.returncode == 141
    assert errors == ""


# --------------------------------------------------------------------------- invariants


def test_every_lead_is_in_exactly_one_place(day: Any) -> None:
    ledger = day.router.ledger
    reps = [rep.id for rep in day.router.reps]
    pools = list(ledger.pools())
    lead_ids = list(ledger.lead_ids())
    assert 40 <= len(lead_ids) <= 60
    for lead_id in lead_ids:
        books = [rep for rep in reps if lead_id in ledger.book(rep)]
        in_pools = [pool for pool in pools if lead_id in ledger.pool(pool)]
        closed = ledger.status(lead_id) in ("converted", "invalid")
        places = len(books) + len(in_pools) + closed
        assert places == 1, f"{lead_id}: books {books}, pools {in_pools}, closed {closed}"


def test_no_rep_ever_exceeds_the_caps(demo: ModuleType, events: list[lr.Event]) -> None:
    """Replayed event by event: no book ever holds more than `open` leads, and no rep receives
    more than `daily` leads on a day in the cap's time zone."""
    cap = demo.CAP
    replay = lr.Ledger()
    for event in events:
        replay.append(event)
        if isinstance(event, lr.Assigned | lr.Claimed):
            held = replay.book_size(event.rep_id)
            assert held <= cap.open, f"{event.rep_id} holds {held} after {event}"
    for rep in demo.REPS:
        for when, count in replay.daily(rep.id, tz=cap.tz).items():
            assert count <= cap.daily, f"{rep.id} received {count} on {when}"


def test_the_caps_were_actually_reached(day: Any) -> None:
    """Otherwise the test above proves nothing about the caps."""
    capped = [d for d in day.router.decisions() if any(r.code == "capped" for r in d.reasons)]
    assert capped


def test_nobody_gets_a_lead_off_shift(demo: ModuleType, events: list[lr.Event]) -> None:
    for rep_id, shift in demo.SHIFTS.items():
        got = [e for e in events if isinstance(e, lr.Assigned) and e.rep_id == rep_id]
        assert got, f"{rep_id} never got a lead: the shift rule is not exercised"
        assert all(shift.is_on(e.at) for e in got), [e.at for e in got]


# --------------------------------------------------------------------------- the stories


def test_sla_reclaim_moves_the_lead_to_another_rep(
    demo: ModuleType, day: Any, events: list[lr.Event]
) -> None:
    sla = [e for e in events if isinstance(e, lr.Released) and e.reason == "sla"]
    assert sla, "no SLA reclaim in the demo"
    for released in sla:
        after = lead_events(events, released.lead_id)
        nxt = after[after.index(released) + 1]
        assert isinstance(nxt, lr.Assigned), f"{released.lead_id} was not re-routed: {nxt}"
        assert nxt.rep_id != released.rep_id
        assert nxt.at == released.at
        got = [e for e in after[: after.index(released)] if isinstance(e, lr.Assigned)][-1]
        touched = [e for e in after if isinstance(e, lr.Touched) and e.rep_id == released.rep_id]
        assert not touched, f"{released.rep_id} did touch {released.lead_id}"
        assert released.at - got.at >= demo.SLA
    first = sla[0]
    assert day.sla.lead_id == first.lead_id
    assert day.sla.rep_id not in (None, first.rep_id)
    assert any(r.rule == "reroute" and first.rep_id in r.reps for r in day.sla.reasons)


def test_webhook_retry_returns_the_first_decision(day: Any, events: list[lr.Event]) -> None:
    assert day.retry is not None
    first, again = day.retry
    assert again == first
    assert first.action == "assigned"
    mine = lead_events(events, first.lead_id)
    assert sum(isinstance(e, lr.Arrived) for e in mine) == 1
    released = [i for i, e in enumerate(mine) if isinstance(e, lr.Released)]
    until_released = mine[: released[0]] if released else mine
    assert [e.rep_id for e in until_released if isinstance(e, lr.Assigned)] == [first.rep_id]


def test_dedup_sends_a_repeat_inquiry_to_the_current_holder(
    day: Any, events: list[lr.Event]
) -> None:
    decision = day.dedup
    assert decision is not None
    assert decision.by == "dedup_to_owner()"
    replay = lr.Ledger()
    for event in events:
        if isinstance(event, lr.Arrived) and event.lead_id == decision.lead_id:
            contact = event.lead.contact
            assert contact is not None
            found = replay.contact_holder(contact)
            assert found is not None
            assert found[1] == decision.rep_id
            break
        replay.append(event)
    else:
        pytest.fail("the dedup lead never arrived")


def test_handover_empties_the_leavers_book(
    demo: ModuleType, day: Any, events: list[lr.Event]
) -> None:
    router, leaver = day.router, demo.LEAVER
    assert router.roster[leaver].active is False
    assert router.ledger.book(leaver) == frozenset()
    left = [e for e in events if isinstance(e, lr.Released) and e.reason == REP_LEFT]
    assert left, "the leaver had no open leads to hand over"
    assert {e.rep_id for e in left} == {leaver}
    assert {d.lead_id for d in day.handover} == {e.lead_id for e in left}
    for decision in day.handover:
        assert decision.rep_id != leaver
    later = [
        e for e in events if isinstance(e, lr.Assigned | lr.Claimed) and e.at >= demo.LEAVES_AT
    ]
    assert leaver not in {e.rep_id for e in later}


def test_nurture_leads_stay_in_the_nurture_pool_or_are_claimed(
    demo: ModuleType, day: Any, events: list[lr.Event]
) -> None:
    ledger = day.router.ledger
    low = [
        lid
        for lid in ledger.lead_ids()
        if (score := ledger.lead(lid).score) is not None and score < demo.NURTURE_BELOW
    ]
    assert low, "no low-intent leads in the demo"
    claimed = set()
    for lead_id in low:
        mine = lead_events(events, lead_id)
        assert not any(isinstance(e, lr.Assigned) for e in mine), f"{lead_id} was pushed to a rep"
        pooled = [e for e in mine if isinstance(e, lr.Pooled)]
        assert pooled[0].pool == "nurture"
        if any(isinstance(e, lr.Claimed) for e in mine):
            claimed.add(lead_id)
        else:
            assert ledger.pool_of(lead_id) == "nurture"
    assert day.claimed is not None
    assert day.claimed.action == "claimed"
    assert day.claimed.pool == "nurture"
    assert claimed == {day.claimed.lead_id}


def test_refused_claim_says_why_and_changes_nothing(day: Any, events: list[lr.Event]) -> None:
    refused, claimed = day.refused, day.claimed
    assert refused is not None
    assert refused.action == "refused"
    assert refused.rep_id is None
    assert "not eligible" in refused.reasons[0].detail
    refused_rep = next(iter(refused.reasons[0].reps))
    mine = lead_events(events, refused.lead_id)
    assert all(getattr(e, "rep_id", None) != refused_rep for e in mine)
    assert claimed.lead_id == refused.lead_id
    assert claimed.rep_id != refused_rep
