"""The SQLite store: seen items, stories by canonical URL, the outbox lifecycle."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from monitor.errors import StateLockedError
from monitor.models import FeedRef, Highlight, Item, Match
from monitor.store.codec import match_from_json
from monitor.store.items import Items
from monitor.store.lock import StateLock
from monitor.store.outbox import Outbox
from monitor.store.retention import prune
from monitor.store.schema import MIGRATIONS
from monitor.store.sqlite import Store

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
FEED_A = FeedRef("A", "https://a.example/rss")
FEED_B = FeedRef("B", "https://b.example/rss")


def item(feed: FeedRef, key: str, link: str | None = None) -> Item:
    return Item(feed=feed, id=key, title=f"title {key}", link=link, guid=key, summary="s")


def record(store: Store, it: Item, canonical=None, rules=("r1",), channels=("c1",)) -> int:
    """Record a new item as the pipeline does; return alerts queued."""
    items = Items(store)
    with store.transaction():
        stories = items.stories_by_url(canonical) if canonical else []
        item_id, story_id = items.insert(
            it.feed.url,
            it.id,
            it,
            canonical_url=canonical,
            content_hash="h",
            fingerprint=None,
            story_id=stories[0] if stories else None,
            now=NOW,
        )
        items.add_matches(item_id, [Match(r, ("pompeo",)) for r in rules], NOW)
        return items.queue_alerts(story_id, tuple((r, tuple(channels)) for r in rules), NOW)


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path)
    yield s
    s.close()


def test_schema_is_versioned_and_reopens(tmp_path):
    Store.open(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "monitor.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="newer than this news-monitor"):
        Store.open(tmp_path)


def test_seen_items_are_recorded_once(store):
    first = item(FEED_A, "g1", "https://a.example/1")
    assert Items(store).known(FEED_A.url, ["g1", "g2"]) == {}
    assert record(store, first, "http://a.example/1") == 1
    assert set(Items(store).known(FEED_A.url, ["g1", "g2"])) == {"g1"}
    assert Items(store).known(FEED_B.url, ["g1"]) == {}  # per feed


def test_same_canonical_url_across_feeds_is_one_story_one_alert(store):
    a = item(FEED_A, "a1", "https://x.example/story?utm_source=a")
    b = item(FEED_B, "b7", "https://x.example/story?utm_source=b")
    assert record(store, a, "http://x.example/story") == 1
    assert record(store, b, "http://x.example/story") == 0
    outbox = Outbox(store)
    message = outbox.next_message("c1", NOW)
    digest = outbox.digest(message.id)
    (story,) = digest.stories
    assert story.item.id == "a1" and [d.guid for d in story.duplicates] == ["b7"]


def test_prune_leaves_tombstones_and_keeps_pending_stories(store):
    record(store, item(FEED_A, "old"))
    outbox = Outbox(store)
    outbox.mark_sent(outbox.next_message("c1", NOW).id, "ok", NOW)
    record(store, item(FEED_A, "waiting"))  # its alert is still pending
    counts = prune(store, NOW + timedelta(days=1), NOW + timedelta(days=31))
    assert counts["items"] == 1 and counts["alerts"] == 1 and counts["messages"] == 1
    items = Items(store)
    assert set(items.known(FEED_A.url, ["old", "waiting"])) == {"waiting"}
    assert items.pruned(FEED_A.url, ["old", "new"]) == {"old"}


def test_message_lifecycle_retry_keeps_id_then_sent(store):
    record(store, item(FEED_A, "g1"), rules=("r1", "r2"))
    outbox = Outbox(store)
    message = outbox.next_message("c1", NOW)
    assert message is not None and message.attempts == 0
    assert [s.rules for s in outbox.digest(message.id).stories] == [("r1", "r2")]
    outbox.mark_retry(message.id, "HTTP 503", NOW + timedelta(minutes=1))
    assert outbox.next_message("c1", NOW) is None  # waiting for its backoff
    # an alert queued meanwhile waits for the next message
    record(store, item(FEED_A, "g2"))
    again = outbox.next_message("c1", NOW + timedelta(minutes=2))
    assert again.id == message.id and again.attempts == 1
    outbox.mark_sent(message.id, "HTTP 200", NOW)
    later = outbox.next_message("c1", NOW)
    assert later.id != message.id
    assert [s.item.id for s in outbox.digest(later.id).stories] == ["g2"]
    outbox.mark_failed(later.id, "HTTP 400 bad request", NOW)
    assert outbox.next_message("c1", NOW) is None
    rows = store.conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()
    assert dict(rows) == {"sent": 2, "failed": 1}


def test_backoff_ignored_on_request_and_preview_writes_nothing(store):
    record(store, item(FEED_A, "g1"))
    outbox = Outbox(store)
    assert len(outbox.preview("c1", NOW).stories) == 1
    assert store.conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0
    message = outbox.next_message("c1", NOW)
    outbox.mark_retry(message.id, "timeout", NOW + timedelta(hours=1))
    assert outbox.next_message("c1", NOW, ignore_backoff=True).id == message.id
    assert outbox.next_message("c1", NOW, form_new=False) is None


def test_a_sub_second_backoff_still_waits(store):
    # Timestamps are stored to the second: a retry 0.4 s away must not come due at once
    # (it did, when the full-jitter backoff drew under a second).
    record(store, item(FEED_A, "g1"))
    outbox = Outbox(store)
    message = outbox.next_message("c1", NOW)
    outbox.mark_retry(message.id, "SMTP 421", NOW + timedelta(seconds=0.4))
    assert outbox.next_message("c1", NOW) is None
    assert outbox.next_message("c1", NOW + timedelta(seconds=1)).id == message.id


def test_feed_poll_state(store):
    store.record_poll_failure(FEED_A.url, "A", NOW, NOW + timedelta(minutes=10), "timeout")
    store.record_poll_failure(FEED_A.url, "A", NOW, NOW + timedelta(minutes=10), "timeout")
    state = store.feed(FEED_A.url)
    assert state.consecutive_failures == 2 and state.first_polled is None
    store.record_poll_success(FEED_A.url, "A", NOW, NOW, '"etag1"', "Fri, 27 Nov 2026 08:00 GMT")
    state = store.feed(FEED_A.url)
    assert state.consecutive_failures == 0 and state.etag == '"etag1"'
    assert state.first_polled == NOW and state.last_error == "timeout"


def test_next_polls_are_stored_rounded_up_and_move_with_a_clock_jump(store):
    soon = NOW + timedelta(minutes=10, microseconds=300)
    store.record_poll_success(FEED_A.url, "A", NOW, soon, None, None)
    assert store.feed(FEED_A.url).next_poll == NOW + timedelta(minutes=10, seconds=1)
    store.shift_next_polls(-3600.4)  # the wall clock went back an hour
    assert store.feed(FEED_A.url).next_poll == NOW - timedelta(minutes=50) + timedelta(seconds=1)


def test_permanent_urls_refused_by_keep_are_forgotten(store):
    for key, moved in (("a", "https://a.example/new?token=t"), ("b", "https://b.example/n")):
        store.record_poll_success(key, key, NOW, NOW, None, None, permanent_url=moved)
    assert store.forget_permanent_urls(lambda url: "?" in url) == 1
    assert store.feed("a").permanent_url is None
    assert store.feed("b").permanent_url == "https://b.example/n"


def test_one_daemon_per_state_dir(tmp_path):
    first = StateLock(tmp_path)
    first.acquire()
    with pytest.raises(StateLockedError, match="already running"):
        StateLock(tmp_path).acquire()
    first.release()
    second = StateLock(tmp_path)
    second.acquire()
    second.release()


def test_an_edit_moves_the_stored_highlights_to_the_new_text(store):
    items = Items(store)
    old = Item(feed=FEED_A, id="e", title="Pompeo visits", guid="e")
    with store.transaction():
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
    with store.transaction():
        items.update(item_id, edited, "h2")
        items.add_matches(
            item_id, [Match("p", ("pompeo",), (Highlight("title", 6, 12, "pompeo"),))], NOW
        )
    rows = dict(store.conn.execute("SELECT rule, data FROM matches WHERE item_id = ?", (item_id,)))
    assert match_from_json("p", rows["p"]).highlights == (Highlight("title", 6, 12, "pompeo"),)
    assert match_from_json("v", rows["v"]).highlights == ()  # no longer where it was
    assert items.rules_matched(item_id) == {"p", "v"}
