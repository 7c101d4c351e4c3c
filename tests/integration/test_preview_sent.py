"""``preview --format sent``: each channel's own message, within its bounds, sending
nothing and showing no secret. The CLI runs in a subprocess; the feed and the Slack and
webhook destinations are a real HTTP server on 127.0.0.1 answering 503 (so the stories
stay pending), the SMTP destination a closed port.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from monitor.config import Channel, EmailChannel
from monitor.models import Digest
from monitor.notify.preview import preview_sent
from monitor.notify.render import Renderer
from tests.conftest import run_cli, serve_seed, write_config
from tests.integration.test_channels import make_digest, make_story
from tests.servers import free_port

pytestmark = pytest.mark.integration

SLACK_PATH = "/slack/T1/B2/s3cr3tT0ken"
SECRET = "whsec_" + base64.b64encode(b"k" * 24).decode()


def pending_state(tmp_path: Path, http_server) -> Path:
    """A state with stories pending for four channels that could not deliver them."""
    urls = serve_seed(http_server, "feed-full.xml")
    for path in (SLACK_PATH, "/hook"):
        http_server.respond_post(path, (503, {}, "down"))
    smtp = {"host": "127.0.0.1", "port": free_port(), "starttls": False}
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"url": urls["feed-full.xml"], "backfill": "all"}],
            "rules": [{"name": "korea", "query": "Korea OR Pyongyang OR Seoul OR Typhoon"}],
            "channels": {
                "mail": {
                    "type": "email",
                    "smtp": smtp,
                    "from": "Desk <desk@example.org>",
                    "to": ["analyst@example.org"],
                    "subject_prefix": "[desk]",
                    "max_items": 1,
                },
                "team": {"type": "slack", "webhook_url": http_server.url(SLACK_PATH)},
                "hook": {
                    "type": "webhook",
                    "url": http_server.url("/hook?token=hunter2"),
                    "secret": SECRET,
                },
                "screen": {"type": "console"},
            },
        },
    )
    done = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr  # messages left undelivered
    return config


def channel_sections(out: str) -> dict[str, str]:
    """The preview's output split at its ``=== channel NAME: … ===`` lines."""
    parts = re.split(r"^=== channel (\w+): .*===$", out, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_each_channel_shows_its_own_message_and_nothing_is_sent(tmp_path, http_server):
    config = pending_state(tmp_path, http_server)
    posts = len(http_server.requests)
    shown = run_cli("preview", "--format", "sent", "--config", str(config), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    sections = channel_sections(out)
    assert set(sections) == {"mail", "team", "hook", "screen"}, out

    mail = sections["mail"]
    assert re.search(r"^Subject: \[desk\] .*\S", mail, re.M), mail
    assert "From: Desk <desk@example.org>" in mail and "To: analyst@example.org" in mail
    assert "--- part text/plain ---" in mail and "--- part text/html ---" in mail
    held = re.search(r"this message holds 1 story; (\d+) wait for the next one", mail)
    assert held and int(held.group(1)) >= 1, mail
    assert mail.count("Message-ID:") == 1

    team = sections["team"]
    assert "--- POST 1 of 1 to http://127.0.0.1/… ---" in team, team
    post = json.loads(team.split("---\n", 1)[1])
    assert post["blocks"][0]["type"] == "header" and post["text"], post

    hook = sections["hook"]
    assert "POST http://127.0.0.1/…" in hook and "webhook-id: preview" in hook
    assert "webhook-signature: v1,… (HMAC-SHA256 with the secret, at sending)" in hook
    body = json.loads(hook[hook.index("\n{") :])
    assert body["version"] == 1 and body["items"], body

    assert "=== channel screen: 0 stories pending ===" in out  # the console printed them
    for secret in ("s3cr3tT0ken", "hunter2", SECRET, SECRET[6:]):
        assert secret not in out + shown.stderr
    assert len(http_server.requests) == posts  # nothing was sent


def test_a_story_too_big_for_the_channel_is_reported_as_failing() -> None:
    settings = EmailChannel.model_validate(
        {
            "type": "email",
            "smtp": {"host": "127.0.0.1", "port": 2525, "starttls": False},
            "from": "desk@example.org",
            "to": [f"reader{n}@example.org" for n in range(60)],
            "max_message_bytes": 1024,
        }
    )
    digest: Digest = make_digest(make_story(1))
    shown = preview_sent(settings, digest, Renderer())
    assert shown.failed and shown.text.startswith("this message would fail: message of ")
    assert "max_message_bytes (1024)" in shown.text


def test_a_digest_within_bounds_is_sent_whole() -> None:
    settings = EmailChannel.model_validate(
        {
            "type": "email",
            "smtp": {"host": "127.0.0.1", "port": 2525, "starttls": False},
            "from": "desk@example.org",
            "to": ["reader@example.org"],
        }
    )
    digest = make_digest(make_story(1), make_story(2))
    shown = preview_sent(settings, digest, Renderer())
    assert not shown.failed and (shown.sent, shown.waiting) == (2, 0)
    assert "Subject: [news-monitor] " in shown.text and "To: reader@example.org" in shown.text


def test_apprise_shows_title_body_and_only_the_services_hosts() -> None:
    settings = TypeAdapter(Channel).validate_python(
        {"type": "apprise", "urls": ["tgram://123456:s3cr3tbot@telegram/-100200"]}
    )
    shown = preview_sent(settings, make_digest(make_story(1)), Renderer())
    assert (
        "to: json://hooks.example\n"
        in preview_sent(
            TypeAdapter(Channel).validate_python(
                {"type": "apprise", "urls": ["json://hooks.example/x?token=t0ken"]}
            ),
            make_digest(make_story(1)),
            Renderer(),
        ).text
    )  # a generic post's host is a server: shown
    # a Telegram URL's host may be its bot token: only its scheme is shown
    assert shown.text.startswith("to: tgram://…\ntitle: pompeo: Pompeo"), shown.text
    assert "format: text" in shown.text and "Pompeo visits Pyongyang" in shown.text
    assert "s3cr3tbot" not in shown.text and "123456" not in shown.text
