"""A cheap pre-scan of entry ids, to skip the full parse of a feed with nothing new.

:func:`scan_entry_ids` finds the id each entry will get from normalization (RSS
``<guid>``, Atom ``<id>``, else an absolute ``<link>``) with a few regexes, at a
fraction of feedparser's cost. It must never make the pipeline miss a new entry, so
whenever the document is not plainly shaped (namespaced or nested entries, several
id elements, CDATA or unusual entities in an id, ``rdf:about``, an entry without a
recognizable id, an id repeated on several entries, JSON) it answers None, meaning
"parse it".

    ids = scan_entry_ids(result.body)
    if ids is not None and not store.unseen_keys(feed.url, ids):
        ...  # every entry is known: no parse needed
"""

from __future__ import annotations

import html
import re

_ITEM_OPEN = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s>/]")
_GUID = re.compile(rb"<guid(\s[^>]*)?>([^<]*)</guid\s*>")
_ATOM_ID = re.compile(rb"<id(\s[^>]*)?>([^<]*)</id\s*>")
_LINK = re.compile(rb"<link(?:\s[^>]*)?>([^<]*)</link\s*>")
# Every alternative starts with "<", so a search skips ahead to the next "<" (a
# pattern with a branch that does not, like "rdf:about", is tried at every byte:
# that one is a plain substring test instead).
_ID_LIKE = re.compile(rb"<(?:[\w.-]+:(?:id|guid|identifier|link)[\s>/]|source[\s>])")
_SAFE_ENTITY = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)")
MAX_ID = 8_192  # parse.MAX_LINK: longer ids are dropped there, so matching is unsure


def scan_entry_ids(body: bytes) -> set[str] | None:
    """The ids of every entry in an RSS/Atom ``body``, or None when unsure."""
    found = scan_entries(body)
    return None if found is None else {entry_id for entry_id, _, _ in found}


def scan_entries(body: bytes) -> list[tuple[str, int, int]] | None:
    """``(id, start, end)`` of every entry block of ``body``, or None when unsure."""
    if not body or body.lstrip()[:1] in (b"{", b"["):
        return None
    if b"<!ENTITY" in body or b"<![CDATA[" in body and _cdata_in_ids(body):
        return None
    entries = []
    end = 0
    for opening in _ITEM_OPEN.finditer(body):
        if opening.start() < end:
            return None  # an entry inside an entry (finditer yields every opening in order)
        tag = opening.group(0)[1:-1]
        if b":" in tag:
            return None  # namespaced entries: let the parser decide
        close = body.find(b"</" + tag + b">", opening.end())
        if close < 0:
            return None
        end = close + len(tag) + 3
        entry_id = _entry_id(body[opening.end() : close])
        if entry_id is None:
            return None
        entries.append((entry_id, opening.start(), end))
    if len({entry_id for entry_id, _, _ in entries}) < len(entries):
        return None  # a repeated guid identifies nothing: normalization decides
    return entries


def select_entries(
    body: bytes, ids: set[str], entries: list[tuple[str, int, int]] | None = None
) -> bytes | None:
    """``body`` with only the entries whose id is in ``ids`` (None when unsure).

    The document keeps everything before the first entry and after the last (the
    root, namespaces, channel metadata, ``xml:base``), so the kept entries parse
    exactly as they do in the whole document, for a fraction of the cost.
    ``entries`` is what :func:`scan_entries` found in ``body``, when already known.
    """
    if entries is None:
        entries = scan_entries(body)
    if not entries:
        return None
    kept = [body[start:end] for entry_id, start, end in entries if entry_id in ids]
    return body[: entries[0][1]] + b"\n".join(kept) + body[entries[-1][2] :]


def _entry_id(block: bytes) -> str | None:
    # An entry opening inside ``block`` is caught by scan_entries as a nested entry.
    if _ID_LIKE.search(block) or b"rdf:about" in block:
        return None
    guids = _GUID.findall(block) or _ATOM_ID.findall(block)
    if len(guids) > 1 or block.count(b"<guid") + block.count(b"<id") > len(guids):
        return None
    if guids:
        return _text(guids[0][1])  # kept as written, relative or not
    links = _LINK.findall(block)
    if len(links) != 1 or block.count(b"<link") != 1:
        return None
    link = _text(links[0])
    return link if link and re.match(r"https?://", link) else None


def _text(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _SAFE_ENTITY.search(text):
        return None
    text = html.unescape(text).strip()
    return text if 0 < len(text) <= MAX_ID else None


def _cdata_in_ids(body: bytes) -> bool:
    return re.search(rb"<(?:guid|id|link)(?:\s[^>]*)?>\s*<!\[CDATA\[", body) is not None
