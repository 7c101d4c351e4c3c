"""A multi-part Slack digest resumes at the first part not accepted, in a new process.

The receiver is a real HTTP server on 127.0.0.1 (tests/servers.py); the daemon is the
CLI (``run --once``) in a subprocess, run twice on one state directory: the first run
gets part 2 refused (HTTP 500) and exits, the second (a restarted daemon, nothing in
memory) sends the same message again. Each part must be accepted once.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from monitor.store.sqlite import DB_NAME
from tests.conftest import run_cli, write_config
from tests.integration.test_delivery import config_dict, rss_item, write_feed
from tests.servers import HttpServer

pytestmark = pytest.mark.integration

HOOK = "/services/T000/B000/resume"
STORIES = 60  # two blocks a story, 50 a post: three posts


def part_numbers(server: HttpServer) -> list[tuple[int, int]]:
    """``(part, of parts)`` of each post to the hook, in arrival order, from its header."""
    parts = []
    for request in server.requests_to(HOOK):
        header = json.loads(request.body)["blocks"][0]["text"]["text"]
        found = re.search(r"\((\d+)/(\d+)\)$", header)
        assert found, header
        parts.append((int(found[1]), int(found[2])))
    return parts


def test_a_restarted_daemon_resends_only_the_parts_not_accepted(
    tmp_path: Path, http_server: HttpServer
) -> None:
    # part 1 accepted, part 2 refused; then every post accepted
    http_server.respond_post(HOOK, (200, None, b"ok"), (500, None, b"boom"), (200, None, b"ok"))
    channel = {"type": "slack", "webhook_url": http_server.url(HOOK), "timeout": "5s"}
    config = write_config(tmp_path / "monitor.yaml", config_dict(tmp_path, {"team": channel}))
    write_feed(tmp_path / "feed.xml", [rss_item(n) for n in range(1, STORIES + 1)])

    first = run_cli("run", "--once", "-c", str(config), cwd=tmp_path)
    assert first.returncode == 3, first.stderr  # a channel could not deliver: retry later
    assert part_numbers(http_server) == [(1, 3), (2, 3)]
    with sqlite3.connect(tmp_path / "state" / DB_NAME) as conn:
        stored = conn.execute("SELECT status, parts_sent FROM messages").fetchall()
    assert stored == [("pending", 1)]

    second = run_cli("run", "--once", "--retry-now", "-c", str(config), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    posts = part_numbers(http_server)
    assert posts == [(1, 3), (2, 3), (2, 3), (3, 3)]  # the refused part 2 again, then 3
    with sqlite3.connect(tmp_path / "state" / DB_NAME) as conn:
        assert conn.execute("SELECT status FROM messages").fetchall() == [("sent",)]
        sent = conn.execute("SELECT COUNT(*) FROM outbox WHERE status = 'sent'").fetchone()
    assert sent == (STORIES,)
