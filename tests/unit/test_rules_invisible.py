"""Invisible characters (Default_Ignorable_Code_Point) never split a word, never form one.

Soft hyphens (``&shy;``), word joiners, zero-width spaces and the other characters
Unicode's DerivedCoreProperties.txt lists as Default_Ignorable_Code_Point are removed
before analysis; highlights still cover the word as written, invisible characters
included. Checked through the public matcher, on the analyzer with random text
(hypothesis), and as agreement between the ASCII fast path, the full analyzer, the
presearch and evaluating every rule.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.rules import RuleSet, analyze, normalize_term
from monitor.rules.document import FieldIndex
from monitor.rules.invisible import INVISIBLE_RANGES

SHY, WJ, ZWSP = "\u00ad", "\u2060", "\u200b"
INSERTED = (SHY, WJ, ZWSP)
# One or more of each kind: Cf, Mn (variation selector, CGJ), Lo (Hangul filler), tags.
SAMPLES = [
    "\u00ad", "\u034f", "\u061c", "\u115f", "\u1160", "\u17b4", "\u180b", "\u180e", "\u180f",
    "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202e", "\u2060", "\u2064",
    "\u2066", "\u2069", "\u206f", "\u3164", "\ufe00", "\ufe0f", "\ufeff", "\uffa0", "\ufff0",
    "\U0001bca0", "\U0001d173", "\U000e0001", "\U000e0041", "\U000e0100", "\U000e0fff",
]  # fmt: skip
SETTINGS = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def visible(text: str) -> str:
    """``text`` without the characters the tests insert (and the samples)."""
    return "".join(c for c in text if c not in INSERTED and c not in SAMPLES)


def item(title: str) -> dict[str, str]:
    return {"title": title, "summary": "", "content": ""}


TITLE = f"Stadt legt Ge{SHY}samt{SHY}kon{SHY}zept vor"


def test_a_soft_hyphenated_word_matches_the_whole_word_and_highlights_it_as_written() -> None:
    rules = RuleSet([("r", "Gesamtkonzept")])
    (match,) = rules.match(item(TITLE))
    assert match.terms == ("gesamtkonzept",)
    (highlight,) = match.highlights
    assert TITLE[highlight.start : highlight.end] == f"Ge{SHY}samt{SHY}kon{SHY}zept"
    assert rules.match_every(item(TITLE)) == [match]


def test_a_piece_of_a_soft_hyphenated_word_does_not_match() -> None:
    rules = RuleSet([("r", "samt"), ("k", "kon"), ("z", "zept")])
    assert rules.match(item(TITLE)) == []
    assert rules.match_every(item(TITLE)) == []


def test_a_no_break_space_still_separates_the_words_of_a_phrase() -> None:
    title = "Talks on a peace\u00a0regime resume"
    (match,) = RuleSet([("r", '"peace regime"')]).match(item(title))
    assert [title[h.start : h.end] for h in match.highlights] == ["peace\u00a0regime"]


@pytest.mark.parametrize(
    "query", [f"Ge{SHY}samt{SHY}konzept", f'"Gesamt{ZWSP}konzept vor"', f"Ge{WJ}samt*"]
)
def test_a_rule_written_with_invisible_characters_matches_the_word_without(query: str) -> None:
    rules = RuleSet([("r", query)])
    (match,) = rules.match(item("Stadt legt Gesamtkonzept vor"))
    assert visible("".join(match.terms)) == "".join(match.terms)  # terms show none
    assert len(rules.match(item(TITLE))) == 1


def test_the_ranges_are_unicodes_default_ignorable_code_points() -> None:
    """DerivedCoreProperties.txt lists 4,174 of them (Unicode 14, Python 3.11's)."""
    assert sum(hi - lo + 1 for lo, hi in INVISIBLE_RANGES) == 4174
    assert all(any(lo <= ord(c) <= hi for lo, hi in INVISIBLE_RANGES) for c in SAMPLES)
    assert not any(lo <= 0xA0 <= hi for lo, hi in INVISIBLE_RANGES)  # no-break space


@pytest.mark.parametrize("char", SAMPLES)
def test_every_kind_of_invisible_character_joins_the_word(char: str) -> None:
    for text in (f"Gesamt{char}konzept", f"Pyŏng{char}yang", f"평{char}양"):
        tokens = analyze(text)
        assert [t.term for t in tokens] == [normalize_term(visible(text)).replace(" ", "")]
        assert (tokens[0].start, tokens[-1].end) == (0, len(text))
        index = FieldIndex(text)
        assert index.terms == [t.term for t in tokens]
        assert [index.span(p) for p in range(len(tokens))] == [(t.start, t.end) for t in tokens]


def test_ascii_text_with_invisible_characters_stays_on_the_fast_path() -> None:
    text = f"{WJ}Pompeo{SHY}’s Ge{SHY}samt{ZWSP}kon{SHY}zept, end-of{SHY}-war{SHY} talks{ZWSP}"
    index = FieldIndex(text)
    assert index.padded is not None  # the ASCII fast path, not the regex walk
    tokens = analyze(text)
    assert index.terms == [t.term for t in tokens] == [
        "pompeo", "gesamtkonzept", "end", "of", "war", "talks"
    ]  # fmt: skip
    spans = [text[t.start : t.end] for t in tokens]
    assert spans == [
        f"Pompeo{SHY}’s",
        f"Ge{SHY}samt{ZWSP}kon{SHY}zept",
        "end",
        "of",
        "war",
        "talks",
    ]
    assert [index.span(p) for p in range(len(tokens))] == [(t.start, t.end) for t in tokens]
    assert index.char_spans("gesamtkonzept") == [(tokens[1].start, tokens[1].end)]


def test_invisible_characters_alone_form_no_word_and_a_space_still_separates() -> None:
    assert analyze(f"{SHY} {ZWSP}{WJ} \ufeff \u3164") == []
    assert [t.term for t in analyze(f"peace {ZWSP}regime{ZWSP} talks")] == [
        "peace",
        "regime",
        "talks",
    ]
    assert [t.term for t in analyze(f"北朝鮮 {ZWSP}平壌")] == ["北朝", "朝鮮", "平壌"]


# Written words: ASCII, accented Latin, CJK, and words the analyzer splits or folds.
WORD = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=10),
    st.text(alphabet="aeoinstrÄäöüßéèçñøłŏ", min_size=1, max_size=10),
    st.text(alphabet="북한은평양에서東京会議ひらがなカタカナ", min_size=1, max_size=6),
    st.sampled_from(
        [
            "Pyo\u0306ngyang", "o'brien", "Pompeo’s", "Pompeo's", "end-of-war", "U.S.",
            "Samsung삼성전자", "ﬁnance", "ＡＢＣ", "Straße", "हिन्दी", "2018년", "don't",
        ]
    ),
)  # fmt: skip
SEPARATOR = st.sampled_from([" ", ", ", " - ", "\u00a0", "\n", " “", "” ", ". "])


