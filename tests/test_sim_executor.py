"""compare(executor=...): seeds spread over any Executor or a Dask cluster give exactly the
serial run's results for the same seeds."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

import leadrouter as lr
from leadrouter.sim import Comparison, compare, synthetic


@pytest.fixture(scope="module")
def serial() -> tuple[object, dict[str, object], Comparison]:
    history = synthetic(500, 5, 10, seed=3)
    policies: dict[str, object] = {
        "rotation": lr.EqualRotation(),
        "performance": lr.PerformanceWeighted(),
        # a factory (a closure does not pickle: it runs in threads, not on the cluster)
        "capped": lambda reps, seed: lr.Router(
            lr.UtilizationWeighted(), reps, caps=lr.FixedCap(daily=6), seed=seed
        ),
    }
    return history, policies, compare(history, policies, seeds=4, calibrate=False)


def test_a_thread_pool_gives_the_serial_results(serial) -> None:
    history, policies, expected = serial
    with ThreadPoolExecutor(2) as pool:
        got = compare(history, policies, seeds=4, calibrate=False, executor=pool)
    pd.testing.assert_frame_equal(expected.results, got.results)
    assert expected.table().equals(got.table())


def test_a_local_dask_cluster_gives_the_serial_results(serial) -> None:
    from distributed import Client, LocalCluster

    history, policies, expected = serial
    picklable = {name: policy for name, policy in policies.items() if name != "capped"}
    reference = compare(history, picklable, seeds=4, calibrate=False)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        Client(cluster) as client,
    ):
        got = compare(history, picklable, seeds=4, calibrate=False, executor=client)
        again = compare(history, picklable, seeds=4, calibrate=False, executor="dask")
    pd.testing.assert_frame_equal(reference.results, got.results)
    pd.testing.assert_frame_equal(reference.results, again.results)
    assert set(expected.results["policy"]) > set(got.results["policy"])


def test_an_executor_of_the_wrong_kind_is_a_named_error(serial) -> None:
    history, policies, _ = serial
    with pytest.raises(lr.ConfigError, match="executor must be"):
        compare(history, policies, seeds=2, calibrate=False, executor=4)
