"""The SQLite schema, as numbered migrations applied in order (``PRAGMA user_version``).

A migration is never edited once released: add a new one. Each runs in its own
transaction, so a crash leaves the database at a known version.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: feeds, seen items, matches, the outbox and the messages that carry it.
    """
    CREATE TABLE feeds (
        url TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        first_polled TEXT,
        last_polled TEXT,
        last_success TEXT,
        last_error TEXT,
        last_error_at TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        next_poll TEXT,
        items_seen INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        feed_url TEXT NOT NULL,
        item_key TEXT NOT NULL,
        canonical_url TEXT,
        story_id INTEGER NOT NULL,
        data TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        UNIQUE (feed_url, item_key)
    );
    CREATE INDEX items_canonical_url ON items (canonical_url);
    CREATE INDEX items_story ON items (story_id);
    CREATE TABLE matches (
        item_id INTEGER NOT NULL REFERENCES items (id),
        rule TEXT NOT NULL,
        data TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (item_id, rule)
    );
    CREATE INDEX matches_rule_time ON matches (rule, created_at);
    CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt TEXT NOT NULL,
        last_error TEXT,
        answer TEXT,
        sent_at TEXT
    );
    CREATE INDEX messages_channel_status ON messages (channel, status);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        story_id INTEGER NOT NULL,
        rule TEXT NOT NULL,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
        message_id TEXT REFERENCES messages (id),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt TEXT,
        last_error TEXT,
        sent_at TEXT,
        UNIQUE (channel, story_id, rule)
    );
    CREATE INDEX outbox_channel_status ON outbox (channel, status, message_id);
    """,
    # 2: stories that survive churn: content hashes (updates), fingerprints (near
    # duplicates), same-feed aliases, and tombstones of pruned items.
    """
    ALTER TABLE items ADD COLUMN content_hash TEXT;
    ALTER TABLE items ADD COLUMN fingerprint INTEGER;
    ALTER TABLE items ADD COLUMN same_feed INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX items_first_seen ON items (first_seen);
    CREATE TABLE tombstones (
        key INTEGER PRIMARY KEY,
        pruned_at TEXT NOT NULL
    );
    """,
    # 3: delivery (issue 6): channels a destination disabled (HTTP 410), when a dead
    # letter was re-queued (max_age counts from then), and how many stories a
    # message left for the next one ("and N more").
    """
    CREATE TABLE channel_state (
        name TEXT PRIMARY KEY,
        disabled_at TEXT,
        disabled_reason TEXT
    );
    ALTER TABLE messages ADD COLUMN requeued_at TEXT;
    ALTER TABLE messages ADD COLUMN held_back INTEGER NOT NULL DEFAULT 0;
    """,
    # 4: polite, cheap polling (issue 4): the last body's hash and its entries'
    # signatures (skip unchanged work), a permanent redirect's target, 410 Gone, the
    # feed's <ttl>, when it started failing and whether the operator was told.
    """
    ALTER TABLE feeds ADD COLUMN body_sha256 TEXT;
    ALTER TABLE feeds ADD COLUMN entry_sigs TEXT;
    ALTER TABLE feeds ADD COLUMN permanent_url TEXT;
    ALTER TABLE feeds ADD COLUMN gone_at TEXT;
    ALTER TABLE feeds ADD COLUMN ttl_minutes INTEGER;
    ALTER TABLE feeds ADD COLUMN failing_since TEXT;
    ALTER TABLE feeds ADD COLUMN health_alerted INTEGER NOT NULL DEFAULT 0;
    """,
    # 5: feeds read right (issues 12, 13): guids are kept as written and text is read
    # anew, so every feed is parsed once more instead of skipped as unchanged; stored
    # items are carried over to their new keys as they are seen (Items.adopt_former_keys).
    """
    UPDATE feeds SET body_sha256 = NULL, entry_sigs = NULL;
    """,
    # 6: the outbox follows wall-clock jumps (issue 14): when a message was last tried,
    # so a clock set back is seen and its backoff counted from the new time.
    """
    ALTER TABLE messages ADD COLUMN attempted_at TEXT;
    """,
    # 7: polls that started and never finished (issue 14, store/pollguard.py), so a
    # poll that gets the daemon killed is backed off instead of retried forever.
    """
    ALTER TABLE feeds ADD COLUMN unfinished_polls INTEGER NOT NULL DEFAULT 0;
    """,
]


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to the newest schema; return the version it is at."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"database schema version {version} is newer than this news-monitor "
            f"({len(MIGRATIONS)}): upgrade news-monitor"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
    return len(MIGRATIONS)
