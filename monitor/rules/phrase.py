"""A quoted phrase: its terms at consecutive positions, or within a slop (``"a b"~3``).

Exact phrases check each term at its offset from the first one; sloppy phrases use
Lucene's rule (the spread of ``position - offset`` over the terms is at most the slop,
in any order), found with a sliding window over the terms' positions.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.rules.document import Document, FieldIndex
from monitor.rules.nodes import Positional, Span
from monitor.rules.stem import stem as stem_term
from monitor.rules.text import Token

__all__ = ["PhraseLeaf"]


class PhraseLeaf(Positional):
    """Tokens at given relative positions; ``slop`` > 0 allows Lucene-style sloppiness."""

    def __init__(
        self, term: str, tokens: Sequence[Token], slop: int, fields: Sequence[str], stem: bool
    ) -> None:
        super().__init__(term, fields, stem)
        keys = [stem_term(t.term) if stem else t.term for t in tokens]
        self.terms = tuple(keys)
        self.pairs = tuple((k, t.pos - tokens[0].pos) for k, t in zip(keys, tokens, strict=True))
        self.slop = slop

    def absent(self, doc: Document) -> bool:
        """Whether the presearch knows one of the phrase's terms is in no field."""
        return any(map(doc.surely_absent, self.terms))

    def spans(self, index: FieldIndex) -> list[Span]:
        """Exact or sloppy occurrences of the phrase."""
        if not all(map(index.has_term, self.terms)):
            return []
        return self._sloppy(index) if self.slop else self._exact(index)

    def _exact(self, index: FieldIndex) -> list[Span]:
        """Occurrences of every term at its offset from the first one."""
        others = [(set(index.positions(term)), off) for term, off in self.pairs[1:]]
        last = self.pairs[-1][1]
        spans = []
        for p in index.positions(self.terms[0]):
            if all(p + off in found for found, off in others):
                spans.append(Span(p, p + last, ((p, p + last),)))
        return spans

    def _sloppy(self, index: FieldIndex) -> list[Span]:
        """Lucene's rule: max(pos - offset) - min(pos - offset) <= slop, any order."""
        entries = sorted(
            (p - off, k, p)
            for k, (term, off) in enumerate(self.pairs)
            for p in index.positions(term)
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
        spans = []
        for lo, hi in windows:
            positions = sorted({p for _, _, p in entries[lo : hi + 1]})
            spans.append(Span(positions[0], positions[-1], tuple((p, p) for p in positions)))
        return spans
