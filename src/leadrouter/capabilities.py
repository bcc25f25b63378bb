"""Ledger views a strategy may need beyond `LedgerView`, declared in its tags and checked early.

Every view answers `LedgerView` (book sizes, counts, statistics). Some strategies read more:
GrabWithCaps reads claims and releases (`ClaimsView`), TieredDelay reads each lead's escalations
and progress (`TierView`). A strategy states what it reads in
`StrategyTags(needs_views=(ClaimsView,))`; the Router checks its ledger when it is built, and a
composed strategy checks the view it hands an inner strategy when it is built (Hierarchical's
team level sees teams, not reps, and answers `LedgerView` only). So a strategy in a place that
cannot serve it fails with `CapabilityError` at construction, naming the strategy, the missing
methods and the fix, not at the first lead.

Inside the strategy, `claims_view(view, who)` and `tier_view(view, who)` return the view typed
as what it offers: after the build check they cost one dictionary lookup, and they raise the same
error if the strategy is called directly with a view that lacks the methods.
`SalesView` and `HistoryView` are optional extras: a strategy that can do without them checks
with `is_sales_view` / `is_history_view` and falls back.

The protocols are runtime-checkable, so `isinstance(view, ClaimsView)` works too (it is slower:
it looks up every method on each call).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeGuard, TypeVar, runtime_checkable

from leadrouter.errors import CapabilityError
from leadrouter.ledger import LedgerView

if TYPE_CHECKING:
    from leadrouter.model import Lead

__all__ = [
    "ClaimsView",
    "HistoryView",
    "SalesView",
    "TierView",
    "check_views",
    "claims_view",
    "is_history_view",
    "is_sales_view",
    "missing_methods",
    "tier_view",
    "view_methods",
]


@runtime_checkable
class ClaimsView(LedgerView, Protocol):
    """Who holds what since when, where a claimed lead came from, each release (GrabWithCaps)."""

    def held(self) -> Iterator[tuple[str, str, datetime]]: ...
    def first_touch(self, lead_id: str) -> datetime | None: ...
    def claimed_from(self, lead_id: str) -> str | None: ...
    def last_release(self, rep_id: str, reason: str) -> datetime | None: ...
    def last_holder(self, lead_id: str) -> str | None: ...
    def lead_releases(self, lead_id: str) -> tuple[str, ...]: ...


@runtime_checkable
class TierView(LedgerView, Protocol):
    """Each lead's releases, holding and progress: reached touches and tags (TieredDelay)."""

    def lead_releases(self, lead_id: str) -> tuple[str, ...]: ...
    def held(self) -> Iterator[tuple[str, str, datetime]]: ...
    def reached(self, lead_id: str) -> bool: ...
    def tag_reason(self, lead_id: str) -> str | None: ...


@runtime_checkable
class SalesView(LedgerView, Protocol):
    """Each sale with its lead (PerformanceWeighted's `measure="points"` reads the grades)."""

    def conversions(
        self, rep_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[tuple[datetime, str, float]]: ...
    def lead(self, lead_id: str) -> Lead: ...


@runtime_checkable
class HistoryView(SalesView, Protocol):
    """Each received and each sold lead per rep (ProfileMatching's learned scorer)."""

    def reps(self) -> frozenset[str]: ...
    def receipts(
        self, rep_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[tuple[datetime, str]]: ...


_V = TypeVar("_V")

_DUNDERS = frozenset({"__len__", "__contains__", "__iter__", "__getitem__"})


def view_methods(need: type) -> tuple[str, ...]:
    """The methods a view protocol asks for, its bases' (`LedgerView`'s) first."""
    names: dict[str, None] = {}
    for klass in reversed(need.__mro__):
        if klass is Protocol or not getattr(klass, "_is_protocol", False):
            continue
        for name, value in vars(klass).items():
            if callable(value) and (not name.startswith("_") or name in _DUNDERS):
                names[name] = None
    return tuple(names)


def missing_methods(provider: object, need: type) -> tuple[str, ...]:
    """The methods of `need` that `provider` (a view, or a view class) does not have."""
    return tuple(name for name in view_methods(need) if not callable(getattr(provider, name, None)))


def check_views(who: str, needs: Iterable[type], provider: object, where: str, fix: str) -> None:
    """Raise CapabilityError when `provider` (the view `who` will be given, or its class) lacks
    a method of a view in `needs`; `where` names that view in words and `fix` says what to do."""
    for need in needs:
        missing = missing_methods(provider, need)
        if missing:
            raise _view_error(who, need, missing, where, fix)


def _view_error(
    who: str, need: type, missing: tuple[str, ...], where: str, fix: str
) -> CapabilityError:
    return CapabilityError(
        f"{who} needs the ledger view {need.__name__}, but {where} has no "
        f"{', '.join(missing)}: {fix}"
    )


_OFFERS: dict[tuple[type, type], bool] = {}


def _offers(view: object, need: type) -> bool:
    """Whether `view`'s class has every method of `need` (remembered per class and protocol)."""
    key = (type(view), need)
    found = _OFFERS.get(key)
    if found is None:
        found = _OFFERS[key] = not missing_methods(type(view), need)
    return found


def _is_claims_view(view: LedgerView) -> TypeGuard[ClaimsView]:
    return _offers(view, ClaimsView)


def _is_tier_view(view: LedgerView) -> TypeGuard[TierView]:
    return _offers(view, TierView)


def is_sales_view(view: LedgerView) -> TypeGuard[SalesView]:
    """Whether `view` offers each sale's lead (`SalesView`); cheap after the first call."""
    return _offers(view, SalesView)


def is_history_view(view: LedgerView) -> TypeGuard[HistoryView]:
    """Whether `view` offers each received and sold lead (`HistoryView`)."""
    return _offers(view, HistoryView)


def _narrow(
    view: LedgerView, need: type, offers: Callable[[LedgerView], TypeGuard[_V]], who: str
) -> _V:
    if offers(view):
        return view
    raise _view_error(
        who,
        need,
        missing_methods(view, need),
        f"the view it got ({type(view).__name__})",
        "give it a Router's Ledger (the Router checks this when it is built), or a view that "
        "defines these methods",
    )


def claims_view(view: LedgerView, who: str) -> ClaimsView:
    """`view` as a `ClaimsView`, or CapabilityError naming `who` and the missing methods."""
    return _narrow(view, ClaimsView, _is_claims_view, who)


def tier_view(view: LedgerView, who: str) -> TierView:
    """`view` as a `TierView`, or CapabilityError naming `who` and the missing methods."""
    return _narrow(view, TierView, _is_tier_view, who)