@st.composite
def written_word(draw: st.DrawFn, word: st.SearchStrategy[str] = WORD) -> tuple[str, str]:
    """A word, and the same word with invisible characters strictly inside it."""
    text = draw(word)
    if len(text) < 2:
        return text, text
    cuts = draw(st.lists(st.integers(1, len(text) - 1), max_size=4))
    out = text
    for cut in sorted(cuts, reverse=True):
        out = out[:cut] + draw(st.sampled_from(INSERTED)) + out[cut:]
    return text, out


@st.composite
def texts(draw: st.DrawFn, word: st.SearchStrategy[str] = WORD) -> tuple[str, str]:
    """A text and the same text with invisible characters inserted inside its words."""
    pairs = draw(st.lists(written_word(word), max_size=12))
    seps = [draw(SEPARATOR) for _ in pairs]
    original = "".join(w + s for (w, _), s in zip(pairs, seps, strict=True))
    inserted = "".join(w + s for (_, w), s in zip(pairs, seps, strict=True))
    return original, inserted


@SETTINGS
@given(texts())
def test_inserted_invisible_characters_change_no_term_and_highlights_cover_the_word(
    pair: tuple[str, str],
) -> None:
    original, inserted = pair
    before, after = analyze(original), analyze(inserted)
    assert [t.term for t in after] == [t.term for t in before]
    assert [t.pos for t in after] == [t.pos for t in before]
    for old, new in zip(before, after, strict=True):
        assert visible(inserted[new.start : new.end]) == original[old.start : old.end]


