"""What ``status`` and ``history`` tell an operator about a channel (operator review):
quiet hours that hold its alerts, a past error after a recovery, a channel its
destination disabled (410), and one message's attempts.

A real HTTP server serves the feed and answers the webhooks; the CLI runs in
subprocesses. Quiet hours are set around the test's own time (an hour before to two
hours after), so no assertion depends on when the test runs.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import run_cli, write_config


def rss(*titles: str) -> bytes:
    """An RSS feed with one item per title (guid and link from its position)."""
    items = "".join(
        f"<item><title>{t}</title><link>http://127.0.0.1:9/n/{n}</link>"
        f'<guid isPermaLink="false">g-{n}</guid><description>{t}.</description></item>'
        for n, t in enumerate(titles)
    )
    head = '<?xml version="1.0"?><rss version="2.0"><channel><title>c</title>'
    return f"{head}{items}</channel></rss>".encode()


def quiet_now() -> dict[str, str]:
    """Quiet hours from an hour ago to two hours on (UTC): the test runs inside them."""
    now = datetime.now(UTC)
    return {
        "start": f"{now - timedelta(hours=1):%H:%M}",
        "end": f"{now + timedelta(hours=2):%H:%M}",
    }


def setup(tmp_path: Path, http_server: Any, urgent: bool = False, **hook: Any) -> Path:
    """One feed with two Pompeo items and one rule (``urgent`` or not) notifying the
    webhook ``hook`` (its settings: ``hook``)."""
    http_server.route("/feed.xml", rss("Pompeo lands", "Pompeo leaves"))
    rule = {"name": "pp", "query": "Pompeo", "notify": ["hook"], "urgent": urgent}
    return write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"url": http_server.url("/feed.xml"), "name": "Wire", "backfill": "all"}],
            "rules": [rule, {"name": "calm", "query": "Nothing", "notify": ["hook"]}],
            "channels": {"hook": {"type": "webhook", "url": http_server.url("/hook"), **hook}},
        },
    )


def cli(config: Path, *args: str) -> Any:
    """Run one command with ``config``; the completed process."""
    return run_cli(*args, "--config", str(config), cwd=config.parent)


def channel_json(config: Path) -> dict[str, Any]:
    """``status --json``'s entry of the channel ``hook``."""
    result = cli(config, "status", "--json")
    assert result.returncode == 0, result.stderr
    (entry,) = [c for c in json.loads(result.stdout)["channels"] if c["name"] == "hook"]
    return entry


def message(config: Path, message_id: str) -> dict[str, Any]:
    """``history --json --message``'s message."""
    return json.loads(cli(config, "history", "--json", "--message", message_id).stdout)["message"]


def test_quiet_hours_show_as_held_until_the_window_ends(tmp_path, http_server):
    quiet = quiet_now()
    config = setup(tmp_path, http_server, group_wait="0s", quiet_hours=quiet)
    run = cli(config, "run", "--once")
    assert http_server.requests_to("/hook") == [], run.stderr
    assert "held by quiet hours until" in run.stderr  # logged once, at INFO
    expected = f"held by quiet hours until {quiet['end']} (UTC)"
    status = cli(config, "status")
    assert expected in status.stdout, status.stdout
    assert "immediate" not in status.stdout
    entry = channel_json(config)
    until = entry["held_until"]
    assert until.endswith("Z") and until[11:16] == quiet["end"]
    assert entry["next_digest"]["held_until"] == until
    assert expected in entry["next_digest"]["text"]
    history = cli(config, "history")
    assert "hook: pending since" in history.stdout
    assert expected in history.stdout, history.stdout
    preview = cli(config, "preview")
    held = f"(held by quiet hours until {quiet['end']} (UTC): not sent before then)"
    assert preview.stdout.splitlines()[:2] == ["=== channel hook: 2 stories pending ===", held]
    as_json = cli(config, "preview", "--format", "json")  # the note beside the header
    assert held in as_json.stderr and json.loads(as_json.stdout)["hook"]["items"]


def test_urgent_rules_go_through_quiet_hours_and_status_names_them(tmp_path, http_server):
    config = setup(tmp_path, http_server, urgent=True, group_wait="0s", quiet_hours=quiet_now())
    run = cli(config, "run", "--once")
    assert len(http_server.requests_to("/hook")) == 1, run.stderr  # urgent: sent
    status = cli(config, "status")
    assert "(UTC); urgent rules still go: pp" in status.stdout, status.stdout
    history = cli(config, "history")
    assert "held by quiet hours" not in history.stdout  # its alerts went
    assert "hook: sent" in history.stdout


def test_a_channel_its_destination_disabled_waits_for_retry_not_a_next_attempt(
    tmp_path, http_server
):
    http_server.respond_post("/hook", (410, {}, b"gone"))
    config = setup(tmp_path, http_server, group_wait="0s")
    cli(config, "run", "--once")
    waiting = "waiting: channel disabled (HTTP 410); `news-monitor retry hook` re-enables it"
    status = cli(config, "status")
    assert f"    next digest: {waiting}" in status.stdout, status.stdout
    (error,) = [line for line in status.stdout.splitlines() if "last error" in line]
    assert "next attempt" not in error  # no attempt comes before `retry` (trial)
    history = cli(config, "history")
    assert waiting in history.stdout, history.stdout
    assert "next attempt" not in history.stdout
    entry = channel_json(config)
    assert entry["disabled"] and entry["next_digest"]["text"] == waiting
    assert entry["last_error_at"].endswith("Z")


