"""Compiled rule queries and RuleSet against the seed story and small documents."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.errors import RuleSyntaxError
from monitor.models import Highlight, Match
from monitor.rules import Document, RuleSet, compile_query

SEED = Path(__file__).resolve().parents[1] / "data" / "seed"
EXPECTED = yaml.safe_load((SEED / "expected.yaml").read_text(encoding="utf-8"))
TITLE = "Pompeo may be returning to Pyongyang soon"
CONTENT = (SEED / "seed-article.txt").read_text(encoding="utf-8")
SEED_FIELDS = {"title": TITLE, "content": CONTENT}


@pytest.fixture(scope="module")
def seed_doc() -> Document:
    return Document.from_fields(SEED_FIELDS)


def matches(query: str, **fields: str) -> bool:
    return compile_query(query).match(Document.from_fields(fields)) is not None


def syntax_error(query: str) -> RuleSyntaxError:
    with pytest.raises(RuleSyntaxError) as info:
        compile_query(query)
    return info.value


# --- the acceptance examples ----------------------------------------------------------


@pytest.mark.parametrize("query", EXPECTED["queries_on_seed_story"]["match"])
def test_seed_story_matches(seed_doc: Document, query: str) -> None:
    result = compile_query(query).match(seed_doc)
    assert result is not None
    terms, highlights = result
    assert terms and highlights


@pytest.mark.parametrize("query", EXPECTED["queries_on_seed_story"]["no_match"])
def test_seed_story_does_not_match(seed_doc: Document, query: str) -> None:
    assert compile_query(query).match(seed_doc) is None


def test_design_rule_examples() -> None:
    rules = RuleSet(list(EXPECTED["rules"].items()))
    title = "Seoul and Washington discuss a declaration to end the Korean War"
    assert [m.rule for m in rules.match({"title": title})] == ["end-of-war"]
    assert rules.match({"title": "Seoul shares end higher as trade war worries ease"}) == []


def test_rule_set_on_seed_story() -> None:
    rules = RuleSet(list(EXPECTED["rules"].items()))
    found = rules.match(SEED_FIELDS)
    assert [m.rule for m in found] == ["pompeo-pyongyang", "end-of-war"]
    assert found[0].terms == ("pompeo", "pyongyang")
    assert found[1].terms == ("end", "war", "declaration")
    assert [m.rule for m in rules.match(SEED_FIELDS, only={"end-of-war"})] == ["end-of-war"]


def test_rule_set_names_the_rule_in_errors() -> None:
    with pytest.raises(RuleSyntaxError, match="'broken'") as info:
        RuleSet([("fine", "a"), ("broken", "a AND (b")])
    assert info.value.column == 7


def test_seed_highlights_slice_the_original_text(seed_doc: Document) -> None:
    result = compile_query("Pompeo AND Pyongyang").match(seed_doc)
    assert result is not None
    terms, highlights = result
    assert terms == ("pompeo", "pyongyang")
    texts = {"title": TITLE, "content": CONTENT}
    sliced = {texts[h.field][h.start : h.end] for h in highlights}
    assert sliced == {"Pompeo", "Pompeo’s", "Pyongyang"}
    assert Highlight("title", 0, 6, "pompeo") in highlights
    assert highlights == tuple(sorted(highlights, key=lambda h: (h.field != "title", h.start)))


# --- operators ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("alpha AND beta", True),
        ("alpha && beta", True),
        ("alpha and beta", True),
        ("alpha beta", True),
        ("alpha AND gamma", False),
        ("alpha OR gamma", True),
        ("gamma || alpha", True),
        ("gamma or delta", False),
        ("alpha AND NOT beta", False),
        ("alpha NOT gamma", True),
        ("alpha not beta", False),
        ("alpha !beta", False),
        ("alpha AND !(gamma OR delta)", True),
        ("+alpha -beta", False),
        ("+alpha -gamma", True),
        ("NOT gamma", True),
        ("(gamma OR alpha) AND (beta OR delta)", True),
        ("alpha^2 AND beta", True),
    ],
)
def test_boolean_operators(query: str, expected: bool) -> None:
    assert matches(query, title="Alpha and beta") is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("a OR b c", "a", False),  # juxtaposition binds loosest: (a OR b) AND c
        ("a OR b c", "b c", True),
        ("a or b c", "a c", True),
        ("a AND b OR c", "c", True),
        ("Kim AND Moon NEAR/5 summit", "Kim Moon summit", True),
        ("Kim AND Moon NEAR/5 summit", "Kim Moon x x x x x x summit", False),
        ('"or"', "gold or silver", True),
    ],
)
def test_precedence_and_lowercase_operators(query: str, text: str, expected: bool) -> None:
    assert matches(query, content=text) is expected


def test_not_branches_contribute_no_terms() -> None:
    result = compile_query("alpha AND NOT gamma").match(Document.from_fields({"title": "alpha"}))
    assert result is not None
    assert result[0] == ("alpha",)


def test_pure_negative_query_matches_with_no_terms() -> None:
    assert compile_query("NOT gamma").match(Document.from_fields({"title": "x"})) == ((), ())


def test_terms_are_in_query_order_without_repeats() -> None:
    doc = Document.from_fields({"title": "beta alpha beta", "summary": "alpha"})
    result = compile_query("beta AND (alpha OR beta) AND (gamma* OR alpha)").match(doc)
    assert result is not None
    assert result[0] == ("beta", "alpha")


# --- words, phrases, proximity --------------------------------------------------------


def test_accented_query_matches_plain_text_and_back() -> None:
    assert matches("Pyŏngyang", content="a trip to PYONGYANG")
    assert matches("pyongyang", content="a trip to Pyŏngyang")


@pytest.mark.parametrize("query", ["Pompeo", "Pompeo's", "Pompeo’s", '"Pompeo’s trip"'])
@pytest.mark.parametrize("text", ["Pompeo’s trip", "Pompeo's trip", "Pompeo trip"])
def test_possessives_with_both_apostrophes(query: str, text: str) -> None:
    assert matches(query, title=text)


def test_possessive_highlight_covers_the_written_word() -> None:
    text = "along with Pompeo’s possible trip"
    result = compile_query("pompeo").match(Document.from_fields({"content": text}))
    assert result is not None
    (highlight,) = result[1]
    assert text[highlight.start : highlight.end] == "Pompeo’s"
    assert text[highlight.start : highlight.end].startswith("Pompeo")


def test_hyphenated_word_needs_its_content_parts_anywhere() -> None:
    assert matches("end-of-war", content="the war will end")
    assert matches("Kyung-wha", content="wha and kyung")
    assert not matches("end-of-war", content="the end is near")
    assert not matches('"end-of-war"', content="the war will end")
    assert matches('"end-of-war"', content="an end-of-war declaration")
    assert matches("of-the", content="of the")  # all stop words: all required


def test_punctuated_word_without_hyphen_is_a_phrase() -> None:
    assert matches("U.S.", content="the U.S. side")
    assert not matches("U.S.", content="the s of u")


def test_hyphenated_text_matches_separate_query_words() -> None:
    assert matches('"Kang Kyung wha"', content="Minister Kang Kyung-wha said")
    assert matches("kyung", content="Minister Kang Kyung-wha said")


def test_phrase_needs_consecutive_positions_in_one_field() -> None:
    assert matches('"peace regime"', content="We support a peace regime.")
    assert not matches('"peace regime"', content="peace in the regime")
    assert not matches('"peace regime"', title="peace", content="regime")


def test_phrase_highlight_spans_the_whole_phrase() -> None:
    text = "Foreign Minister Kang Kyung-wha on talks"
    result = compile_query('"Kang Kyung-wha"').match(Document.from_fields({"content": text}))
    assert result is not None
    assert result[0] == ("kang kyung wha",)
    (highlight,) = result[1]
    assert text[highlight.start : highlight.end] == "Kang Kyung-wha"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"a d"~0', False),
        ('"a d"~1', False),
        ('"a d"~2', True),
        ('"d a"~3', False),
        ('"d a"~5', True),  # reversed order costs two more (Lucene's sloppy phrase)
        ('"b a"~2', True),
        ('"a b"~0', True),
    ],
)
def test_proximity(query: str, expected: bool) -> None:
    assert matches(query, content="a b c d") is expected


def test_near_is_within_n_words_in_any_order() -> None:
    text = "alpha one two three beta"
    assert matches("alpha NEAR/3 beta", content=text)
    assert matches("beta NEAR/3 alpha", content=text)
    assert not matches("alpha NEAR/2 beta", content=text)
    assert matches('"alpha one" NEAR/2 beta', content=text)
    assert not matches("alpha NEAR/5 beta", title="alpha", content="beta")
    assert not matches("alpha NEAR/5 alpha", content=text)


def test_near_with_other_operators() -> None:
    text = "alpha one beta gamma"
    assert matches("alpha NEAR/1 beta AND gamma", content=text)
    assert not matches("alpha NEAR/1 beta AND zeta", content=text)
    assert matches("zeta OR alpha NEAR/1 beta", content=text)
    assert matches("alpha NEAR/1 beta NEAR/0 gamma", content=text)
    assert not matches("alpha NEAR/1 beta NEAR/0 alpha", content=text)
    assert matches('"alpha one"~1 NEAR/0 beta', content=text)
    assert matches("alpha^2 NEAR/1 beta", content=text)
    assert matches("alp* NEAR/1 beta", content=text)
    assert matches("gamma AND alpha NEAR/1 beta", content=text)
    assert matches("(alpha NEAR/1 beta) OR zeta", content=text)
    assert matches("title:alpha NEAR/1 beta", title=text)
    assert not matches("title:alpha NEAR/1 beta", content=text)


# --- wildcards ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("denucleari*", True),
        ("DENUCLEARI*", True),
        ("*nuclear*", True),
        ("denucleari?ation", True),
        ("denucleari?", False),
        ("d*n*c*r*z*n", True),
        ("pyŏng*", True),
        ("nuclear*", False),
    ],
)
def test_wildcards(query: str, expected: bool) -> None:
    assert matches(query, content="the denuclearization of Pyongyang") is expected


def test_wildcard_term_and_highlights() -> None:
    text = "to denuclearize and denuclearization"
    result = compile_query("Denucleari*").match(Document.from_fields({"content": text}))
    assert result is not None
    assert result[0] == ("denucleari*",)
    assert [text[h.start : h.end] for h in result[1]] == ["denuclearize", "denuclearization"]


def test_wildcard_does_not_backtrack_catastrophically() -> None:
    query = "a*a*a*a*a*a*a*a*a*a*b"
    assert not matches(query, content="a" * 5000)


# --- CJK ------------------------------------------------------------------------------


def test_cjk_word_matches_inside_a_longer_run() -> None:
    assert matches("평양", content="북한은평양에서 회담을")
    assert matches("북한은", content="북한은평양에서")
    assert not matches("북평", content="북한은평양에서")
    assert matches("東京 AND 会議", title="東京で会議が開かれた")


def test_cjk_highlight_covers_the_word() -> None:
    text = "북한은평양에서 회담"
    result = compile_query("한은평양").match(Document.from_fields({"content": text}))
    assert result is not None
    assert result[0] == ("한은평양",)
    assert [text[h.start : h.end] for h in result[1]] == ["한은평양"]


# --- fields ---------------------------------------------------------------------------


def test_field_scoping() -> None:
    doc = Document.from_fields(
        {"title": "Pompeo trip", "content": "Nauert said", "author": "Sarah Kim", "tags": "korea"}
    )

    def hit(query: str) -> bool:
        return compile_query(query).match(doc) is not None

    assert hit("title:pompeo") and not hit("title:nauert")
    assert hit("content:nauert") and hit("Title:Pompeo")
    assert hit('author:"sarah kim"') and hit("tags:(korea OR japan)")
    assert not hit("kim") and not hit("korea")  # unscoped: title, summary, content only
    assert hit("title:(pompeo AND trip) AND NOT title:nauert")


def test_field_highlights_name_the_field() -> None:
    doc = Document.from_fields({"title": "Nauert", "content": "Nauert said"})
    result = compile_query("content:nauert").match(doc)
    assert result == (("nauert",), (Highlight("content", 0, 6, "nauert"),))


# --- syntax errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "column", "message"),
    [
        ("Pompeo AND (Pyongyang", 12, "unclosed '('"),
        ("title:(", 7, "unclosed '('"),
        ("bogus:term", 1, "unknown field 'bogus'"),
        ("a AND bogus:term", 7, "unknown field 'bogus'"),
        ("a) OR b", 2, "unmatched ')'"),
        ('a "b c', 3, "unclosed quote"),
        ("a AND OR b", 7, "unexpected 'OR'"),
        ("a && || b", 6, "unexpected 'OR'"),
        ("x AND", 5, "ends too early"),
        ("a /re+x/", 3, "regular expressions are not supported"),
        ("a pompeo~2", 3, "fuzzy"),
        ("date:[a TO b]", 1, "unknown field"),
        ("title:[a TO b]", 7, "range queries are not supported"),
        ("a *", 3, "wildcard needs at least one letter"),
        ("end-of-*", 1, "single word"),
        ('a ""', 3, "empty phrase"),
        ("a & b", 3, "no word to search for"),
        ("NEAR/3 a", 1, "NEAR/n needs"),
        ("a NEAR/3", 3, "NEAR/n needs"),
        ("a NEAR/3 (b OR c)", 10, "NEAR/n needs"),
        ("title:a NEAR/3 content:b", 9, "same field"),
        # a proximity written wrong would read as words: a rule that never matches
        ("Kim NEAR/x Moon", 5, "'NEAR/x': proximity takes a number of words"),
        ("Kim NEAR Moon", 5, 'Kim NEAR/5 Moon (the word itself: "near"'),
        ("Kim (ONEAR) Moon", 6, "Kim ONEAR/5 Moon"),
        ("Kim near/ Moon", 5, "'near/': proximity"),
        ("Kim NEAR/-1 Moon", 5, "'NEAR/-1'"),
        ('"Kim Moon"~x', 11, 'a phrase\'s "~" takes a number of words'),
        ('a "Kim Moon"~', 13, "takes a number of words"),
    ],
)
def test_syntax_errors_have_columns(query: str, column: int, message: str) -> None:
    error = syntax_error(query)
    assert message in str(error)
    assert error.column == column


@pytest.mark.parametrize(
    "query",
    ['"Kim NEAR Moon"', "near miss", "NEARLY", '"a ~x" b', '"Kim Moon"~3 x', "a ONEAR/3 b"]
    + ['"Kim Moon"~3^2'],  # a boost after the slop: accepted and ignored (rules.md)
)
def test_proximity_look_alikes_are_not_errors(query: str) -> None:
    compile_query(query)  # raises if the proximity check took them for operators


# --- bounds ---------------------------------------------------------------------------


def test_query_length_bound() -> None:
    assert "longer than 10000" in str(syntax_error("a " * 5001))
    compile_query("a" * 10_000)


def test_term_count_bound() -> None:
    compile_query(" OR ".join(f"w{i}" for i in range(1000)))
    error = syntax_error(" OR ".join(f"w{i}" for i in range(1001)))
    assert "more than 1000 terms" in str(error)
    assert error.column == len(" OR ".join(f"w{i}" for i in range(1000))) + 5


def test_nesting_bound() -> None:
    compile_query("(" * 50 + "a" + ")" * 50)
    error = syntax_error("(" * 51 + "a" + ")" * 51)
    assert "nested more than 50" in str(error)
    assert error.column == 51
    assert "nested" in str(syntax_error("NOT " * 60 + "a"))


def test_proximity_bounds() -> None:
    compile_query('"a b"~1000')
    assert "over 1000" in str(syntax_error('"a b"~1001'))
    assert "over 1000" in str(syntax_error("a NEAR/1001 b"))


def test_match_results_are_model_values() -> None:
    (match,) = RuleSet([("r", "alpha")]).match({"title": "Alpha"})
    assert match == Match("r", ("alpha",), (Highlight("title", 0, 5, "alpha"),))
