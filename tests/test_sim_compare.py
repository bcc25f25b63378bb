"""compare(): common random numbers, paired intervals, the table's exact shape, named errors."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

import attrs
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter.errors import BehaviourNeededError, ConfigError
from leadrouter.sim import Comparison, History, compare, fit_behaviour, simulate, synthetic
from leadrouter.sim.metrics import METRICS, PER_REP_COLUMNS, _gini

SUFFIXES = ("", "_lo", "_hi", "_diff", "_diff_lo", "_diff_hi")

# 240 leads make a weak calibration check (72 held-out leads); these tests are about the
# comparison itself, and test_sim_calibration.py tests the verdict
pytestmark = pytest.mark.filterwarnings("ignore::leadrouter.errors.CalibrationWarning")


@pytest.fixture(scope="module")
def history() -> History:
    return synthetic(n_leads=240, n_reps=4, days=6, seed=5)


def dump(reps: list[lr.Rep], seed: int) -> lr.Router:
    """Every lead to the first rep, whose daily capacity is a fraction of the inflow: the rest
    wait in their book, get touched late or never."""
    first = reps[0].id
    return lr.Router(lambda ctx: first, reps, seed=seed)


@pytest.fixture(scope="module")
def result(history: History) -> Comparison:
    return compare(
        history,
        {"rotation": lr.EqualRotation(), "again": lr.EqualRotation(), "dump": dump},
        seeds=4,
    )


def test_a_policy_compared_with_itself_differs_by_exactly_zero(result: Comparison) -> None:
    table = result.table()
    for metric in METRICS:
        for name in ("rotation", "again"):
            for suffix in ("_diff", "_diff_lo", "_diff_hi"):
                value = table.loc[name, metric + suffix]
                assert value == 0.0 or (math.isnan(value) and metric in {"roi", "cost_per_sale"})
        assert table.loc["again", metric] == table.loc["rotation", metric] or (
            math.isnan(table.loc["again", metric])
        )


def test_table_has_exactly_the_specified_index_and_columns(result: Comparison) -> None:
    table = result.table()
    assert list(table.index) == ["rotation", "again", "dump"]
    assert table.index.name == "policy"
    assert list(table.columns) == [m + s for m in METRICS for s in SUFFIXES]
    for metric in ("conversion_rate", "speed_to_lead_median", "sla_breaches"):
        assert table.loc["dump", metric + "_lo"] <= table.loc["dump", metric]
        assert table.loc["dump", metric] <= table.loc["dump", metric + "_hi"]


def test_a_clearly_better_policy_shows_an_interval_that_excludes_zero(
    result: Comparison, history: History
) -> None:
    table = result.table()
    assert table.loc["dump", "conversion_rate_diff_hi"] < 0
    assert table.loc["dump", "wasted_diff_lo"] > 0
    flipped = compare(history, {"dump": dump, "rotation": lr.EqualRotation()}, seeds=6).table()
    assert flipped.loc["rotation", "conversion_rate_diff_lo"] > 0
    assert flipped.loc["dump", "conversion_rate_diff"] == 0.0


def test_difference_interval_is_the_paired_t_interval(result: Comparison) -> None:
    from scipy import stats

    frame = result.results
    mine = frame[frame.policy == "dump"].set_index("seed")["revenue"]
    base = frame[frame.policy == "rotation"].set_index("seed")["revenue"]
    diffs = (mine - base).to_numpy()
    half = stats.t.ppf(0.975, len(diffs) - 1) * diffs.std(ddof=1) / np.sqrt(len(diffs))
    table = result.table()
    assert table.loc["dump", "revenue_diff"] == pytest.approx(diffs.mean())
    assert table.loc["dump", "revenue_diff_lo"] == pytest.approx(diffs.mean() - half)
    assert table.loc["dump", "revenue_diff_hi"] == pytest.approx(diffs.mean() + half)
    assert list(frame.columns) == ["policy", "seed", *METRICS]
    assert len(frame) == 3 * 4


def test_per_rep_tables_count_every_lead(result: Comparison, history: History) -> None:
    rotation = result.per_rep["rotation"]
    assert list(rotation.columns) == list(PER_REP_COLUMNS)
    assert set(rotation.index) == {rep.id for rep in history.roster}
    assert rotation["received"].sum() == pytest.approx(len(history.leads))


def test_seeds_can_be_given_and_processes_give_the_same_table(history: History) -> None:
    policies = {"rotation": lr.EqualRotation(), "weighted": lr.PerformanceWeighted()}
    serial = compare(history, policies, seeds=[11, 12])
    parallel = compare(history, policies, seeds=[11, 12], processes=2)
    assert serial.seeds == (11, 12)
    pd.testing.assert_frame_equal(serial.table(), parallel.table())


def test_gini_of_equal_and_of_all_on_one() -> None:
    assert _gini(np.array([5, 5, 5])) == 0.0
    assert _gini(np.array([0, 0, 0, 12])) == pytest.approx(0.75)


def test_bad_arguments_are_named_errors(history: History) -> None:
    with pytest.raises(ConfigError, match="baseline"):
        compare(history, {"a": lr.EqualRotation()}, seeds=1, baseline="b")
    with pytest.raises(ConfigError, match="at least one policy"):
        compare(history, {}, seeds=1)
    with pytest.raises(ConfigError, match="seed"):
        compare(history, {"a": lr.EqualRotation()}, seeds=0)
    loaded = History.from_frame(history.to_frame())
    with pytest.raises(BehaviourNeededError):
        simulate(loaded, lr.EqualRotation())


def test_a_loaded_history_is_compared_under_the_model_fitted_from_it(history: History) -> None:
    loaded = History.from_frame(history.to_frame())
    policies = {"a": lr.EqualRotation(), "b": dump}
    implicit = compare(loaded, policies, seeds=2, calibrate=False).table()
    explicit = compare(
        loaded, policies, seeds=2, calibrate=False, behaviour=fit_behaviour(loaded)
    ).table()
    pd.testing.assert_frame_equal(implicit, explicit)


@given(st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=30), st.randoms())
def test_gini_is_between_zero_and_one_and_ignores_order(loads: list[int], rnd: Any) -> None:
    shuffled = loads[:]
    rnd.shuffle(shuffled)
    value = _gini(np.array(loads))
    assert 0.0 <= value < 1.0
    assert _gini(np.array(shuffled)) == pytest.approx(value)


def only_to(rep_id: str) -> Any:
    def factory(reps: list[lr.Rep], seed: int) -> lr.Router:
        return lr.Router(lambda ctx: rep_id, reps, seed=seed)

    return factory


def test_extrapolated_share_counts_pairs_the_history_never_saw(history: History) -> None:
    frame = history.to_frame()
    segments = sorted(frame["segment"].unique())
    rep = history.roster[0].id
    # the history: the first rep only ever got the first segment
    keep = ~((frame["rep_id"] == rep) & (frame["segment"] != segments[0]))
    frame.loc[~keep, "rep_id"] = history.roster[1].id
    narrow = History(frame, tz=history.tz, roster=history.roster, truth=history.truth)
    result = compare(
        narrow,
        {"rotation": lr.EqualRotation(), "all to one": only_to(rep)},
        seeds=2,
        calibrate=False,
    )
    table = result.table()
    expected = float((frame["segment"] != segments[0]).mean())
    assert table.loc["all to one", "extrapolated_share"] == pytest.approx(expected)
    assert 0 < table.loc["rotation", "extrapolated_share"] < expected


def test_conversion_mechanical_separates_speed_from_rep_skill(history: History) -> None:
    assert history.truth is not None
    from leadrouter.sim import GivenBehaviour

    truth = GivenBehaviour.from_truth(history.truth)
    best = max(truth.conversion, key=lambda rep: sum(truth.conversion[rep].values()))
    result = compare(
        history,
        {"rotation": lr.EqualRotation(), "dump": dump},
        seeds=3,
        behaviour=truth,
        calibrate=False,
    )
    table = result.table()
    # dumping everything on one rep wastes leads: a mechanical loss of expected conversion
    assert table.loc["dump", "conversion_mechanical_diff_hi"] < 0
    for name in ("rotation", "dump"):
        assert 0 < table.loc[name, "conversion_mechanical"] < 1
    # with every rep closing at the team's rate the mechanical figure is the expected rate
    team = attrs.evolve(truth, conversion={})
    neutral = compare(
        history, {"rotation": lr.EqualRotation()}, seeds=4, behaviour=team, calibrate=False
    ).table()
    assert neutral.loc["rotation", "conversion_mechanical"] == pytest.approx(
        neutral.loc["rotation", "conversion_rate"], abs=0.02
    )
    assert best in truth.conversion


def test_assumption_driven_labels_follow_the_models_gaps(history: History) -> None:
    from leadrouter.sim import fit_behaviour

    frame = history.to_frame()
    frame["first_touch_at"] = pd.NaT
    frame["reached"] = None
    blind = History(frame, tz=history.tz, roster=history.roster)
    model = fit_behaviour(blind)
    assert {"delay", "contact"} <= set(model.assumptions)
    grab = lr.GrabWithCaps(held=5)
    result = compare(
        blind,
        {"rotation": lr.EqualRotation(), "grab": grab},
        seeds=2,
        behaviour=model,
        calibrate=False,
    )
    rotation, grabbing = result.assumption_driven["rotation"], result.assumption_driven["grab"]
    assert (
        "speed_to_lead_median" in rotation
        and "first-touch times" in rotation["speed_to_lead_median"]
    )
    assert "gini" not in rotation
    assert "gini" in grabbing and "claim" in grabbing["gini"]
    assert any("grab: assumption-driven" in line for line in result.caveats())


def test_progress_reports_every_run(history: History) -> None:
    seen: list[tuple[int, int]] = []
    compare(
        history,
        {"a": lr.EqualRotation(), "b": lr.EqualRotation()},
        seeds=2,
        calibrate=False,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]


def test_sensitivity_moves_the_assumptions_and_ranks_policies(history: History) -> None:
    from leadrouter.sim import GivenBehaviour
    from leadrouter.sim.compare import SCENARIOS, SENSITIVITY_COLUMNS, sensitivity

    assert history.truth is not None
    truth = GivenBehaviour.from_truth(history.truth)
    frame = sensitivity(history, {"rotation": lr.EqualRotation(), "dump": dump}, truth, seeds=2)
    assert list(frame.columns) == list(SENSITIVITY_COLUMNS)
    assert list(frame["scenario"].unique()) == list(SCENARIOS)
    for _, rows in frame.groupby("scenario"):
        ranks = rows.set_index("policy")["rank"]
        assert ranks["rotation"] == 1 and ranks["dump"] == 2
        assert rows.set_index("policy").loc["rotation", "diff"] == 0.0
    values = frame.set_index(["scenario", "policy"])["value"]
    # a steeper decay loses contacts, so fewer sales; a gentler one gains them
    assert values[("contact decays 2x as fast", "rotation")] < values[("as modelled", "rotation")]
    assert values[("contact decays half as fast", "rotation")] > values[("as modelled", "rotation")]
    speed = sensitivity(
        history,
        {"rotation": lr.EqualRotation(), "dump": dump},
        truth,
        seeds=2,
        metric="speed_to_lead_median",
    )
    assert (speed[speed["policy"] == "rotation"]["rank"] == 1).all()
    with pytest.raises(ConfigError, match="unknown metric"):
        sensitivity(history, {"a": lr.EqualRotation()}, truth, metric="happiness")
    with pytest.raises(ConfigError, match="varied"):
        sensitivity(history, {"a": lr.EqualRotation()}, object(), seeds=1)  # type: ignore[arg-type]


def test_engine_options_reach_every_run(history: History) -> None:
    policies = {"grab": lr.GrabWithCaps(held=50)}
    eager = compare(history, policies, seeds=2, calibrate=False, engine={"claim_backlog": 5})
    idle = compare(history, policies, seeds=2, calibrate=False)
    assert (
        eager.table().loc["grab", "speed_to_lead_median"]
        != idle.table().loc["grab", "speed_to_lead_median"]
    )
    with pytest.raises(TypeError):
        compare(history, policies, seeds=1, calibrate=False, engine={"no_such_option": 1})


def test_expected_sales_are_unbiased_and_quieter_than_counted_sales() -> None:
    """`compare` counts a run's sales as their expectation given its path (metrics
    `_expected_sales`): over many seeds the mean must match the counted sales within Monte Carlo
    error, and the spread across seeds must be smaller (the coin flips of each touch are gone)."""
    from leadrouter.sim.metrics import first_touches, run_metrics

    history = synthetic(400, 5, 12, seed=3)
    truth = history.truth.behaviour()
    policy = lr.EqualRotation()
    counted, expected = [], []
    for seed in range(40):
        run = simulate(history, policy, truth, seed=seed)
        first = first_touches(run)
        plain = run_metrics(run, timedelta(hours=1), truth, None, first)
        smooth = run_metrics(run, timedelta(hours=1), truth, None, first, expected=True)
        counted.append((plain["conversion_rate"], plain["revenue"]))
        expected.append((smooth["conversion_rate"], smooth["revenue"]))
    c, e = np.array(counted), np.array(expected)
    se = c.std(axis=0, ddof=1) / math.sqrt(len(c))
    assert np.all(np.abs(c.mean(axis=0) - e.mean(axis=0)) < 4 * se)
    assert np.all(e.std(axis=0) < 0.7 * c.std(axis=0))


def test_without_lead_costs_cost_per_sale_is_unknown_not_free() -> None:
    """An export without a cost column gives every lead cost 0: its cost per sale is NaN, as
    its ROI is, not 0 (which reads as sales that cost nothing)."""
    history = synthetic(200, 3, 5, seed=4)
    free = History.from_frame(history.to_frame().assign(cost=float("nan")), tz=history.tz)
    table = compare(free, {"rot": lr.EqualRotation()}, seeds=2, calibrate=False).table()
    assert math.isnan(table.loc["rot", "cost_per_sale"])
    assert math.isnan(table.loc["rot", "roi"])
    priced = compare(history, {"rot": lr.EqualRotation()}, seeds=2, calibrate=False).table()
    assert priced.loc["rot", "cost_per_sale"] > 0


def test_a_notebook_cell_writes_a_mean_and_its_interval_in_one_scale() -> None:
    """Comparison._repr_html_ used to write "-7,981 (-73.6k to +57.6k)": each row now has one
    scale for its levels and one for its differences, as the report's tables do."""
    history = synthetic(600, 5, 10, seed=2)
    result = compare(history, {"rot": lr.EqualRotation(), "pw": lr.PerformanceWeighted()}, seeds=4)
    html = result._repr_html_()
    row = re.search(r"<td[^>]*>revenue</td>(.*?)</tr>", html)
    assert row is not None
    for cell in re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1)):
        numbers = re.findall(r"[-+]?[\d,.]+[kM]?", cell.split(":")[0])
        assert len({n[-1] in "kM" for n in numbers}) == 1, cell


