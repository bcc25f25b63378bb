"""Reading an export file into a table of text cells: CSV in any common encoding, Excel, Parquet.

The first layer of `load_export`: bytes in, a table of cells out, nothing interpreted yet. What
is not a readable table (a missing file, a directory, an image or archive picked by mistake, an
old .xls workbook, text in an undetectable encoding) is an `InvalidExportError` naming the file
and how to fix it. UTF-8 (with or without BOM), UTF-16 with BOM and GBK/GB18030 are detected;
another encoding is named with the `encoding` option, which a message words as a keyword or as
the command's flag (`ExportOption`). A workbook's cell merged over several rows is read on each
of them, as the sheet shows it, and said (`merged_cell_notes`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadrouter._text import UnknownEncodingError, guess, line_of
from leadrouter.errors import (
    Audience,
    ConfigError,
    EmptyExportError,
    ExportOption,
    InvalidExportError,
)

__all__ = ["ENCODING", "MERGED", "merged_cell_notes", "read_table", "short_row_notes"]

ENCODING = ExportOption("encoding")
"""The option that names a file's encoding (`encoding=` / `--encoding`)."""


_BINARY = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip archive",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"SQLite format 3": "an SQLite database",
    b"\x7fELF": "a program",
    b"MZ": "a Windows program",
}
"""First bytes of files people pick by mistake, named so the message says what the file is."""


def read_table(path: Path, encoding: str | None, audience: Audience) -> pd.DataFrame:
    """The file as a table of cells; anything that is not a readable table (no such file, a
    directory, no permission, binary data) is an `InvalidExportError` naming the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        what = "it is a directory" if path.is_dir() else (exc.strerror or str(exc)).lower()
        raise InvalidExportError(
            f"{path}: cannot be read ({what}): give the path of a CSV, Excel (.xlsx) or "
            "Parquet export"
        ) from exc
    if data.startswith(b"PK\x03\x04"):
        _not_a_zipped_export(path)
        return _read_excel(path)
    if data.startswith(b"PAR1"):
        return _read_parquet(path)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InvalidExportError(
            f"{path}: an old Excel .xls workbook: open it in Excel or WPS and save it as .xlsx "
            "or CSV, then load that"
        )
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].lower().startswith((b"<!doctype html", b"<html")):
        raise InvalidExportError(
            f"{path}: a web page (HTML), not a CSV or Excel export, whatever its name says: "
            'a CRM\'s "export to Excel" often saves an HTML table as .xls; open it in Excel or '
            "WPS and save it as .xlsx or CSV, or export the leads as CSV"
        )
    if encoding is None and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        kind = next((name for magic, name in _BINARY.items() if data.startswith(magic)), None)
        if kind is not None or b"\x00" in data[:65536]:
            raise InvalidExportError(
                f"{path}: not a CSV, Excel (.xlsx) or Parquet export: it holds binary data"
                + (f" ({kind})" if kind else "")
                + ": export the leads from the CRM as CSV or Excel; if it is text in an "
                "encoding with zero bytes (UTF-16 without a byte-order mark), name it: "
                + ENCODING.given("utf-16-le", audience)
            )
    return _read_csv(path, data, encoding, audience)


def _not_a_zipped_export(path: Path) -> None:
    """An .xlsx workbook is a zip archive; a zip archive without a workbook inside (how large
    CRM exports are delivered: a CSV zipped) is named so, with the files it holds."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile:
        return  # damaged: the workbook reader says what it finds
    if "[Content_Types].xml" in names:
        return
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    raise InvalidExportError(
        f"{path}: a zip archive holding {shown or 'nothing'}, not an Excel workbook: unzip it "
        "and load the export inside"
    )


def _need(module: str, path: Path, kind: str) -> None:
    try:
        __import__(module)
    except ImportError as exc:
        raise InvalidExportError(
            f"{path}: reading {kind} needs {module}: pip install 'leadrouter[sim]'"
        ) from exc


