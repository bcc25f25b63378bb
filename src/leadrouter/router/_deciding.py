"""Deciding, without writing: rules, caps and the strategy turn one lead into a Decision.

`Decider.prepare` runs everything before the strategy (pool rules, filters, caps, preference
rules) and either settles the lead or hands the strategy a Context; `Decider.conclude` checks
the strategy's answer and words the Decision. The Router writes what they decide.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import MAXYEAR, MINYEAR
from operator import attrgetter

from leadrouter._trusted import new_reason as _new_reason
from leadrouter._util import calls_with
from leadrouter.capabilities import check_views
from leadrouter.caps import AT_CAP
from leadrouter.context import Context, _always
from leadrouter.errors import ConfigError, LeadRouterError, OutOfRangeError, StrategyError
from leadrouter.events import PUBLIC
from leadrouter.ledger import LedgerView
from leadrouter.model import Decision, Lead, Reason, Rep
from leadrouter.router._capping import Caps, Gate, cap_reasons, close, spent, stopped
from leadrouter.router._explained import worded_later
from leadrouter.rules import FACTORIES, Filter, PoolRule, PreferenceRule, Rule, as_filter
from leadrouter.strategies.base import Pick, Strategy, as_pick, check_batching

__all__ = ["Decider", "Pending", "as_rules", "check_strategy", "wrote_ledger"]

_NO_NOTE = Pick(None)
_NOBODY: frozenset[str] = frozenset()
_WAIT_REASON = "it waits in the public pool and is offered again at tick()"


def _cap_reasons(gate: Gate | None) -> tuple[Reason, ...]:
    capped = stopped(gate)
    return cap_reasons(capped) if capped is not None else ()


def check_strategy(strategy: Strategy, ledger: LedgerView) -> None:
    """CapabilityError when the strategy's tags and its code disagree about batching, or when
    `ledger` lacks a view the strategy (or a strategy inside it) declares it needs. Run when
    the Router is built, so a misfit fails there, not at the first lead. A weighted
    strategy that leaves out a method its base needs is a ConfigError naming it (it was an
    empty NotImplementedError at the first lead)."""
    from leadrouter.strategies._deficits import FastWeighted
    from leadrouter.strategies.weighted import Weighted

    for base, method in ((Weighted, "weights"), (FastWeighted, "_table_key")):
        if isinstance(strategy, base) and getattr(type(strategy), method) is getattr(base, method):
            raise ConfigError(
                f"{strategy!r} does not define {method}(ctx), which {base.__name__} needs: "
                + (
                    "each eligible rep's target weight (>= 0, any scale)"
                    if method == "weights"
                    else "a value equal exactly while the weights stay the same (see "
                    "leadrouter.strategies._deficits)"
                )
            )
    check_batching(type(strategy), strategy.tags)
    check_views(
        repr(strategy),
        strategy.tags.needs_views,
        ledger,
        f"the router's ledger ({type(ledger).__name__})",
        "pass a Ledger (Ledger() or Ledger.open(url)), or a ledger whose class defines these "
        "methods",
    )


def as_rules(
    rules: Iterable[Rule | Callable[[Lead, Rep], bool]] | Rule | Callable[[Lead, Rep], bool],
) -> tuple[Rule | Callable[[Lead, Rep], bool], ...]:
    """`rules=` as a tuple: several rules in any iterable, or one rule (a Rule or a callable
    filter) alone, as `caps=` takes one cap."""
    found = (
        (rules,)
        if isinstance(rules, Rule) or (callable(rules) and not isinstance(rules, Iterable))
        else tuple(rules)
    )
    for rule in found:
        for family, method in _ANSWERS:
            if isinstance(rule, family) and getattr(type(rule), method) is getattr(family, method):
                raise ConfigError(
                    f"rule {rule!r} is a {family.__name__} without its {method}(ctx): give the "
                    f"class one (see docs/embedding.md#rules), or it fails at the first lead"
                )
    return found


_ANSWERS = ((Filter, "eligible"), (PoolRule, "pool_for"), (PreferenceRule, "prefer"))
"""Each rule family and the method its subclasses must give (the base raises)."""


def wrote_ledger(strategy: Strategy, where: str, wrote: int) -> StrategyError:
    """The error for a strategy that appended `wrote` events to the ledger while it decided
    (`where`: the moment, e.g. "route() for lead 'L1'"). Strategies only read it: the Router
    writes every event, so the same inputs give the same decision and a preview or a refused
    claim changes nothing."""
    return StrategyError(
        f"{strategy!r} appended {wrote} event(s) to the ledger in {where} (they are in the "
        "ledger now): a strategy only reads ctx.view; report "
        "touches, tags and sales with Router.record() from your own code, not from the strategy"
    )


def _routing(ctx: Context) -> str:
    return f"route() for lead {ctx.lead.id!r}"


class Pending:
    """A lead between the rules and the strategy: its context, the reasons so far, and the
    caps' gate (`ctx.can_take`, which records the reps the caps stop; None without caps)."""

    __slots__ = ("ctx", "gate", "reasons")

    def __init__(self, ctx: Context, reasons: tuple[Reason, ...], gate: Gate | None) -> None:
        self.ctx = ctx
        self.reasons = reasons
        self.gate = gate


