"""Playbooks: a whole Router configured in one TOML file, for one business situation.

A playbook names the strategy and its settings, the rules, caps, lifecycle timers and the roster
(inline `[[reps]]` or a CSV `roster = "file.csv"` next to the playbook). `load_playbook(path)`
returns a ready Router. A playbook that cannot work raises `PlaybookError` naming the file, the
key and what is allowed there — before any lead is routed.

Format (every section but `[strategy]` is optional)::

    [strategy]
    name = "QuotaProportional"     # a strategy class name; other keys are its settings
    period = "month"

    [[rules]]
    name = "region"                # region, skill, schedule, reserve, dedup_to_owner, nurture
    [[rules]]
    name = "nurture"
    below = 0.3                    # Lead.score is 0-1

    [[caps]]
    name = "FixedCap"              # or DynamicCaps
    open = 30
    daily = 40
    tz = "Asia/Shanghai"

    [lifecycle]
    first_touch_sla = "30m"        # durations: "45s", "30m", "30 min", "1h30m", "7d" or "PT30M"
    expire_after = "7d"
    reroute = true

    [router]
    seed = 7

    [[reps]]
    id = "wang"
    team = "north"
    regions = ["north"]
    quota = 120

Nested strategies (`Hierarchical`'s `team`/`rep`, `TieredDelay`'s `tiers`) are tables with a
`name` key, e.g. `[[strategy.tiers]]` with `tier`, `patience` and `strategy = {name = "..."}`.

Values are converted by the declared type of the setting they fill (see `leadrouter._convert`),
so every setting of a strategy, cap or rule can be written in a playbook without reading code
of its own, and every problem in a file is reported at once, each with its key path.
"""

from __future__ import annotations

import csv
import inspect
import io
import tomllib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

from leadrouter._text import Decoded, Encoding, UnknownEncodingError, guess
from leadrouter._written import meant
from leadrouter.caps import Cap
from leadrouter.errors import PlaybookError
from leadrouter.lifecycle import Lifecycle
from leadrouter.model import Rep, Shift
from leadrouter.router import Router
from leadrouter.rules import Reserve, Rule, Schedule, schedule
from leadrouter.strategies.base import Strategy

if TYPE_CHECKING:
    from leadrouter._convert import Reader

__all__ = [
    "CAPS",
    "RULES",
    "STRATEGIES",
    "PlaybookError",
    "load_playbook",
    "read_playbook",
    "read_roster",
]


STRATEGIES: dict[str, str] = {
    "EqualRotation": "leadrouter.strategies.equal_rotation",
    "Hierarchical": "leadrouter.strategies.hierarchical",
    "QuotaProportional": "leadrouter.strategies.quota_proportional",
    "PerformanceWeighted": "leadrouter.strategies.performance_weighted",
    "UtilizationWeighted": "leadrouter.strategies.utilization_weighted",
    "GrabWithCaps": "leadrouter.strategies.grab_with_caps",
    "ProfileMatching": "leadrouter.strategies.profile_matching",
    "TieredDelay": "leadrouter.strategies.tiered_delay",
}
"""Strategy names a playbook may use, and the module defining each."""

CAPS: dict[str, str] = {
    "FixedCap": "leadrouter.caps",
    "DynamicCaps": "leadrouter.dynamic_caps",
}
"""Cap names a playbook may use, and the module defining each."""

RULES = ("region", "skill", "schedule", "reserve", "dedup_to_owner", "nurture")
"""Rule names a playbook may use: the factory functions of `leadrouter.rules`, whose
parameters are the rule table's keys."""


@attrs.frozen
class RouterSettings:
    """The `[router]` table: the Router's own settings."""

    seed: int = 0


@attrs.frozen
class Playbook:
    """A playbook file's tables, each structured by its declared type; `roster` names a CSV
    file of reps next to the playbook, read by `read_roster`."""

    strategy: Strategy
    rules: list[Rule] = attrs.field(factory=list)
    caps: list[Cap] = attrs.field(factory=list)
    lifecycle: Lifecycle = attrs.field(factory=Lifecycle)
    router: RouterSettings = attrs.field(factory=RouterSettings)
    reps: list[Rep] = attrs.field(factory=list)
    roster: str | None = None


@cache
def reader(source: Literal["toml", "text"] = "toml") -> Reader:
    """The Reader for playbook values (`"toml"`) or roster cells (`"text"`): strategies, caps
    and rules are tables picked by `name`, working hours are one Shift table. Made on first
    use, so `import leadrouter` does not load cattrs."""
    from leadrouter._convert import Choice, Reader

    return Reader(
        source,
        choices=(
            Choice(Strategy, "strategy", {name: f"{m}:{name}" for name, m in STRATEGIES.items()}),
            Choice(Cap, "cap", {name: f"{m}:{name}" for name, m in CAPS.items()}, "FixedCap"),
            Choice(Rule, "rule", {name: f"leadrouter.rules:{name}" for name in RULES}),
        ),
        shorthands={Schedule: (Shift, lambda shift: schedule(default=shift))},
    )


