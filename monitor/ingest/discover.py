"""Feed autodiscovery: the feed an HTML page advertises with ``<link rel="alternate">``.

    url = discover_feed_url(result.body, result.url)   # None when the page names none
    result = await fetch_feed(client, url, name=name, slot=host_slot, **fetch_options)

RSS is preferred over Atom over JSON Feed only by document order: the first
advertised feed wins, as browsers and readers do. Only the document's head-ish
first :data:`SCAN_BYTES` are read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import httpx

from monitor.errors import FetchError
from monitor.ingest.charset import looks_like_html
from monitor.ingest.fetch import FetchResult, fetch
from monitor.ingest.urlguard import shown_url
from monitor.redact import redact_url

log = logging.getLogger("monitor.ingest")

FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"}
)
SCAN_BYTES = 512 * 1024


class _LinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag == "base" and values.get("href") and self.base is None:
            self.base = values["href"]
        if tag != "link" or not values.get("href"):
            return
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").lower().split(";")[0].strip()
        if "alternate" in rels and kind in FEED_TYPES:
            self.found.append(values["href"].strip())


def discover_feed_url(html_bytes: bytes, base_url: str) -> str | None:
    """The absolute URL of the first feed ``html_bytes`` advertises, else None.

    Only ``http(s)`` links count; whether one may be fetched is the guard's decision
    (:func:`monitor.ingest.urlguard.check_url`), made when it is fetched.
    """
    finder = _LinkFinder()
    try:
        finder.feed(html_bytes[:SCAN_BYTES].decode("utf-8", errors="replace"))
        finder.close()
    except Exception:  # HTMLParser is lenient; anything else means "no feed found"
        return None
    if not finder.found:
        return None
    try:
        base = urljoin(base_url, finder.base) if finder.base else base_url
        url = urljoin(base, finder.found[0])
    except ValueError:  # not a URL ("http://[::1/"): kept as written, for fetch to refuse
        url = finder.found[0]
    return url if url.lower().startswith(("http://", "https://")) else None


def advertised_feed(body: bytes | None, content_type: str | None, url: str) -> str | None:
    """The feed a fetched web page advertises, or None (not a page, or none advertised)."""
    if not looks_like_html(body, content_type):
        return None
    return discover_feed_url(body or b"", url)


async def fetch_feed(
    client: httpx.AsyncClient,
    url: str,
    *,
    name: str,
    slot: Callable[[str], AbstractAsyncContextManager[Any]],
    etag: str | None = None,
    last_modified: str | None = None,
    origin: str | None = None,
    **options: Any,
) -> FetchResult:
    """Fetch a feed (the daemon's poll); a web page that advertises a feed is followed.

    ``slot(url)`` bounds the fetches to one host (``Runtime.host_slot``); ``options``
    are :func:`~monitor.ingest.fetch.fetch`'s (timeout, max_bytes, allow_private).
    ``origin`` is the feed URL as configured (default ``url``): the advertised feed
    is fetched under the same rule as a redirect from it (only ``origin``'s host may
    be private), and a refusal says it was the advertised feed. The feed found is the
    result's ``permanent_url``, so later polls go to it.
    """
    origin = origin or url
    async with slot(url):
        result = await fetch(
            client, url, etag=etag, last_modified=last_modified, origin=origin, **options
        )
    found = advertised_feed(result.body, result.content_type, result.url)
    if found is None:
        return result
    log.info("feed=%r is a web page; following the feed it advertises: %s", name, shown_url(found))
    try:
        async with slot(found):
            discovered = await fetch(client, found, origin=origin, **options)
    except FetchError as exc:
        if exc.kind not in ("blocked", "url"):
            raise
        page = redact_url(result.url)
        raise FetchError(exc.kind, f"{page} is a web page; the feed it advertises: {exc}") from None
    return replace(discovered, permanent_url=discovered.permanent_url or found)
