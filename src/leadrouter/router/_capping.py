"""The router's side of caps: who may take one more lead, who is full for the day, and the words
for both in a decision. Caps themselves live in `leadrouter.caps`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NoReturn

from leadrouter._trusted import new_reason as _new_reason
from leadrouter.caps import Cap
from leadrouter.context import Context
from leadrouter.errors import ConfigError, StrategyError
from leadrouter.model import Reason

__all__ = [
    "Capped",
    "Caps",
    "Gate",
    "all_capped",
    "as_caps",
    "cap_reasons",
    "close",
    "reason_of",
    "spent",
    "stopped",
]


def reason_of(answer: object, who: str, rep_id: str, method: str, verb: str) -> str:
    """A refusal by a `method` that allows with None and refuses with a reason (`Cap.check`,
    `Strategy.claim`), given that it did not answer None: the reason, a non-empty string.
    Anything else (True meant as "allowed", an empty string, a number) is a StrategyError naming
    `who` answered it, for which rep, and what to return, rather than a silent refusal."""
    if type(answer) is str and answer:
        return answer
    raise StrategyError(
        f"{who} answered {answer!r} for rep {rep_id!r}: {method} returns None when the rep may "
        f"{verb} the lead, else the reason in words"
    )


class Capped:
    """Reps a cap stopped while one lead was decided, kept as the caps reported them and
    worded only when the decision's reasons are read (`cap_reasons`).

    `groups` are the reps left out at once because a cap knows they are full for the day
    (`Caps.drop_saturated`): (rep ids, the cap's words for the first of them, the cap's repr),
    the ids a tuple shared by every lead that meets the same full reps. `refusals` are reps the
    strategy asked about and a cap refused: (rep id, the cap's words, the cap's repr). Keeping
    the order of both, `as_dict` gives what a per-rep record would have held.
    """

    __slots__ = ("groups", "refusals")

    def __init__(
        self,
        groups: tuple[tuple[tuple[str, ...], str, str], ...] = (),
        refusals: tuple[tuple[str, str, str], ...] = (),
    ) -> None:
        self.groups = groups
        self.refusals = refusals

    def __bool__(self) -> bool:
        return bool(self.groups or self.refusals)

    def as_dict(self) -> dict[str, tuple[str, str]]:
        """rep id -> (the cap's words, the cap's repr), in the order the reps were stopped (a rep
        stopped twice keeps its first place and its last words)."""
        table: dict[str, tuple[str, str]] = {}
        for reps, why, cap in self.groups:
            for rep in reps:
                table[rep] = (why, cap)
        for rep, why, cap in self.refusals:
            table[rep] = (why, cap)
        return table


def spent(rep_id: str) -> NoReturn:
    """`ctx.can_take` once the router has finished with the lead: a StrategyError, not the
    caps' answers of that moment (a strategy that kept the ctx would act on stale ones)."""
    raise StrategyError(
        f"ctx.can_take({rep_id!r}) was called after the router finished with its lead: a "
        "strategy may ask it only while it decides, with the ctx it was given"
    )


class Gate:
    """`ctx.can_take` for one lead: whether every cap lets a rep take one more lead, each rep
    asked about once, a refusal kept under the first cap that refuses; and the reps
    `Caps.drop_saturated` left out. `stopped(gate)` hands what was stopped to the decision.

    It holds its context until the router has finished with the lead (`close`): the context
    holds it back (as `can_take`), and the router breaks that pair when it closes the gate, so
    neither waits for the garbage collector, and a strategy that kept `can_take` past its lead
    gets a StrategyError (`spent`), not the caps' answers of that moment.
    """

    __slots__ = ("_named", "asked", "ctx", "groups", "refusals")

    def __init__(self, caps: Caps, ctx: Context) -> None:
        self._named = caps.named
        self.ctx: Context | None = ctx
        """The lead's context while it is decided; None once the gate is closed."""
        self.asked: dict[str, bool] | None = None
        """rep id -> the caps' answer, for the reps asked about so far (None before the first)."""
        self.groups: list[tuple[tuple[str, ...], str, str]] | None = None
        self.refusals: list[tuple[str, str, str]] | None = None

    def __call__(self, rep_id: str) -> bool:
        memo = self.asked
        if memo is None:
            memo = self.asked = {}
        else:
            known = memo.get(rep_id)
            if known is not None:
                return known
        ctx = self.ctx
        if ctx is None:
            spent(rep_id)
        for cap, name in self._named:
            why = cap.check(rep_id, ctx)
            if why is not None:
                why = reason_of(why, f"cap {name}", rep_id, "Cap.check", "take")
                if self.refusals is None:
                    self.refusals = []
                self.refusals.append((rep_id, why, name))
                memo[rep_id] = False
                return False
        memo[rep_id] = True
        return True

    def __bool__(self) -> bool:
        return bool(self.groups or self.refusals)