class Decider:
    """The rules (filed by family), the caps and the strategy of one router, and what it caches
    about them: eligible sets by what the filters depend on, and the wording of choices."""

    __slots__ = (
        "_by_lead",
        "_chosen_cache",
        "_eligible_cache",
        "_keys",
        "_lead_key",
        "_moved_cache",
        "_name",
        "_waiting_cache",
        "cached",
        "caps",
        "filters",
        "pool_rules",
        "prefer_rules",
        "strategy",
    )

    def __init__(
        self,
        strategy: Strategy,
        rules: Iterable[Rule | Callable[[Lead, Rep], bool]],
        caps: Caps,
    ) -> None:
        self.strategy = strategy
        self._name = strategy.name
        """The strategy's name, read once: decisions and their cached words carry it."""
        self.caps = caps
        self.filters: list[Filter] = []
        self.pool_rules: list[PoolRule] = []
        self.prefer_rules: list[PreferenceRule] = []
        for rule in rules:
            self._add_rule(rule)
        self._keys = [rule.key for rule in self.filters]
        self._lead_key = _lead_key(self.filters)
        """The Lead attributes every filter's answer turns on, read in one step (None when a
        filter turns on more): the key of `_by_lead`."""
        self._by_lead: dict[Hashable, tuple[frozenset[str], tuple[Reason, ...]]] = {}
        """Eligible sets and their reasons by `_lead_key`'s values, for the current roster."""
        self._eligible_cache: dict[
            tuple[Hashable, ...], tuple[frozenset[str], tuple[Reason, ...]]
        ] = {}
        self._chosen_cache: dict[str, Reason] = {}
        self._waiting_cache: dict[str, Reason] = {}
        self._moved_cache: dict[tuple[str, str], Reason] = {}
        self.cached = True
        """False: compute every eligible set afresh, and decide every lead through `prepare`
        and `conclude` (tests compare both ways)."""

    def _add_rule(self, rule: Rule | Callable[[Lead, Rep], bool]) -> None:
        """File `rule` under each family it belongs to; a plain callable is a filter."""
        if not isinstance(rule, Rule):
            if not callable(rule):
                raise ConfigError(f"rules takes leadrouter rules or callables, got {rule!r}")
            # a factory passed uncalled (`rules.reserve`): some take two arguments, as a filter
            factory = any(made is rule for made in FACTORIES)
            if factory or not calls_with(rule, 2):
                name = getattr(rule, "__name__", repr(rule))
                raise ConfigError(
                    f"rules: {name} cannot be called as a filter, f(lead, rep) -> bool: "
                    + (
                        f"it makes a rule; write {name}(...)"
                        if factory
                        else "give a function of the lead and the rep"
                    )
                )
            self.filters.append(as_filter(rule))
            return
        if not isinstance(rule, Filter | PoolRule | PreferenceRule):
            raise ConfigError(
                f"{rule!r} is a Rule of no family: subclass leadrouter.rules.Filter, PoolRule or "
                "PreferenceRule, or pass a callable f(lead, rep) -> bool"
            )
        if isinstance(rule, Filter):
            self.filters.append(rule)
        if isinstance(rule, PoolRule):
            self.pool_rules.append(rule)
        if isinstance(rule, PreferenceRule):
            self.prefer_rules.append(rule)

    def roster_changed(self) -> None:
        """Forget eligible sets: they were computed for another roster."""
        self._eligible_cache.clear()
        self._by_lead.clear()

    def eligible(self, ctx: Context) -> tuple[frozenset[str], tuple[Reason, ...]]:
        """Eligible rep ids after every filter, and why each other rep was excluded.

        Cached by what the filters depend on (region, shift window ...), so routing many leads
        for the same region costs one dictionary lookup here.
        """
        cache_key: tuple[Hashable, ...] | None = None
        if self.cached:
            lead_key = self._lead_key
            if lead_key is not None:
                values = lead_key(ctx.lead)
                hit = self._by_lead.get(values)
                if hit is None:
                    hit = self._eligible(ctx)
                    if len(self._by_lead) > 4096:
                        self._by_lead.clear()
                    self._by_lead[values] = hit
                return hit
            keys: list[Hashable] = []
            for key_of in self._keys:
                key = key_of(ctx)
                if key is None:
                    break
                keys.append(key)
            else:
                cache_key = tuple(keys)
                hit = self._eligible_cache.get(cache_key)
                if hit is not None:
                    return hit
        result = self._eligible(ctx)
        if cache_key is not None:
            if len(self._eligible_cache) > 4096:
                self._eligible_cache.clear()
            self._eligible_cache[cache_key] = result
        return result

    def _eligible(self, ctx: Context) -> tuple[frozenset[str], tuple[Reason, ...]]:
        """`eligible`, worked out afresh."""
        roster = ctx.roster
        ids = roster.active_ids
        reasons: list[Reason] = []
        inactive = frozenset(roster) - ids
        if inactive:
            reasons.append(Reason("excluded", "inactive", inactive, "active"))
        for rule in self.filters:
            allowed = rule.eligible(ctx)
            removed = ids - allowed
            if removed:
                reasons.append(Reason("excluded", rule.describe(ctx), removed, repr(rule)))
                ids = ids & allowed
        return ids, tuple(reasons)

    def decide(self, ctx: Context, exclude: frozenset[str]) -> tuple[Decision, bool]:
        """The decision for `ctx.lead` at `ctx.now` and whether it leaves the lead waiting.

        Without pool or preference rules no rule can settle the lead, so the steps of `prepare`
        and `conclude` that remain run directly, with nothing kept between them. Either way the
        caps' gate is closed at the end (`ctx.can_take` is `spent`): a strategy that kept the
        ctx gets no stale answers.
        """
        try:
            if self.pool_rules or self.prefer_rules or not self.cached:
                prepared = self.prepare(ctx, exclude)
                if isinstance(prepared, Decision):
                    return prepared, False
                return self.conclude(prepared, self.ask(prepared.ctx))
            reasons, gate = self._offer(ctx, exclude)
            return self._conclude(ctx, reasons, gate, self.ask(ctx))
        except Exception as exc:
            named = self._failed(exc, ctx)
            if named is None:
                raise
            raise named from exc
        finally:
            close(ctx.can_take)
            ctx.can_take = spent

    def ask(self, ctx: Context) -> Pick | str | None:
        """The strategy's answer for `ctx`; StrategyError when it appended to the ledger while
        deciding."""
        length = ctx.view.__len__  # called as a method: `len()` enters Python from C
        size = length()
        result = self.strategy.route(ctx)
        if length() != size:
            raise wrote_ledger(self.strategy, _routing(ctx), length() - size)
        return result

    def _failed(self, exc: Exception, ctx: Context) -> OutOfRangeError | None:
        """What to raise for `exc`, raised while deciding: an OutOfRangeError for an overflow
        at the calendar's edge (a placeholder date); else None, `exc` itself being re-raised
        with a note of which lead it was routing (`_note_where`)."""
        edge = _calendar_edge(ctx) if isinstance(exc, OverflowError) else None
        if edge is None:
            self._note_where(exc, ctx)
        return edge

    def _note_where(self, exc: Exception, ctx: Context) -> None:
        """Add to an error raised by the team's own code (a rule, a cap, a strategy) which lead
        it was routing and with what, so `KeyError: 'senior'` does not arrive alone. The
        library's own errors say so themselves."""
        if not isinstance(exc, LeadRouterError):
            exc.add_note(
                f"(raised while routing lead {ctx.lead.id!r} at {ctx.now.isoformat()} with "
                f"{self.strategy!r}, its rules and caps)"
            )

    def reoffer(self, ctx: Context, avoid: frozenset[str]) -> Decision | None:
        """`decide` for a waiting lead: the Decision when it places the lead with a rep, None
        when the lead would stay waiting (or go to a pool, which a waiting lead is already in)."""
        try:
            prepared = self.prepare(ctx, avoid)
            if isinstance(prepared, Decision):
                return prepared if prepared.rep_id is not None else None
            result = self.ask(prepared.ctx)
            chosen = result if type(result) is str else as_pick(result).rep_id
            if chosen is None:
                return None
            return self.conclude(prepared, result)[0]
        except Exception as exc:
            named = self._failed(exc, ctx)
            if named is None:
                raise
            raise named from exc
        finally:
            close(ctx.can_take)

    def prepare(self, ctx: Context, exclude: frozenset[str]) -> Decision | Pending:
        """Everything before the strategy runs: pool rules, filters, caps and preference rules.

        Returns a finished Decision when a rule settles the lead, else what the strategy needs.
        """
        lead, now = ctx.lead, ctx.now
        for pool_rule in self.pool_rules:
            hit = pool_rule.pool_for(ctx)
            if hit is not None:
                pool, why = hit
                reason = Reason("pooled", why, frozenset(), repr(pool_rule))
                return Decision(lead.id, None, "pooled", now, repr(pool_rule), pool, (reason,))
        reasons, gate = self._offer(ctx, exclude)
        ids, can_take = ctx.ids, ctx.can_take
        for rule in self.prefer_rules:
            hit = rule.prefer(ctx)
            if hit is None:
                continue
            rep_id, why = hit
            if rep_id in ids and can_take(rep_id):
                close(can_take)
                reason = Reason("dedup", why, frozenset({rep_id}), repr(rule))
                return Decision(
                    lead.id,
                    rep_id,
                    "assigned",
                    now,
                    repr(rule),
                    None,
                    (*reasons, *_cap_reasons(gate), reason),
                )
            reasons = (
                *reasons,
                Reason(
                    "skipped",
                    f"{why}, but that rep is not eligible or is capped; routed as usual",
                    frozenset({rep_id}),
                    repr(rule),
                ),
            )
        return Pending(ctx, reasons, gate)

    def _offer(
        self, ctx: Context, exclude: frozenset[str]
    ) -> tuple[tuple[Reason, ...], Gate | None]:
        """Set what the strategy is offered, `ctx.ids` (eligible, not in `exclude`, not held
        back by a cap for the day) and `ctx.can_take`; return the reasons so far and the caps'
        gate (None without caps)."""
        ids, reasons = self.eligible(ctx)
        if exclude and not ids.isdisjoint(exclude):
            reasons = (*reasons, self._excluded(ids & exclude))
            ids = ids - exclude
        caps = self.caps
        if caps.caps:
            gate = Gate(caps, ctx)
            ctx.ids = caps.drop_saturated(ctx, ids, gate)
            ctx.can_take = gate
            return reasons, gate
        ctx.ids = ids
        ctx.can_take = _always
        return reasons, None

    @staticmethod
    def _excluded(reps: frozenset[str]) -> Reason:
        """Why a re-route leaves out `reps`, the rep who just lost the lead."""
        return _new_reason(
            "excluded", "just lost this lead; a re-route never goes back to them", reps, "reroute"
        )

    def conclude(self, pending: Pending, result: Pick | str | None) -> tuple[Decision, bool]:
        """Turn the strategy's answer into a Decision (and whether the lead waits), after
        checking the strategy kept to what it was offered; the caps' gate is closed then."""
        try:
            return self._conclude(pending.ctx, pending.reasons, pending.gate, result)
        finally:
            close(pending.gate)

    def _conclude(
        self,
        ctx: Context,
        reasons: tuple[Reason, ...],
        gate: Gate | None,
        result: Pick | str | None,
    ) -> tuple[Decision, bool]:
        capped = stopped(gate)
        lead, now, name = ctx.lead, ctx.now, self._name
        pick = _NO_NOTE if type(result) is str else as_pick(result)
        chosen_id = result if type(result) is str else pick.rep_id
        if chosen_id is None:
            if pick.pool is not None:
                why = pick.reason or "left in the pool for reps to claim"
                pooled = _new_reason("pooled", why, _NOBODY, name)
                return worded_later(
                    lead.id,
                    None,
                    "pooled",
                    now,
                    name,
                    pick.pool,
                    reasons,
                    None,
                    pooled,
                    pick.scores,
                ), False
            if capped or any(r.code == "capped" for r in reasons):
                why = AT_CAP
            elif pick.reason:  # the strategy's own account of the wait (TieredDelay's tier)
                why = pick.reason
            elif not ctx.ids:
                why = "no rep is eligible (see the exclusions)"
            else:
                why = f"{name} chose nobody"
            waiting = self._waiting(why)
            return worded_later(
                lead.id, None, "pooled", now, name, PUBLIC, reasons, capped, waiting, pick.scores
            ), True
        asked = gate.asked if gate is not None and ctx.can_take is gate else None
        allowed = asked is not None and asked.get(chosen_id) is True
        if chosen_id not in ctx.ids or not (allowed or ctx.can_take(chosen_id)):
            raise self._strayed(ctx, chosen_id)
        decision = worded_later(
            lead.id,
            chosen_id,
            "assigned",
            now,
            name,
            None,
            reasons,
            capped,
            self._chosen(chosen_id, pick.reason),
            pick.scores,
            pick.propensity,
        )
        return decision, False

    def _strayed(self, ctx: Context, chosen_id: str) -> StrategyError:
        """The error for a strategy that chose a rep it was not offered, or one over a cap."""
        problem = "was not offered (not eligible)" if chosen_id not in ctx.ids else "is over a cap"
        return StrategyError(
            f"{self.strategy!r} chose rep {chosen_id!r} for lead {ctx.lead.id!r}, but that rep "
            f"{problem}: a strategy must pick from ctx.ids and check ctx.can_take"
        )

    def _waiting(self, why: str) -> Reason:
        """The reason a lead waits, worded once per cause."""
        found = self._waiting_cache.get(why)
        if found is None:
            found = _new_reason("waiting", f"{why}; {_WAIT_REASON}", _NOBODY, self._name)
            self._waiting_cache[why] = found
        return found

    def moved(self, rep_id: str, why: str) -> Reason:
        """Why a re-routed lead left `rep_id`, taken back for `why` (the release's reason),
        worded once per rep and reason: the leads of one hand-over, or of one rep's missed
        SLAs, share one Reason rather than each building its own."""
        key = (rep_id, why)
        found = self._moved_cache.get(key)
        if found is None:
            if len(self._moved_cache) > 4096:
                self._moved_cache.clear()
            found = self._moved_cache[key] = _new_reason(
                "moved", f"taken back from {rep_id} ({why})", frozenset({rep_id}), "release"
            )
        return found

    def _chosen(self, rep_id: str, note: str) -> Reason:
        """Why `rep_id` was chosen: the strategy's `note`, or else the first line of its
        docstring, worded once per rep; a note's reason shares that one's set of reps, so a
        pick with a note makes one object, not two."""
        found = self._chosen_cache.get(rep_id)
        if found is None:
            doc = (type(self.strategy).__doc__ or "").strip().split("\n")[0].rstrip(".")
            found = Reason(
                "chosen", doc or "chosen by the strategy", frozenset({rep_id}), self._name
            )
            self._chosen_cache[rep_id] = found
        return _new_reason("chosen", note, found.reps, self._name) if note else found


