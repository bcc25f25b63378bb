"""Playbooks load into working Routers; bad ones fail with the file, key and what is allowed;
the CLI validates playbooks and routes files of leads."""

from __future__ import annotations

import csv
import random
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

import leadrouter as lr
from leadrouter.cli import main
from leadrouter.playbooks import PlaybookError, load_playbook, read_playbook
from leadrouter.testing.checks import sample_lead

from .conftest import T0

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOKS = sorted((ROOT / "strategies").glob("*.toml"))


def test_the_promised_playbooks_ship() -> None:
    names = {path.stem for path in PLAYBOOKS}
    assert {"small-team-no-data", "quota-month", "performance-after-ramp"} <= names
    for path in PLAYBOOKS:
        assert path.read_text(encoding="utf-8").startswith("#"), f"{path.name}: no header"


@pytest.mark.parametrize("path", PLAYBOOKS, ids=[p.stem for p in PLAYBOOKS])
def test_every_playbook_routes_synthetic_leads_safely(path: Path) -> None:
    clock = lr.ManualClock(T0)
    router = load_playbook(path, clock=clock)
    rng = random.Random(1)
    for i in range(150):
        now = T0 + timedelta(minutes=20 * i)
        clock.set(now)
        router.tick(now)
        decision = router.route(sample_lead(i, now, rng), now=now)
        if decision.rep_id is not None:
            assert router.roster[decision.rep_id].active
            if rng.random() < 0.7:
                router.record(
                    lr.Touched(decision.lead_id, decision.rep_id, now, reached=rng.random() < 0.5)
                )
        pooled = [lid for lid in router.ledger.pool() if lid != decision.lead_id]
        if pooled and rng.random() < 0.3:
            router.claim(rng.choice(router.reps).id, pooled[0], now=now)
    ledger = router.ledger
    places: Counter[str] = Counter()
    for rep in router.reps:
        places.update(ledger.book(rep.id))
    for name in ledger.pools():
        places.update(ledger.pool(name))
    assert all(places[lid] == 1 for lid in ledger.lead_ids()), "a lead is lost or duplicated"
    for cap in router.caps:
        if isinstance(cap, lr.FixedCap) and cap.open is not None:
            assert all(ledger.book_size(rep.id) <= cap.open for rep in router.reps)


def _write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


