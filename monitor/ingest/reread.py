"""Whether a field's text, read again as UTF-8, is text a feed would hold.

feedparser reads each text field of a UTF-8 document a second time (an element that
expects text: titles, summaries, content, guids, links): when the field's text
is all ISO-8859-1 and those bytes are valid UTF-8, it keeps the UTF-8 reading (its
``_FeedParserMixin.pop``: "people take data that is already utf-8, presume that it is
iso-8859-1, and re-encode it"). That repairs double-encoded text (``CafÃ© ZÃ¼rich`` is
``Café Zürich``), which publishers' templates make often. It also misreads genuine
text whose every non-ASCII character stands in such a pair by chance: an upper-case
letter before a symbol (``NESTLÉ®`` is ``C9 AE``, read ``NESTLɮ``; ``CAFÉ`` before a
no-break space, ``ɠ``), or a lower-case one before two (``là`` NBSP ``»``, a Samaritan
letter). Every all-Latin field gets both kinds of pair: feedparser is handed UTF-8 for
every feed (:mod:`monitor.ingest.parse` decodes first).

:func:`plausible` tells the two apart by what the re-reading makes:

- a field holding a C1 control (U+0080-U+009F) is taken as double-encoded: text
  written as such holds none, and half of all UTF-8 continuation bytes read as
  ISO-8859-1 are one (``’`` is ``â`` + two of them); its re-reading is kept (a numeric
  reference meant as windows-1252, ``&#146;``, is a C1 control too: a refused pair in
  the same field is then read again, ``BEYONC&#201;&#146;S`` as ``BEYONCɒS``);
- otherwise the re-reading is refused when it makes a character of a block that a
  Western letter before a symbol lands in and that news text does not use
  (:data:`UNLIKELY`: the end of Latin Extended-B, IPA and modifier letters, archaic
  Cyrillic, Syriac, Thaana, NKo, Samaritan, Mandaic),
  or a character of another script from a three- or four-byte sequence glued to an
  ASCII letter before it (``Arrivé`` NBSP ``»`` would end ``Arriv`` and a CJK
  ideograph; Vietnamese letters, U+1E00-U+1EFF, punctuation and symbols,
  U+2000-U+2BFF, and U+FFFD do follow ASCII letters).

Double-encoded text of the scripts news uses re-reads into Latin-1, Latin Extended-A
and -B (Central European, Vietnamese, Romanian), Greek, Cyrillic, Armenian, Hebrew,
Arabic and every script of three bytes (Devanagari, CJK, ...), all kept; so is a
genuine pair that lands there (``×`` NBSP reads ``נ``, ``Î`` NBSP ``Π``). A field mixing
a refused pair with double-encoded text keeps neither reading's half: it stays as
decoded, a visible ``Ã©`` rather than a silent ``ɮ``.

Imported by the parse worker: nothing but the standard library's ``str`` and ``re``
(two compiled expressions: a field of megabytes is judged at the speed of a search, not
a Python loop over its characters).
"""

from __future__ import annotations

import re

__all__ = ["UNLIKELY", "plausible"]

# (first, last) code points a re-read character may not fall in (module docstring).
UNLIKELY: tuple[tuple[int, int], ...] = (
    (0x0220, 0x024F),  # the end of Latin Extended-B: Ƞ ȡ … (È before a symbol: È NBSP)
    (0x0250, 0x02BA),  # IPA Extensions, Spacing Modifier Letters (ʻ ʼ are used: Uzbek)
    (0x02BD, 0x02FF),  # (É Ê Ë before a symbol)
    (0x0460, 0x047F),  # archaic Cyrillic (Ñ before a symbol)
    (0x0700, 0x07FF),  # Syriac, Thaana, NKo (Ü Ý Þ ß before a symbol)
    (0x0800, 0x089F),  # Samaritan, Mandaic, Syriac Supplement, Arabic Extended-B (à …)
)


_C1 = re.compile("[\x80-\x9f]")
# A re-read character refused (module docstring): one in UNLIKELY, or one of three or
# four bytes after an ASCII letter, unless Vietnamese Latin, punctuation, a symbol or
# U+FFFD. Two searches: each starts with a set, which the engine scans for in C.
_UNLIKELY = re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in UNLIKELY) + "]")
_GLUED = re.compile("[A-Za-z][^\x00-\u07ff\u1e00-\u1eff\u2000-\u2bff\ufffd]")


def plausible(text: str) -> bool:
    """Whether feedparser's re-reading of field ``text`` as UTF-8 (its ISO-8859-1 bytes
    decoded as UTF-8) may stand, by the module docstring's rule. True also when there
    is nothing to re-read (ASCII, a character above U+00FF, bytes that are not UTF-8):
    feedparser then keeps the text as it is either way."""
    if text.isascii():
        return True
    try:
        again = text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return True
    if _C1.search(text):
        return True
    return _UNLIKELY.search(again) is None and _GLUED.search(again) is None
