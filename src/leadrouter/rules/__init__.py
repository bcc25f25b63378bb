"""Rules: who may get a lead, which pool a lead goes to, and who should get it first.

Three families, each a base class whose one question the router asks, and each rule a small
frozen object holding configuration only:

- filters (`Filter`: `region()`, `skill()`, `schedule()`, `reserve()`, plain callables
  `f(lead, rep) -> bool`) narrow the eligible reps through `eligible(ctx)`; they compose with
  `&`, `|` and `~`. An inactive rep is never eligible.
- pool rules (`PoolRule`: `nurture()`, `to_pool()`) send a lead to a named pool instead of a rep
  through `pool_for(ctx)`.
- preference rules (`PreferenceRule`: `dedup_to_owner()`) name the rep who should get a lead when
  eligible through `prefer(ctx)`.

The router files each rule under the families it subclasses (a class may subclass more than
one), never by looking at which methods it overrides. A `Rule` subclass that answers a family's
question without subclassing that family is a CapabilityError when the class is defined.

Filters return sets of rep ids and say what their result depends on (`key`), so the router
computes an eligible set once per region (or shift change), not once per lead and rep. A rule
whose answers turn on the clock says when they may next change (`next_change`: a schedule's next
shift start or end), so that `Router.next_due` wakes its caller when a waiting lead may be taken.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Mapping
from datetime import datetime
from typing import Any

import attrs

from leadrouter._util import earliest, plural
from leadrouter._validators import score_threshold
from leadrouter.context import Context, TickContext
from leadrouter.errors import ConfigError
from leadrouter.model import Lead, Shift
from leadrouter.rules._base import (
    LEAD_ATTRS,
    Filter,
    PoolRule,
    Predicate,
    PreferenceRule,
    Rule,
    as_filter,
    lead_reader,
    lead_value,
)
from leadrouter.rules._reserve import Reserve, reserve

__all__ = [
    "Filter",
    "PoolRule",
    "Predicate",
    "PreferenceRule",
    "Reserve",
    "Rule",
    "Schedule",
    "as_filter",
    "dedup_to_owner",
    "lead_value",
    "nurture",
    "region",
    "reserve",
    "schedule",
    "skill",
    "to_pool",
]


@attrs.frozen(repr=False)
class _Membership(Filter):
    """The lead's `field` value must be in the rep's `rep_attr` set; an empty set means the rep
    takes every value, and a lead with no value may go to anyone."""

    field: str
    rep_attr: str
    factory: str
    _value: Callable[[Lead], Any] = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_value", lead_reader(self.field))

    def key(self, ctx: Context) -> Hashable:
        return self._value(ctx.lead) or ""

    def _key_attributes(self) -> tuple[str, ...] | None:
        attribute = self.field in LEAD_ATTRS and self.field != "features"
        return (self.field,) if attribute and type(self) is _Membership else None

    def eligible(self, ctx: Context) -> frozenset[str]:
        value = self.key(ctx)
        if not value:
            return ctx.roster.active_ids
        cache_key = (self, value)
        found: frozenset[str] | None = ctx.roster.cache.get(cache_key)
        if found is None:
            found = frozenset(
                rep.id
                for rep in ctx.roster.active
                if not getattr(rep, self.rep_attr) or value in getattr(rep, self.rep_attr)
            )
            ctx.roster.cache[cache_key] = found
        return found

    def describe(self, ctx: Context) -> str:
        value = self.key(ctx)
        said = f"lead {self.field} {value!r} is not among the rep's {self.rep_attr}"
        folded = str(value).strip().casefold()
        near = sorted(
            {
                held
                for rep in ctx.roster.active
                for held in getattr(rep, self.rep_attr)
                if held != value and str(held).strip().casefold() == folded
            }
        )
        if near:  # 'North' against 'north': a near miss the words should show
            said += (
                f" (reps cover {', '.join(map(repr, near))}: values match exactly, case and "
                "spaces included)"
            )
        return said

    def __repr__(self) -> str:
        default = "region" if self.rep_attr == "regions" else "product"
        arg = "" if self.field == default else f"field={self.field!r}"
        return f"{self.factory}({arg})"


def region(field: str = "region") -> Filter:
    """Reps whose `regions` include the lead's region (reps with no regions take any region).

    `field` names the lead attribute (or `features` key) that holds the region.
    """
    return _Membership(field=field, rep_attr="regions", factory="region")


def skill(field: str = "product") -> Filter:
    """Reps whose `skills` include the lead's `field` value, by default its product (reps with no
    skills take anything)."""
    return _Membership(field=field, rep_attr="skills", factory="skill")


def _shift_map(value: Mapping[str, Shift] | None) -> Mapping[str, Shift]:
    """The shifts by rep id, each a Shift; anything else a ConfigError naming the rep."""
    if value is not None and not isinstance(value, Mapping):
        raise ConfigError(
            f"schedule takes a mapping of rep id to Shift, got {value!r}: write e.g. "
            "schedule({'ana': Shift('Asia/Shanghai')})"
        )
    shifts = dict(value or {})
    for rep_id, shift in shifts.items():
        _a_shift(shift, f"schedule's shift of rep {rep_id!r}")
    return shifts


def _a_shift(value: object, where: str) -> None:
    if not isinstance(value, Shift):
        raise ConfigError(
            f"{where} must be a Shift, got {type(value).__name__} {value!r}: write e.g. "
            "Shift('Asia/Shanghai', start=time(9), end=time(18))"
        )


def _default_shift(inst: object, attr: attrs.Attribute[Shift | None], value: object) -> None:
    if value is not None:
        _a_shift(value, "schedule's default")


@attrs.frozen(repr=False)
class Schedule(Filter):
    """Reps on shift now, each in their own time zone. A rep with no shift (and no `default`) is
    always on. The eligible set is recomputed only when some shift starts or ends."""

    shifts: Mapping[str, Shift] = attrs.field(converter=_shift_map, hash=False)
    default: Shift | None = attrs.field(default=None, validator=_default_shift)

    def shift_for(self, rep_id: str) -> Shift | None:
        """The rep's shift, or the default, or None (always on)."""
        return self.shifts.get(rep_id, self.default)

    def _current(self, ctx: Context) -> tuple[datetime, datetime, frozenset[str]]:
        now = ctx.now
        cached: tuple[datetime, datetime, frozenset[str]] | None = ctx.roster.cache.get(self)
        if cached is not None and cached[0] <= now < cached[1]:
            return cached
        on: set[str] = set()
        until = now.max.replace(tzinfo=now.tzinfo)
        for rep in ctx.roster.active:
            shift = self.shift_for(rep.id)
            if shift is None:
                on.add(rep.id)
                continue
            if shift.is_on(now):
                on.add(rep.id)
            until = min(until, shift.next_change(now))
        entry = (now, until, frozenset(on))
        ctx.roster.cache[self] = entry
        return entry

    def key(self, ctx: Context) -> Hashable:
        start, until, _ = self._current(ctx)
        return (start, until)

    def eligible(self, ctx: Context) -> frozenset[str]:
        return self._current(ctx)[2]

    def describe(self, ctx: Context) -> str:
        return "off shift now"

    def next_change(self, ctx: TickContext) -> datetime | None:
        """The next start or end after `ctx.now` of an active rep's shift: when a rep may come
        on shift (the end of a lunch break, the first working morning after a holiday)."""
        shifts = {self.shift_for(rep.id) for rep in ctx.roster.active}
        return earliest(shift.next_change(ctx.now) for shift in shifts if shift is not None)

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.shifts.items())), self.default))

    def __repr__(self) -> str:
        own = plural(len(self.shifts), "shift") if self.shifts else ""
        if self.default is None:
            return f"schedule({own or 'always on'})"
        rest = "the others" if self.shifts else "everyone"
        return f"schedule({own + ', ' if own else ''}{rest} {self.default.describe()})"


