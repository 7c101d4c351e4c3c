"""Doing little work for feeds that did not change.

A feed body identical to the last one is not parsed at all (its SHA-256 is kept).
Otherwise each entry block is signed (a hash of its bytes, by entry id, from the
cheap pre-scan of :mod:`monitor.ingest.scan`); entries whose block is byte-for-byte
the same as at the last poll are left out of the parse, so a feed re-rendered with
a new ``lastBuildDate`` costs a regex scan, while an *edited* entry (a new title)
is still parsed and seen as an update. When the pre-scan is unsure, everything is
parsed.

:func:`parse_changed` does the scan, the signatures and the parse of what changed
in one call, so that it runs whole in a parse worker
(:func:`monitor.ingest.parseworker.parse_changed_isolated`): the event loop only
fetches and compares body hashes, and a body that would make the scan's regexes
slow is bounded by the worker's time limit like any parse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from monitor.ingest.normalize import normalize_feed
from monitor.ingest.parse import ParsedFeed, parse_feed
from monitor.ingest.scan import scan_entries, select_entries
from monitor.models import FeedRef, Item


@dataclass(frozen=True)
class Selection:
    """What to parse: ``body`` (None: nothing changed) and the signatures to keep."""

    body: bytes | None
    signatures: dict[str, str]
    entries: int
    changed: int


@dataclass(frozen=True)
class ChangedFeed:
    """What :func:`parse_changed` found: signatures to keep, and the parsed entries.

    ``meta`` is None when no entry changed (nothing was parsed); ``entries`` and
    ``changed`` are -1 when the pre-scan was unsure (the whole body was parsed).
    """

    signatures: dict[str, str]
    entries: int
    changed: int
    meta: ParsedFeed | None = None
    items: list[Item] = field(default_factory=list)


def select_changed(body: bytes, previous: dict[str, str] | None) -> Selection:
    """The part of ``body`` whose entries are new or edited since ``previous``."""
    entries = scan_entries(body)
    if entries is None:
        return Selection(body, {}, -1, -1)
    blake2b = hashlib.blake2b
    signatures = {
        entry_id: blake2b(body[start:end], digest_size=8).hexdigest()
        for entry_id, start, end in entries
    }
    old = previous or {}
    changed = {entry_id for entry_id, sig in signatures.items() if old.get(entry_id) != sig}
    if not changed:
        return Selection(None, signatures, len(entries), 0)
    if len(changed) == len(signatures):
        return Selection(body, signatures, len(entries), len(changed))
    kept = select_entries(body, changed, entries) or body
    return Selection(kept, signatures, len(entries), len(changed))


def parse_changed(
    body: bytes,
    url: str,
    content_type: str | None,
    feed: FeedRef,
    now: datetime,
    previous: dict[str, str] | None,
) -> ChangedFeed:
    """Select the new or edited entries of ``body`` and parse them into Items."""
    selection = select_changed(body, previous)
    if selection.body is None:
        return ChangedFeed(selection.signatures, selection.entries, 0)
    parsed = parse_feed(selection.body, url, content_type)
    items = normalize_feed(parsed, feed, now)
    meta = ParsedFeed(parsed.title, parsed.language, [], parsed.warning, parsed.ttl_minutes)
    return ChangedFeed(selection.signatures, selection.entries, selection.changed, meta, items)
