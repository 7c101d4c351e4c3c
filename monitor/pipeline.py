"""The order of the stages, and the only module that knows it.

poll:    fetch → parse → normalize → (unseen only) → match → dedup key → store(outbox)
deliver: outbox → digest → render+send (channel) → mark sent / retry / failed

Each stage is a function of another module taking values; this module passes the
values along, records failures on the feed or the message, and logs one line each.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config import FeedConfig
from monitor.dedup import canonical_url
from monitor.errors import DeliveryError, FetchError, ParseError
from monitor.ingest.fetch import fetch
from monitor.ingest.normalize import normalize_feed
from monitor.ingest.parse import parse_feed
from monitor.models import Digest, FeedRef, Item
from monitor.notify import Notifier
from monitor.notify.retry import backoff_seconds
from monitor.redact import redact_url
from monitor.runtime import Runtime
from monitor.store.sqlite import NewItem

log = logging.getLogger("monitor.pipeline")
MAX_PARALLEL_FETCHES = 16


@dataclass(frozen=True)
class PollReport:
    """What one poll of one feed did."""

    feed: str
    ok: bool
    new_items: int = 0
    alerts: int = 0
    error: str | None = None


async def poll_feed(rt: Runtime, feed: FeedConfig) -> PollReport:
    """Poll one feed: fetch, parse, match new items and queue their alerts.

    Any failure is stored on the feed and logged as one line; it never escapes, so
    one broken feed (or a bug it triggers) costs one poll of that feed only.
    """
    now = rt.clock()
    name = feed.display_name
    next_poll = now + rt.config.feed_interval(feed)
    try:
        return await _poll(rt, feed, name, now, next_poll)
    except (FetchError, ParseError) as exc:
        log.warning("feed=%r poll failed: %s", name, exc)
        error = str(exc)
    except Exception as exc:
        log.exception("feed=%r poll failed unexpectedly", name)
        error = f"internal error: {type(exc).__name__}: {exc}"
    rt.store.record_poll_failure(feed.url, name, now, next_poll, error)
    return PollReport(name, ok=False, error=error)


async def _poll(
    rt: Runtime, feed: FeedConfig, name: str, now: datetime, next_poll: datetime
) -> PollReport:
    state = rt.store.feed(feed.url)
    result = await fetch(
        rt.http,
        feed.url,
        timeout=rt.config.feed_timeout(feed).total_seconds(),
        max_bytes=rt.config.defaults.max_bytes,
        etag=state.etag if state else None,
        last_modified=state.last_modified if state else None,
    )
    if result.not_modified or result.body is None:
        log.debug("feed=%r not modified", name)
        rt.store.record_poll_success(
            feed.url, name, now, next_poll, state and state.etag, state and state.last_modified
        )
        return PollReport(name, ok=True)
    parsed = parse_feed(result.body, result.url, result.content_type)
    if parsed.warning:
        log.info("feed=%r parsed with a warning: %s", name, parsed.warning)
    items = normalize_feed(parsed, FeedRef(name, redact_url(feed.url)), now)
    first_poll = state is None or state.first_polled is None
    entries = _new_entries(rt, feed, items, first_poll, now)
    queued = rt.store.record_items(feed.url, entries, now)
    rt.store.record_poll_success(feed.url, name, now, next_poll, result.etag, result.last_modified)
    log.info("feed=%r items=%d new=%d alerts=%d", name, len(items), len(entries), queued)
    return PollReport(name, ok=True, new_items=len(entries), alerts=queued)


def _new_entries(
    rt: Runtime, feed: FeedConfig, items: list[Item], first_poll: bool, now: datetime
) -> list[NewItem]:
    unseen = rt.store.unseen_keys(feed.url, (i.id for i in items))
    watching = rt.rules_for_feed(feed)
    routes = {r.name: tuple(rt.config.rule_channels(r)) for r in rt.config.rules}
    entries = []
    for item in items:
        if item.id not in unseen:
            continue
        matches = tuple(rt.rules.match(item.fields(), only=watching)) if watching else ()
        alerts: tuple[tuple[str, tuple[str, ...]], ...] = ()
        if _alertable(rt, feed, item, first_poll, now):
            alerts = tuple((m.rule, routes[m.rule]) for m in matches)
        entries.append(NewItem(item, canonical_url(item.link), matches, alerts))
    return entries


def _alertable(rt: Runtime, feed: FeedConfig, item: Item, first_poll: bool, now: datetime) -> bool:
    """Backfill: at a feed's first poll, only items within ``backfill`` are alerted."""
    if not first_poll:
        return True
    backfill = rt.config.feed_backfill(feed)
    if backfill == "all":
        return True
    assert isinstance(backfill, timedelta)
    return bool(backfill) and item.published is not None and item.published >= now - backfill