def stopped(gate: Gate | None) -> Capped | None:
    """What the caps stopped so far while `gate`'s lead is decided (None: nobody, or the
    router has no caps, `gate` None). One function for both, so a decision with caps pays one
    call here, as a method on the gate would cost, and one without pays one too."""
    if gate is None or not (gate.groups or gate.refusals):
        return None
    return Capped(tuple(gate.groups or ()), tuple(gate.refusals or ()))


def close(can_take: object) -> None:
    """Close `can_take` when it is a Gate (a context's `can_take` once its lead is decided):
    the router has finished with the lead, and later calls are a StrategyError."""
    if type(can_take) is Gate:
        can_take.ctx = None


def cap_reasons(capped: Capped) -> tuple[Reason, ...]:
    """One reason per cap, naming every rep it stopped (the first rep's numbers shown)."""
    by_cap: dict[str, list[tuple[str, str]]] = {}
    for rep, (why, cap) in capped.as_dict().items():
        by_cap.setdefault(cap, []).append((rep, why))
    out = []
    for cap, hits in by_cap.items():
        rep, why = hits[0]
        detail = why if len(hits) == 1 else f"{why} for {rep}; {len(hits) - 1} more at it"
        out.append(_new_reason("capped", detail, frozenset(r for r, _ in hits), cap))
    return tuple(out)


def as_caps(caps: Cap | Iterable[Cap] | None) -> tuple[Cap, ...]:
    """`Router(caps=...)` as a tuple: one cap, several, or none."""
    if caps is None:
        return ()
    if callable(caps) and not isinstance(caps, Cap | Iterable):
        raise ConfigError(
            f"caps takes Cap objects, got the function {getattr(caps, '__name__', caps)!r}: "
            "a cap is a subclass of leadrouter.Cap whose check(rep_id, ctx) answers None or "
            "why not (a function of the lead and a rep is a rule: rules=[...])"
        )
    found = (caps,) if isinstance(caps, Cap) else tuple(caps)
    for cap in found:
        if not isinstance(cap, Cap):
            raise ConfigError(f"caps takes Cap objects such as FixedCap(...), got {cap!r}")
        if type(cap).check is Cap.check:
            raise ConfigError(
                f"{cap!r} does not define check(rep_id, ctx), which every cap answers: None "
                "when the rep may take one more lead, else why not, in words"
            )
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


_HeldBack = tuple[frozenset[str], tuple[tuple[Cap, str, tuple[str, ...]], ...]]
"""What `Caps.drop_saturated` leaves of an eligible set, and who each cap held back of it:
(cap, its repr, the rep ids, sorted)."""


def _held_back(
    named: tuple[tuple[Cap, str], ...],
    ids: frozenset[str],
    found: tuple[frozenset[str], ...],
    full: frozenset[str],
) -> _HeldBack:
    """`ids` without the reps the caps found full (`found`, per cap; `full`, all of them), and
    each cap's share of those it held back, a rep under the first cap that found it full.
    `found` may be each cap's full set or its meeting with `ids`: the answer is the same."""
    left, stopped = ids & full, []
    for (cap, name), reps in zip(named, found, strict=True):
        mine = sorted(left & reps)
        if mine:
            stopped.append((cap, name, tuple(mine)))
            left -= reps
    return ids - full, tuple(stopped)


