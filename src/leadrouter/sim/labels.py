"""Plain words for what the simulator reports: one label and one definition per metric, the
direction that is better, and time zones as people say them.

The terminal (`leadrouter compare`) and the report (`leadrouter.sim.report`) both read these, so
a metric is called the same thing, with the same unit and the same definition, wherever it is
shown - and its code name (`speed_to_lead_median`) never is: `plain(text)` turns the code names
other modules put in their sentences (calibration reasons, caveats) into the labels.

`zone_label("Asia/Shanghai", at)` reads "UTC+8 (Asia/Shanghai)"; a name that only encodes an offset
reads as the offset: "Etc/GMT-8" is "UTC+8" (the tz database's Etc/GMT names carry the POSIX sign,
the inverse of the usual one), "UTC" is "UTC". It is defined in `leadrouter.sim.zones`, the
simulator's lowest layer, so `inspect` says zones as the report does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

from leadrouter.sim.metrics import BY_PRODUCT, LOWER_IS_BETTER, METRICS, REVENUE
from leadrouter.sim.zones import zone_label

__all__ = [
    "ARROWS",
    "METRIC_LABELS",
    "MetricLabel",
    "better",
    "direction",
    "metric_label",
    "plain",
    "zone_label",
]


@attrs.frozen
class MetricLabel:
    """How one metric reads: its plain `label`, its unit `kind` (`percent`, `percent0`: a share
    shown as a whole percentage, `money`, `minutes`, `count`, `ratio`) and a one-line
    `meaning`."""

    label: str
    kind: str
    meaning: str


METRIC_LABELS: Mapping[str, MetricLabel] = {
    "conversion_rate": MetricLabel("conversion", "percent", "share of leads that became a sale"),
    "revenue": MetricLabel("revenue", "money", "total of the sale amounts"),
    "roi": MetricLabel(
        "return on lead cost", "percent0", "(revenue - what the leads cost) / what they cost"
    ),
    "cost_per_sale": MetricLabel(
        "cost per sale", "money", "what the leads cost, divided by the number of sales"
    ),
    "speed_to_lead_median": MetricLabel(
        "speed to lead",
        "minutes",
        "minutes from a lead's arrival to its first call or message, for the middle lead "
        "(half the touched leads were faster)",
    ),
    "coverage": MetricLabel(
        "coverage", "percent", "share of leads first touched within the response-time target (SLA)"
    ),
    "wasted": MetricLabel("wasted leads", "percent", "share of leads nobody ever touched"),
    "gini": MetricLabel(
        "load inequality",
        "ratio",
        "how unevenly leads are spread over the reps: 0 = every rep gets the same, "
        "1 = one rep gets them all",
    ),
    "max_over_mean": MetricLabel(
        "busiest rep's load",
        "ratio",
        "leads of the busiest rep divided by the average rep's (1 = even)",
    ),
    "sla_breaches": MetricLabel(
        "SLA breaches", "count", "leads first touched later than the response-time target (SLA)"
    ),
    "reassignments": MetricLabel(
        "reassignments",
        "count",
        "times a lead went to another rep after its first (taken back, re-routed)",
    ),
    "conversion_mechanical": MetricLabel(
        "conversion from speed alone",
        "percent",
        "conversion had every rep closed at the team's average rate: what speed, contact and "
        "coverage alone explain",
    ),
    "extrapolated_share": MetricLabel(
        "unseen pairs",
        "percent",
        "share of leads given to a rep for a segment that rep never had in the history: "
        "their sales are the model's guess, not something the history showed",
    ),
}
"""Every metric of `METRICS`: its label, unit kind and definition, for the terminal and the
report alike."""

_CHECK_LABELS: Mapping[str, MetricLabel] = {
    "contact_rate": MetricLabel("contact rate", "percent", "share of leads reached"),
    REVENUE: MetricLabel("revenue per lead", "money", "sale amounts over the number of leads"),
    BY_PRODUCT: MetricLabel("conversion by product", "percent", "each product's conversion"),
}
"""The calibration checks that are not metrics (`leadrouter.sim.calibration`)."""

_PRODUCT_CHECK = re.compile(r"\bconversion_rate\[([^\]]*)\]")
"""A calibration check of one product's conversion (`calibration.product_metric`)."""

ARROWS: Mapping[int, str] = {1: "↑", -1: "↓"}
"""The mark beside a metric's label for its better direction."""


def metric_label(metric: str) -> MetricLabel:
    """The `MetricLabel` of a metric or a calibration check (`conversion_rate[pro]` is
    "conversion of pro"); any other name reads as itself with spaces, as a plain number."""
    found = METRIC_LABELS.get(metric) or _CHECK_LABELS.get(metric)
    if found is not None:
        return found
    product = _PRODUCT_CHECK.fullmatch(metric)
    if product is not None:
        return MetricLabel(f"conversion of {product.group(1)}", "percent", "its conversion")
    text = metric.replace("_", " ")
    return MetricLabel(text, "ratio", text)


def better(metric: str) -> int:
    """-1 when lower is better (`LOWER_IS_BETTER`), +1 when higher is better (every other metric
    in `METRICS`), 0 for a name that is not a metric."""
    if metric in LOWER_IS_BETTER:
        return -1
    return 1 if metric in METRICS else 0


def direction(metric: str) -> str:
    """ "higher is better", "lower is better", or "" for a name that is not a metric."""
    return {1: "higher is better", -1: "lower is better"}.get(better(metric), "")


_JARGON: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"a Bayesian bootstrap draw of the model's parameters"),
        "the model refitted on a random reweighting of the history's leads",
    ),
    (re.compile(r"\b1 parameter draw\b"), "1 reweighting"),
    (re.compile(r"(\d+) parameter draws\b"), r"\1 reweightings"),
    (re.compile(r"a Bayesian bootstrap", re.IGNORECASE), "a random reweighting"),
    (re.compile(r"Bayesian bootstrap", re.IGNORECASE), "random reweighting"),
    (re.compile(r"exclude model misspecification"), "do not cover a wrong model"),
    (re.compile(r"model misspecification"), "a wrong model"),
)
"""Phrases other modules write for statisticians, and what they mean."""

_CODE_NAMES = sorted(
    (
        name
        for name in {*METRICS, *_CHECK_LABELS}
        if "_" in name or not metric_label(name).label.startswith(name)
    ),
    key=len,
    reverse=True,
)
"""The names `plain` replaces: code names (an underscore) and words that are not their label
("gini"); "wasted" or "revenue" already read as their label and are left as written."""
_CODE_NAME = re.compile(r"\b(" + "|".join(re.escape(name) for name in _CODE_NAMES) + r")\b")


def plain(text: str) -> str:
    """`text` with every metric's code name replaced by its label (`conversion_rate[pro]` reads
    "conversion of pro") and statisticians' phrases by what they mean. For sentences other
    modules write (calibration reasons, `Comparison.caveats()`), so none reaches a reader in
    code."""
    for pattern, meaning in _JARGON:
        text = pattern.sub(meaning, text)
    text = _PRODUCT_CHECK.sub(lambda found: metric_label(found.group(0)).label, text)
    return _CODE_NAME.sub(lambda found: metric_label(found.group(1)).label, text)