def _lead_key(filters: list[Filter]) -> Callable[[Lead], Hashable] | None:
    """One getter of the Lead attributes that every filter's answer turns on alone
    (`Filter._key_attributes`), or None when a filter turns on anything else. The values it
    reads determine each filter's `key`, so they file eligible sets as the keys would."""
    names: list[str] = []
    for rule in filters:
        found = rule._key_attributes()
        if found is None:
            return None
        names += [name for name in found if name not in names]
    if not names:
        return None
    getter: Callable[[Lead], Hashable] = attrgetter(*names)
    return getter


def _calendar_edge(ctx: Context) -> OutOfRangeError | None:
    """The error for a lead routed in the first or last year Python's dates hold (a placeholder
    such as 0001-01-01 or 9999-12-31): the days, windows and shifts around it fall off the
    calendar. None for any other time (the overflow is then the team's code's own)."""
    if not {ctx.now.year, ctx.lead.arrived_at.year} & {MINYEAR, MAXYEAR}:
        return None
    return OutOfRangeError(
        f"lead {ctx.lead.id!r} at {ctx.lead.arrived_at.isoformat()} (routed at "
        f"{ctx.now.isoformat()}): a time at the very start or end of the calendar, most often a "
        "placeholder date, cannot be routed (the days and windows around it do not exist); "
        "give the lead's real time"
    )
