"""What ``status`` and ``history`` say of a message being sent, or sent partway
(operator trials).

A message whose next attempt has come is being sent, or is sent at the next delivery
round: it must not read as "next attempt at" a time already past. A Slack digest whose
second post failed after the first was posted says so ("1 of 3 parts posted"), pending
or a dead letter, and an email accepted for some recipients says whom its retry goes
to. The destinations are real: an HTTP server on 127.0.0.1, an SMTP server (aiosmtpd)
refusing some recipients, and a raw TCP server that reads a request and never answers
(a send in flight); the CLI runs in subprocesses, ``run --once`` in the background
while the others look.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import REPO, run_cli, write_config
from tests.integration.slow_servers import RawServer, silent
from tests.integration.test_delivery import config_dict, rss_item, write_feed
from tests.integration.test_delivery_failures import ScriptedSink, mail
from tests.integration.test_operator_view_channels import rss

DUE_NOW = "due now (being sent, or at the next delivery round)"
SLACK = "/services/T000/B000/parts"


def config_for(tmp_path: Path, feed_url: str, channel: dict[str, Any]) -> Path:
    """One feed, one rule notifying the channel ``out`` (``channel``: its settings)."""
    return write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"url": feed_url, "name": "Wire", "backfill": "all"}],
            "rules": [{"name": "pp", "query": "Pompeo", "notify": ["out"]}],
            "channels": {"out": {"group_wait": "0s", **channel}},
        },
    )


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one command with ``config``; the completed process."""
    return run_cli(*args, "--config", str(config), cwd=config.parent)


