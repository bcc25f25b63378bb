"""`leadrouter inspect EXPORT`, and a comparison on a stage-column export with open deals."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from leadrouter.cli import main

DATA = Path(__file__).parent / "data"
B2B = DATA / "b2b_pipeline.csv"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def inspect_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, *flags: str
) -> tuple[int, str, str, Path]:
    """`leadrouter inspect` on `text` written as leads.csv, with `flags`: (exit code, stdout,
    stderr, the file's path)."""
    path = tmp_path / "leads.csv"
    path.write_text(text, encoding="utf-8")
    return (*run(["inspect", str(path), *flags], capsys), path)


def test_inspect_prints_what_load_export_inspect_says(capsys: pytest.CaptureFixture[str]) -> None:
    from leadrouter.sim.loader import load_export

    code, out, err = run(["inspect", str(B2B), "--tz", "UTC"], capsys)
    assert code == 0, err
    assert out == load_export(B2B, tz="UTC").inspect() + "\n"
    assert "52 loaded (22 won, 15 lost, 15 open), 8 rejected" in err


def test_inspect_names_the_rows_it_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err, _ = inspect_csv(
        tmp_path,
        capsys,
        "Lead ID,Created At,Owner,Cost\n"
        "A1,2025-03-03 09:00,wang,10\n"
        "A2,tomorrow,li,10\n"
        "A3,2025-03-03 10:00,li,fifty\n"
        "A4,soon,li,10\n"
        "A5,2025-03-03 11:00,li,10\n",
        "--tz",
        "UTC",
    )
    assert code == 0, err
    listed = out.split("rejected rows\n", 1)[1].splitlines()[:3]
    assert listed[0] == (
        "  row 3, column 'Created At': 'tomorrow' is not a time leadrouter can read: write ISO "
        "8601, e.g. 2025-03-03 09:15"
    )
    assert listed[1] == "  row 4, column 'Cost': 'fifty' is not a number"
    assert listed[2].startswith("  row 5, column 'Created At': 'soon' is not a time")


def test_inspect_lists_the_rows_kept_with_a_value_adjusted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A command's summary counts flagged rows; inspect says which and why."""
    code, out, err, export = inspect_csv(
        tmp_path,
        capsys,
        "Lead ID,Created At,Owner,Propensity\n"
        "A1,2025-03-03 09:00,wang,0.8\n"
        "A2,2025-03-03 09:30,li,80%\n"
        "A3,2025-03-03 10:00,li,0.2\n",
        "--tz",
        "UTC",
    )
    assert code == 0, err
    assert f"1 flagged (leadrouter inspect {export} --tz UTC lists which and why)" in err
    listed = out.split("rows kept with a value adjusted\n", 1)[1].splitlines()[0]
    assert listed == "  row 3, column 'Propensity': '80%' is a percent: read as 0.8"


def test_the_summary_names_an_inspect_command_that_reads_the_file_as_it_was_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command the summary names for the rejected rows carries the reading flags: pasted,
    it reads the file (its times have no zone, so it would not without --tz) to the same
    counts, however the path and the stage names are spelled."""
    export = tmp_path / "my exports" / "b2b.csv"
    export.parent.mkdir()
    export.write_bytes(B2B.read_bytes())
    flags = ["--tz", "UTC", "--lost", "Engaging", "Dead deal", "--as-of", "2025-07-01"]
    flags += ["--columns", "rep_id=sales_agent", "--no-dayfirst"]
    _, _, err = run(["inspect", str(export), *flags], capsys)
    summary = err.splitlines()[0]
    pasted = summary.split(" (leadrouter ", 1)[1].removesuffix(" lists which and why)")
    code, out, again = run(shlex.split(pasted), capsys)
    assert code == 0, again
    assert again.splitlines()[0] == summary
    assert "outcomes  22 won, 30 lost, 0 open" in out


def test_inspect_takes_won_lost_and_as_of(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        ["inspect", str(B2B), "--tz", "UTC", "--lost", "Engaging", "--as-of", "2025-07-01"],
        capsys,
    )
    assert code == 0, err
    assert "outcomes  22 won, 30 lost, 0 open" in out
    assert "Engaging  15    lost     given as lost" in out
    assert "as of     2025-07-01 23:59, UTC" in out


def test_a_stage_read_as_converted_names_the_flag_that_fixes_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(
        ["inspect", str(B2B), "--tz", "UTC", "--columns", "converted=deal_stage"], capsys
    )
    assert code == 2
    assert "Traceback" not in err
    assert "--columns stage=deal_stage" in err


def test_an_as_of_before_the_export_ends_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["inspect", str(B2B), "--tz", "UTC", "--as-of", "2025-03-05"], capsys)
    assert code == 2
    assert f"{B2B}: --as-of 2025-03-05 23:59:59.999999+00:00 is before the latest" in err
    assert err.rstrip().endswith("give a later --as-of, or none (the latest time)")
    from leadrouter.sim import History, load_export

    with pytest.raises(ValueError, match=f"^{B2B}: as_of 2025-03-05"):
        load_export(B2B, tz="UTC", as_of="2025-03-05")
    frame = load_export(B2B, tz="UTC").to_frame()
    with pytest.raises(ValueError, match=r"^History: as_of 2025"):  # the class's own wording
        History(frame, as_of=frame["arrived_at"].min().to_pydatetime())


def test_compare_runs_on_a_stage_export_with_open_deals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    code, stdout, stderr = run(
        [
            "compare",
            str(B2B),
            "--tz",
            "UTC",
            "--policies",
            "equal-rotation",
            "performance-weighted",
            "--seeds",
            "4",
            "--sensitivity-seeds",
            "0",
            "--processes",
            "1",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, stderr
    assert "52 loaded (22 won, 15 lost, 15 open)" in stderr
    assert "performance-weighted" in stdout
    assert (out / "report.html").is_file()


def test_an_offset_read_off_the_times_is_said_as_utc_plus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Times written with +08:00 give the zone "Etc/GMT-8", whose POSIX sign reads backwards:
    inspect says UTC+8, as the report does."""
    code, out, _, _ = inspect_csv(
        tmp_path,
        capsys,
        "lead_id,arrived_at\nL1,2026-03-02T09:00:00+08:00\nL2,2026-03-02T10:00:00+08:00\n",
    )
    assert code == 0
    assert "  as of     2026-03-02 10:00, UTC+8\n" in out
    assert "GMT" not in out


def test_inspect_counts_the_leads_with_no_rep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The look before a fit said how many reps, never how many leads had none."""
    code, out, _, _ = inspect_csv(
        tmp_path,
        capsys,
        "lead_id,arrived_at,rep_id\n"
        "A1,2025-03-03T09:00Z,wang\nA2,2025-03-03T10:00Z,\nA3,2025-03-04T10:00Z,li\n"
        "A4,2025-03-04T11:00Z,\n",
    )
    assert code == 0
    assert "2 leads (50.0%) with no rep: never assigned, or the owner not recorded" in out


def test_a_stage_column_under_a_header_no_field_takes_is_pointed_at(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`Result` holding Won / Lost was kept as a feature without a word, and the export read as
    one with no sale: inspect names it and the flag that maps it."""
    code, out, _, _ = inspect_csv(
        tmp_path,
        capsys,
        "Lead Number,Date Received,Salesperson,Result\n"
        "A1,2025-03-03 09:00,wang,Won\nA2,2025-03-03 10:00,li,Lost\nA3,2025-03-04 10:00,li,\n",
        "--tz",
        "UTC",
        "--columns",
        "arrived_at=Date Received",
    )
    assert code == 0
    assert "notes on columns\n  Result: looks like a stage (Lost, Won)" in out
    assert "(map it: --columns stage=Result)" in out
