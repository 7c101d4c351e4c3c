"""The highlights a stored match keeps (monitor/matching.py, issue #14 point 7)."""

from __future__ import annotations

from monitor.matching import MAX_HIGHLIGHTS, MAX_MATCH_BYTES, capped, prepare
from monitor.models import FeedRef, Highlight, Item, Match
from monitor.rules.index import RuleSet
from monitor.store.codec import match_to_json


def test_a_repeated_term_keeps_twenty_highlights_and_every_term_its_first():
    spans = [Highlight("content", 10 * k, 10 * k + 5, "trade") for k in range(30_000)]
    spans.append(Highlight("content", 400_000, 400_005, "talks"))
    match = capped(Match("r", ("trade", "talks"), (Highlight("title", 0, 5, "trade"), *spans)))
    assert len(match.highlights) == MAX_HIGHLIGHTS
    assert match.highlights[0] == Highlight("title", 0, 5, "trade")
    assert Highlight("content", 400_000, 400_005, "talks") in match.highlights
    assert list(match.highlights) == sorted(
        match.highlights, key=lambda h: (h.field != "title", h.start)
    )
    assert match.terms == ("trade", "talks")


def test_the_stored_json_stays_under_the_byte_cap():
    long = "x" * 2000  # a long phrase term
    spans = tuple(Highlight("content", k, k + 1, f"{long}{k}") for k in range(20))
    match = capped(Match("r", tuple(f"{long}{k}" for k in range(20)), spans))
    assert len(match_to_json(match).encode()) <= MAX_MATCH_BYTES


def test_prepare_caps_what_the_matcher_found_and_skips_an_unchanged_item():
    rules = RuleSet([("trade", "trade")])
    item = Item(
        FeedRef("f", "http://example.com/f"),
        "1",
        "trade",
        "http://example.com/1",
        None,
        "",
        " ".join(["trade"] * 1000),
        None,
    )
    ready = prepare(rules, {"trade"}, item, None, new=True)
    assert len(ready.matches[0].highlights) == MAX_HIGHLIGHTS
    assert ready.fingerprint is not None and ready.canonical == "http://example.com/1"
    again = prepare(rules, {"trade"}, item, ready.digest, new=False)
    assert not again.changed and again.matches == ()
