"""Reading items from a path or URL for ``fetch`` and ``test-rule``.

A source that parses as a feed yields its items; anything else (an article page, a
text file, standard input) is one item whose content is the document's text.

The bounds are the daemon's (:class:`SourceLimits`, from the config): the fetch
deadline ``defaults.timeout`` and the body cap ``defaults.max_bytes``; parsing (and
the text of a document) runs in a parse worker (:mod:`monitor.ingest.parseworker`)
with ``ingest.parse_timeout`` and ``ingest.parse_memory_mb``, scaled with the body's
size as in the daemon. So a hostile feed handed to ``fetch`` is bounded exactly as
it would be when polled.

The SSRF guard is the daemon's too (:func:`monitor.ingest.urlguard.check_url`, on a
guarded client): a SOURCE is treated as a feed URL with ``allow_private_networks``,
since the operator typed it, so its own host may be private (cloud metadata never);
its redirects and the feed a page advertises may be private only on that same host.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx

from monitor.errors import FetchError, ParseError
from monitor.ingest.body import MAX_BYTES_SETTING, too_large_error
from monitor.ingest.charset import decode_document
from monitor.ingest.discover import advertised_feed
from monitor.ingest.fetch import FetchResult, fetch
from monitor.ingest.htmltext import html_to_text
from monitor.ingest.mislabel import DECIDE
from monitor.ingest.parseworker import (
    ParseLimitError,
    ParsePool,
    parse_items_isolated,
    run_for_body,
)
from monitor.ingest.urlguard import shown_url
from monitor.models import FeedRef, Item

if TYPE_CHECKING:  # not imported at run time: a parse worker unpickling document_item
    from monitor.config import MonitorConfig  # loads this module, and needs no pydantic

_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class SourceLimits:
    """How one source is fetched: the daemon's settings for a feed.

    ``timeout`` is the whole fetch's deadline in seconds (``defaults.timeout``),
    ``max_bytes`` the cap on the body after decompression (``defaults.max_bytes``).
    """

    timeout: float
    max_bytes: int

    @classmethod
    def from_config(cls, config: MonitorConfig) -> SourceLimits:
        """The limits ``config`` gives every feed that does not set its own."""
        return cls(
            timeout=config.defaults.timeout.total_seconds(),
            max_bytes=config.defaults.max_bytes,
        )


def parse_pool(config: MonitorConfig) -> ParsePool:
    """One parse worker with the daemon's limits (``ingest.parse_timeout``, ``_memory_mb``)."""
    ingest = config.ingest
    return ParsePool(
        1, memory_mb=ingest.parse_memory_mb, timeout=ingest.parse_timeout.total_seconds()
    )


def as_url(source: str) -> str:
    """A URL (``scheme://``, ``file:``) stays as it is (``ftp://`` too, for the guard to
    refuse with its words); a plain path becomes ``file:``, percent-encoded (RFC 3986)
    so that the fetcher, which decodes ``file:`` URLs, reads the file named as typed
    (``a%41.xml`` stays ``a%41.xml``, not ``aA.xml``; ``my feed.xml`` keeps its space)."""
    if is_url(source):
        return source
    return "file:" + quote(str(Path(source)))


def is_url(source: str) -> bool:
    """Whether the SOURCE typed is a URL (``scheme://``, ``file:``) rather than a path."""
    return re.match(r"(?i)([a-z][a-z0-9+.-]*://|file:)", source) is not None


async def _fetch(
    client: httpx.AsyncClient, url: str, limits: SourceLimits, origin: str
) -> FetchResult:
    """Fetch ``url``, reached from the SOURCE ``origin``: only ``origin``'s host may be
    private (the operator named it), as for a feed with ``allow_private_networks``."""
    return await fetch(
        client,
        url,
        timeout=limits.timeout,
        max_bytes=limits.max_bytes,
        allow_private=True,
        origin=origin,
    )


async def _feed_items(
    result: FetchResult, source: str, url: str, now: datetime, pool: ParsePool
) -> list[Item]:
    """The result's items, parsed and normalized in a worker; the feed named by its title."""
    ref = FeedRef(source, url)
    meta, items = await parse_items_isolated(  # read as a feed's first poll reads it
        result.body or b"", result.url, result.content_type, ref, now, reading=DECIDE, pool=pool
    )
    if meta.title and meta.title != source:
        ref = FeedRef(meta.title, url)
        items = [replace(item, feed=ref) for item in items]
    return items


async def read_feed(
    client: httpx.AsyncClient,
    source: str,
    now: datetime,
    *,
    limits: SourceLimits,
    pool: ParsePool,
) -> list[Item]:
    """The normalized items of a feed at ``source``; raise FetchError/ParseError.

    A web page that advertises a feed is followed to it (said on stderr).
    """
    url = as_url(source)
    result = await _fetch(client, url, limits, url)
    found = advertised_feed(result.body, result.content_type, result.url)
    if found:
        shown = shown_url(found)
        print(f"{source} is a web page; found the feed it advertises: {shown}", file=sys.stderr)
        try:
            result = await _fetch(client, found, limits, url)
        except FetchError as exc:
            if exc.kind not in ("blocked", "url"):
                raise
            raise FetchError(exc.kind, f"{source}: the feed it advertises: {exc}") from None
        url = found
    return await _feed_items(result, source, url, now, pool)


async def read_items(
    client: httpx.AsyncClient,
    source: str,
    now: datetime,
    *,
    limits: SourceLimits,
    pool: ParsePool,
) -> list[Item]:
    """Items of a feed, or one item holding the text of any other document.

    A parse stopped by a limit (ParseLimitError) is an error, not a document.
    """
    url = as_url(source)
    result = await _fetch(client, url, limits, url)
    body = result.body or b""
    try:
        items = await _feed_items(result, source, url, now, pool)
        if items:
            return items
    except ParseLimitError:
        raise
    except ParseError:
        pass
    return [await document_item_isolated(body, source, url, result.content_type, pool=pool)]


def document_item(
    body: bytes, name: str, url: str | None = None, content_type: str | None = None
) -> Item:
    """One Item from an article page or text: title from ``<title>``, content its text.

    The text is decoded as a feed is (:func:`monitor.ingest.charset.decode_document`:
    BOM, the HTTP charset, a guess), so a windows-1251 page reads as Cyrillic.
    """
    text = decode_document(body, content_type).text
    found = _TITLE.search(text[:65536])
    title = html_to_text(found.group(1)) if found else ""
    return Item(
        feed=FeedRef(name, url or name),
        id=url or name,
        title=title,
        link=url if url and url[:4].lower() == "http" else None,
        content=html_to_text(text),
    )


async def document_item_isolated(
    body: bytes,
    name: str,
    url: str | None = None,
    content_type: str | None = None,
    *,
    pool: ParsePool,
) -> Item:
    """:func:`document_item` in a parse worker, with the parse limits for ``body``'s size."""
    return await run_for_body(document_item, body, name, url, content_type, pool=pool)


async def stdin_item(*, limits: SourceLimits, pool: ParsePool) -> Item:
    """The text on standard input as one item (at most ``limits.max_bytes`` bytes)."""
    body = sys.stdin.buffer.read(limits.max_bytes + 1)
    if len(body) > limits.max_bytes:
        raise too_large_error("<stdin>", limits.max_bytes, MAX_BYTES_SETTING)
    return await document_item_isolated(body, "<stdin>", pool=pool)


__all__ = [
    "FetchError",
    "SourceLimits",
    "as_url",
    "is_url",
    "document_item",
    "document_item_isolated",
    "parse_pool",
    "read_feed",
    "read_items",
    "stdin_item",
]
