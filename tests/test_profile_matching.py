"""ProfileMatching: greedy single leads, exactly optimal batches, a learned default scorer."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter import rules
from leadrouter.assignment import optimal_assignment, solve
from leadrouter.context import Context
from leadrouter.roster import Roster
from leadrouter.strategies import profile_matching
from leadrouter.strategies.equal_rotation import EqualRotation
from leadrouter.strategies.profile_matching import ProfileMatching
from leadrouter.testing import check_strategy

from .conftest import T0, at

NOW = T0 + timedelta(days=7)


# ----------------------------------------------------------------------------- helpers


def brute_force(scores: Sequence[Sequence[float]], cap: Sequence[int]) -> tuple[int, float]:
    """(most leads placed, best total score among those) by trying every assignment."""
    n, m = len(scores), len(cap)
    best = (-1, -math.inf)
    load = [0] * m

    def walk(i: int, placed: int, total: float) -> None:
        nonlocal best
        if i == n:
            if placed > best[0] or (placed == best[0] and total > best[1]):
                best = (placed, total)
            return
        walk(i + 1, placed, total)
        for j in range(m):
            if not math.isnan(scores[i][j]) and load[j] < cap[j]:
                load[j] += 1
                walk(i + 1, placed + 1, total + scores[i][j])
                load[j] -= 1

    walk(0, 0, 0.0)
    return best


def outcome(scores: Sequence[Sequence[float]], picks: Sequence[int | None]) -> tuple[int, float]:
    placed = [(i, j) for i, j in enumerate(picks) if j is not None]
    return len(placed), sum(scores[i][j] for i, j in placed)


def close_enough(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[list[float]], list[int]]:
    """≤ 6 leads × ≤ 4 reps: random eligibility (NaN = not eligible), integer or float scores
    (integers tie a lot; sometimes every row is the same), capacities 0–3."""
    n, m = draw(st.integers(0, 6)), draw(st.integers(1, 4))
    value = (
        st.integers(-3, 3).map(float)
        if draw(st.booleans())
        else st.floats(-5, 5, allow_nan=False, allow_infinity=False)
    )
    cell = st.one_of(st.just(math.nan), value, value)
    rows = [[draw(cell) for _ in range(m)] for _ in range(n)]
    if n and draw(st.booleans()):
        rows = [list(rows[0]) for _ in range(n)]
    cap = [draw(st.integers(0, 3)) for _ in range(m)]
    return rows, cap


def check_feasible(scores: list[list[float]], cap: Sequence[int], picks: list[int | None]) -> None:
    for i, j in enumerate(picks):
        assert j is None or not math.isnan(scores[i][j]), "a lead went to a rep it may not have"
    for j, room in enumerate(cap):
        assert sum(1 for p in picks if p == j) <= room, "a rep got more leads than its capacity"


def ctx_for(
    lead: lr.Lead, reps: list[lr.Rep], ids: frozenset[str], ledger: lr.Ledger | None = None
) -> Context:
    return Context(lead, Roster(reps), ledger or lr.Ledger(), NOW, seed=3, ids=ids)


def history(ledger: lr.Ledger, rep: str, segment: str, leads: int, sold: int, day: int = 1) -> None:
    """`leads` leads of `segment` assigned to `rep` `day` days before NOW, `sold` of them sold,
    the rest tagged invalid (so no book stays open)."""
    when = NOW - timedelta(days=day)
    for k in range(leads):
        lead_id = f"H-{rep}-{segment}-{day}-{k}"
        ledger.append(lr.Arrived(lr.Lead(lead_id, when, segment=segment)))
        ledger.append(lr.Assigned(lead_id, rep, when, "history"))
        if k < sold:
            ledger.append(lr.Converted(lead_id, rep, when + timedelta(hours=1), amount=100.0))
        else:
            ledger.append(lr.Tagged(lead_id, rep, when + timedelta(hours=1), valid=False))


# ----------------------------------------------------------------------------- the solver


@settings(max_examples=300, deadline=None)
@given(instances(), st.sampled_from(["auto", "flow", "matching"]))
def test_optimal_assignment_matches_brute_force(
    case: tuple[list[list[float]], list[int]], method: str
) -> None:
    """Invariant: every method places as many leads as any assignment can, and among those
    reaches the best total score; it never breaks eligibility or a capacity."""
    scores, cap = case
    picks = optimal_assignment(np.array(scores).reshape(len(scores), len(cap)), cap, method=method)
    check_feasible(scores, cap, picks)
    placed, total = outcome(scores, picks)
    best_placed, best_total = brute_force(scores, cap)
    assert placed == best_placed
    assert close_enough(total, best_total)


@settings(max_examples=200, deadline=None)
@given(instances())
def test_column_generation_path_is_exact(case: tuple[list[list[float]], list[int]]) -> None:
    """Invariant: the candidate-subgraph solver, forced on tiny instances (one candidate per
    lead to start, never the full graph), still proves and returns an optimum."""
    scores, cap = case
    matrix = np.array(scores, dtype=float).reshape(len(scores), len(cap))
    room = np.minimum(np.array(cap, dtype=np.int64), len(scores))
    assign = solve(matrix, room, method="matching", first_k=1, full_edges=0)
    picks = [None if j < 0 else int(j) for j in assign]
    check_feasible(scores, cap, picks)
    assert outcome(scores, picks)[0] == brute_force(scores, cap)[0]
    assert close_enough(outcome(scores, picks)[1], brute_force(scores, cap)[1])


def test_never_leaves_a_lead_out_to_gain_score() -> None:
    # Max score alone would give r0 to lead B (10) and leave A out; placing both wins.
    scores = [[1.0, math.nan], [10.0, 0.0]]
    assert optimal_assignment(scores, [1, 1]) == [0, 1]


def test_leads_without_eligible_reps_or_capacity_stay_unplaced() -> None:
    scores = [[math.nan, math.nan], [1.0, 2.0], [3.0, 1.0], [5.0, 4.0]]
    picks = optimal_assignment(scores, [1, 1])
    assert picks[0] is None
    assert outcome(scores, picks) == brute_force(scores, [1, 1]) == (2, 7.0)


def test_ties_are_spread_and_deterministic() -> None:
    first = optimal_assignment(np.zeros((9, 3)), [None, None, None])
    assert Counter(first) == {0: 3, 1: 3, 2: 3}
    assert optimal_assignment(np.zeros((9, 3)), [None, None, None]) == first


def test_methods_agree_on_a_larger_instance() -> None:
    rng = np.random.default_rng(4)
    table = rng.random((4, 30)).round(2)
    scores = table[rng.integers(0, 4, 200)]
    scores[rng.random(scores.shape) < 0.2] = np.nan
    cap = list(rng.integers(0, 10, 30))
    results = {
        method: optimal_assignment(scores, cap, method=method) for method in ("flow", "matching")
    }
    totals = {method: outcome(scores.tolist(), picks) for method, picks in results.items()}
    assert totals["flow"][0] == totals["matching"][0]
    assert close_enough(totals["flow"][1], totals["matching"][1])


def test_optimal_assignment_rejects_bad_input() -> None:
    with pytest.raises(lr.ConfigError, match="method must be one of"):
        optimal_assignment([[1.0]], [1], method="hungarian")
    with pytest.raises(lr.InvalidValueError, match="one per rep"):
        optimal_assignment([[1.0, 2.0]], [1])
    with pytest.raises(lr.InvalidValueError, match="finite"):
        optimal_assignment([[math.inf]], [1])
    with pytest.raises(lr.InvalidValueError, match="whole number"):
        optimal_assignment([[1.0]], [1.5])  # type: ignore[list-item]
    assert optimal_assignment([], [1, 2]) == []


def test_solver_is_still_importable_from_profile_matching() -> None:
    """The solver moved to `leadrouter.assignment`; the old import path keeps working."""
    assert profile_matching.optimal_assignment is optimal_assignment
    assert profile_matching.METHODS == ("auto", "flow", "matching")


# ----------------------------------------------------------------------------- route_batch


@settings(max_examples=150, deadline=None)
@given(instances(), st.lists(st.booleans(), min_size=4, max_size=4))
def test_route_batch_is_optimal_for_a_custom_scorer(
    case: tuple[list[list[float]], list[int]], unlimited: list[bool]
) -> None:
    """Invariant: route_batch answers one pick per lead, within each rep's capacity (None =
    unlimited) and eligibility, with the brute-force optimum of placed leads and total score."""
    scores, cap = case
    n, m = len(scores), len(cap)
    reps = [lr.Rep(f"R{j}") for j in range(m)]
    leads = [lr.Lead(f"L{i}", T0) for i in range(n)]
    table = {(f"L{i}", f"R{j}"): scores[i][j] for i in range(n) for j in range(m)}

    def fit(lead: lr.Lead, rep: lr.Rep) -> float:
        return table[(lead.id, rep.id)]

    ctxs = [
        ctx_for(lead, reps, frozenset(f"R{j}" for j in range(m) if not math.isnan(scores[i][j])))
        for i, lead in enumerate(leads)
    ]
    capacity: dict[str, int | None] = {f"R{j}": None if unlimited[j] else cap[j] for j in range(m)}
    picks = ProfileMatching(fit).route_batch(ctxs, capacity)
    assert len(picks) == n
    chosen = [None if p is None or p.rep_id is None else int(p.rep_id[1:]) for p in picks]
    effective = [n if unlimited[j] else cap[j] for j in range(m)]
    check_feasible(scores, effective, chosen)
    best = brute_force(scores, effective)
    assert outcome(scores, chosen)[0] == best[0]
    assert close_enough(outcome(scores, chosen)[1], best[1])


def test_route_batch_with_the_learned_scorer_is_optimal() -> None:
    ledger = lr.Ledger()
    rng = np.random.default_rng(7)
    segments = ("smb", "mid", "enterprise")
    for rep in ("A", "B", "C"):
        for segment in segments:
            sold = int(rng.integers(0, 8))
            history(ledger, rep, segment, 8, sold)
    reps = [lr.Rep(x) for x in "ABC"]
    strategy = ProfileMatching()
    leads = [lr.Lead(f"N{i}", NOW, segment=segments[i % 3]) for i in range(7)]
    ctxs = [ctx_for(lead, reps, frozenset("ABC"), ledger) for lead in leads]
    capacity: dict[str, int | None] = {"A": 2, "B": 3, "C": 1}
    picks = strategy.route_batch(ctxs, capacity)
    rates = strategy.explain_rates(ledger, NOW)
    scores = [[rates.rate(rep, lead.segment) for rep in "ABC"] for lead in leads]
    chosen = [None if p is None or p.rep_id is None else "ABC".index(p.rep_id) for p in picks]
    best = brute_force(scores, [2, 3, 1])
    assert outcome(scores, chosen)[0] == best[0] == 6
    assert close_enough(outcome(scores, chosen)[1], best[1])


# ----------------------------------------------------------------------------- through a Router


def test_route_picks_the_best_fit_that_can_take_it() -> None:
    fit = {"a": 3.0, "b": 2.0, "c": 1.0}
    reps = [lr.Rep(x) for x in "abc"]
    router = lr.Router(
        ProfileMatching(lambda lead, rep: fit[rep.id]),
        reps,
        caps=lr.FixedCap(open=1),
        clock=lr.ManualClock(T0),
    )
    decisions = [router.route(lr.Lead(f"L{i}", T0)) for i in range(4)]
    assert [d.rep_id for d in decisions] == ["a", "b", "c", None]
    assert dict(decisions[0].scores) == fit
    assert "score 3 from <lambda>" in decisions[0].reasons[-1].detail
    assert router.ledger.waiting() == ("L3",)


def test_a_batch_never_exceeds_a_cap_whose_remaining_promises_more_than_its_check() -> None:
    """The batch is sized by `Cap.remaining`, which a team's own cap may leave at its default
    (None: no limit) while its `check` refuses; each assignment is checked again as it is
    written, so the batch places what `route` would and the cap holds."""

    class OneOpen(lr.Cap):
        def check(self, rep_id: str, ctx: Context) -> str | None:
            held = ctx.view.book_size(rep_id)
            return f"{held} open" if held >= 1 else None

    leads = [lr.Lead(f"L{i}", T0) for i in range(6)]
    batched = lr.Router(ProfileMatching(), [lr.Rep("a"), lr.Rep("b")], caps=OneOpen())
    decisions = batched.route_many(leads, now=T0)
    assert Counter(d.rep_id for d in decisions) == Counter({None: 4, "a": 1, "b": 1})
    assert batched.ledger.book_size("a") == batched.ledger.book_size("b") == 1
    assert batched.ledger.waiting() == tuple(d.lead_id for d in decisions if d.rep_id is None)


def test_route_many_respects_caps_rules_and_leaves_the_rest_waiting() -> None:
    reps = [
        lr.Rep("north1", regions={"north"}, profile={"language": "zh"}),
        lr.Rep("north2", regions={"north"}, profile={"language": "en"}),
        lr.Rep("any", profile={"language": "en"}),
    ]

    def language(lead: lr.Lead, rep: lr.Rep) -> float:
        return 1.0 if lead.features.get("language") == rep.profile["language"] else 0.0

    router = lr.Router(
        ProfileMatching(language),
        reps,
        rules=[rules.region()],
        caps=lr.FixedCap(open=2),
        clock=lr.ManualClock(T0),
    )
    langs = ["zh", "zh", "zh", "en", "en", "en", "en", "zh"]
    leads = [
        lr.Lead(f"L{i}", T0, region="north" if i % 2 else "south", features={"language": lang})
        for i, lang in enumerate(langs)
    ]
    decisions = router.route_many(leads)
    ledger = router.ledger
    placed = [d for d in decisions if d.rep_id is not None]
    assigned = [e for e in ledger.events() if isinstance(e, lr.Assigned)]
    assert len(placed) == len(assigned) == 6  # 3 reps × open cap 2
    assert {e.lead_id for e in assigned} == {d.lead_id for d in placed}
    for rep in reps:
        assert ledger.book_size(rep.id) <= 2
    for d in placed:
        region = leads[int(d.lead_id[1:])].region
        assert d.rep_id == "any" or region == "north"
    waiting = [d.lead_id for d in decisions if d.rep_id is None]
    assert sorted(ledger.waiting()) == sorted(waiting)
    assert all(d.reasons[-1].code == "waiting" for d in decisions if d.rep_id is None)
    # Best total fit: the most language matches the caps and regions allow.
    matches = sum(
        language(leads[int(d.lead_id[1:])], router.roster[d.rep_id])  # type: ignore[index]
        for d in placed
    )
    scores = [
        [
            language(lead, rep) if not rep.regions or lead.region in rep.regions else math.nan
            for rep in reps
        ]
        for lead in leads
    ]
    assert (len(placed), matches) == brute_force(scores, [2, 2, 2])
    # The waiting leads are south leads only "any" may take: a sale frees its book, and the
    # next tick lets one in.
    sold = next(d for d in placed if d.rep_id == "any")
    router.record(lr.Converted(sold.lead_id, "any", at(5)))
    router.tick(at(6))
    assert len(ledger.waiting()) == len(waiting) - 1
    assert ledger.book_size("any") == 2


def test_route_many_without_history_spreads_deterministically() -> None:
    def run() -> list[str | None]:
        router = lr.Router(ProfileMatching(), [lr.Rep(x) for x in "abc"], seed=5)
        leads = [lr.Lead(f"L{i}", T0, segment="smb") for i in range(9)]
        return [d.rep_id for d in router.route_many(leads, now=T0)]

    first = run()
    assert Counter(first) == {"a": 3, "b": 3, "c": 3}
    assert run() == first


def test_route_without_history_rotates_like_equal_rotation() -> None:
    reps = [lr.Rep(x) for x in "abcd"]
    leads = [lr.Lead(f"L{i}", at(i), segment=("smb", "mid")[i % 2]) for i in range(12)]
    got = lr.Router(ProfileMatching(), reps, seed=2)
    ref = lr.Router(EqualRotation(), reps, seed=2)
    assert [got.route(lead, now=lead.arrived_at).rep_id for lead in leads] == [
        ref.route(lead, now=lead.arrived_at).rep_id for lead in leads
    ]


def test_default_scorer_learns_who_sells_which_segment() -> None:
    ledger = lr.Ledger()
    history(ledger, "A", "enterprise", 30, 12)
    history(ledger, "A", "smb", 30, 2)
    history(ledger, "B", "enterprise", 30, 2)
    history(ledger, "B", "smb", 30, 12)
    reps = [lr.Rep("A"), lr.Rep("B")]
    strategy = ProfileMatching()
    router = lr.Router(strategy, reps, ledger=ledger, clock=lr.ManualClock(NOW))
    assert router.route(lr.Lead("E1", NOW, segment="enterprise")).rep_id == "A"
    assert router.route(lr.Lead("S1", NOW, segment="smb")).rep_id == "B"
    batch = [lr.Lead(f"M{i}", NOW, segment=("enterprise", "smb")[i % 2]) for i in range(4)]
    got = {d.lead_id: d.rep_id for d in router.route_many(batch)}
    assert got == {"M0": "A", "M1": "B", "M2": "A", "M3": "B"}
    # The rates are the documented shrinkage: pair -> segment -> overall, k = 20.
    rates = strategy.explain_rates(ledger, NOW)
    overall = 28 / 120
    segment = (14 + 20 * overall) / (60 + 20)
    assert rates.overall == pytest.approx(overall)
    assert rates.value_rate("enterprise") == pytest.approx(segment)
    assert rates.rate("A", "enterprise") == pytest.approx((12 + 20 * segment) / (30 + 20))
    assert rates.rate("new-rep", "enterprise") == pytest.approx(segment)
    assert rates.rate("A", "never-seen") == pytest.approx(overall)


def test_few_leads_do_not_crown_a_rep() -> None:
    ledger = lr.Ledger()
    history(ledger, "A", "smb", 3, 1)  # 33% on three leads
    history(ledger, "B", "smb", 60, 12)  # 20% on sixty
    rates = ProfileMatching().explain_rates(ledger, NOW)
    raw = ProfileMatching(prior_strength=0).explain_rates(ledger, NOW)
    assert raw.rate("A", "smb") > raw.rate("B", "smb")
    assert abs(rates.rate("A", "smb") - rates.value_rate("smb")) < 0.02
    assert rates.rate("A", "smb") < raw.rate("A", "smb")


def test_rates_are_learned_once_per_day_from_days_before() -> None:
    ledger = lr.Ledger()
    history(ledger, "A", "smb", 10, 5)
    history(ledger, "B", "smb", 10, 1)
    strategy = ProfileMatching()
    reps = [lr.Rep("A"), lr.Rep("B")]
    router = lr.Router(strategy, reps, ledger=ledger, caps=lr.FixedCap(open=1))
    before = strategy.explain_rates(ledger, NOW)
    # Today's sales by B move nothing today...
    for k in range(5):
        lead = lr.Lead(f"T{k}", NOW, segment="smb")
        router.route(lead, now=NOW)
        holder = ledger.holder(lead.id)
        assert holder is not None
        router.record(lr.Converted(lead.id, holder, NOW + timedelta(minutes=1)))
    assert strategy.explain_rates(ledger, NOW + timedelta(hours=3)) is before
    # ...and count from tomorrow, outside the window they drop out again.
    tomorrow = strategy.explain_rates(ledger, NOW + timedelta(days=1))
    assert tomorrow.counts != before.counts
    later = strategy.explain_rates(ledger, NOW + timedelta(days=200))
    assert later.overall is None


def test_one_instance_serves_two_ledgers_without_leaking() -> None:
    strategy = ProfileMatching()
    a, b = lr.Ledger(), lr.Ledger()
    history(a, "A", "smb", 20, 10)
    history(a, "B", "smb", 20, 0)
    history(b, "B", "smb", 20, 10)
    history(b, "A", "smb", 20, 0)
    reps = [lr.Rep("A"), lr.Rep("B")]
    ra = lr.Router(strategy, reps, ledger=a)
    rb = lr.Router(strategy, reps, ledger=b)
    assert rb.route(lr.Lead("x", NOW, segment="smb"), now=NOW).rep_id == "B"
    assert ra.route(lr.Lead("x", NOW, segment="smb"), now=NOW).rep_id == "A"


def test_feature_can_be_any_lead_field_or_feature() -> None:
    ledger = lr.Ledger()
    when = NOW - timedelta(days=1)
    for k, (rep, lang, sold) in enumerate(
        [("A", "zh", True)] * 10 + [("A", "en", False)] * 10 + [("B", "en", True)] * 10
    ):
        lead_id = f"H{k}"
        ledger.append(lr.Arrived(lr.Lead(lead_id, when, features={"language": lang})))
        ledger.append(lr.Assigned(lead_id, rep, when, "history"))
        if sold:
            ledger.append(lr.Converted(lead_id, rep, when))
        else:
            ledger.append(lr.Tagged(lead_id, rep, when, valid=False))
    strategy = ProfileMatching(feature="language")
    router = lr.Router(strategy, [lr.Rep("A"), lr.Rep("B")], ledger=ledger)
    zh = router.route(lr.Lead("zh", NOW, features={"language": "zh"}), now=NOW)
    en = router.route(lr.Lead("en", NOW, features={"language": "en"}), now=NOW)
    assert (zh.rep_id, en.rep_id) == ("A", "B")
    assert "language 'zh'" in zh.reasons[-1].detail


def test_custom_scorer_errors_and_config_errors() -> None:
    reps = [lr.Rep("a"), lr.Rep("b")]
    router = lr.Router(ProfileMatching(lambda lead, rep: math.nan), reps)
    with pytest.raises(lr.StrategyError, match="finite number"):
        router.route(lr.Lead("L1", T0), now=T0)
    with pytest.raises(lr.ConfigError, match="callable"):
        ProfileMatching("segment")  # type: ignore[arg-type]
    with pytest.raises(lr.ConfigError, match="prior_strength"):
        ProfileMatching(prior_strength=-1)
    with pytest.raises(lr.ConfigError, match="window"):
        ProfileMatching(window=timedelta(0))
    with pytest.raises(lr.ConfigError, match="feature"):
        ProfileMatching(feature="")
    with pytest.raises(lr.ConfigError, match="time zone"):
        ProfileMatching(tz="Mars/Olympus")


def test_repr_names_the_scorer() -> None:
    def by_language(lead: lr.Lead, rep: lr.Rep) -> float:
        return 0.0

    assert repr(ProfileMatching(by_language)).startswith("ProfileMatching(scorer=by_language,")
    assert "prior_strength=20.0" in repr(ProfileMatching())


def seniority(lead: lr.Lead, rep: lr.Rep) -> float:
    """A scorer at module level, so the strategy holding it pickles (check_pickling)."""
    return float(rep.profile.get("seniority", 0)) + (lead.score or 0.0)


def test_profile_matching_conforms() -> None:
    check_strategy(ProfileMatching())
    check_strategy(ProfileMatching(seniority))
    assert ProfileMatching().tags == lr.StrategyTags(
        needs_profile=True, needs_history=True, batching=True
    )
    assert ProfileMatching().batches


# ----------------------------------------------------------------------------- ledger view


def test_ledger_receipts_lists_leads_received_in_a_window() -> None:
    ledger = lr.Ledger()
    for k in range(3):
        ledger.append(lr.Arrived(lr.Lead(f"L{k}", T0)))
    ledger.append(lr.Assigned("L2", "R", at(30), "test"))
    ledger.append(lr.Assigned("L0", "R", at(10), "test"))  # recorded late, dated earlier
    ledger.append(lr.Claimed("L1", "R", at(20)))
    ledger.append(lr.Released("L1", "R", at(25), "returned"))
    ledger.append(lr.Claimed("L1", "Q", at(26)))
    assert ledger.receipts("R") == [(at(10), "L0"), (at(20), "L1"), (at(30), "L2")]
    assert ledger.receipts("R", since=at(15), until=at(30)) == [(at(20), "L1")]
    assert ledger.receipts("Q") == [(at(26), "L1")]
    assert ledger.receipts("nobody") == []
    assert lr.Ledger.from_events(ledger.events()).receipts("R") == ledger.receipts("R")
    with pytest.raises(lr.InvalidValueError):
        ledger.daily("R", metric="received_ids")
