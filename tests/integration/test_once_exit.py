"""``run --once`` tells a timer when it failed (issue #15 point 8).

The CLI in a subprocess, a real HTTP server for the feeds and the webhook. Exit codes
(docs/operations.md): 0 everything polled and delivered; 3 a channel could not
deliver (a message left retrying, or failed, in this run); 4 every feed failed. A
retryable failure is logged as waiting for the next run, not as a backoff nobody in
this process waits for.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import run_cli, serve_seed, write_config
from tests.servers import HttpServer


def once(tmp_path, server: HttpServer, feeds: list[str], webhook_status: int) -> Any:
    """``run --once`` over ``feeds`` with one webhook channel answering ``webhook_status``."""
    server.respond_post("/hook", (webhook_status, {}, b"answer"))
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"url": url, "backfill": "all"} for url in feeds],
            "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang", "notify": ["hook"]}],
            "channels": {
                "hook": {"type": "webhook", "url": server.url("/hook"), "timeout": "5s"},
            },
        },
    )
    return run_cli("run", "--once", "--config", str(config), cwd=tmp_path)


def test_all_polled_and_delivered_exits_0(tmp_path, http_server):
    urls = serve_seed(http_server, "feed-full.xml")
    result = once(tmp_path, http_server, list(urls.values()), 200)
    assert result.returncode == 0, result.stderr
    assert len(http_server.requests_to("/hook")) == 1
    assert "exit=0" in result.stderr


def test_a_retryable_failure_exits_3_and_waits_for_the_next_run(tmp_path, http_server):
    urls = serve_seed(http_server, "feed-full.xml")
    result = once(tmp_path, http_server, list(urls.values()), 503)
    assert result.returncode == 3, result.stderr
    assert "failed, retry at the next run: " in result.stderr
    assert "retry in" not in result.stderr
    assert "retrying=1" in result.stderr and "channels_undelivered=hook" in result.stderr


def test_a_dead_letter_exits_3(tmp_path, http_server):
    urls = serve_seed(http_server, "feed-full.xml")
    result = once(tmp_path, http_server, list(urls.values()), 404)
    assert result.returncode == 3, result.stderr
    assert "dead letter" in result.stderr and "failed_messages=1" in result.stderr


def test_every_feed_failed_exits_4(tmp_path, http_server):
    http_server.route("/gone-a.xml", b"no", status=500)
    feeds = [http_server.url("/gone-a.xml"), http_server.url("/missing-b.xml")]
    result = once(tmp_path, http_server, feeds, 200)
    assert result.returncode == 4, result.stderr
    assert "feeds=2 failed=2" in result.stderr and "Traceback" not in result.stderr


def test_one_feed_of_two_failing_is_not_a_failed_run(tmp_path, http_server):
    urls = serve_seed(http_server, "feed-full.xml")
    feeds = [*urls.values(), http_server.url("/missing.xml")]
    result = once(tmp_path, http_server, feeds, 200)
    assert result.returncode == 0, result.stderr
    assert "feeds=2 failed=1" in result.stderr
