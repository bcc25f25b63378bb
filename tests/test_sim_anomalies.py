"""Anomaly flags: each planted anomaly is flagged with its evidence, a clean team is not, and
checks the data cannot support say so instead of raising or staying silent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter.errors import ConfigError
from leadrouter.events import Arrived, Assigned, Claimed, Converted, Released, Tagged
from leadrouter.sim import History, anomalies_frame, find_anomalies, synthetic
from leadrouter.sim.anomalies import CHECKS, FRAME_COLUMNS, NOT_CHECKABLE, Anomaly

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)


@cache
def _clean() -> History:
    return synthetic(n_leads=3000, n_reps=10, days=40, seed=1)


def _planted(change: Any) -> tuple[History, pd.DataFrame]:
    history = _clean()
    frame = history.to_frame()
    change(frame)
    return History(frame, tz=history.tz), frame


def _flags(found: list[Anomaly], kind: str) -> list[Anomaly]:
    return [a for a in found if a.kind == kind]


def _skipped(found: list[Anomaly]) -> dict[str, str]:
    return {a.check: a.evidence for a in found if a.kind == NOT_CHECKABLE}


def test_reps_who_differ_by_chance_only_are_not_flagged() -> None:
    # The null: rep ids shuffled across leads, so every rep's outcomes are a random draw of the
    # team's. Each check's family-wise false-flag rate is at most alpha = 0.01, so 20 teams x 3
    # checks expect under 0.6 false flags; more than one means the tails are not conservative.
    false_flags = []
    for seed in range(20):
        history = synthetic(n_leads=2000, n_reps=8, days=30, seed=seed)
        frame = history.to_frame()
        frame["rep_id"] = np.random.default_rng(seed).permutation(frame["rep_id"].to_numpy())
        found = find_anomalies(History(frame, tz=history.tz))
        false_flags += [a for a in found if a.kind != NOT_CHECKABLE]
    assert len(false_flags) <= 1, [a.evidence for a in false_flags]


def test_the_synthetic_team_used_for_planting_has_no_flags() -> None:
    assert [a for a in find_anomalies(_clean()) if a.kind != NOT_CHECKABLE] == []


def test_conversion_far_above_mix_is_flagged_with_observed_expected_and_p() -> None:
    def plant(frame: pd.DataFrame) -> None:
        rng = np.random.default_rng(1)
        mine = (frame["rep_id"] == "rep03").to_numpy() & (rng.random(len(frame)) < 0.4)
        frame.loc[mine, "converted"] = True
        frame.loc[mine, "valid"] = True
        frame.loc[mine, "amount"] = 5000.0
        frame.loc[mine, "converted_at"] = frame.loc[mine, "arrived_at"] + pd.Timedelta(days=2)

    history, frame = _planted(plant)
    flags = _flags(find_anomalies(history), "conversion_above_mix")
    assert [a.rep_id for a in flags] == ["rep03"]
    flag = flags[0]
    rep_leads = frame[frame["rep_id"] == "rep03"]
    assert flag.n == len(rep_leads)
    assert flag.observed == rep_leads["converted"].sum()
    assert flag.expected is not None and flag.observed > 4 * flag.expected
    assert flag.p_value is not None and flag.p_value < 1e-6
    assert f"{int(flag.observed)} of {flag.n} leads converted" in flag.evidence
    assert "peers' rates by segment" in flag.evidence
    assert set(flag.lead_ids) == set(rep_leads.loc[rep_leads["converted"], "lead_id"])


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A History frame from partial rows (every other column missing)."""
    from leadrouter.sim.history import COLUMNS

    frame = pd.DataFrame(rows)
    for name in COLUMNS:
        if name not in frame.columns:
            frame[name] = None
    frame["converted"] = frame["converted"].fillna(False).astype(bool)
    return frame


def _mix_history() -> History:
    """rep_a gets only "easy" leads (half convert); peers mostly "hard" ones (2% convert), plus
    some easy ones converting at the same half."""
    rows: list[dict[str, Any]] = []

    def add(rep: str, segment: str, n: int, sales: int) -> None:
        for i in range(n):
            at = T0 + timedelta(minutes=len(rows))
            rows.append(
                {
                    "lead_id": f"L{len(rows)}",
                    "arrived_at": at,
                    "segment": segment,
                    "rep_id": rep,
                    "assigned_at": at,
                    "converted": i < sales,
                    "converted_at": at + timedelta(days=3) if i < sales else None,
                }
            )

    add("rep_a", "easy", 100, 50)
    for rep in ("rep_b", "rep_c", "rep_d"):
        add(rep, "easy", 30, 15)
        add(rep, "hard", 100, 2)
    return History(_frame(rows))


def test_an_easy_lead_mix_explains_a_high_conversion_rate() -> None:
    history = _mix_history()
    assert _flags(find_anomalies(history, by=("segment",)), "conversion_above_mix") == []
    blind = _flags(find_anomalies(history, by=()), "conversion_above_mix")
    assert [a.rep_id for a in blind] == ["rep_a"]
    assert "by team" in blind[0].evidence


