"""`send-test` sends a test: marked as one, dated now, a fresh id each run, the real channel.

The CLI runs in a subprocess; email goes to a real SMTP sink, the webhook to a real
HTTP server.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from tests.conftest import run_cli, write_config
from tests.servers import HttpServer, SmtpSink

pytestmark = pytest.mark.integration


def send_test(config: Path, channel: str, cwd: Path) -> None:
    """Run `send-test CHANNEL`; fail the test unless it reports ok."""
    done = run_cli("send-test", channel, "--config", str(config), cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"{channel}: ok"), done.stdout


def near_now(when: datetime) -> bool:
    """Whether ``when`` is this test run's present (not a fixed date in the past)."""
    return abs(datetime.now(UTC) - when) < timedelta(minutes=10)


def test_two_send_tests_are_two_marked_current_messages(
    tmp_path: Path, http_server: HttpServer, smtp_sink: SmtpSink
) -> None:
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "channels": {
                "analyst-email": {
                    "type": "email",
                    "smtp": {"host": "127.0.0.1", "port": smtp_sink.port, "starttls": False},
                    "from": "monitor@example.org",
                    "to": ["desk@example.org"],
                },
                "archive": {"type": "webhook", "url": http_server.url("/hook")},
            },
        },
    )

    for _ in range(2):
        send_test(config, "analyst-email", tmp_path)
        send_test(config, "archive", tmp_path)

    first, second = smtp_sink.messages
    assert first["Message-ID"] != second["Message-ID"]
    for message in (first, second):
        assert message["Subject"].strip().startswith("[TEST] ")  # folded: a leading space
        assert message["X-News-Monitor-Test"] == "1"
        assert message["X-News-Monitor-Channel"] == "analyst-email"
        assert near_now(parsedate_to_datetime(message["Date"]))
        assert "This is a test message" in message.get_body(("plain",)).get_content()

    posts = http_server.requests_to("/hook")
    assert len(posts) == 2
    assert posts[0].headers["webhook-id"] != posts[1].headers["webhook-id"]
    bodies = [json.loads(p.body) for p in posts]
    assert bodies[0]["id"] != bodies[1]["id"]
    for post, body in zip(posts, bodies, strict=True):
        assert body["test"] is True
        assert body["channel"] == "archive"
        assert body["id"] == post.headers["webhook-id"]
        created = datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
        assert near_now(created)
