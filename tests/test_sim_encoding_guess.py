"""Encoding detection never passes a Western or Big5 file off as GBK: what is not UTF-8 and does
not look like Chinese text is refused with the line and the `encoding` to name."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadrouter.errors import InvalidExportError
from leadrouter.sim import load_export
from leadrouter.sim.reading import read_table

SAMPLES = Path(__file__).resolve().parents[1] / "examples" / "data"

WESTERN = (
    "id,created,name\n"
    "L1,2025-03-03 09:00,Smith\n"
    "L2,2025-03-03 09:00,Müller\n"
    "L3,2025-03-03 10:00,Gómez\n"
    "L4,2025-03-03 11:00,Joséphine\n"
)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_the_bundled_gbk_export_still_opens_without_naming_the_encoding() -> None:
    frame = load_export(SAMPLES / "sample_export_gbk.csv", tz="Asia/Shanghai").to_frame()
    assert len(frame) == 300
    assert "张伟" in frame["rep_id"].tolist()


def test_a_cp1252_file_is_refused_with_the_line_and_the_encoding_to_name(tmp_path: Path) -> None:
    path = write(tmp_path / "crm.csv", WESTERN.encode("cp1252"))
    with pytest.raises(InvalidExportError) as caught:
        load_export(path, tz="UTC")
    message = str(caught.value)
    assert message.startswith(f"{path}: line 3 (")
    assert "M\\xfcller" in message and "encoding='cp1252'" in message
    assert "encoding='big5'" in message and "encoding='gb18030'" in message
    with pytest.raises(InvalidExportError, match=r"line 3 .*--encoding cp1252"):
        read_table(path, None, "command")


def test_the_same_cp1252_file_loads_when_its_encoding_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "crm.csv", WESTERN.encode("cp1252"))
    frame = load_export(path, encoding="cp1252", tz="UTC").to_frame()
    assert frame["lead_id"].tolist() == ["L1", "L2", "L3", "L4"]
    table = read_table(path, "cp1252", "python")
    assert table["name"].tolist() == ["Smith", "Müller", "Gómez", "Joséphine"]


def test_a_cp1252_file_gbk_cannot_decode_either_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "crm.csv", "id,name\nL1,Smith\nL2,José\n".encode("cp1252"))
    with pytest.raises(InvalidExportError) as caught:
        read_table(path, None, "python")
    message = str(caught.value)
    assert "neither UTF-8 nor GBK/GB18030 text: line 3 ('L2,Jos\\xe9')" in message
    assert "encoding='cp1252'" in message and "encoding='big5'" in message


def test_a_big5_file_is_not_misread_as_gbk(tmp_path: Path) -> None:
    path = write(
        tmp_path / "tw.csv", "id,created,name\nT1,2025-03-03 09:00,張偉,陳美玲\n".encode("big5")
    )
    with pytest.raises(InvalidExportError, match=r"line 2 .*encoding='big5'"):
        load_export(path, tz="UTC")
    named = write(tmp_path / "tw2.csv", "id,name\nT1,張偉\nT2,陳美玲\n".encode("big5"))
    table = read_table(named, "big5", "python")
    assert table["name"].tolist() == ["張偉", "陳美玲"]


def test_gbk_with_a_few_traditional_and_rare_characters_still_opens(tmp_path: Path) -> None:
    names = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴丽"]
    odd = ["張偉", "鎔", "喆"]  # GBK's extension: traditional and rare name characters
    rows = [f"L{i},{name},华东\n" for i, name in enumerate(names + odd)]
    path = write(tmp_path / "导出.csv", ("线索编号,负责人,区域\n" + "".join(rows)).encode("gbk"))
    table = read_table(path, None, "python")
    assert table["负责人"].tolist() == names + odd
    assert set(table["区域"]) == {"华东"}


def test_a_utf8_file_with_one_stray_byte_names_its_line(tmp_path: Path) -> None:
    for tail in (b"\n", b"e\n"):  # what GBK cannot decode, and what it can
        path = write(
            tmp_path / "u.csv",
            "id,name\nL1,张伟\n".encode() + b"L2,Ren\xe9" + tail + "L3,Zoë\n".encode(),
        )
        with pytest.raises(InvalidExportError, match=r"u\.csv: .*line 3 \('L2,Ren\\xe9"):
            load_export(path, tz="UTC")


def test_an_explicit_encoding_error_gives_the_line_and_the_byte(tmp_path: Path) -> None:
    path = write(tmp_path / "crm.csv", WESTERN.encode("cp1252"))
    with pytest.raises(InvalidExportError, match=r"not valid utf-8 at byte \d+ \(line 3, b'\\xfc"):
        load_export(path, encoding="utf-8", tz="UTC")
    with pytest.raises(InvalidExportError, match=r"not valid utf-16-le at byte \d+ \(b'"):
        read_table(write(tmp_path / "odd.csv", b"id\nab\x00\xd8"), "utf-16-le", "python")
