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
            return f"{name}: event {i} was recorded as {a}, now {b}"
    return f"{name}: {len(then)} events were recorded, now {len(now)}"


@pytest.fixture(scope="module")
def simulated() -> dict[str, list[Any]]:
    return simulated_runs()


def test_the_recording_covers_every_workload(simulated: dict[str, list[Any]]) -> None:
    assert set(RECORDED) == set(ROUTER_RUNS) | set(simulated)


@pytest.mark.parametrize("name", sorted(n for n in RECORDED if n.startswith("router/")))
def test_router_decides_as_recorded(name: str) -> None:
    now = router_run(name)
    assert now == RECORDED[name], _first_difference(name, now)


@pytest.mark.parametrize("name", sorted(n for n in RECORDED if n.startswith("sim/")))
def test_simulated_ledger_is_as_recorded(name: str, simulated: dict[str, list[Any]]) -> None:
    now = simulated[name]
    assert now == RECORDED[name], _first_difference(name, now)
