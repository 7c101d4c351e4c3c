"""monitor.memo: answers remembered for short texts only, refusals never."""

from __future__ import annotations

import pytest

from monitor.memo import remember_short


def test_short_texts_are_remembered_long_ones_and_refusals_are_not():
    calls: list[str] = []

    @remember_short(maxsize=2, longest=8)
    def shout(text: str) -> str:
        calls.append(text)
        if text == "bad":
            raise ValueError(text)
        return text.upper()

    assert [shout("a"), shout("a"), shout("b")] == ["A", "A", "B"]
    assert calls == ["a", "b"]  # "a" answered once
    long = "x" * 9
    assert [shout(long), shout(long)] == [long.upper()] * 2
    assert calls.count(long) == 2  # longer than 8: worked out each time, never kept
    for _ in range(2):
        with pytest.raises(ValueError):
            shout("bad")
    assert calls.count("bad") == 2
    assert shout.cache_info().currsize == 2  # "a", "b": at most maxsize


def test_feedparsers_uri_joins_are_remembered_for_short_texts_only():
    """ingest/feedsetup.py keeps feedparser's base-URL joins (an element's base and its
    xml:base) the same way: a long relative link is joined each time, never kept."""
    from monitor.ingest.feedshortcuts import _remembered

    calls: list[str] = []

    def join(base: str, rel: str | None = None) -> str:
        calls.append(rel or "")
        return base + (rel or "")

    remembered = _remembered(join)
    long = "x" * 600
    for _ in range(2):
        assert remembered("http://a.example/", "b") == "http://a.example/b"
        assert remembered("http://a.example/", long) == "http://a.example/" + long
    assert calls == ["b", long, long]


def test_a_highlights_long_text_is_checked_but_not_kept():
    """notify/highlights.py remembers (text, term) answers for short texts only: a
    highlight's text comes from a feed (a matched ``pompeo*`` word may be 100 KB)."""
    from monitor.notify import highlights

    highlights._marks.cache_clear()
    long = "pompeo" + "x" * 100_000
    assert highlights.marks_term(long, "pompeo*") and highlights.marks_term("Pompeo", "pompeo")
    assert not highlights.marks_term(long, "pyongyang")
    assert highlights._marks.cache_info().currsize == 1  # the short one alone
