"""Times are instants: deadlines, patience, shifts and "before arrival" are elapsed time, whatever
zone the caller's times carry, also across a daylight-saving change.

Python compares and subtracts two datetimes that share one `tzinfo` object by their wall
clocks, ignoring `fold`; the docs recommend `clock=lambda: datetime.now(ZoneInfo(team_zone))`,
which hands the router exactly such times. Each test gives the same instants once in UTC and
once in the team's zone and expects one answer.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter import rules
from leadrouter.errors import EventBeforeArrivalError

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
FALL_BACK = datetime(2026, 11, 1, 5, 45, tzinfo=UTC)
"""01:45 EDT, a quarter of an hour before New York's clocks go back from 02:00 to 01:00."""


def sla_router(lifecycle: lr.Lifecycle) -> lr.Router:
    return lr.Router(lr.EqualRotation(), [lr.Rep("a"), lr.Rep("b")], lifecycle=lifecycle)


@pytest.mark.parametrize("zone", [UTC, NEW_YORK], ids=["utc", "new-york"])
def test_a_first_touch_sla_is_thirty_real_minutes_across_the_autumn_change(zone: tzinfo) -> None:
    router = sla_router(lr.Lifecycle(first_touch_sla=timedelta(minutes=30)))
    start = FALL_BACK.astimezone(zone)
    router.route(lr.Lead("X", start), now=start)
    assert router.tick((FALL_BACK + timedelta(minutes=29)).astimezone(zone)) == []
    released = router.tick((FALL_BACK + timedelta(minutes=31)).astimezone(zone))
    assert [(e.lead_id, e.reason) for e in released if isinstance(e, lr.Released)] == [("X", "sla")]


@pytest.mark.parametrize("zone", [UTC, NEW_YORK], ids=["utc", "new-york"])
def test_an_expiry_of_a_day_is_24_real_hours_across_the_spring_change(zone: tzinfo) -> None:
    router = sla_router(lr.Lifecycle(expire_after=timedelta(hours=24)))
    start = datetime(2026, 3, 7, 17, tzinfo=UTC)  # Saturday noon in New York; Sunday has 23 hours
    router.route(lr.Lead("X", start.astimezone(zone)), now=start.astimezone(zone))
    assert router.tick((start + timedelta(hours=23, minutes=1)).astimezone(zone)) == []
    assert router.tick((start + timedelta(hours=24)).astimezone(zone))


def test_a_route_in_the_repeated_hour_is_not_before_an_arrival_in_its_first_pass() -> None:
    arrived = FALL_BACK.astimezone(NEW_YORK)  # 01:45 EDT
    now = (FALL_BACK + timedelta(minutes=25)).astimezone(NEW_YORK)  # 01:10 EST, 25 minutes later
    assert now < arrived  # what Python says of the two wall clocks
    assert lr.Router(lr.EqualRotation(), [lr.Rep("a")]).route(lr.Lead("X", arrived), now=now).rep_id
    early = lr.Lead("Y", now)  # arrived at 01:10 EST; 01:45 EDT is 25 minutes before it
    with pytest.raises(EventBeforeArrivalError):
        lr.Router(lr.EqualRotation(), [lr.Rep("a")]).route(early, now=arrived)
    ledger = lr.Ledger()
    ledger.append(lr.Arrived(early))
    with pytest.raises(EventBeforeArrivalError):
        ledger.append(lr.Assigned("Y", "a", arrived, by="test"))


def test_a_night_shift_across_a_change_has_its_real_length() -> None:
    night = lr.Shift("Europe/Berlin", start=time(22), end=time(6), weekdays=range(7))
    spring = datetime(2026, 3, 28, 21, tzinfo=UTC)  # 22:00 CET; clocks go forward at 02:00
    autumn = datetime(2026, 10, 24, 20, tzinfo=UTC)  # 22:00 CEST; clocks go back at 03:00
    assert night.working_time(spring, spring + timedelta(hours=8)) == timedelta(hours=7)
    assert night.working_time(autumn, autumn + timedelta(hours=10)) == timedelta(hours=9)
    # 7 hours of the first night, the last 30 minutes at the start of the next
    assert night.add_working_time(spring, timedelta(hours=7, minutes=30)) == datetime(
        2026, 3, 29, 20, 30, tzinfo=UTC
    )


