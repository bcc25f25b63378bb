"""Grab with caps (抢单 / 公海领取 with 客保 limits): leads wait in a pool, reps claim them.

The router never hands a lead to a rep. `route()` leaves every lead in a pool — the public pool,
or one named after a lead field such as its region — and reps pull leads into their book with
`Router.claim`. Grabbing invites hoarding: a fast rep claims everything and calls nothing. So a
claim is refused when the rep already holds `held` open leads or has received `daily` leads
today, and a lead its claimer leaves untouched for `idle_after` goes back to the pool it came
from at `tick()` (reason "idle"), with a penalty for the rep.

Everything the strategy knows is read from the ledger: book sizes, today's receipts, which pool
a lead was claimed from, its first touch, and the rep's "idle" releases. A penalty is therefore
exactly what the event log says it is: it survives a restart, replays identically, and a
manager's manual `router.release(lead_id, "idle")` counts like a timer's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import attrs

from leadrouter._util import instant
from leadrouter._validators import cap_limit, positive_duration, valid_zone
from leadrouter.capabilities import ClaimsView, claims_view
from leadrouter.caps import day_start, next_day_start
from leadrouter.context import Context, TickContext
from leadrouter.errors import ConfigError
from leadrouter.events import PUBLIC
from leadrouter.ledger import LedgerView
from leadrouter.rules import lead_value
from leadrouter.strategies.base import Pick, Release, Strategy, StrategyTags

__all__ = ["IDLE", "PENALTIES", "GrabWithCaps"]

IDLE = "idle"
"""The release reason for a claimed lead left untouched past `idle_after`."""

PENALTIES = ("cooldown", "lower_caps")
"""What an idle release costs the rep: no claims at all for `cooldown`, or caps lowered by one
per idle release for `cooldown` after it."""

_RESOLUTION = timedelta(microseconds=1)


def _span(delta: timedelta) -> str:
    """A duration in words: "30 min", "2 h", "1 h 30 min", "45 s"."""
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes else []
    parts += [f"{secs} s"] if secs or not parts else []
    return " ".join(parts)


@lru_cache(maxsize=1024)
def _left_in(pool: str, detail: str) -> Pick:
    """The Pick that leaves a lead in `pool`, `detail` ending its reason: one per pool and
    detail (a Pick is immutable), not one per lead."""
    return Pick(None, pool=pool, reason=f"left in pool {pool!r} for reps to claim{detail}")


def _v_penalty(inst: object, attr: attrs.Attribute[str], value: object) -> None:
    if value not in PENALTIES:
        raise ConfigError(
            f"GrabWithCaps.penalty must be one of {', '.join(map(repr, PENALTIES))}, got {value!r}"
        )


def _v_name(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if value is None and attr.name == "pool_by":
        return
    if not isinstance(value, str) or not value or value != value.strip():
        raise ConfigError(
            f"GrabWithCaps.{attr.name} must be a non-empty name without surrounding spaces, "
            f"got {value!r}"
        )


@attrs.frozen(repr=False)
class GrabWithCaps(Strategy):
    """Leads wait in a pool and reps claim them, within per-rep caps; idle claims are penalised.

    When to use it: reps grab leads from a public pool (抢单 / 公海领取) and the team needs
    risk control against hoarding — caps on how much a rep may hold (客保 limit) and take per
    day, and a penalty for claiming a lead and not calling it.

    Parameters:

    - `held`: at most this many open leads in the rep's book for a claim to be allowed.
    - `daily`: at most this many leads received (claimed or assigned) per calendar day in `tz`.
    - `idle_after`: a claimed lead with no touch this long after the claim is released at
      `tick()` with reason "idle", back to the pool it was claimed from (never re-routed).
    - `cooldown` (default 1 hour): how long the penalty for an idle release lasts.
    - `penalty`: "cooldown" (default) refuses every claim by the rep until `cooldown` after
      their last idle release; "lower_caps" lowers `held` and `daily` by one for each idle
      release in the last `cooldown` (never below 0). Either way the rep may not re-claim a
      lead they left idle while the penalty lasts.
    - `pool` (default "public"): the pool leads are left in; with `pool_by` (a lead field or
      `features` key, e.g. "region") each lead goes to the pool named after its value, and a
      lead with no value to `pool`. Combine with `rules.region()` so reps claim only from
      their own region.
    - `tz` (default "UTC"): where the day of the daily cap starts and ends.

    Guarantee: `route()` never gives a lead to a rep; a claim that would take a rep past `held`
    or `daily` (lowered by a "lower_caps" penalty) is refused with the cap in words, and a
    refused claim changes nothing; a claimed lead untouched for `idle_after` is back in its
    pool after the first `tick()` at or past that time, and a touched one is never released for
    idleness. Under the Router's lock, of two claims for the same lead exactly one wins. Every
    answer is a function of the ledger, so it needs no history and a restart loses nothing.
    """

    held: int | None = attrs.field(default=None, validator=cap_limit)
    daily: int | None = attrs.field(default=None, validator=cap_limit)
    idle_after: timedelta | None = attrs.field(
        default=None, validator=positive_duration("timedelta(minutes=30)", optional=True)
    )
    cooldown: timedelta = attrs.field(
        default=timedelta(hours=1), kw_only=True, validator=positive_duration("timedelta(hours=1)")
    )
    penalty: str = attrs.field(default="cooldown", kw_only=True, validator=_v_penalty)
    pool: str = attrs.field(default=PUBLIC, kw_only=True, validator=_v_name)
    pool_by: str | None = attrs.field(default=None, kw_only=True, validator=_v_name)
    tz: str = attrs.field(default="UTC", kw_only=True, validator=valid_zone)

    tags = StrategyTags(pull=True, needs_views=(ClaimsView,))

    def __attrs_post_init__(self) -> None:
        if self.penalty == "lower_caps" and self.held is None and self.daily is None:
            raise ConfigError(
                "GrabWithCaps(penalty='lower_caps') lowers the held and daily caps, but neither "
                "is set: pass held= and/or daily=, or use penalty='cooldown'"
            )

    # ------------------------------------------------------------------ route

    def pool_for(self, ctx: Context) -> str:
        """The pool `ctx.lead` is left in: named after its `pool_by` value, else `pool`."""
        return self._pool_and_value(ctx)[0]

    def _pool_and_value(self, ctx: Context) -> tuple[str, object]:
        if self.pool_by is None:
            return self.pool, None
        value = lead_value(ctx.lead, self.pool_by)
        name = "" if value is None else str(value).strip()
        return name or self.pool, value

    def route(self, ctx: Context) -> Pick:
        """Leave the lead in its pool for reps to claim; never choose a rep."""
        pool, value = self._pool_and_value(ctx)
        if self.pool_by is None:
            return _left_in(pool, "")
        has = value is not None and str(value).strip()
        return _left_in(
            pool, f" (lead {self.pool_by} {value!r})" if has else f" (lead has no {self.pool_by})"
        )

    # ------------------------------------------------------------------ claim

    def claim(self, ctx: Context, rep_id: str) -> str | None:
        """None to allow `rep_id` to claim `ctx.lead`, else why not (penalty first, then caps)."""
        view = claims_view(ctx.view, "GrabWithCaps")
        now = ctx.now
        strikes, until = self._strikes(view, rep_id, now)
        if strikes:
            assert until is not None
            lead_id = ctx.lead.id
            left = f"{strikes} claimed lead{'s' if strikes > 1 else ''} untouched"
            if self.idle_after is not None:
                left += f" for {_span(self.idle_after)}"
            if self.penalty == "cooldown":
                return (
                    f"in cooldown until {until.isoformat()}: left {left} (penalty for idle "
                    "claims); claims are allowed again then"
                )
            if view.last_holder(lead_id) == rep_id and view.lead_releases(lead_id)[-1:] == (IDLE,):
                return (
                    f"left this lead untouched and lost it; may not claim it again before "
                    f"{until.isoformat()}"
                )
        lowered = (
            f", lowered by {strikes} until {until.isoformat()} for idle claims"
            if strikes and until is not None
            else ""
        )
        if self.held is not None:
            cap = max(self.held - strikes, 0)
            holds = view.book_size(rep_id)
            if holds >= cap:
                return f"holds {holds} open leads (held cap {cap}{lowered})"
        if self.daily is not None:
            cap = max(self.daily - strikes, 0)
            start = day_start(now, self.tz)
            today = view.count(rep_id, since=start)
            if today >= cap:
                resets = next_day_start(start, self.tz)
                return (
                    f"received {today} leads today (daily cap {cap}{lowered}); the cap resets "
                    f"at {resets.isoformat()} ({self.tz})"
                )
        return None

    def refused_until(self, view: LedgerView, rep_id: str, now: datetime) -> datetime | None:
        """A time before which `claim` refuses every claim by `rep_id`, whatever the lead, or
        None when it cannot promise one: the end of a "cooldown" penalty, or the next start of
        the day in `tz` when the rep has received `daily` leads today (the later of the two
        when both hold).

        The promise holds for a claim at any time from `now` until then, however the ledger
        grows meanwhile: the receipts counted since the day's start and the idle releases only
        add up, and more of either only refuses more. What may lift a refusal sooner is not
        promised: a lead leaving the rep's book (the `held` cap), a "lower_caps" strike running
        out while the rep is under `daily`. The simulator asks it after a refused claim, so
        that it does not ask a rep again while the answer is known to be no."""
        view = claims_view(view, "GrabWithCaps")
        until: datetime | None = None
        if self.penalty == "cooldown":
            until = self._strikes(view, rep_id, now)[1]
        if self.daily is not None:
            start = day_start(now, self.tz)
            if view.count(rep_id, since=start) >= self.daily:
                resets = next_day_start(start, self.tz)
                until = resets if until is None else max(until, resets)
        return until

    def _strikes(self, view: ClaimsView, rep_id: str, now: datetime) -> tuple[int, datetime | None]:
        """How many of the rep's idle releases are still penalised at `now`, and when the
        penalty of the last one ends. A release at t is penalised while now < t + cooldown,
        counted in elapsed time (`instant`), also across a daylight-saving change."""
        last = view.last_release(rep_id, IDLE)
        if last is None:
            return 0, None
        last, now = instant(last), instant(now)
        if now >= last + self.cooldown:
            return 0, None
        count = view.releases(rep_id, IDLE, since=now - self.cooldown + _RESOLUTION)
        return max(count, 1), last + self.cooldown

    # ------------------------------------------------------------------ tick

    def next_due(self, ctx: TickContext) -> datetime | None:
        """The earliest end of `idle_after` after `ctx.now` of a claimed lead not yet touched,
        in UTC: `idle_after` is elapsed time, as `tick` counts it, also across a daylight-saving
        change of the zone the claim's time carries."""
        if self.idle_after is None:
            return None
        moment = instant(ctx.now)
        ends = (since + self.idle_after for since, _, _ in _idle_claims(ctx))
        return min((end for end in ends if end > moment), default=None)

    def tick(self, ctx: TickContext) -> Sequence[Release]:
        """Release every claimed lead its holder has not touched within `idle_after` of the
        claim, back to the pool it was claimed from, oldest claim first. Leads the router
        assigned (e.g. by `dedup_to_owner`) were not grabbed, so they are left alone.
        `idle_after` is elapsed time, whatever zone the times carry."""
        if self.idle_after is None:
            return ()
        due = instant(ctx.now) - self.idle_after
        idle = sorted(_idle_claims(ctx, due))
        return [Release(lead_id, IDLE, reroute=False, pool=source) for _, lead_id, source in idle]


def _idle_claims(
    ctx: TickContext, claimed_by: datetime | None = None
) -> Iterator[tuple[datetime, str, str]]:
    """(claimed at, lead id, pool it was claimed from) of each lead held since a claim (made
    by `claimed_by`, when given) and not touched yet: what `idle_after` may take back (`tick`)
    and when (`next_due`). A lead the router assigned was not grabbed, and is left alone.
    Claim times are `instant`s, so that adding `idle_after` to one, comparing it with
    `claimed_by` and sorting by it count elapsed time in any zone."""
    view = claims_view(ctx.view, "GrabWithCaps")
    for lead_id, _, since in view.held():
        claimed = instant(since)
        if claimed_by is not None and claimed > claimed_by:
            continue
        if view.first_touch(lead_id) is None:
            source = view.claimed_from(lead_id)
            if source is not None:
                yield claimed, lead_id, source
