"""The SQLite schema, as numbered migrations applied in order (``PRAGMA user_version``).

A migration is never edited once released: add a new one. Each runs in its own
transaction, so a crash leaves the database at a known version. A migration is SQL
(statements separated by ``;``) or, when it needs Python (hashes), a function of the
connection run inside that transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from monitor.store.compaction import sqlite_11
from monitor.store.feedstate import entry_digests_from_sigs
from monitor.store.hosts import add_feed_hosts

MIGRATIONS: list[str | Callable[[sqlite3.Connection], None]] = [
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
    # 8: item ids, which are also story ids, are never reused (issue 14): SQLite gave a
    # new row max(id) + 1, so once retention pruned the newest items their ids (and
    # stories) came back, and the new story's alert met the old one's outbox row. The
    # table is rebuilt with AUTOINCREMENT, rows and ids kept (sqlite.org/lang_altertable,
    # "other kinds of table schema changes"), and the sequence starts above every item
    # and story id still referenced anywhere.
    """
    CREATE TABLE items_v8 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        feed_url TEXT NOT NULL,
        item_key TEXT NOT NULL,
        canonical_url TEXT,
        story_id INTEGER NOT NULL,
        data TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        content_hash TEXT,
        fingerprint INTEGER,
        same_feed INTEGER NOT NULL DEFAULT 0,
        UNIQUE (feed_url, item_key)
    );
    INSERT INTO items_v8 (id, feed_url, item_key, canonical_url, story_id, data, first_seen,
                          content_hash, fingerprint, same_feed)
        SELECT id, feed_url, item_key, canonical_url, story_id, data, first_seen,
               content_hash, fingerprint, same_feed FROM items;
    DROP TABLE items;
    ALTER TABLE items_v8 RENAME TO items;
    CREATE INDEX items_canonical_url ON items (canonical_url);
    CREATE INDEX items_story ON items (story_id);
    CREATE INDEX items_first_seen ON items (first_seen);
    DELETE FROM sqlite_sequence WHERE name IN ('items', 'items_v8');
    INSERT INTO sqlite_sequence (name, seq) SELECT 'items', MAX(used) FROM (
        SELECT 0 AS used UNION ALL SELECT MAX(id) FROM items
        UNION ALL SELECT MAX(story_id) FROM items UNION ALL SELECT MAX(story_id) FROM outbox
        UNION ALL SELECT MAX(item_id) FROM matches
    );
    """,
    # 9: the daemon's config, as `status` shows it (issue 15): when a config was last
    # loaded, and the last reload that failed (its redacted errors) since then.
    """
    CREATE TABLE config_reload (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        loaded_at TEXT,
        failed_at TEXT,
        errors TEXT
    );
    """,
    # 10: several instances on one database (issue 17, store/leases.py): who holds each
    # feed's poll and until when (lease_epoch counts claims, fencing a stale owner's
    # commit), the channel leases, periodic jobs fired once in the cluster, and the
    # instances' heartbeats. The index serves the claim ("due feeds, oldest first").
    """
    ALTER TABLE feeds ADD COLUMN lease_owner TEXT;
    ALTER TABLE feeds ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE feeds ADD COLUMN lease_until TEXT;
    CREATE INDEX feeds_next_poll ON feeds (next_poll, url);
    CREATE TABLE channel_leases (
        channel TEXT PRIMARY KEY,
        owner TEXT,
        epoch INTEGER NOT NULL DEFAULT 0,
        lease_until TEXT
    );
    CREATE TABLE ticks (
        name TEXT PRIMARY KEY,
        next_at TEXT NOT NULL
    );
    CREATE TABLE instances (
        owner TEXT PRIMARY KEY,
        started_at TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL,
        info TEXT NOT NULL
    );
    """,
    # 11: compact items (issue #18, store/compaction.py): feeds by id (feed_refs), item
    # keys and canonical links indexed by 64-bit hashes, a canonical link equal to the
    # item's link not repeated, matches WITHOUT ROWID with no time of their own when
    # recorded at their item's first sight, compact feeds.entry_sigs.
    sqlite_11,
    # 12: a multi-part Slack message resumes where it stopped, in any process (issue 17,
    # notify/slack.py): how many of its parts the destination accepted.
    """
    ALTER TABLE messages ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0;
    """,
    # 13: per-host politeness across instances (issue 17, store/leases.py): each feed's
    # host, filled from its key, and live leases indexed by host for the claim's count.
    add_feed_hosts,
    # 14: no index on items.first_seen (issue #18: 32 of ~425 bytes an item). Items are
    # numbered as they are recorded, so pruning and the story index's load find their
    # first id by bisection over the primary key (store/itemreads.py first_id_since).
    """
    DROP INDEX IF EXISTS items_first_seen;
    """,
    # 15: entry signatures as 8-byte digests (issue #18, ingest/changes.py) in a column
    # of their own: an instance of the previous version reads entry_sigs as JSON (it
    # finds NULL there once a feed is polled by this version, and parses the feed whole).
    """
    ALTER TABLE feeds ADD COLUMN entry_digests TEXT;
    """,
    # 16: the id-keyed JSON signatures of earlier versions carried over to
    # entry_digests (the same digests), so no feed is parsed whole after the upgrade.
    entry_digests_from_sigs,
    # 17: item format 4 (issue #18, store/codec.py): the name a feed's item rows leave
    # out. NULL for a feed recorded by an earlier version until this one records an
    # item of it (store/items.py feed_ref); that version's rows spell the name out.
    """
    ALTER TABLE feed_refs ADD COLUMN name TEXT;
    """,
    # 18: a story's items indexed only where the story is not the item's own (issue
    # #18: 12 bytes an item; most items start their story). Queries spell the test as
    # store/itemreads.py in_story. PostgreSQL keeps its full index: an instance of the
    # previous version, in a rolling upgrade, asks for story_id alone. From this schema
    # on, SQLite writes item format 5 (slim rows as arrays, store/itemcodec.py), which
    # an earlier version, refusing this schema, never meets.
    """
    DROP INDEX items_story;
    CREATE INDEX items_story ON items (story_id) WHERE story_id <> id;
    """,
    # 19: the warning of the feed's last parse (malformed XML read loosely, a charset
    # that did not fit), so `status` shows a feed whose alerts may be degraded.
    """
    ALTER TABLE feeds ADD COLUMN parse_warning TEXT;
    ALTER TABLE feeds ADD COLUMN parse_warning_at TEXT;
    """,
    # 20: how a feed's legacy charset label is read, decided once while the feed has no
    # item (ingest/mislabel.py, store/charsets.py): 'utf-8', 'declared', or NULL (never
    # decided: every feed of an earlier version, read as before, so no item's id changes).
    """
    ALTER TABLE feeds ADD COLUMN charset_reading TEXT;
    """,
]


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to the newest schema; return the version it is at.

    Foreign keys are off while migrations run (a table rebuild drops a table that
    others refer to, as sqlite.org/lang_altertable prescribes), checked before each
    migration commits, and set back as they were afterwards. Raises RuntimeError for
    a database newer than this code, and sqlite3.IntegrityError (the migration rolled
    back) for one that would leave a dangling reference.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"database schema version {version} is newer than this news-monitor "
            f"({len(MIGRATIONS)}): upgrade news-monitor"
        )
    if version == len(MIGRATIONS):
        return version
    foreign_keys = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                if callable(script):
                    script(conn)
                else:
                    for statement in script.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                if conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
                    raise sqlite3.IntegrityError(f"migration {number} leaves a dangling reference")
                conn.execute(f"PRAGMA user_version = {number}")
    finally:
        conn.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
    return len(MIGRATIONS)
