"""CRM export profiles and outcomes from a stage or status column (tests/data/ fixtures)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from leadrouter.errors import ConfigError, InvalidValueError, StageAsConvertedError
from leadrouter.sim.history import History
from leadrouter.sim.loader import load_export
from leadrouter.sim.profiles import Outcomes

DATA = Path(__file__).parent / "data"

# file, profile, {field: header} it must give, status header, won values, lost values,
# lost-reason header (a non-blank one marks a not-won row lost)
CASES = [
    ("b2b_pipeline.csv", "generic",
     {"lead_id": "opportunity_id", "arrived_at": "engage_date", "rep_id": "sales_agent",
      "amount": "close_value", "converted_at": "close_date", "lost_at": "close_date"},
     "deal_stage", {"Won"}, {"Lost"}, None),
    ("salesforce_opportunities.csv", "Salesforce Opportunities",
     {"lead_id": "Opportunity ID", "arrived_at": "Created Date", "rep_id": "Opportunity Owner",
      "amount": "Amount", "converted_at": "Close Date", "lost_at": "Close Date",
      "source": "Lead Source"},
     "Stage", {"Closed Won"}, {"Closed Lost"}, None),
    ("salesforce_leads.csv", "Salesforce Leads",
     {"lead_id": "Lead ID", "arrived_at": "Create Date", "rep_id": "Lead Owner",
      "converted_at": "Converted Date", "grade": "Rating"},
     "Lead Status", {"Closed - Converted"}, {"Closed - Not Converted"}, None),
    ("hubspot_deals.csv", "HubSpot deals",
     {"lead_id": "Record ID", "arrived_at": "Create Date", "rep_id": "Deal owner",
      "amount": "Amount", "converted_at": "Close Date"},
     "Deal Stage", {"closedwon"}, {"closedlost"}, "Closed lost reason"),
    ("hubspot_contacts.csv", "HubSpot contacts",
     {"lead_id": "Record ID", "arrived_at": "Create Date", "rep_id": "Contact owner",
      "converted_at": "Became a Customer Date", "source": "Original Source"},
     "Lifecycle Stage", {"Customer"}, set(), None),
    ("pipedrive_deals.csv", "Pipedrive deals",
     {"lead_id": "Deal - ID", "arrived_at": "Deal - Deal created", "rep_id": "Deal - Owner",
      "amount": "Deal - Value", "converted_at": "Deal - Won time",
      "lost_at": "Deal - Lost time"},
     "Deal - Status", {"won"}, {"lost"}, "Deal - Lost reason"),
    ("zoho_deals.csv", "Zoho CRM deals",
     {"lead_id": "Record Id", "arrived_at": "Created Time", "rep_id": "Deal Owner",
      "amount": "Amount", "converted_at": "Closing Date"},
     "Stage", {"Closed Won"}, {"Closed Lost", "Closed-Lost to Competition"}, None),
    ("zoho_leads.csv", "Zoho CRM leads",
     {"lead_id": "Record Id", "arrived_at": "Created Time", "rep_id": "Lead Owner",
      "segment": "Industry"},
     "Lead Status", set(), {"Junk Lead", "Lost Lead", "Not Qualified"}, None),
    ("odoo_crm_lead.csv", "Odoo CRM (crm.lead)",
     {"lead_id": "ID", "arrived_at": "Created on", "rep_id": "Salesperson",
      "amount": "Expected Revenue", "converted_at": "Closed Date"},
     "Stage", {"Won"}, set(), "Lost Reason"),
    ("chinese_deals.csv", "generic",
     {"lead_id": "线索编号", "arrived_at": "创建时间", "rep_id": "负责人",
      "converted_at": "成交时间", "amount": "成交金额"},
     "销售阶段", {"成交"}, {"输单"}, None),
]  # fmt: skip


def _expected(path: Path, stage: str, won: set[str], lost: set[str], reason: str | None) -> dict:
    """Outcome counts read straight from the CSV, independently of the loader."""
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    counts = {"won": 0, "lost": 0, "open": 0, "rows": len(rows)}
    for row in rows:
        if row.get("engage_date", "x") == "":
            continue  # the B2B export's prospects have no engage date: rejected
        if row[stage] in won:
            counts["won"] += 1
        elif row[stage] in lost or (reason is not None and row[reason]):
            counts["lost"] += 1
        else:
            counts["open"] += 1
    return counts


@pytest.mark.parametrize(
    ("name", "profile", "fields", "stage", "won", "lost", "reason"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_each_profile_reads_fields_and_outcomes(
    name: str,
    profile: str,
    fields: dict[str, str],
    stage: str,
    won: set[str],
    lost: set[str],
    reason: str | None,
) -> None:
    history = load_export(DATA / name, tz="UTC")
    assert history.profile == profile
    assert history.columns["stage"] == stage
    for field, header in fields.items():
        assert history.columns[field] == header, field
    frame = history.to_frame()
    expected = _expected(DATA / name, stage, won, lost, reason)
    counts = frame["stage"].value_counts()
    for status in ("won", "lost", "open"):
        assert counts.get(status, 0) == expected[status], status
    assert len(history) + history.rejected["row"].nunique() == expected["rows"]
    assert history.outcomes["count"].sum() == len(history)
    # only won rows are sales, and every won row is one
    assert (frame["converted"] == (frame["stage"] == "won")).all()
    assert frame.loc[frame["stage"] != "won", "converted_at"].isna().all()
    assert frame.loc[frame["stage"] != "lost", "lost_at"].isna().all()


def test_a_close_date_is_a_sale_on_won_rows_a_loss_on_lost_rows_and_dropped_on_open() -> None:
    history = load_export(DATA / "b2b_pipeline.csv", tz="UTC")
    frame = history.to_frame().set_index("lead_id")
    with open(DATA / "b2b_pipeline.csv", encoding="utf-8") as f:
        raw = {row["opportunity_id"]: row for row in csv.DictReader(f)}
    for lead_id, row in frame.iterrows():
        close = raw[str(lead_id)]["close_date"]
        stage = raw[str(lead_id)]["deal_stage"]
        if stage == "Won":
            assert row["converted_at"] == pd.Timestamp(close, tz="UTC")
        elif stage == "Lost":
            assert row["lost_at"] == pd.Timestamp(close, tz="UTC") and not row["converted"]
        else:
            assert pd.isna(row["converted_at"]) and pd.isna(row["lost_at"])
    # the bug this fixes: lost deals with a close date counted as sales
    assert frame["converted"].sum() == 22 and (frame["stage"] == "lost").sum() == 15


def test_the_teams_own_stage_names_win_and_the_table_says_how_each_value_was_read() -> None:
    plain = load_export(DATA / "chinese_deals.csv", tz="Asia/Shanghai").outcomes
    row = plain.set_index("value").loc["已报价"]
    assert (row["outcome"], row["why"]) == ("open", "not recognised, so open")
    mine = load_export(DATA / "chinese_deals.csv", tz="Asia/Shanghai", won=["已报价"])
    table = mine.outcomes.set_index("value")
    assert (table.loc["已报价", "outcome"], table.loc["已报价", "why"]) == ("won", "given as won")
    assert table.loc["成交", "why"] == "recognised: won"
    assert (
        mine.to_frame()["converted"].sum()
        == plain.set_index("value").loc[["成交", "已报价"], "count"].sum()
    )


def test_a_stage_column_mapped_to_converted_says_to_map_it_to_stage() -> None:
    with pytest.raises(StageAsConvertedError) as python:
        load_export(DATA / "b2b_pipeline.csv", tz="UTC", columns={"deal_stage": "converted"})
    assert "columns={'deal_stage': 'stage'}" in str(python.value)
    with pytest.raises(StageAsConvertedError) as command:
        load_export(
            DATA / "b2b_pipeline.csv",
            tz="UTC",
            columns={"deal_stage": "converted"},
            audience="command",
        )
    assert "--columns stage=deal_stage" in str(command.value)
    assert "--won Signed" in str(command.value)


def test_won_and_lost_naming_one_value_is_an_error() -> None:
    with pytest.raises(ConfigError, match="both name"):
        load_export(DATA / "b2b_pipeline.csv", tz="UTC", won=["Engaging"], lost=["engaging"])


def test_as_of_a_date_is_the_end_of_that_day_and_defaults_to_the_latest_time() -> None:
    default = load_export(DATA / "b2b_pipeline.csv", tz="UTC")
    frame = default.to_frame()
    latest = max(frame[c].max() for c in ("arrived_at", "converted_at", "lost_at"))
    assert default.as_of == latest.to_pydatetime()
    given = load_export(DATA / "b2b_pipeline.csv", tz="UTC", as_of="2025-06-30")
    assert given.as_of == datetime(2025, 6, 30, 23, 59, 59, 999999, tzinfo=UTC)
    with pytest.raises(InvalidValueError, match="before the latest"):
        load_export(DATA / "b2b_pipeline.csv", tz="UTC", as_of="2025-03-10")


def test_inspect_names_profile_fields_outcomes_rejections_and_assumptions() -> None:
    text = load_export(DATA / "b2b_pipeline.csv", tz="UTC").inspect()
    assert "profile   generic" in text
    assert "outcomes  22 won, 15 lost, 15 open" in text
    assert "converted_at    close_date (won rows)" in text
    assert "lost_at         close_date (lost rows)" in text
    assert "Engaging  15    open     recognised: open" in text
    assert "8 rows (11 to 58), column 'engage_date': no arrival time" in text
    assert "valid           validity is assumed" in text
    assert "rep_id  " not in text.split("missing fields")[1]


def test_stage_values_are_checked_by_the_history() -> None:
    frame = load_export(DATA / "b2b_pipeline.csv", tz="UTC").to_frame()
    bad = frame.copy()
    bad.loc[0, "stage"] = "Closed Won"
    with pytest.raises(InvalidValueError, match="'won', 'lost', 'open' or missing"):
        History(bad)
    clash = frame.copy()
    lost = clash.index[clash["stage"] == "lost"][0]
    clash.loc[lost, "converted"] = True
    with pytest.raises(InvalidValueError, match="is converted but its stage is 'lost'"):
        History(clash)
    won = frame.copy()
    won["converted"] = False
    assert History(won).to_frame()["converted"].equals(frame["converted"])


@pytest.mark.parametrize(
    ("value", "outcome", "why"),
    [
        ("Closed Lost - No Budget", "lost", "recognised: lost (begins with 'Closed Lost')"),
        ("Closed Won – Renewal", "won", "recognised: won (begins with 'Closed Won')"),
        ("Lost: competitor", "lost", "recognised: lost (begins with 'Lost')"),
        ("Won (upsell)", "won", "recognised: won (begins with 'Won')"),
        ("Successfully realized", "won", "recognised: won"),  # Kommo / amoCRM
        ("Deal failed", "lost", "recognised: lost"),
        ("Negotiation - stalled", "open", "not recognised, so open"),
        ("未成交 - 价格", "open", "a won word negated, so not won: open (--lost if it means lost)"),
    ],
)
def test_a_stage_a_team_qualified_with_its_reason_is_read_as_the_stage(
    value: str, outcome: str, why: str
) -> None:
    """Teams add the reason to the stage (`Closed Lost - No Budget`): read as the stage it
    begins with, saying so, where it was read as open, a lost deal kept in a rep's book."""
    assert Outcomes(profile=None).outcome_of(value) == (outcome, why)