def test_sales_within_a_minute_of_assignment_are_flagged() -> None:
    def plant(frame: pd.DataFrame) -> None:
        mine = (frame["rep_id"] == "rep05") & frame["converted"]
        frame.loc[mine, "converted_at"] = frame.loc[mine, "assigned_at"] + pd.Timedelta(minutes=1)

    history, frame = _planted(plant)
    flags = _flags(find_anomalies(history), "fast_conversion")
    assert [a.rep_id for a in flags] == ["rep05"]
    sales = frame[(frame["rep_id"] == "rep05") & frame["converted"]]
    flag = flags[0]
    assert flag.observed == flag.n == len(sales)
    assert f"{len(sales)} of {len(sales)} sales (100.0%) came within 5 min" in flag.evidence
    assert "peers 0 of" in flag.evidence
    assert set(flag.lead_ids) == set(sales["lead_id"])
    # A tighter window than the planted minute finds nothing.
    tight = find_anomalies(history, fast_within=timedelta(seconds=30))
    assert _flags(tight, "fast_conversion") == []


def test_fast_sales_are_also_found_in_the_ledger_replay_of_a_history() -> None:
    history = _planted_fast()
    from_ledger = find_anomalies(lr.Ledger.from_events(history.events))
    assert [(a.kind, a.rep_id) for a in from_ledger] == [
        ("fast_conversion", "rep02"),
        (NOT_CHECKABLE, None),
    ]
    assert "no claims" in from_ledger[1].evidence
    assert from_ledger[0].lead_ids == _flags(find_anomalies(history), "fast_conversion")[0].lead_ids


def test_too_few_leads_per_rep_is_not_checkable() -> None:
    skipped = _skipped(find_anomalies(_clean(), min_leads=10_000))
    assert "min_leads" in skipped["conversion_above_mix"]
    assert "min_leads" in skipped["invalid_tagging"]


def test_a_rep_tagging_most_leads_invalid_is_flagged() -> None:
    def plant(frame: pd.DataFrame) -> None:
        rng = np.random.default_rng(2)
        mine = (frame["rep_id"] == "rep08") & frame["valid"].notna() & ~frame["converted"]
        frame.loc[mine, "valid"] = pd.array(rng.random(int(mine.sum())) >= 0.85, dtype="boolean")

    history, frame = _planted(plant)
    flags = _flags(find_anomalies(history), "invalid_tagging")
    assert [a.rep_id for a in flags] == ["rep08"]
    flag = flags[0]
    tagged = frame[(frame["rep_id"] == "rep08") & frame["valid"].notna()]
    assert flag.n == len(tagged)
    assert flag.observed == int((~tagged["valid"].astype(bool)).sum())
    assert "leads tagged invalid" in flag.evidence and "predicts" in flag.evidence
    assert len(flag.lead_ids) == flag.observed


def _cycling_ledger(hoarder_cycles: int, reclaims: int = 0) -> lr.Ledger:
    """Six reps each claim 30 leads from the pool; every peer returns one; `hoarder` returns
    `hoarder_cycles` of theirs, and claims `reclaims` of those again and returns them again."""
    ledger = lr.Ledger()
    at = T0
    n = 0
    for rep in ("hoarder", "r1", "r2", "r3", "r4", "r5"):
        returns = hoarder_cycles if rep == "hoarder" else 1
        for i in range(30):
            n += 1
            at += timedelta(minutes=1)
            lead = lr.Lead(f"L{n}", at, segment="smb")
            ledger.append(Arrived(lead))
            ledger.append(Claimed(lead.id, rep, at + timedelta(seconds=5)))
            if i < returns:
                ledger.append(Released(lead.id, rep, at + timedelta(seconds=20), "returned"))
                if rep == "hoarder" and i < reclaims:
                    ledger.append(Claimed(lead.id, rep, at + timedelta(seconds=30)))
                    ledger.append(Released(lead.id, rep, at + timedelta(seconds=40), "expired"))
            elif i % 3 == 0:
                ledger.append(Tagged(lead.id, rep, at + timedelta(hours=1), True))
                ledger.append(Converted(lead.id, rep, at + timedelta(days=1), 100.0))
    return ledger


def test_claim_and_return_cycling_is_flagged_from_a_ledger() -> None:
    ledger = _cycling_ledger(hoarder_cycles=15, reclaims=4)
    flags = _flags(find_anomalies(ledger), "claim_return_cycling")
    assert [a.rep_id for a in flags] == ["hoarder"]
    flag = flags[0]
    assert flag.n == 34 and flag.observed == 19
    assert "19 of 34 claims" in flag.evidence
    assert "expired 4, returned 15" in flag.evidence
    assert "4 of them re-claims" in flag.evidence
    assert "peers 5 of 150" in flag.evidence
    assert len(flag.lead_ids) == 15
    # Counting only "returned" releases: 15 cycles, still flagged.
    only = find_anomalies(ledger, cycle_reasons={"returned"}, checks=["claim_return_cycling"])
    assert [a.observed for a in only] == [15.0]


