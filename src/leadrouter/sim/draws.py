"""Common random numbers: the uniforms a simulated run draws, keyed by what they are for.

Every draw is a pure function of (seed, lead id, purpose) or (seed, rep, day), never of draw
order, so every policy simulated with one seed sees the same lead answer, buy and spend the
same, and a lead's row does not depend on which other leads are drawn with it. `simulate` reads
a lead's row once per run (`SimRun.draws`)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import numpy as np

from leadrouter._util import stable_key, unit_uniform

__all__ = [
    "KEPT_LEADS",
    "PURPOSES",
    "forget_kept",
    "lead_rows",
    "lead_uniforms",
    "lead_uniforms_many",
    "rep_day_row",
    "rep_day_uniform",
    "rep_day_uniforms",
]

PURPOSES = ("delay", "reached", "valid", "converted", "amount", "neglect")
"""The columns of a lead's row of uniforms, one per purpose; the same in every policy's run."""

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_BITS = 52
"""The resolution of the engine's uniforms (`unit_uniform`): n + 1/2 is exact at 52 bits, so
every draw is strictly inside (0, 1), from 2**-53 to 1 - 2**-53."""


def _salt(purpose: str) -> np.uint64:
    return np.uint64(stable_key(0, f"purpose\x00{purpose}"))


_LEAD_SALTS = np.array([_salt(name) for name in PURPOSES], dtype=np.uint64)
_REP_DAY_SALT = _salt("rep-day")
_key = stable_key.__wrapped__
"""`stable_key` without its cache: one key per lead would only push routing's tie-break keys out."""


def _uniform(keys: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """splitmix64's finaliser on each uint64 key, as a float in (0, 1) (`unit_uniform`).

    A lead's keys for its purposes are one blake2b key XORed with a salt each, so they share
    most of their bits; the finaliser spreads every bit over the whole word, which makes a
    lead's draws for different purposes unrelated. (The capacity draws need no such mix: each
    is `stable_key` of its own name, independent already.)"""
    with np.errstate(over="ignore"):
        z = keys + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
    found: np.ndarray[Any, Any] = unit_uniform(z ^ (z >> np.uint64(31)), _BITS)
    return found


def lead_uniforms_many(seed: int, lead_ids: Iterable[str]) -> np.ndarray[Any, Any]:
    """Every lead's row of uniforms at once: one row per lead id, one column per purpose in
    `PURPOSES`, each in (0, 1).

    Entry (i, j) is a pure function of (seed, lead id i, purpose j): a 64-bit key per lead from
    `stable_key(seed, "lead" + id)` (blake2b), mixed with a fixed salt per purpose by splitmix64's
    finaliser. So a lead's row does not depend on which other leads are drawn, or in what order.
    """
    keys = np.fromiter((_key(seed, f"lead\x00{lead_id}") for lead_id in lead_ids), dtype=np.uint64)
    return _uniform(keys[:, None] ^ _LEAD_SALTS[None, :])


def lead_uniforms(seed: int, lead_id: str) -> np.ndarray[Any, Any]:
    """The lead's row of uniforms in (0, 1), one per purpose in `PURPOSES`.

    A pure function of (seed, lead id): the same in every policy's run and on every machine, and
    the same row `lead_uniforms_many` gives this lead.
    """
    row: np.ndarray[Any, Any] = lead_uniforms_many(seed, (lead_id,))[0]
    return row


def rep_day_uniforms(seed: int, rep_ids: Iterable[str], day: str) -> np.ndarray[Any, Any]:
    """Each rep's uniform for one local day (ISO date), in (0, 1): a pure function of (seed,
    rep, day), whichever other reps are drawn with it."""
    keys = np.fromiter(
        (_key(seed, f"rep\x00{rep_id}\x00{day}") for rep_id in rep_ids), dtype=np.uint64
    )
    return _uniform(keys ^ _REP_DAY_SALT)


def rep_day_uniform(seed: int, rep_id: str, day: str) -> float:
    """The rep's uniform for one local day (ISO date): a pure function of (seed, rep, day)."""
    return float(rep_day_uniforms(seed, (rep_id,), day)[0])


KEPT_LEADS = 50_000
"""`lead_rows` keeps the draws of runs up to this many leads: a bigger run is simulated seldom
and drawing its uniforms is a small part of it, while keeping them would hold hundreds of MB."""

LeadRows = tuple[np.ndarray[Any, Any], dict[str, tuple[float, ...]]]


def lead_rows(seed: int, lead_ids: tuple[str, ...]) -> LeadRows:
    """`lead_uniforms_many(seed, lead_ids)`, read-only, and the same rows as one tuple of Python
    floats per lead id (indexing a tuple is far cheaper than a numpy row); neither may be
    changed: they are shared.

    The last two (seed, leads) asked are kept (for up to `KEPT_LEADS` leads): `compare` runs
    every policy on one seed's draws (common random numbers), so every run of a seed but the
    first finds them made instead of hashing every lead id again."""
    if len(lead_ids) > KEPT_LEADS:
        return _lead_rows(seed, lead_ids)
    return _kept_lead_rows(seed, lead_ids)


def _lead_rows(seed: int, lead_ids: tuple[str, ...]) -> LeadRows:
    matrix = lead_uniforms_many(seed, lead_ids)
    matrix.flags.writeable = False
    return matrix, dict(zip(lead_ids, map(tuple, matrix.tolist()), strict=True))


_kept_lead_rows = lru_cache(maxsize=2)(_lead_rows)


@lru_cache(maxsize=1024)
def rep_day_row(seed: int, rep_ids: tuple[str, ...], day: str) -> tuple[float, ...]:
    """`rep_day_uniforms(seed, rep_ids, day)` as a tuple of Python floats; the last 1,024 asked
    are kept, so the runs of one seed (every policy of a `compare`) draw each day once."""
    return tuple(rep_day_uniforms(seed, rep_ids, day).tolist())


def forget_kept() -> None:
    """Drop the draws `lead_rows` and `rep_day_row` keep, so the next run draws its own, as a
    lone `simulate()` does (benchmarks time each policy so, not on draws another policy made)."""
    _kept_lead_rows.cache_clear()
    rep_day_row.cache_clear()
