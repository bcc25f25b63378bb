"""synthetic(): a realistic sales team's history, generated from parameters you can see.

The generator exists so that the demo, the docs and the tests walk the same path a real user takes
(an export, loaded and compared), and so that calibration can be tested against a known truth:
the returned History carries every generating parameter in `history.truth`.

What it models, and where each default comes from (figures marked *assumption* are choices that
make a plausible team, not findings; change them with the keyword arguments):

- **Arrivals.** `n_leads` leads over `days` days from `start`, in local time `tz`
  (Asia/Shanghai). Days are weighted by weekday (`WEEKLY`: weekdays 0.9-1.0, Saturday 0.5,
  Sunday 0.4) and hours by `HOURLY`, which peaks 10:00-11:00 and 14:00-17:00 with an evening tail
  and few leads at night: the shape of web-form and ad leads filled in during the working day
  (*assumption*).
- **Sources** (`SOURCES`): search, feed, social, website, referral and expo, with typical lead
  costs from 40 to 320 (each lead's cost varies ±25%, so every cost lies in 30-400, the range
  paid for bought leads) and valid-lead rates from 20% (social) to 60% (referral) - the 20-60%
  range sales teams report for paid leads (*assumption* per source). A lead's own chance of being
  valid moves with its latent intent, around its source's rate.
- **Leads** get a region, product (`PRODUCTS`: basic, pro, enterprise, with close rates 35%, 25%
  and 12% for a valid lead that was reached, and typical amounts 3,000 / 12,000 / 60,000) and
  segment (industry). `score` (0-1, two decimals, the scale of `Lead.score`) is a noisy reading
  of the latent intent and `grade` (A-D) its quartile band, so a grader has something real, but
  imperfect, to learn.
- **Reps** (`n_reps`, ids rep01...) work Monday-Friday 09:00-18:00 and Saturday 10:00-16:00 local
  time (a six-day week is common in Chinese sales teams; *assumption*). Each has a daily capacity
  for first touches (`capacity`: a multiple of the average daily leads per rep, drawn from
  1.0-2.0, so the slowest reps just keep up on an average day and fall behind on busy ones), a
  pick-up lag (mean 5-60 working minutes), a neglect rate (2-10% of their leads are never
  touched), and a skill: a rep effect (normal, sd 0.35 on the log-odds of closing) plus a rep x
  segment effect (sd 0.30; both set by `rep_spread`) - odds of closing differ about threefold
  between the best and the worst rep (*assumption*).
- **Logged assignment** is equal rotation in order of arrival, seconds after the lead arrives;
  every rep sees every kind of lead, as in a team that rotates.
- **First touch** comes when the rep gets to the lead: each rep works their leads in order, one
  first touch per `1/capacity` of a working day, after their pick-up lag, and only in working
  hours - so a lead's delay grows with its rep's load and with nights and Sundays.
- **Contact** decays with the first-touch delay (`ContactDecay`): the chance of reaching a valid
  lead is `floor + (at_zero - floor) * 0.5 ** (delay / half_life)`, by default 75% at once, 30%
  after a long wait, half-life one hour; an invalid lead (wrong number, no interest) is reached
  0.6 times as often. The Lead Response Management study (MIT / InsideSales, 2007: odds of contact
  100x lower at 30 than at 5 minutes) and HBR's "The Short Life of Online Sales Leads" (2011:
  firms responding within an hour ~7x as likely to qualify the lead) motivate a decay; both are
  observational and aggregated across firms, so the default is much gentler than those figures
  and is a parameter, never a constant. The realised contact rate (reached / leads) lands in
  the 20-55% typical of real-time web leads.
- **Verdict and sale.** A touched lead is tagged with its true validity; a valid lead that was
  reached buys with its product's close rate, moved by its rep's skill in its segment and its
  intent; the sale comes on average two working days after the first touch. The realised close
  rate (sales / leads) lands in the typical 2-15%.
- **An export taken mid-stream** (`as_of`). Without it every outcome is final and `stage` is
  missing, as in a plain lead export. With it the History is the CRM export taken at that moment:
  leads that arrived later are not in it, nor touches or sales that came later; a lead whose sale
  came later is "open" (not converted, no sale time or amount); a lead that never buys is "lost"
  at `lost_at` = its first touch plus `FOLLOW_UP` (3 days: the simulator's `follow_up`, after
  which a rep gives up), or - never touched - `STALE` (7 days: a weekly clean-up of stale leads,
  *assumption*) after it arrived, when that is before `as_of`, else "open"; a sale before `as_of`
  is "won". `history.truth` keeps the uncut process (`truth.per_lead` covers every generated
  lead), so a check can compare what a fit makes of the open deals with the truth.

Every random number comes from one generator seeded by `seed`, so a seed gives the same History
on every machine.

`history.truth.behaviour()` is the generating process as a Behaviour (`leadrouter.sim.truth`). A
synthetic team is data drawn from a known behaviour, so this module sits above the behaviour model
and imports it; the truth imports nothing of this module at run time (the log-odds formula both
use is `leadrouter.sim.stream.centred_logit`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import pandas as pd

from leadrouter._util import EMPTY, FrozenMap, freeze
from leadrouter.errors import ConfigError, NaiveDatetimeError
from leadrouter.model import Rep, zone
from leadrouter.sim.history import COLUMNS, History
from leadrouter.sim.stream import Stream, centred_logit, route_logged, sigmoid
from leadrouter.sim.truth import TrueBehaviour
from leadrouter.sim.workweek import WorkClock

if TYPE_CHECKING:
    from leadrouter.strategies.base import Strategy

__all__ = [
    "FOLLOW_UP",
    "HOURLY",
    "PRODUCTS",
    "REGIONS",
    "SEGMENTS",
    "SOURCES",
    "STALE",
    "WEEKLY",
    "WORK_HOURS",
    "ContactDecay",
    "Product",
    "RepTruth",
    "Source",
    "SyntheticTruth",
    "synthetic",
]


def _probability(inst: object, attr: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ConfigError(f"{type(inst).__name__}.{attr.name} must be in (0, 1), got {value!r}")


def _positive(inst: object, attr: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise ConfigError(f"{type(inst).__name__}.{attr.name} must be > 0, got {value!r}")


@attrs.frozen
class Source:
    """Where leads come from: `share` of all leads (relative), typical `cost` per lead, and the
    share of its leads that are valid (`valid_rate`)."""

    name: str
    share: float = attrs.field(validator=_positive)
    cost: float = attrs.field(validator=_positive)
    valid_rate: float = attrs.field(validator=_probability)


@attrs.frozen
class Product:
    """What a lead asks about: `share` of leads (relative), `close_rate` (chance a valid lead
    that was reached buys, for an average rep and lead) and typical sale `price`."""

    name: str
    share: float = attrs.field(validator=_positive)
    close_rate: float = attrs.field(validator=_probability)
    price: float = attrs.field(validator=_positive)


@attrs.frozen
class ContactDecay:
    """The chance that the first touch reaches a valid lead, as the delay from assignment to
    first touch grows: `floor + (at_zero - floor) * 0.5 ** (delay / half_life)`.

    An invalid lead (wrong number, no interest) is reached `invalid` times as often.

    Defaults: 75% when called at once, 30% after a long wait, half the difference lost every
    hour; invalid leads reached 0.6 times as often (*assumption*, much gentler than the
    observational figures that motivate a decay; see the module docstring).
    """

    at_zero: float = attrs.field(default=0.75, validator=_probability)
    floor: float = attrs.field(default=0.30, validator=_probability)
    half_life: timedelta = attrs.field(default=timedelta(hours=1))
    invalid: float = attrs.field(default=0.6, validator=_probability)

    def __attrs_post_init__(self) -> None:
        if self.floor > self.at_zero:
            raise ConfigError(
                f"ContactDecay.floor ({self.floor}) must not exceed at_zero ({self.at_zero})"
            )
        if self.half_life <= timedelta(0):
            raise ConfigError(f"ContactDecay.half_life must be positive, got {self.half_life}")

    def __call__(self, delay: timedelta) -> float:
        """The chance of reaching a valid lead first touched `delay` after assignment."""
        return float(self.minutes(np.array([delay.total_seconds() / 60.0]))[0])

    def minutes(self, delay: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """`__call__` for an array of delays in minutes."""
        half = self.half_life.total_seconds() / 60.0
        decay = np.power(0.5, np.maximum(delay, 0.0) / half)
        result: np.ndarray[Any, Any] = self.floor + (self.at_zero - self.floor) * decay
        return result


@attrs.frozen
class RepTruth:
    """One generated rep: `capacity` (first touches per full working day), `pickup` (mean
    working minutes before picking up a new lead), `neglect` (chance a lead is never touched),
    `effect` (log-odds shift of closing) and `segment_effects` (extra shift per segment)."""

    id: str
    capacity: float
    pickup: float
    neglect: float
    effect: float
    segment_effects: FrozenMap[float] = attrs.field(
        default=EMPTY, converter=freeze, repr=lambda f: repr(dict(f))
    )


SOURCES = (
    Source("search", share=0.30, cost=160.0, valid_rate=0.50),
    Source("feed", share=0.30, cost=90.0, valid_rate=0.30),
    Source("social", share=0.15, cost=60.0, valid_rate=0.20),
    Source("website", share=0.12, cost=40.0, valid_rate=0.45),
    Source("referral", share=0.08, cost=120.0, valid_rate=0.60),
    Source("expo", share=0.05, cost=320.0, valid_rate=0.55),
)
"""Default sources: 搜索推广 search ads, 信息流 in-feed ads, social, the website form, 转介绍
referrals (cost = the referral reward) and 展会 trade-show scans."""

PRODUCTS = (
    Product("basic", share=0.55, close_rate=0.35, price=3000.0),
    Product("pro", share=0.35, close_rate=0.25, price=12000.0),
    Product("enterprise", share=0.10, close_rate=0.12, price=60000.0),
)
"""Default products: cheaper products close more often."""

SEGMENTS: Mapping[str, float] = FrozenMap(
    {"education": 0.30, "retail": 0.30, "manufacturing": 0.20, "services": 0.20}
)
"""Default segments (customer industry) and their shares."""

REGIONS: Mapping[str, float] = FrozenMap({"north": 0.30, "east": 0.30, "south": 0.25, "west": 0.15})
"""Default regions and their shares."""

HOURLY = (
    0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.6, 2.6, 3.0, 2.8,
    1.8, 2.2, 2.8, 2.9, 2.6, 2.2, 1.6, 1.4, 1.3, 1.1, 0.7, 0.4,
)  # fmt: skip
"""Relative arrivals per local hour 0-23: business-hours peak, lunch dip, evening tail."""

WEEKLY = (1.0, 1.0, 1.0, 0.95, 0.9, 0.5, 0.4)
"""Relative arrivals per weekday, Monday first: fewer at weekends."""

WORK_HOURS: tuple[tuple[int, int] | None, ...] = (
    (9, 18),
    (9, 18),
    (9, 18),
    (9, 18),
    (9, 18),
    (10, 16),
    None,
)
"""Reps' working hours per weekday (local), Monday first; None = day off."""

