"""examples/compare_policies.py runs on the bundled export and gives a well-formed comparison."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_compare_example_runs_and_baseline_difference_is_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    module = runpy.run_path(str(ROOT / "examples" / "compare_policies.py"))
    table = module["main"](seeds=4)
    assert list(table.index) == ["equal rotation", "performance", "utilization"]
    assert table.loc["equal rotation", "conversion_rate_diff"] == 0.0
    for policy in table.index:
        low, mid, high = (
            table.loc[policy, c]
            for c in ("conversion_rate_lo", "conversion_rate", "conversion_rate_hi")
        )
        assert 0.0 <= low <= mid <= high <= 1.0
    out = capsys.readouterr().out
    assert "300 leads, 6 reps" in out and "conversion_rate" in out
    assert out.index("Calibration:") < out.index("conversion_rate")
