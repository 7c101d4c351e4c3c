"""The long-running daemon: APScheduler wiring, the state lock, signals, sd_notify.

Each feed is a job at its interval (with jitter, first poll spread over a few
seconds, at most ``ingest.max_parallel_fetches`` at once); each channel is a job at its
schedule, and a poll that queued alerts wakes each channel's courier task rather than
waiting for delivery (:class:`monitor.service.jobs.Couriers`), so a hung destination holds
only its own channel. Late runs coalesce into one and are never dropped; clock jumps are
absorbed (:mod:`monitor.service.scheduling`). Signals: SIGTERM/SIGINT stop new work, let
in-flight polls and sends finish within :data:`DRAIN_SECONDS`
(:mod:`monitor.service.drain`), then close the store; SIGHUP (or a config file change
with ``watch_config: true``) reloads the config, rules and templates, keeping the old
ones if anything is invalid (:mod:`monitor.service.reload`). systemd hears ``READY=1``,
``STATUS=``, ``RELOADING=1``, ``STOPPING=1`` and, while the health check passes,
``WATCHDOG=1`` (:mod:`monitor.service.sdnotify`, :mod:`monitor.service.health`).

With ``store:`` (several instances on one PostgreSQL) there are no feed jobs: a claim
loop takes due feeds, channels are delivered by the holder of their lease, old state is
pruned once in the cluster (:mod:`monitor.service.cluster`); the wall-clock-jump shift
of stored next polls is SQLite-only (the database's clock rules a cluster). ``run
--once`` is refused there: polling every feed at once would fetch the feeds other
instances are polling.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor import metrics
from monitor.config import MonitorConfig, find_config_path
from monitor.errors import ConfigError, MonitorError
from monitor.pipeline import run_once
from monitor.runtime import Runtime, build_runtime, new_owner_id
from monitor.service.once import once_exit_code
from monitor.store.lock import StateLock

# The scheduler (APScheduler), jobs, reload and systemd parts are imported where the
# Daemon uses them: ``run --once`` loads none of them (docs/architecture.md, start-up).
if TYPE_CHECKING:
    from monitor.service import health
    from monitor.service.cluster import Cluster
    from monitor.service.reload import ConfigWatcher

log = logging.getLogger("monitor.daemon")
DRAIN_SECONDS = 20
HEALTH_SECONDS = 10.0  # STATUS refresh; faster when the watchdog asks for it
__all__ = ["Daemon", "run_daemon"]  # and JOB_DEFAULTS (__getattr__)


def __getattr__(name: str) -> Any:
    """``JOB_DEFAULTS``, re-exported from :mod:`monitor.service.scheduling` when asked."""
    if name == "JOB_DEFAULTS":
        from monitor.service.scheduling import JOB_DEFAULTS

        return JOB_DEFAULTS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


async def run_daemon(
    config: MonitorConfig,
    *,
    once: bool = False,
    config_path: str | Path | None = None,
    retry_now: bool = False,
) -> int:
    """Run until SIGTERM/SIGINT (or one pass with ``once``), holding the state lock.

    ``config_path`` is the ``--config`` argument, so SIGHUP re-reads the same file.
    ``retry_now`` (``run --once --retry-now``): messages waiting for a retry are tried
    in the pass, before their backoff.
    Returns the exit code: 0, or for ``once`` the pass's
    (:func:`monitor.service.once.once_exit_code`). Raises MonitorError for ``once`` with
    ``store:`` (several instances share the feeds by claims: run the daemon).
    """
    if once and config.store is not None:
        raise MonitorError(
            "run --once is not available with store: (several instances share the feeds"
            " by claims, and a pass over every feed would fetch feeds other instances are"
            " polling): run the daemon, news-monitor run"
        )
    lock = StateLock(config.state_dir)
    lock.acquire()
    try:
        rt = build_runtime(config, owner=new_owner_id() if config.store is not None else None)
    except BaseException:
        lock.release()
        raise
    try:
        if once:
            polls, deliveries = await run_once(rt, retry_now=retry_now)
            await warn_stranded(rt)
            return once_exit_code(polls, deliveries)
        await Daemon(rt, find_config_path(str(config_path) if config_path else None)).serve()
        return 0
    finally:
        await rt.aclose()
        lock.release()


class Daemon:
    """The scheduler, signal handlers, reloads and health reports around one Runtime."""

    def __init__(self, rt: Runtime, config_path: Path) -> None:
        from monitor.service.jobs import Couriers
        from monitor.service.scheduling import SteadyScheduler
        from monitor.service.sdnotify import SystemdNotifier

        self.rt = rt
        self.path = config_path
        self.notify = SystemdNotifier.from_env()
        self.scheduler = SteadyScheduler()
        self.cluster: Cluster | None = None
        if rt.store.owner is None:  # one machine: stored next polls follow a clock jump
            shift = type(rt.store).shift_next_polls  # a unit: (store, seconds)
            self.scheduler.jump_listeners.append(lambda jumped: self.rt.db.call(shift, jumped))
        else:  # several instances: the database's clock rules
            from monitor.service.cluster import Cluster

            self.cluster = Cluster(rt, lambda channel: self.couriers.wake(channel))
        self.polls = asyncio.Semaphore(rt.config.ingest.max_parallel_fetches)  # read at start
        self.stop = asyncio.Event()
        self.couriers = Couriers(rt, self.cluster.may_deliver if self.cluster else None)
        self.started = rt.clock()  # the health check counts overdue work from here
        self.channel_jobs: dict[str, str] = {}  # job id -> channel name
        self.watcher: ConfigWatcher | None = None
        self._reload_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def serve(self) -> None:
        """Schedule everything, report READY, run until stopped, drain."""
        from apscheduler.triggers.interval import IntervalTrigger

        from monitor.service import memory
        from monitor.service.drain import drain
        from monitor.service.jobs import (
            cluster_prune_job,
            prune_job,
            prune_seconds,
            schedule_feeds,
        )

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload, "SIGHUP")
        server = metrics.serve(self.rt.config.metrics) if self.rt.config.metrics else None
        if self.cluster is None:
            schedule_feeds(self.scheduler, self.rt, self.polls, couriers=self.couriers)
        self._apply_channel_jobs(set(self.rt.config.channels))
        self.scheduler.add_job(
            prune_job if self.cluster is None else cluster_prune_job,
            IntervalTrigger(seconds=prune_seconds(self.rt.config)),
            args=(self.rt,),
            id="prune",
        )
        self.scheduler.add_job(
            self._health,
            IntervalTrigger(seconds=self._health_seconds()),
            id="health",
            name="health",
        )
        self.scheduler.add_job(
            asyncio.to_thread,
            IntervalTrigger(seconds=memory.TRIM_SECONDS),
            args=(memory.trim_heap,),
            id="trim",
            name="give free memory back",
        )
        if self.rt.config.watch_config:
            self._start_watching()
        self.scheduler.start()
        if self.cluster is not None:
            await self.cluster.start()
        config = self.rt.config
        log.info(
            "started: feeds=%d rules=%d channels=%d state_dir=%s config=%s",
            len(config.feeds),
            len(config.rules),
            len(config.channels),
            config.state_dir,
            self.path,
        )
        await self._record(None)
        await warn_stranded(self.rt)
        self.notify.ready((await self._status()).status_line(datetime.now(UTC)))
        try:
            await self.stop.wait()
        finally:
            if self.cluster is not None:
                await self.cluster.stop_claiming()
            keep = self.cluster.background if self.cluster else set()  # leases hold on
            await drain(self.scheduler, self.couriers, self.notify, keep, DRAIN_SECONDS)
            if self.cluster is not None:
                await self.cluster.leave()
            if server is not None:
                server.shutdown()
            self.notify.close()

    # --- health ------------------------------------------------------------------

    def _health_seconds(self) -> float:
        watchdog = self.notify.watchdog_seconds
        return min(HEALTH_SECONDS, watchdog / 3) if watchdog else HEALTH_SECONDS

    async def _status(self) -> health.Health:
        """The health check, its store reads off the event loop."""
        from monitor.service import health

        return await health.check_async(
            self.rt,
            self.scheduler,
            exclude_job="health",
            started=self.started,
            cluster=self.cluster,
        )

    async def _health(self) -> None:
        """Scheduler job: STATUS line, outbox gauges, and WATCHDOG=1 only when healthy."""
        report = await self._status()
        metrics.HEALTHY.set(1 if report.ok else 0)
        self.notify.status(report.status_line(datetime.now(UTC)))
        if report.ok:
            self.notify.watchdog()
        else:
            log.error("unhealthy, no watchdog ping: %s", report.problem)

    # --- reload ------------------------------------------------------------------

    def request_reload(self, reason: str) -> None:
        """Reload soon (signal handlers and the file watcher call this)."""
        task = asyncio.ensure_future(self.reload(reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def reload(self, reason: str) -> bool:
        """Re-read the config; swap it in if valid, else keep the old one. True if swapped."""
        async with self._reload_lock:
            self.notify.reloading()
            try:
                return await self._reload(reason)
            finally:
                self.notify.ready((await self._status()).status_line(datetime.now(UTC)))

    async def _reload(self, reason: str) -> bool:
        from monitor.logs import set_level
        from monitor.service.reload import diff_feeds, prepare_async
        from monitor.service.rescheduling import reschedule_feeds

        log.info("reload (%s): reading %s", reason, self.path)
        try:
            new = await prepare_async(self.path, self.rt)  # off the event loop
        except ConfigError as exc:
            log.error("reload failed, the running config stays:\n%s", exc)
            await self._record(str(exc))
            return False
        except Exception as exc:
            log.exception("reload failed, the running config stays: %s", exc)
            await self._record(f"{type(exc).__name__}: {exc}")
            return False
        old = self.rt.config
        changes = diff_feeds(old, new.config)
        self.rt.swap(new.config, new.rules, new.renderer, new.notifiers)
        await self._record(None)
        set_level(new.config.log_level)
        if self.cluster is None:
            reschedule_feeds(self.scheduler, self.rt, self.polls, self.couriers, changes)
        else:
            await self.cluster.after_reload()
        changed_channels = {
            name for name, ch in new.config.channels.items() if old.channels.get(name) != ch
        }
        self._apply_channel_jobs(changed_channels)
        if self.watcher is not None:
            self.watcher.watch(new.files)
        elif new.config.watch_config:
            self._start_watching()
        log.info(
            "reloaded: feeds added=%d removed=%d changed=%d unchanged=%d; rules=%d; "
            "channels=%d (changed %d)",
            len(changes.added),
            len(changes.removed),
            len(changes.changed),
            changes.unchanged,
            len(new.config.rules),
            len(new.config.channels),
            len(changed_channels),
        )
        await warn_stranded(self.rt)
        return True

    async def _record(self, errors: str | None) -> None:
        from monitor.service.reload import record_config

        await record_config(self.rt, errors)

    def _apply_channel_jobs(self, channels: set[str]) -> None:
        from monitor.service.rescheduling import apply_channel_jobs

        gate = self.cluster.may_deliver if self.cluster else None
        apply_channel_jobs(self.scheduler, self.rt, gate, self.channel_jobs, channels)

    def _start_watching(self) -> None:
        from monitor.service.reload import start_watching

        self.watcher = start_watching(
            self.scheduler, self.path, self.reload, lambda: self.rt.config.watch_config
        )


async def warn_stranded(rt: Runtime) -> None:
    """Warn of each channel the config no longer has whose alerts still wait: a removed
    or renamed channel strands them until one of that name is back (at start, after a
    reload, and in each ``run --once``)."""
    from monitor.store.status import stranded

    known = list(rt.config.channels)
    for name, (pending, failed) in (await rt.db.run(stranded, known)).items():
        log.warning(
            "channel=%s is not in the config, and %d alerts wait for it (%d pending, %d dead"
            " letters): nothing sends them until a channel of that name is back",
            name,
            pending + failed,
            pending,
            failed,
        )
