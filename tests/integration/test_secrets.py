"""Canary secrets forced through every error path never show up where users look.

The SMTP password (from a ``*_file``), the Slack webhook URL and webhook secret (from
``${ENV}``) and a feed URL with ``user:pass@`` meet: an unreachable SMTP server with
auth, an SMTP server that refuses AUTH, Slack answering 500, a webhook answering 404,
a feed answering 401, a feed with a token in its query string and a feed whose port
refuses connections. Destinations echo what they were sent, as real ones do (an SMTP
535 quoting the login, error bodies quoting the token or secret): the error kept in
the database and shown by ``status`` and ``send-test`` must not hold it either. Then
we look at the
logs (text and JSON, debug level), ``status``, ``preview``, ``send-test`` and the bytes
of the database and its WAL.
"""

from __future__ import annotations

import base64
import json
import signal
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.conftest import run_cli, serve_seed, write_config
from tests.integration.daemon_helpers import DaemonProcess
from tests.servers import free_port

CANARIES = {
    "smtp": "canary-smtp-pw-4kq9",
    "slack": "canary-slack-tok-7hz2",
    "whsec": base64.b64encode(b"canary-whsec-3vb8-0123456789").decode(),
    "feed": "canary-feed-pw-9xw1",
    "token": "canary-feed-token-5tq2",
}


class EchoingAuth:
    """An SMTP server that refuses every login, quoting it: ``535 … alerts/PASSWORD``."""

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        return "250 2.0.0 Ok"

    @staticmethod
    def refuse(server, session, envelope, mechanism, auth_data) -> AuthResult:
        login = f"{auth_data.login.decode()}/{auth_data.password.decode()}"
        message = f"535 5.7.8 authentication failed for {login}"
        return AuthResult(success=False, handled=False, message=message)


@pytest.fixture
def echoing_smtp():
    for _ in range(5):  # the free port can be taken in between: retry
        port = free_port()
        controller = Controller(
            EchoingAuth(),
            hostname="127.0.0.1",
            port=port,
            authenticator=EchoingAuth.refuse,
            auth_require_tls=False,
        )
        try:
            controller.start()
        except Exception:  # pragma: no cover - port race
            continue
        yield port
        controller.stop()
        return
    raise RuntimeError("could not start the echoing SMTP server")


@pytest.fixture
def secret_config(tmp_path, http_server, smtp_sink, echoing_smtp):
    urls = serve_seed(http_server, "feed-full.xml")
    http_server.route("/private.xml", f"unauthorized: {CANARIES['feed']}?", status=401)
    slack_path = f"/slack/T0001/B0001/{CANARIES['slack']}"
    http_server.respond_post(slack_path, (500, {}, f"internal_error for {CANARIES['slack']}"))
    http_server.respond_post("/hook", (404, {}, f"no such hook; secret {CANARIES['whsec']}"))
    (tmp_path / "smtp-password").write_text(CANARIES["smtp"] + "\n")
    host = http_server.base_url.split("//", 1)[1]
    closed = free_port()
    smtp = {"username": "alerts", "password_file": str(tmp_path / "smtp-password")}
    mail = {"from": "alerts@example.org", "to": ["analyst@example.org"], "max_attempts": 1}
    config = {
        "state_dir": str(tmp_path / "state"),
        "allow_private_networks": True,
        "feeds": [
            {"name": "seed", "url": urls["feed-full.xml"], "backfill": "all"},
            {"name": "locked", "url": f"http://reader:{CANARIES['feed']}@{host}/private.xml"},
            {"name": "refused", "url": f"http://reader:{CANARIES['feed']}@127.0.0.1:{closed}/x"},
            {"name": "token", "url": f"http://{host}/private.xml?token={CANARIES['token']}"},
        ],
        "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang"}],
        "channels": {
            "mail-down": {
                "type": "email",
                "smtp": {"host": "127.0.0.1", "port": closed, "starttls": False, **smtp},
                **mail,
            },
            "mail-noauth": {
                "type": "email",
                "smtp": {"host": "127.0.0.1", "port": smtp_sink.port, "starttls": False, **smtp},
                **mail,
            },
            "mail-echo": {
                "type": "email",
                "smtp": {"host": "127.0.0.1", "port": echoing_smtp, "starttls": False, **smtp},
                **mail,
            },
            "slack": {"type": "slack", "webhook_url": "${CANARY_SLACK_URL}"},
            "hook": {
                "type": "webhook",
                "url": http_server.url("/hook"),
                "secret": "${CANARY_WEBHOOK_SECRET}",
            },
        },
    }
    env = {
        "CANARY_SLACK_URL": http_server.url(slack_path),
        "CANARY_WEBHOOK_SECRET": "whsec_" + CANARIES["whsec"],
    }
    return write_config(tmp_path / "monitor.yaml", config), env


def leaks(text: str, skip: tuple[str, ...] = ()) -> list[str]:
    return [name for name, value in CANARIES.items() if value in text and name not in skip]


def state_bytes(state: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(state.glob("monitor.db*")))


def test_no_canary_in_logs_status_preview_or_send_test(tmp_path, secret_config):
    config, env = secret_config
    cfg = ("--config", str(config))
    seen: dict[str, str] = {}
    once = run_cli("run", "--once", "--log-level", "debug", *cfg, cwd=tmp_path, env=env)
    assert once.returncode == 3, once.stderr  # channels failed
    seen["run --once"] = once.stdout + once.stderr
    assert "HTTP 401" in once.stderr and "HTTP 500" in once.stderr and "404" in once.stderr
    again = run_cli("run", "--once", "--log-format", "json", *cfg, cwd=tmp_path, env=env)
    seen["run --once (json)"] = again.stdout + again.stderr
    for line in again.stderr.splitlines():
        json.loads(line)
    daemon = DaemonProcess(config, tmp_path, env)
    try:
        # the failing feeds back off after the two passes above: the daemon waits for
        # their next poll, so only its start and reload are logged here
        daemon.wait_for_log("started:")
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_log("reloaded:")
    finally:
        daemon.stop()
        daemon.kill()
    seen["daemon"] = daemon.log + daemon.stdout
    for args in (
        ("status",),
        ("status", "--json"),
        ("preview",),
        ("preview", "--format", "json"),
        ("preview", "--format", "html"),
        ("send-test", "slack"),
        ("send-test", "hook"),
        ("send-test", "mail-down"),
        ("send-test", "mail-noauth"),
        ("send-test", "mail-echo"),
        ("check",),
    ):
        result = run_cli(*args, *cfg, cwd=tmp_path, env=env)
        seen[" ".join(args)] = result.stdout + result.stderr
    assert "FAILED" in seen["send-test slack"] and "pompeo" in seen["status"]
    assert "535 5.7.8 authentication failed for alerts/***" in seen["send-test mail-echo"]
    found = {where: leaks(text) for where, text in seen.items() if leaks(text)}
    assert not found, found


def test_no_canary_in_the_database(tmp_path, secret_config):
    config, env = secret_config
    assert run_cli("run", "--once", "--config", str(config), cwd=tmp_path, env=env).returncode == 3
    data = state_bytes(tmp_path / "state")
    assert b"HTTP 401" in data  # the errors are there, without their secrets
    assert b"authentication failed for alerts/***" in data  # the echo, masked
    assert [n for n, v in CANARIES.items() if v.encode() in data] == []


def test_feed_password_not_in_the_database(tmp_path, secret_config):
    config, env = secret_config
    run_cli("run", "--once", "--config", str(config), cwd=tmp_path, env=env)
    assert CANARIES["feed"].encode() not in state_bytes(tmp_path / "state")
