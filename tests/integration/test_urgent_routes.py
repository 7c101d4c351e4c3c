"""Urgency per route: a rule urgent on one channel while another waits for its schedule.

The daemon runs in a subprocess; the webhook posts to a real HTTP server and the
email channel (cron far in the future: 1 January, 00:00) to a real SMTP sink.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli, write_config
from tests.integration.daemon_helpers import DaemonProcess
from tests.servers import HttpServer, SmtpSink

pytestmark = pytest.mark.integration

FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>Desk</title>
<item><title>Pompeo lands in Pyongyang</title><link>https://news.example/1</link>
<guid isPermaLink="false">pompeo-1</guid><description>Pompeo arrived.</description></item>
<item><title>Flood warning for Seoul</title><link>https://news.example/2</link>
<guid isPermaLink="false">flood-1</guid><description>Heavy rain.</description></item>
</channel></rss>"""


def test_urgent_on_the_webhook_only_while_the_cron_email_waits(
    tmp_path: Path, http_server: HttpServer, smtp_sink: SmtpSink
) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text(FEED)
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "feeds": [{"url": f"file:{feed}", "name": "Desk", "backfill": "all"}],
            "rules": [
                {
                    "name": "pompeo",
                    "query": "Pompeo",
                    "notify": [{"channel": "hook", "urgent": True}, "mail"],
                },
                # The control: urgent on every channel, so the email channel did form
                # its urgent message before the test looks at what it held back.
                {"name": "flood", "query": "flood", "urgent": True, "notify": ["mail"]},
            ],
            "channels": {
                "hook": {"type": "webhook", "url": http_server.url("/hook"), "group_wait": "1h"},
                "mail": {
                    "type": "email",
                    "schedule": "cron: 0 0 1 1 *",
                    "smtp": {"host": "127.0.0.1", "port": smtp_sink.port, "starttls": False},
                    "from": "monitor@example.org",
                    "to": ["desk@example.org"],
                },
            },
        },
    )
    daemon = DaemonProcess(config, tmp_path)
    try:
        assert http_server.wait_for_requests(1, timeout=60), daemon.log
        assert smtp_sink.wait_for_messages(1, timeout=60), daemon.log
    finally:
        code = daemon.stop()
        daemon.kill()
    assert code == 0, daemon.log

    hooks = [json.loads(r.body) for r in http_server.requests_to("/hook")]
    assert [[i["guid"] for i in body["items"]] for body in hooks] == [["pompeo-1"]]
    assert len(smtp_sink.messages) == 1
    mail_text = smtp_sink.messages[0].get_body(("plain",)).get_content()
    assert "Flood warning for Seoul" in mail_text
    assert "Pompeo" not in mail_text
    waiting = run_cli("preview", "--channel", "mail", "--config", str(config), cwd=tmp_path)
    assert "=== channel mail: 1 story pending ===" in waiting.stdout, waiting.stderr
    assert "Pompeo lands in Pyongyang" in waiting.stdout


def test_check_reports_an_unknown_channel_of_a_route_at_its_position(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "state_dir: state\n"
        "channels:\n"
        "  out: {type: console}\n"
        "rules:\n"
        "  - name: pompeo\n"
        "    query: Pompeo\n"
        "    notify:\n"
        "      - out\n"
        "      - {channel: team-slak, urgent: true}\n"
        "      - channel: nowhere\n"
    )

    done = run_cli("check", "--config", str(config), cwd=tmp_path)

    assert done.returncode == 1
    out = done.stdout + done.stderr
    assert f"{config}:9:19: rule 'pompeo' notifies unknown channel 'team-slak'" in out
    assert f"{config}:10:18: rule 'pompeo' notifies unknown channel 'nowhere'" in out
    assert "Traceback" not in out


def test_check_names_an_unknown_option_of_a_route(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "state_dir: state\n"
        "channels:\n"
        "  out: {type: console}\n"
        "rules:\n"
        "  - name: pompeo\n"
        "    query: Pompeo\n"
        "    notify: [{channel: out, urgnt: true}]\n"
    )

    done = run_cli("check", "--config", str(config), cwd=tmp_path)

    assert done.returncode == 1
    assert f"{config}:7:29: unknown key 'urgnt'" in done.stdout + done.stderr