def schedule(shifts: Mapping[str, Shift] | None = None, default: Shift | None = None) -> Schedule:
    """Only reps on shift may get leads: `shifts` maps rep id to `Shift` (working hours and days
    off in the rep's time zone); reps not in it use `default`, or are always on if it is None.

    Pass the same object as `Lifecycle(working_hours=...)` to count SLA time in working hours.
    """
    return Schedule(shifts=shifts, default=default)


@attrs.frozen(repr=False)
class _ToPool(PoolRule):
    pool: str
    when: Callable[[Lead], bool]
    reason: str
    label: str

    def pool_for(self, ctx: Context) -> tuple[str, str] | None:
        return (self.pool, self.reason) if self.when(ctx.lead) else None

    def __repr__(self) -> str:
        return self.label


def to_pool(pool: str, when: Callable[[Lead], bool], reason: str = "") -> PoolRule:
    """Leads for which `when(lead)` is true go to the named `pool`, not to a rep. They stay
    there until a rep claims them or they are released."""
    if not pool:
        raise ConfigError("to_pool needs a pool name")
    name = getattr(when, "__name__", "rule")
    return _ToPool(
        pool=pool,
        when=when,
        reason=reason or f"{name}(lead) is true",
        label=f"to_pool({pool!r}, {name})",
    )


