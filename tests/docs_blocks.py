"""Reading a Markdown page's code and output blocks, running them, comparing and re-syncing outputs.

The conventions (which block is whose output, what is normalised, the excerpt and "not checked"
markers, the update mode) are stated once, in the docstring of tests/test_docs.py, which uses this
module. `outputs` lists what compares each documented output (`python -m tests.docs_blocks`).
Everything here is pure except `run_python`, `run_console` and `rewrite`.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UPDATE_ENV = "LEADROUTER_UPDATE_DOCS"

_FENCE = re.compile(r"^```(\S*)\s*$")
_UNCHECKED = re.compile(r"^<!-- output: not checked, because (?P<reason>\S.*?) -->$")
_COMPARED_BY = re.compile(r"^<!-- output: compared by (?P<test>tests/test_\w+\.py) -->$")
_ILLUSTRATION = re.compile(r"^<!-- illustration: (?P<what>\S.*?) -->$")
_MARKERS = (_UNCHECKED, _COMPARED_BY, _ILLUSTRATION)
_SENTINEL = "\x1edocs-block-end\x1e"
_SPLIT = re.compile(rf"\n?{_SENTINEL}(?P<seconds>[0-9.]+)\n")
ELLIPSIS = "..."

# Each pattern is applied to the documented and the printed text alike, so a page can show a real
# value (readable) and still match a run that printed another.
NORMALISE = (
    # temporary directories (tempfile.mkdtemp, TemporaryDirectory): a new random name per run
    (re.compile(r"(?:/private)?(?:/tmp|/var/folders/[\w/]+?)/tmp[\w-]+"), "<tmp>"),
    # a finished rich progress bar ends with its elapsed time
    (re.compile(r"(━ \d+/\d+ .*) \d+:\d\d:\d\d$"), r"\1 <elapsed>"),
)

# The runner: every block compiled under the page's name and its line in the page (so a traceback
# points into the Markdown file), executed in one shared __main__ namespace, in page order; after
# each block a sentinel line with the block's seconds goes to stdout so the output can be split.
_RUNNER = f"""
import json, sys, time, types
runner = sys.modules["__main__"]
main = types.ModuleType("__main__")
sys.modules["__main__"] = main
for path, line, source in json.loads(sys.stdin.read()):
    started = time.perf_counter()
    exec(compile("\\n" * (line - 1) + source, path, "exec"), main.__dict__)
    sys.stdout.flush()
    sys.stdout.write("\\n{_SENTINEL}%.2f\\n" % (time.perf_counter() - started))
    sys.stdout.flush()
