"""Doing little work for feeds that did not change.

A feed body identical to the last one is not parsed at all (its SHA-256 is kept).
Otherwise each entry block is signed (a hash of its bytes, by entry id, from the
cheap pre-scan of :mod:`monitor.ingest.scan`); entries whose block is byte-for-byte
the same as at the last poll are left out of the parse, so a feed re-rendered with
a new ``lastBuildDate`` costs a regex scan, while an *edited* entry (a new title)
is still parsed and seen as an update. When the pre-scan is unsure, everything is
parsed.

:func:`select_changed` runs in a parse worker, right before the parse of what it
selected (:func:`monitor.ingest.parseworker.parse_changed_isolated`): the event loop
only fetches and compares body hashes, and a body that would make the scan's regexes
slow is bounded by the worker's time limit like any parse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from monitor.ingest.scan import scan_entries, select_entries


@dataclass(frozen=True)
class Selection:
    """What to parse: ``body`` (None: nothing changed) and the signatures to keep."""

    body: bytes | None
    signatures: dict[str, str]
    entries: int
    changed: int


def select_changed(body: bytes, previous: dict[str, str] | None) -> Selection:
    """The part of ``body`` whose entries are new or edited since ``previous``."""
    entries = scan_entries(body)
    if not entries:  # unsure, or no entry: parse, so a page that is no feed fails
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
