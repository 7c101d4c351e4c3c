"""The analyzed fields of one item, shared by every rule evaluated on that item.

A :class:`Document` analyzes each field on first use, once. A :class:`FieldIndex` is
one analyzed field; the term at each position, the set of distinct terms, the
positions of a term and the character span of a position are computed lazily, only
for what rules ask (on the ASCII path a word is first looked for by one substring
search). Text that is ASCII once common punctuation is
mapped goes through :mod:`monitor.rules.ascii` (C-level string operations); other text
through :func:`monitor.rules.text.analyze`. Both give the same terms and spans.
Invisible characters (soft hyphens, zero width spaces, ...) do not take text off the
ASCII path: they are removed first, and spans are mapped back to the written text.

A rule with ``stem: true`` reads the field's stemmed view (:meth:`FieldIndex.stemmed`):
the same positions and spans, each term replaced by its Snowball stem.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from monitor.rules import ascii
from monitor.rules.invisible import Offsets
from monitor.rules.invisible import strip as strip_invisible
from monitor.rules.stem import stem_all
from monitor.rules.text import analyze_visible

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Document", "FieldIndex"]


class FieldIndex:
    """One analyzed field: ``terms[p]`` is the term at position ``p``."""

    __slots__ = (
        "text",
        "_terms",
        "_spaced",
        "_padded",
        "_spans",
        "_offsets",
        "_positions",
        "_by_term",
        "_set",
        "_sorted",
        "_stem",
        "_starts",
        "_has",
        "_prefixed",
    )

    def __init__(self, text: str, terms: list[str] | None = None) -> None:
        self.text = text
        self._terms = terms
        self._spaced: str | None = None
        self._padded: str | None = None  # ASCII path: " term term ... " (see _words_text)
        self._spans: list[tuple[int, int]] | None = None
        # ASCII path after removing invisible characters: visible offsets -> written ones
        self._offsets: Offsets | None = None
        if terms is None:
            self._spaced = ascii.spaced(text)
            if self._spaced is None:
                # Invisible characters (non-ASCII) may be all that keeps text off the
                # ASCII path: remove them, and map the spans back (see span()).
                visible, offsets = strip_invisible(text)
                if offsets is not None and (spaced := ascii.spaced(visible)) is not None:
                    self._spaced, self._offsets = spaced, offsets
                else:
                    tokens = analyze_visible(visible, offsets)
                    self._terms = [t.term for t in tokens]
                    self._spans = [(t.start, t.end) for t in tokens]
            if self._spaced is not None:
                self._padded = _words_text(self._spaced)
        self._positions: dict[str, list[int]] = {}
        self._by_term: dict[str, list[tuple[int, int]]] = {}
        self._set: frozenset[str] | None = None
        self._sorted: list[str] | None = None
        self._stem: FieldIndex | None = None
        self._starts: np.ndarray | None = None
        self._has: dict[str, bool] = {}
        self._prefixed: dict[str, list[str]] = {}

    @property
    def terms(self) -> list[str]:
        """The term at each position (built on first use on the ASCII path)."""
        if self._terms is None:
            assert self._spaced is not None
            self._terms = ascii.terms(self._spaced)
        return self._terms

    @property
    def term_set(self) -> frozenset[str]:
        """The distinct terms of the field."""
        if self._set is None:
            self._set = frozenset(self.terms)
        return self._set

    def has_term(self, term: str) -> bool:
        """Whether ``term`` occurs (one substring search on the ASCII path, remembered).

        Once the field's term set exists (:meth:`Document.index_terms`), it answers.
        """
        if self._padded is None or self._set is not None:
            return term in self.term_set
        found = self._has.get(term)
        if found is None:
            found = self._has[term] = f" {term} " in self._padded
        return found

    @property
    def padded(self) -> str | None:
        """The ASCII path's terms as `` term term ... `` (offset + 1), else None."""
        return self._padded

    def positions(self, term: str) -> list[int]:
        """Sorted positions of ``term`` (empty if absent)."""
        found = self._positions.get(term)
        if found is None:
            found = self._positions[term] = self._find_positions(term)
        return found

    def _find_positions(self, term: str) -> list[int]:
        """Positions of ``term``: from word offsets on the ASCII path, else by scanning."""
        if not self.has_term(term):
            return []
        if self._padded is not None:
            import numpy as np  # numpy only once positions are needed (not to compile rules)

            starts = [start for start, _ in self._term_spans(term)]
            return np.searchsorted(self._word_starts(), starts).tolist()
        found, index = [], self.terms.index
        p = index(term)
        try:
            while True:
                found.append(p)
                p = index(term, p + 1)
        except ValueError:
            pass
        return found

    def _word_starts(self) -> np.ndarray:
        """ASCII path: the offset in ``text`` where each word starts."""
        if self._starts is None:
            from monitor.rules.wordhash import word_starts

            assert self._padded is not None
            self._starts = word_starts(self._padded) - 1
        return self._starts

    def terms_with_prefix(self, prefix: str) -> list[str]:
        """Distinct terms that start with ``prefix``, sorted (remembered per prefix)."""
        found = self._prefixed.get(prefix)
        if found is None:
            found = self._prefixed[prefix] = self._find_terms_with_prefix(prefix)
        return found

    def _find_terms_with_prefix(self, prefix: str) -> list[str]:
        """Distinct terms that start with ``prefix``: substring searches on the ASCII
        path, else a walk of the sorted term set."""
        if self._sorted is None and self._spaced is not None and prefix:
            return ascii.terms_with_prefix(self._spaced, prefix)
        if self._sorted is None:
            self._sorted = sorted(self.term_set)
        ordered = self._sorted
        i = bisect.bisect_left(ordered, prefix)
        out = []
        while i < len(ordered) and ordered[i].startswith(prefix):
            out.append(ordered[i])
            i += 1
        return out

    def span(self, position: int) -> tuple[int, int]:
        """Character span in ``text`` of the word at ``position``."""
        if self._spans is not None:
            return self._spans[position]
        assert self._spaced is not None
        start = int(self._word_starts()[position])
        end = self._spaced.find(" ", start)
        end = len(self._spaced) if end < 0 else end
        return (start, end) if self._offsets is None else self._offsets.span(start, end)

    def char_spans(self, term: str) -> list[tuple[int, int]]:
        """Character spans of every occurrence of ``term``, in text order."""
        if not self.has_term(term):
            return []
        if self._spans is None:
            offsets = self._offsets
            if offsets is None:
                return self._term_spans(term)
            return [offsets.span(start, end) for start, end in self._term_spans(term)]
        spans = self._spans
        return [spans[p] for p in self.positions(term)]

    def _term_spans(self, term: str) -> list[tuple[int, int]]:
        """Spans of every occurrence of ``term`` (fast path only), cached; offsets of the
        visible text (see :meth:`char_spans` for the written ones)."""
        spans = self._by_term.get(term)
        if spans is None:
            assert self._spaced is not None
            spans = self._by_term[term] = ascii.term_spans(self._spaced, term)
        return spans

    def stemmed(self) -> FieldIndex:
        """The stemmed view: same positions and spans, terms replaced by their stems."""
        if self._stem is None:
            self._stem = _StemmedField(self)
        return self._stem


