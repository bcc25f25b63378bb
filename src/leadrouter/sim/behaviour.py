"""The behaviour model: what the simulator needs to know about reps, given or fitted from history.

A routing policy decides who gets a lead; what happens next (how soon the rep touches it, whether
the prospect is reached, whether it buys) is the team's behaviour, which no policy changes. The
simulator asks a `Behaviour` for each of these numbers:

- `capacity(rep)`: first touches a rep makes per working day;
- `touch_delay_minutes(rep, backlog, u)`: minutes from assignment to first touch, given how many
  leads the rep already has waiting untouched, for a uniform draw `u`;
- `p_contact(rep, lead, delay)`: chance that a first touch `delay` minutes after assignment
  reaches a valid prospect (an invalid one is reached `invalid_contact` times as often);
- `p_valid(lead)`: chance the lead is valid (a real prospect);
- `p_convert(rep, lead)`: chance of a sale once a valid lead was reached;
- `amount(rep, lead, u)`: the sale amount for a uniform draw `u`.

This module holds that protocol and is where the model is imported from; the answers live in
modules of their own, re-exported here:

- `GivenBehaviour` (`leadrouter.sim.given`) takes these from explicit numbers (or from a
  synthetic History's truth, so the simulator can be checked against the model that made the
  data);
- `fit_behaviour` (`leadrouter.sim.estimation`) learns them from a History and returns a
  `FittedBehaviour` (`leadrouter.sim.fitted`) that says, in `gaps` and `summary()`, what the data
  could not support. The fit draws on `leadrouter.sim.contact` (the contact curve's shapes,
  `LOG_LOGIT` and `HALF_LIFE`, and their fitting), `leadrouter.sim.capacity` (capacity with its
  censoring), `leadrouter.sim.touches` (working delays, backlog, neglect),
  `leadrouter.sim.products` (conversion by product, sale amounts) and `leadrouter.sim.leaks`
  (fields recorded because of the outcome, `owner_leaked`).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from leadrouter.model import Lead
from leadrouter.sim.contact import HALF_LIFE, LOG_LOGIT
from leadrouter.sim.estimation import fit_behaviour
from leadrouter.sim.fitted import FittedBehaviour
from leadrouter.sim.given import WORKDAY_MINUTES, GivenBehaviour
from leadrouter.sim.leaks import owner_leaked

__all__ = [
    "HALF_LIFE",
    "LOG_LOGIT",
    "WORKDAY_MINUTES",
    "Behaviour",
    "FittedBehaviour",
    "GivenBehaviour",
    "fit_behaviour",
    "owner_leaked",
]


@runtime_checkable
class Behaviour(Protocol):
    """What the simulator needs to know about reps; fitted from history or given."""

    def capacity(self, rep_id: str) -> float:
        """Leads a rep works (first-touches) per working day; estimated with its censoring when
        fitted (a rep never backlogged shows demand, not capacity)."""
        ...

    def touch_delay_minutes(self, rep_id: str, backlog: int, u: float) -> float:
        """Minutes from assignment to first touch, given the rep's open untouched backlog and a
        uniform `u` in (0, 1); never negative, non-decreasing in `backlog` and in `u`."""
        ...

    def p_contact(self, rep_id: str, lead: Lead, delay_minutes: float) -> float:
        """Probability the first-touch attempt reaches the (valid) prospect, decaying with
        delay."""
        ...

    def p_valid(self, lead: Lead) -> float:
        """Probability the lead is valid (a real prospect)."""
        ...

    def p_convert(self, rep_id: str, lead: Lead) -> float:
        """Probability of a sale given the lead was reached (and valid)."""
        ...

    def amount(self, rep_id: str, lead: Lead, u: float) -> float:
        """The sale amount for a uniform `u` in (0, 1), non-decreasing in `u`."""
        ...
