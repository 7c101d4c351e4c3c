"""Parsing feed bytes with feedparser, never letting feedparser touch the network.

feedparser is given bytes only (never a URL), the response's Content-Type for the
encoding and its URL for resolving relative links. A document that yields no feed
and no entries is a ParseError; a "bozo" feed with entries is accepted (most real
feeds have small errors) and the problem is reported for the log. JSON Feed is read
by :mod:`monitor.ingest.jsonfeed` into the same shape.

feedparser keeps "safe" internal entities, so one entity referenced a million times
can still amplify a small document into gigabytes: a document declaring entities
loses its whole DOCTYPE before parsing (no real feed needs one). Parsing in a worker
with time and memory limits is :mod:`monitor.ingest.parseworker`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import feedparser

from monitor.errors import ParseError
from monitor.ingest.jsonfeed import looks_like_json_feed, parse_json_feed

# feedparser is lenient but its sanitizer resolves relative URIs; keep that on.
feedparser.RESOLVE_RELATIVE_URIS = True
feedparser.SANITIZE_HTML = True
_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:rss|feed|RDF|channel)[\s>/]")
_ENTITY = re.compile(rb"<!ENTITY\s[^>]*>")
ENTRY_KEYS = ("id", "link", "title", "summary", "author", "language")
DATE_KEYS = ("published_parsed", "updated_parsed", "created_parsed")


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: its title and language, its entries (feedparser-shaped dicts).

    ``ttl_minutes`` is RSS ``<ttl>`` (how long the feed asks to be cached).
    """

    title: str
    language: str | None
    entries: list[Any]
    warning: str | None = None
    ttl_minutes: int | None = field(default=None)


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse feed bytes fetched from ``url``; raise ParseError when it is not a feed."""
    if looks_like_json_feed(body, content_type):
        found = parse_json_feed(body, url)
        if found is None:
            raise ParseError("not a feed (JSON, but not a JSON Feed)")
        return ParsedFeed(found["title"], found["language"], found["entries"])
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        parsed = feedparser.parse(defuse_entities(body), response_headers=headers)
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
        ttl_minutes=_ttl(feed.get("ttl")),
    )


def defuse_entities(body: bytes) -> bytes:
    """``body`` without its DOCTYPE when it declares entities (no amplification)."""
    first = body.find(b"<!ENTITY")
    if first < 0:
        return body
    root = _ROOT.search(body, first)
    doctype = body.rfind(b"<!DOCTYPE", 0, first)
    if root and doctype >= 0:
        return body[:doctype] + body[root.start() :]
    return _ENTITY.sub(b"", body)


def slim_entry(entry: Any) -> dict[str, Any]:
    """The fields normalization reads, as a plain (picklable) dict."""
    slim = {key: entry.get(key) for key in ENTRY_KEYS}
    slim["content"] = [{"value": c.get("value")} for c in entry.get("content") or []]
    slim["tags"] = [{"term": t.get("term")} for t in entry.get("tags") or []]
    for key in DATE_KEYS:
        slim[key] = dict.get(entry, key)
    return slim


def _ttl(value: Any) -> int | None:
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes if minutes > 0 else None
