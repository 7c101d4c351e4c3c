"""Turning parsed entries into :class:`monitor.models.Item` values.

Text fields become plain text with bounded length (:func:`field_text`: only what
the feed marks as HTML is parsed as HTML); the published time becomes an aware UTC
datetime, or None when the feed's date cannot be read exactly
(:mod:`monitor.ingest.dates`). The id is the entry's identifier in its document
(:func:`monitor.ingest.entryid.entry_ids`: the guid as written, else the link),
else a hash of its text, so it is stable across polls. An entry that cannot be made
an Item is skipped alone, with its position and the reason (:func:`normalize_entries`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from monitor.ingest.dates import parse_date
from monitor.ingest.entryid import entry_ids, former_key, guid_of, link_of
from monitor.ingest.htmltext import drop_controls, field_text
from monitor.ingest.parse import ParsedFeed, skip_reason
from monitor.models import TEXT_ID_PREFIX, FeedRef, Item

MAX_TITLE = 1_000
MAX_SUMMARY = 20_000
MAX_CONTENT = 200_000
MAX_SHORT = 500


def normalize_feed(parsed: ParsedFeed, feed: FeedRef, now: datetime) -> list[Item]:
    """Every entry of ``parsed`` as an Item of ``feed`` (exact repeats dropped); the
    entries that cannot be made Items are left out (see :func:`normalize_entries`)."""
    return normalize_entries(parsed, feed, now)[0]


def normalize_entries(
    parsed: ParsedFeed, feed: FeedRef, now: datetime
) -> tuple[list[Item], list[tuple[int, str]]]:
    """Every entry of ``parsed`` as an Item of ``feed`` (exact repeats dropped), and the
    ``(position, reason)`` of each entry skipped because it raised: one bad entry
    costs itself, never the feed's other entries."""
    seen_guids: set[str] = set()
    items: dict[str, Item] = {}
    skipped: list[tuple[int, str]] = []
    for number, (entry, ident) in enumerate(
        zip(parsed.entries, entry_ids(parsed.entries), strict=True), start=1
    ):
        try:
            item, _former = normalize_keyed(entry, parsed, feed, now, ident, seen_guids)
        except Exception as exc:  # whatever one entry holds, it costs only itself
            skipped.append((_position(entry, number), skip_reason(exc)))
            continue
        items.setdefault(item.id, item)
    return list(items.values()), skipped


def normalize_keyed(
    entry: Any,
    parsed: ParsedFeed,
    feed: FeedRef,
    now: datetime,
    ident: str | None,
    seen_guids: set[str],
) -> tuple[Item, str | None]:
    """:func:`normalize_entry` of one entry of ``parsed``, in document order, with the
    key an earlier version gave it (:func:`former_key`, None when none): of entries
    sharing a guid, only the first kept that guid, so ``seen_guids`` holds the guids of
    the entries before it, and gets this one's once it is an Item. Raises what
    :func:`normalize_entry` raises (the guid is then not counted as seen)."""
    guid = guid_of(entry)
    repeated = bool(guid) and ident != guid and guid not in seen_guids
    former = former_key(guid, parsed.base_url or feed.url, repeated)
    item = normalize_entry(entry, feed, parsed.language, now, ident, former)
    if guid:
        seen_guids.add(guid)
    return item, former


def _position(entry: Any, number: int) -> int:
    """The entry's position in its document (as parse recorded it), else ``number``."""
    position = entry.get("position") if isinstance(entry, dict) else None
    return position if isinstance(position, int) else number


def normalize_entry(
    entry: Any,
    feed: FeedRef,
    language: str | None,
    now: datetime,
    ident: str | None,
    former: str | None = None,
) -> Item:
    """One parsed entry (see :func:`monitor.ingest.parse.slim_entry`) as an Item.

    ``ident`` is the entry's identifier in its document (None: its text identifies it);
    ``former``: the key an earlier version gave it (:func:`former_key`), kept as the
    Item's ``former_key`` unless it is the Item's key.
    """
    title = field_text(*entry["title"], MAX_TITLE)
    summary = field_text(*entry["summary"], MAX_SUMMARY)
    content = "\n".join(field_text(*c) for c in entry.get("content") or [])[:MAX_CONTENT]
    key = ident or _content_hash(title, summary, content)
    return Item(
        feed=feed,
        id=key,
        former_key=former if former and former != key else None,
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
