"""fit_grader: grades ordered on unseen leads, a deterministic plain callable, clear errors."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import attrs
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter import rules
from leadrouter.errors import ConfigError, InvalidExportError
from leadrouter.sim import Grader, History, fit_grader, synthetic
from leadrouter.sim.grading import GRADE_COLUMNS, wilson


@pytest.fixture(scope="module")
def history() -> History:
    return synthetic(n_leads=5000, n_reps=8, days=60, seed=3)


@pytest.fixture(scope="module")
def grader(history: History) -> Grader:
    return fit_grader(history)


def test_grades_are_ordered_on_held_out_leads(grader: Grader) -> None:
    table = grader.table()
    assert list(table.columns) == list(GRADE_COLUMNS)
    assert list(table.index) == ["A", "B", "C", "D"]
    assert table["heldout_leads"].sum() == 1250  # the latest quarter
    assert table.loc["A", "heldout_rate"] > table.loc["D", "heldout_rate"]
    assert table.loc["A", "rate"] > table.loc["D", "rate"]
    assert (table["rate_lo"] <= table["rate"]).all() and (table["rate"] <= table["rate_hi"]).all()
    assert "Held-out check" in grader.summary()


def test_learns_the_sources_the_truth_makes_better(history: History, grader: Grader) -> None:
    """In synthetic's truth referral leads are valid 60% of the time and social ones 20%: the
    grader must rate an otherwise identical referral lead above a social one."""
    lead = history.leads[0]
    referral = attrs.evolve(lead, source="referral")
    social = attrs.evolve(lead, source="social")
    assert grader.probability(referral) > grader.probability(social)


def test_probabilities_in_unit_interval_and_lead_grades_match_table(
    history: History, grader: Grader
) -> None:
    leads = history.leads
    probabilities = [grader.probability(lead) for lead in leads]
    assert all(0.0 < p < 1.0 for p in probabilities)
    counts = pd.Series([grader(lead) for lead in leads]).value_counts()
    assert counts.reindex(list(grader.grades)).tolist() == grader.table()["leads"].tolist()


def test_higher_probability_never_gets_a_worse_grade(grader: Grader) -> None:
    ps = np.linspace(0.0, 1.0, 201)
    ranks = [grader.grades.index(grader.grade_of(float(p))) for p in ps]
    assert ranks == sorted(ranks, reverse=True)


def test_deterministic(history: History, grader: Grader) -> None:
    again = fit_grader(history)
    assert again.cuts == grader.cuts
    leads = history.leads[:200]
    assert [again.probability(x) for x in leads] == [grader.probability(x) for x in leads]
    pd.testing.assert_frame_equal(again.table(), grader.table())


def test_unseen_values_and_missing_fields_still_grade(history: History, grader: Grader) -> None:
    lead = lr.Lead("new", datetime(2025, 6, 1, 3, tzinfo=UTC), source="brand-new-campaign")
    assert 0.0 < grader.probability(lead) < 1.0
    assert grader(lead) in grader.grades


def test_works_as_a_nurture_score(history: History, grader: Grader) -> None:
    leads = history.leads
    cut = grader.cuts[-1]  # the lower bound of the second-worst grade
    low = next(x for x in leads if grader.probability(x) < cut)
    high = next(x for x in leads if grader.probability(x) >= grader.cuts[0])
    router = lr.Router(
        lr.EqualRotation(),
        [lr.Rep("wang"), lr.Rep("li")],
        rules=[rules.nurture(score=grader.probability, below=cut)],
    )
    kept = router.route(low, now=low.arrived_at)
    assert kept.rep_id is None and kept.pool == "nurture"
    assert router.route(high, now=high.arrived_at).rep_id is not None


def test_points_credit_harder_grades_more(grader: Grader) -> None:
    points = grader.points()
    assert list(points) == ["A", "B", "C", "D"]
    assert points["A"] == 1.0
    assert points["D"] > points["A"]
    lr.PerformanceWeighted(measure="points", points=points)  # accepted as configuration


def test_chinese_grade_labels(history: History) -> None:
    labels = ("优", "良", "中", "差")
    grader = fit_grader(history, grades=labels, features=("source", "product"))
    assert list(grader.table().index) == list(labels)
    assert {grader(x) for x in history.leads[:300]} <= set(labels)
    assert "优" in grader.summary()


def test_numeric_and_extra_features(history: History) -> None:
    grader = fit_grader(history, features=("score", "source"))
    score = grader.coefficients().set_index("feature").loc["score", "coef"]
    assert score > 0  # synthetic's score reads the latent intent that drives buying


def _tiny(n: int, converted: list[bool]) -> History:
    t0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
    return History.from_frame(
        pd.DataFrame(
            {
                "lead_id": [f"L{i}" for i in range(n)],
                "arrived_at": [t0 + timedelta(hours=i) for i in range(n)],
                "source": ["a", "b"] * (n // 2),
                "converted": converted,
            }
        )
    )


def test_too_few_leads_is_a_named_error() -> None:
    with pytest.raises(InvalidExportError, match="at least 40"):
        fit_grader(_tiny(20, [True, False] * 10))


def test_no_conversion_is_a_named_error() -> None:
    with pytest.raises(InvalidExportError, match=r"no lead .* converted"):
        fit_grader(_tiny(100, [False] * 100))


def test_too_few_conversions_in_the_fitting_part() -> None:
    with pytest.raises(InvalidExportError, match="conversions among its earliest"):
        fit_grader(_tiny(100, [False] * 98 + [True, True]))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"grades": ("A",)},
        {"grades": ("A", "A")},
        {"features": ("source", "amount")},
        {"features": ("nonsense",)},
        {"alpha": -1.0},
        {"holdout": 1.0},
    ],
)
def test_bad_settings_are_config_errors(history: History, kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        fit_grader(history, **kwargs)  # type: ignore[arg-type]


@given(
    trials=st.integers(min_value=1, max_value=10_000),
    fraction=st.floats(min_value=0.0, max_value=1.0),
)
def test_wilson_interval_holds_the_rate(trials: int, fraction: float) -> None:
    """Invariant: the Wilson interval lies in [0, 1] and contains the observed rate."""
    successes = round(trials * fraction)
    lo, hi = wilson(successes, trials)
    assert 0.0 <= lo <= successes / trials + 1e-12
    assert successes / trials - 1e-12 <= hi <= 1.0


def test_wilson_of_nothing_is_nan() -> None:
    assert all(math.isnan(v) for v in wilson(0, 0))


def test_too_coarse_features_leave_empty_grades_and_say_so() -> None:
    """With one three-level feature there are three distinct probabilities for four grades: a
    grade stays empty, the check is "not possible" (never a false pass) and points stay finite."""
    grader = fit_grader(synthetic(n_leads=2000, seed=1), features=("product",))
    assert (grader.table()["leads"] == 0).any()
    assert grader.heldout_monotone is None
    assert "have no lead" in grader.summary() and "not possible" in grader.summary()
    points = grader.points()
    assert all(math.isfinite(v) and v >= 1.0 for v in points.values())


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    source=st.text(max_size=8),
    region=st.sampled_from(["north", "east", "", "火星"]),
    product=st.sampled_from(["basic", "pro", "enterprise", "other", "x"]),
    minute=st.integers(min_value=0, max_value=60 * 24 * 365),
)
def test_any_lead_gets_a_probability_and_a_grade(
    grader: Grader, source: str, region: str, product: str, minute: int
) -> None:
    """Invariant: whatever a lead holds (values never seen, blanks, any hour), the grader gives
    a probability strictly inside (0, 1) and the grade that probability falls in."""
    lead = lr.Lead(
        "x",
        datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=minute),
        source=source,
        region=region,
        product=product,
    )
    p = grader.probability(lead)
    assert 0.0 < p < 1.0
    assert grader(lead) == grader.grade_of(p)
