"""Scenario helpers shared by the contract tests: items, and recording them as the
pipeline does (one transaction: item, matches, alerts)."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.dedup.identity import content_hash
from monitor.models import FeedRef, Item, Match
from monitor.store.items import Items
from monitor.store.sqlite import Store

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
FEED_A = FeedRef("A", "https://a.example/rss")
FEED_B = FeedRef("B", "https://b.example/rss")


def item(feed: FeedRef, key: str, link: str | None = None, title: str | None = None) -> Item:
    """An item of ``feed`` keyed ``key``."""
    return Item(feed=feed, id=key, title=title or f"title {key}", link=link, guid=key, summary="s")


def insert(
    items: Items,
    it: Item,
    *,
    canonical: str | None = None,
    story_id: int | None = None,
    full: bool = True,
) -> tuple[int, int]:
    """Insert ``it`` alone (no matches, no alerts; the caller's transaction), with its
    real content hash; return (item id, story id). ``full=False``: a slim row."""
    return items.insert(
        it.feed.url,
        it.id,
        it,
        canonical_url=canonical,
        content_hash=content_hash(it),
        fingerprint=None,
        story_id=story_id,
        now=NOW,
        full=full,
    )


def record(
    store: Store,
    it: Item,
    canonical: str | None = None,
    rules: tuple[str, ...] = ("r1",),
    channels: tuple[str, ...] = ("c1",),
    now: datetime = NOW,
    fingerprint: int | None = None,
) -> int:
    """Record a new item as the pipeline does; return alerts queued."""
    return record_ids(store, it, canonical, rules, channels, now, fingerprint)[2]


def record_ids(
    store: Store,
    it: Item,
    canonical: str | None = None,
    rules: tuple[str, ...] = ("r1",),
    channels: tuple[str, ...] = ("c1",),
    now: datetime = NOW,
    fingerprint: int | None = None,
) -> tuple[int, int, int]:
    """Like :func:`record`; return (item id, story id, alerts queued)."""
    items = Items(store)
    with store.transaction():
        stories = items.stories_by_url(canonical) if canonical else []
        item_id, story_id = items.insert(
            it.feed.url,
            it.id,
            it,
            canonical_url=canonical,
            content_hash="h",
            fingerprint=fingerprint,
            story_id=stories[0] if stories else None,
            now=now,
        )
        items.count_seen(it.feed.url, 1)
        items.add_matches(item_id, [Match(r, ("pompeo",)) for r in rules], now)
        alerts = tuple((r, tuple(channels)) for r in rules)
        return item_id, story_id, items.queue_alerts(story_id, alerts, now)


def scalar(store: Store, sql: str, params: tuple = ()) -> object:
    """The first column of the first row of ``sql``."""
    return store.conn.execute(sql, params).fetchone()[0]
