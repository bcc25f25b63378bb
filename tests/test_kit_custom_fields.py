"""A team's own rule, strategy and cap read fields the kit's defaults never fill (a lead's
`features["city"]`, a rep's `profile["languages"]`, the segment a cap counts): the generators, the
state machine and `check_cap` must reach them, or a planted bug passes every test; and a broken
invariant must say which one, when, and which leads."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule, run_state_machine_as_test

import leadrouter as lr
from leadrouter.context import Context
from leadrouter.errors import ConfigError
from leadrouter.events import Arrived, Assigned
from leadrouter.testing import check_cap, check_strategy
from leadrouter.testing import generators as gen
from leadrouter.testing.machine import PHASES, RouterMachine

CITIES = {"city": st.sampled_from(["shanghai", "beijing"])}
LANGUAGES = {"languages": st.sets(st.sampled_from(["shanghainese", "mandarin"]))}
QUICK = settings(
    max_examples=30,
    stateful_step_count=10,
    deadline=None,
    phases=PHASES,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def speakers_only(lead: lr.Lead, rep: lr.Rep) -> bool:
    return lead.features.get("city") != "shanghai" or "shanghainese" in rep.profile["languages"]


def speakers_only_miscased(lead: lr.Lead, rep: lr.Rep) -> bool:
    """The planted bug: compares with "Shanghai", so no lead is ever held to the rule."""
    return lead.features.get("city") != "Shanghai" or "shanghainese" in rep.profile["languages"]


@settings(max_examples=40, deadline=None, database=None)
@given(
    lead=gen.leads(features=CITIES, segment=st.just("enterprise")),
    reps=gen.rosters(2, 3, profile=LANGUAGES, team=st.just("east")),
    stream=gen.lead_streams(3, 3, max_gap=timedelta(hours=20), features=CITIES),
)
def test_generators_draw_the_fields_a_custom_rule_reads(
    lead: lr.Lead, reps: list[lr.Rep], stream: list[lr.Lead]
) -> None:
    assert lead.features["city"] in ("shanghai", "beijing") and lead.segment == "enterprise"
    for rep in reps:
        assert rep.team == "east"
        assert set(rep.profile) == {"segment", "seniority", "languages"}
    assert [lead.id for lead in stream] == ["L0", "L1", "L2"]
    assert all("city" in lead.features for lead in stream)


def test_generators_name_a_field_they_cannot_draw() -> None:
    with pytest.raises(ConfigError, match=r"Lead has no field 'city'.*features=\{'city': \.\.\.\}"):
        gen.leads(city=st.just("shanghai"))
    with pytest.raises(ConfigError, match=r"team= takes a hypothesis strategy"):
        gen.reps(team="east")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="profile= takes a mapping of key to hypothesis"):
        gen.rosters(profile={"languages": ["mandarin"]})  # type: ignore[dict-item]


def test_lead_streams_reach_the_night_with_a_wider_gap() -> None:
    hours: set[int] = set()

    @settings(max_examples=30, deadline=None, database=None)
    @given(gen.lead_streams(10, 10, max_gap=timedelta(hours=12)))
    def record(leads: list[lr.Lead]) -> None:
        hours.update(lead.arrived_at.hour for lead in leads)

    record()
    assert hours - set(range(8, 20))


@settings(max_examples=60, deadline=None, database=None)
@given(shift=gen.shifts(), at=gen.leads())
def test_shifts_are_valid_in_every_zone(shift: lr.Shift, at: lr.Lead) -> None:
    assert shift.tz in gen.ZONES
    router = lr.Router(
        lr.EqualRotation(), [lr.Rep("ana")], rules=[lr.rules.schedule({"ana": shift})]
    )
    router.route(at, now=at.arrived_at)


def test_shifts_cover_zones_night_shifts_and_breaks() -> None:
    seen: dict[str, set[object]] = {"tz": set(), "night": set(), "breaks": set()}

    @settings(max_examples=200, deadline=None, database=None)
    @given(gen.shifts())
    def record(shift: lr.Shift) -> None:
        seen["tz"].add(shift.tz)
        seen["night"].add(shift.end < shift.start)
        seen["breaks"].add(bool(shift.breaks))

    record()
    assert seen == {"tz": set(gen.ZONES), "night": {True, False}, "breaks": {True, False}}

    @settings(max_examples=5, database=None)
    @given(gen.shifts(tz="Asia/Shanghai"))
    def in_shanghai(shift: lr.Shift) -> None:
        assert shift.tz == "Asia/Shanghai"

    in_shanghai()


class SpeakersMachine(
    RouterMachine,
    strategy=lr.EqualRotation,
    rules=[speakers_only],
    roster=gen.rosters(2, 4, profile=LANGUAGES),
    leads=gen.leads(features=CITIES),
):
    @invariant()
    def shanghai_leads_held_by_speakers(self) -> None:
        ledger = self.router.ledger
        for lead_id, rep_id, _ in ledger.held():
            if ledger.lead(lead_id).features["city"] == "shanghai":
                languages = self.router.roster[rep_id].profile["languages"]
                assert "shanghainese" in languages, (
                    f"{self.where('Shanghai leads to speakers')}: {lead_id} is held by {rep_id}"
                )


class MiscasedMachine(SpeakersMachine, rules=[speakers_only_miscased]):
    """The same machine, its settings inherited but the rule."""


def test_the_machine_routes_the_leads_a_custom_rule_reads() -> None:
    run_state_machine_as_test(SpeakersMachine, settings=QUICK)
    with pytest.raises(AssertionError, match=r"Shanghai leads to speakers broken at 2026-.*held"):
        run_state_machine_as_test(MiscasedMachine, settings=QUICK)


def test_a_machine_without_a_strategy_says_how_to_give_one() -> None:
    class Bare(RouterMachine):
        pass

    with pytest.raises(ConfigError, match=r"class Bare\(RouterMachine, strategy=MyStrategy\)"):
        run_state_machine_as_test(Bare, settings=QUICK)
    with pytest.raises(ConfigError, match="leads= takes a hypothesis strategy drawing Lead"):

        class Listed(RouterMachine, leads=[lr.Lead("L1", gen.START)]):
            pass


def test_none_in_a_subclass_gives_back_the_default_draws_not_the_parents() -> None:
    """`roster=None` and `leads=None` mean the defaults, as they do in `router_machine`."""
    from leadrouter.testing.machine import DEFAULT_LEADS, DEFAULT_ROSTERS

    class Defaults(SpeakersMachine, roster=None, leads=None):
        pass

    assert SpeakersMachine.router_roster is not DEFAULT_ROSTERS
    assert Defaults.router_roster is DEFAULT_ROSTERS and Defaults.router_leads is DEFAULT_LEADS
    assert Defaults.router_rules == SpeakersMachine.router_rules


class Sneaky(RouterMachine, strategy=lr.EqualRotation, caps=lr.FixedCap(open=1)):
    """Writes past the router: the machine's own invariant must name the rep, leads and time."""

    sneaked = 0

    @precondition(lambda self: any(rep.active for rep in self.router.reps))
    @rule()
    def assigned_behind_the_routers_back(self) -> None:
        lead = lr.Lead(f"S{self.sneaked}", self.clock())
        type(self).sneaked += 1
        rep = next(rep.id for rep in self.router.reps if rep.active)
        self.router.ledger.append(Arrived(lead))
        self.router.ledger.append(Assigned(lead.id, rep, self.clock(), "sneak"))