_FULL_DAY = 540.0
"""Working minutes in a full day: capacity is first touches per this much working time."""
FOLLOW_UP = timedelta(days=3)
"""With `as_of`: a touched lead that never buys is closed lost this long after its first touch
(the simulator's default `follow_up`)."""
STALE = timedelta(days=7)
"""With `as_of`: a lead never touched is closed lost this long after it arrived (*assumption*:
a weekly clean-up of stale leads)."""
_INTENT_VALID = 0.8
_INTENT_CLOSE = 0.6
_SALE_LAG = 2 * _FULL_DAY
_AMOUNT_SD = 0.35
"""Standard deviation of the log of a sale's amount around its product's price."""


@attrs.frozen
class SyntheticTruth:
    """The parameters a synthetic History was generated from, for checks that compare what a
    model learns with what is true.

    `per_lead` has one row per generated lead (also those an export cut at `as_of` leaves out
    or leaves open): `lead_id`, `intent` (latent, standard normal), `p_valid`, `valid` (true
    state), `touched`, `delay_minutes` (assignment to first touch; NaN when never touched),
    `p_reach` (chance the first touch reached it), `p_close` (chance it buys if valid and
    reached, with its rep), `converted` (it buys, whenever), `arrived_at` and `first_touch_at`
    (UTC; NaT when never touched), and `amount_mean` (its expected amount if it buys).

    `if_assigned` (a history generated with `logging=`; None otherwise) has one row per lead id
    and one column per rep: the lead's chance of a sale had it gone to that rep, everything
    logged before it unchanged (that rep's queue as it stood, the lead's own pick-up lag and
    validity) - the truth an off-policy estimate of a policy's conversion is measured against.
    """

    seed: int
    tz: str
    start: date
    days: int
    sources: tuple[Source, ...]
    products: tuple[Product, ...]
    segments: FrozenMap[float] = attrs.field(converter=freeze)
    regions: FrozenMap[float] = attrs.field(converter=freeze)
    contact: ContactDecay
    reps: tuple[RepTruth, ...]
    hourly: tuple[float, ...]
    weekly: tuple[float, ...]
    work_hours: tuple[tuple[int, int] | None, ...]
    intent_valid: float = _INTENT_VALID
    intent_close: float = _INTENT_CLOSE
    per_lead: pd.DataFrame = attrs.field(
        factory=pd.DataFrame, eq=False, hash=False, repr=False, kw_only=True
    )
    if_assigned: pd.DataFrame | None = attrs.field(
        default=None, eq=False, hash=False, repr=False, kw_only=True
    )

    def behaviour(self) -> TrueBehaviour:
        """The exact process the History was generated with, as a Behaviour for the simulator:
        per-lead intent and validity, product and source effects, rep skill, capacity, pick-up
        lag, neglect, contact decay and amounts (`leadrouter.sim.truth.TrueBehaviour`)."""
        return TrueBehaviour(self)

    def sold_within(self, horizon: timedelta) -> pd.Series[float]:
        """Each lead's true chance of a sale within `horizon` of its arrival, given when it was
        first touched (a Series by lead id): p_valid x the chance of reaching a valid lead at its
        delay x p_close x the chance its sale lag (exponential, two working days on average
        after the first touch) ends within the horizon; 0 for a lead never touched. The mean
        over an export's leads is the conversion within `horizon` a censoring-aware estimate
        should find."""
        lead = self.per_lead
        midnight = pd.Timestamp(datetime.combine(self.start, datetime.min.time()))

        def wall(name: str) -> np.ndarray[Any, Any]:
            local = lead[name].dt.tz_convert(zone(self.tz)).dt.tz_localize(None)
            minutes: np.ndarray[Any, Any] = (
                (local - midnight).dt.total_seconds() / 60.0
            ).to_numpy()
            return minutes

        arrived, touch = wall("arrived_at"), wall("first_touch_at")
        deadline = arrived + horizon.total_seconds() / 60.0
        clock = WorkClock(self.start, int(deadline.max() // 1440) + 2, self.work_hours, self.tz)
        touched = ~np.isnan(touch)
        room = clock.work(deadline) - clock.work(np.nan_to_num(touch))
        in_time = 1.0 - np.exp(-np.maximum(room, 0.0) / _SALE_LAG)
        reach = self.contact.minutes(np.nan_to_num(lead["delay_minutes"].to_numpy(dtype=float)))
        chance = np.where(
            touched, lead["p_valid"].to_numpy() * reach * lead["p_close"].to_numpy() * in_time, 0.0
        )
        return pd.Series(chance, index=pd.Index(lead["lead_id"], name="lead_id"))

    def rep(self, rep_id: str) -> RepTruth:
        """The generated rep with this id."""
        for rep in self.reps:
            if rep.id == rep_id:
                return rep
        raise KeyError(rep_id)

    def close_probability(
        self, rep_id: str, segment: str, product: str, intent: float = 0.0
    ) -> float:
        """The chance that a valid, reached lead of `segment` asking about `product` buys from
        `rep_id` (at average intent unless given)."""
        rep = self.rep(rep_id)
        base = next(p.close_rate for p in self.products if p.name == product)
        logit = (
            centred_logit(base, self.intent_close)
            + rep.effect
            + rep.segment_effects.get(segment, 0.0)
            + self.intent_close * intent
        )
        return float(1.0 / (1.0 + math.exp(-logit)))


def _shares(values: Sequence[float], what: str) -> np.ndarray[Any, Any]:
    array = np.asarray(values, dtype=float)
    if not len(array) or (array < 0).any() or not array.sum() > 0:
        raise ConfigError(f"synthetic: {what} must be non-negative weights, not all zero")
    result: np.ndarray[Any, Any] = array / array.sum()
    return result


def synthetic(
    n_leads: int = 5000,
    n_reps: int = 12,
    days: int = 60,
    seed: int = 0,
    *,
    start: date = date(2025, 3, 3),
    tz: str = "Asia/Shanghai",
    sources: Sequence[Source] = SOURCES,
    products: Sequence[Product] = PRODUCTS,
    segments: Mapping[str, float] = SEGMENTS,
    regions: Mapping[str, float] = REGIONS,
    contact: ContactDecay = ContactDecay(),
    hourly: Sequence[float] = HOURLY,
    weekly: Sequence[float] = WEEKLY,
    work_hours: Sequence[tuple[int, int] | None] = WORK_HOURS,
    capacity: tuple[float, float] = (1.0, 2.0),
    rep_spread: tuple[float, float] = (0.35, 0.30),
    as_of: datetime | float | None = None,
    logging: Strategy | None = None,
) -> History:
    """A realistic team history of `n_leads` leads and `n_reps` reps over `days` days.

    Every default and its source is described in this module's docstring (and in
    docs/analyst/data.md): arrivals by hour (`hourly`) and weekday (`weekly`), `sources` with
    their lead costs and valid rates, `products` with close rates and prices, `segments`,
    `regions`, reps' `work_hours`, each rep's daily `capacity` (a multiple of the average daily
    leads per rep, drawn uniformly from the range), how much reps differ in closing (`rep_spread`:
    the standard deviations of the rep effect and of the rep x segment effects on the log-odds)
    and the `contact` decay with first-touch delay. Deterministic for a `seed`.

    `logging`: the push strategy that routed the team, lead by lead at each assignment time, told
    each first touch, verdict and sale as it happened; its propensities fill `propensity`, so
    `synthetic(..., logging=Explore(EqualRotation(), share=0.1))` gives a history that
    `leadrouter.sim.evaluate` can evaluate any policy on. None (the default) logs equal rotation
    without a router, as fast as the rest of the generator; the same seed draws the same leads,
    reps and random numbers either way, so only what follows from who got each lead differs.

    `as_of` (an aware datetime, or a number of days before the end of the `days` window) takes
    the export at that moment: later leads, touches and sales are left out, and each lead's
    `stage` is "won", "lost" (`lost_at` its first touch plus `FOLLOW_UP`, or its arrival plus
    `STALE` when never touched) or "open" (see the module docstring); `History.as_of` is it.
    Without it every outcome is final and `stage` is missing. Either way the same seed draws
    the same team and outcomes, so a cut History is its uncut one as seen at `as_of`.

    Returns a History whose `truth` holds every generating parameter and, per lead, the true
    chances (`truth.per_lead`, every generated lead; with `logging`, also `truth.if_assigned`,
    each lead's chance of a sale with each rep); `to_csv()` writes it as an export.
    """
    if n_leads < 1 or n_reps < 1 or days < 1:
        raise ConfigError(
            f"synthetic: n_leads, n_reps and days must be at least 1, got {n_leads}, {n_reps}, "
            f"{days}"
        )
    if len(hourly) != 24 or len(weekly) != 7 or len(work_hours) != 7:
        raise ConfigError("synthetic: hourly needs 24 weights, weekly and work_hours 7 (Mon first)")
    if not any(work_hours):
        raise ConfigError("synthetic: work_hours has no working day")
    low, high = capacity
    if not 0 < low <= high:
        raise ConfigError(f"synthetic: capacity must be a range (low, high) > 0, got {capacity}")
    rep_sd, pair_sd = rep_spread
    if not (rep_sd >= 0 and pair_sd >= 0):
        raise ConfigError(
            f"synthetic: rep_spread must be two standard deviations >= 0, got {rep_spread}"
        )
    cut = _as_of(as_of, start, days, tz)
    sources, products = tuple(sources), tuple(products)
    rng = np.random.default_rng(seed)
    n = n_leads

    # arrivals, local wall-clock minutes since the start's midnight
    day_weights = [weekly[(start + timedelta(days=d)).weekday()] for d in range(days)]
    day = rng.choice(days, size=n, p=_shares(day_weights, "weekly"))
    hour = rng.choice(24, size=n, p=_shares(hourly, "hourly"))
    second = rng.integers(0, 3600, size=n)
    arrived = np.sort(day * 1440.0 + hour * 60.0 + second / 60.0)
    assigned = arrived + rng.integers(5, 91, size=n) / 60.0

    # what each lead is
    src = rng.choice(len(sources), size=n, p=_shares([s.share for s in sources], "source shares"))
    region_names = list(regions)
    region = rng.choice(len(region_names), size=n, p=_shares(list(regions.values()), "regions"))
    product = rng.choice(
        len(products), size=n, p=_shares([p.share for p in products], "product shares")
    )
    segment_names = list(segments)
    segment = rng.choice(len(segment_names), size=n, p=_shares(list(segments.values()), "segments"))
    intent = rng.standard_normal(n)
    noise = rng.standard_normal(n)
    percent = np.round(100.0 * sigmoid(1.2 * (intent + 0.6 * noise)))
    score = percent / 100.0
    cost_noise = np.clip(rng.lognormal(0.0, 0.25, size=n), 0.75, 1.25)
    cost = np.round(np.array([s.cost for s in sources])[src] * cost_noise, 2)
    valid_logit = np.array([centred_logit(s.valid_rate, _INTENT_VALID) for s in sources])[src]
    p_valid = sigmoid(valid_logit + _INTENT_VALID * intent)
    valid = rng.random(n) < p_valid
    phone = _phones(rng, n)

    # reps
    width = max(2, len(str(n_reps)))
    rep_ids = [f"rep{i + 1:0{width}d}" for i in range(n_reps)]
    working_days = sum(1 for d in range(days) if work_hours[(start + timedelta(days=d)).weekday()])
    demand = n / n_reps / max(working_days, 1)
    reps = tuple(
        RepTruth(
            rep_id,
            capacity=float(demand * rng.uniform(low, high)),
            pickup=float(rng.uniform(5.0, 60.0)),
            neglect=float(rng.uniform(0.02, 0.10)),
            effect=float(rng.normal(0.0, rep_sd)),
            segment_effects={name: float(rng.normal(0.0, pair_sd)) for name in segment_names},
        )
        for rep_id in rep_ids
    )
    slowest = max((n / n_reps) / max(r.capacity, 1e-9) for r in reps)
    horizon = days + int(slowest * 7 / 5) + 60
    stream = Stream(
        clock=WorkClock(start, horizon, tuple(work_hours), tz),
        contact=contact,
        assigned=assigned,
        valid=valid,
        product_logit=np.array([centred_logit(p.close_rate, _INTENT_CLOSE) for p in products])[
            product
        ],
        intent_logit=_INTENT_CLOSE * intent,
        segment=segment,
        price=np.array([p.price for p in products])[product],
        lag=rng.exponential(1.0, size=n),
        neglect_u=rng.random(n),
        reach_u=rng.random(n),
        close_u=rng.random(n),
        sale_lag=rng.exponential(_SALE_LAG, size=n),
        amount_noise=rng.lognormal(0.0, _AMOUNT_SD, size=n),
        pickup=np.array([r.pickup for r in reps]),
        neglect=np.array([r.neglect for r in reps]),
        service=np.array([_FULL_DAY / r.capacity for r in reps]),
        effect=np.array([r.effect for r in reps]),
        pair=np.array([[r.segment_effects[name] for name in segment_names] for r in reps]),
    )
    lead_width = max(5, len(str(n)))
    lead_ids = [f"L{i + 1:0{lead_width}d}" for i in range(n)]
    grade = np.select([percent >= 75, percent >= 50, percent >= 25], ["A", "B", "C"], "D")
    frame = pd.DataFrame(
        {
            "lead_id": lead_ids,
            "arrived_at": _aware(start, arrived, tz),
            "source": np.array([s.name for s in sources])[src],
            "region": np.array(region_names)[region],
            "product": np.array([p.name for p in products])[product],
            "segment": np.array(segment_names)[segment],
            "grade": grade,
            "score": score,
            "cost": cost,
            "contact": phone,
            "assigned_at": _aware(start, assigned, tz),
        },
    )
    roster = [Rep(rep_id) for rep_id in rep_ids]
    if_assigned: pd.DataFrame | None = None
    propensity = np.full(n, np.nan)
    if logging is None:
        rep = np.arange(n) % n_reps
        touch_work = stream.queue(rep)
    else:
        unrouted = frame.reindex(columns=list(COLUMNS)).assign(converted=False)
        leads = History(unrouted, tz=tz, roster=roster).leads
        rep, touch_work, propensity, chances = route_logged(
            stream,
            leads,
            [stamp.to_pydatetime() for stamp in frame["assigned_at"]],
            rep_ids,
            logging,
            seed,
            start,
            tz,
        )
        if_assigned = pd.DataFrame(
            chances, index=pd.Index(lead_ids, name="lead_id"), columns=rep_ids
        )
    out = stream.outcomes(np.arange(n), rep, touch_work)
    touched = out.touched
    frame = frame.assign(
        rep_id=np.array(rep_ids)[rep],
        first_touch_at=_aware(start, out.touch, tz),
        reached=np.where(touched, out.reached, False),
        valid=pd.array(
            [bool(v) if t else None for v, t in zip(valid, touched, strict=True)], dtype="boolean"
        ),
        converted_at=_aware(start, out.sale, tz),
        amount=out.amount,
        converted=out.converted,
        propensity=propensity,
    ).reindex(columns=list(COLUMNS))
    per_lead = pd.DataFrame(
        {
            "lead_id": lead_ids,
            "intent": intent,
            "p_valid": p_valid,
            "valid": valid,
            "touched": touched,
            "delay_minutes": out.delay,
            "p_reach": out.p_reach,
            "p_close": out.p_close,
            "converted": out.converted,
            "arrived_at": frame["arrived_at"],
            "first_touch_at": frame["first_touch_at"],
            "amount_mean": stream.price * math.exp(_AMOUNT_SD**2 / 2.0),
        }
    )
    if cut is not None:
        frame = _export_at(frame, cut)
    truth = SyntheticTruth(
        seed=seed,
        tz=tz,
        start=start,
        days=days,
        sources=sources,
        products=products,
        segments=dict(segments),
        regions=dict(regions),
        contact=contact,
        reps=reps,
        hourly=tuple(float(x) for x in hourly),
        weekly=tuple(float(x) for x in weekly),
        work_hours=tuple(work_hours),
        per_lead=per_lead,
        if_assigned=if_assigned,
    )
    return History(
        frame,
        tz=tz,
        roster=roster,
        truth=truth,
        columns={name: name for name in COLUMNS},
        origin=f"synthetic(seed={seed})" if cut is None else f"synthetic(seed={seed}, as_of)",
        as_of=cut,
    )


def _as_of(as_of: datetime | float | None, start: date, days: int, tz: str) -> datetime | None:
    """`synthetic`'s `as_of` as an aware datetime: given, or that many days before the end of
    the arrival window (local midnight after its last day); None without one."""
    local = zone(tz)
    if as_of is None:
        return None
    first = datetime.combine(start, datetime.min.time(), tzinfo=local)
    if isinstance(as_of, datetime):
        if as_of.utcoffset() is None:
            raise NaiveDatetimeError(
                f"synthetic: as_of must be timezone-aware, got {as_of!r}: e.g. "
                f"datetime(2025, 3, 31, 18, tzinfo=ZoneInfo({tz!r})), or a number of days "
                "before the end"
            )
        cut = as_of
    elif isinstance(as_of, int | float) and not isinstance(as_of, bool) and math.isfinite(as_of):
        cut = first + timedelta(days=days) - timedelta(days=float(as_of))
    else:
        raise ConfigError(
            f"synthetic: as_of is an aware datetime or a number of days before the end, got "
            f"{as_of!r}"
        )
    if cut <= first:
        raise ConfigError(
            f"synthetic: as_of {cut.isoformat(sep=' ')} is not after the first day "
            f"({start}): no lead would be in the export"
        )
    return cut


def _export_at(frame: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    """The uncut `frame` as a CRM export taken at `as_of` (see the module docstring): leads
    arrived by then; assignments, touches and sales after it undone; each lead's stage."""
    cut = pd.Timestamp(as_of).tz_convert("UTC")
    out = frame[frame["arrived_at"] <= cut].copy()
    later = out["assigned_at"] > cut
    out["rep_id"] = out["rep_id"].mask(later)
    out["assigned_at"] = out["assigned_at"].mask(later)
    never = out["first_touch_at"].isna()
    closes = (out["first_touch_at"] + FOLLOW_UP).where(~never, out["arrived_at"] + STALE)
    untouched = ~(out["first_touch_at"] <= cut)
    out["first_touch_at"] = out["first_touch_at"].mask(untouched)
    out["reached"] = out["reached"] & ~untouched
    out["valid"] = out["valid"].astype("boolean").mask(untouched)
    won = out["converted"] & (out["converted_at"] <= cut)
    pending = out["converted"] & ~won
    out["converted_at"] = out["converted_at"].mask(pending)
    out["amount"] = out["amount"].mask(pending)
    out["converted"] = won
    lost = ~out["converted"].astype(bool) & ~pending & (closes <= cut)
    out["lost_at"] = closes.where(lost)
    out["stage"] = np.select([won, lost], ["won", "lost"], "open")
    return out.reset_index(drop=True)


def _aware(start: date, minutes: np.ndarray[Any, Any], tz: str) -> pd.Series[Any]:
    """Local wall-clock minutes since `start`'s midnight as UTC times, to the second. A local
    time skipped by a daylight-saving jump moves forward; a repeated one is the first."""
    seconds = np.round(np.nan_to_num(minutes, nan=0.0) * 60.0).astype("int64")
    wall = np.datetime64(datetime.combine(start, datetime.min.time()), "s") + seconds.astype(
        "timedelta64[s]"
    )
    local = pd.Series(wall.astype("datetime64[us]")).where(~np.isnan(minutes))
    aware = local.dt.tz_localize(
        zone(tz), ambiguous=np.ones(len(local), dtype=bool), nonexistent="shift_forward"
    )
    return aware.dt.tz_convert("UTC")


def _phones(rng: np.random.Generator, n: int) -> list[str]:
    """Distinct 11-digit numbers starting "100", a prefix no mainland mobile number uses, so a
    synthetic contact can never be a real person's."""
    prefixes = np.array(["100"])
    numbers = rng.integers(0, 10**8, size=n)
    head = rng.integers(0, len(prefixes), size=n)
    result = [f"{prefixes[h]}{x:08d}" for h, x in zip(head, numbers, strict=True)]
    seen: set[str] = set()
    for i, phone in enumerate(result):
        while phone in seen:
            phone = f"{prefixes[rng.integers(0, len(prefixes))]}{rng.integers(0, 10**8):08d}"
        seen.add(phone)
        result[i] = phone
    return result