REPS = '\n[[reps]]\nid = "a"\n[[reps]]\nid = "b"\n'


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[strategy]\nname = "Nope"' + REPS, "strategy.name: unknown name 'Nope'; allowed: Equal"),
        ('[strategy]\nname = "EqualRotation"\ncolour = 1' + REPS, "unknown key(s) ['colour']"),
        (
            '[strategy]\nname = "EqualRotation"\n[lifecycle]\nfirst_touch_sla = "soon"' + REPS,
            "lifecycle.first_touch_sla: expected a duration",
        ),
        ('[strategy]\nname = "EqualRotation"\n', "no reps"),
        (
            '[strategy]\nname = "EqualRotation"\n[[rules]]\nname = "vip"' + REPS,
            "rules[0].name: unknown rule 'vip'",
        ),
        ('[strategy]\nname = "EqualRotation"\n[[caps]]\nopen = -1' + REPS, "caps[0]"),
        ('[strategy]\nname = "EqualRotation"' + REPS + REPS, "appear twice"),
        ('[strategy]\nname = "QuotaProportional"\nperiod = "fortnight"' + REPS, "period"),
        ("strategy = 3" + REPS, "strategy: expected a table"),
        ("[strategy\nname=", "not valid TOML"),
        ('[stratgy]\nname = "EqualRotation"' + REPS, "unknown key(s) ['stratgy']"),
    ],
)
def test_bad_playbooks_name_file_key_and_allowed_values(
    tmp_path: Path, text: str, words: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(PlaybookError) as info:
        load_playbook(path)
    assert str(path) in str(info.value)
    assert words in str(info.value)
    assert isinstance(info.value, lr.ConfigError)


def test_roster_file_rows_are_checked(tmp_path: Path) -> None:
    (tmp_path / "reps.csv").write_text("id,quota\na,1\nb,lots\n", encoding="utf-8")
    path = _write(tmp_path, 'roster = "reps.csv"\n[strategy]\nname = "EqualRotation"\n')
    with pytest.raises(PlaybookError, match=r"reps.csv row 3.*quota: expected a number"):
        read_playbook(path)


def test_durations_and_nested_settings(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[strategy]
name = "Hierarchical"
team = { name = "EqualRotation" }
rep = { name = "QuotaProportional", period = "week" }
[lifecycle]
first_touch_sla = "PT45M"
expire_after = "2w"
working_hours = { tz = "Asia/Shanghai", start = "09:00", end = "18:00" }
[router]
seed = 5
[[reps]]
id = "a"
team = "x"
quota = 2
[[reps]]
id = "b"
team = "y"
quota = 1
""",
    )
    settings = read_playbook(path)
    assert settings["lifecycle"].first_touch_sla == timedelta(minutes=45)
    assert settings["lifecycle"].expire_after == timedelta(weeks=2)
    assert settings["lifecycle"].working_hours is not None
    assert settings["strategy"].rep.period == "week"
    assert load_playbook(path).seed == 5


def test_cli_check_prints_settings_and_sample_decisions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(ROOT / "strategies" / "small-team-no-data.toml")]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "EqualRotation()" in out and "first-touch SLA 30m" in out
    assert out.count("lead") >= 12


def test_cli_check_reports_bad_playbook_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, '[strategy]\nname = "Nope"' + REPS)
    assert main(["check", str(path)]) == 2
    assert "unknown name 'Nope'" in capsys.readouterr().err


def _leads_csv(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    path = tmp_path / "leads.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["lead_id", "arrived_at", "region", "score"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_cli_route_writes_decisions_with_reasons(tmp_path: Path) -> None:
    rows = [
        {
            "lead_id": f"L{i}",
            "arrived_at": f"2026-01-05 09:{i:02d}",
            "region": "north" if i % 2 else "south",
            "score": "0.5",
        }
        for i in range(20)
    ]
    leads = _leads_csv(tmp_path, rows)
    out = tmp_path / "out" / "decisions.csv"
    code = main(
        [
            "route",
            str(ROOT / "strategies" / "small-team-no-data.toml"),
            str(leads),
            "--out",
            str(out),
            "--tz",
            "Asia/Shanghai",
        ]
    )
    assert code == 0
    with out.open(encoding="utf-8") as handle:
        decided = list(csv.DictReader(handle))
    assert [row["lead_id"] for row in decided] == [f"L{i}" for i in range(20)]
    north = {"wang", "li", "chen", "yang"}
    for row in decided:
        assert row["action"] == "assigned" and row["reasons"]
        if row["lead_id"] in {f"L{i}" for i in range(1, 20, 2)}:
            assert row["rep_id"] in north


def test_cli_route_rejects_bad_rows_naming_row_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"lead_id": "L1", "arrived_at": "2026-01-05T09:00+08:00", "region": "", "score": ""},
        {"lead_id": "L2", "arrived_at": "yesterday", "region": "", "score": ""},
        {"lead_id": "L1", "arrived_at": "2026-01-05T09:00+08:00", "region": "", "score": ""},
        {"lead_id": "L4", "arrived_at": "2026-01-05T09:00+08:00", "region": "", "score": "x"},
    ]
    out = tmp_path / "d.csv"
    code = main(
        [
            "route",
            str(ROOT / "strategies" / "small-team-no-data.toml"),
            str(_leads_csv(tmp_path, rows)),
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "3 row(s) cannot be used" in err
    assert "row 3, column 'arrived_at': 'yesterday' is not a time" in err
    assert "row 4, column 'lead_id': lead id 'L1' is already in row 2" in err
    assert "row 5, column 'score': 'x' is not a number" in err


def test_python_dash_m_works() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "leadrouter",
            "check",
            str(ROOT / "strategies" / "quota-month.toml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "QuotaProportional" in result.stdout
