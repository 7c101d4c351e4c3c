"""Is the daemon working? The watchdog's question, the STATUS line, the outbox gauges.

:func:`check` runs as a scheduler job: that it runs at all shows the event loop and
the scheduler are alive; it then asks the database a question (a real query, which
fails if the file is locked or broken), looks for jobs the scheduler should have
started long ago, and for work that stopped moving: feeds due for long with no poll
finishing, a send attempt running past its deadline, a due message its channel has
not tried. Only a healthy answer earns a ``WATCHDOG=1``, so systemd restarts a
daemon that is alive but stuck. One instance of several (``store:``) must also have
recorded its heartbeat lately and have a claim loop that runs
(:meth:`monitor.service.cluster.Cluster.problem`); overdue polls are judged as on one
machine (a feed overdue is overdue whichever instance should have polled it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.base import STATE_RUNNING, BaseScheduler

from monitor import metrics
from monitor.notify import deadline
from monitor.runtime import Runtime
from monitor.store.sqlite import Store
from monitor.store.status import channel_summary, feed_schedules, oldest_pending, poll_summary

log = logging.getLogger("monitor.health")
OVERDUE = timedelta(minutes=2)  # a job this late means the scheduler is not dispatching
POLL_STALL_MIN = timedelta(seconds=60)  # the least time without a poll that is a stall
DELIVERY_STALL = timedelta(minutes=5)  # a due message untried this long: delivery stalled
ATTEMPT_GRACE_SECONDS = 30.0  # an attempt this far past its deadline was not stopped


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
        feeds = f"{self.feeds} feed{'' if self.feeds == 1 else 's'}"
        parts = [feeds, f"{self.pending} pending", ago]
        if self.failing:
            parts.insert(1, f"{self.failing} failing")
        if self.problem:
            parts.append(f"UNHEALTHY: {self.problem}")
        return ", ".join(parts)


def check(
    rt: Runtime,
    scheduler: BaseScheduler,
    exclude_job: str | None = None,
    *,
    started: datetime | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    cluster: Any = None,
    reads: StoreReads | None = None,
) -> Health:
    """Query the store and inspect the scheduler, polls and deliveries; refresh the gauges.

    Unhealthy when the scheduler is not running, the database does not answer, a job
    is more than :data:`OVERDUE` late, polls stalled (:func:`stalled_polls`), a send
    attempt outlived its deadline (:func:`stalled_attempts`) or due messages wait
    unattempted (:func:`stalled_deliveries`). ``started`` is when the daemon started
    (the store's clock): work left over from before counts as due from then.
    ``monotonic`` is the clock of send attempts (tests move it). ``cluster``: this
    instance's :class:`~monitor.service.cluster.Cluster` (several instances), whose
    ``problem()`` counts too. ``reads``: the store's answers, read already by
    :func:`read_store` (the daemon awaits them off the loop: :func:`check_async`);
    None: read here, on the store's thread, waited for in place.
    """
    feeds = len(rt.config.feeds)
    now = datetime.now(UTC)
    if scheduler.state != STATE_RUNNING:
        return Health(False, feeds, problem="scheduler not running")
    since = started or rt.clock()
    try:
        reads = reads or rt.db.call(read_store)
        (last_poll, failing), summary, schedules, pending_oldest = reads
        held = cluster.channels if cluster is not None else None
        stalled = stalled_polls(rt, since, schedules) or stalled_deliveries(
            rt, since, pending_oldest, monotonic, held
        )
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
    problem = problem or (cluster.problem() if cluster is not None else None)
    problem = problem or stalled_attempts(monotonic=monotonic) or stalled
    return Health(
        ok=problem is None,
        feeds=feeds,
        failing=failing,
        pending=pending,
        last_poll=last_poll,
        problem=problem,
    )


StoreReads = tuple[Any, Any, Any, Any]


def read_store(store: Store) -> StoreReads:
    """A unit (store thread): what :func:`check` asks the store, in one go: the poll
    summary, the channel summary, the feeds' schedules, the oldest pending per channel."""
    return poll_summary(store), channel_summary(store), feed_schedules(store), oldest_pending(store)


async def check_async(rt: Runtime, scheduler: BaseScheduler, **kwargs: Any) -> Health:
    """:func:`check` with the store read off the event loop (the daemon's health job):
    a slow statement delays the answer, not the loop. A store error is an unhealthy
    answer, as in :func:`check`."""
    try:
        reads = await rt.db.run(read_store)
    except Exception as exc:  # sqlite3.Error, or a closed connection
        feeds = len(rt.config.feeds)
        return Health(False, feeds, problem=f"database: {type(exc).__name__}: {exc}")
    return check(rt, scheduler, reads=reads, **kwargs)


def poll_window(rt: Runtime) -> timedelta:
    """How long polls may go without one finishing while feeds are due.

    Three of the shortest interval, at least :data:`POLL_STALL_MIN`, so a short
    interval plus one slow poll does not look like a stall.
    """
    intervals = [rt.config.feed_interval(f) for f in rt.config.feeds]
    return max([POLL_STALL_MIN, *(3 * i for i in intervals)])


def stalled_polls(rt: Runtime, since: datetime, states: Any) -> str | None:
    """What is wrong when a feed has waited :func:`poll_window` and no poll finished in it.

    A feed is due from its stored next poll (or ``since``, the daemon's start, if
    later or never polled); feeds the server said are gone (410) are never due. An
    idle daemon (nothing due) is healthy however long ago its last poll was. ``states``:
    :func:`~monitor.store.status.feed_schedules`, read already (:func:`read_store`).
    """
    now = rt.clock()
    window = poll_window(rt)
    overdue = []
    for feed in rt.config.feeds:
        _last, next_poll, gone = states.get(feed.key, (None, None, False))
        if gone:
            continue
        if now - max(next_poll or since, since) > window:
            overdue.append(feed.display_name)
    if not overdue:
        return None
    last = max([since, *(polled for polled, _, _ in states.values() if polled is not None)])
    if now - last <= window:
        return None  # polls are finishing: busy, not stalled
    return (
        f"no poll finished in {_seconds(now - last)} (allowed {_seconds(window)}); "
        f"feeds waiting: {len(overdue)}, e.g. {overdue[0]!r}"
    )


def stalled_attempts(
    grace: float = ATTEMPT_GRACE_SECONDS, monotonic: Callable[[], float] = time.monotonic
) -> str | None:
    """A send attempt still running ``grace`` seconds past its channel's ``timeout``."""
    late = deadline.overrun(grace, monotonic)
    if not late:
        return None
    first = late[0]
    return (
        f"channel {first.channel!r}: a send to {first.destination} has run "
        f"{_seconds(timedelta(seconds=monotonic() - first.started))} "
        f"(timeout {first.seconds:g}s)"
    )


def stalled_deliveries(
    rt: Runtime,
    since: datetime,
    pending_oldest: Any,
    monotonic: Callable[[], float] = time.monotonic,
    held: Container[str] | None = None,
) -> str | None:
    """A channel with a message due for :data:`DELIVERY_STALL` that it has not tried since.

    Due from the message's next attempt (or ``since`` if later); channels disabled
    by their destination (410) or gone from the config do not count, nor (several
    instances) channels not in ``held``: another instance delivers those.
    ``pending_oldest``: :func:`~monitor.store.status.oldest_pending`, read already
    (:func:`read_store`).
    """
    now = rt.clock()
    for channel, next_attempt in pending_oldest:
        if channel not in rt.config.channels or (held is not None and channel not in held):
            continue
        due = max(next_attempt or since, since)
        tried = deadline.last_started(channel)
        tried_recently = tried is not None and monotonic() - tried <= DELIVERY_STALL.total_seconds()
        if now - due > DELIVERY_STALL and not tried_recently:
            return (
                f"channel {channel!r}: a message due {_seconds(now - due)} ago "
                f"has not been tried (allowed {_seconds(DELIVERY_STALL)})"
            )
    return None


def _seconds(span: timedelta) -> str:
    return f"{int(span.total_seconds())}s"
