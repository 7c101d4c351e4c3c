"""Full text: fetch an item's link and extract the article text (trafilatura).

Article links come from feed content, so they are fetched through a guarded client
(:func:`monitor.ingest.fetch.make_client` with ``guarded=True``) with the SSRF guard
on (``allow_private`` only for tests and intranet feeds whose config allows it), the
same deadline and size cap as feeds, a bound on concurrent fetches, and an in-memory
LRU cache. Extraction runs in the parse worker pool when one is given (hostile HTML
cannot hang the daemon), else in a thread.

    fetcher = FulltextFetcher(client, timeout=30, max_bytes=5_000_000, pool=pool)
    text = await fetcher.text(item.link)   # str, or None (reason logged)
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

import httpx

from monitor.errors import FetchError, ParseError
from monitor.ingest.fetch import fetch
from monitor.ingest.parseworker import ParsePool
from monitor.redact import redact_url

log = logging.getLogger("monitor.ingest.fulltext")
MAX_TEXT = 200_000  # normalize.MAX_CONTENT


def extract_text(html: bytes, url: str | None = None) -> str | None:
    """The main text of an article page, or None when none is found."""
    import trafilatura  # heavy: imported where used (and in the worker)

    text = trafilatura.extract(
        html, url=url, include_comments=False, include_tables=False, favor_precision=True
    )
    return text[:MAX_TEXT] if text else None


class FulltextFetcher:
    """Fetches and extracts article text, cached and with bounded concurrency."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        timeout: float = 30.0,
        max_bytes: int = 5 * 1024 * 1024,
        concurrency: int = 4,
        cache_size: int = 512,
        allow_private: bool = False,
        pool: ParsePool | None = None,
        extract_timeout: float = 10.0,
    ) -> None:
        self.client = client
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self.pool = pool
        self.extract_timeout = extract_timeout
        self.cache_size = cache_size
        self._cache: OrderedDict[str, str | None] = OrderedDict()
        self._limit = asyncio.Semaphore(concurrency)

    async def text(self, url: str | None) -> str | None:
        """The article text behind ``url``, or None (failure logged, and cached too)."""
        if not url or not url.lower().startswith(("http://", "https://")):
            return None
        if url in self._cache:
            self._cache.move_to_end(url)
            return self._cache[url]
        async with self._limit:
            text = await self._fetch_text(url)
        self._cache[url] = text
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return text

    async def _fetch_text(self, url: str) -> str | None:
        try:
            result = await fetch(
                self.client,
                url,
                timeout=self.timeout,
                max_bytes=self.max_bytes,
                allow_private=self.allow_private,
                limit_setting="ingest.fulltext_max_bytes",
            )
            if not result.body:
                return None
            if self.pool is not None:
                text = await self.pool.run(
                    extract_text, result.body, result.url, timeout=self.extract_timeout
                )
            else:
                text = await asyncio.to_thread(extract_text, result.body, result.url)
        except (FetchError, ParseError) as exc:
            log.warning("fulltext url=%s failed: %s", redact_url(url), exc)
            return None
        if not text:
            log.info("fulltext url=%s: no article text found", redact_url(url))
        return text