def _read_excel(path: Path) -> pd.DataFrame:
    _need("openpyxl", path, "Excel files")
    try:
        with pd.ExcelFile(path, engine="openpyxl") as book:
            frame: pd.DataFrame = _as_written(
                pd.read_excel(book, sheet_name=0, dtype=object), lambda: _excel_header(book)
            )
            sheets = [str(name) for name in book.sheet_names]
        merged, errors = _sheet_scan(path)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise InvalidExportError(f"{path}: cannot read this Excel workbook: {exc}") from exc
    first, *others = sheets
    elsewhere = f" (the other sheets: {', '.join(map(repr, others))})" if others else ""
    if frame.columns.empty:
        raise EmptyExportError(
            f"{path}: the workbook's first sheet, {first!r}, is empty, and leadrouter reads the "
            "first sheet: move the leads' sheet to the front, or save it as CSV" + elsewhere
        )
    named = [str(name) for name in frame.columns if not str(name).startswith("Unnamed:")]
    used = int(frame.notna().any(axis=0).sum())  # columns with a value, not blank formatting
    if len(named) < 2 or 2 * len(named) < used:
        # a title above the header, a merged group row over it, or a sheet of notes first
        shown = ", ".join(repr(name) for name in named[:3]) or "nothing"
        raise InvalidExportError(
            f"{path}: the first sheet, {first!r}, does not start with a header row: its first "
            f"row names {len(named)} of its {used} columns ({shown}): a title, a "
            "merged group header or a sheet of notes. leadrouter reads one header row, row 1 of "
            "the first sheet: delete the rows above the header (unmerge a two-row header into "
            "one), move the leads' sheet to the front, or save that sheet as CSV" + elsewhere
        )
    _put_errors(frame, errors)
    frame.attrs[MERGED] = _fill_merged(frame, merged)
    return frame


def _put_errors(frame: pd.DataFrame, errors: dict[tuple[int, int], str]) -> None:
    """Write back the failed formulas' values (`#REF!`, `#DIV/0!`) the workbook reader reads as
    blank, so a workbook's cell says what the same sheet saved as CSV says, and is rejected as
    an Excel error rather than read as an owner or amount left blank."""
    for (column, row), text in errors.items():
        inside = 2 <= row < len(frame) + 2 and column <= len(frame.columns)
        if inside and _empty(frame.iat[row - 2, column - 1]):
            frame.iat[row - 2, column - 1] = text


MERGED = "merged"
"""The key of `DataFrame.attrs` under which `read_table` gives the cells of a workbook that a
merged cell covers and that were read with its value, `{(position, column): (range, anchor,
value)}` (position 0 is the first row under the header, column 0 the first column)."""

_MERGE_CELL = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')
_ERROR_CELL = re.compile(
    rb'<(?:\w+:)?c\b(?=[^>]*\bt="e")[^>]*?\br="([A-Z]+)(\d+)"[^>]*(?<!/)>'
    rb"(?:(?!</(?:\w+:)?c>|<(?:\w+:)?c\b).)*?<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>",
    re.S,
)
"""A cell holding a failed formula's value (`t="e"`): its column, row and the error shown,
from within that cell's own element (an empty `<c t="e"/>` has none to give)."""
_RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_SHEET_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _sheet_scan(
    path: Path,
) -> tuple[set[tuple[str, int, int, int, int]], dict[tuple[int, int], str]]:
    """The merged ranges of the workbook's first sheet, the one read: (as written, first
    column, first row, last column, last row), 1-based as a spreadsheet counts; and its cells
    holding a failed formula's value, by (column, row): `#REF!`. Read from the sheet's XML, as
    the workbook reader gives neither (it reads an error as blank). A workbook laid out
    otherwise than Excel writes one (no such parts) has none found: it is read as before, cell
    by cell."""
    import zipfile
    from xml.etree import ElementTree

    found: set[tuple[str, int, int, int, int]] = set()
    errors: dict[tuple[int, int], str] = {}
    with zipfile.ZipFile(path) as archive:
        try:
            book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            links = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        except (KeyError, ElementTree.ParseError):
            return found, errors
        first = next((element for element in book.iter() if element.tag.endswith("}sheet")), None)
        link = None if first is None else first.get(_SHEET_ID)
        target = next(
            (
                each.get("Target", "")
                for each in links.iter(f"{_RELATIONSHIPS}Relationship")
                if each.get("Id") == link
            ),
            None,
        )
        name = None if not target else target.lstrip("/") if target[0] == "/" else f"xl/{target}"
        if name not in archive.namelist():
            return found, errors
        with archive.open(name) as sheet:
            tail = b""
            for chunk in iter(lambda: sheet.read(1 << 20), b""):
                text = tail + chunk
                for match in _MERGE_CELL.finditer(text):
                    left, top, right, bottom = (part.decode() for part in match.groups())
                    found.add(
                        (
                            f"{left}{top}:{right}{bottom}",
                            _column_number(left),
                            int(top),
                            _column_number(right),
                            int(bottom),
                        )
                    )
                for match in _ERROR_CELL.finditer(text):
                    letters, row, shown = match.groups()
                    errors[(_column_number(letters.decode()), int(row))] = shown.decode()
                tail = text[-65536:]  # a cell cut by the chunk's end is read whole with the next
    return found, errors


