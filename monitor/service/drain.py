"""The daemon's drain at shutdown: start nothing new, let running work finish, then cancel.

After SIGTERM/SIGINT the scheduler is paused (not shut down: APScheduler's shutdown
cancels the jobs still running), and every task of the event loop but the ones asked to
run on (several instances: the channel keeper and the heartbeat, whose leases must
hold meanwhile) gets a bounded time to finish, including tasks started while waiting (a
poll that finishes wakes its channels' couriers). What still runs at the deadline is
cancelled: its transaction rolls back, and unsent messages are sent at the next start.
:mod:`monitor.service.daemon` decides when to drain and for how long.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from monitor.service.jobs import Couriers
    from monitor.service.sdnotify import SystemdNotifier

log = logging.getLogger("monitor.daemon")  # the daemon's stopping lines, as before the move
CANCELLED_WAIT_SECONDS = 5  # how long cancelled tasks get to unwind


async def drain(
    scheduler: AsyncIOScheduler,
    couriers: Couriers,
    notify: SystemdNotifier,
    keep: set[asyncio.Task[None]],
    seconds: float,
) -> None:
    """Stop ``scheduler`` starting jobs and give the running tasks ``seconds`` to finish.

    ``keep``: tasks that run on through the drain and are neither waited for nor
    cancelled. systemd hears ``STOPPING=1`` first; the couriers refuse new wakes once
    the wait is over; tasks still running then are cancelled (and given a few seconds to
    unwind); last, the scheduler is shut down. Never raises for a task's failure.
    """
    notify.stopping("stopping: finishing work in progress")
    log.info("stopping: finishing work in progress (at most %ds)", seconds)
    # pause, not shutdown: APScheduler's shutdown cancels the jobs still running
    scheduler.pause()
    late = await wait_for_work(keep, seconds)
    couriers.close()
    if late:
        log.warning(
            "stopping: %d tasks still running after %ds are cancelled "
            "(their transactions roll back; unsent messages are sent at the next start)",
            len(late),
            seconds,
        )
        for task in late:
            task.cancel()
        await asyncio.wait(late, timeout=CANCELLED_WAIT_SECONDS)
    scheduler.shutdown(wait=False)
    log.info("stopped")


async def wait_for_work(keep: set[asyncio.Task[None]], seconds: float) -> set[asyncio.Task[Any]]:
    """Wait up to ``seconds`` for every task of the running loop but ``keep`` and the
    caller's own, including tasks started while waiting (a poll that finishes wakes its
    channels' couriers); the tasks still running at the deadline (empty: all done)."""
    current = asyncio.current_task()
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        running = {t for t in asyncio.all_tasks() if t is not current and t not in keep}
        left = deadline - asyncio.get_running_loop().time()
        if not running or left <= 0:
            return running
        await asyncio.wait(running, timeout=left)
