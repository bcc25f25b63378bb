"""The scheduler beside the webhook workers: run the team's timers when they fall due.

`router.tick()` takes back leads nobody touched within the SLA (re-routed to another rep) and
offers waiting leads again. Each tick is one transaction on the shared ledger, so a second
scheduler by mistake is harmless: it finds nothing left to do. After each tick the worker sleeps
until `router.next_due()`, and at most `--every` seconds (60): a lead routed by a webhook worker
meanwhile sets a deadline this worker has not seen yet.

    python examples/store_tick_worker.py sqlite:///routing.db            # at each timer, forever
    python examples/store_tick_worker.py sqlite:///routing.db --once     # one tick (e.g. cron)
"""

from __future__ import annotations

import argparse
import math
import time
from datetime import UTC, datetime

from store_webhook import build_router  # run as a script, examples/ is on the path

import leadrouter as lr
from leadrouter.errors import LockTimeoutError, StoreUnavailableError


def tick_once(router: lr.Router, now: datetime | None = None) -> list[lr.Moved]:
    """One tick; prints what it did and returns the events it wrote."""
    events = router.tick(now)
    released = [e for e in events if isinstance(e, lr.Released)]
    assigned = [e for e in events if isinstance(e, lr.Assigned)]
    print(f"tick: {len(released)} taken back, {len(assigned)} (re-)assigned")
    return events


def seconds_to_next(router: lr.Router, ticked: datetime, every: float) -> float:
    """How long to sleep after a tick at `ticked`: until the router's next deadline, and never
    longer than `every`. `next_due` knows the ledger as of now; a lead a webhook worker routes
    while this one sleeps sets its SLA at least `first_touch_sla` later, and a sale or a new rep
    there may let a waiting lead be taken at once, so an `every` no longer than the shortest
    timer runs every timer on time and offers such a lead within `every`. It is asked with the
    tick's own `now`: a deadline at or before it was the tick's to run, and one between the
    tick and the question is not skipped."""
    due = router.next_due(ticked)
    if due is None:
        return every
    return min(every, max(0.0, (due - datetime.now(UTC)).total_seconds()))


def run(url: str, team: str, every: float, times: int | None) -> None:
    """Tick `times` times (None: forever), each when the router's next timer falls due and at
    most `every` seconds after the one before. A database that is down or busy skips that tick
    (nothing was written) and the next one tries again after `every`; so does any other
    failure (reps this ledger never used, say: another deploy), with the router built afresh for
    the next tick: the worker says why and keeps running, since no SLA timer runs while it is
    down. The ledger of a router given up, and the last one when the worker stops, is closed:
    its database connections end then, not when the garbage collector gets to them."""
    router: lr.Router | None = None
    done = 0
    try:
        while times is None or done < times:
            wait = every
            try:
                router = router or build_router(url, team)
                now = datetime.now(UTC)
                tick_once(router, now)
                wait = seconds_to_next(router, now, every)
            except (LockTimeoutError, StoreUnavailableError) as exc:
                print(f"tick skipped: {exc}")
            except lr.LeadRouterError as exc:
                print(f"tick failed, the next one starts afresh: {type(exc).__name__}: {exc}")
                if router is not None:
                    router.ledger.close()
                router = None
            done += 1
            if times is None or done < times:
                time.sleep(wait)
    finally:
        if router is not None:
            router.ledger.close()


def seconds(text: str) -> float:
    """An argparse type for `--every`: seconds, 0 or more and finite; anything else is a usage
    error naming the option (`time.sleep` raised a traceback for a negative one)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds: e.g. 60") from None
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(
            f"{text} seconds cannot be waited: give 0 or more, e.g. 60"
        )
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description="run the routing timers when they fall due")
    parser.add_argument("url", help="sqlite:///routing.db or postgresql://user:pw@host/db")
    parser.add_argument("--team", default="sales")
    parser.add_argument(
        "--every",
        type=seconds,
        default=60.0,
        help="at most this many seconds between ticks (60); sooner when a timer falls due",
    )
    parser.add_argument("--once", action="store_true", help="one tick, then exit")
    args = parser.parse_args()
    run(args.url, args.team, args.every, 1 if args.once else None)


if __name__ == "__main__":
    main()
