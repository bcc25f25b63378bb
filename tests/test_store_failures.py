"""A Router operation that fails leaves the ledger as it was before the call, in memory as in
SQLite and PostgreSQL, alone or inside a caller's `with ledger.transaction():`, and on a stored
ledger opened from a snapshot: the same views (`snapshot()`), the same log, and views that agree
with the log (`verify()`).

What can be found before anything is written is found there: a batch with a repeated or
already-used lead id, or a `now` before one of its leads arrived, raises with nothing appended
and nothing to roll back. Before, the batch's earlier leads were written and then rolled back,
which folds the whole log again (seconds on a long ledger, under the ledger's lock; see
benchmarks/bench_failed_ops.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

import leadrouter as lr
from leadrouter.ledger import Ledger

from .conftest import T0, at
from .test_store import Opener, opener, sql_opener, team

__all__ = ["opener", "sql_opener"]  # the fixtures, which pytest finds by their names here


class ModelDownError(Exception):
    """The strategy's own failure."""


class Flaky:
    """The first free rep in order of id; raises while `failing`, and on a lead from the
    source "model down" (a strategy failing on the last lead of a batch)."""

    def __init__(self) -> None:
        self.failing = False

    def __call__(self, ctx: lr.Context) -> str | None:
        if self.failing or ctx.lead.source == "model down":
            raise ModelDownError("the scoring model is down")
        return min(ctx.ids, default=None)


def _router(ledger: lr.Ledger, strategy: Flaky) -> lr.Router:
    lifecycle = lr.Lifecycle(first_touch_sla=timedelta(minutes=30), reroute=True)
    return lr.Router(strategy, team(), ledger=ledger, lifecycle=lifecycle)


def _held(router: lr.Router) -> None:
    """Four leads in the reps' books, routed at `at(1)`."""
    router.route_many([lr.Lead(f"L{i}", T0) for i in range(4)], now=at(1))


def _duplicate_late(router: lr.Router, strategy: Flaky) -> Any:
    new = [lr.Lead("N1", T0), lr.Lead("N2", T0)]
    return router.route_many([*new, lr.Lead("L1", T0, cost=9.0)], now=at(2))


def _repeated_late(router: lr.Router, strategy: Flaky) -> Any:
    new = [lr.Lead("N1", T0), lr.Lead("N2", T0)]
    return router.route_many([*new, lr.Lead("N1", T0, cost=9.0)], now=at(2))


def _before_arrival_late(router: lr.Router, strategy: Flaky) -> Any:
    return router.route_many([lr.Lead("N1", T0), lr.Lead("N2", at(5))], now=at(2))


def _strategy_late(router: lr.Router, strategy: Flaky) -> Any:
    new = [lr.Lead("N1", T0), lr.Lead("N2", T0)]
    return router.route_many([*new, lr.Lead("N3", T0, source="model down")], now=at(2))


def _handover(router: lr.Router, strategy: Flaky) -> Any:
    strategy.failing = True
    return router.handover("r0", now=at(2))


def _tick(router: lr.Router, strategy: Flaky) -> Any:
    strategy.failing = True
    return router.tick(at(60))  # every first touch is late: released, re-routed


Failure = Callable[[lr.Router, Flaky], Any]

FOUND_BEFORE_WRITING: dict[str, tuple[Failure, type[Exception]]] = {
    "duplicate-late": (_duplicate_late, lr.errors.DuplicateLeadError),
    "repeated-late": (_repeated_late, lr.errors.DuplicateLeadError),
    "before-arrival-late": (_before_arrival_late, lr.errors.EventBeforeArrivalError),
}
FAILURES = FOUND_BEFORE_WRITING | {
    "strategy-late": (_strategy_late, ModelDownError),
    "handover": (_handover, ModelDownError),
    "tick": (_tick, ModelDownError),
}


def _state(ledger: lr.Ledger) -> tuple[dict[str, Any], list[lr.Event]]:
    ledger.refresh()
    return ledger.snapshot(), list(ledger.events())