def _column_number(letters: str) -> int:
    """A spreadsheet column's number from its letters: A is 1, Z 26, AA 27."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _fill_merged(
    frame: pd.DataFrame, merged: set[tuple[str, int, int, int, int]]
) -> dict[tuple[int, int], tuple[str, int, Any]]:
    """Read each cell under the top of a merged range over rows of leads with the range's
    value, as the sheet shows it on every row it covers (a 负责人 merged over its rep's leads):
    the workbook holds the value in the range's first cell alone, and the others would read as
    blank, leads with no owner or stage, in silence. The cells read so are returned for
    `merged_cell_notes` to flag. A range that starts in the header row is not filled (the
    header check above says what it is)."""
    filled: dict[tuple[int, int], tuple[str, int, Any]] = {}
    columns: dict[int, list[tuple[str, int, int]]] = {}
    for written, column, top, _, bottom in sorted(merged, key=lambda found: found[1:]):
        if 2 <= top < bottom and column <= len(frame.columns) and top - 2 < len(frame):
            columns.setdefault(column - 1, []).append((written, top - 2, bottom - 2))
    for column, ranges in columns.items():
        cells: list[Any] = frame.iloc[:, column].tolist()
        for written, anchor, last in ranges:
            value = cells[anchor]
            if _empty(value):
                continue  # an empty merged range: blank on every row, as it shows
            for position in range(anchor + 1, min(last + 1, len(cells))):
                if _empty(cells[position]):
                    cells[position] = value
                    filled[(position, column)] = (written, anchor, value)
        column_cells = np.empty(len(cells), dtype=object)
        column_cells[:] = cells
        frame.isetitem(column, column_cells)
    return filled


def _empty(cell: Any) -> bool:
    return cell is None or (isinstance(cell, float) and cell != cell)


def merged_cell_notes(
    merged: dict[tuple[int, int], tuple[str, int, Any]], headers: list[str]
) -> list[tuple[int, str, str, str]]:
    """A `History.flagged` note for each cell a merged range covers and `read_table` read with
    its value (`merged`, taken out of the frame's `attrs[MERGED]` before anything copies the
    frame: pandas copies `attrs` deeply with every frame it derives), naming the range, so the
    reading is visible."""
    notes = []
    for (position, column), (written, anchor, value) in merged.items():
        shown = repr(value if isinstance(value, str) else str(value))
        notes.append(
            (
                position + 2,
                headers[column],
                f"the merged cell {written} shows {shown} on each of its rows; the workbook "
                f"holds it in row {anchor + 2} alone",
                f"read as {shown}, not blank: unmerge the cells and fill each row to say otherwise",
            )
        )
    return notes


def _excel_header(book: pd.ExcelFile) -> list[str]:
    """The first row of the workbook's first sheet, as written."""
    top = pd.read_excel(book, sheet_name=0, header=None, nrows=1, dtype=object)
    return ["" if pd.isna(cell) else str(cell) for cell in top.iloc[0].tolist()]


_RENAMED = re.compile(r"(.+)\.\d+")
"""A header pandas may have renamed: the repeat of "Owner" is read as "Owner.1"."""


def _as_written(frame: pd.DataFrame, header: Callable[[], list[str] | None]) -> pd.DataFrame:
    """`frame` with its headers as the file writes them. pandas renames a repeated header
    ("Owner", "Owner" -> "Owner", "Owner.1"), which would hide the repeat from the loader; when a
    name may be such a rename (its stem is a header too), `header()` reads the header row as
    written, and each renamed header gets its written name back (a header really written
    "Owner.1" keeps it)."""
    names = [str(name) for name in frame.columns]
    present = set(names)
    if not any((m := _RENAMED.fullmatch(name)) and m.group(1) in present for name in names):
        return frame
    written = header()
    if written is None or len(written) != len(names):
        return frame
    restored = []
    for name, given in zip(names, written, strict=True):
        renamed = _RENAMED.fullmatch(name)
        repeat = renamed is not None and renamed.group(1) == given and written.count(given) > 1
        restored.append(given if repeat else name)
    frame.columns = pd.Index(restored)
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    _need("pyarrow", path, "Parquet files")
    try:
        frame: pd.DataFrame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises its own error types for a damaged file
        raise InvalidExportError(f"{path}: cannot read this Parquet file: {exc}") from exc
    return frame


def _decode(path: Path, data: bytes, encoding: str | None, audience: Audience) -> str:
    if encoding is not None:
        try:
            return data.decode(encoding)
        except LookupError as exc:
            raise ConfigError(
                f"{ENCODING.given(encoding, audience)}: unknown encoding: use one such as "
                f"{ENCODING.given('utf-8', audience)} or {ENCODING.given('gb18030', audience)}"
            ) from exc
        except UnicodeDecodeError as exc:
            line = f"line {line_of(data, exc.start)}, " if _lines_are_bytes(encoding) else ""
            raise InvalidExportError(
                f"{path}: not valid {encoding} at byte {exc.start} "
                f"({line}{data[exc.start : exc.start + 8]!r}): leave out "
                f"{ENCODING.named(audience)} to detect UTF-8 or GBK/GB18030, or give the "
                f"encoding the file was saved in, e.g. {ENCODING.given('cp1252', audience)} or "
                f"{ENCODING.given('big5', audience)}"
            ) from exc
    try:
        return guess(data).text
    except UnknownEncodingError as exc:
        if exc.utf16:
            raise InvalidExportError(
                f"{path}: starts with a UTF-16 byte-order mark, but is not UTF-16 text at byte "
                f"{exc.at} ({exc.where}): the file is cut short or damaged; export it again"
            ) from None
        fix = (
            f"give the encoding it was saved in: {ENCODING.given('cp1252', audience)} (Excel on "
            f"Western Windows), {ENCODING.given('big5', audience)} (Traditional Chinese)"
        )
        if exc.odd is None:
            raise InvalidExportError(
                f"{path}: neither UTF-8 nor GBK/GB18030 text: {exc.where} is not UTF-8: {fix}, "
                "or another"
            ) from None
        raise InvalidExportError(
            f"{path}: {exc.where} does not look like UTF-8 or GBK/GB18030 text: it looks like a "
            f"Western single-byte encoding or Big5 (read as GBK, {exc.odd[0]} of its "
            f"{exc.odd[1]} non-ASCII characters are ones Chinese text seldom uses): {fix}, or "
            f"{ENCODING.given('gb18030', audience)} if it is Chinese"
        ) from None


def _lines_are_bytes(encoding: str) -> bool:
    """Whether the encoding writes a line break as the byte 0x0A (not UTF-16 or UTF-32)."""
    try:
        return "\n".encode(encoding) == b"\n"
    except (LookupError, UnicodeError):
        return False


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


_SEP_LINE = re.compile(r"sep=(.)\r?\n")
"""Excel's delimiter hint, a first line `sep=;` that some exporters write so that Excel splits
the file on that delimiter; Excel reads it and shows the header as row 1."""


def _read_csv(path: Path, data: bytes, encoding: str | None, audience: Audience) -> pd.DataFrame:
    text = _decode(path, data, encoding, audience).lstrip("\ufeff")
    hint = _SEP_LINE.match(text)
    if hint is not None:  # read as Excel reads it: that delimiter, the header in row 1
        text = text[hint.end() :]
    if not text.strip():
        raise EmptyExportError(f"{path}: the file is empty: export the leads with a header row")
    sep = hint.group(1) if hint is not None else _delimiter(text)
    options: dict[str, Any] = {"sep": sep, "dtype": str, "keep_default_na": False}

    def header() -> list[str] | None:
        return next(csv.reader(io.StringIO(text), delimiter=sep), None)

    body = text.rstrip()
    if "\n\n" not in body.replace("\r", "") and _has("pyarrow"):
        try:
            frame: pd.DataFrame = pd.read_csv(
                io.BytesIO(body.encode("utf-8")), engine="pyarrow", **options
            )
            return _as_written(frame, header)
        except (ValueError, pd.errors.ParserError):
            pass  # a ragged or unusual file: the C engine below reads it or says where it fails
    try:
        frame = pd.read_csv(
            io.StringIO(text), engine="c", na_filter=False, skip_blank_lines=False, **options
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise InvalidExportError(
            f"{path}: cannot be read as CSV: {str(exc).strip()}: check the delimiter and the "
            "quotes on that line (a cell holding the delimiter must be in double quotes)"
        ) from exc
    if not isinstance(frame.index, pd.RangeIndex):  # pandas took the first column as an index
        raise InvalidExportError(
            f"{path}: cannot be read as CSV: every row has more cells than the header: check "
            "the delimiter and the quotes (a cell holding the delimiter must be in double "
            "quotes), and that the header is the first line (delete a title line above it)"
        )
    frame.attrs[SHORT_ROWS] = _short_rows(text, sep, len(frame.columns), len(frame))
    return _as_written(frame, header)


SHORT_ROWS = "short_rows"
"""The key of `DataFrame.attrs` under which `read_table` gives a CSV's rows with fewer cells than
its header, `{position: cells}` (position 0 is the first row under the header)."""


def short_row_notes(raw: pd.DataFrame, headers: list[str]) -> list[tuple[int, str, str, str]]:
    """A `History.flagged` note for each row of a CSV `read_table` found with fewer cells than
    the header (`headers`, as written; the missing cells are read as blank): a lead whose
    status, owner or amount fell off the end of its row would otherwise be read as open,
    unowned or worth nothing, with no word of it. The last row says the file may have been cut
    off. The rows are taken out of `raw.attrs`, so they go no further than the notes."""
    notes = []
    for position, cells in raw.attrs.pop(SHORT_ROWS, {}).items():
        last = " (the file's last row: was the file cut off?)" if position == len(raw) - 1 else ""
        notes.append(
            (
                position + 2,
                headers[cells],
                f"{cells} of the header's {len(headers)} cells{last}: the cells from "
                f"{headers[cells]!r} on are missing",
                "read as blank: check that the file is whole (export it again if it was cut "
                "off) and that no cell holds a line break outside double quotes",
            )
        )
    return notes


def _short_rows(text: str, sep: str, width: int, length: int) -> dict[int, int]:
    """The rows of a CSV that have fewer cells than its header, which pandas fills with blanks
    and says nothing of: a file cut off while it was written or copied ends in one, and a cell
    with an unquoted line break splits its row into two. Looked for only when pandas' fast reader
    has refused the file as ragged (or is not installed), so whole files pay nothing; when the
    records cannot be matched with pandas' rows one to one, none is reported rather than the
    wrong ones."""
    records = csv.reader(io.StringIO(text), delimiter=sep)
    next(records, None)
    short: dict[int, int] = {}
    position = -1
    for position, record in enumerate(records):
        if 0 < len(record) < width:
            short[position] = len(record)
    return short if position + 1 == length else {}


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True
