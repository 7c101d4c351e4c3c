"""The presearcher never changes a result; the ASCII fast path equals the analyzer.

Results are compared as Match objects: rule, terms and every highlight.

Property tests (hypothesis, derandomized so CI is deterministic) compare
``RuleSet.match`` (presearch, then evaluate candidates) with ``RuleSet.match_every``
(evaluate every rule) on random rules and items, and the analyzed fields of the fast
path with :func:`monitor.rules.text.analyze`.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import RuleSyntaxError
from monitor.rules import Document, RuleSet, compile_query
from monitor.rules.document import FieldIndex
from monitor.rules.nodes import AndNode, Positional, TermLeaf
from monitor.rules.text import analyze

WORDS = [
    "kim", "moon", "Pompeo", "pompeo’s", "Pyŏngyang", "pyongyang", "end", "war", "of", "the",
    "declaration", "declaring", "declared", "talks", "talk", "summit", "peace", "regime",
    "U.S.", "end-of-war", "kyung-wha", "평양", "북한은", "東京", "会議", "o'brien", "2018",
    "l’OTAN", "d'Emmanuel", "OTAN", "qu'il", "il", "dell'Ucraina",
    # longer than the 16 bytes a word hash reads, same length: their hashes collide
    "counterintelligencea", "counterintelligenceb",
]  # fmt: skip
FIELDS = ["title", "summary", "content", "tags"]
SETTINGS = settings(
    max_examples=250,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _leaf() -> st.SearchStrategy[str]:
    word = st.sampled_from(WORDS)
    plain = st.sampled_from([w for w in WORDS if w.isalpha() and w.isascii()])
    return st.one_of(
        word,
        st.builds(lambda f, w: f"{f}:{w}", st.sampled_from(FIELDS), plain),
        st.builds(lambda a, b: f'"{a} {b}"', word, word),
        st.builds(lambda a, b, n: f'"{a} {b}"~{n}', word, word, st.integers(0, 4)),
        st.builds(lambda w, n: w[:n] + "*", plain, st.integers(1, 5)),
        st.builds(lambda w: "*" + w[1:3] + "*", plain),
        st.builds(lambda w, n: w[:n] + "?" + w[n + 1 :], plain, st.integers(1, 3)),
        st.builds(
            lambda a, op, n, b: f"{a} {op}/{n} {b}",
            plain,
            st.sampled_from(["NEAR", "ONEAR"]),
            st.integers(0, 3),
            plain,
        ),
    )


QUERIES = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a} AND {b})", inner, inner),
        st.builds(lambda a, b: f"({a} OR {b})", inner, inner),
        st.builds(lambda a, b: f"({a} {b})", inner, inner),
        st.builds(lambda a: f"(NOT {a})", inner),
        st.builds(lambda a, b: f"({a} -{b})", inner, inner),
    ),
    max_leaves=6,
)
TEXT = st.lists(
    st.one_of(st.sampled_from(WORDS), st.sampled_from([", ", ". ", " - ", "’s", "\n"])),
    max_size=25,
).map(" ".join)
ASCII_TEXT_ITEMS = st.fixed_dictionaries(
    {
        name: st.lists(
            st.sampled_from([w for w in WORDS if w.replace("’", "'").isascii()] + [", "]),
            max_size=25,
        ).map(" ".join)
        for name in FIELDS
    }
)
# Items all on the ASCII path half the time: that path (numpy word hashes, substring
# searches) differs most from the every-rule reference's term sets.
ITEMS = st.one_of(st.fixed_dictionaries({name: TEXT for name in FIELDS}), ASCII_TEXT_ITEMS)


def _rule_set(queries: list[tuple[str, bool]]) -> RuleSet | None:
    """A rule set over the valid queries (random ones can be invalid)."""
    specs = []
    for n, (query, stem) in enumerate(queries):
        try:
            RuleSet([("probe", query)])
        except RuleSyntaxError:
            continue
        specs.append((f"r{n}", query, stem))
    return RuleSet(specs) if specs else None


@SETTINGS
@given(
    st.lists(st.tuples(QUERIES, st.booleans()), min_size=1, max_size=8),
    st.lists(ITEMS, min_size=1, max_size=3),
)
def test_presearch_equals_evaluating_every_rule(
    queries: list[tuple[str, bool]], items: list[dict[str, str]]
) -> None:
    rules = _rule_set(queries)
    if rules is None:
        return
    for fields in items:
        assert rules.match(fields) == rules.match_every(fields)


ASCII_TEXT = st.text(
    alphabet=st.sampled_from(list("abcXYZ019 '’_-.,\n\t\u00a0\u201c\u201d\u2014s")), max_size=60
)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(ASCII_TEXT)
def test_fast_path_equals_the_analyzer(text: str) -> None:
    index = FieldIndex(text)
    tokens = analyze(text)
    assert index.terms == [t.term for t in tokens]
    assert [index.span(p) for p in range(len(tokens))] == [(t.start, t.end) for t in tokens]
    for term in index.term_set:
        assert index.positions(term) == [t.pos for t in tokens if t.term == term]


@SETTINGS
@given(
    st.lists(st.tuples(QUERIES, st.booleans()), min_size=1, max_size=12),
    ITEMS,
    st.lists(st.integers(0, 11), max_size=12),
)
def test_only_gives_the_named_rules_of_every_rule(
    queries: list[tuple[str, bool]], fields: dict[str, str], picked: list[int]
) -> None:
    rules = _rule_set(queries)
    if rules is None:
        return
    only = {f"r{n}" for n in picked}
    expected = [m for m in rules.match_every(fields) if m.rule in only]
    assert rules.match(fields, only=only) == expected
    assert rules.match(fields, only=only | set(rules.names)) == rules.match_every(fields)


@SETTINGS
@given(st.sampled_from(WORDS), st.booleans(), ITEMS)
def test_term_highlights_equal_the_positional_ones(
    word: str, stem: bool, fields: dict[str, str]
) -> None:
    """A word's highlights come from character spans; positions must give the same."""
    root = compile_query(f'"{word}"', stem=stem).root
    leaves = root.children if isinstance(root, AndNode) else (root,)
    doc = Document.from_fields(fields)
    for leaf in leaves:
        if isinstance(leaf, TermLeaf):
            assert leaf.highlights(doc) == Positional.highlights(leaf, doc)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(ASCII_TEXT, st.text(alphabet=st.sampled_from(list("abcXs'019")), min_size=1, max_size=3))
