"""Every page's examples run and print what the page says they print.

Pages: README.md, examples/README.md and docs/**/*.md.

Code. The ```python blocks of a page run in page order as one program (one namespace, a fresh
interpreter per page, the repository root as working directory). A traceback names the page and
the line in it. A `$ command` line in a ```console block is run in a shell at the repository root,
with the test's interpreter's bin directory (.venv/bin) first on PATH.

Outputs. A ```text block is the documented output of the ```python block before it when only
blank lines, or one line of lead-in prose (such as "prints" or "This printed (five seeds):"), stand
between them; it is compared with what that block wrote to stdout and stderr (one unbuffered
stream, as a terminal or a notebook shows them). In a ```console block, the
lines under a `$ command` line, up to the next `$` line, are compared with what the command wrote
to stdout and stderr together, as a terminal shows them. A line `...` in an output block stands
for any number of printed lines left out (an excerpt): the lines shown must appear in that order,
the first run at the start of the output unless the block starts with `...`, the last at its end
unless the block ends with `...`.

Normalised, on both sides, before comparing — only what changes from run to run or machine to
machine without the code changing (tests/docs_blocks.py, NORMALISE):
- trailing spaces and trailing blank lines: Markdown does not show them and editors strip them;
- temporary directory names (/tmp/tmpab12cd…): random per run;
- a progress bar's elapsed time at the end of its line (`0:00:22`), shown as `<elapsed>`.
The examples run with NO_COLOR=1, TERM=dumb and COLUMNS=140, so rich prints the same plain text
on a laptop and in CI. Nothing else is normalised: numbers, names and counts must match exactly.

Every ```text block is accounted for (test_every_documented_output_is_compared; list them all with
`python -m tests.docs_blocks`, unchecked first). One that is not the output of the code block
before it carries one of these markers, on one line of the prose right before it:
- `<!-- output: compared by tests/test_NAME.py -->`: a message or fact the page quotes rather
  than prints (docs/errors.md's catalogue); that test provokes it from the code and compares, and
  fails for a line of a block so marked that no case of it gives (tests/test_docs_messages.py);
- `<!-- illustration: WHAT IT SHOWS -->`: no output at all, a formula or a diagram that no code
  prints. Never for something the code prints or raises; a file the code reads is tested as read;
- `<!-- output: not checked, because REASON -->`: an output that cannot be compared (it needs the
  network, or a measured run). UNCHECKED below counts them per page, so adding one is a visible
  change to this file.

Links. Every relative link leads to a file that exists, and every link to a section
(`page.md#anchor`, `#anchor`) to a heading of that page, by the anchor GitHub gives it
(tests/docs_blocks.py, `slug`).

Files. Every relative path a page's command writes (`--out report`, `--csv`) is ignored by git,
so following the docs from the repository root leaves no untracked file.

Updating. After an intended change of output, re-sync the pages in one command:

    LEADROUTER_UPDATE_DOCS=1 .venv/bin/pytest tests/test_docs.py

rewrites each output block in place from what its code printed (an excerpt keeps its `...`
lines, each run of shown lines replaced by the printed lines most like it) and warns with the
list of blocks it rewrote; then read the diff, and fix the prose around each block that no longer
says what the output shows. See docs/testing.md.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from tests import docs_blocks as db

ROOT = db.ROOT
PAGES = db.pages()
CODE_PAGES = [
    page
    for page in PAGES
    if any(f"```{lang}" in page.read_text(encoding="utf-8") for lang in ("python", "console"))
]

UNCHECKED: dict[str, int] = {"docs/benchmarks.md": 1}


def _updating() -> bool:
    return os.environ.get(db.UPDATE_ENV, "") not in {"", "0"}


@pytest.mark.parametrize("path", CODE_PAGES, ids=[str(p.relative_to(ROOT)) for p in CODE_PAGES])
def test_page_prints_what_it_documents(path: Path) -> None:
    page = db.parse(path)
    failures: list[str] = []
    updates: list[tuple[db.Expected, list[str]]] = []

    def check(expected: db.Expected, printed: list[str], what: str) -> None:
        diff = db.mismatch(page, expected, printed, what)
        if diff is not None:
            failures.append(diff)
            updates.append((expected, db.replacement(expected, printed)))

    if page.python:
        run = db.run_python(page)
        assert run.returncode == 0, f"{page.name}: the examples failed\n{run.rest[-3000:]}"
        for index, expected in page.outputs.items():
            what = f"the python block at line {page.python[index].start}"
            check(expected, db.printed_lines(run.outputs[index]), what)
    for command in page.commands:
        returncode, printed = db.run_console(command)
        what = f"`{command.command}` (exit code {returncode})"
        check(command.expected, db.printed_lines(printed), what)

    if _updating() and updates:
        db.rewrite(page, updates)
        names = ", ".join(f"{page.name}:{expected.first}" for expected, _ in updates)
        warnings.warn(f"rewrote {len(updates)} output block(s): {names}", stacklevel=1)
        return
    hint = f"\nIf the new output is intended: {db.UPDATE_ENV}=1 .venv/bin/pytest tests/test_docs.py"
    assert not failures, "\n\n".join(failures) + hint


def test_unchecked_outputs_are_counted() -> None:
    found: dict[str, int] = {}
    for path in PAGES:
        page = db.parse(path)
        if page.unchecked:
            found[page.name] = len(page.unchecked)
    assert found == UNCHECKED


def test_every_documented_output_is_compared() -> None:
    """A ```text block no test compares would go stale unnoticed: each is the output of the code
    block before it, or carries a marker saying which test compares it or that it is no output."""
    found = db.unchecked(PAGES)
    assert found == [], (
        "no test compares these documented outputs:\n"
        + "\n".join(str(output) for output in found)
        + "\nPut each right after the code that prints it (only blank lines or one line of prose"
        " between), or mark it as the docstring of tests/test_docs.py says: compared by a test"
        " that provokes it, an illustration, or not checked with the reason."
    )


def test_a_test_named_by_a_marker_exists_and_claims_its_blocks() -> None:
    named = {test for path in PAGES for _, test in db.parse(path).compared_by}
    for test in named:
        assert f'"{test}"' in (ROOT / test).read_text(encoding="utf-8"), test


def test_relative_links_resolve() -> None:
    missing = []
    for page in PAGES:
        for target in db.links(page.read_text(encoding="utf-8")):
            if not (page.parent / target).exists():
                missing.append(f"{page.relative_to(ROOT)} -> {target}")
    assert missing == []


def broken_anchors(pages: list[Path], root: Path = ROOT) -> list[str]:
    """Each link to a heading that its page does not have: `page:line -> target#anchor`."""
    broken = []
    for page in pages:
        for line, target, anchor in db.anchored_links(page.read_text(encoding="utf-8")):
            linked = page.parent / target if target else page
            if linked.suffix != ".md" or not linked.is_file():
                continue  # a missing page is test_relative_links_resolve's to report
            if anchor not in db.anchors(linked.read_text(encoding="utf-8")):
                broken.append(f"{page.relative_to(root)}:{line} -> {target}#{anchor}")
    return broken


