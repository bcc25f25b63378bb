"""`leadrouter route` reads what `compare` and `load_export` read (GBK, Excel, Parquet, header
aliases, daylight-saving flags), answers bad files with a named one-line error that names the
flag that fixes it, sums up where the leads ended, and lines its table up in any script."""

from __future__ import annotations

import csv
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

import leadrouter
from leadrouter.cli import main
from leadrouter.errors import ConfigError, MissingColumnError
from leadrouter.sim import load_export

ROOT = Path(__file__).resolve().parents[1]
SMALL_TEAM = ROOT / "strategies" / "small-team-no-data.toml"
GBK = ROOT / "examples" / "data" / "sample_export_gbk.csv"
READING_FLAGS = {"--tz", "--dayfirst", "--encoding", "--columns"}

# two reps, no caps; a lead untouched 30 minutes after assignment goes back to the public pool
SLA_PLAYBOOK = """
[strategy]
name = "EqualRotation"

[lifecycle]
first_touch_sla = "30m"
reroute = false

[[reps]]
id = "{first}"

[[reps]]
id = "{second}"
"""


def _route(*args: str | Path) -> list[str]:
    return ["route", str(SMALL_TEAM), *map(str, args)]


def _decisions(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _playbook(tmp_path: Path, first: str, second: str) -> Path:
    path = tmp_path / "sla.toml"
    path.write_text(SLA_PLAYBOOK.format(first=first, second=second), encoding="utf-8")
    return path


def _leads(tmp_path: Path, times: list[str]) -> Path:
    path = tmp_path / "leads.csv"
    rows = [f"L{i + 1},{at}" for i, at in enumerate(times)]
    path.write_text("lead_id,arrived_at\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- files it reads


def test_routes_the_bundled_gbk_export_with_chinese_headers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "decisions.csv"
    assert main(_route(GBK, "--out", out, "--tz", "Asia/Shanghai")) == 0
    decided = _decisions(out)
    assert len(decided) == 300
    assert decided[0]["lead_id"] == "L00001"  # 线索ID, recognised without --columns
    assert decided[0]["arrived_at"] == "2025-03-03T06:18:52+08:00"  # 创建时间 read in --tz
    captured = capsys.readouterr()
    assert "routed 300 leads" in captured.out
    assert "Traceback" not in captured.err


def test_routes_an_excel_file_with_a_header_mapped_by_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Ticket", "创建时间", "地区"])
    sheet.append(["T1", "2026-01-05 09:00", "north"])
    sheet.append(["T2", "2026-01-05 09:05", "south"])
    path = tmp_path / "leads.xlsx"
    book.save(path)
    out = tmp_path / "d.csv"
    code = main(_route(path, "--out", out, "--tz", "UTC", "--columns", "lead_id=Ticket"))
    assert code == 0, capsys.readouterr().err
    decided = _decisions(out)
    assert [row["lead_id"] for row in decided] == ["T1", "T2"]
    assert decided[0]["rep_id"] in {"wang", "li", "chen", "yang"}  # 地区 read as the region


def test_routes_a_parquet_file(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    path = tmp_path / "leads.parquet"
    frame = pd.DataFrame({"lead_id": ["P1", "P2"], "arrived_at": ["2026-01-05T09:00Z"] * 2})
    frame.to_parquet(path)
    out = tmp_path / "d.csv"
    assert main(_route(path, "--out", out)) == 0
    assert [row["lead_id"] for row in _decisions(out)] == ["P1", "P2"]


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "binary data (a PNG image)"),
        (bytes(range(256)) * 4, "binary data"),
    ],
    ids=["png", "bytes"],
)
def test_a_binary_file_is_a_named_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, what: str
) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(content)
    assert main(_route(path, "--out", tmp_path / "d.csv")) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"leadrouter: error: {path}: not a CSV, Excel (.xlsx) or Parquet")
    assert what in err and "Traceback" not in err
    assert not (tmp_path / "d.csv").exists()


