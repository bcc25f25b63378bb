"""`leadrouter compare`: end to end on a small export and on a small demo, the eight demo
policies, and bad input answered with a named one-line error and exit code 2."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from leadrouter._cli_output import LOCK, MANIFEST
from leadrouter.cli import BUILTIN_POLICIES, main
from leadrouter.sim import History, load_export, simulate, synthetic
from leadrouter.sim.demo import (
    DEMO_POLICIES,
    ILLUSTRATIVE_QUOTAS,
    demo_notes,
    demo_policies,
)

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOKS = ROOT / "strategies"
SMALL_DEMO = ["--demo-leads", "300", "--demo-reps", "4", "--demo-days", "10"]
QUOTA_PLAYBOOK = """
[strategy]
name = "QuotaProportional"

[[reps]]
id = "someone"
quota = 100
"""
HASTY_PLAYBOOK = """
[strategy]
name = "EqualRotation"

[lifecycle]
first_touch_sla = "5m"
reroute = true

[[reps]]
id = "someone"
"""


@pytest.fixture(scope="module")
def small() -> History:
    return synthetic(n_leads=300, n_reps=4, days=10, seed=5)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory, small: History) -> Path:
    return small.to_csv(tmp_path_factory.mktemp("export") / "team export.csv")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def error_line(err: str) -> str:
    """The one error line of a failed command, after checking there is exactly one and no
    traceback."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("leadrouter: error:")]
    assert len(lines) == 1, err
    return lines[0]


# --------------------------------------------------------------------------- end to end


