"""Per-rep anomaly flags, each with its evidence: prompts for a human look, never verdicts.

`find_anomalies(history_or_ledger)` runs four checks on a team's past and returns one `Anomaly`
per rep a check flags, carrying the numbers that made it fire and the leads involved:

- ``conversion_above_mix`` — the rep converted far more leads than their lead mix predicts:
  expected sales are the rep's leads priced at their peers' conversion rate in the same stratum
  (`by`, segment by default), so a rep given easy leads is not flagged for converting them.
- ``fast_conversion`` — many sales dated implausibly soon (`fast_within`) after the rep got the
  lead, compared with the share of such sales among peers.
- ``claim_return_cycling`` — the rep claims leads from a pool and gives them back (a `Claimed`
  followed by a `Released` by the same rep) far more often than peers: hoarding, or resetting
  timers. Needs a Ledger; an export records no claims.
- ``invalid_tagging`` — the rep tags leads invalid far more often than peers did on comparable
  leads (same stratum), which hides leads from conversion statistics.

Why these statistics: every check compares a rep with their *peers* (the team without the rep),
so one extreme rep cannot hide by pulling the team rate up. The tail probabilities are
conservative — for a sum of independent Bernoulli trials with mean `mu` over `n` leads,
`P(X >= k)` is at most the tail of `Binomial(n, mu / n)` once `k` is above the mean (Hoeffding,
1956) — and each check's threshold `alpha` is Bonferroni-corrected over the reps it tests, so on
a clean team the chance that a check flags anyone is at most about `alpha`. A flag also needs a
minimum size and odds ratio (`min_leads`, `min_count`, `min_odds_ratio`), so a tiny but
"significant" difference on a large team is not a flag.

Nothing is silently skipped: a check the data cannot support (no rep recorded, no sale times,
no tags, no claims) returns an `Anomaly` of kind ``not_checkable`` saying why, instead of
nothing. Flags are never acted on by the library.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import timedelta
from typing import Any

import attrs
import numpy as np
import pandas as pd

from leadrouter._util import shrunk
from leadrouter.errors import ConfigError
from leadrouter.events import (
    REP_LEFT,
    Arrived,
    Assigned,
    Claimed,
    Converted,
    Event,
    Released,
    Tagged,
)
from leadrouter.ledger import Ledger
from leadrouter.sim.history import History

__all__ = ["CHECKS", "NOT_CHECKABLE", "Anomaly", "anomalies_frame", "find_anomalies"]

CHECKS = ("conversion_above_mix", "fast_conversion", "claim_return_cycling", "invalid_tagging")
"""The checks `find_anomalies` runs, in the order its flags are listed."""

NOT_CHECKABLE = "not_checkable"
"""The kind of an entry saying that a check could not run on this data, and why."""

FRAME_COLUMNS = (
    "kind",
    "check",
    "rep_id",
    "p_value",
    "observed",
    "expected",
    "n",
    "odds_ratio",
    "evidence",
    "lead_ids",
)


@attrs.frozen(kw_only=True)
class Anomaly:
    """One flag on one rep, or one check that could not run.

    - `kind`: the check that fired (one of `CHECKS`), or ``not_checkable``.
    - `check`: the check this entry is about (equal to `kind` for a flag).
    - `rep_id`: the flagged rep (None for ``not_checkable``).
    - `evidence`: one sentence with the numbers, for a human to read.
    - `p_value`: the Bonferroni-corrected tail probability of seeing the rep's count (or more)
      if they behaved like their peers on the same leads; smaller is stranger.
    - `observed`, `expected`: the rep's count and the count their peers' rates predict.
    - `n`: how many of the rep's leads (or sales, or claims) the check looked at.
    - `lead_ids`: the leads behind the count, so someone can open them in the CRM.
    """

    kind: str
    check: str
    rep_id: str | None
    evidence: str
    p_value: float | None = None
    observed: float | None = None
    expected: float | None = None
    n: int = 0
    lead_ids: tuple[str, ...] = ()

    @property
    def odds_ratio(self) -> float | None:
        """The rep's odds (observed against the rest of `n`) over the odds their peers' rates
        predict; about observed / expected when both are small shares of `n`. None for
        ``not_checkable``."""
        if self.observed is None or self.expected is None:
            return None
        return _odds_ratio(self.observed, self.expected, self.n)


def _odds_ratio(observed: float, expected: float, n: int) -> float:
    if expected <= 0 or observed >= n:
        return math.inf
    if expected >= n:
        return 0.0
    return (observed / (n - observed)) / (expected / (n - expected))


def find_anomalies(
    source: History | Ledger,
    *,
    checks: Iterable[str] = CHECKS,
    alpha: float = 0.01,
    by: Sequence[str] = ("segment",),
    min_leads: int = 30,
    min_count: int = 3,
    min_odds_ratio: float = 2.0,
    prior_strength: float = 10.0,
    fast_within: timedelta = timedelta(minutes=5),
    cycle_reasons: Collection[str] | None = None,
) -> list[Anomaly]:
    """Flags per rep, with evidence, from a `History` (an export or `synthetic`) or a `Ledger`.

    Parameters (all thresholds apply per check):

    - `checks`: which of `CHECKS` to run.
    - `alpha`: family-wise false-flag rate per check; a rep is flagged when their tail
      probability times the number of reps tested is below it.
    - `by`: the lead fields that make leads comparable (strata): peers' rates are taken per
      stratum and applied to the rep's own leads. ``("source", "segment")`` is finer; a stratum
      with few peer leads is shrunk toward the peers' overall rate with `prior_strength`
      pseudo-leads.
    - `min_leads`: a rep needs at least this many leads (conversion, invalid tagging) to be
      tested; `min_count`: at least this many events of the flagged kind (sales, fast sales,
      cycles, invalid tags); `min_odds_ratio`: the rep's odds must be at least this multiple of
      the odds peers' rates predict (odds, not rates, so that 80% invalid against an expected
      60% counts as far: odds 4 against 1.5).
    - `fast_within`: a sale this soon after the rep got the lead (assignment or claim) is fast.
    - `cycle_reasons`: the release reasons that make a claim a cycle (None: every reason but
      `REP_LEFT`, a hand-over the rep did not choose).

    Never raises on missing data: a check that needs what the source lacks gives one
    ``not_checkable`` entry saying why. Flags come first, by check then p-value; deterministic
    for the same input.
    """
    wanted = list(dict.fromkeys(checks))
    unknown = [name for name in wanted if name not in CHECKS]
    if unknown:
        raise ConfigError(f"find_anomalies: unknown checks {unknown}; choose from {list(CHECKS)}")
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"find_anomalies: alpha must be in (0, 1), got {alpha!r}")
    if min_odds_ratio < 1.0 or prior_strength < 0 or min_leads < 1 or min_count < 1:
        raise ConfigError(
            "find_anomalies: min_odds_ratio must be >= 1, prior_strength >= 0, min_leads and "
            f"min_count >= 1; got {min_odds_ratio!r}, {prior_strength!r}, {min_leads!r}, "
            f"{min_count!r}"
        )
    if fast_within <= timedelta(0):
        raise ConfigError(f"find_anomalies: fast_within must be positive, got {fast_within!r}")
    if isinstance(source, History):
        table, events = _table_from_history(source), None
    elif isinstance(source, Ledger):
        events = list(source.events())
        table = _table_from_events(events)
    else:
        raise ConfigError(
            f"find_anomalies: expected a History or a Ledger, got {type(source).__name__}; "
            "replay events with Ledger.from_events(events)"
        )
    missing_by = [name for name in by if name not in table.columns]
    if missing_by:
        raise ConfigError(
            f"find_anomalies: by={list(by)} names {missing_by}; use lead fields such as "
            "'source', 'segment', 'region', 'product'"
        )
    settings = _Settings(
        alpha, tuple(by), min_leads, min_count, min_odds_ratio, prior_strength, fast_within
    )
    flags: list[Anomaly] = []
    skipped: list[Anomaly] = []
    for name in CHECKS:
        if name not in wanted:
            continue
        if name == "claim_return_cycling":
            found = _cycling(events, settings, cycle_reasons)
        elif name == "conversion_above_mix":
            found = _above_mix(table, settings)
        elif name == "fast_conversion":
            found = _fast(table, settings)
        else:
            found = _invalid(table, settings)
        if isinstance(found, str):
            skipped.append(
                Anomaly(
                    kind=NOT_CHECKABLE,
                    check=name,
                    rep_id=None,
                    evidence=f"{name}: not checkable: {found}",
                )
            )
        else:
            flags.extend(sorted(found, key=lambda a: (a.p_value or 0.0, a.rep_id or "")))
    return flags + skipped


def anomalies_frame(source: History | Ledger, **options: Any) -> pd.DataFrame:
    """`find_anomalies(source, **options)` as a DataFrame, one row per entry, columns
    `FRAME_COLUMNS` (`lead_ids` a tuple per row)."""
    rows = [
        {
            "kind": a.kind,
            "check": a.check,
            "rep_id": a.rep_id,
            "p_value": a.p_value,
            "observed": a.observed,
            "expected": a.expected,
            "n": a.n,
            "odds_ratio": a.odds_ratio,
            "evidence": a.evidence,
            "lead_ids": a.lead_ids,
        }
        for a in find_anomalies(source, **options)
    ]
    return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))


# ---------------------------------------------------------------------- inputs


@attrs.frozen
class _Settings:
    alpha: float
    by: tuple[str, ...]
    min_leads: int
    min_count: int
    min_odds_ratio: float
    prior_strength: float
    fast_within: timedelta


_TABLE = ("lead_id", "source", "region", "product", "segment", "rep_id", "taken_at")


def _table_from_history(history: History) -> pd.DataFrame:
    """One row per lead: the lead fields, its rep, when the rep got it (the assignment time; the
    arrival where the export has none), the sale and its time, and the valid tag."""
    frame = history.to_frame()
    out = frame.loc[
        :,
        [
            "lead_id",
            "source",
            "region",
            "product",
            "segment",
            "rep_id",
            "converted",
            "converted_at",
            "valid",
        ],
    ].copy()
    out["taken_at"] = frame["assigned_at"].fillna(frame["arrived_at"])
    out["taken_known"] = frame["assigned_at"].notna()
    return out


def _table_from_events(events: Sequence[Event]) -> pd.DataFrame:
    """The same table from ledger events: a lead's rep is whoever converted or tagged it, else
    its last holder; `taken_at` is when that rep last got it (assigned or claimed)."""
    rows: dict[str, dict[str, Any]] = {}
    for event in events:
        if isinstance(event, Arrived):
            lead = event.lead
            rows[lead.id] = {
                "lead_id": lead.id,
                "source": lead.source,
                "region": lead.region,
                "product": lead.product,
                "segment": lead.segment,
                "rep_id": None,
                "taken_at": pd.NaT,
                "converted": False,
                "converted_at": pd.NaT,
                "valid": pd.NA,
            }
            continue
        row = rows.get(event.lead_id)
        if row is None:
            continue
        if isinstance(event, Assigned | Claimed):
            row["rep_id"], row["taken_at"] = event.rep_id, pd.Timestamp(event.at)
        elif isinstance(event, Tagged):
            row["rep_id"], row["valid"] = event.rep_id, event.valid
        elif isinstance(event, Converted):
            row["rep_id"], row["converted"] = event.rep_id, True
            row["converted_at"] = pd.Timestamp(event.at)
    out = pd.DataFrame(list(rows.values()), columns=[*_TABLE, "converted", "converted_at", "valid"])
    out["valid"] = out["valid"].astype("boolean")
    out["converted"] = out["converted"].astype(bool)
    for name in ("taken_at", "converted_at"):
        out[name] = pd.to_datetime(out[name], utc=True)
    out["taken_known"] = out["taken_at"].notna()
    return out


# ---------------------------------------------------------------------- statistics


def _tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): the conservative tail (see the module docstring)."""
    from scipy.stats import binom

    if k <= 0:
        return 1.0
    return float(binom.sf(k - 1, n, min(max(p, 0.0), 1.0)))


