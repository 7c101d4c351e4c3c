"""The compact item schema (issue #18): SQLite's migration 11, PostgreSQL's 3.

What changes, and why (bytes per item measured with SQLite's ``dbstat``, docs/dedup.md
*What is stored*):

- items name their feed by a small integer, ``feed_id``, into ``feed_refs (id, url)``,
  instead of repeating the feed's URL in every row and in the key index;
- the item key and the canonical link are indexed by a 64-bit hash
  (:func:`~monitor.store.codec.text_hash`, ``key_hash`` and ``url_hash``) instead of
  the text; the rows keep the text, and every lookup compares it, so two texts that
  share a hash are told apart. ``(feed_id, key_hash)`` is therefore not UNIQUE: one
  writer per feed (the poll holds its feed) keeps a key to one row;
- ``canonical_url`` is NULL when it is the canonical form of the item's own link
  (``data``'s ``link``, :func:`monitor.dedup.urls.canonical_url`), as the pipeline
  stores every item;
- ``same_feed`` (never read) is gone;
- ``matches.created_at`` is NULL when the match was recorded when its item was first
  seen (the item's ``first_seen`` says when: most matches, every baseline match);
  ``matches`` is a WITHOUT ROWID table on SQLite (its key is the table), and the
  ``(rule, created_at)`` index is gone (no query used it: ``status`` counts every
  match, ``history`` sorts by time);
- ``feeds.entry_sigs`` is rewritten without spaces (SQLite's ``json()``).

Both run in the migration's transaction and in bounded memory: SQLite rebuilds the
tables with ``INSERT … SELECT`` (streamed; the hashes by a function registered on the
connection), PostgreSQL alters them in place and fills the hashes in batches of
:data:`BATCH` rows.
"""

from __future__ import annotations

import json
import sqlite3

from monitor.dedup.urls import canonical_url
from monitor.store.codec import text_hash
from monitor.store.dialect import Connection

BATCH = 1000  # rows per batch of PostgreSQL's hash fill

_SQLITE_11 = """
CREATE TABLE feed_refs (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE
);
INSERT INTO feed_refs (url) SELECT feed_url FROM items GROUP BY feed_url ORDER BY MIN(id);
CREATE TABLE items_v11 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    feed_id INTEGER NOT NULL REFERENCES feed_refs (id),
    key_hash INTEGER NOT NULL,
    item_key TEXT NOT NULL,
    url_hash INTEGER,
    canonical_url TEXT,
    story_id INTEGER NOT NULL,
    data TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    content_hash TEXT,
    fingerprint INTEGER
);
INSERT INTO items_v11 (id, feed_id, key_hash, item_key, url_hash, canonical_url, story_id,
                       data, first_seen, content_hash, fingerprint)
    SELECT i.id, r.id, nm_text_hash(i.item_key), i.item_key, nm_text_hash(i.canonical_url),
           CASE WHEN NOT json_valid(i.data) THEN i.canonical_url
                WHEN i.canonical_url = nm_canonical(json_extract(i.data, '$.link')) THEN NULL
                ELSE i.canonical_url END,
           i.story_id, i.data, i.first_seen, i.content_hash, i.fingerprint
    FROM items i JOIN feed_refs r ON r.url = i.feed_url ORDER BY i.id;
CREATE TABLE matches_v11 (
    item_id INTEGER NOT NULL REFERENCES items (id),
    rule TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT,
    PRIMARY KEY (item_id, rule)
) WITHOUT ROWID;
INSERT INTO matches_v11 (item_id, rule, data, created_at)
    SELECT m.item_id, m.rule, m.data, NULLIF(m.created_at, i.first_seen)
    FROM matches m LEFT JOIN items_v11 i ON i.id = m.item_id ORDER BY m.item_id, m.rule;
DROP TABLE matches;
DROP TABLE items;
ALTER TABLE items_v11 RENAME TO items;
ALTER TABLE matches_v11 RENAME TO matches;
CREATE INDEX items_key ON items (feed_id, key_hash);
CREATE INDEX items_url ON items (url_hash) WHERE url_hash IS NOT NULL;
CREATE INDEX items_story ON items (story_id);
CREATE INDEX items_first_seen ON items (first_seen);
UPDATE feeds SET entry_sigs = json(entry_sigs) WHERE json_valid(entry_sigs)
"""


