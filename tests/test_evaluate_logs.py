"""Evaluation from what a Router logged: the ledger read as a History (in memory and on
SQLite), leads moved after their first assignment, reps who joined mid-history, tiny logs and
propensity columns under Chinese names."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import leadrouter as lr
from leadrouter.errors import ConfigError, EmptyExportError, MissingPropensityError
from leadrouter.sim import evaluate, history_from_ledger, load_export, synthetic

CLOSE = {"ana": 0.05, "bo": 0.1, "cy": 0.15, "di": 0.2, "ed": 0.3}
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def routed(
    n: int, ledger: lr.Ledger | None = None, joins: int | None = None, escalate: int = 0
) -> lr.Router:
    """A team of four routing with Explore around rotation, every lead touched within ten
    minutes and sold at its rep's rate; `ed` joins at lead `joins`; every `escalate`-th lead
    is taken back at once and re-routed."""
    reps = [lr.Rep(name) for name in ("ana", "bo", "cy", "di")]
    router = lr.Router(lr.Explore(lr.EqualRotation(), share=0.2), reps, ledger=ledger, seed=7)
    luck = random.Random(1)
    for i in range(n):
        at = START + timedelta(minutes=30 * i)
        if i == joins:
            router.set_rep(lr.Rep("ed"))
        rep = router.route(lr.Lead(f"L{i}", at, features={"campaign": "spring"}), now=at).rep_id
        if escalate and i % escalate == 0:
            router.release(f"L{i}", "escalated", at + timedelta(minutes=1), reroute=True)
            rep = router.ledger.holder(f"L{i}")
        assert rep is not None
        touched = at + timedelta(minutes=10)
        router.record(lr.Touched(f"L{i}", rep, touched, reached=True))
        if luck.random() < CLOSE[rep]:
            router.record(lr.Converted(f"L{i}", rep, touched + timedelta(minutes=5), 1000.0))
    return router


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_a_ledger_is_read_as_one_row_per_lead_with_its_propensity(
    store: str, tmp_path: Path
) -> None:
    ledger = lr.Ledger.open(f"sqlite:///{tmp_path / 'log.db'}") if store == "sqlite" else None
    router = routed(300, ledger)
    history = history_from_ledger(router.ledger, roster=router.reps)
    frame = history.to_frame()
    logged = router.ledger.to_frame()
    assigned = logged[logged.event == "Assigned"].set_index("lead_id")
    assert len(history) == 300 and history.flagged.empty
    assert frame.set_index("lead_id")["propensity"].equals(assigned["propensity"].rename(None))
    assert frame["campaign"].eq("spring").all()  # a lead's features are kept as columns
    sold = logged[logged.event == "Converted"]
    assert frame["converted"].sum() == len(sold)
    result = evaluate(history, {"rotation": lr.EqualRotation()})
    assert result.table().loc["rotation", "matched"] > 0.7
    # what an export of it reads back is the same log
    again = load_export(history.to_csv(tmp_path / "log.csv"))
    assert again.to_frame()["propensity"].equals(frame["propensity"])


def test_a_lead_moved_after_its_first_assignment_keeps_it_and_is_flagged() -> None:
    router = routed(60, escalate=7)
    history = history_from_ledger(router.ledger)
    frame = history.to_frame().set_index("lead_id")
    logged = router.ledger.to_frame()
    first = logged[logged.event == "Assigned"].groupby("lead_id").first()
    assert frame.loc["L7", "rep_id"] == first.loc["L7", "rep_id"]
    assert frame.loc["L7", "propensity"] == first.loc["L7", "propensity"]
    assert frame.loc["L7", "rep_id"] != router.ledger.owner("L7")
    flagged = history.flagged
    assert len(flagged) == len(range(0, 60, 7))
    reason = flagged.loc[flagged.reason.str.contains("lead L7 "), "reason"].iloc[0]
    assert "released by" in reason and "(escalated)" in reason
    assert "assigned " + str(router.ledger.owner("L7")) in reason


def test_evaluate_given_a_ledger_says_how_to_read_it() -> None:
    router = routed(5)
    with pytest.raises(ConfigError, match=r"history_from_ledger\(router\.ledger\)"):
        evaluate(router.ledger, {"rotation": lr.EqualRotation()})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="takes a Ledger"):
        history_from_ledger("log.csv")  # type: ignore[arg-type]


def test_a_rep_who_only_took_re_routed_leads_is_on_the_roster() -> None:
    router = lr.Router(lr.EqualRotation(), [lr.Rep("ana"), lr.Rep("bo")], seed=1)
    router.route(lr.Lead("L1", START), now=START)
    router.release("L1", "escalated", START + timedelta(minutes=5), reroute=True)
    router.route(lr.Lead("L2", START + timedelta(minutes=9)), now=START + timedelta(minutes=9))
    history = history_from_ledger(router.ledger)
    assert history.to_frame()["rep_id"].tolist() == ["ana", "ana"]
    assert [rep.id for rep in history.roster] == ["ana", "bo"]


def test_a_ledger_no_lead_arrived_in_is_a_named_error_not_an_empty_history() -> None:
    for empty in (lr.Ledger(), []):
        with pytest.raises(EmptyExportError, match="no lead arrived in the ledger"):
            history_from_ledger(empty)


def test_a_rep_who_joined_mid_history_is_named() -> None:
    router = routed(400, joins=200)
    history = history_from_ledger(router.ledger, roster=router.reps)
    note = evaluate(history, {"rotation": lr.EqualRotation()}).table().loc["rotation", "note"]
    assert "it chose ed on" in note and "before their first logged lead" in note
    assert "a rule or cap the live router had" not in note


def test_a_tiny_log_does_not_accuse_a_supported_policy() -> None:
    """Ten leads logged by Explore over every rep: any choice had a chance, but ten leads are
    too few to see the rare large weights, so the weights' mean says nothing."""
    history = synthetic(600, 5, 30, seed=3, logging=lr.Explore(lr.EqualRotation(), share=0.2))
    tiny = history.from_frame(history.to_frame().head(10))
    table = evaluate(tiny, {"weighted": lr.PerformanceWeighted()}).table()
    assert "could not have" not in table.loc["weighted", "note"]
    assert "effective sample" in table.loc["weighted", "note"]


@pytest.mark.parametrize("header", ["倾向得分", "探索概率"])
def test_a_chinese_header_that_may_hold_the_chances_is_pointed_at(header: str) -> None:
    history = synthetic(80, 3, 30, seed=1, logging=lr.Explore(lr.EqualRotation(), share=0.2))
    frame = history.to_frame().rename(columns={"propensity": header})
    with pytest.raises(MissingPropensityError, match=f"--columns propensity='{header}'"):
        evaluate(history.from_frame(pd.DataFrame(frame)), {"rotation": lr.EqualRotation()})
