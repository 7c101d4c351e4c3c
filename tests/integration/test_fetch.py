"""Fetching against a real HTTP server: conditional GET and every bound."""

from __future__ import annotations

import asyncio
import gzip
import hashlib

import pytest

from monitor.errors import FetchError
from monitor.ingest.fetch import fetch, make_client
from monitor.ingest.fulltext import FulltextFetcher
from monitor.ingest.parseworker import ParsePool
from tests.conftest import SEED, seed_feed, serve_seed


def get(url: str, **kwargs):
    async def go():
        async with make_client() as client:
            return await fetch(
                client,
                url,
                timeout=kwargs.pop("timeout", 5),
                max_bytes=kwargs.pop("max_bytes", 1_000_000),
                **kwargs,
            )

    return asyncio.run(go())


def test_conditional_get_uses_the_etag(http_server):
    http_server.route("/feed.xml", seed_feed("feed-full.xml", http_server.base_url))
    first = get(http_server.url("/feed.xml"))
    assert first.status == 200 and first.etag and b"Pompeo" in first.body
    second = get(http_server.url("/feed.xml"), etag=first.etag)
    assert second.not_modified and second.body is None
    sent = http_server.requests_to("/feed.xml")
    assert sent[1].headers["if-none-match"] == first.etag
    assert sent[0].headers["user-agent"].startswith("news-monitor/")


def test_body_cap_applies_after_decompression(http_server):
    bomb = gzip.compress(b"<rss>" + b" " * 50_000_000)  # ~50 KB on the wire, 50 MB inflated
    http_server.route("/bomb.xml", bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError) as caught:
        get(http_server.url("/bomb.xml"), max_bytes=1_000_000)
    assert caught.value.kind == "too_large" and "after decompression" in str(caught.value)


def test_declared_length_over_cap_is_refused(http_server):
    http_server.route("/big.xml", b"x" * 2_000_000)
    with pytest.raises(FetchError, match="over the 1000000-byte limit"):
        get(http_server.url("/big.xml"), max_bytes=1_000_000)


def test_total_deadline_holds_against_a_slow_server(http_server):
    http_server.route("/slow.xml", b"<rss/>", delay=3)
    with pytest.raises(FetchError) as caught:
        get(http_server.url("/slow.xml"), timeout=0.5)
    assert caught.value.kind == "timeout"


def test_redirect_loop_ends(http_server):
    http_server.route("/a", b"", status=302, headers={"Location": "/b"})
    http_server.route("/b", b"", status=302, headers={"Location": "/a"})
    with pytest.raises(FetchError) as caught:
        get(http_server.url("/a"))
    assert caught.value.kind == "redirects"
    assert len(http_server.requests) == 6  # the first request and 5 redirects


def test_http_errors_and_refused_connections(http_server):
    with pytest.raises(FetchError, match="HTTP 404") as caught:
        get(http_server.url("/missing.xml?key=s3cret"))
    assert caught.value.status == 404 and "s3cret" not in str(caught.value)
    with pytest.raises(FetchError) as refused:
        get("http://127.0.0.1:9/feed.xml")
    assert refused.value.kind == "connect"


def test_file_urls(tmp_path):
    result = get(f"file:{SEED / 'feed-teaser.xml'}")
    assert result.status == 200 and b"Typhoon" in result.body
    assert result.content_type == "application/xml"
    with pytest.raises(FetchError) as caught:
        get(f"file:{tmp_path / 'nope.xml'}")
    assert caught.value.kind == "file"


def test_permanent_redirect_cache_hints_and_body_hash(http_server):
    body = seed_feed("feed-full.xml", http_server.base_url)
    http_server.route("/new.xml", body, headers={"Cache-Control": "public, max-age=900"})
    http_server.route("/old.xml", b"", status=301, headers={"Location": "/new.xml"})
    http_server.route("/tmp.xml", b"", status=302, headers={"Location": "/new.xml"})
    moved = get(http_server.url("/old.xml"))
    assert moved.permanent_url == http_server.url("/new.xml")
    assert moved.min_interval_seconds == 900
    assert moved.body_sha256 == hashlib.sha256(body).hexdigest()
    assert get(http_server.url("/tmp.xml")).permanent_url is None


def test_guarded_client_fetches_an_allowed_private_feed(http_server):
    http_server.route("/feed.xml", seed_feed("feed-teaser.xml", http_server.base_url))

    async def go():
        async with make_client(guarded=True) as client:
            return await fetch(
                client, http_server.url("/feed.xml"), timeout=5, max_bytes=10**6, allow_private=True
            )

    assert b"Typhoon" in asyncio.run(go()).body


def test_fulltext_of_the_seed_article(http_server):
    urls = serve_seed(http_server, "feed-teaser.xml")
    link = http_server.url("/news/2018/08/15/pompeo-may-be-returning.html")
    assert urls

    async def go(allow_private: bool):
        pool = ParsePool(workers=1)  # extraction runs in a worker, like parsing
        async with make_client(guarded=True) as client:
            fetcher = FulltextFetcher(client, timeout=10, allow_private=allow_private, pool=pool)
            try:
                return await fetcher.text(link), await fetcher.text(link)
            finally:
                await pool.close()

    text, cached = asyncio.run(go(True))
    assert "declaration to end" in text and "Pompeo" in text and cached == text
    assert len(http_server.requests_to("/news/2018/08/15/pompeo-may-be-returning.html")) == 1
    assert asyncio.run(go(False)) == (None, None)  # an article link may not be private


async def counting_server(body: bytes) -> tuple[asyncio.Server, list[int]]:
    """A keep-alive HTTP/1.1 server on 127.0.0.1: ETag "v1", 304 when it matches.

    The list it returns grows by one per TCP connection accepted.
    """
    accepted: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
                fresh = 'if-none-match: "v1"' in head
                status, payload = (b"304 Not Modified", b"") if fresh else (b"200 OK", body)
                writer.write(
                    b"HTTP/1.1 " + status + b'\r\nETag: "v1"\r\nContent-Type: application/xml\r\n'
                    b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, accepted


def test_polls_reuse_connections_including_after_304():
    """16 polls at once (the daemon's default) over 200 fetches keep to 16 connections."""

    async def go():
        server, accepted = await counting_server(b"<rss><channel><title>t</title></channel></rss>")
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/feed.xml"
        slots = asyncio.Semaphore(16)

        async def one(client, i):
            async with slots:
                result = await fetch(
                    client,
                    url,
                    timeout=5,
                    max_bytes=10**6,
                    etag='"v1"' if i % 2 else None,
                    allow_private=True,
                )
                return result.status

        async with server, make_client(guarded=True) as client:
            statuses = await asyncio.gather(*(one(client, i) for i in range(200)))
        return statuses, len(accepted)

    statuses, connections = asyncio.run(go())
    assert statuses.count(304) == statuses.count(200) == 100
    assert connections <= 16
