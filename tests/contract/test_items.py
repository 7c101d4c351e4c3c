"""Contract: seen items, stories, matches, alerts and retention, on both backends."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from monitor.dedup.folding import LINK_STORIES
from monitor.dedup.identity import content_hash, same_content
from monitor.dedup.joining import LinkStories
from monitor.models import FeedRef, Highlight, Item, Match
from monitor.recording import _known
from monitor.store.codec import match_from_json, ts
from monitor.store.digests import story_of
from monitor.store.itemcodec import ROLLING_FORMAT, pack_item
from monitor.store.itemreads import first_id_since
from monitor.store.items import Items, tombstone_key
from monitor.store.outbox import Outbox
from monitor.store.retention import prune
from tests.contract.common import (
    FEED_A,
    FEED_B,
    NOW,
    insert,
    item,
    record,
    record_ids,
    scalar,
)


def test_seen_items_are_recorded_once_per_feed(any_store):
    first = item(FEED_A, "g1", "https://a.example/1")
    assert Items(any_store).known(FEED_A.url, ["g1", "g2"]) == {}
    assert record(any_store, first, "http://a.example/1") == 1
    known = Items(any_store).known(FEED_A.url, ["g1", "g2"])
    assert set(known) == {"g1"} and known["g1"].content_hash == "h"
    assert known["g1"].id == known["g1"].story_id
    assert Items(any_store).known(FEED_B.url, ["g1"]) == {}  # per feed
    assert any_store.feed(FEED_A.url) is None  # items_seen counts only stored feeds
    any_store.record_poll_success(FEED_A.url, "A", NOW, NOW, None, None)
    record(any_store, item(FEED_A, "g2"))
    assert any_store.feed(FEED_A.url).items_seen == 1


def test_known_reads_keys_in_chunks(any_store):
    keys = [f"k{n}" for n in range(1203)]  # more than 2 chunks of 500
    items = Items(any_store)
    with any_store.transaction():
        for key in keys:
            items.insert(
                FEED_A.url,
                key,
                item(FEED_A, key),
                canonical_url=None,
                content_hash="h",
                fingerprint=None,
                story_id=None,
                now=NOW,
            )
    assert set(items.known(FEED_A.url, keys + ["nope"])) == set(keys)


def test_same_canonical_url_across_feeds_is_one_story_one_alert(any_store):
    a = item(FEED_A, "a1", "https://x.example/story?utm_source=a")
    b = item(FEED_B, "b7", "https://x.example/story?utm_source=b")
    assert record(any_store, a, "http://x.example/story") == 1
    assert record(any_store, b, "http://x.example/story") == 0
    outbox = Outbox(any_store)
    message = outbox.next_message("c1", NOW)
    (story,) = outbox.digest(message.id).stories
    assert story.item.id == "a1" and [d.guid for d in story.duplicates] == ["b7"]
    story_id = Items(any_store).stories_by_url("http://x.example/story")
    assert story_id == [Items(any_store).known(FEED_A.url, ["a1"])["a1"].story_id]
    titles = Items(any_store).feed_mates(story_id[0], FEED_B.url)
    assert [(m.key, m.title) for m in titles] == [("b7", "title b7")]


def test_stories_by_link_read_at_once_are_those_read_one_by_one(any_store):
    """ItemReads.stories_by_urls and LinkStories (a poll's new items) give what one
    read per link gives: stories oldest first, each once, at most LINK_STORIES, the
    canonical form stored or worked out from the link; and, as the poll records its
    own items, what a read inside its transaction would give."""
    items = Items(any_store)
    shared, landing = "http://x.example/story", "http://x.example/"
    with any_store.transaction():
        a1 = item(FEED_A, "a1", "https://x.example/story?utm_source=a")
        first = insert(items, a1, canonical=shared)[1]
        insert(
            items, item(FEED_B, "b1", "http://x.example/story"), canonical=shared, story_id=first
        )
        insert(items, item(FEED_B, "b2", "http://x.example/elsewhere"), canonical=shared)
        for n in range(LINK_STORIES + 3):
            insert(items, item(FEED_A, f"l{n}", "http://x.example/"), canonical=landing)
        insert(items, item(FEED_A, "none"))
    links = [shared, landing, "http://x.example/elsewhere", "http://nowhere.example/"]
    one_by_one = {url: items.stories_by_url(url) for url in links}
    assert len(one_by_one[shared]) == 2 and one_by_one[shared][0] == first
    assert len(one_by_one[landing]) == LINK_STORIES
    assert one_by_one["http://x.example/elsewhere"] == []  # stored under its canonical
    assert items.stories_by_urls(links) == {u: s for u, s in one_by_one.items() if s}
    # a row whose link hash is the shared link's, but whose link is another
    with any_store.transaction():
        other = insert(items, item(FEED_A, "x1", "http://other.example/"))[1]
        any_store.conn.execute(
            "UPDATE items SET url_hash = (SELECT url_hash FROM items WHERE item_key = 'b2'), "
            "canonical_url = 'http://other.example/' WHERE id = ?",
            (other,),
        )
    assert items.stories_by_urls([shared]) == {shared: one_by_one[shared]}
    assert other not in items.stories_by_url(shared)
    new_link = "http://new.example/a"
    with any_store.transaction():
        poll = LinkStories(items, [shared, None, new_link, landing])
        for key, url, joins in [
            ("c1", shared, first),  # joins a stored story
            ("c2", new_link, None),  # starts one on a new link
            ("c3", shared, None),  # starts one on a link with stored stories: comes last
            ("c4", landing, None),  # a link with LINK_STORIES already: not listed
            ("c5", new_link, None),
        ]:
            story = insert(items, item(FEED_B, key, url), canonical=url, story_id=joins)[1]
            poll.recorded(url, story)
            for link in (shared, new_link, landing):
                assert poll.stories(link) == items.stories_by_url(link), (key, link)
    assert len(poll.stories(new_link)) == 2 and poll.stories(shared)[:2] == one_by_one[shared]
    assert len(poll.stories(shared)) == 3 and poll.stories(landing) == one_by_one[landing]
    reading = LinkStories(items, None)  # a poll that edits a known item: read per lookup
    reading.recorded(new_link, first)
    assert reading.stories(new_link) == items.stories_by_url(new_link) == poll.stories(new_link)


def test_a_polls_known_items_include_those_carried_over_from_their_former_key(any_store):
    """recording._known reads the poll's stored keys once and hands them to the
    carry-over: a row stored under an item's former key is renamed to its key and then
    known under it; a key already stored keeps its own row, and the former row stays."""
    items = Items(any_store)
    with any_store.transaction():
        for key in ("http://a.example/g1", "http://a.example/g2", "g2"):
            insert(items, item(FEED_A, key))
    polled = {
        key: replace(item(FEED_A, key), former_key=f"http://a.example/{key}")
        for key in ("g1", "g2", "g3")
    }
    known, pruned = _known(any_store, FEED_A.url, polled)
    assert set(known) == {"g1", "g2"} and pruned == set()
    formers = [f"http://a.example/{k}" for k in ("g1", "g2")]
    assert set(items.known(FEED_A.url, formers)) == {"http://a.example/g2"}
    assert scalar(any_store, "SELECT COUNT(*) FROM items") == 3


def test_an_alert_is_queued_once_ever_per_story_rule_and_channel(any_store):
    item_id, story_id, queued = record_ids(
        any_store, item(FEED_A, "g1"), rules=("r1", "r2"), channels=("c1", "c2")
    )
    assert queued == 4
    items = Items(any_store)
    with any_store.transaction():
        again = items.queue_alerts(story_id, (("r1", ("c1", "c3")),), NOW)
    assert again == 1  # only (c3, r1) is new
    assert items.rules_matched(item_id) == {"r1", "r2"}


def test_an_outbox_row_older_than_its_story_is_a_collision_not_silent(any_store, caplog):
    # a row left under story id 1 by an earlier story that reused the id
    any_store.conn.execute(
        "INSERT INTO outbox (channel, story_id, rule, created_at, status) "
        "VALUES ('c1', 1, 'r1', ?, 'sent')",
        (ts(NOW - timedelta(days=3)),),
    )
    with caplog.at_level(logging.ERROR, logger="monitor.store"):
        _, story_id, queued = record_ids(any_store, item(FEED_A, "g1"))
    assert story_id == 1 and queued == 0
    assert "a reused story id" in caplog.text


def test_story_ids_are_never_reused_after_pruning(any_store):
    outbox = Outbox(any_store)
    for key in ("old1", "old2"):
        record(any_store, item(FEED_A, key))
        outbox.mark_sent(outbox.next_message("c1", NOW).id, "ok", NOW)
    newest = Items(any_store).known(FEED_A.url, ["old2"])["old2"].story_id
    counts = prune(any_store, NOW + timedelta(days=1), NOW + timedelta(days=31))
    assert counts == {"items": 2, "alerts": 2, "messages": 2, "tombstones": 0}
    assert scalar(any_store, "SELECT COUNT(*) FROM items") == 0
    _, story_id, queued = record_ids(any_store, item(FEED_B, "fresh"))
    assert story_id > newest and queued == 1


def test_a_new_story_is_numbered_as_its_first_item_whatever_ids_were_used(any_store):
    """SQLite writes a new story's id in the insert itself (items._NEXT_ID): it must
    be the id the row gets, after the newest row is deleted (ids are not reused) and
    after the sequence moved past the rows (a copy or a compaction may leave it so)."""
    items = Items(any_store)

    def new_story(key: str) -> tuple[int, int]:
        with any_store.transaction():
            item_id, story_id = insert(items, item(FEED_A, key))
        stored = scalar(any_store, f"SELECT story_id FROM items WHERE id = {item_id}")
        assert stored == story_id == item_id
        return item_id, story_id

    first, _ = new_story("a")
    second, _ = new_story("b")
    assert second == first + 1
    with any_store.transaction():
        any_store.conn.execute("DELETE FROM items WHERE id = ?", (second,))
    third, _ = new_story("c")
    assert third > second  # not reused
    if any_store.dialect == "sqlite":
        with any_store.transaction():
            any_store.conn.execute("UPDATE sqlite_sequence SET seq = 500 WHERE name = 'items'")
        assert new_story("d")[0] == 501
        with any_store.transaction():  # a sequence behind the rows: the largest id counts
            any_store.conn.execute("UPDATE sqlite_sequence SET seq = 7 WHERE name = 'items'")
        assert new_story("d2")[0] == 502
        with any_store.transaction():  # no sequence row at all (SQLite then takes MAX(id))
            any_store.conn.execute("DELETE FROM sqlite_sequence WHERE name = 'items'")
        assert new_story("d3")[0] == 503
    with any_store.transaction():
        joined = insert(items, item(FEED_B, "e"), story_id=first)
    assert joined[1] == first
    assert scalar(any_store, "SELECT COUNT(*) FROM items WHERE story_id <> id") == 1


def test_prune_leaves_tombstones_and_keeps_pending_stories(any_store):
    record(any_store, item(FEED_A, "old"))
    outbox = Outbox(any_store)
    outbox.mark_sent(outbox.next_message("c1", NOW).id, "ok", NOW)
    record(any_store, item(FEED_A, "waiting"))  # its alert is still pending
    counts = prune(any_store, NOW + timedelta(days=1), NOW + timedelta(days=31))
    assert counts["items"] == 1 and counts["alerts"] == 1 and counts["messages"] == 1
    items = Items(any_store)
    assert set(items.known(FEED_A.url, ["old", "waiting"])) == {"waiting"}
    assert items.pruned(FEED_A.url, ["old", "new"]) == {"old"}
    assert items.pruned(FEED_B.url, ["old"]) == set()
    # tombstones live a year
    later = prune(any_store, NOW, NOW + timedelta(days=31 + 366))
    assert later["tombstones"] == 1 and items.pruned(FEED_A.url, ["old"]) == set()


def test_an_edit_moves_the_stored_highlights_to_the_new_text(any_store):
    items = Items(any_store)
    old = Item(feed=FEED_A, id="e", title="Pompeo visits", guid="e")
    with any_store.transaction():
        item_id, _ = items.insert(
            FEED_A.url,
            "e",
            old,
            canonical_url=None,
            content_hash="h1",
            fingerprint=None,
            story_id=None,
            now=NOW,
        )
        items.add_matches(
            item_id,
            [
                Match("p", ("pompeo",), (Highlight("title", 0, 6, "pompeo"),)),
                Match("v", ("visits",), (Highlight("title", 7, 13, "visits"),)),
            ],
            NOW,
        )
    edited = Item(feed=FEED_A, id="e", title="Today Pompeo arrives", guid="e")
    with any_store.transaction():
        items.update(item_id, edited, "h2")
        items.add_matches(
            item_id, [Match("p", ("pompeo",), (Highlight("title", 6, 12, "pompeo"),))], NOW
        )
    rows = dict(
        any_store.conn.execute("SELECT rule, data FROM matches WHERE item_id = ?", (item_id,))
    )
    assert match_from_json("p", rows["p"]).highlights == (Highlight("title", 6, 12, "pompeo"),)
    v = match_from_json("v", rows["v"])
    assert v.highlights == () and v.terms == ("visits",)  # no longer where it was
    assert items.known(FEED_A.url, ["e"])["e"].content_hash == "h2"
    assert items.feed_mates(item_id, FEED_A.url)[0].title == "Today Pompeo arrives"


def test_publish_times_leave_out_the_first_polls_undated_backlog(any_store):
    any_store.record_poll_success(FEED_A.url, "A", NOW, NOW, None, None)
    dated = Item(feed=FEED_A, id="d", title="d", published=NOW - timedelta(hours=5))
    record(any_store, dated)
    record(any_store, item(FEED_A, "backlog"))  # undated, seen at the first poll
    later = NOW + timedelta(hours=2)
    record(any_store, item(FEED_A, "new"), now=later)
    times = Items(any_store).publish_times(FEED_A.url, NOW)
    assert sorted(times) == [NOW - timedelta(hours=5), later]


def test_former_keys_are_adopted_and_tombstones_carried(any_store):
    record(any_store, item(FEED_A, "old-key"))
    record(any_store, item(FEED_A, "gone-key"))
    outbox = Outbox(any_store)
    outbox.mark_sent(outbox.next_message("c1", NOW).id, "ok", NOW)
    gone = Items(any_store).known(FEED_A.url, ["gone-key"])["gone-key"]
    any_store.conn.execute("DELETE FROM matches WHERE item_id = ?", (gone.id,))
    any_store.conn.execute("DELETE FROM items WHERE id = ?", (gone.id,))
    any_store.conn.execute(
        "INSERT INTO tombstones VALUES (?, ?)",
        (tombstone_key(FEED_A.url, "gone-key"), ts(NOW)),
    )
    new = {
        "new-key": Item(feed=FEED_A, id="new-key", title="t", former_key="old-key"),
        "new-gone": Item(feed=FEED_A, id="new-gone", title="t", former_key="gone-key"),
    }
    assert Items(any_store).adopt_former_keys(FEED_A.url, new) == 1
    items = Items(any_store)
    assert set(items.known(FEED_A.url, ["old-key", "new-key"])) == {"new-key"}
    assert items.pruned(FEED_A.url, ["new-gone"]) == {"new-gone"}


def test_fingerprints_keep_all_64_bits_signed(any_store):
    extremes = (-(2**63), 2**63 - 1, -1)
    for n, fp in enumerate(extremes):
        record(any_store, item(FEED_A, f"f{n}"), fingerprint=fp, now=NOW + timedelta(minutes=n))
    found = list(Items(any_store).fingerprints_after(0, NOW + timedelta(minutes=1)))
    assert [fp for _, fp, _, _ in found] == [2**63 - 1, -1]
    assert found[0][3] == NOW + timedelta(minutes=1)


def test_first_id_since_bisects_the_ids_by_first_sight(any_store):
    conn = any_store.conn
    assert first_id_since(conn, ts(NOW)) == 1  # no items
    ids = [
        record_ids(any_store, item(FEED_A, f"k{n}"), now=NOW + timedelta(hours=n))[0]
        for n in range(7)
    ]
    for n, item_id in enumerate(ids):
        assert first_id_since(conn, ts(NOW + timedelta(hours=n))) == item_id
    assert first_id_since(conn, ts(NOW - timedelta(days=1))) == ids[0]
    assert first_id_since(conn, ts(NOW + timedelta(days=1))) == ids[-1] + 1


def test_prune_by_id_never_deletes_an_item_recorded_out_of_order_too_early(any_store):
    """Ids follow first sight only nearly (instances' clocks, a late transaction): an
    item with a low id but a recent first sight stays; one with a high id but an old
    first sight goes at a later prune, once the bound has passed it."""
    day = timedelta(days=1)
    old = record_ids(any_store, item(FEED_A, "old"), now=NOW)[0]
    young = record_ids(any_store, item(FEED_A, "young"), now=NOW + 10 * day)[0]
    late = record_ids(any_store, item(FEED_A, "late"), now=NOW)[0]  # old, numbered last
    outbox = Outbox(any_store)
    while (message := outbox.next_message("c1", NOW + 20 * day)) is not None:
        outbox.mark_sent(message.id, "ok", NOW + 20 * day)
    prune(any_store, NOW + day, NOW + 20 * day)
    left = {r[0] for r in any_store.conn.execute("SELECT id FROM items")}
    assert left == {young, late} and old not in left
    prune(any_store, NOW + 11 * day, NOW + 20 * day)
    assert scalar(any_store, "SELECT COUNT(*) FROM items") == 0


def test_the_story_index_load_reads_items_recorded_out_of_order(any_store):
    """Bisection alone would start after "c" (its id is past "b", its first sight
    before the window) and miss "b"; the margin reads from a day earlier."""
    day = timedelta(days=1)
    record_ids(any_store, item(FEED_A, "a"), now=NOW + 3 * day, fingerprint=1)
    record_ids(any_store, item(FEED_A, "b"), now=NOW + 5 * day, fingerprint=2)
    record_ids(any_store, item(FEED_A, "c"), now=NOW + 3.5 * day, fingerprint=3)
    record_ids(any_store, item(FEED_A, "d"), now=NOW + 6 * day, fingerprint=4)
    found = [fp for _, fp, _, _ in Items(any_store).fingerprints_after(0, NOW + 4 * day)]
    assert found == [2, 4]


def test_content_hashes_and_feed_names_are_kept_as_each_backend_writes_them(any_store):
    """SQLite keeps a content hash's first 8 bytes and leaves the feed's name to
    ``feed_refs`` (item format 4); PostgreSQL keeps the hex and format 3, which the
    previous version reads in a rolling upgrade. Either way the item reads back whole,
    and its hash compares with the one an edit check computes."""
    first, renamed = item(FEED_A, "g1"), item(FeedRef("A, renamed", FEED_A.url), "g2")
    items = Items(any_store)
    with any_store.transaction():
        for one in (first, renamed):
            insert(items, one)
    sqlite = any_store.dialect == "sqlite"
    stored = scalar(any_store, "SELECT content_hash FROM items WHERE item_key = 'g1'")
    assert stored == (bytes.fromhex(content_hash(first))[:8] if sqlite else content_hash(first))
    known = items.known(FEED_A.url, ["g1", "g2"])
    assert same_content(content_hash(first), known["g1"].content_hash)
    assert not same_content(content_hash(renamed), known["g1"].content_hash)
    data = scalar(any_store, "SELECT data FROM items WHERE item_key = 'g1'")
    assert ('"feed"' not in data) if sqlite else ('"feed":"A"' in data)
    assert scalar(any_store, "SELECT name FROM feed_refs") == "A"
    for key, feed in (("g1", FEED_A), ("g2", renamed.feed)):
        read = story_of(any_store.conn, known[key].story_id, ["r1"])
        assert read.item.feed == feed and read.item.title == f"title {key}"


def test_a_feed_recorded_by_an_earlier_version_takes_its_name_at_its_next_item(any_store):
    """``feed_refs.name`` is NULL for a feed whose items an earlier version recorded
    (each of its rows spells the name out); the next item recorded names it, and the
    rows before read as they did."""
    old = item(FEED_A, "old")
    record(any_store, old)
    as_before = pack_item(old, FEED_A.url, "old", version=ROLLING_FORMAT)  # names its feed
    any_store.conn.execute("UPDATE items SET data = ?", (as_before,))
    any_store.conn.execute("UPDATE feed_refs SET name = NULL")
    items = Items(any_store)
    assert items.feed_ref(FEED_A.url) == (1, None)  # asking names nothing
    first = items.known(FEED_A.url, ["old"])["old"].story_id
    assert story_of(any_store.conn, first, ["r1"]).item.feed == FEED_A
    record(any_store, item(FEED_A, "new"))
    assert items.feed_ref(FEED_A.url, "another name") == (1, "A")  # the first name stays
    known = items.known(FEED_A.url, ["old", "new"])
    for key in ("old", "new"):
        read = story_of(any_store.conn, known[key].story_id, ["r1"])
        assert read.item.feed == FEED_A
