"""A feed that fails: its failed polls stored and backed off, and the operator alert.

A failed poll (or one skipped because the last polls never finished, see
:mod:`monitor.store.pollguard`) is stored on the feed with its next poll backed off
from :func:`base_interval`, the interval every poll of the feed starts from (the
pipeline's success recorder schedules from it too). When a feed keeps failing past
``health.alert_after``, the operator alert is an ordinary item stored under a
pseudo-feed and the rule name ``feed-health`` and queued to the channel named in
``health.channel``, so it rides the same outbox, retries and templates as any alert,
once per failure streak. :mod:`monitor.pipeline` decides when these run.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor import metrics
from monitor.config.values import format_duration
from monitor.errors import FetchError
from monitor.ingest.schedule import adaptive_interval, next_poll_delay
from monitor.models import FeedRef, Item, Match
from monitor.store import pollguard
from monitor.store.codec import not_before, ts
from monitor.store.items import Items

if TYPE_CHECKING:
    from monitor.config import FeedConfig
    from monitor.runtime import Runtime
    from monitor.store.sqlite import FeedState, Store

log = logging.getLogger(__name__)
poll_log = logging.getLogger("monitor.pipeline")  # a poll's lines, wherever they are written

HEALTH_FEED = "news-monitor:feed-health"
HEALTH_RULE = "feed-health"


def base_interval(rt: Runtime, feed: FeedConfig, state: FeedState | None, now: datetime) -> float:
    """Seconds between polls of ``feed`` before jitter and server hints.

    The configured ``interval``, or, for an ``adaptive`` feed, the interval that fits
    how often its stored items appeared (:func:`~monitor.ingest.schedule.adaptive_interval`).
    Reads the store: call it on the store's thread (inside a unit).
    """
    configured = rt.config.feed_interval(feed).total_seconds()
    if not rt.config.feed_adaptive(feed):
        return configured
    first_polled = (state and state.first_polled) or now
    times = Items(rt.store).publish_times(feed.key, first_polled)
    defaults = rt.config.defaults
    return adaptive_interval(
        times,
        now,
        configured,
        minimum=defaults.adaptive_min.total_seconds(),
        maximum=defaults.adaptive_max.total_seconds(),
    )


def skip_unfinished(
    store: Store,
    rt: Runtime,
    feed: FeedConfig,
    name: str,
    state: FeedState | None,
    now: datetime,
    count: int,
) -> tuple[str, datetime | None]:
    """The last ``count`` polls of ``feed`` started and never finished (the daemon was
    killed or stopped mid-poll, see :mod:`monitor.store.pollguard`): record a failure
    and back off instead of polling (each unfinished poll counted as a failure), then
    allow one more try. A unit (store thread). The error stored and the next poll, as
    :func:`record_failure` returns it."""
    until = _backoff_until(rt, feed, state, now, None, count)
    failure = Exception(f"poll did not finish {count} times: skipped until {ts(until)}")
    poll_log.warning("feed=%r %s", name, failure)
    metrics.poll_failed(failure)
    pollguard.allow_one_more(store, feed.key)
    return str(failure), record_failure(store, rt, feed, name, state, now, failure, until)


def record_failure(
    store: Store,
    rt: Runtime,
    feed: FeedConfig,
    name: str,
    state: FeedState | None,
    now: datetime,
    failure: Exception,
    next_poll: datetime | None = None,
) -> datetime | None:
    """Store a failed poll (backed off, or at ``next_poll``) and maybe alert the operator
    (:func:`alert_if_failing_too_long`). A unit (store thread). The next poll as stored
    (UTC), None when ``failure`` is a 410 Gone (the feed is disabled for good)."""
    gone = isinstance(failure, FetchError) and failure.kind == "gone"
    next_poll = next_poll or _backoff_until(rt, feed, state, now, failure, 1)
    store.record_poll_failure(feed.key, name, now, next_poll, str(failure), gone=gone)
    alert_if_failing_too_long(rt, feed, now)
    return None if gone else next_poll


def _backoff_until(
    rt: Runtime,
    feed: FeedConfig,
    state: FeedState | None,
    now: datetime,
    failure: Exception | None,
    more: int,
) -> datetime:
    """When ``feed`` is polled next after ``more`` failures on top of its stored ones:
    exponential backoff with jitter, a server's Retry-After (``failure``'s), the feed's
    ttl (:func:`~monitor.ingest.schedule.next_poll_delay`), UTC, to the second."""
    failures = (state.consecutive_failures if state else 0) + more
    ttl = state and state.ttl_minutes
    delay = next_poll_delay(base_interval(rt, feed, state, now), failure, ttl, failures, rt.rng)
    return not_before(now + timedelta(seconds=delay))


def health_item(feed_name: str, failing_since: datetime, last_error: str, now: datetime) -> Item:
    """An item telling the operator that ``feed_name`` fails since ``failing_since``:
    ``Feed 'X' has been failing for 3h 10m`` (:func:`elapsed`)."""
    since = failing_since.strftime("%Y-%m-%d %H:%M UTC")
    return Item(
        feed=FeedRef("news-monitor", HEALTH_FEED),
        id=f"{feed_name}@{since}",
        title=f"Feed {feed_name!r} has been failing for {elapsed(now - failing_since)}",
        summary=f"Failing since {since}. Last error: {last_error}",
        published=now,
    )


def elapsed(span: timedelta) -> str:
    """``span`` for a reader, in its two largest units, each written as a config
    writes durations (:func:`~monitor.config.values.format_duration`): ``45s``,
    ``2m``, ``3h 10m``, ``2d 4h``; ``under a second`` for less. The smaller unit is
    cut, not rounded (a feed failing for 59 min has not failed for an hour), and left
    out when it is zero (``3h``). A negative span (a clock set back) reads as zero."""
    seconds = max(0, int(span.total_seconds()))
    for size, smaller in ((86_400, 3_600), (3_600, 60), (60, 60), (1, 1)):
        if seconds >= size:
            whole, rest = divmod(seconds, size)
            parts = [timedelta(seconds=whole * size)]
            if smaller < size and rest >= smaller:
                parts.append(timedelta(seconds=rest // smaller * smaller))
            return " ".join(format_duration(p) for p in parts)
    return "under a second"


def alert_if_failing_too_long(rt: Runtime, feed: FeedConfig, now: datetime) -> None:
    """Queue one operator alert when ``feed`` has been failing for longer than
    ``health.alert_after`` (once per failure streak; called after a failed poll). It
    reads and writes the store: call it on the store's thread (monitor/store/runner.py),
    inside the unit that records the failure."""
    settings = rt.config.health
    state = rt.store.feed(feed.key)
    if settings.channel is None or state is None or state.health_alerted:
        return
    if not state.failing_since or now - state.failing_since < settings.alert_after:
        return
    alert = health_item(feed.display_name, state.failing_since, state.last_error or "", now)
    store = Items(rt.store)
    with rt.store.transaction():
        item_id, story_id = store.insert(
            HEALTH_FEED,
            alert.id,
            alert,
            canonical_url=None,
            content_hash="",
            fingerprint=None,
            story_id=None,
            now=now,
        )
        store.add_matches(item_id, [Match(HEALTH_RULE, ())], now)
        store.queue_alerts(story_id, ((HEALTH_RULE, (settings.channel,)),), now)
        rt.store.mark_health_alerted(feed.key)
    log.warning(
        "feed=%r failing since %s: operator alerted on channel %s",
        feed.display_name,
        state.failing_since.isoformat(),
        settings.channel,
    )
