"""The analyzer: turns text into folded tokens, the same way for items and queries.

Folding is Unicode NFKC, case folding, and removal of accents (combining
diacritical marks after NFKD, so ``Pyŏngyang`` == ``pyongyang``). Words are runs
of letters, digits and marks; hyphens and other punctuation split them; an
apostrophe inside a word is kept (``o'brien``) but a trailing possessive ``'s`` or
``’s`` is dropped, and so is a French or Italian elided article before one
(``l’OTAN`` is ``otan``, :data:`ELIDED`). Runs of Han, Hiragana, Katakana and
Hangul become overlapping character bigrams (a lone character stays a unigram), so
``평양`` is found inside ``북한은평양에서``.

Invisible characters (Unicode's Default_Ignorable_Code_Point: soft hyphens, zero width
spaces and joiners, word joiners, bidi marks, variation selectors, BOM, ...) never split a
word and never form one: they are removed before analysis (:mod:`monitor.rules.invisible`),
so ``Ge&shy;samt&shy;kon&shy;zept`` is the one term ``gesamtkonzept``, and a zero width
space beside a real space changes nothing. This follows UAX #29 word boundaries (rule WB4
ignores Format and Extend characters inside a word), with one deliberate difference: UAX
#29 breaks at a zero width space, here it joins like the others.

Every token keeps the character span of the original text it came from, so
highlights can slice the original text; folding is done per word, never on the
whole text, which keeps those offsets exact even when NFKC changes lengths. A span
runs from a word's first visible character to its last, so it covers the invisible
characters inside the word as written.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import NamedTuple

from monitor.memo import remember_short
from monitor.rules.invisible import Offsets
from monitor.rules.invisible import remove as remove_invisible
from monitor.rules.invisible import strip as strip_invisible

__all__ = [
    "PREFIX_LEN",
    "Token",
    "Word",
    "analyze",
    "analyze_visible",
    "fold",
    "normalize_term",
    "words",
]

# Characters of a ``prefix*`` presearch key (bytes, for ASCII text): here, where nothing
# imports numpy, so that compiling a query (config loading) does not need it.
PREFIX_LEN = 3
# The analyzer remembers how it folded the last WORD_CACHE words (a news vocabulary
# repeats), each of at most WORD_CACHE_CHARS characters: a feed's text is anyone's, and
# 65,536 distinct words of 100 KB each would otherwise be kept (monitor/memo.py).
WORD_CACHE = 65536
WORD_CACHE_CHARS = 64


@dataclass(frozen=True)
class Token:
    """One analyzed token: folded ``term``, ``text[start:end]`` it came from, position."""

    term: str
    start: int
    end: int
    pos: int


@dataclass(frozen=True)
class Word:
    """A word before CJK bigramming: folded text, original span, whether it is CJK."""

    text: str
    start: int
    end: int
    cjk: bool


# Accents are the combining marks of the Latin/Greek/Cyrillic diacritic blocks; marks of
# other scripts (Japanese dakuten, Indic vowel signs) are part of the letter and stay.
_ACCENTS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Letters without a decomposition that readers still see as accented.
_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ŧ": "t", "ı": "i"})
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "＇": "'", "‘": "'"})
_CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3130, 0x318F),  # Hangul compatibility jamo
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # Han extension A
    (0x4E00, 0x9FFF),  # Han
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo extended B
    (0xF900, 0xFAFF),  # Han compatibility
    (0xFF66, 0xFFDC),  # half-width Katakana and Hangul
    (0x20000, 0x3134F),  # Han extensions B-G
)


_CJK_CLASS = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _CJK_RANGES)
# Non-ASCII characters that are neither word characters nor spaces: the only ones that
# can be combining marks. Which of them are marks is decided per character, on use.
_MAYBE_MARK = re.compile(r"[^\w\s\x00-\x7f]")
_POSSESSIVE = re.compile(r"'s\Z")
# Elided articles and prepositions of French and Italian (the article sets of Lucene's
# ElisionFilter for both languages): ``l’OTAN`` is the word ``otan``, ``dell'Ucraina``
# ``ucraina``, ``qu'il`` ``il``; other inner apostrophes stay (``o'brien``, ``don't``).
ELIDED = (
    "qu|jusqu|lorsqu|puisqu|quoiqu|all|dall|dell|nell|sull|coll|pell|gl|agl|dagl|degl|negl"
    "|sugl|un|[cdjlmnstv]"
)
_ELISION = re.compile(rf"(?i:{ELIDED})['’ʼ＇](?=[^\W_])")


class _WordPatterns(NamedTuple):
    """The word patterns, built for a set of combining marks."""

    marks: frozenset[str]  # the marks the patterns know
    word: re.Pattern[str]  # a word: letters, digits, marks, inner apostrophes
    folded_word: re.Pattern[str]  # a word of folded text (apostrophes already unified)


@lru_cache(maxsize=4096)
def _is_mark(char: str) -> bool:
    """Whether ``char`` is a combining mark (category M*) between U+0300 and U+1FFFF."""
    return 0x0300 <= ord(char) < 0x20000 and unicodedata.category(char).startswith("M")


def _build_word_patterns(marks: frozenset[str]) -> _WordPatterns:
    """Word patterns treating the characters of ``marks`` as combining marks."""
    char = rf"(?:[^\W_]|[{''.join(sorted(marks))}])" if marks else r"[^\W_]"
    return _WordPatterns(
        marks=marks,
        word=re.compile(rf"{char}+(?:['’ʼ＇]{char}+)*"),
        folded_word=re.compile(rf"{char}+(?:'{char}+)*"),
    )


_known = _build_word_patterns(frozenset())


def _word_patterns(text: str) -> _WordPatterns:
    """Word patterns that match ``text`` as if they listed every combining mark.

    Only marks that occur in a text affect how it matches, so the patterns list the
    marks seen so far (rebuilt when a text brings a new one) instead of all ~2,000
    (which took ~50 ms to collect at import).
    """
    global _known
    known = _known
    marks = {c for c in set(_MAYBE_MARK.findall(text)) if _is_mark(c)}
    if not marks <= known.marks:
        known = _known = _build_word_patterns(known.marks | marks)
    return known


class _CjkPatterns(NamedTuple):
    """Patterns for CJK text, compiled on first use (their big classes are slow)."""

    char: re.Pattern[str]  # one CJK character
    run: re.Pattern[str]  # a run of CJK characters and marks, inside one word match


@cache
def _cjk_patterns() -> _CjkPatterns:
    """The CJK patterns; inside a word match, a non-word non-apostrophe char is a mark."""
    cjk = _CJK_CLASS
    return _CjkPatterns(
        char=re.compile(f"[{cjk}]"),
        run=re.compile(rf"[{cjk}](?:[{cjk}]|[^\w'’ʼ＇])*"),
    )


@remember_short(WORD_CACHE, longest=WORD_CACHE_CHARS)
def fold(text: str) -> str:
    """NFKC, case folding and accent removal of ``text`` (no splitting); invisible
    characters (Default_Ignorable_Code_Point) are dropped, as the analyzer drops them.
    Remembered for the last :data:`WORD_CACHE` texts of a word's length or less."""
    text = unicodedata.normalize("NFKC", remove_invisible(text)).casefold().translate(_APOSTROPHES)
    text = _ACCENTS.sub("", unicodedata.normalize("NFKD", text)).translate(_LETTERS)
    return unicodedata.normalize("NFKC", text)


