"""Times in the channel's time zone: email, Slack and console, built-in and user templates.

The seed story was published Wed, 15 Aug 2018 20:41 +0900 (11:41 UTC). `run --once`
runs in a subprocess against the seed feed on a real HTTP server; email goes to a
real SMTP sink, Slack posts to the same HTTP server.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, serve_seed, write_config
from tests.servers import HttpServer, SmtpSink

pytestmark = pytest.mark.integration

SEOUL = "2018-08-15 20:41 KST"  # the seed story's publication, as Seoul reads it


def seed_config(tmp_path: Path, server: HttpServer, channels: dict[str, Any], **extra: Any) -> Path:
    """The seed feed (backfill all), one rule, ``channels``; written to monitor.yaml."""
    feed = serve_seed(server, "feed-full.xml")["feed-full.xml"]
    config = {
        "state_dir": str(tmp_path / "state"),
        "allow_private_networks": True,
        "feeds": [{"url": feed, "name": "JoongAng", "backfill": "all"}],
        "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang"}],
        "channels": channels,
        **extra,
    }
    return write_config(tmp_path / "monitor.yaml", config)


def run_once(config: Path, cwd: Path) -> str:
    """`run --once`; its stdout (console channels). Fails the test on a non-zero exit."""
    done = run_cli("run", "--once", "--config", str(config), cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_email_and_slack_show_local_time_with_the_zone(
    tmp_path: Path, http_server: HttpServer, smtp_sink: SmtpSink
) -> None:
    email = {
        "type": "email",
        "smtp": {"host": "127.0.0.1", "port": smtp_sink.port, "starttls": False},
        "from": "monitor@example.org",
        "to": ["desk@example.org"],
        "timezone": "Asia/Seoul",
    }
    slack = {"type": "slack", "webhook_url": http_server.url("/slack")}  # the global zone
    config = seed_config(
        tmp_path, http_server, {"mail": email, "team": slack}, timezone="Asia/Seoul"
    )
    http_server.respond_post("/slack", (200, {}, "ok"))

    run_once(config, tmp_path)

    assert smtp_sink.wait_for_messages(1)
    message = smtp_sink.messages[0]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert f"JoongAng · {SEOUL}" in text
    assert SEOUL in html
    assert "UTC" not in text + html
    assert message["Date"].endswith("+0900")
    posts = [json.loads(r.body) for r in http_server.requests_to("/slack")]
    assert len(posts) == 1
    contexts = [b for b in posts[0]["blocks"] if b["type"] == "context"]
    assert contexts[0]["elements"][0]["text"] == f"JoongAng · {SEOUL}"


def test_user_templates_get_datetimes_and_the_localtime_filter(
    tmp_path: Path, http_server: HttpServer
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "digest.txt.j2").write_text(
        "{% for story in stories %}"
        'at {{ story.published_time | localtime("%d.%m.%Y %H:%M %Z") }};'
        " hour {{ story.published_time.hour }};"
        " default {{ story.published_time | localtime }};"
        " string {{ story.published }};"
        " zone {{ timezone }}\n"
        "{% endfor %}"
        "sent in {{ digest.created_time.tzinfo }}\n"
    )
    console = {"type": "console", "timezone": "Europe/Berlin"}
    config = seed_config(tmp_path, http_server, {"out": console}, templates_dir=str(templates))

    out = run_once(config, tmp_path)

    assert "at 15.08.2018 13:41 CEST;" in out
    assert "hour 13;" in out
    assert "default 2018-08-15 13:41 CEST;" in out
    assert "string 2018-08-15 13:41 CEST;" in out
    assert "zone Europe/Berlin" in out
    assert "sent in Europe/Berlin" in out


def test_localtime_on_a_string_is_reported_by_check_and_falls_back(
    tmp_path: Path, http_server: HttpServer
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "digest.txt.j2").write_text(
        "{% for story in stories %}\n{{ story.published | localtime }}\n{% endfor %}\n"
    )
    config = seed_config(
        tmp_path,
        http_server,
        {"out": {"type": "console"}},
        templates_dir=str(templates),
        timezone="Asia/Seoul",
    )

    check = run_cli("check", "--config", str(config), cwd=tmp_path)
    assert check.returncode == 1
    assert f"{templates / 'digest.txt.j2'}:2:1: TypeError: localtime needs a datetime" in (
        check.stdout + check.stderr
    )

    done = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0
    assert f"JoongAng · {SEOUL}" in done.stdout  # the built-in template, in the global zone
    failures = [line for line in done.stderr.splitlines() if "localtime needs a datetime" in line]
    assert len(failures) == 1
    assert "Traceback" not in done.stderr


def test_status_text_shows_the_configured_zone_and_json_stays_utc(
    tmp_path: Path, http_server: HttpServer
) -> None:
    config = seed_config(tmp_path, http_server, {"out": {"type": "console"}}, timezone="Asia/Seoul")
    run_once(config, tmp_path)

    text = run_cli("status", "--config", str(config), cwd=tmp_path)
    report = json.loads(run_cli("status", "--json", "--config", str(config), cwd=tmp_path).stdout)

    assert text.returncode == 0, text.stderr
    assert "FEEDS (times in Asia/Seoul)" in text.stdout
    (feed_line,) = [line for line in text.stdout.splitlines() if "JoongAng:" in line]
    assert "last success 20" in feed_line and " KST;" in feed_line  # 2026-… HH:MM KST
    assert "Z" not in feed_line.split("last success", 1)[1]
    (channel_line,) = [line for line in text.stdout.splitlines() if "  out:" in line]
    assert channel_line.rstrip().endswith("KST")
    # JSON is for programs: UTC, as stored
    assert report["timezone"] == "Asia/Seoul"
    last_success = datetime.fromisoformat(report["feeds"][0]["last_success"])
    assert last_success.utcoffset() == timedelta(0)