@attrs.frozen
class _LowIntent:
    below: float | None
    grades: frozenset[str]
    score: Callable[[Lead], float | None] | None

    def __call__(self, lead: Lead) -> bool:
        if lead.grade is not None and lead.grade in self.grades:
            return True
        if self.below is None:
            return False
        value = self.score(lead) if self.score is not None else lead.score
        return value is not None and value < self.below


def nurture(
    below: float | None = None,
    grades: Collection[str] = (),
    score: Callable[[Lead], float | None] | None = None,
    pool: str = "nurture",
) -> PoolRule:
    """Keep low-intent leads out of reps' books: a lead whose score is below `below`, or whose
    grade is one of `grades`, goes to the `pool` (default "nurture"). `score` replaces
    `Lead.score` with your own function (e.g. a fitted grader's probability). A lead with
    neither a score nor a grade is not nurtured: missing data never hides a lead from reps.

    `below` is on the 0-1 scale of `Lead.score` (and of a grader's probability): a threshold
    outside 0-1 is a ConfigError, because `below=15` meant for 0-100 scores would send every
    lead to the pool.
    """
    if below is None and not grades:
        raise ConfigError("nurture needs a threshold: below=<score> and/or grades=[...]")
    if below is not None:
        score_threshold(below, "nurture(below=...)")
    if isinstance(grades, str):
        grades = (grades,)  # one grade, as written: not its letters
    test = _LowIntent(below=below, grades=frozenset(grades), score=score)
    parts = ([f"below={below!r}"] if below is not None else []) + (
        [f"grades={sorted(grades)!r}"] if grades else []
    )
    why = " or ".join(
        ([f"score below {below}"] if below is not None else [])
        + ([f"grade in {sorted(grades)}"] if grades else [])
    )
    return _ToPool(
        pool=pool, when=test, reason=f"low intent: {why}", label=f"nurture({', '.join(parts)})"
    )


@attrs.frozen
class _DedupToOwner(PreferenceRule):
    def prefer(self, ctx: Context) -> tuple[str, str] | None:
        contact = ctx.lead.contact
        if not contact:
            return None
        found = ctx.view.contact_holder(contact)
        if found is None:
            return None
        lead_id, rep_id = found
        return rep_id, f"contact matches lead {lead_id} held by {rep_id}"

    def __repr__(self) -> str:
        return "dedup_to_owner()"


def dedup_to_owner() -> PreferenceRule:
    """A lead whose contact matches a lead someone holds goes to that holder, when the holder is
    eligible under the other rules and caps; otherwise it is routed as usual (the decision says
    so)."""
    return _DedupToOwner()


FACTORIES: tuple[Callable[..., object], ...] = (
    region,
    skill,
    schedule,
    reserve,
    to_pool,
    nurture,
    dedup_to_owner,
)
"""The functions that make the built-in rules: passed to a Router uncalled (`rules.reserve`
for `rules.reserve(...)`), each is a ConfigError saying to call it."""
