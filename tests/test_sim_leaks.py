"""An owner recorded because of the outcome (issue 9, item 6): on an export whose rep_id is filled
only on converted leads, the fit takes rep effects as unknown and reproduces the history's own
sales rate over all leads, compare leaves sales differences blank with the reason, calibration
is not checkable, and the terminal and the report say in plain words that the export cannot tell
the policies apart on sales. A history without the leak is unchanged."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import leadrouter as lr
from leadrouter.sim import (
    Comparison,
    FittedBehaviour,
    GivenBehaviour,
    History,
    calibrate,
    compare,
    fit_behaviour,
    load_export,
    synthetic,
)
from leadrouter.sim.compare import CANNOT_TELL, sensitivity
from leadrouter.sim.metrics import METRIC_KINDS, METRICS
from leadrouter.sim.report import comparison_tables, sensitivity_line, write_report

ON_SALES = [m for m in METRICS if METRIC_KINDS[m] == "model"]
"""conversion_rate, revenue, roi, cost_per_sale."""

POLICIES = {
    "rotation": lr.EqualRotation(),
    "performance": lr.PerformanceWeighted(),
    "utilization": lr.UtilizationWeighted(),
}


def _leak(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """`frame` as a CRM that records the owner only when a deal is signed would export it."""
    frame = frame.copy()
    unsold = ~frame["converted"].astype(bool)
    for column in columns:
        frame[column] = frame[column].astype(object)
        frame.loc[unsold, column] = None
    return frame


@pytest.fixture(scope="module")
def clean() -> History:
    return synthetic(2000, 8, 30, seed=1)


@pytest.fixture(scope="module")
def leaked(clean: History, tmp_path_factory: pytest.TempPathFactory) -> History:
    """Owner, assignment, first touch, reached and valid filled only on converted leads, written
    to CSV and loaded back as any export is."""
    frame = _leak(clean.to_frame(), ("rep_id", "assigned_at", "first_touch_at", "reached", "valid"))
    path = tmp_path_factory.mktemp("leak") / "leaked.csv"
    frame.to_csv(path, index=False)
    return load_export(path)


@pytest.fixture(scope="module")
def model(leaked: History) -> FittedBehaviour:
    return fit_behaviour(leaked)


@pytest.fixture(scope="module")
def leaked_comparison(leaked: History, model: FittedBehaviour) -> Comparison:
    return compare(leaked, POLICIES, seeds=2, behaviour=model, calibration_seeds=2)


def _within_binomial(simulated: float, observed: float, n: int, slack: float = 0.0) -> bool:
    half = 1.96 * math.sqrt(observed * (1.0 - observed) / n) + slack
    return abs(simulated - observed) <= half


def test_the_leak_is_detected_and_rep_effects_are_unknown(model: FittedBehaviour) -> None:
    assert model.rep_effects_known is False
    assert "reps" in model.assumptions
    text = " ".join(model.gaps)
    assert "rep_id is filled on 100% of converted leads but 0% of the others" in text
    assert "rep effects are unknown" in text
    for name in ("assigned_at", "first_touch_at", "reached", "valid"):
        assert f"{name} is filled on 100% of converted leads" in text
    # no rep factors, no rep x segment pairs from the converted subset
    assert dict(model.rep_factor) == {}
    assert dict(model.numbers.conversion) == {}
    assert len(model.pairs) == 0
    # per-rep figures measured on the owned leads are replaced by team figures, said out loud
    assert len(set(model.numbers.capacity_per_day.values())) == 1
    assert dict(model.pickup_delays) == {}
    assert dict(model.numbers.neglect) == {}
    assert "capacity cannot be read per rep" in text
    assert "capacity" in model.assumptions["delay"]


def test_every_rep_closes_at_the_team_rate(leaked: History, model: FittedBehaviour) -> None:
    for lead in leaked.leads[:50]:
        rates = {model.p_convert(rep.id, lead) for rep in leaked.roster}
        assert len(rates) == 1
        assert rates == {model.p_convert_team(lead)}
    # a replicate and a varied model stay without reps
    assert model.replicate(3).rep_effects_known is False
    assert model.varied(decay=2.0).rep_effects_known is False


def test_conversion_over_all_leads_reproduces_the_history(
    leaked: History, model: FittedBehaviour
) -> None:
    """Not the owned subset's ~100% close rate: replaying a rotation over every lead sells at
    the history's own sales / leads rate, within a binomial interval."""
    observed = float(leaked.to_frame()["converted"].mean())
    n = len(leaked)
    rate = np.mean(
        [
            model.p_valid(lead) * model.p_contact("", lead, 30.0) * model.p_convert("", lead)
            for lead in leaked.leads
        ]
    )
    assert _within_binomial(float(rate), observed, n)
    simulated = _rotation_rate(leaked, model)
    assert _within_binomial(simulated, observed, n, slack=0.005)
    assert simulated < 1.3 * observed


def _rotation_rate(history: History, model: FittedBehaviour) -> float:
    """The conversion rate equal rotation simulates under `model` (its parameters fixed),
    averaged over four seeds."""
    run = compare(
        history,
        {"rotation": lr.EqualRotation()},
        seeds=4,
        behaviour=model,
        calibrate=False,
        parameter_draws=False,
    )
    return float(run.results["conversion_rate"].mean())


