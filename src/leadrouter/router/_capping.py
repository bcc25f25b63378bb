"""The router's side of caps: who may take one more lead, who is full for the day, and the words
for both in a decision. Caps themselves live in `leadrouter.caps`."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from leadrouter.caps import Cap
from leadrouter.context import Context, _always
from leadrouter.errors import ConfigError
from leadrouter.model import Reason

__all__ = ["Capped", "Caps", "all_capped", "as_caps"]

Capped = dict[str, tuple[str, str]]
"""Reps a cap stopped while one lead was decided: rep id -> (the cap's words, the cap's repr)."""


def as_caps(caps: Cap | Iterable[Cap] | None) -> tuple[Cap, ...]:
    """`Router(caps=...)` as a tuple: one cap, several, or none."""
    if caps is None:
        return ()
    found = (caps,) if isinstance(caps, Cap) else tuple(caps)
    for cap in found:
        if not isinstance(cap, Cap):
            raise ConfigError(f"caps takes Cap objects such as FixedCap(...), got {cap!r}")
    return found


def all_capped(caps: tuple[Cap, ...], ctx: Context) -> bool:
    """True when `caps` refuse every active rep at `ctx.now` and asking them again could not
    change what they remember, so offering a waiting lead can place it with nobody and change
    nothing.

    Reps a cap knows are full today (`saturated`) are left out before any cap is asked about
    them, as when routing. Each other rep must be refused by the first cap that refuses them,
    with `would_refuse` True: the router's cap check stops at that cap, so later caps are never
    asked. A cap that cannot tell (None), or a rep every cap allows, means False.
    """
    full: frozenset[str] = frozenset()
    for cap in caps:
        found = cap.saturated(ctx)
        if found:
            full = full | found
    for rep_id in ctx.roster.active_ids:
        if rep_id in full:
            continue
        for cap in caps:
            answer = cap.would_refuse(rep_id, ctx)
            if answer is None:
                return False
            if answer:
                break
        else:
            return False
    return True


class Caps:
    """The caps of one router, with what it caches about them."""

    __slots__ = ("_saturated_cache", "caps")

    def __init__(self, caps: tuple[Cap, ...]) -> None:
        self.caps = caps
        self._saturated_cache: dict[
            tuple[frozenset[str], tuple[frozenset[str], ...]],
            tuple[frozenset[str], tuple[tuple[Cap, str, tuple[str, ...]], ...]],
        ] = {}

    def can_take(self, ctx: Context, capped: Capped) -> Callable[[str], bool]:
        """`ctx.can_take`: whether every cap lets a rep take one more lead, asked once per rep
        and lead; a refusal is entered in `capped` under the first cap that refuses."""
        caps = self.caps
        if not caps:
            return _always
        memo: dict[str, bool] = {}
        names: dict[int, str] = {}

        def can_take(rep_id: str) -> bool:
            known = memo.get(rep_id)
            if known is not None:
                return known
            for i, cap in enumerate(caps):
                why = cap.check(rep_id, ctx)
                if why is not None:
                    name = names.get(i)
                    if name is None:
                        name = names[i] = repr(cap)
                    capped[rep_id] = (why, name)
                    memo[rep_id] = False
                    return False
            memo[rep_id] = True
            return True

        return can_take

    def drop_saturated(self, ctx: Context, ids: frozenset[str], capped: Capped) -> frozenset[str]:
        """Leave out reps a cap knows are full for the rest of the day, entered in `capped`
        under that cap with its own words (its `check` of the first of them), so a cap that
        stops reps both ways is explained once, one way, in `reasons`."""
        found = tuple(cap.saturated(ctx) for cap in self.caps)
        full = frozenset().union(*found)
        if not full or ids.isdisjoint(full):
            return ids
        key = (ids, found)
        hit = self._saturated_cache.get(key)
        if hit is None:
            left, stopped = ids & full, []
            for cap, reps in zip(self.caps, found, strict=True):
                mine = sorted(left & reps)
                if mine:
                    stopped.append((cap, repr(cap), tuple(mine)))
                    left -= reps
            hit = (ids - full, tuple(stopped))
            if len(self._saturated_cache) > 1024:
                self._saturated_cache.clear()
            self._saturated_cache[key] = hit
        for cap, name, held_back in hit[1]:
            why = cap.check(held_back[0], ctx) or "full for the rest of the day"
            for rep in held_back:
                capped[rep] = (why, name)
        return hit[0]

    @staticmethod
    def reasons(capped: Capped) -> tuple[Reason, ...]:
        """One reason per cap, naming every rep it stopped (the first rep's numbers shown)."""
        by_cap: dict[str, list[tuple[str, str]]] = {}
        for rep, (why, cap) in capped.items():
            by_cap.setdefault(cap, []).append((rep, why))
        out = []
        for cap, hits in by_cap.items():
            rep, why = hits[0]
            detail = why if len(hits) == 1 else f"{why} for {rep}; {len(hits) - 1} more at it"
            out.append(Reason("capped", detail, frozenset(r for r, _ in hits), cap))
        return tuple(out)

    def remaining(self, rep_id: str, ctx: Context) -> int | None:
        """How many more leads every cap lets `rep_id` take now (None: no cap limits it)."""
        rooms = [room for cap in self.caps if (room := cap.remaining(rep_id, ctx)) is not None]
        return min(rooms) if rooms else None

    def full_count(self, ctx: Context) -> int:
        """How many reps the caps know are full today, counted per cap."""
        return sum(len(cap.saturated(ctx)) for cap in self.caps)

    def all_capped(self, ctx: Context) -> bool:
        """`all_capped` for these caps."""
        return all_capped(self.caps, ctx)
