"""Why a query matched an item or not: the query tree, each node marked held or failed.

:func:`explain` walks a compiled query against a :class:`Document` and evaluates every
branch (no short-circuit), so an analyst sees all the reasons at once; a leaf that
held carries its highlights. :meth:`Explanation.format` renders the tree as text,
:meth:`Explanation.to_dict` as JSON-ready data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from monitor.models import DEFAULT_FIELDS, SEARCH_FIELDS, Highlight
from monitor.rules.document import Document
from monitor.rules.nodes import (
    AndNode,
    NearNode,
    Node,
    NotNode,
    OrNode,
    Positional,
    TermLeaf,
)
from monitor.rules.phrase import PhraseLeaf

__all__ = ["Explanation", "explain"]

_SHOWN = 3  # highlights shown per leaf in text form


@dataclass(frozen=True)
class Explanation:
    """One node of a query: its label, whether it held, its parts, its highlights."""

    label: str
    held: bool
    children: tuple[Explanation, ...] = ()
    highlights: tuple[Highlight, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: label, held, highlights (field, start, end), children."""
        return {
            "node": self.label,
            "held": self.held,
            "highlights": [
                {"field": h.field, "start": h.start, "end": h.end} for h in self.highlights
            ],
            "children": [c.to_dict() for c in self.children],
        }

    def format(self, texts: Mapping[str, str] | None = None, indent: str = "") -> str:
        """The tree as indented lines: ``✓`` held, ``✗`` failed; ``texts`` quote the spans."""
        line = f"{indent}{'✓' if self.held else '✗'} {self.label}"
        if self.highlights:
            shown = [_quote(h, texts) for h in self.highlights[:_SHOWN]]
            more = len(self.highlights) - _SHOWN
            line += "  at " + "; ".join(shown) + (f" (+{more} more)" if more > 0 else "")
        lines = [line] + [c.format(texts, indent + "    ") for c in self.children]
        return "\n".join(lines)


def _quote(h: Highlight, texts: Mapping[str, str] | None) -> str:
    """``field start-end "text"`` for one highlight."""
    where = f"{h.field} {h.start}-{h.end}"
    if texts is None or h.field not in texts:
        return where
    return f"{where} {texts[h.field][h.start : h.end]!r}"


def _leaf_label(leaf: Positional) -> str:
    """How a leaf reads in the tree: ``field:term``, ``"a phrase"~N``, ``[stem: x]``."""
    text = leaf.term
    if isinstance(leaf, PhraseLeaf):
        text = f'"{text}"' + (f"~{leaf.slop}" if leaf.slop else "")
    scope = "" if leaf.fields == DEFAULT_FIELDS else "|".join(leaf.fields) + ":"
    stem = ""
    if isinstance(leaf, TermLeaf) and leaf.stem and leaf.key != leaf.term:
        stem = f"  [stem: {leaf.key}]"
    elif isinstance(leaf, PhraseLeaf) and leaf.stem and " ".join(leaf.terms) != leaf.term:
        stem = f"  [stems: {' '.join(leaf.terms)}]"
    return scope + text + stem


def explain(node: Node, doc: Document) -> Explanation:
    """The explanation of ``node`` on ``doc``; ``held`` equals ``node.holds(doc)``."""
    held = node.holds(doc)
    if isinstance(node, Positional):
        hits = tuple(_sorted(node.highlights(doc))) if held else ()
        return Explanation(_leaf_label(node), held, (), hits)
    if isinstance(node, NearNode):
        name = f"{'ONEAR' if node.ordered else 'NEAR'}/{node.distance}"
        sides = (explain(node.left, doc), explain(node.right, doc))
        hits = tuple(_sorted(node.highlights(doc))) if held else ()
        return Explanation(name, held, sides, hits)
    if isinstance(node, AndNode | OrNode):
        name = "AND" if isinstance(node, AndNode) else "OR"
        return Explanation(name, held, tuple(explain(c, doc) for c in node.children))
    if isinstance(node, NotNode):
        return Explanation("NOT", held, (explain(node.child, doc),))
    raise TypeError(f"cannot explain {type(node).__name__}")


def _sorted(hits: list[Highlight]) -> list[Highlight]:
    """Distinct highlights by field order, offset and term."""
    order = {name: i for i, name in enumerate(SEARCH_FIELDS)}
    return sorted(set(hits), key=lambda h: (order.get(h.field, 9), h.field, h.start, h.end, h.term))
