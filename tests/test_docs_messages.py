"""The messages the docs quote are the messages the code raises, word for word.

A ```text block marked `<!-- output: compared by tests/test_docs_messages.py -->` quotes messages
(docs/errors.md's catalogue: each error class's sample messages; a reason, a CLI error, a
`verify()` report) instead of showing the output of a code block on its page. Each case below
provokes one message with the smallest call that raises (or returns) it, and its page must hold
the message's lines as one run of lines of a block so marked, normalised as tests/docs_blocks.py
normalises (a temporary path). The other way round, every line of every marked block must be a
line of some case's message, so a quoted message the code no longer raises fails too. Two marked
blocks are facts rather than messages, each with its own test: the error-class tree of
docs/errors.md and the signature in docs/analyst/anomalies.md.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import leadrouter as lr
from leadrouter import errors, rules
from tests import docs_blocks as db

THIS = "tests/test_docs_messages.py"
T = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def said(call: Callable[[], object]) -> str:
    """The message `call` raises, or the text it returns (a reason, a report)."""
    try:
        returned = call()
    except Exception as exc:
        return str(exc)
    assert isinstance(returned, str), f"the call neither raised nor returned a text: {returned!r}"
    return returned


@contextlib.contextmanager
def in_a_folder() -> Iterator[Path]:
    """A new empty working directory, so a message naming a relative path names it as a reader's."""
    with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
        yield Path(folder)


def _router(*ids: str) -> lr.Router:
    return lr.Router(lr.EqualRotation(), [lr.Rep(i) for i in ids])


def _pooling_router() -> lr.Router:
    router = lr.Router(lambda ctx: None, [lr.Rep("ana")])
    router.route(lr.Lead("L1", T), now=T)
    return router


def _duplicate() -> None:
    router = _router("a")
    router.route(lr.Lead("L-1001", T, cost=1.0), now=T)
    router.route(lr.Lead("L-1001", T, cost=2.0), now=T)


def _mistyped_rep() -> None:
    router = _router("ana", "bo")
    router.route(lr.Lead("L1", T), now=T)
    router.claim("bO", "L1", now=T)


def _sale_before_arrival() -> None:
    router = _router("a")
    router.route(lr.Lead("L1", T), now=T)
    router.record(lr.Converted("L1", "a", T - timedelta(hours=1)))


def _claim_before_pooled() -> None:
    ledger = lr.Ledger()
    ledger.append(lr.Arrived(lr.Lead("L1", T)))
    ledger.append(lr.Pooled("L1", T + timedelta(minutes=15)))
    ledger.append(lr.Claimed("L1", "a", T + timedelta(minutes=10)))


def _rule_without_family() -> None:
    class OldStyle(rules.Rule):
        def pool_for(self, lead: lr.Lead, rep: lr.Rep) -> None:
            return None


def _tiered_as_team_strategy() -> None:
    tiered = lr.TieredDelay(lr.Tier(0, lr.EqualRotation(), timedelta(hours=1)))
    lr.Router(lr.Hierarchical(team=tiered, rep=lr.EqualRotation()), [lr.Rep("a", team="t")])


def _score_past_100() -> None:
    from leadrouter.sim import load_export

    rows = "".join(f"L{i},2026-01-05T09:00:00+00:00,{140 if i == 6 else 50}\n" for i in range(1, 9))
    with in_a_folder():
        Path("march.csv").write_text("lead_id,created_at,Lead Score\n" + rows, encoding="utf-8")
        load_export("march.csv")


def _quota_reason() -> str:
    reps = [lr.Rep("a", quota=4), lr.Rep("b", quota=3), lr.Rep("c", quota=3)]
    router = lr.Router(lr.QuotaProportional(period="month"), reps)
    for i in range(151):
        at = T + timedelta(minutes=i)
        decision = router.route(lr.Lead(f"L{i}", at), now=at)
    assert decision.rep_id == "a"
    return decision.reasons[0].detail


def _bad_rows_of_a_leads_file() -> str:
    from leadrouter.cli import main

    playbook = db.ROOT / "strategies" / "small-team-no-data.toml"
    with in_a_folder(), contextlib.redirect_stderr(io.StringIO()) as err:
        Path("leads.csv").write_text(
            "lead_id,arrived_at\nL1,2026-01-05T09:00:00+00:00\nL2,yesterday\n"
            "L1,2026-01-05T09:10:00+00:00\n",
            encoding="utf-8",
        )
        assert main(["route", str(playbook), "leads.csv", "--out", "decisions.csv"]) == 2
    return err.getvalue()[err.getvalue().index("leadrouter: error:") :]


def _drifted_ledger() -> str:
    with in_a_folder() as folder:
        ledger = lr.Ledger.open(f"sqlite:///{folder}/ledger.db")
        try:
            lr.Router(lr.EqualRotation(), [lr.Rep("a")], ledger=ledger).route(
                lr.Lead("L17", T), now=T
            )
            ledger._leads["L17"].rep = "ghost"  # views wrong as a forged snapshot would load them
            ledger._received_count += 1  # type: ignore[attr-defined]
            return "\n".join(ledger.verify())
        finally:
            ledger.close()


