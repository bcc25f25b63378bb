"""The behaviour model: GivenBehaviour's guarantees, and fit_behaviour recovering a known truth."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter.errors import ConfigError
from leadrouter.model import Lead
from leadrouter.sim import (
    Behaviour,
    FittedBehaviour,
    GivenBehaviour,
    History,
    compare,
    fit_behaviour,
    synthetic,
)
from leadrouter.sim.products import _PRODUCT_COLUMNS

LEAD = Lead("L1", datetime(2026, 1, 5, 9, tzinfo=UTC), source="search", segment="retail")


@pytest.fixture(scope="module")
def history() -> History:
    return synthetic(n_leads=5000, n_reps=8, days=60, seed=11)


@pytest.fixture(scope="module")
def truth_behaviour(history: History) -> GivenBehaviour:
    assert history.truth is not None
    return GivenBehaviour.from_truth(history.truth)


def test_given_behaviour_is_a_behaviour(truth_behaviour: GivenBehaviour) -> None:
    assert isinstance(truth_behaviour, Behaviour)
    assert isinstance(GivenBehaviour(), Behaviour)


@given(
    a=st.floats(0, 10_000, allow_nan=False),
    b=st.floats(0, 10_000, allow_nan=False),
    half=st.floats(0.5, 600),
)
def test_contact_decays_monotonically_within_bounds(a: float, b: float, half: float) -> None:
    model = GivenBehaviour(contact_half_life_minutes=half)
    early, late = sorted((a, b))
    p_early = model.p_contact("r", LEAD, early)
    p_late = model.p_contact("r", LEAD, late)
    assert 0.0 <= p_late <= p_early <= 1.0
    assert model.contact_floor <= p_late
    assert model.p_contact("r", LEAD, 0.0) == pytest.approx(model.contact_at_zero)
    assert model.p_contact("r", LEAD, half) == pytest.approx(
        (model.contact_at_zero + model.contact_floor) / 2
    )


@given(
    backlog=st.integers(0, 500),
    u1=st.floats(0.0, 1.0),
    u2=st.floats(0.0, 1.0),
)
def test_touch_delay_grows_with_backlog_and_u(backlog: int, u1: float, u2: float) -> None:
    model = GivenBehaviour(capacity_per_day={"r": 12.0}, pickup_minutes={"r": 20.0})
    low, high = sorted((u1, u2))
    d = model.touch_delay_minutes("r", backlog, low)
    assert 0.0 <= d <= model.touch_delay_minutes("r", backlog, high)
    assert d <= model.touch_delay_minutes("r", backlog + 1, low)
    assert math.isfinite(model.touch_delay_minutes("r", backlog, 1.0))
    # the documented formula: each waiting lead costs a working day / capacity
    assert model.touch_delay_minutes("r", backlog + 1, low) - d == pytest.approx(540.0 / 12.0)


def test_lookups_fall_back_pair_segment_default() -> None:
    model = GivenBehaviour(
        conversion={"r1": {"retail": 0.5}},
        segment_conversion={"retail": 0.3},
        default_conversion=0.1,
        valid_rate={"search": 0.45},
        capacity_per_day={"r1": 7.0},
        default_capacity=9.0,
    )
    other = Lead("L2", LEAD.arrived_at, source="expo", segment="education")
    assert model.p_convert("r1", LEAD) == 0.5
    assert model.p_convert("r2", LEAD) == 0.3
    assert model.p_convert("r1", other) == 0.1
    assert model.p_valid(LEAD) == 0.45 and model.p_valid(other) == 0.4
    assert model.capacity("r1") == 7.0 and model.capacity("r2") == 9.0


def test_a_product_factor_multiplies_the_rate_it_falls_back_to() -> None:
    model = GivenBehaviour(
        conversion={"r1": {"retail": 0.2}},
        segment_conversion={"retail": 0.1},
        product_conversion={"basic": 1.5, "enterprise": 0.25, "bundle": 20.0},
    )

    def lead(product: str) -> Lead:
        return Lead("L4", LEAD.arrived_at, segment="retail", product=product)

    assert model.p_convert("r1", lead("basic")) == pytest.approx(0.3)
    assert model.p_convert("r1", lead("enterprise")) == pytest.approx(0.05)
    assert model.p_convert("r1", lead("other")) == pytest.approx(0.2)  # not listed: factor 1
    assert model.p_convert("r2", lead("basic")) == pytest.approx(0.15)
    assert model.p_convert_team(lead("enterprise")) == pytest.approx(0.025)
    assert model.p_convert("r1", lead("bundle")) == 1.0  # capped


@given(u1=st.floats(0.0, 1.0), u2=st.floats(0.0, 1.0))
def test_amount_positive_and_monotone_in_u(u1: float, u2: float) -> None:
    model = GivenBehaviour(amount_median={"pro": 12000.0})
    lead = Lead("L3", LEAD.arrived_at, product="pro")
    low, high = sorted((u1, u2))
    assert 0 < model.amount("r", lead, low) <= model.amount("r", lead, high)
    assert model.amount("r", lead, 0.5) == pytest.approx(12000.0)


def test_deterministic_and_hashable(history: History) -> None:
    assert history.truth is not None
    one = GivenBehaviour.from_truth(history.truth)
    two = GivenBehaviour.from_truth(history.truth)
    assert one == two and hash(one) == hash(two)
    lead = history.leads[10]
    assert one.touch_delay_minutes("rep01", 4, 0.3) == two.touch_delay_minutes("rep01", 4, 0.3)
    assert one.p_convert("rep02", lead) == two.p_convert("rep02", lead)


def test_from_truth_reproduces_generating_figures(
    history: History, truth_behaviour: GivenBehaviour
) -> None:
    truth = history.truth
    assert truth is not None
    rep = truth.reps[0]
    assert truth_behaviour.capacity(rep.id) == rep.capacity
    assert truth_behaviour.contact_half_life_minutes == 60.0
    for lead in history.leads[:50]:
        assert 0.0 <= truth_behaviour.p_convert(rep.id, lead) <= 1.0
        assert 0.0 <= truth_behaviour.p_valid(lead) <= 1.0
    # expected sales among valid reached leads match what the generator realised
    frame = history.to_frame()
    reached_valid = frame[frame["reached"].fillna(False) & frame["valid"].fillna(False)]
    leads = {lead.id: lead for lead in history.leads}
    expected = sum(
        truth_behaviour.p_convert(r, leads[i])
        for i, r in zip(reached_valid["lead_id"], reached_valid["rep_id"], strict=True)
    )
    observed = int(reached_valid["converted"].sum())
    assert abs(observed - expected) < 4 * math.sqrt(expected)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"contact_floor": 0.8, "contact_at_zero": 0.5},
        {"default_capacity": 0.0},
        {"conversion": {"r": {"retail": 1.5}}},
        {"valid_rate": {"search": -0.1}},
        {"product_conversion": {"basic": -0.5}},
    ],
)
def test_bad_numbers_are_named_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        GivenBehaviour(**kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- fitted


@pytest.fixture(scope="module")
def fitted(history: History) -> FittedBehaviour:
    return fit_behaviour(history)


def test_fitted_is_a_behaviour_with_no_gaps_on_a_full_export(fitted: FittedBehaviour) -> None:
    assert isinstance(fitted, Behaviour)
    assert fitted.gaps == ()
    lead = LEAD
    for rep_id in ("rep01", "rep08", "nobody"):
        assert 0.0 <= fitted.p_convert(rep_id, lead) <= 1.0
        assert 0.0 <= fitted.p_contact(rep_id, lead, 30.0) <= 1.0
        assert fitted.capacity(rep_id) > 0
        assert fitted.amount(rep_id, lead, 0.5) > 0
        assert fitted.touch_delay_minutes(rep_id, 0, 0.2) >= 0
        assert fitted.touch_delay_minutes(rep_id, 0, 0.2) <= fitted.touch_delay_minutes(
            rep_id, 3, 0.9
        )


def test_fit_recovers_overall_conversion_and_contact_decay(
    history: History, fitted: FittedBehaviour, truth_behaviour: GivenBehaviour
) -> None:
    frame = history.to_frame()
    leads = {lead.id: lead for lead in history.leads}
    reached_valid = frame[frame["reached"].fillna(False) & frame["valid"].fillna(False)]
    pairs = list(zip(reached_valid["lead_id"], reached_valid["rep_id"], strict=True))
    fitted_rate = np.mean([fitted.p_convert(r, leads[i]) for i, r in pairs])
    true_rate = np.mean([truth_behaviour.p_convert(r, leads[i]) for i, r in pairs])
    assert abs(fitted_rate - true_rate) < 0.05
    assert fitted.contact_coef[1] < 0  # contact falls as the first touch gets later
    for delay in (0.0, 60.0, 600.0):
        assert (
            abs(
                fitted.p_contact("rep01", LEAD, delay)
                - truth_behaviour.p_contact("rep01", LEAD, delay)
            )
            < 0.1
        )
    assert abs(fitted.invalid_contact - truth_behaviour.invalid_contact) < 0.15


def test_capacity_is_near_the_truth(history: History, fitted: FittedBehaviour) -> None:
    assert history.truth is not None
    # the truth is per 540 working minutes, the fit per the work week's mean day
    per_full_day = 540.0 / fitted.numbers.workday_minutes
    for rep in history.truth.reps:
        assert abs(math.log(fitted.capacity(rep.id) * per_full_day / rep.capacity)) < 0.15


def test_strong_rep_above_weak_rep() -> None:
    history = synthetic(n_leads=6000, n_reps=6, seed=2)
    assert history.truth is not None
    skill = {
        rep.id: rep.effect + float(np.mean(list(rep.segment_effects.values())))
        for rep in history.truth.reps
    }
    strong, weak = max(skill, key=skill.__getitem__), min(skill, key=skill.__getitem__)
    model = fit_behaviour(history)
    assert model.rep_factor[strong] > 1.0 > model.rep_factor[weak]
    lead = history.leads[0]
    assert model.p_convert(strong, lead) > model.p_convert(weak, lead)


def test_shrinkage_pulls_small_pairs_toward_the_prior(fitted: FittedBehaviour) -> None:
    pairs = fitted.pairs
    seen = pairs[pairs["reached_valid"] > 0]
    low = np.minimum(seen["raw_rate"], seen["prior"]) - 1e-12
    high = np.maximum(seen["raw_rate"], seen["prior"]) + 1e-12
    assert ((low <= seen["estimate"]) & (seen["estimate"] <= high)).all()
    assert (pairs["flagged"] == (pairs["reached_valid"] < fitted.prior_strength)).all()


def test_a_tiny_pair_leans_on_the_segment_rate(history: History) -> None:
    """rep99 gets three retail leads, all reached, valid and sold: the raw rate is 100%, but
    the estimate stays near the retail rate - however weak the segment's prior - because the
    rep and the pair are shrunk by the spread the team shows, not by a pseudo-count."""
    frame = history.to_frame()
    retail = frame.index[(frame["segment"] == "retail")][:3]
    frame.loc[retail, ["rep_id", "reached", "valid", "converted"]] = ["rep99", True, True, True]
    frame.loc[retail, "amount"] = 1000.0
    small = History(frame, tz=history.tz)
    weak = fit_behaviour(small, prior_strength=5.0)
    strong = fit_behaviour(small, prior_strength=50.0)
    lead = Lead("x", LEAD.arrived_at, segment="retail")
    for model in (weak, strong):
        segment_rate = model.numbers.segment_conversion["retail"]
        assert abs(model.p_convert("rep99", lead) - segment_rate) < 0.15
    assert ("rep99", "retail") in strong.flagged_pairs()
    assert "rep99 x retail" in strong.summary()
    assert strong.extrapolated("rep99", "education")
    assert not strong.extrapolated("rep99", "retail")


def test_summary_names_fits_gaps_and_flagged_pairs(fitted: FittedBehaviour) -> None:
    text = fitted.summary()
    assert "contact" in text and "capacity" in text and "Gaps: none" in text
    for rep_id, segment in fitted.flagged_pairs():
        assert f"{rep_id} x {segment}" in text
    assert not fitted.extrapolated("rep01", "retail")
    assert fitted.extrapolated("rep01", "mining")


def test_export_without_touch_times_reports_gaps(history: History) -> None:
    frame = history.to_frame().drop(columns=["first_touch_at"])
    model = fit_behaviour(History.from_frame(frame))
    text = " ".join(model.gaps)
    assert "first-touch" in text and "contact" in text and "capacity" in text
    assert "Gaps (assumed, not fitted)" in model.summary()
    assert model.capacity("rep01") > 0
    assert 0.0 <= model.p_contact("rep01", LEAD, 90.0) <= 1.0


def test_fit_is_deterministic(history: History, fitted: FittedBehaviour) -> None:
    again = fit_behaviour(history)
    assert again.numbers == fitted.numbers
    assert again.contact_coef == fitted.contact_coef
    assert again.summary() == fitted.summary()


def test_fit_rejects_bad_input(history: History) -> None:
    with pytest.raises(ConfigError):
        fit_behaviour(history, prior_strength=0)
    frame = history.to_frame()
    frame["rep_id"] = None
    with pytest.raises(ConfigError, match="rep_id"):
        fit_behaviour(History(frame, tz=history.tz))


def test_export_without_contact_outcomes_still_reproduces_the_sales_rate(
    history: History,
) -> None:
    """Conversion measured per assigned lead is put on the Protocol's basis (per reached valid
    lead), so validity x contact x conversion still gives about the observed sales rate."""
    frame = history.to_frame()
    blind = fit_behaviour(
        History.from_frame(frame.drop(columns=["first_touch_at", "reached", "valid", "amount"]))
    )
    text = " ".join(blind.gaps)
    assert "valid" in text and "per assigned lead" in text and "amounts" in text
    model_rate = np.mean(
        [
            blind.p_valid(lead) * blind.p_contact(rep, lead, 30.0) * blind.p_convert(rep, lead)
            for lead, rep in zip(history.leads, frame["rep_id"], strict=True)
        ]
    )
    observed = frame["converted"].mean()
    assert abs(model_rate - observed) < 0.3 * observed


# ---------------------------------------------------------------------- conversion by product


def test_fitted_product_factors_track_the_truth(history: History, fitted: FittedBehaviour) -> None:
    """synthetic()'s close rates fall from basic (35%) to pro (25%) to enterprise (12%): the
    fitted factors keep that order, and per product the model expects about the sales the
    history had among its reached valid leads."""
    assert history.truth is not None
    truth = {p.name: p.close_rate for p in history.truth.products}
    assert truth["basic"] > truth["pro"] > truth["enterprise"]
    products = fitted.products
    assert products is not None
    assert list(products.columns) == list(_PRODUCT_COLUMNS)
    factor = dict(zip(products["product"], products["factor"], strict=True))
    assert factor == dict(fitted.numbers.product_conversion)
    assert factor["basic"] > factor["pro"] > factor["enterprise"]
    # factors are relative to the average lead at risk (mean 1), so rates keep their meaning
    mean = (products["reached_valid"] * products["factor"]).sum() / products["reached_valid"].sum()
    assert mean == pytest.approx(1.0)
    # the same rep and segment close a basic lead more often than an enterprise one
    base = Lead("L5", LEAD.arrived_at, segment="retail")
    rates = {
        name: fitted.p_convert("rep01", attrs.evolve(base, product=name))
        for name in ("basic", "pro", "enterprise")
    }
    assert rates["basic"] > rates["pro"] > rates["enterprise"]
    # per product, expected sales among reached valid leads match the history's
    frame = history.to_frame()
    at_risk = frame[frame["reached"].fillna(False) & frame["valid"].fillna(False)]
    leads = {lead.id: lead for lead in history.leads}
    for name, group in at_risk.groupby("product"):
        expected = sum(
            fitted.p_convert(rep, leads[lead_id])
            for lead_id, rep in zip(group["lead_id"], group["rep_id"], strict=True)
        )
        observed = int(group["converted"].sum())
        assert abs(observed - expected) < 3 * math.sqrt(expected) + 2, name
    assert "conversion by product" in fitted.summary()
    assert "median sale amount by product" in fitted.summary()


def test_amounts_per_product_match_the_history(history: History, fitted: FittedBehaviour) -> None:
    frame = history.to_frame()
    sold = frame[frame["converted"] & (frame["amount"] > 0)]
    for name, group in sold.groupby("product"):
        median = float(group["amount"].median())
        assert fitted.numbers.amount_median[name] == pytest.approx(median)
        lead = Lead("L6", LEAD.arrived_at, product=str(name))
        assert fitted.amount("rep01", lead, 0.5) == pytest.approx(median)


def test_a_replicate_redraws_product_factors_and_amounts(fitted: FittedBehaviour) -> None:
    one, again, other = fitted.replicate(1), fitted.replicate(1), fitted.replicate(2)
    assert one.numbers.product_conversion == again.numbers.product_conversion
    assert one.numbers.product_conversion != other.numbers.product_conversion
    assert one.numbers.amount_median == again.numbers.amount_median
    assert one.numbers.amount_median != fitted.numbers.amount_median
    assert set(one.numbers.product_conversion) == set(fitted.numbers.product_conversion)


def test_one_product_means_no_product_factor(history: History) -> None:
    frame = history.to_frame().iloc[:1500]
    frame["product"] = "basic"
    single = fit_behaviour(History(frame, tz=history.tz, roster=history.roster))
    assert single.products is None
    assert single.numbers.product_conversion == {}
    assert "conversion by product" not in single.summary()


def test_a_read_basis_fits_the_same_model_every_time(fitted: FittedBehaviour) -> None:
    """A fit reads the history once (`_Basis.read`) and estimates from it as often as asked
    (`_Basis.fit`: the model, then each replicate): estimating must leave what was read as it
    was, so fitting again gives the very same model, and a replicate in between changes
    nothing."""
    basis = fitted.basis
    assert basis is not None
    fitted.replicate(4)
    again = basis.fit(None)
    assert again.numbers == fitted.numbers
    assert (again.contact_coef, again.gaps, again.notes) == (
        fitted.contact_coef,
        fitted.gaps,
        fitted.notes,
    )
    assert again.pairs.equals(fitted.pairs)


def test_the_fits_names_stay_importable_from_estimation() -> None:
    """Reading and estimating live in two modules; `leadrouter.sim.estimation` keeps the names
    it always had."""
    from leadrouter.sim import estimation, estimation_fit, estimation_read

    for name in ("_Basis", "_mix_expectation"):
        assert getattr(estimation, name) is getattr(estimation_read, name)
    for name in ("_assumed_delays", "_weighted_mean", "_known_outcomes", "_PAIR_COLUMNS"):
        assert getattr(estimation, name) is getattr(estimation_fit, name)
    assert estimation.fit_behaviour(synthetic(300, 3, 5, seed=2)).numbers is not None


def test_a_product_with_no_priced_sale_is_a_gap_naming_it() -> None:
    """A small history with no enterprise sale valued every simulated enterprise deal at the
    median of all sales (3,080 against a 60,000 price) and said "Gaps: none"."""
    model = fit_behaviour(synthetic(200, 5, 10, seed=13))
    gaps = [gap for gap in model.gaps if gap.startswith("no priced sale of")]
    assert len(gaps) == 1 and "enterprise (" in gaps[0] and "basic" not in gaps[0]
    assert not any(
        g.startswith("no priced sale") for g in fit_behaviour(synthetic(900, 5, 20, seed=1)).gaps
    )


def test_assignment_times_of_days_alone_are_a_gap_and_make_speed_an_assumption() -> None:
    """An export whose arrivals are days (no assignment time) measures every delay to first
    touch from midnight: the fit says so, and a comparison marks speed to lead as resting on
    an assumption instead of judging it. The same history with its times has no such gap."""
    history = synthetic(400, 4, 10, seed=5)
    frame = history.to_frame()
    days = frame.assign(
        arrived_at=frame["arrived_at"].dt.tz_convert(history.tz).dt.normalize(),
        assigned_at=frame["assigned_at"].dt.tz_convert(history.tz).dt.normalize(),
    )
    model = fit_behaviour(History(days, tz=history.tz, roster=history.roster))
    gap = "every assignment time (the arrival, where the export has no assignment time) is"
    assert any(g.startswith(gap) for g in model.gaps)
    assert model.assumptions["delay"] == "the export's assignment times are days, not times"
    policies = {"rotation": lr.EqualRotation(), "again": lr.EqualRotation()}
    driven = compare(
        History(days, tz=history.tz, roster=history.roster),
        policies,
        seeds=2,
        behaviour=model,
        calibrate=False,
        parameter_draws=False,
    ).assumption_driven
    assert "speed_to_lead_median" in driven["again"]
    assert not any(g.startswith(gap) for g in fit_behaviour(history).gaps)
