"""One SSRF rule for every fetch, and one line instead of a traceback (issue #14, 12 and 14).

A real HTTP server on 127.0.0.1 plays the feeds. The allowed feed is on 127.0.0.1, so
"another private host" is the same server under another name (``localhost``): the guard
allows a private address only on the *host* of the URL a fetch started from, so the
name is refused although it reaches the very same socket, and the server's request log
shows whether anything was sent to it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SEED, run_cli, seed_feed, serve_seed, write_config
from tests.integration.daemon_helpers import DaemonProcess

RULE = {"name": "pp", "query": "Pompeo AND Pyongyang"}
TITLE = "Pompeo may be returning to Pyongyang soon"


def page_advertising(href: str) -> bytes:
    """A web page whose head advertises the feed at ``href``."""
    return (
        "<!doctype html><html><head><title>News</title>"
        f'<link rel="alternate" type="application/rss+xml" href="{href}">'
        "</head><body>Front page</body></html>"
    ).encode()


def config_for(tmp_path: Path, *feeds: dict) -> Path:
    return write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"backfill": "all", **feed} for feed in feeds],
            "rules": [RULE],
            "channels": {"console": {"type": "console"}},
        },
    )


def feed_errors(tmp_path: Path, config: Path) -> dict[str, str | None]:
    status = run_cli("status", "--json", "--config", str(config), cwd=tmp_path)
    return {f["name"]: f["last_error"] for f in json.loads(status.stdout)["feeds"]}


def one_line_failure(result, *words: str) -> str:
    """The command failed with one ``news-monitor:`` line holding ``words``, no traceback."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("news-monitor:")]
    for word in words:
        assert word in line, line
    return line


# --- 12: an advertised feed on another private host ------------------------------


def test_run_once_refuses_a_feed_advertised_on_another_private_host(tmp_path, http_server):
    http_server.route("/feed.xml", seed_feed("feed-full.xml", http_server.base_url))
    http_server.route("/", page_advertising(f"http://localhost:{http_server.port}/feed.xml"))
    config = config_for(tmp_path, {"name": "page", "url": http_server.url("/")})
    result = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 4 and "Traceback" not in result.stderr, result.stderr
    assert not http_server.requests_to("/feed.xml")  # nothing sent to the other host
    assert TITLE not in result.stdout  # no alert
    error = feed_errors(tmp_path, config)["page"]
    assert "the feed it advertises" in error and "localhost" in error and "refused" in error
    status = run_cli("status", "--json", "--config", str(config), cwd=tmp_path).stdout
    assert "localhost" not in str(json.loads(status)["feeds"][0]["moved_to"])


def test_an_advertised_feed_on_the_same_host_is_followed(tmp_path, http_server):
    http_server.route("/feed.xml", seed_feed("feed-full.xml", http_server.base_url))
    http_server.route("/", page_advertising("/feed.xml"))
    config = config_for(tmp_path, {"name": "page", "url": http_server.url("/")})
    result = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0 and TITLE in result.stdout, result.stderr
    assert feed_errors(tmp_path, config)["page"] is None


def test_fetch_refuses_a_feed_advertised_on_another_private_host(tmp_path, http_server):
    http_server.route("/feed.xml", seed_feed("feed-full.xml", http_server.base_url))
    http_server.route("/", page_advertising(f"http://localhost:{http_server.port}/feed.xml"))
    result = run_cli("fetch", http_server.url("/"), cwd=tmp_path)
    one_line_failure(result, "the feed it advertises", "localhost", "refused")
    assert not http_server.requests_to("/feed.xml")


def test_an_article_link_on_another_private_host_is_not_fetched(tmp_path, http_server):
    port = http_server.port
    http_server.route("/article.html", "<html><body><p>Secret intranet page</p></body></html>")
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>'
        f"<item><title>{TITLE}</title><guid>a1</guid>"
        f"<link>http://localhost:{port}/article.html</link>"
        "<description>Pompeo flew to Pyongyang.</description></item></channel></rss>"
    )
    http_server.route("/feed.xml", feed)
    config = config_for(
        tmp_path, {"name": "f", "url": http_server.url("/feed.xml"), "fulltext": True}
    )
    result = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0 and TITLE in result.stdout, result.stderr
    assert not http_server.requests_to("/article.html")
    (line,) = [x for x in result.stderr.splitlines() if "fulltext url=" in x]
    assert "localhost resolves to 127.0.0.1" in line and "refused" in line


