"""Shadow mode records what a candidate would have decided, without acting on it."""

from __future__ import annotations

from datetime import timedelta

import leadrouter as lr
from leadrouter import rules
from leadrouter.sim import shadow

from .conftest import T0


def _team() -> list[lr.Rep]:
    return [lr.Rep("a", quota=1.0), lr.Rep("b", quota=1.0), lr.Rep("c", quota=4.0)]


def test_shadow_records_candidate_choices_and_changes_nothing() -> None:
    live = lr.Router(
        lr.EqualRotation(), _team(), caps=lr.FixedCap(open=10), clock=lr.ManualClock(T0)
    )
    twin = lr.Router(
        lr.EqualRotation(), _team(), caps=lr.FixedCap(open=10), clock=lr.ManualClock(T0)
    )
    watched = shadow(live, lr.QuotaProportional())
    for i in range(12):
        at = T0 + timedelta(minutes=i)
        lead = lr.Lead(f"L{i}", at)
        assert watched.route(lead, now=at) == twin.route(lead, now=at)
    # The live log is exactly what the live policy alone would have written.
    assert list(live.ledger.events()) == list(twin.ledger.events())
    pairs = watched.pairs
    assert len(pairs) == 12
    assert all(p.candidate.by == "QuotaProportional" for p in pairs)
    report = watched.report()
    assert report["live"].sum() == report["candidate"].sum() == 12
    assert report.loc["c", "candidate"] > report.loc["c", "live"]
    assert 0.0 <= watched.agreement() < 1.0
    assert len(watched.differences()) == round(12 * (1 - watched.agreement()))


def test_shadow_uses_the_live_rules_and_follows_roster_changes() -> None:
    reps = [lr.Rep("n", regions={"north"}), lr.Rep("s", regions={"south"})]
    live = lr.Router(lr.EqualRotation(), reps, rules=[rules.region()], clock=lr.ManualClock(T0))
    watched = shadow(live, lr.EqualRotation())
    watched.route(lr.Lead("L1", T0, region="north"), now=T0)
    assert watched.pairs[0].candidate.rep_id == "n"
    live.set_rep(lr.Rep("n2", regions={"north"}))
    watched.route(lr.Lead("L2", T0, region="north"), now=T0)
    assert watched.pairs[1].candidate.rep_id == "n2"
    assert watched.agreement() == 1.0
    # A retry is passed through and not recorded twice.
    watched.route(lr.Lead("L2", T0, region="north"), now=T0)
    assert len(watched.pairs) == 2
