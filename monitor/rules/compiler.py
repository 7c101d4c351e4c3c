"""A luqum tree to compiled nodes: fields, operators, leaves, wildcards and bounds.

:class:`Compiler` walks the tree once, checks what rules do not support (regexes,
fuzzy words, ranges, unknown fields) and the limits on terms, nesting and distances,
and builds the node classes of :mod:`monitor.rules.nodes`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from luqum import tree

from monitor.errors import RuleSyntaxError
from monitor.models import SEARCH_FIELDS
from monitor.rules.nodes import (
    AndNode,
    NearNode,
    Node,
    NotNode,
    OrNode,
    Positional,
    TermLeaf,
    WildcardLeaf,
)
from monitor.rules.phrase import PhraseLeaf
from monitor.rules.syntax import NEAR_OPERATOR
from monitor.rules.text import Token, analyze, drop_elided, fold, normalize_term

__all__ = ["MAX_DEPTH", "MAX_DISTANCE", "MAX_TERMS", "STOP_WORDS", "Compiler"]

MAX_TERMS = 1_000
MAX_DEPTH = 50
MAX_DISTANCE = 1_000

# Lucene's English stop words: optional when they are parts of a hyphenated word.
# fmt: off
STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is",
    "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there",
    "these", "they", "this", "to", "was", "will", "with",
})
# fmt: on

_HYPHENS = re.compile("[-\u2010\u2011\u2012\u2013\u2014\u2212]+")
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_WILDCARD = re.compile(r"(?<!\\)(?:\\\\)*[*?]")


class Compiler:
    """Translates one luqum tree into nodes, counting terms and nesting."""

    def __init__(self, columns: list[int], stem: bool = False) -> None:
        self.columns = columns
        self.stem = stem
        self.terms = 0

    def column(self, node: tree.Item) -> int:
        """1-based column in the original query of a luqum node."""
        pos = getattr(node, "pos", None)
        if pos is None or not self.columns:
            return 1
        return self.columns[min(pos, len(self.columns) - 1)]

    def error(self, message: str, node: tree.Item) -> RuleSyntaxError:
        """A RuleSyntaxError located at ``node``."""
        return RuleSyntaxError(message, self.column(node))

    def compile(self, node: tree.Item, fields: tuple[str, ...], depth: int) -> Node:
        """Compile ``node`` searching ``fields``; ``depth`` counts groups and unary ops."""
        if isinstance(node, _NESTING) and depth >= MAX_DEPTH:
            raise self.error(f"query is nested more than {MAX_DEPTH} levels deep", node)
        if isinstance(node, tree.Group | tree.FieldGroup | tree.Boost):  # boosts are ignored
            return self.compile(node.expr, fields, depth + 1)
        if isinstance(node, tree.SearchField):
            return self.compile(node.expr, (self.field_name(node),), depth + 1)
        if isinstance(node, tree.Not | tree.Prohibit):
            return NotNode(self.compile(node.a, fields, depth + 1))
        if isinstance(node, tree.Plus):
            return self.compile(node.a, fields, depth + 1)
        if isinstance(node, tree.AndOperation | tree.OrOperation):
            children = [self.compile(c, fields, depth) for c in node.children]
            return AndNode(children) if isinstance(node, tree.AndOperation) else OrNode(children)
        if isinstance(node, tree.UnknownOperation):
            return self.implicit(node.children, fields, depth)
        if isinstance(node, tree.Word | tree.Phrase | tree.Proximity):
            return self.leaf(node, fields, near=False)
        raise self.unsupported(node)

    def unsupported(self, node: tree.Item) -> RuleSyntaxError:
        """The error for syntax luqum accepts but rules do not."""
        if isinstance(node, tree.Regex):
            return self.error("regular expressions are not supported", node)
        if isinstance(node, tree.Fuzzy):
            return self.error(
                'fuzzy matching (word~N) is not supported; for proximity quote the words: "a b"~N',
                node,
            )
        if isinstance(node, tree.Range | tree.From | tree.To):
            return self.error("range queries are not supported", node)
        return self.error(f"unsupported syntax: {str(node).strip()!r}", node)

    def field_name(self, node: tree.SearchField) -> str:
        """The validated, lowercased field name of a ``field:`` node."""
        name = node.name.lower()
        if name not in SEARCH_FIELDS:
            known = ", ".join(SEARCH_FIELDS)
            raise self.error(f"unknown field {node.name!r} (known fields: {known})", node)
        return name

    def implicit(self, children: Sequence[tree.Item], fields: tuple[str, ...], depth: int) -> Node:
        """Juxtaposed operands are ANDed; ``A NEAR/n B`` binds its two neighbours."""
        nears = {i: _near_distance(c) for i, c in enumerate(children)}
        nears = {i: d for i, d in nears.items() if d is not None}
        for i, distance in nears.items():
            if i in (0, len(children) - 1) or i - 1 in nears or i + 1 in nears:
                raise self.error("NEAR/n needs a word or phrase on each side", children[i])
            if distance[0] > MAX_DISTANCE:
                raise self.error(f"NEAR distance is over {MAX_DISTANCE}", children[i])
        sides = {j: self.near_side(children[j], fields) for i in nears for j in (i - 1, i + 1)}
        parts: list[Node] = []
        for i, child in enumerate(children):
            if i in nears:
                near = NearNode(sides[i - 1], sides[i + 1], *nears[i])
                if not near.fields:
                    raise self.error("NEAR/n compares words of the same field", child)
                parts.append(near)
            elif i not in sides:
                parts.append(self.compile(child, fields, depth))
        return parts[0] if len(parts) == 1 else AndNode(parts)

    def near_side(self, node: tree.Item, fields: tuple[str, ...]) -> Positional:
        """An operand of ``NEAR/n``: a word, wildcard or phrase (optionally ``field:``)."""
        leaf = self.leaf(node, fields, near=True)
        if not isinstance(leaf, Positional):
            raise self.error("NEAR/n needs a word or phrase on each side", node)
        return leaf

    def leaf(self, node: tree.Item, fields: tuple[str, ...], near: bool) -> Node:
        """A word, wildcard or phrase; with ``near`` it must be positional."""
        if near and isinstance(node, tree.SearchField):
            return self.leaf(node.expr, (self.field_name(node),), near)
        if near and isinstance(node, tree.Boost):
            return self.leaf(node.expr, fields, near)
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.error(f"query has more than {MAX_TERMS} terms", node)
        if isinstance(node, tree.Proximity) and isinstance(node.term, tree.Phrase):
            if node.degree > MAX_DISTANCE:
                raise self.error(f"proximity is over {MAX_DISTANCE}", node)
            return self.phrase(node.term, fields, int(node.degree))
        if isinstance(node, tree.Phrase):
            return self.phrase(node, fields, 0)
        if isinstance(node, tree.Word) and _near_distance(node) is None:
            return self.word(node, fields, near)
        if near or isinstance(node, tree.Word):
            raise self.error("NEAR/n needs a word or phrase on each side", node)
        raise self.unsupported(node)

    def phrase(self, node: tree.Phrase, fields: tuple[str, ...], slop: int) -> Positional:
        """A quoted phrase; one token becomes a plain term."""
        text = _ESCAPED.sub(r"\1", node.value[1:-1])
        tokens = _analyze(text)
        if not tokens:
            raise self.error("empty phrase", node)
        return _positional(text, tokens, fields, slop, self.stem)

    def word(self, node: tree.Word, fields: tuple[str, ...], near: bool) -> Node:
        """A bare word: wildcard, single term, or hyphenated parts that are all required.

        Stop-word parts of a hyphenated word are optional (``end-of-war`` needs ``end``
        and ``war``); inside ``NEAR/n`` the whole word is a phrase instead. Rules share
        words, so the compiled node is cached and shared (nodes are never modified).
        """
        key = (node.value, fields, near, self.stem)
        found = _WORDS.get(key)
        if found is None:
            found = self._word(node, fields, near)
            if len(_WORDS) < _MAX_WORDS:
                _WORDS[key] = found
        return found

    def _word(self, node: tree.Word, fields: tuple[str, ...], near: bool) -> Node:
        """The uncached :meth:`word`."""
        if _WILDCARD.search(node.value):
            return self.wildcard(node, fields)
        text = _ESCAPED.sub(r"\1", node.value)
        split = [text] if near else _HYPHENS.split(text)
        parts = [(part, tokens) for part in split if (tokens := _analyze(part))]
        if not parts:
            raise self.error(f"{node.value!r} contains no word to search for", node)
        content = [(p, t) for p, t in parts if len(t) > 1 or t[0].term not in STOP_WORDS]
        leaves = [_positional(p, tokens, fields, 0, self.stem) for p, tokens in content or parts]
        return leaves[0] if len(leaves) == 1 else AndNode(leaves)

    def wildcard(self, node: tree.Word, fields: tuple[str, ...]) -> WildcardLeaf:
        """``te?m*``: literal parts folded like the analyzer, compiled to one regex."""
        pieces = re.split(r"(?<!\\)(\*+|\?)", node.value)
        literals = [fold(_ESCAPED.sub(r"\1", p)) for p in pieces[::2]]
        literals[0] = drop_elided(literals[0])  # l'ot* as the analyzer reads it: ot*
        if not any(literals):
            raise self.error("a wildcard needs at least one letter or digit", node)
        if any(_SEPARATOR.search(lit) for lit in literals):
            raise self.error("a wildcard applies to a single word (no spaces or hyphens)", node)
        segments = [""]  # glob segments between '*', '?' kept inside them as '.'
        for i, piece in enumerate(pieces):
            if i % 2 == 0:
                segments[-1] += re.escape(literals[i // 2])
            elif piece == "?":
                segments[-1] += "."
            else:
                segments.append("")
        # Earliest-match atomic groups keep matching linear: no catastrophic backtracking.
        middle = "".join(f"(?>.*?{s})" for s in segments[1:-1])
        pattern = segments[0] + (middle + ".*" + segments[-1] if len(segments) > 1 else "")
        term = "".join(literals[i // 2] if i % 2 == 0 else p for i, p in enumerate(pieces))
        if len(pieces) == 3 and pieces[1].startswith("*") and literals[0] and not literals[1]:
            return WildcardLeaf(term, None, fields, prefix=literals[0])  # plain ``prefix*``
        return WildcardLeaf(term, re.compile(pattern), fields, prefix=literals[0])


_MAX_WORDS = 100_000
_WORDS: dict[tuple[str, tuple[str, ...], bool, bool], Node] = {}
_NESTING = (tree.Group, tree.FieldGroup, tree.Boost, tree.SearchField, tree.UnaryOperator)
_SEPARATOR = re.compile(r"[^\w']|_")


def _near_distance(node: tree.Item) -> tuple[int, bool] | None:
    """(n, ordered) if ``node`` is the word ``NEAR/n`` or ``ONEAR/n``, else None."""
    if isinstance(node, tree.Word):
        match = NEAR_OPERATOR.fullmatch(node.value)
        if match:
            return int(match.group(2)), bool(match.group(1))
    return None


@lru_cache(maxsize=65536)
def _analyze(text: str) -> list[Token]:
    """The analyzer's tokens of a query word or phrase, cached (rules share words).

    Callers must not modify the list.
    """
    return analyze(text)


@lru_cache(maxsize=65536)
def _normalize(text: str) -> str:
    """:func:`normalize_term`, cached."""
    return normalize_term(text)


def _positional(
    text: str, tokens: list[Token], fields: tuple[str, ...], slop: int, stem: bool
) -> Positional:
    """A term for one token, else a phrase over the tokens (CJK words, ``U.S.``)."""
    term = _normalize(text)
    if len(tokens) == 1:
        return TermLeaf(tokens[0].term, fields, stem)
    return PhraseLeaf(term, tokens, slop, fields, stem)
