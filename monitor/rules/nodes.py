"""Compiled query nodes and how each one matches a :class:`Document`.

Leaves (:class:`TermLeaf`, :class:`WildcardLeaf`, and
:class:`monitor.rules.phrase.PhraseLeaf`) match at token positions; :class:`NearNode`
relates two leaves; ``AND``/``OR``/``NOT`` combine nodes. Matching is two steps:
``holds`` decides with positions only; ``highlights``, called only on a node that
holds, turns the positions of its positive leaves into character spans. ``evaluate``
does both.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from monitor.models import Highlight
from monitor.rules.document import Document, FieldIndex
from monitor.rules.stem import stem as stem_term
from monitor.rules.text import PREFIX_LEN

__all__ = [
    "AndNode",
    "Hits",
    "NearNode",
    "Node",
    "NotNode",
    "OrNode",
    "Positional",
    "Span",
    "TermLeaf",
    "WildcardLeaf",
]


class Span(NamedTuple):
    """Where a positional leaf matched: first and last position, highlighted position runs."""

    first: int
    last: int
    marks: tuple[tuple[int, int], ...]  # (first, last) positions of each highlighted run


Hits = list[Highlight]


class Node:
    """A compiled query node."""

    def holds(self, doc: Document) -> bool:
        """Whether this node is true for ``doc``."""
        raise NotImplementedError

    def highlights(self, doc: Document) -> Hits:
        """Highlights of this node's positive leaves; only call when ``holds(doc)``."""
        raise NotImplementedError

    def evaluate(self, doc: Document) -> Hits | None:
        """Highlights of this node's positive leaves in ``doc``, or None if it fails."""
        return self.highlights(doc) if self.holds(doc) else None


def _highlights(name: str, index: FieldIndex, spans: Sequence[Span], term: str) -> Hits:
    """Character highlights of ``spans`` in field ``name``."""
    out = []
    for span in spans:
        for first, last in span.marks:
            out.append(Highlight(name, index.span(first)[0], index.span(last)[1], term))
    return out


class Positional(Node):
    """A leaf that matches at token positions (a word, wildcard or phrase).

    ``term`` is the normalized query text (used in highlights); with ``stem`` the leaf
    reads the stemmed view of each field.
    """

    def __init__(self, term: str, fields: Sequence[str], stem: bool = False) -> None:
        self.term = term
        self.fields = tuple(fields)
        self.stem = stem

    def view(self, doc: Document, name: str) -> FieldIndex:
        """The field ``name`` as this leaf reads it (plain or stemmed)."""
        return doc.field(name, self.stem)

    def spans(self, index: FieldIndex) -> list[Span]:
        """Every place this leaf matches in one field, sorted by position."""
        raise NotImplementedError

    def absent(self, doc: Document) -> bool:
        """Whether the presearch already knows this leaf cannot match ``doc``."""
        return False

    def holds(self, doc: Document) -> bool:
        """Whether the leaf occurs in one of its fields."""
        if self.absent(doc):
            return False
        return any(self.spans(self.view(doc, name)) for name in self.fields)

    def highlights(self, doc: Document) -> Hits:
        """Highlights of every occurrence in the leaf's fields."""
        hits: Hits = []
        for name in self.fields:
            index = self.view(doc, name)
            hits += _highlights(name, index, self.spans(index), self.term)
        return hits


class TermLeaf(Positional):
    """One analyzed token, looked up exactly (its stem, in a stemmed rule)."""

    def __init__(self, term: str, fields: Sequence[str], stem: bool = False) -> None:
        super().__init__(term, fields, stem)
        self.key = stem_term(term) if stem else term

    def spans(self, index: FieldIndex) -> list[Span]:
        """Spans of the token in ``index``."""
        return [Span(p, p, ((p, p),)) for p in index.positions(self.key)]

    def absent(self, doc: Document) -> bool:
        """Whether the presearch knows the token is in no field."""
        return doc.surely_absent(self.key)

    def holds(self, doc: Document) -> bool:
        """Whether the token occurs in one of the leaf's fields (no positions needed)."""
        if doc.surely_absent(self.key):
            return False
        return any(self.view(doc, name).has_term(self.key) for name in self.fields)

    def highlights(self, doc: Document) -> Hits:
        """Highlights of every occurrence, straight from character spans (no positions)."""
        key, term = self.key, self.term
        return [
            Highlight(name, start, end, term)
            for name in self.fields
            for start, end in self.view(doc, name).char_spans(key)
        ]