def read_roster(path: Path) -> list[Rep]:
    """The reps of a roster CSV file, one a row: columns named like `Rep` fields, cells read
    as the field's type (`quota` a number, `regions` "north;east", `active` yes/no); empty
    cells keep the default. The problems of every row are reported at once, each naming the
    file, the row and the column. UTF-8 (with or without a BOM), UTF-16 with its BOM (what
    Excel's "Unicode text" writes) and GBK/GB18030 (Excel's CSV on a Chinese Windows) are read;
    anything else is an error naming the line."""
    return _read_roster(path)[0]


def _read_roster(path: Path) -> tuple[list[Rep], Encoding]:
    decoded = _decoded(path, path.read_bytes(), "roster")
    handle = io.StringIO(decoded.text, newline="")
    rows = [
        (f"row {number}", {key: cell for key, cell in row.items() if cell not in (None, "")})
        for number, row in enumerate(csv.DictReader(handle), start=2)
    ]
    return reader("text").read_many(rows, Rep, file=str(path)), decoded.encoding


def _decoded(path: Path, data: bytes, what: Literal["roster", "playbook"]) -> Decoded:
    """The file's text, its encoding told from the bytes (`leadrouter._text`); a file in none
    of them is a PlaybookError naming the line and how to save it."""
    try:
        return guess(data)
    except UnknownEncodingError as exc:
        if exc.utf16:
            said = f"not UTF-16 text at byte {exc.at}, though it starts with its byte-order mark"
        elif exc.odd is None:
            said = f"not UTF-8 text (byte {data[exc.at]:#04x}), nor GBK/GB18030"
        else:
            said = (
                f"not UTF-8 text (byte {data[exc.at]:#04x}), and read as GBK it is not like "
                "Chinese text (a Western or Big5 encoding?)"
            )
        if what == "roster":
            fix = "save the roster as UTF-8 (in Excel: Save As, CSV UTF-8)"
        else:
            fix = "a playbook is a TOML file saved as UTF-8"
        raise PlaybookError(f"{path}: line {exc.line}: {said}: {fix}") from None


def _roster_beside(playbook: Path, value: str) -> tuple[list[Rep], Path, Encoding]:
    """The reps of the roster file a playbook names, relative to the playbook's folder, the
    file's path and the encoding it was read in."""
    path = (playbook.parent / value).resolve()
    if path.is_dir():
        raise PlaybookError(f"{playbook}: roster: {path} is a folder: name the roster CSV file")
    if not path.is_file():
        raise PlaybookError(f"{playbook}: roster: roster file {path} does not exist")
    reps, encoding = _read_roster(path)
    if not reps:
        raise PlaybookError(
            f"{playbook}: roster: {path} has no reps (a header and no rows?): one row per rep"
        )
    return reps, path, encoding


def _team_problems(strategy: Strategy, rules: list[Rule], reps: list[Rep]) -> list[str]:
    """What the roster makes impossible: a TieredDelay tier with no active rep (its leads would
    wait in the pool for it forever), a shift for a rep the roster does not have (a typo in
    an id, so the rep it meant is always on), and a `reserve` rule naming an id, team or tier no
    rep has (a typo, so the leads it reserves go to fewer reps than meant, or wait for none)."""
    from leadrouter.strategies.tiered_delay import TieredDelay

    problems = []
    if isinstance(strategy, TieredDelay):
        active = {rep.tier for rep in reps if rep.active}
        for i, tier in enumerate(strategy.tiers):
            if tier.tier not in active:
                problems.append(
                    f"strategy.tiers[{i}]: tier {tier.tier} has no active rep, so its leads would "
                    f"wait in the public pool for one forever: give reps tier = {tier.tier}, or "
                    "remove the tier"
                )
    ids = {rep.id for rep in reps}
    for i, rule in enumerate(rules):
        if isinstance(rule, Schedule):
            unknown = sorted(set(rule.shifts) - ids)
            if unknown:
                problems.append(
                    f"rules[{i}].shifts: {_unknown(unknown, ids)} not on the roster "
                    f"(reps: {', '.join(sorted(ids))}): a shift names a rep by id"
                )
        if isinstance(rule, Reserve):
            problems += _reserve_problems(i, rule, reps)
    return problems


