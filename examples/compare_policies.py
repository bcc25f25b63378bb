"""Compare routing policies on the bundled sample export, with a behaviour model fitted from it.

Run it with ``python examples/compare_policies.py``. It is the analyst's path end to end in
Python (``leadrouter compare`` does the same from the command line, with a report): load an
export (the GBK file with Chinese headers), fit how the reps behave, check that the model
reproduces the history (the calibration verdict, printed first), then replay the same leads
through three policies with the same random numbers and print each metric's expected value with
its 95% interval and the paired difference to equal rotation.

Read the differences with the caveats of docs/analyst/limits.md: intervals cover the fitted
parameters' uncertainty, not errors in the model's form; conversion differences
rest on the fitted rep model while speed, load and fairness differences are mechanical
(``conversion_mechanical_diff`` is the part of a conversion difference that speed and contact
alone explain).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd

import leadrouter as lr
from leadrouter.sim import compare, fit_behaviour, load_export

SAMPLE = Path(__file__).parent / "data" / "sample_export_gbk.csv"
METRICS = ["conversion_rate", "speed_to_lead_median", "coverage", "wasted", "gini"]
DIFFS = ["conversion_rate_diff", "conversion_rate_diff_lo", "conversion_rate_diff_hi"]


def main(seeds: int = 20) -> pd.DataFrame:
    """Load, fit, compare; print and return the comparison table."""
    history = load_export(SAMPLE, tz="Asia/Shanghai")
    behaviour = fit_behaviour(history)
    print(f"{len(history.leads)} leads, {len(history.roster)} reps from {SAMPLE.name}")
    for gap in behaviour.gaps:
        print(f"  model gap: {gap}")
    result = compare(
        history,
        {
            "equal rotation": lr.EqualRotation(),
            "performance": lr.PerformanceWeighted(window=timedelta(days=14)),
            "utilization": lr.UtilizationWeighted(window=timedelta(days=14)),
        },
        seeds=seeds,
        behaviour=behaviour,
    )
    assert result.calibration is not None
    print(result.calibration.summary())
    table = result.table()
    shown = table[[*METRICS, *DIFFS, "conversion_mechanical_diff"]]
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(shown.round(3))
    return table


if __name__ == "__main__":
    main()
