"""The outbox side of the store: messages to send, their digests and their fate.

Pending outbox rows of a channel are gathered into a *message* with a fixed id
before the first attempt; every retry resends the same message (same webhook-id,
same email Message-ID), and rows queued meanwhile wait for the next message. A
message is marked sent only after the destination accepted it.

Which pending rows may form a message now is decided by the caller (schedule,
``group_wait``, quiet hours, urgent rules) and passed in as a :class:`Forming`. With
several instances, a scheduled channel's digest tick is kept in ``ticks`` (a
:class:`DigestTick`, :mod:`monitor.store.digestticks`): it is taken and moved on in the
transaction that forms the message, so each tick fires once in the cluster, late rather
than never. A message's digest is read back by :mod:`monitor.store.digests`.

A multi-part message (Slack) records each part the destination accepted
(``parts_sent``), so whoever sends it again starts at the first part not accepted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from monitor.models import Digest
from monitor.store.codec import kept_text, not_before, parse_ts, ts, ts_not_before
from monitor.store.dialect import marks
from monitor.store.digests import MessageDigest, message_digest, preview_digest
from monitor.store.digestticks import DigestTick, take_tick, tick_at
from monitor.store.sqlite import Store

# Re-exported: imported from here by the delivery, the jobs, the renderer's tests.
__all__ = [
    "DigestTick",
    "Forming",
    "MessageDigest",
    "MessageState",
    "Outbox",
]


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


class Outbox:
    """Queries and updates over ``outbox`` and ``messages``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.conn = store.conn
        # Whether the last next_message formed, or could have formed, a message of
        # regular (non-urgent) alerts: a digest tick's work (service/jobs.py).
        self.regular_formed = False

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
        it moves it on in the same transaction (:func:`~monitor.store.digestticks.take_tick`).
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
            # a tick held by quiet hours (regular False) is not taken: it stays due,
            # and the first round after the window forms its digest
            if tick is not None and forming.regular and not take_tick(self.conn, tick, now):
                forming = replace(forming, regular=False)
            self.regular_formed = forming.regular
            return self._form(channel, now, forming)

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
        """The digest a message carries, built from the stored items and matches
        (a :class:`MessageDigest`; :func:`monitor.store.digests.message_digest`)."""
        return message_digest(self.conn, message_id)

    def preview(self, channel: str, now: datetime) -> Digest:
        """What the channel would send now (unsent rows), without writing anything."""
        return preview_digest(self.conn, channel, now)

    def tick_at(self, name: str) -> datetime | None:
        """When the stored tick ``name`` (a :class:`DigestTick`'s) is due next, UTC; None
        before its channel's first round with several instances."""
        return tick_at(self.conn, name)

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

    def mark_sent(self, message_id: str, answer: str, now: datetime) -> bool:
        """The destination accepted the message: it and its rows are done. False when
        it was no longer pending (:meth:`_finish`): nothing is changed then."""
        return self._finish(message_id, "sent", now, answer=kept_text(answer))

    def mark_failed(self, message_id: str, error: str, now: datetime) -> bool:
        """A permanent error, or attempts exhausted: a dead letter, kept for status.
        False when it was no longer pending: nothing is changed then."""
        return self._finish(message_id, "failed", now, error=kept_text(error))

    def mark_retry(
        self,
        message_id: str,
        error: str,
        next_attempt: datetime,
        attempted_at: datetime | None = None,
    ) -> bool:
        """A retryable error at ``attempted_at``: count the attempt, wait until
        ``next_attempt``. False (nothing changed) when the message is no longer pending."""
        not_before, error = ts_not_before(next_attempt), kept_text(error)
        with self.store.transaction():
            changed = self.conn.execute(
                "UPDATE messages SET attempts = attempts + 1, last_error = ?, next_attempt = ?, "
                "attempted_at = ? WHERE id = ? AND status = 'pending'",
                (error, not_before, ts(attempted_at), message_id),
            ).rowcount
            self.conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ? "
                "WHERE message_id = ? AND status = 'pending'",
                (error, not_before, message_id),
            )
        return changed == 1

    def waiting(self, channel: str) -> bool:
        """Whether a formed message of ``channel`` is still pending (waiting for its
        retry time, when :meth:`next_message` gave none)."""
        row = self.conn.execute(
            "SELECT 1 FROM messages WHERE channel = ? AND status = 'pending' LIMIT 1",
            (channel,),
        )
        return row.fetchone() is not None

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
                (channel, ts(now), kept_text(reason)),
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

    def split_off(self, message_id: str, story_ids: list[int], now: datetime) -> str:
        """Move ``story_ids`` out of an unsent message into a new one, due now; its id.

        For a message the destination refused as too large (HTTP 413): the new message
        keeps the first one's age (``created_at``, ``requeued_at``: ``max_age`` counts
        from them) and goes right after it, so a destination that refuses every size
        makes dead letters of what it refuses rather than a backlog that never ages.
        It keeps the first one's ``parts_sent`` too: for email, the recipients that
        already have the message, stories of both halves included
        (:mod:`monitor.notify.recipients`; a message that is split never has parts,
        for Slack never splits and a webhook has none).
        """
        new_id = uuid.uuid4().hex
        with self.store.transaction():
            self.conn.execute(
                "INSERT INTO messages (id, channel, created_at, requeued_at, status, "
                "next_attempt, held_back, parts_sent) SELECT ?, channel, created_at, "
                "requeued_at, 'pending', ?, held_back, parts_sent FROM messages WHERE id = ?",
                (new_id, ts(now), message_id),
            )
            self.conn.executemany(
                "UPDATE outbox SET message_id = ? WHERE message_id = ? AND story_id = ? "
                "AND status = 'pending'",
                [(new_id, message_id, sid) for sid in story_ids],
            )
        return new_id

    def _finish(
        self, message_id: str, status: str, now: datetime, answer: str = "", error: str = ""
    ) -> bool:
        """Finish a pending message and its rows as ``status``; False when it was no
        longer pending. With several instances a holder frozen past its channel lease
        learns its send's outcome late, after the next holder sent the message (same
        id) and finished it: that late outcome must not turn a delivered message into
        a dead letter (docs/design/SCALEOUT.md: "mark delivered only after acceptance";
        a finished message is final until ``retry`` requeues a dead letter)."""
        with self.store.transaction():
            changed = self.conn.execute(
                "UPDATE messages SET status = ?, attempts = attempts + 1, answer = ?, "
                "last_error = COALESCE(NULLIF(?, ''), last_error), sent_at = ? "
                "WHERE id = ? AND status = 'pending'",
                (status, answer, error, ts(now), message_id),
            ).rowcount
            if changed != 1:
                return False
            self.conn.execute(
                "UPDATE outbox SET status = ?, attempts = attempts + 1, "
                "last_error = COALESCE(NULLIF(?, ''), last_error), sent_at = ? "
                "WHERE message_id = ? AND status = 'pending'",
                (status, error, ts(now), message_id),
            )
        return True


def _message_state(row: Any) -> MessageState:
    next_attempt = parse_ts(row["next_attempt"])
    assert next_attempt is not None
    due_since = parse_ts(row["requeued_at"] or row["created_at"])
    return MessageState(row["id"], row["channel"], row["attempts"], next_attempt, due_since)
