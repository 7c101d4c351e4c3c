"""A luqum-free parser for the common subset of rule queries, building luqum's own tree.

luqum's PLY parser costs ~0.15 ms per query, most of the time it takes to compile a
rule. Most rules are bare words, quoted phrases (optionally ``~N``), ``AND``/``OR``/
``NOT``, ``+``/``-``, parentheses, ``field:`` prefixes and ``NEAR/n``. For such a
query (after :func:`monitor.rules.syntax._rewrite`) :func:`parse_simple` builds the
tree luqum would build, with the same node classes, so the same compiler runs on it.

It is strict: it returns None as soon as the text leaves that subset (escapes,
boosts, ranges, regexes, fuzzy words, ``TO``, anything unusual next to a word or
phrase, any syntax error), and the caller falls back to luqum. It mirrors luqum's
grammar: implicit operations bind loosest, then ``OR``, then ``AND``, then the unary
operators; operations of one kind are flattened as luqum's ``create_operation`` does.
Node positions are not tracked, so a query whose compilation fails is recompiled from
luqum's tree to report the right column. The tests check that both parsers build
equal trees.
"""

from __future__ import annotations

import re

from luqum import tree

from monitor.models import SEARCH_FIELDS

__all__ = ["parse_simple"]

# luqum's TERM without escapes and time expressions: the first character and the rest.
_TERM = re.compile(r"""[^\s:^~(){}\[\]/"'+\-\\<>][^\s:^\\~(){}\[\]]*""")
_PHRASE = re.compile(r'"[^\\"]*"')
_APPROX = re.compile(r"~(\d+)(?![\d.])")
_SPACE = re.compile(r"\s*")
_OPS = {"AND": "and", "OR": "or", "NOT": "not"}
_AFTER_TERM = frozenset(" \t\n\r\f\v):")  # what may follow a term (else: fall back)
_AFTER_PHRASE = frozenset(" \t\n\r\f\v)~")
_SINGLE = {"(": "(", ")": ")", "+": "plus", "-": "minus", ":": "colon"}


class _Unsupported(Exception):
    """The query leaves the simple subset: fall back to luqum."""


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, value) tokens of ``text``; raises _Unsupported outside the subset."""
    out: list[tuple[str, str]] = []
    i, n = _SPACE.match(text, 0).end(), len(text)  # type: ignore[union-attr]
    while i < n:
        char = text[i]
        if char in _SINGLE:
            out.append((_SINGLE[char], char))
            i += 1
        elif char == '"':
            match = _PHRASE.match(text, i)
            if match is None or (match.end() < n and text[match.end()] not in _AFTER_PHRASE):
                raise _Unsupported
            out.append(("phrase", match.group()))
            i = match.end()
        elif char == "~":
            match = _APPROX.match(text, i)
            if match is None or not out or out[-1][0] != "phrase":
                raise _Unsupported
            out.append(("approx", match.group(1)))
            i = match.end()
        else:
            match = _TERM.match(text, i)
            if match is None or (match.end() < n and text[match.end()] not in _AFTER_TERM):
                raise _Unsupported
            word = match.group()
            if word == "TO":
                raise _Unsupported
            out.append((_OPS.get(word, "term"), word))
            i = match.end()
        i = _SPACE.match(text, i).end()  # type: ignore[union-attr]
    return out


class _Parser:
    """Recursive descent over the tokens, with luqum's precedence."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self, ahead: int = 0) -> str:
        """The kind of the token ``ahead`` places on ("" past the end)."""
        j = self.i + ahead
        return self.tokens[j][0] if j < len(self.tokens) else ""

    def take(self, kind: str) -> str:
        """Consume a token of ``kind`` and return its value."""
        if self.peek() != kind:
            raise _Unsupported
        self.i += 1
        return self.tokens[self.i - 1][1]

    def implicit(self) -> tree.Item:
        """Juxtaposed expressions (luqum's UnknownOperation), loosest of all."""
        parts = [self.either()]
        while self.peek() not in ("", ")"):
            parts.append(self.either())
        return parts[0] if len(parts) == 1 else tree.UnknownOperation(*parts)

    def either(self) -> tree.Item:
        """``a OR b OR ...``."""
        parts = [self.both()]
        while self.peek() == "or":
            self.i += 1
            parts.append(self.both())
        return parts[0] if len(parts) == 1 else tree.OrOperation(*parts)

    def both(self) -> tree.Item:
        """``a AND b AND ...``."""
        parts = [self.unary()]
        while self.peek() == "and":
            self.i += 1
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else tree.AndOperation(*parts)

    def unary(self) -> tree.Item:
        """NOT/+/- applied to a unary expression, a group, a field, a word or a phrase."""
        kind = self.peek()
        wrappers = {"not": tree.Not, "plus": tree.Plus, "minus": tree.Prohibit}
        if kind in wrappers:
            self.i += 1
            return wrappers[kind](self.unary())
        if kind == "(":
            self.i += 1
            expr = self.implicit()
            self.take(")")
            return tree.Group(expr)
        if kind == "term" and self.peek(1) == "colon":
            name = self.take("term")
            if name.lower() not in SEARCH_FIELDS:  # e.g. luqum reads T12:30 as one word
                raise _Unsupported
            self.i += 1
            expr = self.unary()
            if isinstance(expr, tree.Group):
                expr = tree.FieldGroup(expr.expr)
            return tree.SearchField(name, expr)
        if kind == "term":
            return tree.Word(self.take("term"))
        phrase = tree.Phrase(self.take("phrase"))
        if self.peek() == "approx":
            return tree.Proximity(phrase, self.take("approx"))
        return phrase


def parse_simple(text: str) -> tree.Item | None:
    """luqum's tree for ``text`` if it is in the simple subset, else None."""
    try:
        parser = _Parser(_tokens(text))
        result = parser.implicit()
    except (_Unsupported, RecursionError):
        return None
    return result if parser.i == len(parser.tokens) else None
