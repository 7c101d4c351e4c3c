"""Autodiscovery of a page's feed, and reading OPML subscriptions safely."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.ingest.discover import discover_feed_url
from monitor.ingest.opml import parse_opml, read_opml

FEEDS = Path(__file__).parent.parent / "data" / "feeds"


def test_discovers_the_first_advertised_feed():
    page = (FEEDS / "page-with-feed.html").read_bytes()
    assert discover_feed_url(page, "https://example.org/news/") == (
        "https://example.org/rss/news.xml"
    )


def test_discovery_honours_base_and_json_feed():
    page = b"""<html><head><base href="https://cdn.example.org/s/">
    <LINK REL="Alternate" TYPE="application/feed+json; charset=utf-8" HREF="feed.json"></head>"""
    assert discover_feed_url(page, "https://example.org/") == "https://cdn.example.org/s/feed.json"


@pytest.mark.parametrize(
    "page",
    [
        b"<html><head><title>none</title></head></html>",
        b'<link rel="alternate" type="text/html" href="/en">',
        b'<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">',
        b"\xff\xfe garbage",
    ],
)
def test_no_feed_found(page):
    assert discover_feed_url(page, "https://example.org/") is None


def test_opml_folders_become_tags():
    feeds = read_opml(FEEDS / "subscriptions.opml")
    assert feeds == [
        {
            "url": "https://koreajoongangdaily.joins.com/rss/news.xml",
            "name": "JoongAng Daily",
            "tags": ["Korea"],
        },
        {"url": "https://en.yna.co.kr/rss/news.xml", "name": "Yonhap", "tags": ["Korea", "Wire"]},
        {"url": "https://example.org/feed.json", "name": "Top level", "tags": []},
    ]


@pytest.mark.parametrize(
    "doc",
    [
        b'<?xml version="1.0"?><!DOCTYPE o [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b'<opml><body><outline text="&b;" xmlUrl="http://x/"/></body></opml>',
        b'<?xml version="1.0"?><!DOCTYPE o [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<opml><body><outline text="&x;" xmlUrl="http://x/"/></body></opml>',
        b"<opml><body><outline",
    ],
)
def test_hostile_or_broken_opml_is_refused(doc):
    with pytest.raises(ParseError):
        parse_opml(doc)
