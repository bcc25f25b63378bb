"""Benchmark: do the off-policy intervals cover the truth 95% of the time?

Run from the project root::

    python benchmarks/bench_evaluate.py                    # 100 histories
    python benchmarks/bench_evaluate.py --histories 8      # a quick look
    python benchmarks/bench_evaluate.py --json out.json    # where the rows and summary go

What is measured (`leadrouter.sim.evaluate`): synthetic histories of four shapes (`SHAPES`:
team size, volume, exploration share, how much reps differ), each routed by
`Explore(EqualRotation(), share)` with its propensities logged (`synthetic(..., logging=)`).
Per history, four policies (equal rotation, performance- and utilisation-weighted, profile
matching, set up as the demo sets them up) are evaluated from the log alone, and each
estimator's 95% interval (doubly robust, inverse propensity, self-normalised) is checked against
the exact truth: the mean over the leads of each lead's chance of a sale (and its expected
amount) with the rep the policy chose, everything logged before it as it was
(`Evaluation.truth()`, from `SyntheticTruth.if_assigned`). Per (policy, metric, estimator): the
share of histories covered, the mean error over the mean half-width, and the binomial test of
the covered count against 95% (`p(95%)`). docs/analyst/evaluate.md shows the latest table.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

import leadrouter as lr
from leadrouter.sim import synthetic
from leadrouter.sim.coverage import summarise
from leadrouter.sim.demo import demo_policies
from leadrouter.sim.evaluate import ESTIMATORS, METRICS, evaluate

SHAPES = (
    ("mid", {"n_leads": 1500, "n_reps": 10, "days": 30}, 0.2),
    ("small", {"n_leads": 900, "n_reps": 6, "days": 21}, 0.3),
    ("large", {"n_leads": 3000, "n_reps": 12, "days": 30}, 0.1),
    ("reps differ", {"n_leads": 2000, "n_reps": 8, "days": 30, "rep_spread": (0.7, 0.5)}, 0.3),
)
"""(name, synthetic keywords, exploration share)."""
POLICIES = ("equal-rotation", "performance-weighted", "utilization-weighted", "profile-matching")


def one(index: int) -> list[dict[str, Any]]:
    """The rows of one history: each policy x metric x estimator against the truth."""
    shape, keywords, share = SHAPES[index % len(SHAPES)]
    history = synthetic(
        **keywords, seed=1000 + index, logging=lr.Explore(lr.EqualRotation(), share=share)
    )
    every = demo_policies(history)
    result = evaluate(history, {name: every[name] for name in POLICIES}, seed=index)
    table, truth = result.table(), result.truth()
    rows = []
    for policy in POLICIES:
        for metric in METRICS:
            true = float(truth.loc[policy, metric])
            for estimator in ESTIMATORS:
                name = metric if estimator == "dr" else f"{metric}_{estimator}"
                lo, hi = (
                    float(table.loc[policy, f"{name}_lo"]),
                    float(table.loc[policy, f"{name}_hi"]),
                )
                rows.append(
                    {
                        "history": index,
                        "shape": shape,
                        "policy": policy,
                        "metric": metric,
                        "kind": estimator,
                        "truth": true,
                        "truth_se": 0.0,
                        "estimate": float(table.loc[policy, name]),
                        "lo": lo,
                        "hi": hi,
                        "covered": lo <= true <= hi,
                        "ess": float(table.loc[policy, "ess"]),
                    }
                )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--histories", type=int, default=100, help="synthetic histories (100)")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--json", type=Path, default=Path("evaluate-coverage.json"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with mp.get_context("spawn").Pool(args.processes) as pool:
        for done, part in enumerate(pool.imap_unordered(one, range(args.histories)), 1):
            rows.extend(part)
            print(f"\r{done}/{args.histories} histories", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    frame = pd.DataFrame(rows)
    summary = summarise(frame)
    ess = frame.groupby(["policy", "metric", "kind"], sort=False)["ess"].median()
    summary = summary.join(ess.rename("median_ess"), on=["policy", "metric", "kind"])
    minutes = (time.perf_counter() - started) / 60
    print(
        f"Off-policy coverage: {args.histories} histories, {minutes:.1f} min on "
        f"{platform.machine()} with {args.processes} processes\n"
    )
    print("| policy | metric | estimator | covered | err / half-width | p(95%) | median ESS |")
    print("|---|---|---|---|---|---|---|")
    for row in summary.itertuples(index=False):
        print(
            f"| {row.policy} | {row.metric} | {row.kind} | {row.coverage:.0%} | "
            f"{row.error_over_half_width:.2f} | {row.p_nominal:.2f} | {row.median_ess:,.0f} |"
        )
    overall = frame.groupby("kind")["covered"].mean()
    print("\nall rows: " + ", ".join(f"{kind} {share:.1%}" for kind, share in overall.items()))
    args.json.write_text(
        json.dumps(
            {"rows": rows, "summary": summary.to_dict(orient="records")}, indent=1, default=str
        )
    )
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
