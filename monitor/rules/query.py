"""Rule queries: Lucene ``query_string`` syntax, parsed once, evaluated per item.

A :class:`Document` holds the analyzed fields of one item and is shared by every rule
evaluated on that item. :func:`compile_query` parses with luqum and translates the tree
into the small node classes below (``_Compiler``), so matching never walks luqum again.
See docs/rules.md for the user-facing syntax.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from luqum import tree
from luqum.thread import parse as luqum_parse

from monitor.errors import RuleSyntaxError
from monitor.models import DEFAULT_FIELDS, SEARCH_FIELDS, Highlight
from monitor.rules.text import Token, analyze, fold, normalize_term

__all__ = ["Document", "FieldIndex", "Node", "Query", "Span", "compile_query"]

_FIELD_ORDER = {name: i for i, name in enumerate(SEARCH_FIELDS)}


class FieldIndex:
    """One analyzed field: its original text, tokens, and term → positions."""

    __slots__ = ("text", "tokens", "postings")

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[Token] = analyze(text)
        self.postings: dict[str, list[int]] = {}
        for token in self.tokens:
            self.postings.setdefault(token.term, []).append(token.pos)


class Document:
    """The analyzed fields of one item; each field is analyzed on first use, once."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self._texts = dict(fields)
        self._index: dict[str, FieldIndex] = {}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> Document:
        """A document over ``fields`` as returned by :meth:`monitor.models.Item.fields`."""
        return cls(fields)

    def field(self, name: str) -> FieldIndex:
        """The analyzed field ``name`` (empty if the item has no such field)."""
        index = self._index.get(name)
        if index is None:
            index = self._index[name] = FieldIndex(self._texts.get(name) or "")
        return index


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


# --- compiling -------------------------------------------------------------------------

MAX_QUERY_CHARS = 10_000
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
_NEAR = re.compile(r"NEAR/(\d+)", re.IGNORECASE)
_HYPHENS = re.compile("[-\u2010\u2011\u2012\u2013\u2014\u2212]+")
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_WILDCARD = re.compile(r"(?<!\\)(?:\\\\)*[*?]")
_LUQUM_POS = re.compile(r"position (\d+)")
_OPERATORS = {"&&": "AND", "||": "OR", "!": "NOT"} | {w: w.upper() for w in ("and", "or", "not")}
_OPERATORS |= {w: w for w in ("AND", "OR", "NOT")}


def compile_query(query: str) -> Query:
    """Parse and compile ``query``; raises RuleSyntaxError with a 1-based column."""
    if len(query) > MAX_QUERY_CHARS:
        raise RuleSyntaxError(f"query is longer than {MAX_QUERY_CHARS} characters", 1)
    rewritten, columns = _rewrite(query)
    try:
        parsed = luqum_parse(rewritten)
    except Exception as exc:  # luqum raises ParseError subclasses, ValueError, ...
        match = _LUQUM_POS.search(str(exc))
        if match and int(match.group(1)) < len(columns):
            column = columns[int(match.group(1))]
        else:
            column = max(1, len(query.rstrip()))
        raise RuleSyntaxError(f"syntax error: {_luqum_message(exc)}", column) from None
    return Query(query, _Compiler(columns).compile(parsed, DEFAULT_FIELDS, 0))


def _luqum_message(exc: Exception) -> str:
    """luqum's message without its prefix and 0-based position (we give a column)."""
    message = str(exc).replace("Syntax error in input :", "").strip()
    if "at the end" in message:
        return "the query ends too early"
    message = re.sub(r"\s*at position \d+!?$", "", message)
    return re.sub(r"\s+", " ", message)


class _Piece(NamedTuple):
    """A lexical piece of a query: kind, (rewritten) text, source column of each char."""

    kind: str  # "space", "(", ")", "phrase", "word", "op"
    text: str
    columns: tuple[int, ...]


def _piece(kind: str, text: str, column: int, same: bool = False) -> _Piece:
    """A piece whose chars come from ``column`` onward (or all from ``column``)."""
    columns = (column,) * len(text) if same else tuple(range(column, column + len(text)))
    return _Piece(kind, text, columns)


