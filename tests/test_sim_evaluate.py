"""Off-policy evaluation: the propensity field, synthetic logging, the estimators and the
command, measured against the exact truth of histories generated with `logging=`."""

from __future__ import annotations

import math

import attrs
import numpy as np
import pandas as pd
import pytest

import leadrouter as lr
from leadrouter.cli import main
from leadrouter.errors import MissingPropensityError
from leadrouter.events import Assigned
from leadrouter.sim import History, evaluate, load_export, synthetic

EXPLORE = 0.2


def logged(seed: int, n: int = 900, reps: int = 6, share: float = EXPLORE) -> History:
    return synthetic(n, reps, 21, seed=seed, logging=lr.Explore(lr.EqualRotation(), share=share))


@pytest.fixture(scope="module")
def history() -> History:
    return logged(3)


# ---------------------------------------------------------------- the propensity field


def test_propensity_round_trips_exactly_through_an_export(history: History, tmp_path) -> None:
    path = history.to_csv(tmp_path / "explored.csv")
    again = load_export(path)
    before = history.to_frame()["propensity"].to_numpy()
    after = again.to_frame()["propensity"].to_numpy()
    assert np.isfinite(before).all()
    assert np.array_equal(before, after)
    chances = [e.propensity for e in again.events if isinstance(e, Assigned)]
    assert sorted(chances) == sorted(before.tolist())


def test_an_export_without_propensities_writes_no_column(tmp_path) -> None:
    path = synthetic(200, 4, 7, seed=1).to_csv(tmp_path / "plain.csv")
    assert "propensity" not in path.read_text().splitlines()[0].split(",")


def test_a_propensity_that_is_not_a_probability_is_flagged_and_left_blank(tmp_path) -> None:
    frame = synthetic(60, 3, 5, seed=2).to_frame()
    frame["propensity"] = 0.5
    frame.loc[3, "propensity"] = 7.0
    frame.loc[5, "propensity"] = 0.0
    history = History.from_frame(frame)
    values = history.to_frame()["propensity"]
    assert values.isna().sum() == 2 and values.iloc[3] != values.iloc[3]
    flagged = history.flagged
    assert sorted(flagged["row"].tolist()) == [5, 7]
    assert flagged["column"].eq("propensity").all()
    assert flagged["reason"].str.contains("not a probability").all()


def test_a_propensity_written_as_a_percent_is_read_as_one(tmp_path) -> None:
    """As a spreadsheet formats a chance: "80%" is 0.8 and "0.67%" is 0.0067 (it had been
    read as 0.67, a hundred times too likely, without a word), each flagged."""
    history = synthetic(60, 3, 5, seed=2)
    path = history.to_csv(tmp_path / "logged.csv")
    frame = pd.read_csv(path, dtype=str)
    assigned = frame.index[frame["rep_id"].notna()]
    frame["propensity"] = None
    frame.loc[assigned[0], "propensity"] = "80%"
    frame.loc[assigned[1], "propensity"] = "0.67%"
    frame.loc[assigned[2], "propensity"] = "0.25"
    frame.to_csv(path, index=False)
    loaded = load_export(path).to_frame()["propensity"]
    values = loaded.loc[loaded.notna()].tolist()
    assert values == pytest.approx([0.8, 0.0067, 0.25])
    flags = load_export(path).flagged
    assert flags["reason"].str.contains("is a percent").sum() == 2


def test_a_history_frame_rejects_a_propensity_outside_zero_one() -> None:
    frame = synthetic(20, 2, 3, seed=2).to_frame()
    frame["propensity"] = 1.5
    with pytest.raises(lr.InvalidValueError, match="propensity of lead 'L00001'"):
        History(frame, tz="Asia/Shanghai")


# ---------------------------------------------------------------- synthetic(logging=)


def test_logging_keeps_the_leads_and_the_random_numbers_of_the_seed(history: History) -> None:
    plain = synthetic(900, 6, 21, seed=3).to_frame()
    explored = history.to_frame()
    same = ["lead_id", "arrived_at", "source", "segment", "score", "cost", "assigned_at"]
    pd.testing.assert_frame_equal(plain[same], explored[same])
    rotated = synthetic(900, 6, 21, seed=3, logging=lr.EqualRotation()).to_frame()
    counts = rotated["rep_id"].value_counts()
    assert counts.max() - counts.min() <= 1 and rotated["propensity"].isna().all()