def test_touches_on_every_lead_still_fit_contact_but_not_reps(clean: History) -> None:
    """Only the owner (and assignment time) leaks: contact, validity and touch delays are read
    over every lead, reps stay unknown, and the sales rate is still the history's."""
    frame = _leak(clean.to_frame(), ("rep_id", "assigned_at"))
    owner_only = History.from_frame(frame)
    fitted = fit_behaviour(owner_only)
    assert fitted.rep_effects_known is False
    assert dict(fitted.rep_factor) == {}
    assert not any("first_touch_at is filled" in gap for gap in fitted.gaps)
    assert any("contact vs first-touch delay" in note for note in fitted.notes)
    assert "contact" not in fitted.assumptions
    assert len(set(fitted.numbers.capacity_per_day.values())) == 1
    observed = float(frame["converted"].mean())
    simulated = _rotation_rate(owner_only, fitted)
    assert _within_binomial(simulated, observed, len(frame), slack=0.005)


def test_sales_differences_are_not_identified(leaked_comparison: Comparison) -> None:
    table = leaked_comparison.table()
    others = ["performance", "utilization"]
    for metric in ON_SALES:
        for suffix in ("_diff", "_diff_lo", "_diff_hi"):
            assert table.loc[others, f"{metric}{suffix}"].isna().all(), (metric, suffix)
        assert table.loc["rotation", f"{metric}_diff"] == 0.0
        # levels stay: the model reproduces the history's rate, it cannot rank policies on it
        assert table[metric].notna().all()
    # mechanical differences are still shown
    assert table.loc[others, "speed_to_lead_median_diff"].notna().all()
    assert table.loc[others, "coverage_diff"].notna().all()
    assert set(leaked_comparison.not_identified) == set(others)
    for name in others:
        assert set(leaked_comparison.not_identified[name]) == set(ON_SALES)
    caveats = " ".join(leaked_comparison.caveats())
    assert CANNOT_TELL[0].upper() + CANNOT_TELL[1:] in caveats
    assert "owner (rep_id) mostly on converted leads" in caveats
    assert "not identifiable" in caveats
    driven = leaked_comparison.assumption_driven["performance"]
    assert "no rep can be told apart" in driven["conversion_rate"]


def test_calibration_is_not_checkable_with_why(
    leaked: History, model: FittedBehaviour, leaked_comparison: Comparison
) -> None:
    verdict = calibrate(leaked, model, seeds=2, warn=False)
    assert verdict.verdict == "not checkable"
    assert "recorded mostly on converted leads" in " ".join(verdict.reasons)
    assert "cannot be replayed" in verdict.summary()
    assert leaked_comparison.calibration is not None
    assert leaked_comparison.calibration.verdict == "not checkable"
    # whatever the model: the logged assignments are the sales alone
    given = GivenBehaviour(capacity_per_day={rep.id: 10.0 for rep in leaked.roster})
    assert calibrate(leaked, given, seeds=2, warn=False).verdict == "not checkable"


def test_terminal_and_report_say_it_in_plain_words(
    leaked: History, model: FittedBehaviour, leaked_comparison: Comparison, tmp_path: Path
) -> None:
    from rich.console import Console

    console = Console(record=True, width=220, color_system=None)
    for table in comparison_tables(leaked_comparison):
        console.print(table)
    text = console.export_text()
    assert CANNOT_TELL in text.lower()
    assert "not identifiable" in text
    assert not re.search(r"\bnan\b", text, re.IGNORECASE)
    paths = write_report(leaked_comparison, leaked, model, tmp_path, anomalies=False)
    for path in (paths.markdown, paths.html):
        page = path.read_text(encoding="utf-8")
        assert CANNOT_TELL in page.lower()
        assert "not identifiable" in page
        assert ">nan<" not in page.lower()
    assert not re.search(r"\bnan\b", paths.markdown.read_text(encoding="utf-8"), re.IGNORECASE)


def test_sensitivity_says_the_export_cannot_rank_on_sales(
    leaked: History, model: FittedBehaviour
) -> None:
    moved = sensitivity(
        leaked, {"rotation": lr.EqualRotation(), "performance": lr.PerformanceWeighted()}, model, 1
    )
    assert "owner (rep_id)" in moved.attrs["not_identified"]
    assert CANNOT_TELL in sensitivity_line(moved).lower()


def test_a_history_without_the_leak_is_unchanged(clean: History) -> None:
    fitted = fit_behaviour(clean)
    assert fitted.rep_effects_known is True
    assert "reps" not in fitted.assumptions
    assert len(fitted.rep_factor) == len(clean.roster)
    result = compare(clean, POLICIES, seeds=2, behaviour=fitted, calibrate=False)
    assert dict(result.not_identified) == {}
    table = result.table()
    for metric in ON_SALES:
        assert table.loc[["performance", "utilization"], f"{metric}_diff"].notna().all()
    assert not any(CANNOT_TELL in line.lower() for line in result.caveats())
