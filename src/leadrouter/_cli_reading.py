"""How the `leadrouter` commands read an export or leads file: the same reading flags on `route`,
`compare` and `inspect`, and one call to `load_export` with them, so every command reads a file
exactly as the API does and an error's advice names the flag that fixes it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leadrouter.sim.history import History

__all__ = ["read_export", "reading_flags"]


def reading_flags(command: argparse.ArgumentParser) -> None:
    """How to read the file, the same flags on `route`, `compare` and `inspect`, named as
    `load_export`'s keywords: an error's advice (`--tz Asia/Shanghai`) fits every command."""
    command.add_argument(
        "--tz",
        default=None,
        help="time zone of times written without one, e.g. Asia/Shanghai; a local time a "
        "daylight-saving change skips is moved forward, a repeated one read as the first, "
        "and both are listed",
    )
    command.add_argument(
        "--dayfirst", action="store_true", help="read 03-04-2025 as 3 April, not March 4"
    )
    command.add_argument(
        "--encoding",
        default=None,
        help="the file's encoding, e.g. big5 (detected: UTF-8, UTF-16 with BOM, GBK/GB18030)",
    )
    command.add_argument(
        "--columns",
        nargs="+",
        metavar="FIELD=HEADER",
        default=(),
        help="which header holds a field, the field first, e.g. rep_id='Owner Name' (common "
        "English and Chinese headers are recognised without this)",
    )
    command.add_argument(
        "--won",
        nargs="+",
        metavar="STAGE",
        default=(),
        help="stage or status values of yours that mean won, e.g. --won Signed 'Paid in full' "
        "(Closed Won, closedwon, Won, 成交 ... are recognised without this)",
    )
    command.add_argument(
        "--lost",
        nargs="+",
        metavar="STAGE",
        default=(),
        help="stage or status values of yours that mean lost (Closed Lost, Lost, 输单 ... are "
        "recognised); any other stage is an open deal",
    )
    command.add_argument(
        "--as-of",
        dest="as_of",
        default=None,
        metavar="TIME",
        help="when the export was taken, e.g. 2025-03-31 (the end of that day) or "
        "'2025-03-31 18:00+08:00'; open deals are censored then (default: the export's "
        "latest time)",
    )


def read_export(path: Path, args: argparse.Namespace) -> History:
    """The file at `path` read by `load_export` with the command's reading flags; its messages
    (errors, rejected rows) name those flags."""
    from leadrouter.sim.loader import columns_from_flags, load_export

    return load_export(
        path,
        columns=columns_from_flags(args.columns),
        dayfirst=args.dayfirst,
        encoding=args.encoding,
        tz=args.tz,
        won=args.won,
        lost=args.lost,
        as_of=args.as_of,
        audience="command",
    )


# ---------------------------------------------------------------------------- terminal text
