"""load_export on workbooks as people format them: a merged cell shows its value on every row it
covers, so those rows are read with it (a 负责人 merged over the rep's leads is each lead's
owner, never a lead with no owner), each such cell flagged with the range; a failed formula's
value (`#REF!`) rejects its row, as the same sheet saved as CSV does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadrouter.sim import History, load_export

HEADER = ["线索ID", "负责人", "创建时间", "跟进状态"]


def workbook(path: Path, rows: list[list[Any]], merges: list[str]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    book.save(path)
    return path


def load(path: Path) -> History:
    return load_export(path, tz="Asia/Shanghai")


def test_a_merged_owner_and_status_are_read_on_every_row_they_cover(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["X1", "张伟", "2025-03-03 09:15", "已成交"],
        ["X2", None, "2025-03-03 10:15", None],
        ["X3", None, "2025-03-03 11:15", "跟进中"],
        [None, None, None, None],  # a blank sheet row: numbering still the sheet's
        ["X4", "李娜", "2025-03-03 12:15", "输单"],
        ["X5", None, "2025-03-03 13:15", "已成交"],
    ]
    path = workbook(tmp_path / "merged.xlsx", rows, ["B2:B4", "D2:D3", "B6:B7"])
    history = load(path)
    frame = history.to_frame().set_index("lead_id")
    assert frame["rep_id"].to_dict() == {
        "X1": "张伟",
        "X2": "张伟",
        "X3": "张伟",
        "X4": "李娜",
        "X5": "李娜",
    }
    assert frame["stage"].to_dict() == {
        "X1": "won",
        "X2": "won",
        "X3": "open",
        "X4": "lost",
        "X5": "won",
    }
    assert history.rejected.empty
    flagged = history.flagged
    assert sorted(zip(flagged["row"], flagged["column"], strict=True)) == [
        (3, "负责人"),
        (3, "跟进状态"),
        (4, "负责人"),
        (7, "负责人"),
    ]
    first = flagged.iloc[0].to_dict()
    assert first == {
        "row": 3,
        "column": "负责人",
        "reason": "the merged cell B2:B4 shows '张伟' on each of its rows; the workbook holds it "
        "in row 2 alone",
        "action": "read as '张伟', not blank: unmerge the cells and fill each row to say otherwise",
    }


def test_a_range_across_one_row_and_an_empty_range_fill_nothing(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["X1", "张伟", "2025-03-03 09:15", "跟进中"],
        ["张伟 (2)", None, None, None],  # a group's title row, merged across the sheet
        ["X2", None, "2025-03-03 10:15", "跟进中"],
        ["X3", None, "2025-03-03 11:15", "跟进中"],
    ]
    path = workbook(tmp_path / "title.xlsx", rows, ["A3:D3", "B4:B5"])
    history = load(path)
    frame = history.to_frame().set_index("lead_id")
    assert frame["rep_id"].isna().to_dict() == {"X1": False, "X2": True, "X3": True}
    assert history.flagged.empty
    assert history.rejected["row"].tolist() == [3]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(groups=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=6))
def test_each_row_a_merged_owner_covers_is_that_owners_and_flagged(
    tmp_path: Path, groups: list[int]
) -> None:
    """Owners merged over groups of rows of any sizes: every lead is its group's owner's, and
    exactly the rows under each group's first are flagged."""
    rows: list[list[Any]] = []
    merges, covered, owner_of = [], [], {}
    for group, size in enumerate(groups):
        top = len(rows) + 2
        for offset in range(size):
            lead = f"L{len(rows)}"
            owner_of[lead] = f"rep{group}"
            rows.append([lead, f"rep{group}" if offset == 0 else None, "2025-03-03 09:15", None])
            if offset:
                covered.append(top + offset)
        if size > 1:
            merges.append(f"B{top}:B{top + size - 1}")
    history = load(workbook(tmp_path / "groups.xlsx", rows, merges))
    frame = history.to_frame()
    assert dict(zip(frame["lead_id"], frame["rep_id"], strict=True)) == owner_of
    assert sorted(history.flagged["row"]) == covered


