"""The scheduler beside the webhook workers: run the team's timers every minute.

`router.tick()` takes back leads nobody touched within the SLA (re-routed to another rep) and
offers waiting leads again. Each tick is one transaction on the shared ledger, so a second
scheduler by mistake is harmless: it finds nothing left to do.

    python examples/store_tick_worker.py sqlite:///routing.db            # every minute, forever
    python examples/store_tick_worker.py sqlite:///routing.db --once     # one tick (e.g. cron)
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime

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


def run(url: str, team: str, every: float, times: int | None) -> None:
    """Tick every `every` seconds, `times` times (None: forever). A database that is down or
    busy skips that tick (nothing was written) and the next one tries again; so does any other
    failure (reps this ledger never used, say: another deploy), with the router built afresh for
    the next tick: the worker says why and keeps running, since no SLA timer runs while it is
    down."""
    router: lr.Router | None = None
    done = 0
    while times is None or done < times:
        try:
            router = router or build_router(url, team)
            tick_once(router)
        except (LockTimeoutError, StoreUnavailableError) as exc:
            print(f"tick skipped: {exc}")
        except lr.LeadRouterError as exc:
            print(f"tick failed, the next one starts afresh: {type(exc).__name__}: {exc}")
            router = None
        done += 1
        if times is None or done < times:
            time.sleep(every)


def main() -> None:
    parser = argparse.ArgumentParser(description="run the routing timers every minute")
    parser.add_argument("url", help="sqlite:///routing.db or postgresql://user:pw@host/db")
    parser.add_argument("--team", default="sales")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between ticks (60)")
    parser.add_argument("--once", action="store_true", help="one tick, then exit")
    args = parser.parse_args()
    run(args.url, args.team, args.every, 1 if args.once else None)


if __name__ == "__main__":
    main()