def test_compare_an_export_prints_verdict_then_table_and_writes_the_report(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    code, stdout, stderr = run(
        [
            "compare",
            str(export),
            "--policies",
            "equal-rotation",
            "performance-weighted",
            "--seeds",
            "4",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, stderr
    assert stdout.index("Calibration") < stdout.index("Levels") < stdout.index("Difference to")
    assert "equal-rotation" in stdout and "performance-weighted" in stdout
    assert "simulating" in stderr and "8/8" in stderr
    assert f"Report: {out / 'report.html'}" in stdout
    for name in ("report.html", "report.md", "chart-differences.png"):
        assert (out / name).is_file()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "team export.csv" in html
    assert "Difference to equal-rotation" in html
    # the sensitivity check runs by default, after the table, and lands in the report
    assert stdout.index("Difference to") < stdout.index("Sensitivity:")
    assert "sensitivity" in stderr and "24/24" in stderr
    assert "Does the ranking hinge on an assumption?" in html


def test_playbooks_by_path_and_by_pattern_are_named_by_their_stem(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, stderr = run(
        [
            "compare",
            str(export),
            "--policies",
            str(PLAYBOOKS / "small-team-no-data.toml"),
            str(PLAYBOOKS / "performance-*.toml"),  # a pattern the shell did not expand
            "equal-rotation",
            "--baseline",
            "equal-rotation",
            "--seeds",
            "4",
            "--processes",
            "1",
            "--sensitivity-seeds",
            "0",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 0, stderr
    assert "Sensitivity:" not in stdout
    assert "hinge on an assumption" not in (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "small-team-no-data" in stdout and "performance-after-ramp" in stdout
    assert "Difference to equal-rotation" in stdout
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "playbook" in markdown and "small-team-no-data.toml" in markdown


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export whose assignments carry the propensities an exploring router logged."""
    import leadrouter as lr

    history = synthetic(300, 4, 10, seed=4, logging=lr.Explore(lr.EqualRotation(), share=0.2))
    return history.to_csv(tmp_path_factory.mktemp("logged") / "logged.csv")


@pytest.mark.parametrize("propensities", [False, True], ids=["plain", "with-propensities"])
def test_a_playbook_that_cannot_run_on_the_history_is_skipped_loudly(
    export: Path,
    logged: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    propensities: bool,
) -> None:
    """...also from the off-policy estimates compare prints beside an export with logged
    propensities, which had failed the whole run after the simulation, with no report."""
    code, stdout, stderr = run(
        [
            "compare",
            str(logged if propensities else export),
            "--policies",
            "equal-rotation",
            str(PLAYBOOKS / "quota-month.toml"),
            "--seeds",
            "4",
            "--processes",
            "1",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 0, stderr
    assert "skipped quota-month" in stdout and "quota" in stdout
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Left out: these policies cannot run on this history" in markdown
    assert "quota-month: QuotaProportional: rep" in markdown
    assert ("Beside the what-if, from the logged propensities alone" in stdout) == propensities
    # the report that gets mailed carries what the terminal showed
    assert ("From the logged propensities" in markdown) == propensities
    assert ("Off-policy estimates from 300 logged leads" in markdown) == propensities


def test_without_baseline_equal_rotation_is_added_and_the_bottom_line_and_warnings_come_first(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    playbook = tmp_path / "hasty.toml"
    playbook.write_text(HASTY_PLAYBOOK, encoding="utf-8")
    out = tmp_path / "report"
    code, stdout, stderr = run(
        [
            "compare",
            str(export),
            "--policies",
            str(playbook),
            "--seeds",
            "4",
            "--processes",
            "1",
            "--sensitivity-seeds",
            "0",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, stderr
    baseline = "equal-rotation (built in)"
    assert "8/8" in stderr  # the added baseline is simulated too: 2 policies x 4 seeds
    assert "checked the policies' timers before simulating: 1 warning" in stderr
    # the bottom line opens the output, then the warnings, then the calibration and the tables
    first = stdout.index("Bottom line")
    assert stdout[:first].strip(" \n╭─") == ""
    warning = stdout.index("warning hasty: its first-touch SLA")
    assert first < warning < stdout.index("Calibration", warning) < stdout.index("Levels")
    assert "[lifecycle] first_touch_sla" in stdout and baseline in stdout
    markdown = (out / "report.md").read_text(encoding="utf-8")
    title = markdown.index("# Routing policies compared")
    line = markdown.index("> Bottom line: Calibration")
    box = markdown.index("Check these settings before the numbers")
    assert title < line < box < markdown.index("Calibration", box)
    assert "hasty: its first-touch SLA (\\[lifecycle\\] first\\_touch\\_sla = 5m)" in markdown
    assert "Added as the baseline because none was named" in markdown


def test_a_roster_file_gives_the_reps_what_a_playbook_needs(
    export: Path, small: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = tmp_path / "roster.csv"
    rows = [f"{rep.id},{100 + 20 * i}" for i, rep in enumerate(small.roster)]
    roster.write_text("id,quota\n" + "\n".join(rows) + "\n", encoding="utf-8")
    playbook = tmp_path / "quota-only.toml"
    playbook.write_text(QUOTA_PLAYBOOK, encoding="utf-8")
    code, stdout, stderr = run(
        [
            "compare",
            str(export),
            "--policies",
            "equal-rotation",
            str(playbook),
            "--roster",
            str(roster),
            "--seeds",
            "4",
            "--processes",
            "1",
            "--out",
            str(tmp_path / "out"),
        ],
        capsys,
    )
    assert code == 0, stderr
    assert "skipped" not in stdout
    assert "quota-only" in stdout
    assert f"{len(rows)} of the export's {len(rows)} reps given" in stderr


def test_demo_writes_the_export_reads_it_back_and_compares_all_eight(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo-report"
    code, stdout, stderr = run(
        ["compare", "--demo", "--out", str(out), "--seeds", "4", *SMALL_DEMO], capsys
    )
    assert code == 0, stderr
    export = out / "demo-export.csv"
    assert export.is_file()
    assert f"{export}: 300 loaded" in stderr  # read back with load_export, as a user would
    for name in DEMO_POLICIES:
        assert name in stdout
    assert "32/32" in stderr
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "illustrative quotas" in html and "illustrative tiers" in html
    assert html.index('id="calibration"') < html.index('id="comparison"')


def test_check_and_route_do_not_load_the_simulator() -> None:
    code = (
        "import sys\n"
        "from leadrouter.cli import main\n"
        "try:\n    main(['check', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('pandas' in sys.modules, 'leadrouter.sim' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "False False"


def test_python_dash_m_runs_the_same_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "leadrouter", "compare", str(tmp_path / "nope.csv"), "--out", "x"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "no such file" in error_line(result.stderr)


# --------------------------------------------------------------------------- the demo policies


def test_demo_policies_cover_the_eight_strategies_and_each_runs(small: History) -> None:
    policies = demo_policies(small)
    assert tuple(policies) == DEMO_POLICIES == BUILTIN_POLICIES
    assert set(demo_notes(small)) == set(DEMO_POLICIES)
    for name, policy in policies.items():
        run = simulate(small, policy, seed=0)
        received = run.per_rep()["received"]
        assert received.sum() > 0, name
        assert run.metrics()["wasted"] < 1.0, name


def test_demo_factories_give_illustrative_quotas_and_tiers(small: History) -> None:
    from leadrouter.sim.engine import make_router

    policies = demo_policies(small)
    quota = make_router(policies["quota-proportional"], small.roster, 0, None)
    quotas = [rep.quota for rep in quota.roster.values()]
    assert quotas[:3] == list(ILLUSTRATIVE_QUOTAS)
    tiered = make_router(policies["tiered-delay"], small.roster, 0, None)
    tiers = sorted(rep.tier for rep in tiered.roster.values())
    assert set(tiers) == {0, 1} and tiers.count(0) >= tiers.count(1)
    assert all(rep.quota is None and rep.tier == 0 for rep in small.roster)  # copies only


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compare", "missing.csv", "--out", "r"], r"missing\.csv: no such file"),
        (["compare", "--out", "r"], r"give an export file .* or --demo"),
        (["compare", "EXPORT", "--demo", "--out", "r"], r"not both"),
        (["compare", "EXPORT", "--seeds", "3", "--out", "r"], r"at least 4 seeds"),
        (["compare", "EXPORT"], r"--out DIR is needed"),
        (["compare", "EXPORT", "--columns", "rep=Owner", "--out", "r"], r"'rep' is not a field"),
        (["compare", "EXPORT", "--columns", "rep_id", "--out", "r"], r"write FIELD=HEADER"),
        (
            ["compare", "EXPORT", "--policies", "equal-rotaton", "--out", "r"],
            r"no built-in policy of that name\. Did you mean 'equal-rotation'\?",
        ),
        (
            ["compare", "EXPORT", "--policies", "nothing-*.toml", "--out", "r"],
            r"the pattern matches no file",
        ),
        (
            ["compare", "EXPORT", "--policies", "EXPORT", "--out", "r"],
            r"looks like an export, not a playbook",
        ),
        (
            ["compare", "EXPORT", "--baseline", "nope", "--out", "r"],
            r"--baseline 'nope' is not one of the policies",
        ),
        (
            [
                "compare",
                "EXPORT",
                "--policies",
                "equal-rotation",
                "performance-weighted",
                "--baseline",
                "quota-proportional",
                "--out",
                "r",
            ],
            r"'quota-proportional' is not one of the policies: equal-rotation, "
            r"performance-weighted; give one of these names .* or leave --baseline out",
        ),
    ],
)
def test_bad_input_is_a_named_one_line_error(
    argv: list[str],
    message: str,
    export: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = [str(export) if arg == "EXPORT" else arg for arg in argv]
    code, _, stderr = run(argv, capsys)
    assert code == 2
    assert re.search(message, error_line(stderr))


def test_an_unreadable_playbook_names_the_file(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[strategy\nname = 'EqualRotation'\n", encoding="utf-8")
    code, _, stderr = run(
        ["compare", str(export), "--policies", str(broken), "--out", str(tmp_path / "r")], capsys
    )
    assert code == 2
    line = error_line(stderr)
    assert str(broken) in line and "not valid TOML" in line


def test_an_out_path_that_is_a_file_is_refused(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "taken"
    target.write_text("x")
    code, _, stderr = run(["compare", str(export), "--out", str(target)], capsys)
    assert code == 2
    assert "is not a directory" in error_line(stderr)


def test_missing_report_dependencies_name_the_extra(
    export: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    code, _, stderr = run(["compare", str(export), "--out", str(tmp_path)], capsys)
    assert code == 2
    line = error_line(stderr)
    assert "matplotlib" in line and "pip install 'leadrouter[sim]'" in line


def test_columns_maps_an_unknown_header_to_a_field(
    small: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = small.to_csv(tmp_path / "renamed.csv")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("rep_id", "Betreuer", 1), encoding="utf-8")
    assert not load_export(path).roster  # an unknown header: no rep would be known
    code, _, stderr = run(
        [
            "compare",
            str(path),
            "--columns",
            "rep_id=Betreuer",
            "--policies",
            "equal-rotation",
            "--seeds",
            "4",
            "--processes",
            "1",
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    assert code == 0, stderr
    markdown = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert f"| logged assignments | {len(small):,} leads with a rep" in markdown


# --------------------------------------------------------------------------- one run per --out

QUICK = ["--policies", "equal-rotation", "--seeds", "4", "--sensitivity-seeds", "0"]


def test_a_second_compare_into_the_same_out_is_refused_while_the_first_writes(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A lock held by a live process (this one stands in for the first compare): the second
    run says who writes there and since when, and leaves the folder as it was."""
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.html").write_text("the first run's report")
    since = datetime(2026, 1, 5, 14, 7).astimezone()
    (out / LOCK).write_text(json.dumps({"pid": os.getpid(), "since": since.isoformat()}))
    code, _, stderr = run(["compare", str(export), "--out", str(out), *QUICK], capsys)
    assert code == 2
    assert error_line(stderr) == (
        f"leadrouter: error: --out {out}: another compare is writing to {out} since 14:07 (pid "
        f"{os.getpid()}); wait for it to finish or choose another --out (if no compare is "
        f"running, delete {out / LOCK})"
    )
    assert (out / "report.html").read_text() == "the first run's report"
    assert (out / LOCK).exists()  # still the first run's


def test_a_lock_left_by_a_process_that_is_gone_is_taken_over(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    out = tmp_path / "report"
    out.mkdir()
    (out / LOCK).write_text(json.dumps({"pid": gone.pid, "since": "2026-01-05T14:07:00+00:00"}))
    (out / ".compare-1.partial").mkdir()  # the staging folder of that killed run
    code, _, stderr = run(["compare", str(export), "--out", str(out), *QUICK], capsys)
    assert code == 0, stderr
    assert (out / "report.html").is_file()
    assert not (out / LOCK).exists()
    assert not list(out.glob(".compare-*"))


def test_a_later_run_leaves_no_file_of_an_earlier_run_looking_current(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The files the previous compare wrote and this one did not (a chart of a policy no
    longer compared) are taken away; the user's own files in the folder stay."""
    out = tmp_path / "report"
    assert run(["compare", str(export), "--out", str(out), *QUICK], capsys)[0] == 0
    written = set(json.loads((out / MANIFEST).read_text()))
    assert {"report.html", "report.md"} <= written
    assert {path.name for path in out.iterdir()} == {*written, MANIFEST}
    (out / "chart-old-policy.png").write_bytes(b"an earlier run's chart")
    (out / MANIFEST).write_text(json.dumps(sorted({*written, "chart-old-policy.png"})))
    (out / "my notes.txt").write_text("mine")
    assert run(["compare", str(export), "--out", str(out), *QUICK], capsys)[0] == 0
    assert not (out / "chart-old-policy.png").exists()
    assert (out / "my notes.txt").read_text() == "mine"
    assert {path.name for path in out.iterdir()} == {*written, MANIFEST, "my notes.txt"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compare", "--policies", "equal-rotaton"], "Did you mean 'equal-rotation'?"),
        (["compare", "--baseline", "nope"], "--baseline 'nope' is not one of the policies"),
        (["evaluate", "--policies", "equal-rotaton"], "Did you mean 'equal-rotation'?"),
    ],
)
def test_a_misspelt_policy_fails_before_the_export_is_read(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The export here cannot be read (no lead id, no arrival): the policy's error comes first,
    as it would before a large export had taken its minute to load."""
    unreadable = tmp_path / "no leads.csv"
    unreadable.write_text("a,b\n1,2\n", encoding="utf-8")
    out = ["--out", str(tmp_path / "report")] if argv[0] == "compare" else []
    code, _, err = run([argv[0], str(unreadable), *argv[1:], *out], capsys)
    assert code == 2
    assert message in error_line(err)
    assert not (tmp_path / "report").exists()
