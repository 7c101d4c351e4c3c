"""Contract: slim rows of item format 5 (JSON arrays) are read by SQL and Python on
both backends. SQLite writes them; PostgreSQL holds them after ``store copy``, so its
SQL reads them too (store/itemreads.py ``item_field``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.models import FeedRef, Item, Match
from monitor.store import history
from monitor.store.digests import story_of
from monitor.store.itemcodec import ITEM_FORMAT
from monitor.store.items import Items
from monitor.store.outbox import Outbox
from tests.contract.common import FEED_A, NOW, insert, scalar

PUBLISHED = datetime(2018, 8, 15, 11, 41, tzinfo=UTC)


def _slim(
    items: Items, key: str, link: str | None, published: datetime | None, story=None
) -> tuple[int, int]:
    """Record a slim item (no rule will show it) keyed ``key``; (item id, story id)."""
    one = Item(
        feed=FEED_A, id=key, title=f"[{key}] title", link=link, guid=key, published=published
    )
    return insert(items, one, canonical=link, story_id=story, full=False)


def test_slim_rows_of_format_5_are_read_by_sql_on_both_backends(any_store):
    items = Items(any_store)
    items.item_format = ITEM_FORMAT  # on PostgreSQL: rows as `store copy` brings them
    with any_store.transaction():
        _, story = _slim(items, "a", "https://x.example/a", PUBLISHED)
        _slim(items, "b", "https://x.example/b", None, story=story)
        _slim(items, "c", None, PUBLISHED - timedelta(days=1))
    data = scalar(any_store, "SELECT data FROM items WHERE item_key = 'a'")
    assert data == '["[a] title","https://x.example/a",1534333260]'
    assert items.stories_by_url("https://x.example/a") == [story]
    mates = items.feed_mates(story, FEED_A.url)
    assert [(m.key, m.title) for m in mates] == [("a", "[a] title"), ("b", "[b] title")]
    times = items.publish_times(FEED_A.url, first_polled=None)
    assert sorted(times) == [PUBLISHED - timedelta(days=1), PUBLISHED, NOW]  # b: first seen
    read = story_of(any_store.conn, story, ["r1"])
    assert (read.item.title, read.item.link, read.item.published) == (
        "[a] title",
        "https://x.example/a",
        PUBLISHED,
    )
    assert [d.guid for d in read.duplicates] == ["b"]


def test_history_shows_a_slim_rows_title_and_link(any_store):
    items = Items(any_store)
    items.item_format = ITEM_FORMAT
    with any_store.transaction():
        item_id, story = _slim(items, "a", "https://x.example/a", PUBLISHED)
        items.add_matches(item_id, [Match("r1", ("pompeo",))], NOW)
        items.queue_alerts(story, (("r1", ("c1",)),), NOW)
    message = Outbox(any_store).next_message("c1", NOW)
    shown = history.message(any_store.conn, message.id)
    assert [(s["title"], s["link"]) for s in shown["stories"]] == [
        ("[a] title", "https://x.example/a")
    ]
    rows, _ = history.list_matches(any_store.conn, history.Filters(limit=5))
    assert [(r["title"], r["link"]) for r in rows] == [("[a] title", "https://x.example/a")]


def test_slim_rows_keep_their_id_and_feed_name_when_their_key_or_feed_row_changes(any_store):
    """What a slim row leaves to its columns is spelled out before a column changes: the
    item's id when an adopted key renames the row, the feed's name when the feed's
    items move onto another feed's row (rename_feed)."""
    items = Items(any_store)
    items.item_format = ITEM_FORMAT
    with any_store.transaction():
        _, story = _slim(items, "old-key", "https://x.example/a", PUBLISHED)
    renamed = {"new-key": Item(feed=FEED_A, id="new-key", title="t", former_key="old-key")}
    assert items.adopt_former_keys(FEED_A.url, renamed) == 1
    assert set(items.known(FEED_A.url, ["old-key", "new-key"])) == {"new-key"}
    kept = story_of(any_store.conn, story, ["r1"]).item
    assert (kept.id, kept.title, kept.feed) == ("old-key", "[old-key] title", FEED_A)
    other = "https://a.example/feed.xml"
    with any_store.transaction():
        insert(items, Item(feed=FeedRef("Other desk", other), id="n1", title="n"), full=False)
    any_store.record_poll_success(FEED_A.url, "A", NOW, NOW, None, None)
    assert any_store.rename_feed(FEED_A.url, other)
    moved = story_of(any_store.conn, story, ["r1"]).item
    assert (moved.id, moved.feed) == ("old-key", FeedRef("A", other))
    assert scalar(any_store, "SELECT data FROM items WHERE item_key = 'new-key'").startswith("[")