class WildcardLeaf(Positional):
    """A ``te?m*`` pattern matched against whole (never stemmed) tokens."""

    def __init__(
        self, term: str, pattern: re.Pattern[str] | None, fields: Sequence[str], prefix: str = ""
    ) -> None:
        super().__init__(term, fields, stem=False)
        self.pattern = pattern  # None: ``prefix*``, every term with the prefix matches
        self.prefix = prefix  # the literal text before the first wildcard
        self.key = prefix[:PREFIX_LEN] + "*" if len(prefix) >= PREFIX_LEN else None

    def absent(self, doc: Document) -> bool:
        """Whether the presearch knows no term of any field starts with the prefix."""
        return self.key is not None and doc.surely_absent(self.key)

    def holds(self, doc: Document) -> bool:
        """Whether some term of one of the leaf's fields matches (no positions needed)."""
        if self.absent(doc):
            return False
        return any(self.matching_terms(self.view(doc, name)) for name in self.fields)

    def matching_terms(self, index: FieldIndex) -> list[str]:
        """The distinct terms of ``index`` that the pattern matches."""
        candidates = index.terms_with_prefix(self.prefix) if self.prefix else index.term_set
        if self.pattern is None:
            return list(candidates)
        match = self.pattern.fullmatch
        return [t for t in candidates if match(t)]

    def spans(self, index: FieldIndex) -> list[Span]:
        """Spans of every token the pattern matches."""
        positions = sorted(p for t in self.matching_terms(index) for p in index.positions(t))
        return [Span(p, p, ((p, p),)) for p in positions]


class NearNode(Node):
    """``A NEAR/n B``: both in one field, at most n words between; ``ordered``: A first."""

    def __init__(
        self, left: Positional, right: Positional, distance: int, ordered: bool = False
    ) -> None:
        self.left, self.right, self.distance, self.ordered = left, right, distance, ordered
        self.fields = tuple(f for f in left.fields if f in right.fields)

    def near_spans(self, doc: Document, name: str) -> tuple[list[Span], list[Span]]:
        """The spans of each side in field ``name`` that have a partner within reach."""
        lefts = self.left.spans(self.left.view(doc, name))
        rights = self.right.spans(self.right.view(doc, name)) if lefts else []
        if not rights:
            return [], []
        near_left = self._near(rights, after=True, before=not self.ordered)
        near_right = self._near(lefts, after=not self.ordered, before=True)
        return [s for s in lefts if near_left(s)], [s for s in rights if near_right(s)]

    def holds(self, doc: Document) -> bool:
        """Whether some field has the two sides within reach."""
        if self.left.absent(doc) or self.right.absent(doc):
            return False
        return any(self.near_spans(doc, name)[0] for name in self.fields)

    def highlights(self, doc: Document) -> Hits:
        """Highlights of both sides wherever they occur near each other."""
        hits: Hits = []
        for name in self.fields:
            lefts, rights = self.near_spans(doc, name)
            hits += _highlights(name, self.left.view(doc, name), lefts, self.left.term)
            hits += _highlights(name, self.right.view(doc, name), rights, self.right.term)
        return hits

    def _near(self, others: list[Span], after: bool, before: bool) -> Callable[[Span], bool]:
        """A test: is some span of ``others`` disjoint from and within reach of a span?

        ``after`` allows a partner after the span, ``before`` one before it.
        """
        firsts = sorted(o.first for o in others)
        lasts = sorted(o.last for o in others)

        def near(span: Span) -> bool:
            i = bisect.bisect_right(firsts, span.last)
            if after and i < len(firsts) and firsts[i] - span.last - 1 <= self.distance:
                return True
            j = bisect.bisect_left(lasts, span.first) - 1
            return before and j >= 0 and span.first - lasts[j] - 1 <= self.distance

        return near


class AndNode(Node):
    """Every child must match."""

    def __init__(self, children: Sequence[Node]) -> None:
        self.children = tuple(children)

    def holds(self, doc: Document) -> bool:
        """Whether every child holds."""
        return all(c.holds(doc) for c in self.children)

    def highlights(self, doc: Document) -> Hits:
        """Concatenated highlights of all children."""
        return [h for c in self.children for h in c.highlights(doc)]


class OrNode(Node):
    """At least one child must match; highlights of every matching child are kept."""

    def __init__(self, children: Sequence[Node]) -> None:
        self.children = tuple(children)

    def holds(self, doc: Document) -> bool:
        """Whether some child holds."""
        return any(c.holds(doc) for c in self.children)

    def highlights(self, doc: Document) -> Hits:
        """Concatenated highlights of the children that hold."""
        return [h for c in self.children if c.holds(doc) for h in c.highlights(doc)]


class NotNode(Node):
    """Matches when the child does not; contributes no terms."""

    def __init__(self, child: Node) -> None:
        self.child = child

    def holds(self, doc: Document) -> bool:
        """Whether the child fails."""
        return not self.child.holds(doc)

    def highlights(self, doc: Document) -> Hits:
        """No highlights: a negation contributes no terms."""
        return []
