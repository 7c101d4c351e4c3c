"""The four channels against real servers on 127.0.0.1 (SMTP sink, HTTP receiver)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter
from standardwebhooks.webhooks import Webhook

from monitor.config import Channel
from monitor.errors import DeliveryError
from monitor.models import Digest, Duplicate, FeedRef, Highlight, Item, Match, Story
from monitor.notify import Notifier, build_notifier
from monitor.notify.render import Renderer
from monitor.notify.webhook import build_body, sign
from tests.servers import HttpServer, SmtpSink, free_port

pytestmark = pytest.mark.integration

FEED = FeedRef("JoongAng Daily", "https://koreajoongangdaily.joins.com/rss/news.xml")
SECRET_BYTES = b"correct horse battery staple 123"
SECRET = "whsec_" + base64.b64encode(SECRET_BYTES).decode()
HOOK_PATH = "/hooks/T000/B000/XXXXsecretXXXX?token=s3cr3t"


def make_story(n: int, title: str = "Pompeo visits Pyongyang", rule: str = "pompeo") -> Story:
    """Story ``n`` with 'Pompeo' and 'Pyongyang' highlighted in its title."""
    item = Item(
        feed=FEED,
        id=f"item-{n}",
        title=title,
        link=f"https://example.org/news/{n}?a=1&b=2",
        guid=f"guid-{n}",
        summary=f"Story {n}: Pompeo is expected in Pyongyang next week.",
        published=datetime(2018, 8, 15, 11, 41, tzinfo=UTC),
    )
    highlights = tuple(
        Highlight("title", title.find(w), title.find(w) + len(w), w.lower())
        for w in ("Pompeo", "Pyongyang")
        if w in title
    )
    dup = Duplicate(
        f"dup-{n}",
        "Pompeo heads north",
        f"https://yna.example/{n}",
        FeedRef("Yonhap", "https://yna.example/rss"),
    )
    return Story(f"story-{n}", item, (Match(rule, ("pompeo", "pyongyang"), highlights),), (dup,))


def make_digest(*stories: Story, channel: str = "test") -> Digest:
    return Digest("digest-0001", channel, datetime(2026, 11, 27, 8, 0, tzinfo=UTC), stories)


def channel(**values: Any) -> Any:
    return TypeAdapter(Channel).validate_python(values)


def send(notifier: Notifier, digest: Digest) -> str:
    return asyncio.run(notifier.send(digest))


def send_http(config: Any, digest: Digest, renderer: Renderer | None = None) -> str:
    """Build the notifier with a fresh AsyncClient and send ``digest``."""

    async def go() -> str:
        async with httpx.AsyncClient() as http:
            notifier = build_notifier("test", config, renderer or Renderer(), http)
            return await notifier.send(digest)

    return asyncio.run(go())


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    with HttpServer() as server:
        yield server


def email_config(port: int) -> Any:
    return channel(
        type="email",
        smtp={"host": "127.0.0.1", "port": port, "starttls": False},
        to=["analyst@example.org", "Desk <desk@example.org>"],
        timeout="5s",
        **{"from": "News Monitor <alerts@example.org>"},
    )


# --- console -------------------------------------------------------------------------


def test_console_prints_text_digest() -> None:
    out = io.StringIO()
    notifier = build_notifier("console", channel(type="console"), Renderer(), None, out)  # type: ignore[arg-type]
    assert send(notifier, make_digest(make_story(1), make_story(2))) == "printed 2 stories"
    assert "Pompeo visits Pyongyang" in out.getvalue()


# --- email ---------------------------------------------------------------------------


def test_email_multipart_with_stable_message_id(smtp_sink: SmtpSink) -> None:
    notifier = build_notifier("mail", email_config(smtp_sink.port), Renderer(), None)  # type: ignore[arg-type]
    digest = make_digest(make_story(1, "Pompeo visits Pyongyang\r\nBcc: evil@example.org"))
    answer = send(notifier, digest)
    send(notifier, digest)
    assert answer.startswith("250 ")
    first, second = smtp_sink.messages
    assert first["Message-ID"] == second["Message-ID"] == "<digest-0001@news-monitor>"
    assert (
        first["Subject"] == "[news-monitor] pompeo: Pompeo visits Pyongyang Bcc: evil@example.org"
    )
    assert first["Bcc"] is None
    assert first["To"] == "analyst@example.org, Desk <desk@example.org>"
    assert first.get_content_type() == "multipart/alternative"
    text = first.get_body(("plain",)).get_content()
    html = first.get_body(("html",)).get_content()
    assert "Pompeo visits Pyongyang" in text and "Also reported by: Yonhap" in text
    assert "<strong>Pompeo</strong>" in html
    assert smtp_sink.envelopes[0].mail_from == "alerts@example.org"
    assert smtp_sink.envelopes[0].rcpt_tos == ["analyst@example.org", "desk@example.org"]


@pytest.mark.parametrize(("code", "retryable"), [(451, True), (550, False)])
def test_email_data_refused(smtp_sink: SmtpSink, code: int, retryable: bool) -> None:
    smtp_sink.fail_with = (code, "5.0.0 nope" if code >= 500 else "4.3.0 try later")
    notifier = build_notifier("mail", email_config(smtp_sink.port), Renderer(), None)  # type: ignore[arg-type]
    with pytest.raises(DeliveryError) as info:
        send(notifier, make_digest(make_story(1)))
    assert info.value.retryable is retryable
    assert str(code) in str(info.value)


def test_email_connection_refused_is_retryable() -> None:
    notifier = build_notifier("mail", email_config(free_port()), Renderer(), None)  # type: ignore[arg-type]
    with pytest.raises(DeliveryError) as info:
        send(notifier, make_digest(make_story(1)))
    assert info.value.retryable is True


def test_email_starttls_unsupported_is_permanent(smtp_sink: SmtpSink) -> None:
    config = email_config(smtp_sink.port).model_copy(
        update={"smtp": email_config(smtp_sink.port).smtp.model_copy(update={"starttls": True})}
    )
    notifier = build_notifier("mail", config, Renderer(), None)  # type: ignore[arg-type]
    with pytest.raises(DeliveryError) as info:
        send(notifier, make_digest(make_story(1)))
    assert info.value.retryable is False
    assert "(set starttls: false for a server without TLS, e.g. a local relay)" in str(info.value)


# --- slack ---------------------------------------------------------------------------


def slack_config(server: HttpServer) -> Any:
    return channel(type="slack", webhook_url=server.url(HOOK_PATH), timeout="5s")


def test_slack_block_kit_escapes_feed_text(http_server: HttpServer) -> None:
    evil = make_story(1, "<!channel> Pompeo & <http://evil.example|Pyongyang> @here")
    answer = send_http(slack_config(http_server), make_digest(evil))
    assert answer == f"HTTP 200 from 127.0.0.1:{http_server.port}: ok"
    (request,) = http_server.requests
    payload = json.loads(request.body)
    assert isinstance(payload["text"], str) and payload["blocks"][0]["type"] == "header"
    raw = json.dumps(payload)
    assert "&lt;!channel&gt;" in raw and "<!channel>" not in raw
    assert "<http://evil.example" not in raw and "@here" not in raw
    section = payload["blocks"][2]["text"]["text"]
    assert "*<https://example.org/news/1?a=1&amp;b=2|&lt;!channel&gt; Pompeo &amp; " in section
    assert "Matched: *pompeo*, *pyongyang*" in section
    assert "Also reported by: Yonhap (<https://yna.example/1|Pompeo heads north>)" in section
    for block in payload["blocks"]:
        assert len(block.get("text", {}).get("text", "")) <= 3000


def test_slack_long_digest_splits(http_server: HttpServer) -> None:
    stories = [make_story(n, rule="pompeo" if n % 2 else "pyongyang") for n in range(60)]
    answer = send_http(slack_config(http_server), make_digest(*stories))
    assert len(http_server.requests) >= 3
    assert answer.startswith(f"{len(http_server.requests)} messages; last: HTTP 200")
    seen = []
    for request in http_server.requests:
        blocks = json.loads(request.body)["blocks"]
        assert len(blocks) <= 50
        assert len(blocks[0]["text"]["text"]) <= 150
        seen += [
            b["text"]["text"]
            for b in blocks
            if b["type"] == "section" and "Matched" in b["text"]["text"]
        ]
    assert len(seen) == 60


def test_slack_retry_resumes_after_partial_failure(http_server: HttpServer) -> None:
    http_server.respond_post(
        HOOK_PATH.split("?")[0], (200, None, b"ok"), (503, None, b"busy"), (200, None, b"ok")
    )
    digest = make_digest(*[make_story(n) for n in range(60)])

    async def go() -> tuple[DeliveryError, str]:
        async with httpx.AsyncClient() as http:
            notifier = build_notifier("slack", slack_config(http_server), Renderer(), http)
            with pytest.raises(DeliveryError) as info:
                await notifier.send(digest)
            return info.value, await notifier.send(digest)

    error, answer = asyncio.run(go())
    assert error.retryable and "message 2 of" in str(error)
    parts = int(answer.split(" ", 1)[0])
    assert len(http_server.requests) == parts + 1  # part 1 once, part 2 twice, rest once


# --- webhook -------------------------------------------------------------------------


def webhook_config(server: HttpServer, **extra: Any) -> Any:
    return channel(type="webhook", url=server.url(HOOK_PATH), timeout="5s", **extra)


def test_webhook_body_and_signature(http_server: HttpServer) -> None:
    digest = make_digest(make_story(1), channel="archive")
    answer = send_http(webhook_config(http_server, secret=SECRET), digest)
    assert answer == f"HTTP 200 from 127.0.0.1:{http_server.port}: ok"
    (request,) = http_server.requests
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == "digest-0001"
    body = Webhook(SECRET).verify(request.body, request.headers)
    assert body == build_body(digest)
    assert body == {
        "version": 1,
        "id": "digest-0001",
        "channel": "archive",
        "created_at": "2026-11-27T08:00:00Z",
        "items": [
            {
                "id": "story-1",
                "guid": "guid-1",
                "title": "Pompeo visits Pyongyang",
                "url": "https://example.org/news/1?a=1&b=2",
                "published": "2018-08-15T11:41:00Z",
                "feed": {"name": FEED.name, "url": FEED.url},
                "summary": "Story 1: Pompeo is expected in Pyongyang next week.",
                "rules": ["pompeo"],
                "matched_terms": ["pompeo", "pyongyang"],
                "duplicates": [
                    {
                        "guid": "dup-1",
                        "title": "Pompeo heads north",
                        "url": "https://yna.example/1",
                        "feed": {"name": "Yonhap", "url": "https://yna.example/rss"},
                    }
                ],
            }
        ],
    }


def test_sign_matches_standard_webhooks_with_plain_secret() -> None:
    expected = Webhook(base64.b64encode(b"plain-secret").decode()).sign(
        "id1", datetime.fromtimestamp(1700000000, UTC), '{"a":1}'
    )
    assert sign("plain-secret", "id1", 1700000000, b'{"a":1}') == expected


def test_webhook_without_secret_is_unsigned(http_server: HttpServer) -> None:
    send_http(webhook_config(http_server), make_digest(make_story(1)))
    assert "webhook-signature" not in http_server.requests[0].headers


@pytest.mark.parametrize(
    ("status", "headers", "retryable", "retry_after"),
    [
        (503, {"Retry-After": "7"}, True, 7.0),
        (429, {"Retry-After": "120"}, True, 120.0),
        (500, {}, True, None),
        (400, {}, False, None),
        (404, {}, False, None),
        (301, {"Location": "https://elsewhere.example/x"}, False, None),
    ],
)
def test_webhook_http_errors(
    http_server: HttpServer, status: int, headers: dict, retryable: bool, retry_after: float | None
) -> None:
    http_server.respond_post(HOOK_PATH.split("?")[0], (status, headers, f"echo {HOOK_PATH}"))
    with pytest.raises(DeliveryError) as info:
        send_http(webhook_config(http_server, secret=SECRET), make_digest(make_story(1)))
    error = info.value
    assert (error.retryable, error.retry_after) == (retryable, retry_after)
    assert f"HTTP {status} from 127.0.0.1:{http_server.port}" in str(error)
    assert "XXXXsecretXXXX" not in str(error) and "s3cr3t" not in str(error)
    assert SECRET not in str(error)


@pytest.mark.parametrize("kind", ["webhook", "slack"])
def test_connection_refused_is_retryable_and_secret_free(kind: str) -> None:
    url = f"http://127.0.0.1:{free_port()}{HOOK_PATH}"
    config = (
        channel(type="webhook", url=url, secret=SECRET)
        if kind == "webhook"
        else channel(type="slack", webhook_url=url)
    )
    with pytest.raises(DeliveryError) as info:
        send_http(config, make_digest(make_story(1)))
    assert info.value.retryable is True
    assert "XXXXsecretXXXX" not in str(info.value) and "s3cr3t" not in str(info.value)


def test_timeout_is_retryable() -> None:
    with socket.socket() as sock:  # accepts (backlog) but never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        config = channel(type="webhook", url=f"http://127.0.0.1:{port}{HOOK_PATH}", timeout="0.3s")
        with pytest.raises(DeliveryError) as info:
            send_http(config, make_digest(make_story(1)))
    assert info.value.retryable is True and "timeout" in str(info.value)
    assert "s3cr3t" not in str(info.value)