@pytest.mark.parametrize("command", ["fetch", "test-rule"])
def test_cli_refuses_a_redirect_to_another_private_host(tmp_path, http_server, command):
    serve_seed(http_server, "feed-full.xml")
    target = f"http://localhost:{http_server.port}/feeds/feed-full.xml"
    http_server.route("/moved", b"", status=302, headers={"Location": target})
    query = ["Pompeo"] if command == "test-rule" else []
    result = run_cli(command, *query, http_server.url("/moved"), cwd=tmp_path)
    one_line_failure(result, "localhost resolves to 127.0.0.1", "refused")
    assert not http_server.requests_to("/feeds/feed-full.xml")


def test_cli_refuses_cloud_metadata_as_a_source(tmp_path):
    result = run_cli("fetch", "http://2852039166/latest/meta-data/", cwd=tmp_path)
    one_line_failure(result, "169.254.169.254, a cloud metadata address", "refused")


# --- 14: hostile URLs are one line, from the CLI ------------------------------------


@pytest.mark.parametrize("command", ["fetch", "test-rule"])
@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://0177.0.0.1/feed.xml", ["0177.0.0.1 is 127.0.0.1", "another notation"]),
        ("http://127.0.0.1/a\r\nX-Injected: 1", ["control character '\\r'"]),
        ("http://127.0.0.1/a\x01b", ["control character '\\x01'"]),
        ("http://[::1/feed.xml", ["not a valid URL"]),
        ("http://127.0.0.1:99999/feed.xml", ["not a valid URL", "Port out of range"]),
        ("ftp://127.0.0.1/feed.xml", ["ftp: is not fetched"]),
    ],
)
def test_cli_hostile_source_is_one_line(tmp_path, command, url, words):
    query = ["Pompeo"] if command == "test-rule" else []
    one_line_failure(run_cli(command, *query, url, cwd=tmp_path), *words)


@pytest.mark.parametrize("command", ["fetch", "test-rule"])
@pytest.mark.parametrize(
    ("location", "words"),
    [
        ("data:application/rss+xml,<rss/>", ["redirect to", "data: is not fetched"]),
        ("javascript:alert(1)", ["redirect to", "javascript: is not fetched"]),
        ("file:///etc/passwd", ["redirect to", "file: is not fetched"]),
        ("ftp://127.0.0.1/feed.xml", ["redirect to", "ftp: is not fetched"]),
        ("http://0177.0.0.1/feed.xml", ["redirect to", "another notation", "refused"]),
        ("http://127.0.0.1:99999/", ["redirect to", "Port out of range"]),
        ("http://[::1/feed.xml", ["redirect to", "not a valid URL"]),
        ("http://127.0.0.1/a\x01b", ["redirect to", "control character"]),
    ],
)
def test_cli_hostile_redirect_is_one_line(tmp_path, http_server, command, location, words):
    http_server.route("/moved", b"", status=302, headers={"Location": location})
    query = ["Pompeo"] if command == "test-rule" else []
    result = run_cli(command, *query, http_server.url("/moved"), cwd=tmp_path)
    one_line_failure(result, *words)
    assert len(http_server.requests) == 1


# --- 14: hostile URLs fail their feed alone, in the daemon's poll -------------------


