"""Is the daemon working? The watchdog's question, the STATUS line, the outbox gauges.

:func:`check` runs as a scheduler job: that it runs at all shows the event loop and
the scheduler are alive; it then asks the database a question (a real query, which
fails if the file is locked or broken) and looks for jobs the scheduler should have
started long ago. Only a healthy answer earns a ``WATCHDOG=1``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.base import STATE_RUNNING, BaseScheduler

from monitor import metrics
from monitor.runtime import Runtime
from monitor.store.codec import parse_ts
from monitor.store.status import channel_summary

log = logging.getLogger("monitor.health")
OVERDUE = timedelta(minutes=2)  # a job this late means the scheduler is not dispatching


@dataclass(frozen=True)
class Health:
    """One look at the daemon: ``ok`` plus what the STATUS line shows."""

    ok: bool
    feeds: int
    failing: int = 0
    pending: int = 0
    last_poll: datetime | None = None
    problem: str | None = None

    def status_line(self, now: datetime) -> str:
        """``120 feeds, 3 pending, last poll 12s ago`` (and what is wrong, if anything)."""
        if self.last_poll is None:
            ago = "no poll yet"
        else:
            ago = f"last poll {max(0, int((now - self.last_poll).total_seconds()))}s ago"
        parts = [f"{self.feeds} feeds", f"{self.pending} pending", ago]
        if self.failing:
            parts.insert(1, f"{self.failing} failing")
        if self.problem:
            parts.append(f"UNHEALTHY: {self.problem}")
        return ", ".join(parts)


def check(rt: Runtime, scheduler: BaseScheduler, exclude_job: str | None = None) -> Health:
    """Query the store and inspect the scheduler; refresh the outbox gauges."""
    feeds = len(rt.config.feeds)
    now = datetime.now(UTC)
    if scheduler.state != STATE_RUNNING:
        return Health(False, feeds, problem="scheduler not running")
    try:
        row = rt.store.conn.execute(
            "SELECT MAX(last_polled), SUM(consecutive_failures > 0) FROM feeds"
        ).fetchone()
        summary = channel_summary(rt.store)
    except Exception as exc:  # sqlite3.Error, or a closed connection
        return Health(False, feeds, problem=f"database: {type(exc).__name__}: {exc}")
    metrics.set_outbox(summary, rt.config.channels)
    pending = sum(c.get("pending") or 0 for c in summary.values())
    late = [
        job.name
        for job in scheduler.get_jobs()
        if job.id != exclude_job and job.next_run_time and job.next_run_time < now - OVERDUE
    ]
    problem = f"{len(late)} jobs overdue (e.g. {late[0]})" if late else None
    return Health(
        ok=not late,
        feeds=feeds,
        failing=row[1] or 0,
        pending=pending,
        last_poll=parse_ts(row[0]),
        problem=problem,
    )
