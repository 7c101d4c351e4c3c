"""Rule queries: Lucene ``query_string`` syntax, parsed once, evaluated per item.

A :class:`Document` holds the analyzed fields of one item and is shared by every rule
evaluated on that item. :func:`compile_query` parses with a fast parser for the common
subset (:mod:`.fastparse`) or else luqum (:mod:`.syntax`) and
translates the tree into small node classes (:mod:`.compiler`, :mod:`.nodes`), so
matching never walks luqum again. See docs/rules.md for the user-facing syntax.
"""

from __future__ import annotations

from monitor.errors import RuleSyntaxError
from monitor.models import DEFAULT_FIELDS, SEARCH_FIELDS, Highlight
from monitor.rules.compiler import MAX_DEPTH as MAX_DEPTH
from monitor.rules.compiler import MAX_DISTANCE as MAX_DISTANCE
from monitor.rules.compiler import MAX_TERMS as MAX_TERMS
from monitor.rules.compiler import STOP_WORDS as STOP_WORDS
from monitor.rules.compiler import Compiler
from monitor.rules.document import Document, FieldIndex
from monitor.rules.explain import Explanation, explain
from monitor.rules.nodes import Node, Span
from monitor.rules.syntax import MAX_QUERY_CHARS as MAX_QUERY_CHARS
from monitor.rules.syntax import parse

__all__ = ["Document", "Explanation", "FieldIndex", "Node", "Query", "Span", "compile_query"]

_FIELD_ORDER = {name: i for i, name in enumerate(SEARCH_FIELDS)}


class Query:
    """A compiled rule query; ``text`` is the query as written, ``stem`` its stemming."""

    def __init__(self, text: str, root: Node, stem: bool = False) -> None:
        self.text = text
        self.root = root
        self.stem = stem

    def match(self, doc: Document) -> tuple[tuple[str, ...], tuple[Highlight, ...]] | None:
        """None if ``doc`` does not match; else (matched terms, highlights).

        Terms are the normalized query terms of the positive leaves that matched, in
        query order without repeats; highlights are sorted by field, start, end, term.
        """
        if not self.root.holds(doc):
            return None
        hits = self.root.highlights(doc)
        terms = tuple(dict.fromkeys(h.term for h in hits))
        order = sorted(
            set(hits), key=lambda h: (_FIELD_ORDER.get(h.field, 99), h.start, h.end, h.term)
        )
        return terms, tuple(order)

    def explain(self, doc: Document) -> Explanation:
        """The query tree on ``doc``, each branch marked held or failed (see explain.py)."""
        return explain(self.root, doc)

    def __repr__(self) -> str:
        return f"Query({self.text!r})"


def compile_query(query: str, stem: bool = False) -> Query:
    """Parse and compile ``query``; raises RuleSyntaxError with a 1-based column.

    With ``stem`` every word and phrase is compared by its Snowball English stem
    (wildcards still match whole unstemmed words).
    """
    parsed, columns, fast = parse(query, fast=True)
    try:
        root = Compiler(columns, stem).compile(parsed, DEFAULT_FIELDS, 0)
    except RuleSyntaxError:
        if not fast:
            raise
        parsed, columns, _ = parse(query)  # luqum's tree has the positions for the column
        root = Compiler(columns, stem).compile(parsed, DEFAULT_FIELDS, 0)
    return Query(query, root, stem)
