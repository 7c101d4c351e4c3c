"""A UTF-8 feed that declares a single-byte legacy encoding: the evidence, decided per feed.

Servers and templates label UTF-8 bytes ``ISO-8859-1`` (Apache's old
``AddDefaultCharset``, a CMS's default) or ``windows-1252``; read as declared,
``Café Zürich`` becomes ``CafÃ© ZÃ¼rich``. Browsers (WHATWG Encoding) and feedparser trust
the label. We read such a feed as UTF-8 when its bytes say so beyond doubt, and decide
it **once per feed**, on a whole body, while the feed has no stored item
(:mod:`monitor.pipeline` asks, :mod:`monitor.store.charsets` keeps the answer), because:

- an item's id may hold its text (a guid or link with non-ASCII characters, or an item
  known by its text): reading a known feed anew would give its items new ids, and
  alert them twice;
- a poll parses only the entries that changed (:mod:`monitor.ingest.changes`): deciding
  per parse would let one feed flip between readings, entry by entry;
- a short legacy text can be valid UTF-8 by chance (``NESTLÉ®`` is ``C9 AE``: ``NESTLɮ``).

**The rule** (:func:`decide_reading`), for a document that declares an encoding of
:func:`~monitor.ingest.charset.legacy_label` (ISO 8859-x, windows-125x; never UTF-16,
Shift_JIS, EUC-KR, GB, KOI8 ...) and holds bytes above 0x7F:

- :data:`UTF8` when the whole body decodes as strict UTF-8 and holds at least
  :data:`MIN_DISTINCT` distinct multibyte characters;
- :data:`DECLARED` when it is not UTF-8: genuine legacy text, read as declared;
- :data:`LABEL` for every other document (a UTF-8 or other label, all ASCII, or UTF-8
  with fewer distinct characters: such a feed cannot be told from legacy text): read
  by its label.

A feed decided :data:`UTF8` or :data:`DECLARED` is parsed with feedparser's own
per-field guess off (:func:`~monitor.ingest.feedsetup.fields_as_decoded`): feedparser
re-reads any field whose text is all ISO-8859-1 and valid UTF-8 as UTF-8, the
per-parse guess above in small, and it turns a genuine ``NESTLÉ®`` into ``NESTLɮ``.
A feed read by its :data:`LABEL` keeps that guess where it is plausible
(:mod:`monitor.ingest.reread`: double-encoded text is repaired, ``NESTLÉ®`` stays).
:data:`LABEL` is kept only once the feed has items (a later body of an empty feed may
still decide its legacy label). A feed with items and no reading kept (first read by an
older version) is decided at its next changed body (:data:`REDECIDE`): its stored items
whose key the new reading changes (a guid, link or text with non-ASCII characters) are
renamed to their new keys in the same transaction (:mod:`monitor.ingest.carryover`), so
nothing is alerted twice.

**The threshold.** Legacy text is valid UTF-8 only when every byte above 0x7F stands
in a pair like ``É®`` (an upper-case letter before a symbol, 0xC2-0xDF then
0x80-0xBF): one letter before an ASCII byte, or one lone symbol (’ “ – NBSP), breaks
it. Measured on real text by
``bench/mislabel.py`` (every translated string of the gettext catalogs
on a Debian machine, 25 languages in their windows-125x code page):

- 462,451 strings with non-ASCII bytes: 7 valid UTF-8, each with 1 distinct character;
  the same strings in capitals (458,795): 389 valid, 24 with 2 or more distinct, 5 with
  3 (Ukrainian words of 4-6 capitals such as ``КІРІПІ``, each on its own);
- 56,655 feed documents of 1-20 items of those strings (half in capitals): 3 valid
  UTF-8, none with 2 distinct; the 31 legacy-declared fixtures with non-ASCII bytes
  (tests/data, the shared real-world cases): none valid UTF-8;
- recall, the same documents as UTF-8: 3 distinct in 60 % of one-item documents, 83 %
  of three-item, 96 % of ten-item ones (2 would give 78, 93, 98 %); the English seed
  feeds have exactly 3 (’ “ ”).

So 3 keeps a margin over the capitals above; a feed it misses is read as earlier
versions read it.
"""

from __future__ import annotations

import re

from monitor.ingest.charset import declared_encoding, legacy_label
from monitor.ingest.jsonfeed import looks_like_json_feed

