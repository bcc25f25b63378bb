"""What a user's type checker says of code written against leadrouter (the package ships
`py.typed`): the README's example, the testing page's code and every script in examples/ pass
`mypy --strict`, and a call that the library refuses at run time for an argument of the wrong
type is flagged before it runs.

The library's own sources are checked by `make typecheck`; this checks the API from outside, as
a team embedding it sees it (a field whose converter took `Any` let `Rep("ana", regions=3)`
through, and the README's own `Touched(lead.id, decision.rep_id, ...)` failed strict checking).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests import docs_blocks as db

ROOT = db.ROOT

WRONG = {
    'lr.Rep("ana", regions=3)': 'Argument "regions" to "Rep"',
    'lr.Rep("ana", profile=["smb"])': 'Argument "profile" to "Rep"',
    "lr.Shift(weekdays={1.5})": "<set>",
    'lr.Lead("L1", NOW, features=[("a", 1)])': 'Argument "features" to "Lead"',
    "lr.Hierarchical(team=3)": 'Argument "team" to "Hierarchical"',
    "lr.TieredDelay(tiers=3)": 'Argument "tiers" to "TieredDelay"',
    'lr.QuotaProportional(team_quotas=["north"])': 'Argument "team_quotas"',
    'lr.Touched("L1", DECISION.rep_id, NOW)': 'Argument 2 to "Touched"',
    "ROUTER.tick(NOW)[0].reason": 'Item "Assigned"',
}
"""A call the API refuses at run time -> what mypy's error about it says."""

RIGHT = """
lr.Rep("ana", regions={"north"}, skills=["solar"], profile={"segment": "smb"})
lr.Rep("bo", regions="north")
lr.Shift(weekdays=[0, 1, 2], days_off={date(2026, 1, 1)})
lr.Shift(weekdays=["Mon-Fri", 6])
lr.Shift(weekdays="周一至周五")
lr.Lead("L2", NOW, features={"campaign": "spring"})
lr.Hierarchical(team=lr.PerformanceWeighted(), rep=lambda ctx: None)
lr.TieredDelay(lr.Tier(0, lr.EqualRotation(), timedelta(hours=2)))
lr.QuotaProportional(team_quotas={"north": 100})
for event in ROUTER.tick(NOW):
    if isinstance(event, lr.Released | lr.Pooled):
        print(event.reason)
"""

PRELUDE = """
from datetime import UTC, date, datetime, timedelta

import leadrouter as lr

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)
ROUTER = lr.Router(lr.EqualRotation(), [lr.Rep("ana")])
DECISION = ROUTER.route(lr.Lead("L0", NOW), now=NOW)
"""


def mypy(*args: str, cwd: Path = ROOT) -> list[str]:
    """mypy --strict's error lines for `args` (the project's cache, so a warm run is quick)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert not result.stderr.strip(), result.stderr
    return [line for line in result.stdout.splitlines() if ": error:" in line]


@pytest.mark.parametrize("name", ["README.md", "docs/testing.md"])
def test_the_pages_code_passes_strict_checking(name: str, tmp_path: Path) -> None:
    """The README's example, and the testing page's, which teams copy into their own strictly
    checked test suites (subclassing the class `router_machine` returns was an invalid base)."""
    page = db.parse(ROOT / name)
    code = "\n\n".join("\n".join(block.body) for block in page.python)
    (tmp_path / "page_code.py").write_text(code, encoding="utf-8")
    assert mypy("page_code.py", cwd=tmp_path) == []


def test_every_example_script_passes_strict_checking() -> None:
    scripts = sorted(path.name for path in (ROOT / "examples").glob("*.py"))
    assert "embed_in_crm.py" in scripts
    # the scripts import each other as scripts do: examples/ on the path
    assert mypy("--python-executable", sys.executable, *scripts, cwd=ROOT / "examples") == []


def test_a_wrong_argument_type_is_flagged_and_the_right_ones_are_not(tmp_path: Path) -> None:
    lines = [*PRELUDE.strip().splitlines(), *RIGHT.strip().splitlines()]
    first_wrong = len(lines) + 1
    lines += list(WRONG)
    (tmp_path / "calls.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors = mypy("calls.py", cwd=tmp_path)
    flagged: dict[int, list[str]] = {}
    for error in errors:
        number = int(error.split(":")[1])
        flagged.setdefault(number, []).append(error)
    assert all(number >= first_wrong for number in flagged), errors  # the right calls pass
    for offset, (call, words) in enumerate(WRONG.items()):
        found = flagged.get(first_wrong + offset, [])
        assert any(words in error for error in found), (call, found)
