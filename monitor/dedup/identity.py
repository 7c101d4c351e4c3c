"""An item's identity within its feed, and a hash that tells an update from a repeat.

The key follows the item's id (:mod:`monitor.ingest.normalize`): the guid when it
identifies the item, else the canonical link (so a link that only changes its
tracking parameters or host case keeps its identity), else a hash of the text. A
guid or link that several entries of one document share identifies none of them:
their id is their link or text (:mod:`monitor.ingest.entryid`), and so is their
key. Titles, dates and summaries may change under the same key: that is an
*update*, detected by :func:`content_hash`.
"""

from __future__ import annotations

import hashlib

from monitor.dedup.urls import canonical_url
from monitor.models import TEXT_ID_PREFIX, Item

HASH_DIGITS = 24  # a content hash: 12 bytes of BLAKE2b, in hex
SHORT_HASH_DIGITS = 16  # a content hash stored short: its first 8 bytes (SQLite)


def item_key(item: Item) -> str:
    """The stable key of ``item`` within its feed: its guid when that is its id, a
    hash of its text when that is (no guid or link of its document identified it),
    else its link in canonical form."""
    if item.guid and item.id == item.guid:
        return item.guid
    if item.id.startswith(TEXT_ID_PREFIX):
        return item.id
    return canonical_url(item.link) or item.link or item.id


def content_hash(item: Item) -> str:
    """A short hash of what a rule can see, as 24 hex digits; it changes when the item
    is edited.

    Timestamps are left out, so a feed that re-dates items (or adds milliseconds)
    does not make them look edited.
    """
    parts = (item.title, item.summary, item.content, item.author or "", " ".join(item.tags))
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=HASH_DIGITS // 2).hexdigest()


def same_content(digest: str, stored: str | None) -> bool:
    """Whether ``digest`` (:func:`content_hash`) is the ``stored`` one: equal, or, for a
    hash stored short (its first 8 bytes, as SQLite keeps it: store/codec.py
    ``stored_hash``), its first 16 hex digits."""
    if stored is None:
        return False
    short = len(stored) == SHORT_HASH_DIGITS
    return digest == stored or (short and digest[:SHORT_HASH_DIGITS] == stored)
