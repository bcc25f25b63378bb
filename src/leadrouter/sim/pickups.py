"""Reps' pick-up delays, read off a history, and how a replicate redraws them.

A rep's pick-up delay is the working minutes from assignment to first touch of a lead that found
nothing of theirs waiting (the queue is the simulator's to add). A rep with `MIN_SAMPLE` or more
such leads is simulated with their own delays; a rep with fewer, with the team's scaled by how
slow their few are. That scale is a normal model of a rep's mean ln(1 + delay): each delay is the
rep's mean plus noise of the team's within-rep variance `s2`, and the reps' means spread around
the team's by `s2 / PRIOR` (worth `PRIOR` delays at the team's pace). The shift of a rep's mean
from the team's is then estimated by its posterior mean, `sum(ln(1 + d) - centre) / (n + PRIOR)`,
with posterior variance `s2 / (n + PRIOR)`.

A replicate (`Pickups.draw`) carries each figure's uncertainty: the team's delays and every
rep's own are resampled with replacement; a scaled rep's shift is drawn from its posterior. A
resample of a handful of delays would spread that shift far too little (`n s2 / (n + PRIOR)**2`
against `s2 / (n + PRIOR)`: a third for three delays), and a resample of the scaled team's
hundreds hardly moves it at all - which is what replicates did, so the SLA coverage and speed of
a rotation, which rest on every rep's pick-ups, had intervals too narrow to cover their truth 95%
of the time (docs/analyst/limits.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from statistics import NormalDist
from typing import Any

import attrs

from leadrouter._util import stable_key, unit_uniform

__all__ = ["MIN_SAMPLE", "PRIOR", "Pickups", "Samples", "read_pickups"]

MIN_SAMPLE = 20
"""A rep needs this many leads first-touched with nothing waiting before their own pick-up
delays are used; fewer, and the team's are scaled to theirs."""
PRIOR = 5.0
"""Delays at the team's pace a rep's few pick-up delays are shrunk toward."""

_NORMAL = NormalDist()

Samples = tuple[tuple[float, ...], dict[str, tuple[float, ...]]]
"""(the team's pick-up sample, each rep's), as a fitted model simulates them."""


@attrs.frozen(eq=False)
class Pickups:
    """The pick-up delays with nothing waiting (see the module docstring): the team's, sorted;
    each rep's own, sorted, however few; and `s2`, the variance of ln(1 + delay) within a rep,
    pooled over the reps with two or more."""

    team: tuple[float, ...]
    own: Mapping[str, tuple[float, ...]]
    s2: float

    def point(self) -> dict[str, tuple[float, ...]]:
        """Each rep's sample as the fit simulates it: their own delays, or the team's scaled by
        the posterior mean of their shift."""
        return {rep: self._sample(rep, self.team, None) for rep in self.own}

    def draw(self, seed: int) -> Samples:
        """(the team's sample, each rep's) for the replicate `seed`: the team's and each rep's
        own delays resampled with replacement, a scaled rep's shift drawn from its posterior;
        keyed by (seed, rep), so a rep's draw does not depend on the other reps."""
        team = _resample(seed, "", self.team)
        return team, {rep: self._sample(rep, team, seed) for rep in self.own}

    def _sample(self, rep: str, team: tuple[float, ...], seed: int | None) -> tuple[float, ...]:
        own = self.own[rep]
        if len(own) >= MIN_SAMPLE or not team:
            return own if seed is None else _resample(seed, rep, own)
        centre = math.fsum(math.log1p(x) for x in self.team) / len(self.team)
        n = len(own) + PRIOR
        shift = math.fsum(math.log1p(x) - centre for x in own) / n
        if seed is not None:
            u = unit_uniform(stable_key(seed, f"pickup-shift\x00{rep}"))
            shift += math.sqrt(self.s2 / n) * _NORMAL.inv_cdf(u)
        scale = math.exp(shift)
        return tuple(x * scale for x in team)


def read_pickups(free: Any) -> Pickups:
    """The pick-up delays of `free` (leads first-touched with nothing waiting: `rep_id` and
    `work_delay` columns), the team's and each rep's."""
    import numpy as np

    team = tuple(float(x) for x in np.sort(free["work_delay"].to_numpy(dtype=float)))
    own: dict[str, tuple[float, ...]] = {}
    squares, dof = 0.0, 0
    for rep_id, group in free.groupby("rep_id"):
        delays = np.sort(group["work_delay"].to_numpy(dtype=float))
        own[str(rep_id)] = tuple(float(x) for x in delays)
        if len(delays) >= 2:
            logs = np.log1p(delays)
            squares += float(((logs - logs.mean()) ** 2).sum())
            dof += len(delays) - 1
    s2 = squares / dof if dof else float(np.var(np.log1p(np.asarray(team)))) if team else 0.0
    return Pickups(team=team, own=own, s2=s2)


def _resample(seed: int, rep_id: str, sample: tuple[float, ...]) -> tuple[float, ...]:
    """A bootstrap resample of a sorted sample (with replacement, sorted), keyed by (seed,
    rep): the same for a rep whatever other reps are drawn."""
    import numpy as np

    if len(sample) < 2:
        return sample
    rng = np.random.default_rng(stable_key(seed, f"pickup\x00{rep_id}"))
    return tuple(float(x) for x in np.sort(rng.choice(np.asarray(sample), size=len(sample))))