def test_a_qualified_stage_reads_the_teams_own_names_and_is_flagged_once_per_value(
    tmp_path: Path,
) -> None:
    """`Churned - price` is lost when the team says `Churned` is (and `Churned` is then a
    stage of the file); `Lost/Won` names two stages and stays open; each value read by the
    stage it begins with is flagged on the header row, with the option that reads it otherwise,
    since its reason may undo its stage (`Closed Won - Cancelled`)."""
    path = tmp_path / "deals.csv"
    stages = ["Churned - price", "Closed Won - Cancelled", "Lost/Won", "Closed Won - Cancelled"]
    rows = "".join(f"{n},2025-03-03 09:15,ann,{stage}\n" for n, stage in enumerate(stages, 1))
    path.write_text("lead_id,created_at,owner,stage\n" + rows, encoding="utf-8")
    history = load_export(path, tz="UTC", lost=["Churned"])
    assert history.to_frame().set_index("lead_id")["stage"].to_dict() == {
        "1": "lost",
        "2": "won",
        "3": "open",
        "4": "won",
    }
    assert history.flagged[["row", "reason", "action"]].values.tolist() == [
        [
            1,
            "stage 'Churned - price' read as lost: it begins with 'Churned'",
            "if its reason undoes the stage, give won=['Churned - price']",
        ],
        [
            1,
            "stage 'Closed Won - Cancelled' read as won: it begins with 'Closed Won'",
            "if its reason undoes the stage, give lost=['Closed Won - Cancelled']",
        ],
        [
            1,
            "stage 'Lost/Won' is not one leadrouter recognises: its rows are read as open (a "
            "deal still in progress)",
            "if it means won or lost, give won=['Lost/Won'] or lost=['Lost/Won']",
        ],
    ]


