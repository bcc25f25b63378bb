"""What a fitted behaviour model holds, as plain data: `ModelFacts`, from
`FittedBehaviour.describe()`.

One source of facts for every reader of a model: `FittedBehaviour.summary()` is
`describe().text()`, and the report's section on the behaviour model lays the same facts out as
tables (`leadrouter.sim.report.model_section`), so the terminal and the report cannot tell two
stories. Every figure is the model's own value, unrounded; the readers round.
"""

from __future__ import annotations

import attrs

__all__ = ["ModelFacts", "PairFacts", "ProductFacts", "RepFacts", "segment_name"]


def segment_name(segment: str) -> str:
    """A segment as a reader sees it: the blank segment is "(none)"."""
    return segment or "(none)"


@attrs.frozen
class RepFacts:
    """One rep's figures in the model; None where the model holds none for the rep (it then
    uses the team's, or an assumption named in the gaps)."""

    rep_id: str
    leads: int | None
    """Leads the history assigned to the rep (None when the owner is unknown)."""
    capacity: float | None
    """First touches per working day (`FittedBehaviour.capacity`)."""
    pickup_median: float | None
    """The median of the pick-up delays the model draws for the rep, in `ModelFacts.
    delay_unit` (None without first-touch times: the delay is then assumed)."""
    neglect: float | None
    """The share of the rep's leads never touched (`FittedBehaviour.p_neglect`)."""
    closing_factor: float | None
    """The rep's sales over those the lead mix expects, shrunk toward 1 (1: closes as the
    team does with the same leads)."""


@attrs.frozen
class ProductFacts:
    """One product's conversion factor on the rep x segment rates, its evidence and its median
    sale amount (None when it had no sale)."""

    product: str
    factor: float
    sales: float
    reached_valid: float
    expected: float
    amount_median: float | None

    def evidence(self) -> str:
        """The factor's evidence in words: "114 sales of 278, 99.3 expected"."""
        return f"{self.sales:.3g} sales of {self.reached_valid:.3g}, {self.expected:.3g} expected"


@attrs.frozen
class PairFacts:
    """One rep x segment pair of the conversion table: its record, its prior (segment rate x
    rep factor), the shrunk `estimate`, the data's `weight` in it, and `thin`: fewer reached
    valid leads than the prior strength, so the estimate leans on the prior."""

    rep_id: str
    segment: str
    leads: int
    reached_valid: float
    sales: float
    prior: float
    estimate: float
    weight: float
    thin: bool


@attrs.frozen
class ModelFacts:
    """A fitted model's facts: where it was fitted from and over how many leads, how each part
    was fitted (`fitted`, in words), the per-rep figures, the conversion by segment and by
    product, how much reps differ in closing, the gaps (assumed, not fitted) and the rep x
    segment pairs."""

    origin: str
    leads: int
    """The leads the fit read: those with a rep (every lead when the owner is unknown)."""
    fitted: tuple[str, ...]
    reps: tuple[RepFacts, ...]
    segments: tuple[tuple[str, float], ...]
    """Each segment's conversion of reached valid leads, over its own product mix."""
    products: tuple[ProductFacts, ...]
    """Empty when the export has one product (or none)."""
    rep_spread: str | None
    gaps: tuple[str, ...]
    pairs: tuple[PairFacts, ...]
    prior_strength: float
    delay_unit: str
    """"working minutes" when the model counts delays on the team's work week, else
    "minutes"."""
    workday_minutes: float

    def thin_pairs(self) -> tuple[PairFacts, ...]:
        """The pairs whose estimate leans on the shrinkage."""
        return tuple(pair for pair in self.pairs if pair.thin)

    def text(self) -> str:
        """The facts as the terminal's text (`FittedBehaviour.summary()`)."""
        lines = [f"Behaviour model fitted from {self.origin}", "", "Fitted:"]
        lines.extend(f"  - {note}" for note in self.fitted)
        caps = ", ".join(
            f"{r.rep_id} {r.capacity:.1f}" for r in self.reps if r.capacity is not None
        )
        lines.append(f"  - capacity (first touches per working day): {caps}")
        seg = ", ".join(f"{segment_name(s)} {p:.1%}" for s, p in self.segments)
        lines.append(f"  - conversion of reached valid leads by segment: {seg}")
        if self.products:
            by_product = ", ".join(
                f"{p.product} {p.factor:.2f}x ({p.evidence()})" for p in self.products
            )
            lines.append(f"  - conversion by product, a factor on those rates: {by_product}")
            amounts = ", ".join(
                f"{p.product} {p.amount_median:,.0f}"
                for p in self.products
                if p.amount_median is not None
            )
            if amounts:
                lines.append(f"  - median sale amount by product: {amounts}")
        if self.rep_spread is not None:
            lines.append(f"  - how much reps differ in closing: {self.rep_spread}")
        lines.append("")
        if self.gaps:
            lines.append("Gaps (assumed, not fitted):")
            lines.extend(f"  - {gap}" for gap in self.gaps)
        else:
            lines.append("Gaps: none")
        lines.append("")
        thin = self.thin_pairs()
        lines.append(
            f"Rep x segment pairs with too little data (fewer than {self.prior_strength:g} "
            f"reached valid leads; estimates lean on the shrinkage): {len(thin)} of "
            f"{len(self.pairs)}"
        )
        lines.extend(
            f"  - {p.rep_id} x {segment_name(p.segment)}: {p.sales:.3g} sales of "
            f"{p.reached_valid:.3g}, estimate {p.estimate:.1%} "
            f"(data weight {p.weight:.0%}, prior {p.prior:.1%})"
            for p in thin
        )
        return "\n".join(lines)
