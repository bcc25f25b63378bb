"""The router's memory of its recent decisions: the latest per lead (for `why`, `explain_load`)
and the first (what a retry of the same lead returns), for a bounded number of leads; what a
rolled-back block of writes takes back of it, the router's roster with it; and, for a lead it
no longer remembers, the lead's place as the ledger says (`placed`)."""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from leadrouter.events import Released
from leadrouter.ledger import Ledger
from leadrouter.model import Decision, Reason, Rep
from leadrouter.roster import Roster

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DecisionLog", "load_table", "placed"]


class DecisionLog:
    """The latest and the first decision of each of the `size` most recent leads.

    It is the router's `Undoable` (`leadrouter.ledger._undo`): what a block of writes that was
    rolled back decided never happened, so `undo` puts back the decisions it replaced (a
    re-route rolled back leaves the decision before it as the lead's latest), forgets those on
    leads the ledger no longer has, and gives the router back the roster it had before the
    block (`replaced_roster`), so the router routes with the roster the ledger kept."""

    __slots__ = ("_restore", "first", "generation", "latest", "pending", "size")

    def __init__(self, size: int, restore: Callable[[Roster], None]) -> None:
        """`restore` is a bound method of the router that holds the log."""
        self.size = size
        self.latest: OrderedDict[str, Decision] = OrderedDict()
        self.first: OrderedDict[str, Decision] = OrderedDict()
        self.generation = 0
        """The ledger's `generation` when the log last matched it (see `forget_undone`)."""
        self.pending: list[tuple[str, Decision | None, bool] | Roster] = []
        """What `undo` puts back, oldest first, for the block of writes in progress: (lead id,
        its latest decision before, whether it had a first decision) for each decision made on
        a lead already in the ledger, and the roster before each change of the router's roster.
        Emptied when the block ends well."""
        self._restore = weakref.WeakMethod(restore)
        """Makes a roster the router's again (without noting it as a change). Held weakly: the
        router holds this log, and a strong hold back would make every router a reference
        cycle, left for the garbage collector's next pass over the oldest objects."""

    def replaced_roster(self, before: Roster) -> None:
        """The router's roster `before` was replaced (`set_rep`, `handover`, one taken up from
        a stored ledger): `undo` gives it back."""
        self.pending.append(before)

    def remember(self, decision: Decision, arrived: bool = False) -> None:
        """Keep `decision` as its lead's latest, and as its first when the lead `arrived` with
        it (or none is known); forget the oldest lead beyond `size`. A lead arriving again had
        its first arrival rolled back: the decision kept for it then never took effect."""
        log, first, size = self.latest, self.first, self.size
        lead_id = decision.lead_id
        before = log.pop(lead_id, None)
        log[lead_id] = decision
        if not arrived:
            self.pending.append((lead_id, before, lead_id in first))
        if arrived or lead_id not in first:
            first.pop(lead_id, None)
            first[lead_id] = decision
            if len(first) > size:
                first.popitem(False)
        if len(log) > size:
            log.popitem(False)

    def undo(self, ledger: Ledger, since: int = 0) -> None:
        """The block of writes in progress raised and `ledger` went back to where it began (or
        one operation in it did, and `ledger` went back to where that began: then only the
        entries from `since` on, which it added, are undone): put back, newest first, each
        decision it replaced on a lead the ledger had before (it comes back as the most recent
        in `latest`'s order) and the router's roster, and forget the decisions on leads that
        arrived with it. A decision the log had pushed out beyond `size` meanwhile stays out."""
        log, first = self.latest, self.first
        for entry in reversed(self.pending[since:]):
            if isinstance(entry, Roster):
                if (restore := self._restore()) is not None:
                    restore(entry)
                continue
            lead_id, before, had_first = entry
            log.pop(lead_id, None)
            if before is not None:
                log[lead_id] = before
            if not had_first:
                first.pop(lead_id, None)
        del self.pending[since:]
        self.generation = -1
        self.forget_undone(ledger)

    def forget_undone(self, ledger: Ledger) -> None:
        """Forget the decisions on leads the ledger no longer has: an operation that raised was
        rolled back (the ledger's `generation` moved on), and what it decided never happened."""
        if ledger.generation == self.generation:
            return
        self.generation = ledger.generation
        for table in (self.latest, self.first):
            for lead_id in [lead_id for lead_id in table if lead_id not in ledger]:
                del table[lead_id]


def load_table(
    decisions: Iterable[Decision], ledger: Ledger, reps: Iterable[Rep], since: datetime | None
) -> pd.DataFrame:
    """`Router.explain_load`: one row per rep, from the ledger and the logged decisions."""
    import pandas as pd

    chosen: dict[str, int] = {}
    excluded: dict[str, int] = {}
    capped: dict[str, int] = {}
    for decision in decisions:
        if decision.rep_id is not None:
            chosen[decision.rep_id] = chosen.get(decision.rep_id, 0) + 1
        for reason in decision.reasons:
            table = {"excluded": excluded, "capped": capped}.get(reason.code)
            if table is not None:
                for rep in reason.reps:
                    table[rep] = table.get(rep, 0) + 1
    rows = [
        {
            "rep_id": rep.id,
            "team": rep.team,
            "active": rep.active,
            "received": ledger.count(rep.id, since=since),
            "book": ledger.book_size(rep.id),
            "chosen": chosen.get(rep.id, 0),
            "excluded": excluded.get(rep.id, 0),
            "capped": capped.get(rep.id, 0),
        }
        for rep in reps
    ]
    return pd.DataFrame(rows).set_index("rep_id")


def placed(
    ledger: Ledger,
    lead_id: str,
    owner: str | None,
    claimed: str | None,
    since: datetime | None,
) -> Decision:
    """`Router.why` for a lead the decision log cannot answer for (routed before the router
    started, pushed out of the log, or taken back since without a new decision): its place per
    the ledger (`owner`, the pool it was `claimed` from, held `since`), saying who it was last
    taken from and why, dated when the lead got there."""
    lead = ledger.lead(lead_id)
    taken = ledger.last_holder(lead_id) if owner is None else None
    if taken is not None:
        since = next(
            event.at
            for event in reversed(ledger.events())  # rare: the log forgot the lead
            if isinstance(event, Released) and event.lead_id == lead_id
        )
        why = ledger.lead_releases(lead_id)[-1]
        note = Reason(
            "retry",
            f"taken back from {taken} ({why}); this is its place now, from the ledger",
            frozenset({taken}),
            "release",
        )
    else:
        note = Reason("retry", "routed earlier; this is its place now, from the ledger")
    return Decision(
        lead_id,
        owner,
        "claimed" if claimed is not None else "assigned" if owner else "pooled",
        since or lead.arrived_at,
        "ledger",
        claimed or ledger.pool_of(lead_id),
        (note,),
    )