def drop_elided(word: str) -> str:
    """``word`` without a French or Italian elided article before it (``l'ot`` →
    ``ot``), as the analyzer reads words (:data:`ELIDED`); raw or folded."""
    elided = _ELISION.match(word)
    return word[elided.end() :] if elided else word


@remember_short(WORD_CACHE, longest=WORD_CACHE_CHARS)
def _fold_word(raw: str) -> tuple[int, tuple[str, ...]]:
    """Fold one raw word: how many of its characters an elided article before it
    takes (dropped), and its folded parts (usually one, more if NFKC introduced
    punctuation). Remembered, as a news vocabulary repeats."""
    word = drop_elided(raw)
    folded = fold(word)
    parts = _word_patterns(folded).folded_word.findall(folded)
    return len(raw) - len(word), tuple(
        p for p in (_POSSESSIVE.sub("", part) for part in parts) if p
    )


def _segments(match: re.Match[str]) -> Iterator[tuple[int, int, bool]]:
    """Split one word match into runs of CJK and non-CJK characters."""
    start, end = match.span()
    position = start
    for run in _cjk_patterns().run.finditer(match.string, start, end):
        if run.start() > position:
            yield position, run.start(), False
        yield run.start(), run.end(), True
        position = run.end()
    if position < end:
        yield position, end, False


