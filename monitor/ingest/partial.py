"""What a document that is not well-formed XML may change of the items already stored.

feedparser reads such a document (a mismatched tag, a document cut off in transfer or
by a full disk: ``head -c 900 feed.xml``) with its *loose* parser after its strict XML
parser gave up, and the loose parser returns whatever it read: the entry the document
ends inside comes back with the fields read before the cut (a summary cut short or
empty, sometimes no guid, so the entry gets a made-up id), and an unclosed CDATA
section swallows the rest of its entry. Taken as an edit, that replaced an item's
stored text with its truncated remains, silently. The rule, in two parts:

1. :func:`cut_entry`: in a document read loosely, an entry element the document does
   not close (the document ends inside it) is incomplete. It is left out of the parse
   and listed as skipped (logged as a warning, like any unreadable entry): neither a
   new item nor an edit. The complete entries before it are read as usual, so a new
   item in a truncated document is still recorded; the cut one is read once the
   publisher serves the document whole.
2. :func:`degrades`: an edit read from a document read loosely that empties a field
   the stored item had (title, link, summary, content) is not taken: the loose
   parser loses text anywhere after the error, not only at the end, while a real edit
   rarely empties a field. A field that changed but is not empty is an edit (a
   damaged text cannot be told from an edited one).

A well-formed document is read by the strict parser and none of this applies.
"""

from __future__ import annotations

import re
import xml.sax
from typing import Any

from monitor.models import Item

__all__ = ["CUT_REASON", "EMPTIED_FIELDS", "cut_entry", "degrades", "read_loosely"]

CUT_REASON = "incomplete: the document ends inside this entry (not well-formed, truncated?)"
EMPTIED_FIELDS = ("title", "link", "summary", "content")
_ENTRY_TAG = re.compile(r"<(/?)((?:[A-Za-z_][\w.-]*:)?(?:item|entry))(?=[\s>/])[^>]*?(/?)>")


def read_loosely(parsed: Any) -> bool:
    """Whether feedparser's result ``parsed`` came from its loose parser: its strict XML
    parser raised (a ``SAXException`` as ``bozo_exception``, feedparser's ``api.parse``),
    so the document is not well-formed XML. Other bozo notes (a media type that is not
    XML) leave the strict reading whole."""
    return isinstance(parsed.get("bozo_exception"), xml.sax.SAXException)


def ends_inside_entry(text: str) -> bool:
    """Whether the document ``text`` ends inside an ``<item>``/``<entry>`` element: its
    last entry start tag has no end tag of the same name after it."""
    last = None
    for tag in _ENTRY_TAG.finditer(text):
        if not tag.group(1) and not tag.group(3):
            last = tag
    if last is None:
        return False
    return f"</{last.group(2)}" not in text[last.end() :]


def cut_entry(
    entries: list[dict[str, Any]], text: str, loose: bool
) -> tuple[list[dict[str, Any]], tuple[int, str] | None]:
    """``entries`` (slim, with their ``position``) without the one the document ``text``
    ends inside, and that one's ``(position, reason)`` for ``ParsedFeed.skipped``.

    Only for a document read loosely (``loose``, see :func:`read_loosely`): the loose
    parser returns the entry it was reading when the text ran out, always the last
    one. Rule 1 of the module docstring.
    """
    if not loose or not entries or not ends_inside_entry(text):
        return entries, None
    return entries[:-1], (entries[-1]["position"], CUT_REASON)


def degrades(edit: Item, stored: Item, full: bool, fulltext: bool = False) -> list[str]:
    """The fields of ``stored`` (as kept: ``full`` False for a slim row, which keeps
    no summary or content) that ``edit``, its new reading, empties; an edit from a
    document read loosely with any is not taken (rule 2 of the module docstring).
    A ``fulltext`` feed's stored content is its article's, never in the feed, so it
    is not compared (else every edit of such an item would look like damage)."""
    kept = EMPTIED_FIELDS if full else ("title", "link")
    if fulltext:
        kept = tuple(name for name in kept if name != "content")
    return [name for name in kept if getattr(stored, name) and not getattr(edit, name)]
