"""Contract: the migration to the compact item schema (SQLite 11, PostgreSQL 3;
monitor/store/compaction.py) converts what the schema before it held, on both backends.

Each test writes rows as the previous schema stored them, straight into a database
migrated that far, then opens the Store (which migrates) and reads through it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.models import FeedRef
from monitor.store import compaction, pgschema, schema
from monitor.store.codec import text_hash
from monitor.store.items import Items
from monitor.store.sqlite import DB_NAME, Store
from tests.contract.common import NOW, item, record_ids

A, B, C = "https://a.example/rss", "https://b.example/rss", "https://c.example/rss"
SEEN, LATER = "2026-11-20T08:00:00Z", "2026-11-21T09:00:00Z"
ITEMS = [  # id, feed, key, canonical link, data, as schema 10 stored them
    (
        1,
        A,
        "k1",
        "http://a.example/1",
        '{"v":2,"title":"t1","feed":"A","link":"https://www.a.example/1/"}',
    ),
    (
        2,
        A,
        "k2",
        "http://a.example/x",
        '{"v":2,"title":"t2","feed":"A","link":"https://a.example/2"}',
    ),
    (3, B, "k3", "http://b.example/3", "not json"),  # damaged: converted as it is
    (6, B, "k6", None, '{"v":2,"title":"t6","feed":"B"}'),
]
MATCHES = [(1, "r", "{}", SEEN), (2, "r", '{"terms":["x"]}', LATER)]
BULK = compaction.BATCH + 5  # more rows than one batch of PostgreSQL's hash fill


class Old:
    """A database at the schema before compaction, written through its raw connection."""

    def __init__(self, dialect: str, tmp_path: Path, pg_db: str | None) -> None:
        self.dialect, self.tmp_path, self.pg_db = dialect, tmp_path, pg_db
        if dialect == "sqlite":
            self.conn = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
            for script in schema.MIGRATIONS[:10]:
                for statement in script.split(";"):  # type: ignore[union-attr]
                    if statement.strip():
                        self.conn.execute(statement)
            self.conn.execute("PRAGMA user_version = 10")
        else:
            from monitor.store.postgres import PgConnection

            self.conn = PgConnection(pg_db)
            for number in (1, 2):
                pgschema._apply(self.conn, number)

    def fill(self) -> None:
        """ITEMS and MATCHES, BULK items of feed C, items 4 and 5 pruned (the highest
        id handed out was 7), the feeds' poll state."""
        self.conn.execute("BEGIN")
        insert = (
            "INSERT INTO items (id, feed_url, item_key, canonical_url, story_id, data, "
            "first_seen, content_hash, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, 'h', NULL)"
        )
        self.conn.executemany(insert, [(i, f, k, c, i, d, SEEN) for i, f, k, c, d in ITEMS])
        self.conn.executemany(
            insert,
            [
                (100 + n, C, f"bulk-{n}", f"http://c.example/{n}", 100 + n, "{}", SEEN)
                for n in range(BULK)
            ],
        )
        self.conn.executemany("INSERT INTO matches VALUES (?, ?, ?, ?)", MATCHES)
        for url in (A, B, C):
            self.conn.execute(
                "INSERT INTO feeds (url, name, first_polled, entry_sigs) VALUES (?, ?, ?, ?)",
                (url, url[8], SEEN, '{"k1": "a085fff9de668202"}'),
            )
        if self.dialect == "sqlite":
            self.conn.execute("UPDATE sqlite_sequence SET seq = 2000 WHERE name = 'items'")
        else:
            self.conn.execute("SELECT setval(pg_get_serial_sequence('items', 'id'), 2000)")
        self.conn.execute("COMMIT")
        self.conn.close()

    def open(self) -> Store:
        if self.dialect == "sqlite":
            return Store.open(self.tmp_path)
        return Store.open_postgres(self.pg_db)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgresql"])
def old(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Old]:
    pg_db = request.getfixturevalue("pg_db") if request.param == "postgresql" else None
    yield Old(request.param, tmp_path, pg_db)


def test_items_and_matches_are_converted(old):
    old.fill()
    store = old.open()
    try:
        conn = store.conn
        urls = [r[0] for r in conn.execute("SELECT url FROM feed_refs ORDER BY id")]
        assert urls == [A, B, C]  # in the order of their first item
        rows = conn.execute(
            "SELECT id, item_key, key_hash, url_hash, canonical_url FROM items WHERE id < 100 "
            "ORDER BY id"
        ).fetchall()
        assert [tuple(r) for r in rows] == [
            (1, "k1", text_hash("k1"), text_hash("http://a.example/1"), None),  # the link's
            (2, "k2", text_hash("k2"), text_hash("http://a.example/x"), "http://a.example/x"),
            (3, "k3", text_hash("k3"), text_hash("http://b.example/3"), "http://b.example/3"),
            (6, "k6", text_hash("k6"), None, None),
        ]
        bulk = conn.execute("SELECT item_key, key_hash, url_hash FROM items WHERE id >= 100")
        assert all(
            (h, u) == (text_hash(k), text_hash(f"http://c.example/{k[5:]}")) for k, h, u in bulk
        )
        times = conn.execute("SELECT item_id, created_at FROM matches ORDER BY item_id")
        assert [tuple(r) for r in times] == [(1, None), (2, LATER)]  # 1 was at first sight
        items = Items(store)
        assert set(items.known(A, ["k1", "k2", "k3"])) == {"k1", "k2"}
        assert set(items.known(C, [f"bulk-{n}" for n in range(BULK)])) == {
            f"bulk-{n}" for n in range(BULK)
        }
        assert items.stories_by_url("http://a.example/1") == [1]
        assert items.stories_by_url("http://b.example/3") == [3]
        assert items.rules_matched(1) == {"r"}
        # ids keep counting past the highest ever handed out (pruned ones included)
        new_id, _, _ = record_ids(store, item(FeedRef("a", A), "k9"), now=NOW)
        assert new_id == 2001
        if store.dialect == "sqlite":
            sigs = conn.execute("SELECT entry_sigs FROM feeds WHERE url = ?", (A,)).fetchone()[0]
            assert sigs == '{"k1":"a085fff9de668202"}'
    finally:
        store.close()