def test_hostile_urls_fail_their_feed_alone(tmp_path, http_server):
    base, port = http_server.base_url, http_server.port
    serve_seed(http_server, "feed-full.xml")
    http_server.route("/to-data", b"", status=302, headers={"Location": "data:text/xml,<rss/>"})
    http_server.route("/ctl.html", page_advertising(f"{base}/feed\x01.xml"))
    octal_item = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Octal</title>'
        "<item><title>Pompeo and Pyongyang, octal edition</title><guid>o1</guid>"
        "<link>http://0177.0.0.1/article.html</link>"
        "<description>Pompeo flew to Pyongyang.</description></item></channel></rss>"
    )
    http_server.route("/octal-link.xml", octal_item)
    config = config_for(
        tmp_path,
        {"name": "healthy", "url": f"{base}/feeds/feed-full.xml"},
        {"name": "to-data", "url": f"{base}/to-data"},
        {"name": "ctl", "url": f"{base}/ctl.html"},
        {"name": "octal-url", "url": f"http://0177.0.0.1:{port}/feed.xml"},
        {"name": "octal-link", "url": f"{base}/octal-link.xml", "fulltext": True},
    )
    result = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert TITLE in result.stdout  # the healthy feed alerts
    assert "octal edition" in result.stdout  # its article could not be fetched: still alerted
    errors = feed_errors(tmp_path, config)
    assert errors["healthy"] is None and errors["octal-link"] is None
    assert "redirect to data:text/xml,<rss/>: data: is not fetched" in errors["to-data"]
    assert "control character '\\x01'" in errors["ctl"]
    assert "0177.0.0.1 is 127.0.0.1" in errors["octal-url"]
    for name in ("to-data", "ctl", "octal-url"):
        (line,) = [x for x in result.stderr.splitlines() if f"feed={name!r} poll failed" in x]
        assert errors[name] in line
    (fulltext,) = [x for x in result.stderr.splitlines() if "fulltext url=" in x]
    assert "another notation" in fulltext


def test_the_daemon_carries_on_past_hostile_urls(tmp_path, http_server):
    base = http_server.base_url
    serve_seed(http_server, "feed-full.xml")
    http_server.route("/to-data", b"", status=302, headers={"Location": "data:text/xml,<rss/>"})
    http_server.route("/ctl.html", page_advertising(f"{base}/feed\x01.xml"))
    config = config_for(
        tmp_path,
        {"name": "to-data", "url": f"{base}/to-data", "interval": "1s"},
        {"name": "ctl", "url": f"{base}/ctl.html", "interval": "1s"},
        {"name": "healthy", "url": f"{base}/feeds/feed-full.xml", "interval": "1s"},
    )
    daemon = DaemonProcess(config, tmp_path)
    try:
        daemon.wait_for_log("feed='to-data' poll failed", count=2)  # polled again: alive
        log = daemon.wait_for_log("feed='ctl' poll failed", count=2)
        daemon.wait_for_log("feed='healthy' items=5 parsed=5 new=5 alerts=1")
    finally:
        code = daemon.stop()
        daemon.kill()
    assert code == 0 and "Traceback" not in daemon.log, daemon.log
    assert "redirect to data:text/xml,<rss/>: data: is not fetched" in log
    assert "the feed it advertises: " in log and "control character '\\x01'" in log


# --- 14: a corrupt state database is one line, for every command ------------------


@pytest.fixture(scope="module")
def good_database(tmp_path_factory) -> bytes:
    """A real state database written by ``run --once`` (its bytes)."""
    where = tmp_path_factory.mktemp("good")
    config = config_for(where, {"url": "file:" + str(SEED / "feed-full.xml")})
    assert run_cli("run", "--once", "--config", str(config), cwd=where).returncode == 0
    return (where / "state" / "monitor.db").read_bytes()


def spoil(database: Path, how: str, good: bytes) -> None:
    database.parent.mkdir(parents=True, exist_ok=True)
    if how == "garbage":
        database.write_bytes(b"this is not a database, just words " * 200)
    elif how == "truncated":
        database.write_bytes(good[: len(good) // 2])
    else:
        database.mkdir()


@pytest.mark.parametrize(
    ("how", "words"),
    [
        ("garbage", "is corrupt (file is not a database): restore a backup or move it away"),
        ("truncated", "is corrupt (database disk image is malformed): restore a backup"),
        ("directory", "is not a file: move it away to start fresh"),
    ],
)
@pytest.mark.parametrize(
    "command", [["status"], ["run", "--once"], ["run"], ["preview"], ["retry", "console"]]
)
def test_a_corrupt_database_is_one_line(tmp_path, good_database, how, words, command):
    config = config_for(tmp_path, {"url": "file:/nonexistent.xml"})
    database = tmp_path / "state" / "monitor.db"
    spoil(database, how, good_database)
    result = run_cli(*command, "--config", str(config), cwd=tmp_path, timeout=60)
    line = one_line_failure(result, f"state database {database} ", words)
    assert line.endswith("start fresh")
