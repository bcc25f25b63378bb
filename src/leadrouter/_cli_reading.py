"""How the `leadrouter` commands read an export or leads file: the same reading flags on `route`,
`compare` and `inspect`, and one call to `load_export` with them, so every command reads a file
exactly as the API does and an error's advice names the flag that fixes it. And what the
commands share besides: where they write (the folder of an output made, or refused with one
message, before the work starts) and how a count or duration option is read."""

from __future__ import annotations

import argparse
import contextlib
import csv
import errno
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadrouter.errors import ConfigError, LeadsFileError
from leadrouter.playbooks import read_playbook

if TYPE_CHECKING:
    from leadrouter.sim.history import History

__all__ = [
    "SHOWN_ROWS",
    "cannot_write",
    "count",
    "local_time",
    "option_time",
    "output_folder",
    "read_export",
    "read_playbook_and_leads",
    "reading_flags",
    "write_csv",
]

SHOWN_ROWS = 20
"""Rows listed in a message about a file's rows; the rest are counted."""


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
        "--dayfirst",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="read 03-04-2025 as 3 April (--no-dayfirst: as March 4); without either, day "
        "first when some date can only be read so, like 13-04-2025, and none only month first",
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
        "English, Chinese, French, German and Spanish headers are recognised without this)",
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


def read_playbook_and_leads(
    args: argparse.Namespace,
    acting: str,
    check: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[dict[str, Any], list[str], History]:
    """`args.playbook` read (its notes, e.g. a file read as GB18030, in the list) and then
    `args.leads` with the reading flags, for a command that acts on every lead (`route`,
    `handover`; `acting` says what it does: "routed"). A broken playbook, or one `check`
    refuses (a rep named on the command line and not on its roster), is said before the leads
    file is read: a large workbook is not read for nothing. A file with any row that cannot be
    used is refused whole, every bad row listed: acting on the rest would lose a lead without
    anyone noticing. Rows kept with a value adjusted are listed on standard error and kept."""
    from leadrouter.sim.inspection import listed_rows

    notes: list[str] = []
    settings = read_playbook(args.playbook, notes=notes)
    if check is not None:
        check(settings)
    history = read_export(args.leads, args)
    if len(history.rejected):
        rows = history.rejected["row"].nunique()
        raise LeadsFileError(
            f"{args.leads}: {rows} row(s) cannot be used; nothing was {acting}:\n  "
            + "\n  ".join(listed_rows(history.rejected, SHOWN_ROWS))
        )
    if len(history.flagged):
        print(
            f"{args.leads}: {history.flagged['row'].nunique()} row(s) kept with a value "
            "adjusted:\n  " + "\n  ".join(listed_rows(history.flagged, SHOWN_ROWS)),
            file=sys.stderr,
        )
    return settings, notes, history


def option_time(text: str) -> datetime | None:
    """A time option (`--until`, `--at`) as written, '2026-01-06 18:00' or with an offset;
    None when `text` is not a time: the caller says what else it takes. Read before the
    export, so a mistyped option fails at once, not after a large file has loaded."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def local_time(found: datetime, like: datetime) -> datetime:
    """A time option's time (`option_time`) in the zone of `like` (the leads' zone); a time
    without an offset is that zone's, as the file's own times are read."""
    if found.tzinfo is None:
        found = found.replace(tzinfo=like.tzinfo)
    return found.astimezone(like.tzinfo)


@contextlib.contextmanager
def working(what: str) -> Iterator[None]:
    """A spinner on standard error saying what a long step is doing (reading a large workbook,
    replaying every policy), so a minute of work is not a minute of silence. Only on a
    terminal: a pipe or a log gets nothing."""
    from rich.console import Console

    with Console(stderr=True).status(what):
        yield


def period(text: str) -> timedelta:
    """An argparse `type` for a duration option (`--horizon 90d`): "45m", "4h", "90d", "2w"
    or ISO "P90D"; anything else is argparse's usage error with the units to write."""
    from leadrouter._written import duration

    units = "45m, 4h, 90d or 2w"
    try:
        found = duration(text.strip().removeprefix("-"))
    except ConfigError as exc:  # a number without its unit: the message offers the units
        raise argparse.ArgumentTypeError(str(exc)) from None
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: write a number and its unit, such as {units}"
        ) from None
    if found <= timedelta(0) or text.strip().startswith("-"):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a positive duration: write one such as {units}"
        )
    return found


def count(text: str) -> int:
    """An argparse `type` for a count option (`--sample`, `--sensitivity-seeds`): a whole
    number, 0 or more; anything else is argparse's usage error, naming the option."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number: give 0 or more"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative: give a whole number, 0 or more")
    return value


# ---------------------------------------------------------------------------- where it writes


@contextlib.contextmanager
def output_folder(path: Path, flag: str, what: str, *, folder: bool = False) -> Iterator[None]:
    """Make the folder `path` is written in (`path` itself when `folder`), with its parents,
    and check it can be written to, before a command's work: a place that cannot be written
    (/proc/x, /dev/null/x, a read-only folder) fails at once with `cannot_write`'s error, not
    after a long simulation with a traceback. When the work in the `with` block fails, the
    folders made here are removed again if still empty, so a failed run leaves no trace."""
    place = path if folder else path.parent
    made = [each for each in (place, *place.parents) if not each.exists()]  # deepest first
    try:
        if place.exists() and not place.is_dir():  # /dev/null/x: not "File exists"
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(place))
        place.mkdir(parents=True, exist_ok=True)
        if not os.access(place, os.W_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(place))
    except OSError as exc:
        raise cannot_write(path, flag, what, exc, folder=folder) from exc
    try:
        yield
    except BaseException:
        for each in made:
            try:
                each.rmdir()
            except OSError:  # something was written in it: keep it and its parents
                break
        raise


def write_csv(
    path: Path, flag: str, what: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """`rows` under `header` to the CSV at `path`, in UTF-8 with a BOM: Excel opens a CSV
    without one in the machine's code page (GBK on a Chinese Windows), and 张伟 would show as
    mojibake. A place that cannot be written is `cannot_write`'s error."""
    try:
        with path.open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    except OSError as exc:
        raise cannot_write(path, flag, what, exc) from exc


def cannot_write(
    path: Path, flag: str, what: str, exc: OSError, *, folder: bool = False
) -> ConfigError:
    """The error for an output that cannot be written: the flag and path, why, and what to give
    instead."""
    instead = "a folder you can write to" if folder else "a file path in a folder you can write to"
    return ConfigError(
        f"{flag} {path}: cannot write {what} ({exc.strerror or exc}): give {instead}"
    )


# ---------------------------------------------------------------------------- terminal text
