"""The commands on a user's mistakes and odd surroundings: an output folder to make or one that
cannot be, refused before the work; count options below 0; an extreme logged propensity; a
reader that closes the pipe; and the docs that describe them."""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import leadrouter as lr
from leadrouter import _cli_compare, _cli_evaluate, cli
from leadrouter.cli import main
from leadrouter.errors import InvalidExportError
from leadrouter.sim import History, evaluate, load_export, synthetic

ROOT = Path(__file__).resolve().parents[1]
SMALL_TEAM = ROOT / "strategies" / "small-team-no-data.toml"


@pytest.fixture(scope="module")
def explored() -> History:
    return synthetic(300, 6, 14, seed=2, logging=lr.Explore(lr.EqualRotation(), share=0.2))


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory, explored: History) -> Path:
    return explored.to_csv(tmp_path_factory.mktemp("export") / "explored.csv")


def error_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("leadrouter: error:")]
    assert len(lines) == 1, err
    return lines[0]


def blocked(tmp_path: Path) -> list[Path]:
    """Output paths whose folder cannot be made: under a regular file, and under /dev/null."""
    (tmp_path / "a-file").write_text("x")
    paths = [tmp_path / "a-file" / "sub" / "out"]
    if Path("/dev/null").exists():
        paths.append(Path("/dev/null/x"))
    return paths


def _never(*args: object, **kwargs: object) -> None:
    raise AssertionError("the work started before the output place was checked")


# ---------------------------------------------------------------- where the commands write