def test_explore_propensities_are_its_two_chances(history: History) -> None:
    chances = history.to_frame()["propensity"]
    base, other = 1 - EXPLORE + EXPLORE / 6, EXPLORE / 6
    assert set(np.round(chances, 9)) == {round(base, 9), round(other, 9)}
    explored = float((np.isclose(chances, other)).mean())
    assert abs(explored - EXPLORE * 5 / 6) < 0.05


def test_the_truth_of_the_logged_reps_matches_the_logged_sales() -> None:
    rows = []
    for seed in range(4):
        h = logged(seed, n=1500, reps=8)
        chances = h.truth.if_assigned.to_numpy()
        frame = h.to_frame()
        column = {rep: k for k, rep in enumerate(h.truth.if_assigned.columns)}
        picked = chances[np.arange(len(frame)), [column[r] for r in frame["rep_id"]]]
        rows.append((picked.sum(), frame["converted"].sum()))
    expected, observed = map(sum, zip(*rows, strict=True))
    assert abs(observed - expected) < 3 * math.sqrt(expected)


# ---------------------------------------------------------------- evaluate


def test_a_history_without_propensities_is_a_named_error() -> None:
    with pytest.raises(MissingPropensityError, match="Explore"):
        evaluate(synthetic(200, 4, 7, seed=1), {"rotation": lr.EqualRotation()})


def test_policies_decide_on_the_ledger_as_it_stood(history: History) -> None:
    result = evaluate(history, {"rotation": lr.EqualRotation()}, seed=3)
    chances = history.to_frame()["propensity"].to_numpy()
    base = chances > 0.5
    choice = result.choices["rotation"].to_numpy()
    rep = history.to_frame()["rep_id"].to_numpy()
    assert (choice[base] == rep[base]).all()
    assert (choice[~base] != rep[~base]).all()


def test_the_logging_base_is_estimated_near_what_the_log_shows(history: History) -> None:
    result = evaluate(history, {"rotation": lr.EqualRotation()}, seed=3)
    row = result.table().loc["rotation"]
    own = result.logged_outcome()
    for suffix in ("", "_ips", "_snips"):
        assert row[f"conversion_rate{suffix}_lo"] <= own["conversion_rate"]
        assert own["conversion_rate"] <= row[f"conversion_rate{suffix}_hi"]
    assert row["no_support"] == 0 and row["note"] == ""
    assert row["matched"] == pytest.approx((history.to_frame()["propensity"] > 0.5).mean())


def test_the_table_names_every_estimator_and_the_support(history: History) -> None:
    table = evaluate(history, {"perf": lr.PerformanceWeighted()}).table()
    assert table.index.tolist() == ["perf"] and table.index.name == "policy"
    for metric in ("conversion_rate", "revenue"):
        for suffix in ("", "_ips", "_snips"):
            lo, mid, hi = (table[f"{metric}{suffix}{end}"].iat[0] for end in ("_lo", "", "_hi"))
            assert 0 <= lo <= max(mid, 0) <= hi
    assert {"matched", "ess", "no_support", "note"} <= set(table.columns)
    assert 0 < table["ess"].iat[0] < len(history)


def test_leads_without_a_randomised_assignment_have_no_support_elsewhere() -> None:
    frame = logged(4, n=400, reps=4).to_frame()
    frame.loc[:99, "propensity"] = np.nan
    history = History(frame, tz="Asia/Shanghai")
    result = evaluate(history, {"perf": lr.PerformanceWeighted()})
    choice = result.choices["perf"].to_numpy()
    unsupported = float((choice[:100] != frame["rep_id"].to_numpy()[:100]).mean()) / 4
    row = result.table().loc["perf"]
    assert row["no_support"] == pytest.approx(unsupported)
    assert "logged chance" in row["note"]