def test_link_anchors_exist() -> None:
    """A link to a section (`page.md#heading`, `#heading`) lands on a heading of that page."""
    assert broken_anchors(PAGES) == []


# The conventions themselves, on small made-up pages.

SAMPLE = """\
# A page

```python
print("a")
```

```text
a
```

```python
print("b")
print("c")
```

prints

```text
b
```

```python
x = 1
```

Some prose, naming `<!-- output: not checked, because ... -->`,
in two lines.

```text
a formula, not an output
```

<!-- output: not checked, because it needs the network -->

```text
fetched
```

```console
$ echo one; echo two; echo three
one
...
```
"""


def test_text_after_python_or_a_lead_in_line_is_its_output(tmp_path: Path) -> None:
    page = db.parse(tmp_path / "page.md", SAMPLE)
    assert {i: e.lines for i, e in page.outputs.items()} == {0: ("a",), 1: ("b",)}
    assert [(b.start, reason) for b, reason in page.unchecked] == [(35, "it needs the network")]
    assert [(c.line, c.command, c.expected.lines) for c in page.commands] == [
        (40, "echo one; echo two; echo three", ("one", "..."))
    ]


def test_outputs_are_split_per_block_and_compared_with_a_diff(tmp_path: Path) -> None:
    path = tmp_path / "page.md"
    path.write_text(SAMPLE, encoding="utf-8")
    page = db.parse(path)
    run = db.run_python(page)
    assert run.returncode == 0
    assert [db.printed_lines(out) for out in run.outputs] == [["a"], ["b", "c"], []]
    assert db.mismatch(page, page.outputs[0], ["a"], "block") is None
    diff = db.mismatch(page, page.outputs[1], ["b", "c"], "block")
    assert diff is not None
    assert f"{path}:19 (documented output of block)" in diff
    assert "+c" in diff