"""


class DocsFormatError(ValueError):
    """A page breaks the block conventions: a stray "not checked" marker, an unclosed fence."""


@dataclass(frozen=True)
class Block:
    """One fenced block: its language tag and the 1-based lines of its opening and closing fence."""

    lang: str
    start: int
    end: int
    body: tuple[str, ...]


@dataclass(frozen=True)
class Expected:
    """A documented output: the lines of `page` from `first` to `last` (1-based, inclusive)."""

    first: int
    last: int
    lines: tuple[str, ...]

    @property
    def excerpt(self) -> bool:
        """True when a line of the block is `...`: it stands for any number of printed lines."""
        return any(line.strip() == ELLIPSIS for line in self.lines)

    def segments(self) -> list[list[str]]:
        """The runs of shown lines between `...` lines (the first or last empty at a `...` edge)."""
        runs: list[list[str]] = [[]]
        for line in self.lines:
            if line.strip() == ELLIPSIS:
                runs.append([])
            else:
                runs[-1].append(line)
        return runs


@dataclass(frozen=True)
class Command:
    """A `$ command` line of a console block, its line in the page, and the output under it."""

    line: int
    command: str
    expected: Expected


@dataclass
class Page:
    """A page's code blocks and which text block shows each one's output."""

    path: Path
    lines: list[str]
    python: list[Block] = field(default_factory=list)
    outputs: dict[int, Expected] = field(default_factory=dict)  # python block index -> its output
    commands: list[Command] = field(default_factory=list)
    unchecked: list[tuple[Block, str]] = field(default_factory=list)
    compared_by: list[tuple[Block, str]] = field(default_factory=list)  # (block, test file)
    illustrations: list[tuple[Block, str]] = field(default_factory=list)  # (block, what it is)
    text: list[Block] = field(default_factory=list)  # every ```text block, in page order

    @property
    def name(self) -> str:
        return (
            str(self.path.relative_to(ROOT)) if self.path.is_relative_to(ROOT) else str(self.path)
        )


def parse(path: Path, text: str | None = None) -> Page:
    """Split a page into fenced blocks and pair each output block with the code that prints it."""
    lines = (path.read_text(encoding="utf-8") if text is None else text).split("\n")
    page = Page(path, lines)
    blocks = _blocks(page)
    previous: Block | None = None
    for block in blocks:
        if block.lang == "python":
            page.python.append(block)
        elif block.lang == "console":
            page.commands.extend(_commands(block))
        elif block.lang == "text":
            page.text.append(block)
            between = lines[(previous.end if previous else 0) : block.start - 1]
            reason = _marker(_UNCHECKED, between)
            test = _marker(_COMPARED_BY, between)
            what = _marker(_ILLUSTRATION, between)
            if reason is not None:
                page.unchecked.append((block, reason))
            elif test is not None:
                page.compared_by.append((block, test))
            elif what is not None:
                page.illustrations.append((block, what))
            elif previous is not None and previous.lang == "python" and _is_lead_in(between):
                page.outputs[len(page.python) - 1] = Expected(
                    block.start + 1, block.end - 1, block.body
                )
        previous = block
    _check_markers(page, blocks)
    return page


def pages(root: Path = ROOT) -> list[Path]:
    """The pages whose blocks are run and compared: README.md, examples/README.md, docs/**/*.md."""
    found = [root / "README.md", root / "examples" / "README.md", *root.glob("docs/**/*.md")]
    return sorted(path for path in found if path.is_file())


COMPARED_HERE = "tests/test_docs.py"


@dataclass(frozen=True)
class Output:
    """One documented output, where it is, and what compares it with what the code prints.

    `checked_by` is the test file that compares it (tests/test_docs.py for an output block paired
    with its code and for a console command's output; the file an `output: compared by` marker
    names), `illustration: ...` for a block marked as no output at all, `not checked, because ...`
    for a declared exception (counted in test_docs.UNCHECKED), or None: nothing compares it.
    """

    page: str
    line: int  # the opening fence of a ```text block; the `$` line of a console command
    first: str  # the block's first line, to recognise it by
    checked_by: str | None

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.checked_by or 'UNCHECKED'}: {self.first[:70]}"


def outputs(page: Page) -> list[Output]:
    """Every output a page documents: each ```text block and each console command's output."""
    paired = {expected.first for expected in page.outputs.values()}
    marked = {
        **{block.start: f"not checked, because {reason}" for block, reason in page.unchecked},
        **{block.start: test for block, test in page.compared_by},
        **{block.start: f"illustration: {what}" for block, what in page.illustrations},
    }
    found = [
        Output(
            page.name,
            block.start,
            next((line for line in block.body if line.strip()), ""),
            COMPARED_HERE if block.start + 1 in paired else marked.get(block.start),
        )
        for block in page.text
    ]
    found += [
        Output(page.name, command.line, f"$ {command.command}", COMPARED_HERE)
        for command in page.commands
    ]
    return sorted(found, key=lambda output: output.line)


def unchecked(paths: list[Path]) -> list[Output]:
    """The outputs of these pages that no test compares and no marker accounts for."""
    found = [output for path in paths for output in outputs(parse(path))]
    return [output for output in found if output.checked_by is None]


def _blocks(page: Page) -> list[Block]:
    blocks, opened = [], None
    for number, line in enumerate(page.lines, start=1):
        if opened is None:
            match = _FENCE.match(line)
            if match:
                opened = (match.group(1), number)
        elif line.strip() == "```":
            lang, start = opened
            blocks.append(Block(lang, start, number, tuple(page.lines[start : number - 1])))
            opened = None
    if opened is not None:
        raise DocsFormatError(f"{page.name}:{opened[1]}: a ``` fence is never closed")
    return blocks


def _commands(block: Block) -> list[Command]:
    """`$ command` lines of a console block; the lines up to the next `$` are its output."""
    starts = [i for i, line in enumerate(block.body) if line.startswith("$ ")]
    commands = []
    for k, i in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else len(block.body)
        first = block.start + 1 + i + 1
        expected = Expected(first, first + (stop - i - 1) - 1, block.body[i + 1 : stop])
        commands.append(Command(first - 1, block.body[i][2:], expected))
    return commands


