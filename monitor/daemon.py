"""The long-running daemon: APScheduler wiring, the state lock, clean shutdown.

Each feed is a job at its interval (with jitter, first poll spread over a few
seconds); each channel is a job at its schedule. A late run coalesces into one and
is never dropped (``misfire_grace_time=None``). SIGTERM/SIGINT stop the scheduler,
let in-flight work finish within :data:`DRAIN_SECONDS`, and close the store.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import FeedConfig, MonitorConfig
from monitor.pipeline import deliver_channel, poll_feed, prune_state, run_once
from monitor.runtime import Runtime, build_runtime
from monitor.store.lock import StateLock

log = logging.getLogger("monitor.daemon")
DRAIN_SECONDS = 20
RETRY_SWEEP_SECONDS = 30
PRUNE_HOURS = 6
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}


async def run_daemon(config: MonitorConfig, *, once: bool = False) -> None:
    """Run until SIGTERM/SIGINT (or one pass with ``once``), holding the state lock."""
    lock = StateLock(config.state_dir)
    lock.acquire()
    rt = build_runtime(config)
    for feed in config.feeds:
        if feed.fulltext:
            log.warning(
                "feed=%r fulltext: true is not implemented yet (issue #4): "
                "rules match the feed's own text only",
                feed.display_name,
            )
    try:
        if once:
            polls, deliveries = await run_once(rt)
            failed = sum(1 for p in polls if not p.ok)
            sent = sum(d.sent for d in deliveries)
            log.info("once: feeds=%d failed=%d messages_sent=%d", len(polls), failed, sent)
            return
        await _serve(rt)
    finally:
        await rt.aclose()
        lock.release()


async def _serve(rt: Runtime) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    scheduler = AsyncIOScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
    _schedule_feeds(scheduler, rt)
    _schedule_channels(scheduler, rt)
    scheduler.add_job(prune_state, IntervalTrigger(hours=PRUNE_HOURS), args=(rt,), id="prune")
    scheduler.start()
    log.info(
        "started: feeds=%d rules=%d channels=%d state_dir=%s",
        len(rt.config.feeds),
        len(rt.config.rules),
        len(rt.config.channels),
        rt.config.state_dir,
    )
    await stop.wait()
    log.info("stopping: finishing work in progress (at most %ds)", DRAIN_SECONDS)
    scheduler.shutdown(wait=False)
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if pending:
        await asyncio.wait(pending, timeout=DRAIN_SECONDS)
    log.info("stopped")


def _schedule_feeds(scheduler: AsyncIOScheduler, rt: Runtime) -> None:
    for index, feed in enumerate(rt.config.feeds):
        interval = rt.config.feed_interval(feed)
        jitter = min(interval.total_seconds() * 0.1, 60)
        first = rt.clock() + timedelta(seconds=min(index * 0.2, 10) + random.uniform(0, 1))
        scheduler.add_job(
            _poll_and_deliver,
            IntervalTrigger(seconds=interval.total_seconds(), jitter=jitter),
            args=(rt, feed),
            id=f"feed:{feed.url}",
            name=f"poll {feed.display_name}",
            next_run_time=first,
        )


async def _poll_and_deliver(rt: Runtime, feed: FeedConfig) -> None:
    report = await poll_feed(rt, feed)
    if report.alerts:
        for name, channel in rt.config.channels.items():
            if channel.schedule.kind == "immediate":
                await deliver_channel(rt, name)


def _schedule_channels(scheduler: AsyncIOScheduler, rt: Runtime) -> None:
    for name, channel in rt.config.channels.items():
        schedule = channel.schedule
        if schedule.kind == "every" and schedule.every:
            trigger = IntervalTrigger(seconds=schedule.every.total_seconds())
        elif schedule.kind == "cron" and schedule.cron:
            trigger = CronTrigger.from_crontab(schedule.cron, timezone=channel.timezone)
        else:
            trigger = None
        if trigger is not None:
            scheduler.add_job(
                deliver_channel,
                trigger,
                args=(rt, name),
                id=f"digest:{name}",
                name=f"digest {name}",
            )
        # Retries of messages already formed (and, for immediate channels, anything
        # left pending) go out between ticks, at their backoff.
        scheduler.add_job(
            deliver_channel,
            IntervalTrigger(seconds=RETRY_SWEEP_SECONDS),
            args=(rt, name),
            kwargs={"form_new": schedule.kind == "immediate"},
            id=f"retry:{name}",
            name=f"retry {name}",
        )