def _fails_cleanly(ledger: lr.Ledger, router: lr.Router, strategy: Flaky, failure: str) -> None:
    """Run the failure; the ledger ends as it began, and (outside a block: a stored ledger's
    log holds only what was committed) agrees with its log."""
    fail, error = FAILURES[failure]
    before = _state(ledger)
    with pytest.raises(error):
        fail(router, strategy)
    strategy.failing = False
    assert _state(ledger) == before
    if ledger._txn is None if ledger.durable else not ledger._block.depth:  # type: ignore[attr-defined]
        assert ledger.verify() == []


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_operation_leaves_the_ledger_as_it_was(opener: Opener, failure: str) -> None:
    ledger, strategy = opener(), Flaky()
    router = _router(ledger, strategy)
    _held(router)
    _fails_cleanly(ledger, router, strategy, failure)
    if opener.kind != "memory":  # and another process sees nothing of it
        assert _state(opener()) == _state(ledger)
    assert router.route(lr.Lead("N1", T0), now=at(3)).rep_id is not None


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_operation_caught_in_a_block_leaves_the_block_as_it_was(
    opener: Opener, failure: str
) -> None:
    """Undone alone: the block's operations before it stand, the block goes on and commits."""
    ledger, strategy = opener(), Flaky()
    router = _router(ledger, strategy)
    _held(router)
    with ledger.transaction():
        router.release("L3", now=at(1), reroute=False)
        _fails_cleanly(ledger, router, strategy, failure)
        router.route(lr.Lead("N9", T0), now=at(3))
    for seen in [ledger] if opener.kind == "memory" else [ledger, opener()]:
        seen.refresh()
        assert seen.holder("L3") is None and seen.holder("N9") is not None
        assert "N1" not in seen and seen.verify() == []


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_operation_on_a_ledger_opened_from_a_snapshot(
    sql_opener: Opener, failure: str
) -> None:
    """The snapshot's events are read back from the database only when asked for; a failed
    operation leaves the views those events were folded into as they were."""
    router = _router(sql_opener(snapshot_every=3), Flaky())
    _held(router)
    sql_opener.settle()
    ledger, strategy = sql_opener(snapshot_every=0), Flaky()
    assert ledger._snapshots.events > 0  # type: ignore[attr-defined]
    router = _router(ledger, strategy)
    _fails_cleanly(ledger, router, strategy, failure)
    with ledger.transaction():
        _fails_cleanly(ledger, router, strategy, failure)
    assert ledger.verify() == []


def _writes(monkeypatch: pytest.MonkeyPatch, ledger: lr.Ledger) -> list[str]:
    """The names of the ledger's writing methods, one entry per call from now on."""
    calls: list[str] = []
    kind = type(ledger)
    for name in ("append", "_append_arrived_assigned", "_roll_back", "_rebuild"):
        method = getattr(kind, name, None)
        if method is None:
            continue

        def spy(self: Ledger, *args: Any, _name: str = name, _method: Any = method) -> Any:
            calls.append(_name)
            return _method(self, *args)

        monkeypatch.setattr(kind, name, spy)
    return calls


@pytest.mark.parametrize("failure", FOUND_BEFORE_WRITING)
@pytest.mark.parametrize("batching", [False, True], ids=["lead-by-lead", "batch-solver"])
def test_a_batch_found_bad_before_writing_writes_nothing(
    opener: Opener, monkeypatch: pytest.MonkeyPatch, failure: str, batching: bool
) -> None:
    """Nothing appended, nothing rolled back, the views never started over (`generation`),
    also when a rule settles a lead of the batch before the bad one (a batch solver writes
    those at once)."""
    ledger, strategy = opener(), Flaky()
    _held(_router(ledger, strategy))
    rules = [lr.rules.to_pool("nurture", lambda lead: lead.id == "N1")]
    picker: Any = lr.ProfileMatching() if batching else strategy
    router = lr.Router(picker, team(), ledger=ledger, rules=rules)
    assert router.strategy.batches == batching
    generation, calls = ledger.generation, _writes(monkeypatch, ledger)
    fail, error = FOUND_BEFORE_WRITING[failure]
    with pytest.raises(error):
        fail(router, strategy)
    assert calls == [] and ledger.generation == generation
