"""Read-only queries over the state for ``news-monitor history``: what matched, where
it went.

A match is a row of ``matches`` (an item and a rule; its time is the item's first
sight unless it was matched later, ``created_at``). Its alerts are the ``outbox``
rows of the item's story and that rule, one per channel, each in a ``messages`` row
once sent or tried. A match with no alert whose item was recorded at its feed's
first poll is a *baseline* match: backfill kept it from alerting (docs/configuration.md,
*Backfill*), and it is not a lost alert. ``status`` counts it apart for the same reason.

The database is opened read-only (``mode=ro``, sqlite.org/uri.html): looking must
never create state, migrate it, take the daemon's write lock, or leave files behind.
The queries take any connection with the sqlite3 API, and run on PostgreSQL too
(``status`` reads the baseline through the store's connection). With ``store:`` in
the config, :func:`monitor.store.readonly.reader_for` opens that PostgreSQL
database the same way: a session whose transactions are read-only, never migrated.
The opening is :mod:`monitor.store.readonly`; this module holds the queries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.store.codec import ts
from monitor.store.dialect import SQLITE, Connection, dialect_of, marks
from monitor.store.itemcodec import title_and_link
from monitor.store.itemreads import in_story

MAX_COPIES = 20  # copies listed per story; a story folding more says how many
MAX_TEXT_CHARS = 300  # a title or error as shown
MATCHED_AT = "COALESCE(m.created_at, i.first_seen)"  # when a match was recorded

# Matches whose item was first seen at its feed's first poll and whose story has no
# alert for the rule on any channel: backfill held them back. Driven from the feeds'
# first polls (CROSS JOIN keeps this join order, sqlite.org/optoverview.html; on
# PostgreSQL a plain JOIN, its planner orders joins itself), so the outbox is searched
# only for those few matches, each through its (channel, story, rule) index: the
# channels are listed once.
BASELINE = (
    f"SELECT m.rule, {MATCHED_AT} FROM feeds f CROSS JOIN feed_refs r ON r.url = f.url "
    "CROSS JOIN items i ON i.feed_id = r.id AND i.first_seen = f.first_polled "
    f"CROSS JOIN matches m ON m.item_id = i.id WHERE {MATCHED_AT} >= ? AND NOT EXISTS "
    "(SELECT 1 FROM outbox o WHERE o.channel IN (SELECT DISTINCT channel FROM outbox) "
    "AND o.story_id = i.story_id AND o.rule = m.rule)"
)
_BASELINE_PG = BASELINE.replace("CROSS JOIN", "JOIN")
# An item row's feed: its URL (``feed_refs``) and its state, if any (``feeds``).
FEED_JOIN = "JOIN feed_refs r ON r.id = i.feed_id LEFT JOIN feeds f ON f.url = r.url"


# A rule's counts in ``status`` when it matched nothing in 30 days.
NO_COUNTS = {"matches_24h": 0, "matches_30d": 0, "baseline_24h": 0, "baseline_30d": 0}


@dataclass(frozen=True)
class Filters:
    """Which matches to list: since when (UTC), one rule, one channel, how many."""

    since: datetime | None = None
    rule: str | None = None
    channel: str | None = None
    channel_rules: tuple[str, ...] = ()  # rules routed to ``channel`` by the config
    limit: int = 100


def list_matches(conn: Connection, filters: Filters) -> tuple[list[dict[str, Any]], int]:
    """The matches that pass ``filters``, newest first, at most ``filters.limit``;
    and how many more passed them (older, left out)."""
    where, params = ["TRUE"], []
    if filters.since is not None:
        where.append(f"{MATCHED_AT} >= ?")
        params.append(ts(filters.since))
    if filters.rule is not None:
        where.append("m.rule = ?")
        params.append(filters.rule)
    if filters.channel is not None:
        where.append(
            "(EXISTS (SELECT 1 FROM outbox co WHERE co.story_id = i.story_id "
            f"AND co.rule = m.rule AND co.channel = ?) OR m.rule IN "
            f"({marks(len(filters.channel_rules))}))"
        )
        params += [filters.channel, *filters.channel_rules]
    query = (
        f"SELECT m.item_id, m.rule, {MATCHED_AT} AS matched_at, m.data AS match, i.story_id, "
        "r.url AS feed_url, i.data, i.first_seen = f.first_polled AS first_poll, "
        "f.name AS feed_name FROM matches m JOIN items i ON i.id = m.item_id "
        f"{FEED_JOIN} WHERE {' AND '.join(where)} "
        f"ORDER BY {MATCHED_AT} DESC, m.item_id DESC, m.rule"
    )
    rows = conn.execute(f"{query} LIMIT ?", (*params, filters.limit)).fetchall()
    total = conn.execute(f"SELECT COUNT(*) FROM ({query}) AS q", params).fetchone()[0]
    channels = [r[0] for r in conn.execute("SELECT DISTINCT channel FROM outbox")]
    out = []
    for row in rows:
        entry = {
            "when": row["matched_at"],
            "rule": row["rule"],
            **_item(row),
            "terms": json.loads(row["match"]).get("terms", []),
            "story": _story(conn, row["story_id"], row["item_id"]),
            "channels": alerts(conn, row["story_id"], row["rule"], channels),
        }
        entry["baseline"] = bool(row["first_poll"]) and not entry["channels"]
        out.append(entry)
    return out, max(total - len(rows), 0)


def split_baseline(
    conn: Connection, counts: dict[str, dict[str, int]], now: datetime
) -> dict[str, dict[str, int]]:
    """``status``'s matches per rule (``matches_24h``, ``matches_30d``) with the
    first-poll baseline matches moved out, to ``baseline_24h`` and ``baseline_30d``:
    they were never meant to alert, so they must not read as undelivered matches."""
    day, month = ts(now - timedelta(days=1)), ts(now - timedelta(days=30))
    out = {rule: {**c, "baseline_24h": 0, "baseline_30d": 0} for rule, c in counts.items()}
    baseline = BASELINE if dialect_of(conn) == SQLITE else _BASELINE_PG
    for rule, created_at in conn.execute(baseline, (month,)):
        c = out.setdefault(rule, dict(NO_COUNTS))
        c["matches_30d"] -= 1
        c["baseline_30d"] += 1
        if created_at >= day:
            c["matches_24h"] -= 1
            c["baseline_24h"] += 1
    return out


def alerts(conn: Connection, story_id: int, rule: str, channels: list[str]) -> list[dict[str, Any]]:
    """Per channel, the alert of (story, rule): its status, message, when and why.

    ``channels``: every channel in the outbox, so that each row is found through the
    outbox's (channel, story, rule) index rather than by a scan. Attempts and the next
    attempt are the message's once there is one (delivery follows it; ``retry`` starts
    a re-queued message's count again there). ``parts_sent``: the message's (how far
    it got: Slack parts posted, email recipients done), 0 without one.
    """
    rows = conn.execute(
        "SELECT o.channel, o.status, o.message_id, o.created_at, o.sent_at, "
        "COALESCE(g.parts_sent, 0) AS parts_sent, "
        "COALESCE(g.attempts, o.attempts) AS attempts, "
        "COALESCE(g.next_attempt, o.next_attempt) AS next_attempt, "
        "COALESCE(o.last_error, g.last_error) AS last_error "
        "FROM outbox o LEFT JOIN messages g ON g.id = o.message_id "
        f"WHERE o.channel IN ({marks(len(channels))}) AND o.story_id = ? AND o.rule = ? "
        "ORDER BY o.channel",
        (*channels, story_id, rule),
    )
    return [
        {
            "channel": r["channel"],
            "status": r["status"],
            "message_id": r["message_id"],
            "queued_at": r["created_at"],
            "sent_at": r["sent_at"] if r["status"] == "sent" else None,
            "failed_at": r["sent_at"] if r["status"] == "failed" else None,
            "attempts": r["attempts"],
            "next_attempt": r["next_attempt"] if r["status"] == "pending" else None,
            "last_error": _cut(r["last_error"]),
            "parts_sent": r["parts_sent"],
        }
        for r in rows
    ]


def message(conn: Connection, message_id: str) -> dict[str, Any] | None:
    """A message by id: channel, status, attempts, answer, times, ``parts_sent`` (how
    far it got), and the stories it carried with their rules (None when there is no
    such message)."""
    row = conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        return None
    rules: dict[int, list[str]] = {}
    for story_id, rule in conn.execute(
        "SELECT story_id, rule FROM outbox WHERE message_id = ? ORDER BY story_id, rule",
        (message_id,),
    ):
        rules.setdefault(story_id, []).append(rule)
    stories = []
    for story_id, story_rules in rules.items():
        first = conn.execute(
            "SELECT i.id AS item_id, r.url AS feed_url, i.data, f.name AS feed_name FROM items i "
            f"{FEED_JOIN} WHERE {in_story('i')} ORDER BY i.id LIMIT 1",
            (story_id, story_id),
        ).fetchone()
        item = _item(first) if first else {"title": None, "link": None, "feed": None}
        stories.append(
            {
                **item,
                "rules": story_rules,
                "story": _story(conn, story_id, first["item_id"] if first else None),
            }
        )
    return {
        "id": row["id"],
        "channel": row["channel"],
        "status": row["status"],
        "created_at": row["created_at"],
        "sent_at": row["sent_at"] if row["status"] == "sent" else None,
        "failed_at": row["sent_at"] if row["status"] == "failed" else None,
        "attempts": row["attempts"],
        "next_attempt": row["next_attempt"] if row["status"] == "pending" else None,
        "answer": _cut(row["answer"]),
        "last_error": _cut(row["last_error"]),
        "held_back": row["held_back"],
        "requeued_at": row["requeued_at"],
        "attempted_at": row["attempted_at"],
        "parts_sent": row["parts_sent"],
        "stories": stories,
    }


def disabled_channels(conn: Connection) -> dict[str, str]:
    """The channels a destination disabled (HTTP 410) and the reason stored: their
    pending alerts wait for ``news-monitor retry CHANNEL``, not for a next attempt."""
    rows = conn.execute(
        "SELECT name, disabled_reason FROM channel_state WHERE disabled_at IS NOT NULL"
    )
    return {name: reason or "" for name, reason in rows}


def known_names(conn: Connection) -> tuple[list[str], list[str]]:
    """(the rules that ever matched, the channels that ever had an alert), as the
    database knows them: the names ``history`` accepts beside the config's (a rule
    taken out of the config still has its matches)."""
    rules = [r[0] for r in conn.execute("SELECT DISTINCT rule FROM matches ORDER BY rule")]
    channels = [r[0] for r in conn.execute("SELECT DISTINCT channel FROM outbox ORDER BY channel")]
    return rules, channels


def _story(conn: Connection, story_id: int, item_id: int | None) -> dict[str, Any]:
    """The story an item belongs to: its id, whether the item started it, and the
    other items folded into it (feed and title; at most MAX_COPIES, with the count)."""
    other = 0 if item_id is None else item_id  # ids start at 1: 0 leaves none out
    rows = conn.execute(
        "SELECT i.id AS item_id, r.url AS feed_url, i.data, f.name AS feed_name FROM items i "
        f"{FEED_JOIN} WHERE {in_story('i')} AND i.id <> ? ORDER BY i.id LIMIT ?",
        (story_id, story_id, other, MAX_COPIES),
    ).fetchall()
    count = conn.execute(
        f"SELECT COUNT(*) FROM items WHERE {in_story()} AND id <> ?", (story_id, story_id, other)
    ).fetchone()[0]
    return {
        "id": story_id,
        "first": item_id == story_id,
        "copies": [_item(r) for r in rows],
        "copies_total": count,
    }


def _item(row: Any) -> dict[str, Any]:
    """Title, link and feed of an item row (``data``, ``feed_url``, ``feed_name``).

    Links and feed URLs are shown as stored; the command redacts them."""
    title, link = title_and_link(row["data"])
    return {
        "title": _cut(title),
        "link": _cut(link),
        "feed": {"name": row["feed_name"] or row["feed_url"], "key": row["feed_url"]},
    }


def _cut(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_TEXT_CHARS:
        return text
    return text[: MAX_TEXT_CHARS - 1] + "…"