def _rewrite(query: str) -> tuple[str, list[int]]:
    """Prepare ``query`` for luqum; return it with the 1-based source column of each char.

    Spells ``and or not && || !`` as luqum's operators, checks parentheses and quotes,
    and puts every ``A NEAR/n B`` chain in parentheses so that NEAR binds tightest.
    """
    pieces = _wrap_near(_lex(query))
    return "".join(p.text for p in pieces), [c for p in pieces for c in p.columns]


def _lex(query: str) -> list[_Piece]:
    """Split ``query`` into pieces, rewriting operator words."""
    pieces: list[_Piece] = []
    opened: list[int] = []
    i, n = 0, len(query)
    while i < n:
        char, end = query[i], i + 1
        if char == '"':
            end = _closing_quote(query, i)
            pieces.append(_piece("phrase", query[i:end], i + 1))
        elif char.isspace():
            pieces.append(_piece("space", char, i + 1))
        elif char in "()":
            if char == "(":
                opened.append(i + 1)
            elif not opened:
                raise RuleSyntaxError("unmatched ')'", i + 1)
            else:
                opened.pop()
            pieces.append(_piece(char, char, i + 1))
        else:
            while end < n and not (query[end].isspace() or query[end] in '()"'):
                end += 2 if query[end] == "\\" else 1
            end = min(end, n)
            pieces.extend(_word_pieces(query[i:end], i + 1))
        i = end
    if opened:
        raise RuleSyntaxError("unclosed '('", opened[-1])
    return pieces


def _closing_quote(query: str, start: int) -> int:
    """Index just past the quote closing the phrase opened at ``start``."""
    i = start + 1
    while i < len(query):
        if query[i] == "\\":
            i += 2
        elif query[i] == '"':
            return i + 1
        else:
            i += 1
    raise RuleSyntaxError("unclosed quote", start + 1)


def _word_pieces(word: str, column: int) -> list[_Piece]:
    """One bare word as pieces: operators, ``!`` prefixes, ``&&``/``||`` inside words."""
    if word in _OPERATORS:
        return [_piece("op", _OPERATORS[word], column, same=True)]
    pieces = []
    while word.startswith("!") and len(word) > 1:
        pieces.append(_piece("op", "NOT ", column, same=True))
        word, column = word[1:], column + 1
    start = i = 0
    while i < len(word):
        pair = word[i : i + 2]
        if pair in ("&&", "||"):
            if i > start:
                pieces.append(_piece("word", word[start:i], column + start))
            pieces.append(_piece("op", f" {_OPERATORS[pair]} ", column + i, same=True))
            start = i + 2
        i += 2 if word[i] == "\\" or pair in ("&&", "||") else 1
    if start < len(word):
        pieces.append(_piece("word", word[start:], column + start))
    return pieces


def _is_near(piece: _Piece) -> bool:
    return piece.kind == "word" and _NEAR.fullmatch(piece.text) is not None


def _solid(pieces: list[_Piece], j: int, step: int) -> int | None:
    """Index of the first non-space piece from ``j`` in direction ``step``."""
    while 0 <= j < len(pieces) and pieces[j].kind == "space":
        j += step
    return j if 0 <= j < len(pieces) else None


def _partner(pieces: list[_Piece], j: int, step: int) -> int:
    """Index of the parenthesis matching the one at ``j``."""
    depth = 0
    while True:
        depth += {"(": step, ")": -step}.get(pieces[j].kind, 0)
        if depth == 0:
            return j
        j += step


def _atom(pieces: list[_Piece], j: int | None, step: int) -> int | None:
    """Far end of the operand (word, phrase, group, with field and ~N) next to a NEAR."""
    if j is None or pieces[j].kind in ("op", "space") or _is_near(pieces[j]):
        return None
    ahead = j + step
    suffix = step < 0 and pieces[j].text[:1] in ("~", "^") and pieces[j].kind == "word"
    field = step > 0 and pieces[j].text.endswith(":") and pieces[j].kind == "word"
    if (suffix or field) and 0 <= ahead < len(pieces) and pieces[ahead].kind != "space":
        j, ahead = ahead, ahead + step
    if pieces[j].kind in "()":
        j = _partner(pieces, j, step)
        ahead = j + step
    if not 0 <= ahead < len(pieces):
        return j
    after = pieces[ahead]
    if step < 0 and after.kind == "word" and after.text.endswith(":"):
        return ahead
    if step > 0 and after.kind == "word" and after.text[:1] in ("~", "^"):
        return ahead
    return j


