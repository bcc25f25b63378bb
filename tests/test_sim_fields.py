"""The canonical frame's text columns read at once when they hold strings and missing values
alone (leadrouter.sim.fields._as_text), exactly as value by value (`_as_text_each`) for any
column: other values (numbers, a NaT of numpy's, a NaN that is not a Python float) go through
`str` one at a time as before."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from leadrouter.sim.fields import _STR, _as_text, _as_text_each, canonical

VALUES = st.one_of(
    st.text(max_size=4),
    st.sampled_from(
        [
            None,
            float("nan"),
            np.float64("nan"),
            pd.NA,
            pd.NaT,
            np.datetime64("NaT"),
            np.float32("nan"),
            Decimal("NaN"),
            np.str_("np"),
            1,
            1.5,
            True,
            "",
        ]
    ),
)
"""Strings and every kind of missing value, with the near misses of each: a numpy string, a
NaN or NaT `is_missing` does not call missing, numbers and booleans."""


@settings(max_examples=400, deadline=None)
@given(values=st.lists(VALUES, max_size=8))
def test_a_text_column_reads_at_once_as_value_by_value(values: list[object]) -> None:
    column = pd.Series(values, dtype=object)
    at_once = _as_text(column).astype(_STR)
    one_by_one = _as_text_each(column).astype(_STR)
    pd.testing.assert_series_equal(at_once, one_by_one)


def test_a_column_of_strings_and_none_is_read_at_once_into_the_frame() -> None:
    """The loader's case: strings with None for the blanks, each kept, None missing."""
    frame = pd.DataFrame(
        {
            "lead_id": ["L1", "L2"],
            "arrived_at": pd.to_datetime(["2025-03-03", "2025-03-04"], utc=True),
            **{name: [None, None] for name in ("source", "region", "product", "segment")},
            **{name: [None, None] for name in ("grade", "score", "cost", "contact")},
            "rep_id": np.array(["wang", None], dtype=object),
            **{name: [None, None] for name in ("assigned_at", "first_touch_at", "reached")},
            **{name: [None, None] for name in ("valid", "converted_at", "amount", "converted")},
        }
    )
    out = canonical(frame)
    assert out["rep_id"].iat[0] == "wang"
    assert out["rep_id"].isna().tolist() == [False, True]
    assert out["source"].tolist() == ["", ""]