def sqlite_11(conn: sqlite3.Connection) -> None:
    """SQLite's migration 11 (module docstring), inside the caller's transaction.

    The items table is rebuilt (its ids and AUTOINCREMENT mark kept: a pruned item's
    id never comes back), and so is ``matches``.
    """
    conn.create_function("nm_text_hash", 1, text_hash, deterministic=True)
    conn.create_function("nm_canonical", 1, _canonical, deterministic=True)
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'items'").fetchone()
    mark = row[0] if row else 0
    for statement in _SQLITE_11.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("DELETE FROM sqlite_sequence WHERE name IN ('items', 'items_v11')")
    conn.execute(
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'items', MAX(used) FROM ("
        "SELECT ? AS used UNION ALL SELECT MAX(id) FROM items "
        "UNION ALL SELECT MAX(story_id) FROM items UNION ALL SELECT MAX(story_id) FROM outbox "
        "UNION ALL SELECT MAX(item_id) FROM matches)",
        (mark,),
    )


_PG_3_BEFORE = """
CREATE TABLE feed_refs (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    url TEXT COLLATE "C" NOT NULL UNIQUE
);
INSERT INTO feed_refs (url) SELECT feed_url FROM items GROUP BY feed_url ORDER BY MIN(id);
ALTER TABLE items ADD COLUMN feed_id BIGINT REFERENCES feed_refs (id),
    ADD COLUMN key_hash BIGINT, ADD COLUMN url_hash BIGINT;
UPDATE items SET feed_id = r.id FROM feed_refs r WHERE r.url = items.feed_url
"""
_PG_3_AFTER = """
ALTER TABLE items ALTER COLUMN feed_id SET NOT NULL, ALTER COLUMN key_hash SET NOT NULL,
    DROP COLUMN feed_url, DROP COLUMN same_feed;
DROP INDEX items_canonical_url;
CREATE INDEX items_key ON items (feed_id, key_hash);
CREATE INDEX items_url ON items (url_hash) WHERE url_hash IS NOT NULL;
DROP INDEX matches_rule_time;
ALTER TABLE matches ALTER COLUMN created_at DROP NOT NULL;
UPDATE matches SET created_at = NULL FROM items i
    WHERE i.id = matches.item_id AND matches.created_at = i.first_seen
"""


def postgresql_3(conn: Connection) -> None:
    """PostgreSQL's migration 3 (module docstring), inside the caller's transaction:
    columns added, the hashes filled :data:`BATCH` rows at a time (in id order), then
    the old columns and indexes dropped and the new indexes built."""
    _run(conn, _PG_3_BEFORE)
    last = 0
    while True:
        rows = conn.execute(
            "SELECT id, item_key, canonical_url, data FROM items WHERE id > ? ORDER BY id LIMIT ?",
            (last, BATCH),
        ).fetchall()
        if not rows:
            break
        conn.executemany(
            "UPDATE items SET key_hash = ?, url_hash = ?, canonical_url = ? WHERE id = ?",
            [(text_hash(k), text_hash(u), _unless_link(u, d), i) for i, k, u, d in rows],
        )
        last = rows[-1][0]
    _run(conn, _PG_3_AFTER)


def _canonical(link: object) -> str | None:
    """The canonical form of a stored link (None for anything but text)."""
    return canonical_url(link) if isinstance(link, str) else None


def _unless_link(canonical: str | None, data: str) -> str | None:
    """``canonical``, or None when it is the canonical form of the link stored in
    ``data`` (when ``data`` is not an item's JSON the link is unknown: it stays)."""
    try:
        link = json.loads(data).get("link")
    except (ValueError, AttributeError):
        return canonical
    return None if canonical is not None and canonical == _canonical(link) else canonical


def _run(conn: Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)
