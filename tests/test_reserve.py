"""`rules.reserve`: leads matching a condition (大客户: score >= 0.8) go only to the reserved reps,
every other lead is left alone; from Python, from a playbook, and as `leadrouter check` sees it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leadrouter as lr
from leadrouter import rules
from leadrouter.cli import main
from leadrouter.context import Context
from leadrouter.ledger import Ledger
from leadrouter.playbooks import PlaybookError, load_playbook, read_playbook
from leadrouter.roster import Roster
from leadrouter.testing import generators as gen

from .conftest import T0

TEAM = [
    lr.Rep("li", team="KA", tier=0),
    lr.Rep("mo", tier=1, skills={"loan"}),
    lr.Rep("ny", tier=1, profile={"level": "senior"}),
    lr.Rep("oz", tier=0, active=False),
]


def ctx(lead: lr.Lead, reps: list[lr.Rep] = TEAM) -> Context:
    return Context(lead, Roster(reps), Ledger(), T0)


def lead(i: int = 0, **fields: Any) -> lr.Lead:
    return lr.Lead(f"L{i}", T0, **fields)


@pytest.mark.parametrize(
    ("rule", "reserved"),
    [
        (rules.reserve("score", at_least=0.8, tiers=[0]), {"li"}),
        (rules.reserve("score", at_least=0.8, reps=["mo", "ny"]), {"mo", "ny"}),
        (rules.reserve("score", at_least=0.8, teams="KA"), {"li"}),
        (rules.reserve("score", at_least=0.8, having={"level": "senior"}), {"ny"}),
        (rules.reserve("score", at_least=0.8, having={"skills": "loan"}), {"mo"}),
        (rules.reserve("score", at_least=0.8, tiers=[0], reps=["ny"]), {"li", "ny"}),
    ],
)
def test_a_matching_lead_goes_only_to_the_reserved_active_reps(
    rule: rules.Reserve, reserved: set[str]
) -> None:
    big, small = lead(score=0.9), lead(score=0.3)
    assert rule.eligible(ctx(big)) == reserved
    assert rule.eligible(ctx(small)) == {"li", "mo", "ny"}  # every active rep: left alone
    assert rule.key(ctx(big)) is True and rule.key(ctx(small)) is False


@pytest.mark.parametrize(
    ("rule", "matching", "not_matching"),
    [
        (
            rules.reserve("score", at_least=0.8, tiers=[0]),
            [0.8, 0.95, 1.0],
            [0.79, 0.0, None],
        ),
        (rules.reserve("score", at_most=0.2, tiers=[0]), [0.0, 0.2], [0.21, None]),
        (
            rules.reserve("cost", at_least=100, at_most=200, tiers=[0]),
            [100.0, 150.0, 200.0],
            [99.0, 201.0],
        ),
    ],
)
def test_bounds_include_their_edges_and_a_missing_score_does_not_match(
    rule: rules.Reserve, matching: list[Any], not_matching: list[Any]
) -> None:
    name = rule.field
    assert all(rule.matches(lead(**{name: value})) for value in matching)
    assert not any(rule.matches(lead(**{name: value})) for value in not_matching)


def test_a_feature_or_text_field_matches_by_value_and_never_crashes() -> None:
    big_deal = rules.reserve("deal_size", at_least=50000, reps=["li"])
    assert big_deal.matches(lead(features={"deal_size": 80000}))
    assert big_deal.matches(lead(features={"deal_size": " 50000 "}))  # a CSV cell is text
    for odd in ("lots", "", None, float("nan"), True, [1]):
        assert not big_deal.matches(lead(features={"deal_size": odd}))
    assert not big_deal.matches(lead())  # no such feature: left alone
    fairs = rules.reserve("source", values=["展会", "官网"], teams=["KA"])
    assert fairs.matches(lead(source="展会")) and fairs.matches(lead(source="官网"))
    assert not fairs.matches(lead(source="展会 ")) and not fairs.matches(lead(source=""))
    one = rules.reserve("product", values="loan", reps="mo")  # one value, as written: not letters
    assert one.values == {"loan"} and one.reps == {"mo"}


def test_the_explanation_says_why_a_rep_was_left_out() -> None:
    router = lr.Router(
        lr.EqualRotation(),
        TEAM,
        rules=[rules.reserve("score", at_least=0.8, tiers=[0], reason="大客户")],
    )
    decision = router.route(lead(score=0.9), now=T0)
    assert decision.rep_id == "li"
    said = decision.explain()
    assert (
        "excluded (reserve('score', at_least=0.8, tiers=[0], reason='大客户')): reserved for "
        "tier 0: lead score >= 0.8 (大客户) [mo, ny]" in said
    )
    assert "reserve" not in router.route(lead(1, score=0.5), now=T0).explain()


def test_repr_and_words_are_the_same_every_run() -> None:
    rule = rules.reserve(
        "source", values={"b", "a"}, reps={"y", "x"}, having={"level": ["lead", "senior"]}
    )
    assert repr(rule) == (
        "reserve('source', values=['a', 'b'], reps=['x', 'y'], "
        "having={'level': ['lead', 'senior']})"
    )
    assert rule.describe(ctx(lead(source="a"))) == (
        "reserved for reps x, y or reps with level in ['lead', 'senior']: lead source is 'a' or 'b'"
    )
    assert repr(rules.reserve("cost", at_least=50000.0, at_most=90000, tiers=0)) == (
        "reserve('cost', at_least=50000, at_most=90000, tiers=[0])"
    )
    same = rules.reserve(
        "source", values=["a", "b"], reps=["x", "y"], having={"level": ("senior", "lead")}
    )
    assert rule == same and hash(rule) == hash(same)  # the router caches by rule


def test_a_boolean_profile_value_is_not_a_number() -> None:
    team = [lr.Rep("a", profile={"senior": True}), lr.Rep("b", profile={"senior": 1})]
    rule = rules.reserve("score", at_least=0.5, having={"senior": True})
    assert rule.eligible(ctx(lead(score=0.9), team)) == {"a"}


@pytest.mark.parametrize(
    ("kwargs", "error", "said"),
    [
        ({"field": "score", "tiers": [0]}, lr.ConfigError, "reserve needs a condition"),
        ({"field": "score", "at_least": 0.8}, lr.ConfigError, "reserve needs the reps"),
        ({"field": "score", "at_least": 80, "tiers": [0]}, lr.ConfigError, "80 -> 0.8"),
        ({"field": "x", "at_least": "1", "tiers": [0]}, lr.InvalidTypeError, "reserve(at_least"),
        ({"field": "x", "at_most": True, "tiers": [0]}, lr.InvalidTypeError, "reserve(at_most"),
        ({"field": "x", "at_least": float("nan"), "tiers": [0]}, lr.ConfigError, "finite"),
        ({"field": "x", "at_least": 2, "at_most": 1, "tiers": [0]}, lr.ConfigError, "no value"),
        (
            {"field": "x", "at_least": 1, "values": ["a"], "tiers": [0]},
            lr.ConfigError,
            "one kind",
        ),
        ({"field": 3, "at_least": 1, "tiers": [0]}, lr.InvalidTypeError, "reserve(field"),
        ({"field": "", "at_least": 1, "tiers": [0]}, lr.InvalidTypeError, "reserve(field"),
        ({"field": "x", "values": [1], "tiers": [0]}, lr.InvalidTypeError, "reserve(values"),
        ({"field": "x", "at_least": 1, "tiers": ["0"]}, lr.InvalidTypeError, "reserve(tiers"),
        ({"field": "x", "at_least": 1, "tiers": [True]}, lr.InvalidTypeError, "reserve(tiers"),
        ({"field": "x", "at_least": 1, "reps": 3}, lr.InvalidTypeError, "reserve(reps"),
        ({"field": "x", "at_least": 1, "teams": {"a": 1}}, lr.InvalidTypeError, "reserve(teams"),
        ({"field": "x", "at_least": 1, "having": ["a"]}, lr.InvalidTypeError, "reserve(having"),
        ({"field": "x", "at_least": 1, "having": {"a": []}}, lr.ConfigError, "lists no value"),
        (
            {"field": "x", "at_least": 1, "tiers": [0], "reason": 3},
            lr.InvalidTypeError,
            "reserve(reason",
        ),
    ],
)
def test_settings_that_cannot_work_are_named_errors(
    kwargs: dict[str, Any], error: type[Exception], said: str
) -> None:
    with pytest.raises(error) as info:
        rules.reserve(**kwargs)
    assert said in str(info.value)
    assert "reserve" in str(info.value)


def test_the_factory_passed_uncalled_is_named_when_the_router_is_built() -> None:
    """`reserve` takes two arguments, so it could pass for a filter f(lead, rep) and fail at the
    first lead: it is named as the factory it is, as `schedule` is."""
    for factory in (rules.reserve, rules.schedule):
        with pytest.raises(lr.ConfigError, match=rf"{factory.__name__} cannot be called as a "):
            lr.Router(lr.EqualRotation(), TEAM, rules=[factory])  # type: ignore[list-item]


# ---------------------------------------------------------------------------- the property


@st.composite
def reservations(draw: st.DrawFn, reps: list[lr.Rep]) -> rules.Reserve:
    """A reserve rule on the score, the source or a feature, for some of these reps."""
    kind = draw(st.sampled_from(["score", "source", "feature"]))
    pick: dict[str, Any] = {}
    ids = [rep.id for rep in reps]
    choice = draw(st.sampled_from(["reps", "teams", "tiers", "having"]))
    if choice == "reps":
        pick["reps"] = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3))
    elif choice == "teams":
        pick["teams"] = draw(st.lists(st.sampled_from(["alpha", "beta"]), min_size=1))
    elif choice == "tiers":
        pick["tiers"] = draw(st.lists(st.integers(0, 2), min_size=1, max_size=2))
    else:
        pick["having"] = {"seniority": draw(st.sampled_from([4, 5, [3, 4, 5]]))}
    if kind == "score":
        low = draw(st.none() | st.floats(0, 1))
        high = draw(st.floats(low or 0, 1)) if low is None else draw(st.none() | st.just(1.0))
        return rules.reserve("score", at_least=low, at_most=high, **pick)
    if kind == "source":
        values = draw(st.lists(st.sampled_from(["ads", "web", "referral"]), min_size=1))
        return rules.reserve("source", values=values, **pick)
    return rules.reserve("deal", at_least=draw(st.integers(0, 100)), **pick)


def _eligible(router: lr.Router, one: lr.Lead) -> frozenset[str]:
    """The reps the router's rules leave for the lead: the active ones less every exclusion."""
    excluded: set[str] = set()
    for reason in router.preview(one, now=one.arrived_at).reasons:
        if reason.code == "excluded":
            excluded |= reason.reps
    return frozenset(rep.id for rep in router.reps if rep.active) - excluded


