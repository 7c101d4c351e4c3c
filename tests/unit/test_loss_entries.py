"""One bad entry costs that entry, never its feed (issue #14, point 3), in every format.

Each document holds three entries, the second poisoned: ``<gml:pos>`` outside
``<georss:where>`` makes feedparser 6 raise KeyError on the whole document (RSS
0.91/0.92/2.0, RSS 1.0, Atom 0.3/1.0); in JSON Feed 1.0/1.1, ``"tags": true``, an
integer too long for ``int()``, a lone surrogate (valid JSON, not storable text), an
overflowing date. The good entries come out, the bad one is listed in ``skipped``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from monitor.ingest.normalize import normalize_entries, normalize_feed
from monitor.ingest.parse import ParsedFeed, parse_feed
from monitor.models import FeedRef
from monitor.store.itemcodec import item_to_json

URL = "http://127.0.0.1:1/feeds/f.xml"
NOW = datetime(2024, 2, 29, 12, 0, tzinfo=UTC)
FEED = FeedRef("f", URL)
GML = '<gml:pos xmlns:gml="http://www.opengis.net/gml">48.2 16.4</gml:pos>'


def _rss(version: str) -> str:
    items = "".join(
        f"<item><title>{t} report</title><link>https://e.org/{n}</link>{{{n}}}</item>"
        for n, t in enumerate(("one", "two", "three"))
    )
    return f'<rss version="{version}"><channel><title>t</title>{items}</channel></rss>'


RDF = (
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://e.org/"><title>t</title>'
    "</channel>"
    + "".join(
        f'<item rdf:about="https://e.org/{n}"><title>{t} report</title>'
        f"<link>https://e.org/{n}</link>{{{n}}}</item>"
        for n, t in enumerate(("one", "two", "three"))
    )
    + "</rdf:RDF>"
)


def _atom(root: str) -> str:
    entries = "".join(
        f"<entry><title>{t} report</title><id>urn:e:{n}</id>"
        f'<link rel="alternate" href="https://e.org/{n}"/>{{{n}}}</entry>'
        for n, t in enumerate(("one", "two", "three"))
    )
    return f"<feed {root}><title>t</title>{entries}</feed>"


XML_FORMATS = {
    "rss-0.91": _rss("0.91"),
    "rss-0.92": _rss("0.92"),
    "rss-2.0": _rss("2.0"),
    "rss-1.0": RDF,
    "atom-0.3": _atom('version="0.3" xmlns="http://purl.org/atom/ns#"'),
    "atom-1.0": _atom('xmlns="http://www.w3.org/2005/Atom"'),
}


@pytest.mark.parametrize("name", sorted(XML_FORMATS))
def test_an_entry_feedparser_raises_on_is_skipped_alone(name: str) -> None:
    body = XML_FORMATS[name].format("", GML, "").encode()
    parsed = parse_feed(body, URL, None)
    items, skipped = normalize_entries(parsed, FEED, NOW)
    assert [i.title for i in items] == ["one report", "three report"]
    assert [(n, reason) for n, reason in parsed.skipped] == [(2, "KeyError: 'where'")]
    assert skipped == [] and parsed.title == "t"


def test_a_document_whose_entries_cannot_be_told_apart_still_fails_whole() -> None:
    """Nested entries: no guess at where one ends; the parser's failure stands."""
    body = XML_FORMATS["rss-2.0"].format("<item>", GML, "").encode()
    with pytest.raises(Exception, match="feed parser failed: KeyError"):
        parse_feed(body, URL, None)


JSON_POISONS = {
    "tags-true": {"tags": True},
    "id-too-long-for-int": {"id": "<BIG>", "title": "x"},
    "tag-too-long-for-int": {"tags": ["<BIG>"]},
    "lone-surrogate": {"title": "\ud800 two report", "url": "https://e.org/\udfff"},
    "date-overflows": {"date_published": "9999-12-31T23:59:59-01:00"},
    "title-object": {"title": {"text": "two"}},
    "url-number": {"url": 5},
    "authors-string": {"authors": "someone"},
    "attachments-dict": {"attachments": {"url": "https://e.org/a.mp3"}},
    "id-true": {"id": True},
}


def _json_feed(version: str, poison: dict) -> bytes:
    items = [{"id": str(n), "title": f"{t} report"} for n, t in enumerate(("one", "two", "three"))]
    items[1].update(poison)
    doc = {"version": f"https://jsonfeed.org/version/{version}", "title": "t", "items": items}
    text = json.dumps(doc)  # a lone surrogate is written as the escape \ud800
    return text.replace('"<BIG>"', "1" + "0" * 5000).encode()  # past int()'s 4,300 digits


@pytest.mark.parametrize("version", ["1", "1.1"])
@pytest.mark.parametrize("poison", sorted(JSON_POISONS))
def test_a_bad_json_feed_item_costs_only_itself(version: str, poison: str) -> None:
    """Each good item comes out; the bad one is skipped with its position or read as
    far as it is readable; whatever comes out can be stored as UTF-8."""
    parsed = parse_feed(_json_feed(version, JSON_POISONS[poison]), URL, "application/feed+json")
    items = normalize_feed(parsed, FEED, NOW)
    titles = [i.title for i in items]
    assert titles[0] == "one report" and titles[-1] == "three report"
    assert len(items) + len(parsed.skipped) == 3
    assert all(n == 2 for n, _ in parsed.skipped)
    for item in items:
        item_to_json(item).encode("utf-8")  # a lone surrogate cannot reach SQLite


def test_json_feed_values_that_are_no_identity_are_none() -> None:
    """``"id": true`` and a too-long integer are not identifiers (the text hash is)."""
    for poison in ("id-true", "id-too-long-for-int"):
        body = _json_feed("1.1", JSON_POISONS[poison])
        items = normalize_feed(parse_feed(body, URL, "application/feed+json"), FEED, NOW)
        assert items[1].id.startswith("sha256:"), poison


def test_an_entry_that_cannot_be_normalized_is_skipped_alone() -> None:
    """Entries shaped wrong for normalization (a title that is not a (text, kind)
    pair) are skipped with their position; the rest become Items."""
    good = {"id": "1", "title": ("one report", "text"), "summary": ("", "text")}
    bad = {"id": "2", "title": None, "summary": ("", "text"), "position": 2}
    last = {"id": "3", "title": ("three report", "text"), "summary": ("", "text")}
    parsed = ParsedFeed("t", None, [good, bad, last], base_url=URL)
    items, skipped = normalize_entries(parsed, FEED, NOW)
    assert [i.id for i in items] == ["1", "3"]
    assert [n for n, _ in skipped] == [2] and "TypeError" in skipped[0][1]
