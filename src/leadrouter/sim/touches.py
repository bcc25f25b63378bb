"""What a history's first touches say, for a fit: working delays, backlog, neglect.

Pick-up speed and capacity are read off when leads were first touched: the delay from assignment
in working minutes on the team's clock (`_working_delays`; the week read off the touches is put
in words by `_show_week`), how many of the rep's earlier leads still waited when each lead was
assigned (`_backlog_at_assignment`: a lead picked up with nothing waiting shows the rep's own
pick-up delay, one assigned into a queue shows the queue), and how often a rep never touched a
lead at all (`_neglect`). `leadrouter.sim.estimation` and `leadrouter.sim.leaks` use them.
"""

from __future__ import annotations

from typing import Any

from leadrouter._util import shrunk
from leadrouter.sim.workweek import WorkClock, WorkWeek


def _neglect(assigned: Any, k: float, weights: Any = None) -> tuple[dict[str, float], float]:
    """Per rep, the share of their leads never first-touched, shrunk toward the team's with `k`
    pseudo-leads; leads assigned in the last three days of the export are left out. `weights`
    (a Series on `assigned`'s index; None = every lead once) counts each lead that many times,
    so a replicate's Bayesian-bootstrap weights redraw the rates with their uncertainty."""
    import pandas as pd

    cutoff = assigned["assigned_at"].max() - pd.Timedelta(days=3)
    kept = assigned["assigned_at"] <= cutoff
    old = assigned[kept]
    if old.empty:
        return {}, 0.0
    w = pd.Series(1.0, index=old.index) if weights is None else weights[kept]
    never = old["first_touch_at"].isna().astype(float) * w
    team = float(never.sum() / w.sum())
    per_rep = pd.DataFrame({"sum": never, "count": w}).groupby(old["rep_id"]).sum()
    return (
        {str(r): float(shrunk(row["sum"], row["count"], team, k)) for r, row in per_rep.iterrows()},
        team,
    )


def _working_delays(touched: Any, tz: str, week: WorkWeek) -> Any:
    """Working minutes from assignment to first touch on the team's clock."""
    import pandas as pd

    local_assigned = touched["assigned_at"].dt.tz_convert(tz).dt.tz_localize(None)
    local_touch = touched["first_touch_at"].dt.tz_convert(tz).dt.tz_localize(None)
    start = local_assigned.min().normalize() - pd.Timedelta(days=1)
    days = int((local_touch.max() - start).days) + 2
    clock = WorkClock(start.date(), days, week, tz)
    a = clock.work(((local_assigned - start).dt.total_seconds() / 60.0).to_numpy())
    t = clock.work(((local_touch - start).dt.total_seconds() / 60.0).to_numpy())
    return pd.Series((t - a).clip(min=0.0), index=touched.index)


def _show_week(week: WorkWeek) -> str:
    names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    return ", ".join(
        f"{name} {w[0]:02d}-{w[1]:02d}" for name, w in zip(names, week, strict=True) if w
    )


def _backlog_at_assignment(assigned: Any) -> Any:
    """For each assigned lead, how many of its rep's earlier leads (ones eventually touched) were
    still untouched when it was assigned."""
    import numpy as np
    import pandas as pd

    out = pd.Series(0, index=assigned.index, dtype="int64")
    for _, group in assigned.groupby("rep_id"):
        order = group.sort_values("assigned_at", kind="stable")
        at = order["assigned_at"].to_numpy("datetime64[us]")
        touch = order["first_touch_at"].to_numpy("datetime64[us]")
        touched = ~np.isnat(touch)
        before = np.cumsum(touched) - touched
        done = np.searchsorted(np.sort(touch[touched]), at, side="right")
        out.loc[order.index] = np.maximum(before - done, 0)
    return out


def _rested_at_assignment(touched: Any, tz: str, week: WorkWeek | None, service: Any) -> Any:
    """For each first-touched lead, whether its rep had finished their previous first touch
    when it was assigned: the previous one was at least `service[rep]` working minutes earlier
    (the time a first touch takes at the rep's capacity), or there was none.

    A lead assigned with nothing waiting but right after another touch waits for that touch to
    end, so its delay is the pick-up lag plus what is left of the rep's last call; the
    simulator adds the queue itself, so the pick-up sample is read off rested leads only."""
    import numpy as np
    import pandas as pd

    from leadrouter.sim.capacity import work_positions

    assigned_at, touched_at = work_positions(touched, tz, week)
    rested = pd.Series(True, index=touched.index)
    reps = touched["rep_id"].to_numpy()
    for rep in pd.unique(reps):
        mine = np.flatnonzero(reps == rep)
        touches = np.sort(touched_at[mine])
        previous = np.searchsorted(touches, assigned_at[mine], side="left") - 1
        last = np.where(previous >= 0, touches[np.maximum(previous, 0)], -np.inf)
        gap = assigned_at[mine] - last
        rested.iloc[mine] = gap >= float(service.get(str(rep), 0.0))
    return rested
