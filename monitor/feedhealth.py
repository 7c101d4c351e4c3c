"""The operator alert for a feed that keeps failing, as an ordinary item.

It is stored under a pseudo-feed and the rule name ``feed-health`` and queued to
the channel named in ``health.channel``, so it rides the same outbox, retries and
templates as any alert, once per failure streak.
"""

from __future__ import annotations

from datetime import datetime

from monitor.models import FeedRef, Item

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
