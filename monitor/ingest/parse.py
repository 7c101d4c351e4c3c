"""Parsing feed bytes with feedparser, never letting feedparser touch the network.

feedparser is given bytes only (never a URL), the response's Content-Type for the
encoding and its URL for resolving relative links. A document that yields no feed
and no entries is a ParseError; a "bozo" feed with entries is accepted (most real
feeds have small errors) and the problem is reported for the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import feedparser

from monitor.errors import ParseError

# feedparser is lenient but its sanitizer resolves relative URIs; keep that on.
feedparser.RESOLVE_RELATIVE_URIS = True
feedparser.SANITIZE_HTML = True


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: its title and language, and its raw feedparser entries."""

    title: str
    language: str | None
    entries: list[Any]
    warning: str | None = None


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse feed bytes fetched from ``url``; raise ParseError when it is not a feed."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        parsed = feedparser.parse(body, response_headers=headers)
    except Exception as exc:  # feedparser can raise instead of setting bozo (its #599)
        raise ParseError(f"feed parser failed: {type(exc).__name__}: {exc}"[:300]) from None
    warning = None
    if parsed.get("bozo"):
        warning = f"{type(parsed.get('bozo_exception')).__name__}: {parsed.get('bozo_exception')}"
    if not parsed.entries and not parsed.feed.get("title") and not parsed.get("version"):
        raise ParseError(f"not a feed ({warning or 'no feed elements found'})"[:300])
    feed = parsed.feed
    return ParsedFeed(
        title=str(feed.get("title") or ""),
        language=feed.get("language"),
        entries=list(parsed.entries),
        warning=warning[:300] if warning else None,
    )
