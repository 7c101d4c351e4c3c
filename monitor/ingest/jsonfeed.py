"""JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1) to feedparser-shaped entries.

feedparser does not read JSON Feed. This turns one into the same shape
:func:`monitor.ingest.parse.parse_feed` returns for RSS and Atom: plain dicts with
``id``, ``link``, ``title``, ``summary``, ``content`` (a list of ``{"value": ...}``),
``author``, ``tags`` (``[{"term": ...}]``), ``language`` and ``published_parsed`` /
``updated_parsed`` (UTC ``time.struct_time``); relative URLs resolved on the feed's.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

MAX_ITEMS = 10_000


def looks_like_json_feed(body: bytes, content_type: str | None) -> bool:
    """True when the body is (meant to be) a JSON document."""
    if content_type and "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse_json_feed(body: bytes, url: str) -> dict[str, Any] | None:
    """``{"title", "language", "home", "entries"}`` of a JSON Feed, None if it is not one."""
    try:
        data = json.loads(body.decode("utf-8-sig", errors="replace"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        return None
    base = _text(data.get("feed_url")) or url
    home = _text(data.get("home_page_url"))
    base = urljoin(url, home or base)
    feed_authors = _authors(data)
    items = data.get("items") if isinstance(data.get("items"), list) else []
    entries = [
        _entry(item, base, feed_authors) for item in items[:MAX_ITEMS] if isinstance(item, dict)
    ]
    return {
        "title": _text(data.get("title")),
        "language": _text(data.get("language")) or None,
        "entries": entries,
    }


def _entry(item: dict, base: str, feed_authors: str) -> dict[str, Any]:
    link = _text(item.get("url")) or _text(item.get("external_url"))
    html, plain = _text(item.get("content_html")), _text(item.get("content_text"))
    entry: dict[str, Any] = {
        "id": _text(item.get("id")) or None,
        "link": urljoin(base, link) if link else None,
        "title": _text(item.get("title")),
        "summary": _text(item.get("summary")),
        "content": [{"value": html or plain}] if (html or plain) else [],
        "author": _authors(item) or feed_authors or None,
        "tags": [{"term": str(t)} for t in item.get("tags") or [] if isinstance(t, str | int)],
        "language": _text(item.get("language")) or None,
    }
    for key, field in (("published_parsed", "date_published"), ("updated_parsed", "date_modified")):
        entry[key] = _date(item.get(field))
    return entry


def _authors(obj: dict) -> str:
    authors = obj.get("authors")
    if not isinstance(authors, list):
        authors = [obj.get("author")] if isinstance(obj.get("author"), dict) else []
    names = [_text(a.get("name")) for a in authors if isinstance(a, dict)]
    return ", ".join(n for n in names if n)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _date(value: Any) -> time.struct_time | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).timetuple()
