"""The CLI in a subprocess: check, test-rule, fetch, preview, send-test, status, the lock."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, SEED, run_cli, serve_seed, write_config

SEED_GUID = "jad-3052260"


def start_daemon(config: Path, cwd: Path, stderr: int = subprocess.PIPE) -> subprocess.Popen:
    """``news-monitor run`` in the background, its stdout (and stderr) piped as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(config)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )


def queries(expected: dict) -> list[tuple[str, bool]]:
    cases = expected["queries_on_seed_story"]
    return [(q, True) for q in cases["match"]] + [(q, False) for q in cases["no_match"]]


def test_shipped_config_checks_clean():
    result = run_cli("check", "--config", "config/monitor.yaml", cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "ok:" in result.stdout and "examples passed" in result.stdout
    assert result.stderr == ""  # its file: feeds are read from the repository's folder


def test_common_options_go_before_or_after_the_command(tmp_path):
    """``news-monitor --config X check`` was an argparse error (scale-out trial), while
    the README says every command takes ``--config``."""
    config = str(REPO / "config" / "monitor.yaml")
    before = run_cli("--config", config, "--log-format", "json", "check", cwd=REPO)
    after = run_cli("check", "--config", config, "--log-format", "json", cwd=REPO)
    assert before.returncode == after.returncode == 0, before.stderr
    assert before.stdout == after.stdout and "ok: 5 feeds" in before.stdout
    # the command's own copy wins over the one before it; none given keeps the default
    both = run_cli("--config", "/nonexistent.yaml", "check", "--config", config, cwd=REPO)
    assert both.returncode == 0, both.stderr
    missing = run_cli("--state-dir", str(tmp_path / "none"), "status", "--config", config, cwd=REPO)
    assert missing.returncode == 2 and f"no state in {tmp_path / 'none'}" in missing.stderr


@pytest.mark.parametrize(
    "query,should_match",
    queries(__import__("yaml").safe_load((SEED / "expected.yaml").read_text())),
)
def test_seed_queries_through_test_rule(tmp_path, query, should_match):
    result = run_cli("test-rule", query, str(SEED / "feed-full.xml"), "--json", cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    seed = next(line for line in lines if line["id"] == SEED_GUID)
    assert seed["matched"] is should_match, (query, seed)


def test_test_rule_highlights_and_exit_codes(tmp_path):
    feed = str(SEED / "feed-full.xml")
    hit = run_cli("test-rule", "Pompeo AND Pyongyang", feed, cwd=tmp_path)
    assert hit.returncode == 0
    assert "MATCH Pompeo may be returning to Pyongyang soon" in hit.stdout
    assert "«Pompeo»" in hit.stdout and "1 of 5 items match" in hit.stdout
    miss = run_cli("test-rule", "Beijing AND Pyongyang", feed, cwd=tmp_path)
    assert miss.returncode == 1 and "0 of 5 items match" in miss.stdout
    bad = run_cli("test-rule", "Pompeo AND (Pyongyang", feed, cwd=tmp_path)
    assert (bad.returncode, bad.stderr) == (2, "query:1:12: unclosed '('\n")
    stray = run_cli("test-rule", 'Pompeo" Pyongyang', feed, cwd=tmp_path)
    assert (stray.returncode, stray.stderr, stray.stdout) == (2, "query:1:7: unclosed quote\n", "")
    text = run_cli("test-rule", '"peace regime"', cwd=tmp_path, stdin="We support a peace regime.")
    assert text.returncode == 0 and "«peace regime»" in text.stdout
    # a rule with stem: true is tried with --stem (without it, whole words: no match)
    said = "Kim says no talks until sanctions are eased."
    whole = run_cli("test-rule", "talk AND sanction", cwd=tmp_path, stdin=said)
    assert whole.returncode == 1 and "0 of 1 items match" in whole.stdout
    stemmed = run_cli("test-rule", "--stem", "talk AND sanction", cwd=tmp_path, stdin=said)
    assert stemmed.returncode == 0 and "«talks»" in stemmed.stdout


def test_test_rule_on_article_page_over_http(tmp_path, http_server):
    serve_seed(http_server)
    url = http_server.url("/news/2018/08/15/pompeo-may-be-returning.html")
    result = run_cli("test-rule", "end-of-war declaration", url, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_fetch_prints_normalized_items(tmp_path, http_server):
    urls = serve_seed(http_server, "feed-full.xml")
    result = run_cli("fetch", urls["feed-full.xml"], "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    items = [json.loads(line) for line in result.stdout.splitlines()]
    assert [i["id"] for i in items][0] == SEED_GUID and len(items) == 5
    assert items[0]["published"].startswith("2018-08-15T11:41:00")
    assert "<p>" not in items[0]["content"] and "Panmunjom" in items[0]["content"]
    human = run_cli("fetch", str(SEED / "feed-teaser.xml"), cwd=tmp_path)
    assert "Typhoon Soulik" in human.stdout
    # a long summary is cut at a word and says so; --json gives it whole
    text = run_cli("fetch", str(SEED / "feed-full.xml"), cwd=tmp_path).stdout
    summaries = [line[len("  summary: ") :] for line in text.splitlines() if "  summary: " in line]
    whole = [i["summary"] for i in items]
    for shown, summary in zip(summaries, whole, strict=True):
        if len(summary) <= 200:
            assert shown == (summary or "-")
        else:
            assert shown.endswith(" …") and summary.startswith(shown[:-2])
            assert summary[len(shown) - 2] == " " and len(shown) <= 202
    assert any(s.endswith(" …") for s in summaries)
    missing = run_cli("fetch", http_server.url("/nope.xml"), cwd=tmp_path)
    assert missing.returncode == 2 and "HTTP 404" in missing.stderr


def local_config(tmp_path: Path, feed_url: str, **channels: dict) -> Path:
    return write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"url": feed_url, "backfill": "all"}],
            "rules": [{"name": "pompeo-pyongyang", "query": "Pompeo AND Pyongyang"}],
            "channels": channels or {"console": {"type": "console"}},
        },
    )


