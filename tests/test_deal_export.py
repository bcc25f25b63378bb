"""Issue-level check: a raw B2B deal export as a CRM writes it - a deal stage column (Won / Lost /
Engaging), open deals, a close date on won and lost rows alike, an owner column, no contact
columns - loads without a column map, reproduces itself in calibration, and says how much its
reps differ in closing.

The export is a synthetic B2B team cut ten days before its end (`synthetic(..., as_of=10)`),
written with the headers of a public deal export, so the truth is known: deals close at 40-85%,
where the consumer-lead defaults (40% valid, contact from 75%) would allow about a quarter.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from leadrouter.sim import calibrate, fit_behaviour, load_export, synthetic
from tests.test_sim_replay import B2B as B2B_DEALS

B2B = {**B2B_DEALS, "rep_spread": (0.5, 0.2)}


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = synthetic(1500, 10, 60, seed=4, as_of=10, **B2B).to_frame()
    deals = frame.assign(
        deal_stage=frame["stage"].map({"won": "Won", "lost": "Lost", "open": "Engaging"}),
        close_date=frame["converted_at"].fillna(frame["lost_at"]),
    ).rename(
        columns={
            "lead_id": "opportunity_id",
            "rep_id": "sales_agent",
            "arrived_at": "engage_date",
            "amount": "close_value",
        }
    )
    columns = ["opportunity_id", "sales_agent", "product", "deal_stage", "engage_date"]
    path = tmp_path_factory.mktemp("deals") / "deals.csv"
    deals[[*columns, "close_date", "close_value"]].to_csv(path, index=False)
    return path


def test_a_raw_deal_export_loads_calibrates_and_says_how_much_reps_differ(export: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = load_export(export)
        frame = history.to_frame()
        assert set(frame["stage"].dropna()) == {"won", "lost", "open"}
        assert (frame["converted"] == (frame["stage"] == "won")).all()
        assert history.columns["rep_id"] == "sales_agent"

        model = fit_behaviour(history)
        verdict = calibrate(history, model, seeds=6)

    assert verdict.verdict == "pass", verdict.summary()
    checked = verdict.checks[verdict.checks["status"] == "pass"]["metric"]
    assert {"conversion_rate", "revenue_per_lead"} <= set(checked)
    # how much reps differ, with its interval, travels with the verdict into terminal and report
    assert model.rep_spread is not None and verdict.rep_spread == model.rep_spread
    spread = model.rep_spread
    assert spread.reps == 10 and spread.sd_lo <= spread.sd <= spread.sd_hi
    assert "in closing" in spread.describe()
    assert "open deals treated as censored" in " ".join(model.notes)


def test_a_won_or_lost_value_no_stage_has_is_flagged_on_the_header_row() -> None:
    """`lost=["Lostt"]` (a typo) used to be ignored without a word, the stage it meant read by
    the built-in names or left open: each such value is flagged, naming the file's stages."""
    history = load_export(
        Path(__file__).parent / "data" / "b2b_pipeline.csv", lost=["Lostt"], won=["won"], tz="UTC"
    )
    header = history.flagged[history.flagged["row"] == 1]
    assert header["reason"].tolist() == [
        "lost value 'Lostt' is no stage in the file (its stages: 'Engaging', 'Lost', "
        "'Prospecting', 'Won')"
    ]
    assert header["action"].tolist() == ["ignored: check its spelling"]
