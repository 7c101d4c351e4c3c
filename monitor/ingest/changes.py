"""Doing little work for feeds that did not change.

A feed body identical to the last one is not parsed at all (its SHA-256 is kept).
Otherwise each entry block found by the cheap pre-scan of :mod:`monitor.ingest.scan`
is signed (a hash of its bytes); entries whose block is byte-for-byte the same as
one at the last poll are left out of the parse, so a feed re-rendered with a new
``lastBuildDate`` costs a regex scan, while an *edited* entry (a new title) is still
parsed and seen as an update. When the pre-scan is unsure, everything is parsed.

The signatures kept on the feed (``feeds.entry_sigs``) are one text: the blocks'
8-byte BLAKE2b digests, concatenated in document order, in base64 (~11 characters an
entry; the id-keyed JSON of schema 13 and before took ~31). The block holds the
entry's id, so a digest needs no id beside it. A new entry is left out only if its
digest equals one of the feed's last ~100: 100 × 2⁻⁶⁴ per entry. The JSON that
older versions kept is still read (the same digest, in hex, by entry id) until the
feed's next poll replaces it.

:func:`select_changed` runs in a parse worker, right before the parse of what it
selected (:func:`monitor.ingest.parseworker.parse_changed_isolated`): the event loop
only fetches and compares body hashes, and a body that would make the scan's regexes
slow is bounded by the worker's time limit like any parse.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

from monitor.ingest.scan import scan_entries, select_entries


@dataclass(frozen=True)
class Selection:
    """What to parse: ``body`` (None: nothing changed) and the signatures to keep
    (the ``feeds.entry_sigs`` text, see the module docstring). ``ids`` are the ids
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
    pairs = zip(entries, digests, strict=True)
    if previous and previous.startswith("{"):  # kept by schema 13 and before
        by_id = _legacy_signatures(previous)
        changed = {entry[0] for entry, digest in pairs if by_id.get(entry[0]) != digest.hex()}
    else:
        old = signature_set(previous)
        changed = {entry[0] for entry, digest in pairs if digest not in old}
    signatures = base64.b64encode(b"".join(digests)).decode("ascii")
    ids = tuple(entry[0] for entry in entries)
    if not changed:
        return Selection(None, signatures, len(entries), 0, ids)
    if len(changed) == len(entries):  # scan_entries gives up on a repeated id
        return Selection(body, signatures, len(entries), len(changed), ids)
    kept = select_entries(body, changed, entries) or body
    return Selection(kept, signatures, len(entries), len(changed), ids)


def signature_set(text: str | None) -> set[bytes]:
    """The entry digests in a ``feeds.entry_sigs`` text; empty for None, "", the
    id-keyed JSON of schema 13 and before (:func:`select_changed` reads it by id), and
    text that is not base64 (a damaged row costs one whole parse, never an entry)."""
    if not text or text.startswith("{"):
        return set()
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        return set()
    return {raw[i : i + DIGEST_BYTES] for i in range(0, len(raw), DIGEST_BYTES)}


def signature_count(text: str | None) -> int:
    """How many entries a ``feeds.entry_sigs`` text signs."""
    if not text:
        return 0
    if text.startswith("{"):
        return len(_legacy_signatures(text))
    return len(text) * 3 // 4 // DIGEST_BYTES


def _legacy_signatures(text: str) -> dict[str, str]:
    """The id-keyed JSON of schema 13 and before (``{"id": "16 hex digits"}``); empty
    when damaged."""
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
