"""Which highlights a story's view marks: those that mark their term in the text shown.

A highlight is stored with a match (field, offsets, term); the text it is shown on
can be another (another outlet's copy, the item before an edit), so a view marks
only the highlights whose text is an occurrence of their term (:func:`marks_term`).
The answers are remembered: a digest asks about the same few (text, term) pairs
for every story, in every render.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from monitor.memo import remember_short
from monitor.models import Highlight, Item
from monitor.rules.stem import stem
from monitor.rules.text import Word, words

__all__ = ["marks_term", "shown"]

_GLOB = {"*": ".*", "?": "."}


def marks_term(shown: str, term: str) -> bool:
    """Whether ``shown``, the text a highlight would mark, is an occurrence of ``term``.

    ``term`` is the rule's normalized query text (a word, a phrase, or a wildcard
    pattern; :func:`monitor.rules.text.normalize_term`). Every word of ``shown`` must
    be one of the term's words: the same folded word, a word the wildcard accepts, a
    bigram of a CJK word of the term, or the same stem (rules with ``stem: true``).
    A highlight made on another text (another outlet's copy, the item before an edit)
    fails this where its offsets land on other words, and is not rendered.
    """
    return _marks(shown, term)


@remember_short(4096)  # a feed's text is anyone's: a long one is worked out, not kept
def _marks(shown: str, term: str) -> bool:
    """:func:`marks_term`, remembered for texts of at most :data:`monitor.memo.LONGEST`
    characters: a digest asks the same few (word, term) pairs again and again (~20
    highlights a story, every story rendered several times)."""
    found = list(words(shown))
    wanted = term.split()
    return bool(found) and all(any(_agrees(w, t) for t in wanted) for w in found)


def _agrees(word: Word, term: str) -> bool:
    """Whether one analyzed ``word`` of a highlight is (a form of) one word of a term."""
    if word.text == term:
        return True
    if "*" in term or "?" in term:
        return _wildcard(term).fullmatch(word.text) is not None
    if word.cjk:
        return word.text in term
    return stem(word.text) == stem(term)


@lru_cache(maxsize=1024)
def _wildcard(term: str) -> re.Pattern[str]:
    """A folded ``te?m*`` term as a regex over one folded word."""
    return re.compile("".join(_GLOB.get(c, re.escape(c)) for c in term))


def shown(item: Item, highlights: Sequence[Highlight]) -> list[Highlight]:
    """The highlights that mark their term in ``item``'s text as it is shown."""
    fields = item.fields()
    return [h for h in highlights if marks_term(fields.get(h.field, "")[h.start : h.end], h.term)]
