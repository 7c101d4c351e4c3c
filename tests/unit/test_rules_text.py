"""The analyzer: folding, splitting, possessives, CJK bigrams, offsets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.rules.text import Token, analyze, normalize_term, words


def terms(text: str) -> list[str]:
    return [t.term for t in analyze(text)]


def test_case_and_nfkc_folding() -> None:
    assert terms("POMPEO Straße ﬁnance ＡＢＣ") == ["pompeo", "strasse", "finance", "abc"]


@pytest.mark.parametrize("text", ["Pyŏngyang", "Pyo\u0306ngyang", "PYŎNGYANG", "pyongyang"])
def test_accents_are_folded(text: str) -> None:
    assert terms(text) == ["pyongyang"]


def test_letters_without_decomposition_are_folded() -> None:
    assert terms("Søren Łódź") == ["soren", "lodz"]


@pytest.mark.parametrize("text", ["Pompeo's", "Pompeo’s", "POMPEO’S"])
def test_possessives_are_removed_with_both_apostrophes(text: str) -> None:
    assert terms(text) == ["pompeo"]


def test_inner_apostrophes_stay_and_trailing_ones_go() -> None:
    assert terms("O’Brien didn't see the Koreans’ trip") == [
        "o'brien",
        "didn't",
        "see",
        "the",
        "koreans",
        "trip",
    ]


def test_french_and_italian_elided_articles_are_dropped_with_their_span() -> None:
    text = "Le soutien de l’OTAN à L'Ukraine, dell'Ucraina, qu'il; O'Brien, rock'n'roll"
    tokens = analyze(text)
    assert [t.term for t in tokens] == [
        "le", "soutien", "de", "otan", "a", "ukraine", "ucraina", "il", "o'brien", "rock'n'roll"
    ]  # fmt: skip
    assert [text[t.start : t.end] for t in tokens][3:8] == [
        "OTAN", "à", "Ukraine", "Ucraina", "il"
    ]  # fmt: skip


def test_hyphens_and_punctuation_split_words() -> None:
    assert terms("end-of-war, Kang Kyung-wha; 1950-53 (U.S.)") == [
        "end",
        "of",
        "war",
        "kang",
        "kyung",
        "wha",
        "1950",
        "53",
        "u",
        "s",
    ]


def test_positions_are_consecutive() -> None:
    tokens = analyze("a-b c 북한은 d")
    assert [t.pos for t in tokens] == list(range(len(tokens)))


def test_cjk_runs_become_overlapping_bigrams() -> None:
    assert terms("북한은평양에서") == ["북한", "한은", "은평", "평양", "양에", "에서"]
    assert terms("東京") == ["東京"]
    assert terms("平") == ["平"]
    assert terms("ひらがな") == ["ひら", "らが", "がな"]


def test_cjk_and_latin_in_one_word_are_separated() -> None:
    assert terms("Samsung삼성전자 2018년") == ["samsung", "삼성", "성전", "전자", "2018", "년"]


def test_marks_of_other_scripts_stay_in_the_word() -> None:
    assert terms("हिन्दी समाचार") == ["हिन्दी", "समाचार"]


def test_japanese_voicing_marks_are_not_accents() -> None:
    assert terms("がっこう") == ["がっ", "っこ", "こう"]


def test_offsets_slice_the_original_text() -> None:
    text = "  Pompeo’s ﬁnal trip to Pyŏngyang, 북한은평양에서 (Kyung-wha)"
    for token in analyze(text):
        assert normalize_term(text[token.start : token.end]).replace(" ", "") == token.term


def test_offsets_of_a_possessive_cover_the_written_word() -> None:
    text = "along with Pompeo’s possible trip"
    token = analyze(text)[2]
    assert token == Token("pompeo", 11, 19, 2)
    assert text[token.start : token.end] == "Pompeo’s"


def test_offsets_survive_length_changing_normalization() -> None:
    text = "ﬁ ＡＢＣ Pyo\u0306ngyang end"
    tokens = analyze(text)
    assert [text[t.start : t.end] for t in tokens] == ["ﬁ", "ＡＢＣ", "Pyo\u0306ngyang", "end"]


def test_cjk_bigram_offsets() -> None:
    text = "북한은평양에서"
    spans = [text[t.start : t.end] for t in analyze(text)]
    assert spans == ["북한", "한은", "은평", "평양", "양에", "에서"]


def test_punctuation_only_text_has_no_tokens() -> None:
    assert analyze(" -- ... “” ") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pompeo’s", "pompeo"),
        ("Pyŏngyang", "pyongyang"),
        ("end-of-war", "end of war"),
        ("  Kang   Kyung-wha ", "kang kyung wha"),
        ("북한은", "북한은"),
    ],
)
def test_normalize_term(text: str, expected: str) -> None:
    assert normalize_term(text) == expected


@given(st.text(alphabet="abcXYZ019 ", max_size=30))
def test_plain_text_shortcut_gives_what_the_word_walk_gives(text: str) -> None:
    """Letters, digits and spaces skip the regex walk; the result must not change."""
    walked = [Token(w.text, w.start, w.end, i) for i, w in enumerate(words(text))]
    assert analyze(text) == walked
    assert normalize_term(text) == " ".join(t.term for t in walked)


def test_the_analyzer_remembers_short_words_only():
    """A feed's words are anyone's: the fold caches keep words of at most
    WORD_CACHE_CHARS characters, so 65,536 distinct 100 KB words are never kept."""
    from monitor.rules import text

    long_word = "x" * text.WORD_CACHE_CHARS + "ünïque"
    assert [w.text for w in text.words(f"Pyongyang {long_word}")] == [
        "pyongyang",
        "x" * text.WORD_CACHE_CHARS + "unique",
    ]
    for cached, word in ((text._fold_word, long_word), (text.fold, long_word)):
        hits = cached.cache_info().hits
        assert cached(word) == cached(word)  # worked out each time, alike
        assert cached.cache_info().hits == hits
    short = text.fold.cache_info().hits
    text.fold("Pyongyang")
    text.fold("Pyongyang")
    assert text.fold.cache_info().hits > short
