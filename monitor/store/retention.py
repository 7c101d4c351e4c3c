"""Keeping the state bounded: pruning items, alerts and messages past retention.

Items first seen before the cut are deleted with their matches, unless their story
still has an alert waiting; each leaves a tombstone (8 bytes of hash), so an old
item that reappears in its feed is recognised and not alerted again. Sent or failed
alerts and messages are deleted once older than the cut. Tombstones live a year.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.store.codec import ts
from monitor.store.itemreads import first_id_since
from monitor.store.items import tombstone_key
from monitor.store.sqlite import Store

TOMBSTONE_DAYS = 365


def prune(store: Store, before: datetime, now: datetime) -> dict[str, int]:
    """Delete what is older than ``before``; return counts by kind.

    Items are found by id below :func:`~monitor.store.itemreads.first_id_since` (no
    index on ``first_seen``): one recorded out of order stays until a later prune's
    bound passes it, never goes early.
    """
    conn = store.conn
    cut = ts(before)
    with store.transaction():
        rows = conn.execute(
            "SELECT i.id, r.url, i.item_key FROM items i JOIN feed_refs r ON r.id = i.feed_id "
            "WHERE i.id < ? AND i.first_seen < ? AND i.story_id NOT IN "
            "(SELECT story_id FROM outbox WHERE status = 'pending')",
            (first_id_since(conn, cut), cut),
        ).fetchall()
        conn.executemany(
            "INSERT INTO tombstones VALUES (?, ?) ON CONFLICT DO NOTHING",
            [(tombstone_key(feed, key), ts(now)) for _, feed, key in rows],
        )
        ids = [(r[0],) for r in rows]
        conn.executemany("DELETE FROM matches WHERE item_id = ?", ids)
        conn.executemany("DELETE FROM items WHERE id = ?", ids)
        alerts = conn.execute(
            "DELETE FROM outbox WHERE status IN ('sent', 'failed') AND sent_at < ?", (cut,)
        ).rowcount
        messages = conn.execute(
            "DELETE FROM messages WHERE status IN ('sent', 'failed') AND sent_at < ? "
            "AND id NOT IN (SELECT message_id FROM outbox WHERE message_id IS NOT NULL)",
            (cut,),
        ).rowcount
        tombs = conn.execute(
            "DELETE FROM tombstones WHERE pruned_at < ?",
            (ts(now - timedelta(days=TOMBSTONE_DAYS)),),
        ).rowcount
    return {"items": len(ids), "alerts": alerts, "messages": messages, "tombstones": tombs}