def test_a_normal_claiming_team_is_not_flagged() -> None:
    found = find_anomalies(_cycling_ledger(hoarder_cycles=1))
    assert [a for a in found if a.kind != NOT_CHECKABLE] == []


def test_ledger_and_history_views_agree() -> None:
    history = _clean()
    from_history = find_anomalies(history, checks=["conversion_above_mix", "invalid_tagging"])
    from_ledger = find_anomalies(
        lr.Ledger.from_events(history.events), checks=["conversion_above_mix", "invalid_tagging"]
    )
    assert from_history == from_ledger == []


def test_an_export_cannot_check_claims_and_says_so() -> None:
    skipped = _skipped(find_anomalies(_clean()))
    assert list(skipped) == ["claim_return_cycling"]
    assert "not checkable" in skipped["claim_return_cycling"]
    assert "Ledger" in skipped["claim_return_cycling"]


def test_a_push_ledger_has_no_claims_to_check() -> None:
    ledger = lr.Ledger()
    lead = lr.Lead("L1", T0)
    ledger.append(Arrived(lead))
    ledger.append(Assigned("L1", "rep1", T0, "test"))
    skipped = _skipped(find_anomalies(ledger))
    assert set(skipped) == set(CHECKS)
    assert "no claims" in skipped["claim_return_cycling"]


def test_missing_columns_give_not_checkable_entries_not_errors() -> None:
    rows = [
        {"lead_id": f"L{i}", "arrived_at": T0 + timedelta(minutes=i), "segment": "smb"}
        for i in range(80)
    ]
    skipped = _skipped(find_anomalies(History(_frame(rows))))
    assert set(skipped) == set(CHECKS)
    assert "no lead has a rep" in skipped["conversion_above_mix"]

    for i, row in enumerate(rows):
        row.update(rep_id=f"rep{i % 2}", amount=100.0 if i % 5 == 0 else None)
    frame = _frame(rows)
    frame["converted"] = frame["amount"].notna()
    skipped = _skipped(find_anomalies(History(frame)))
    assert "no sale has a time" in skipped["fast_conversion"]
    assert "no lead with a rep has a valid / invalid tag" in skipped["invalid_tagging"]
    assert "conversion_above_mix" not in skipped


def test_one_rep_has_no_peers_to_compare_with() -> None:
    rows = [
        {
            "lead_id": f"L{i}",
            "arrived_at": T0 + timedelta(minutes=i),
            "rep_id": "solo",
            "assigned_at": T0 + timedelta(minutes=i),
            "converted": True,
            "converted_at": T0 + timedelta(days=1),
            "valid": True,
        }
        for i in range(40)
    ]
    skipped = _skipped(find_anomalies(History(_frame(rows))))
    assert all("peers" in skipped[name] for name in CHECKS if name != "claim_return_cycling")


def test_results_are_deterministic_and_the_frame_matches_the_list() -> None:
    def plant(frame: pd.DataFrame) -> None:
        mine = (frame["rep_id"] == "rep05") & frame["converted"]
        frame.loc[mine, "converted_at"] = frame.loc[mine, "assigned_at"] + pd.Timedelta(minutes=1)

    history, _ = _planted(plant)
    first, second = find_anomalies(history), find_anomalies(history)
    assert first == second
    frame = anomalies_frame(history)
    assert tuple(frame.columns) == FRAME_COLUMNS
    assert frame["kind"].tolist() == [a.kind for a in first]
    assert frame.loc[0, "rep_id"] == "rep05" and frame.loc[0, "odds_ratio"] > 2


@pytest.mark.parametrize(
    "options",
    [{"checks": ["speed"]}, {"alpha": 0.0}, {"min_odds_ratio": 0.5}, {"by": ("colour",)}],
)
def test_bad_settings_are_named_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        find_anomalies(_clean(), **options)


def test_other_inputs_are_refused_with_a_hint() -> None:
    with pytest.raises(ConfigError, match=r"Ledger\.from_events"):
        find_anomalies(_clean().events)  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None)
@given(st.permutations([f"rep{i:02d}" for i in range(1, 11)]))
def test_renaming_reps_renames_flags_only(names: list[str]) -> None:
    # Invariant: a flag depends on what a rep did, not on their id or its sort order.
    history = _planted_fast()
    mapping = dict(zip([f"rep{i:02d}" for i in range(1, 11)], names, strict=True))
    frame = history.to_frame()
    frame["rep_id"] = frame["rep_id"].map(mapping)
    renamed = find_anomalies(History(frame, tz=history.tz))
    original = find_anomalies(history)
    assert sorted((a.kind, mapping.get(a.rep_id or "")) for a in original) == sorted(
        (a.kind, a.rep_id) for a in renamed
    )


@cache
def _planted_fast() -> History:
    def plant(frame: pd.DataFrame) -> None:
        mine = (frame["rep_id"] == "rep02") & frame["converted"]
        frame.loc[mine, "converted_at"] = frame.loc[mine, "assigned_at"] + pd.Timedelta(minutes=2)

    return _planted(plant)[0]
