"""Dead letters back in line (``news-monitor retry CHANNEL``), and what could not be.

A dead letter can outlive its stories: retention deletes items whose story has no
*pending* alert, and a failed alert is not pending. Such a message is not re-queued
(there is nothing left to send); one that lost only some stories sends the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.store.codec import ts
from monitor.store.itemreads import in_story
from monitor.store.sqlite import Store

PRUNED = "its stories were pruned (retention deleted their items)"


@dataclass(frozen=True)
class Requeued:
    """What ``retry`` did with one dead letter: its stories still there, and those gone."""

    message_id: str
    stories: int
    pruned: int


def requeue(store: Store, channel: str, now: datetime) -> list[Requeued]:
    """Re-enable ``channel`` and put its dead letters back in line; say what each holds.

    A dead letter keeps its id (receivers can still de-duplicate); its attempts start
    again from zero and ``max_age`` counts from ``now``, as it does for the messages
    that waited while the channel was disabled. Delivery re-forms it under the current
    ``max_items`` and size bound. A story whose items retention deleted stays failed;
    a dead letter with no story left stays a dead letter, its reason :data:`PRUNED`.
    """
    conn = store.conn
    with store.transaction():
        conn.execute("DELETE FROM channel_state WHERE name = ?", (channel,))
        conn.execute(
            "UPDATE messages SET attempts = 0, next_attempt = ?, requeued_at = ?, "
            "attempted_at = NULL WHERE channel = ? AND status = 'pending'",
            (ts(now), ts(now), channel),
        )
        failed = conn.execute(
            "SELECT id FROM messages WHERE channel = ? AND status = 'failed' ORDER BY created_at",
            (channel,),
        ).fetchall()
        return [_requeue_one(store, message_id, now) for (message_id,) in failed]


def _requeue_one(store: Store, message_id: str, now: datetime) -> Requeued:
    """Put one dead letter back in line with the stories that still exist, if any."""
    conn = store.conn
    stories = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT story_id FROM outbox WHERE message_id = ?", (message_id,)
        )
    ]
    alive = [
        sid
        for sid in stories
        if conn.execute(f"SELECT 1 FROM items WHERE {in_story()} LIMIT 1", (sid, sid)).fetchone()
    ]
    gone = [sid for sid in stories if sid not in alive]
    conn.executemany(
        "UPDATE outbox SET last_error = ? WHERE message_id = ? AND story_id = ?",
        [(PRUNED, message_id, sid) for sid in gone],
    )
    if not alive:
        conn.execute(
            "UPDATE messages SET last_error = ?, sent_at = ? WHERE id = ?",
            (PRUNED, ts(now), message_id),
        )
        return Requeued(message_id, 0, len(gone))
    conn.execute(
        "UPDATE messages SET status = 'pending', attempts = 0, next_attempt = ?, "
        "requeued_at = ?, sent_at = NULL, attempted_at = NULL WHERE id = ?",
        (ts(now), ts(now), message_id),
    )
    conn.executemany(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt = NULL, "
        "sent_at = NULL WHERE message_id = ? AND story_id = ?",
        [(message_id, sid) for sid in alive],
    )
    return Requeued(message_id, len(alive), len(gone))
