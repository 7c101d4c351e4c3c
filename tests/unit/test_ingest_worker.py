"""Parsing in worker processes: same results, and runaway parses are killed."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime

import pytest

from monitor.errors import ParseError
from monitor.ingest.parse import parse_feed
from monitor.ingest.parseworker import (
    parse_changed_isolated,
    parse_isolated,
)
from monitor.models import FeedRef
from tests.conftest import seed_feed, with_pool

NOW = datetime(2026, 11, 27, tzinfo=UTC)
FEED = FeedRef("seed", "http://127.0.0.1:1/feed.xml")


def hog_memory() -> int:
    """Allocate far past any worker's limit (runs in the worker)."""
    blocks = [bytearray(64 * 1024 * 1024) for _ in range(64)]
    return len(blocks)


def run(coro_fn):
    return with_pool(coro_fn, workers=2, memory_mb=300, timeout=10)


def test_isolated_parse_gives_the_same_entries():
    body = seed_feed("feed-full.xml", "http://127.0.0.1:1")
    direct = parse_feed(body, FEED.url, "application/xml")

    async def go(pool):
        parsed = await parse_isolated(body, FEED.url, "application/xml", pool=pool)
        changed = await parse_changed_isolated(
            body, FEED.url, "application/xml", FEED, NOW, None, pool=pool
        )
        return parsed, changed.meta, changed.items

    parsed, meta, items = run(go)
    assert [e["id"] for e in parsed.entries] == [e["id"] for e in direct.entries]
    assert parsed.title == meta.title == direct.title and meta.entries == []
    assert items[0].id == "jad-3052260" and "Pompeo’s fourth visit" in items[0].content


def test_runaway_parse_is_killed_and_the_pool_carries_on():
    author = "a@" + "a." * 60_000 + "!"  # feedparser's e-mail regex is quadratic (#562)
    slow = (
        '<rss version="2.0"><channel><title>t</title><item><title>x</title>'
        f"<author>{author}</author></item></channel></rss>"
    ).encode()
    good = seed_feed("feed-teaser.xml", "http://127.0.0.1:1")

    async def go(pool):
        slow_parse = parse_isolated(slow, FEED.url, "application/xml", pool=pool, timeout=1)
        good_parse = parse_isolated(good, FEED.url, "application/xml", pool=pool, timeout=20)
        return await asyncio.gather(slow_parse, good_parse, return_exceptions=True)

    failed, parsed = run(go)
    assert isinstance(failed, ParseError) and str(failed) == "parse timed out after 1s"
    assert parsed.entries


def test_memory_limit_ends_the_job_not_the_daemon():
    async def go(pool):
        with pytest.raises(ParseError, match="parse ran out of memory"):
            await pool.run(hog_memory)
        return await pool.run(len, b"still working")

    assert run(go) == 13


def test_parser_errors_cross_the_process_boundary():
    async def go(pool):
        await parse_isolated(b"<html><body>page</body></html>", FEED.url, "text/html", pool=pool)

    with pytest.raises(ParseError, match="not a feed"):
        run(go)


def rss(*items: tuple[str, str], build: str = "Mon, 01 Jan 2018 00:00:00 GMT") -> bytes:
    """A small RSS document with ``(guid, title)`` items."""
    blocks = "".join(
        f'<item><guid isPermaLink="false">{guid}</guid><title>{title}</title>'
        f"<link>http://news.example/{guid}</link></item>\n"
        for guid, title in items
    )
    return (
        '<rss version="2.0"><channel><title>t</title><link>http://news.example/</link>'
        f"<lastBuildDate>{build}</lastBuildDate>\n{blocks}</channel></rss>"
    ).encode()


def test_changed_parse_in_the_worker_parses_only_new_or_edited_entries():
    first = rss(("a", "Alpha"), ("b", "Beta"))
    rerendered = rss(("a", "Alpha"), ("b", "Beta"), build="Tue, 02 Jan 2018 00:00:00 GMT")
    edited = rss(("c", "Gamma"), ("a", "Alpha"), ("b", "Beta, edited"))

    async def go(pool):
        args = (FEED.url, "application/rss+xml", FEED, NOW)
        whole = await parse_changed_isolated(first, *args, None, pool=pool)
        same = await parse_changed_isolated(rerendered, *args, whole.signatures, pool=pool)
        newer = await parse_changed_isolated(edited, *args, same.signatures, pool=pool)
        return whole, same, newer

    whole, same, newer = run(go)
    assert sorted(i.id for i in whole.items) == ["a", "b"] and whole.meta.title == "t"
    assert (same.meta, same.items, same.entries, same.changed) == (None, [], 2, 0)
    assert same.signatures == whole.signatures
    assert [(i.id, i.title) for i in newer.items] == [("c", "Gamma"), ("b", "Beta, edited")]
    assert (newer.entries, newer.changed) == (3, 2)
    # the kept signatures: one 8-byte digest an entry, in document order ("a" is unchanged)
    digests = [base64.b64decode(s) for s in (whole.signatures, newer.signatures)]
    assert len(digests[1]) == 24 and digests[1][8:16] == digests[0][:8]