def _excess(k: int, n: int, expected: float, tests: int, settings: _Settings) -> float | None:
    """The p-value of `k` hits of `n` against `expected` (binomial tail at rate expected / n,
    Bonferroni-corrected for `tests` reps), or None when the excess is not a flag: fewer than
    `min_count` hits, an odds ratio under `min_odds_ratio`, or p at or above `alpha`."""
    if k < settings.min_count or _odds_ratio(k, expected, n) < settings.min_odds_ratio:
        return None
    p = min(1.0, _tail(k, n, expected / n) * tests)
    return p if p < settings.alpha else None


def _flag(
    kind: str,
    rep: str,
    evidence: str,
    p: float,
    k: int,
    expected: float,
    n: int,
    ids: tuple[str, ...],
) -> Anomaly:
    """A rep's anomaly of `kind`: `k` of `n` observed where `expected` were, on leads `ids`."""
    return Anomaly(
        kind=kind,
        check=kind,
        rep_id=rep,
        evidence=evidence,
        p_value=p,
        observed=float(k),
        expected=expected,
        n=n,
        lead_ids=ids,
    )


def _peer_share(peer_k: int, peer_n: int) -> float:
    """Peers' rate, with half a hit of continuity so a zero never makes any count look
    infinitely unlikely."""
    return (peer_k + 0.5) / (peer_n + 1.0)


