"""History: one row per lead in, the same rows back out of a CSV, and events the ledger accepts."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter.errors import InvalidValueError, NaiveDatetimeError
from leadrouter.sim import History, load_export, synthetic
from leadrouter.sim.history import COLUMNS, LOGGED_BY


@pytest.fixture(scope="module")
def team() -> History:
    return synthetic(n_leads=600, n_reps=5, days=10, seed=3)


def test_round_trip_through_csv_gives_an_equal_frame(team: History, tmp_path: Path) -> None:
    path = team.to_csv(tmp_path / "team.csv")
    assert path == tmp_path / "team.csv"
    again = load_export(path)
    pd.testing.assert_frame_equal(team.to_frame(), again.to_frame())
    assert again.rejected.empty and again.flagged.empty
    assert [rep.id for rep in again.roster] == [rep.id for rep in team.roster]


def test_round_trip_in_gb18030(team: History, tmp_path: Path) -> None:
    path = team.to_csv(tmp_path / "team_gbk.csv", encoding="gb18030")
    pd.testing.assert_frame_equal(team.to_frame(), load_export(path).to_frame())


def test_frame_has_the_export_fields_in_order(team: History) -> None:
    frame = team.to_frame()
    assert tuple(frame.columns) == COLUMNS
    assert str(frame["arrived_at"].dt.tz) == "UTC"
    assert frame["arrived_at"].is_monotonic_increasing
    assert frame["lead_id"].is_unique


def test_events_replay_in_a_ledger_and_match_the_frame(team: History) -> None:
    events = team.events
    ledger = lr.Ledger.from_events(events)
    frame = team.to_frame()
    assert [e.at for e in events] == sorted(e.at for e in events)
    assigned = [e for e in events if isinstance(e, lr.Assigned)]
    assert {e.by for e in assigned} == {LOGGED_BY}
    assert len(assigned) == frame["rep_id"].notna().sum()
    assert sum(isinstance(e, lr.Arrived) for e in events) == len(frame)
    assert sum(isinstance(e, lr.Converted) for e in events) == frame["converted"].sum()
    touches = [e for e in events if isinstance(e, lr.Touched)]
    assert len(touches) == frame["first_touch_at"].notna().sum()
    assert sum(e.reached for e in touches) == frame["reached"].sum()
    for rep in team.roster:
        mine = frame[frame["rep_id"] == rep.id]
        stats = ledger.stats(rep.id)
        assert stats.received == len(mine)
        assert stats.converted == mine["converted"].sum()
        assert stats.revenue == pytest.approx(mine["amount"].sum())
        assert stats.valid == (mine["valid"] == True).sum()  # noqa: E712 - NA is neither
    by_lead = {e.lead_id: e for e in events if isinstance(e, lr.Converted)}
    for row in frame[frame["converted"]].itertuples():
        assert by_lead[row.lead_id].at == row.converted_at
        assert by_lead[row.lead_id].amount == row.amount


def test_leads_match_the_frame_and_are_local_to_tz(team: History) -> None:
    leads, frame = team.leads, team.to_frame()
    assert [lead.id for lead in leads] == frame["lead_id"].tolist()
    first, row = leads[0], frame.iloc[0]
    assert first.arrived_at == row["arrived_at"]
    assert first.arrived_at.utcoffset() == timedelta(hours=8)  # Asia/Shanghai
    assert (first.source, first.cost, first.score) == (row["source"], row["cost"], row["score"])
    assert first.grade == row["grade"] and first.contact == row["contact"]


def test_views_are_copies(team: History) -> None:
    frame, rejected = team.to_frame(), team.rejected
    frame.loc[0, "source"] = "changed"
    rejected.loc[0] = [1, "x", "y"]
    team.leads.clear()
    team.events.clear()
    assert team.to_frame().loc[0, "source"] != "changed"
    assert len(team.leads) == 600
    assert team.events
    assert team.rejected.empty
    assert list(team.rejected.columns) == ["row", "column", "reason"]
    assert list(team.flagged.columns) == ["row", "column", "reason", "action"]


def test_lead_without_rep_only_arrives(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "lead_id": ["A", "B"],
            "arrived_at": [datetime(2025, 3, 3, 9, tzinfo=UTC)] * 2,
            "rep_id": [None, "wang"],
            "amount": [None, 300.0],
        }
    )
    history = History.from_frame(frame)
    kinds = [(type(e).__name__, e.lead_id) for e in history.events]
    assert kinds == [
        ("Arrived", "A"),
        ("Arrived", "B"),
        ("Assigned", "B"),
        ("Converted", "B"),
    ]
    assert [rep.id for rep in history.roster] == ["wang"]


def test_from_frame_reads_a_table_as_load_export_reads_it_from_a_file(tmp_path: Path) -> None:
    """History.from_frame reads with the export reader (registered by leadrouter.sim.loader):
    the same headers recognised, the same rows rejected, numbered as a sheet numbers them."""
    table = pd.DataFrame(
        {
            "Lead ID": ["A", "B", "B", "C"],
            "Created": ["2025-03-03 09:00+08:00", "2025-03-03 10:00+08:00"] * 2,
            "Owner": ["wang", "li", "wang", "li"],
            "Deal Amount": ["", "300", "", "twelve"],
        }
    )
    path = tmp_path / "export.csv"
    table.to_csv(path, index=False)
    read, loaded = History.from_frame(table), load_export(path)
    pd.testing.assert_frame_equal(read.to_frame(), loaded.to_frame())
    pd.testing.assert_frame_equal(read.rejected, loaded.rejected)
    headers = {
        "lead_id": "Lead ID",
        "arrived_at": "Created",
        "rep_id": "Owner",
        "amount": "Deal Amount",
    }
    assert read.columns == loaded.columns == headers
    assert sorted(read.rejected["row"]) == [4, 5]
    assert (read.origin, loaded.origin) == ("DataFrame", str(path))


def test_to_csv_is_all_or_nothing(team: History, tmp_path: Path) -> None:
    frame = team.to_frame()
    frame.loc[0, "source"] = "😀"
    odd = History(frame, tz=team.tz)
    target = tmp_path / "odd.csv"
    with pytest.raises(InvalidValueError, match="cannot be written in gbk"):
        odd.to_csv(target, encoding="gbk")
    assert list(tmp_path.iterdir()) == []
    team.to_csv(target)
    assert [p.name for p in tmp_path.iterdir()] == ["odd.csv"]


def test_a_history_frame_must_have_one_row_per_lead(team: History) -> None:
    frame = pd.concat([team.to_frame().head(2), team.to_frame().head(1)])
    with pytest.raises(InvalidValueError, match="duplicate lead ids"):
        History(frame)


def test_repr_says_what_it_holds(team: History) -> None:
    text = repr(team)
    assert "synthetic(seed=3)" in text and "600 leads" in text and "5 reps" in text


# --------------------------------------------------------------------------- property


TEXT = st.text(
    alphabet=st.characters(categories=("L", "N", "P", "Zs", "S"), exclude_characters="\r"),
    max_size=6,
)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))])
TIMES = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2090, 1, 1), timezones=ZONES
)
MAYBE_TIME = st.none() | TIMES
MAYBE_BOOL = st.sampled_from([None, True, False])
MONEY = st.none() | st.floats(min_value=0, max_value=1e7, allow_nan=False)


@st.composite
def export_rows(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 8))
    rows: list[dict[str, Any]] = []
    for i in range(n):
        rows.append(
            {
                "lead_id": f"L{i}{draw(st.sampled_from(['', '-x', '号']))}",
                "arrived_at": draw(TIMES),
                "source": draw(TEXT),
                "segment": draw(TEXT),
                "grade": draw(st.none() | TEXT),
                "score": draw(st.none() | st.floats(0, 100, allow_nan=False)),  # 0-1 or 0-100
                "cost": draw(MONEY),
                "rep_id": draw(st.sampled_from([None, "wang", "李娜"])),
                "assigned_at": draw(MAYBE_TIME),
                "first_touch_at": draw(MAYBE_TIME),
                "reached": draw(MAYBE_BOOL),
                "valid": draw(MAYBE_BOOL),
                "converted_at": draw(MAYBE_TIME),
                "amount": draw(MONEY),
                "note": draw(st.none() | TEXT),
            }
        )
    return pd.DataFrame(rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=export_rows())
def test_any_history_survives_csv_and_replays(rows: pd.DataFrame, tmp_path_factory: Any) -> None:
    """Invariant: whatever a History holds (after the loader's adjustments), writing it to CSV and
    loading it back gives the same frame, and its events always replay in a ledger."""
    history = History.from_frame(rows)
    path = history.to_csv(tmp_path_factory.mktemp("prop") / "h.csv")
    again = load_export(path)
    pd.testing.assert_frame_equal(history.to_frame(), again.to_frame())
    assert all(reason.endswith("but no rep") for reason in again.flagged["reason"]), (
        "a written History needs no further adjustment"
    )
    ledger = lr.Ledger.from_events(history.events)
    assert len(list(ledger.lead_ids())) == len(history)
    frame = history.to_frame()
    for row in frame.itertuples():
        if row.converted and isinstance(row.rep_id, str):
            assert ledger.status(row.lead_id) == "converted"
        if not isinstance(row.rep_id, str):
            assert ledger.status(row.lead_id) == "pooled"
    assert not frame["amount"].map(lambda v: not math.isnan(v) and v < 0).any()


def test_a_history_frame_needs_aware_times(team: History) -> None:
    frame = team.to_frame()
    frame["arrived_at"] = frame["arrived_at"].dt.tz_localize(None)
    with pytest.raises(NaiveDatetimeError, match=r"History\.from_frame"):
        History(frame)


def test_stage_and_lost_at_round_trip_and_as_of_is_kept(tmp_path: Path) -> None:
    data = Path(__file__).parent / "data" / "pipedrive_deals.csv"
    history = load_export(data, tz="UTC", as_of="2025-06-30")
    assert set(history.to_frame()["stage"]) == {"won", "lost", "open"}
    again = load_export(history.to_csv(tmp_path / "deals.csv"))
    pd.testing.assert_frame_equal(again.to_frame(), history.to_frame())
    assert history.as_of == datetime(2025, 6, 30, 23, 59, 59, 999999, tzinfo=UTC)


def test_a_plain_history_writes_no_stage_columns_and_its_as_of_is_its_latest_time(
    team: History, tmp_path: Path
) -> None:
    header = team.to_csv(tmp_path / "t.csv").read_text(encoding="utf-8").split("\n", 1)[0]
    assert "stage" not in header and "lost_at" not in header
    frame = team.to_frame()
    assert frame["stage"].isna().all()
    latest = max(frame[c].max() for c in ("arrived_at", "first_touch_at", "converted_at"))
    assert team.as_of == latest.to_pydatetime()


def test_a_frame_from_to_frame_keeps_its_zone_when_read_back() -> None:
    """to_frame() gives UTC times; reading it back without tz= used to make local days UTC days
    (a Shanghai team's working hours read as 01:00-10:00)."""
    history = synthetic(120, 3, 5, seed=1)
    assert history.tz != "UTC"
    frame = history.to_frame().assign(cost=1.0)
    assert History.from_frame(frame).tz == history.tz
    assert History.from_frame(frame, tz="UTC").tz == "UTC"
