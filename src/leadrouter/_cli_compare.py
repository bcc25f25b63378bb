"""The `leadrouter compare` command: its arguments, the policies it resolves from playbooks and
built-in names, the terminal view while it runs and its report. Nothing heavy is imported when
the parser is built, so `check` and `route` stay fast; the simulator is imported when the
command runs."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadrouter._cli_output import ReportFolder, report_folder
from leadrouter._cli_policies import (
    BUILTIN_POLICIES,
    checked_policies,
    resolve_policies,
    with_roster,
)
from leadrouter._cli_reading import count, output_folder, period, read_export, reading_flags
from leadrouter._util import plural
from leadrouter.errors import (
    ConfigError,
    InvalidExportError,
    MissingExtraError,
    UnknownPolicyError,
)

if TYPE_CHECKING:
    from rich.console import Console

    from leadrouter.sim.engine import Policy
    from leadrouter.sim.history import History

__all__ = ["BUILTIN_POLICIES", "compare", "compare_parser", "resolve_policies", "with_roster"]


def compare_parser(commands: Any) -> None:
    """The `compare` sub-command's arguments (nothing heavy is imported here, so `check` and
    `route` stay fast)."""
    compare = commands.add_parser(
        "compare",
        help="compare routing policies on an export (or --demo) and write a report",
        description=(
            "Load an export, fit how the reps behave, check the model against the history "
            "(calibration), simulate every policy on the same leads and random numbers over "
            "several seeds, print the comparison and write an HTML and a Markdown report."
        ),
    )
    compare.add_argument(
        "export", nargs="?", type=Path, help="the CRM export: CSV, Excel (.xlsx) or Parquet"
    )
    compare.add_argument(
        "--demo",
        action="store_true",
        help="compare the eight built-in policies on a synthetic team instead of an export",
    )
    compare.add_argument(
        "--policies",
        nargs="+",
        metavar="POLICY",
        help="playbook files (TOML; a glob pattern works too) and/or built-in policy names: "
        f"{', '.join(BUILTIN_POLICIES)} (default: all eight built-in); a policy's name is its "
        "file name without .toml",
    )
    compare.add_argument(
        "--baseline",
        metavar="NAME",
        help="the policy differences are taken to (default: the built-in equal rotation, "
        "added as 'equal-rotation (built in)' when it is not among the policies)",
    )
    compare.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="replicates per policy, each with fresh luck (20; at least 4); up to four share one "
        "refit of the model on a randomly reweighted history, with at least five refits (one per "
        "replicate when there are fewer than five)",
    )
    compare.add_argument(
        "--sensitivity-seeds",
        type=count,
        default=2,
        metavar="N",
        help="seeds per scenario for the sensitivity check, which re-runs the comparison "
        "without rep effects, with contact decaying twice as fast and half as fast, and with "
        "every rep's capacity x0.75 and x1.5 (2; 0 skips it)",
    )
    compare.add_argument(
        "--horizon",
        type=period,
        default=None,
        metavar="DURATION",
        help="conversion and revenue count sales within this time of a lead's arrival (30d); "
        "set it to the team's sales cycle, e.g. 90d, when many deals close later",
    )
    compare.add_argument(
        "--out", type=Path, default=None, help="where to write the report (--demo: demo-report)"
    )
    compare.add_argument("--title", default=None, help="the report's title")
    reading_flags(compare)
    compare.add_argument(
        "--roster",
        type=Path,
        default=None,
        help="a CSV of reps (id, and any of team, tier, quota, regions, skills, active) "
        "giving the export's reps what quota or tiered policies need",
    )
    # for tests and benchmarks: the demo's size and the worker processes
    compare.add_argument("--processes", type=int, default=None, help=argparse.SUPPRESS)
    compare.add_argument("--demo-leads", type=int, default=None, help=argparse.SUPPRESS)
    compare.add_argument("--demo-reps", type=int, default=None, help=argparse.SUPPRESS)
    compare.add_argument("--demo-days", type=int, default=None, help=argparse.SUPPRESS)


def _need_extras() -> None:
    missing = []
    for module in ("matplotlib", "rich"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise MissingExtraError(
            f"leadrouter compare needs {' and '.join(missing)} (charts, the terminal table and "
            "the progress bar): pip install 'leadrouter[sim]'"
        )


def compare(args: argparse.Namespace) -> None:
    """`leadrouter compare`: load, fit, calibrate, compare, print, write the report."""
    from leadrouter.sim.demo import DEMO_SEEDS

    if args.demo and args.export is not None:
        raise ConfigError(
            f"compare: give an export or --demo, not both (got {args.export} and --demo)"
        )
    if not args.demo and args.export is None:
        raise ConfigError(
            "compare: give an export file (leadrouter compare export.csv --out report) or "
            "--demo for a synthetic team"
        )
    seeds = args.seeds if args.seeds is not None else (DEMO_SEEDS if args.demo else 20)
    if seeds < 4:
        raise ConfigError(
            f"--seeds {seeds}: intervals need at least 4 seeds; 20 is usual (five reweightings "
            "of the history, four seeds each)"
        )
    processes = args.processes or min(2, os.cpu_count() or 1)
    if processes < 1:
        raise ConfigError(f"--processes {processes}: must be at least 1")
    if args.export is not None and not args.export.is_file():
        raise InvalidExportError(
            f"{args.export}: no such file"
            + (" (it is a directory)" if args.export.is_dir() else "")
            + "; give the path of a CSV, Excel (.xlsx) or Parquet export"
        )
    if args.out is None and not args.demo:
        raise ConfigError("compare: --out DIR is needed: where to write the report")
    out: Path = args.out if args.out is not None else Path("demo-report")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a directory; choose another")
    with (
        output_folder(out, "--out", "the report", folder=True),  # before the long work
        report_folder(out) as folder,
    ):
        _compare_into(args, seeds, processes, folder)


def _compare_into(
    args: argparse.Namespace, seeds: int, processes: int, folder: ReportFolder
) -> None:
    from leadrouter.sim.loader import columns_from_flags

    columns_from_flags(args.columns)  # a wrong --columns fails before the slow imports
    _need_extras()

    from rich.console import Console

    class PipedConsole(Console):
        def on_broken_pipe(self) -> None:
            """rich would exit with 1 when the reader goes away (`compare ... | head`): stop
            printing and let `main` end quietly with 141, as every command does."""
            self.quiet = True
            raise BrokenPipeError

    # a pipe or a file gets 140 columns (rich would use 80) unless COLUMNS says otherwise
    wide = sys.stdout.isatty() or "COLUMNS" in os.environ
    console = PipedConsole(highlight=False, width=None if wide else 140)
    status = PipedConsole(stderr=True, highlight=False, soft_wrap=True)

    named = checked_policies(args.policies)  # before the export: a typo fails at once
    if args.baseline is not None and args.baseline not in named:
        raise UnknownPolicyError(
            f"--baseline {args.baseline!r} is not one of the policies: {', '.join(named)}; "
            "give one of these names (a built-in policy is named by adding it to --policies), "
            "or leave --baseline out to compare against the built-in equal rotation"
        )
    history = _demo_history(args, folder, status) if args.demo else read_export(args.export, args)
    if args.roster is not None:
        history, said = with_roster(history, args.roster)
        status.print(said)
    policies, notes = resolve_policies(named, history)
    from leadrouter.sim.analysis import choose_baseline

    policies, args.baseline = choose_baseline(policies, args.baseline)
    _run_comparison(args, history, policies, notes, seeds, processes, folder, console, status)


def _demo_history(args: argparse.Namespace, folder: ReportFolder, status: Console) -> History:
    """The demo walks the user's path: a synthetic history written as an export, read back."""
    from leadrouter.sim.demo import DEMO_DAYS, DEMO_LEADS, DEMO_REPS, demo_history
    from leadrouter.sim.loader import load_export

    leads = args.demo_leads or DEMO_LEADS
    reps = args.demo_reps or DEMO_REPS
    days = args.demo_days or DEMO_DAYS
    with status.status(f"generating a synthetic team: {leads} leads, {reps} reps, {days} days"):
        synthetic = demo_history(n_leads=leads, n_reps=reps, days=days)
        path = synthetic.to_csv(folder.out / "demo-export.csv")
        folder.keep(path)
    status.print(f"wrote the synthetic history as an export: {path}")
    return load_export(path, audience="command")


