"""Crash safety, proven: the daemon is killed with SIGKILL at random moments, again and again.

A local feed server publishes new matching items between runs; an SMTP sink and a
webhook receiver take deliveries. After at least 30 kills and one clean run, every
item must have reached both channels at least once, and every copy of an item must
carry the id (``webhook-id`` / ``Message-ID``) of its first copy, so receivers can
drop duplicates. The number of duplicates is printed (``pytest -s`` shows it).

Timing: feed interval 1 s, ``group_wait: 0s`` (so the daemon looks at its channels
every second); the first poll comes within about a second of start-up.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, write_config
from tests.integration.test_delivery import rss_item
from tests.servers import HttpServer, SmtpSink

pytestmark = [pytest.mark.integration, pytest.mark.crash]

KILLS = 32
ITEMS_PER_RUN = 2
SETTLE_SECONDS = 60
ANSWER_DELAY = 0.3  # receivers record a delivery, then take this long to accept it


class SlowReceiver(HttpServer):
    """Records each POST at once but answers it late: a kill in between means a resend."""

    def _post(self, path: str) -> tuple[int, dict[str, str], bytes]:
        time.sleep(ANSWER_DELAY)
        return super()._post(path)


class SlowSink(SmtpSink):
    """Keeps each message at once but says 250 late: a kill in between means a resend."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        """Record, wait, accept."""
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(ANSWER_DELAY)
        return answer


def feed_xml(count: int) -> str:
    """An RSS feed holding items 1..count, newest first."""
    items = "".join(rss_item(n) for n in range(count, 0, -1))
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    )


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """``python -m monitor run`` in the background, logging to ``log``."""
    env = {"PYTHONPATH": str(REPO), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)],
            cwd=config.parent,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )


def wait_started(log: Path, runs: int, timeout: float = 20.0) -> None:
    """Wait until the log shows the ``runs``-th "started" line (imports and store done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.read_text(errors="replace").count("monitor.daemon: started") >= runs:
            return
        time.sleep(0.05)
    raise AssertionError(f"daemon did not start:\n{log.read_text()[-2000:]}")


def webhook_copies(server: HttpServer) -> dict[str, list[str]]:
    """guid -> the webhook-id of every POST that carried it, in arrival order."""
    copies: dict[str, list[str]] = defaultdict(list)
    for request in server.requests_to("/hook"):
        try:
            body = json.loads(request.body)
        except ValueError:  # cut off by a kill mid-upload: never accepted, not a delivery
            continue
        for item in body["items"]:
            copies[item["guid"]].append(request.headers["webhook-id"])
    return copies


def email_copies(sink: SmtpSink) -> dict[str, list[str]]:
    """guid -> the Message-ID of every email that listed it, in arrival order."""
    copies: dict[str, list[str]] = defaultdict(list)
    for message in sink.messages:
        text = message.get_body(("plain",)).get_content()
        for n in sorted(set(re.findall(r"https://news\.example/(\d+)", text))):
            copies[f"item-{n}"].append(str(message["Message-ID"]))
    return copies


def duplicates(copies: dict[str, list[str]]) -> int:
    """Copies beyond the first; asserts that each carries its first copy's id."""
    extra = 0
    for guid, ids in copies.items():
        assert set(ids) == {ids[0]}, f"{guid} arrived under different ids: {ids}"
        extra += len(ids) - 1
    return extra


def complete(expected: set[str], *channels: dict[str, list[str]]) -> bool:
    """Whether every expected guid reached every channel."""
    return all(expected <= set(copies) for copies in channels)


def test_kill_9_at_random_moments_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("CRASH_SEED", time.time())))
    log = tmp_path / "daemon.log"
    with SlowReceiver() as http, SlowSink() as smtp:
        published = 0
        http.route("/feed.xml", feed_xml(published))
        smtp_settings = {"host": "127.0.0.1", "port": smtp.port, "starttls": False}
        config = write_config(
            tmp_path / "monitor.yaml",
            {
                "state_dir": str(tmp_path / "state"),
                "allow_private_networks": True,
                "feeds": [{"url": http.url("/feed.xml"), "interval": "1s", "backfill": "all"}],
                "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang"}],
                "channels": {
                    "mail": {
                        "type": "email",
                        "smtp": smtp_settings,
                        "from": "alerts@example.org",
                        "to": ["analyst@example.org"],
                        "group_wait": "0s",
                    },
                    "hook": {"type": "webhook", "url": http.url("/hook"), "group_wait": "0s"},
                },
            },
        )
        daemons: list[subprocess.Popen[bytes]] = []
        try:
            for run in range(1, KILLS + 1):
                published += ITEMS_PER_RUN
                http.route("/feed.xml", feed_xml(published))
                daemons.append(start(config, log))
                wait_started(log, runs=run)
                time.sleep(rng.uniform(0.0, 2.5))  # start-up done: kill while it works
                daemons[-1].send_signal(signal.SIGKILL)
                assert daemons[-1].wait(timeout=10) == -signal.SIGKILL
            expected = {f"item-{n}" for n in range(1, published + 1)}
            daemons.append(start(config, log))
            wait_started(log, runs=KILLS + 1)  # SIGTERM before start-up would just kill it
            deadline = time.monotonic() + SETTLE_SECONDS
            while time.monotonic() < deadline and not complete(
                expected, webhook_copies(http), email_copies(smtp)
            ):
                time.sleep(0.5)
            daemons[-1].send_signal(signal.SIGTERM)
            assert daemons[-1].wait(timeout=30) == 0
        finally:
            for daemon in daemons:
                if daemon.poll() is None:
                    daemon.kill()
                    daemon.wait()
        hooks, mails = webhook_copies(http), email_copies(smtp)
    missing = {name: sorted(expected - set(c)) for name, c in (("hook", hooks), ("mail", mails))}
    assert missing == {"hook": [], "mail": []}, log.read_text()[-3000:]
    dup_hooks, dup_mails = duplicates(hooks), duplicates(mails)
    posts = [r.headers["webhook-id"] for r in http.requests_to("/hook") if r.body.endswith(b"}")]
    emails = [str(m["Message-ID"]) for m in smtp.messages]
    print(
        f"\ncrash test: {KILLS} kills, {published} items; webhook: {len(posts)} posts, "
        f"{len(posts) - len(set(posts))} resent; email: {len(emails)} messages, "
        f"{len(emails) - len(set(emails))} resent; duplicate item copies: webhook "
        f"{dup_hooks}, email {dup_mails}, each under its first copy's id"
    )
