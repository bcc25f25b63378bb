"""Utilisation-weighted allocation: reps who use their leads well get more of them.

Bought leads are lost to slow first calls and to leads nobody works. This strategy weights each
rep by how they used the leads they were given over a window — touched within the SLA, reached,
given a verdict — so reps who let leads rot get fewer, by deficit (`Weighted`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import attrs

from leadrouter._util import shrunk
from leadrouter._validators import positive_duration
from leadrouter.ledger import LedgerView
from leadrouter.strategies.base import StrategyTags
from leadrouter.strategies.performance_weighted import (
    PRIOR,
    WINDOW,
    _DailyWeighted,
    _Fit,
    _span,
)

__all__ = ["UtilizationWeighted"]


@attrs.frozen(repr=False)
class UtilizationWeighted(_DailyWeighted):
    """Shares grow with how well each rep uses leads over `window`; waste and slow follow-up
    shrink them.

    When to use it: leads are expensive and the loss is in follow-up, not in closing — reps who
    call late, never reach anyone, or never say whether a lead was any good should get fewer.

    Utilisation of rep r is the mean of three per-lead rates over the leads they received in
    the window, each shrunk toward the team's rate with `k = prior_strength` pseudo-leads (the
    same empirical-Bayes prior as `PerformanceWeighted`):

        sla(r)     = first touches within `sla` of receiving the lead / received
        reached(r) = leads reached (a touch that connected) / received
        tagged(r)  = leads given a verdict, valid or invalid / received
        rate       = (count(r) + k * team_count / team_received) / (received(r) + k)
        weight(r)  = (sla + reached + tagged) / 3, each as shrunk `rate`

    Guarantee: weights come from events dated in the `window` before the start of the current
    day (in `tz`) and are fixed for the day; leads are shared by deficit over `period`, so while
    every rep stays eligible each rep's count is within two leads of their share at every point
    (within one in most teams).
    Follow-up recorded today moves weights from tomorrow.
    With a `period` longer than a day ("week", "month", "all") the weights are learned again
    at each midnight inside it, so the target moves there: the bound holds from the period's
    start to the first midnight inside it, and each change is then absorbed at the bounded
    catch-up pace (`Weighted`), as `leadrouter.testing.check_shares_track_weights` checks.

    With no history — no lead received by the eligible reps in the window, or none of them
    touched, reached or tagged — every rep gets weight 1: equal rotation by deficit.
    """

    window: timedelta = attrs.field(default=timedelta(days=14), validator=WINDOW)
    prior_strength: float = attrs.field(default=20.0, validator=PRIOR)
    sla: timedelta = attrs.field(
        default=timedelta(hours=1), validator=positive_duration("timedelta(hours=1)")
    )

    tags = StrategyTags(needs_history=True, weighted=True)

    def _measure(
        self, view: LedgerView, rep: str, since: datetime, until: datetime
    ) -> tuple[float, ...]:
        """(leads received, touched within the SLA, reached, tagged) over the window."""
        stats = view.stats(rep, since=since, until=until, sla=self.sla)
        return (
            stats.received,
            stats.touched_within_sla or 0,
            stats.reached,
            stats.valid + stats.invalid,
        )

    def _fit(self, ids: list[str], measures: Mapping[str, tuple[float, ...]]) -> _Fit | None:
        received = {rep: measures[rep][0] for rep in ids}
        counts = {rep: measures[rep][1:] for rep in ids}
        total_n = sum(received.values())
        totals = [sum(c[i] for c in counts.values()) for i in range(3)]
        if total_n == 0 or not any(totals):
            return None
        team = [t / total_n for t in totals]
        k = self.prior_strength
        rates = {r: [shrunk(counts[r][i], received[r], team[i], k) for i in range(3)] for r in ids}
        weights = {r: sum(rates[r]) / 3 for r in ids}
        window = _span(self.window)
        sla = _span(self.sla)

        def note(r: str) -> str:
            return (
                f"utilisation {weights[r]:.3g} = mean of shrunk rates: touched within "
                f"{sla} {rates[r][0]:.2f}, reached {rates[r][1]:.2f}, tagged "
                f"{rates[r][2]:.2f} ({received[r]} leads in the {window} before today)"
            )

        return _Fit(weights, note)
