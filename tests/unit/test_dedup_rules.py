"""The folding rule (docs/dedup.md) and how a folded story is shown (issue #13, 3-5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.dedup import FingerprintIndex, StoryFinder
from monitor.dedup.folding import FeedMate, listed_keys, may_join, title_key
from monitor.dedup.story import Member, anchor, compose, duplicates
from monitor.models import Digest, FeedRef, Highlight, Item, Match, Story
from monitor.notify.render import Renderer
from monitor.notify.views import marks_term, story_view

NOW = datetime(2026, 11, 27, tzinfo=UTC)
WIRE, SITE = (
    FeedRef("Wire", "https://wire.example/rss"),
    FeedRef("Site", "https://site.example/rss"),
)


def item(feed: FeedRef, guid: str, title: str, summary: str = "") -> Item:
    return Item(feed=feed, id=guid, title=title, guid=guid, summary=summary)


def match(rule: str, text: str, field: str, *words: str) -> Match:
    """A match of ``words`` at their first place in ``text`` (as the rules engine makes)."""
    spans = tuple(Highlight(field, text.index(w), text.index(w) + len(w), w.lower()) for w in words)
    return Match(rule, tuple(w.lower() for w in words), spans)


# --- may_join: what each signal proves ---------------------------------------------


def test_another_feeds_copy_joins_whatever_its_title():
    assert may_join("Pompeo may return to Pyongyang, sources say", [], {"wire-1"})


def test_an_entry_listed_beside_the_story_is_a_different_item():
    mates = [FeedMate("ADV-1001", "Same title")]
    assert not may_join("Same title", mates, {"ADV-1001", "ADV-1002"})


def test_a_shared_link_or_body_with_another_title_is_not_a_copy():
    mates = [FeedMate("ADV-1001", "ADV-1001: Printer firmware")]
    assert not may_join("ADV-1002: Storage array controller", mates, {"ADV-1002"})


def test_a_reissued_entry_with_the_same_title_joins():
    mates = [FeedMate("tag:0", "Pompeo, Pyongyang - Outlet")]
    assert may_join("pompeo  pyongyang — outlet", mates, {"tag:1"})
    assert title_key("Pompeo, Pyongyang - Outlet") == "pompeo pyongyang outlet"


def test_an_empty_title_proves_nothing():
    assert not may_join("", [FeedMate("a", "")], {"b"})


def test_listed_keys_know_link_ids_by_their_canonical_form():
    keys = listed_keys(["g-1"], ["https://WWW.example.com/a/?utm_source=rss", "g-2"])
    assert {"g-1", "g-2", "http://example.com/a"} <= keys


# --- candidates: every near story, closest first -------------------------------------


def test_near_lists_every_story_within_reach_closest_first():
    index, now = FingerprintIndex(3), NOW.timestamp()
    index.add(0b1111, 1, now)  # 4 bits from 0: out of reach
    index.add(0b0111, 2, now)
    index.add(0b0001, 3, now)
    index.add(0b0011, 3, now)
    assert [(m.story_id, m.distance) for m in index.near(0)] == [(3, 1), (2, 3)]
    finder = StoryFinder(index, timedelta(days=3))
    finder.remember(0b0010, 4, NOW)  # this poll's: visible before commit
    assert [m.story_id for m in finder.near(0, NOW)] == [3, 4, 2]
    assert finder.near(None, NOW) == []


# --- compose: the shown item, its highlights, every other item listed ----------------


def test_a_story_matched_only_through_its_copy_shows_the_copy():
    lead = item(SITE, "lead", "Diplomats are talking about a visit")
    copy = item(WIRE, "copy", "Pompeo may fly to Pyongyang")
    found = match("pp", copy.title, "title", "Pompeo", "Pyongyang")
    story = compose(7, [Member(lead, {}), Member(copy, {"pp": found})], ["pp"])
    assert story.item is copy and story.matches == (found,)
    assert [d.guid for d in story.duplicates] == ["lead"]  # the lead stays listed
    assert story.id == "s7-lead"  # named after the lead: the same on every retry


def test_a_copys_highlights_move_to_the_same_words_of_the_shown_item():
    lead = item(SITE, "lead", "Talks: a new POMPEO visit to Pyongyang?")
    copy = item(WIRE, "copy", "Pompeo may fly to Pyongyang")
    moved = anchor(match("pp", copy.title, "title", "Pompeo", "Pyongyang"), copy, lead)
    assert [lead.title[h.start : h.end] for h in moved.highlights] == ["POMPEO", "Pyongyang"]
    nowhere = item(SITE, "x", "Pompeos and Pyongyangers")  # only inside other words
    assert anchor(moved, lead, nowhere).highlights == ()


def test_nothing_folded_is_hidden_but_reissued_copies_are_one_entry():
    shown = item(WIRE, "w-1", "Pompeo in Pyongyang")
    others = [
        item(WIRE, "w-2", "Pompeo in Pyongyang!"),  # re-issued under a new guid: same entry
        item(SITE, "s-1", "Pompeo returns"),
        item(SITE, "s-2", "Pompeo returns to Pyongyang"),  # same feed, another title
        item(SITE, "s-3", "pompeo RETURNS"),
        item(SITE, "u-1", ""),
        item(SITE, "u-2", ""),  # untitled: told apart by id
    ]
    assert [d.guid for d in duplicates(shown, others)] == ["s-1", "s-2", "u-1", "u-2"]


# --- views: a highlight is rendered only where it marks its term --------------------


@pytest.mark.parametrize(
    "shown,term",
    [
        ("Pompeo", "pompeo"),
        ("Pompeo’s", "pompeo"),
        ("Pyŏngyang", "pyongyang"),
        ("end-of-war declaration", "end of war declaration"),
        ("denuclearization", "denucleari*"),
        ("team", "te?m"),
        ("declaring", "declaration"),  # a stemmed rule
        ("평양", "평양"),
        ("북한", "북한은"),  # a bigram of a CJK word
    ],
)
def test_marks_term_accepts_what_the_rule_matched(shown, term):
    assert marks_term(shown, term)


@pytest.mark.parametrize(
    "shown,term", [("talking a", "pyongyang"), ("Diplom", "pompeo"), ("", "pompeo")]
)
def test_marks_term_rejects_other_words(shown, term):
    assert not marks_term(shown, term)


def test_highlights_made_on_another_text_are_never_rendered():
    """The bug of issue #13 point 4: the lead's title with the copy's offsets."""
    lead = item(SITE, "lead", "Diplomats are talking about a visit", "Talks went on.")
    copy_title = "Pompeo may fly to Pyongyang"
    stale = match("pp", copy_title, "title", "Pompeo", "Pyongyang")
    story = Story("s1-lead", lead, (stale,))
    view = story_view(story)
    assert not any(s["match"] for s in view["title_segments"] + view["snippet_segments"])
    html = Renderer().html(Digest("d", "mail", NOW, (story,)))
    assert "<mark" not in html
