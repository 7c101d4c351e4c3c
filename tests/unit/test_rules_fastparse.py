"""The luqum-free fast parser builds luqum's tree, so both paths compile alike.

Every query of the 193-case table and random queries (the presearch property's
strategy) are parsed both ways: where the fast parser accepts a query, luqum must
build an equal tree, and the compiled nodes must be the same.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import pytest
from hypothesis import given
from luqum.thread import parse as luqum_parse

from monitor.errors import RuleSyntaxError
from monitor.models import DEFAULT_FIELDS
from monitor.rules import compile_query
from monitor.rules.compiler import Compiler
from monitor.rules.fastparse import parse_simple
from monitor.rules.syntax import _PLAIN, _bare_near, _rewrite, parse
from tests.unit.test_rules_presearch import QUERIES, SETTINGS
from tests.unit.test_rules_table import CASES

TABLE_QUERIES = sorted({case.values[1] for case in CASES})


def shape(value: Any) -> Any:
    """A comparable dump of compiled nodes (classes, attributes, regex patterns)."""
    if isinstance(value, re.Pattern):
        return ("re", value.pattern)
    if isinstance(value, tuple | list):
        return tuple(shape(v) for v in value)
    if hasattr(value, "__dict__"):
        items = sorted(vars(value).items())
        return (type(value).__name__, tuple((k, shape(v)) for k, v in items))
    return value


def check_same(query: str) -> bool:
    """Assert both parsers agree on ``query``; whether the fast parser accepted it."""
    try:
        text, columns = _rewrite(query)
    except RuleSyntaxError:
        return False
    fast = parse_simple(text)
    if fast is None:
        return False
    reference = luqum_parse(text)
    assert fast == reference and repr(fast) == repr(reference)
    try:
        expected = shape(Compiler(columns).compile(reference, DEFAULT_FIELDS, 0))
    except RuleSyntaxError:
        return True
    assert shape(Compiler(columns).compile(fast, DEFAULT_FIELDS, 0)) == expected
    return True


def test_most_table_queries_take_the_fast_path_and_agree() -> None:
    accepted = [q for q in TABLE_QUERIES if check_same(q)]
    assert len(accepted) >= 0.7 * len(TABLE_QUERIES)


@SETTINGS
@given(QUERIES)
def test_random_queries_agree(query: str) -> None:
    check_same(query)
    check_plain(query)


def check_plain(query: str) -> None:
    """A query the rewrite cannot change (no ``_PLAIN`` hit) is its own rewrite."""
    if _PLAIN.search(query) is None:
        with contextlib.suppress(RuleSyntaxError):
            assert _rewrite(query)[0] == query


def test_plain_table_queries_are_their_own_rewrite() -> None:
    for query in TABLE_QUERIES:
        check_plain(query)


@pytest.mark.parametrize(
    "query",
    [
        "a OR b c",
        "a b OR c",
        "NOT a AND b OR c",
        "-a +b -(c OR d)",
        "title:(a OR b) summary:c",
        'title:"x y"~3 AND "p q"',
        "a NEAR/3 b ONEAR/2 c",
        "x AND NOT (y OR z) w",
        'ab"cd"',
    ],
)
def test_fast_path_cases(query: str) -> None:
    assert check_same(query)


@pytest.mark.parametrize(
    "query",
    ["x T12:30", r"a\:b", "a^2", "[a TO b]", "/re/", "kim~2", '"a" ~ 2', "a:b"],
)
def test_unusual_syntax_falls_back_to_luqum(query: str) -> None:
    text, _ = _rewrite(query)
    assert parse_simple(text) is None


def test_errors_found_after_a_fast_parse_keep_their_column() -> None:
    with pytest.raises(RuleSyntaxError) as fast:
        compile_query("kim AND title:moon AND ...")
    with pytest.raises(RuleSyntaxError) as slow:
        Compiler(_rewrite("kim AND title:moon AND ...")[1]).compile(
            luqum_parse(_rewrite("kim AND title:moon AND ...")[0]), DEFAULT_FIELDS, 0
        )
    assert (fast.value.column, str(fast.value)) == (slow.value.column, str(slow.value))
    assert fast.value.column == 24
    assert parse_simple(_rewrite("kim AND title:moon AND ...")[0]) is not None
    _, _, used_fast = parse("kim AND moon", fast=True)
    assert used_fast


NEAR_QUERIES = [
    "kim NEAR/3 moon",
    "kim ONEAR/0 moon AND talks",
    "a NEAR/2 b NEAR/5 c OR d",
    "(kim NEAR/3 moon) summit",
    "x AND (kim NEAR/3 moon)",
    "end-of-war NEAR/4 declaration",
    "pompeo's NEAR/2 visit",
    "denuc* NEAR/5 talks",
    "title:kim NEAR/2 moon",
    '"kim jong" NEAR/2 moon',
    "-kim NEAR/2 moon",
    "kim near/2 moon",
    "(kim OR moon) NEAR/2 talks",
    "kim NEAR/2 AND",
    "kim NEAR/2",
    "kim NEAR/2 moon~",
    '" a NEAR/2 b "',
    '"a b NEAR/1 c d"',
    'x" a OR b NEAR/2 c y"',
]


@pytest.mark.parametrize("query", NEAR_QUERIES)
def test_the_bare_near_shortcut_rewrites_as_the_lexer_does(query: str) -> None:
    near = _bare_near(query)
    if near is not None:
        assert near == _rewrite(query)[0]
    check_same(query)


@SETTINGS
@given(QUERIES)
def test_the_bare_near_shortcut_agrees_on_random_queries(query: str) -> None:
    near = _bare_near(query)
    if near is None:
        return
    try:
        expected = _rewrite(query)[0]
    except RuleSyntaxError:
        return  # the fast path then fails to parse and falls back to the lexer
    assert near == expected


def test_a_near_chain_inside_quotes_stays_a_syntax_error() -> None:
    # The lexer reads x" as opening a phrase; the shortcut must not see a chain there.
    with pytest.raises(RuleSyntaxError):
        compile_query('x" a OR b NEAR/2 c y"')


@pytest.mark.parametrize(
    "query", ['Pompeo" Tokyo', 'Pompeo"', 'Pompeo" AND Pyongyang', 'a NEAR/2 b"']
)
def test_a_stray_quote_is_an_unclosed_phrase_on_both_paths(query: str) -> None:
    """luqum and the fast parser take a quote inside a word for part of it; the rule
    language does not (docs/rules.md: unbalanced quotes are refused), fast or not."""
    for fast in (True, False):
        with pytest.raises(RuleSyntaxError, match="unclosed quote"):
            parse(query, fast=fast)