class _StemmedField(FieldIndex):
    """A field's terms replaced by their stems; spans come from the plain field."""

    __slots__ = ("_plain",)

    def __init__(self, plain: FieldIndex) -> None:
        super().__init__(plain.text, stem_all(plain.terms))
        self._plain = plain

    def span(self, position: int) -> tuple[int, int]:
        """Character span of the word at ``position`` (from the plain field)."""
        return self._plain.span(position)

    def char_spans(self, term: str) -> list[tuple[int, int]]:
        """Character spans of every occurrence of the stem ``term``, in text order."""
        return [self._plain.span(p) for p in self.positions(term)]

    def stemmed(self) -> FieldIndex:
        """Already stemmed."""
        return self


def _words_text(spaced: str) -> str:
    """The terms of a :func:`ascii.spaced` text between spaces, at offsets + 1.

    A trailing possessive ``'s`` is blanked, so that every run of non-spaces is
    exactly one term and `` term `` is found by a substring search.
    """
    padded = f" {spaced} "
    return padded.replace("'s ", "   ") if "'s " in padded else padded


class Document:
    """The analyzed fields of one item; each field is analyzed on first use, once."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self._texts = dict(fields)
        self._index: dict[str, FieldIndex] = {}
        self._known: Mapping[str, int] = {}  # see only_keys()
        self._present = b""  # a byte per key number: 1 if the presearch found it

    def only_keys(self, known: Mapping[str, int], present: bytes) -> None:
        """Record that, of the terms numbered in ``known``, only those whose byte in
        ``present`` is 1 can occur in the fields the rules read (the presearch's
        finding).

        Only for a Document that is then evaluated against that rule set's rules alone
        (:meth:`RuleSet.match` makes its own): another query could read a field the
        presearch did not look at.
        """
        self._known, self._present = known, present

    def surely_absent(self, term: str) -> bool:
        """Whether ``term`` is known not to occur in any field a rule reads.

        False when unsure: the term may still be absent (the caller then looks).
        """
        number = self._known.get(term)
        return number is not None and not self._present[number]

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> Document:
        """A document over ``fields`` as returned by :meth:`monitor.models.Item.fields`."""
        return cls(fields)

    def field(self, name: str, stemmed: bool = False) -> FieldIndex:
        """The analyzed field ``name`` (empty if the item has no such field)."""
        index = self._index.get(name)
        if index is None:
            index = self._index[name] = FieldIndex(self._texts.get(name) or "")
        return index.stemmed() if stemmed else index

    def index_terms(self, names: Iterable[str]) -> None:
        """Build the term sets of fields ``names`` now: worth it when most of a large
        rule set is to be evaluated (each word is then a set lookup, not a search)."""
        for name in names:
            self.field(name).term_set  # noqa: B018  (builds and keeps it)

    def term_set(self, names: Iterable[str], stemmed: bool = False) -> set[str]:
        """The distinct terms (or stems) of the fields ``names``, together."""
        out: set[str] = set()
        for name in names:
            out |= self.field(name, stemmed).term_set
        return out
