"""A report folder one command writes at a time, whole: `leadrouter compare --out DIR` takes a
lock file in DIR (a second compare into the same DIR is refused, saying who writes there and
since when), writes its files into a hidden folder inside DIR, and moves them into place at the
end, removing the files the previous compare wrote there that this one did not (a chart of a
policy no longer compared): what is in DIR is one run's report, never two runs' files mixed,
never a stale chart looking current. Files the user put in DIR are never touched."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from leadrouter.errors import OutputInUseError

__all__ = ["LOCK", "MANIFEST", "ReportFolder", "report_folder"]

LOCK = ".leadrouter-compare.lock"
"""The lock file in the report folder while a compare writes it: its pid and start time."""

MANIFEST = ".leadrouter-compare.json"
"""The names of the files the last compare wrote into the folder, so the next one can take
them away."""


class ReportFolder:
    """Where one run writes (`staging`, a hidden folder inside `out`) and, at `publish`, the
    move of what it wrote into `out`."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.staging = out / f".compare-{os.getpid()}.partial"
        self.kept: list[str] = []

    def keep(self, path: Path) -> None:
        """Count a file this run wrote straight into `out` (the demo's export) as its own."""
        self.kept.append(path.name)

    def publish(self) -> dict[str, Path]:
        """Move every staged file into `out` (replacing one of the same name), take away the
        files of the previous run that this one did not write, and record the new list.
        Returns where each staged file now is, by name."""
        names = sorted(path.name for path in self.staging.iterdir())
        written = {*names, *self.kept}
        for old in _previous(self.out):
            if old not in written and "/" not in old and old not in (LOCK, MANIFEST):
                with contextlib.suppress(FileNotFoundError):
                    (self.out / old).unlink()
        placed = {}
        for name in names:
            placed[name] = self.out / name
            os.replace(self.staging / name, placed[name])
        (self.out / MANIFEST).write_text(json.dumps(sorted(written)), encoding="utf-8")
        return placed


def _previous(out: Path) -> Iterable[str]:
    """The files the previous compare wrote into `out` (none when unknown)."""
    try:
        names = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    return [name for name in names if isinstance(name, str)] if isinstance(names, list) else ()


@contextlib.contextmanager
def report_folder(out: Path, flag: str = "--out") -> Iterator[ReportFolder]:
    """Hold `out`'s lock for the run and give it a staging folder; the lock and the staging
    folder are gone afterwards, whether the run succeeded or not (a failed run leaves the
    previous report as it was). A lock whose process is gone (killed, the machine restarted) is
    taken over."""
    lock = out / LOCK
    _take(lock, out, flag)
    folder = ReportFolder(out)
    try:
        for left in out.glob(".compare-*.partial"):  # by a run killed before its cleanup
            shutil.rmtree(left, ignore_errors=True)
        folder.staging.mkdir()
        yield folder
    finally:
        shutil.rmtree(folder.staging, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()


def _take(lock: Path, out: Path, flag: str) -> None:
    """Create `lock` for this process, or raise OutputInUseError naming the process holding
    it."""
    stamp = json.dumps({"pid": os.getpid(), "since": datetime.now().astimezone().isoformat()})
    for _ in range(2):
        try:
            handle = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = _holder(lock)
            if holder is None:  # its process is gone: a lock left behind
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()
                continue
            pid, since = holder
            raise OutputInUseError(
                f"{flag} {out}: another compare is writing to {out} since "
                f"{since.strftime('%H:%M')} (pid {pid or 'starting'}); wait for it to finish or "
                f"choose another {flag} (if no compare is running, delete {lock})"
            ) from None
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(stamp)
        return
    raise OutputInUseError(
        f"{flag} {out}: another compare keeps taking the lock {lock}; wait or choose another {flag}"
    )


def _holder(lock: Path) -> tuple[int | None, datetime] | None:
    """(pid, since) of the live process holding `lock`; None when that process is gone, or the
    file is unreadable and older than a few seconds (left over by a crash while being written).
    An unreadable one that new is being written this instant: held, by a pid not yet known."""
    try:
        found = json.loads(lock.read_text(encoding="utf-8"))
        pid, since = int(found["pid"]), datetime.fromisoformat(found["since"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        try:
            age = datetime.now().timestamp() - lock.stat().st_mtime
        except FileNotFoundError:
            return None
        return None if age > _WRITING else (None, datetime.now().astimezone())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return pid, since


_WRITING = 10.0
"""Seconds an unreadable lock file is taken as being written by its process, not left over."""
