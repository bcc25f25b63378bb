"""DynamicCaps: fallback while history is short, forecast caps after, weekly seasonality,
headroom and bounds, once-a-day caching, explain(), and caps never exceeded through a Router."""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter import dynamic_caps as dc
from leadrouter.context import Context
from leadrouter.dynamic_caps import METRICS, CapForecast, DynamicCaps
from leadrouter.events import Arrived, Assigned, Event, Touched
from leadrouter.forecast import fit_smoothing
from leadrouter.roster import Roster
from leadrouter.strategies.base import Pick
from leadrouter.strategies.grab_with_caps import GrabWithCaps

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, midnight UTC
WEEK = (30, 30, 30, 30, 30, 5, 5)  # Monday .. Sunday


def day(n: int, hours: float = 9.0) -> datetime:
    """`hours` into day `n` after START (day 0 is a Monday)."""
    return START + timedelta(days=n, hours=hours)


def history_events(
    series: Mapping[str, Sequence[int]],
    *,
    first_day: int = 0,
    touched: bool = True,
    start: datetime = START,
) -> list[Event]:
    """Leads assigned to (and, with `touched`, first touched by) each rep: `series[rep][i]` of
    them on day `first_day + i`, from 09:00."""
    events: list[Event] = []
    for rep, counts in series.items():
        for i, n in enumerate(counts):
            for k in range(n):
                at = start + timedelta(days=first_day + i, hours=9, minutes=k)
                lead_id = f"h-{rep}-{first_day + i}-{k}"
                events += [Arrived(lr.Lead(lead_id, at)), Assigned(lead_id, rep, at, by="history")]
                if touched:
                    events.append(Touched(lead_id, rep, at + timedelta(seconds=30)))
    events.sort(key=lambda e: e.at)
    return events


def history(series: Mapping[str, Sequence[int]], **kw: Any) -> lr.Ledger:
    return lr.Ledger.from_events(history_events(series, **kw))


def route_today(router: lr.Router, n: int, on: int, prefix: str = "L") -> list[lr.Decision]:
    leads = [lr.Lead(f"{prefix}{on}-{i}", day(on, 9 + i / 60)) for i in range(n)]
    return [router.route(lead, now=lead.arrived_at) for lead in leads]


def received(ledger: lr.Ledger, rep: str, on: int) -> int:
    return ledger.count(rep, since=day(on, 0), until=day(on + 1, 0))


# ---------------------------------------------------------------------------- fallback, forecast


def test_fallback_applies_while_history_is_short_then_the_forecast_replaces_it() -> None:
    caps = DynamicCaps(lr.FixedCap(daily=20))
    short = history({"a": [10] * 10})
    plan = caps.explain("a", short, day(10))
    assert plan.model == "fallback"
    assert plan.cap == 20
    assert "10 days of history, fewer than min_history_days=14" in plan.method

    router = lr.Router(lr.EqualRotation(), [lr.Rep("a")], ledger=short, caps=caps)
    got = route_today(router, 25, on=10)
    assert received(short, "a", 10) == 20
    first_refused = got[20].reasons
    assert "daily cap 20 reached" in first_refused[-2].detail  # the fallback's own reason
    # a rep known full for the day is explained as the cap first refused them, not another way
    assert got[-1].reasons[-2] == first_refused[-2]

    long = history({"a": [10] * 14})
    plan = caps.explain("a", long, day(14))
    assert plan.model == "non-seasonal"
    assert plan.forecast == pytest.approx(10.0)
    assert plan.cap == 12
    router = lr.Router(lr.EqualRotation(), [lr.Rep("a")], ledger=long, caps=caps)
    got = route_today(router, 25, on=14)
    assert received(long, "a", 14) == 12  # the forecast replaced the fallback's 20
    capped = [r for r in got[12].reasons if r.code == "capped"]
    assert capped[0].detail == (
        "forecast daily cap 12 reached (12 received today; forecast 10.0 × 1.2, UTC)"
    )


