"""The two shared-ledger recipes work on SQLite and PostgreSQL: the webhook routes leads and
answers a retry with the first decision; the tick worker runs as a script and takes back leads
nobody touched within the SLA."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

import leadrouter as lr

pytest.importorskip("sqlalchemy", reason="the SQL ledgers need: pip install 'leadrouter[db]'")

EXAMPLES = Path(__file__).resolve().parent


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'routing.db'}"
    found = os.environ.get("LEADROUTER_TEST_PG")
    if not found:
        pytest.skip("no PostgreSQL: run `make test` (it starts one) or set LEADROUTER_TEST_PG")
    return found


def post(app: Any, path: str, body: bytes) -> tuple[str, dict[str, Any]]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    setup_testing_defaults(environ)
    statuses: list[str] = []
    chunks = app(environ, lambda status, headers: statuses.append(status))
    return statuses[0], json.loads(b"".join(chunks))


def test_webhook_and_tick_worker_share_one_ledger(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import store_tick_worker
    import store_webhook

    team = f"sales-{uuid.uuid4().hex[:8]}"
    app = store_webhook.make_app(url, team)
    arrived = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    answers = []
    for i, region in enumerate(["north", "south", "north"]):
        lead = {"id": f"L-{i}", "arrived_at": arrived, "region": region, "source": "ads"}
        status, body = post(app, "/leads", json.dumps(lead).encode())
        assert status == "200 OK" and body["action"] == "assigned", body
        answers.append(body)
    assert [a["rep_id"] for a in answers] == ["bo", "cy", "ana"]
    retry = json.dumps({"id": "L-0", "arrived_at": arrived, "region": "north", "source": "ads"})
    again = store_webhook.make_app(url, team)  # another worker process answers the retry
    assert post(again, "/leads", retry.encode()) == ("200 OK", answers[0])
    status, body = post(app, "/leads", b'{"id": "L-9"}')
    assert status == "400 Bad Request" and "arrived_at" in body["error"]
    assert post(app, "/leads", b"\xff\xfe{")[0] == "400 Bad Request"  # not UTF-8
    listed = {"id": "L-8", "arrived_at": arrived, "region": ["north"]}
    status, body = post(app, "/leads", json.dumps(listed).encode())
    assert status == "400 Bad Request" and "one value is needed" in body["error"]
    assert post(app, "/nowhere", b"")[0] == "404 Not Found"
    # a lead stamped ahead of the server's clock: by seconds, the clocks disagree a little and
    # it is routed as of its own time; by hours, its zone or this server's clock is wrong: 503,
    # so the CRM keeps it (a 400 would drop it)
    soon = (datetime.now(UTC) + timedelta(seconds=20)).isoformat()
    status, body = post(app, "/leads", json.dumps({"id": "L-soon", "arrived_at": soon}).encode())
    assert status == "200 OK" and body["action"] == "assigned", body
    ahead = (datetime.now(UTC) + timedelta(hours=8)).isoformat()
    status, body = post(app, "/leads", json.dumps({"id": "L-later", "arrived_at": ahead}).encode())
    assert status.startswith("503") and "this server's clock" in body["error"], body

    script = subprocess.run(
        [sys.executable, str(EXAMPLES / "store_tick_worker.py"), url, "--team", team, "--once"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert script.stdout == "tick: 0 taken back, 0 (re-)assigned\n"  # nothing is due yet

    router = store_webhook.build_router(url, team)
    later = datetime.now(UTC) + timedelta(minutes=31)  # nobody touched a lead within the SLA
    events = store_tick_worker.tick_once(router, later)
    assert sorted(e.lead_id for e in events if isinstance(e, lr.Released)) == [
        "L-0",
        "L-1",
        "L-2",
        "L-soon",
    ]
    assert router.ledger.verify() == []
    # the CRM retries L-0, whose first answer was lost: it learns who holds the lead now
    status, body = post(app, "/leads", retry.encode())
    router.ledger.refresh()
    assert status == "200 OK" and body["rep_id"] == router.ledger.owner("L-0"), body
    assert body["rep_id"] != answers[0]["rep_id"]
    # another process adds a rep to the roster: this worker takes the ledger's roster up at its
    # next request, and the new rep, given nothing yet, is the rotation's next
    changed = store_webhook.build_router(url, team)
    changed.set_rep(lr.Rep("dee"))
    later_lead = json.dumps({"id": "L-5", "arrived_at": arrived, "source": "ads"}).encode()
    status, body = post(app, "/leads", later_lead)
    assert status == "200 OK" and body["rep_id"] == "dee", body
    # a worker of another deploy, with reps this ledger never used, is refused: a server-side
    # matter, so the CRM gets a 500 (and retries later), not a 400 blaming the lead
    monkeypatch.setattr(store_webhook, "REPS", [*store_webhook.REPS, lr.Rep("eve")])
    other_lead = json.dumps({"id": "L-6", "arrived_at": arrived, "source": "ads"}).encode()
    status, body = post(store_webhook.make_app(url, team), "/leads", other_lead)
    assert status == "500 Internal Server Error" and "only this Router has eve" in body["error"]
    # the tick worker, started with the code's roster, follows the ledger's too
    script = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "store_tick_worker.py"),
            url,
            "--team",
            team,
            "--every",
            "0",
            "--once",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert script.stdout.startswith("tick: "), script.stdout


@pytest.mark.parametrize(
    ("script", "option", "value", "example"),
    [
        ("store_tick_worker.py", "--every", "-5", "e.g. 60"),
        ("store_tick_worker.py", "--every", "inf", "e.g. 60"),
        ("store_tick_worker.py", "--every", "soon", "e.g. 60"),
        ("store_webhook.py", "--port", "-1", "e.g. 8000"),
        ("store_webhook.py", "--port", "99999", "e.g. 8000"),
    ],
)
def test_a_worker_refuses_an_option_it_cannot_use(
    script: str, option: str, value: str, example: str, tmp_path: Path
) -> None:
    """A usage error naming the option, before any database is opened: a negative --every was
    a traceback from time.sleep after the first tick, a --port out of range one from bind()."""
    url = f"sqlite:///{tmp_path / 'routing.db'}"
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / script), url, option, value],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert f"error: argument {option}:" in run.stderr and example in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "routing.db").exists()


def _restore_to(url: str, team: str, seq: int, lost: list[str]) -> None:
    """The team's ledger as a backup taken at row `seq` gives it back: the rows written after it
    gone, with the stored decisions of the leads `lost` they routed."""
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        after = {"ledger": team, "seq": seq}
        conn.execute(
            sa.text("DELETE FROM leadrouter_events WHERE ledger = :ledger AND seq > :seq"), after
        )
        for lead_id in lost:
            conn.execute(
                sa.text(
                    "DELETE FROM leadrouter_decisions WHERE ledger = :ledger AND lead_id = :lead"
                ),
                {"ledger": team, "lead": lead_id},
            )
    engine.dispose()


def _last_seq(url: str, team: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        found = conn.execute(
            sa.text("SELECT max(seq) FROM leadrouter_events WHERE ledger = :ledger"),
            {"ledger": team},
        ).scalar_one()
    engine.dispose()
    return int(found)


def _built(module: Any, monkeypatch: pytest.MonkeyPatch) -> list[lr.Router]:
    """The routers `module` builds with `build_router` from now on, in order."""
    built: list[lr.Router] = []
    build = module.build_router

    def recorded(url: str, team: str = "sales") -> lr.Router:
        built.append(build(url, team))
        return built[-1]

    monkeypatch.setattr(module, "build_router", recorded)
    return built


def _closed(router: lr.Router) -> bool:
    return bool(router.ledger.store.closed)  # type: ignore[attr-defined]


def test_a_webhook_worker_serves_again_after_a_backup_is_restored_under_it(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import store_webhook

    team = f"sales-{uuid.uuid4().hex[:8]}"
    app = store_webhook.make_app(url, team)
    built = _built(store_webhook, monkeypatch)
    arrived = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()

    def lead(i: int) -> bytes:
        return json.dumps({"id": f"L-{i}", "arrived_at": arrived, "region": "north"}).encode()

    assert post(app, "/leads", lead(0))[0] == "200 OK"
    backup = _last_seq(url, team)
    assert post(app, "/leads", lead(1))[0] == "200 OK"
    _restore_to(
        url, team, backup, lost=["L-1"]
    )  # the operator restored the database; this worker runs on
    status, body = post(app, "/leads", lead(2))
    assert status == "503 Service Unavailable" and "restored from a backup" in body["error"]
    assert [_closed(router) for router in built] == [True]  # its connections ended at once
    # the CRM retries: this worker reopened the ledger on the restored log and routes again,
    # L-1 too, which the restored log no longer has
    for i in (2, 1):
        status, body = post(app, "/leads", lead(i))
        assert status == "200 OK" and body["action"] == "assigned", body
    assert [_closed(router) for router in built] == [True, False]
    app.close()  # the worker stops
    assert [_closed(router) for router in built] == [True, True]


def _stopped_at(now: datetime) -> type[datetime]:
    """A `datetime` whose `now()` is always `now`."""

    class Stopped(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Stopped:
            return cls.fromtimestamp(now.timestamp(), tz)

    return Stopped


def test_the_tick_worker_sleeps_until_the_next_timer_not_a_fixed_beat(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import store_tick_worker
    import store_webhook

    team = f"sales-{uuid.uuid4().hex[:8]}"
    web = store_webhook.build_router(url, team)  # a webhook worker, another process in production
    now = datetime.now(UTC).replace(microsecond=0)
    # the worker's clock stands still at `now`: on a slow machine the SLA 20 s ahead would
    # otherwise fall due while the test runs, and the lead be taken back instead of waited for
    monkeypatch.setattr(store_tick_worker, "datetime", _stopped_at(now))
    routed = now - timedelta(minutes=30) + timedelta(seconds=20)
    held = web.route(lr.Lead("L-1", routed, region="north"), now=routed)
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)  # the worker sleeps through time.sleep
    built = _built(store_tick_worker, monkeypatch)
    store_tick_worker.run(url, team, every=600.0, times=1)
    assert slept == []  # one tick and no sleep after the last
    assert len(built) == 1 and _closed(built[0])  # the worker closed its ledger as it stopped
    web.ledger.refresh()
    assert web.ledger.holder("L-1") == held.rep_id  # not due yet: the tick left it
    store_tick_worker.run(url, team, every=600.0, times=2)
    assert slept == [20.0]  # until the SLA, not 600 s
    # nothing set: it sleeps the longest it may, as a lead routed meanwhile sets a deadline
    web.record(lr.Touched("L-1", held.rep_id or "", routed + timedelta(minutes=1)))
    store_tick_worker.run(url, team, every=600.0, times=2)
    assert slept[1:] == [600.0]