def _zipped_csv() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("leads export.csv", "lead_id,arrived_at\nL1,2026-01-05T09:00Z\n")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (_zipped_csv(), "a zip archive holding leads export.csv, not an Excel workbook: unzip"),
        (
            b"<html><body><table><tr><td>Lead</td></tr></table></body></html>",
            "a web page (HTML), not a CSV or Excel export",
        ),
    ],
    ids=["zipped-csv", "html-saved-as-xls"],
)
def test_a_zipped_export_or_a_web_page_is_named_for_what_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, what: str
) -> None:
    """Not "cannot read this Excel workbook: no item named [Content_Types].xml", and not "no
    lead_id column" for a header made of HTML tags."""
    path = tmp_path / "leads.xls"
    path.write_bytes(content)
    assert main(_route(path, "--out", tmp_path / "d.csv")) == 2
    err = capsys.readouterr().err
    assert what in err and "Traceback" not in err


def test_a_daylight_saving_gap_is_moved_and_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = _leads(tmp_path, ["2025-03-09 01:30", "2025-03-09 02:30"])
    out = tmp_path / "d.csv"
    assert main(_route(leads, "--out", out, "--tz", "America/New_York")) == 0
    assert _decisions(out)[1]["arrived_at"] == "2025-03-09T03:00:00-04:00"
    err = capsys.readouterr().err
    assert "1 row(s) kept with a value adjusted" in err
    assert "row 3, column 'arrived_at': local time 2025-03-09 02:30:00 does not exist" in err


def test_compare_reads_with_the_same_reader_and_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["compare", str(GBK), "--out", str(tmp_path / "r"), "--encoding", "utf-8"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"leadrouter: error: {GBK}: not valid utf-8 at byte 0")
    assert "leave out --encoding" in err and "encoding=" not in err


def test_route_and_compare_take_the_same_reading_flags() -> None:
    for command in ("route", "compare"):
        result = subprocess.run(
            [sys.executable, "-m", "leadrouter", command, "--help"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert all(flag in result.stdout for flag in READING_FLAGS), command


# ---------------------------------------------------------------------------- errors name flags


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--tz", "Asia/Shanghai", "--encoding", "utf-8"], "leave out --encoding"),
        (["--tz", "Asia/Shanghai", "--encoding", "nope"], "--encoding nope: unknown encoding"),
        ([], "no --tz was given: name the zone your CRM writes times in, e.g. --tz Asia/Shanghai"),
        (["--tz", "Beijing"], "--tz Beijing: unknown time zone 'Beijing'"),
        (
            ["--tz", "UTC", "--columns", "负责人=rep_id"],
            "the map is the wrong way round: --columns takes FIELD=HEADER, the field first, so "
            "write --columns rep_id='负责人'",
        ),
        (
            ["--tz", "UTC", "--columns", "rep_id=Owner"],
            "--columns rep_id=Owner names the header 'Owner', which is not in the file",
        ),
    ],
    ids=["wrong-encoding", "unknown-encoding", "no-tz", "bad-tz", "map-backwards", "no-header"],
)
def test_errors_name_the_flag_that_fixes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    assert main(_route(GBK, "--out", tmp_path / "d.csv", *args)) == 2
    err = capsys.readouterr().err
    assert err.startswith("leadrouter: error: ") and says in err
    for python in ("load_export", "tz='", "encoding='", "columns={", "History."):
        assert python not in err


