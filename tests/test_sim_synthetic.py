"""synthetic(): deterministic for a seed, and its realised rates fall in the ranges it documents."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

import leadrouter as lr
from leadrouter.errors import ConfigError
from leadrouter.sim import ContactDecay, History, Source, synthetic
from leadrouter.sim.synthetic import SOURCES, WORK_HOURS

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def teams() -> list[History]:
    return [synthetic(seed=seed) for seed in SEEDS]


def test_same_seed_same_history_other_seed_another() -> None:
    a, b = synthetic(n_leads=400, seed=5), synthetic(n_leads=400, seed=5)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert a.truth == b.truth
    pd.testing.assert_frame_equal(a.truth.per_lead, b.truth.per_lead)  # type: ignore[union-attr]
    assert a.events == b.events
    other = synthetic(n_leads=400, seed=6).to_frame()
    assert not a.to_frame()["arrived_at"].equals(other["arrived_at"])


def test_defaults_give_the_documented_shape(teams: list[History]) -> None:
    history = teams[0]
    frame = history.to_frame()
    assert len(frame) == 5000
    assert len(history.roster) == 12 == frame["rep_id"].nunique()
    assert history.tz == "Asia/Shanghai"
    local = frame["arrived_at"].dt.tz_convert("Asia/Shanghai")
    assert local.min().date() >= date(2025, 3, 3)
    assert local.max().date() < date(2025, 3, 3) + timedelta(days=60)
    assert history.rejected.empty and history.flagged.empty
    assert history.truth is not None and history.truth.seed == 0


def test_scores_are_on_the_0_to_1_scale_with_grades_as_their_bands(teams: list[History]) -> None:
    """One score scale: synthetic writes what `Lead.score` and `nurture(below=...)` read."""
    frame = teams[0].to_frame()
    score = frame["score"]
    assert score.between(0, 1).all() and score.max() > 0.9 and score.min() < 0.1
    assert np.array_equal(score, np.round(score * 100) / 100)  # two decimals
    bands = pd.cut(score, [0, 0.25, 0.5, 0.75, 1.0001], right=False, labels=["D", "C", "B", "A"])
    assert (frame["grade"] == bands.astype(str)).all()
    assert [lead.score for lead in teams[0].leads[:50]] == score.iloc[:50].tolist()
    assert 0.05 < (score < 0.15).mean() < 0.25  # nurture(below=0.15) keeps some leads back


@pytest.mark.parametrize("index", range(len(SEEDS)))
def test_realised_rates_fall_in_the_documented_ranges(teams: list[History], index: int) -> None:
    frame = teams[index].to_frame()
    contact = frame["reached"].mean()
    close = frame["converted"].mean()
    assert 0.20 <= contact <= 0.55, contact
    assert 0.02 <= close <= 0.15, close
    assert frame["cost"].between(30, 400).all()


@pytest.mark.parametrize("index", range(len(SEEDS)))
def test_valid_rates_by_source_match_the_sources(teams: list[History], index: int) -> None:
    """Each source's realised valid rate (among tagged leads) is within four standard errors of
    its documented rate, and the documented rates span 20-60%."""
    frame = teams[index].to_frame()
    tagged = frame[frame["valid"].notna()]
    for source in SOURCES:
        assert 0.20 <= source.valid_rate <= 0.60
        verdicts = tagged.loc[tagged["source"] == source.name, "valid"].astype(bool)
        se = np.sqrt(source.valid_rate * (1 - source.valid_rate) / len(verdicts))
        assert abs(verdicts.mean() - source.valid_rate) < 4 * se + 0.01, source.name


def test_sources_cost_differently(teams: list[History]) -> None:
    cost = teams[0].to_frame().groupby("source")["cost"].mean()
    assert cost["expo"] > cost["search"] > cost["feed"] > cost["website"]
    assert cost.max() / cost.min() > 5


def test_arrivals_peak_in_business_hours_and_dip_at_weekends(teams: list[History]) -> None:
    local = teams[0].to_frame()["arrived_at"].dt.tz_convert("Asia/Shanghai")
    hours = local.dt.hour
    assert hours.between(9, 17).mean() > 0.6
    assert (hours < 6).mean() < 0.05
    per_day = local.dt.date.value_counts()
    weekday = [count for day, count in per_day.items() if day.weekday() < 5]
    weekend = [count for day, count in per_day.items() if day.weekday() >= 5]
    assert np.mean(weekend) < 0.7 * np.mean(weekday)


def test_contact_falls_with_first_touch_delay(teams: list[History]) -> None:
    truth = teams[0].truth
    assert truth is not None
    lead = truth.per_lead
    touched = lead[lead["touched"]]
    frame = teams[0].to_frame().set_index("lead_id")
    reached = frame.loc[touched["lead_id"], "reached"].astype(bool).to_numpy()
    fast = (touched["delay_minutes"] < 30).to_numpy()
    slow = (touched["delay_minutes"] > 8 * 60).to_numpy()
    assert reached[fast].mean() > reached[slow].mean() + 0.15


def test_first_touches_come_after_assignment_in_working_hours(teams: list[History]) -> None:
    frame = teams[0].to_frame()
    touched = frame[frame["first_touch_at"].notna()]
    assert (touched["first_touch_at"] >= touched["assigned_at"]).all()
    assert (touched["assigned_at"] >= touched["arrived_at"]).all()
    local = touched["first_touch_at"].dt.tz_convert("Asia/Shanghai")
    for at in local:
        window = WORK_HOURS[at.weekday()]
        assert window is not None, at
        minute = at.hour * 60 + at.minute + at.second / 60
        assert window[0] * 60 <= minute <= window[1] * 60, at


def test_reps_differ_in_capacity_and_skill(teams: list[History]) -> None:
    truth = teams[0].truth
    assert truth is not None
    capacity = [rep.capacity for rep in truth.reps]
    assert max(capacity) / min(capacity) > 1.3
    effects = [rep.effect + rep.segment_effects["retail"] for rep in truth.reps]
    assert max(effects) - min(effects) > 0.5
    p = truth.close_probability(truth.reps[0].id, "retail", "basic")
    assert 0 < p < 1
    frame = teams[0].to_frame()
    delays = (frame["first_touch_at"] - frame["assigned_at"]).dt.total_seconds()
    by_rep = delays.groupby(frame["rep_id"]).median()
    assert by_rep.max() > 1.5 * by_rep.min()


def test_logged_assignment_is_equal_rotation(teams: list[History]) -> None:
    counts = teams[0].to_frame()["rep_id"].value_counts()
    assert counts.max() - counts.min() <= 1
    assigned = [e for e in teams[0].events if isinstance(e, lr.Assigned)]
    assert {e.by for e in assigned} == {"history"}


def test_events_replay_in_a_ledger(teams: list[History]) -> None:
    ledger = lr.Ledger.from_events(teams[1].events)
    frame = teams[1].to_frame()
    assert (
        sum(ledger.stats(rep.id).converted for rep in teams[1].roster) == frame["converted"].sum()
    )


def test_contact_decay_is_the_documented_curve() -> None:
    decay = ContactDecay(at_zero=0.6, floor=0.2, half_life=timedelta(minutes=30))
    assert decay(timedelta(0)) == pytest.approx(0.6)
    assert decay(timedelta(minutes=30)) == pytest.approx(0.4)
    assert decay(timedelta(days=3)) == pytest.approx(0.2)
    with pytest.raises(ConfigError):
        ContactDecay(at_zero=0.2, floor=0.5)


def test_parameters_change_what_is_generated() -> None:
    one_source = (Source("expo", share=1.0, cost=300.0, valid_rate=0.5),)
    frame = synthetic(n_leads=300, n_reps=3, days=7, sources=one_source).to_frame()
    assert set(frame["source"]) == {"expo"}
    slow = synthetic(n_leads=2000, contact=ContactDecay(at_zero=0.3, floor=0.05)).to_frame()
    fast = synthetic(n_leads=2000, contact=ContactDecay(at_zero=0.9, floor=0.6)).to_frame()
    assert fast["reached"].mean() > slow["reached"].mean() + 0.2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_leads": 0},
        {"n_reps": 0},
        {"days": 0},
        {"hourly": (1.0,) * 23},
        {"capacity": (0.0, 1.0)},
        {"tz": "Shanghai"},
        {"work_hours": (None,) * 7},
    ],
)
def test_bad_parameters_are_config_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        synthetic(**kwargs)  # type: ignore[arg-type]
