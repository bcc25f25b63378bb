"""The eight built-in demo policies, and the demo history `leadrouter compare --demo` runs on.

`demo_policies(history)` returns one policy per strategy family of the catalogue, each set up
sensibly for the team in `history` (caps sized from its lead volume, so no policy starves the
team or floods one rep):

- `equal-rotation` — `EqualRotation()`: the baseline, what most teams do first.
- `performance-weighted` — `PerformanceWeighted(window=14 days)`: shares follow each rep's
  conversion in the simulated run so far, shrunk toward the team rate.
- `utilization-weighted` — `UtilizationWeighted(window=14 days)`: shares follow how well each rep
  uses leads (touched within the SLA, reached, tagged).
- `quota-proportional` — `QuotaProportional()` over **illustrative quotas** (120, 100, 80, … in
  roster order): an export has no targets, so the demo invents them to show the mechanism.
- `grab-with-caps` — `GrabWithCaps(held=…, daily=…)`: leads wait in the public pool and reps
  claim them, at most about one and a half average days' leads each per day and twice that held
  open at once. No idle penalty: the simulator does not model one faithfully yet (a lead released
  as idle keeps counting in its former holder's queue until the touch that would have come), so
  an idle limit would measure that, not the policy.
- `dynamic-caps` — `EqualRotation()` under `DynamicCaps`: each rep's daily cap forecast from
  their own daily first touches (exponential smoothing) with 20% headroom, a fixed fallback
  while a rep has under 14 days of history, bounded so nobody gets fewer than half an average
  day's leads.
- `profile-matching` — `ProfileMatching()` (learned rep × segment conversion in the run so far,
  shrunk) with a daily cap of one and a half average days' leads, so the best closer of a
  segment is not flooded.
- `tiered-delay` — `TieredDelay` over **illustrative tiers**: every rep but the weakest closers
  (an eighth of the team, at least one) is tier 0 (premium, a day's patience); the weakest are
  tier 1 (two days) and get what the premium tier did not reach in time. The premium tier is
  most of the team on purpose: tier 0 gets every lead first, so a premium tier smaller than the
  volume it can work builds a queue that only falls through by waiting out the patience.

Illustrative values (quotas, tiers) are given to copies of the history's reps inside factories
(`attrs.evolve(rep, quota=…)`); the history itself is not changed. The strategies that learn
(performance, utilization, profile matching) learn from the simulated run's own ledger, which
starts empty: they begin as rotation and adapt as simulated sales come in.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING

import attrs

from leadrouter.caps import Cap, FixedCap
from leadrouter.dynamic_caps import DynamicCaps
from leadrouter.model import Rep
from leadrouter.router import Router
from leadrouter.strategies.base import Strategy
from leadrouter.strategies.equal_rotation import EqualRotation
from leadrouter.strategies.grab_with_caps import GrabWithCaps
from leadrouter.strategies.performance_weighted import PerformanceWeighted
from leadrouter.strategies.profile_matching import ProfileMatching
from leadrouter.strategies.quota_proportional import QuotaProportional
from leadrouter.strategies.tiered_delay import Tier, TieredDelay
from leadrouter.strategies.utilization_weighted import UtilizationWeighted

if TYPE_CHECKING:
    from leadrouter.sim.engine import Policy
    from leadrouter.sim.history import History

__all__ = [
    "DEMO_DAYS",
    "DEMO_LEADS",
    "DEMO_POLICIES",
    "DEMO_REPS",
    "DEMO_SEEDS",
    "ILLUSTRATIVE_QUOTAS",
    "demo_history",
    "demo_notes",
    "demo_policies",
]

DEMO_POLICIES = (
    "equal-rotation",
    "performance-weighted",
    "utilization-weighted",
    "quota-proportional",
    "grab-with-caps",
    "dynamic-caps",
    "profile-matching",
    "tiered-delay",
)
"""The names `demo_policies` returns, in order (equal rotation first: the usual baseline)."""

DEMO_LEADS = 3000
DEMO_REPS = 8
DEMO_DAYS = 35
DEMO_SEEDS = 20
"""The demo's size: sized so that `leadrouter compare --demo` (fit, calibration, 8 policies x
20 seeds - five parameter draws, as the coverage benchmark measures them - and the sensitivity
check on two processes) runs in about a minute on a two-core machine."""

ILLUSTRATIVE_QUOTAS = (120.0, 100.0, 80.0)
"""Quotas given to the reps in roster order, repeating: an export carries no targets."""


def demo_history(
    n_leads: int = DEMO_LEADS, n_reps: int = DEMO_REPS, days: int = DEMO_DAYS, seed: int = 7
) -> History:
    """The synthetic team history the demo compares policies on (`synthetic(...)`)."""
    from leadrouter.sim.synthetic import synthetic

    return synthetic(n_leads=n_leads, n_reps=n_reps, days=days, seed=seed)


@attrs.frozen
class _Volume:
    """The history's lead volume, to size caps: `per_rep_day` is leads per rep per day with
    leads (the average day's load of one rep)."""

    per_rep_day: float
    tz: str

    @property
    def daily_cap(self) -> int:
        """One and a half average days' leads: room for busy days, a ceiling for one rep."""
        return max(2, math.ceil(1.5 * self.per_rep_day))

    @property
    def floor(self) -> int:
        """Half an average day's leads: the least a dynamic cap may give a rep."""
        return max(1, math.floor(0.5 * self.per_rep_day))


def _volume(history: History) -> _Volume:
    frame = history.to_frame()
    reps = max(1, len(history.roster))
    days = frame["arrived_at"].dt.tz_convert(history.tz).dt.date.nunique()
    return _Volume(len(frame) / reps / max(1, days), history.tz)


def _premium(history: History) -> frozenset[str]:
    """Every rep but the weakest closers in the history (an eighth of the team, at least one
    when there are two reps or more)."""
    frame = history.to_frame()
    roster = [rep.id for rep in history.roster]
    assigned = frame[frame["rep_id"].notna()]
    rates = assigned.groupby("rep_id")["converted"].mean().to_dict()
    ranked = sorted(roster, key=lambda rep: (-float(rates.get(rep, 0.0)), rep))
    standard = max(1, round(len(ranked) / 8)) if len(ranked) > 1 else 0
    return frozenset(ranked[: len(ranked) - standard])


@attrs.frozen
class QuotaFactory:
    """A policy factory: `QuotaProportional` over copies of the reps given `quotas` in roster
    order (repeating) where they have none. A class, not a closure, so it pickles to worker
    processes (`compare(executor=...)`)."""

    quotas: tuple[float, ...] = ILLUSTRATIVE_QUOTAS

    def __call__(self, reps: list[Rep], seed: int) -> Router:
        quotas = self.quotas
        given = [
            attrs.evolve(rep, quota=quotas[i % len(quotas)]) if rep.quota is None else rep
            for i, rep in enumerate(reps)
        ]
        return Router(QuotaProportional(), given, seed=seed)


@attrs.frozen
class TieredFactory:
    """A policy factory: `TieredDelay` with the reps in `premium` as tier 0 (a day's patience)
    and everyone else as tier 1 (two days), both rotating equally. A class, so it pickles."""

    premium: frozenset[str]

    def __call__(self, reps: list[Rep], seed: int) -> Router:
        tiers = [
            Tier(tier=0, strategy=EqualRotation(), patience=timedelta(days=1)),
            Tier(tier=1, strategy=EqualRotation(), patience=timedelta(days=2)),
        ]
        given = [attrs.evolve(rep, tier=0 if rep.id in self.premium else 1) for rep in reps]
        return Router(TieredDelay(tiers), given, seed=seed)


@attrs.frozen
class CappedFactory:
    """A policy factory: `strategy` under `caps` over the reps given. A class, so it pickles."""

    strategy: Strategy
    caps: tuple[Cap, ...]

    def __call__(self, reps: list[Rep], seed: int) -> Router:
        return Router(self.strategy, reps, caps=list(self.caps), seed=seed)


def demo_policies(history: History) -> dict[str, Policy]:
    """The eight demo policies (`DEMO_POLICIES`, in that order), set up for `history`'s team:
    caps sized from its leads per rep per day, premium tier from its observed conversion."""
    volume = _volume(history)
    tz = volume.tz
    cap = volume.daily_cap

    dynamic = CappedFactory(
        EqualRotation(),
        (
            DynamicCaps(
                FixedCap(daily=cap, tz=tz), headroom=0.2, bounds=(volume.floor, 4 * cap), tz=tz
            ),
        ),
    )
    matching = CappedFactory(
        ProfileMatching(window=timedelta(days=28), tz=tz), (FixedCap(daily=cap, tz=tz),)
    )

    policies: dict[str, Policy] = {
        "equal-rotation": EqualRotation(),
        "performance-weighted": PerformanceWeighted(window=timedelta(days=14), tz=tz),
        "utilization-weighted": UtilizationWeighted(window=timedelta(days=14), tz=tz),
        "quota-proportional": QuotaFactory(),
        "grab-with-caps": GrabWithCaps(held=2 * cap, daily=cap, tz=tz),
        "dynamic-caps": dynamic,
        "profile-matching": matching,
        "tiered-delay": TieredFactory(_premium(history)),
    }
    assert tuple(policies) == DEMO_POLICIES
    return policies


def demo_notes(history: History) -> dict[str, str]:
    """One sentence per demo policy saying how it is set up for `history`'s team (for reports),
    with the illustrative values marked as such."""
    volume = _volume(history)
    cap = volume.daily_cap
    premium = _premium(history)
    standard = [rep.id for rep in history.roster if rep.id not in premium] or ["nobody"]
    quotas = ", ".join(f"{q:g}" for q in ILLUSTRATIVE_QUOTAS)
    return {
        "equal-rotation": "EqualRotation: equal counts, least-recently-assigned first.",
        "performance-weighted": (
            "PerformanceWeighted over 14 days: shares follow each rep's conversion in the "
            "simulated run so far, shrunk toward the team rate."
        ),
        "utilization-weighted": (
            "UtilizationWeighted over 14 days: shares follow how well each rep uses leads "
            "(touched within the SLA, reached, tagged)."
        ),
        "quota-proportional": (
            f"QuotaProportional over illustrative quotas ({quotas}, ... in roster order): "
            "the export has no targets, so these are invented to show the mechanism."
        ),
        "grab-with-caps": (
            f"GrabWithCaps: reps claim from the public pool, at most {cap} leads a day and "
            f"{2 * cap} open at once each; how reps would claim is an assumption of the "
            "simulator."
        ),
        "dynamic-caps": (
            f"EqualRotation under DynamicCaps: each rep's daily cap forecast from their own "
            f"daily first touches with 20% headroom, fallback {cap} a day for the first 14 "
            f"days, never below {volume.floor}."
        ),
        "profile-matching": (
            f"ProfileMatching: rep x segment conversion learned in the run so far, with a "
            f"daily cap of {cap} leads so no rep is flooded."
        ),
        "tiered-delay": (
            f"TieredDelay over illustrative tiers: tier 0 (a day's patience) = every rep but "
            f"the weakest closers in the history; tier 1 (two days) = {', '.join(standard)}."
        ),
    }