def test_a_shift_says_the_same_of_one_instant_in_any_zone() -> None:
    night = lr.Shift("Europe/Berlin", start=time(22), end=time(2, 30), weekdays=range(7))
    moment = datetime(2026, 10, 25, 1, 15, tzinfo=UTC)  # 02:15 CET, after the shift's 02:30 CEST
    local = moment.astimezone(BERLIN)
    assert local.fold == 1
    assert night.is_on(moment) is False
    assert night.is_on(local) is False
    assert night.next_change(local) == night.next_change(moment)
    schedule = rules.schedule({"night": night}, default=lr.Shift("Europe/Berlin", start=time(8)))
    for now in (moment, local):
        router = lr.Router(lr.EqualRotation(), [lr.Rep("night"), lr.Rep("day")], rules=[schedule])
        assert router.route(lr.Lead("X", now), now=now).rep_id is None


@pytest.mark.parametrize("zone", [UTC, NEW_YORK], ids=["utc", "new-york"])
def test_a_tiers_patience_is_real_time_across_the_autumn_change(zone: tzinfo) -> None:
    tiers = lr.TieredDelay(
        [
            lr.Tier(tier=0, strategy=lr.EqualRotation(), patience=timedelta(hours=4)),
            lr.Tier(tier=1, strategy=lr.EqualRotation(), patience=timedelta(hours=4)),
        ]
    )
    router = lr.Router(tiers, [lr.Rep("p", tier=0), lr.Rep("s", tier=1)])
    start = datetime(2026, 11, 1, 4, 30, tzinfo=UTC)  # 00:30 EDT
    router.route(lr.Lead("Y", start.astimezone(zone)), now=start.astimezone(zone))
    assert router.tick((start + timedelta(hours=3, minutes=59)).astimezone(zone)) == []
    moved = router.tick((start + timedelta(hours=4, minutes=6)).astimezone(zone))
    assert [type(e).__name__ for e in moved] == ["Released", "Assigned"]


SPRING_NEW_YORK = datetime(2026, 3, 8, 6, 45, tzinfo=UTC)
"""01:45 EST, a quarter of an hour before New York's clocks go forward from 02:00 to 03:00."""
AUTUMN_BERLIN = datetime(2026, 10, 25, 0, 45, tzinfo=UTC)
"""02:45 CEST, a quarter of an hour before Berlin's clocks go back from 03:00 to 02:00."""


@pytest.mark.parametrize(
    ("claimed", "zone"),
    [
        (SPRING_NEW_YORK, UTC),
        (SPRING_NEW_YORK, NEW_YORK),
        (AUTUMN_BERLIN, UTC),
        (AUTUMN_BERLIN, BERLIN),
    ],
    ids=["spring-utc", "spring-new-york", "autumn-utc", "autumn-berlin"],
)
def test_an_idle_claim_is_due_thirty_real_minutes_after_it_across_a_change(
    claimed: datetime, zone: tzinfo
) -> None:
    """`next_due` and `tick` agree on the end of `idle_after` in elapsed time. Counted on the
    wall clock, 30 minutes after 01:45 EST end at 02:15, a time New York skips (and a tick at
    03:00 EDT, 15 minutes on, saw them past), and 30 minutes after 02:45 CEST at 03:15 CET, an
    hour and a half later."""
    grab = lr.Router(lr.GrabWithCaps(idle_after=timedelta(minutes=30)), [lr.Rep("a")])
    start = claimed.astimezone(zone)
    grab.route(lr.Lead("X", start), now=start)
    grab.claim("a", "X", now=start)
    due = claimed + timedelta(minutes=30)
    assert grab.next_due(start) == due
    assert grab.tick((due - timedelta(minutes=1)).astimezone(zone)) == []
    released = [e for e in grab.tick(due.astimezone(zone)) if isinstance(e, lr.Released)]
    assert [(e.lead_id, e.reason) for e in released] == [("X", "idle")]


@pytest.mark.parametrize(
    ("released", "zone"),
    [(SPRING_NEW_YORK, NEW_YORK), (AUTUMN_BERLIN, BERLIN)],
    ids=["spring-new-york", "autumn-berlin"],
)
def test_a_cooldown_ends_an_hour_of_real_time_after_the_idle_release(
    released: datetime, zone: tzinfo
) -> None:
    """The penalty for an idle release lasts `cooldown` of elapsed time. Counted on the wall
    clock of a named zone it ended an hour early across New York's spring change and an hour
    late across Berlin's autumn one."""
    grab = lr.Router(
        lr.GrabWithCaps(idle_after=timedelta(minutes=30), cooldown=timedelta(hours=1)),
        [lr.Rep("a")],
    )
    claimed = (released - timedelta(minutes=30)).astimezone(zone)
    grab.route(lr.Lead("X", claimed), now=claimed)
    grab.claim("a", "X", now=claimed)
    grab.tick(released.astimezone(zone))
    grab.route(lr.Lead("Y", released.astimezone(zone)), now=released.astimezone(zone))
    before = (released + timedelta(minutes=59)).astimezone(zone)
    refused = grab.claim("a", "Y", now=before)
    assert refused.action == "refused"
    assert "in cooldown" in refused.explain()
    assert grab.claim("a", "Y", now=(released + timedelta(hours=1)).astimezone(zone)).ok


