"""Lenient transport and one set of limits (issue #12, points 8 and 9), end to end.

A real HTTP server on 127.0.0.1 and the CLI in a subprocess: charset names sent as
``Content-Encoding`` are read as identity (as browsers do), a gzip body without
``Content-Encoding`` is inflated, codings we did not ask for are a one-line error;
a 26 MiB feed is read by ``fetch`` and by the daemon once ``defaults.max_bytes`` is
raised, with no other setting changed, and without it the error names that setting.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from html import escape
from pathlib import Path

import pytest

from tests.conftest import run_cli, seed_feed, write_config
from tests.servers import HttpServer

SEED_GUID = "jad-3052260"
SEED_TITLE = "Pompeo may be returning to Pyongyang soon"
RSS = "application/rss+xml"
MIB = 1024 * 1024


def fetch_json(url: str, cwd: Path, *extra: str):
    """``news-monitor fetch URL --json``: the process and its items."""
    result = run_cli("fetch", url, "--json", *extra, cwd=cwd, timeout=300)
    items = [json.loads(line) for line in result.stdout.splitlines()] if result.stdout else []
    return result, items


def assert_clean_error(result, *needles: str) -> None:
    """Exit code 2 and one line on stderr, naming each of ``needles``, no traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("news-monitor: "), result.stderr
    for needle in needles:
        assert needle in lines[0], result.stderr


# -- (a) the charset only in the HTTP header ----------------------------------------

CYRILLIC_TITLE = "Привет, мир: новости дня"