def test_stderr_is_read_in_order_and_a_failure_names_the_page_line(tmp_path: Path) -> None:
    path = tmp_path / "page.md"
    path.write_text(
        "```python\nimport sys\nprint('a')\nprint('b', file=sys.stderr)\nprint('c')\n```\n\n"
        "```python\nx = 1\nraise ValueError('boom')\n```\n",
        encoding="utf-8",
    )
    run = db.run_python(db.parse(path))
    assert run.returncode != 0
    assert [db.printed_lines(out) for out in run.outputs] == [["a", "b", "c"]]
    assert f'File "{path}", line 10' in run.rest
    assert "ValueError: boom" in run.rest


def test_an_excerpt_compares_the_lines_it_shows_and_update_keeps_its_shape(tmp_path: Path) -> None:
    page = db.parse(tmp_path / "page.md", SAMPLE)
    head = page.commands[0].expected
    assert db.mismatch(page, head, ["one", "two", "three"], "cmd") is None
    assert db.mismatch(page, head, ["uno", "two"], "cmd") is not None
    assert db.replacement(head, ["uno", "two", "three"]) == ["uno", "..."]

    middle = db.Expected(1, 6, ("a: 1", "  ...", "d: 4", "e: 5", "..."))
    printed = ["a: 1", "b: 2", "c: 3", "d: 4", "e: 5", "f: 6"]
    assert db.mismatch(page, middle, printed, "cmd") is None
    assert db.mismatch(page, middle, ["a: 1", "d: 4", "x: 0", "e: 5"], "cmd") is not None
    changed = ["a: 1", "b: 2", "d: 40", "e: 5", "f: 6"]
    diff = db.mismatch(page, middle, changed, "cmd")
    assert diff is not None and "+d: 40" in diff
    assert db.replacement(middle, changed) == ["a: 1", "  ...", "d: 40", "e: 5", "..."]


def test_only_what_varies_is_normalised() -> None:
    varying = ["report in /tmp/tmpa1b2c3/report.html  ", ""]
    assert db.normalise(varying) == db.normalise(["report in /tmp/tmpzz9/report.html"])
    assert db.normalise(["3 seeds, 5.90%"]) != db.normalise(["3 seeds, 5.91%"])
    assert db.normalise(["2025-03-02 16:00:00"]) != db.normalise(["2025-03-02 17:00:00"])


def test_update_rewrites_the_blocks_in_place(tmp_path: Path) -> None:
    path = tmp_path / "page.md"
    path.write_text(SAMPLE, encoding="utf-8")
    page = db.parse(path)
    db.rewrite(page, [(page.outputs[1], ["b", "c"]), (page.outputs[0], ["A"])])
    again = db.parse(path)
    assert {i: e.lines for i, e in again.outputs.items()} == {0: ("A",), 1: ("b", "c")}
    assert path.read_text(encoding="utf-8").count("\n") == SAMPLE.count("\n") + 1


def test_the_scan_names_each_output_and_what_compares_it(tmp_path: Path) -> None:
    text = SAMPLE + (
        "\nProse.\n\n```text\nquoted\n```\n\n<!-- output: compared by tests/test_x.py -->\n\n"
        "```text\nraised\n```\n\n<!-- illustration: a formula -->\n```text\nx = 1\n```\n"
    )
    page = db.parse(tmp_path / "p.md", text)
    listed = [(output.line, output.first, output.checked_by) for output in db.outputs(page)]
    assert listed == [
        (7, "a", db.COMPARED_HERE),
        (18, "b", db.COMPARED_HERE),
        (29, "a formula, not an output", None),
        (35, "fetched", "not checked, because it needs the network"),
        (40, "$ echo one; echo two; echo three", db.COMPARED_HERE),
        (47, "quoted", None),
        (53, "raised", "tests/test_x.py"),
        (58, "x = 1", "illustration: a formula"),
    ]