def test_evaluate_makes_the_folder_of_its_csv(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "not" / "yet" / "e.csv"
    assert (
        main(["evaluate", str(export), "--policies", "equal-rotation", "--csv", str(target)]) == 0
    )
    assert f"wrote {target}" in capsys.readouterr().out
    assert pd.read_csv(target, index_col="policy").index.tolist() == ["equal-rotation"]


def test_compare_refuses_an_out_folder_it_cannot_make_before_the_work(
    export: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(_cli_compare, "read_export", _never)
    for out in blocked(tmp_path):
        assert main(["compare", str(export), "--seeds", "4", "--out", str(out)]) == 2
        line = error_line(capsys.readouterr().err)
        assert line.startswith(f"leadrouter: error: --out {out}: cannot write the report (")
        assert "give a folder you can write to" in line


def test_route_and_evaluate_refuse_an_output_they_cannot_write_before_the_work(
    export: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cli, "read_export", _never)
    monkeypatch.setattr(_cli_evaluate, "read_export", _never)
    for out in blocked(tmp_path):
        assert main(["route", str(SMALL_TEAM), str(export), "--out", str(out)]) == 2
        line = error_line(capsys.readouterr().err)
        assert line.startswith(f"leadrouter: error: --out {out}: cannot write the decisions (")
        assert main(["evaluate", str(export), "--csv", str(out)]) == 2
        line = error_line(capsys.readouterr().err)
        assert line.startswith(f"leadrouter: error: --csv {out}: cannot write the estimates (")
        assert "give a file path in a folder you can write to" in line


def test_a_failed_command_removes_the_folders_it_made_and_keeps_what_was_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny = tmp_path / "tiny.csv"  # readable, but too few leads to fit a model or route well
    tiny.write_text("lead_id,created_at,owner\nL1,2026-01-05 09:00,ana\nL2,2026-01-05 09:05,\n")
    fresh = tmp_path / "new" / "report"
    assert main(["compare", str(tiny), "--seeds", "4", "--out", str(fresh)]) == 2
    assert "leadrouter: error:" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    assert main(["compare", str(tiny), "--seeds", "4", "--out", str(kept / "sub")]) == 2
    assert sorted(p.name for p in kept.iterdir()) == ["notes.txt"]
    capsys.readouterr()
    bad_playbook = tmp_path / "bad.toml"
    bad_playbook.write_text("[router]\nstrategy = 'NoSuchStrategy'\n")
    decisions = tmp_path / "made" / "decisions.csv"
    assert main(["route", str(bad_playbook), str(tiny), "--out", str(decisions)]) == 2
    assert not (tmp_path / "made").exists()


# ---------------------------------------------------------------- count options


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["check", str(SMALL_TEAM), "--sample", "-5"], "--sample"),
        (["check", str(SMALL_TEAM), "--sample", "many"], "--sample"),
        (["compare", "--demo", "--sensitivity-seeds", "-3"], "--sensitivity-seeds"),
    ],
    ids=["negative-sample", "word-sample", "negative-sensitivity-seeds"],
)
def test_a_count_below_zero_is_a_usage_error_naming_the_option(
    argv: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {option}:" in err and "0 or more" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("horizon", ["abc", "5x", "-5d", "0d"])
def test_a_horizon_that_is_no_positive_duration_is_a_usage_error_with_the_units(
    horizon: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A word, an unknown unit or a negative duration is refused as 0d is: naming the option
    and showing durations to write, not only "not a duration"."""
    with pytest.raises(SystemExit) as stopped:
        main(["compare", "--demo", f"--horizon={horizon}"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument --horizon: {horizon!r} is not a" in err
    assert "45m, 4h, 90d or 2w" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("text", ["", "id,quota\n"], ids=["empty", "header-only"])
def test_a_roster_without_reps_is_said_so(
    text: str, export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was refused as "none of its 0 rep ids is a rep of the export: use the export's ids"."""
    roster = tmp_path / "roster.csv"
    roster.write_text(text, encoding="utf-8")
    argv = ["compare", str(export), "--roster", str(roster), "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    line = error_line(capsys.readouterr().err)
    assert line == (
        f"leadrouter: error: --roster {roster}: no reps (an empty file, or a header and no "
        "rows?): one row per rep under a header naming id (and any of team, tier, quota, "
        "regions, skills, active)"
    )


# ---------------------------------------------------------------- extreme propensities


def _with_propensity(export: Path, target: Path, lead_ids: list[str], value: str) -> Path:
    frame = pd.read_csv(export, dtype=str, keep_default_na=False)
    frame.loc[frame["lead_id"].isin(lead_ids), "propensity"] = value
    frame.to_csv(target, index=False)
    return target


def _matched(history: History) -> list[str]:
    """Leads where equal rotation chose the logged rep (so their weight counts)."""
    result = evaluate(history, {"equal-rotation": lr.EqualRotation()})
    weight = result.policies["equal-rotation"].weight
    return [lead for lead, w in zip(result.lead_ids, weight, strict=True) if w > 0]


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_a_tiny_propensity_is_estimated_without_overflow_and_named_in_the_note(
    explored: History, export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lead = _matched(explored)[0]
    path = _with_propensity(export, tmp_path / "tiny.csv", [lead], "1e-300")
    assert main(["evaluate", str(path), "--policies", "equal-rotation"]) == 0
    printed = capsys.readouterr().out
    assert f"lead {lead}'s propensity 1e-300 gives it a weight of 1e+300" in printed
    assert "more than all 300 logged leads together" in printed
    assert max(len(line) for line in printed.splitlines()) < 400  # no 300-digit number


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_a_weight_past_the_floats_gives_no_estimate_not_an_error(
    explored: History, export: Path, tmp_path: Path
) -> None:
    leads = _matched(explored)[:3]
    path = _with_propensity(export, tmp_path / "tinier.csv", leads, "5e-324")
    table = evaluate(load_export(path), {"equal-rotation": lr.EqualRotation()}).table()
    row = table.loc["equal-rotation"]
    assert not math.isfinite(row["conversion_rate"])  # printed as "no estimate"
    assert "weight of inf" in row["note"] and "(2 other leads too)" in row["note"]


# ---------------------------------------------------------------- a reader that goes away


def test_compare_piped_to_a_reader_that_stops_ends_quietly_with_141(
    export: Path, tmp_path: Path
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "leadrouter", "compare", str(export), "--policies",
         "equal-rotation", "--seeds", "4", "--sensitivity-seeds", "0", "--out",
         str(tmp_path / "report")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read().decode()
    code = process.wait(timeout=300)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code == 141


# ---------------------------------------------------------------- what the docs and help say


def _commands(parser: argparse.ArgumentParser | None = None) -> dict[str, argparse.ArgumentParser]:
    """Every command and sub-command by name ("db upgrade" too)."""
    found = {}
    for action in (parser or cli._parser())._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                found[name] = command
                found.update({f"{name} {sub}": c for sub, c in _commands(command).items()})
    return found


def test_every_argument_of_every_command_has_help() -> None:
    for name, command in _commands().items():
        for action in command._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help, f"leadrouter {name} {action.dest}: no help text"


COMMAND_PAGES = {
    "check": "docs/playbooks.md",
    "route": "docs/playbooks.md",
    "handover": "docs/playbooks.md",
    "inspect": "docs/analyst/data.md",
    "compare": "docs/analyst/report.md",
    "evaluate": "docs/analyst/evaluate.md",
    "db upgrade": "docs/stores.md",
}
"""The page that describes each command, where a reader of `--help` looks for more."""


def options_not_named(command: argparse.ArgumentParser, page: str) -> list[str]:
    """The `--options` of a command that its page never names as code (inline, or in a fenced
    block such as a `$ leadrouter ...` example)."""
    fenced = re.findall(r"^ *```[^\n]*\n(.*?)^ *```", page, flags=re.S | re.M)
    prose = re.sub(r"^ *```[^\n]*\n.*?^ *```", "", page, flags=re.S | re.M)
    code = "\n".join([*fenced, *re.findall(r"`([^`]+)`", prose)])
    return [
        option
        for action in command._actions
        if action.help != argparse.SUPPRESS
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
        if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", code)
    ]


def test_each_commands_page_names_every_option_of_its_help() -> None:
    commands = _commands()
    assert set(COMMAND_PAGES) >= {name for name in commands if name != "db"}
    missing = {
        name: options_not_named(commands[name], (ROOT / page).read_text(encoding="utf-8"))
        for name, page in COMMAND_PAGES.items()
    }
    assert {name: options for name, options in missing.items() if options} == {}


def test_an_option_named_only_in_prose_or_as_part_of_another_is_not_named() -> None:
    parser = argparse.ArgumentParser()
    for option in ("--tz", "--dayfirst", "--no-dayfirst", "--seeds", "--csv"):
        parser.add_argument(option, help="x")
    page = (
        "Run `leadrouter x --tz Asia/Shanghai`, or --seeds 4 in prose.\n"
        "```console\n$ leadrouter x --no-dayfirst --csv out.csv\n```\n"
    )
    assert options_not_named(parser, page) == ["--dayfirst", "--seeds"]


def test_an_xls_workbook_is_refused_as_the_errors_page_says(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    with pytest.raises(InvalidExportError, match=r"save it as \.xlsx"):
        load_export(path)
    page = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert "(an old\n`.xls` too)" not in page
    assert "`.xls` workbook is refused" in page


def test_a_propensity_that_is_not_a_number_rejects_the_lead_as_documented(
    export: Path, tmp_path: Path
) -> None:
    frame = pd.read_csv(export, dtype=str, keep_default_na=False)
    first, second = frame["lead_id"].iloc[0], frame["lead_id"].iloc[1]
    frame.loc[0, "propensity"], frame.loc[1, "propensity"] = "abc", "1.5"
    frame.to_csv(tmp_path / "odd.csv", index=False)
    history = load_export(tmp_path / "odd.csv")
    ids = {lead.id for lead in history.leads}
    assert first not in ids and second in ids
    assert "'abc' is not a number" in history.rejected["reason"].tolist()
    page = (ROOT / "docs" / "analyst" / "evaluate.md").read_text(encoding="utf-8")
    assert "(`abc`) rejects the whole lead" in page