def test_routing_day_by_day_leaves_the_fallback_and_the_cap_can_grow() -> None:
    """Through a Router over days: the fallback's 5 a day for the first week, then the forecast
    (about 5 × 1.2), which grows while the rep takes every lead it allows."""
    clock = lr.ManualClock(day(0))
    caps = DynamicCaps(lr.FixedCap(daily=5), min_history_days=7, metric="received")
    router = lr.Router(lr.EqualRotation(), [lr.Rep("a")], caps=caps, clock=clock)
    caps_by_day = []
    for d in range(12):
        clock.set(day(d, 8))
        router.tick()
        route_today(router, 9, on=d)
        caps_by_day.append(caps.explain("a", router.ledger, day(d)).cap)
        assert received(router.ledger, "a", d) == caps_by_day[-1]
    assert caps_by_day[:7] == [5] * 7
    assert caps_by_day[7] == 6
    assert min(caps_by_day[7:]) >= 6
    assert caps_by_day[-1] > 6  # the backlog keeps the cap binding, so it grows


def test_days_without_leads_count_as_zeros_between_first_and_last_day() -> None:
    caps = DynamicCaps(lr.FixedCap(daily=3), seasonal_after=None)
    ledger = history({"a": [10, 0] * 10})
    plan = caps.explain("a", ledger, day(20))
    assert plan.history_days == 19  # day 0 .. day 18, the last active day
    assert plan.first_day == date(2026, 1, 5)
    assert plan.last_day == date(2026, 1, 23)
    assert plan.recent == (0, 10) * 7
    assert 3.0 < plan.forecast < 8.0  # about 5 a day, not 10


def test_todays_leads_never_move_todays_cap() -> None:
    caps = DynamicCaps(lr.FixedCap(daily=3), metric="received")
    ledger = history({"a": [10] * 14})
    before = caps.explain("a", ledger, day(14, 0))
    router = lr.Router(lr.EqualRotation(), [lr.Rep("a")], ledger=ledger, caps=caps)
    route_today(router, 30, on=14)
    fresh = DynamicCaps(lr.FixedCap(daily=3), metric="received")
    assert fresh.explain("a", ledger, day(14, 23)) == before
    assert before.cap == 12


def test_weekly_pattern_gives_a_monday_cap_above_the_saturday_cap() -> None:
    caps = DynamicCaps(lr.FixedCap(daily=20))
    ledger = history({"a": list(WEEK) * 6})
    monday = caps.explain("a", ledger, day(42))
    saturday = caps.explain("a", ledger, day(47))
    assert monday.model == saturday.model == "seasonal"
    assert "gamma" in monday.params
    assert monday.cap is not None and saturday.cap is not None
    assert monday.cap > saturday.cap
    assert 30 <= monday.cap <= 40
    assert 1 <= saturday.cap <= 10


def test_short_history_is_non_seasonal_and_trend_adds_holt() -> None:
    ledger = history({"a": list(range(5, 25))})
    plain = DynamicCaps(lr.FixedCap(daily=3)).explain("a", ledger, day(20))
    holt = DynamicCaps(lr.FixedCap(daily=3), trend=True).explain("a", ledger, day(20))
    assert plain.model == holt.model == "non-seasonal"
    assert plain.method == "simple exponential smoothing"
    assert holt.method == "Holt's damped trend"
    assert set(holt.params) == {"alpha", "beta", "phi"}
    assert "trend" in holt.components