def test_one_seed_gives_blank_intervals_and_says_so(history: History) -> None:
    """One replicate has no spread: the intervals are NaN, and the caveats say why, where a
    reader of the table would otherwise meet blank columns without a word."""
    one = compare(history, {"rotation": lr.EqualRotation(), "dump": dump}, seeds=1)
    table = one.table()
    assert not math.isnan(table.loc["dump", "conversion_rate"])
    assert math.isnan(table.loc["dump", "conversion_rate_lo"])
    assert any("One seed gives estimates but no intervals" in line for line in one.caveats())
    two = compare(history, {"rotation": lr.EqualRotation(), "dump": dump}, seeds=2)
    assert not any("One seed" in line for line in two.caveats())


def test_an_interrupt_cancels_the_seeds_not_yet_started() -> None:
    """Ctrl-C during a comparison with worker processes: the seeds still queued are cancelled,
    so the command ends when the running ones stop, not after every queued seed has run."""
    from concurrent.futures import Future

    from leadrouter.sim.compare import _collect

    interrupted: Future[Any] = Future()
    interrupted.set_exception(KeyboardInterrupt())
    queued: Future[Any] = Future()
    with pytest.raises(KeyboardInterrupt):
        _collect({interrupted: 0, queued: 1}, [0, 1], 2, lambda: None)
    assert queued.cancelled()


def test_a_fitted_model_says_its_known_bias_beside_skill_policies_only(
    history: History,
) -> None:
    """Measured against known truth, the fit under-states routing by skill where reps differ a
    lot: the caveats say so beside those policies, and say nothing beside a tiered policy (its
    winner's curse is gone since reps are shrunk by the history's spread) or when the model is
    the truth itself."""
    tiers = lr.TieredDelay(
        [
            lr.Tier(tier=0, strategy=lr.EqualRotation(), patience=timedelta(hours=2)),
            lr.Tier(tier=1, strategy=lr.EqualRotation(), patience=timedelta(hours=2)),
        ]
    )
    policies = {"rot": lr.EqualRotation(), "pw": lr.PerformanceWeighted(), "tiers": tiers}
    loaded = History.from_frame(history.to_frame(), tz=history.tz)
    fitted = compare(loaded, policies, seeds=2, calibrate=False)
    assert set(fitted.biases) == {"pw"}
    said = "\n".join(fitted.caveats())
    assert "tiers:" not in said
    assert "pw: the fitted model shrinks reps' differences in closing" in said
    assert compare(history, policies, seeds=2, calibrate=False).biases == {}