ERRORS = "docs/errors.md"
QUOTA = "docs/strategies/quota-proportional.md"
CASES: list[tuple[str, str, Callable[[], object]]] = [
    ("negative cost", ERRORS, lambda: lr.Lead("L", T, cost=-5)),
    (
        "unparsable column",
        ERRORS,
        lambda: lr.Lead.from_row({"id": "L", "arrived_at": T.isoformat(), "cost": "abc"}),
    ),
    ("record an arrival", ERRORS, lambda: _router("a").record(lr.Arrived(lr.Lead("L", T)))),
    ("naive datetime", ERRORS, lambda: lr.Lead("L", datetime(2026, 1, 5))),
    ("score 0-100", ERRORS, lambda: lr.Lead("L", T, score=85.0)),
    ("route an id", ERRORS, lambda: _router("a").route("L-9")),  # type: ignore[arg-type]
    ("preview a dict", ERRORS, lambda: _router("a").preview({"id": "L-9"})),  # type: ignore[arg-type]
    ("tier a string", ERRORS, lambda: lr.Rep("a", tier="x")),  # type: ignore[arg-type]
    ("reroute a string", ERRORS, lambda: lr.Lifecycle(reroute="yes")),  # type: ignore[arg-type]
    ("zone as people say it", ERRORS, lambda: lr.FixedCap(daily=5, tz="Beijing")),
    ("rep twice", ERRORS, lambda: _router("a", "a")),
    ("nurture without threshold", ERRORS, lambda: rules.nurture()),
    ("tiered as team strategy", ERRORS, _tiered_as_team_strategy),
    ("rule without family", ERRORS, _rule_without_family),
    ("lead id reused", ERRORS, _duplicate),
    ("mistyped rep", ERRORS, _mistyped_rep),
    (
        "touch of a pooled lead",
        ERRORS,
        lambda: _pooling_router().record(lr.Touched("L1", "ana", T)),
    ),
    ("release of a pooled lead", ERRORS, lambda: _pooling_router().release("L1", now=T)),
    ("event of an unknown lead", ERRORS, lambda: lr.Ledger().append(lr.Touched("L404", "ana", T))),
    ("lookup of an unknown lead", ERRORS, lambda: lr.Ledger().lead("L404")),
    (
        "now before arrival",
        ERRORS,
        lambda: _router("a").route(lr.Lead("L9", T + timedelta(hours=1)), now=T),
    ),
    ("sale before arrival", ERRORS, _sale_before_arrival),
    ("claim before pooled", ERRORS, _claim_before_pooled),
    (
        "strategy picks a stranger",
        ERRORS,
        lambda: lr.Router(lambda ctx: "ghost", [lr.Rep("a")]).route(lr.Lead("L1", T), now=T),
    ),
    ("score past 100", ERRORS, _score_past_100),
    (
        "rep without quota",
        QUOTA,
        lambda: lr.Router(lr.QuotaProportional(), [lr.Rep("x")]).route(lr.Lead("L", T), now=T),
    ),
    ("quota reason", QUOTA, _quota_reason),
    ("bad rows of a leads file", "docs/playbooks.md", _bad_rows_of_a_leads_file),
    ("verify finds drift", "docs/stores.md", _drifted_ledger),
]


def marked_blocks(page: str) -> list[db.Block]:
    """The blocks of `page` whose marker says this file compares them."""
    parsed = db.parse(db.ROOT / page)
    return [block for block, test in parsed.compared_by if test == THIS]


def holds(block: db.Block, lines: list[str]) -> bool:
    """Whether `lines` are one run of lines of `block`, both normalised."""
    shown, wanted = db.normalise(block.body), db.normalise(lines)
    return any(shown[i : i + len(wanted)] == wanted for i in range(len(shown) - len(wanted) + 1))


@pytest.mark.parametrize(
    ("page", "call"), [(page, call) for _, page, call in CASES], ids=[name for name, _, _ in CASES]
)
def test_the_page_quotes_the_message_the_code_gives(page: str, call: Callable[[], object]) -> None:
    message = said(call).rstrip("\n").split("\n")
    blocks = marked_blocks(page)
    assert any(holds(block, message) for block in blocks), (
        f"{page} quotes no such message in a block marked "
        f"'<!-- output: compared by {THIS} -->'; the code says:\n" + "\n".join(message)
    )


def _tree_block() -> db.Block:
    return next(b for b in marked_blocks(ERRORS) if b.body[0] == "Exception")


def _signature_block() -> db.Block:
    page = "docs/analyst/anomalies.md"
    return next(b for b in marked_blocks(page) if b.body[0].startswith("find_anomalies("))