def test_estimators_are_unbiased_against_the_exact_truth() -> None:
    """Over several logged histories the inverse propensity estimate's mean error is within
    chance of zero, and the intervals cover the truth (a loose bound for the suite; the
    benchmark measures the rate)."""
    errors, covered, total = [], 0, 0
    policies = {"perf": lr.PerformanceWeighted(), "util": lr.UtilizationWeighted()}
    for seed in range(6):
        h = logged(seed, n=1200, reps=6, share=0.3)
        result = evaluate(h, policies)
        table, truth = result.table(), result.truth()
        for name in policies:
            true = truth.loc[name, "conversion_rate"]
            half = (
                table.loc[name, "conversion_rate_hi"] - table.loc[name, "conversion_rate_lo"]
            ) / 2
            errors.append((table.loc[name, "conversion_rate_ips"] - true) / half)
            for suffix in ("", "_ips", "_snips"):
                total += 1
                lo = table.loc[name, f"conversion_rate{suffix}_lo"]
                hi = table.loc[name, f"conversion_rate{suffix}_hi"]
                covered += lo <= true <= hi
    assert abs(float(np.mean(errors))) < 0.5
    assert covered / total >= 0.8


def test_interval_widths_do_not_move_with_which_leads_bought(history: History) -> None:
    """The variance comes from the recalibrated model, not from the outcomes: moving the sales
    to other leads (same totals) leaves the doubly robust and inverse propensity half-widths as
    they were, while the outcomes' own variance would change with them. (The self-normalised
    one is centred on its own ratio, so it moves with the estimate.)"""
    result = evaluate(history, {"perf": lr.PerformanceWeighted()})
    rng = np.random.default_rng(0)
    order = rng.permutation(len(result.sale))
    moved = attrs.evolve(result, sale=result.sale[order], amount=result.amount[order])
    assert np.allclose(moved.calibration, result.calibration)
    before, after = result.table().loc["perf"], moved.table().loc["perf"]
    assert not np.isclose(before["conversion_rate"], after["conversion_rate"])
    for name in ("conversion_rate", "conversion_rate_ips", "revenue", "revenue_ips"):
        half = before[f"{name}_hi"] - before[name]
        assert after[f"{name}_hi"] - after[name] == pytest.approx(half)


def test_calibration_scales_the_model_to_the_logged_totals(history: History) -> None:
    result = evaluate(history, {"rotation": lr.EqualRotation()})
    factors = result.calibration
    assert factors[0] == pytest.approx(result.sale.sum() / result.q[:, 0].sum())
    assert factors[1] == pytest.approx(result.amount.sum() / result.q[:, 1].sum())
    assert 0.5 < factors[0] < 2.0


# ---------------------------------------------------------------- the command