@contextlib.contextmanager
def _progress(status: Console, label: str, what: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on `status` for work that reports `progress(done, total)`; no refresh
    thread, because compare forks worker processes."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(f"runs ({what})"),
        TimeElapsedColumn(),
        console=status,
        auto_refresh=False,
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)
            bar.refresh()

        yield advance


class _Screen:
    """What `leadrouter compare` shows while `analyse` works: a spinner while the model is fitted
    and checked, a progress bar per simulation stage, and the results.

    The output opens with the bottom line (`leadrouter.sim.preflight.bottom_line`) and the
    warnings, which need the comparison: the calibration panel, the skipped policies and the
    comparison are held until then (`HELD`; the status line says each verdict as it comes),
    and shown after it. Whatever was held is shown even when `analyse` stops with an error."""

    HELD = ("calibration", "skipped", "comparison")

    def __init__(
        self, console: Console, status: Console, what: Callable[[str, int], str], history: History
    ) -> None:
        self.console, self.status, self.what = console, status, what
        self.history = history
        self.stack = contextlib.ExitStack()
        self.spinner: Any = None
        self.stage = ""
        self.bar: Callable[[int, int], None] | None = None
        self.held: list[tuple[str, Any]] = []
        self.opened = False

    def __enter__(self) -> _Screen:
        self._spin("fitting the behaviour model")
        return self

    def _spin(self, doing: str) -> None:
        """A spinner saying what is being done, in place of what was showing."""
        self.stack.close()
        self.spinner = self.stack.enter_context(self.status.status(doing))

    def __exit__(self, *exc: object) -> None:
        self.stack.close()
        self._release()

    def _release(self) -> None:
        """Show what was held, in the order it came."""
        self.opened = True
        held, self.held = self.held, []
        for name, value in held:
            self.on_stage(name, value)

    def _open(self, warnings: Sequence[Any]) -> None:
        """The bottom line and the warnings, then what was held."""
        from rich.panel import Panel
        from rich.text import Text

        from leadrouter.sim.preflight import bottom_line

        comparison = next(value for name, value in self.held if name == "comparison")
        self.stack.close()
        line = bottom_line(comparison, warnings, self.history)
        self.console.print(Panel(Text(line), title="Bottom line"))
        for warning in warnings:
            self.console.print("[bold yellow]warning[/] ", end="")
            self.console.print(str(warning), markup=False)
        self._release()

    def progress(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.stack.close()
            self.stage = stage
            self.bar = self.stack.enter_context(
                _progress(self.status, stage, self.what(stage, total))
            )
        assert self.bar is not None
        self.bar(done, total)

    def on_stage(self, name: str, value: Any) -> None:
        from leadrouter.sim.report import (
            calibration_panel,
            caveats,
            comparison_tables,
            sensitivity_line,
        )

        console = self.console
        if name in self.HELD and not self.opened:
            self.held.append((name, value))
            if name == "calibration":
                self.stack.close()  # the replays' bar
                self.status.print(f"calibration: {value.verdict} (shown with the results)")
                self._spin("checking the policies")
            return
        if name == "checks":
            self.status.print(
                f"checked the policies' timers before simulating: {plural(len(value), 'warning')}"
                + (" (shown with the results)" if value else "")
            )
        elif name == "warnings":
            self._open(value)
        elif name == "model":
            self.status.print(
                f"fitted the behaviour model: {len(value.gaps)} gaps (see the report)"
            )
            self.spinner.update("checking calibration: replaying the history")
        elif name == "calibration":
            self.stack.close()
            console.print(calibration_panel(value, self.history.tz))  # as the report gives times
        elif name == "skipped":
            for policy, why in value.items():
                console.print(
                    f"[bold yellow]skipped {policy}:[/] cannot run on this history: ", end=""
                )
                console.print(why, markup=False)
        elif name == "comparison":
            self.stack.close()
            for table in comparison_tables(value):
                console.print(table)
            for line in caveats(value):
                console.print(f"  - {line}", markup=False, style="dim")
        elif name == "sensitivity":
            self.stack.close()
            console.print(sensitivity_line(value), markup=False)


def _run_comparison(
    args: argparse.Namespace,
    history: History,
    policies: dict[str, Policy],
    notes: dict[str, str],
    seeds: int,
    processes: int,
    folder: ReportFolder,
    console: Console,
    status: Console,
) -> None:
    from leadrouter.sim.analysis import analyse
    from leadrouter.sim.compare import SCENARIOS

    sensitivity_seeds = args.sensitivity_seeds

    def what(stage: str, total: int) -> str:
        """What a stage's runs are, read from their total: the policies that run, not the
        policies given (one may have been skipped)."""
        if stage == "calibrating":
            return "replays of the history under the fitted model"
        if stage == "simulating":
            return f"{plural(total // max(seeds, 1), 'policy')} x {seeds} seeds"
        runs = plural(total // max(len(SCENARIOS) * sensitivity_seeds, 1), "policy")
        return f"{len(SCENARIOS)} scenarios x {runs} x {sensitivity_seeds} seeds"

    with _Screen(console, status, what, history) as screen:
        analysis = analyse(
            history,
            policies,
            seeds=seeds,
            baseline=args.baseline,
            horizon=args.horizon,
            processes=processes,
            sensitivity_seeds=args.sensitivity_seeds,
            notes=notes,
            remedy="give the reps what it needs with --roster FILE, or leave it out",
            on_stage=screen.on_stage,
            progress=screen.progress,
        )

    title = args.title or (
        "Demo: eight routing policies compared on a synthetic team"
        if args.demo
        else f"Routing policies compared on {Path(history.origin).name}"
    )
    from leadrouter._cli_evaluate import off_policy_text

    runnable = {name: policy for name, policy in policies.items() if name not in analysis.skipped}
    with status.status("estimating the policies off-policy from the logged propensities"):
        off_policy = off_policy_text(history, runnable)
    with status.status("writing the report (charts, sources, anomalies)"):
        staged = analysis.write_report(folder.staging, title=title, off_policy=off_policy)
        placed = folder.publish()
    html, markdown = placed[staged.html.name], placed[staged.markdown.name]
    if off_policy is not None:
        console.print("\nBeside the what-if, from the logged propensities alone:", markup=False)
        console.print(off_policy, markup=False)
    console.print(f"\nReport: {html}")
    console.print(f"        {markdown} (charts beside it)", markup=False)
