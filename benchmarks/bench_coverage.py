"""Benchmark: do the simulator's 95% intervals cover the truth 95% of the time?

Run from the project root::

    python benchmarks/bench_coverage.py                    # 102 histories: the full study
    python benchmarks/bench_coverage.py --histories 12     # a quick look
    python benchmarks/bench_coverage.py --json out.json    # where the rows and summary go
    python benchmarks/bench_coverage.py --histories 1020 --resume coverage-rows.jsonl
                                  # keep each history's rows as it finishes; run again to go on
    python benchmarks/bench_coverage.py --resume coverage-rows.jsonl --done
                                  # the table of the histories finished so far; runs nothing
    python benchmarks/bench_coverage.py --resume coverage-rows.jsonl --done --histories 1020 \
        --json docs/analyst/coverage-study.json --markdown
                                  # the first 1,020 of them, in the form limits.md shows
    python benchmarks/bench_coverage.py --histories 1020 --resume new-rows.jsonl \
        --truth-from coverage-rows.jsonl
                                  # a changed fit on the same histories, at half the cost

A full study takes hours. With `--resume FILE` every finished history is written to FILE at once
and read back instead of run again, so a run that is stopped loses only the histories in flight,
and `--first N` runs a later part (histories N, N+1, ...) that one file gathers; the table is
always of the histories asked for. The file's first line holds the settings, and resuming with
other settings is refused. Every row keeps the per-seed values its interval was built from, so
another interval is measured on the same simulations in seconds
(`leadrouter.sim.coverage.recheck`), where running them again takes hours. With `--truth-from
FILE`, a history FILE holds takes its truth from there instead of simulating it again: the truth
depends on the history, the policies and the simulator, not on the fitted model, so a change to
the fit is measured on the same histories in about half the time (after a change to the
simulator itself, run the truth again).

What is measured (`leadrouter.sim.coverage.coverage_study`): synthetic histories of six shapes
(`SHAPES`: team size, volume, busyness and how much reps differ), each with its known generating
process. Per history, five policies (equal rotation as the baseline, performance- and
utilisation-weighted, profile matching, tiered delay) are simulated under the exact truth with
`--truth-seeds` seeds (their mean is the true expected outcome) and compared as an analyst would,
with a model fitted from the history and `--seeds` replicates. For `conversion_rate`, `revenue`,
`speed_to_lead_median` and `coverage`, per policy: the share of histories whose level interval
covers the true level and whose difference interval covers the true difference to the baseline,
the mean signed error, the mean half-width and their ratio.

The aim: 93-97% coverage in every row over >= 100 histories, and a mean error under a fifth of
the mean half-width. Rows outside it are marked. A share over ~100 histories is itself noisy
(exactly-95% intervals land outside 93-97% about one row in three), so each row also gets the
binomial test of its covered count against 95% (`p(95%)`), and the rows that depart from 95% by
more than chance (Bonferroni over the rows) are listed. docs/analyst/limits.md shows the latest
table. A full run takes about an hour on two cores; it is a `make bench` step. The truth's own
Monte Carlo error (30 seeds) is reported beside each row and is small next to the intervals.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import pandas as pd

from leadrouter.sim.coverage import coverage_study, read_rows_file, summarise, verdicts


def _show(summary: pd.DataFrame) -> str:
    lines = [
        f"{'policy':<22}{'metric':<22}{'kind':<7}{'n':>5}{'covered':>9}{'mean error':>14}"
        f"{'half-width':>14}{'err/hw':>8}{'p(95%)':>8}  aim"
    ]
    for _, row in summary.iterrows():
        lines.append(
            f"{row['policy']:<22}{row['metric']:<22}{row['kind']:<7}{row['histories']:>5}"
            f"{row['coverage']:>9.0%}{row['mean_error']:>14.4g}{row['mean_half_width']:>14.4g}"
            f"{row['error_over_half_width']:>8.2f}{row['p_nominal']:>8.3f}  {row['aim']}"
        )
    return "\n".join(lines)


_METRIC_WORDS = {
    "conversion_rate": "conversion",
    "revenue": "revenue",
    "speed_to_lead_median": "speed (median min)",
    "coverage": "SLA coverage",
}


def markdown(summary: pd.DataFrame) -> str:
    """The summary as docs/analyst/limits.md shows it: one line per (policy, metric), the level
    and the difference side by side (the baseline has no difference)."""
    lines = [
        "| policy | metric | level: covered | level: err / half-width | level: p(95%) | "
        "difference: covered | difference: err / half-width | difference: p(95%) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows = summary.set_index(["policy", "metric", "kind"])
    for policy, metric in dict.fromkeys(zip(summary["policy"], summary["metric"], strict=True)):
        cells = [policy, _METRIC_WORDS.get(metric, metric)]
        for kind in ("level", "diff"):
            if (policy, metric, kind) not in rows.index:
                cells += ["(baseline)", "", ""]
                continue
            row = rows.loc[(policy, metric, kind)]
            error = row["error_over_half_width"]
            cells += [f"{row['coverage']:.0%}", f"{error:.2f}", f"{row['p_nominal']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--histories",
        type=int,
        help="synthetic histories (102); with --done, the first N the file holds (all)",
    )
    parser.add_argument("--seeds", type=int, default=20, help="replicates per comparison (20)")
    parser.add_argument("--truth-seeds", type=int, default=30, help="seeds for the truth (30)")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--first", type=int, default=0, help="number of the first history (0)")
    parser.add_argument(
        "--resume", type=Path, help="JSON-lines file of finished histories, read and extended"
    )
    parser.add_argument(
        "--truth-from",
        type=Path,
        help="an earlier study's rows file of the same settings, whose truth is reused",
    )
    parser.add_argument(
        "--done",
        action="store_true",
        help="summarise the histories the --resume file holds so far, and run nothing",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=Path("coverage.json"),
        help="the summary (coverage.json); a run writes its rows beside it (coverage.rows.json)",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="also print the table as limits.md shows it"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        elapsed = time.perf_counter() - started
        print(f"  {done}/{total} histories, {elapsed:.0f} s", file=sys.stderr, flush=True)

    if args.done:
        if args.resume is None:
            parser.error("--done summarises a --resume file: name it")
        settings, rows = read_rows_file(args.resume)
        if args.histories is not None:
            rows = rows[rows["history"].isin(sorted(rows["history"].unique())[: args.histories])]
        args.histories, args.seeds = rows["history"].nunique(), settings["seeds"]
        args.truth_seeds = settings["truth_seeds"]
    else:
        args.histories = args.histories or 102
        rows = coverage_study(
            histories=args.histories,
            seeds=args.seeds,
            truth_seeds=args.truth_seeds,
            processes=args.processes,
            progress=progress,
            first=args.first,
            resume=args.resume,
            truth_from=args.truth_from,
        )
    if not args.done:  # with --done the rows are the --resume file's already
        rows.to_json(args.json.with_suffix(".rows.json"), orient="records")
    summary = summarise(rows)
    summary["aim"] = verdicts(summary)
    overall = summarise(rows.assign(all="all"), by=("all", "kind"))
    elapsed = time.perf_counter() - started
    print(
        f"Coverage of 95% intervals: {args.histories} histories, {args.seeds} replicates, truth "
        f"from {args.truth_seeds} seeds ({elapsed:.0f} s on {platform.machine()}, Python "
        f"{platform.python_version()})\n"
    )
    print(_show(summary))
    print()
    for _, row in overall.iterrows():
        print(f"all {row['kind']} intervals: {row['coverage']:.1%} covered")
    print(f"rows within the aim: {(summary['aim'] == 'ok').sum()} of {len(summary)}")
    departing = summary[summary["p_nominal"] < 0.05 / len(summary)]
    print(
        f"rows whose coverage departs from 95% by more than chance (binomial test, 5% over "
        f"{len(summary)} rows): {len(departing)}"
        + "".join(
            f"\n  {r['policy']} {r['metric']} {r['kind']}: {r['coverage']:.1%}"
            for _, r in departing.iterrows()
        )
    )
    args.json.write_text(
        json.dumps(
            {
                "histories": args.histories,
                "seeds": args.seeds,
                "truth_seeds": args.truth_seeds,
                "seconds": None if args.done else round(elapsed, 1),
                "summary": summary.to_dict("records"),
                "overall": overall.to_dict("records"),
            },
            indent=1,
            default=float,
        )
    )
    if args.markdown:
        print("\n" + markdown(summary))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
