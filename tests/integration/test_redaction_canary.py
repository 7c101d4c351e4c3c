"""Canary tokens in URLs whose scheme is not written in lower case (issue #14, point 11).

``HTTP://``, ``Http://``, ``hTTp://`` and ``HTTPS://`` are the same schemes as their
lower-case forms (RFC 3986, section 3.1: schemes are case-insensitive), so a token in
their userinfo, query string or fragment must be kept out of everything we write as
surely as in an ``http://`` URL. Feeds (one answering, one 404, one refused, one
redirected to a URL with a token) and a webhook channel carry canaries; then the text
and JSON logs of ``run --once`` and of the daemon, ``status`` (both forms), the
daemon's ``/metrics`` page, the webhook payloads and the raw bytes of every file in
the state directory are searched for them.
"""

from __future__ import annotations

import json
import signal
import urllib.request
from pathlib import Path

import pytest

from monitor.redact import redact_url
from tests.conftest import run_cli, serve_seed, write_config
from tests.integration.daemon_helpers import DaemonProcess
from tests.servers import free_port

CANARIES = {
    "query": "cnry-apikey-q7w1",
    "upper-name": "cnry-token-u4p9",
    "user": "cnry-user-k2m8",
    "password": "cnry-pass-h6d3",
    "error-query": "cnry-key-e5r2",
    "fragment": "cnry-sig-f8t4",
    "refused": "cnry-sig-r3n6",
    "redirect": "cnry-apikey-l9v5",
    "hook-query": "cnry-hook-tok-z1x7",
    "hook-path": "cnry-hook-path-b2c4",
}


def leaks(text: str | bytes) -> list[str]:
    """The names of the canaries found in ``text``."""
    data = text.encode() if isinstance(text, str) else text
    return [name for name, value in CANARIES.items() if value.encode() in data]


@pytest.fixture
def canary_config(tmp_path, http_server):
    urls = serve_seed(http_server, "feed-full.xml")
    feed_path = urls["feed-full.xml"].removeprefix(http_server.base_url)
    host = http_server.base_url.split("//", 1)[1]
    moved = f"HTTP://{host}{feed_path}?apikey={CANARIES['redirect']}"
    http_server.route("/old.xml", "moved", status=301, headers={"Location": moved})
    http_server.respond_post(f"/hook/{CANARIES['hook-path']}", (200, {}, "ok"))
    c = CANARIES
    feeds = [
        {"url": f"HTTP://{host}{feed_path}?APIKEY={c['query']}&Token={c['upper-name']}"},
        {"url": f"Http://{c['user']}:{c['password']}@{host}{feed_path}", "backfill": "all"},
        {"url": f"hTTp://{host}/missing.xml?key={c['error-query']}#sig={c['fragment']}"},
        {"url": f"HTTPS://127.0.0.1:{free_port()}/x?sig={c['refused']}"},
        {"url": f"HtTp://{host}/old.xml"},
    ]
    port = free_port()
    config = {
        "state_dir": str(tmp_path / "state"),
        "allow_private_networks": True,
        "feeds": feeds,
        "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang"}],
        "channels": {
            "hook": {
                "type": "webhook",
                "url": f"HTTP://{host}/hook/{c['hook-path']}?token={c['hook-query']}",
                "schedule": "every: 1s",
            }
        },
    }
    # the daemon gets a state directory of its own, so it polls every feed at start
    daemon = {**config, "state_dir": str(tmp_path / "daemon-state"), "metrics": f"127.0.0.1:{port}"}
    once = write_config(tmp_path / "monitor.yaml", config)
    return once, write_config(tmp_path / "daemon.yaml", daemon), port


def test_mixed_case_schemes_keep_their_tokens_out_of_everything(
    tmp_path: Path, http_server, canary_config
) -> None:
    config, daemon_config, port = canary_config
    cfg = ("--config", str(config))
    seen: dict[str, str | bytes] = {}
    once = run_cli("run", "--once", "--log-level", "debug", *cfg, cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    seen["run --once"] = once.stdout + once.stderr
    assert "HTTP 404" in once.stderr and "moved permanently" in once.stderr
    debug_json = ("--log-format", "json", "--log-level", "debug")
    again = run_cli("run", "--once", *debug_json, *cfg, cwd=tmp_path)
    seen["run --once (json)"] = again.stdout + again.stderr
    daemon = DaemonProcess(daemon_config, tmp_path)
    try:
        daemon.wait_for_log("poll failed", count=2)
        daemon.wait_for_log("channel=hook message=")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            seen["/metrics"] = answer.read().decode()
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_log("reloaded:")
    finally:
        daemon.stop()
        daemon.kill()
    seen["daemon"] = daemon.log + daemon.stdout
    for args in (("status",), ("status", "--json")):
        result = run_cli(*args, *cfg, cwd=tmp_path)
        seen[" ".join(args)] = result.stdout + result.stderr
    hook = http_server.requests_to(f"/hook/{CANARIES['hook-path']}")
    assert hook, "the webhook received nothing"
    seen["webhook payloads"] = b"".join(r.body for r in hook)
    for path in sorted([*tmp_path.glob("state/**/*"), *tmp_path.glob("daemon-state/**/*")]):
        if path.is_file():
            seen[f"state file {path.relative_to(tmp_path)}"] = path.read_bytes()
    assert "news_monitor_last_successful_poll_timestamp_seconds{" in seen["/metrics"]
    found = {where: leaks(text) for where, text in seen.items() if leaks(text)}
    assert not found, found


def test_a_refused_feed_url_is_shown_redacted(tmp_path: Path) -> None:
    c = CANARIES
    url = f"FTP://{c['user']}:{c['password']}@feeds.example/rss?APIKEY={c['query']}#{c['fragment']}"
    config = write_config(tmp_path / "monitor.yaml", {"feeds": [{"url": url}], "rules": []})
    result = run_cli("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1 and "unsupported feed URL" in result.stderr
    assert "ftp://feeds.example/rss?…#…" in result.stderr
    assert leaks(result.stdout + result.stderr) == []


def test_an_article_at_an_upper_case_url_keeps_its_link(tmp_path: Path, http_server) -> None:
    serve_seed(http_server)
    url = "HTTP://" + http_server.url("/news/2018/08/15/pompeo-may-be-returning.html")[7:]
    config = write_config(
        tmp_path / "monitor.yaml", {"allow_private_networks": True, "feeds": [], "rules": []}
    )
    result = run_cli("test-rule", "--json", "Pompeo", url, "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0])["link"] == url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("HTTP://h.example/feed?APIKEY=s3cret", "http://h.example/feed?…"),
        ("Http://u:s3cret@h.example:8080/x", "http://h.example:8080/x"),
        ("hTTp://:s3cret@h.example/x", "http://h.example/x"),  # an empty user name
        ("HTTPS://s3cret@[::1]/x#sig=s3cret", "https://[::1]/x#…"),
        ("Ftp://u:s3cret@h.example/x", "ftp://h.example/x"),
    ],
)
def test_redact_url_parses_whatever_the_case(url: str, shown: str) -> None:
    assert redact_url(f"GET {url} failed") == f"GET {shown} failed"
