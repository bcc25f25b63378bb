"""Constructors of the package's own leads, events, reasons and decisions that skip validation,
one per class, made once and shared by the router and the simulator.

Every value passed to them was checked where it entered (a validated lead or export row, a
roster id, a time through `Router._time`) or is the caller's own constant; see
`leadrouter._util.trusted_constructor` for what they skip and what that saves.
"""

from __future__ import annotations

from leadrouter._util import trusted_constructor
from leadrouter.events import Arrived, Assigned, Claimed, Converted, Released, Tagged, Touched
from leadrouter.model import Decision, Lead, Reason

__all__ = [
    "new_arrived",
    "new_assigned",
    "new_claimed",
    "new_converted",
    "new_decision",
    "new_lead",
    "new_reason",
    "new_released",
    "new_tagged",
    "new_touched",
]

new_arrived = trusted_constructor(Arrived)
new_assigned = trusted_constructor(Assigned)
new_claimed = trusted_constructor(Claimed)
new_converted = trusted_constructor(Converted)
new_decision = trusted_constructor(Decision)
new_lead = trusted_constructor(Lead)
new_reason = trusted_constructor(Reason)
new_released = trusted_constructor(Released)
new_tagged = trusted_constructor(Tagged)
new_touched = trusted_constructor(Touched)
