"""Text files as offices save them, their encoding told from the bytes: UTF-8 (with or without a
BOM), UTF-16 with its BOM (Excel's "Unicode text", Notepad's "Unicode") and GBK/GB18030 (Chinese
Excel's CSV, Notepad's "ANSI" on a Chinese Windows).

One guess for every file leadrouter reads as text: an export (`leadrouter.sim`), a roster CSV and
a playbook. What is none of these is an `UnknownEncodingError` saying where it stops being UTF-8,
which each reader words for its own file (the export names the `encoding` option, the roster says
how to save it from Excel).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Decoded",
    "Encoding",
    "UnknownEncodingError",
    "guess",
    "line_of",
    "unlike_gbk",
    "where",
]

Encoding = Literal["UTF-8", "UTF-16", "GB18030"]
"""The encodings told from the bytes, as a message names them."""


@dataclass(frozen=True)
class Decoded:
    """A file's text (without a byte-order mark) and the encoding it was read in."""

    text: str
    encoding: Encoding


class UnknownEncodingError(ValueError):
    """Bytes in none of the encodings told from the bytes.

    `at` is the byte where they stop being UTF-8 (UTF-16 for a file that starts with its BOM),
    `line` its line (from 1), `where` that line and its bytes (`line 3 ('M\\xfcller')`), `odd`
    the number of characters Chinese text seldom uses and of non-ASCII ones when GB18030 decodes
    them (None when it cannot), and `utf16` whether the file starts with a UTF-16 byte-order
    mark."""

    def __init__(
        self, at: int, line: int, where: str, odd: tuple[int, int] | None, utf16: bool = False
    ):
        super().__init__(f"not text in a known encoding at byte {at}: {where}")
        self.at = at
        self.line = line
        self.where = where
        self.odd = odd
        self.utf16 = utf16


def guess(data: bytes) -> Decoded:
    """The text of `data` and its encoding: UTF-16 when it starts with its BOM, else UTF-8 (a
    BOM dropped), else GB18030 when the bytes read as Chinese text (`unlike_gbk`); else
    `UnknownEncodingError`."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return Decoded(data.decode("utf-16"), "UTF-16")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].decode("utf-16", errors="replace").count("\n") + 1
            raise UnknownEncodingError(exc.start, line, f"line {line}", None, utf16=True) from None
    try:
        return Decoded(data.decode("utf-8-sig"), "UTF-8")
    except UnicodeDecodeError as exc:  # its offsets do not count a BOM
        not_utf8 = exc.start + (len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0)
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise UnknownEncodingError(
            not_utf8, line_of(data, not_utf8), where(data, not_utf8), None
        ) from None
    odd = unlike_gbk(data, text)
    if odd is not None:  # where UTF-8 fails: the culprit too in a UTF-8 file with a stray byte
        raise UnknownEncodingError(not_utf8, line_of(data, not_utf8), where(data, not_utf8), odd)
    return Decoded(text, "GB18030")


_GBK_ODD_SHARE = 0.2
"""The share of non-ASCII characters outside GB2312 above which bytes are not taken for GBK."""

_NEXT_ODD = re.compile(
    rb"(?:[\x00-\x7f]|[\xa1-\xa9\xb0-\xf7][\xa1-\xfe])*+"  # ASCII and GB2312 characters
    rb"([\x81-\xfe](?:[\x30-\x39][\x81-\xfe][\x30-\x39]|[\x40-\xfe]))"  # then any other one
)
"""From a character boundary of GB18030 bytes, the next character that is not ASCII or GB2312."""


def unlike_gbk(data: bytes, text: str) -> tuple[int, int] | None:
    """Whether `data`, which decoded as GB18030 to `text`, is unlikely to be Chinese: the number
    of its odd characters and of its non-ASCII ones; None when it reads as GBK.

    GB18030 accepts almost any bytes, so a Windows-1252 or Big5 file decodes as GBK garbage
    (`Müller` as `M黮ler`, Big5 `張偉` as `眎岸`). Real simplified-Chinese text is overwhelmingly
    GB2312: two bytes, the first 0xB0-0xF7 (hanzi) or 0xA1-0xA9 (symbols), the second 0xA1-0xFE;
    GBK's extension (first byte 0x81-0xA0 or 0xAA-0xFE, or second byte 0x40-0xA0: rare and
    traditional characters) and GB18030's four-byte characters are a few per cent at most. A
    single-byte Western encoding read as GBK pairs an accented letter with the next byte, mostly
    an ASCII letter (0xFC 0x6C for `ül`), so nearly all its characters are odd; in Big5 the second
    byte is 0x40-0x7E about 40% of the time and the most common hanzi start with 0xA4-0xAF, so
    about half are. More than 20% odd (`_GBK_ODD_SHARE`) is therefore not taken for GBK, with
    a wide margin both ways. There is no minimum count: one `Müller` in an English file is the
    commonest case. The guarantee: a file this accepts is at least 80% GB2312 characters;
    mostly-traditional or rare-character Chinese text in GBK is refused and needs the encoding
    named (gb18030), never read as something else.
    """
    total = len(text) - len(text.encode("ascii", "ignore"))  # each is one multibyte character
    count, at = 0, 0
    while (match := _NEXT_ODD.match(data, at)) is not None:
        count, at = count + 1, match.end()
    return (count, total) if count > total * _GBK_ODD_SHARE else None


def line_of(data: bytes, at: int) -> int:
    """The line (from 1) of byte `at`, in an encoding that writes a line break as 0x0A."""
    return data.count(b"\n", 0, at) + 1


def where(data: bytes, at: int) -> str:
    """`line 3 ('M\\xfcller,G\\xf3mez')`: the line holding byte `at` and its bytes around it."""
    start = data.rfind(b"\n", 0, at) + 1
    end = data.find(b"\n", at)
    end = len(data) if end < 0 else end
    low, high = max(start, at - 24), min(end, at + 24)
    excerpt = repr(data[low:high].rstrip(b"\r"))[1:]  # the bytes as they are, without the b
    return (
        f"line {line_of(data, at)} ({'...' if low > start else ''}{excerpt}"
        f"{'...' if high < end else ''})"
    )
