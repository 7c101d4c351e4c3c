"""Turning feedparser entries into :class:`monitor.models.Item` values.

Text fields become plain text with bounded length; the published time becomes an
aware UTC datetime (or None when the feed's date is missing or nonsense); the id is
the guid, else the link, else a hash of the content, so it is stable across polls.
"""

from __future__ import annotations

import calendar
import hashlib
from datetime import UTC, datetime
from typing import Any

from monitor.ingest.htmltext import html_to_text
from monitor.ingest.parse import ParsedFeed
from monitor.models import FeedRef, Item

MAX_TITLE = 1_000
MAX_SUMMARY = 20_000
MAX_CONTENT = 200_000
MAX_SHORT = 500
# Dates before this are feed bugs (epoch zero, year 1); later than now+2 days likewise.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)


def normalize_feed(parsed: ParsedFeed, feed: FeedRef, now: datetime) -> list[Item]:
    """Every entry of ``parsed`` as an Item of ``feed`` (duplicates ids dropped)."""
    items: dict[str, Item] = {}
    for entry in parsed.entries:
        item = normalize_entry(entry, feed, parsed.language, now)
        items.setdefault(item.id, item)
    return list(items.values())


def normalize_entry(entry: Any, feed: FeedRef, language: str | None, now: datetime) -> Item:
    """One feedparser entry as an Item."""
    title = html_to_text(str(entry.get("title") or ""), MAX_TITLE)
    summary = html_to_text(str(entry.get("summary") or ""), MAX_SUMMARY)
    content = html_to_text(
        "\n".join(str(c.get("value") or "") for c in entry.get("content") or []), MAX_CONTENT
    )
    link = _short(entry.get("link"))
    guid = _short(entry.get("id"))
    return Item(
        feed=feed,
        id=guid or link or _content_hash(title, summary, content),
        title=title,
        link=link,
        guid=guid,
        summary=summary,
        content=content,
        published=_published(entry, now),
        author=_short(entry.get("author")),
        tags=tuple(t for t in (_short(tag.get("term")) for tag in entry.get("tags") or []) if t),
        lang=_short(entry.get("language") or language),
    )


def _short(value: Any) -> str | None:
    text = str(value).strip() if value else ""
    return text[:MAX_SHORT] or None


def _content_hash(*parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()
    return f"sha256:{digest[:32]}"


def _published(entry: Any, now: datetime) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = dict.get(entry, key)  # plain get: no feedparser key aliasing (and warning)
        if not parsed:
            continue
        try:
            moment = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
        except (OverflowError, ValueError, TypeError, OSError):
            continue
        if EARLIEST <= moment <= now.replace(year=now.year + 1):
            return moment
    return None