def test_numpy_update_reproduces_the_statsmodels_forecast() -> None:
    """With a refit every day the fitted stretch is the whole series, so the vectorised
    recursion must land exactly on statsmodels' own forecast (also days ahead)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    rng = random.Random(4)
    series = [rng.randint(0, 6) + (20 if i % 7 < 5 else 0) for i in range(33)]
    ledger = history({"a": series})
    for trend in (False, True):
        caps = DynamicCaps(lr.FixedCap(daily=3), refit_every=1, trend=trend)
        for on in (33, 35):
            plan = caps.explain("a", ledger, day(on))
            fit = ExponentialSmoothing(
                [float(v) for v in series],
                trend="add" if trend else None,
                damped_trend=trend,
                seasonal="add",
                seasonal_periods=7,
                initialization_method="heuristic",
            ).fit(use_brute=False, method="SLSQP")
            assert plan.forecast == pytest.approx(fit.forecast(on - 32)[-1], rel=1e-9)


SPIKE = [3] * 20 + [10**9] + [3] * 9
"""A series statsmodels' optimiser cannot fit: one day a billion times the others (SLSQP stops
at its first step, "Inequality constraints incompatible"). No ledger could hold it; `DailyView`
can."""


class DailyView:
    """Stands in for a ledger with fixed daily counts (index 0 = START's day), through
    `counts_between`, the one call `DynamicCaps` makes to read a rep's series."""

    def __init__(self, series: Sequence[int]) -> None:
        self.series = series

    def counts_between(
        self, rep_id: str, edges: Sequence[datetime], metric: str = "received"
    ) -> list[int]:
        days = [(edge - START).days for edge in edges[:-1]]
        return [self.series[d] if 0 <= d < len(self.series) else 0 for d in days]


@pytest.mark.parametrize("seasonal", [False, True])
@pytest.mark.parametrize("trend", [False, True])
def test_a_fit_that_does_not_converge_says_so_without_statsmodels_warnings(
    seasonal: bool, trend: bool
) -> None:
    rng = random.Random(4)
    normal = [rng.randint(0, 6) + (20 if i % 7 < 5 else 0) for i in range(33)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bad = fit_smoothing(SPIKE, seasonal, trend, key=())
        good = fit_smoothing(normal, seasonal, trend, key=())
        exact = fit_smoothing([5] * 7, False, trend, key=())  # zero error: log(0) in its AIC
    assert bad.note.startswith("the fit did not converge (statsmodels' optimiser: ")
    assert bad.note.endswith("); the parameters are its last step")
    assert good.note == exact.note == ""
    assert exact.level == pytest.approx(5.0)
    assert [str(w.message) for w in caught] == []  # the ConvergenceWarning became the note


def test_dynamic_caps_warns_once_per_fit_that_did_not_converge_and_notes_it_daily() -> None:
    caps = DynamicCaps(lr.FixedCap(daily=3), seasonal_after=None, refit_every=1)
    view = DailyView(SPIKE)
    with pytest.warns(lr.errors.ForecastFitWarning) as warned:
        plan = caps.explain("a", view, day(30))  # type: ignore[arg-type]
    assert len(warned) == 1
    assert issubclass(lr.errors.ForecastFitWarning, lr.errors.ModelFitWarning)
    message = str(warned[0].message)
    assert message.startswith(
        "DynamicCaps: the simple exponential smoothing model of rep 'a', fitted on the days "
        "before 2026-02-04: the fit did not converge (statsmodels' optimiser: "
    )
    assert "within bounds=(1, 500), until the next refit" in message
    assert "DynamicCaps.explain('a', ledger, now)" in message
    assert plan.model == "non-seasonal"
    assert plan.cap == 500
    assert plan.note.startswith("held at the upper bound 500; the fit did not converge")
    assert "the fit did not converge" in str(plan)
    # The next day reuses the same fit (no new data): no second warning, the same note.
    with warnings.catch_warnings():
        warnings.simplefilter("error", lr.errors.ForecastFitWarning)
        later = caps.explain("a", view, day(31))  # type: ignore[arg-type]
    assert later.note == plan.note


# ---------------------------------------------------------------------------- headroom, bounds


@pytest.mark.parametrize(
    ("kw", "cap", "note"),
    [
        ({}, 12, ""),
        ({"headroom": 0.5}, 15, ""),
        ({"headroom": 0.0}, 10, ""),
        ({"bounds": (1, 11)}, 11, "held at the upper bound 11"),
        ({"bounds": (13, 500)}, 13, "raised to the lower bound 13"),
    ],
)
def test_headroom_and_bounds_shape_the_cap(kw: dict[str, Any], cap: int, note: str) -> None:
    ledger = history({"a": [10] * 14})
    plan = DynamicCaps(lr.FixedCap(daily=3), **kw).explain("a", ledger, day(14))
    assert plan.cap == cap
    assert plan.note == note
    router = lr.Router(
        lr.EqualRotation(),
        [lr.Rep("a")],
        ledger=ledger,
        caps=DynamicCaps(lr.FixedCap(daily=3), **kw),
    )
    route_today(router, cap + 5, on=14)
    assert received(ledger, "a", 14) == cap


def test_the_lower_bound_keeps_a_rep_who_handles_nothing_some_leads() -> None:
    ledger = history({"a": [1] + [0] * 12 + [1]})
    plan = DynamicCaps(lr.FixedCap(daily=3)).explain("a", ledger, day(14))
    assert plan.cap == 1
    assert plan.note == "raised to the lower bound 1"


# ---------------------------------------------------------------------------- metric, zones


def test_touched_counts_handled_leads_and_received_counts_assignments() -> None:
    events = history_events({"a": [10] * 14}, touched=False)
    touches = [
        Touched(e.lead_id, "a", e.at + timedelta(minutes=1))
        for e in events
        if isinstance(e, Assigned) and int(e.lead_id.rsplit("-", 1)[1]) < 4
    ]
    ledger = lr.Ledger.from_events(sorted(events + touches, key=lambda e: e.at))
    touched = DynamicCaps(lr.FixedCap(daily=3)).explain("a", ledger, day(14))
    got = DynamicCaps(lr.FixedCap(daily=3), metric="received").explain("a", ledger, day(14))
    assert touched.forecast == pytest.approx(4.0)
    assert touched.cap == 5  # the rep works 4 of their 10 leads a day
    assert got.cap == 12


def test_no_touches_reported_keeps_the_fallback_and_says_why() -> None:
    ledger = history({"a": [10] * 20}, touched=False)
    plan = DynamicCaps(lr.FixedCap(daily=7)).explain("a", ledger, day(20))
    assert plan.model == "fallback"
    assert plan.cap == 7
    assert "no leads touched in the last 56 days" in plan.method
    assert "metric='received'" in plan.method


def test_days_are_counted_in_the_caps_time_zone() -> None:
    # Leads at 20:00 UTC: the same day in UTC, 04:00 the next day in Shanghai.
    late = history_events({"a": [3] * 14}, start=START + timedelta(hours=11))
    utc = DynamicCaps(lr.FixedCap(daily=1), metric="received")
    shanghai = DynamicCaps(
        lr.FixedCap(daily=1, tz="Asia/Shanghai"), metric="received", tz="Asia/Shanghai"
    )
    ledger = lr.Ledger.from_events(late)
    assert utc.explain("a", ledger, day(15)).first_day == date(2026, 1, 5)
    assert shanghai.explain("a", ledger, day(15)).first_day == date(2026, 1, 6)


# ---------------------------------------------------------------------------- caching


def test_forecast_is_computed_once_per_day_and_fitted_rarely(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fitted: list[tuple[int, tuple[Any, ...]]] = []
    computed: list[list[str]] = []
    real_fit, real_compute = dc.fit_smoothing, DynamicCaps._compute
    today = [0]

    def fit(y: Sequence[float], seasonal: bool, trend: bool, key: tuple[Any, ...]) -> Any:
        fitted.append((today[0], key))
        return real_fit(y, seasonal, trend, key)

    def compute(self: DynamicCaps, rep_ids: Sequence[str], *args: Any) -> Any:
        computed.append(list(rep_ids))
        return real_compute(self, rep_ids, *args)

    monkeypatch.setattr(dc, "fit_smoothing", fit)
    monkeypatch.setattr(DynamicCaps, "_compute", compute)

    reps = [lr.Rep(x) for x in "abc"]
    ledger = history({r.id: [8, 9, 10, 11, 12, 2, 1] * 6 for r in reps})
    caps = DynamicCaps(lr.FixedCap(daily=3), window=21, seasonal_after=None)
    router = lr.Router(lr.EqualRotation(), reps, ledger=ledger, caps=caps)
    for on in range(21, 35):
        today[0] = on
        route_today(router, 40, on=on, prefix=f"D{on}-")
        caps.explain("a", ledger, day(on, 23))  # a second look the same day: nothing new
        assert len(computed) == on - 20, "one recompute per day, never per lead"
    assert sorted(computed[0]) == ["a", "b", "c"]  # the whole roster in one pass
    # Every rep's first fit on day 21, then one refit a week, on a day fixed by its id, on the
    # days up to the day before.
    assert [d for d, _ in fitted[:3]] == [21, 21, 21]
    refits = [d for d, _ in fitted[3:]]
    assert 3 <= len(refits) <= 6
    for d in refits:
        assert d + 7 > 34 or d + 7 in refits
        assert d - 7 < 22 or d - 7 in refits
    for d, key in fitted[3:]:
        assert key[2] == (START + timedelta(days=d - 1)).date()


def test_caps_depend_on_the_ledger_and_the_day_not_on_when_they_were_asked() -> None:
    rng = random.Random(7)
    series = {r: [rng.randint(3, 15) for _ in range(40)] for r in ("a", "b")}
    ledger = history(series)
    daily = DynamicCaps(lr.FixedCap(daily=3))
    for on in range(20, 45):
        daily.explain_many(["a", "b"], ledger, day(on))
    fresh = DynamicCaps(lr.FixedCap(daily=3))
    for rep in ("a", "b"):
        assert fresh.explain(rep, ledger, day(44)) == daily.explain(rep, ledger, day(44))


def test_one_instance_serves_many_ledgers() -> None:
    caps = DynamicCaps(lr.FixedCap(daily=3))
    small, big = history({"a": [5] * 14}), history({"a": [20] * 14})
    assert caps.explain("a", small, day(14)).cap == 6
    assert caps.explain("a", big, day(14)).cap == 24
    assert caps.explain("a", small, day(14)).cap == 6


# ---------------------------------------------------------------------------- remaining, claims


def test_remaining_is_the_room_left_today() -> None:
    ledger = history({"a": [10] * 14, "b": [1] * 3})
    caps = DynamicCaps(lr.FixedCap(daily=4))
    router = lr.Router(lr.EqualRotation(), [lr.Rep("a"), lr.Rep("b")], ledger=ledger, caps=caps)
    route_today(router, 6, on=14)
    ctx = Context(lr.Lead("x", day(14, 12)), Roster(router.reps), ledger, day(14, 12))
    assert caps.remaining("a", ctx) == 12 - 3
    assert caps.remaining("b", ctx) == 4 - 3  # fallback: its own remaining
    assert DynamicCaps(lr.FixedCap()).remaining("b", ctx) is None


def test_reps_at_todays_cap_are_saturated_until_the_next_day() -> None:
    ledger = history({"a": [5] * 14, "b": [1] * 3})
    caps = DynamicCaps(lr.FixedCap(daily=2))
    router = lr.Router(lr.EqualRotation(), [lr.Rep("a"), lr.Rep("b")], ledger=ledger, caps=caps)

    def ctx(at: datetime) -> Context:
        return Context(lr.Lead("x", at), router.roster, ledger, at)

    assert caps.saturated(ctx(day(14, 8))) == frozenset()
    got = route_today(router, 10, on=14)
    assert [d.rep_id for d in got].count(None) == 2  # a's forecast cap 6, b's fallback 2
    assert caps.saturated(ctx(day(14, 12))) == {"a", "b"}
    assert all(caps.remaining(rep, ctx(day(14, 12))) == 0 for rep in ("a", "b"))
    assert caps.saturated(ctx(day(15, 8))) == frozenset()
    assert len(router.tick(day(15, 8))) == 2  # the waiting leads go out on the new day


def test_claims_are_refused_at_the_forecast_cap() -> None:
    ledger = history({"a": [5] * 14})
    caps = DynamicCaps(lr.FixedCap(daily=50))
    router = lr.Router(lambda ctx: Pick(None, pool="grab"), [lr.Rep("a")], ledger=ledger, caps=caps)
    leads = [lr.Lead(f"G{i}", day(14, 9)) for i in range(8)]
    for lead in leads:
        assert router.route(lead, now=lead.arrived_at).pool == "grab"
    got = [router.claim("a", lead.id, now=day(14, 10)) for lead in leads]
    assert [d.action for d in got] == ["claimed"] * 6 + ["refused"] * 2
    assert got[-1].reasons[0].detail.startswith("cap reached: forecast daily cap 6 reached (6 rec")


def test_works_with_grab_with_caps() -> None:
    ledger = history({"a": [3] * 14, "b": [3] * 3})
    caps = DynamicCaps(lr.FixedCap(daily=2))
    router = lr.Router(GrabWithCaps(), [lr.Rep("a"), lr.Rep("b")], ledger=ledger, caps=caps)
    leads = [lr.Lead(f"G{i}", day(14, 9)) for i in range(10)]
    for lead in leads:
        assert router.route(lead).rep_id is None
    claims_a = [router.claim("a", lead.id, now=day(14, 10)).action for lead in leads[:6]]
    claims_b = [router.claim("b", lead.id, now=day(14, 10)).action for lead in leads[6:]]
    assert claims_a.count("claimed") == 4  # forecast 3 × 1.2 → 4
    assert claims_b.count("claimed") == 2  # short history: the fallback's 2


# ---------------------------------------------------------------------------- property


@settings(max_examples=25, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 24), min_size=1, max_size=3),
    seed=st.integers(0, 2**16),
    leads=st.lists(st.integers(0, 40), min_size=2, max_size=2),
    metric=st.sampled_from(METRICS),
)
def test_cap_is_never_exceeded_through_a_router(
    lengths: list[int], seed: int, leads: list[int], metric: str
) -> None:
    """Invariant: whatever the history, no rep receives more leads in a day than that day's cap
    (the forecast with enough history, else the fallback's), and every lead routed is either
    assigned or waiting — over two days, with waiting leads offered again at tick()."""
    rng = random.Random(seed)
    series = {
        f"R{i}": [rng.choice((0, 2, 5, 9, 14)) for _ in range(n)] for i, n in enumerate(lengths)
    }
    ledger = lr.Ledger.from_events(history_events(series, first_day=24 - max(lengths)))
    reps = [lr.Rep(rep) for rep in series]
    caps = DynamicCaps(
        lr.FixedCap(daily=4), min_history_days=7, window=21, seasonal_after=14, metric=metric
    )
    clock = lr.ManualClock(day(25, 8))
    router = lr.Router(lr.EqualRotation(), reps, ledger=ledger, caps=caps, clock=clock)
    for on, n in zip((25, 26), leads, strict=True):
        clock.set(day(on, 8))
        router.tick()
        for decision in route_today(router, n, on=on):
            assert decision.rep_id is not None or decision.reasons[-1].code == "waiting"
        for rep in series:
            cap = caps.explain(rep, ledger, day(on)).cap
            assert cap is not None
            assert received(ledger, rep, on) <= cap
        late = day(on, 23)
        ctx = Context(lr.Lead("probe", late), router.roster, ledger, late)
        for rep in caps.saturated(ctx):
            assert caps.remaining(rep, ctx) == 0


# ---------------------------------------------------------------------------- explain, config


def test_explain_shows_the_forecast_behind_the_cap() -> None:
    ledger = history({"a": list(WEEK) * 5, "b": [4] * 5})
    caps = DynamicCaps(lr.FixedCap(daily=9))
    plan = caps.explain("a", ledger, day(35))
    assert isinstance(plan, CapForecast)
    assert plan.rep_id == "a"
    assert plan.day == date(2026, 2, 9)
    assert plan.model == "seasonal"
    assert plan.history_days == 35
    assert plan.recent == WEEK * 2
    assert set(plan.params) == {"alpha", "gamma"}
    assert plan.fitted_on is not None and plan.fitted_on <= plan.day
    assert plan.forecast == pytest.approx(sum(plan.components.values()))
    assert plan.headroom == 0.2 and plan.bounds == (1, 500)
    assert plan.cap == math.floor(plan.forecast * 1.2 + 0.5)
    text = str(plan)
    for piece in (
        "rep 'a' on Mon 2026-02-09 (UTC): daily cap",
        "Holt-Winters",
        "alpha=",
        "35 days",
        "× (1 + headroom 0.2)",
    ):
        assert piece in text
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        plan.cap = 3  # type: ignore[misc]

    fallback = caps.explain("b", ledger, day(35))
    assert fallback.model == "fallback" and fallback.cap == 9 and fallback.forecast is None
    assert "fallback, daily cap 9" in str(fallback)
    assert "5 days of history" in str(fallback)
    nobody = caps.explain("zed", ledger, day(35))
    assert nobody.model == "fallback" and nobody.history_days == 0 and nobody.recent == ()


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"fallback": lr.FixedCap(open=5, daily=10)}, r"FixedCap\(open=5\)"),
        ({"fallback": 10}, "must be a FixedCap"),
        ({"tz": "Asia/Shanghai"}, "same zone"),
        ({"tz": "Mars/Olympus"}, "unknown time zone"),
        ({"bounds": (5, 2)}, "lo <= hi"),
        ({"bounds": (0, 0)}, "hi >= 1"),
        ({"bounds": 7}, "pair"),
        ({"headroom": -0.1}, "headroom"),
        ({"headroom": 20}, r"<= 10 \(a fraction: 0.2 = 20% above"),  # 20% meant, 2,000% written
        ({"metric": "converted"}, "metric must be one of"),
        ({"min_history_days": 3}, ">= 7"),
        ({"window": 10}, "shorter than min_history_days"),
        ({"seasonal_after": 60}, "longer than window"),
        ({"seasonal_after": 10}, ">= 14"),
        ({"refit_every": 0}, ">= 1"),
    ],
)
def test_bad_settings_are_config_errors(kw: dict[str, Any], match: str) -> None:
    kw.setdefault("fallback", lr.FixedCap(daily=10))
    with pytest.raises(lr.ConfigError, match=match):
        DynamicCaps(**kw)


