"""The analyzed fields of one item, shared by every rule evaluated on that item.

A :class:`Document` analyzes each field on first use, once. A :class:`FieldIndex` is
one analyzed field: the term at each position, computed eagerly and cheaply; the set of
distinct terms, the positions of a term and the character span of a position are
computed lazily, only for what rules ask. Text that is ASCII once common punctuation is
mapped goes through :mod:`monitor.rules.ascii` (C-level string operations); other text
through :func:`monitor.rules.text.analyze`. Both give the same terms and spans.

A rule with ``stem: true`` reads the field's stemmed view (:meth:`FieldIndex.stemmed`):
the same positions and spans, each term replaced by its Snowball stem.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping

from monitor.rules import ascii
from monitor.rules.stem import stem_all
from monitor.rules.text import analyze

__all__ = ["Document", "FieldIndex"]


class FieldIndex:
    """One analyzed field: ``terms[p]`` is the term at position ``p``."""

    __slots__ = (
        "text",
        "terms",
        "_spaced",
        "_spans",
        "_positions",
        "_by_term",
        "_set",
        "_sorted",
        "_stem",
    )

    def __init__(self, text: str, terms: list[str] | None = None) -> None:
        self.text = text
        self._spaced: str | None = None
        self._spans: list[tuple[int, int]] | None = None
        if terms is None:
            self._spaced = ascii.spaced(text)
            if self._spaced is not None:
                terms = ascii.terms(self._spaced)
            else:
                tokens = analyze(text)
                terms = [t.term for t in tokens]
                self._spans = [(t.start, t.end) for t in tokens]
        self.terms: list[str] = terms
        self._positions: dict[str, list[int]] = {}
        self._by_term: dict[str, list[tuple[int, int]]] = {}
        self._set: frozenset[str] | None = None
        self._sorted: list[str] | None = None
        self._stem: FieldIndex | None = None

    @property
    def term_set(self) -> frozenset[str]:
        """The distinct terms of the field."""
        if self._set is None:
            self._set = frozenset(self.terms)
        return self._set

    def positions(self, term: str) -> list[int]:
        """Sorted positions of ``term`` (empty if absent)."""
        found = self._positions.get(term)
        if found is None:
            found = []
            if term in self.term_set:
                index = self.terms.index
                p = index(term)
                try:
                    while True:
                        found.append(p)
                        p = index(term, p + 1)
                except ValueError:
                    pass
            self._positions[term] = found
        return found

    def terms_with_prefix(self, prefix: str) -> list[str]:
        """Distinct terms that start with ``prefix``, sorted."""
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

    def has_prefix(self, prefix: str) -> bool:
        """Whether some term starts with ``prefix`` (one substring search if ASCII)."""
        spaced = self._spaced
        if spaced is not None and prefix and "'" not in prefix:
            return spaced.startswith(prefix) or f" {prefix}" in spaced
        return bool(self.terms_with_prefix(prefix))

    def span(self, position: int) -> tuple[int, int]:
        """Character span in ``text`` of the word at ``position``."""
        if self._spans is not None:
            return self._spans[position]
        term = self.terms[position]
        k = bisect.bisect_left(self.positions(term), position)
        return self._term_spans(term)[k]

    def char_spans(self, term: str) -> list[tuple[int, int]]:
        """Character spans of every occurrence of ``term``, in text order."""
        if term not in self.term_set:
            return []
        if self._spans is None:
            return self._term_spans(term)
        spans = self._spans
        return [spans[p] for p in self.positions(term)]

    def _term_spans(self, term: str) -> list[tuple[int, int]]:
        """Spans of every occurrence of ``term`` (fast path only), cached."""
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


class Document:
    """The analyzed fields of one item; each field is analyzed on first use, once."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self._texts = dict(fields)
        self._index: dict[str, FieldIndex] = {}

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

    def term_set(self, names: Iterable[str], stemmed: bool = False) -> set[str]:
        """The distinct terms (or stems) of the fields ``names``, together."""
        out: set[str] = set()
        for name in names:
            out |= self.field(name, stemmed).term_set
        return out
