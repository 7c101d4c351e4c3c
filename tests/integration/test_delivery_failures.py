"""Every channel's failure modes, through the real pipeline, against real local servers.

SMTP: connection refused, 421/451 then OK, 550, some recipients refused. Webhook:
500 then 200, 302 (not followed), 404, timeout. Slack: 429 with ``Retry-After: 2``
and a burst of 50 alerts (≥ 1 s between posts, none lost). Apprise: a ``json://``
URL pointing at a local receiver.
"""

from __future__ import annotations

import json
import re
import socket
import time
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from monitor.delivery import deliver_channel
from monitor.pipeline import poll_all
from monitor.store.status import channel_summary, dead_letters
from tests.conftest import REPO, run_cli, write_config
from tests.integration.test_delivery import Clock, poll_then, rss_item, run, runtime, write_feed
from tests.servers import HttpServer, RecordedRequest, SmtpSink, free_port

pytestmark = pytest.mark.integration


class ScriptedSink(SmtpSink):
    """An SMTP sink answering DATA from a script (then 250) and refusing some recipients.

    ``attempts`` keeps the Message-ID of every DATA, accepted or not.
    """

    def __init__(
        self, *answers: tuple[int, str], refuse: tuple[str, ...] = (), defer: tuple[str, ...] = ()
    ) -> None:
        super().__init__()
        self.answers = list(answers)
        self.refuse = set(refuse)
        self.defer = set(defer)  # refused for now, once each (greylisting)
        self.attempts: list[str] = []

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        """Refuse the addresses in ``refuse`` with 550, those in ``defer`` once with 450,
        accept the others."""
        if address in self.refuse:
            return "550 5.1.1 no such user"
        if address in self.defer:
            self.defer.discard(address)
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        """Record the attempt, then answer the next scripted reply (or accept)."""
        content = envelope.original_content or envelope.content
        for line in content.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                self.attempts.append(line.split(b":", 1)[1].strip().decode())
        self.fail_with = self.answers.pop(0) if self.answers else None
        return await super().handle_DATA(server, session, envelope)


