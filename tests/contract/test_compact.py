"""Contract: the compact item schema (issue #18, monitor/store/compaction.py), on both
backends: hashed lookups that still compare the text, feeds by id, canonical links
left out when the link says them, and matches with no time of their own."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

from monitor.ingest.changes import select_changed, signature_count
from monitor.models import FeedRef, Item, Match
from monitor.store import history
from monitor.store.codec import text_hash
from monitor.store.digests import story_of
from monitor.store.feedstate import entry_digests_from_sigs
from monitor.store.items import Items
from monitor.store.status import rule_counts
from tests.contract.common import FEED_A, FEED_B, NOW, item, record, record_ids, scalar


def test_a_key_that_shares_another_keys_hash_is_not_taken_for_it(any_store):
    """A hash collision, made by hand: the row of "g1" carries the hash of "g2"."""
    record(any_store, item(FEED_A, "g1"))
    any_store.conn.execute("UPDATE items SET key_hash = ?", (text_hash("g2"),))
    items = Items(any_store)
    assert items.known(FEED_A.url, ["g2"]) == {}  # found by the hash, refused by the key
    assert items.known(FEED_B.url, ["g1"]) == {}  # another feed's key is not this one's
    g2_id, _, _ = record_ids(any_store, item(FEED_A, "g2"))  # so g2 is new, and recorded
    assert {k: v.id for k, v in items.known(FEED_A.url, ["g2"]).items()} == {"g2": g2_id}


def test_canonical_links_are_stored_only_when_the_link_does_not_say_them(any_store):
    linked = item(FEED_A, "a1", link="https://www.a.example/story/")
    record(any_store, linked, canonical="http://a.example/story")  # the link's canonical form
    other = item(FEED_A, "a2", link="https://a.example/amp/story")
    record(any_store, other, canonical="http://a.example/other")  # not: spelled out
    stored = dict(any_store.conn.execute("SELECT item_key, canonical_url FROM items"))
    assert stored == {"a1": None, "a2": "http://a.example/other"}
    items = Items(any_store)
    assert len(items.stories_by_url("http://a.example/story")) == 1
    assert len(items.stories_by_url("http://a.example/other")) == 1
    assert items.stories_by_url("https://www.a.example/story/") == []  # canonical forms only
    # a collision, made by hand: a1's row carries the hash of a link it does not have
    any_store.conn.execute(
        "UPDATE items SET url_hash = ? WHERE item_key = 'a1'", (text_hash("http://c.example/"),)
    )
    assert items.stories_by_url("http://c.example/") == []


def test_an_edit_that_moves_the_link_keeps_the_story_found_by_the_first(any_store):
    first = item(FEED_A, "e1", link="https://a.example/draft")
    item_id, story_id, _ = record_ids(any_store, first, canonical="http://a.example/draft")
    moved = Item(FEED_A, "e1", "title e1", link="https://a.example/final", guid="e1")
    items = Items(any_store)
    with any_store.transaction():
        items.update(item_id, moved, "h2", feed_url=FEED_A.url, key="e1")
    assert items.stories_by_url("http://a.example/draft") == [story_id]
    assert scalar(any_store, "SELECT canonical_url FROM items") == "http://a.example/draft"


def test_matches_take_their_items_time_unless_matched_later(any_store):
    any_store.record_poll_success(FEED_A.url, "A", NOW, NOW, None, None)
    item_id, _, _ = record_ids(any_store, item(FEED_A, "m1"), rules=("r1",))
    later = NOW + timedelta(days=2)
    with any_store.transaction():  # an edit that matches one more rule
        Items(any_store).add_matches(item_id, [Match("r1", ()), Match("r2", ())], later)
    times = dict(any_store.conn.execute("SELECT rule, created_at FROM matches ORDER BY rule"))
    assert times == {"r1": None, "r2": "2026-11-29T08:00:00Z"}  # r1 kept its (item's) time
    assert rule_counts(any_store, later) == {
        "r1": {"matches_24h": 0, "matches_30d": 1},
        "r2": {"matches_24h": 1, "matches_30d": 1},
    }
    rows, _ = history.list_matches(any_store.conn, history.Filters())
    assert [(r["rule"], r["when"]) for r in rows] == [
        ("r2", "2026-11-29T08:00:00Z"),
        ("r1", "2026-11-27T08:00:00Z"),
    ]
    rows, _ = history.list_matches(any_store.conn, history.Filters(since=NOW + timedelta(days=1)))
    assert [r["rule"] for r in rows] == ["r2"]


def test_feeds_are_stored_once_and_renamed_by_their_id(any_store):
    for n in range(3):
        record(any_store, item(FEED_A, f"g{n}"))
    record(any_store, item(FEED_B, "b1"))
    assert scalar(any_store, "SELECT COUNT(*) FROM feed_refs") == 2
    any_store.record_poll_success(FEED_A.url, "A", NOW, NOW, None, None)
    new = "https://a.example/feed.xml"
    assert any_store.rename_feed(FEED_A.url, new)
    assert set(Items(any_store).known(new, ["g0", "g1", "g2"])) == {"g0", "g1", "g2"}
    assert Items(any_store).known(FEED_A.url, ["g0"]) == {}
    # items already stored under the new key (no poll state): the old id's items join them
    record(any_store, item(FEED_A, "g9"))
    any_store.record_poll_success(FEED_A.url, "A", NOW, NOW, None, None)
    any_store.conn.execute("DELETE FROM feeds WHERE url = ?", (new,))
    assert any_store.rename_feed(FEED_A.url, new)
    assert set(Items(any_store).known(new, ["g0", "g9"])) == {"g0", "g9"}


def test_items_that_join_another_feeds_row_keep_their_feeds_name(any_store):
    """A rename onto a key whose items name another feed: rows that left their feed's
    name to ``feed_refs`` (formats 4 and 5) spell it out first, so they keep it."""
    new = "https://a.example/feed.xml"
    record(any_store, item(FeedRef("Other desk", new), "n1"))
    record(any_store, item(FEED_A, "g0"))
    any_store.record_poll_success(FEED_A.url, "A", NOW, NOW, None, None)
    assert any_store.rename_feed(FEED_A.url, new)
    known = Items(any_store).known(new, ["g0", "n1"])
    names = {
        key: story_of(any_store.conn, known[key].story_id, ["r1"]).item.feed.name
        for key in ("g0", "n1")
    }
    assert names == {"g0": "A", "n1": "Other desk"}


def test_entry_signatures_are_stored_as_eight_bytes_an_entry_on_sqlite(any_store):
    """SQLite keeps the digests themselves (a BLOB); PostgreSQL the base64 text, which
    the previous version reads; the poll is given the text on both."""
    body = (
        b"<rss><channel>"
        + b"".join(b"<item><guid>g%d</guid><title>t</title></item>" % n for n in range(100))
        + b"</channel></rss>"
    )
    sigs = select_changed(body, None).signatures
    any_store.record_poll_success(FEED_A.url, "A", NOW, NOW, None, None, entry_digests=sigs)
    raw = scalar(any_store, "SELECT entry_digests FROM feeds")
    if any_store.dialect == "sqlite":
        assert raw == base64.b64decode(sigs) and len(raw) == 8 * 100
    else:
        assert raw == sigs and len(raw) <= 11 * 100  # the id-keyed JSON: ~31 an entry
    assert any_store.feed(FEED_A.url).entry_digests == sigs
    assert signature_count(any_store.feed(FEED_A.url).entry_digests) == 100
    any_store.record_poll_success(FEED_A.url, "A", NOW, NOW, None, None, entry_digests="no!")
    assert any_store.feed(FEED_A.url).entry_digests == "no!"  # not base64: kept as it is


def test_entry_signatures_of_an_earlier_version_are_carried_over_then_cleared(any_store):
    """Schema 14 and before kept the same digests as id-keyed JSON in entry_sigs: the
    migration (16 / 8) carries them over to entry_digests, so the edited entry alone is
    parsed after the upgrade; entry_sigs stays for an instance of the previous version
    in a rolling upgrade until this version's next poll of the feed clears it."""
    body = rss_of(("a", "A"), ("b", "B"))
    digests = base64.b64decode(select_changed(body, None).signatures)
    legacy = json.dumps({"a": digests[:8].hex(), "b": "51469b3e0d63983c"})  # b since edited
    any_store.record_poll_success(FEED_A.url, "A", NOW, NOW, None, None)
    any_store.record_poll_success(FEED_B.url, "B", NOW, NOW, None, None)
    any_store.conn.execute("UPDATE feeds SET entry_sigs = ? WHERE url = ?", (legacy, FEED_A.url))
    any_store.conn.execute("UPDATE feeds SET entry_sigs = '[1, 2]' WHERE url = ?", (FEED_B.url,))
    entry_digests_from_sigs(any_store.conn)
    kept = any_store.feed(FEED_A.url).entry_digests
    assert signature_count(kept) == 2 and any_store.feed(FEED_B.url).entry_digests is None
    again = select_changed(body, kept)
    assert again.changed == 1 and b"<guid>b</guid>" in again.body
    assert b"<guid>a</guid>" not in again.body
    any_store.record_poll_success(FEED_A.url, "A", NOW, NOW, None, None, entry_digests="AAAA")
    row = any_store.conn.execute(
        "SELECT entry_sigs, entry_digests FROM feeds WHERE url = ?", (FEED_A.url,)
    ).fetchone()
    stored = b"\0\0\0" if any_store.dialect == "sqlite" else "AAAA"
    assert tuple(row) == (None, stored)
    assert any_store.feed(FEED_A.url).entry_digests == "AAAA"


def rss_of(*items: tuple[str, str]) -> bytes:
    """An RSS document with ``(guid, title)`` items."""
    blocks = b"".join(
        b"<item><guid>%s</guid><title>%s</title></item>\n" % (g.encode(), t.encode())
        for g, t in items
    )
    return b"<rss><channel><title>t</title>\n" + blocks + b"</channel></rss>"
