"""Contract: a feed's charset reading (``feeds.charset_reading``, SQLite migration 20,
PostgreSQL 12; monitor/store/charsets.py) on both backends.

It is decided while the feed never had an item stored, or, for a feed an earlier
version stored items of, with its items renamed to the new reading's keys in the same
transaction; once kept it stands; feeds of an earlier schema migrate undecided.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.store import pgschema, schema
from monitor.store.charsets import keep_reading, may_decide
from monitor.store.items import Items
from monitor.store.sqlite import DB_NAME, Store
from tests.contract.common import FEED_A, FEED_B, NOW, item, record_ids

FEED_C = "https://c.example/rss"


def polled(store: Store, url: str) -> None:
    """A successful poll of feed ``url`` (its row, no item)."""
    store.record_poll_success(url, url[8], NOW, NOW, None, None)


def test_a_reading_is_decided_only_before_the_first_item_and_kept_once(any_store):
    store = any_store
    assert may_decide(store, FEED_A.url, None)  # never polled
    polled(store, FEED_A.url)
    state = store.feed(FEED_A.url)
    assert state is not None and state.charset_reading is None
    assert may_decide(store, FEED_A.url, state)  # polled, no item yet
    keep_reading(store, FEED_A.url, "A", "utf-8")
    keep_reading(store, FEED_A.url, "A", "declared")  # the first decision stands
    state = store.feed(FEED_A.url)
    assert state is not None and state.charset_reading == "utf-8"
    assert not may_decide(store, FEED_A.url, state)
    assert [f.charset_reading for f in store.feeds()] == ["utf-8"]

    record_ids(store, item(FEED_B, "b-1"))  # an item row, its feed's count left at 0
    polled(store, FEED_B.url)
    state = store.feed(FEED_B.url)
    assert state is not None and state.items_seen == 0
    assert not may_decide(store, FEED_B.url, state)

    polled(store, FEED_C)  # items counted, then pruned: their ids are tombstones
    with store.transaction():
        Items(store).count_seen(FEED_C, 3)
    assert not may_decide(store, FEED_C, store.feed(FEED_C))


@pytest.mark.parametrize("reading", ["declared", "label"])
def test_keeping_a_reading_makes_the_feeds_row_when_it_has_none(any_store, reading):
    keep_reading(any_store, FEED_A.url, "A", reading)
    state = any_store.feed(FEED_A.url)
    assert state is not None and (state.name, state.charset_reading) == ("A", reading)
    assert not may_decide(any_store, FEED_A.url, state)


def test_a_feed_read_anew_keeps_its_reading_and_renames_its_items_in_one_go(any_store):
    """A feed with items and no reading (first read by an earlier version): keeping a
    reading renames its stored items from the keys the old reading gave to the new
    ones (``{old: new}``); a key not stored is skipped, and a reading already kept
    (another instance decided first) renames nothing."""
    store = any_store
    record_ids(store, item(FEED_B, "zÃ¼rich-1"))
    record_ids(store, item(FEED_B, "plain-1"))
    carried = {"zÃ¼rich-1": "zürich-1", "gone-1": "gone-2"}
    assert keep_reading(store, FEED_B.url, "B", "utf-8", carried) == 1
    keys = Items(store).known(FEED_B.url, ["zürich-1", "zÃ¼rich-1", "plain-1"])
    assert sorted(keys) == ["plain-1", "zürich-1"]
    assert store.feed(FEED_B.url).charset_reading == "utf-8"
    assert keep_reading(store, FEED_B.url, "B", "label", {"plain-1": "plain-2"}) == 0
    assert sorted(Items(store).known(FEED_B.url, ["plain-1", "plain-2"])) == ["plain-1"]


def test_renamed_keys_may_chain_or_trade_places(any_store):
    """Keys read anew may be other entries' old keys: ``a`` → ``b`` while ``b`` → ``c``
    (``b`` is free once its row moves), ``x`` ↔ ``y``; a row that stays keeps its key
    (``s``), and of two old keys asking for one new key the first gets it."""
    store = any_store
    for key in ("a", "b", "x", "y", "s", "t", "u"):
        record_ids(store, item(FEED_B, key))
    ids = {k: v.id for k, v in Items(store).known(FEED_B.url, "abxystu").items()}
    carried = {"a": "b", "b": "c", "x": "y", "y": "x", "t": "s", "u": "v", "s2": "v"}
    assert keep_reading(store, FEED_B.url, "B", "utf-8", carried) == 5
    now = {k: v.id for k, v in Items(store).known(FEED_B.url, "abcxystuv").items()}
    assert now == {
        "b": ids["a"],
        "c": ids["b"],
        "x": ids["y"],
        "y": ids["x"],
        "s": ids["s"],
        "t": ids["t"],
        "v": ids["u"],
    }


class Old:
    """A database at the schema before SQLite migration 20 (PostgreSQL: 12), one feed
    that has stored items, written as that schema stored it."""

    def __init__(self, dialect: str, tmp_path: Path, pg_db: str | None) -> None:
        self.dialect, self.tmp_path, self.pg_db = dialect, tmp_path, pg_db
        if dialect == "sqlite":
            conn = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
            newest = schema.MIGRATIONS
            try:
                schema.MIGRATIONS = newest[:19]
                schema.migrate(conn)
            finally:
                schema.MIGRATIONS = newest
        else:
            from monitor.store.postgres import PgConnection

            conn = PgConnection(pg_db)
            for number in range(1, 12):
                pgschema._apply(conn, number)
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO feeds (url, name, first_polled, items_seen) VALUES (?, 'A', ?, 4)",
            (FEED_A.url, "2026-11-20T08:00:00Z"),
        )
        conn.execute("COMMIT")
        conn.close()

    def open(self) -> Store:
        if self.dialect == "sqlite":
            return Store.open(self.tmp_path)
        return Store.open_postgres(self.pg_db)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgresql"])
def old(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Old]:
    pg_db = request.getfixturevalue("pg_db") if request.param == "postgresql" else None
    yield Old(request.param, tmp_path, pg_db)


def test_a_feed_of_an_earlier_schema_migrates_undecided_and_stays_so(old):
    store = old.open()  # migrates
    try:
        state = store.feed(FEED_A.url)
        assert state is not None and state.charset_reading is None
        assert not may_decide(store, FEED_A.url, state)  # it has items: read as before
        polled(store, FEED_B.url)
        assert may_decide(store, FEED_B.url, store.feed(FEED_B.url))  # a new feed may
    finally:
        store.close()