def test_an_error_before_the_last_success_is_shown_as_past_with_its_time(tmp_path, http_server):
    # an hour's Retry-After: the next attempt is still ahead when status shows it (a
    # next attempt whose time has come reads "due now", test_operator_view_sending.py)
    http_server.respond_post("/hook", (503, {"Retry-After": "3600"}, b"busy"), (200, {}, b"ok"))
    config = setup(tmp_path, http_server, group_wait="0s")
    http_server.route("/feed.xml", b"no such feed", status=404)
    cli(config, "run", "--once")  # the feed fails
    http_server.route("/feed.xml", rss("Pompeo lands"))
    cli(config, "run", "--once")  # the feed recovers; the webhook answers 503
    failing = cli(config, "status").stdout
    assert "(before the last success)" in failing  # the feed's 404
    assert "    last error 20" in failing and "HTTP 503" in failing
    # the failed message waits for its retry: when, on the error's line (hostile trial)
    (hook_error,) = [line for line in failing.splitlines() if "HTTP 503" in line]
    assert re.search(r"; next attempt at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", hook_error)
    cli(config, "run", "--once", "--retry-now")  # the webhook accepts
    assert len(http_server.requests_to("/hook")) == 2
    lines = cli(config, "status").stdout.splitlines()
    errors = [line for line in lines if "last error" in line]
    assert len(errors) == 2, lines
    assert all(" UTC (before the last success): " in line for line in errors), errors
    report = json.loads(cli(config, "status", "--json").stdout)
    assert report["feeds"][0]["last_error_at"].endswith("Z")
    entry = next(c for c in report["channels"] if c["name"] == "hook")
    assert "HTTP 503" in entry["last_error"] and entry["last_error_at"].endswith("Z")


def test_one_message_shows_its_retry_its_next_attempt_and_takes_the_header_value(
    tmp_path, http_server
):
    http_server.respond_post("/hook", (503, {"Retry-After": "3600"}, b"busy"))  # still ahead
    config = setup(tmp_path, http_server, group_wait="0s", max_items=1, max_attempts=2)
    for _ in range(2):
        cli(config, "run", "--once", "--retry-now")
    dead = cli(config, "status").stdout
    assert "dead letter" in dead.lower()
    # retryable each time: the dead letter says it was the count, not the error
    assert "not delivered after 2 attempts (max_attempts): HTTP 503" in dead
    assert cli(config, "retry", "hook").returncode == 0
    cli(config, "run", "--once")  # tried again after the retry: 503 once more
    rows = json.loads(cli(config, "history", "--json").stdout)["matches"]
    ids = {c["message_id"] for r in rows for c in r["channels"]}
    (message_id,) = [i for i in ids if message(config, i)["attempts"] == 1]  # the first
    shown = cli(config, "history", "--message", f"<{message_id}@news-monitor>")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    text = shown.stdout
    assert f"message {message_id}  channel hook  PENDING, next attempt at 20" in text, text
    assert "re-queued by `news-monitor retry` at 20" in text and "1 attempt since" in text
    assert "  1 story (1 held back for the next message)" in text
    assert message(config, message_id)["requeued_at"].endswith("Z")


def test_run_once_waits_for_retry_after_and_retry_now_does_not(tmp_path, http_server):
    # A timer running `run --once` every few minutes must not hammer a destination that
    # asked for an hour, nor spend max_attempts in minutes (delivery-edge trial).
    http_server.respond_post(
        "/hook", (429, {"Retry-After": "3600"}, b"slow down"), (200, {}, b"ok")
    )
    config = setup(tmp_path, http_server, group_wait="0s")
    first = cli(config, "run", "--once")
    assert first.returncode == 3 and len(http_server.requests_to("/hook")) == 1
    entry = channel_json(config)
    due = datetime.fromisoformat(entry["next_attempt"].replace("Z", "+00:00"))
    assert due > datetime.now(UTC) + timedelta(minutes=55)  # the destination's hour
    waiting = cli(config, "run", "--once")
    assert waiting.returncode == 3, waiting.stderr  # still undelivered: a timer sees it
    assert len(http_server.requests_to("/hook")) == 1  # not tried before its time
    assert "channels_undelivered=hook" in waiting.stderr
    assert channel_json(config)["pending"] == 2  # both alerts, in the one message
    now = cli(config, "run", "--once", "--retry-now")
    assert now.returncode == 0, now.stderr
    assert len(http_server.requests_to("/hook")) == 2 and channel_json(config)["pending"] == 0
    lone = cli(config, "run", "--retry-now")
    assert lone.returncode == 2 and "--retry-now goes with --once" in lone.stderr


def test_a_renamed_channels_waiting_alerts_are_shown_warned_and_not_lost(tmp_path, http_server):
    # Renaming a channel in the config strands what its old name still owes: nothing
    # sends it, so run --once warns, status lists it and retry says what to do.
    http_server.respond_post("/hook", (503, {}, b"busy"))
    config = setup(tmp_path, http_server, group_wait="0s")
    assert cli(config, "run", "--once").returncode == 3  # a message left retrying
    data = yaml.safe_load(config.read_text())
    data["channels"] = {"hook2": data["channels"]["hook"]}
    for rule in data["rules"]:
        rule["notify"] = ["hook2"]
    write_config(config, data)
    once = cli(config, "run", "--once")
    assert "channel=hook is not in the config, and 2 alerts wait for it" in once.stderr
    text = cli(config, "status").stdout
    assert "  hook: pending 2, failed 0" in text and "NOT IN THE CONFIG" in text
    (entry,) = [
        c
        for c in json.loads(cli(config, "status", "--json").stdout)["channels"]
        if c["name"] == "hook"
    ]
    assert entry["removed"] and entry["pending"] == 2
    retry = cli(config, "retry", "hook")
    assert retry.returncode == 2
    assert "channel 'hook' is not in the config (channels: hook2)" in retry.stderr
    assert "add a channel named 'hook' back to send them" in retry.stderr
