"""Rule queries: Lucene ``query_string`` syntax, parsed once, evaluated per item.

A :class:`Document` holds the analyzed fields of one item and is shared by every rule
evaluated on that item. :func:`compile_query` parses with luqum (:mod:`.syntax`) and
translates the tree into small node classes (:mod:`.compiler`, :mod:`.nodes`), so
matching never walks luqum again. See docs/rules.md for the user-facing syntax.
"""

from __future__ import annotations

from monitor.models import DEFAULT_FIELDS, SEARCH_FIELDS, Highlight
from monitor.rules.compiler import MAX_DEPTH as MAX_DEPTH
from monitor.rules.compiler import MAX_DISTANCE as MAX_DISTANCE
from monitor.rules.compiler import MAX_TERMS as MAX_TERMS
from monitor.rules.compiler import STOP_WORDS as STOP_WORDS
from monitor.rules.compiler import Compiler
from monitor.rules.document import Document, FieldIndex
from monitor.rules.nodes import Node, Span
from monitor.rules.syntax import MAX_QUERY_CHARS as MAX_QUERY_CHARS
from monitor.rules.syntax import parse

__all__ = ["Document", "FieldIndex", "Node", "Query", "Span", "compile_query"]

_FIELD_ORDER = {name: i for i, name in enumerate(SEARCH_FIELDS)}


class Query:
    """A compiled rule query; ``text`` is the query as written."""

    def __init__(self, text: str, root: Node) -> None:
        self.text = text
        self.root = root

    def match(self, doc: Document) -> tuple[tuple[str, ...], tuple[Highlight, ...]] | None:
        """None if ``doc`` does not match; else (matched terms, highlights).

        Terms are the normalized query terms of the positive leaves that matched, in
        query order without repeats; highlights are sorted by field and offset.
        """
        hits = self.root.evaluate(doc)
        if hits is None:
            return None
        terms = tuple(dict.fromkeys(h.term for h in hits))
        order = sorted(set(hits), key=lambda h: (_FIELD_ORDER.get(h.field, 99), h.start, h.end))
        return terms, tuple(order)

    def __repr__(self) -> str:
        return f"Query({self.text!r})"


def compile_query(query: str) -> Query:
    """Parse and compile ``query``; raises RuleSyntaxError with a 1-based column."""
    parsed, columns = parse(query)
    return Query(query, Compiler(columns).compile(parsed, DEFAULT_FIELDS, 0))
