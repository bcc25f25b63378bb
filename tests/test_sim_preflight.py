"""leadrouter.sim.preflight: timers checked against the reps' pick-up before simulating, policies
that leave leads untouched or bounce them flagged after, and the bottom line in plain words."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pandas as pd
import pytest

import leadrouter as lr
from leadrouter.sim import History, compare, fit_behaviour, synthetic
from leadrouter.sim.analysis import BUILTIN_BASELINE, choose_baseline
from leadrouter.sim.compare import CANNOT_TELL, Comparison
from leadrouter.sim.given import GivenBehaviour
from leadrouter.sim.metrics import METRICS
from leadrouter.sim.preflight import PolicyWarning, bottom_line, check_outcomes, check_timers

ROOT = Path(__file__).resolve().parents[1]
REPS = ("ann", "bob", "cat")
MEDIAN_30 = 30.0 / math.log(2.0)
"""An exponential pick-up lag with this mean has a median of 30 minutes."""


def around_the_clock(hours: int = 72) -> History:
    """One lead an hour, day and night, for `hours` hours, logged to ann, bob and cat in turn."""
    start = datetime(2025, 3, 3, tzinfo=UTC)
    frame = pd.DataFrame(
        {
            "lead_id": [f"L{i:03d}" for i in range(hours)],
            "arrived_at": [start + timedelta(hours=i) for i in range(hours)],
            "rep_id": [REPS[i % len(REPS)] for i in range(hours)],
        }
    )
    return History.from_frame(frame)


def with_timers(**lifecycle: Any) -> Any:
    """A policy factory: equal rotation under the given lifecycle."""

    def factory(reps: list[lr.Rep], seed: int) -> lr.Router:
        return lr.Router(lr.EqualRotation(), reps, lifecycle=lr.Lifecycle(**lifecycle), seed=seed)

    return factory


# --------------------------------------------------------------------------- timers


def test_an_sla_shorter_than_the_pickup_is_flagged_with_both_numbers_and_a_sane_one_is_not() -> (
    None
):
    history = around_the_clock()
    model = GivenBehaviour(default_pickup=MEDIAN_30)  # reps work around the clock
    policies = {
        "hasty": with_timers(first_touch_sla=timedelta(minutes=5), reroute=True),
        "sane": with_timers(first_touch_sla=timedelta(hours=4), reroute=True),
        "no timer": lr.EqualRotation(),
    }
    found = check_timers(history, policies, model)
    assert [(w.policy, w.kind) for w in found] == [("hasty", "timer")]
    text = found[0].text
    assert "first_touch_sla = 5m" in text
    assert "median 30 min" in text
    assert "re-routed to another rep, again and again" in text
    # 1 - exp(-5 / mean) of pick-ups make it in time: the rest miss it
    missed = math.exp(-5.0 / MEDIAN_30)
    assert f"About {missed:.0%} of leads would miss it" in text
    assert found[0].settings == ("[lifecycle] first_touch_sla",)
    suggested = re.search(r"raise \[lifecycle\] first_touch_sla to at least (\d+)([mh])", text)
    assert suggested is not None
    minutes = int(suggested.group(1)) * (60 if suggested.group(2) == "h" else 1)
    assert minutes >= -MEDIAN_30 * math.log(0.1)  # covers 90% of pick-ups


def test_an_elapsed_sla_against_a_team_that_sleeps_suggests_working_hours() -> None:
    history = around_the_clock()
    days = [(9, 18)] * 7
    model = GivenBehaviour(default_pickup=5.0, work_hours=days)
    hour = {"first_touch_sla": timedelta(hours=1), "reroute": True}
    office = lr.rules.schedule(default=lr.Shift("UTC"))
    policies = {
        "elapsed": with_timers(**hour),
        "working": with_timers(**hour, working_hours=office),
    }
    found = check_timers(history, policies, model)
    assert [w.policy for w in found] == ["elapsed"]
    text = found[0].text
    assert "nights and days off included" in text
    assert "set [lifecycle] working_hours" in text
    assert found[0].settings == ("[lifecycle] first_touch_sla", "[lifecycle] working_hours")


def test_an_idle_limit_after_a_claim_is_checked_too() -> None:
    model = GivenBehaviour(default_pickup=MEDIAN_30)
    policies = {
        "quick": lr.GrabWithCaps(held=5, idle_after=timedelta(minutes=5)),
        "patient": lr.GrabWithCaps(held=5, idle_after=timedelta(hours=3)),
    }
    found = check_timers(around_the_clock(), policies, model)
    assert [(w.policy, w.settings) for w in found] == [("quick", ("[strategy] idle_after",))]
    assert "go back to the pool" in found[0].text


# --------------------------------------------------------------------------- outcomes


def constructed(
    values: dict[str, dict[str, list[float]]],
    baseline: str = "base",
    not_identified: dict[str, dict[str, str]] | None = None,
) -> Comparison:
    """A Comparison whose per-seed metrics are given: {policy: {metric: [one per seed]}}; every
    metric not given is 0.5 in every seed."""
    seeds = len(next(iter(next(iter(values.values())).values())))
    rows = [
        {
            "policy": name,
            "seed": seed,
            **{metric: given.get(metric, [0.5] * seeds)[seed] for metric in METRICS},
        }
        for name, given in values.items()
        for seed in range(seeds)
    ]
    return Comparison(
        pd.DataFrame(rows, columns=["policy", "seed", *METRICS]),
        baseline,
        tuple(values),
        tuple(range(seeds)),
        {name: pd.DataFrame() for name in values},
        not_identified=not_identified or {},
    )


def test_a_policy_that_leaves_most_leads_untouched_or_bounces_them_is_flagged() -> None:
    history = around_the_clock(hours=100)
    comparison = constructed(
        {
            "base": {"wasted": [0.05, 0.06, 0.07, 0.06], "reassignments": [0, 0, 0, 0]},
            "idle": {"wasted": [0.9, 0.92, 0.94, 0.92], "reassignments": [10, 12, 11, 11]},
            "bouncy": {"wasted": [0.1, 0.1, 0.1, 0.1], "reassignments": [500, 520, 480, 500]},
        }
    )
    policies = {
        "base": lr.EqualRotation(),
        "idle": with_timers(first_touch_sla=timedelta(minutes=5), reroute=True),
        "bouncy": with_timers(first_touch_sla=timedelta(minutes=5), reroute=True),
    }
    timer = PolicyWarning("idle", "timer", "...", ("[lifecycle] first_touch_sla",))
    found = check_outcomes(comparison, history, policies, [timer])
    by_policy = {w.policy: w for w in found}
    assert set(by_policy) == {"idle", "bouncy"}
    assert by_policy["idle"].kind == "untouched"
    assert "92% of leads are never touched" in by_policy["idle"].text
    assert "the baseline base: 6%" in by_policy["idle"].text
    assert "start with [lifecycle] first_touch_sla (the timer warning above)" in (
        by_policy["idle"].text
    )
    assert by_policy["bouncy"].kind == "rerouted"
    assert "re-routed 5.0 times on average (500 reassignments for 100 leads)" in (
        by_policy["bouncy"].text
    )
    assert by_policy["bouncy"].settings[0] == "[lifecycle] first_touch_sla"
    assert check_outcomes(comparison, history, policies, max_wasted=0.95, max_reassignments=6) == []


# --------------------------------------------------------------------------- the bottom line


def test_the_bottom_line_names_the_leader_its_interval_and_what_it_cannot_tell_apart() -> None:
    comparison = constructed(
        {
            "base": {
                "conversion_rate": [0.050, 0.052, 0.048, 0.050],
                "speed_to_lead_median": [60.0, 62.0, 58.0, 60.0],
            },
            "better": {
                "conversion_rate": [0.080, 0.083, 0.077, 0.080],
                "speed_to_lead_median": [60.0, 63.0, 57.0, 60.0],
            },
            "same": {
                "conversion_rate": [0.052, 0.049, 0.051, 0.048],
                "speed_to_lead_median": [40.0, 41.0, 39.0, 40.0],
            },
        }
    )
    table = comparison.table()
    lo, hi = table.loc["better", ["conversion_rate_diff_lo", "conversion_rate_diff_hi"]]
    assert lo > 0 and table.loc["same", "conversion_rate_diff_lo"] < 0
    text = bottom_line(comparison, [PolicyWarning("same", "timer", "...")])
    assert text.startswith("Calibration was not run")
    sales, speed = text.split("On sales, ")[1].split("On speed, ")
    assert sales.startswith(
        "better leads: conversion 8.0% against 5.0% for base (the baseline), a difference of "
        f"+3.0 points (+{100 * lo:.1f} to +{100 * hi:.1f} points)"
    )
    assert "the data cannot tell same apart from base (the difference interval spans 0)" in sales
    assert speed.startswith("same leads (see its warning): median time to first touch 40 min")
    assert "-20 min" in speed
    assert "cannot tell better apart from base" in speed
    assert text.endswith("1 warning below: read it before the numbers.")


def test_the_bottom_line_says_the_export_cannot_tell_policies_apart_on_sales() -> None:
    comparison = constructed(
        {
            "base": {"conversion_rate": [0.05, 0.05, 0.05, 0.05]},
            "other": {"conversion_rate": [0.09, 0.09, 0.09, 0.09]},
        },
        not_identified={"other": {"conversion_rate": "the owner was recorded on sales only"}},
    )
    text = bottom_line(comparison)
    assert f"On sales, {CANNOT_TELL} (the owner was recorded on sales only)." in text
    assert "other leads" not in text.split("On speed")[0]
    assert text.endswith("No warnings.")


def test_a_difference_resting_on_an_assumption_is_shown_but_never_judged() -> None:
    """A grab policy's sales rest on how reps would claim from a pool, which no push history
    shows: however narrow its interval, it neither leads nor lags, and the line says why."""
    comparison = attrs.evolve(
        constructed(
            {
                "base": {"conversion_rate": [0.050, 0.052, 0.048, 0.050]},
                "grab": {"conversion_rate": [0.080, 0.083, 0.077, 0.080]},
                "push": {"conversion_rate": [0.030, 0.031, 0.029, 0.030]},
            }
        ),
        assumption_driven={"grab": {"conversion_rate": "claiming cannot be learned"}},
    )
    sales = bottom_line(comparison).split("On sales, ")[1].split("On speed, ")[0]
    assert "grab leads" not in sales and "the baseline base leads" not in sales
    assert sales.startswith("no policy is shown to beat the baseline base")
    assert "push converts less" in sales
    assert (
        "grab is not judged: the figures rest on an assumption the history cannot check "
        "(claiming cannot be learned)" in sales
    )
    alone = attrs.evolve(comparison, policies=("base", "grab"))
    assert "On sales, no policy can be judged against the baseline base" in bottom_line(alone)


def test_one_seed_gives_no_interval_and_the_bottom_line_says_so_instead_of_a_verdict() -> None:
    comparison = constructed(
        {"base": {"conversion_rate": [0.05]}, "other": {"conversion_rate": [0.09]}}
    )
    text = bottom_line(comparison)
    assert "On sales, no policy is shown to beat the baseline base; other has no interval" in text
    assert "other leads" not in text and "cannot tell" not in text


def test_the_bottom_line_finds_the_policy_that_truly_wins_in_a_simulation() -> None:
    """Every lead to the one rep who closes is the better policy by construction: the others
    close nothing. Equal rotation gives each rep a third."""
    history = around_the_clock(hours=150)
    model = GivenBehaviour(
        default_pickup=5.0,
        default_capacity=500.0,
        contact_at_zero=1.0,
        contact_floor=1.0,
        default_valid=1.0,
        default_conversion=0.0,
        conversion={"ann": {"": 0.5}},
    )

    def ann_only(reps: list[lr.Rep], seed: int) -> lr.Router:
        return lr.Router(lambda ctx: "ann", reps, seed=seed)

    policies, baseline = choose_baseline({"ann only": ann_only})
    assert baseline == BUILTIN_BASELINE and list(policies) == [BUILTIN_BASELINE, "ann only"]
    comparison = compare(
        history, policies, seeds=4, behaviour=model, baseline=baseline, calibrate=False
    )
    table = comparison.table()
    assert table.loc["ann only", "conversion_rate_diff_lo"] > 0
    level = 100 * table.loc["ann only", "conversion_rate"]
    text = bottom_line(comparison)
    assert f"On sales, ann only leads: conversion {level:.1f}%" in text
    assert f"for {BUILTIN_BASELINE} (the baseline)" in text


# --------------------------------------------------------------------------- the baseline


def test_the_baseline_defaults_to_equal_rotation_and_is_added_when_absent() -> None:
    rotation = lr.EqualRotation()
    weighted = lr.PerformanceWeighted()
    policies, chosen = choose_baseline({"weighted": weighted, "mine": rotation})
    assert chosen == "mine" and list(policies) == ["weighted", "mine"]
    policies, chosen = choose_baseline({"weighted": weighted})
    assert chosen == BUILTIN_BASELINE == "equal-rotation (built in)"
    assert list(policies) == [BUILTIN_BASELINE, "weighted"]
    assert policies[BUILTIN_BASELINE] == lr.EqualRotation()
    # a playbook that rotates under caps and timers is not the plain built-in
    playbook = ROOT / "strategies" / "small-team-no-data.toml"
    assert choose_baseline({"small team": playbook})[1] == BUILTIN_BASELINE
    policies, chosen = choose_baseline({"weighted": weighted, "mine": rotation}, "weighted")
    assert chosen == "weighted" and list(policies) == ["weighted", "mine"]


def test_an_unknown_baseline_is_a_named_error_listing_the_names() -> None:
    with pytest.raises(lr.ConfigError, match=r"baseline 'nope' is not one of the policies: a, b"):
        choose_baseline({"a": lr.EqualRotation(), "b": lr.PerformanceWeighted()}, "nope")


def test_a_warning_reads_policy_then_text() -> None:
    assert str(PolicyWarning("p", "timer", "too short.")) == "p: too short."


def test_the_bottom_line_says_rep_skill_routing_has_no_demonstrable_gain_when_reps_look_alike() -> (
    None
):
    from leadrouter.sim.biases import BY_SKILL
    from leadrouter.sim.calibration import Calibration
    from leadrouter.sim.repspread import RepSpread

    def with_spread(p_value: float, by_skill: bool = True) -> str:
        comparison = constructed(
            {"base": {"conversion_rate": [0.05] * 4}, "other": {"conversion_rate": [0.05] * 4}}
        )
        spread = RepSpread(30, 6000, 400, 0.05, 0.0, 0.2, p_value)
        verdict = Calibration("pass", (), pd.DataFrame(), rep_spread=spread)
        skill = {"other": BY_SKILL} if by_skill else {}
        return bottom_line(attrs.evolve(comparison, calibration=verdict, biases=skill))

    alike = with_spread(0.26)
    assert "cannot tell reps apart in closing (p = 0.26)" in alike
    assert "so other, routing by who closes better, has no demonstrable gain on this data" in alike
    assert "no demonstrable gain" not in with_spread(0.001)
    assert "no demonstrable gain" not in with_spread(0.26, by_skill=False)  # none compared


def test_an_export_without_a_sale_says_its_sales_figures_are_assumed() -> None:
    """With no sale at all, conversion comes from the prior: the fit names the gap (with the
    rule-of-three bound), conversion figures are marked as resting on an assumption, and the
    bottom line does not say "Calibration passed" as if sales had been checked."""
    history = synthetic(300, 4, 10, seed=2)
    frame = history.to_frame().assign(converted=False, converted_at=pd.NaT, amount=float("nan"))
    unsold = History.from_frame(frame, tz=history.tz)
    model = fit_behaviour(unsold)
    assert any("no sale among the 300 assigned leads" in gap for gap in model.gaps)
    result = compare(unsold, {"rot": lr.EqualRotation(), "pw": lr.PerformanceWeighted()}, seeds=4)
    assert result.assumption_driven["pw"]["conversion_rate"] == "the export records no sale"
    said = bottom_line(result)
    assert said.startswith("Calibration passed on what it could check, but not on sales (")
    assert "Calibration passed: replaying" not in said
    assert "On sales, no policy can be judged against the baseline rot" in said
    from leadrouter.sim.report.sections import PASS_WITHOUT_SALES, verdict_head

    assert result.calibration is not None
    assert verdict_head(result.calibration) == ("warn", PASS_WITHOUT_SALES)  # amber, not green


def test_a_pass_on_few_sales_or_without_amounts_says_what_it_could_not_catch() -> None:
    history = synthetic(300, 4, 10, seed=2)
    frame = history.to_frame()
    sold = int(frame["converted"].sum())
    assert sold < 30
    result = compare(history, {"rot": lr.EqualRotation(), "pw": lr.PerformanceWeighted()}, seeds=4)
    assert result.calibration is not None and result.calibration.verdict == "pass"
    said = bottom_line(result)
    assert said.startswith(f"Calibration passed, but it rests on {sold} sales, too few to catch")
    priceless = History.from_frame(frame.assign(amount=float("nan")), tz=history.tz)
    result = compare(priceless, {"rot": lr.EqualRotation()}, seeds=4)
    assert "revenue could not be checked (the history has no sale amounts" in bottom_line(result)


def test_the_bottom_line_says_how_many_rows_of_the_export_no_figure_includes(
    tmp_path: Path,
) -> None:
    """Rejected rows can be exactly the leads a figure is about (the untouched ones, when the
    first-touch column wrote a word for "not yet"); the bottom line said "No warnings"."""
    from leadrouter.sim import load_export

    path = tmp_path / "leads.csv"
    rows = [f"L{i},2026-03-02 {9 + i}:00,ana" for i in range(4)] + ["L9,someday,ana"]
    path.write_text("lead_id,created_at,owner\n" + "\n".join(rows) + "\n", encoding="utf-8")
    history = load_export(path, tz="UTC")
    comparison = constructed({"base": {"conversion_rate": [0.05, 0.05, 0.05, 0.05]}})
    text = bottom_line(comparison, (), history)
    assert "1 of the export's 5 rows (20.0%) were rejected and are in no figure" in text
    assert text.endswith("No warnings.")
    path.write_text("lead_id,created_at,owner\n" + "\n".join(rows[:4]) + "\n", encoding="utf-8")
    assert "rejected" not in bottom_line(comparison, (), load_export(path, tz="UTC"))