@settings(max_examples=60, deadline=None)
@given(data=st.data(), roster=gen.rosters(), leads=gen.lead_streams(max_size=25))
def test_a_matching_lead_never_goes_outside_the_reserve_and_others_are_untouched(
    data: st.DataObject, roster: list[lr.Rep], leads: list[lr.Lead]
) -> None:
    """Invariant, through the router's cache of eligible sets (keyed by region and by whether
    the lead matches): a matching lead is only ever given to a reserved rep, and a lead that
    does not match has the eligible set it has without the rule."""
    rule = data.draw(reservations(roster))
    deals = data.draw(st.lists(st.none() | st.integers(0, 100), min_size=len(leads)))
    leads = [
        lr.Lead(x.id, x.arrived_at, source=x.source, region=x.region, score=x.score)
        if deal is None
        else lr.Lead(
            x.id,
            x.arrived_at,
            source=x.source,
            region=x.region,
            score=x.score,
            features={"deal": str(deal) if deal % 2 else deal},
        )
        for x, deal in zip(leads, deals, strict=False)
    ]
    reserved = {rep.id for rep in roster if rep.active and rule.picks(rep)}
    ruled = lr.Router(lr.EqualRotation(), roster, rules=[rules.region(), rule])
    plain = lr.Router(lr.EqualRotation(), roster, rules=[rules.region()])
    for one in leads:
        before = _eligible(plain, one)
        after = _eligible(ruled, one)
        if rule.matches(one):
            assert after == before & reserved
        else:
            assert after == before
        decision = ruled.route(one, now=one.arrived_at)
        if rule.matches(one) and decision.rep_id is not None:
            assert decision.rep_id in reserved, (one, decision.explain())


