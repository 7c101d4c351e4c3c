"""Query text to a luqum tree: bounds, lexing, the NEAR/n rewrite, error columns.

Before luqum sees a query it is split into pieces (:func:`_lex`), ``and or not && || !``
are spelled as luqum's operators, and every ``A NEAR/n B`` chain is put in parentheses
so that NEAR (and ONEAR) binds tightest. Each character of the rewritten text remembers its column
in the original query, so that errors from luqum (and later from the compiler) point at
what the user wrote.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from luqum import tree

from monitor.errors import RuleSyntaxError
from monitor.rules.fastparse import parse_simple

__all__ = ["MAX_QUERY_CHARS", "NEAR_OPERATOR", "parse"]

MAX_QUERY_CHARS = 10_000

NEAR_OPERATOR = re.compile(r"(O?)NEAR/(\d+)", re.IGNORECASE)
_LUQUM_POS = re.compile(r"position (\d+)")
_NOT_JUST_NEAR = re.compile(r"[!&|\\]|\b(?:and|or|not)\b")
_ANY_NEAR = re.compile(r"(?i:near/)")
# What :func:`_rewrite` may change: without these, the rewritten query is the query.
_PLAIN = re.compile(f"{_NOT_JUST_NEAR.pattern}|{_ANY_NEAR.pattern}")
_BARE_WORD = r"(?!(?:AND|OR|NOT|TO|O?NEAR/\d+)(?![^\s)]))[^\W_][^\s()\"\\:^~!&|/]*"
_BARE_NEAR_CHAIN = re.compile(
    rf"(?<![^\s(])({_BARE_WORD}(?:\s+O?NEAR/\d+\s+{_BARE_WORD})+)(?![^\s)])"
)
# A proximity operator written wrong would otherwise read as words (``NEAR/x`` as the
# phrase "near x", a bare ``NEAR`` as the word near, ``"a b"~x`` as the phrase AND x):
# a rule that silently never matches. Checked outside phrases (:func:`_check_proximity`).
_MAYBE_PROXIMITY = re.compile(r"NEAR|(?i:near/)|~")
_PHRASE = re.compile(r'"(?:\\.|[^"\\])*"')
_BAD_NEAR = re.compile(r"(?<![^\s(])(?:(O?NEAR)(?![^\s)])|((?i:o?near)/(?!\d+(?![^\s)]))[^\s)]*))")
_BAD_SLOP = re.compile(r'"~(?!\d)')  # what follows the number (a boost) is the grammar's
_OPERATORS = {"&&": "AND", "||": "OR", "!": "NOT"} | {w: w.upper() for w in ("and", "or", "not")}
_OPERATORS |= {w: w for w in ("AND", "OR", "NOT")}


def parse(query: str, fast: bool = False) -> tuple[tree.Item, list[int], bool]:
    """Parse ``query`` with luqum; raises RuleSyntaxError with a 1-based column.

    Returns the tree, for each character of the text luqum parsed its 1-based column
    in ``query`` (see :class:`monitor.rules.compiler.Compiler`), and whether the tree
    came from the fast parser (:mod:`.fastparse`, tried first with ``fast``; its nodes
    have no positions, so errors found later should be reported from luqum's tree).
    """
    if len(query) > MAX_QUERY_CHARS:
        raise RuleSyntaxError(f"query is longer than {MAX_QUERY_CHARS} characters", 1)
    if _MAYBE_PROXIMITY.search(query):
        _check_proximity(query)
    # A query with a quote goes through _rewrite, which checks that each phrase is
    # closed: luqum and the fast parser read a stray quote as part of a word.
    unquoted = fast and '"' not in query
    if unquoted and _PLAIN.search(query) is None and (simple := parse_simple(query)) is not None:
        return simple, [], True  # nothing to rewrite; columns are only needed for errors
    if unquoted and (near := _bare_near(query)) and (simple := parse_simple(near)) is not None:
        return simple, [], True
    rewritten, columns = _rewrite(query)
    if fast and (simple := parse_simple(rewritten)) is not None:
        return simple, columns, True
    from luqum.thread import parse as luqum_parse  # its lexer and tables: ~15 ms to load

    try:
        parsed = luqum_parse(rewritten)
    except Exception as exc:  # luqum raises ParseError subclasses, ValueError, ...
        match = _LUQUM_POS.search(str(exc))
        if match and int(match.group(1)) < len(columns):
            column = columns[int(match.group(1))]
        else:
            column = max(1, len(query.rstrip()))
        raise RuleSyntaxError(f"syntax error: {_luqum_message(exc)}", column) from None
    return parsed, columns, False


def _check_proximity(query: str) -> None:
    """Raise RuleSyntaxError (1-based column) for a proximity operator written wrong
    outside a phrase: ``NEAR``/``ONEAR`` without ``/n``, ``NEAR/`` with no number of
    words, a phrase's ``~`` with no number (``"a b"~3`` is right). A lowercase ``near``
    alone is a word, as in "near miss"; uppercase words are operators (AND, OR, NOT)."""
    blank = _PHRASE.sub(lambda m: '"' + " " * (len(m.group()) - 2) + '"', query)
    if bad := _BAD_NEAR.search(blank):
        word = bad.group(1) or bad.group(2)
        operator = "ONEAR" if word[:1] in "oO" else "NEAR"
        hint = ' (the word itself: "near" in lowercase or quoted)' if bad.group(1) else ""
        raise RuleSyntaxError(
            f"{word!r}: proximity takes a number of words, e.g. Kim {operator}/5 Moon{hint}",
            bad.start() + 1,
        )
    if bad := _BAD_SLOP.search(blank):
        raise RuleSyntaxError(
            'a phrase\'s "~" takes a number of words, e.g. "Kim Moon"~3', bad.start() + 2
        )


def _bare_near(query: str) -> str | None:
    """``query`` as :func:`_rewrite` would give it, when its only rewrite is to wrap
    ``A NEAR/n B`` chains of bare words in parentheses; else None.

    One regex instead of the lexer (~0.2 ms a query, a fifth of compiling 10,000
    rules); anything else (a quote anywhere, a field, parentheses around a side, an
    operator word to rewrite) goes the long way.
    """
    if '"' in query or _NOT_JUST_NEAR.search(query):
        return None
    chains = 0

    def wrap(match: re.Match[str]) -> str:
        nonlocal chains
        chains += len(_ANY_NEAR.findall(match.group(1)))
        return f"({match.group(1)})"

    wrapped = _BARE_NEAR_CHAIN.sub(wrap, query)
    return wrapped if chains == len(_ANY_NEAR.findall(query)) else None


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
            end = i  # a leading backslash escapes the next character too
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
    """Whether ``piece`` is the operator ``NEAR/n``."""
    return piece.kind == "word" and NEAR_OPERATOR.fullmatch(piece.text) is not None


def _solid(pieces: list[_Piece], j: int, step: int) -> int | None:
    """Index of the first non-space piece from ``j`` in direction ``step``."""
    while 0 <= j < len(pieces) and pieces[j].kind == "space":
        j += step
    return j if 0 <= j < len(pieces) else None


def _partner(pieces: list[_Piece], j: int, step: int) -> int | None:
    """Index of the parenthesis matching the one at ``j``, None if there is none."""
    depth = 0
    while 0 <= j < len(pieces):
        depth += {"(": step, ")": -step}.get(pieces[j].kind, 0)
        if depth == 0:
            return j
        if depth < 0:
            return None
        j += step
    return None


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
        partner = _partner(pieces, j, step)
        if partner is None:  # a parenthesis that opens or closes around the NEAR
            return None
        j, ahead = partner, partner + step
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
