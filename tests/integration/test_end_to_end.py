"""The whole product, from feeds on a real HTTP server to every channel, via the CLI."""

from __future__ import annotations

import base64
import email.policy
import json
import re
from email import message_from_bytes
from html import unescape
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from tests.conftest import run_cli, serve_seed, write_config
from tests.servers import HttpServer, SmtpSink

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
SEED_GUID = "jad-3052260"
SEED_TITLE = "Pompeo may be returning to Pyongyang soon"


def make_config(
    tmp_path: Path, http: HttpServer, smtp: SmtpSink, feed_urls: list[str], expected: dict
) -> Path:
    """A config with every channel type pointed at the local servers."""
    return write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [
                {"url": u, "backfill": "all", "name": f"feed{i}"} for i, u in enumerate(feed_urls)
            ],
            "rules": [{"name": n, "query": q} for n, q in expected["rules"].items()],
            "channels": {
                "console": {"type": "console"},
                "mail": {
                    "type": "email",
                    "smtp": {"host": "127.0.0.1", "port": smtp.port, "starttls": False},
                    "from": "alerts@example.org",
                    "to": ["analyst@example.org"],
                    "schedule": "cron: 0 7 * * *",
                    "timezone": "Asia/Seoul",
                },
                "slack": {"type": "slack", "webhook_url": http.url("/slack/T000/B000/XXXX")},
                "archive": {
                    "type": "webhook",
                    "url": http.url("/hook"),
                    "secret": SECRET,
                    "schedule": "every: 15m",
                },
            },
        },
    )


def webhook_alerts(http: HttpServer) -> set[tuple[str, str]]:
    """(rule, guid) pairs in every webhook body received (accepted or not)."""
    pairs = set()
    for request in http.requests_to("/hook"):
        for item in json.loads(request.body)["items"]:
            pairs |= {(rule, item["guid"]) for rule in item["rules"]}
    return pairs


def expected_pairs(scenario: dict) -> set[tuple[str, str]]:
    return {(rule, guid) for rule, guids in scenario["expect"].items() for guid in guids}


@pytest.mark.parametrize("index", [0, 2], ids=["full-text-feed", "teaser-feed-no-fulltext"])
def test_scenario_alerts_on_every_channel(tmp_path, http_server, smtp_sink, expected, index):
    scenario = expected["scenarios"][index]
    urls = serve_seed(http_server, *scenario["feeds"])
    config = make_config(tmp_path, http_server, smtp_sink, list(urls.values()), expected)

    first = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr

    # webhook: exactly the expected (rule, item) pairs, one signed POST
    assert webhook_alerts(http_server) == expected_pairs(scenario)
    (hook,) = http_server.requests_to("/hook")
    body = json.loads(hook.body)
    Webhook(SECRET).verify(hook.body, hook.headers)  # raises if the signature is wrong
    assert body["version"] == 1 and body["channel"] == "archive" and body["id"]
    assert hook.headers["webhook-id"] == body["id"]
    (item,) = body["items"]
    assert item["title"] == SEED_TITLE and item["published"] == "2018-08-15T11:41:00Z"
    assert item["url"].startswith(http_server.base_url)
    assert set(item) >= {
        "id",
        "guid",
        "title",
        "url",
        "published",
        "feed",
        "summary",
        "rules",
        "matched_terms",
        "duplicates",
    }
    assert {"pompeo", "pyongyang"} <= set(item["matched_terms"])

    # email: one multipart message with text and HTML parts naming the story
    assert len(smtp_sink.messages) == 1
    mail = smtp_sink.messages[0]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "<strong>Pyongyang</strong>" in html  # matched terms highlighted
    assert f'href="{item["url"]}"' in html and item["url"] in text
    for part in (text, unescape(re.sub(r"<[^>]+>", "", html))):
        assert "Pyongyang soon" in part
        assert "Tokyo" not in part and "Seoul shares" not in part

    # slack: valid Block Kit
    (slack,) = http_server.requests_to("/slack/T000/B000/XXXX")
    payload = json.loads(slack.body)
    assert isinstance(payload["blocks"], list) and payload["text"]
    assert all(b["type"] in {"header", "section", "context", "divider"} for b in payload["blocks"])
    assert "Pyongyang" in json.dumps(payload)

    # console: the alert on stdout
    assert SEED_TITLE in first.stdout and "Tokyo" not in first.stdout

    # a second pass sends nothing new
    before = len(http_server.requests)
    second = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    posts = [r for r in http_server.requests[before:] if r.method == "POST"]
    assert posts == [] and len(smtp_sink.messages) == 1
    assert SEED_TITLE not in second.stdout


def test_destination_down_then_up_loses_nothing_and_sends_once(
    tmp_path, http_server, smtp_sink, expected
):
    urls = serve_seed(http_server, "feed-full.xml")
    config = make_config(tmp_path, http_server, smtp_sink, list(urls.values()), expected)
    http_server.respond_post("/hook", (503, {"Retry-After": "1"}, "down"))
    http_server.respond_post("/slack/T000/B000/XXXX", (500, {}, "oops"))
    smtp_sink.fail_with = (451, "4.3.0 try again later")

    down = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert down.returncode == 3, down.stderr  # channels could not deliver
    assert len(http_server.requests_to("/hook")) == 1 and smtp_sink.messages == []
    status = json.loads(run_cli("status", "--json", "--config", str(config), cwd=tmp_path).stdout)
    channels = {c["name"]: c for c in status["channels"]}
    assert channels["archive"]["pending"] == 2 and "503" in channels["archive"]["last_error"]
    assert channels["mail"]["pending"] == 2  # one alert per rule

    http_server.respond_post("/hook", (200, {}, "ok"))
    http_server.respond_post("/slack/T000/B000/XXXX", (200, {}, "ok"))
    smtp_sink.fail_with = None
    up = run_cli("run", "--once", "--retry-now", "--config", str(config), cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    hooks = http_server.requests_to("/hook")
    assert len(hooks) == 2
    assert hooks[0].headers["webhook-id"] == hooks[1].headers["webhook-id"]  # same id on retry
    assert len(smtp_sink.messages) == 1
    assert len(http_server.requests_to("/slack/T000/B000/XXXX")) == 2

    again = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert again.returncode == 0
    assert len(http_server.requests_to("/hook")) == 2 and len(smtp_sink.messages) == 1
    status = json.loads(run_cli("status", "--json", "--config", str(config), cwd=tmp_path).stdout)
    for channel in status["channels"]:
        assert channel["pending"] == 0 and channel["failed"] == 0, channel


def test_email_message_id_is_stable_and_parts_parse(tmp_path, http_server, smtp_sink, expected):
    urls = serve_seed(http_server, "feed-full.xml")
    config = make_config(tmp_path, http_server, smtp_sink, list(urls.values()), expected)
    assert run_cli("run", "--once", "--config", str(config), cwd=tmp_path).returncode == 0
    raw = smtp_sink.messages[0].as_bytes()
    mail = message_from_bytes(raw, policy=email.policy.default)
    assert mail["Message-ID"].endswith("@news-monitor>")
    assert mail.get_content_type() == "multipart/alternative"