ASCII_WORD = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=10),
    st.sampled_from(["o'brien", "Pompeo’s", "Pompeo's", "end-of-war", "U.S.", "don't"]),
)


@SETTINGS
@given(st.one_of(texts(ASCII_WORD), texts()))
def test_fast_path_and_analyzer_agree_on_text_with_invisible_characters(
    pair: tuple[str, str],
) -> None:
    """The ASCII fast path (taken when only invisible characters and common punctuation
    are not ASCII) gives the analyzer's terms, positions and written spans."""
    text = pair[1]
    index = FieldIndex(text)
    tokens = analyze(text)
    assert index.terms == [t.term for t in tokens] == FieldIndex(pair[0]).terms
    assert [index.span(p) for p in range(len(tokens))] == [(t.start, t.end) for t in tokens]
    for term in index.term_set:
        assert index.positions(term) == [t.pos for t in tokens if t.term == term]
        spans = [(t.start, t.end) for t in tokens if t.term == term]
        assert index.char_spans(term) == spans
        assert index.terms_with_prefix(term[:2]) == sorted(
            {t.term for t in tokens if t.term.startswith(term[:2])}
        )


RULE_WORDS = ["Gesamtkonzept", "peace", "regime", "Pompeo", "Pyŏngyang", "kim", "평양", "summit"]


@st.composite
def rule(draw: st.DrawFn) -> str:
    """A rule over RULE_WORDS, its words sometimes written with invisible characters."""
    a, b = (draw(written_word(st.sampled_from(RULE_WORDS)))[1] for _ in range(2))
    shape = draw(st.integers(0, 6))
    return [
        a,
        f'"{a} {b}"',
        f"{a[:4]}*",
        f"{a} NEAR/2 {b}",
        f"{a} AND NOT {b}",
        f"{a} OR {b}",
        f'"{a} {b}"~2',
    ][shape]


ITEM_TEXT = texts(st.sampled_from([*RULE_WORDS, "talks", "end-of-war", "Pompeo’s", "북한은"]))


@SETTINGS
@given(st.lists(rule(), min_size=1, max_size=6), st.lists(ITEM_TEXT, min_size=3, max_size=3))
def test_presearch_every_rule_and_the_written_text_agree(
    queries: list[str], fields: list[tuple[str, str]]
) -> None:
    """Matching text with invisible characters inserted equals matching it without
    (rules written with or without them), highlights mapped to the written text; the
    presearch gives what evaluating every rule gives."""
    names = ["title", "summary", "content"]
    original = {name: pair[0] for name, pair in zip(names, fields, strict=True)}
    inserted = {name: pair[1] for name, pair in zip(names, fields, strict=True)}
    rules = RuleSet([(f"r{n}", q) for n, q in enumerate(queries)])
    plain = RuleSet([(f"r{n}", visible(q)) for n, q in enumerate(queries)])
    found = rules.match(inserted)
    assert found == rules.match_every(inserted)
    expected = plain.match(original)
    assert [(m.rule, m.terms) for m in found] == [(m.rule, m.terms) for m in expected]
    for new, old in zip(found, expected, strict=True):
        written = [
            (h.field, visible(inserted[h.field][h.start : h.end]), h.term) for h in new.highlights
        ]
        assert written == [
            (h.field, original[h.field][h.start : h.end], h.term) for h in old.highlights
        ]
