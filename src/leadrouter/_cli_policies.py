"""Which policies and roster a command works with: `--policies` entries (built-in names,
playbook files, glob patterns) resolved to policies, and `--roster` applied to a history. Shared
by `leadrouter compare` and `leadrouter evaluate`; nothing from the simulator is imported until a
command runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from leadrouter.errors import ConfigError, UnknownPolicyError

if TYPE_CHECKING:
    from leadrouter.sim.engine import Policy
    from leadrouter.sim.history import History

__all__ = ["BUILTIN_POLICIES", "checked_policies", "resolve_policies", "with_roster"]

BUILTIN_POLICIES = (
    "equal-rotation",
    "performance-weighted",
    "utilization-weighted",
    "quota-proportional",
    "grab-with-caps",
    "dynamic-caps",
    "profile-matching",
    "tiered-delay",
)
"""`leadrouter.sim.demo.DEMO_POLICIES`, spelled out so that building the parser imports nothing
from the simulator (a test checks the two agree)."""

_GLOB = frozenset("*?[")
_EXPORT_SUFFIXES = frozenset({".csv", ".xlsx", ".parquet", ".pq", ".tsv", ".txt"})


def with_roster(history: History, path: Path) -> tuple[History, str]:
    """The history with its reps replaced by the roster file's rows of the same id, and a line
    saying how many matched."""
    from leadrouter.playbooks import read_roster

    if not path.is_file():
        raise ConfigError(f"--roster {path}: no such file; give a CSV with an id column")
    given = {rep.id: rep for rep in read_roster(path)}
    if not given:
        raise ConfigError(
            f"--roster {path}: no reps (an empty file, or a header and no rows?): one row per "
            "rep under a header naming id (and any of team, tier, quota, regions, skills, active)"
        )
    reps = [given.get(rep.id, rep) for rep in history.roster]
    matched = sum(rep.id in given for rep in history.roster)
    if not matched:
        raise ConfigError(
            f"--roster {path}: none of its {len(given)} rep ids is a rep of the export "
            f"({', '.join(rep.id for rep in history.roster[:6])} ...): use the export's ids"
        )
    unknown = sorted(set(given) - {rep.id for rep in history.roster})
    said = f"roster {path}: {matched} of the export's {len(reps)} reps given" + (
        f"; not in the export, ignored: {', '.join(unknown)}" if unknown else ""
    )
    return history.with_roster(reps), said


def resolve_policies(
    checked: Mapping[str, tuple[Path, str] | None], history: History
) -> tuple[dict[str, Policy], dict[str, str]]:
    """The policies `checked_policies` found, as {name: policy} and {name: note}, in their
    order: a built-in one set up for `history`'s team, a playbook by its path."""
    from leadrouter.sim.demo import demo_notes, demo_policies

    builtin = demo_policies(history)
    builtin_notes = demo_notes(history)
    policies: dict[str, Policy] = {}
    notes: dict[str, str] = {}
    for name, playbook in checked.items():
        if playbook is None:
            policies[name], notes[name] = builtin[name], builtin_notes[name]
        else:
            policies[name], notes[name] = playbook
    return policies, notes


def checked_policies(entries: Sequence[str] | None) -> dict[str, tuple[Path, str] | None]:
    """`--policies` entries (built-in names, playbook paths and glob patterns) by name, in the
    order given, a playbook named by its file stem: None for a built-in policy, the path and
    note of a playbook (read and checked). Needs no export, so a command checks its
    policies before reading one: a misspelt name fails at once, not after a large file loads."""
    import glob

    wanted = list(entries) if entries else list(BUILTIN_POLICIES)
    found: dict[str, tuple[Path, str] | None] = {}
    origins: dict[str, str] = {}

    def add(name: str, playbook: tuple[Path, str] | None, origin: str) -> None:
        if name in found:
            if origins[name] == origin:
                return
            raise ConfigError(
                f"--policies: two policies are named {name!r} ({origins[name]} and {origin}); "
                "a policy's name is its file name without .toml: rename one"
            )
        found[name], origins[name] = playbook, origin

    for entry in wanted:
        if entry in BUILTIN_POLICIES:
            add(entry, None, f"built-in {entry}")
            continue
        if _GLOB & set(entry):
            matches = sorted(glob.glob(entry))
            if not matches:
                raise UnknownPolicyError(f"--policies {entry!r}: the pattern matches no file")
            paths = [Path(match) for match in matches]
        else:
            paths = [Path(entry)]
        for path in paths:
            name, note = _playbook_policy(path, entry, BUILTIN_POLICIES)
            add(name, (path, note), str(path.resolve()))
    return found


def _playbook_policy(path: Path, entry: str, builtin: Sequence[str]) -> tuple[str, str]:
    """A playbook's policy name (its file stem) and note, once it is read and checked."""
    import difflib

    from leadrouter.playbooks import read_playbook

    if path.is_dir():
        raise UnknownPolicyError(
            f"--policies {entry!r}: {path} is a directory; give playbook files, e.g. {path}/*.toml"
        )
    if not path.is_file():
        close = difflib.get_close_matches(entry, builtin, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownPolicyError(
            f"--policies {entry!r}: no such playbook file and no built-in policy of that name."
            f"{hint} Built-in policies: {', '.join(builtin)}"
        )
    if path.suffix.lower() in _EXPORT_SUFFIXES:
        raise UnknownPolicyError(
            f"--policies {entry!r}: {path} looks like an export, not a playbook; put the export "
            "first: leadrouter compare EXPORT --policies PLAYBOOK.toml ..."
        )
    settings = read_playbook(path)
    strategy = settings["strategy"]
    note = (
        f"playbook {path} ({type(strategy).__name__}); its rules, caps and timers over the "
        "history's reps (the playbook's own roster is replaced)"
    )
    return path.stem, note