def test_fast_prefix_search_equals_the_sorted_terms(text: str, prefix: str) -> None:
    index = FieldIndex(text)
    prefix = prefix.lower()
    expected = sorted(t for t in set(t.term for t in analyze(text)) if t.startswith(prefix))
    assert index.terms_with_prefix(prefix) == expected


def test_located_hits_keep_the_analyzers_spans_and_reject_long_lookalikes() -> None:
    """The presearch's hits answer for ASCII fields: possessive spans cover the written
    word, and a word sharing a long key's first 16 bytes and length is not that key."""
    rules = RuleSet([("r", 'pompeo AND "end of war" AND counterintelligencea')])
    fields = {
        "title": "Pompeo’s end-of-war push",
        "content": "Counterintelligenceb files, then counterintelligencea. POMPEO's aide.",
    }
    (match,) = rules.match(fields)
    assert [match] == rules.match_every(fields)
    spans = {(h.field, fields[h.field][h.start : h.end]) for h in match.highlights}
    assert spans == {
        ("title", "Pompeo’s"),
        ("title", "end-of-war"),
        ("content", "counterintelligencea"),
        ("content", "POMPEO's"),
    }
    assert rules.match({"content": "Pompeo, end of war, counterintelligenceb"}) == []


def test_a_term_confirmed_in_one_field_does_not_hold_in_another() -> None:
    """The presearch finds ``kim`` in the item; ``title:kim`` still needs the title."""
    rules = RuleSet([("title", "title:kim"), ("any", "kim AND moon")])
    fields = {"title": "Moon", "summary": "", "content": "Kim met him."}
    assert [m.rule for m in rules.match(fields)] == ["any"]
    assert rules.match(fields) == rules.match_every(fields)