def _reserve_problems(i: int, rule: Reserve, reps: list[Rep]) -> list[str]:
    """A `reserve` rule's ids, teams and tiers that no rep on the roster has."""
    problems = []
    named: list[tuple[str, frozenset[Any], set[Any], str]] = [
        ("reps", rule.reps, {rep.id for rep in reps}, "reps by id"),
        ("teams", rule.teams, {rep.team for rep in reps if rep.team}, "teams as the roster does"),
        ("tiers", rule.tiers, {rep.tier for rep in reps}, "tiers the roster's reps have"),
    ]
    for key, given, held, what in named:
        unknown = sorted(given - held)
        if unknown:
            known = ", ".join(map(str, sorted(held))) or "none"
            problems.append(
                f"rules[{i}].{key}: {_unknown(unknown, held)} not on the roster "
                f"({key}: {known}): reserve names {what}"
            )
    return problems


def _unknown(names: list[Any], known: set[Any]) -> str:
    """`names` as written, each with the roster's name it probably meant (a stray space, another
    case, a character off: "'王芳 ' (did you mean '王芳'?)")."""
    choices = [str(name) for name in known]
    listed = []
    for name in names:
        probable = meant(name, choices)
        listed.append(repr(name) + (f" (did you mean {probable!r}?)" if probable else ""))
    return ", ".join(listed)


_TOML_HINTS = (
    ("Cannot overwrite a value", ": a key is given twice in one table; keep one"),
    ("Cannot declare", ": a [table] is declared twice; merge them, or write [[table]] for a list"),
    ("Invalid value", ': text goes in quotes, e.g. name = "EqualRotation", period = "month"'),
)
"""What the TOML parser's terse messages usually mean in a playbook, said after them."""


def read_playbook(path: str | Path, *, notes: list[str] | None = None) -> dict[str, Any]:
    """The playbook's settings as built objects (strategy, rules, caps, lifecycle, reps, seed),
    without making a Router. Raises PlaybookError for anything that cannot work.

    The playbook and its roster are read as UTF-8 (a BOM from Notepad is fine), UTF-16 with its
    BOM, or GBK/GB18030 (what Notepad and Excel save on a Chinese Windows), told from the bytes;
    a file read as GB18030 is said in `notes`, when a list is given (`leadrouter check` prints
    them)."""
    path = Path(path)
    try:
        decoded = _decoded(path, path.read_bytes(), "playbook")
        data = tomllib.loads(decoded.text)
    except FileNotFoundError as exc:
        raise PlaybookError(f"{path}: no such playbook file") from exc
    except OSError as exc:
        what = "it is a directory" if path.is_dir() else (exc.strerror or str(exc)).lower()
        raise PlaybookError(f"{path}: cannot be read ({what}): give a playbook .toml file") from exc
    except tomllib.TOMLDecodeError as exc:
        hint = next((said for start, said in _TOML_HINTS if str(exc).startswith(start)), "")
        raise PlaybookError(f"{path}: not valid TOML: {exc}{hint}") from exc
    guessed = [(path, decoded.encoding)]
    book = reader().read(data, Playbook, file=str(path))
    reps = list(book.reps)
    places = [f"[[reps]] {i + 1}" for i in range(len(reps))]
    if book.roster is not None:
        listed, roster, encoding = _roster_beside(path, book.roster)
        guessed.append((roster, encoding))
        reps += listed
        places += [f"{book.roster} row {row}" for row in range(2, len(listed) + 2)]
    if not reps:
        raise PlaybookError(f'{path}: reps: no reps: add [[reps]] tables or roster = "reps.csv"')
    where: dict[str, list[str]] = {}
    for rep, place in zip(reps, places, strict=True):
        where.setdefault(rep.id, []).append(place)
    problems = [
        f"reps: rep id {rep_id!r} appears {len(found)} times ({', '.join(found)}): ids are unique"
        for rep_id, found in where.items()
        if len(found) > 1
    ]
    problems += _team_problems(book.strategy, book.rules, reps)
    if problems:
        from leadrouter._convert import message

        raise PlaybookError(message(str(path), problems))
    if notes is not None:
        notes += [
            f"{file} read as GB18030 (GBK, as Windows saves Chinese text), not UTF-8"
            for file, encoding in guessed
            if encoding == "GB18030"
        ]
    return {
        "strategy": book.strategy,
        "rules": book.rules,
        "caps": book.caps,
        "lifecycle": book.lifecycle,
        "reps": reps,
        "seed": book.router.seed,
    }


def load_playbook(path: str | Path, **overrides: Any) -> Router:
    """A ready Router from a playbook file; keyword `overrides` (e.g. `clock=`, `ledger=`)
    are passed to the Router."""
    settings = read_playbook(path)
    known = set(inspect.signature(Router).parameters)
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise PlaybookError(
            f"load_playbook({str(path)!r}): unknown override {', '.join(map(repr, unknown))}: "
            f"overrides are the Router's settings: {', '.join(sorted(known))}"
        )
    settings.update(overrides)
    return Router(**settings)