def _peer_expected(
    strata: np.ndarray[Any, Any],
    hits: np.ndarray[Any, Any],
    mine: np.ndarray[Any, Any],
    known: np.ndarray[Any, Any],
    prior_strength: float,
) -> float:
    """Expected hits on the rep's leads (`mine`) at peers' rates per stratum, each stratum
    shrunk toward peers' overall rate with `prior_strength` pseudo-leads."""
    peers = ~mine & known
    size = int(strata.max()) + 1 if len(strata) else 0
    peer_n = np.bincount(strata[peers], minlength=size).astype(float)
    peer_k = np.bincount(strata[peers], weights=hits[peers].astype(float), minlength=size)
    overall = float(peer_k.sum() / peer_n.sum()) if peer_n.sum() > 0 else 0.0
    total = peer_n + prior_strength
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(total > 0, shrunk(peer_k, peer_n, overall, prior_strength), overall)
    return float(rate[strata[mine]].sum())


def _by_text(settings: _Settings) -> str:
    return " × ".join(settings.by) if settings.by else "team"


def _rate_flags(
    table: pd.DataFrame,
    hit: pd.Series[Any],
    kind: str,
    noun: str,
    settings: _Settings,
) -> list[Anomaly] | str:
    """Reps whose count of `hit` leads is far above what peers' stratum rates predict."""
    reps = sorted(str(r) for r in table["rep_id"].dropna().unique())
    sizes = table["rep_id"].value_counts()
    tested = [rep for rep in reps if int(sizes.get(rep, 0)) >= settings.min_leads]
    if not tested:
        return f"no rep has the {settings.min_leads} leads or more it needs (min_leads)"
    flags = []
    hits = hit.to_numpy().astype(bool)
    rep_of = table["rep_id"].to_numpy()
    known = table["rep_id"].notna().to_numpy()
    if settings.by:
        strata = table.groupby(list(settings.by), sort=True, dropna=False).ngroup().to_numpy()
    else:
        strata = np.zeros(len(table), dtype=np.int64)
    for rep in tested:
        mine = rep_of == rep
        n = int(mine.sum())
        k = int(hits[mine].sum())
        expected = _peer_expected(strata, hits, mine, known, settings.prior_strength)
        p = _excess(k, n, expected, len(tested), settings)
        if p is None:
            continue
        ids = tuple(table["lead_id"].to_numpy()[mine & hits].tolist())
        evidence = (
            f"{rep}: {k} of {n} leads {noun} ({k / n:.1%}); their lead mix at peers' "
            f"rates by {_by_text(settings)} predicts {expected:.1f} ({expected / n:.1%}), "
            f"odds ratio {_odds_ratio(k, expected, n):.1f}; "
            f"p = {p:.2g} (corrected for {len(tested)} reps)"
        )
        flags.append(_flag(kind, rep, evidence, p, k, expected, n, ids))
    return flags