__all__ = [
    "DECIDE",
    "DECLARED",
    "LABEL",
    "MIN_DISTINCT",
    "REDECIDE",
    "UTF8",
    "decide_reading",
    "log_decision",
    "overruled_note",
    "to_keep",
    "utf8_evidence",
]

UTF8 = "utf-8"  # the decision kept on a feed: its legacy label is read as UTF-8
DECLARED = "declared"  # the decision kept on a feed: read as declared, as decoded
LABEL = "label"  # the decision kept on a feed: read by its label, fields checked (reread.py)
DECIDE = "decide"  # asked of a parse: decide on this whole body (the feed has no item)
# Asked of a parse: decide on this whole body for a feed with items read the old way
# (no reading kept), and pair its entries' keys under both readings (ingest/carryover.py).
REDECIDE = "redecide"
MIN_DISTINCT = 3  # distinct multibyte characters that rule out chance (module docstring)

# One multibyte character of a body already known to be valid UTF-8.
_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def utf8_evidence(body: bytes) -> int:
    """How many distinct multibyte characters ``body`` holds when it is strict UTF-8,
    counted up to :data:`MIN_DISTINCT` (enough); 0 when it is not UTF-8 or is ASCII."""
    if body.isascii() or not _is_utf8(body):
        return 0
    return _distinct(body)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _distinct(body: bytes) -> int:
    """Distinct multibyte characters of ``body`` (valid UTF-8), up to MIN_DISTINCT."""
    seen: set[bytes] = set()
    for found in _MULTIBYTE.finditer(body):
        seen.add(found.group())
        if len(seen) >= MIN_DISTINCT:
            break
    return len(seen)


def decide_reading(body: bytes, content_type: str | None) -> str:
    """The reading of a feed whose whole document is ``body``, by the module
    docstring's rule: :data:`UTF8`, :data:`DECLARED`, or :data:`LABEL` (nothing legacy
    declared (HTTP charset, else XML declaration), no byte above 0x7F, or too few
    distinct UTF-8 characters to rule out chance).

    A JSON Feed is UTF-8 by its specification and never read by a label: :data:`LABEL`.
    Call it on a whole body only, and only for a feed without stored items.
    """
    declared = declared_encoding(body, content_type)
    if declared is None or not legacy_label(declared[0]) or body.isascii():
        return LABEL
    if looks_like_json_feed(body, content_type):
        return LABEL
    if not _is_utf8(body):
        return DECLARED
    return UTF8 if _distinct(body) >= MIN_DISTINCT else LABEL


def overruled_note(declared: str) -> str:
    """The standing note of a feed read as UTF-8 against ``declared`` (``"cp1252
    (HTTP charset)"``), for its log line and ``status``."""
    return (
        f"declared {declared}, read as UTF-8: the feed's bytes were UTF-8 when it was "
        "first read (docs/feeds.md, Encodings)"
    )


def to_keep(asked: str | None, decided: str | None, has_items: bool) -> bool:
    """Whether a parse asked ``asked`` (:data:`DECIDE`, :data:`REDECIDE` or a kept
    reading) gave a reading ``decided`` to keep on the feed: any decision of a
    :data:`REDECIDE`; of a :data:`DECIDE`, :data:`UTF8` and :data:`DECLARED`, and
    :data:`LABEL` once the parse has items (module docstring)."""
    if asked == REDECIDE:
        return decided is not None
    if asked != DECIDE:
        return False
    return decided in (UTF8, DECLARED) or (decided == LABEL and has_items)


def log_decision(name: str, reading: str, note: str | None, carried: int = 0) -> None:
    """Log feed ``name``'s charset decision once, as it is kept: a warning when its
    declared encoding is overruled (``note`` says which, from where), an info line when
    its legacy label is read as declared, or when ``carried`` stored items took the
    keys of the new reading. Called in the daemon, never in a parse worker, which
    imports no logging (start-up)."""
    import logging

    log = logging.getLogger(__name__)
    if reading == UTF8:
        log.warning("feed=%r charset decided: %s", name, note or "legacy label read as UTF-8")
    elif reading == DECLARED:
        log.info("feed=%r charset decided: its bytes are not UTF-8, read as declared", name)
    if carried:
        log.info("feed=%r items=%d carried over to their keys as now read", name, carried)
