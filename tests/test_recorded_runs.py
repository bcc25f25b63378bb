"""Behaviour unchanged: the router's decisions and the simulator's ledgers for fixed workloads and
seeds are event for event those recorded in tests/data/recorded_runs.json.gz (see
tests/recorded_runs.py for the workloads and how to regenerate the recording)."""

from __future__ import annotations

from typing import Any

import pytest

from .recorded_runs import ROUTER_RUNS, recorded, router_run, simulated_runs

RECORDED = recorded()


def _first_difference(name: str, now: list[Any]) -> str:
    then = RECORDED[name]
    for i, (a, b) in enumerate(zip(then, now, strict=False)):
        if a != b:
            return f"{name}: event {i} was recorded as {a}, now {b}; {REGENERATE}"
    return f"{name}: {len(then)} events were recorded, now {len(now)}; {REGENERATE}"


@pytest.fixture(scope="module")
def simulated() -> dict[str, list[Any]]:
    return simulated_runs()


REGENERATE = (
    "when the change of behaviour is intended (a new strategy, a reason worded anew), record "
    "again with `python -m tests.recorded_runs` and check that no other run changed"
)


def test_the_recording_covers_every_workload(simulated: dict[str, list[Any]]) -> None:
    workloads = set(ROUTER_RUNS) | set(simulated)
    assert set(RECORDED) == workloads, (
        f"recorded but gone: {sorted(set(RECORDED) - workloads)}; not recorded: "
        f"{sorted(workloads - set(RECORDED))}: {REGENERATE}"
    )


@pytest.mark.parametrize("name", sorted(n for n in RECORDED if n.startswith("router/")))
def test_router_decides_as_recorded(name: str) -> None:
    now = router_run(name)
    assert now == RECORDED[name], _first_difference(name, now)


@pytest.mark.parametrize("name", sorted(n for n in RECORDED if n.startswith("sim/")))
def test_simulated_ledger_is_as_recorded(name: str, simulated: dict[str, list[Any]]) -> None:
    now = simulated[name]
    assert now == RECORDED[name], _first_difference(name, now)
