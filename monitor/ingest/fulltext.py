"""Full text: fetch an item's link and extract the article text (trafilatura).

Article links come from feed content, so they are fetched by the feeds' own
:func:`~monitor.ingest.fetch.fetch` through the guarded client
(:func:`monitor.ingest.fetch.make_client` with ``guarded=True``): the SSRF guard is on,
with the feed URL as ``origin`` (``allow_private`` lets only the feed's own host be
private), the same deadline and a size cap. Fetches are bounded twice: at most
``concurrency`` at once per fetcher, and at most :data:`ARTICLES_PER_HOST` at once to
one host across the daemon (:class:`HostSlots`, shared), so a feed with many slow
links takes the slots of its own host only. Texts are kept in an in-memory LRU
cache. Extraction runs in the parse worker pool when one is given (hostile HTML
cannot hang the daemon), else in a thread.

    fetcher = FulltextFetcher(client, timeout=30, max_bytes=5_000_000, pool=pool)
    text = await fetcher.text(item.link, origin=feed.url)   # str, or None (reason logged)
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from urllib.parse import urlsplit

import httpx

from monitor.errors import FetchError, ParseError
from monitor.ingest.fetch import fetch
from monitor.ingest.workerpool import ParsePool
from monitor.redact import redact_url

log = logging.getLogger("monitor.ingest.fulltext")
MAX_TEXT = 200_000  # normalize.MAX_CONTENT
ARTICLES_PER_HOST = 2  # article fetches at once to one host, across the daemon
ARTICLE_ACCEPT = "text/html, application/xhtml+xml, */*;q=0.5"  # a page, not its feed


class HostSlots:
    """At most ``per_host`` article fetches at once to one host (by host name), shared
    by every :class:`FulltextFetcher` of a daemon: a site is asked politely, and slow
    links of one site cannot hold the slots other sites' articles need."""

    def __init__(self, per_host: int = ARTICLES_PER_HOST) -> None:
        self.per_host = per_host
        self._slots: dict[str, asyncio.Semaphore] = {}

    def slot(self, url: str) -> asyncio.Semaphore:
        """The semaphore of ``url``'s host."""
        host = (urlsplit(url).hostname or "").lower()
        if host not in self._slots:
            self._slots[host] = asyncio.Semaphore(self.per_host)
        return self._slots[host]


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
        host_slots: HostSlots | None = None,
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
        self.host_slots = host_slots or HostSlots()

    async def text(self, url: str | None, origin: str | None = None) -> str | None:
        """The article text behind ``url``, or None (failure logged, and cached too).

        ``origin``: the feed URL the link came from (the SSRF guard's private-network
        allowance is that host's only). The host's slot is taken before the fetcher's,
        so articles waiting for a busy host do not hold slots other hosts could use.
        """
        if not url or not url.lower().startswith(("http://", "https://")):
            return None
        if url in self._cache:
            self._cache.move_to_end(url)
            return self._cache[url]
        async with self.host_slots.slot(url), self._limit:
            text = await self._fetch_text(url, origin)
        self._cache[url] = text
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return text

    async def _fetch_text(self, url: str, origin: str | None) -> str | None:
        try:
            result = await fetch(
                self.client,
                url,
                timeout=self.timeout,
                max_bytes=self.max_bytes,
                allow_private=self.allow_private,
                origin=origin,
                limit_setting="ingest.fulltext_max_bytes",
                accept=ARTICLE_ACCEPT,
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
