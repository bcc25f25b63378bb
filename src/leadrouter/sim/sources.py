"""source_table(): what each lead source (campaign, channel) cost and what it brought in.

The first question an analyst is asked about bought leads is which sources pay for themselves.
The table answers it from the History alone, with no model: counts, sums and ratios, so every
number can be checked by hand against the export.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from leadrouter.sim.history import History

__all__ = ["NO_SOURCE", "SOURCE_COLUMNS", "TOTAL", "source_table"]

SOURCE_COLUMNS = (
    "leads",
    "cost",
    "tagged",
    "valid",
    "valid_rate",
    "reached",
    "contact_rate",
    "conversions",
    "conversion_rate",
    "revenue",
    "roi",
    "cost_per_sale",
)
"""The columns of `source_table`, in order."""

NO_SOURCE = "(no source)"
"""The row label of leads whose source is blank."""

TOTAL = "total"
"""The label of the last row, which sums (and recomputes the ratios over) every lead."""


def source_table(history: History) -> pd.DataFrame:
    """One row per source, the busiest first, and a `total` row; the index is named `source`.

    Columns (`SOURCE_COLUMNS`):

    - `leads`: leads from the source; `cost`: their summed lead cost (a missing cost counts 0).
    - `tagged`: leads with a valid / invalid verdict; `valid`: those tagged valid;
      `valid_rate` = valid / tagged (leads nobody tagged say nothing about validity, so they are
      left out of this rate, not counted as invalid).
    - `reached`: leads whose first touch connected; `contact_rate` = reached / leads (an
      untouched lead counts as not reached: it is a lead the source paid for and nobody reached).
    - `conversions`: leads that bought; `conversion_rate` = conversions / leads.
    - `revenue`: summed sale amounts of converted leads (a sale without an amount counts 0;
      when no sale has one, revenue and `roi` are NaN: unknown, not 0).
    - `roi` = (revenue − cost) / cost, the return on lead cost; `cost_per_sale` = cost /
      conversions.

    Guarantee: a ratio whose denominator is 0 (no tagged lead, no cost, no sale) is NaN, never
    inf and never an error; the `total` row is computed from all leads, not averaged over rows.
    Blank sources are grouped under "(no source)".
    """
    frame = history.to_frame()
    source = frame["source"].astype(object).where(frame["source"] != "", NO_SOURCE)
    valid = frame["valid"]
    parts = pd.DataFrame(
        {
            "source": source.astype(str),
            "leads": np.ones(len(frame), dtype="int64"),
            "cost": frame["cost"].fillna(0.0).to_numpy(dtype=float),
            "tagged": valid.notna().to_numpy(dtype=bool).astype("int64"),
            "valid": valid.fillna(False).to_numpy(dtype=bool).astype("int64"),
            "reached": frame["reached"].fillna(False).to_numpy(dtype=bool).astype("int64"),
            "conversions": frame["converted"].to_numpy(dtype=bool).astype("int64"),
            "revenue": np.where(
                frame["converted"].to_numpy(dtype=bool),
                frame["amount"].fillna(0.0).to_numpy(dtype=float),
                0.0,
            ),
        }
    )
    sums = ["leads", "cost", "tagged", "valid", "reached", "conversions", "revenue"]
    grouped = parts.groupby("source", sort=False)[sums].sum()
    grouped = grouped.sort_values("leads", ascending=False, kind="stable")
    total = pd.DataFrame([parts[sums].sum()], index=pd.Index([TOTAL]))
    table = pd.concat([grouped, total])
    table.index.name = "source"
    for name in ("leads", "tagged", "valid", "reached", "conversions"):
        table[name] = table[name].astype("int64")
    table["valid_rate"] = _ratio(table["valid"], table["tagged"])
    table["contact_rate"] = _ratio(table["reached"], table["leads"])
    table["conversion_rate"] = _ratio(table["conversions"], table["leads"])
    table["roi"] = _ratio(table["revenue"] - table["cost"], table["cost"])
    table["cost_per_sale"] = _ratio(table["cost"], table["conversions"])
    if not frame["cost"].notna().any():
        # no cost column: what the leads cost is unknown, not 0 ("cost per sale 0": free)
        table[["cost", "roi", "cost_per_sale"]] = np.nan
    amounts = frame["amount"].to_numpy(dtype=float)[frame["converted"].to_numpy(dtype=bool)]
    if len(amounts) and not np.isfinite(amounts).any():
        # sales without any amount: what they brought is unknown, not 0 ("return -100%")
        table[["revenue", "roi"]] = np.nan
    return table.loc[:, list(SOURCE_COLUMNS)]


def _ratio(top: pd.Series[Any], bottom: pd.Series[Any]) -> pd.Series[Any]:
    """top / bottom, NaN where bottom is 0."""
    denominator = bottom.astype(float)
    result: pd.Series[Any] = top.astype(float) / denominator.where(denominator != 0)
    return result