def test_a_missing_column_and_day_first_dates_name_their_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("Ticket,arrived_at\nT1,2026-01-05 09:00\n", encoding="utf-8")
    assert main(_route(path, "--out", tmp_path / "d.csv", "--tz", "UTC")) == 2
    err = capsys.readouterr().err
    assert "name yours with --columns lead_id='your header'" in err
    assert "--columns takes FIELD=HEADER" in err

    # dates only readable day first and dates only readable month first: the flag is named
    path.write_text("lead_id,arrived_at\nT1,31/12/2025 09:00\nT2,12/30/2025 09:00\n")
    assert main(_route(path, "--out", tmp_path / "d.csv", "--tz", "UTC")) == 2
    err = capsys.readouterr().err
    assert "'31/12/2025 09:00' in column 'arrived_at' row 2 can only be day first" in err
    assert "give --dayfirst" in err and "dayfirst=" not in err
    path.write_text("lead_id,arrived_at\nT1,31/12/2025 09:00\nT2,2026-01-05 09:00\n")
    assert main(_route(path, "--out", tmp_path / "d.csv", "--tz", "UTC")) == 0  # read day first
    assert "read day first; give --no-dayfirst to read them month first" in capsys.readouterr().err
    assert main(_route(path, "--out", tmp_path / "d.csv", "--tz", "UTC", "--dayfirst")) == 0
    # --no-dayfirst reads month first: 31/12/2025 cannot be, and a row rejected routes nothing
    assert main(_route(path, "--out", tmp_path / "d.csv", "--tz", "UTC", "--no-dayfirst")) == 2
    assert "'31/12/2025 09:00' is not a valid date read month first" in capsys.readouterr().err


