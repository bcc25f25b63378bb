"""check_cap: a cap's optional answers agree with its check, or the AssertionError says which
does not, for which rep and when."""

from __future__ import annotations

import attrs
import pytest

import leadrouter as lr
from leadrouter.context import Context
from leadrouter.errors import InvalidTypeError
from leadrouter.testing import check_cap


@pytest.mark.parametrize(
    "cap",
    [
        lr.FixedCap(open=2, daily=5),
        lr.FixedCap(daily=3, tz="Asia/Shanghai"),
        lr.DynamicCaps(fallback=lr.FixedCap(daily=4)),
    ],
    ids=repr,
)
def test_the_built_in_caps_pass(cap: lr.Cap) -> None:
    check_cap(cap)


@attrs.frozen
class OneOpen(lr.FixedCap):
    """caps.md's advice followed halfway: check refuses at one open lead, remaining still
    FixedCap's (room up to `open`), which sized route_many batches past the cap."""

    def check(self, rep_id: str, ctx: Context) -> str | None:
        held = ctx.view.book_size(rep_id)
        return f"{held} open" if held >= 1 else None

    def would_refuse(self, rep_id: str, ctx: Context) -> bool | None:
        return None


class Hasty(lr.Cap):
    """would_refuse says True for everyone: tick() would skip offers that would place leads."""

    def check(self, rep_id: str, ctx: Context) -> str | None:
        return None

    def would_refuse(self, rep_id: str, ctx: Context) -> bool | None:
        return True


class Listed(lr.Cap):
    def check(self, rep_id: str, ctx: Context) -> str | None:
        return None

    def saturated(self, ctx: Context) -> frozenset[str]:
        return ["rep0"]  # type: ignore[return-value]


class Agreeing(lr.Cap):
    def check(self, rep_id: str, ctx: Context) -> str | None:
        return True  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("cap", "words"),
    [
        (OneOpen(open=10), r"check refuses 'rep\d' \(1 open\) but remaining says \d+"),
        (Hasty(), r"would_refuse\('rep\d'\) said True but check answered None"),
        (Listed(), r"saturated\(ctx\) must return a frozenset of the roster's rep ids"),
        (Agreeing(), r"check\('rep\d'\) must answer None .* got True"),
    ],
    ids=["remaining-too-generous", "would-refuse-wrong", "saturated-a-list", "check-true"],
)
def test_a_cap_whose_answers_disagree_is_named_with_the_rule_it_broke(
    cap: lr.Cap, words: str
) -> None:
    with pytest.raises(AssertionError, match=words):
        check_cap(cap)


@pytest.mark.parametrize("given", [lr.FixedCap, lr.EqualRotation()], ids=["class", "strategy"])
def test_only_a_cap_instance_is_checked(given: object) -> None:
    """A named error (still a TypeError) that says what to pass instead."""
    with pytest.raises(InvalidTypeError, match="takes a Cap instance") as refused:
        check_cap(given)  # type: ignore[arg-type]
    assert "e.g. check_cap(FixedCap(open=3)); a strategy is checked with check_strategy" in str(
        refused.value
    )
    assert isinstance(refused.value, TypeError)


def test_a_cap_of_some_reps_only_holds_new_reps_to_less() -> None:
    """新人: a lower daily cap for new reps beside the team's: `FixedCap(reps=...)` limits the
    reps it names and lets the others pass."""
    from collections import Counter
    from datetime import UTC, datetime, timedelta

    import leadrouter as lr

    team, new = lr.FixedCap(daily=3), lr.FixedCap(daily=1, reps=["zhao"])
    assert repr(team) == "FixedCap(open=None, daily=3, tz='UTC')"
    assert repr(new) == "FixedCap(open=None, daily=1, tz='UTC', reps=['zhao'])"
    router = lr.Router(
        lr.EqualRotation(), [lr.Rep(r) for r in ("ana", "bo", "zhao")], caps=[team, new]
    )
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    got = Counter(
        router.route(
            lr.Lead(f"L{i}", t0 + timedelta(minutes=i)), now=t0 + timedelta(minutes=i)
        ).rep_id
        for i in range(9)
    )
    assert got == {"ana": 3, "bo": 3, "zhao": 1, None: 2}
    assert (
        new.remaining("ana", lr.Context(lr.Lead("X", t0), router._roster, router.ledger, t0))
        is None
    )
