"""Contract: a story's items are found whether or not the story is the item's own, on
both backends, and on SQLite through an index that leaves own stories out (issue #18,
schema 18, store/itemreads.py ``in_story``)."""

from __future__ import annotations

from monitor.store import history
from monitor.store.deadletters import requeue
from monitor.store.digests import story_of
from monitor.store.items import Items
from monitor.store.outbox import Outbox
from tests.contract.common import FEED_A, FEED_B, NOW, item, record_ids, scalar

CANONICAL = "http://x.example/story"


def _three_items(store) -> tuple[int, int]:
    """a1 starts a story that b1 joins; a2 has a story of its own. (story, lone story)"""
    _, story, _ = record_ids(store, item(FEED_A, "a1", "https://x.example/story"), CANONICAL)
    _, joined, _ = record_ids(store, item(FEED_B, "b1", "https://x.example/story?s=b"), CANONICAL)
    _, lone, _ = record_ids(store, item(FEED_A, "a2", "https://a.example/2"))
    assert joined == story != lone
    return story, lone


def test_a_storys_items_are_read_whether_the_story_is_their_own_or_joined(any_store):
    story, lone = _three_items(any_store)
    shared = story_of(any_store.conn, story, ["r1"])
    assert shared.item.id == "a1" and [d.guid for d in shared.duplicates] == ["b1"]
    alone = story_of(any_store.conn, lone, ["r1"])
    assert alone.item.id == "a2" and alone.duplicates == ()
    items = Items(any_store)
    assert [m.key for m in items.feed_mates(story, FEED_A.url)] == ["a1"]
    assert [m.key for m in items.feed_mates(story, FEED_B.url)] == ["b1"]
    assert [m.key for m in items.feed_mates(lone, FEED_A.url)] == ["a2"]
    message = Outbox(any_store).next_message("c1", NOW)
    shown = history.message(any_store.conn, message.id)
    first = next(s for s in shown["stories"] if s["story"]["id"] == story)
    assert first["story"]["first"] and first["story"]["copies_total"] == 1
    assert [c["title"] for c in first["story"]["copies"]] == ["title b1"]


def test_a_dead_letter_whose_story_still_has_items_is_requeued(any_store):
    story, lone = _three_items(any_store)
    outbox = Outbox(any_store)
    message = outbox.next_message("c1", NOW)
    with any_store.transaction():
        outbox.mark_failed(message.id, "refused", NOW)
        for gone in (story, lone):  # the items that started them; b1 is left
            any_store.conn.execute("DELETE FROM matches WHERE item_id = ?", (gone,))
            any_store.conn.execute("DELETE FROM items WHERE id = ?", (gone,))
    (requeued,) = requeue(any_store, "c1", NOW)
    assert (requeued.message_id, requeued.stories, requeued.pruned) == (message.id, 1, 1)


def test_on_sqlite_the_story_reads_use_the_index_not_a_scan(tmp_path):
    from monitor.store.sqlite import Store

    store = Store.open(tmp_path)
    story, lone = _three_items(store)
    message = Outbox(store).next_message("c1", NOW)
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    story_of(store.conn, story, ["r1"])
    history.message(store.conn, message.id)
    Items(store).feed_mates(lone, FEED_A.url)
    store.conn.set_trace_callback(None)
    reads = [s for s in statements if "items" in s and s.lstrip().upper().startswith("SELECT")]
    assert len(reads) >= 5
    for sql in reads:
        plan = [row[3] for row in store.conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
        assert not [p for p in plan if p.startswith("SCAN i")], (sql, plan)
        if "story_id <>" in sql:  # by story: not by feed, which may hold every item
            assert "MULTI-INDEX OR" in plan, (sql, plan)
            assert any("items_story" in p for p in plan), (sql, plan)
    index_sql = scalar(store, "SELECT sql FROM sqlite_master WHERE name = 'items_story'")
    assert "WHERE story_id <> id" in index_sql
    store.close()


def test_an_item_with_the_storys_id_but_another_story_is_not_read_as_its_first(any_store):
    """Before schema 8 ids could be reused: the row numbered like a story may belong to
    another story; it is not read as that story's first item."""
    story, lone = _three_items(any_store)
    any_store.conn.execute("UPDATE items SET story_id = ? WHERE id = ?", (lone, story))
    shown = story_of(any_store.conn, story, ["r1"])
    assert [shown.item.id, *[d.guid for d in shown.duplicates]] == ["b1"]
    assert [m.key for m in Items(any_store).feed_mates(story, FEED_A.url)] == []
