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

from monitor import metrics
from monitor.config import FeedConfig
from monitor.dedup import canonical_url, content_hash, fingerprint, item_key
from monitor.errors import DeliveryError, FetchError, ParseError
from monitor.ingest.fetch import fetch
from monitor.ingest.normalize import normalize_feed
from monitor.ingest.parse import parse_feed
from monitor.models import Digest, FeedRef, Item, Match
from monitor.notify import Notifier
from monitor.notify.retry import ChannelGone, backoff_seconds
from monitor.notify.timing import forming
from monitor.redact import redact_url
from monitor.runtime import Runtime
from monitor.store.items import Items, KnownItem
from monitor.store.outbox import MessageState
from monitor.store.retention import prune

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
        metrics.poll_failed(exc)
        error = str(exc)
    except Exception as exc:
        log.exception("feed=%r poll failed unexpectedly", name)
        metrics.poll_failed(exc)
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
        metrics.poll_ok(name, None)
        rt.store.record_poll_success(
            feed.url, name, now, next_poll, state and state.etag, state and state.last_modified
        )
        return PollReport(name, ok=True)
    parse_started = metrics.now()
    parsed = parse_feed(result.body, result.url, result.content_type)
    if parsed.warning:
        log.info("feed=%r parsed with a warning: %s", name, parsed.warning)
    items = normalize_feed(parsed, FeedRef(name, redact_url(feed.url)), now)
    metrics.parsed(parse_started)
    first_poll = state is None or state.first_polled is None
    new, queued = _record(rt, feed, items, first_poll, now)
    rt.store.record_poll_success(feed.url, name, now, next_poll, result.etag, result.last_modified)
    log.info("feed=%r items=%d new=%d alerts=%d", name, len(items), new, queued)
    metrics.poll_ok(name, result.body, len(items), new)
    return PollReport(name, ok=True, new_items=new, alerts=queued)


def _record(
    rt: Runtime, feed: FeedConfig, items: list[Item], first_poll: bool, now: datetime
) -> tuple[int, int]:
    """Dedup and store a poll's items with their alerts, in one transaction.

    New items are matched and join or start a story; known items whose text changed
    are matched again and alert only on rules they did not match before; unchanged
    and pruned items are skipped. Returns (new items, alerts queued).
    """
    keyed: dict[str, Item] = {}
    for item in items:
        keyed.setdefault(item_key(item), item)
    store = Items(rt.store)
    known = store.known(feed.url, keyed)
    pruned = store.pruned(feed.url, keyed.keys() - known.keys())
    new = queued = 0
    try:
        with rt.store.transaction():
            for key, item in keyed.items():
                if key in known:
                    queued += _record_update(rt, store, feed, known[key], item, now)
                elif key not in pruned:
                    alertable = _alertable(rt, feed, item, first_poll, now)
                    queued += _record_new(rt, store, feed, key, item, alertable, now)
                    new += 1
    except BaseException:
        rt.stories.rollback()
        raise
    rt.stories.commit()
    return new, queued


def _record_new(
    rt: Runtime,
    store: Items,
    feed: FeedConfig,
    key: str,
    item: Item,
    alertable: bool,
    now: datetime,
) -> int:
    matches = _match(rt, feed, item)
    metrics.matched(matches)
    canonical = canonical_url(item.link)
    fp = fingerprint(item)
    story = store.story_by_url(canonical) if canonical else None
    story_id, story_feed = (story.id, story.feed_url) if story else (None, None)
    near = None if story else rt.stories.nearest(fp, now)
    if near:
        story_id, story_feed = near.story_id, store.story_feed(near.story_id)
    item_id, story_id = store.insert(
        feed.url,
        key,
        item,
        canonical_url=canonical,
        content_hash=content_hash(item),
        fingerprint=fp,
        story_id=story_id,
        same_feed=story_feed == feed.url,
        now=now,
    )
    rt.stories.remember(fp, story_id, now)
    store.add_matches(item_id, matches, now)
    return store.queue_alerts(story_id, _alerts(rt, matches), now) if alertable else 0


def _record_update(
    rt: Runtime, store: Items, feed: FeedConfig, known: KnownItem, item: Item, now: datetime
) -> int:
    digest = content_hash(item)
    if digest == known.content_hash:
        return 0
    before = store.rules_matched(known.id)
    fresh = [m for m in _match(rt, feed, item) if m.rule not in before]
    metrics.matched(fresh)
    store.update(known.id, item, digest)
    store.add_matches(known.id, fresh, now)
    if fresh:
        log.info(
            "feed=%r item=%r updated, now matches %s",
            feed.display_name,
            item.id,
            ", ".join(m.rule for m in fresh),
        )
    return store.queue_alerts(known.story_id, _alerts(rt, fresh), now)


def _match(rt: Runtime, feed: FeedConfig, item: Item) -> list[Match]:
    watching = rt.rules_for_feed(feed)
    return rt.rules.match(item.fields(), only=watching) if watching else []