def test_one_column_map_fact_two_renderings(tmp_path: Path) -> None:
    """The same backwards map is refused with its corrected form: as a keyword in Python, as a
    flag on the command line (above)."""
    path = tmp_path / "leads.csv"
    path.write_text("Ticket,When,Owner Name\nT1,2026-01-05 09:00,wang\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_export(path, columns={"rep_id": "Owner Name"}, tz="UTC")
    message = str(caught.value)
    assert "the map is the wrong way round" in message
    assert "columns= maps each file header to its field" in message
    assert "so write columns={'Owner Name': 'rep_id'}" in message
    with pytest.raises(MissingColumnError, match=r"e\.g\. columns=\{'Owner Name': 'rep_id'\}"):
        load_export(path, columns={"Owner Nam": "rep_id"}, tz="UTC")


# ---------------------------------------------------------------------------- summary


def test_summary_counts_where_leads_ended_not_first_decisions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    playbook = _playbook(tmp_path, "ana", "bo")
    # L1 and L2 go to ana and bo; at 10:00 both SLAs have run out (back to the pool), L3 is new;
    # with --until 10:15 L3's SLA (10:30) has not run out yet
    leads = _leads(tmp_path, ["2026-01-05T09:00Z", "2026-01-05T09:10Z", "2026-01-05T10:00Z"])
    out = tmp_path / "d.csv"
    args = ["route", str(playbook), str(leads), "--out", str(out), "--until", "15m"]
    assert main(args) == 0
    decided = _decisions(out)
    first, second, third = (row["rep_id"] for row in decided)  # the first decisions
    assert {first, second} == {"ana", "bo"} and third == first
    assert [row["final_pool"] for row in decided] == ["public", "public", ""]
    printed = capsys.readouterr().out.splitlines()
    assert printed[1] == (
        "  timers run until 2026-01-05T10:15:00+00:00 (--until 15m after the last arrival); a "
        "timer is still set after it, the next at 2026-01-05T10:30:00+00:00: give a later --until"
    )
    table = {line.split()[0]: int(line.split()[1]) for line in printed[3:5]}
    assert table == {"pool:public": 2, first: 1}  # not 2 for one rep and 1 for the other
    assert "where the leads ended" in printed[2]
    assert printed[5].startswith("first decisions: 3 to a rep, 0 to a pool; taken back by the")
    assert printed[5].endswith(
        "(sla 2): route replays no touches (the file's were made by the reps who held the leads "
        "then), so no first-touch SLA is met"
    )


# ---------------------------------------------------------------------------- timers


def test_a_timer_runs_at_its_own_time_not_at_the_next_arrival(tmp_path: Path) -> None:
    """L1's SLA runs out at 09:30, hours before L2 arrives: it is re-routed at 09:30, and the
    file says so with the time; ticking only at arrivals re-routed it at 12:00."""
    playbook = _playbook(tmp_path, "ana", "bo")
    playbook.write_text(
        playbook.read_text().replace("reroute = false", "reroute = true\nmax_reroutes = 1")
    )
    leads = _leads(tmp_path, ["2026-01-05T09:00Z", "2026-01-05T12:00Z"])
    out = tmp_path / "d.csv"
    assert main(["route", str(playbook), str(leads), "--out", str(out)]) == 0
    first, second = _decisions(out)
    one, other = first["rep_id"], ({"ana", "bo"} - {first["rep_id"]}).pop()
    assert first["timers"] == (
        f"2026-01-05T09:30:00+00:00 first-touch SLA missed: {one} -> {other} | "
        f"2026-01-05T10:00:00+00:00 first-touch SLA missed: {other} -> pool:public"
    )
    assert (first["final_rep_id"], first["final_pool"]) == ("", "public")
    again = second["rep_id"]
    assert second["timers"] == (
        f"2026-01-05T12:30:00+00:00 first-touch SLA missed: {again} -> "
        + ({"ana", "bo"} - {again}).pop()
    )


def test_the_last_leads_timers_run_until_the_playbooks_longest_timer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --until the timers run until the last arrival plus the longest timer, so the
    last lead's SLA has its full time (it ran at no arrival before)."""
    playbook = _playbook(tmp_path, "ana", "bo")
    leads = _leads(tmp_path, ["2026-01-05T09:00Z"])
    out = tmp_path / "d.csv"
    assert main(["route", str(playbook), str(leads), "--out", str(out)]) == 0
    (only,) = _decisions(out)
    assert only["timers"] == (
        f"2026-01-05T09:30:00+00:00 first-touch SLA missed: {only['rep_id']} -> pool:public"
    )
    assert (only["final_rep_id"], only["final_pool"]) == ("", "public")
    assert capsys.readouterr().out.splitlines()[1] == (
        "  timers run until 2026-01-05T09:30:00+00:00 (the last arrival plus the playbook's "
        "longest timer, first-touch SLA 30m)"
    )


def test_an_sla_in_working_hours_runs_on_the_next_working_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A lead in at 20:00 on a Monday with a 1h SLA counted 09:00-18:00 is due at 10:00 on
    Tuesday: the default end reaches it, and the release is dated then, in the leads' zone."""
    playbook = _playbook(tmp_path, "张伟", "李娜")
    playbook.write_text(
        playbook.read_text().replace(
            'first_touch_sla = "30m"',
            'first_touch_sla = "1h"\nworking_hours = { tz = "Asia/Shanghai", start = "09:00", '
            'end = "18:00", weekdays = [0, 1, 2, 3, 4] }',
        ),
        encoding="utf-8",
    )
    leads = _leads(tmp_path, ["2026-01-05 20:00"])
    out = tmp_path / "d.csv"
    assert (
        main(["route", str(playbook), str(leads), "--out", str(out), "--tz", "Asia/Shanghai"]) == 0
    )
    (only,) = _decisions(out)
    assert only["timers"] == (
        f"2026-01-06T10:00:00+08:00 first-touch SLA missed: {only['rep_id']} -> pool:public"
    )
    assert "first-touch SLA 1h of working time" in capsys.readouterr().out


def _routed_in_shanghai(
    tmp_path: Path, tables: str, times: list[str], until: str
) -> list[dict[str, str]]:
    """The decisions of `route` for leads arriving at `times` (Shanghai time) with equal
    rotation, the rule or cap `tables` and one rep, 张伟, its timers run until `until`."""
    playbook = tmp_path / "team.toml"
    playbook.write_text(
        f'[strategy]\nname = "EqualRotation"\n\n{tables}\n[[reps]]\nid = "张伟"\n',
        encoding="utf-8",
    )
    out = tmp_path / "d.csv"
    args = ["--out", str(out), "--tz", "Asia/Shanghai", "--until", until]
    assert main(["route", str(playbook), str(_leads(tmp_path, times)), *args]) == 0
    return _decisions(out)


def test_a_waiting_lead_is_taken_when_the_shift_starts(tmp_path: Path) -> None:
    """A lead in over lunch waits for the 13:30 end of the break, one in on a national holiday
    for the first working morning: each is taken then, with no timer or arrival to wake the
    router (ticking only at timers left both in the pool)."""
    holidays = ", ".join(f"2026-10-0{day}" for day in (1, 2, 5, 6, 7))
    shift = (
        '{ tz = "Asia/Shanghai", start = "09:00", end = "18:00", weekdays = "周一至周五", '
        f'breaks = [["12:00", "13:30"]], days_off = [{holidays}] }}'
    )
    lunch, holiday = _routed_in_shanghai(
        tmp_path,
        f'[[rules]]\nname = "schedule"\ndefault = {shift}\n',
        ["2026-09-30 12:10", "2026-10-01 10:00"],
        until="2026-10-08 18:00",
    )
    assert lunch["pool"] == holiday["pool"] == "public"
    assert lunch["timers"] == "2026-09-30T13:30:00+08:00 taken from pool:public -> 张伟"
    assert holiday["timers"] == "2026-10-08T09:00:00+08:00 taken from pool:public -> 张伟"
    assert lunch["final_rep_id"] == holiday["final_rep_id"] == "张伟"


def test_a_lead_waiting_for_the_daily_cap_is_taken_at_midnight_in_the_caps_zone(
    tmp_path: Path,
) -> None:
    """With every rep at the day's cap, a lead waits; it is taken when the cap's day turns
    (midnight in Shanghai), with no timer or arrival to wake the router."""
    first, second = _routed_in_shanghai(
        tmp_path,
        '[[caps]]\nname = "FixedCap"\ndaily = 1\ntz = "Asia/Shanghai"\n',
        ["2026-09-30 10:00", "2026-09-30 11:00"],
        until="2026-10-01 12:00",
    )
    assert first["final_rep_id"] == "张伟"
    assert second["timers"] == "2026-10-01T00:00:00+08:00 taken from pool:public -> 张伟"


def test_a_lead_falls_through_the_tiers_at_each_tiers_patience(tmp_path: Path) -> None:
    playbook = ROOT / "strategies" / "premium-then-standard.toml"
    leads = _leads(tmp_path, ["2026-01-05 10:00"])
    out = tmp_path / "d.csv"
    # a lifecycle SLA of 30m would take the lead back first: a copy without it
    text = playbook.read_text(encoding="utf-8")
    copy = tmp_path / "tiers.toml"
    copy.write_text(text.replace('first_touch_sla = "30m"\n', ""), encoding="utf-8")
    assert main(["route", str(copy), str(leads), "--out", str(out), "--tz", "Asia/Shanghai"]) == 0
    (only,) = _decisions(out)
    steps = only["timers"].split(" | ")
    assert steps[0].startswith("2026-01-05T12:00:00+08:00 escalated: senior-")
    assert steps[0].endswith(" (fell to tier 1)")
    assert steps[1].startswith("2026-01-05T16:00:00+08:00 escalated: ")
    assert steps[1].endswith(" -> pool:public")
    assert only["final_pool"] == "public"


@pytest.mark.parametrize(
    ("until", "says"),
    [
        ("tomorrow", "--until tomorrow: neither a time nor a duration: write a time such as"),
        ("2026-01-04 09:00", "--until 2026-01-04 09:00 is before the last lead's arrival"),
    ],
    ids=["unreadable", "before-the-last-arrival"],
)
def test_a_bad_until_is_a_named_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], until: str, says: str
) -> None:
    playbook = _playbook(tmp_path, "ana", "bo")
    leads = _leads(tmp_path, ["2026-01-05T09:00Z"])
    args = ["route", str(playbook), str(leads), "--out", str(tmp_path / "d.csv"), "--until", until]
    assert main(args) == 2
    assert says in capsys.readouterr().err