@pytest.mark.parametrize(
    "marker",
    [
        "<!-- output: not checked, because slow -->",
        "<!-- output: compared by tests/test_x.py -->",
        "<!-- illustration: a formula -->",
    ],
)
def test_a_stray_marker_is_an_error(tmp_path: Path, marker: str) -> None:
    text = f"{marker}\n\n```python\nx = 1\n```\n"
    with pytest.raises(db.DocsFormatError, match=r"page\.md:1: an output marker must come"):
        db.parse(tmp_path / "page.md", text)


def test_a_misspelt_marker_is_an_error(tmp_path: Path) -> None:
    text = "<!-- output: compared by test_x.py -->\n```text\nx\n```\n"
    with pytest.raises(db.DocsFormatError, match=r"page\.md:1: write the marker on one line"):
        db.parse(tmp_path / "page.md", text)


def test_every_reason_code_the_router_writes_is_declared_and_documented() -> None:
    """Code reading decisions switches on `Reason.code`: each code written anywhere in the
    source is in `ReasonCode` and has its row in embedding.md's table, and nothing else is."""
    import re
    from typing import get_args

    from leadrouter.model import ReasonCode

    written: set[str] = set()
    for path in (ROOT / "src" / "leadrouter").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        written |= set(re.findall(r"(?:_new_reason|Reason)\(\s*\"([a-z]+)\"", text))
    table = (ROOT / "docs" / "embedding.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z]+)` \| ", table, flags=re.MULTILINE))
    assert written == set(get_args(ReasonCode))
    assert set(get_args(ReasonCode)) <= documented


def test_what_the_pages_commands_write_in_a_checkout_is_ignored_by_git() -> None:
    """A reader runs a page's command from the repository root as written (`--out report`):
    every relative path a command writes to (`--out`, `--csv`) is ignored by git, so following
    the docs leaves no untracked file among the project's. Placeholders (`--out DIR`) are no
    path."""
    import re
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    written = {
        found
        for page in PAGES
        for found in re.findall(r"--(?:out|csv) ([a-z][\w./-]*)", page.read_text(encoding="utf-8"))
    }
    assert written, "no command writing a file was found: the pattern is out of date"
    ignored = subprocess.run(
        [git, "check-ignore", "--no-index", *sorted(written)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert sorted(written - set(ignored)) == []


def test_the_index_lists_every_page() -> None:
    """docs/index.md's "All pages" is how a reader finds a page: none is left out."""
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    listed = set(index.split("## All pages", 1)[1].split("](")[1:])
    linked = {part.split(")", 1)[0] for part in listed}
    pages = {
        str(path.relative_to(ROOT / "docs"))
        for path in (ROOT / "docs").rglob("*.md")
        if path.name != "index.md" or path.parent.name != "docs"
    }
    assert pages - linked == set()


def test_a_link_to_a_missing_or_renamed_heading_is_reported(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text(
        "# Guide\n\n## Handing over a rep's leads (离职交接)\n\n```python\n# Not a heading\n```\n\n"
        "## `compare`: one call\n\n## Steps\n\n## Steps\n",
        encoding="utf-8",
    )
    index = docs / "index.md"
    index.write_text(
        "# Index\n\n"
        "[ok](guide.md#handing-over-a-reps-leads-离职交接) [ok](guide.md#compare-one-call)\n"
        "[ok](guide.md#steps-1) [ok](#index) [renamed](guide.md#handing-over-leads)\n"
        "[code](guide.md#not-a-heading) [self](#missing)\n",
        encoding="utf-8",
    )
    assert db.anchors((docs / "guide.md").read_text(encoding="utf-8")) == {
        "guide",
        "handing-over-a-reps-leads-离职交接",
        "compare-one-call",
        "steps",
        "steps-1",
    }
    assert broken_anchors([index], tmp_path) == [
        "docs/index.md:4 -> guide.md#handing-over-leads",
        "docs/index.md:5 -> guide.md#not-a-heading",
        "docs/index.md:5 -> #missing",
    ]
