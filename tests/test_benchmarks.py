"""`benchmarks/run_all.py --quick` runs every speed benchmark and writes one row per figure.

What this checks is the shape of the summary, not the speed: a timing assertion would fail on a
busy machine without any change to the code (docs/benchmarks.md). Every aim of the issue has a
row; the aims the quick sizes reach are judged (a boolean `met`), and those judged on a ratio
carry that ratio as a number.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

JUDGED_IN_QUICK = {
    "route_vs_loop": "ratio",
    "route_memory": "value",
    "strategy_PerformanceWeighted": "ratio",
    "strategy_UtilizationWeighted": "ratio",
    "strategy_QuotaProportional": "ratio",
    "sim_vs_heapq": "ratio",
    "sim_pull_vs_rotation": "ratio",
    "sim_tiered_vs_rotation": "ratio",
    "sim_100k": "value",
    "sim_1m_200reps": "value",
    "dynamic_caps_daily": "value",
    "store_sqlite_routes_4w": "value",
}
"""The aims a --quick run measures, and what each is judged on."""

NOT_IN_QUICK = {"sim_compare", "matching_5000x500", "store_open_1m", "store_pg_routes_4w"}
"""Aims measured only at full size (or with PostgreSQL): reported with no figure in --quick."""

FIELDS = {"benchmark", "measure", "value", "unit", "baseline", "ratio", "aim", "aim_id", "met"}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/run_all.py", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "LEADROUTER_TEST_PG": ""},  # no PostgreSQL figures: same rows anywhere
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8")), done.stdout


def test_every_aim_has_a_row_judged_with_its_ratio(quick_run: tuple[dict[str, Any], str]) -> None:
    data, _ = quick_run
    rows = data["rows"]
    assert isinstance(rows, list)
    for r in rows:
        assert r.keys() >= FIELDS, r
    by_aim: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["aim_id"] is not None:
            by_aim.setdefault(str(r["aim_id"]), []).append(r)
    assert set(by_aim) == set(JUDGED_IN_QUICK) | NOT_IN_QUICK
    for aim_id, on in JUDGED_IN_QUICK.items():
        for r in by_aim[aim_id]:
            assert isinstance(r["met"], bool), r
            assert _is_number(r["value"]), r
            assert str(r["aim"]).startswith(on), r
            if on == "ratio":
                assert _is_number(r["ratio"]), r
                assert r["ratio"] == pytest.approx(r["value"] / r["baseline"]), r
    for aim_id in NOT_IN_QUICK:
        (r,) = by_aim[aim_id]
        assert r["met"] is None and r["value"] is None and r["note"], r


def test_met_agrees_with_the_aim(quick_run: tuple[dict[str, Any], str]) -> None:
    data, _ = quick_run
    for r in data["rows"]:
        if r["met"] is None:
            continue
        on, op, limit = str(r["aim"]).split()
        figure = r[on]
        assert r["met"] == (figure <= float(limit) if op == "<=" else figure >= float(limit)), r


def test_run_details_and_one_table(quick_run: tuple[dict[str, Any], str]) -> None:
    data, printed = quick_run
    assert data["mode"] == "quick"
    assert {"date", "python", "machine", "git_commit", "seconds"} <= data.keys()
    assert data["failed"] == {}
    header = [line for line in printed.splitlines() if line.startswith("benchmark ")]
    assert len(header) == 1
    body = printed.split(header[0], 1)[1]
    for r in data["rows"]:
        if r["met"] is not None:
            (line,) = [line for line in body.splitlines() if r["measure"] in line]
            assert line.endswith(" met") and ("NOT met" in line) != r["met"], (line, r)


def test_a_sql_store_routes_beside_its_bare_transactions(
    quick_run: tuple[dict[str, Any], str],
) -> None:
    """Each SQL store's routes per second come with the same transactions made without the
    Router as their baseline, measured in the same run, per worker count."""
    data, _ = quick_run
    bare = [r for r in data["rows"] if r["measure"].endswith("vs its bare transactions")]
    assert {r["measure"].split(",")[1].strip() for r in bare} == {"1 worker(s)", "4 worker(s)"}
    for r in bare:
        assert r["measure"].startswith("sqlite routes/s")
        assert _is_number(r["baseline"]) and r["baseline"] > 0, r
        assert r["ratio"] == pytest.approx(r["value"] / r["baseline"]), r


def test_the_failed_operations_script_prints_each_ledger_beside_its_successful_batch() -> None:
    """`bench_failed_ops.py --quick` runs and prints, for every in-process ledger, a successful
    batch beside a refused one and one rolled back (its figures are speed: not asserted)."""
    done = subprocess.run(
        [sys.executable, "benchmarks/bench_failed_ops.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "LEADROUTER_TEST_PG": ""},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    (header,) = [line for line in lines if line.startswith("ledger ")]
    assert "route_many ok s" in header and "duplicate at end s" in header
    rows = [line.split()[0] for line in lines[lines.index(header) + 1 :] if line.strip()]
    assert rows == ["memory", "sqlite,", "sqlite,"]


def test_loading_each_date_form_is_beside_a_parse_that_knows_the_form(
    quick_run: tuple[dict[str, Any], str],
) -> None:
    """`bench_load.py --quick` loads an export in each of its five date forms, each beside
    `read_csv` + `to_datetime` with the exact format measured in the same run, with no aim."""
    data, _ = quick_run
    rows = [r for r in data["rows"] if r["benchmark"] == "bench_load"]
    forms = [r["measure"].split(" rows, ")[1].split(" times")[0] for r in rows]
    assert forms == ["ISO", "US", "Zoho", "dotted", "German"]
    for r in rows:
        assert "20,000 rows" in r["measure"] and r["aim"] is None and r["met"] is None, r
        assert _is_number(r["value"]) and _is_number(r["baseline"]) and r["baseline"] > 0, r
        assert r["ratio"] == pytest.approx(r["value"] / r["baseline"]), r