def test_every_line_of_a_marked_block_is_a_message_the_code_gives() -> None:
    messages: dict[str, list[str]] = {}
    for _, page, call in CASES:
        messages.setdefault(page, []).extend(db.normalise(said(call).split("\n")))
    facts = {_tree_block(), _signature_block()}
    pages = {p.relative_to(db.ROOT).as_posix() for p in db.pages()}
    stale = [
        f"{page}:{block.start + 1 + i}: {line}"
        for page in sorted(pages)
        for block in marked_blocks(page)
        if block not in facts
        for i, line in enumerate(db.normalise(block.body))
        if line.strip() and line not in messages.get(page, [])
    ]
    assert stale == [], f"quoted, but no case of {THIS} gives it:\n" + "\n".join(stale)


def test_the_error_tree_is_the_class_hierarchy() -> None:
    """Each class of docs/errors.md's tree is a direct subclass of the class it hangs from, and
    of the builtin named beside it (`(ValueError)`, `(also LookupError)`)."""
    import builtins

    parents: list[type] = []
    wrong = []
    for line in _tree_block().body:
        name = line.lstrip("│├└─ ").split()[0]
        depth = (len(line) - len(line.lstrip("│├└─ "))) // 4
        cls = getattr(builtins, name, None) or getattr(errors, name)
        parents[depth:] = [cls]
        if depth and parents[depth - 1] not in cls.__bases__:
            wrong.append(f"{name} is not a direct subclass of {parents[depth - 1].__name__}")
        if "(" in line:
            builtin = getattr(builtins, line.split("(", 1)[1].rstrip(")").split()[-1])
            if not issubclass(cls, builtin):
                wrong.append(f"{name} is not a {builtin.__name__}")
    assert len(parents) > 1 and wrong == []


def test_the_anomalies_signature_is_the_functions() -> None:
    """The signature docs/analyst/anomalies.md shows has find_anomalies' parameters, kinds and
    defaults (evaluated, so `timedelta(minutes=5)` matches `timedelta(seconds=300)`)."""
    from leadrouter.sim import anomalies

    namespace = {"CHECKS": anomalies.CHECKS, "timedelta": timedelta}

    def value(node: ast.expr | None) -> object:
        if node is None:
            return inspect.Parameter.empty
        return eval(compile(ast.Expression(node), "doc", "eval"), namespace)

    text = " ".join(line.strip() for line in _signature_block().body)
    function = ast.parse(f"def {text}: pass").body[0]
    assert isinstance(function, ast.FunctionDef)
    args = function.args
    positional = [None] * (len(args.args) - len(args.defaults)) + list(args.defaults)
    named = [
        *((a, "POSITIONAL_OR_KEYWORD", d) for a, d in zip(args.args, positional, strict=True)),
        *((a, "KEYWORD_ONLY", d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)),
    ]
    documented = [(arg.arg, kind, value(default)) for arg, kind, default in named]
    real = inspect.signature(anomalies.find_anomalies).parameters.values()
    assert documented == [(p.name, p.kind.name, p.default) for p in real]


def test_the_schema_upgrade_prints_what_the_stores_page_shows() -> None:
    """docs/stores.md shows `leadrouter db upgrade URL` with what it prints as a comment under it:
    the URL without its password, then what was done. The command runs on a new SQLite file (no
    server needed), and the page's URL is shown as the command shows a URL."""
    from leadrouter.cli import main
    from leadrouter.stores.sql import database_url, public_url

    page = (db.ROOT / "docs" / "stores.md").read_text(encoding="utf-8")
    command, comment = page.split("```sh\nleadrouter db upgrade ", 1)[1].split("\n")[:2]
    with in_a_folder() as folder, contextlib.redirect_stdout(io.StringIO()) as out:
        url = f"sqlite:///{folder}/ledger.db"
        assert main(["db", "upgrade", url]) == 0
    done = out.getvalue().strip().removeprefix(f"{url}: ")
    assert comment == f"# {public_url(database_url(command))}: {done}"


def test_the_note_on_an_error_of_your_own_code_is_the_one_errors_md_quotes() -> None:
    """docs/errors.md quotes, in its prose, the note the router adds to an error raised by the
    caller's own code (a filter here), with the routing time elided as `...`."""

    def senior_only(lead: lr.Lead, rep: lr.Rep) -> bool:
        raise KeyError("senior")

    router = lr.Router(lr.EqualRotation(), [lr.Rep("a")], rules=[senior_only])
    with pytest.raises(KeyError) as caught:
        router.route(lr.Lead("L7", T), now=T)
    [note] = caught.value.__notes__
    quoted = f"`{type(caught.value).__name__}: {caught.value}` then `{note}`"
    quoted = quoted.replace(f" at {T.isoformat()} ", " at ... ")
    page = " ".join((db.ROOT / ERRORS).read_text(encoding="utf-8").split())
    assert quoted in page
