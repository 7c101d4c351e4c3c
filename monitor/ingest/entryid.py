"""An entry's identity in its document: the guid as written, the link, and what repeats.

- The guid is an identifier, kept exactly as the feed wrote it (RSS 2.0: "a string
  that uniquely identifies the item"); never resolved into a URL.
- The link comes from ``<link>``, or from a guid that is an absolute http(s) URL not
  marked ``isPermaLink="false"`` (RSS 2.0); it is never invented from a relative guid.
- Links and guids are kept whole up to :data:`MAX_LINK` characters and dropped,
  never cut, beyond: a cut URL is a broken one.
- An identifier that several entries of one document carry identifies none of them
  (``<guid>N/A</guid>`` on every entry, one "upcoming" ``<link>`` for every
  advisory): those entries fall back to the next identity, the guid to the link, the
  link to a hash of the text (:func:`entry_ids`).

The entries are what :func:`monitor.ingest.parse.slim_entry` and
:mod:`monitor.ingest.jsonfeed` give.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

from monitor.ingest.htmltext import drop_controls

MAX_LINK = 8_192  # characters of a link or guid; longer ones are dropped, never cut
FORMER_MAX = 500  # guids were cut at this length before (see former_key)
_ABSOLUTE_HTTP = re.compile(r"(?i)https?://[^\s/?#]")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_SEGMENT = re.compile(r"(?!\.\.?\Z)[A-Za-z0-9_.~-]+\Z")  # one path segment, not a dot segment


def url_value(value: Any) -> str | None:
    """A link or guid whole, control characters dropped; None if empty or over MAX_LINK."""
    text = drop_controls(str(value), keep_lines=False).strip() if value else ""
    return text if 0 < len(text) <= MAX_LINK else None


def guid_of(entry: Any) -> str | None:
    """An entry's guid (RSS ``<guid>``, Atom ``<id>``, JSON Feed ``id``) as written."""
    return url_value(entry.get("id"))


def link_of(entry: Any) -> str | None:
    """``<link>``, or a permalink guid that is an absolute http(s) URL (RSS 2.0)."""
    link = url_value(entry.get("link"))
    if link and entry.get("guidislink") and not _ABSOLUTE_HTTP.match(link):
        return None  # feedparser copied a guid that is no URL into the link
    return link


def entry_ids(entries: list[Any]) -> list[str | None]:
    """The identifier of each entry: its guid, else its link, else None (a text hash).

    A guid carried by more than one entry of the document counts as none, and so
    does a link carried by more than one of the entries that fall back to links.
    """
    guids = [_or_none(guid_of, e) for e in entries]
    guid_count = Counter(g for g in guids if g)
    links = [
        None if g and guid_count[g] == 1 else _or_none(link_of, e)
        for e, g in zip(entries, guids, strict=True)
    ]
    link_count = Counter(link for link in links if link)
    return [
        g if g and guid_count[g] == 1 else (link if link and link_count[link] == 1 else None)
        for g, link in zip(guids, links, strict=True)
    ]


def _or_none(read: Any, entry: Any) -> str | None:
    """``read(entry)``, or None when the entry is malformed (normalizing it then fails
    and skips that entry alone; the others' identities must not depend on it)."""
    try:
        return read(entry)
    except Exception:
        return None


def repeated_note(entries: list[Any]) -> str | None:
    """One log line naming the guids a document repeats, None when it repeats none."""
    counts = Counter(g for g in (_or_none(guid_of, e) for e in entries) if g)
    repeated = sorted(g for g, n in counts.items() if n > 1)
    if not repeated:
        return None
    shown = ", ".join(repr(g[:40]) for g in repeated[:3])
    return f"guid {shown} repeated on several entries: they are told apart by link or text"


def former_key(guid: str | None, base: str, first_of_repeated: bool) -> str | None:
    """The key news-monitor gave an entry before guids were kept as written, if other.

    feedparser resolved a relative guid against the feed's URL (``base``), guids were
    cut at 500 characters, and of several entries sharing a guid only the first was
    kept, under that guid (``first_of_repeated``). A stored item under that key is
    renamed once (:meth:`monitor.store.items.Items.adopt_former_keys`), so an upgrade
    sends no alert twice. A guid marked ``isPermaLink="false"`` was never resolved:
    its former key is not found, which is harmless.
    """
    if not guid:
        return None
    if first_of_repeated:
        return guid[:FORMER_MAX]
    former = guid
    if base and not _SCHEME.match(guid):
        try:
            former = _folder(base) + guid if _SEGMENT.match(guid) else urljoin(base, guid)
        except ValueError:
            former = guid
    former = former.strip()[:FORMER_MAX]
    return former if former != guid else None


@lru_cache(maxsize=256)
def _folder(base: str) -> str:
    """What ``urljoin(base, segment)`` puts before a single path segment (RFC 3986
    §5.2.3: the base path up to its last ``/``), worked out once per feed URL: the
    ``urljoin`` of every relative guid was most of :func:`former_key` (issue #18).
    Raises ValueError where ``urljoin`` does."""
    return urljoin(base, "_")[:-1]
