"""The router's constructors that skip validation, one per class, made once.

Every value the router passes them was checked where it entered (a validated lead, a roster id,
a time through `Router._time`) or is the router's own constant; see
`leadrouter._util.trusted_constructor` for what they skip and what that saves.
"""

from __future__ import annotations

from leadrouter._util import trusted_constructor
from leadrouter.events import Arrived, Assigned, Claimed, Released
from leadrouter.model import Decision, Reason

__all__ = [
    "new_arrived",
    "new_assigned",
    "new_claimed",
    "new_decision",
    "new_reason",
    "new_released",
]

new_arrived = trusted_constructor(Arrived)
new_assigned = trusted_constructor(Assigned)
new_claimed = trusted_constructor(Claimed)
new_decision = trusted_constructor(Decision)
new_reason = trusted_constructor(Reason)
new_released = trusted_constructor(Released)
