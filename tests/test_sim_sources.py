"""source_table: per-source counts, sums and ratios, checked against hand computations."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from leadrouter.sim import History, source_table, synthetic
from leadrouter.sim.sources import NO_SOURCE, SOURCE_COLUMNS, TOTAL

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)


def _history() -> History:
    """Six leads: search (3: 2 tagged, 2 reached, 1 sale of 1000), feed (1, free, no tag, no sale),
    expo (1, a sale without an amount) and one lead with no source."""
    frame = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4", "L5", "L6"],
            "arrived_at": [T0 + timedelta(minutes=i) for i in range(6)],
            "source": ["search", "search", "search", "feed", "expo", ""],
            "cost": [100.0, 150.0, None, 0.0, 300.0, 20.0],
            "rep_id": ["wang", "li", "wang", "li", "wang", None],
            "first_touch_at": [T0 + timedelta(hours=1)] * 3 + [None, T0 + timedelta(hours=2), None],
            "reached": [True, True, False, None, True, None],
            "valid": [True, False, None, None, True, None],
            "amount": [1000.0, None, None, None, None, None],
            "converted": [True, False, False, False, True, False],
        }
    )
    return History.from_frame(frame)


def test_numbers_equal_hand_computation() -> None:
    table = source_table(_history())
    assert list(table.columns) == list(SOURCE_COLUMNS)
    assert list(table.index) == ["search", "feed", "expo", NO_SOURCE, TOTAL]
    assert table.index.name == "source"
    search = table.loc["search"]
    assert search["leads"] == 3
    assert search["cost"] == pytest.approx(250.0)  # a missing cost counts 0
    assert search["tagged"] == 2 and search["valid"] == 1
    assert search["valid_rate"] == pytest.approx(0.5)
    assert search["reached"] == 2 and search["contact_rate"] == pytest.approx(2 / 3)
    assert search["conversions"] == 1 and search["conversion_rate"] == pytest.approx(1 / 3)
    assert search["revenue"] == pytest.approx(1000.0)
    assert search["roi"] == pytest.approx((1000.0 - 250.0) / 250.0)
    assert search["cost_per_sale"] == pytest.approx(250.0)
    expo = table.loc["expo"]
    assert expo["revenue"] == 0.0 and expo["conversions"] == 1
    assert expo["roi"] == pytest.approx(-1.0)
    assert expo["cost_per_sale"] == pytest.approx(300.0)
    total = table.loc[TOTAL]
    assert total["leads"] == 6 and total["cost"] == pytest.approx(570.0)
    assert total["tagged"] == 3 and total["valid_rate"] == pytest.approx(2 / 3)
    assert total["reached"] == 3 and total["contact_rate"] == pytest.approx(0.5)
    assert total["conversions"] == 2 and total["revenue"] == pytest.approx(1000.0)
    assert total["roi"] == pytest.approx((1000.0 - 570.0) / 570.0)
    assert total["cost_per_sale"] == pytest.approx(285.0)


def test_zero_denominators_give_nan_not_inf() -> None:
    table = source_table(_history())
    feed = table.loc["feed"]  # no cost, no tag, no sale
    assert math.isnan(feed["valid_rate"])
    assert math.isnan(feed["roi"])
    assert math.isnan(feed["cost_per_sale"])
    assert feed["contact_rate"] == 0.0 and feed["conversion_rate"] == 0.0
    nothing = table.loc[NO_SOURCE]  # cost but no sale: cost per sale undefined, ROI -100%
    assert math.isnan(nothing["cost_per_sale"]) and nothing["roi"] == pytest.approx(-1.0)
    numbers = table.to_numpy(dtype=float)
    assert not np.isinf(numbers).any()


def test_rows_add_up_to_total_on_synthetic() -> None:
    history = synthetic(n_leads=800, n_reps=4, days=14, seed=5)
    table = source_table(history)
    frame = history.to_frame()
    body = table.drop(index=TOTAL)
    for name in ("leads", "cost", "tagged", "valid", "reached", "conversions", "revenue"):
        assert body[name].sum() == pytest.approx(table.loc[TOTAL, name])
    assert table.loc[TOTAL, "leads"] == len(history)
    assert table.loc[TOTAL, "conversions"] == int(frame["converted"].sum())
    assert body["leads"].is_monotonic_decreasing
    assert set(body.index) == set(frame["source"])


def test_an_export_without_costs_shows_them_unknown_not_free() -> None:
    """No cost column: every cost, ROI and cost per sale is unknown (NaN, "-" in the report),
    never a cost of 0 that reads as "these leads were free"."""
    history = synthetic(n_leads=300, n_reps=4, days=10, seed=5)
    priceless = History.from_frame(history.to_frame().assign(cost=np.nan), tz=history.tz)
    table = source_table(priceless)
    for column in ("cost", "roi", "cost_per_sale"):
        assert table[column].isna().all(), column
    assert table.loc[TOTAL, "conversions"] == source_table(history).loc[TOTAL, "conversions"]


def test_an_export_without_amounts_shows_revenue_unknown_not_zero() -> None:
    """Sales but no amount on any: revenue and return are unknown, never 0 and -100% (while
    the comparison prices each sale at an assumed value), and cost per sale stays known."""
    history = synthetic(n_leads=300, n_reps=4, days=10, seed=5)
    unpriced = History.from_frame(history.to_frame().assign(amount=np.nan), tz=history.tz)
    table = source_table(unpriced)
    assert table["revenue"].isna().all() and table["roi"].isna().all()
    assert table["cost_per_sale"].notna().any()