def words(text: str) -> Iterator[Word]:
    """The folded words of ``text`` with their original spans (CJK runs kept whole).

    Invisible characters are removed first; a word's span is on ``text`` as written.
    """
    visible, offsets = strip_invisible(text)
    if offsets is None:
        yield from _words(visible)
        return
    for word in _words(visible):
        yield Word(word.text, *offsets.span(word.start, word.end), word.cjk)


def _words(text: str) -> Iterator[Word]:
    """:func:`words` of a text without invisible characters."""
    has_cjk = _cjk_patterns().char.search(text) is not None
    for match in _word_patterns(text).word.finditer(text):
        for start, end, cjk in _segments(match) if has_cjk else [(*match.span(), False)]:
            if cjk:
                folded = fold(text[start:end])
                if folded:
                    yield Word(folded, start, end, True)
            else:
                skip, parts = _fold_word(text[start:end])
                for part in parts:  # its span starts after an elided article
                    yield Word(part, start + skip, end, False)


def _bigrams(text: str, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """Overlapping character bigrams of the CJK run ``text[start:end]``."""
    chars = [(fold(text[i]), i) for i in range(start, end) if fold(text[i])]
    if len(chars) == 1:
        yield chars[0][0], start, end
        return
    for (a, a_start), (b, b_start) in zip(chars, chars[1:], strict=False):
        yield a + b, a_start, b_start + 1


def analyze(text: str) -> list[Token]:
    """Tokens of ``text``: folded terms, original character spans, positions 0, 1, 2...

    Invisible characters are removed before analysis (:mod:`monitor.rules.invisible`);
    spans are mapped back to ``text`` as written.
    """
    if _is_plain(text):
        return _plain_tokens(text)
    return analyze_visible(*strip_invisible(text))


def analyze_visible(visible: str, offsets: Offsets | None) -> list[Token]:
    """:func:`analyze` of a text already split by :func:`monitor.rules.invisible.strip`
    into its ``visible`` text and the map back (None: nothing was removed).

    For callers that stripped the text already (the Document, which tries the ASCII
    path on the visible text first): the search for invisible characters is ~7 ns per
    character of non-ASCII text, not worth doing twice.
    """
    tokens: list[Token] = []
    if offsets is None:
        for word in _words(visible):
            if word.cjk:
                for term, start, end in _bigrams(visible, word.start, word.end):
                    tokens.append(Token(term, start, end, len(tokens)))
            else:
                tokens.append(Token(word.text, word.start, word.end, len(tokens)))
        return tokens
    written = offsets.span
    for word in _words(visible):
        if word.cjk:
            for term, start, end in _bigrams(visible, word.start, word.end):
                tokens.append(Token(term, *written(start, end), len(tokens)))
        else:
            tokens.append(Token(word.text, *written(word.start, word.end), len(tokens)))
    return tokens


def normalize_term(text: str) -> str:
    """The folded form of a query word or phrase: its words joined by single spaces.

    CJK runs are kept whole (not as bigrams), so the result reads like the input:
    ``normalize_term("Pompeo’s")`` is ``"pompeo"``, ``normalize_term("end-of-war")`` is
    ``"end of war"``.
    """
    if _is_plain(text):
        return " ".join(text.lower().split())
    return " ".join(word.text for word in words(text))


def _is_plain(text: str) -> bool:
    """Whether ``text`` is only ASCII letters, digits and spaces (most query words and
    phrases): its words are then its space-separated pieces, and folding is lowercasing."""
    return text.isascii() and text.replace(" ", "").isalnum()


def _plain_tokens(text: str) -> list[Token]:
    """:func:`analyze` of a text for which :func:`_is_plain` holds, without regexes."""
    tokens: list[Token] = []
    start = 0
    for piece in text.split(" "):
        if piece:
            tokens.append(Token(piece.lower(), start, start + len(piece), len(tokens)))
        start += len(piece) + 1
    return tokens
