"""`leadrouter check`: the sample decisions' reasons are shown whole, wrapped between words to
the terminal's width, and the table lines up whatever script rep ids are written in."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

import leadrouter as lr
from leadrouter.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL_TEAM = ROOT / "strategies" / "small-team-no-data.toml"
ROTATION_REASON = (lr.EqualRotation.__doc__ or "").strip().split("\n")[0].rstrip(".")
"""What the router says when EqualRotation chose a rep (the first line of its docstring)."""

CJK_PLAYBOOK = """
[strategy]
name = "EqualRotation"

[[reps]]
id = "张伟"

[[reps]]
id = "li"

[[reps]]
id = "王芳芳"
"""


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _samples(out: str) -> list[list[str]]:
    """Each sample decision as its lines: the row, then the lines its reason wrapped onto."""
    lines = out.split("what it would do with")[1].splitlines()[1:]
    rows: list[list[str]] = []
    for line in lines:
        if line.startswith("    lead"):
            rows.append([line])
        else:
            rows[-1].append(line)
    return rows


def test_reasons_wrap_between_words_and_are_never_cut(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "70")
    assert main(["check", str(SMALL_TEAM)]) == 0
    out = capsys.readouterr().out
    assert "…" not in out
    rows = _samples(out)
    assert len(rows) == 12
    wrapped = 0
    for row in rows:
        reason_at = row[0].index(ROTATION_REASON.split()[0])
        assert all(len(line) <= 70 for line in row)
        assert all(line[:reason_at].strip() == "" for line in row[1:])  # under the reason
        text = " ".join([row[0][reason_at:], *(line.strip() for line in row[1:])])
        assert text == ROTATION_REASON
        wrapped += len(row) > 1
    assert wrapped == 12  # the reason is longer than 70 columns allow: every row wrapped


def test_sample_table_lines_up_with_east_asian_rep_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    playbook = tmp_path / "cjk.toml"
    playbook.write_text(CJK_PLAYBOOK, encoding="utf-8")
    assert main(["check", str(playbook)]) == 0
    rows = [row[0] for row in _samples(capsys.readouterr().out)]
    reps = {row.split()[4] for row in rows}
    assert reps == {"张伟", "li", "王芳芳"}
    starts = {_width(row[: row.index(ROTATION_REASON)]) for row in rows}
    assert len(starts) == 1  # every reason starts in the same terminal column


def test_a_playbook_that_loads_but_cannot_route_is_not_called_ok(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    playbook = tmp_path / "quota.toml"
    playbook.write_text('[strategy]\nname = "QuotaProportional"\n\n[[reps]]\nid = "a"\n')
    assert main(["check", str(playbook)]) == 2
    captured = capsys.readouterr()
    assert "OK" not in captured.out
    assert f"{playbook}: the playbook loads, but routing sample lead" in captured.err
    assert "rep 'a' has no quota" in captured.err


def test_every_playbook_is_checked_and_a_bad_one_fails_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`check a.toml missing.toml b.toml` checks b too: each broken file is one error line, and
    the run exits 2 when any failed."""
    good = tmp_path / "good.toml"
    good.write_text(CJK_PLAYBOOK, encoding="utf-8")
    assert main(["check", str(tmp_path / "missing.toml"), str(good), str(good)]) == 2
    captured = capsys.readouterr()
    assert captured.out.count(f"{good}: OK") == 2
    assert captured.err.splitlines() == [
        f"leadrouter: error: {tmp_path / 'missing.toml'}: no such playbook file",
        "leadrouter: 1 of 3 playbooks failed",
    ]


