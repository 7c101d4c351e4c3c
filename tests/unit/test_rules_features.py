"""Stemming, ONEAR, explanations, the presearch index and two fixed bugs."""

from __future__ import annotations

import pytest

from monitor.errors import RuleSyntaxError
from monitor.models import Highlight
from monitor.rules import Document, RuleSet, compile_query


def doc(**fields: str) -> Document:
    return Document.from_fields(fields)


def test_stemming_is_per_rule() -> None:
    fields = {"content": "Officials are declaring the end of the war."}
    rules = RuleSet([("plain", "declaration"), ("stemmed", "declaration", True)])
    (match,) = rules.match(fields)
    assert match.rule == "stemmed"
    assert match.terms == ("declaration",)
    assert match.highlights == (Highlight("content", 14, 23, "declaration"),)


def test_stemmed_rule_reads_an_item_analyzed_once() -> None:
    d = doc(content="talks continued")
    assert compile_query("talk", stem=True).match(d) is not None
    assert compile_query("talk").match(d) is None
    assert d.field("content").stemmed() is d.field("content", stemmed=True)
    assert d.field("content", stemmed=True).terms == ["talk", "continu"]


def test_onear_keeps_the_order() -> None:
    d = doc(content="Kim met Moon in Seoul")
    assert compile_query("kim ONEAR/1 moon").match(d) is not None
    assert compile_query("moon ONEAR/1 kim").match(d) is None
    assert compile_query("moon NEAR/1 kim").match(d) is not None
    assert compile_query("kim onear/0 moon").match(d) is None


@pytest.mark.parametrize(
    "query", [r'\(near/0 ) "north korea"~3', "(NEAR/2 b)", "(a NEAR/2)", "a NEAR/2 )("]
)
def test_near_beside_a_parenthesis_is_a_syntax_error(query: str) -> None:
    with pytest.raises(RuleSyntaxError):
        compile_query(query)


def test_escaped_parenthesis_is_part_of_the_word() -> None:
    assert compile_query(r"\(kim NEAR/2 moon").match(doc(content="kim moon")) is not None


def test_highlights_covering_the_same_span_are_ordered_by_term() -> None:
    for _ in range(20):
        result = compile_query("*kim* or kim*").match(doc(title="kim"))
        assert result is not None
        assert [h.term for h in result[1]] == ["*kim*", "kim*"]


def test_explain_marks_each_branch() -> None:
    d = doc(title="Pompeo to Pyongyang", content="Kim and Moon")
    tree = compile_query("pompeo AND (tokyo OR pyongyang) AND NOT kim").explain(d)
    assert (tree.label, tree.held) == ("AND", False)
    pompeo, either, negation = tree.children
    assert pompeo.held and pompeo.highlights == (Highlight("title", 0, 6, "pompeo"),)
    assert [(c.label, c.held) for c in either.children] == [("tokyo", False), ("pyongyang", True)]
    assert (negation.label, negation.held, negation.children[0].held) == ("NOT", False, True)
    text = tree.format({"title": "Pompeo to Pyongyang", "content": "Kim and Moon"})
    assert "✗ AND" in text and "✓ pompeo  at title 0-6 'Pompeo'" in text
    assert tree.to_dict()["children"][0]["highlights"] == [{"field": "title", "start": 0, "end": 6}]


def test_explain_shows_near_phrase_field_and_stem() -> None:
    d = doc(title="kim met moon", content="declaring")
    near = compile_query('title:kim ONEAR/2 "met moon"~1').explain(d)
    assert near.label == "ONEAR/2" and near.held
    assert [c.label for c in near.children] == ["title:kim", '"met moon"~1']
    stemmed = compile_query("declaration", stem=True).explain(d)
    assert stemmed.held and stemmed.label == "declaration  [stem: declar]"


def test_presearch_skips_rules_that_cannot_match() -> None:
    rules = RuleSet(
        [
            ("a", "pompeo AND pyongyang"),
            ("b", "tokyo OR osaka"),
            ("c", "NOT sports"),
            ("d", "*nuclear*"),
            ("e", "denuc* OR seoul"),
        ]
    )
    fields = {"title": "Pompeo in Pyongyang talks on denuclearization"}
    d = Document.from_fields(fields)
    assert rules.candidates(d) == [0, 2, 3, 4]
    assert [m.rule for m in rules.match(fields)] == ["a", "c", "d", "e"]
    assert rules.match(fields) == rules.match_every(fields)
    assert rules.candidates(Document.from_fields({"title": "Pompeo"})) == [2, 3]


def test_only_limits_the_rules() -> None:
    rules = RuleSet([("a", "kim"), ("b", "moon")])
    assert [m.rule for m in rules.match({"title": "kim moon"}, only={"b"})] == ["b"]


def test_building_a_rule_set_leaves_the_garbage_collector_as_it_was() -> None:
    import gc

    from monitor.errors import RuleSyntaxError
    from monitor.rules import RuleSet

    assert gc.isenabled()
    RuleSet([("a", "kim AND moon")])
    assert gc.isenabled()
    with pytest.raises(RuleSyntaxError):
        RuleSet([("a", "kim"), ("b", "(unclosed")])
    assert gc.isenabled()
    gc.disable()
    try:
        RuleSet([("a", "kim")])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_candidates_leave_the_document_usable_by_any_query() -> None:
    from monitor.rules import RuleSet

    rules = RuleSet([("a", "title:foo")])
    d = doc(content="foo")
    assert rules.candidates(d) == []
    match = compile_query("foo").match(d)  # reads content, which title:foo does not
    assert match is not None