# ---------------------------------------------------------------------- checks


def _above_mix(table: pd.DataFrame, settings: _Settings) -> list[Anomaly] | str:
    assigned = table[table["rep_id"].notna()].reset_index(drop=True)
    if assigned.empty:
        return "no lead has a rep recorded (rep_id)"
    if assigned["rep_id"].nunique() < 2:
        return "one rep only: there are no peers to compare with"
    if not assigned["converted"].any():
        return "no assigned lead converted (no converted_at or amount)"
    return _rate_flags(
        assigned, assigned["converted"].astype(bool), "conversion_above_mix", "converted", settings
    )


def _invalid(table: pd.DataFrame, settings: _Settings) -> list[Anomaly] | str:
    tagged = table[table["rep_id"].notna() & table["valid"].notna()].reset_index(drop=True)
    if tagged.empty:
        return "no lead with a rep has a valid / invalid tag"
    if tagged["rep_id"].nunique() < 2:
        return "one rep only tagged leads: there are no peers to compare with"
    invalid = ~tagged["valid"].astype(bool)
    return _rate_flags(tagged, invalid, "invalid_tagging", "tagged invalid", settings)


def _fast(table: pd.DataFrame, settings: _Settings) -> list[Anomaly] | str:
    sold = table[table["rep_id"].notna() & table["converted"]]
    if sold.empty:
        return "no lead with a rep converted"
    timed = sold[sold["converted_at"].notna()]
    if timed.empty:
        return "no sale has a time (converted_at), only amounts"
    timed = timed[timed["taken_known"]].reset_index(drop=True)
    if timed.empty:
        return "no sold lead has an assignment time (assigned_at)"
    if timed["rep_id"].nunique() < 2:
        return "one rep only: there are no peers to compare with"
    delay = timed["converted_at"] - timed["taken_at"]
    fast = (delay <= settings.fast_within).to_numpy()
    reps = sorted(str(r) for r in timed["rep_id"].unique())
    rep_of = timed["rep_id"].to_numpy()
    window = _duration(settings.fast_within)
    flags = []
    for rep in reps:
        mine = rep_of == rep
        n, k = int(mine.sum()), int(fast[mine].sum())
        peer_n, peer_k = int((~mine).sum()), int(fast[~mine].sum())
        expected = _peer_share(peer_k, peer_n) * n
        p = _excess(k, n, expected, len(reps), settings)
        if p is None:
            continue
        ids = tuple(timed["lead_id"].to_numpy()[mine & fast].tolist())
        evidence = (
            f"{rep}: {k} of {n} sales ({k / n:.1%}) came within {window} of getting the "
            f"lead; peers {peer_k} of {peer_n} ({peer_k / max(peer_n, 1):.1%}); "
            f"p = {p:.2g} (corrected for {len(reps)} reps)"
        )
        flags.append(_flag("fast_conversion", rep, evidence, p, k, expected, n, ids))
    return flags


