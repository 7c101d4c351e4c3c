"""Parsing and normalizing feeds, hostile ones included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.errors import ParseError
from monitor.ingest.htmltext import html_to_text
from monitor.ingest.normalize import normalize_feed
from monitor.ingest.parse import parse_feed
from monitor.models import FeedRef
from tests.conftest import seed_feed

NOW = datetime(2026, 11, 27, tzinfo=UTC)
FEED = FeedRef("test", "http://127.0.0.1:1/feed.xml")
LAUGHS = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
BOMB = (
    f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{LAUGHS}]>'
    '<rss version="2.0"><channel><title>&l9;</title><item><title>x</title></item></channel></rss>'
).encode()


def items_of(body: bytes, content_type: str | None = "application/rss+xml"):
    return normalize_feed(parse_feed(body, FEED.url, content_type), FEED, NOW)


def test_seed_feed_normalizes():
    items = items_of(seed_feed("feed-full.xml", "http://127.0.0.1:1"))
    seed = items[0]
    assert seed.id == seed.guid == "jad-3052260"
    assert seed.published == datetime(2018, 8, 15, 11, 41, tzinfo=UTC)
    assert seed.lang == "en" and seed.link.endswith("/pompeo-may-be-returning.html")
    assert "<p>" not in seed.content and "Pompeo’s fourth visit" in seed.content
    assert [i.content for i in items[1:]] == ["", "", "", ""]


def test_bad_dates_missing_guids_relative_links_and_entities():
    body = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
    <link>http://127.0.0.1:1/</link>
    <item><title>A &amp; B &lt;b&gt;</title><link>/news/1</link><pubDate>yesterday-ish</pubDate>
      <description>&lt;p&gt;One&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;p&gt;Two&lt;/p&gt;</description></item>
    <item><title>no link, no guid</title><pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate></item>
    </channel></rss>"""
    first, second = items_of(body)
    # RSS title text (no markup that closes) stays text, "<b>" and all (issue #12)
    assert first.title == "A & B <b>" and first.published is None
    assert first.link == "http://127.0.0.1:1/news/1" and first.id == first.link
    assert first.summary == "One\n\nTwo"
    assert second.id.startswith("sha256:") and second.published is None
    assert items_of(body)[1].id == second.id  # stable across polls


def test_wrongly_declared_encoding_is_read():
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Caf\xe9</title>'
        "<item><title>Pyeongchang caf\xe9</title></item></channel></rss>"
    ).encode("latin-1")
    (item,) = items_of(body)
    assert item.title == "Pyeongchang café"


def test_entity_bomb_is_not_expanded():
    parsed = parse_feed(BOMB, FEED.url, "application/xml")
    assert len(parsed.title) < 1000 and parsed.warning


@pytest.mark.parametrize(
    "body", [b"", b"\x00\xff\xfe garbage", b"<html><body>a web page</body></html>", b"{}"]
)
def test_not_a_feed(body):
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(body, FEED.url, "text/html")


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>a web page</body></html>",
        b"<!DOCTYPE html>\n<html><head><title>Index of /</title></head><body><hr></html>",
        b'<?xml version="1.0"?>\n<!-- x --><html xmlns="http://www.w3.org/1999/xhtml"/>',
    ],
)
def test_a_web_page_is_named_as_one(body):
    with pytest.raises(
        ParseError, match="not a feed: a web page .HTML., not RSS, Atom or JSON Feed"
    ):
        parse_feed(body, FEED.url, "text/html")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/xhtml+xml"])
def test_a_web_page_is_named_as_one_whatever_its_media_type(content_type):
    """One rule for discovery and the parser (charset.looks_like_html): an XHTML page
    (its XML declaration and a comment first, or its own media type) is a page too."""
    body = b'<?xml version="1.0"?>\n<!-- x -->\n<!DOCTYPE html><html><body>page</body></html>'
    with pytest.raises(ParseError, match="not a feed: a web page"):
        parse_feed(body, FEED.url, content_type)


def test_truncated_feed_keeps_what_parsed():
    body = b'<rss version="2.0"><channel><title>t</title><item><title>one</title></item><item><ti'
    titles = [i.title for i in items_of(body)]
    assert titles[0] == "one"


def test_html_to_text():
    assert html_to_text("<p>a<br>b</p><style>x{}</style><p>c&nbsp;d</p>") == "a\n\nb\n\nc d"
    assert html_to_text("plain & simple") == "plain & simple"
    assert html_to_text("<b>" + "x" * 100 + "</b>", limit=10) == "x" * 10
