"""analyse(): the command's fit -> calibrate -> preflight -> compare -> sensitivity as one call.

A notebook and `leadrouter compare` walk the same steps: the stages are reported in order, the
comparison equals `compare` run by hand with the same model, a policy that cannot run is skipped
with why, and a baseline that cannot run is a named error.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import leadrouter as lr
from leadrouter.errors import ConfigError, PolicyCannotRunError
from leadrouter.sim import History, compare, fit_behaviour, load_export, synthetic
from leadrouter.sim.analysis import Analysis, analyse


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> History:
    path = synthetic(n_leads=400, n_reps=4, days=10, seed=8).to_csv(
        tmp_path_factory.mktemp("export") / "export.csv"
    )
    return load_export(path)


@pytest.fixture(scope="module")
def found(loaded: History) -> tuple[Analysis, list[str]]:
    stages: list[str] = []
    policies: dict[str, Any] = {
        "rotation": lr.EqualRotation(),
        "quota": lr.QuotaProportional(),  # the export's reps have no quota: skipped
        "performance": lr.PerformanceWeighted(),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis = analyse(
            loaded,
            policies,
            seeds=4,
            sensitivity_seeds=1,
            on_stage=lambda name, value: stages.append(name),
        )
    return analysis, stages


def test_the_stages_run_in_the_commands_order(found: tuple[Analysis, list[str]]) -> None:
    assert found[1] == [
        "model",
        "calibration",
        "skipped",
        "checks",
        "comparison",
        "warnings",
        "sensitivity",
    ]


def test_a_policy_that_cannot_run_is_skipped_with_why(found: tuple[Analysis, list[str]]) -> None:
    analysis = found[0]
    assert set(analysis.skipped) == {"quota"}
    assert "quota" in analysis.skipped["quota"].lower()
    assert analysis.comparison.policies == ("rotation", "performance")
    assert analysis.comparison.calibration is analysis.calibration


def test_the_comparison_is_compare_with_the_fitted_model(
    found: tuple[Analysis, list[str]], loaded: History
) -> None:
    analysis = found[0]
    by_hand = compare(
        loaded,
        {"rotation": lr.EqualRotation(), "performance": lr.PerformanceWeighted()},
        seeds=4,
        behaviour=fit_behaviour(loaded),
        calibrate=False,
    )
    pd.testing.assert_frame_equal(analysis.comparison.table(), by_hand.table())
    assert analysis.sensitivity is not None
    assert set(analysis.sensitivity["policy"]) == {"rotation", "performance"}


def test_the_report_is_written(found: tuple[Analysis, list[str]], tmp_path: Path) -> None:
    paths = found[0].write_report(tmp_path / "report", title="Notebook run")
    assert "Notebook run" in paths.html.read_text(encoding="utf-8")
    assert paths.markdown.is_file()


def test_a_baseline_that_cannot_run_is_a_named_error(loaded: History) -> None:
    policies: dict[str, Any] = {"quota": lr.QuotaProportional(), "rotation": lr.EqualRotation()}
    with pytest.raises(PolicyCannotRunError, match="baseline 'quota'"):
        analyse(loaded, policies, seeds=4, baseline="quota", sensitivity_seeds=0)
    with pytest.raises(PolicyCannotRunError, match="no policy"):
        analyse(loaded, {"quota": lr.QuotaProportional()}, seeds=4, sensitivity_seeds=0)
    with pytest.raises(ConfigError, match="at least one policy"):
        analyse(loaded, {}, seeds=4)


def test_a_history_too_small_to_fit_is_refused_not_reported(loaded: History) -> None:
    """A one-row export gave a full report of invented levels (conversion 24.6%, "the data
    cannot tell apart"): below 30 leads with a rep there is nothing to learn reps from."""
    from leadrouter.errors import InvalidExportError

    tiny = History.from_frame(loaded.to_frame().head(5), tz=loaded.tz)
    with pytest.raises(InvalidExportError, match=r"only \d leads? with a rep .*too few to learn"):
        analyse(tiny, {"rotation": lr.EqualRotation()}, seeds=4, sensitivity_seeds=0)


@pytest.mark.parametrize(
    ("owner", "fix"),
    [
        (
            None,
            "no column was read as the rep (owner): export the lead owner's column, or name "
            "yours with --columns rep_id='Owner Name' (columns={'Owner Name': 'rep_id'} in Python)",
        ),
        ("", "its column 'owner' is empty in every row: export the leads with their owner"),
    ],
    ids=["no-owner-column", "empty-owner-column"],
)
def test_an_export_without_owners_is_told_to_map_or_fill_them_not_to_export_longer(
    loaded: History, owner: str | None, fix: str
) -> None:
    """Hundreds of leads and no rep: the fix is the owner column, which a longer period of the
    same export would not give."""
    from leadrouter.errors import InvalidExportError

    frame = loaded.to_frame().drop(columns=["rep_id"])
    if owner is not None:
        frame["owner"] = owner
    unowned = History.from_frame(frame, tz=loaded.tz)
    with pytest.raises(InvalidExportError, match=r"only 0 leads with a rep") as refused:
        analyse(unowned, {"rotation": lr.EqualRotation()}, seeds=4, sensitivity_seeds=0)
    assert str(refused.value).endswith(fix)
    assert "longer period" not in str(refused.value)
