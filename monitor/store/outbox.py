"""The outbox side of the store: messages to send, their digests and their fate.

Pending outbox rows of a channel are gathered into a *message* with a fixed id
before the first attempt; every retry resends the same message (same webhook-id,
same email Message-ID), and rows queued meanwhile wait for the next message. A
message is marked sent only after the destination accepted it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from monitor.models import Digest, Duplicate, Item, Match, Story
from monitor.store.codec import item_from_json, match_from_json, parse_ts, ts
from monitor.store.sqlite import MAX_ERROR_CHARS, Store


@dataclass(frozen=True)
class MessageState:
    """A message in flight: how often it was tried and when it may be tried again."""

    id: str
    channel: str
    attempts: int
    next_attempt: datetime


class Outbox:
    """Queries and updates over ``outbox`` and ``messages``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.conn = store.conn

    def next_message(
        self, channel: str, now: datetime, *, ignore_backoff: bool = False, form_new: bool = True
    ) -> MessageState | None:
        """The channel's message due now: an unfinished one, else a new one from pending rows.

        Returns None when nothing is due (nothing pending, or a retry waits for its
        backoff unless ``ignore_backoff``); ``form_new`` False only returns retries.
        """
        row = self.conn.execute(
            "SELECT * FROM messages WHERE channel = ? AND status = 'pending' "
            "ORDER BY created_at LIMIT 1",
            (channel,),
        ).fetchone()
        if row:
            state = _message_state(row)
            return state if ignore_backoff or state.next_attempt <= now else None
        if not form_new:
            return None
        with self.store.transaction():
            pending = self.conn.execute(
                "SELECT id FROM outbox WHERE channel = ? AND status = 'pending' "
                "AND message_id IS NULL ORDER BY id",
                (channel,),
            ).fetchall()
            if not pending:
                return None
            message_id = uuid.uuid4().hex
            self.conn.execute(
                "INSERT INTO messages (id, channel, created_at, status, next_attempt) "
                "VALUES (?, ?, ?, 'pending', ?)",
                (message_id, channel, ts(now), ts(now)),
            )
            self.conn.executemany(
                "UPDATE outbox SET message_id = ? WHERE id = ?",
                [(message_id, r[0]) for r in pending],
            )
        return MessageState(message_id, channel, 0, now)

    def digest(self, message_id: str) -> Digest:
        """The digest a message carries, built from the stored items and matches."""
        msg = self.conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        rows = self.conn.execute(
            "SELECT story_id, rule FROM outbox WHERE message_id = ? ORDER BY id", (message_id,)
        ).fetchall()
        created = parse_ts(msg["created_at"])
        assert created is not None
        return Digest(message_id, msg["channel"], created, self._stories(rows))

    def preview(self, channel: str, now: datetime) -> Digest:
        """What the channel would send now (unsent rows), without writing anything."""
        rows = self.conn.execute(
            "SELECT story_id, rule FROM outbox WHERE channel = ? AND status = 'pending' "
            "ORDER BY id",
            (channel,),
        ).fetchall()
        return Digest("preview", channel, now, self._stories(rows))

    def _stories(self, rows: list) -> tuple[Story, ...]:
        rules_by_story: dict[int, list[str]] = {}
        for story_id, rule in rows:
            rules_by_story.setdefault(story_id, []).append(rule)
        return tuple(self._story(sid, rules) for sid, rules in rules_by_story.items())

    def _story(self, story_id: int, rules: list[str]) -> Story:
        items = self.conn.execute(
            "SELECT id, data, same_feed FROM items WHERE story_id = ? ORDER BY id", (story_id,)
        ).fetchall()
        ids = [r["id"] for r in items]
        found = self.conn.execute(
            f"SELECT item_id, rule, data FROM matches WHERE item_id IN ({','.join('?' * len(ids))})"
            " ORDER BY item_id",
            ids,
        ).fetchall()
        first_match: dict[str, Match] = {}
        for row in found:
            if row["rule"] in rules and row["rule"] not in first_match:
                first_match[row["rule"]] = match_from_json(row["rule"], row["data"])
        lead = item_from_json(items[0]["data"])
        matches = tuple(first_match[r] for r in rules if r in first_match)
        return Story(f"s{story_id}-{lead.id}"[:200], lead, matches, _duplicates(lead, items[1:]))

    def mark_sent(self, message_id: str, answer: str, now: datetime) -> None:
        """The destination accepted the message: it and its rows are done."""
        self._finish(message_id, "sent", now, answer=answer[:MAX_ERROR_CHARS])

    def mark_failed(self, message_id: str, error: str, now: datetime) -> None:
        """A permanent error, or attempts exhausted: a dead letter, kept for status."""
        self._finish(message_id, "failed", now, error=error[:MAX_ERROR_CHARS])

    def mark_retry(self, message_id: str, error: str, next_attempt: datetime) -> None:
        """A retryable error: count the attempt, wait until ``next_attempt``."""
        with self.store.transaction():
            self.conn.execute(
                "UPDATE messages SET attempts = attempts + 1, last_error = ?, next_attempt = ? "
                "WHERE id = ?",
                (error[:MAX_ERROR_CHARS], ts(next_attempt), message_id),
            )
            self.conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ? "
                "WHERE message_id = ?",
                (error[:MAX_ERROR_CHARS], ts(next_attempt), message_id),
            )

    def _finish(
        self, message_id: str, status: str, now: datetime, answer: str = "", error: str = ""
    ) -> None:
        with self.store.transaction():
            self.conn.execute(
                "UPDATE messages SET status = ?, attempts = attempts + 1, answer = ?, "
                "last_error = COALESCE(NULLIF(?, ''), last_error), sent_at = ? WHERE id = ?",
                (status, answer, error, ts(now), message_id),
            )
            self.conn.execute(
                "UPDATE outbox SET status = ?, attempts = attempts + 1, "
                "last_error = COALESCE(NULLIF(?, ''), last_error), sent_at = ? "
                "WHERE message_id = ?",
                (status, error, ts(now), message_id),
            )


def _duplicates(lead: Item, rows: list) -> tuple[Duplicate, ...]:
    """Other outlets' copies: one per feed, none from the lead's own feed (churn aliases)."""
    feeds = {lead.feed.url}
    duplicates = []
    for row in rows:
        item = item_from_json(row["data"])
        if row["same_feed"] or item.feed.url in feeds:
            continue
        feeds.add(item.feed.url)
        duplicates.append(Duplicate(item.guid, item.title, item.link, item.feed))
    return tuple(duplicates)


def _message_state(row: object) -> MessageState:
    next_attempt = parse_ts(row["next_attempt"])  # type: ignore[index]
    assert next_attempt is not None
    return MessageState(row["id"], row["channel"], row["attempts"], next_attempt)  # type: ignore[index]