def test_evaluate_command_prints_and_writes_the_table(history: History, tmp_path, capsys) -> None:
    path = history.to_csv(tmp_path / "explored.csv")
    out = tmp_path / "estimates.csv"
    code = main(
        ["evaluate", str(path), "--policies", "equal-rotation", "performance-weighted",
         "--csv", str(out)]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "Off-policy estimates from 900 logged leads" in printed
    assert "equal-rotation" in printed and "performance-weighted" in printed
    table = pd.read_csv(out, index_col="policy")
    assert table.index.tolist() == ["equal-rotation", "performance-weighted"]


def test_evaluate_command_without_propensities_says_how_to_get_them(tmp_path, capsys) -> None:
    path = synthetic(200, 4, 7, seed=1).to_csv(tmp_path / "plain.csv")
    assert main(["evaluate", str(path), "--policies", "equal-rotation"]) == 2
    err = capsys.readouterr().err
    assert "no assignment has a propensity" in err and "Explore" in err


# ---------------------------------------------------------------- planning the exploration


def test_leads_needed_follows_the_variance_of_the_weights() -> None:
    from leadrouter.sim.evaluate import leads_needed

    small, large = leads_needed(0.1, 10, 0.3, 0.06, 0.01), leads_needed(0.2, 10, 0.3, 0.06, 0.01)
    assert 1.9 < small / large < 2.1
    assert leads_needed(0.1, 10, 0.3, 0.06, 0.02) == pytest.approx(small / 4, rel=1e-4)
    assert leads_needed(0.1, 10, 0.9, 0.06, 0.01) < leads_needed(0.1, 10, 0.3, 0.06, 0.01)
    # the formula: z^2 * rate * (E[1/p] - 1) / difference^2
    inverse = 0.3 / (1 - 0.1 + 0.01) + 0.7 * 100
    expected = (1.959964 + 0.841621) ** 2 * 0.06 * (inverse - 1) / 0.01**2
    assert small == pytest.approx(expected, rel=1e-5)


def test_leads_needed_rejects_what_cannot_be_planned() -> None:
    from leadrouter.sim.evaluate import leads_needed

    with pytest.raises(lr.InvalidValueError, match="share must be in"):
        leads_needed(0.0, 10, 0.5, 0.06, 0.01)
    for difference in (0.0, math.nan):
        with pytest.raises(lr.InvalidValueError, match="difference a number not 0"):
            leads_needed(0.1, 10, 0.5, 0.06, difference)
    with pytest.raises(lr.InvalidValueError, match="1 with one rep"):
        leads_needed(0.1, 1, 0.5, 0.06, 0.01)


def test_compare_shows_off_policy_estimates_only_when_the_export_has_propensities(
    history: History,
) -> None:
    from leadrouter._cli_evaluate import off_policy_text

    policies = {"rotation": lr.EqualRotation()}
    assert off_policy_text(synthetic(200, 4, 7, seed=1), policies) is None
    text = off_policy_text(history, policies)
    assert text is not None and text.startswith("Off-policy estimates from 900 logged leads")


def test_a_pull_policy_gets_no_estimate_and_says_why(history: History) -> None:
    row = evaluate(history, {"grab": lr.GrabWithCaps()}).table().loc["grab"]
    assert row["no_support"] == 1.0 and math.isnan(row["conversion_rate"])
    assert "hold 900 in a pool" in row["note"]
    assert "no estimate" in str(evaluate(history, {"grab": lr.GrabWithCaps()}))


# ---------------------------------------------------------------- what the log cannot say


def _with(history: History, **columns: object) -> History:
    frame = history.to_frame()
    for name, value in columns.items():
        frame[name] = value
    return History.from_frame(frame, tz=history.tz)


def test_a_propensity_of_one_is_no_chance_for_another_rep(history: History) -> None:
    """Explore writes 1 when one rep alone could take the lead; a CRM writes 1 for an
    assignment it did not randomise: either way no other rep had a chance."""
    frame = history.to_frame()
    certain = frame["propensity"].to_numpy() > 0.5  # the base's picks, now logged as certain
    partly = _with(history, propensity=np.where(certain, 1.0, frame["propensity"]))
    row = evaluate(partly, {"pw": lr.PerformanceWeighted()}).table().loc["pw"]
    choice = evaluate(partly, {"pw": lr.PerformanceWeighted()}).choices["pw"].to_numpy()
    departs = certain & (choice != frame["rep_id"].to_numpy())
    assert departs.any()
    assert row["no_support"] == pytest.approx(departs.mean())
    with pytest.raises(MissingPropensityError, match="every logged propensity is 1"):
        evaluate(_with(history, propensity=1.0), {"rotation": lr.EqualRotation()})


def test_a_randomised_candidate_draws_apart_from_the_log(history: History) -> None:
    """The log was drawn by a router with seed 3: the same Explore evaluated with that seed
    must not replay the logged draws (it would match the log on every explored lead)."""
    explore = lr.Explore(lr.EqualRotation(), share=EXPLORE)
    result = evaluate(history, {"explore": explore}, seed=3)
    randomised = history.to_frame()["propensity"].to_numpy() < 0.5  # the explored leads
    matched = result.choices["explore"].to_numpy() == history.to_frame()["rep_id"].to_numpy()
    # a draw of its own matches an explored lead's rep about as often as chance allows
    assert matched[randomised].mean() < 0.6
    table, truth = result.table(), result.truth()
    low, high = table.loc["explore", ["conversion_rate_lo", "conversion_rate_hi"]]
    assert low <= truth.loc["explore", "conversion_rate"] <= high


def test_an_export_without_amounts_estimates_no_revenue(history: History) -> None:
    result = evaluate(_with(history, amount=np.nan), {"rotation": lr.EqualRotation()})
    row = result.table().loc["rotation"]
    assert math.isnan(row["revenue"]) and math.isnan(row["revenue_ips"])
    assert math.isfinite(row["conversion_rate"])
    assert math.isnan(result.logged_outcome()["revenue"])
    assert "no sale in the export has an amount" in result.text()


def test_no_sale_still_gets_an_interval_wider_than_zero(history: History) -> None:
    """With no sale logged the level is unknown, not zero: every interval keeps a width (the
    rule of three), the logged one too (Wilson's interval)."""
    result = evaluate(
        _with(history, converted=False, amount=np.nan, converted_at=pd.NaT),
        {"rotation": lr.EqualRotation()},
    )
    row, own = result.table().loc["rotation"], result.logged_outcome()
    assert row["conversion_rate_hi"] > row["conversion_rate_lo"] >= 0.0
    assert own["conversion_rate"] == 0.0 and own["conversion_rate_hi"] > 0.002


def test_an_estimate_stays_inside_its_interval_and_the_interval_inside_what_can_be() -> None:
    from leadrouter.sim.estimators import cut

    assert cut(-0.01, 0.05, 1.0) == (0.0, 0.0, 0.04)
    assert np.isnan(cut(-0.3, 0.05, 1.0)).all()  # the whole interval below 0: no estimate
    assert cut(0.5, 0.1, 1.0) == (0.5, 0.4, 0.6)


def test_a_column_in_percent_without_the_sign_is_read_as_percent(history: History) -> None:
    frame = history.to_frame()
    written = (frame["propensity"] * 100).round(6)
    read = _with(history, propensity=written).to_frame()["propensity"]
    assert np.allclose(read, frame["propensity"])
    ones = frame["propensity"].where(frame["propensity"] > 0.5, 0.01) * 100  # "1" is 1%
    assert _with(history, propensity=ones).to_frame()["propensity"].min() == pytest.approx(0.01)


def test_an_unmapped_column_that_may_hold_the_chances_is_pointed_at(history: History) -> None:
    frame = history.to_frame()
    frame["Routing Probability"] = frame.pop("propensity")
    with pytest.raises(MissingPropensityError, match="--columns propensity='Routing Probability'"):
        evaluate(History.from_frame(frame, tz=history.tz), {"rotation": lr.EqualRotation()})


def test_bad_levels_and_truth_without_one_are_named_errors(history: History) -> None:
    for level in (95, 0, 1.0):
        with pytest.raises(lr.InvalidValueError, match="level="):
            evaluate(history, {"rotation": lr.EqualRotation()}, level=level)
    plain = _with(synthetic(300, 4, 10, seed=1), propensity=0.5)
    with pytest.raises(lr.ConfigError, match="synthetic history generated with logging="):
        evaluate(plain, {"rotation": lr.EqualRotation()}).truth()


def test_one_lead_that_makes_most_of_the_revenue_is_named(history: History) -> None:
    frame = history.to_frame()
    rotation = {"rotation": lr.EqualRotation()}
    choice = evaluate(history, rotation).choices["rotation"].to_numpy()
    weighty = np.flatnonzero(  # sold, and rotation chose the logged rep
        frame["converted"].to_numpy(dtype=bool) & (choice == frame["rep_id"].to_numpy())
    )
    big = frame["amount"].to_numpy(dtype=float).copy()
    big[weighty[0]] = 1e9
    note = evaluate(_with(history, amount=big), rotation).table().loc["rotation", "note"]
    assert f"lead {frame['lead_id'].iloc[weighty[0]]} alone makes up" in note


def test_a_policy_choosing_reps_the_log_never_offered_is_named() -> None:
    """The live router sent east leads to east reps only (a rule); a rotation over everyone
    departs from what the log could ever show on every lead it sends across."""
    east = {"rep01", "rep02", "rep03"}

    def by_region(ctx: lr.Context) -> lr.Pick:
        pool = sorted(r for r in ctx.ids if (r in east) == (ctx.lead.region == "east"))
        return lr.Pick(ctx.rng.choice(pool), propensity=1 / len(pool))

    split = synthetic(900, 6, 21, seed=6, logging=by_region)
    own = lambda reps, seed: lr.Router(by_region, reps, seed=seed)  # noqa: E731
    result = evaluate(split, {"rotation": lr.EqualRotation(), "own": own})
    notes = result.table()["note"]
    assert "a rep the logged routing could not have" in notes["rotation"]
    assert "could not have" not in notes["own"]  # the live rules: every choice had a chance


def test_rows_over_different_leads_are_said_to_be(history: History) -> None:
    both = evaluate(history, {"rotation": lr.EqualRotation(), "grab": lr.GrabWithCaps()})
    assert "the rows rest on different leads" in both.text()
    alone = evaluate(history, {"rotation": lr.EqualRotation()})
    assert "the rows rest on different leads" not in alone.text()
