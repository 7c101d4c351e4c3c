"""What a parse worker imports: the jobs it runs, not the pool's side (asyncio, logging)."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.ingest.parseworker import parse_changed_isolated
from monitor.models import FeedRef
from tests.conftest import seed_feed, with_pool

NOW = datetime(2026, 11, 30, tzinfo=UTC)
FEED = FeedRef("seed", "http://127.0.0.1:1/feed.xml")
LOADED = "sorted(m for m in {names} if m in __import__('sys').modules)"


def loaded_in_worker(pool, names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` the worker has imported (asked in the worker itself)."""
    return pool.run(eval, LOADED.format(names=names))


def test_a_worker_that_scanned_and_parsed_never_imported_asyncio_or_logging():
    body = seed_feed("feed-full.xml", "http://127.0.0.1:1")

    async def go(pool):
        first = await parse_changed_isolated(body, FEED.url, None, FEED, NOW, None, pool=pool)
        assert first.items  # a full parse ran in this worker (feedparser, the normalizer)
        again = await parse_changed_isolated(
            body, FEED.url, None, FEED, NOW, first.signatures, pool=pool
        )
        assert again.meta is None  # and a pre-scan that found nothing new
        return await loaded_in_worker(pool, ("asyncio", "logging", "monitor.ingest.workerpool"))

    assert with_pool(go) == []


def test_a_worker_before_its_first_parse_has_not_loaded_feedparser():
    async def go(pool):
        return await loaded_in_worker(pool, ("feedparser", "monitor.ingest.parsejobs"))

    assert with_pool(go) == []
