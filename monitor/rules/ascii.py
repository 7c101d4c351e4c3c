"""A fast path of the analyzer for text that is ASCII once common punctuation is mapped.

Most English news is ASCII apart from curly quotes, dashes and non-breaking spaces. For
such text the analyzer's result can be computed with C-level string operations instead
of one regex match and one fold per word: lowercase, map every separator to a space
(keeping the length, so offsets stay those of the original text), blank apostrophes
that are not between two letters, blank a French or Italian elided article with its
apostrophe (``l'otan``), and split on spaces. Each piece is then exactly one
word of :func:`monitor.rules.text.words`, and its term is the piece without a trailing
possessive ``'s``. The tests check this against :func:`monitor.rules.text.analyze`.

Invisible characters (soft hyphens, zero width spaces, word joiners, BOM: Unicode's
Default_Ignorable_Code_Point) never split a word for the analyzer, and a same-length
mapping cannot drop them, so they are not separators here: text holding them is not
ASCII for :func:`spaced`. :class:`monitor.rules.document.FieldIndex` then removes them
(:func:`monitor.rules.invisible.strip`), calls :func:`spaced` on the visible text, and
maps its offsets back to the written ones. ASCII text never pays for any of this.
"""

from __future__ import annotations

import re

from monitor.rules.text import ELIDED

__all__ = ["spaced", "term_spans", "terms", "terms_with_prefix"]

# Non-ASCII characters that are common in English news and that the analyzer treats
# exactly like an ASCII apostrophe or an ASCII separator (they are not word characters).
# Not U+200B ZERO WIDTH SPACE: it is invisible (removed before analysis), not a space.
_APOSTROPHES = ("\u2019",)  # not U+02BC: a letter (\w) for the analyzer
_SEPARATORS = "\u2018\u201c\u201d\u2014\u2013\u2026\u00a0\u00ab\u00bb\u2022\u2009"
# Every ASCII character that is neither a letter, a digit nor an apostrophe is a space.
_ASCII_TABLE = str.maketrans(
    {chr(i): " " for i in range(128) if not chr(i).isalnum() and chr(i) != "'"}
)
# An apostrophe that is not between two letters/digits separates words.
_LOOSE_APOSTROPHE = re.compile(r"(?<![a-z0-9])'|'(?![a-z0-9])")
# An elided article at a word's start (l'otan) is blanked with its apostrophe, as the
# analyzer drops it (text.ELIDED).
_ELIDED_ARTICLE = re.compile(rf"(?<![a-z0-9'])(?:{ELIDED})'(?=[a-z0-9])")


def spaced(text: str) -> str | None:
    """``text`` lowercased with separators as spaces, same length; None if not ASCII.

    In the result every maximal run of non-spaces is one analyzer word, at the same
    offsets as in ``text``.
    """
    if not text.isascii():
        for char in _APOSTROPHES:
            text = text.replace(char, "'")
        for char in _SEPARATORS:
            text = text.replace(char, " ")
        if not text.isascii():
            return None
    out = text.lower().translate(_ASCII_TABLE)
    if "'" in out:
        out = _LOOSE_APOSTROPHE.sub(" ", out)
        out = _ELIDED_ARTICLE.sub(lambda m: " " * len(m.group()), out)
    return out


def terms(spaced_text: str) -> list[str]:
    """The analyzer's terms of a :func:`spaced` text, in order (possessives dropped)."""
    pieces = spaced_text.split()
    if "'s" not in spaced_text:
        return pieces
    return [p[:-2] if p.endswith("'s") else p for p in pieces]


def term_spans(spaced_text: str, term: str) -> list[tuple[int, int]]:
    """Character spans of every word whose term is ``term``, in text order.

    Such a word is ``term`` itself (unless ``term`` ends in ``'s``, which the analyzer
    would have dropped) or ``term's``; a plain substring search finds the candidates.
    """
    spans = []
    size, end_of_text = len(term), len(spaced_text)
    bare_ok = not term.endswith("'s")
    i = spaced_text.find(term)
    while i >= 0:
        if i == 0 or spaced_text[i - 1] == " ":
            j = i + size
            if bare_ok and (j == end_of_text or spaced_text[j] == " "):
                spans.append((i, j))
            elif spaced_text.startswith("'s", j) and (
                j + 2 == end_of_text or spaced_text[j + 2] == " "
            ):
                spans.append((i, j + 2))
        i = spaced_text.find(term, i + 1)
    return spans


def terms_with_prefix(spaced_text: str, prefix: str) -> list[str]:
    """The distinct terms of a :func:`spaced` text that start with ``prefix``, sorted.

    A substring search for a space and ``prefix`` finds the words that start with it;
    the cost follows their number, not the number of distinct terms.
    """
    found: set[str] = set()
    size, needle = len(spaced_text), " " + prefix
    i = -1 if spaced_text.startswith(prefix) else spaced_text.find(needle)
    while i >= -1:  # a word starts at i + 1
        end = spaced_text.find(" ", i + 1)
        word = spaced_text[i + 1 : size if end < 0 else end]
        term = word[:-2] if word.endswith("'s") else word
        if term.startswith(prefix):
            found.add(term)
        i = spaced_text.find(needle, i + 1)
        if i < 0:
            break
    return sorted(found)
