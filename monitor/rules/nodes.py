"""Compiled query nodes and how each one matches a :class:`Document`.

Leaves (:class:`TermLeaf`, :class:`WildcardLeaf`, :class:`PhraseLeaf`) match at token
positions; :class:`NearNode` relates two leaves; ``AND``/``OR``/``NOT`` combine nodes.
Every node's ``evaluate`` returns the highlights of its positive leaves, or None.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from monitor.models import Highlight
from monitor.rules.document import Document, FieldIndex
from monitor.rules.text import Token

__all__ = [
    "AndNode",
    "Hits",
    "NearNode",
    "Node",
    "NotNode",
    "OrNode",
    "PhraseLeaf",
    "Positional",
    "Span",
    "TermLeaf",
    "WildcardLeaf",
]


class Span(NamedTuple):
    """Where a positional leaf matched: first and last token position, char spans."""

    first: int
    last: int
    marks: tuple[tuple[int, int], ...]


Hits = list[Highlight]


class Node:
    """A compiled query node; ``evaluate`` returns highlights, or None for no match."""

    def evaluate(self, doc: Document) -> Hits | None:
        """Highlights of this node's positive leaves in ``doc``, or None if it fails."""
        raise NotImplementedError


class Positional(Node):
    """A leaf that matches at token positions (a word, wildcard or phrase)."""

    def __init__(self, term: str, fields: Sequence[str]) -> None:
        self.term = term
        self.fields = tuple(fields)

    def spans(self, index: FieldIndex) -> list[Span]:
        """Every place this leaf matches in one field, sorted by position."""
        raise NotImplementedError

    def evaluate(self, doc: Document) -> Hits | None:
        """Highlights of every occurrence in the leaf's fields, or None if none."""
        hits = [
            Highlight(name, start, end, self.term)
            for name in self.fields
            for span in self.spans(doc.field(name))
            for start, end in span.marks
        ]
        return hits or None


class TermLeaf(Positional):
    """One analyzed token, looked up exactly."""

    def spans(self, index: FieldIndex) -> list[Span]:
        """Spans of the token in ``index``."""
        tokens = index.tokens
        return [
            Span(p, p, ((tokens[p].start, tokens[p].end),))
            for p in index.postings.get(self.term, ())
        ]


class WildcardLeaf(Positional):
    """A ``te?m*`` pattern matched against whole tokens."""

    def __init__(self, term: str, pattern: re.Pattern[str], fields: Sequence[str]) -> None:
        super().__init__(term, fields)
        self.pattern = pattern

    def spans(self, index: FieldIndex) -> list[Span]:
        """Spans of every token the pattern matches."""
        match = self.pattern.fullmatch
        positions = sorted(p for t, ps in index.postings.items() if match(t) for p in ps)
        tokens = index.tokens
        return [Span(p, p, ((tokens[p].start, tokens[p].end),)) for p in positions]


class PhraseLeaf(Positional):
    """Tokens at given relative positions; ``slop`` > 0 allows Lucene-style sloppiness."""

    def __init__(self, term: str, tokens: Sequence[Token], slop: int, fields: Sequence[str]):
        super().__init__(term, fields)
        self.terms = tuple(t.term for t in tokens)
        self.pairs = tuple((t.term, t.pos - tokens[0].pos) for t in tokens)
        self.slop = slop

    def spans(self, index: FieldIndex) -> list[Span]:
        """Exact or sloppy occurrences of the phrase."""
        if any(term not in index.postings for term in self.terms):
            return []
        return self._sloppy(index) if self.slop else self._exact(index)

    def _exact(self, index: FieldIndex) -> list[Span]:
        tokens, last = index.tokens, self.pairs[-1][1]
        spans = []
        for p in index.postings[self.terms[0]]:
            if p + last < len(tokens) and all(
                tokens[p + off].term == term for term, off in self.pairs
            ):
                spans.append(Span(p, p + last, ((tokens[p].start, tokens[p + last].end),)))
        return spans

    def _sloppy(self, index: FieldIndex) -> list[Span]:
        """Lucene's rule: max(pos - offset) - min(pos - offset) <= slop, any order."""
        entries = sorted(
            (p - off, k, p)
            for k, (term, off) in enumerate(self.pairs)
            for p in index.postings[term]
        )
        counts, covered, i = [0] * len(self.terms), 0, 0
        windows: list[list[int]] = []
        for j, (value, k, _) in enumerate(entries):
            covered += counts[k] == 0
            counts[k] += 1
            while value - entries[i][0] > self.slop:
                counts[entries[i][1]] -= 1
                covered -= counts[entries[i][1]] == 0
                i += 1
            if covered == len(self.terms):
                if windows and i <= windows[-1][1]:
                    windows[-1][1] = j
                else:
                    windows.append([i, j])
        tokens, spans = index.tokens, []
        for lo, hi in windows:
            positions = sorted({p for _, _, p in entries[lo : hi + 1]})
            marks = tuple((tokens[p].start, tokens[p].end) for p in positions)
            spans.append(Span(positions[0], positions[-1], marks))
        return spans


class NearNode(Node):
    """``A NEAR/n B``: both in the same field, either order, at most n words between."""

    def __init__(self, left: Positional, right: Positional, distance: int) -> None:
        self.left, self.right, self.distance = left, right, distance
        self.fields = tuple(f for f in left.fields if f in right.fields)

    def evaluate(self, doc: Document) -> Hits | None:
        """Highlights of both sides wherever they occur near each other."""
        hits: Hits = []
        for name in self.fields:
            index = doc.field(name)
            lefts = self.left.spans(index)
            rights = self.right.spans(index) if lefts else []
            if not rights:
                continue
            for spans, others, term in (
                (lefts, rights, self.left.term),
                (rights, lefts, self.right.term),
            ):
                near = self._near(others)
                hits.extend(
                    Highlight(name, s, e, term)
                    for span in spans
                    if near(span)
                    for s, e in span.marks
                )
        return hits or None

    def _near(self, others: list[Span]) -> Callable[[Span], bool]:
        """A test: is some span of ``others`` disjoint from and within reach of a span?"""
        firsts = sorted(o.first for o in others)
        lasts = sorted(o.last for o in others)

        def near(span: Span) -> bool:
            after = bisect.bisect_right(firsts, span.last)
            if after < len(firsts) and firsts[after] - span.last - 1 <= self.distance:
                return True
            before = bisect.bisect_left(lasts, span.first) - 1
            return before >= 0 and span.first - lasts[before] - 1 <= self.distance

        return near


class AndNode(Node):
    """Every child must match."""

    def __init__(self, children: Sequence[Node]) -> None:
        self.children = tuple(children)

    def evaluate(self, doc: Document) -> Hits | None:
        """Concatenated highlights of all children, or None if one fails."""
        hits: Hits = []
        for child in self.children:
            result = child.evaluate(doc)
            if result is None:
                return None
            hits.extend(result)
        return hits


class OrNode(Node):
    """At least one child must match; highlights of every matching child are kept."""

    def __init__(self, children: Sequence[Node]) -> None:
        self.children = tuple(children)

    def evaluate(self, doc: Document) -> Hits | None:
        """Concatenated highlights of the matching children, or None if none match."""
        results = [r for r in (c.evaluate(doc) for c in self.children) if r is not None]
        return [h for r in results for h in r] if results else None


class NotNode(Node):
    """Matches when the child does not; contributes no terms."""

    def __init__(self, child: Node) -> None:
        self.child = child

    def evaluate(self, doc: Document) -> Hits | None:
        """An empty hit list if the child fails, else None."""
        return [] if self.child.evaluate(doc) is None else None