class Caps:
    """The caps of one router, with what it caches about them."""

    __slots__ = ("_by_ids", "_saturated_cache", "cached", "caps", "named")

    def __init__(self, caps: tuple[Cap, ...]) -> None:
        self.caps = caps
        self.named = tuple((cap, repr(cap)) for cap in caps)
        """(cap, its repr) for each cap, in order."""
        self.cached = True
        """False: work out who a cap holds back afresh for every lead (tests compare both)."""
        self._saturated_cache: dict[
            tuple[frozenset[str], tuple[frozenset[str], ...]], _HeldBack
        ] = {}
        """(eligible set, each cap's full set) -> what `drop_saturated` leaves out of it."""
        self._by_ids: dict[frozenset[str], tuple[tuple[frozenset[str], ...], _HeldBack]] = {}
        """eligible set -> (the reps of it each cap held back, the answer) last time."""

    def drop_saturated(self, ctx: Context, ids: frozenset[str], gate: Gate) -> frozenset[str]:
        """Leave out reps a cap knows are full for the rest of the day, entered in `gate`
        under that cap with its own words (its `check` of the first of them), so a cap that
        stops reps both ways is explained once, one way, in `reasons`.

        What is left out is cached by the eligible set and the caps' full sets (which grow a
        few times a day), so most leads pay one lookup here, whether or not the two meet."""
        caps = self.caps
        if len(caps) == 1:
            full = caps[0].saturated(ctx)
            if not full:
                return ids
            found: tuple[frozenset[str], ...] = (full,)
            sets = type(full) is frozenset
        else:
            found = tuple([cap.saturated(ctx) for cap in caps])
            full = frozenset().union(*found)
            if not full:
                return ids
            sets = all(type(reps) is frozenset for reps in found)
        cache = self._saturated_cache
        if self.cached and sets:
            key = (ids, found)
            hit = cache.get(key)
            if hit is None:
                hit = self._held_back_from(ids, found, full)
                if len(cache) > 1024:
                    cache.clear()
                cache[key] = hit
        else:  # not cached, or a cap that answers with something else than a frozenset
            if ids.isdisjoint(full):
                return ids
            try:
                found_hit = cache.get((ids, found)) if self.cached else None
            except TypeError:
                raise StrategyError(
                    f"caps {', '.join(name for _, name in self.named)} answered "
                    f"saturated(ctx) with {found!r}: a cap's saturated returns a frozenset "
                    "of rep ids"
                ) from None
            hit = found_hit or _held_back(self.named, ids, found, full)
            if self.cached and found_hit is None:
                if len(cache) > 1024:
                    cache.clear()
                cache[(ids, found)] = hit
        if hit[1]:
            groups = gate.groups
            if groups is None:
                groups = gate.groups = []
            for cap, name, held_back in hit[1]:
                why = cap.check(held_back[0], ctx) or "full for the rest of the day"
                groups.append((held_back, why, name))
        return hit[0]

    def _held_back_from(
        self, ids: frozenset[str], found: tuple[frozenset[str], ...], full: frozenset[str]
    ) -> _HeldBack:
        """`_held_back` for `ids`, the same answer (the same objects) as for the last full sets
        met when each cap holds back the same reps of `ids` as then: a rep outside `ids` found
        full changes nothing for it, and the strategy and ledger keep finding the eligible set
        they know."""
        meet = tuple([ids & reps for reps in found])
        last = self._by_ids.get(ids)
        if last is not None and last[0] == meet:
            return last[1]
        hit = (ids, ()) if not any(meet) else _held_back(self.named, ids, meet, full)
        if len(self._by_ids) > 4096:
            self._by_ids.clear()
        self._by_ids[ids] = (meet, hit)
        return hit

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
