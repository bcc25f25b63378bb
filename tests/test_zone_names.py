"""Time zones as people write them: a name the tz database does not know (`UTC+8`, `Beijing`,
`北京时间`, `CST`) is an error that names the zone meant, and `Etc/GMT+8`, a real zone whose sign
is POSIX's (UTC-8, not Beijing), is a warning of `leadrouter check` and `leadrouter route`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import leadrouter as lr
from leadrouter._validators import zone
from leadrouter.cli import main
from leadrouter.playbooks import PlaybookError, read_playbook


@pytest.mark.parametrize(
    "name",
    ["UTC+8", "GMT+8", "UTC+08:00", "utc +8", "+8", "GMT+0800", "UTC＋8", "Beijing", "北京时间"],
)
def test_beijing_time_written_another_way_names_asia_shanghai(name: str) -> None:
    with pytest.raises(lr.ConfigError) as info:
        zone(name)
    said = str(info.value)
    assert said.startswith(
        f"unknown time zone {name!r}: Beijing time (UTC+8, China Standard Time) is 'Asia/Shanghai'"
    )


@pytest.mark.parametrize(
    ("name", "said"),
    [
        (
            "UTC+8",
            "(the offset without a place is 'Etc/GMT-8'; Etc/GMT-8 is UTC+8, not UTC-8: the "
            "Etc/GMT zones carry the POSIX sign, the inverse of the usual one)",
        ),
        (
            "UTC+9",
            "for UTC+9 write 'Etc/GMT-9' (Etc/GMT-9 is UTC+9, not UTC-9: the Etc/GMT zones carry "
            "the POSIX sign, the inverse of the usual one), or better the zone of the place",
        ),
        ("GMT-5", "for UTC-5 write 'Etc/GMT+5' (Etc/GMT+5 is UTC-5, not UTC+5: the Etc/GMT"),
        ("UTC+5:30", "'Asia/Kolkata' is UTC+5:30 (the Etc zones, an offset without a place"),
        ("UTC+0", "UTC+0 is 'UTC'"),
        ("UTC+15", "no zone is UTC+15"),
        ("CST", "'Asia/Shanghai' for China, 'America/Chicago' for US Central"),
        ("东八区", "'Asia/Shanghai'"),
        ("asia/shanghai", "did you mean 'Asia/Shanghai'? (zone names match case exactly)"),
        ("Asia/Shangai", "did you mean 'Asia/Shanghai'?"),
        ("Mars/Base", "use an IANA name such as 'UTC' or 'Asia/Shanghai'"),
    ],
)
def test_an_unknown_zone_says_what_to_write(name: str, said: str) -> None:
    with pytest.raises(lr.ConfigError) as info:
        zone(name)
    assert said in str(info.value)


def test_the_etc_zone_offered_is_the_offset_asked_for() -> None:
    """The sign is inverted in the name, not in the offset: Etc/GMT-9 is UTC+9."""
    for hours in (-11, -5, 1, 8, 9, 14):
        etc = f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"
        with pytest.raises(lr.ConfigError, match=re.escape(f"'{etc}'")):
            zone(f"UTC{hours:+d}")
        assert datetime(2026, 1, 5, tzinfo=UTC).astimezone(zone(etc)).utcoffset() == timedelta(
            hours=hours
        )


def test_a_playbook_zone_error_names_the_key_and_the_zone_meant(tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text(
        '[strategy]\nname = "EqualRotation"\n[[caps]]\ndaily = 30\ntz = "UTC+8"\n'
        '[[reps]]\nid = "张伟"\n',
        encoding="utf-8",
    )
    with pytest.raises(PlaybookError) as info:
        read_playbook(path)
    assert str(info.value) == (
        f"{path}: caps[0]: FixedCap.tz: unknown time zone 'UTC+8': Beijing time (UTC+8, China "
        "Standard Time) is 'Asia/Shanghai' (the offset without a place is 'Etc/GMT-8'; "
        "Etc/GMT-8 is UTC+8, not UTC-8: the Etc/GMT zones carry the POSIX sign, the inverse of "
        "the usual one)"
    )


POSIX = """
[strategy]
name = "EqualRotation"

[[rules]]
name = "schedule"
default = { tz = "Etc/GMT-8" }
shifts = { "王芳" = { tz = "Etc/GMT+5" } }

[[caps]]
daily = 30
tz = "Etc/GMT+8"

[lifecycle]
first_touch_sla = "30m"
working_hours = { tz = "Etc/GMT+8" }

