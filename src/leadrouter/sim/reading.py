"""Reading an export file into a table of text cells: CSV in any common encoding, Excel, Parquet.

The first layer of `load_export`: bytes in, a table of cells out, nothing interpreted yet. What
is not a readable table (a missing file, a directory, an image or archive picked by mistake, an
old .xls workbook, text in an undetectable encoding) is an `InvalidExportError` naming the file
and how to fix it. UTF-8 (with or without BOM), UTF-16 with BOM and GBK/GB18030 are detected;
another encoding is named with the `encoding` option, which a message words as a keyword or as
the command's flag (`ExportOption`).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from leadrouter.errors import (
    Audience,
    ConfigError,
    EmptyExportError,
    ExportOption,
    InvalidExportError,
)

__all__ = ["ENCODING", "read_table"]

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
        return _read_excel(path)
    if data.startswith(b"PAR1"):
        return _read_parquet(path)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InvalidExportError(
            f"{path}: an old Excel .xls workbook: open it in Excel or WPS and save it as .xlsx "
            "or CSV, then load that"
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
        frame: pd.DataFrame = pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise InvalidExportError(f"{path}: cannot read this Excel workbook: {exc}") from exc
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
            raise InvalidExportError(
                f"{path}: not valid {encoding} at byte {exc.start} "
                f"({data[exc.start : exc.start + 8]!r}): leave out "
                f"{ENCODING.named(audience)} to detect UTF-8 or GBK/GB18030, or give the "
                f"encoding the file was saved in, e.g. {ENCODING.given('big5', audience)}"
            ) from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for candidate in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(candidate)
        except UnicodeDecodeError:
            continue
    raise InvalidExportError(
        f"{path}: neither UTF-8 nor GBK/GB18030 text: give the encoding the file was saved in, "
        f"e.g. {ENCODING.given('big5', audience)}"
    )


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _read_csv(path: Path, data: bytes, encoding: str | None, audience: Audience) -> pd.DataFrame:
    text = _decode(path, data, encoding, audience).lstrip("\ufeff")
    if not text.strip():
        raise EmptyExportError(f"{path}: the file is empty: export the leads with a header row")
    options: dict[str, Any] = {
        "sep": _delimiter(text),
        "dtype": str,
        "keep_default_na": False,
    }
    body = text.rstrip()
    if "\n\n" not in body.replace("\r", "") and _has("pyarrow"):
        try:
            frame: pd.DataFrame = pd.read_csv(
                io.BytesIO(body.encode("utf-8")), engine="pyarrow", **options
            )
            return frame
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
            "the delimiter and the quotes (a cell holding the delimiter must be in double quotes)"
        )
    return frame


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True
