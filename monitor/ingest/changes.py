"""Doing little work for feeds that did not change.

A feed body identical to the last one is not parsed at all (its SHA-256 is kept).
Otherwise each entry block found by the cheap pre-scan of :mod:`monitor.ingest.scan`
is signed (a hash of its bytes); entries whose block is byte-for-byte the same as
one at the last poll are left out of the parse, so a feed re-rendered with a new
``lastBuildDate`` costs a regex scan, while an *edited* entry (a new title) is still
parsed and seen as an update. When the pre-scan is unsure, everything is parsed.

The signatures kept on the feed (``feeds.entry_digests``) are one text: the blocks'
8-byte BLAKE2b digests, concatenated in document order, in base64
(:func:`digests_text`, ~11 characters an entry; SQLite stores the digests themselves,
8 bytes an entry, and the store gives the text back). The block holds the entry's id, so a
digest needs no id beside it. A new entry is left out only if its digest equals one
of the feed's last ~100: 100 × 2⁻⁶⁴ per entry. The id-keyed JSON of the same digests
that schema 14 and before kept is converted once, by the migration
(:func:`monitor.store.feedstate.entry_digests_from_sigs`).

:func:`select_changed` runs in a parse worker, right before the parse of what it
selected (:func:`monitor.ingest.parseworker.parse_changed_isolated`): the event loop
only fetches and compares body hashes, and a body that would make the scan's regexes
slow is bounded by the worker's time limit like any parse.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.ingest.scan import scan_entries, select_entries


@dataclass(frozen=True)
class Selection:
    """What to parse: ``body`` (None: nothing changed) and the signatures to keep
    (the ``feeds.entry_digests`` text, see the module docstring). ``ids`` are the ids
    the pre-scan found for every entry, unchanged ones included (empty when unsure)."""

    body: bytes | None
    signatures: str
    entries: int
    changed: int
    ids: tuple[str, ...] = ()


DIGEST_BYTES = 8


def select_changed(body: bytes, previous: str | None) -> Selection:
    """The part of ``body`` whose entries are new or edited since ``previous`` (the
    signatures kept at the last poll; None or "" when none are)."""
    entries = scan_entries(body)
    if not entries:  # unsure, or no entry: parse, so a page that is no feed fails
        return Selection(body, "", -1, -1)
    blake2b = hashlib.blake2b
    digests = [
        blake2b(body[start:end], digest_size=DIGEST_BYTES).digest() for _, start, end in entries
    ]
    old = signature_set(previous)
    changed = {
        entry[0] for entry, digest in zip(entries, digests, strict=True) if digest not in old
    }
    signatures = digests_text(digests)
    ids = tuple(entry[0] for entry in entries)
    if not changed:
        return Selection(None, signatures, len(entries), 0, ids)
    if len(changed) == len(entries):  # scan_entries gives up on a repeated id
        return Selection(body, signatures, len(entries), len(changed), ids)
    kept = select_entries(body, changed, entries) or body
    return Selection(kept, signatures, len(entries), len(changed), ids)


def digests_text(digests: Iterable[bytes]) -> str:
    """The ``feeds.entry_digests`` text of 8-byte ``digests``: concatenated, in base64."""
    return base64.b64encode(b"".join(digests)).decode("ascii")


def signature_set(text: str | None) -> set[bytes]:
    """The entry digests in a ``feeds.entry_digests`` text; empty for None, "" and
    text that is not base64 (a damaged row costs one whole parse, never an entry)."""
    if not text:
        return set()
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        return set()
    return {raw[i : i + DIGEST_BYTES] for i in range(0, len(raw), DIGEST_BYTES)}


def signature_count(text: str | None) -> int:
    """How many entries a ``feeds.entry_digests`` text signs."""
    return len(text or "") * 3 // 4 // DIGEST_BYTES