def test_a_csv_has_no_merged_cells_to_read(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("线索ID,负责人,创建时间\nX1,张伟,2025-03-03 09:15\nX2,,2025-03-03 10:15\n")
    frame = load(path).to_frame()
    assert frame["rep_id"].isna().tolist() == [False, True]


_FAILED = "'{}' is an Excel error, not a value: the formula behind the cell failed"


def test_a_failed_formula_is_rejected_as_an_excel_error_in_a_workbook_as_in_a_csv(
    tmp_path: Path,
) -> None:
    """A workbook's `#REF!` reads as blank to the workbook reader: an owner left blank, a
    lead nobody holds, in silence. It is written back and rejected, naming the cell, as the same
    sheet saved as CSV is; `#N/A`, a lookup that found nothing, stays blank."""
    rows: list[list[Any]] = [
        ["X1", "张伟", "2025-03-03 09:15", "已成交"],
        ["X2", "#REF!", "2025-03-03 10:15", "跟进中"],
        ["X3", "李娜", "2025-03-03 11:15", "#NAME?"],
        ["X4", "#N/A", "2025-03-03 12:15", "跟进中"],
    ]
    path = workbook(tmp_path / "errors.xlsx", rows, [])
    book = openpyxl.load_workbook(path)
    sheet = book.active
    assert sheet is not None
    for cell in ("B3", "D4", "B5"):  # as Excel stores a failed formula's value
        sheet[cell].data_type = "e"
    book.save(path)
    saved = tmp_path / "errors.csv"
    saved.write_text(
        ",".join(HEADER) + "\n" + "".join(",".join(map(str, row)) + "\n" for row in rows),
        encoding="utf-8",
    )
    for history in (load(path), load(saved)):
        assert history.to_frame()["lead_id"].tolist() == ["X1", "X4"]
        reasons = dict(zip(history.rejected["row"], history.rejected["reason"], strict=True))
        assert reasons[3].startswith(_FAILED.format("#REF!"))
        assert reasons[4].startswith(_FAILED.format("#NAME?"))
        assert history.to_frame().set_index("lead_id")["rep_id"].isna().tolist() == [False, True]


def test_a_failed_formula_in_excels_other_languages_is_rejected_and_na_is_blank(
    tmp_path: Path,
) -> None:
    """A German sheet saved as CSV writes `#BEZUG!` where an English one writes `#REF!`; its
    `#NV` is `#N/A`, read as blank."""
    path = tmp_path / "german.csv"
    path.write_text(
        "lead_id;created_at;owner;amount\n1;05.01.2026 09:00;#BEZUG!;3,5\n"
        "2;05.01.2026 10:00;Anna;#WERT!\n3;05.01.2026 11:00;#NV;4,5\n",
        encoding="utf-8",
    )
    history = load_export(path, tz="Europe/Berlin")
    assert history.to_frame()["lead_id"].tolist() == ["3"]
    reasons = dict(zip(history.rejected["row"], history.rejected["reason"], strict=True))
    assert reasons[2].startswith(_FAILED.format("#BEZUG!"))
    assert reasons[3].startswith(_FAILED.format("#WERT!"))


def test_an_empty_error_cell_takes_no_other_cells_value() -> None:
    """The sheet's XML is read cell by cell: `<c t="e"/>` gives nothing, never the next cell's
    value."""
    from leadrouter.sim.reading import _ERROR_CELL

    xml = (
        b'<row r="3"><c r="D3" t="e"/><c r="E3"><v>7</v></c>'
        b'<c r="F3" s="1" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
    )
    assert [match.groups() for match in _ERROR_CELL.finditer(xml)] == [(b"F", b"3", b"#DIV/0!")]