# ---------------------------------------------------------------------------- playbooks


BIG_ACCOUNTS = """
[strategy]
name = "EqualRotation"

[[rules]]
name = "reserve"
field = "score"
at_least = 0.8
tiers = [0]
reason = "大客户"

[[rules]]
name = "reserve"
field = "source"
values = ["展会"]
teams = "KA"

[[reps]]
id = "张伟"
tier = 0
team = "KA"

[[reps]]
id = "王芳"
tier = 1
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "book.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_playbook_reserves_big_accounts_for_senior_reps(tmp_path: Path) -> None:
    router = load_playbook(_write(tmp_path, BIG_ACCOUNTS), clock=lr.ManualClock(T0))
    assert router.rules[0] == rules.reserve("score", at_least=0.8, tiers=[0], reason="大客户")
    assert router.rules[1] == rules.reserve("source", values=["展会"], teams=["KA"])
    got = [router.route(lead(i, score=0.9), now=T0).rep_id for i in range(4)]
    assert got == ["张伟"] * 4
    got = [router.route(lead(10 + i, score=0.5), now=T0).rep_id for i in range(4)]
    assert sorted(set(got)) == ["张伟", "王芳"]
    assert router.route(lead(20, source="展会"), now=T0).rep_id == "张伟"


def test_a_playbook_reserve_with_bad_settings_names_the_key(tmp_path: Path) -> None:
    text = BIG_ACCOUNTS.replace("at_least = 0.8", 'at_least = "0.8"').replace(
        'values = ["展会"]\n', ""
    )
    with pytest.raises(PlaybookError) as info:
        read_playbook(_write(tmp_path, text))
    lines = str(info.value).splitlines()
    assert 'rules[0].at_least: expected a number, got "0.8": write e.g. at_least = 0.8' in lines[1]
    assert "rules[1]: reserve needs a condition on the lead" in lines[2]
    text = BIG_ACCOUNTS.replace("tiers = [0]", 'tiers = [0]\nlevel = "senior"')
    with pytest.raises(PlaybookError, match=r"rules\[0\]: unknown key\(s\) \['level'\] for "):
        read_playbook(_write(tmp_path, text))
    text = BIG_ACCOUNTS.replace("tiers = [0]", 'having = { level = "senior" }')
    assert read_playbook(_write(tmp_path, text))["rules"][0].having == {"level": "senior"}


def test_a_playbook_reserving_for_reps_not_on_the_roster_is_an_error(tmp_path: Path) -> None:
    """As a shift for an unknown rep: a typo would send the big accounts to fewer reps than
    meant, or leave them waiting for none."""
    text = BIG_ACCOUNTS.replace("tiers = [0]", 'tiers = [0, 3]\nreps = ["张玮"]').replace(
        'teams = "KA"', 'teams = ["KA", "ka"]'
    )
    path = _write(tmp_path, text)
    with pytest.raises(PlaybookError) as info:
        read_playbook(path)
    assert str(info.value).splitlines()[1:] == [
        "  rules[0].reps: '张玮' not on the roster (reps: 张伟, 王芳): reserve names reps by id",
        "  rules[0].tiers: 3 not on the roster (tiers: 0, 1): reserve names tiers the roster's "
        "reps have",
        "  rules[1].teams: 'ka' (did you mean 'KA'?) not on the roster (teams: KA): reserve "
        "names teams as the roster does",
    ]


def test_check_warns_when_the_reserved_reps_are_none_active(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, BIG_ACCOUNTS.replace("tier = 0\n", "tier = 0\nactive = false\n"))
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "reserve('score', at_least=0.8, tiers=[0], reason='大客户')" in out  # rules line
    assert (
        "  warning: reserve('score', at_least=0.8, tiers=[0], reason='大客户') leaves the leads "
        "whose score >= 0.8 no active rep (张伟 is inactive): they would wait in the pool for a "
        "claim\n" in out
    )
    path = _write(tmp_path, BIG_ACCOUNTS.replace("tiers = [0]", "having = { level = 'senior' }"))
    assert main(["check", str(path)]) == 0
    assert (
        "no active rep (no rep on the roster matches: reps with level = 'senior')"
        in capsys.readouterr().out
    )
    path = _write(tmp_path, BIG_ACCOUNTS.replace('field = "score"', 'field = "scroe"'))
    assert main(["check", str(path)]) == 0
    assert "reads 'scroe', which is no Lead field (did you mean 'score'?)" in (
        capsys.readouterr().out
    )
