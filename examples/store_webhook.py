"""A webhook endpoint that routes a lead and answers with the decision, on a shared ledger.

Plain WSGI (the standard library's `wsgiref`; any WSGI server such as gunicorn runs it with
several worker processes): `POST /leads` with a lead as JSON (`{"id": "L-1", "arrived_at":
"2026-01-05T09:00:00+08:00", "region": "north"}`) answers with the rep who got it and why. Every
worker process opens the same ledger, so caps and rotation hold across them, and a webhook
retry of a lead gets the first decision back, whichever worker answers it.

    python examples/store_webhook.py sqlite:///routing.db --port 8000
    curl -d '{"id": "L-1", "arrived_at": "2026-01-05T09:00:00+08:00"}' localhost:8000/leads

`build_router` is the one place the team's routing is defined; `store_tick_worker.py` imports
it, so the scheduler runs the same timers on the same ledger.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from wsgiref.simple_server import make_server

import leadrouter as lr
from leadrouter import rules
from leadrouter.errors import (
    DuplicateLeadError,
    EventBeforeArrivalError,
    InvalidTypeError,
    InvalidValueError,
    LockTimeoutError,
    LogReplacedError,
    NotALeadError,
    StoreUnavailableError,
)

BAD_LEAD = (InvalidValueError, InvalidTypeError, NotALeadError, DuplicateLeadError)
"""What the request's lead is wrong in (answered 400: sending it again will not help)."""
SKEW = timedelta(minutes=2)
"""How far a lead's arrived_at may be ahead of this server's clock and be taken as the two clocks
disagreeing a little: the lead is routed as of its own time. Further ahead, either its time is
wrong (a wrong zone) or this server's clock is behind; the answer is 503, so the CRM keeps the
lead and retries, never a 400 that would drop it."""

REPS = [
    lr.Rep("ana", regions={"north"}),
    lr.Rep("bo", regions={"north", "south"}),
    lr.Rep("cy", regions={"south"}),
]


def build_router(url: str, team: str = "sales") -> lr.Router:
    """The team's router on the ledger `team` in the database at `url`."""
    return lr.Router(
        lr.EqualRotation(),
        REPS,
        ledger=lr.Ledger.open(url, team),
        rules=[rules.region()],
        caps=lr.FixedCap(open=20, daily=30, tz="Asia/Shanghai"),
        lifecycle=lr.Lifecycle(first_touch_sla=timedelta(minutes=30), reroute=True),
    )


Respond = Callable[[str, list[tuple[str, str]]], Any]


class WebhookApp:
    """The WSGI application. The router is built on the first request, in the worker process
    that serves it (a database connection must not cross a fork); `close` lets go of its
    ledger's connections when the worker stops."""

    def __init__(self, url: str, team: str = "sales") -> None:
        self.url = url
        self.team = team
        self.router: lr.Router | None = None

    def close(self) -> None:
        """Close the router's ledger (its database connections), if one was opened."""
        router, self.router = self.router, None
        if router is not None:
            router.ledger.close()

    def __call__(self, environ: dict[str, Any], respond: Respond) -> Iterable[bytes]:
        def answer(status: str, body: dict[str, Any], *extra: tuple[str, str]) -> list[bytes]:
            respond(status, [("Content-Type", "application/json"), *extra])
            return [json.dumps(body).encode()]

        if environ["REQUEST_METHOD"] != "POST" or environ["PATH_INFO"] != "/leads":
            return answer("404 Not Found", {"error": "POST a lead as JSON to /leads"})
        size = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            row = json.loads(environ["wsgi.input"].read(size) or b"null")
            if not isinstance(row, dict):
                raise lr.InvalidValueError("the body must be a JSON object: one lead")
            if self.router is None:
                self.router = build_router(self.url, self.team)
            lead = lr.Lead.from_row(row)
            now = datetime.now(UTC)
            ahead = lead.arrived_at - now
            if ahead > SKEW:
                raise lr.EventBeforeArrivalError(
                    f"arrived_at {lead.arrived_at.isoformat()} is {ahead} after this server's "
                    f"clock ({now.isoformat()}): check the zone of the CRM's times, and this "
                    "server's clock (NTP)"
                )
            router = self.router
            decision = router.route(lead, now=max(now, lead.arrived_at))
            if decision.rep_id != router.ledger.owner(lead.id):
                # a retry of a lead that moved on since its first answer (an SLA re-route, a
                # hand-over): the CRM is told who holds it now, not who first got it
                decision = router.why(lead.id)
        except LogReplacedError as exc:
            # the database was restored from a backup under this worker: it wrote nothing, and
            # the next request reopens the ledger on the restored log, as a restart would (the
            # old ledger's connections are closed now, not left to the garbage collector)
            self.close()
            return answer("503 Service Unavailable", {"error": str(exc)}, ("Retry-After", "1"))
        except (LockTimeoutError, StoreUnavailableError) as exc:
            # nothing was written: the CRM's webhook retries, and a retry is safe
            return answer("503 Service Unavailable", {"error": str(exc)}, ("Retry-After", "5"))
        except EventBeforeArrivalError as exc:
            return answer("503 Service Unavailable", {"error": str(exc)}, ("Retry-After", "60"))
        except (*BAD_LEAD, json.JSONDecodeError, UnicodeDecodeError) as exc:
            return answer("400 Bad Request", {"error": str(exc)})
        except lr.LeadRouterError as exc:
            # the server's setup, not the lead (reps this ledger never used: another deploy; a
            # schema to upgrade; a strategy's bug): 500, so the CRM keeps the lead and retries
            return answer("500 Internal Server Error", {"error": str(exc)})
        return answer(
            "200 OK",
            {
                "lead_id": decision.lead_id,
                "rep_id": decision.rep_id,
                "action": decision.action,
                "pool": decision.pool,
                "reasons": [str(reason) for reason in decision.reasons],
            },
        )


def make_app(url: str, team: str = "sales") -> WebhookApp:
    """The WSGI application of the team's webhook (see `WebhookApp`)."""
    return WebhookApp(url, team)


def port(text: str) -> int:
    """An argparse type for `--port`: a TCP port, 1-65535; anything else is a usage error naming
    the option, before the ledger is opened (bind() raised a traceback for -1 or 99999)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number: e.g. 8000") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port: give 1 to 65535, e.g. 8000")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description="route leads posted to /leads")
    parser.add_argument("url", help="sqlite:///routing.db or postgresql://user:pw@host/db")
    parser.add_argument("--team", default="sales")
    parser.add_argument("--port", type=port, default=8000, help="the port to listen on (8000)")
    args = parser.parse_args()
    app = make_app(args.url, args.team)
    try:
        with make_server("127.0.0.1", args.port, app) as server:
            print(f"routing leads posted to http://127.0.0.1:{args.port}/leads")
            server.serve_forever()
    finally:  # Ctrl-C or a stop: the ledger's connections end with the worker
        app.close()


if __name__ == "__main__":
    main()
