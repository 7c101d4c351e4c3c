"""Hostile servers on 127.0.0.1: every case ends bounded, with a clear kind and reason.

The feed URL itself is allowed to be private (as ``allow_private_networks: true``
allows), everything it redirects to elsewhere is not. No durations are asserted.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools

import pytest

from monitor.errors import FetchError, ParseError
from monitor.ingest.fetch import fetch, make_client
from monitor.ingest.parseworker import ParsePool, parse_isolated

RSS_HEAD = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'


def get(url: str, *, timeout: float = 5, max_bytes: int = 1_000_000, allow_private=True):
    async def go():
        async with make_client(guarded=True) as client:
            return await fetch(
                client, url, timeout=timeout, max_bytes=max_bytes, allow_private=allow_private
            )

    return asyncio.run(go())


def failure(url: str, **kwargs) -> FetchError:
    with pytest.raises(FetchError) as caught:
        get(url, **kwargs)
    return caught.value


def parse(body: bytes, content_type: str = "application/xml", timeout: float = 5):
    async def go():
        pool = ParsePool(workers=1, memory_mb=400, timeout=timeout)
        try:
            return await parse_isolated(body, "http://127.0.0.1/feed", content_type, pool=pool)
        finally:
            await pool.close()

    return asyncio.run(go())


def test_slowloris_is_cut_at_the_total_deadline(http_server):
    http_server.route_stream("/slow.xml", lambda: iter([b"<"] * 100), interval=1.0)
    error = failure(http_server.url("/slow.xml"), timeout=1.5)
    assert error.kind == "timeout" and "no complete answer within 1.5s" in str(error)


def test_endless_body_is_cut_at_the_cap(http_server):
    http_server.route_stream("/endless.xml", lambda: itertools.repeat(b"<item/>" * 1000))
    error = failure(http_server.url("/endless.xml"), max_bytes=200_000)
    assert error.kind == "too_large" and "200000-byte limit" in str(error)
    assert "decompression" not in str(error)  # nothing was compressed


def test_gzip_bomb_stops_at_the_cap_without_inflating(http_server):
    bomb = gzip.compress(b"\0" * 500_000_000)  # ~0.5 MB on the wire, 500 MB inflated
    http_server.route_stream(
        "/bomb.xml", lambda: iter([bomb]), headers={"Content-Encoding": "gzip"}
    )
    error = failure(http_server.url("/bomb.xml"), max_bytes=1_000_000)
    assert error.kind == "too_large" and "after decompression" in str(error)


def test_billion_laughs_is_not_expanded():
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    body = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{laughs}]>'.encode()
    body += RSS_HEAD + b"<item><title>&l9;</title><guid>x</guid></item></channel></rss>"
    parsed = parse(body)
    assert len(parsed.entries[0]["title"][0]) < 100


def test_entity_amplification_under_the_size_limit_stays_small():
    value = "x" * 10_000  # feedparser keeps such "safe" entities: 3 MB -> 10 GB
    body = f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{value}">]>'.encode()
    body += RSS_HEAD + b"<item><title>" + b"&a;" * 1_000_000 + b"</title></item></channel></rss>"
    assert 3_000_000 < len(body) < 10_000_000
    try:
        parsed = parse(body, timeout=60)
    except ParseError as exc:  # a slow machine may hit the parse limit: bounded too
        assert "parse timed out" in str(exc)
    else:
        assert len(parsed.entries[0]["title"][0]) <= len(body)


def test_quadratic_author_regex_times_out_in_the_worker():
    author = "a@" + "a." * 60_000 + "!"
    body = RSS_HEAD + f"<item><author>{author}</author></item></channel></rss>".encode()
    with pytest.raises(ParseError, match=r"parse timed out after 1s"):
        parse(body, timeout=1)


def test_redirect_loop(http_server):
    http_server.route("/a", b"", status=302, headers={"Location": "/b"})
    http_server.route("/b", b"", status=302, headers={"Location": "/a"})
    error = failure(http_server.url("/a"))
    assert error.kind == "redirects" and "more than 5 redirects" in str(error)


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.2/feed.xml",
        "http://[::1]/feed.xml",
        "http://localhost:{port}/feed.xml",  # a name, blocked after DNS resolution
    ],
)
def test_redirect_to_a_private_address_is_blocked(http_server, target):
    http_server.route("/feed.xml", b"<rss/>")
    location = target.format(port=http_server.port)
    http_server.route("/moved", b"", status=302, headers={"Location": location})
    error = failure(http_server.url("/moved"))
    assert error.kind == "blocked" and "refused" in str(error)
    assert len(http_server.requests) == 1  # nothing was sent to the private address


def test_private_feed_url_is_blocked_unless_allowed(http_server):
    http_server.route("/feed.xml", RSS_HEAD + b"</channel></rss>")
    error = failure(http_server.url("/feed.xml"), allow_private=False)
    assert error.kind == "blocked" and "loopback address" in str(error)
    assert not http_server.requests  # the refused fetch never connected
    assert get(http_server.url("/feed.xml")).status == 200


@pytest.mark.parametrize("status", [429, 503])
def test_busy_server_with_retry_after(http_server, status):
    http_server.route("/busy.xml", b"busy", status=status, headers={"Retry-After": "120"})
    error = failure(http_server.url("/busy.xml"))
    assert error.kind == "http" and error.status == status and error.retry_after == 120
    assert "retry after 120s" in str(error)


def test_gone(http_server):
    http_server.route("/gone.xml", b"gone", status=410)
    error = failure(http_server.url("/gone.xml"))
    assert error.kind == "gone" and error.status == 410 and "gone for good" in str(error)


def test_html_error_page_with_status_200(http_server):
    http_server.route("/feed.xml", b"<html><body><h1>Oops, we are down</h1></body></html>")
    result = get(http_server.url("/feed.xml"))
    with pytest.raises(ParseError, match="not a feed"):
        parse(result.body, result.content_type)


def test_truncated_xml_keeps_what_parsed():
    body = RSS_HEAD + b'<item><title>one</title><guid isPermaLink="false">1</guid></item><item><ti'
    parsed = parse(body)
    assert parsed.entries[0]["title"][0] == "one" and parsed.warning


def test_wrong_charset_declared():
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>Caf\xe9 in Pyeongchang</title></item></channel></rss>"
    ).encode("latin-1")
    parsed = parse(body, "text/xml; charset=utf-8")
    assert parsed.entries[0]["title"][0] == "Café in Pyeongchang"
