"""Turning parsed entries into :class:`monitor.models.Item` values.

Text fields become plain text with bounded length (:func:`field_text`: only what
the feed marks as HTML is parsed as HTML); the published time becomes an aware UTC
datetime, or None when the feed's date cannot be read exactly
(:mod:`monitor.ingest.dates`). Identity follows the feed's own word:

- the guid exactly as written (never resolved into a URL); a guid that several
  entries of one document share identifies none of them, and those entries fall
  back to the next identity: their link, else (when the link is shared too) a
  hash of their text;
- the link from ``<link>``, or from a guid that is an absolute http(s) URL not
  marked ``isPermaLink="false"`` (RSS 2.0); never invented from a relative guid;
- links and guids are kept whole up to :data:`MAX_LINK` characters and dropped,
  never cut, beyond (a cut URL is a broken one).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from monitor.ingest.dates import parse_date
from monitor.ingest.htmltext import field_text
from monitor.ingest.parse import MAX_LINK, ParsedFeed, bounded, guid_of, repeated_guids
from monitor.models import FeedRef, Item

MAX_TITLE = 1_000
MAX_SUMMARY = 20_000
MAX_CONTENT = 200_000
MAX_SHORT = 500
FORMER_MAX = 500  # guids and links were cut at this length before (see Item.former_key)
_ABSOLUTE_HTTP = re.compile(r"(?i)https?://[^\s/?#]")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def normalize_feed(parsed: ParsedFeed, feed: FeedRef, now: datetime) -> list[Item]:
    """Every entry of ``parsed`` as an Item of ``feed`` (exact repeats dropped)."""
    repeated = repeated_guids(parsed.entries)
    links = Counter(_link(e) for e in parsed.entries if guid_of(e) in repeated)
    first_of: set[str] = set()
    items: dict[str, Item] = {}
    for entry in parsed.entries:
        guid = guid_of(entry)
        if guid in repeated:
            link = _link(entry)
            own = link if link and links[link] == 1 else None
            former = guid[:FORMER_MAX] if guid not in first_of else None
            first_of.add(guid)
            item = normalize_entry(entry, feed, parsed.language, now, own_id=own or "")
            item = _with_former(item, former)
        else:
            item = normalize_entry(entry, feed, parsed.language, now, base=parsed.base_url)
        items.setdefault(item.id, item)
    return list(items.values())


def normalize_entry(
    entry: Any,
    feed: FeedRef,
    language: str | None,
    now: datetime,
    own_id: str | None = None,
    base: str = "",
) -> Item:
    """One parsed entry (see :func:`monitor.ingest.parse.slim_entry`) as an Item.

    ``own_id`` replaces the guid as the item's identity when the guid is shared by
    other entries ("" for a hash of the text); ``base`` is the URL the document was
    fetched from (for :attr:`Item.former_key`).
    """
    title = field_text(*_pair(entry.get("title")), MAX_TITLE)
    summary = field_text(*_pair(entry.get("summary")), MAX_SUMMARY)
    content = "\n".join(field_text(*_pair(c)) for c in entry.get("content") or [])[:MAX_CONTENT]
    link = _link(entry)
    guid = guid_of(entry)
    ident = guid if own_id is None else own_id
    item = Item(
        feed=feed,
        id=ident or (link if own_id is None else None) or _content_hash(title, summary, content),
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
    if own_id is None and guid:
        return _with_former(item, _former_guid_key(guid, base or feed.url))
    return item


def _pair(value: Any) -> tuple[str | None, str]:
    """A text field as ``(value, kind)``; a bare string (older callers) is HTML."""
    if isinstance(value, tuple | list) and len(value) == 2:
        return value[0], value[1]
    return (str(value) if value else None), "html"


def _link(entry: Any) -> str | None:
    """``<link>``, or a permalink guid that is an absolute http(s) URL (RSS 2.0)."""
    link = bounded(entry.get("link"), MAX_LINK)
    if link and entry.get("guidislink") and not _ABSOLUTE_HTTP.match(link):
        return None  # feedparser copied a guid that is no URL into the link
    return link


def _former_guid_key(guid: str, base: str) -> str | None:
    """The key news-monitor gave this item before guids were kept as written.

    feedparser used to resolve a relative guid against the feed's URL (``base``),
    and guids were cut at 500 characters. A stored item under that key is renamed
    once (:meth:`monitor.store.items.Items.adopt_former_keys`), so an upgrade sends
    no alert twice. A guid marked ``isPermaLink="false"`` was never resolved: its
    former key is not found, which is harmless.
    """
    former = guid
    if not _SCHEME.match(guid) and base:
        try:
            former = urljoin(base, guid)
        except ValueError:
            former = guid
    former = former.strip()[:FORMER_MAX]
    return former if former != guid else None


def _with_former(item: Item, former: str | None) -> Item:
    if not former or former == item.id:
        return item
    return replace(item, former_key=former)


def _short(value: Any) -> str | None:
    text = _CONTROLS.sub("", str(value)).strip() if value else ""
    return text[:MAX_SHORT] or None


def _content_hash(*parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()
    return f"sha256:{digest[:32]}"


def _published(entry: Any, now: datetime) -> datetime | None:
    """The first of published/updated/created that can be read exactly."""
    for key in ("published", "updated", "created"):
        value = entry.get(key)
        text, parsed = value if isinstance(value, tuple | list) else (None, value)
        if text is None and parsed is None:
            parsed = entry.get(f"{key}_parsed")
        moment = parse_date(text, parsed, now)
        if moment is not None:
            return moment
    return None