def _marker(pattern: re.Pattern[str], between: list[str]) -> str | None:
    """The group a marker of this kind in the prose before a block names, or None."""
    for line in between:
        match = pattern.match(line.strip())
        if match:
            return match.group(1)
    return None


def _is_lead_in(between: list[str]) -> bool:
    """Nothing but blank lines, or one line of prose such as `prints` or `This printed (...):`."""
    prose = [line for line in between if line.strip()]
    return len(prose) == 0 or (
        len(prose) == 1 and not prose[0].lstrip().startswith(("#", "|", "<"))
    )


def _check_markers(page: Page, blocks: list[Block]) -> None:
    marked = {block.start for block, _ in [*page.unchecked, *page.compared_by, *page.illustrations]}
    for number, line in enumerate(page.lines, start=1):
        if not line.strip().startswith(("<!-- output:", "<!-- illustration:")):
            continue
        if not any(pattern.match(line.strip()) for pattern in _MARKERS):
            raise DocsFormatError(
                f"{page.name}:{number}: write the marker on one line as "
                "'<!-- output: not checked, because REASON -->', "
                "'<!-- output: compared by tests/test_NAME.py -->' or "
                "'<!-- illustration: WHAT IT SHOWS -->'"
            )
        following = next((b for b in blocks if b.start > number), None)
        if following is None or following.start not in marked:
            raise DocsFormatError(
                f"{page.name}:{number}: an output marker must come right before the ```text "
                "block it is about (only prose between)"
            )


def links(text: str) -> list[str]:
    """The relative link targets of a page (no scheme, no bare anchors), anchors cut off."""
    return re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text)


_HEADING = re.compile(r"^#{1,6}[ \t]+(?P<text>.*?)(?:[ \t]+#+)?[ \t]*$")
_HTML_ANCHOR = re.compile(r"""<a\s+(?:name|id)=["']([^"']+)["']""")
_ANCHORED = re.compile(r"\]\((?P<target>[^)#:\s]*)#(?P<anchor>[^)\s]+)\)")


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation (backticks, dots, brackets,
    apostrophes) dropped, each space a hyphen; letters of any script, digits, `_` and `-` kept."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors a page defines: one per heading outside fenced blocks (a repeated heading's
    second anchor ends in `-1`, its third in `-2`), and each `<a name=...>` or `<a id=...>`."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        found.update(_HTML_ANCHOR.findall(line))
        heading = _HEADING.match(line)
        if heading:
            base = slug(heading["text"])
            repeat = seen.get(base, 0)
            seen[base] = repeat + 1
            found.add(base if repeat == 0 else f"{base}-{repeat}")
    return found


def anchored_links(text: str) -> list[tuple[int, str, str]]:
    """Each link with an anchor: (line, target, anchor); the target is "" for the page itself."""
    return [
        (number, match["target"], match["anchor"])
        for number, line in enumerate(text.splitlines(), start=1)
        for match in _ANCHORED.finditer(line)
    ]


def normalise(lines: list[str] | tuple[str, ...]) -> list[str]:
    """Trailing spaces and trailing blank lines dropped, and the NORMALISE patterns replaced."""
    out = []
    for line in lines:
        for pattern, replacement in NORMALISE:
            line = pattern.sub(replacement, line)
        out.append(line.rstrip())
    while out and not out[-1]:
        out.pop()
    return out


def printed_lines(text: str) -> list[str]:
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return [line.rstrip() for line in lines]


def _place(
    expected: Expected, printed: list[str], score: Callable[[list[str], list[str]], float]
) -> list[int]:
    """Where each shown run of an excerpt sits in `printed`: the best-scoring start after the last.

    The first run is pinned to the start of the output and the last to its end (an excerpt says
    where it elides with `...`); between them, each run takes the start that scores best.
    """
    runs, starts, cursor = expected.segments(), [], 0
    for k, run in enumerate(runs):
        if k == 0:
            candidates = [0]
        elif k == len(runs) - 1:
            candidates = [max(cursor, len(printed) - len(run))]
        else:
            candidates = list(range(cursor, max(cursor, len(printed) - len(run)) + 1))
        best = max(candidates, key=lambda i: (score(run, printed[i : i + len(run)]), -i))
        starts.append(best)
        cursor = best + len(run)
    return starts


def _same(run: list[str], lines: list[str]) -> float:
    return float(normalise(run) == normalise(lines))


def _similar(run: list[str], lines: list[str]) -> float:
    return difflib.SequenceMatcher(None, "\n".join(run), "\n".join(lines)).ratio()


