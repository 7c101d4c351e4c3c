"""A feed first read by an older version, read anew: which of its items' keys change.

Feeds polled before a reading was kept per feed (``feeds.charset_reading`` NULL, items
stored) were read with their label as declared and feedparser's per-field re-reading
unchecked. Such a feed's reading is decided at its next changed body
(:data:`monitor.ingest.mislabel.REDECIDE`), and an item's key can hold its text (a
guid or link with non-ASCII characters, or an item known by a hash of its text), so
the same entry may have another key under the new reading. :func:`carried_keys`
parses the whole body both ways and pairs each entry's two keys by the entry's
position in the document; the store renames the stored items to their new keys
(:meth:`monitor.store.items.Items.rename_keys`) before any item is recorded, so nothing
is alerted twice. It runs in the parse worker, once per such feed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor.models import FeedRef

__all__ = ["carried_keys"]


def carried_keys(
    body: bytes, url: str, content_type: str | None, feed: FeedRef, now: datetime, reading: str
) -> dict[str, str] | None:
    """``{old key: new key}`` for each entry of ``body`` (a whole document) whose key
    (:func:`monitor.dedup.identity.item_key`) under ``reading`` differs from its key
    as older versions read it (no reading). Empty when none differs; None when the
    document is not well-formed XML (read loosely, :mod:`monitor.ingest.partial`: cut
    off in transfer, its entries after the cut are not in it, and the loose parser
    loses text anywhere after the error), which must not decide the feed: a stored
    item it leaves out would keep its old key. Raises ParseError when ``body`` is not
    a feed."""
    from monitor.ingest.parse import parse_feed

    old = parse_feed(body, url, content_type)
    if old.loose:
        return None
    new = parse_feed(body, url, content_type, reading=reading)
    if new.loose:
        return None
    before, after = _keys(old, feed, now), _keys(new, feed, now)
    return {
        key: after[n][0]
        for n in before.keys() & after.keys()
        for key in before[n]
        if key != after[n][0]
    }


def _keys(parsed: Any, feed: FeedRef, now: datetime) -> dict[int, tuple[str, ...]]:
    """Each entry's keys by its position (an entry normalization refuses has none):
    its key, then the key a still older version gave it when other
    (:func:`monitor.ingest.normalize.normalize_keyed`, as the poll's normalization
    works it out): a row still stored under
    that one is renamed to the new key too."""
    from monitor.dedup.identity import item_key
    from monitor.ingest.entryid import entry_ids
    from monitor.ingest.normalize import normalize_keyed

    keys: dict[int, tuple[str, ...]] = {}
    seen_guids: set[str] = set()
    pairs = zip(parsed.entries, entry_ids(parsed.entries), strict=True)
    for number, (entry, ident) in enumerate(pairs, start=1):
        try:
            item, former = normalize_keyed(entry, parsed, feed, now, ident, seen_guids)
        except Exception:  # skipped by the poll's own normalization as well
            continue
        position = entry.get("position") if isinstance(entry, dict) else None
        own = item_key(item)
        keys[position if isinstance(position, int) else number] = (
            (own, former) if former and former != own else (own,)
        )
    return keys