def test_an_unreadable_until_is_named_before_the_leads_are_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped option fails at once, not after a large export has loaded: the leads here
    are no export at all, and the error is still the option's."""
    playbook = _playbook(tmp_path, "ana", "bo")
    leads = tmp_path / "leads.csv"
    leads.write_text("not,an\nexport\n", encoding="utf-8")
    args = ["route", str(playbook), str(leads), "--out", str(tmp_path / "d.csv")]
    assert main([*args, "--until", "tomorrow"]) == 2
    assert "--until tomorrow: neither a time nor a duration" in capsys.readouterr().err


def test_until_a_time_in_the_leads_zone(tmp_path: Path) -> None:
    playbook = _playbook(tmp_path, "ana", "bo")
    leads = _leads(tmp_path, ["2026-01-05 09:00"])
    out = tmp_path / "d.csv"
    args = ["--out", str(out), "--tz", "Asia/Shanghai", "--until", "2026-01-05 09:29"]
    assert main(["route", str(playbook), str(leads), *args]) == 0
    assert _decisions(out)[0]["timers"] == ""  # the SLA runs out at 09:30 in Shanghai
    args[-1] = "2026-01-05 09:30"
    assert main(["route", str(playbook), str(leads), *args]) == 0
    assert _decisions(out)[0]["timers"].startswith("2026-01-05T09:30:00+08:00 ")