def test_charset_given_only_in_the_http_header(tmp_path, http_server):
    body = (
        '<rss version="2.0"><channel><title>Лента</title><link>http://example.org/</link>'
        f"<item><title>{CYRILLIC_TITLE}</title><link>http://example.org/1</link>"
        "<guid>cp1251-1</guid><description>Текст новости</description></item>"
        "</channel></rss>"
    ).encode("windows-1251")
    assert not body.startswith(b"<?xml")  # no declaration: the header is all there is
    http_server.route(
        "/ru.xml", body, headers={"Content-Type": "application/rss+xml; charset=windows-1251"}
    )
    result, items = fetch_json(http_server.url("/ru.xml"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert [i["title"] for i in items] == [CYRILLIC_TITLE]
    assert items[0]["summary"] == "Текст новости" and items[0]["feed"]["name"] == "Лента"


# -- (b) gzip without Content-Encoding, (c) Content-Encoding leniency ------------------


def test_gzip_body_without_content_encoding_is_inflated(tmp_path, http_server):
    feed = seed_feed("feed-full.xml", http_server.base_url)
    http_server.route("/gz.xml", gzip.compress(feed), headers={"Content-Type": RSS})
    result, items = fetch_json(http_server.url("/gz.xml"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert items[0]["id"] == SEED_GUID and items[0]["title"] == SEED_TITLE and len(items) == 5


def test_gzip_twice_is_inflated_twice(tmp_path, http_server):
    """A server that gzips a stored .gz file again (Content-Encoding: gzip)."""
    feed = seed_feed("feed-full.xml", http_server.base_url)
    twice = gzip.compress(gzip.compress(feed))
    http_server.route("/gz2.xml", twice, headers={"Content-Type": RSS, "Content-Encoding": "gzip"})
    result, items = fetch_json(http_server.url("/gz2.xml"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert items[0]["id"] == SEED_GUID and len(items) == 5


@pytest.mark.parametrize(
    "coding", ["UTF-8", "utf8", "iso-8859-1", "text/xml", "binary", "gzip, UTF-8"]
)
def test_charset_as_content_encoding_is_read_as_identity(tmp_path, http_server, coding):
    feed = seed_feed("feed-full.xml", http_server.base_url)
    body = gzip.compress(feed) if coding.startswith("gzip") else feed
    http_server.route("/feed.xml", body, headers={"Content-Type": RSS, "Content-Encoding": coding})
    url = http_server.url("/feed.xml").replace("http://", "http://reader:s3cretpass@")
    result, items = fetch_json(url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert items[0]["id"] == SEED_GUID and items[0]["title"] == SEED_TITLE and len(items) == 5
    logged = [line for line in result.stderr.splitlines() if "Content-Encoding" in line]
    assert len(logged) == 1 and "read as identity" in logged[0], result.stderr
    assert "s3cretpass" not in result.stderr  # the URL in the log line is redacted


@pytest.mark.parametrize("coding", ["br", "zstd", "compress", "foo", "zlib", "base64"])
def test_codings_we_did_not_ask_for_are_a_clean_error(tmp_path, http_server, coding):
    feed = seed_feed("feed-full.xml", http_server.base_url)
    http_server.route("/feed.xml", feed, headers={"Content-Type": RSS, "Content-Encoding": coding})
    result, items = fetch_json(http_server.url("/feed.xml"), tmp_path)
    assert items == []
    assert_clean_error(result, f"unsupported Content-Encoding {coding}")


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_a_body_not_in_its_declared_coding_is_a_clean_error(tmp_path, http_server, coding):
    feed = seed_feed("feed-full.xml", http_server.base_url)
    http_server.route("/feed.xml", feed, headers={"Content-Type": RSS, "Content-Encoding": coding})
    result, items = fetch_json(http_server.url("/feed.xml"), tmp_path)
    assert items == []
    assert_clean_error(result, f"not valid {coding} data", f"Content-Encoding: {coding}")


def test_test_rule_reads_the_same_lenient_transport(tmp_path, http_server):
    feed = seed_feed("feed-full.xml", http_server.base_url)
    http_server.route("/feed.xml", feed, headers={"Content-Type": RSS, "Content-Encoding": "utf8"})
    http_server.route("/gz.xml", gzip.compress(feed), headers={"Content-Type": RSS})
    for path in ("/feed.xml", "/gz.xml"):
        result = run_cli("test-rule", "Pompeo AND Pyongyang", http_server.url(path), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert f"MATCH {SEED_TITLE}" in result.stdout


# -- (d) a 26 MiB feed: one limit to raise -------------------------------------------

TEXT = (
    "diplomats secretly held discussions in the inter-Korean village of Panmunjom last "
    "Sunday according to sources amid speculation that the Secretary of State may be "
    "making another visit soon the two sides discussed a declaration"
)
WORDS = TEXT.split()
BIG_ITEMS = 5400  # ~4.9 KB each: ~26 MiB


def big_feed(items: int, base: str) -> bytes:
    """An RSS 2.0 feed of ``items`` news items, each with ~4 KB of HTML content."""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Big feed</title>'
        f"<link>{base}/</link><description>a big feed</description>\n"
    ]
    for i in range(items):
        sentence = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(16))
        para = (
            f'<p>{sentence} <a href="/news/{i}.html" title="t">more</a> <em>{sentence}</em> '
            f'<img src="/img/{i}.jpg" alt="x" width="10"/> <strong>item</strong> {sentence}</p>'
        )
        out.append(
            f"<item><title>Story number {i}</title><link>{base}/news/{i}.html</link>"
            f'<guid isPermaLink="false">big-{i}</guid><dc:creator>Reporter {i % 50}</dc:creator>'
            "<category>World</category><category>Asia</category>"
            f"<pubDate>Tue, 14 Aug 2018 {i % 24:02d}:{i % 60:02d}:00 +0000</pubDate>"
            f"<description>{escape(para * 2)}</description>"
            f"<content:encoded><![CDATA[{para * 8}]]></content:encoded></item>\n"
        )
    out.append("</channel></rss>\n")
    return "".join(out).encode()


@pytest.fixture(scope="module")
def big_server(tmp_path_factory):
    """A server with the ~26 MiB feed at /big.xml, gzipped with Content-Encoding: gzip."""
    folder = tmp_path_factory.mktemp("big")
    with HttpServer() as server:
        body = big_feed(BIG_ITEMS, server.base_url)
        assert 25 * MIB < len(body) < 27 * MIB
        packed = folder / "big.xml.gz"
        packed.write_bytes(gzip.compress(body, compresslevel=6))
        server.route(
            "/big.xml",
            packed.read_bytes(),
            headers={"Content-Type": RSS, "Content-Encoding": "gzip"},
        )
        yield server


def big_config(tmp_path: Path, url: str, **extra) -> Path:
    return write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"url": url, "name": "big"}],
            **extra,
        },
    )


RAISED = {"defaults": {"max_bytes": 40 * MIB}}  # an integer: bytes (no size units)


@pytest.mark.integration
def test_big_feed_through_fetch_with_max_bytes_raised(tmp_path, big_server):
    url = big_server.url("/big.xml")
    config = big_config(tmp_path, url, **RAISED)
    result, items = fetch_json(url, tmp_path, "--config", str(config))
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(items) == BIG_ITEMS
    assert len({i["id"] for i in items}) == BIG_ITEMS
    assert items[0]["title"] == "Story number 0" and items[-1]["id"] == f"big-{BIG_ITEMS - 1}"
    assert items[0]["feed"]["name"] == "Big feed"


@pytest.mark.integration
def test_big_feed_through_the_daemon_with_max_bytes_raised(tmp_path, big_server):
    config = big_config(tmp_path, big_server.url("/big.xml"), **RAISED)
    result = run_cli("run", "--once", "--config", str(config), cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    with sqlite3.connect(tmp_path / "state" / "monitor.db") as conn:
        stored = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        (error,) = conn.execute("SELECT last_error FROM feeds").fetchone()
    assert error is None and stored == BIG_ITEMS


@pytest.mark.integration
def test_big_feed_without_the_raised_limit_names_the_setting(tmp_path, big_server):
    url = big_server.url("/big.xml")
    result, items = fetch_json(url, tmp_path)  # no config file: the documented defaults
    assert items == []
    assert_clean_error(result, "10485760-byte limit", "after decompression", "defaults.max_bytes")

    config = big_config(tmp_path, url)
    # 4: every feed failed (run --once's documented exit code)
    assert run_cli("run", "--once", "--config", str(config), cwd=tmp_path).returncode == 4
    report = json.loads(run_cli("status", "--json", "--config", str(config), cwd=tmp_path).stdout)
    (feed,) = report["feeds"]
    assert feed["consecutive_failures"] == 1 and "defaults.max_bytes" in feed["last_error"]