def _shown(
    expected: Expected, printed: list[str], score: Callable[[list[str], list[str]], float]
) -> list[str]:
    """The printed lines an excerpt shows, each run of it at its place, `...` lines kept."""
    if not expected.excerpt:
        return printed
    out: list[str] = []
    ellipses = iter(line for line in expected.lines if line.strip() == ELLIPSIS)
    runs = expected.segments()
    for k, (run, start) in enumerate(zip(runs, _place(expected, printed, score), strict=True)):
        out.extend(printed[start : start + len(run)])
        if k < len(runs) - 1:
            out.append(next(ellipses))
    return out


def mismatch(page: Page, expected: Expected, printed: list[str], what: str) -> str | None:
    """A unified diff naming the page and line when `printed` does not match; None when it does.

    An excerpt matches when every run of shown lines appears, in order, with only the elided
    lines between them (and before or after them where it starts or ends with `...`).
    """
    got = _shown(expected, printed, _same)
    if normalise(expected.lines) == normalise(got):
        return None
    diff = difflib.unified_diff(
        normalise(expected.lines),
        normalise(got if expected.excerpt else printed),
        fromfile=f"{page.name}:{expected.first} (documented output of {what})",
        tofile="printed",
        lineterm="",
    )
    return "\n".join(diff)


def replacement(expected: Expected, printed: list[str]) -> list[str]:
    """What update mode writes for a block: the printed lines; an excerpt keeps its shape.

    Each run of an excerpt is replaced by the printed lines most like it, at its place, with the
    same number of lines, so a changed figure is updated and the elisions stay where they were.
    """
    return _shown(expected, printed, _similar)


def rewrite(page: Page, replacements: list[tuple[Expected, list[str]]]) -> None:
    """Write the new output blocks into the page, refusing if the page changed since it was read."""
    current = page.path.read_text(encoding="utf-8").split("\n")
    if current != page.lines:
        raise DocsFormatError(f"{page.name} changed while its examples ran; run the update again")
    for expected, lines in sorted(replacements, key=lambda pair: -pair[0].first):
        current[expected.first - 1 : expected.last] = lines
    page.path.write_text("\n".join(current), encoding="utf-8")


def environment() -> dict[str, str]:
    """The environment the examples run in: the test's own, terminal width and colour pinned."""
    env = {k: v for k, v in os.environ.items() if k not in {"FORCE_COLOR", "TERM", "COLUMNS"}}
    env.update(NO_COLOR="1", COLUMNS="140", TERM="dumb")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


@dataclass(frozen=True)
class Run:
    """A page's python blocks run as one program: what each block printed and its seconds.

    `rest` is what was printed after the last block that finished: a traceback when one failed.
    """

    outputs: list[str]
    seconds: list[float]
    returncode: int
    rest: str


def run_python(page: Page, timeout: float = 600) -> Run:
    """Run every python block of the page, in order, as one program in a fresh interpreter.

    stdout and stderr are read as one stream, unbuffered, so a block's output is what a terminal or
    a notebook shows: `load_export`'s summary line goes to stderr, and the pages show it.
    """
    payload = [[page.name, block.start + 1, "\n".join(block.body)] for block in page.python]
    result = _terminal([sys.executable, "-u", "-c", _RUNNER], timeout, stdin=json.dumps(payload))
    parts = _SPLIT.split(result.stdout)
    outputs, seconds = parts[0:-1:2], [float(s) for s in parts[1::2]]
    return Run(outputs, seconds, result.returncode, parts[-1])


def run_console(command: Command, timeout: float = 600) -> tuple[int, str]:
    """Run one `$ command` in a shell at the repository root: stdout and stderr, as a terminal."""
    result = _terminal(command.command, timeout, shell=True)
    return result.returncode, result.stdout


def _terminal(
    args: str | list[str], timeout: float, stdin: str | None = None, shell: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run `args` at the repository root in the docs' environment, stdout and stderr read as
    one stream, as a terminal shows them."""
    return subprocess.run(
        args,
        input=stdin,
        shell=shell,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=environment(),
        timeout=timeout,
        check=False,
    )


if __name__ == "__main__":  # python -m tests.docs_blocks: every documented output, unchecked first
    listed = [output for path in pages() for output in outputs(parse(path))]
    for output in sorted(listed, key=lambda o: (o.checked_by is not None, o.page, o.line)):
        print(output)