def test_import_leadrouter_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, leadrouter.dynamic_caps; "
        "print(any(m in sys.modules for m in ('numpy', 'statsmodels', 'pandas')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------- the ledger view


def test_ledger_counts_between_bins_a_reps_events_by_edges() -> None:
    ledger = history({"a": [2, 0, 3]})
    edges = [day(n, 0) for n in range(4)]
    assert ledger.counts_between("a", edges) == [2, 0, 3]
    assert ledger.counts_between("a", edges, "touched") == [2, 0, 3]
    assert ledger.counts_between(
        "a",
        [
            day(0, 9),
            day(
                0,
                9,
            )
            + timedelta(minutes=1),
        ],
    ) == [1]
    assert ledger.counts_between("nobody", edges) == [0, 0, 0]
    assert ledger.counts_between("a", edges[:1]) == []
    with pytest.raises(lr.InvalidValueError, match="unknown metric"):
        ledger.counts_between("a", edges, "converted")


class _ProtocolOnly:
    """A view with only the LedgerView reads DynamicCaps falls back on, and no weak references
    (so nothing can be cached for it)."""

    __slots__ = ("_ledger",)

    def __init__(self, ledger: lr.Ledger) -> None:
        self._ledger = ledger

    def count(
        self, rep_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> int:
        return self._ledger.count(rep_id, since=since, until=until)

    def stats(
        self, rep_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> Any:
        return self._ledger.stats(rep_id, since=since, until=until)


@pytest.mark.parametrize("metric", METRICS)
def test_any_ledger_view_gives_the_same_forecast(metric: str) -> None:
    ledger = history({"a": [7, 9, 8, 0, 10, 3, 2] * 3})
    caps = DynamicCaps(lr.FixedCap(daily=3), metric=metric)
    view: Any = _ProtocolOnly(ledger)
    assert caps.explain("a", view, day(21)) == caps.explain("a", ledger, day(21))


def test_repr_shows_the_contract_settings_and_only_changed_extras() -> None:
    assert repr(DynamicCaps(lr.FixedCap(daily=10))) == (
        "DynamicCaps(fallback=FixedCap(open=None, daily=10, tz='UTC'), min_history_days=14, "
        "headroom=0.2)"
    )
    assert repr(DynamicCaps(lr.FixedCap(daily=10), bounds=[2, 40], metric="received")).endswith(
        "headroom=0.2, bounds=(2, 40), metric='received')"
    )


def test_a_playbook_configures_dynamic_caps_beside_a_held_cap(tmp_path: Any) -> None:
    path = tmp_path / "dynamic.toml"
    path.write_text(
        '[strategy]\nname = "EqualRotation"\n\n'
        '[[caps]]\nname = "DynamicCaps"\nfallback = { daily = 20, tz = "Asia/Shanghai" }\n'
        'tz = "Asia/Shanghai"\nheadroom = 0.3\nbounds = [2, 60]\n\n'
        "[[caps]]\nopen = 40\n\n"
        '[[reps]]\nid = "a"\n'
    )
    router = lr.load_playbook(path)
    dynamic, held = router.caps
    assert dynamic == DynamicCaps(
        lr.FixedCap(daily=20, tz="Asia/Shanghai"), headroom=0.3, bounds=(2, 60), tz="Asia/Shanghai"
    )
    assert held == lr.FixedCap(open=40)


def test_a_seasonal_model_is_fitted_from_the_first_seasonal_day() -> None:
    """statsmodels' heuristic start needs 16 days with weekly seasonality: from 14 (the
    smallest seasonal_after) the initial state is estimated instead, never the fallback."""
    caps = DynamicCaps(lr.FixedCap(daily=20), seasonal_after=14, min_history_days=7)
    for n in (14, 15, 16):
        forecast = caps.explain("a", history({"a": list(WEEK) * 4}), day(n))
        assert forecast.model == "seasonal", str(forecast)
        assert forecast.cap is not None and 30 <= forecast.cap <= 40
