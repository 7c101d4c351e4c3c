"""The outbox side of the store: messages to send, their digests and their fate.

Pending outbox rows of a channel are gathered into a *message* with a fixed id
before the first attempt; every retry resends the same message (same webhook-id,
same email Message-ID), and rows queued meanwhile wait for the next message. A
message is marked sent only after the destination accepted it.

Which pending rows may form a message now is decided by the caller (schedule,
``group_wait``, quiet hours, urgent rules) and passed in as a :class:`Forming`. With
several instances, a scheduled channel's digest tick is kept in ``ticks`` (a
:class:`DigestTick`): it is taken and moved on in the transaction that forms the
message, so each tick fires once in the cluster, late rather than never.

A multi-part message (Slack) records each part the destination accepted
(``parts_sent``), so whoever sends it again starts at the first part not accepted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from monitor.dedup.story import Member, compose
from monitor.models import Digest, Match, Story
from monitor.store.codec import (
    match_from_json,
    not_before,
    parse_ts,
    ts,
    ts_not_before,
    unpack_item,
)
from monitor.store.dialect import marks
from monitor.store.sqlite import MAX_ERROR_CHARS, Store


@dataclass(frozen=True)
class MessageState:
    """A message in flight: how often it was tried and when it may be tried again."""

    id: str
    channel: str
    attempts: int
    next_attempt: datetime
    due_since: datetime | None = None  # created, or re-queued by `retry`: max_age counts from it


@dataclass(frozen=True)
class Forming:
    """Which pending rows may form a new message now.

    ``regular``: rows of non-urgent rules may go (a schedule tick, not in quiet hours);
    rows of ``urgent_rules`` always may. ``group_wait``: regular rows go only once the
    oldest of them has waited that long (a burst becomes one message). ``max_items``
    caps the stories of one message; the rest wait for the next one.
    """

    regular: bool = True
    urgent_rules: frozenset[str] = frozenset()
    group_wait: timedelta = timedelta(0)
    max_items: int | None = None


TICK_SKEW = timedelta(seconds=60)
"""How far apart instances' clocks may be before a stored tick looks moved by a reload."""


@dataclass(frozen=True)
class DigestTick:
    """A scheduled channel's digest tick kept in the database (several instances).

    ``name`` keys its row of ``ticks`` (``digest:<channel>``); ``following(last, now)``
    is the first tick strictly after ``now`` (UTC) in the phase of the tick ``last``
    (None: of the schedule alone, from ``now``).
    """

    name: str
    following: Callable[[datetime | None, datetime], datetime]


@dataclass(frozen=True)
class MessageDigest(Digest):
    """A digest read back from the outbox: ``held_back`` stories wait for the next one."""

    held_back: int = field(default=0)
    story_ids: tuple[int, ...] = field(default=())  # the stored story of each of ``stories``
    pruned: int = field(default=0)  # stories of the message whose items retention deleted


