"""Hostile feed text has no effect on any channel: no header or recipient added, no Slack
ping, no HTML, no template evaluation. Feeds on a real HTTP server, `run --once`."""

from __future__ import annotations

import html
import json

import pytest

from tests.conftest import run_cli, write_config
from tests.integration.test_delivery import rss_item, write_feed
from tests.servers import HttpServer, SmtpSink

pytestmark = pytest.mark.integration

TITLES = [
    "Pompeo in Pyongyang\r\nBcc: x@y.example",
    "Pompeo in Pyongyang =?UTF-8?Q?=0A?=Bcc: x@y.example",
    "Pompeo in Pyongyang <!channel> <@U123> <!here|here>",
    "Pompeo in Pyongyang <img src=x onerror=alert(1)>",
    "Pompeo in Pyongyang {{ 7*7 }} {{ 'EVAL' ~ 'UATED' }} {% raw %}",
]


@pytest.fixture
def delivered(tmp_path, http_server: HttpServer, smtp_sink: SmtpSink):
    """Send one item per hostile title through email, Slack and webhook; return both servers."""
    # Titles are HTML in RSS: escape them once so the item's text is exactly TITLES.
    items = [rss_item(n, html.escape(title)) for n, title in enumerate(TITLES, 1)]
    write_feed(tmp_path / "feed.xml", items)
    smtp = {"host": "127.0.0.1", "port": smtp_sink.port, "starttls": False}
    channels = {
        "mail": {"type": "email", "smtp": smtp, "from": "a@example.org", "to": ["b@example.org"]},
        "slack": {"type": "slack", "webhook_url": http_server.url("/slack/T0/B0/x")},
        "hook": {"type": "webhook", "url": http_server.url("/hook")},
        "console": {"type": "console"},
    }
    config = {
        "state_dir": str(tmp_path / "state"),
        "allow_private_networks": True,
        "feeds": [{"url": f"file:{tmp_path / 'feed.xml'}", "name": "Evil <b>feed</b>"}],
        "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang"}],
        "channels": channels,
    }
    config["feeds"][0]["backfill"] = "all"
    path = write_config(tmp_path / "monitor.yaml", config)
    result = run_cli("run", "--once", "-c", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return smtp_sink, http_server, result.stdout


def test_no_header_or_recipient_from_feed_text(delivered):
    smtp_sink, _, _ = delivered
    (message,) = smtp_sink.messages
    assert smtp_sink.envelopes[0].rcpt_tos == ["b@example.org"]
    assert message["Bcc"] is None and message.get_all("Bcc") is None
    allowed = {
        "Subject", "From", "To", "Date", "Message-ID", "Auto-Submitted",
        "X-News-Monitor-Channel", "MIME-Version", "Content-Type",
        "X-Peer", "X-MailFrom", "X-RcptTo",  # added by the receiving sink
    }  # fmt: skip
    assert set(message.keys()) <= allowed
    assert "\n" not in str(message["Subject"]) and "\r" not in str(message["Subject"])


def test_email_html_is_escaped_and_templates_do_not_evaluate_feed_text(delivered):
    smtp_sink, _, console = delivered
    (message,) = smtp_sink.messages
    part = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "<img" not in part and "&lt;img src=x onerror=alert(1)&gt;" in part
    assert "<b>feed</b>" not in part and "&lt;b&gt;feed&lt;/b&gt;" in part
    assert "<img src=x onerror=alert(1)>" in text  # plain text: shown as written
    # A marker no clock or count can print: "49" alone would be in a "12:49 UTC" timestamp.
    for rendered in (part, text, console):
        assert "{{ 7*7 }} {{ 'EVAL' ~ 'UATED' }}" in html.unescape(rendered)
        assert "EVALUATED" not in rendered


def test_slack_text_is_escaped_so_nobody_is_pinged(delivered):
    _, http_server, _ = delivered
    (request,) = http_server.requests_to("/slack/T0/B0/x")
    raw = json.dumps(json.loads(request.body), ensure_ascii=False)
    for mention in ("<!channel>", "<@U123>", "<!here", "<img"):
        assert mention not in raw
    assert "&lt;!channel&gt;" in raw and "&lt;@U123&gt;" in raw


def test_webhook_carries_the_text_verbatim_as_json(delivered):
    _, http_server, _ = delivered
    (request,) = http_server.requests_to("/hook")
    titles = {item["title"] for item in json.loads(request.body)["items"]}
    assert "Pompeo in Pyongyang <img src=x onerror=alert(1)>" in titles
    assert any("{{ 7*7 }}" in t for t in titles)
    assert any(t.startswith("Pompeo in Pyongyang <!channel> <@U123>") for t in titles)