def test_preview_shows_pending_without_sending(tmp_path, http_server):
    urls = serve_seed(http_server, "feed-full.xml")
    config = local_config(
        tmp_path,
        urls["feed-full.xml"],
        hook={"type": "webhook", "url": http_server.url("/hook"), "schedule": "every: 1h"},
    )
    # poll without delivering: the daemon's --once delivers; so poll via a failing hook first
    http_server.respond_post("/hook", (503, {}, "down"))
    assert run_cli("run", "--once", "--config", str(config), cwd=tmp_path).returncode == 3
    posts = len(http_server.requests_to("/hook"))
    for fmt, needle in (("text", "Pyongyang soon"), ("html", "<strong>"), ("json", '"version": 1')):
        shown = run_cli("preview", "--format", fmt, "--config", str(config), cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert needle in shown.stdout
        # text is for reading: its header on stdout; html and json are one document
        header = shown.stdout if fmt == "text" else shown.stderr
        assert "=== channel hook: 1 story pending ===" in header
    body = run_cli("preview", "--format", "json", "--config", str(config), cwd=tmp_path)
    assert json.loads(body.stdout)["hook"]["version"] == 1
    assert len(http_server.requests_to("/hook")) == posts
    unknown = run_cli("preview", "--channel", "nope", "--config", str(config), cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown channel 'nope'" in unknown.stderr


def test_send_test_reports_the_destination_answer(tmp_path, http_server):
    secret_path = "/slack/T1/B2/s3cr3tT0ken"
    config = local_config(
        tmp_path,
        "file:" + str(SEED / "feed-full.xml"),
        team={"type": "slack", "webhook_url": http_server.url(secret_path)},
    )
    ok = run_cli("send-test", "team", "--config", str(config), cwd=tmp_path)
    assert ok.returncode == 0 and "team: ok: HTTP 200" in ok.stdout
    http_server.respond_post(secret_path, (404, {}, "no_service"))
    bad = run_cli("send-test", "team", "--config", str(config), cwd=tmp_path)
    assert bad.returncode == 1 and "FAILED (permanent)" in bad.stdout and "404" in bad.stdout
    assert "s3cr3tT0ken" not in bad.stdout + bad.stderr + ok.stdout + ok.stderr


def test_status_after_a_failing_feed(tmp_path, http_server):
    config = local_config(tmp_path, http_server.url("/gone.xml?token=hunter2"))
    assert run_cli("run", "--once", "--config", str(config), cwd=tmp_path).returncode == 4
    human = run_cli("status", "--config", str(config), cwd=tmp_path)
    assert "FAILING x1" in human.stdout and "HTTP 404" in human.stdout
    report = json.loads(run_cli("status", "--json", "--config", str(config), cwd=tmp_path).stdout)
    (feed,) = report["feeds"]
    assert feed["consecutive_failures"] == 1 and "404" in feed["last_error"]
    assert "hunter2" not in human.stdout + json.dumps(report)


def test_daemon_polls_delivers_and_stops_on_sigterm_and_holds_the_lock(tmp_path, http_server):
    sample = tmp_path / "sample.xml"
    shutil.copy(SEED / "feed-full.xml", sample)
    config = local_config(
        tmp_path,
        f"file:{sample}",
        console={"type": "console", "group_wait": "1s"},
        # a digest channel whose next tick is months away: its alert waits in the outbox
        yearly={"type": "webhook", "url": http_server.url("/hook"), "schedule": "cron: 0 0 1 1 *"},
    )
    daemon = start_daemon(config, tmp_path)
    try:
        seen = ""
        deadline = time.monotonic() + 60
        while "Pyongyang soon" not in seen and time.monotonic() < deadline:
            line = daemon.stdout.readline()
            if not line:
                break
            seen += line
        assert "Pyongyang soon" in seen
        second = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
        assert second.returncode == 2 and "already running" in second.stderr
        status = run_cli("status", "--json", "--config", str(config), cwd=tmp_path)
        channels = {c["name"]: c for c in json.loads(status.stdout)["channels"]}
        assert channels["yearly"]["pending"] == 1 and channels["console"]["sent"] == 1
        assert http_server.requests_to("/hook") == []
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err
    assert "stopped" in err


def test_shipped_config_shows_the_seed_alert_within_seconds(tmp_path):
    """What `make run` does, minus the public feeds (no test touches the internet)."""
    shipped = yaml.safe_load((REPO / "config" / "monitor.yaml").read_text())
    shipped["feeds"] = [f for f in shipped["feeds"] if f["url"].startswith("file:")]
    for feed in shipped["feeds"]:
        feed["url"] = "file:" + str(REPO / feed["url"][len("file:") :])
    shipped["state_dir"] = str(tmp_path / "state")
    config = write_config(tmp_path / "monitor.yaml", shipped)
    daemon = start_daemon(config, tmp_path, stderr=subprocess.DEVNULL)
    guard = threading.Timer(90, daemon.kill)  # a bound, not a timing assertion
    guard.start()
    try:
        first_line = daemon.stdout.readline()  # blocks until the console prints
        assert "news-monitor: 1 story for console" in first_line
    finally:
        guard.cancel()
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=60)
