"""A plain link's canonical form by one pattern is the general way's (monitor/dedup/urls.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.dedup.urls import PLAIN_LINK, by_split, canonical_url, from_plain

SETTINGS = settings(max_examples=2000, derandomize=True, deadline=None)
LABEL = st.one_of(
    st.text("abwWXYZ019-_é", min_size=0, max_size=6), st.sampled_from(["www", "WWW", "ww", "www2"])
)
PATH = st.text("abcXYZ09/._~!$&'()*+,;=:@%-?#[] \t\\é", max_size=20)
# Only what PLAIN_LINK takes: every generated link goes the pattern's way.
PLAIN_LABEL = st.one_of(
    st.text("abwWXYZ019-", min_size=1, max_size=6), st.sampled_from(["www", "WWW", "ww"])
)
PLAIN_PATH = st.text("aZ09._~!$&'()*+,;=:@%/-", max_size=20)


def both(url: str) -> str | None:
    """canonical_url of ``url``, checked against the general way when it is plain."""
    answer = canonical_url(url)
    assert answer == by_split(url.strip()), url
    return answer


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://www.Example.COM/news/2016/a-story/", "http://example.com/news/2016/a-story"),
        ("http://example.com", "http://example.com/"),
        ("HTTPS://example.com./a;b=1/c:d@e%20f", "http://example.com/a;b=1/c:d@e%20f"),
        ("  https://news.example.org/a//  ", "http://news.example.org/a"),
        ("http://www./a", "http://www/a"),
        ("http://wx.com/", "http://wx.com/"),
        ("http://a.www.b/", "http://a.www.b/"),
        ("http://WWW.www.example./", "http://www.example/"),
    ],
)
def test_plain_links_take_the_pattern(url: str, canonical: str) -> None:
    assert PLAIN_LINK.fullmatch(url.strip()) is not None
    assert both(url) == canonical


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a?id=7",
        "https://example.com:8443/a",
        "https://user@example.com/a",
        "https://example.com/a#part",
        "https://exa_mple.com/a",
        "https://bücher.example/a",
        "https://[::1]/a",
        "https://example.com/a b",
    ],
)
def test_other_links_go_the_general_way(url: str) -> None:
    assert PLAIN_LINK.fullmatch(url) is None
    both(url)


@SETTINGS
@given(
    st.sampled_from(["http", "https", "HTTP", "Https", "ftp", "http:", ""]),
    st.lists(LABEL, min_size=0, max_size=4),
    st.sampled_from(["", ".", ":80", ":443", ":8080", ":x", "@h"]),
    PATH,
    st.sampled_from(["", " ", "\t"]),
)
def test_generated_links_agree(
    scheme: str, labels: list[str], tail: str, path: str, pad: str
) -> None:
    """Generated links, plain or not: both ways give the same canonical form."""
    url = f"{pad}{scheme}://{'.'.join(labels)}{tail}{'/' if path else ''}{path}{pad}"
    plain = PLAIN_LINK.fullmatch(url.strip())
    if plain is not None:
        assert from_plain(plain) == by_split(url.strip()), url
    both(url)


@SETTINGS
@given(
    st.sampled_from(["http", "https", "HTTP", "hTTps"]),
    st.lists(PLAIN_LABEL, min_size=1, max_size=4),
    st.booleans(),
    st.one_of(st.none(), PLAIN_PATH),
)
def test_plain_links_agree(scheme: str, labels: list[str], root: bool, path: str | None) -> None:
    """Links the pattern takes, each one: its answer is the general way's."""
    url = f"{scheme}://{'.'.join(labels)}{'.' if root else ''}"
    url += "" if path is None else f"/{path}"
    plain = PLAIN_LINK.fullmatch(url)
    assert plain is not None, url
    assert from_plain(plain) == by_split(url), url
