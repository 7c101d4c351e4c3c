"""Reading items from a path or URL for ``fetch`` and ``test-rule``.

A source that parses as a feed yields its items; anything else (an article page, a
text file, standard input) is one item whose content is the document's text.
"""

from __future__ import annotations

import re
import sys
from datetime import datetime
from pathlib import Path

import httpx

from monitor.errors import FetchError, ParseError
from monitor.ingest.discover import advertised_feed
from monitor.ingest.fetch import fetch
from monitor.ingest.htmltext import html_to_text
from monitor.ingest.normalize import normalize_feed
from monitor.ingest.parse import parse_feed
from monitor.models import FeedRef, Item

MAX_SOURCE_BYTES = 20 * 1024 * 1024
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def as_url(source: str) -> str:
    """``http(s)://`` and ``file:`` stay as they are; a plain path becomes ``file:``."""
    if re.match(r"(?i)(https?://|file:)", source):
        return source
    return "file:" + str(Path(source))


async def read_feed(client: httpx.AsyncClient, source: str, now: datetime) -> list[Item]:
    """The normalized items of a feed at ``source``; raise FetchError/ParseError."""
    url = as_url(source)
    result = await fetch(client, url, timeout=30, max_bytes=MAX_SOURCE_BYTES)
    found = advertised_feed(result.body, result.content_type, result.url)
    if found:
        print(f"{source} is a web page; found the feed it advertises: {found}", file=sys.stderr)
        url = found
        result = await fetch(client, url, timeout=30, max_bytes=MAX_SOURCE_BYTES)
    parsed = parse_feed(result.body or b"", result.url, result.content_type)
    return normalize_feed(parsed, FeedRef(parsed.title or source, url), now)


async def read_items(client: httpx.AsyncClient, source: str, now: datetime) -> list[Item]:
    """Items of a feed, or one item holding the text of any other document."""
    url = as_url(source)
    result = await fetch(client, url, timeout=30, max_bytes=MAX_SOURCE_BYTES)
    body = result.body or b""
    try:
        parsed = parse_feed(body, result.url, result.content_type)
        if parsed.entries:
            return normalize_feed(parsed, FeedRef(parsed.title or source, url), now)
    except ParseError:
        pass
    return [document_item(body, source, url)]


def document_item(body: bytes, name: str, url: str | None = None) -> Item:
    """One Item from an article page or text: title from ``<title>``, content its text."""
    text = body.decode("utf-8", errors="replace")
    found = _TITLE.search(body[:65536])
    title = html_to_text(found.group(1).decode("utf-8", "replace")) if found else ""
    return Item(
        feed=FeedRef(name, url or name),
        id=url or name,
        title=title,
        link=url if url and url.startswith("http") else None,
        content=html_to_text(text),
    )


def stdin_item() -> Item:
    """The text on standard input as one item."""
    return document_item(sys.stdin.buffer.read(MAX_SOURCE_BYTES), "<stdin>")


__all__ = ["FetchError", "as_url", "document_item", "read_feed", "read_items", "stdin_item"]
