"""Canonical URLs: the same article behind different links compares equal."""

from __future__ import annotations

import pytest

from monitor.dedup import canonical_url

SAME = [
    ("https://Example.COM/news/a?utm_source=rss&utm_medium=feed", "http://example.com/news/a"),
    ("https://example.com:443/news/a#comments", "https://example.com/news/a"),
    ("http://www.example.com/news/a/", "https://example.com/news/a"),
    ("https://example.com/news/a?id=7&fbclid=XYZ&gclid=1", "https://example.com/news/a?id=7"),
    ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
    ("https://example.com/a?ocid=rss", "https://example.com/a"),
]
DIFFERENT = [
    ("https://example.com/news/a", "https://example.com/news/b"),
    ("https://example.com/a?id=7", "https://example.com/a?id=8"),
    ("https://example.com:8443/a", "https://example.com/a"),
    ("https://example.com/a", "https://example.org/a"),
]


@pytest.mark.parametrize("a,b", SAME)
def test_same_article(a, b):
    assert canonical_url(a) == canonical_url(b) is not None


@pytest.mark.parametrize("a,b", DIFFERENT)
def test_different_articles(a, b):
    assert canonical_url(a) != canonical_url(b)


@pytest.mark.parametrize("url", [None, "", "mailto:x@example.org", "/relative", "http://[bad"])
def test_not_a_web_url(url):
    assert canonical_url(url) is None