_ZONES = [UTC, NEW_YORK, BERLIN, timezone(timedelta(hours=-5))]


def _shown(instant: datetime, zone: tzinfo, fold: int) -> datetime:
    """`instant` in `zone`, its wall time read with `fold` (a time in the repeated or skipped
    hour then names another instant, as a caller's own datetime may)."""
    return instant.astimezone(zone).replace(fold=fold)


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(st.integers(-100, 100), st.sampled_from(_ZONES), st.integers(0, 1)),
        min_size=3,
        max_size=8,
    ),
    st.booleans(),
)
def test_the_ledger_dates_events_by_their_instants_whatever_zones_they_carry(
    times: list[tuple[int, tzinfo, int]], shared: bool
) -> None:
    """An arrival, an assignment and reports on it, dated minutes around New York's autumn
    change in zones and folds of their own: each event is refused as before the arrival, or as
    more than CLOCK_SKEW before the assignment it acts on, exactly when its instant is, and
    taken otherwise. With `shared`, the reports reuse one datetime object, as a touch, its tag
    and its sale do (the ledger remembers the instants it worked out for the last event)."""
    stamps = [_shown(FALL_BACK + timedelta(minutes=m), z, f) for m, z, f in times]
    arrived, assigned, *reports = stamps
    if shared:
        reports = [reports[0]] * len(reports)
    ledger = lr.Ledger()
    ledger.append(lr.Arrived(lr.Lead("X", arrived)))
    moments = [arrived.astimezone(UTC)]
    events: list[lr.Event] = [lr.Assigned("X", "a", assigned, by="test")]
    events += [lr.Touched("X", "a", at, reached=i % 2 == 0) for i, at in enumerate(reports)]
    for event in events:
        moment = event.at.astimezone(UTC)
        if moment < moments[0]:
            expected: type[Exception] | None = EventBeforeArrivalError
        elif len(moments) > 1 and moment + lr.ledger.CLOCK_SKEW < moments[1]:
            expected = lr.EventOutOfOrderError
        else:
            expected = None
        if expected is None:
            ledger.append(event)
            if type(event) is lr.Assigned:
                moments.append(moment)
        else:
            with pytest.raises(expected):
                ledger.append(event)
        if len(moments) == 1:
            break  # no assignment: the reports would be refused as not the holder's


SPRING_FORWARD = datetime(2026, 3, 8, 6, 50, tzinfo=UTC)
"""01:50 EST, ten minutes before New York's clocks go forward from 02:00 to 03:00."""


@pytest.mark.parametrize("zone", [UTC, NEW_YORK], ids=["utc", "new-york"])
def test_a_touch_twenty_real_minutes_after_the_assignment_is_within_a_30_minute_sla(
    zone: tzinfo,
) -> None:
    """01:50 EST to 03:10 EDT is twenty minutes, though the wall clocks say eighty: a rep's
    speed to lead is elapsed time (a fold that subtracted the wall clocks counted the touch as
    late, and one in the repeated autumn hour as negative)."""
    held, touched = SPRING_FORWARD.astimezone(zone), (SPRING_FORWARD + timedelta(minutes=20))
    ledger = lr.Ledger()
    ledger.append(lr.Arrived(lr.Lead("X", held)))
    ledger.append(lr.Assigned("X", "a", held, by="test"))
    ledger.append(lr.Touched("X", "a", touched.astimezone(zone), reached=True))
    stats = ledger.stats("a", sla=timedelta(minutes=30))
    assert (stats.touched, stats.touched_within_sla) == (1, 1)
    assert ledger.stats("a", sla=timedelta(minutes=19)).touched_within_sla == 0


def test_the_simulators_speed_to_lead_is_elapsed_minutes_across_the_spring_change() -> None:
    """The simulator's speed metrics read minutes from arrival to first touch: twenty, not the
    eighty New York's wall clocks show across the change."""
    from types import SimpleNamespace

    from leadrouter.sim.metrics import first_touches

    arrived = SPRING_FORWARD.astimezone(NEW_YORK)
    lead = lr.Lead("X", arrived)
    ledger = lr.Ledger()
    ledger.append(lr.Arrived(lead))
    ledger.append(lr.Assigned("X", "a", arrived, by="test"))
    touched = (SPRING_FORWARD + timedelta(minutes=20)).astimezone(NEW_YORK)
    ledger.append(lr.Touched("X", "a", touched, reached=False))
    run = SimpleNamespace(leads=[lead], ledger=ledger)
    assert first_touches(run) == {"X": ("a", 20.0, False)}  # type: ignore[arg-type]