[[reps]]
id = "王芳"

[[reps]]
id = "张伟"
"""


def test_check_warns_of_an_etc_gmt_zone_with_the_offset_it_really_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "team.toml"
    path.write_text(POSIX, encoding="utf-8")
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    warnings = [line for line in out if "warning:" in line and "Etc/GMT" in line]
    beijing = 'for Beijing time (UTC+8) write tz = "Asia/Shanghai"'
    assert warnings == [
        '  warning: caps[0]: tz = "Etc/GMT+8" is UTC-8, not UTC+8: the Etc/GMT zones carry the '
        f"POSIX sign, the inverse of the usual one; {beijing}",
        '  warning: rules[0].shifts."王芳": tz = "Etc/GMT+5" is UTC-5, not UTC+5: the Etc/GMT '
        f"zones carry the POSIX sign, the inverse of the usual one; {beijing}",
        '  warning: rules[0].default: tz = "Etc/GMT-8" is UTC+8, not UTC-8: the Etc/GMT zones '
        "carry the POSIX sign, the inverse of the usual one; that is Beijing time, which tz = "
        '"Asia/Shanghai" says plainly',
        '  warning: lifecycle.working_hours: tz = "Etc/GMT+8" is UTC-8, not UTC+8: the Etc/GMT '
        f"zones carry the POSIX sign, the inverse of the usual one; {beijing}",
    ]


def test_route_warns_of_it_too_and_of_the_leads_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "team.toml"
    path.write_text(POSIX, encoding="utf-8")
    leads = tmp_path / "leads.csv"
    leads.write_text("lead_id,arrived_at\nL1,2026-03-02 09:00\n", encoding="utf-8")
    argv = ["route", str(path), str(leads), "--out", str(tmp_path / "d.csv"), "--tz", "Etc/GMT+8"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert 'warning: caps[0]: tz = "Etc/GMT+8" is UTC-8, not UTC+8' in out
    assert 'warning: --tz: tz = "Etc/GMT+8" is UTC-8, not UTC+8' in out


@pytest.mark.parametrize("command", ["route", "handover"])
def test_a_zone_read_off_the_leads_offsets_is_no_zone_of_the_users_to_warn_of(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Times written with +08:00 and no --tz are read in "Etc/GMT-8": no one wrote that name,
    so nothing warns that it reads backwards (it warned of a `--tz` never given)."""
    path = tmp_path / "team.toml"
    path.write_text(re.sub(r"Etc/GMT[+-]\d", "Asia/Shanghai", POSIX), encoding="utf-8")
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "lead_id,arrived_at,owner\nL1,2026-03-02T09:00:00+08:00,张伟\n", encoding="utf-8"
    )
    argv = [command, str(path), str(leads), "--out", str(tmp_path / "d.csv")]
    assert main([*argv, *(["--rep", "张伟"] if command == "handover" else [])]) == 0
    out = capsys.readouterr().out
    assert "leads.csv" in out
    assert "GMT" not in out


def test_a_table_in_utc_beside_leads_read_off_their_offsets_is_told_the_offset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The leads' zone read off "+08:00" is said as UTC+8, as inspect and the report say it,
    and the advice is the zone the Etc/GMT warning would itself advise, not "Etc/GMT-8"."""
    path = tmp_path / "team.toml"
    path.write_text(
        '[strategy]\nname = "EqualRotation"\n\n[[caps]]\ndaily = 30\n\n[[reps]]\nid = "a"\n',
        encoding="utf-8",
    )
    leads = tmp_path / "leads.csv"
    leads.write_text("lead_id,arrived_at\nL1,2026-03-02T09:00:00+08:00\n", encoding="utf-8")
    assert main(["route", str(path), str(leads), "--out", str(tmp_path / "d.csv")]) == 0
    out = capsys.readouterr().out
    assert (
        "  warning: FixedCap in UTC, but the leads are read in UTC+8: a table without tz is UTC; "
        'write tz = "Asia/Shanghai" in it\n'
    ) in out
    assert "GMT" not in out


def test_no_warning_for_a_zone_named_after_a_place_or_utc(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "team.toml"
    path.write_text(
        POSIX.replace("Etc/GMT-8", "Asia/Shanghai")
        .replace("Etc/GMT+5", "Etc/GMT+0")
        .replace("Etc/GMT+8", "Etc/UTC"),
        encoding="utf-8",
    )
    assert main(["check", str(path)]) == 0
    assert "POSIX" not in capsys.readouterr().out
