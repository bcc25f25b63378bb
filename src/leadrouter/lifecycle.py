"""Lifecycle: the timers `Router.tick` runs on leads in reps' books."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import attrs

from leadrouter._validators import of_type, positive_duration, whole_number
from leadrouter.rules import Schedule

__all__ = ["EXPIRED", "SLA_MISSED", "TIMER_REASONS", "Lifecycle"]


@attrs.frozen
class Lifecycle:
    """Timers on held leads, run by `Router.tick(now)`; every outcome is an event.

    - `first_touch_sla`: a lead its holder has not touched within this time is released with
      reason "sla" (SLA reclaim, 超时回收). With `working_hours` (a `rules.schedule(...)`), only
      the holder's working time counts, so a lead assigned at 17:55 is not lost overnight.
    - `expire_after`: a lead held this long (touched or not) expires from the book back to the
      public pool with reason "expired" (客保期到期).
    - `reroute`: released leads go on to another rep at once (never straight back to the one
      who lost the lead, though with two reps it returns after the other misses too); otherwise
      they wait in the public pool for a claim.
    - `max_reroutes`: with `reroute`, how many times these timers re-route one lead; the miss
      after that leaves it in the public pool for a claim (公海), so a lead nobody works does not
      go round the team for ever. None: no limit.
    """

    first_touch_sla: timedelta | None = attrs.field(
        default=None, validator=positive_duration("timedelta(minutes=30)", optional=True)
    )
    expire_after: timedelta | None = attrs.field(
        default=None, validator=positive_duration("timedelta(minutes=30)", optional=True)
    )
    reroute: bool = attrs.field(default=False, validator=of_type(bool, "True"))
    max_reroutes: int | None = attrs.field(
        default=None, kw_only=True, validator=whole_number(none="no limit")
    )
    working_hours: Schedule | None = attrs.field(
        default=None,
        kw_only=True,
        validator=of_type(Schedule, "rules.schedule(default=Shift(...))", optional=True),
    )

    @property
    def has_timers(self) -> bool:
        return self.first_touch_sla is not None or self.expire_after is not None

    def reroutes(self, released_before: Iterable[str]) -> bool:
        """Whether a timer's release of a lead goes on to another rep, given the reasons of the
        lead's earlier releases (`Ledger.lead_releases`): `reroute`, within `max_reroutes`."""
        if not self.reroute or self.max_reroutes is None:
            return self.reroute
        return sum(reason in TIMER_REASONS for reason in released_before) < self.max_reroutes


SLA_MISSED = "sla"
"""The release reason of a lead reclaimed because its first touch came too late."""
EXPIRED = "expired"
"""The release reason of a lead whose holding period ran out."""
TIMER_REASONS = (SLA_MISSED, EXPIRED)
"""The release reasons these timers write."""
