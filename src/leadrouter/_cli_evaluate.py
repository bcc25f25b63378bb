"""The `leadrouter evaluate` command: off-policy estimates of policies from an export whose
assignments carry their propensities (`leadrouter.sim.evaluate`). The simulator is imported when
the command runs, not when the parser is built."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from leadrouter._cli_policies import (
    BUILTIN_POLICIES,
    checked_policies,
    resolve_policies,
    with_roster,
)
from leadrouter._cli_reading import (
    cannot_write,
    output_folder,
    read_export,
    reading_flags,
    working,
)
from leadrouter.errors import ConfigError, InvalidExportError

if TYPE_CHECKING:
    from leadrouter.sim.engine import Policy
    from leadrouter.sim.evaluate import Evaluation
    from leadrouter.sim.history import History

__all__ = ["evaluate", "evaluate_parser", "off_policy_text"]


def evaluate_parser(commands: Any) -> None:
    """The `evaluate` sub-command's arguments."""
    command = commands.add_parser(
        "evaluate",
        help="estimate policies from an export's logged propensities, without a model",
        description=(
            "Replay an export whose assignments were randomised (routed with Explore, their "
            "chances in a 'propensity' column), ask each policy what it would have chosen for "
            "each lead on the ledger as it stood, and estimate its conversion and revenue per "
            "lead by inverse propensity, self-normalised and doubly robust estimators."
        ),
    )
    command.add_argument("export", type=Path, help="the CRM export: CSV, Excel (.xlsx) or Parquet")
    command.add_argument(
        "--policies",
        nargs="+",
        metavar="POLICY",
        help="playbook files (TOML; a glob pattern works too) and/or built-in policy names: "
        f"{', '.join(BUILTIN_POLICIES)} (default: all eight built-in)",
    )
    command.add_argument(
        "--csv", type=Path, default=None, help="also write the estimates table to this CSV file"
    )
    command.add_argument(
        "--roster",
        type=Path,
        default=None,
        help="a CSV of reps (id, and any of team, tier, quota, regions, skills, active)",
    )
    reading_flags(command)


def evaluate(args: argparse.Namespace, out: TextIO = sys.stdout) -> None:
    """`leadrouter evaluate`: read, replay each policy, print the estimates."""
    if not args.export.is_file():
        raise InvalidExportError(
            f"{args.export}: no such file; give the path of a CSV, Excel (.xlsx) or Parquet "
            "export with a propensity column"
        )
    if args.csv is not None and args.csv.is_dir():
        raise ConfigError(f"--csv {args.csv}: is a directory; give a file name, e.g. est.csv")
    with (
        output_folder(args.csv, "--csv", "the estimates")
        if args.csv is not None
        else contextlib.nullcontext()
    ):
        _evaluate_into(args, out)


def _evaluate_into(args: argparse.Namespace, out: TextIO) -> None:
    named = checked_policies(args.policies)  # before the export: a typo fails at once
    with working(f"reading {args.export.name}"):
        history = read_export(args.export, args)
    if args.roster is not None:
        history, said = with_roster(history, args.roster)
        out.write(said + "\n")
    policies, _ = resolve_policies(named, history)
    with working(f"replaying {len(policies)} policies over {len(history):,} logged leads"):
        result = _evaluate(history, policies)
    out.write(result.text() + "\n")
    if args.csv is not None:
        try:
            result.table().to_csv(args.csv)
        except OSError as exc:
            raise cannot_write(args.csv, "--csv", "the estimates", exc) from exc
        out.write(f"wrote {args.csv}\n")


def _evaluate(history: History, policies: dict[str, Policy]) -> Evaluation:
    from leadrouter.sim.evaluate import evaluate as run

    return run(history, policies)


def off_policy_text(history: History, policies: dict[str, Policy]) -> str | None:
    """`compare`'s off-policy section: the estimates when the export has propensities, else
    None."""
    if not history.to_frame()["propensity"].notna().any():
        return None
    return _evaluate(history, policies).text()
