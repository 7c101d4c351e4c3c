"""Contract: a feed's poll state, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.store import pollguard
from monitor.store.items import Items
from monitor.store.sqlite import MAX_ERROR_CHARS, FeedState
from tests.contract.common import FEED_A, FEED_B, NOW, item, record


def test_a_successful_poll_round_trips_every_field(any_store):
    any_store.record_poll_success(
        FEED_A.url,
        "A",
        NOW,
        NOW + timedelta(minutes=10),
        '"e1"',
        "Fri, 27 Nov 2026 08:00:00 GMT",
        body_sha256="ab" * 32,
        entry_digests="oIX/+d5mggJRRps+DWOYPA==",
        ttl_minutes=15,
        permanent_url="https://a.example/moved",
    )
    assert any_store.feed(FEED_A.url) == FeedState(
        url=FEED_A.url,
        name="A",
        etag='"e1"',
        last_modified="Fri, 27 Nov 2026 08:00:00 GMT",
        first_polled=NOW,
        last_success=NOW,
        last_error=None,
        last_error_at=None,
        consecutive_failures=0,
        next_poll=NOW + timedelta(minutes=10),
        items_seen=0,
        body_sha256="ab" * 32,
        entry_digests="oIX/+d5mggJRRps+DWOYPA==",
        permanent_url="https://a.example/moved",
        ttl_minutes=15,
    )
    # keyword values not given keep what was stored; first_polled stays the first
    later = NOW + timedelta(hours=1)
    any_store.record_poll_success(FEED_A.url, "A2", later, later, None, None)
    state = any_store.feed(FEED_A.url)
    assert (state.name, state.first_polled, state.last_success) == ("A2", NOW, later)
    assert state.ttl_minutes == 15 and state.entry_digests == "oIX/+d5mggJRRps+DWOYPA=="
    assert any_store.feed(FEED_B.url) is None


def test_failures_count_until_a_success_resets_them(any_store):
    nxt = NOW + timedelta(minutes=10)
    any_store.record_poll_failure(FEED_A.url, "A", NOW, nxt, "timeout")
    later = NOW + timedelta(minutes=10)
    any_store.record_poll_failure(FEED_A.url, "A", later, nxt, "x" * (MAX_ERROR_CHARS + 50))
    any_store.mark_health_alerted(FEED_A.url)
    state = any_store.feed(FEED_A.url)
    assert state.consecutive_failures == 2 and state.first_polled is None
    assert state.failing_since == NOW and state.last_error_at == later
    assert state.last_error == "x" * MAX_ERROR_CHARS and state.health_alerted is True
    assert state.gone_at is None
    any_store.record_poll_success(FEED_A.url, "A", later, later, '"etag1"', None)
    state = any_store.feed(FEED_A.url)
    assert state.consecutive_failures == 0 and state.etag == '"etag1"'
    assert state.failing_since is None and state.health_alerted is False
    assert state.last_error == "x" * MAX_ERROR_CHARS  # kept for status


def test_410_gone_disables_the_feed(any_store):
    any_store.record_poll_failure(FEED_A.url, "A", NOW, NOW, "HTTP 410", gone=True)
    any_store.record_poll_failure(FEED_B.url, "B", NOW, NOW, "HTTP 500", gone=False)
    assert any_store.feed(FEED_A.url).gone_at == NOW
    assert any_store.feed(FEED_B.url).gone_at is None


def test_feeds_are_listed_by_name_bytewise(any_store):
    for name in ("b", "B", "a", "Ä"):
        any_store.record_poll_success(f"https://{name}.example/", name, NOW, NOW, None, None)
    assert [f.name for f in any_store.feeds()] == ["B", "a", "b", "Ä"]


def test_rename_moves_state_and_items_once(any_store):
    any_store.record_poll_success(FEED_A.url, "A", NOW, NOW, '"e"', None)
    record(any_store, item(FEED_A, "g1"))
    new = "https://a.example/feed.xml"
    assert any_store.rename_feed(FEED_A.url, new) is True
    assert any_store.feed(FEED_A.url) is None and any_store.feed(new).etag == '"e"'
    assert set(Items(any_store).known(new, ["g1"])) == {"g1"}
    any_store.record_poll_success(FEED_B.url, "B", NOW, NOW, None, None)
    assert any_store.rename_feed(new, FEED_B.url) is False  # the new key has state
    assert any_store.rename_feed("https://none.example/", "https://x.example/") is False


def test_next_polls_are_stored_rounded_up_and_move_with_a_clock_jump(any_store):
    soon = NOW + timedelta(minutes=10, microseconds=300)
    any_store.record_poll_success(FEED_A.url, "A", NOW, soon, None, None)
    any_store.record_poll_failure(FEED_B.url, "B", NOW, NOW + timedelta(hours=23), "x")
    assert any_store.feed(FEED_A.url).next_poll == NOW + timedelta(minutes=10, seconds=1)
    any_store.shift_next_polls(-3600.4)  # the wall clock went back an hour
    assert any_store.feed(FEED_A.url).next_poll == NOW - timedelta(minutes=50, seconds=-1)
    any_store.shift_next_polls(86400)  # and forward a day, across midnight
    assert any_store.feed(FEED_B.url).next_poll == NOW + timedelta(hours=46)


def test_permanent_urls_refused_by_keep_are_forgotten(any_store):
    for key, moved in (("a", "https://a.example/new?token=t"), ("b", "https://b.example/n")):
        any_store.record_poll_success(key, key, NOW, NOW, None, None, permanent_url=moved)
    any_store.record_poll_success("c", "c", NOW, NOW, None, None)
    assert any_store.forget_permanent_urls(lambda url: "?" in url) == 1
    assert any_store.feed("a").permanent_url is None
    assert any_store.feed("b").permanent_url == "https://b.example/n"


def test_pollguard_counts_polls_that_never_finish(any_store):
    assert pollguard.unfinished(any_store, FEED_A.url) == 0
    with pollguard.watching(any_store, FEED_A.url, "A"):
        assert pollguard.unfinished(any_store, FEED_A.url) == 1
    assert pollguard.unfinished(any_store, FEED_A.url) == 0
    with pytest.raises(ValueError), pollguard.watching(any_store, FEED_A.url, "A"):
        raise ValueError("an ordinary failure: recorded by the caller")
    assert pollguard.unfinished(any_store, FEED_A.url) == 0
    for _ in range(2):  # cancelled (or killed): still counted
        with pytest.raises(KeyboardInterrupt), pollguard.watching(any_store, FEED_A.url, "A"):
            raise KeyboardInterrupt
    assert pollguard.unfinished(any_store, FEED_A.url) == 2
    pollguard.allow_one_more(any_store, FEED_A.url)
    assert pollguard.unfinished(any_store, FEED_A.url) == pollguard.LIMIT - 1
    assert any_store.feed(FEED_A.url).name == "A"
