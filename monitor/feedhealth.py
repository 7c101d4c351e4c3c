"""The operator alert for a feed that keeps failing, as an ordinary item.

It is stored under a pseudo-feed and the rule name ``feed-health`` and queued to
the channel named in ``health.channel``, so it rides the same outbox, retries and
templates as any alert, once per failure streak.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.models import FeedRef, Item, Match
from monitor.store.items import Items

if TYPE_CHECKING:
    from monitor.config import FeedConfig
    from monitor.runtime import Runtime

log = logging.getLogger(__name__)

HEALTH_FEED = "news-monitor:feed-health"
HEALTH_RULE = "feed-health"


def health_item(feed_name: str, failing_since: datetime, last_error: str, now: datetime) -> Item:
    """An item telling the operator that ``feed_name`` fails since ``failing_since``."""
    hours = (now - failing_since).total_seconds() / 3600
    since = failing_since.strftime("%Y-%m-%d %H:%M UTC")
    return Item(
        feed=FeedRef("news-monitor", HEALTH_FEED),
        id=f"{feed_name}@{since}",
        title=f"Feed {feed_name!r} has been failing for {hours:.1f} h",
        summary=f"Failing since {since}. Last error: {last_error}",
        published=now,
    )


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
