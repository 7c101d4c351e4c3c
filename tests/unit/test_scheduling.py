"""APScheduler configuration: late runs coalesce, clock jumps neither hang nor burst.

Time is never faked in our code: the clock watch takes its two clocks as arguments,
and the scheduler tests use the real clock with jobs placed in the past or future.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import MonitorConfig
from monitor.service.daemon import JOB_DEFAULTS
from monitor.service.jobs import prune_seconds
from monitor.service.scheduling import MAX_SLEEP, ClockWatch, SteadyScheduler, shift_jobs


class Clocks:
    """Two hand-driven clocks for ClockWatch: the wall clock and a steady one."""

    def __init__(self) -> None:
        self.wall_t = 1_800_000_000.0
        self.steady_t = 1000.0

    def wall(self) -> float:
        return self.wall_t

    def steady(self) -> float:
        return self.steady_t


def test_job_defaults_coalesce_and_never_drop_late_runs():
    assert JOB_DEFAULTS == {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}

    async def scenario() -> tuple[object, ...]:
        scheduler = SteadyScheduler()
        scheduler.start(paused=True)
        job = scheduler.add_job(print, IntervalTrigger(minutes=10))
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)
        return job.coalesce, job.misfire_grace_time, job.max_instances

    assert asyncio.run(scenario()) == (True, None, 1)


def test_clock_watch_tells_jumps_from_drift_and_suspend():
    clocks = Clocks()
    watch = ClockWatch(clocks.wall, clocks.steady, threshold=30)
    clocks.wall_t += 10
    clocks.steady_t += 9.5  # ordinary drift: no jump
    assert watch.jump() == 0.0
    clocks.wall_t += 3 * 3600  # the wall clock is set 3 h forward
    assert watch.jump() == 3 * 3600 + 0.5
    assert watch.jump() == 0.0  # reported once
    clocks.wall_t -= 5 * 3600  # and 5 h back
    assert watch.jump() == -5 * 3600
    clocks.wall_t += 8 * 3600
    clocks.steady_t += 8 * 3600  # a suspend: both clocks moved (CLOCK_BOOTTIME)
    assert watch.jump() == 0.0


def test_shift_jobs_keeps_interval_time_left_and_recomputes_cron():
    async def scenario() -> None:
        scheduler = SteadyScheduler()
        scheduler.start(paused=True)
        now = datetime.now(UTC)
        soon = now + timedelta(minutes=4)
        poll = scheduler.add_job(print, IntervalTrigger(minutes=10), next_run_time=soon)
        digest = scheduler.add_job(print, CronTrigger.from_crontab("0 7 * * *", timezone="UTC"))
        # the wall clock went back 3 h: "now" is 3 h earlier than the jobs were planned for
        earlier = now - timedelta(hours=3)
        assert shift_jobs(scheduler, -3 * 3600, earlier) >= 1
        assert scheduler.get_job(poll.id).next_run_time == soon - timedelta(hours=3)
        expected = CronTrigger.from_crontab("0 7 * * *", timezone="UTC").get_next_fire_time(
            None, earlier
        )
        assert scheduler.get_job(digest.id).next_run_time == expected
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)

    asyncio.run(scenario())


def test_a_run_missed_by_hours_runs_once_then_waits_its_interval():
    runs: list[datetime] = []

    async def scenario() -> datetime | None:
        done = asyncio.Event()

        async def job() -> None:
            runs.append(datetime.now(UTC))
            done.set()

        scheduler = SteadyScheduler()
        hours_ago = datetime.now(UTC) - timedelta(hours=5)
        added = scheduler.add_job(job, IntervalTrigger(minutes=10), next_run_time=hours_ago)
        scheduler.start()
        await asyncio.wait_for(done.wait(), timeout=30)
        for _ in range(5):  # let the scheduler look again: nothing more is due
            await asyncio.sleep(0.05)
        next_run = scheduler.get_job(added.id).next_run_time
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)
        return next_run

    next_run = asyncio.run(scenario())
    assert len(runs) == 1  # 30 missed runs coalesced into one, none dropped
    assert next_run is not None and next_run > runs[0]


def test_the_scheduler_never_sleeps_longer_than_max_sleep():
    async def scenario() -> float:
        scheduler = SteadyScheduler()
        scheduler.add_job(print, IntervalTrigger(days=1))
        scheduler.start()
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        wait = scheduler._timeout.when() - loop.time()
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)
        return wait

    # a wall clock set back by hours is noticed at the next wakeup, not hours later
    assert asyncio.run(scenario()) <= MAX_SLEEP


def test_jump_listeners_hear_each_jump():
    """The daemon moves feeds' stored next polls by a jump; it learns of it here."""
    clocks = Clocks()
    heard: list[float] = []

    async def scenario() -> None:
        watch = ClockWatch(clocks.wall, clocks.steady, threshold=30)
        scheduler = SteadyScheduler(clock_watch=watch)
        scheduler.jump_listeners.append(heard.append)
        scheduler.start()
        await asyncio.sleep(0.01)
        clocks.wall_t -= 3600
        scheduler.wakeup()
        for _ in range(5):
            await asyncio.sleep(0.01)
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)

    asyncio.run(scenario())
    assert heard == [-3600]


@pytest.mark.parametrize(
    ("dedup", "seconds"),
    [
        ({}, 6 * 3600),  # 3-day window, 30-day retention: every 6 hours
        ({"window": "20m", "retention": "1h"}, 300),  # a quarter of the window
        ({"window": "1d", "retention": "40m"}, 600),  # a quarter of the retention
        ({"window": "1m", "retention": "2m"}, 60),  # never more than once a minute
    ],
)
def test_pruning_follows_the_shortest_of_window_and_retention(dedup, seconds):
    """A 20-minute retention is not kept for 6 hours (the old fixed interval)."""
    config = MonitorConfig.model_validate({"dedup": dedup})
    assert prune_seconds(config) == seconds