def in_background(config: Path, *args: str) -> subprocess.Popen[str]:
    """Start one command with ``config`` without waiting for it (its output kept)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_MONITOR")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", *args, "--config", str(config)],
        cwd=config.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_connection(server: RawServer, proc: subprocess.Popen[str]) -> None:
    """Block until the destination has a client (the send is in flight)."""
    deadline = time.monotonic() + 60
    while server.connections < 1:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no send reached the destination"
        time.sleep(0.05)


def test_a_send_in_progress_reads_as_due_now_not_a_next_attempt_in_the_past(tmp_path, http_server):
    http_server.route("/feed.xml", rss("Pompeo lands"))
    http_server.respond_post("/hook", (404, {}, b"no such hook"))
    feed = http_server.url("/feed.xml")
    config = config_for(tmp_path, feed, {"type": "webhook", "url": http_server.url("/hook")})
    assert cli(config, "run", "--once").returncode == 3  # a dead letter
    assert cli(config, "retry", "out").returncode == 0  # due again, at once
    with RawServer(silent) as never_answers:
        hook = {"type": "webhook", "url": never_answers.url("/hook"), "timeout": "120s"}
        config = config_for(tmp_path, feed, hook)
        sending = in_background(config, "run", "--once")
        try:
            wait_for_connection(never_answers, sending)
            status = cli(config, "status")
            history = cli(config, "history")
            message_id = json.loads(cli(config, "history", "--json").stdout)["matches"][0][
                "channels"
            ][0]["message_id"]
            one = cli(config, "history", "--message", message_id)
        finally:
            sending.kill()
            sending.communicate()
    # status: the error of the attempt before, and that the retry is under way
    (error,) = [line for line in status.stdout.splitlines() if "HTTP 404" in line]
    assert error.endswith(f"no such hook; {DUE_NOW}"), status.stdout
    assert "next attempt" not in status.stdout
    (line,) = [line for line in history.stdout.splitlines() if line.startswith("  out: ")]
    assert line.endswith(f", message {message_id}; {DUE_NOW}"), line
    assert f"channel out  PENDING, {DUE_NOW}" in one.stdout, one.stdout
    assert "next attempt" not in history.stdout + one.stdout


def status_json(config: Path) -> dict[str, Any]:
    """``status --json``, checked to have run."""
    shown = cli(config, "status", "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def test_a_slack_digest_stopped_after_its_first_part_says_it_was_posted(tmp_path, http_server):
    # part 1 accepted, part 2 refused for now (500), then for good (404): 60 stories,
    # two blocks a story and 50 a post, are three posts
    http_server.respond_post(SLACK, (200, None, b"ok"), (500, None, b"boom"), (404, None, b"gone"))
    slack = {"type": "slack", "webhook_url": http_server.url(SLACK), "timeout": "5s"}
    config = write_config(tmp_path / "monitor.yaml", config_dict(tmp_path, {"team": slack}))
    write_feed(tmp_path / "feed.xml", [rss_item(n) for n in range(1, 61)])
    assert cli(config, "run", "--once").returncode == 3
    posted = {"of": "parts", "done": 1, "total": 3, "text": "1 of 3 parts posted"}

    (error,) = [line for line in cli(config, "status").stdout.splitlines() if "HTTP 500" in line]
    assert "boom (message 2 of 3); 1 of 3 parts posted; " in error, error
    report = status_json(config)
    (team,) = report["channels"]
    assert team["progress"] == posted and team["pending"] == 60
    assert "parts_sent" not in json.dumps(report)  # the raw column is not shown
    matches = json.loads(cli(config, "history", "--json").stdout)["matches"]
    parts = {m["title"]: m["channels"][0]["progress"].pop("part") for m in matches}
    assert {json.dumps(m["channels"][0]["progress"]) for m in matches} == {
        json.dumps(posted | {"text": f"1 of 3 parts posted; this story is in part {n}, {said}"})
        for n, said in ((1, "posted"), (2, "not posted yet"), (3, "not posted yet"))
    }
    (first_post,) = http_server.requests_to(SLACK)[:1]
    in_first = {t for t in parts if f"report {t.rsplit(' ', 1)[1]}>" in first_post.body.decode()}
    assert in_first == {t for t, n in parts.items() if n == 1} and 0 < len(in_first) < 60
    message_id = matches[0]["channels"][0]["message_id"]
    one = cli(config, "history", "--message", message_id).stdout
    assert "\n  progress: 1 of 3 parts posted\n" in one, one

    assert cli(config, "run", "--once", "--retry-now").returncode == 3  # part 2: 404
    assert len(http_server.requests_to(SLACK)) == 3  # part 1 was not posted again
    status = cli(config, "status").stdout
    assert "  team: pending 0, failed 60," in status
    (dead,) = [line for line in status.splitlines() if line.startswith(f"  team {message_id}")]
    assert dead.endswith("gone (message 2 of 3); 1 of 3 parts posted"), dead
    assert status_json(config)["dead_letters"][0]["progress"] == posted
    history = cli(config, "history", "--limit", "1").stdout
    newest_part = parts["Pompeo in Pyongyang, report 60"]  # the newest story, listed first
    said = "posted" if newest_part == 1 else "not posted yet"
    assert ", message " in history
    assert (
        f"(message 2 of 3); 1 of 3 parts posted; this story is in part {newest_part}, {said}\n"
        in history
    )


def test_an_email_some_recipients_took_says_whom_its_retry_goes_to(tmp_path):
    to = ["analyst@example.org", "busy@example.org", "gone@example.org"]
    sink = ScriptedSink(refuse=("gone@example.org",), defer=("busy@example.org",))
    with sink:
        channels = {"mail": mail(sink.port, to)}
        config = write_config(tmp_path / "monitor.yaml", config_dict(tmp_path, channels))
        write_feed(tmp_path / "feed.xml", [rss_item(1)])
        assert cli(config, "run", "--once").returncode == 3  # busy@: refused for now
    left = "the retry goes to 1 of 3 recipients (the others have it, or refused it for good)"
    (error,) = [line for line in cli(config, "status").stdout.splitlines() if "busy@" in line]
    assert f"(sent again to them only); {left}; " in error, error
    (channel,) = status_json(config)["channels"]
    assert channel["progress"] == {"of": "recipients", "done": 2, "total": 3, "text": left}
    (match,) = json.loads(cli(config, "history", "--json").stdout)["matches"]
    assert match["channels"][0]["progress"]["text"] == left
