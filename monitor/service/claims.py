"""The claim loop: how an instance of several on one database picks the feeds it polls.

In cluster mode (``store:`` set, docs/operations.md, *Several instances*) there is no
APScheduler job per feed: the store is the schedule. About every second, and whenever a
poll finishes, :class:`ClaimLoop` claims up to its free poll slots
(``ingest.max_parallel_fetches``) of the due feeds
(:func:`~monitor.store.leases.claim_feeds`: ``FOR UPDATE SKIP LOCKED``, so two instances
never get the same feed), skipping hosts that already have ``ingest.max_per_host`` live
leases in the whole cluster. The claim carries no list of the configured keys (at 50,000
feeds that list made a claim 200-300 times slower): a claimed feed this instance does
not know (removed from the config, or not yet in its copy of it) is parked for
:data:`PARK_SECONDS` (:func:`~monitor.store.leases.park_feeds`) and made due again by
the start or reload of an instance that knows it. The claim moves the feed's next poll
to the lease's end; each claimed feed is polled in its own task with
:data:`~monitor.store.fencing.current_claim` set, so every transaction of the poll is
fenced by the claim's epoch, and the poll's own record sets the real next poll. The
lease is renewed every lease/3 while the poll runs, then released. A poll that lost its
lease (the instance stalled past it, another one took the feed) writes nothing: one
warning line and ``news_monitor_fenced_commits_total``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from monitor import metrics
from monitor.config import FeedConfig, MonitorConfig
from monitor.pipeline import poll_feed
from monitor.redact import redact_url
from monitor.runtime import Runtime
from monitor.service.streaks import FailureStreak
from monitor.store.fencing import Claim, LeaseLost, current_claim
from monitor.store.leases import (
    claim_feeds,
    ensure_feeds,
    park_feeds,
    release_feed,
    renew_feed,
)

log = logging.getLogger("monitor.claims")
CLAIM_SECONDS = 1.0  # how often due feeds are looked for when no poll finishes (on average)
PARK_SECONDS = 3600.0  # a claimed feed not in this instance's config waits this long


class ClaimLoop:
    """Claims due feeds for this instance and polls each in its own task.

    ``lease`` is the lease in seconds (``store.lease``); ``slots`` how many polls may run
    at once; ``on_alerts`` is called (no arguments) after a poll that queued alerts,
    outside the claim's context (the couriers' tasks must not be fenced by it).
    """

    def __init__(
        self, rt: Runtime, lease: float, slots: int, on_alerts: Callable[[], None]
    ) -> None:
        if rt.store.owner is None:
            raise ValueError("a claim loop needs a store with an owner (several instances)")
        self.rt = rt
        self.owner: str = rt.store.owner
        self.lease = lease
        self.slots = slots
        self.on_alerts = on_alerts
        self.polls: dict[str, asyncio.Task[None]] = {}  # feed key -> its poll
        self.last_round = time.monotonic()  # the health check's "claim loop alive"
        self._wake = asyncio.Event()
        self._halted = False
        self._feeds: tuple[MonitorConfig | None, dict[str, FeedConfig]] = (None, {})
        self._streak = FailureStreak(log, "claiming feeds")

    async def ensure(self) -> None:
        """Make a row for each configured feed that has none (after a reload added
        feeds; at start :func:`~monitor.runtime.startup_fixes` did), on the store's
        thread: the event loop goes on meanwhile."""
        rows = [(f.key, f.display_name) for f in self.rt.config.feeds]
        await self.rt.db.run(ensure_feeds, rows, self.rt.clock())

    def configured(self) -> dict[str, FeedConfig]:
        """The configured feeds by key (recomputed only when a reload swapped the config)."""
        config = self.rt.config
        if self._feeds[0] is not config:
            self._feeds = (config, {f.key: f for f in config.feeds})
        return self._feeds[1]

    async def run(self) -> None:
        """Claim and start polls until :meth:`halt`; polls already running are left to
        the daemon's drain. A store error costs one round, never the loop; it is
        logged once per outage (:class:`~monitor.service.streaks.FailureStreak`)."""
        while not self._halted:
            self.last_round = time.monotonic()
            with self._streak.watch():  # the database is away: try again next round
                await self.claim_round()
            self._wake.clear()
            # a random pause (0.5-1.5 s): instances whose rounds fell in step would
            # otherwise leave every feed due at a given second to the same one
            pause = CLAIM_SECONDS * self.rt.rng.uniform(0.5, 1.5)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)

    def halt(self) -> None:
        """Claim nothing more (shutdown): :meth:`run` returns at once."""
        self._halted = True
        self._wake.set()

    async def claim_round(self) -> list[Claim]:
        """Claim due feeds for the free slots and start their polls; the claims (parked
        ones included: feeds this instance does not know, see :data:`PARK_SECONDS`)."""
        free = self.slots - len(self.polls)
        if free <= 0 or self._halted:
            return []
        feeds = self.configured()
        per_host = self.rt.config.ingest.max_per_host  # across the cluster, not per instance
        claims = await self.rt.db.run(claim_feeds, self.owner, None, free, self.lease, per_host)
        metrics.claimed(len(claims))
        unknown = [c for c in claims if c.url not in feeds]
        if unknown:
            await self.rt.db.run(park_feeds, self.owner, unknown, PARK_SECONDS)
            for claim in unknown:
                log.info(
                    "feed %r is not in this instance's config: parked for %gs",
                    redact_url(claim.url),
                    PARK_SECONDS,
                )
        for claim in claims:
            feed = feeds.get(claim.url)
            if feed is None:
                continue
            if claim.url in self.polls:  # cannot happen: a polled feed's lease is held
                await self.rt.db.run(release_feed, self.owner, claim)
                continue
            task = asyncio.create_task(self._poll(feed, claim), name=f"poll {feed.display_name}")
            self.polls[claim.url] = task
        self._gauge()
        return claims

    async def _poll(self, feed: FeedConfig, claim: Claim) -> None:
        """Poll ``feed`` under ``claim``: renewed while it runs, released after.

        A poll cancelled (the drain ran out at shutdown) keeps its lease for
        :meth:`~monitor.service.cluster.Cluster.leave`, which makes the feed due at once.
        """
        log.debug("feed=%r claimed (epoch %d)", feed.display_name, claim.epoch)
        token = current_claim.set(claim)
        renewer = asyncio.create_task(self._renew(claim), name=f"renew {feed.display_name}")
        alerts, finished = 0, False
        try:
            report = await poll_feed(self.rt, feed, force=True)
            alerts, finished = report.alerts, True
        except LeaseLost as exc:
            finished = True
            metrics.fenced()
            log.warning("feed=%r poll dropped, nothing written: %s", feed.display_name, exc)
        except Exception as exc:  # poll_feed records its failures; this is the store
            finished = True
            log.error("feed=%r poll failed: %s: %s", feed.display_name, type(exc).__name__, exc)
        finally:
            renewer.cancel()
            current_claim.reset(token)
            self.polls.pop(claim.url, None)
            self._gauge()
            self._wake.set()
        if finished:
            await self._release(feed, claim)
        if alerts:
            self.on_alerts()

    async def _release(self, feed: FeedConfig, claim: Claim) -> None:
        try:
            await self.rt.db.run(release_feed, self.owner, claim)
        except Exception as exc:  # the lease then runs out by itself
            log.error("feed=%r lease not released: %s", feed.display_name, exc)

    async def _renew(self, claim: Claim) -> None:
        """Extend ``claim`` every lease/3 until cancelled or lost (the fence then refuses
        the poll's commit)."""
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                renewed = await self.rt.db.run(renew_feed, self.owner, claim, self.lease)
            except Exception as exc:  # the next renewal tries again
                log.error("feed=%r lease not renewed: %s", claim.url, exc)
                continue
            if renewed is None:
                return

    def _gauge(self) -> None:
        metrics.leases_held("feed", len(self.polls))
