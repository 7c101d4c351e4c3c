"""Whether a field's text, read again as UTF-8, is text a feed would hold.

feedparser reads every field of a UTF-8 document a second time: when the field's text
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

- a field holding a C1 control (U+0080-U+009F) is double-encoded beyond doubt: text
  never holds one, and half of all UTF-8 continuation bytes read as ISO-8859-1 are one
  (``’`` is ``â`` + two of them); its re-reading is kept;
- otherwise the re-reading is refused when it makes a character of a block that a
  Western letter before a symbol lands in and that news text does not use (:data:`UNLIKELY`:
  IPA and modifier letters, archaic Cyrillic, Syriac, Thaana, NKo, Samaritan, Mandaic),
  or a character of another script from a three- or four-byte sequence glued to an
  ASCII letter before it (``Arrivé`` NBSP ``»`` would end ``Arriv`` and a CJK
  ideograph; Vietnamese letters, U+1E00-U+1EFF, punctuation and symbols,
  U+2000-U+2BFF, and U+FFFD do follow ASCII letters).

Double-encoded text of the scripts news uses re-reads into Latin-1, Latin Extended-A
and -B (Central European, Vietnamese, Romanian), Greek, Cyrillic, Armenian, Hebrew,
Arabic and every script of three bytes (Devanagari, CJK, ...), all kept. A field mixing
a refused pair with double-encoded text keeps neither reading's half: it stays as
decoded, a visible ``Ã©`` rather than a silent ``ɮ``.

Imported by the parse worker: nothing but the standard library's ``str``.
"""

from __future__ import annotations

__all__ = ["UNLIKELY", "plausible"]

# (first, last) code points a re-read character may not fall in (module docstring).
UNLIKELY: tuple[tuple[int, int], ...] = (
    (0x0250, 0x02BA),  # IPA Extensions, Spacing Modifier Letters (ʻ ʼ are used: Uzbek)
    (0x02BD, 0x02FF),  # (É Ê Ë before a symbol)
    (0x0460, 0x047F),  # archaic Cyrillic (Ñ before a symbol)
    (0x0700, 0x07FF),  # Syriac, Thaana, NKo (Ü Ý Þ ß before a symbol)
    (0x0800, 0x089F),  # Samaritan, Mandaic, Syriac Supplement, Arabic Extended-B (à …)
)


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
    if any("\x80" <= ch <= "\x9f" for ch in text):
        return True
    previous = ""
    for ch in again:
        point = ord(ch)
        if point > 0x7F and any(first <= point <= last for first, last in UNLIKELY):
            return False
        if point >= 0x800 and not _latin_or_symbol(point) and _ascii_letter(previous):
            return False
        previous = ch
    return True


def _latin_or_symbol(point: int) -> bool:
    """Latin Extended Additional (Vietnamese), punctuation and symbols (’ — € ™), or
    U+FFFD (a replacement character encoded twice is ``ï¿½``)."""
    return 0x1E00 <= point <= 0x1EFF or 0x2000 <= point <= 0x2BFF or point == 0xFFFD


def _ascii_letter(ch: str) -> bool:
    """Whether ``ch`` (one character, or empty) is an ASCII letter."""
    return ch.isascii() and ch.isalpha()