def test_check_warns_when_no_sample_lead_reaches_a_rep_or_a_rep_is_in_no_tier(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capped = tmp_path / "capped.toml"
    capped.write_text(
        CJK_PLAYBOOK.replace('[[reps]]\nid = "张伟"', '[[caps]]\nopen = 0\n[[reps]]\nid = "张伟"'),
        encoding="utf-8",
    )
    assert main(["check", str(capped)]) == 0
    assert (
        "  warning: none of the 12 sample leads went to a rep; the first waits because: "
        "capped (FixedCap(open=0, daily=None, tz='UTC')): " in capsys.readouterr().out
    )
    tiered = tmp_path / "tiered.toml"
    tiered.write_text(
        '[strategy]\nname = "TieredDelay"\n[[strategy.tiers]]\ntier = 0\npatience = "2h"\n'
        'strategy = { name = "EqualRotation" }\n'
        '[[reps]]\nid = "a"\n[[reps]]\nid = "b"\ntier = 2\n',
        encoding="utf-8",
    )
    assert main(["check", str(tiered)]) == 0
    out = capsys.readouterr().out
    assert (
        "  warning: b (tier 2) in no tier of TieredDelay: they get leads only by claiming them "
        "from the public pool after the last tier\n" in out
    )
    assert "none of the" not in out


def test_check_shows_working_hours_with_their_days_and_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`weekdays = [1, 2, 3, 4, 5]` is Tuesday to Saturday (0 is Monday) and hours without a
    `tz` are UTC: check says both in words, so neither passes unnoticed."""
    path = tmp_path / "hours.toml"
    path.write_text(
        CJK_PLAYBOOK
        + '[lifecycle]\nfirst_touch_sla = "30m"\n'
        + 'working_hours = { start = "08:30", end = "17:00", weekdays = [1, 2, 3, 4, 5] }\n',
        encoding="utf-8",
    )
    assert main(["check", str(path)]) == 0
    assert (
        "  lifecycle: first-touch SLA 30m (working hours 08:30-17:00 Tue-Sat, UTC), expiry off"
        in capsys.readouterr().out
    )
    assert lr.Shift("Asia/Shanghai", weekdays={0, 2, 3, 6}).describe() == (
        "09:00-18:00 Mon, Wed-Thu, Sun, Asia/Shanghai"
    )


TEAM_HEAD = """
[strategy]
name = "EqualRotation"

[[reps]]
id = "张伟"
regions = ["华北"]
"""
"""The start of the Chinese teams' playbooks below."""

SHANGHAI_TEAM = (
    TEAM_HEAD
    + """
[[reps]]
id = "王芳"
regions = "华东/华南"

[[reps]]
id = "李娜"
regions = ["华北 华东"]

[[rules]]
name = "schedule"
default = { tz = "Asia/Shanghai", days_off = [2026-10-01, 2026-10-02] }
shifts = { "王芳" = { tz = "Asia/Shanghai", days_off = [2026-03-03] } }

[[caps]]
name = "FixedCap"
daily = 30

[lifecycle]
first_touch_sla = "30m"
working_hours = { tz = "Asia/Shanghai", start = "09:00", end = "18:00" }
"""
)


def test_check_warns_of_what_a_chinese_team_playbook_likely_did_not_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each loaded without a word and routed wrong: a rep's own shift dropped the team's
    holidays (王芳 got a lead on 国庆), the SLA ran on the holidays the schedule gave off, the
    daily cap's day started at 08:00 Beijing time, and "华东/华南" was one region nobody has."""
    path = tmp_path / "team.toml"
    path.write_text(SHANGHAI_TEAM, encoding="utf-8")
    assert main(["check", str(path)]) == 0
    warnings = [line.strip() for line in capsys.readouterr().out.splitlines() if "warning:" in line]
    said = "\n".join(warnings)
    assert "the shift of 王芳 leaves out days off of the default (2026-10-01 ...)" in said
    assert "schedule and [lifecycle] working_hours have different days off" in said
    assert (
        "FixedCap in UTC, but Asia/Shanghai elsewhere: a table without tz is UTC; "
        'write tz = "Asia/Shanghai"' in said
    )
    assert (
        'rep 王芳\'s region "华东/华南" is one region of that name: '
        'write regions = ["华东", "华南"]' in said
    )
    assert 'rep 李娜\'s region "华北 华东"' in said
    assert "张伟's region" not in said


def test_route_warns_when_the_playbook_days_are_not_the_leads_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    playbook = tmp_path / "utc.toml"
    playbook.write_text(
        CJK_PLAYBOOK + '\n[[caps]]\nname = "FixedCap"\ndaily = 2\n', encoding="utf-8"
    )
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "lead_id,arrived_at\nL1,2026-03-02 07:30\nL2,2026-03-02 08:10\n", encoding="utf-8"
    )
    out = tmp_path / "decisions.csv"
    assert (
        main(["route", str(playbook), str(leads), "--out", str(out), "--tz", "Asia/Shanghai"]) == 0
    )
    said = capsys.readouterr().out
    assert (
        "FixedCap in UTC, but the leads are read in Asia/Shanghai: a table without tz is UTC; "
        'write tz = "Asia/Shanghai" in it' in said
    )
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads the names right


CHINESE_REGIONS = (
    TEAM_HEAD
    + """
[[reps]]
id = "王芳"
regions = ["华东"]

[[rules]]
name = "region"
"""
)


def test_check_samples_leads_in_the_team_regions_and_route_names_a_mapped_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sample leads were always in north, south and east: a team in 华北 and 华东 got
    "none of the sample leads went to a rep" for a right playbook. And `field = "大区"` for
    a column the file maps to region warned "no lead has 大区", not what to write."""
    path = tmp_path / "team.toml"
    path.write_text(CHINESE_REGIONS, encoding="utf-8")
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "warning" not in out
    assert {row[0].split()[1] for row in _samples(out)} == {"华北", "华东"}

    path.write_text(CHINESE_REGIONS + 'field = "大区"\n', encoding="utf-8")
    leads = tmp_path / "leads.csv"
    leads.write_text("线索编号,创建时间,大区\nL1,2026-03-02 09:00,华北\n", encoding="utf-8")
    out_csv = tmp_path / "decisions.csv"
    argv = ["route", str(path), str(leads), "--out", str(out_csv), "--tz", "Asia/Shanghai"]
    assert main(argv) == 0
    assert (
        "the file's column '大区' is read as the lead's region; write field = \"region\""
        in capsys.readouterr().out
    )


def test_check_counts_in_words_that_read_right(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ "5 daies off" and "1 reps" were printed."""
    path = tmp_path / "team.toml"
    one = CHINESE_REGIONS.replace('[[reps]]\nid = "王芳"\nregions = ["华东"]\n', "")
    path.write_text(one, encoding="utf-8")
    assert main(["check", str(path)]) == 0
    assert "roster   : 1 rep (1 active)" in capsys.readouterr().out
    from leadrouter._util import plural

    assert [plural(2, w) for w in ("day", "policy", "key", "company")] == [
        "2 days",
        "2 policies",
        "2 keys",
        "2 companies",
    ]