def _alerts(rt: Runtime, matches: list[Match]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((m.rule, rt.rule_channels[m.rule]) for m in matches)


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
    disabled: bool = False


async def deliver_channel(
    rt: Runtime,
    channel: str,
    *,
    ignore_backoff: bool = False,
    form_new: bool = True,
    drain: bool = False,
) -> DeliveryReport:
    """Send the channel's due messages until none is left or one must wait.

    ``form_new`` False forms no message from non-urgent alerts (scheduled channels
    between their ticks): only retries and urgent alerts go. One new message is
    formed per round (``max_items`` leaves the rest for the next one) unless
    ``drain``; ``drain`` also skips ``group_wait``. ``ignore_backoff`` and ``drain``
    are for ``run --once``. A channel disabled by its destination sends nothing.
    """
    async with rt.channel_lock(channel):
        if rt.outbox.disabled(channel):
            return DeliveryReport(channel, disabled=True)
        return await _deliver_locked(rt, channel, ignore_backoff, form_new, drain)


async def _deliver_locked(
    rt: Runtime, channel: str, ignore_backoff: bool, form_new: bool, drain: bool
) -> DeliveryReport:
    notifier = rt.notifiers[channel]
    settings = rt.config.channels[channel]
    sent = failed = 0
    formed = False
    while True:
        now = rt.clock()
        message = rt.outbox.next_message(
            channel,
            now,
            ignore_backoff=ignore_backoff,
            form_new=drain or not formed,
            forming=forming(rt.config, channel, now, regular=form_new, drain=drain),
        )
        if message is None:
            return DeliveryReport(channel, sent=sent, failed=failed)
        formed = formed or message.attempts == 0
        deadline = (message.due_since or now) + settings.max_age
        if now >= deadline:
            error = f"not delivered within max_age ({_duration(settings.max_age)})"
            rt.outbox.mark_failed(message.id, error, now)
            log.error("channel=%s message=%s dead letter: %s", channel, message.id, error)
            metrics.delivery_failed(channel, retrying=False)
            failed += 1
            continue
        digest = rt.outbox.digest(message.id)
        send_started = metrics.now()
        try:
            answer = await _send(notifier, digest)
        except DeliveryError as exc:
            outcome = _failed_attempt(rt, channel, message, exc, now, deadline)
            if outcome != "failed":
                retrying = int(outcome == "retry")
                return DeliveryReport(
                    channel, sent, retrying, failed, disabled=outcome == "disabled"
                )
            failed += 1
            continue
        rt.outbox.mark_sent(message.id, answer, rt.clock())
        metrics.sent(channel, len(digest.stories), send_started)
        log.info(
            "channel=%s message=%s stories=%d sent: %s",
            channel,
            message.id,
            len(digest.stories),
            answer,
        )
        sent += 1


def _failed_attempt(
    rt: Runtime,
    channel: str,
    message: MessageState,
    exc: DeliveryError,
    now: datetime,
    deadline: datetime,
) -> str:
    """Record a failed attempt: ``"disabled"``, ``"retry"`` (with backoff) or ``"failed"``."""
    attempt = message.attempts + 1
    if isinstance(exc, ChannelGone):
        rt.outbox.disable(channel, str(exc), now)
        rt.outbox.mark_retry(message.id, str(exc), now)
        log.error("channel=%s disabled by its destination: %s", channel, exc)
        return "disabled"
    if exc.retryable and attempt < rt.config.channels[channel].max_attempts:
        delay = backoff_seconds(attempt, exc.retry_after)
        rt.outbox.mark_retry(message.id, str(exc), min(now + timedelta(seconds=delay), deadline))
        log.warning(
            "channel=%s message=%s attempt=%d failed, retry in %.0fs: %s",
            channel,
            message.id,
            attempt,
            delay,
            exc,
        )
        metrics.delivery_failed(channel, retrying=True)
        return "retry"
    rt.outbox.mark_failed(message.id, str(exc), now)
    log.error("channel=%s message=%s failed for good: %s", channel, message.id, exc)
    metrics.delivery_failed(channel, retrying=False)
    return "failed"


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


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
    """Deliver every channel's pending alerts (``run --once``: everything, now).

    With ``ignore_backoff`` (``run --once``) each channel is drained: ``group_wait``
    is skipped and as many messages as ``max_items`` needs are sent. Quiet hours
    still hold non-urgent alerts.
    """
    return [
        await deliver_channel(rt, name, ignore_backoff=ignore_backoff, drain=ignore_backoff)
        for name in rt.config.channels
    ]


def prune_state(rt: Runtime) -> dict[str, int]:
    """Forget what is past retention (store) and past the dedup window (index)."""
    now = rt.clock()
    counts = prune(rt.store, now - rt.config.dedup.retention, now)
    counts["fingerprints"] = rt.stories.index.prune((now - rt.config.dedup.window).timestamp())
    if any(counts.values()):
        log.info("pruned %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


async def run_once(rt: Runtime) -> tuple[list[PollReport], list[DeliveryReport]]:
    """One full pass: poll every feed, deliver everything pending, prune old state."""
    polls = await poll_all(rt)
    deliveries = await deliver_all(rt, ignore_backoff=True)
    prune_state(rt)
    return polls, deliveries
