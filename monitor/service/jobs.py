"""The jobs the daemon schedules: one per feed, one digest and one retry sweep per
channel, the channels' couriers (delivery woken by a poll), and the pruning of old
state. :mod:`monitor.service.daemon` owns the scheduler, the signals and reloads; this
module only says what each job runs and when.

Several instances (``store:``): feeds are claimed (:mod:`monitor.service.claims`), not
scheduled here; a channel's rounds run only on the instance holding its lease (the
``gate``), and old state is pruned once in the cluster (:func:`cluster_prune_job`). A
scheduled channel's digest tick is stored (:func:`digest_tick`): every round of the
holder (its digest job, retry sweep, courier) may take it when due, in the transaction
that forms the digest, so each tick fires once in the cluster, and an instance that
takes the channel's lease after a missed tick forms the overdue digest at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import FeedConfig, MonitorConfig
from monitor.config.crontab import cron_trigger
from monitor.delivery import DeliveryReport, deliver_channel
from monitor.notify.timing import held, sweep_seconds
from monitor.pipeline import poll_feed, prune_state, prune_stories
from monitor.runtime import Runtime
from monitor.store.cluster import tick_due
from monitor.store.digestticks import (
    NEVER,
    DigestTick,
    owe_tick,
    pay_tick,
    tick_name,
    tick_owed,
)
from monitor.store.sqlite import Store

Gate = Callable[[str], Awaitable[bool]]  # whether this instance may deliver a channel now
GRID = datetime(1970, 1, 1, tzinfo=UTC)  # several instances: every: ticks count from here

__all__ = [
    "RETRY_SWEEP_SECONDS",
    "Couriers",
    "cluster_prune_job",
    "digest_tick",
    "feed_trigger",
    "gated_delivery",
    "prune_job",
    "prune_seconds",
    "schedule_channels",
    "schedule_feeds",
]

log = logging.getLogger("monitor.jobs")
RETRY_SWEEP_SECONDS = 30  # how often formed messages due for a retry are looked for


def feed_trigger(config: MonitorConfig, feed: FeedConfig) -> IntervalTrigger:
    """Every ``interval`` of the feed, with 10% jitter (at most 60 s)."""
    interval = config.feed_interval(feed).total_seconds()
    return IntervalTrigger(seconds=interval, jitter=min(interval * 0.1, 60))


def schedule_feeds(
    scheduler: AsyncIOScheduler,
    rt: Runtime,
    slots: asyncio.Semaphore,
    only: list[FeedConfig] | None = None,
    couriers: Couriers | None = None,
) -> None:
    """Add a poll job per feed (or per feed of ``only``), first runs spread over ~10 s.

    A poll that queued alerts wakes ``couriers`` (without them, the channels' sweeps
    send what it queued).
    """
    feeds = rt.config.feeds if only is None else only
    for index, feed in enumerate(feeds):
        first = rt.clock() + timedelta(seconds=min(index * 0.2, 10) + random.uniform(0, 1))
        scheduler.add_job(
            _poll_job,
            feed_trigger(rt.config, feed),
            args=(rt, feed, slots, scheduler, couriers),
            id=f"feed:{feed.url}",
            name=f"poll {feed.display_name}",
            next_run_time=first,
            replace_existing=True,
        )


async def _poll_job(
    rt: Runtime,
    feed: FeedConfig,
    slots: asyncio.Semaphore,
    scheduler: AsyncIOScheduler | None = None,
    couriers: Couriers | None = None,
) -> None:
    """One feed's job: poll holding one of ``slots`` (polls at once), then wake delivery.

    Delivery is never awaited here: a slow or stuck destination holds only its own
    channel's courier, never a poll slot. The job then runs next at the feed's stored
    next poll, not at the trigger's next tick: that is the interval (adaptive or
    fixed) with jitter, or later when the server asked for it (Retry-After, max-age,
    ``<ttl>``) or the feed is failing, so a poll is never earlier than those allow.
    The trigger only starts the job.
    """
    async with slots:
        report = await poll_feed(rt, feed)
    if report.alerts and couriers is not None:
        couriers.wake_all()
    job = scheduler.get_job(f"feed:{feed.url}") if scheduler is not None else None
    if job is not None and report.next_poll is not None:
        job.modify(next_run_time=report.next_poll)


def prune_seconds(config: MonitorConfig) -> float:
    """How often old state is pruned: a quarter of the shorter of ``dedup.window`` and
    ``dedup.retention``, between 1 minute and 6 hours, so what is kept past its time
    stays within a quarter of it (a 20m retention is not held for 6 hours).
    """
    shortest = min(config.dedup.window, config.dedup.retention).total_seconds()
    return min(max(shortest / 4, 60.0), 6 * 3600.0)


async def prune_job(rt: Runtime) -> None:
    """Prune as one unit on the store's thread (store/runner.py), the loop free meanwhile
    (a plain function would run in APScheduler's thread pool, away from the store's)."""
    await rt.db.run(prune_state, rt)


async def cluster_prune_job(rt: Runtime) -> None:
    """Several instances: prune the store once in the cluster per period (the instance
    whose :func:`~monitor.store.cluster.tick_due` won it), and this instance's story
    index always (it is in memory: each instance has its own)."""
    await rt.db.run(_cluster_prune, rt)


def _cluster_prune(store: Store, rt: Runtime) -> None:
    """A unit (store thread; the story index is the recording units' too)."""
    if tick_due(store, "prune", prune_seconds(rt.config)):
        prune_state(store, rt)
    else:
        prune_stories(rt, rt.clock())


def digest_tick(config: MonitorConfig, channel: str) -> DigestTick | None:
    """The stored digest tick of an ``every:``/``cron:`` channel (``digest:<channel>``),
    None for an ``immediate`` one (or a channel a reload removed). ``every:`` ticks are
    :data:`GRID` + k × every, as the digest job's trigger on every instance; ``cron:``
    ticks are the cron trigger's times. Either way the next tick strictly after now
    (UTC): ticks missed meanwhile fire once."""
    settings = config.channels.get(channel)
    if settings is None:  # removed by a reload
        return None
    schedule = settings.schedule
    if schedule.kind == "every" and schedule.every:
        return every_tick(tick_name(channel), schedule.every)
    if schedule.kind == "cron" and schedule.cron:
        trigger = cron_trigger(schedule.cron, settings.timezone)

        def following(last: datetime | None, now: datetime) -> datetime:
            later = now + timedelta(microseconds=1)
            fire = trigger.get_next_fire_time(last, later) if last is not None else None
            if fire is None or fire <= now:  # from now (the trigger keeps one per local time)
                fire = trigger.get_next_fire_time(None, later)
            return fire.astimezone(UTC) if fire is not None else NEVER

        return DigestTick(tick_name(channel), following)
    return None


def every_tick(name: str, every: timedelta) -> DigestTick:
    """The tick ``name`` of an ``every:`` schedule: :data:`GRID` + k × ``every``, the
    next one strictly after now (UTC), as the digest job's trigger on every instance."""

    def following(last: datetime | None, now: datetime) -> datetime:
        return GRID + ((now - GRID) // every + 1) * every

    return DigestTick(name, following)


async def gated_delivery(
    rt: Runtime, channel: str, *, gate: Gate | None = None, form_new: bool = True
) -> DeliveryReport | None:
    """A delivery round of ``channel`` if ``gate(channel)`` (this instance holds its
    lease), else nothing (None): a digest tick or sweep on another instance's channel.
    A scheduled channel's round carries its stored tick (:func:`digest_tick`), which
    decides instead of ``form_new`` whether its regular alerts may go. Without a
    ``gate`` (one instance) a plain round, ``form_new`` deciding."""
    if gate is not None and not await gate(channel):
        return None
    tick = None if gate is None else digest_tick(rt.config, channel)
    if tick is not None:
        return await deliver_channel(rt, channel, tick=tick)
    owed = await _owed_tick(rt, channel, form_new)
    report = await deliver_channel(rt, channel, form_new=form_new or owed)
    if owed and report.regular_formed:
        await rt.db.run(pay_tick, channel)
    return report


async def _owed_tick(rt: Runtime, channel: str, tick: bool) -> bool:
    """One instance: whether this round of a scheduled ``channel`` forms the digest of
    a tick its quiet hours held. A tick (``tick``) inside the window is owed (kept in
    the database: :func:`~monitor.store.digestticks.owe_tick`); the first round after
    the window (a sweep, within :data:`RETRY_SWEEP_SECONDS`, or a courier) pays it once
    it forms the digest, as docs/channels.md says: "the first tick or sweep after it
    sends them". Several instances keep the stored tick due instead
    (:meth:`~monitor.store.outbox.Outbox.next_message`)."""
    settings = rt.config.channels.get(channel)
    if settings is None or settings.schedule.kind == "immediate":
        return False
    now = rt.clock()
    if held(rt.config, channel, now) is not None:
        if tick:
            await rt.db.run(owe_tick, channel, now)
        return False
    if tick:  # a tick outside the window forms the digest itself
        await rt.db.run(pay_tick, channel)
        return False
    return await rt.db.run(tick_owed, channel)


class Couriers:
    """One delivery task per channel, woken after a poll queued alerts.

    Each channel delivers in its own task, so a destination that hangs holds only its
    own channel. A wake while the channel's task runs asks for one more round after
    it (at most one task and one pending round per channel). With a ``gate`` (several
    instances) a round runs only while the gate allows the channel.
    """

    def __init__(self, rt: Runtime, gate: Gate | None = None) -> None:
        self.rt = rt
        self.gate = gate
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._closed = False

    def close(self) -> None:
        """Refuse further wakes (the daemon's drain is over; the runtime closes next).
        What is still pending is sent by the next start's sweep."""
        self._closed = True

    def wake_all(self) -> None:
        """Wake every channel of the current config (see :meth:`wake`)."""
        for name in self.rt.config.channels:
            self.wake(name)

    def wake(self, channel: str) -> None:
        """Start a delivery round of ``channel`` now, or right after the running one.

        Immediate channels send what has waited ``group_wait``; scheduled channels
        send only urgent alerts now (the rest waits for their tick).
        """
        if self._closed:
            return
        if channel in self._running:
            self._again.add(channel)
            return
        task = asyncio.create_task(self._deliver(channel), name=f"deliver {channel}")
        self._running[channel] = task

    async def _deliver(self, channel: str) -> None:
        try:
            while True:
                self._again.discard(channel)
                settings = self.rt.config.channels.get(channel)
                if settings is None:  # removed by a reload
                    return
                immediate = settings.schedule.kind == "immediate"
                try:
                    round_ = await gated_delivery(
                        self.rt, channel, gate=self.gate, form_new=immediate
                    )
                    if round_ is None:
                        return  # another instance holds this channel's lease
                except Exception as exc:  # a store error, or a bug: the next wake retries
                    log.error(
                        "channel=%s delivery round failed: %s: %s", channel, type(exc).__name__, exc
                    )
                if channel not in self._again or self._closed:
                    return
        finally:
            self._running.pop(channel, None)


def schedule_channels(scheduler: AsyncIOScheduler, rt: Runtime, gate: Gate | None = None) -> None:
    """Add each channel's digest job (``every:``/``cron:``) and its retry sweep; with a
    ``gate`` (several instances) each round first asks it and carries the channel's
    stored tick (:func:`gated_delivery`), and an ``every:`` job runs on the ticks' grid
    (:data:`GRID` + k × every, the same on every instance) rather than from its start."""
    grid = {} if gate is None else {"start_date": GRID}
    for name, channel in rt.config.channels.items():
        schedule = channel.schedule
        if schedule.kind == "every" and schedule.every:
            trigger = IntervalTrigger(seconds=schedule.every.total_seconds(), **grid)
        elif schedule.kind == "cron" and schedule.cron:
            trigger = cron_trigger(schedule.cron, channel.timezone)
        else:
            trigger = None
        if trigger is not None:
            scheduler.add_job(
                gated_delivery,
                trigger,
                args=(rt, name),
                kwargs={"gate": gate},
                id=f"digest:{name}",
                name=f"digest {name}",
            )
        # Retries of messages already formed (and, for immediate channels, anything
        # pending past group_wait) go out between ticks, at their backoff.
        scheduler.add_job(
            gated_delivery,
            IntervalTrigger(seconds=sweep_seconds(rt.config, name, RETRY_SWEEP_SECONDS)),
            args=(rt, name),
            kwargs={"form_new": schedule.kind == "immediate", "gate": gate},
            id=f"retry:{name}",
            name=f"retry {name}",
        )
