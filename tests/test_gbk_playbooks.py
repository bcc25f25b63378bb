"""A roster CSV saved by Excel on a Chinese Windows (GBK) and a playbook saved by its Notepad
(GBK, "ANSI") are read, told from the bytes by the same guess as an export's
(`leadrouter._text`), and `leadrouter check` says which files were read as GB18030; a file in
no encoding it can tell is an error naming the line."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from leadrouter._text import UnknownEncodingError, guess
from leadrouter.cli import main
from leadrouter.playbooks import PlaybookError, read_playbook, read_roster

ROSTER = (
    "id,team,regions,active\n张伟,华东组,华东;华南,是\n王芳,华北组,华北,否\nli,华北组,华北,是\n"
)
PLAYBOOK = """# 华东团队：轮流分配，按大区
roster = "reps.csv"

[strategy]
name = "EqualRotation"   # 轮流

[[rules]]
name = "region"

[[rules]]
name = "reserve"         # 大客户只给张伟
field = "score"
at_least = 0.8
reps = ["张伟"]
reason = "大客户"
"""


def _team(tmp_path: Path, roster: bytes, playbook: bytes) -> Path:
    (tmp_path / "reps.csv").write_bytes(roster)
    path = tmp_path / "团队.toml"
    path.write_bytes(playbook)
    return path


def test_a_gbk_roster_and_a_gbk_playbook_read_as_their_utf8_twins(tmp_path: Path) -> None:
    utf8 = read_playbook(_team(tmp_path, ROSTER.encode(), PLAYBOOK.encode()))
    notes: list[str] = []
    gbk = read_playbook(_team(tmp_path, ROSTER.encode("gbk"), PLAYBOOK.encode("gbk")), notes=notes)
    assert gbk == utf8
    assert [rep.id for rep in gbk["reps"]] == ["张伟", "王芳", "li"]
    assert gbk["reps"][0].regions == {"华东", "华南"} and not gbk["reps"][1].active
    assert gbk["rules"][1].reason == "大客户"
    assert notes == [
        f"{tmp_path / '团队.toml'} read as GB18030 (GBK, as Windows saves Chinese text), not UTF-8",
        f"{tmp_path / 'reps.csv'} read as GB18030 (GBK, as Windows saves Chinese text), not UTF-8",
    ]
    assert read_roster(tmp_path / "reps.csv") == utf8["reps"]


def test_only_the_files_read_as_gb18030_are_noted(tmp_path: Path) -> None:
    for roster, playbook, noted in [
        (ROSTER.encode("gbk"), PLAYBOOK.encode(), ["reps.csv"]),
        (ROSTER.encode("utf-16"), PLAYBOOK.encode("gbk"), ["团队.toml"]),
        (codecs.BOM_UTF8 + ROSTER.encode(), PLAYBOOK.encode("utf-8-sig"), []),
    ]:
        notes: list[str] = []
        read_playbook(_team(tmp_path, roster, playbook), notes=notes)
        assert [Path(note.split(" read as ")[0]).name for note in notes] == noted


def test_check_says_which_files_were_read_as_gb18030(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _team(tmp_path, ROSTER.encode("gbk"), PLAYBOOK.encode())
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [
        f"{path}: OK",
        f"  note     : {tmp_path / 'reps.csv'} read as GB18030 (GBK, as Windows saves Chinese "
        "text), not UTF-8",
    ]
    assert "  roster   : 3 reps (2 active); teams 华东组=1, 华北组=2" in out


def test_route_says_it_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _team(tmp_path, ROSTER.encode(), PLAYBOOK.encode("gbk"))
    leads = tmp_path / "leads.csv"
    leads.write_bytes("线索编号,创建时间,大区\nL1,2026-03-02 09:00,华北\n".encode("gbk"))
    argv = ["route", str(path), str(leads), "--out", str(tmp_path / "d.csv"), "--tz", "UTC"]
    assert main(argv) == 0
    assert f"  note: {path} read as GB18030" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ("id,team\nli,a\nMüller,b\n".encode("cp1252"), "line 3: not UTF-8 text (byte 0xfc), and"),
        (b"id,team\nli,a\nx\x80\xff,b\n", "line 3: not UTF-8 text (byte 0x80), nor GBK/GB18030"),
        (codecs.BOM_UTF16_LE + "id\nli\n".encode("utf-16-le")[:-1], "not UTF-16 text at byte"),
    ],
    ids=["cp1252", "undecodable", "utf16-cut"],
)
def test_a_roster_in_no_encoding_it_can_tell_is_named_with_its_line(
    tmp_path: Path, data: bytes, said: str
) -> None:
    path = _team(tmp_path, data, PLAYBOOK.encode())
    with pytest.raises(PlaybookError) as info:
        read_playbook(path)
    assert str(info.value).startswith(f"{tmp_path / 'reps.csv'}: ")
    assert said in str(info.value)
    assert str(info.value).endswith("save the roster as UTF-8 (in Excel: Save As, CSV UTF-8)")


def test_a_playbook_in_no_encoding_it_can_tell_is_named_with_its_line(tmp_path: Path) -> None:
    text = '[strategy]\nname = "EqualRotation"\n# Müller, Gómez\n'
    path = _team(tmp_path, ROSTER.encode(), text.encode("cp1252"))
    with pytest.raises(PlaybookError) as info:
        read_playbook(path)
    assert str(info.value) == (
        f"{path}: line 3: not UTF-8 text (byte 0xfc), and read as GBK it is not like Chinese "
        "text (a Western or Big5 encoding?): a playbook is a TOML file saved as UTF-8"
    )


def test_the_guess_is_the_one_the_export_reader_uses() -> None:
    """One piece of code: the simulator's reader decodes through `leadrouter._text.guess`."""
    from leadrouter.sim import reading

    assert reading.guess is guess
    assert guess("张伟".encode("gbk")).encoding == "GB18030"
    assert guess("张伟".encode("gbk")).text == "张伟"
    assert guess(codecs.BOM_UTF8 + "张伟".encode()).text == "张伟"
    assert guess("张伟".encode("utf-16")).encoding == "UTF-16"
    with pytest.raises(UnknownEncodingError) as info:
        guess("a\nMüller\n".encode("cp1252"))
    assert info.value.where == "line 2 ('M\\xfcller')" and info.value.odd == (1, 1)