async def poll_all(rt: Runtime) -> list[PollReport]:
    """Poll every feed once, a bounded number at a time."""
    limit = asyncio.Semaphore(MAX_PARALLEL_FETCHES)

    async def one(feed: FeedConfig) -> PollReport:
        async with limit:
            return await poll_feed(rt, feed)

    return list(await asyncio.gather(*(one(f) for f in rt.config.feeds)))


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery round of one channel did."""

    channel: str
    sent: int = 0
    retrying: int = 0
    failed: int = 0


async def deliver_channel(
    rt: Runtime, channel: str, *, ignore_backoff: bool = False, form_new: bool = True
) -> DeliveryReport:
    """Send the channel's due messages until none is left or one must wait.

    ``form_new`` False only retries messages already formed (for scheduled channels
    between their ticks); ``ignore_backoff`` is for ``run --once``.
    """
    async with rt.channel_lock(channel):
        return await _deliver_locked(rt, channel, ignore_backoff, form_new)


async def _deliver_locked(
    rt: Runtime, channel: str, ignore_backoff: bool, form_new: bool
) -> DeliveryReport:
    notifier = rt.notifiers[channel]
    max_attempts = rt.config.channels[channel].max_attempts
    sent = failed = 0
    while True:
        now = rt.clock()
        message = rt.outbox.next_message(
            channel, now, ignore_backoff=ignore_backoff, form_new=form_new
        )
        if message is None:
            return DeliveryReport(channel, sent=sent, failed=failed)
        digest = rt.outbox.digest(message.id)
        try:
            answer = await _send(notifier, digest)
        except DeliveryError as exc:
            attempt = message.attempts + 1
            if exc.retryable and attempt < max_attempts:
                delay = backoff_seconds(attempt, exc.retry_after)
                rt.outbox.mark_retry(message.id, str(exc), now + timedelta(seconds=delay))
                log.warning(
                    "channel=%s message=%s attempt=%d failed, retry in %.0fs: %s",
                    channel,
                    message.id,
                    attempt,
                    delay,
                    exc,
                )
                return DeliveryReport(channel, sent=sent, retrying=1, failed=failed)
            rt.outbox.mark_failed(message.id, str(exc), now)
            log.error("channel=%s message=%s failed for good: %s", channel, message.id, exc)
            failed += 1
            continue
        rt.outbox.mark_sent(message.id, answer, rt.clock())
        log.info(
            "channel=%s message=%s stories=%d sent: %s",
            channel,
            message.id,
            len(digest.stories),
            answer,
        )
        sent += 1


async def _send(notifier: Notifier, digest: Digest) -> str:
    """Send, turning an unexpected exception (a bug) into a retryable failure."""
    try:
        return await notifier.send(digest)
    except DeliveryError:
        raise
    except Exception as exc:
        log.exception("channel=%s unexpected error while sending", notifier.name)
        raise DeliveryError(f"internal error: {type(exc).__name__}", retryable=True) from None


async def deliver_all(rt: Runtime, *, ignore_backoff: bool = False) -> list[DeliveryReport]:
    """Deliver every channel's pending alerts (used by ``run --once``)."""
    return [
        await deliver_channel(rt, name, ignore_backoff=ignore_backoff)
        for name in rt.config.channels
    ]


async def run_once(rt: Runtime) -> tuple[list[PollReport], list[DeliveryReport]]:
    """One full pass: poll every feed, then deliver everything pending."""
    polls = await poll_all(rt)
    deliveries = await deliver_all(rt, ignore_backoff=True)
    return polls, deliveries
