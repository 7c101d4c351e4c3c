"""Turning parsed entries into :class:`monitor.models.Item` values.

Text fields become plain text with bounded length (:func:`field_text`: only what
the feed marks as HTML is parsed as HTML); the published time becomes an aware UTC
datetime, or None when the feed's date cannot be read exactly
(:mod:`monitor.ingest.dates`). The id is the entry's identifier in its document
(:func:`monitor.ingest.entryid.entry_ids`: the guid as written, else the link),
else a hash of its text, so it is stable across polls.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from typing import Any

from monitor.ingest.dates import parse_date
from monitor.ingest.entryid import entry_ids, former_key, guid_of, link_of
from monitor.ingest.htmltext import drop_controls, field_text
from monitor.ingest.parse import ParsedFeed
from monitor.models import TEXT_ID_PREFIX, FeedRef, Item

MAX_TITLE = 1_000
MAX_SUMMARY = 20_000
MAX_CONTENT = 200_000
MAX_SHORT = 500


def normalize_feed(parsed: ParsedFeed, feed: FeedRef, now: datetime) -> list[Item]:
    """Every entry of ``parsed`` as an Item of ``feed`` (exact repeats dropped)."""
    seen_guids: set[str] = set()
    items: dict[str, Item] = {}
    for entry, ident in zip(parsed.entries, entry_ids(parsed.entries), strict=True):
        item = normalize_entry(entry, feed, parsed.language, now, ident)
        first_of_repeated = bool(item.guid) and ident != item.guid and item.guid not in seen_guids
        if item.guid:
            seen_guids.add(item.guid)
        former = former_key(item.guid, parsed.base_url or feed.url, first_of_repeated)
        if former and former != item.id:
            item = replace(item, former_key=former)
        items.setdefault(item.id, item)
    return list(items.values())


def normalize_entry(
    entry: Any, feed: FeedRef, language: str | None, now: datetime, ident: str | None
) -> Item:
    """One parsed entry (see :func:`monitor.ingest.parse.slim_entry`) as an Item.

    ``ident`` is the entry's identifier in its document (None: its text identifies it).
    """
    title = field_text(*entry["title"], MAX_TITLE)
    summary = field_text(*entry["summary"], MAX_SUMMARY)
    content = "\n".join(field_text(*c) for c in entry.get("content") or [])[:MAX_CONTENT]
    return Item(
        feed=feed,
        id=ident or _content_hash(title, summary, content),
        title=title,
        link=link_of(entry),
        guid=guid_of(entry),
        summary=summary,
        content=content,
        published=_published(entry, now),
        author=_short(entry.get("author")),
        tags=tuple(t for t in (_short(tag.get("term")) for tag in entry.get("tags") or []) if t),
        lang=_short(entry.get("language") or language),
    )


def _short(value: Any) -> str | None:
    text = drop_controls(str(value), keep_lines=False).strip() if value else ""
    return text[:MAX_SHORT] or None


def _content_hash(*parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()
    return f"{TEXT_ID_PREFIX}{digest[:32]}"


def _published(entry: Any, now: datetime) -> datetime | None:
    """The first of published/updated/created that can be read exactly."""
    for key in ("published", "updated", "created"):
        text, parsed = entry.get(key) or (None, None)
        moment = parse_date(text, parsed, now)
        if moment is not None:
            return moment
    return None
