"""The events: every change to routing state is one of these, appended to the ledger.

Each event has `lead_id` and `at` (timezone-aware). The CRM reports `Touched`, `Tagged` and
`Converted` through `Router.record`; the router writes the rest. `Pooled` records where a lead
that no rep holds waits: a named pool chosen by a rule, or the public pool when nobody could take
it (`waiting=True`, offered again by `Router.tick`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from leadrouter._util import check_amount, check_aware, check_id
from leadrouter._validators import of_type, propensity_field
from leadrouter.errors import InvalidValueError
from leadrouter.model import Lead

__all__ = [
    "PUBLIC",
    "REP_LEFT",
    "Arrived",
    "Assigned",
    "Claimed",
    "Converted",
    "Event",
    "Moved",
    "Pooled",
    "Released",
    "Tagged",
    "Touched",
]

PUBLIC = "public"
"""The name of the public pool (公海): where leads nobody holds go unless a rule names another."""

REP_LEFT = "rep_left"
"""The `Released.reason` of each lead taken from a rep who leaves (`Router.handover`, `leadrouter
handover`): a hand-over the rep did not choose, which the anomaly checks count as no return."""


def _v_id(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    check_id(value, f"{type(inst).__name__}.{attr.name}")


def _v_at(inst: object, attr: attrs.Attribute[Any], value: datetime) -> None:
    check_aware(value, f"{type(inst).__name__}.{attr.name}")


def _v_amount(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    check_amount(value, f"{type(inst).__name__}.{attr.name}")


def _v_bool(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidValueError(
            f"{type(inst).__name__}.{attr.name} must be True or False, got {value!r}"
        )


@attrs.frozen
class Arrived:
    """A lead entered the system; it starts in the public pool."""

    lead: Lead = attrs.field(validator=of_type(Lead, "Lead('L-1', arrived_at)"))

    @property
    def lead_id(self) -> str:
        return self.lead.id

    @property
    def at(self) -> datetime:
        return self.lead.arrived_at


@attrs.frozen
class Assigned:
    """The router pushed a lead into a rep's book (分配). `by` names the strategy;
    `propensity` is the probability the strategy had of choosing this rep, when it randomises."""

    lead_id: str = attrs.field(validator=_v_id)
    rep_id: str = attrs.field(validator=_v_id)
    at: datetime = attrs.field(validator=_v_at)
    by: str = attrs.field(default="", validator=of_type(str, "'EqualRotation'"))
    propensity: float | None = attrs.field(default=None, kw_only=True, validator=propensity_field)


@attrs.frozen
class Claimed:
    """A rep pulled a lead from a pool into their book (领取 / 抢占)."""

    lead_id: str = attrs.field(validator=_v_id)
    rep_id: str = attrs.field(validator=_v_id)
    at: datetime = attrs.field(validator=_v_at)


@attrs.frozen
class Touched:
    """A follow-up attempt by the rep who holds the lead (跟进 / 拨打); `reached` if it
    connected."""

    lead_id: str = attrs.field(validator=_v_id)
    rep_id: str = attrs.field(validator=_v_id)
    at: datetime = attrs.field(validator=_v_at)
    reached: bool = attrs.field(default=False, validator=_v_bool)


@attrs.frozen
class Tagged:
    """The holder's verdict on a lead (有效 / 无效). An invalid lead is closed and leaves the
    book."""

    lead_id: str = attrs.field(validator=_v_id)
    rep_id: str = attrs.field(validator=_v_id)
    at: datetime = attrs.field(validator=_v_at)
    valid: bool = attrs.field(validator=_v_bool)
    reason: str = attrs.field(default="", validator=of_type(str, "'blocked'"))


@attrs.frozen
class Converted:
    """A sale (成交) by the rep who holds the lead; the lead is closed and leaves the book."""

    lead_id: str = attrs.field(validator=_v_id)
    rep_id: str = attrs.field(validator=_v_id)
    at: datetime = attrs.field(validator=_v_at)
    amount: float = attrs.field(default=0.0, validator=_v_amount)


@attrs.frozen
class Released:
    """A lead left a rep's book and returned to a pool (退回 / 回收 / 流转).

    `reason` is free text; the router uses "returned", "expired", "sla", `REP_LEFT` and
    "escalated".
    """

    lead_id: str = attrs.field(validator=_v_id)
    rep_id: str = attrs.field(validator=_v_id)
    at: datetime = attrs.field(validator=_v_at)
    reason: str = attrs.field(default="returned", validator=of_type(str, "'sla'"))
    pool: str = attrs.field(default=PUBLIC, kw_only=True, validator=_v_id)


@attrs.frozen
class Pooled:
    """A lead nobody holds was put in `pool`: a named pool chosen by a rule, or the public pool
    with `waiting=True` when no rep could take it (it is offered again at `tick`)."""

    lead_id: str = attrs.field(validator=_v_id)
    at: datetime = attrs.field(validator=_v_at)
    pool: str = attrs.field(default=PUBLIC, validator=_v_id)
    reason: str = attrs.field(default="", validator=of_type(str, "'nurture'"))
    waiting: bool = attrs.field(default=False, kw_only=True, validator=_v_bool)


Event = Arrived | Assigned | Claimed | Touched | Tagged | Converted | Released | Pooled
"""Any ledger event."""

Moved = Released | Assigned | Pooled
"""An event `Router.tick` and `Router.release` write: a lead taken back, given to a rep, or
put in a pool (`isinstance` tells them apart; only Released and Pooled carry a reason)."""
