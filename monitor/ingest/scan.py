"""A cheap pre-scan of entry ids, to skip the full parse of a feed with nothing new.

:func:`scan_entry_ids` finds the id each entry will get from normalization (RSS
``<guid>``, Atom ``<id>``, else an absolute ``<link>``) with a few regexes, at a
fraction of feedparser's cost. It must never make the pipeline miss a new entry, so
whenever the document is not plainly shaped (namespaced or nested entries, several
id elements, CDATA or unusual entities in an id, ``rdf:about``, an entry without a
recognizable id, a relative id the parser would resolve, JSON) it answers None, meaning "parse it".

    ids = scan_entry_ids(result.body)
    if ids is not None and not store.unseen_keys(feed.url, ids):
        ...  # every entry is known: no parse needed
"""

from __future__ import annotations

import html
import re

_ITEM = re.compile(rb"<(item|entry)[\s>](.*?)</\1\s*>", re.DOTALL)
_ITEM_OPEN = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s>/]")
_GUID = re.compile(rb"<guid(\s[^>]*)?>([^<]*)</guid\s*>")
_ATOM_ID = re.compile(rb"<id(\s[^>]*)?>([^<]*)</id\s*>")
_NOT_PERMALINK = re.compile(rb"""isPermaLink\s*=\s*["']false["']""")
_ABSOLUTE = re.compile(r"[a-zA-Z][\w+.-]*:")
_LINK = re.compile(rb"<link(?:\s[^>]*)?>([^<]*)</link\s*>")
_ID_LIKE = re.compile(rb"<(?:[\w.-]+:)(?:id|guid|identifier|link)[\s>/]|<source[\s>]|rdf:about")
_SAFE_ENTITY = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)")
MAX_ID = 500  # normalize.MAX_SHORT: longer ids are cut there, so matching is unsure


def scan_entry_ids(body: bytes) -> set[str] | None:
    """The ids of every entry in an RSS/Atom ``body``, or None when unsure."""
    if not body or body.lstrip()[:1] in (b"{", b"["):
        return None
    if b"<!ENTITY" in body or b"<![CDATA[" in body and _cdata_in_ids(body):
        return None
    blocks = [m.group(2) for m in _ITEM.finditer(body)]
    if len(blocks) != len(_ITEM_OPEN.findall(body)):
        return None  # namespaced, nested or unclosed entries: let the parser decide
    ids: set[str] = set()
    for block in blocks:
        found = _entry_id(block)
        if found is None:
            return None
        ids.add(found)
    return ids


def _entry_id(block: bytes) -> str | None:
    if _ID_LIKE.search(block) or _ITEM_OPEN.search(block):
        return None
    guids = _GUID.findall(block) or _ATOM_ID.findall(block)
    if len(guids) > 1 or block.count(b"<guid") + block.count(b"<id") > len(guids):
        return None
    if guids:
        # The parser resolves a relative id against the feed's URL (except RSS
        # guids marked isPermaLink="false"): only ids it keeps as they are count.
        attrs, raw = guids[0]
        found = _text(raw)
        if found and (_ABSOLUTE.match(found) or _NOT_PERMALINK.search(attrs)):
            return found
        return None
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
