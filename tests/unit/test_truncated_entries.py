"""A document cut off anywhere yields only whole entries (monitor/ingest/partial.py).

feedparser's loose parser returns the entry the text ends inside, with what it read
before the cut; that entry is skipped, so every entry read from a cut document is
exactly that entry of the whole document.
"""

from __future__ import annotations

import pytest

from monitor.errors import ParseError
from monitor.ingest.parse import parse_feed
from monitor.ingest.partial import CUT_REASON, degrades, ends_inside_entry
from monitor.models import FeedRef, Item
from tests.conftest import DATA, seed_feed

URL = "http://127.0.0.1:1/feed.xml"
FIELDS = ("id", "link", "title", "summary", "content")


def whole_entries(body: bytes) -> dict:
    return {e["id"]: e for e in parse_feed(body, URL).entries}


@pytest.mark.parametrize(
    "body",
    [
        seed_feed("feed-full.xml", "http://127.0.0.1:1"),
        (DATA / "realworld" / "feeds" / "text-title-with-tag.xml").read_bytes(),  # Atom
    ],
    ids=["rss", "atom"],
)
def test_every_cut_of_a_document_reads_only_whole_entries(body):
    whole = whole_entries(body)
    assert len(whole) >= 1
    for end in range(0, len(body), 7):
        try:
            cut = parse_feed(body[:end], URL)
        except ParseError:  # too little left to be a feed
            continue
        for entry in cut.entries:
            assert entry["id"] in whole, (end, entry)
            assert all(entry[f] == whole[entry["id"]][f] for f in FIELDS), (end, entry)
        assert cut.found == len(cut.entries) + len(cut.skipped)


def test_the_entry_a_document_ends_inside_is_skipped_and_counted():
    body = seed_feed("feed-full.xml", "http://127.0.0.1:1")
    last = body.rindex(b"</item>")
    cut = parse_feed(body[: last - 10], URL)
    assert cut.loose and cut.skipped[-1] == (cut.found, CUT_REASON)
    assert cut.warning and "SAXParseException" in cut.warning
    closed = parse_feed(body[: last + len(b"</item>")], URL)  # cut after an entry: all read
    assert closed.loose and not closed.skipped and len(closed.entries) == closed.found


def test_a_well_formed_document_is_never_cut():
    body = seed_feed("feed-full.xml", "http://127.0.0.1:1")
    parsed = parse_feed(body, URL)
    assert not parsed.loose and not parsed.skipped and parsed.found == len(parsed.entries)


def test_ends_inside_entry():
    assert ends_inside_entry("<rss><item><title>a</title></item><item><title>b")
    assert ends_inside_entry("<feed><atom:entry><id>1</id></atom:entry><atom:entry>")
    assert not ends_inside_entry("<rss><item><title>a</title></item><ite")
    assert not ends_inside_entry("<rss><item/><channel>")
    assert not ends_inside_entry("<rss><channel><title>no entries")


def test_degrades_names_the_fields_an_edit_empties():
    feed = FeedRef("f", URL)
    stored = Item(feed, "a", "Title", link="http://x/a", summary="text", content="body")
    assert degrades(Item(feed, "a", "Title", link="http://x/a"), stored, True) == [
        "summary",
        "content",
    ]
    assert degrades(Item(feed, "a", "Title", link="http://x/a"), stored, False) == []
    assert degrades(Item(feed, "a", "", summary="shorter"), stored, False) == ["title", "link"]
    edited = Item(feed, "a", "New title", link="http://x/b", summary="t", content="b")
    assert degrades(edited, stored, True) == []


def test_a_fulltext_items_article_text_is_not_compared_with_the_feed() -> None:
    feed = FeedRef("f", URL)
    stored = Item(feed, "a", "Title", link="http://x/a", summary="text", content="article")
    from_feed = Item(feed, "a", "Title", link="http://x/a", summary="text")
    assert degrades(from_feed, stored, True) == ["content"]
    assert degrades(from_feed, stored, True, fulltext=True) == []
