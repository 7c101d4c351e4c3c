"""APScheduler 3, made steady across late runs and clock jumps.

What APScheduler 3 does by itself (``AsyncIOScheduler``):

- it sleeps with ``loop.call_later`` (a monotonic timer) for "next run time minus
  wall-clock now", then compares job times with the **wall clock**;
- a late run (suspend, a busy loop) is dropped if it is later than
  ``misfire_grace_time``, and run once per missed time without ``coalesce``.

So, left alone, a wall clock set **back** by hours makes every job wait those hours
(the timer wakes, finds nothing due by the wall clock, and sleeps until the wall clock
catches up), and a clock set **forward** makes every job due at once: a burst of
every feed. The fixes here:

- jobs use ``coalesce=True``, ``misfire_grace_time=None``: a late job runs once;
- :class:`SteadyScheduler` never sleeps longer than :data:`MAX_SLEEP` seconds, and at
  each wakeup compares the wall clock with ``CLOCK_BOOTTIME`` (which, unlike the
  monotonic clock, keeps counting during suspend). A difference of more than
  :data:`JUMP_THRESHOLD` is a clock jump: interval jobs are shifted by the jump (they
  keep the real time left until their run), cron jobs are recomputed from the new
  wall clock (7:00 stays 7:00), and the jump listeners are told (the daemon moves the
  feeds' stored next polls by the jump). A suspend is no jump: jobs due during it run
  once.

A channel's ``cron:`` schedule is read as crontab(5) and fired once per local day
across daylight saving time by :class:`monitor.config.crontab.LocalDayCronTrigger`
(re-exported here with :func:`cron_trigger`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config.crontab import LocalDayCronTrigger as LocalDayCronTrigger
from monitor.config.crontab import cron_trigger as cron_trigger

log = logging.getLogger("monitor.scheduling")
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
MAX_SLEEP = 10.0
JUMP_THRESHOLD = 30.0


def boot_seconds() -> float:
    """Seconds since boot, suspend included (``CLOCK_BOOTTIME``; monotonic elsewhere)."""
    clock = getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC)
    return time.clock_gettime(clock)


class ClockWatch:
    """Notices jumps of the wall clock against a steady clock (both injectable)."""

    def __init__(
        self,
        wall: Callable[[], float] = time.time,
        steady: Callable[[], float] = boot_seconds,
        threshold: float = JUMP_THRESHOLD,
    ) -> None:
        self.wall, self.steady, self.threshold = wall, steady, threshold
        self._offset = wall() - steady()

    def jump(self) -> float:
        """Seconds the wall clock jumped since the last call (0.0 below the threshold)."""
        offset = self.wall() - self.steady()
        jumped = offset - self._offset
        if abs(jumped) < self.threshold:
            return 0.0
        self._offset = offset
        return jumped


def shift_jobs(scheduler: AsyncIOScheduler, jumped: float, now: datetime) -> int:
    """After a wall-clock jump of ``jumped`` seconds, move each job's next run; the count.

    Interval jobs keep the real time they had left; other triggers (cron) are asked
    again for their next time after ``now``.
    """
    moved = 0
    for job in scheduler.get_jobs():
        if job.next_run_time is None:
            continue
        if isinstance(job.trigger, IntervalTrigger):
            new = job.next_run_time + timedelta(seconds=jumped)
        else:
            new = job.trigger.get_next_fire_time(None, now)
        if new is not None and new != job.next_run_time:
            job.modify(next_run_time=new)
            moved += 1
    return moved


class SteadyScheduler(AsyncIOScheduler):
    """An ``AsyncIOScheduler`` that wakes at least every MAX_SLEEP s and absorbs clock jumps."""

    def __init__(self, clock_watch: ClockWatch | None = None, **options: object) -> None:
        options.setdefault("job_defaults", JOB_DEFAULTS)
        options.setdefault("timezone", "UTC")
        super().__init__(**options)
        self.clock_watch = clock_watch or ClockWatch()
        self.last_wakeup = boot_seconds()
        # Called with the seconds the wall clock jumped, after the jobs moved: for times
        # kept outside the scheduler (a feed's stored next poll) that must move too.
        self.jump_listeners: list[Callable[[float], None]] = []

    def _process_jobs(self) -> float | None:
        self.last_wakeup = boot_seconds()
        jumped = self.clock_watch.jump()
        if jumped:
            moved = shift_jobs(self, jumped, datetime.now(self.timezone))
            log.warning(
                "wall clock jumped %+.0fs: %d jobs moved so none is skipped or bunched",
                jumped,
                moved,
            )
            for listener in self.jump_listeners:
                listener(jumped)
        return super()._process_jobs()

    def _start_timer(self, wait_seconds: float | None) -> None:
        if self.running:
            wait_seconds = MAX_SLEEP if wait_seconds is None else min(wait_seconds, MAX_SLEEP)
        super()._start_timer(wait_seconds)


class JobRecorder:
    """Stands in for a scheduler to learn which jobs a ``_schedule_*`` function wants.

    ``jobs`` maps each job id to (channel or owner name, add_job args, add_job kwargs);
    the name is the job's second argument (``args=(rt, name)``) or the id after ``:``.
    """

    def __init__(self) -> None:
        self.jobs: dict[str, tuple[str, tuple[Any, ...], dict[str, Any]]] = {}

    def add_job(self, *args: Any, **kwargs: Any) -> None:
        """Record one ``add_job`` call instead of scheduling it."""
        job_id = kwargs["id"]
        job_args = kwargs.get("args") or ()
        owner = job_args[1] if len(job_args) > 1 else job_id.partition(":")[2]
        self.jobs[job_id] = (owner, args, kwargs)