class Outbox:
    """Queries and updates over ``outbox`` and ``messages``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.conn = store.conn

    def next_message(
        self,
        channel: str,
        now: datetime,
        *,
        ignore_backoff: bool = False,
        form_new: bool = True,
        forming: Forming | None = None,
        tick: DigestTick | None = None,
    ) -> MessageState | None:
        """The channel's message due now: an unfinished one, else a new one from pending rows.

        Returns None when nothing is due (nothing pending, or a retry waits for its
        backoff unless ``ignore_backoff``); ``form_new`` False only returns retries.
        ``forming`` says which pending rows may form the new message (default: all).
        With a ``tick``, regular rows may go only if the stored tick is due, and taking
        it moves it on in the same transaction (:meth:`_take_tick`).
        """
        row = self.conn.execute(
            "SELECT * FROM messages WHERE channel = ? AND status = 'pending' "
            "ORDER BY created_at LIMIT 1",
            (channel,),
        ).fetchone()
        if row:
            state = self._follow_clock(_message_state(row), row["attempted_at"], now)
            return state if ignore_backoff or state.next_attempt <= now else None
        if not form_new:
            return None
        forming = forming or Forming()
        with self.store.transaction():
            if tick is not None and not self._take_tick(tick, now):
                forming = replace(forming, regular=False)
            return self._form(channel, now, forming)

    def _take_tick(self, tick: DigestTick, now: datetime) -> bool:
        """In the forming transaction: whether the stored tick is due at ``now``, moving it
        to the next one if so (compare-and-set on the value read: one caller in the
        cluster wins each tick, the others find it moved). A missing row is created at
        the schedule's next tick; one later than the schedule's next tick after now +
        :data:`TICK_SKEW` (the schedule changed, or the wall clock went back) is moved
        back to the next tick.
        """
        row = self.conn.execute("SELECT next_at FROM ticks WHERE name = ?", (tick.name,))
        stored = (row.fetchone() or (None,))[0]
        fresh = ts_not_before(tick.following(None, now))
        if stored is None:
            self.conn.execute(
                "INSERT INTO ticks (name, next_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (tick.name, fresh),
            )
            return False
        due = stored <= (ts(now) or "")
        # Another instance's clock a little ahead stored the next tick early: not a change.
        if not due and stored <= ts_not_before(tick.following(None, now + TICK_SKEW)):
            return False
        moved = ts_not_before(tick.following(parse_ts(stored), now)) if due else fresh
        cursor = self.conn.execute(
            "UPDATE ticks SET next_at = ? WHERE name = ? AND next_at = ?",
            (moved, tick.name, stored),
        )
        return due and cursor.rowcount == 1

    def _follow_clock(
        self, state: MessageState, attempted_at: str | None, now: datetime
    ) -> MessageState:
        """``state`` with its wait counted from ``now`` if the wall clock went back.

        A message last tried *after* ``now`` means the clock was set back: its backoff
        (next attempt minus last attempt) is counted again from ``now`` and stored, so
        a clock set back 5 h delays it by at most its backoff, not 5 h. A message never
        tried is due at once, whatever the clock says.
        """
        if state.attempts == 0:
            return replace(state, next_attempt=min(state.next_attempt, now))
        tried = parse_ts(attempted_at)
        if tried is None or tried <= now:
            return state
        next_attempt = now + max(state.next_attempt - tried, timedelta(0))
        with self.store.transaction():
            self.conn.execute(
                "UPDATE messages SET next_attempt = ?, attempted_at = ? WHERE id = ?",
                (ts_not_before(next_attempt), ts(now), state.id),
            )
        return replace(state, next_attempt=not_before(next_attempt))

    def _form(self, channel: str, now: datetime, forming: Forming) -> MessageState | None:
        # Counted and chosen in SQL: a stuck channel's backlog can grow to many thousands
        # of rows until max_age, and reading it whole at every round grew memory with it.
        unsent = "FROM outbox WHERE channel = ? AND status = 'pending' AND message_id IS NULL"
        urgent = f"SELECT story_id {unsent} AND rule IN ({marks(len(forming.urgent_rules))})"
        urgent_args = (channel, *sorted(forming.urgent_rules))
        # A story with an urgent row goes now with all its rows (one alert per story).
        oldest = self.conn.execute(
            f"SELECT MIN(created_at) {unsent} AND story_id NOT IN ({urgent})",
            (channel, *urgent_args),
        ).fetchone()[0]
        # An alert stamped later than now (the wall clock went back) has waited enough.
        waited = oldest is not None and (
            oldest <= ts(now - forming.group_wait) or oldest > (ts(now) or "")
        )
        only_urgent = "" if forming.regular and waited else f" AND story_id IN ({urgent})"
        limit = " LIMIT ?" if forming.max_items else ""
        keep = [
            row[0]
            for row in self.conn.execute(
                f"SELECT story_id {unsent}{only_urgent} GROUP BY story_id ORDER BY MIN(id){limit}",
                (
                    channel,
                    *(urgent_args if only_urgent else ()),
                    *((forming.max_items,) if limit else ()),
                ),
            )
        ]
        if not keep:
            return None
        total = self.conn.execute(f"SELECT COUNT(DISTINCT story_id) {unsent}", (channel,))
        held_back = total.fetchone()[0] - len(keep)
        message_id = uuid.uuid4().hex
        self.conn.execute(
            "INSERT INTO messages (id, channel, created_at, status, next_attempt, held_back) "
            "VALUES (?, ?, ?, 'pending', ?, ?)",
            (message_id, channel, ts(now), ts(now), held_back),
        )
        self.conn.executemany(
            "UPDATE outbox SET message_id = ? WHERE channel = ? AND status = 'pending' "
            "AND message_id IS NULL AND story_id = ?",
            [(message_id, channel, story_id) for story_id in keep],
        )
        return MessageState(message_id, channel, 0, now, now)

    def digest(self, message_id: str) -> Digest:
        """The digest a message carries, built from the stored items and matches."""
        msg = self.conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        rows = self.conn.execute(
            "SELECT story_id, rule FROM outbox WHERE message_id = ? ORDER BY id", (message_id,)
        ).fetchall()
        created = parse_ts(msg["created_at"])
        assert created is not None
        found = self._stories(rows)
        stories = tuple(story for _, story in found)
        ids = tuple(story_id for story_id, _ in found)
        pruned = len({r["story_id"] for r in rows}) - len(ids)
        return MessageDigest(
            message_id, msg["channel"], created, stories, msg["held_back"], ids, pruned
        )

    def preview(self, channel: str, now: datetime) -> Digest:
        """What the channel would send now (unsent rows), without writing anything."""
        rows = self.conn.execute(
            "SELECT story_id, rule FROM outbox WHERE channel = ? AND status = 'pending' "
            "ORDER BY id",
            (channel,),
        ).fetchall()
        return Digest("preview", channel, now, tuple(s for _, s in self._stories(rows)))

    def _stories(self, rows: list) -> list[tuple[int, Story]]:
        """``(story id, story)`` of the rows' stories, skipping those pruned by retention."""
        rules_by_story: dict[int, list[str]] = {}
        for story_id, rule in rows:
            rules_by_story.setdefault(story_id, []).append(rule)
        found = [(sid, self._story(sid, rules)) for sid, rules in rules_by_story.items()]
        return [(sid, story) for sid, story in found if story is not None]

    def _story(self, story_id: int, rules: list[str]) -> Story | None:
        """The story as this message shows it (:func:`monitor.dedup.story.compose`).

        None when retention deleted every item of the story (a dead letter kept
        longer than its items); a story that lost some items shows the rest. An item
        stored slim (it matched no rule, so its text was not kept) is listed, never
        shown for a rule.
        """
        rows = self.conn.execute(
            "SELECT i.id, r.url AS feed_url, i.item_key, i.data FROM items i "
            "JOIN feed_refs r ON r.id = i.feed_id WHERE i.story_id = ? ORDER BY i.id",
            (story_id,),
        ).fetchall()
        if not rows:
            return None
        found = self.conn.execute(
            "SELECT m.item_id, m.rule, m.data FROM matches m JOIN items i ON i.id = m.item_id "
            "WHERE i.story_id = ?",
            (story_id,),
        ).fetchall()
        matches: dict[int, dict[str, Match]] = {}
        for row in found:
            if row["rule"] in rules:
                match = match_from_json(row["rule"], row["data"])
                matches.setdefault(row["item_id"], {})[row["rule"]] = match
        members = []
        for r in rows:
            stored = unpack_item(r["data"], r["feed_url"], r["item_key"])
            members.append(Member(stored.item, matches.get(r["id"], {}) if stored.full else {}))
        return compose(story_id, members, rules)

    def tick_at(self, name: str) -> datetime | None:
        """When the stored tick ``name`` (a :class:`DigestTick`'s) is due next, UTC; None
        before its channel's first round with several instances."""
        row = self.conn.execute("SELECT next_at FROM ticks WHERE name = ?", (name,)).fetchone()
        return parse_ts(row[0]) if row else None

    def parts_sent(self, message_id: str) -> int:
        """How many parts of a multi-part message the destination accepted so far (0 for
        a message of one part, or none accepted yet)."""
        row = self.conn.execute("SELECT parts_sent FROM messages WHERE id = ?", (message_id,))
        return (row.fetchone() or (0,))[0]

    def record_parts(self, message_id: str, parts: int) -> None:
        """The destination accepted the first ``parts`` parts of the message: stored at
        once (one short transaction), never lowered, so whoever sends the message again
        (this process or another instance, after a crash or a lease hand-over) starts at
        the first part not accepted."""
        with self.store.transaction():
            self.conn.execute(
                "UPDATE messages SET parts_sent = ? WHERE id = ? AND parts_sent < ?",
                (parts, message_id, parts),
            )

    def mark_sent(self, message_id: str, answer: str, now: datetime) -> None:
        """The destination accepted the message: it and its rows are done."""
        self._finish(message_id, "sent", now, answer=answer[:MAX_ERROR_CHARS])

    def mark_failed(self, message_id: str, error: str, now: datetime) -> None:
        """A permanent error, or attempts exhausted: a dead letter, kept for status."""
        self._finish(message_id, "failed", now, error=error[:MAX_ERROR_CHARS])

    def mark_retry(
        self,
        message_id: str,
        error: str,
        next_attempt: datetime,
        attempted_at: datetime | None = None,
    ) -> None:
        """A retryable error at ``attempted_at``: count the attempt, wait until ``next_attempt``."""
        not_before = ts_not_before(next_attempt)
        with self.store.transaction():
            self.conn.execute(
                "UPDATE messages SET attempts = attempts + 1, last_error = ?, next_attempt = ?, "
                "attempted_at = ? WHERE id = ?",
                (error[:MAX_ERROR_CHARS], not_before, ts(attempted_at), message_id),
            )
            self.conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ? "
                "WHERE message_id = ?",
                (error[:MAX_ERROR_CHARS], not_before, message_id),
            )

    def disabled(self, channel: str) -> tuple[str, str] | None:
        """``(since, reason)`` when a destination disabled the channel (HTTP 410), else None."""
        row = self.conn.execute(
            "SELECT disabled_at, disabled_reason FROM channel_state WHERE name = ? "
            "AND disabled_at IS NOT NULL",
            (channel,),
        ).fetchone()
        return (row[0], row[1] or "") if row else None

    def disable(self, channel: str, reason: str, now: datetime) -> None:
        """Stop sending to ``channel`` until ``retry CHANNEL``; its alerts keep queueing."""
        with self.store.transaction():
            self.conn.execute(
                "INSERT INTO channel_state (name, disabled_at, disabled_reason) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET disabled_at = excluded.disabled_at, "
                "disabled_reason = excluded.disabled_reason",
                (channel, ts(now), reason[:MAX_ERROR_CHARS]),
            )

    def release(self, message_id: str, story_ids: list[int]) -> None:
        """Take ``story_ids`` out of an unsent message: they wait for the next one.

        For a message over the channel's size bound or ``max_items`` (re-formed after
        ``retry``, or split after an HTTP 413); its "and N more" count is updated.
        """
        with self.store.transaction():
            self.conn.executemany(
                "UPDATE outbox SET message_id = NULL WHERE message_id = ? AND story_id = ? "
                "AND status = 'pending'",
                [(message_id, sid) for sid in story_ids],
            )
            self.conn.execute(
                "UPDATE messages SET held_back = (SELECT COUNT(DISTINCT o.story_id) FROM outbox o "
                "WHERE o.channel = messages.channel AND o.status = 'pending' "
                "AND o.message_id IS NULL) WHERE id = ?",
                (message_id,),
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
                "WHERE message_id = ? AND status = 'pending'",
                (status, error, ts(now), message_id),
            )


def _message_state(row: Any) -> MessageState:
    next_attempt = parse_ts(row["next_attempt"])
    assert next_attempt is not None
    due_since = parse_ts(row["requeued_at"] or row["created_at"])
    return MessageState(row["id"], row["channel"], row["attempts"], next_attempt, due_since)
