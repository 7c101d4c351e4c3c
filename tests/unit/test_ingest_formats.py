"""Feed formats: RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed 1.1; encodings; relative links."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.ingest.normalize import normalize_feed
from monitor.ingest.parse import parse_feed
from monitor.models import FeedRef

FEEDS = Path(__file__).parent.parent / "data" / "feeds"
NOW = datetime(2026, 11, 27, tzinfo=UTC)


def items(name: str, url: str = "http://example.org/feed", content_type: str | None = None):
    parsed = parse_feed((FEEDS / name).read_bytes(), url, content_type)
    return parsed, normalize_feed(parsed, FeedRef("t", url), NOW)


@pytest.mark.parametrize(
    ("name", "title", "link"),
    [
        ("rss090.rdf", "Summit in Panmunjom", "http://example.org/panmunjom"),
        ("rss091.xml", "Seoul café talks", "http://example.org/cafe"),
        ("rss10.rdf", "Pyongyang visit", "http://example.org/a"),
        ("atom03.xml", "Declaration to end the war", "http://example.org/decl"),
    ],
)
def test_old_and_rdf_formats(name, title, link):
    _, (item,) = items(name)
    assert item.title == title and item.link == link


def test_rss10_dates_and_ids():
    _, (item,) = items("rss10.rdf")
    assert item.published == datetime(2018, 8, 15, 11, 41, tzinfo=UTC)
    assert item.id == "http://example.org/a"


def test_rss20_relative_links_and_ttl():
    parsed, (item,) = items("rss20-relative.xml", "http://example.org/news/rss.xml")
    assert item.link == "http://example.org/news/2018/relative.html"
    assert item.id == "rel-1" and parsed.ttl_minutes == 30
    assert item.published == datetime(2018, 8, 15, 2, 41, tzinfo=UTC)


def test_atom10_xml_base_resolves_links():
    _, (item,) = items("atom10-base.xml")
    assert item.link == "http://example.org/blog/2018/kang-pompeo"
    assert item.title == "Kang & Pompeo" and item.author == "Reporter"
    assert item.content == "Text with a link"


def test_json_feed():
    parsed, (first, second) = items("jsonfeed11.json", "https://example.org/feed.json")
    assert parsed.title == "JSON news" and parsed.language == "en"
    assert first.id == "j-1" and first.link == "https://example.org/2018/pompeo"
    assert first.content == "Pompeo may be returning to Pyongyang."
    assert first.published == datetime(2018, 8, 15, 2, 41, tzinfo=UTC)
    assert first.tags == ("korea", "diplomacy") and first.author == "Desk"
    assert second.content == "A plain text note." and second.author == "Kim"
    assert second.published == datetime(2018, 8, 16, tzinfo=UTC)


def test_json_that_is_not_a_feed():
    with pytest.raises(ParseError, match="not a JSON Feed"):
        parse_feed(b'{"version": "1"}', "http://x/", "application/json")


def test_charset_from_http_header_when_the_document_declares_none():
    _, (item,) = items("koi8-undeclared-xml.xml", content_type="text/xml; charset=koi8-r")
    assert item.title == "Пхеньян"


def test_undeclared_utf8():
    body = '<rss version="2.0"><channel><title>t</title><item><title>평양 회담</title>'
    body += "<guid>u1</guid></item></channel></rss>"
    parsed = parse_feed(body.encode(), "http://x/", None)
    assert parsed.entries[0]["title"][0] == "평양 회담"