def test_a_stage_no_name_matches_is_flagged_with_the_options_that_read_it(
    tmp_path: Path,
) -> None:
    """A team's own word for a sale (`Paid`) was read as open, its sales kept open with no
    word outside `History.outcomes`: each such stage is flagged once on the header row, naming
    `won=` and `lost=`; a stage leadrouter knows, or one the team named, is not."""
    path = tmp_path / "leads.csv"
    stages = ["Paid", "Paid", "Working", "Closed Lost", "Nurture", "Signed"]
    rows = "".join(f"{n},2025-03-03 09:15,ann,{stage}\n" for n, stage in enumerate(stages, 1))
    path.write_text("lead_id,created_at,owner,stage\n" + rows, encoding="utf-8")
    flagged = load_export(path, tz="UTC").flagged
    assert flagged["reason"].str.extract(r"stage '(\w+)' is not one")[0].tolist() == [
        "Nurture",
        "Paid",
    ]
    assert set(flagged["row"]) == {1}
    assert "won=['Paid'] or lost=['Paid']" in flagged["action"].iloc[1]
    named = load_export(path, tz="UTC", won=["Paid"]).flagged["reason"]
    assert not named.str.contains("'Paid'").any()


def test_the_load_summary_counts_rows_without_a_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rows left without a stage are read by their amount or close date and flagged; the
    summary counts them apart, so its won / lost / open add up to the leads loaded."""
    path = tmp_path / "deals.csv"
    path.write_text(
        "lead_id,created_at,owner,stage,amount\n1,2025-03-03 09:15,ann,Closed Won,100\n"
        "2,2025-03-03 09:15,bob,,50\n3,2025-03-03 09:15,bob,,\n",
        encoding="utf-8",
    )
    load_export(path, tz="UTC")
    assert "3 loaded (1 won, 0 lost, 0 open, 2 without a stage)" in capsys.readouterr().err