class TimedServer(HttpServer):
    """An HTTP server that also records the monotonic arrival time of each request."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[float] = []

    def _record(self, request: RecordedRequest) -> None:
        self.arrivals.append(time.monotonic())
        super()._record(request)


def mail(port: int, to: list[str] | None = None) -> dict[str, Any]:
    """An email channel to a plain SMTP server on 127.0.0.1:``port``."""
    return {
        "type": "email",
        "smtp": {"host": "127.0.0.1", "port": port, "starttls": False},
        "from": "alerts@example.org",
        "to": to or ["analyst@example.org"],
        "timeout": "30s",  # generous: a loaded CI machine must not turn a reply into a timeout
        "group_wait": "0s",
    }


# --- SMTP ----------------------------------------------------------------------------


def test_smtp_connection_refused_is_retried(tmp_path):
    rt = runtime(tmp_path, {"mail": mail(free_port())}, Clock())
    write_feed(tmp_path / "feed.xml", [rss_item(1)])
    report = run(poll_then(rt, "mail"))
    assert report.retrying == 1 and report.sent == 0
    summary = channel_summary(rt.store)["mail"]
    assert summary["pending"] == 1 and "cannot reach SMTP server" in summary["last_error"]
    assert summary["next_attempt"] is not None
    rt.store.close()


def test_smtp_421_and_451_then_ok_resend_the_same_message_id(tmp_path):
    with ScriptedSink((421, "4.7.0 busy"), (451, "4.3.0 try later")) as sink:
        clock = Clock()
        rt = runtime(tmp_path, {"mail": mail(sink.port)}, clock)
        write_feed(tmp_path / "feed.xml", [rss_item(1)])
        assert run(poll_then(rt, "mail")).retrying == 1
        assert run(deliver_channel(rt, "mail")).sent == 0  # waits for its backoff
        assert run(deliver_channel(rt, "mail", ignore_backoff=True)).retrying == 1
        clock.advance(3600)
        assert run(deliver_channel(rt, "mail")).sent == 1
        rt.store.close()
    assert len(sink.attempts) == 3 and len(set(sink.attempts)) == 1
    (message,) = sink.messages
    assert message["Message-ID"] == sink.attempts[0]


def test_smtp_550_is_a_dead_letter(tmp_path):
    with ScriptedSink((550, "5.7.1 rejected")) as sink:
        rt = runtime(tmp_path, {"mail": mail(sink.port)}, Clock())
        write_feed(tmp_path / "feed.xml", [rss_item(1)])
        assert run(poll_then(rt, "mail")).failed == 1
        (dead,) = dead_letters(rt.store)
        assert "550" in dead["error"] and dead["attempts"] == 1
        rt.store.close()
    assert sink.messages == []


def test_smtp_some_recipients_refused_is_sent_and_recorded(tmp_path):
    to = ["analyst@example.org", "gone@example.org"]
    with ScriptedSink(refuse=("gone@example.org",)) as sink:
        rt = runtime(tmp_path, {"mail": mail(sink.port, to)}, Clock())
        write_feed(tmp_path / "feed.xml", [rss_item(1)])
        assert run(poll_then(rt, "mail")).sent == 1
        summary = channel_summary(rt.store)["mail"]
        rt.store.close()
    assert sink.envelopes[0].rcpt_tos == ["analyst@example.org"]
    assert "refused: gone@example.org" in summary["last_answer"]
    assert summary["failed"] == 0 and summary["sent"] == 1


def test_smtp_a_recipient_refused_for_now_gets_the_retry_alone(tmp_path):
    # RFC 5321 4.2: each RCPT has its own reply; 4xx is "try again later". Sending the
    # whole mail again would duplicate it for the others; not sending it loses it.
    to = ["analyst@example.org", "busy@example.org", "gone@example.org"]
    sink = ScriptedSink(refuse=("gone@example.org",), defer=("busy@example.org",))
    with sink:
        clock = Clock()
        rt = runtime(tmp_path, {"mail": mail(sink.port, to)}, clock)
        write_feed(tmp_path / "feed.xml", [rss_item(1)])
        assert run(poll_then(rt, "mail")).retrying == 1
        summary = channel_summary(rt.store)["mail"]
        assert summary["pending"] == 1 and "busy@example.org: 450" in summary["last_error"]
        clock.advance(3600)
        assert run(deliver_channel(rt, "mail")).sent == 1
        assert run(deliver_channel(rt, "mail", ignore_backoff=True)).sent == 0  # done
        summary = channel_summary(rt.store)["mail"]
        rt.store.close()
    assert [e.rcpt_tos for e in sink.envelopes] == [["analyst@example.org"], ["busy@example.org"]]
    assert len(set(sink.attempts)) == 1  # one Message-ID: the same mail, to the rest
    assert summary["sent"] == 1 and summary["failed"] == 0


def test_smtp_a_message_over_the_announced_size_is_split_not_refused(tmp_path):
    # RFC 1870: a server announces SIZE in its EHLO and refuses bigger mail with 552.
    # A digest over it used to be sent whole and become a dead letter (trial).
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), data_size_limit=40_000)
    controller.start()
    try:
        rt = runtime(tmp_path, {"mail": mail(controller.port)}, Clock())
        write_feed(tmp_path / "feed.xml", [rss_item(n) for n in range(1, 61)])
        report = run(poll_then(rt, "mail", drain=True))
        assert report.failed == 0 and report.sent >= 2, report
        summary = channel_summary(rt.store)["mail"]
        rt.store.close()
    finally:
        controller.stop()
    assert summary["pending"] == 0 and summary["failed"] == 0
    assert all(len(m.as_bytes()) <= 40_000 for m in sink.messages)
    text = " ".join(m.get_body(("plain",)).get_content() for m in sink.messages)
    assert set(re.findall(r"https://news\.example/(\d+)", text)) == {str(n) for n in range(1, 61)}


def test_smtp_552_for_a_full_mailbox_is_a_dead_letter_not_a_split(tmp_path):
    # RFC 3463: 5.2.2 is the mailbox's quota, not the message's size; splitting would
    # make a dead letter of each part, each "refused as too large" (review).
    with ScriptedSink((552, "5.2.2 Mailbox size limit exceeded")) as sink:
        rt = runtime(tmp_path, {"mail": mail(sink.port)}, Clock())
        write_feed(tmp_path / "feed.xml", [rss_item(n) for n in range(1, 5)])
        assert run(poll_then(rt, "mail")).failed == 1
        (dead,) = dead_letters(rt.store)
        rt.store.close()
    assert len(sink.attempts) == 1 and "5.2.2" in dead["error"]
    assert "too large" not in dead["error"]


# --- webhook -------------------------------------------------------------------------


def hook_channel(server: HttpServer, path: str = "/hook") -> dict[str, Any]:
    """A webhook channel to ``server`` with no group_wait."""
    return {"type": "webhook", "url": server.url(path), "timeout": "2s", "group_wait": "0s"}


def test_webhook_500_then_200_resends_the_same_id(tmp_path, http_server):
    http_server.respond_post("/hook", (500, {}, b"oops"), (200, {}, b"ok"))
    rt = runtime(tmp_path, {"hook": hook_channel(http_server)}, Clock())
    write_feed(tmp_path / "feed.xml", [rss_item(1)])
    assert run(poll_then(rt, "hook")).retrying == 1
    assert run(deliver_channel(rt, "hook", ignore_backoff=True)).sent == 1
    rt.store.close()
    first, second = http_server.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body


@pytest.mark.parametrize("status", [302, 404])
def test_webhook_redirect_and_404_are_permanent(tmp_path, http_server, status):
    target = http_server.url("/elsewhere")
    http_server.respond_post("/hook", (status, {"Location": target}, b"see elsewhere"))
    rt = runtime(tmp_path, {"hook": hook_channel(http_server)}, Clock())
    write_feed(tmp_path / "feed.xml", [rss_item(1)])
    assert run(poll_then(rt, "hook")).failed == 1
    (dead,) = dead_letters(rt.store)
    rt.store.close()
    assert f"HTTP {status}" in dead["error"]
    assert [r.path for r in http_server.requests] == ["/hook"]  # the redirect not followed


def test_webhook_timeout_is_retried(tmp_path):
    with socket.socket() as sock:  # accepts (backlog) but never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
        channel = {"type": "webhook", "url": url, "timeout": "0.5s", "group_wait": "0s"}
        rt = runtime(tmp_path, {"hook": channel}, Clock())
        write_feed(tmp_path / "feed.xml", [rss_item(1)])
        assert run(poll_then(rt, "hook")).retrying == 1
        assert "timeout" in channel_summary(rt.store)["hook"]["last_error"]
        rt.store.close()


# --- Slack ---------------------------------------------------------------------------


def test_slack_429_and_a_burst_of_50_alerts(tmp_path):
    path = "/services/T000/B000/burst"
    with TimedServer() as server:
        server.respond_post(path, (429, {"Retry-After": "2"}, b"rate_limited"), (200, {}, b"ok"))
        channel = {"type": "slack", "webhook_url": server.url(path), "group_wait": "0s"}
        rt = runtime(tmp_path, {"slack": channel}, Clock())
        write_feed(tmp_path / "feed.xml", [rss_item(n) for n in range(1, 51)])
        run(poll_all(rt))
        assert run(deliver_channel(rt, "slack")).sent == 1
        rt.store.close()
        arrivals, requests = server.arrivals, server.requests
    assert len(requests) >= 3  # 50 stories do not fit one Slack message
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    # arrivals are stamped by the server thread after it reads each body, so a gap is the
    # client's spacing give or take that thread's delays on a loaded machine (0.1 s allowed)
    assert gaps[0] >= 1.9 - 0.1  # Retry-After: 2 respected
    assert all(gap >= 1.0 - 0.1 for gap in gaps)  # at most one post a second
    accepted = "".join(r.body.decode() for r in requests[1:])
    assert all(f"report {n}" in accepted for n in range(1, 51))


# --- Apprise -------------------------------------------------------------------------


def test_apprise_json_url_reaches_a_local_receiver(tmp_path, http_server):
    pytest.importorskip("apprise")
    http_server.respond_post("/notify", (500, {}, b"down"), (200, {}, b"ok"))
    url = f"json://127.0.0.1:{http_server.port}/notify?token=s3cr3tvalue"
    rt = runtime(tmp_path, {"app": {"type": "apprise", "urls": [url], "group_wait": "0s"}}, Clock())
    write_feed(tmp_path / "feed.xml", [rss_item(1, "Pompeo in Pyongyang <@U123> @everyone")])
    assert run(poll_then(rt, "app")).retrying == 1
    error = channel_summary(rt.store)["app"]["last_error"]
    assert "json://127.0.0.1" in error and "s3cr3tvalue" not in error
    assert run(deliver_channel(rt, "app", ignore_backoff=True)).sent == 1
    rt.store.close()
    body = json.loads(http_server.requests[-1].body)
    assert body["title"].startswith("pompeo: Pompeo in Pyongyang")
    assert "report" not in body["title"] and "<@U123>" not in body["message"]
    assert "@everyone" not in body["message"] and "@\u200beveryone" in body["message"]


def test_check_says_how_to_install_a_missing_apprise_extra(tmp_path):
    shadow = tmp_path / "shadow" / "apprise"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('not installed')\n")
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "channels": {"chat": {"type": "apprise", "urls": ["json://127.0.0.1/x"]}},
        },
    )
    env = {"PYTHONPATH": f"{shadow.parent}:{REPO}"}
    result = run_cli("check", "-c", str(config), cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "needs the apprise package: install the extra" in result.stderr
    assert "monitor.yaml:" in result.stderr


def test_check_rejects_an_unknown_apprise_url(tmp_path):
    pytest.importorskip("apprise")
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "channels": {"chat": {"type": "apprise", "urls": ["nosuchservice://token@host"]}},
        },
    )
    result = run_cli("check", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 1 and "not a supported Apprise URL: nosuchservice://…" in (
        result.stderr
    )
    assert "token" not in result.stderr and "host" not in result.stderr
    assert "Unparseable" not in result.stderr  # Apprise's own log line is kept out
