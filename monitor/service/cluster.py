"""One instance of several on one PostgreSQL database: what it runs beside the scheduler.

:class:`Cluster` holds this instance's part (docs/operations.md, *Several instances*):
the claim loop that replaces the per-feed jobs (:mod:`monitor.service.claims`), the
channel keeper that takes and renews the lease of each configured channel it can
(every lease/3, at most :data:`KEEPER_SECONDS`, so a channel another instance released
is taken within seconds; delivery of a channel runs only while :meth:`Cluster.may_deliver`),
and the heartbeat (every :data:`HEARTBEAT_SECONDS`, for ``status`` and health, never
for correctness). At shutdown, after the drain, :meth:`Cluster.leave` releases every
lease at once so the other instances take the work without waiting for it to expire.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from monitor import __version__, metrics
from monitor.runtime import Runtime
from monitor.service.claims import ClaimLoop
from monitor.service.streaks import FailureStreak
from monitor.store.cluster import (
    GONE_AFTER,
    heartbeat,
    holds_channel,
    release_all,
    release_channel,
    take_channel,
)
from monitor.store.fencing import fenced_commits

log = logging.getLogger("monitor.cluster")
HEARTBEAT_SECONDS = 10.0
KEEPER_SECONDS = 5.0  # channel leases looked at at least this often (a released one taken)
STALLED_SECONDS = 30.0  # a claim loop without a round this long is stalled (health)


class Cluster:
    """This instance's claim loop, channel leases and heartbeat.

    ``wake(channel)`` starts a delivery round of a channel (the couriers): called when
    this instance takes a channel's lease, so what another instance left pending goes
    out, and after a poll that queued alerts (every channel).
    """

    def __init__(self, rt: Runtime, wake: Callable[[str], None]) -> None:
        if rt.config.store is None or rt.store.owner is None:
            raise ValueError("cluster mode needs store: and an owner id")
        self.rt = rt
        self.owner: str = rt.store.owner
        self.lease = rt.config.store.lease.total_seconds()
        self.wake = wake
        self.claims = ClaimLoop(
            rt, self.lease, rt.config.ingest.max_parallel_fetches, self._wake_all
        )
        self.channels: dict[str, int] = {}  # channel held -> its lease epoch
        self.last_beat: float | None = None  # time.monotonic() of the last heartbeat
        self.claim_task: asyncio.Task[None] | None = None
        self.background: set[asyncio.Task[None]] = set()  # keeper, heartbeat
        self._streaks: dict[str, FailureStreak] = {}  # per recurring step (see _streak)

    async def start(self) -> None:
        """Take the channels it can and register, then start the claim loop, the keeper
        and the heartbeat tasks (on the running event loop)."""
        await self.keep_channels()
        await self.beat()
        self.claim_task = asyncio.create_task(self.claims.run(), name="claim loop")
        for every, step, name in (
            (min(self.lease / 3, KEEPER_SECONDS), self.keep_channels, "channel keeper"),
            (HEARTBEAT_SECONDS, self.beat, "heartbeat"),
        ):
            self.background.add(asyncio.create_task(_every(every, step), name=name))
        log.info(
            "cluster: owner=%s lease=%gs slots=%d channels held=%s",
            self.owner,
            self.lease,
            self.claims.slots,
            ",".join(sorted(self.channels)) or "-",
        )

    async def after_reload(self) -> None:
        """A reload swapped the config: rows for added feeds, leases for added channels
        (removed ones are released); the claim loop reads the new feed list itself."""
        await self.claims.ensure()
        await self.keep_channels()

    async def may_deliver(self, channel: str) -> bool:
        """Whether this instance holds ``channel``'s lease now (asked when a delivery
        round starts: the couriers, the retry sweep, a digest tick). A store error: no.
        Asked on the store's thread, so a slow database never blocks the event loop."""
        epoch = self.channels.get(channel)
        if epoch is None:
            return False
        held = False
        with self._streak(f"channel={channel} lease check").watch():
            held = await self.rt.db.run(holds_channel, self.owner, channel, epoch)
        return held

    async def keep_channels(self) -> None:
        """Take or renew the lease of each configured channel (one another instance holds
        is skipped), release those no longer configured; wake a channel just taken."""
        db, configured = self.rt.db, self.rt.config.channels
        for name in [c for c in self.channels if c not in configured]:
            await db.run(release_channel, self.owner, name)
            del self.channels[name]
        for name in configured:
            streak = self._streak(f"channel={name} lease renewal")
            try:
                epoch = await db.run(take_channel, self.owner, name, self.lease)
            except Exception as exc:  # renewed next round, if the lease still runs
                streak.failed(exc)
                continue
            streak.succeeded()
            held = self.channels.get(name)
            if epoch is None:
                if self.channels.pop(name, None) is not None:
                    log.warning("channel=%s lease lost to another instance", name)
                continue
            self.channels[name] = epoch
            if held != epoch:
                log.info(
                    "channel=%s lease taken (epoch %d): this instance delivers it", name, epoch
                )
                self.wake(name)
        metrics.leases_held("channel", len(self.channels))

    async def beat(self) -> None:
        """Heartbeat: who this instance is and what it does (``status`` shows it), with
        the commits refused in this process (``fenced commits``, should stay 0)."""
        info: dict[str, Any] = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "version": __version__,
            "polling": len(self.claims.polls),
            "channels": sorted(self.channels),
            "fenced_commits": fenced_commits(),
        }
        await self.rt.db.run(heartbeat, self.owner, info)
        self.last_beat = time.monotonic()

    def problem(self, monotonic: Callable[[], float] = time.monotonic) -> str | None:
        """What is wrong with this instance's part, for the health check: no heartbeat
        recorded for :data:`~monitor.store.cluster.GONE_AFTER` seconds (the others list
        it as gone), or a claim loop that has not run a round for
        :data:`STALLED_SECONDS`."""
        now = monotonic()
        if self.last_beat is None or now - self.last_beat > GONE_AFTER:
            return f"cluster: heartbeat not recorded for over {GONE_AFTER:g}s"
        if now - self.claims.last_round > STALLED_SECONDS:
            return f"cluster: claim loop stalled for {int(now - self.claims.last_round)}s"
        return None

    async def stop_claiming(self) -> None:
        """Claim nothing more (shutdown, before the drain); running polls go on."""
        self.claims.halt()
        if self.claim_task is not None:
            await asyncio.wait({self.claim_task}, timeout=5)

    async def leave(self) -> int:
        """After the drain: stop the keeper and the heartbeat, release every lease of this
        instance and unregister it; how many leases were released (0 on a store error:
        they then expire by themselves)."""
        for task in self.background:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        try:
            released = await self.rt.db.run(release_all, self.owner)
        except Exception as exc:
            log.error("leases not released (they expire): %s: %s", type(exc).__name__, exc)
            return 0
        log.info("left the cluster: %d leases released", released)
        return released

    def _streak(self, what: str) -> FailureStreak:
        """The failure streak of one recurring step (logged once per outage)."""
        streak = self._streaks.get(what)
        if streak is None:
            streak = self._streaks[what] = FailureStreak(log, what)
        return streak

    def _wake_all(self) -> None:
        for name in self.rt.config.channels:
            self.wake(name)


async def _every(seconds: float, step: Callable[[], Awaitable[None]]) -> None:
    """Run ``step`` every ``seconds`` until cancelled; a failing step is logged once
    per streak of failures (:class:`~monitor.service.streaks.FailureStreak`)."""
    streak = FailureStreak(log, str(getattr(step, "__name__", step)))
    while True:
        await asyncio.sleep(seconds)
        with streak.watch():
            await step()