def test_a_broken_cap_names_the_invariant_the_time_and_the_leads() -> None:
    with pytest.raises(AssertionError) as failed:
        run_state_machine_as_test(Sneaky, settings=QUICK)
    assert str(failed.value).startswith("caps never exceeded broken at 2026-01-05T09:00:00+00:00")
    assert "holds 2 open leads (" in str(failed.value)


@attrs.frozen
class EnterpriseDaily(lr.Cap):
    """At most `limit` enterprise leads a day per rep; would_refuse is the planted bug: it says
    True for every enterprise lead, so tick() would never offer one that waits."""

    limit: int = 3

    def check(self, rep_id: str, ctx: Context) -> str | None:
        if ctx.lead.segment != "enterprise":
            return None
        midnight = ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
        got = ctx.view.count(rep_id, since=midnight)
        return f"{got} leads today" if got >= self.limit else None

    def would_refuse(self, rep_id: str, ctx: Context) -> bool | None:
        return True if ctx.lead.segment == "enterprise" else None


@attrs.frozen
class NoShanghaiOnFriday(lr.Cap):
    """Reads a feature; would_refuse wrongly answers for Shanghai leads on every day."""

    def check(self, rep_id: str, ctx: Context) -> str | None:
        friday = ctx.now.weekday() == 4
        return "Friday" if friday and ctx.lead.features.get("city") == "shanghai" else None

    def would_refuse(self, rep_id: str, ctx: Context) -> bool | None:
        return ctx.lead.features.get("city") == "shanghai"


def test_check_cap_asks_about_every_kind_of_lead() -> None:
    with pytest.raises(AssertionError, match=r"lead L0-\d+ \(.*segment='enterprise'.*would_refuse"):
        check_cap(EnterpriseDaily())
    check_cap(NoShanghaiOnFriday())  # no default lead comes from Shanghai
    examples = [lr.Lead("x", gen.START, features={"city": city}) for city in ("shanghai", "")]
    with pytest.raises(AssertionError, match=r"features=\{'city': 'shanghai'\}.*would_refuse"):
        check_cap(NoShanghaiOnFriday(), leads=examples)
    with pytest.raises(ConfigError, match="takes example Lead objects"):
        check_cap(lr.FixedCap(open=1), leads=["shanghai"])  # type: ignore[list-item]


def test_a_strategy_picking_a_capped_rep_is_told_when() -> None:
    def first(ctx: Context) -> str | None:
        return min(ctx.ids) if ctx.ids else None

    with pytest.raises(AssertionError, match=r"picked 'rep\d' for lead\d+ at 2026-"):
        check_strategy(first)
