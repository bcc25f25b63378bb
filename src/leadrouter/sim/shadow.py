"""Shadow mode: what a candidate policy would have decided beside each live decision.

The safe step between a simulation and switching policy. The live router keeps routing; for each
lead, just before it is routed, a candidate router with the same roster, rules, caps and timers
previews the lead on the same ledger (a preview writes nothing), so the candidate's answer is
exactly what it would have done in that state. Nothing the candidate says is acted on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from leadrouter.context import Context
from leadrouter.model import Decision, Lead
from leadrouter.router import Router
from leadrouter.strategies.base import Pick, Strategy

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Shadow", "ShadowPair", "shadow"]


@attrs.frozen
class ShadowPair:
    """One lead: the live decision and the candidate's preview made just before it."""

    live: Decision
    candidate: Decision

    @property
    def agree(self) -> bool:
        """Both sent the lead to the same rep (or both left it in the same pool)."""
        return (self.live.rep_id, self.live.pool) == (self.candidate.rep_id, self.candidate.pool)


class Shadow:
    """Routes with the live `router` and records the candidate's choice beside each decision.

    Use it where the live router was used (`shadow.route(lead)` instead of `router.route(lead)`);
    everything else (claims, records, ticks) goes to the live router as before. The candidate is
    rebuilt when the live roster changes, so joins and departures are mirrored.
    """

    def __init__(
        self, router: Router, candidate: Strategy | Callable[[Context], Pick | str | None]
    ) -> None:
        self.router = router
        self.candidate = candidate
        self._pairs: list[ShadowPair] = []
        self._shadow: Router | None = None

    def _candidate_router(self) -> Router:
        live = self.router
        if self._shadow is None or self._shadow.roster is not live.roster:
            self._shadow = Router(
                self.candidate,
                live.reps,
                ledger=live.ledger,
                rules=live.rules,
                caps=live.caps,
                lifecycle=live.lifecycle,
                clock=live.clock,
                seed=live.seed,
            )
        return self._shadow

    def route(self, lead: Lead, now: datetime | None = None) -> Decision:
        """Preview with the candidate, then route live; returns the live decision."""
        if lead.id in self.router.ledger:
            return self.router.route(lead, now)
        candidate = self._candidate_router().preview(lead, now)
        live = self.router.route(lead, now)
        self._pairs.append(ShadowPair(live, candidate))
        return live

    def route_many(self, leads: Iterable[Lead], now: datetime | None = None) -> list[Decision]:
        """`route` for each lead, in order."""
        return [self.route(lead, now) for lead in leads]

    @property
    def pairs(self) -> tuple[ShadowPair, ...]:
        """Every (live, candidate) pair recorded so far, in routing order."""
        return tuple(self._pairs)

    def agreement(self) -> float:
        """The share of leads on which the candidate agreed with the live policy (NaN if none)."""
        if not self._pairs:
            return float("nan")
        return sum(pair.agree for pair in self._pairs) / len(self._pairs)

    def report(self) -> pd.DataFrame:
        """One row per rep (and pool): leads the live policy gave them, leads the candidate
        would have given them, and the difference — where and how often the two differ."""
        import pandas as pd

        live = Counter(_where(pair.live) for pair in self._pairs)
        cand = Counter(_where(pair.candidate) for pair in self._pairs)
        rows = [
            {
                "to": key,
                "live": live[key],
                "candidate": cand[key],
                "difference": cand[key] - live[key],
            }
            for key in sorted(set(live) | set(cand))
        ]
        return pd.DataFrame(rows, columns=["to", "live", "candidate", "difference"]).set_index("to")

    def differences(self) -> pd.DataFrame:
        """One row per lead on which the two disagreed: lead, live place, candidate place, and
        the candidate's reason."""
        import pandas as pd

        rows = [
            {
                "lead_id": p.live.lead_id,
                "live": _where(p.live),
                "candidate": _where(p.candidate),
                "candidate_reason": str(p.candidate.reasons[-1]) if p.candidate.reasons else "",
            }
            for p in self._pairs
            if not p.agree
        ]
        return pd.DataFrame(rows, columns=["lead_id", "live", "candidate", "candidate_reason"])


def _where(decision: Decision) -> str:
    return decision.rep_id if decision.rep_id is not None else f"pool:{decision.pool}"


def shadow(router: Router, candidate: Strategy | Callable[[Context], Pick | str | None]) -> Shadow:
    """Shadow the live `router` with `candidate` (see `Shadow`)."""
    return Shadow(router, candidate)
