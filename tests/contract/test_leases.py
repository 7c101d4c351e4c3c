"""Leases, claims and fenced commits (store/leases.py, fencing.py, cluster.py), on every store.

Several instances are several Stores (each its own connection) on one database; the
concurrent ones run in threads, each opening its own. Leases of about a second are
waited out by polling the store, never by asserting how long anything took.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.store import fencing, hosts, leases
from monitor.store.cluster import (
    heartbeat,
    holds_channel,
    instances,
    lease_table,
    release_all,
    release_channel,
    take_channel,
    tick_due,
)
from monitor.store.fencing import Claim, LeaseLost, current_claim
from monitor.store.leases import (
    claim_feeds,
    ensure_feeds,
    park_feeds,
    release_feed,
    renew_feed,
)

FEEDS = [(f"https://f{n:04d}.example/rss", f"feed {n}") for n in range(2000)]
KEYS = [key for key, _ in FEEDS]
LONG = 600.0  # seconds: a lease that does not run out during a test


def wait_until(condition: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll ``condition`` every 50 ms until it is truthy; its value (a lease running out)."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.05)
    return value


def feed_row(store: Any, url: str) -> tuple:
    return tuple(
        store.conn.execute(
            "SELECT etag, lease_owner, lease_epoch, items_seen FROM feeds WHERE url = ?", (url,)
        ).fetchone()
    )


def test_ensure_feeds_adds_new_feeds_due_now_and_leaves_existing_rows(any_store):
    now = datetime.now(UTC) - timedelta(minutes=5)
    ensure_feeds(any_store, FEEDS[:2], now)
    any_store.record_poll_success(
        FEEDS[0][0], "renamed", now, now + timedelta(hours=1), '"e1"', None
    )
    ensure_feeds(any_store, FEEDS[:3], now + timedelta(minutes=1))
    states = {f.url: f for f in any_store.feeds()}
    assert states[FEEDS[0][0]].name == "renamed"
    assert states[FEEDS[0][0]].etag == '"e1"'
    assert states[FEEDS[2][0]].next_poll == now.replace(microsecond=0) + timedelta(minutes=1)
    claimed = claim_feeds(any_store, "a", KEYS, 10, LONG)
    assert [c.url for c in claimed] == [FEEDS[1][0], FEEDS[2][0]]  # oldest first


def test_claims_are_disjoint_under_concurrency(opener):
    ensure_feeds(opener(), FEEDS, datetime.now(UTC) - timedelta(seconds=1))
    start = threading.Barrier(4, timeout=60)

    def claimer(owner: str) -> list[Claim]:
        with closing(opener()) as store:
            start.wait()
            mine: list[Claim] = []
            keys = KEYS if owner in "ab" else None  # a key list, or every feed
            while batch := claim_feeds(store, owner, keys, 50, LONG):
                mine += batch
            return mine

    with ThreadPoolExecutor(4) as pool:
        shares = list(pool.map(claimer, ["a", "b", "c", "d"]))
    counts = Counter(c.url for share in shares for c in share)
    assert set(counts) == set(KEYS)
    assert set(counts.values()) == {1}
    assert {c.epoch for share in shares for c in share} == {1}
    owners = Counter(
        r[0] for r in opener().conn.execute("SELECT lease_owner FROM feeds").fetchall()
    )
    assert owners == Counter({o: len(s) for o, s in zip("abcd", shares, strict=True) if s})


BUSY = [(f"https://busy.example:{8000 + n}/rss{n}", f"busy {n}") for n in range(60)]
OTHERS = [(f"https://h{n:02d}.example/rss", f"other {n}") for n in range(12)]


def hosts_held(store: Any) -> Counter:
    """Live leases by host (owner set, lease in the future)."""
    rows = store.conn.execute(
        "SELECT url FROM feeds WHERE lease_owner IS NOT NULL AND lease_until > ?",
        (datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),),
    ).fetchall()
    return Counter(leases.feed_host(r[0]) for r in rows)


def test_two_owners_never_hold_more_than_the_per_host_limit_together(opener):
    # the busy host's feeds are due first, so an unlimited claim would take them all
    old = datetime.now(UTC) - timedelta(minutes=5)
    ensure_feeds(opener(), BUSY, old)
    ensure_feeds(opener(), OTHERS, old + timedelta(minutes=1))
    start = threading.Barrier(2, timeout=60)

    def claimer(owner: str) -> list[Claim]:
        with closing(opener()) as store:
            start.wait()
            mine: list[Claim] = []
            for _ in range(20):
                mine += claim_feeds(store, owner, None, 5, LONG, per_host=3)
            return mine

    with ThreadPoolExecutor(2) as pool:
        a_claims, b_claims = pool.map(claimer, ["a", "b"])
    taken = Counter(leases.feed_host(c.url) for c in a_claims + b_claims)
    assert taken["busy.example"] == 3
    assert {h: n for h, n in taken.items() if h != "busy.example"} == dict.fromkeys(
        (f"h{n:02d}.example" for n in range(12)), 1
    )
    store = opener()
    assert hosts_held(store)["busy.example"] == 3
    # a released lease frees one place; an expired one no longer counts
    busy = [c for c in a_claims + b_claims if "busy" in c.url]
    owner = "a" if busy[0] in a_claims else "b"
    assert release_feed(store, owner, busy[0]) is True
    got = claim_feeds(store, "c", None, 10, LONG, per_host=3)
    assert [leases.feed_host(c.url) for c in got] == ["busy.example"]
    store.conn.execute("UPDATE feeds SET lease_until = ? WHERE url = ?", (ts_past(), got[0].url))
    again = claim_feeds(store, "d", None, 10, LONG, per_host=3)
    assert [leases.feed_host(c.url) for c in again] == ["busy.example"]  # expired: not held
    assert hosts_held(store)["busy.example"] == 3


def ts_past() -> str:
    return (datetime.now(UTC) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_feed_without_a_host_is_claimed_and_gets_one(any_store):
    ensure_feeds(any_store, BUSY[:2], datetime.now(UTC) - timedelta(seconds=1))
    any_store.conn.execute("UPDATE feeds SET host = NULL")
    assert len(claim_feeds(any_store, "a", None, 10, LONG, per_host=1)) == 2
    hosts = any_store.conn.execute("SELECT DISTINCT host FROM feeds").fetchall()
    assert [tuple(r) for r in hosts] == [("busy.example",)]


def test_claims_skip_other_keys_gone_feeds_and_feeds_not_due(any_store):
    now = datetime.now(UTC)
    ensure_feeds(any_store, FEEDS[:3], now - timedelta(seconds=1))
    ensure_feeds(any_store, FEEDS[3:4], now + timedelta(hours=1))
    any_store.record_poll_failure(
        FEEDS[1][0], "x", now, now - timedelta(seconds=1), "410", gone=True
    )
    assert [c.url for c in claim_feeds(any_store, "a", KEYS[2:], 10, LONG)] == [KEYS[2]]
    assert [c.url for c in claim_feeds(any_store, "a", KEYS, 10, LONG)] == [KEYS[0]]
    assert claim_feeds(any_store, "a", KEYS, 10, LONG) == []


def test_an_expired_lease_passes_to_another_owner(opener):
    a, b = opener(), opener()
    ensure_feeds(a, FEEDS[:1], datetime.now(UTC) - timedelta(seconds=1))
    (first,) = claim_feeds(a, "a", KEYS, 10, 1.0)
    assert claim_feeds(b, "b", KEYS, 10, LONG) == []
    (second,) = wait_until(lambda: claim_feeds(b, "b", KEYS, 10, LONG))
    assert (second.url, second.epoch) == (first.url, first.epoch + 1)
    assert renew_feed(a, "a", first, LONG) is None
    assert release_feed(a, "a", first) is False
    assert feed_row(b, first.url)[1:3] == ("b", 2)


def test_a_stale_owners_commit_is_refused_and_writes_nothing(opener):
    a, b = opener(), opener()
    a.owner, b.owner = "a", "b"
    url = KEYS[0]
    ensure_feeds(a, FEEDS[:1], datetime.now(UTC) - timedelta(seconds=1))
    (stale,) = claim_feeds(a, "a", KEYS, 10, 1.0)
    (fresh,) = wait_until(lambda: claim_feeds(b, "b", KEYS, 10, LONG))
    before = feed_row(b, url)
    refused = fencing.fenced_commits()
    token = current_claim.set(stale)
    try:
        with pytest.raises(LeaseLost), a.transaction():
            a.conn.execute("UPDATE feeds SET items_seen = 99 WHERE url = ?", (url,))
        now = datetime.now(UTC)
        with pytest.raises(LeaseLost):
            a.record_poll_success(url, "x", now, now, '"stale"', None)
    finally:
        current_claim.reset(token)
    assert feed_row(b, url) == before
    assert not a.conn.in_transaction
    assert fencing.fenced_commits() == refused + 2
    token = current_claim.set(fresh)
    try:
        b.record_poll_success(url, "x", datetime.now(UTC), datetime.now(UTC), '"fresh"', None)
    finally:
        current_claim.reset(token)
    assert feed_row(a, url)[:3] == ('"fresh"', "b", 2)


def test_without_an_owner_or_a_claim_nothing_is_fenced(opener):
    a, b = opener(), opener()
    ensure_feeds(a, FEEDS[:1], datetime.now(UTC) - timedelta(seconds=1))
    (claim,) = claim_feeds(b, "b", KEYS, 10, LONG)
    token = current_claim.set(Claim(claim.url, claim.epoch + 5, claim.lease_until))
    try:
        with a.transaction():  # a.owner is None: the single-machine store
            a.conn.execute("UPDATE feeds SET etag = 'one' WHERE url = ?", (claim.url,))
    finally:
        current_claim.reset(token)
    a.owner = "a"
    with a.transaction():  # no claim in this task
        a.conn.execute("UPDATE feeds SET items_seen = 7 WHERE url = ?", (claim.url,))
    assert feed_row(b, claim.url) == ("one", "b", 1, 7)


def test_renew_keeps_the_lease_past_its_first_end(opener):
    a, b = opener(), opener()
    a.owner = "a"
    ensure_feeds(a, FEEDS[:1], datetime.now(UTC) - timedelta(seconds=1))
    (claim,) = claim_feeds(a, "a", KEYS, 10, 1.0)
    renewed = renew_feed(a, "a", claim, LONG)
    assert renewed is not None
    assert (renewed.url, renewed.epoch) == (claim.url, claim.epoch)
    assert renewed.lease_until > claim.lease_until
    wait_until(lambda: datetime.now(UTC) > claim.lease_until + timedelta(seconds=0.2))
    assert claim_feeds(b, "b", KEYS, 10, LONG) == []
    token = current_claim.set(renewed)
    try:
        with a.transaction():
            a.conn.execute("UPDATE feeds SET etag = 'kept' WHERE url = ?", (claim.url,))
    finally:
        current_claim.reset(token)
    assert feed_row(b, claim.url)[:3] == ("kept", "a", 1)


def test_release_makes_a_polled_feed_claimable(opener):
    a, b = opener(), opener()
    ensure_feeds(a, FEEDS[:2], datetime.now(UTC) - timedelta(seconds=1))
    first, second = claim_feeds(a, "a", KEYS, 10, LONG)
    assert claim_feeds(b, "b", KEYS, 10, LONG) == []
    now = datetime.now(UTC)
    a.record_poll_success(first.url, "x", now, now - timedelta(seconds=1), None, None)
    assert claim_feeds(b, "b", KEYS, 10, LONG) == []  # still held
    assert release_feed(a, "a", first) is True
    (taken,) = claim_feeds(b, "b", KEYS, 10, LONG)
    assert (taken.url, taken.epoch) == (first.url, 2)
    # released unpolled (its task failed): due again when the lease would have ended
    assert release_feed(a, "a", second) is True
    assert claim_feeds(b, "b", KEYS, 10, LONG) == []
    assert b.feed(second.url).next_poll == second.lease_until


def test_a_parked_feed_waits_until_an_instance_that_knows_it_ensures_it(opener):
    a, b = opener(), opener()
    ensure_feeds(a, FEEDS[:3], datetime.now(UTC) - timedelta(seconds=1))
    claims = claim_feeds(a, "a", None, 10, LONG)
    unknown = claims[1:]  # "a" was configured with the first feed only
    assert park_feeds(a, "a", unknown, LONG) == 2
    assert park_feeds(a, "a", unknown, LONG) == 0  # no longer held
    assert release_feed(a, "a", claims[0]) is True
    assert [c.url for c in claim_feeds(b, "b", None, 10, LONG)] == []  # parked, polled
    assert lease_table(b) == []  # a parked feed is held by nobody
    ensure_feeds(b, FEEDS[:2], datetime.now(UTC) - timedelta(seconds=1))  # knows feed 1
    (taken,) = claim_feeds(b, "b", None, 10, LONG)
    assert (taken.url, taken.epoch) == (KEYS[1], 2)
    ensure_feeds(a, FEEDS[:1], datetime.now(UTC))  # feed 2 stays parked
    assert claim_feeds(a, "a", None, 10, LONG) == []
    assert a.feed(KEYS[2]).next_poll > datetime.now(UTC) + timedelta(seconds=LONG / 2)


def test_parking_a_lost_claim_changes_nothing(opener):
    a, b = opener(), opener()
    ensure_feeds(a, FEEDS[:1], datetime.now(UTC) - timedelta(seconds=1))
    (stale,) = claim_feeds(a, "a", None, 10, 1.0)
    (fresh,) = wait_until(lambda: claim_feeds(b, "b", None, 10, LONG))
    assert park_feeds(a, "a", [stale], LONG) == 0
    assert feed_row(b, fresh.url)[1:3] == ("b", 2)
    assert b.feed(fresh.url).next_poll == fresh.lease_until


def test_release_all_hands_unfinished_polls_and_channels_over_at_once(opener):
    a, b = opener(), opener()
    ensure_feeds(a, FEEDS[:3], datetime.now(UTC) - timedelta(seconds=1))
    claims = claim_feeds(a, "a", KEYS, 10, LONG)
    assert take_channel(a, "a", "slack", LONG) == 1
    heartbeat(a, "a", {"pid": 1})
    now = datetime.now(UTC)
    a.record_poll_success(claims[0].url, "x", now, now + timedelta(hours=1), None, None)
    assert release_all(a, "a") == 4
    taken = claim_feeds(b, "b", KEYS, 10, LONG)
    assert [(c.url, c.epoch) for c in taken] == [(c.url, 2) for c in claims[1:]]
    assert take_channel(b, "b", "slack", LONG) == 2
    assert instances(b) == []


def test_a_channel_lease_hands_over_on_expiry_and_on_release(opener):
    a, b = opener(), opener()
    assert take_channel(a, "a", "email", 1.0) == 1
    assert take_channel(b, "b", "email", LONG) is None
    assert take_channel(a, "a", "email", 1.0) == 1  # renewed, same epoch
    assert holds_channel(a, "a", "email", 1)
    assert take_channel(a, "a", "webhook", LONG) == 1  # channels are independent
    assert wait_until(lambda: take_channel(b, "b", "email", LONG)) == 2
    assert not holds_channel(a, "a", "email", 1)
    assert take_channel(a, "a", "email", LONG) is None
    assert release_channel(b, "b", "email") is True
    assert release_channel(b, "b", "email") is False
    assert take_channel(a, "a", "email", LONG) == 3
    assert holds_channel(a, "a", "email", 3)
    assert not holds_channel(b, "b", "email", 2)


def test_tick_due_fires_once_among_concurrent_callers(opener):
    callers = 6
    store = opener()  # migrated before the callers open theirs
    start = threading.Barrier(callers, timeout=60)

    def caller(_: int) -> list[bool]:
        with closing(opener()) as store:
            start.wait()
            return [tick_due(store, f"job{n}", LONG) for n in range(20)]

    with ThreadPoolExecutor(callers) as pool:
        fired = list(pool.map(caller, range(callers)))
    assert [sum(col) for col in zip(*fired, strict=True)] == [1] * 20
    assert tick_due(store, "job0", LONG) is False
    assert tick_due(store, "short", 1.0) is True
    assert wait_until(lambda: tick_due(store, "short", LONG)) is True
    assert tick_due(store, "short", LONG) is False


def test_two_instances_heartbeats_are_listed_and_the_silent_one_gone(opener):
    a, b = opener(), opener()
    heartbeat(a, "host1:10", {"host": "host1", "pid": 10})
    heartbeat(b, "host2:20", {"host": "host2", "pid": 20})
    heartbeat(a, "host1:10", {"host": "host1", "pid": 10, "feeds": 3})
    listed = {i.owner: i for i in instances(b)}
    assert set(listed) == {"host1:10", "host2:20"}
    assert listed["host1:10"].info == {"host": "host1", "pid": 10, "feeds": 3}
    assert not any(i.gone for i in listed.values())
    assert listed["host1:10"].heartbeat_at >= listed["host1:10"].started_at
    silent = (datetime.now(UTC) - timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with b.transaction():
        b.conn.execute("UPDATE instances SET heartbeat_at = ? WHERE owner = 'host2:20'", (silent,))
    assert [(i.owner, i.gone) for i in instances(a)] == [("host1:10", False), ("host2:20", True)]


def test_lease_table_shows_holders_and_marks_expired_leases(opener):
    a = opener()
    ensure_feeds(a, FEEDS[:2], datetime.now(UTC) - timedelta(seconds=1))
    short, long = claim_feeds(a, "a", KEYS[:1], 1, 1.0) + claim_feeds(a, "b", KEYS, 1, LONG)
    take_channel(a, "c", "slack", LONG)
    wait_until(lambda: any(row.stale for row in lease_table(a)))
    table = [(r.kind, r.key, r.owner, r.epoch, r.stale) for r in lease_table(a)]
    assert table == [
        ("feed", short.url, "a", 1, True),
        ("feed", long.url, "b", 1, False),
        ("channel", "slack", "c", 1, False),
    ]
    assert lease_table(a)[1].until == long.lease_until


def test_the_host_migration_fills_each_existing_feeds_host():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE feeds (url TEXT PRIMARY KEY, lease_owner TEXT)")
    keys = ["https://News.Example:8443/rss?x=1", "http://127.0.0.1:9/a.xml", "not a url"]
    conn.executemany("INSERT INTO feeds (url) VALUES (?)", [(k,) for k in keys])
    hosts.add_feed_hosts(conn)
    rows = dict(conn.execute("SELECT url, host FROM feeds").fetchall())
    assert rows == dict(zip(keys, ["news.example", "127.0.0.1", ""], strict=True))
    indexes = [r[1] for r in conn.execute("PRAGMA index_list(feeds)").fetchall()]
    assert "feeds_leased" in indexes
