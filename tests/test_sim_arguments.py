"""compare() and evaluate() check what they are given before fitting or simulating anything:
each wrong argument an analyst plausibly writes is a ConfigError naming it and the fix, never a
TypeError or AttributeError from inside the first run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

import leadrouter as lr
from leadrouter.sim import compare, evaluate, synthetic
from leadrouter.sim.history import History

HISTORY = synthetic(120, 3, 5, seed=1, logging=lr.Explore(lr.EqualRotation(), share=0.2))
ROT = {"rot": lr.EqualRotation()}

CASES: list[tuple[str, Callable[[History], Any], str]] = [
    (
        "strategy class",
        lambda h: compare(h, {"rot": lr.EqualRotation}, seeds=2),  # type: ignore[dict-item]
        r"compare: policy 'rot' is the class EqualRotation, not a strategy: write "
        r"EqualRotation\(\)",
    ),
    (
        "built-in name",
        lambda h: compare(h, {"rot": "equal-rotation"}, seeds=2),
        r"'equal-rotation' is no playbook file: .*demo_policies\(history\)\['equal-rotation'\]",
    ),
    (
        "list of policies",
        lambda h: compare(h, [lr.EqualRotation()], seeds=2),  # type: ignore[arg-type]
        r"compare takes the policies as \{name: policy\}, got list",
    ),
    (
        "one-argument factory",
        lambda h: compare(h, {"rot": lambda reps: None}, seeds=2),  # type: ignore[dict-item]
        r"a factory f\(reps, seed\) -> Router",
    ),
    (
        "fractional seeds",
        lambda h: compare(h, ROT, seeds=2.5),  # type: ignore[arg-type]
        r"seeds is a count \(seeds=20\) or the seeds themselves .*got 2\.5",
    ),
    ("no seeds", lambda h: compare(h, ROT, seeds=0), "needs at least one seed"),
    ("repeated seeds", lambda h: compare(h, ROT, seeds=[1, 1]), "seeds must be distinct"),
    (
        "a frame for a history",
        lambda h: compare(h.to_frame(), ROT, seeds=2),  # type: ignore[arg-type]
        r"compare takes a History, got DataFrame: make one with load_export\(path\)",
    ),
    (
        "behaviour by name",
        lambda h: compare(h, ROT, seeds=2, behaviour="fit"),  # type: ignore[arg-type]
        r"behaviour is a model, e\.g\. fit_behaviour\(history\), or None",
    ),
    (
        "sla in minutes",
        lambda h: compare(h, ROT, seeds=2, sla=60),  # type: ignore[arg-type]
        r"sla is a timedelta, e\.g\. timedelta\(minutes=30\), got 60",
    ),
    (
        "progress flag",
        lambda h: compare(h, ROT, seeds=2, progress=True),  # type: ignore[arg-type]
        r"progress is a function f\(done, total\)",
    ),
    (
        "calibrate as text",
        lambda h: compare(h, ROT, seeds=2, calibrate="no"),  # type: ignore[arg-type]
        r"calibrate is True or False, got 'no'",
    ),
    (
        "evaluate: strategy class",
        lambda h: evaluate(h, {"rot": lr.EqualRotation}),  # type: ignore[dict-item]
        r"evaluate: policy 'rot' is the class EqualRotation",
    ),
    (
        "evaluate: a path for a history",
        lambda h: evaluate("leads.csv", ROT),  # type: ignore[arg-type]
        r"evaluate takes a History, got str",
    ),
]


@pytest.mark.parametrize(("call", "said"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_wrong_argument_is_named_before_any_work(
    call: Callable[[History], Any], said: str
) -> None:
    with pytest.raises(lr.ConfigError, match=said):
        call(HISTORY)


def test_the_right_arguments_still_run() -> None:
    result = compare(HISTORY, ROT, seeds=range(3, 5), sla=timedelta(minutes=30), calibrate=False)
    assert list(result.table().index) == ["rot"]