def test_summary_columns_line_up_with_chinese_rep_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    playbook = _playbook(tmp_path, "张伟", "li")
    times = [f"2026-01-05T09:{m:02d}Z" for m in range(0, 25, 5)]
    leads = _leads(tmp_path, times)
    out = tmp_path / "d.csv"
    assert main(["route", str(playbook), str(leads), "--out", str(out), "--until", "1m"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:5]
    assert {row.split()[0] for row in rows[1:]} == {"张伟", "li"}
    assert len({_width(row) for row in rows}) == 1  # counts end in one column


# ---------------------------------------------------------------------------- the process


def test_version_prints_the_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "leadrouter", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"leadrouter {leadrouter.__version__}"


def test_a_reader_that_stops_early_ends_the_command_quietly() -> None:
    """`leadrouter check ... | head -3`: far more output than a pipe holds, the reader closes
    after one line; the command ends without a traceback, as 0 or 141 (SIGPIPE)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "leadrouter", "check", str(SMALL_TEAM), "--sample", "3000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read().decode()
    code = process.wait(timeout=120)
    assert first.decode().startswith(f"{SMALL_TEAM}: OK")
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert err == ""
    assert code in (0, 141)


def test_a_rule_reading_a_field_no_lead_has_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`field = "regoin"` turns the region rule off without a word (every lead lacks the field,
    and a lead without it passes): check says which Lead field was probably meant, and route
    says that no lead in the file has it."""
    playbook = tmp_path / "typo.toml"
    playbook.write_text(
        '[strategy]\nname = "EqualRotation"\n[[rules]]\nname = "region"\nfield = "regoin"\n'
        '[[reps]]\nid = "a"\nregions = ["north"]\n[[reps]]\nid = "b"\nregions = ["south"]\n',
        encoding="utf-8",
    )
    assert main(["check", str(playbook)]) == 0
    assert (
        "  warning: region(field='regoin') reads 'regoin', which is no Lead field (did you mean "
        "'region'?): it is read from each lead's features, and a lead without it passes\n"
        in capsys.readouterr().out
    )
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "lead_id,arrived_at,region,city\n"
        "L1,2026-03-02 09:00,north,x\nL2,2026-03-02 09:05,south,y\n",
        encoding="utf-8",
    )
    out = tmp_path / "decisions.csv"
    assert main(["route", str(playbook), str(leads), "--tz", "UTC", "--out", str(out)]) == 0
    assert (
        f"  warning: region(field='regoin') reads 'regoin', which no lead in {leads} has, so it "
        "let every lead through (other columns: city)\n" in capsys.readouterr().out
    )


def test_a_broken_playbook_is_said_before_the_export_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """route reads the playbook first: a broken one is the error even when the export is
    missing too (reading a large export first would make the user wait to learn of a typo)."""
    playbook = tmp_path / "broken.toml"
    playbook.write_text('[strategy]\nname = "Nope"\n[[reps]]\nid = "a"\n', encoding="utf-8")
    code = main(["route", str(playbook), str(tmp_path / "missing.csv"), "--out", "x.csv"])
    assert code == 2
    assert 'unknown strategy "Nope"' in capsys.readouterr().err