def _wrap_near(pieces: list[_Piece]) -> list[_Piece]:
    """Parenthesize each ``A NEAR/n B [NEAR/m C ...]`` chain."""
    opens: dict[int, int] = {}
    closes: dict[int, int] = {}
    k = 0
    while k < len(pieces):
        if not _is_near(pieces[k]):
            k += 1
            continue
        start = _atom(pieces, _solid(pieces, k - 1, -1), -1)
        end = _atom(pieces, _solid(pieces, k + 1, 1), 1)
        while end is not None and (nxt := _solid(pieces, end + 1, 1)) is not None:
            if not _is_near(pieces[nxt]):
                break
            k, end = nxt, _atom(pieces, _solid(pieces, nxt + 1, 1), 1)
        if start is not None and end is not None:
            opens[start] = opens.get(start, 0) + 1
            closes[end] = closes.get(end, 0) + 1
        k += 1
    out: list[_Piece] = []
    for i, piece in enumerate(pieces):
        out.extend([_Piece("(", "(", piece.columns[:1])] * opens.get(i, 0))
        out.append(piece)
        out.extend([_Piece(")", ")", piece.columns[-1:])] * closes.get(i, 0))
    return out


class _Compiler:
    """Translates one luqum tree into nodes, counting terms and nesting."""

    def __init__(self, columns: list[int]) -> None:
        self.columns = columns
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
            if distance > MAX_DISTANCE:
                raise self.error(f"NEAR distance is over {MAX_DISTANCE}", children[i])
        sides = {j: self.near_side(children[j], fields) for i in nears for j in (i - 1, i + 1)}
        parts: list[Node] = []
        for i, child in enumerate(children):
            if i in nears:
                near = NearNode(sides[i - 1], sides[i + 1], nears[i])
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
        tokens = analyze(text)
        if not tokens:
            raise self.error("empty phrase", node)
        return _positional(text, tokens, fields, slop)

    def word(self, node: tree.Word, fields: tuple[str, ...], near: bool) -> Node:
        """A bare word: wildcard, single term, or hyphenated parts that are all required.

        Stop-word parts of a hyphenated word are optional (``end-of-war`` needs ``end``
        and ``war``); inside ``NEAR/n`` the whole word is a phrase instead.
        """
        if _WILDCARD.search(node.value):
            return self.wildcard(node, fields)
        text = _ESCAPED.sub(r"\1", node.value)
        split = [text] if near else _HYPHENS.split(text)
        parts = [(part, tokens) for part in split if (tokens := analyze(part))]
        if not parts:
            raise self.error(f"{node.value!r} contains no word to search for", node)
        content = [(p, t) for p, t in parts if len(t) > 1 or t[0].term not in STOP_WORDS]
        leaves = [_positional(part, tokens, fields, 0) for part, tokens in content or parts]
        return leaves[0] if len(leaves) == 1 else AndNode(leaves)

    def wildcard(self, node: tree.Word, fields: tuple[str, ...]) -> WildcardLeaf:
        """``te?m*``: literal parts folded like the analyzer, compiled to one regex."""
        pieces = re.split(r"(?<!\\)(\*+|\?)", node.value)
        literals = [fold(_ESCAPED.sub(r"\1", p)) for p in pieces[::2]]
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
        return WildcardLeaf(term, re.compile(pattern), fields)


_NESTING = (tree.Group, tree.FieldGroup, tree.Boost, tree.SearchField, tree.UnaryOperator)
_SEPARATOR = re.compile(r"[^\w']|_")


def _near_distance(node: tree.Item) -> int | None:
    """n if ``node`` is the word ``NEAR/n``, else None."""
    if isinstance(node, tree.Word):
        match = _NEAR.fullmatch(node.value)
        if match:
            return int(match.group(1))
    return None


def _positional(text: str, tokens: list[Token], fields: tuple[str, ...], slop: int) -> Positional:
    """A term for one token, else a phrase over the tokens (CJK words, ``U.S.``)."""
    term = normalize_term(text)
    if len(tokens) == 1:
        return TermLeaf(tokens[0].term, fields)
    return PhraseLeaf(term, tokens, slop, fields)
