"""A message's digest read back: its stories composed from the stored items and matches.

The outbox stores which story and rule each row of a message carries, never the text
sent: the digest is built again from ``items`` and ``matches`` at every attempt
(:meth:`monitor.store.outbox.Outbox.digest`), so a retry sends the same stories. A story
whose items retention deleted is left out and counted (``pruned``). Read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.dedup.story import Member, compose
from monitor.models import Digest, Match, Story
from monitor.store.codec import match_from_json, parse_ts
from monitor.store.dialect import Connection
from monitor.store.itemcodec import unpack_item
from monitor.store.itemreads import in_story


@dataclass(frozen=True)
class MessageDigest(Digest):
    """A digest read back from the outbox: ``held_back`` stories wait for the next one."""

    held_back: int = field(default=0)
    story_ids: tuple[int, ...] = field(default=())  # the stored story of each of ``stories``
    pruned: int = field(default=0)  # stories of the message whose items retention deleted


def message_digest(conn: Connection, message_id: str) -> MessageDigest:
    """The digest the stored message ``message_id`` carries (it must exist)."""
    msg = conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
    rows = conn.execute(
        "SELECT story_id, rule FROM outbox WHERE message_id = ? ORDER BY id", (message_id,)
    ).fetchall()
    created = parse_ts(msg["created_at"])
    assert created is not None
    found = stories_of(conn, rows)
    stories = tuple(story for _, story in found)
    ids = tuple(story_id for story_id, _ in found)
    pruned = len({r["story_id"] for r in rows}) - len(ids)
    return MessageDigest(
        message_id, msg["channel"], created, stories, msg["held_back"], ids, pruned
    )


def preview_digest(conn: Connection, channel: str, now: datetime) -> Digest:
    """What ``channel`` would send at ``now`` (its unsent rows), without writing anything."""
    rows = conn.execute(
        "SELECT story_id, rule FROM outbox WHERE channel = ? AND status = 'pending' ORDER BY id",
        (channel,),
    ).fetchall()
    return Digest("preview", channel, now, tuple(s for _, s in stories_of(conn, rows)))


def stories_of(conn: Connection, rows: Sequence[Any]) -> list[tuple[int, Story]]:
    """``(story id, story)`` of the ``(story_id, rule)`` rows' stories, in the order first
    seen, skipping those pruned by retention."""
    rules_by_story: dict[int, list[str]] = {}
    for story_id, rule in rows:
        rules_by_story.setdefault(story_id, []).append(rule)
    found = [(sid, story_of(conn, sid, rules)) for sid, rules in rules_by_story.items()]
    return [(sid, story) for sid, story in found if story is not None]


def story_of(conn: Connection, story_id: int, rules: list[str]) -> Story | None:
    """The story as a message for ``rules`` shows it (:func:`monitor.dedup.story.compose`).

    None when retention deleted every item of the story (a dead letter kept longer than
    its items); a story that lost some items shows the rest. An item stored slim (it
    matched no rule, so its text was not kept) is listed, never shown for a rule.
    """
    rows = conn.execute(
        "SELECT i.id, r.url AS feed_url, r.name AS feed_name, i.item_key, i.data FROM items i "
        f"JOIN feed_refs r ON r.id = i.feed_id WHERE {in_story('i')} ORDER BY i.id",
        (story_id, story_id),
    ).fetchall()
    if not rows:
        return None
    found = conn.execute(
        "SELECT m.item_id, m.rule, m.data FROM matches m JOIN items i ON i.id = m.item_id "
        f"WHERE {in_story('i')}",
        (story_id, story_id),
    ).fetchall()
    matches: dict[int, dict[str, Match]] = {}
    for row in found:
        if row["rule"] in rules:
            match = match_from_json(row["rule"], row["data"])
            matches.setdefault(row["item_id"], {})[row["rule"]] = match
    members = []
    for r in rows:
        stored = unpack_item(r["data"], r["feed_url"], r["item_key"], r["feed_name"])
        members.append(Member(stored.item, matches.get(r["id"], {}) if stored.full else {}))
    return compose(story_id, members, rules)
