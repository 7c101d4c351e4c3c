"""Bringing the scheduler's jobs in line with a config, at start and after a reload.

Only the jobs whose feed or channel changed are touched, so a reload does not move
every feed's next poll (a feed whose interval changed polls no later than one new
interval from now) nor restart a channel's digest timer it did not change.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from monitor.service.jobs import Couriers, Gate, feed_trigger, schedule_channels, schedule_feeds
from monitor.service.scheduling import JobRecorder

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from monitor.runtime import Runtime
    from monitor.service.reload import FeedChanges


def reschedule_feeds(
    scheduler: AsyncIOScheduler,
    rt: Runtime,
    polls: asyncio.Semaphore,
    couriers: Couriers,
    changes: FeedChanges,
) -> None:
    """Add, drop and update only the feed jobs (``feed:URL``) whose feed changed.

    A changed feed keeps its job (its next run) with the new settings; a new
    interval is applied at once, no later than one new interval from now.
    """
    for url in changes.removed:
        if scheduler.get_job(f"feed:{url}"):
            scheduler.remove_job(f"feed:{url}")
    now = rt.clock()
    for feed in changes.changed:
        job = scheduler.get_job(f"feed:{feed.url}")
        if job is None:
            changes.added.append(feed)
            continue
        update: dict[str, Any] = {"args": (rt, feed, polls, scheduler, couriers)}
        if feed.url in changes.interval_changed:
            update["trigger"] = feed_trigger(rt.config, feed)
            soonest = now + rt.config.feed_interval(feed)
            update["next_run_time"] = min(job.next_run_time or soonest, soonest)
        job.modify(name=f"poll {feed.display_name}", **update)
    schedule_feeds(scheduler, rt, polls, changes.added, couriers)


def apply_channel_jobs(
    scheduler: AsyncIOScheduler,
    rt: Runtime,
    gate: Gate | None,
    jobs: dict[str, str],
    changed: set[str],
) -> None:
    """(Re)create the digest and retry jobs of the ``changed`` channels and drop those
    of channels that are gone. ``jobs`` (job id -> channel name, the jobs added so
    far) is updated in place; ``gate`` as for :func:`schedule_channels`."""
    wanted = JobRecorder()
    schedule_channels(wanted, rt, gate)  # type: ignore[arg-type]
    for job_id, channel in list(jobs.items()):
        if job_id not in wanted.jobs or channel in changed:
            if scheduler.get_job(job_id):
                scheduler.remove_job(job_id)
            del jobs[job_id]
    for job_id, (channel, args, kwargs) in wanted.jobs.items():
        if job_id not in jobs:
            scheduler.add_job(*args, replace_existing=True, **kwargs)
            jobs[job_id] = channel