def _cycling(
    events: Sequence[Event] | None, settings: _Settings, reasons: Collection[str] | None
) -> list[Anomaly] | str:
    if events is None:
        return (
            "an export records who ended up with a lead, not claims and returns; pass the "
            "Ledger (Ledger.from_events(events)) of a team that claims from a pool"
        )
    claims: dict[str, int] = defaultdict(int)
    cycles: dict[str, list[str]] = defaultdict(list)
    why: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    claimed_by: dict[str, str] = {}
    for event in events:
        if isinstance(event, Claimed):
            claims[event.rep_id] += 1
            claimed_by[event.lead_id] = event.rep_id
        elif isinstance(event, Assigned):
            claimed_by.pop(event.lead_id, None)
        elif isinstance(event, Released):
            rep = claimed_by.pop(event.lead_id, None)
            counts = event.reason != REP_LEFT if reasons is None else event.reason in reasons
            if rep == event.rep_id and counts:
                cycles[rep].append(event.lead_id)
                why[rep][event.reason] += 1
    if not claims:
        return "the ledger has no claims (Claimed events): leads were pushed, not pulled"
    reps = sorted(claims)
    if len(reps) < 2:
        return "one rep only claimed leads: there are no peers to compare with"
    flags = []
    for rep in reps:
        n, k = claims[rep], len(cycles[rep])
        peer_n = sum(claims[r] for r in reps if r != rep)
        peer_k = sum(len(cycles[r]) for r in reps if r != rep)
        expected = _peer_share(peer_k, peer_n) * n
        p = _excess(k, n, expected, len(reps), settings)
        if p is None:
            continue
        ids = tuple(dict.fromkeys(cycles[rep]))
        again = k - len(ids)
        reasons_text = ", ".join(f"{r} {c}" for r, c in sorted(why[rep].items()))
        evidence = (
            f"{rep}: {k} of {n} claims ({k / n:.1%}) ended in a release by the same rep "
            f"({reasons_text}) on {len(ids)} leads"
            + (f", {again} of them re-claims of a lead already returned" if again else "")
            + f"; peers {peer_k} of {peer_n} ({peer_k / max(peer_n, 1):.1%}); "
            f"p = {p:.2g} (corrected for {len(reps)} reps)"
        )
        flags.append(_flag("claim_return_cycling", rep, evidence, p, k, expected, n, ids))
    return flags


def _duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"
