"""The CLI beside the service (issue #15 points 2 and 3), in subprocesses.

Commands find the service's state through ``--state-dir`` or
``$NEWS_MONITOR_STATE_DIR`` and never create one; ``status`` says "never polled",
shows each channel's next digest in its time zone, prints from the database with a
banner while the config on disk is broken, and shows a reload the daemon recorded as
failed (as ``/metrics`` does).
"""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from tests.conftest import REPO, SEED, run_cli, write_config
from tests.integration.daemon_helpers import DaemonProcess
from tests.integration.test_metrics import scrape, value
from tests.servers import free_port

NO_STATE = "no state in {}: the daemon has not run with this state directory (see --state-dir)"
BANNER_TAIL = "(the daemon runs on the config it loaded before; fix and reload)"


def service_config(tmp_path: Path, state_dir: Path, **extra: object) -> dict:
    feed = tmp_path / "full.xml"
    shutil.copy(SEED / "feed-full.xml", feed)
    config = {
        "state_dir": str(state_dir),
        "allow_private_networks": True,
        "feeds": [{"name": "full", "url": f"file:{feed}", "backfill": "all", "interval": "2s"}],
        "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang"}],
        "channels": {"hold": {"type": "console", "schedule": "cron: 0 0 1 1 *"}},
    }
    config.update(extra)
    return config


def status_json(*args: str, cwd: Path, env: dict[str, str] | None = None) -> dict:
    shown = run_cli("status", "--json", *args, cwd=cwd, env=env)
    assert shown.returncode in (0, 1), shown.stderr
    return json.loads(shown.stdout)


def test_state_dir_option_and_environment_override_the_config(tmp_path):
    unused, real = tmp_path / "from-config", tmp_path / "service-state"
    config = write_config(tmp_path / "monitor.yaml", service_config(tmp_path, unused))
    once = run_cli("run", "--once", "--config", str(config), "--state-dir", str(real), cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    assert (real / "monitor.db").is_file() and not unused.exists()
    for args, env in (
        (("--config", str(config), "--state-dir", str(real)), None),
        (("--config", str(config)), {"NEWS_MONITOR_STATE_DIR": str(real)}),
    ):
        report = status_json(*args, cwd=tmp_path, env=env)
        assert [(f["name"], f["state"]) for f in report["feeds"]] == [("full", "ok")]
        assert report["channels"][0]["sent"] == 1  # run --once sent the digest
    before = run_cli("--state-dir", str(real), "status", "--config", str(config), cwd=tmp_path)
    assert before.returncode == 0 and "full: ok" in before.stdout, before.stderr
    assert not unused.exists()


def test_status_retry_preview_without_state_say_so_and_create_nothing(tmp_path):
    missing = tmp_path / "nowhere"
    config = write_config(tmp_path / "monitor.yaml", service_config(tmp_path, missing))
    for command in (["status"], ["status", "--json"], ["retry", "hold"], ["preview"]):
        shown = run_cli(*command, "--config", str(config), cwd=tmp_path)
        assert shown.returncode == 2, (command, shown.stdout, shown.stderr)
        assert shown.stderr.strip().splitlines() == [f"news-monitor: {NO_STATE.format(missing)}"]
        assert shown.stdout == "" and not missing.exists()
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    shown = run_cli("status", "--config", str(config), "--state-dir", str(elsewhere), cwd=tmp_path)
    assert shown.returncode == 2 and NO_STATE.format(elsewhere) in shown.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_feed_never_polled_is_not_ok(tmp_path):
    data = service_config(tmp_path, tmp_path / "state")
    config = write_config(tmp_path / "monitor.yaml", data)
    assert run_cli("run", "--once", "--config", str(config), cwd=tmp_path).returncode == 0
    data["feeds"].append({"name": "added later", "url": f"file:{tmp_path / 'later.xml'}"})
    write_config(config, data)
    human = run_cli("status", "--config", str(config), cwd=tmp_path)
    assert human.returncode == 0, human.stderr
    assert "  full: ok;" in human.stdout
    assert "  added later: never polled; last success never" in human.stdout
    report = status_json("--config", str(config), cwd=tmp_path)
    assert {f["name"]: f["state"] for f in report["feeds"]} == {
        "full": "ok",
        "added later": "never polled",
    }


def test_status_with_a_broken_config_prints_the_state_under_a_banner(tmp_path):
    data = service_config(tmp_path, tmp_path / "state")
    config = write_config(tmp_path / "monitor.yaml", data)
    assert run_cli("run", "--once", "--config", str(config), cwd=tmp_path).returncode == 0
    text = config.read_text().replace("Pompeo AND Pyongyang", "Pompeo AND (Pyongyang")
    config.write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "(Pyongyang" in row)
    shown = run_cli("status", "--config", str(config), cwd=tmp_path)
    assert shown.returncode == 1, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith(f"CONFIG ERROR: {config}:{line}:")
    assert lines[0].endswith(BANNER_TAIL) and "rule 'pompeo'" in lines[0]
    assert "FEEDS (times in UTC)" in lines and "  full: ok;" in shown.stdout
    assert "  pompeo: 1 match in 24 h" in shown.stdout
    assert "  hold: pending 0, failed 0, last sent 20" in shown.stdout
    report = status_json("--config", str(config), cwd=tmp_path)
    assert report["config_error"][0].startswith(f"{config}:{line}:")
    assert [f["name"] for f in report["feeds"]] == ["full"]
    elsewhere = tmp_path / "no-state-here"
    shown = run_cli("status", "--config", str(config), "--state-dir", str(elsewhere), cwd=tmp_path)
    assert shown.returncode == 2 and not elsewhere.exists()
    assert shown.stderr.startswith(f"CONFIG ERROR: {config}:{line}:")
    assert shown.stderr.endswith(f"news-monitor: {NO_STATE.format(elsewhere)}\n")


def test_a_failed_reload_is_recorded_for_status_and_metrics(tmp_path):
    port = free_port()
    data = service_config(tmp_path, tmp_path / "state", metrics=f"127.0.0.1:{port}")
    config = write_config(tmp_path / "monitor.yaml", data)
    good = config.read_text()
    secret_url = "https://alerts:canary-pass-6d1f@hooks.example.org/x?token=canary-tok-91c2"
    daemon = DaemonProcess(config, tmp_path)
    try:
        daemon.wait_for_log("feed='full' items=")
        assert value(scrape(port), "news_monitor_config_reload_failed") == 0
        loaded = value(scrape(port), "news_monitor_config_last_reload_success_timestamp_seconds")
        assert loaded and loaded > datetime(2026, 1, 1, tzinfo=UTC).timestamp()
        broken = good.replace("cron: 0 0 1 1 *", secret_url)
        config.write_text(broken)
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_log("reload failed")
        assert value(scrape(port), "news_monitor_config_reload_failed") == 1
        config.write_text(good)  # fixed on disk, not reloaded yet: status shows the failure
        shown = run_cli("status", "--config", str(config), cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        first, second = shown.stdout.splitlines()[:2]
        assert first.startswith("RELOAD FAILED at ") and first.endswith(BANNER_TAIL + ":")
        assert second.startswith(f"  {config}:") and "invalid schedule" in second
        report = status_json("--config", str(config), cwd=tmp_path)
        assert report["config"]["reload_failed_at"] and report["config"]["reload_errors"]
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_log("reloaded:")
        assert value(scrape(port), "news_monitor_config_reload_failed") == 0
        shown = run_cli("status", "--config", str(config), cwd=tmp_path)
        assert shown.stdout.startswith("FEEDS"), shown.stdout
    finally:
        daemon.stop()
        daemon.kill()
    conn = sqlite3.connect(tmp_path / "state" / "monitor.db")
    dump = "\n".join(conn.iterdump())
    conn.close()
    assert "canary-pass" not in dump and "canary-tok" not in dump
    assert "canary-pass" not in report["config"]["reload_errors"][0]


def test_status_shows_each_channel_next_digest_in_its_time_zone(tmp_path):
    channels = {
        "morning": {"type": "console", "schedule": "cron: 0 7 * * *", "timezone": "Asia/Seoul"},
        "hourly": {"type": "console", "schedule": "every: 1h"},
        "daily": {"type": "console", "schedule": "every: 1d"},
        "now": {"type": "console"},
    }
    data = service_config(tmp_path, tmp_path / "state", channels=channels)
    data["rules"][0]["notify"] = ["morning", "hourly"]
    config = write_config(tmp_path / "monitor.yaml", data)
    started = datetime.now(ZoneInfo("Asia/Seoul"))
    assert run_cli("run", "--once", "--config", str(config), cwd=tmp_path).returncode == 0
    before = datetime.now(ZoneInfo("Asia/Seoul"))
    shown = run_cli("status", "--config", str(config), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    days = {(before + timedelta(days=d)).date().isoformat() for d in (0, 1, 2)}
    expected = {f"    next digest: {day} 07:00 KST (Asia/Seoul)" for day in days}
    lines = shown.stdout.splitlines()
    assert expected & set(lines), shown.stdout
    # every: ticks count from the daemon's start: estimated from the last message
    # the last message was made during the run: any minute from its start to its end
    span = int((before - started).total_seconds() // 60) + 2
    hourly = {(started + timedelta(hours=1, minutes=m)).astimezone(UTC) for m in range(-1, span)}
    estimates = {f"    next digest: ~{t:%Y-%m-%d %H:%M} UTC (UTC)" for t in hourly}
    assert estimates & set(lines), shown.stdout
    assert "    next digest: every 1d from the daemon's start" in lines  # no message yet
    assert "    next digest: immediate" in lines
    report = status_json("--config", str(config), cwd=tmp_path)
    morning = next(c for c in report["channels"] if c["name"] == "morning")["next_digest"]
    assert morning["next"].endswith("Z")  # --json: UTC, as every time it shows
    fire = datetime.fromisoformat(morning["next"]).astimezone(ZoneInfo("Asia/Seoul"))
    assert morning["timezone"] == "Asia/Seoul" and fire.utcoffset() == timedelta(hours=9)
    assert (fire.hour, fire.minute) == (7, 0) and timedelta(0) < fire - before <= timedelta(1)


def test_the_config_shipped_for_etc_passes_check_and_names_no_local_path(tmp_path):
    shipped = REPO / "config" / "monitor.etc.yaml"
    data = yaml.safe_load(shipped.read_text())
    assert "state_dir" not in data  # the unit's $STATE_DIRECTORY
    assert all(feed["url"].startswith("https://") for feed in data["feeds"])
    checked = run_cli("check", "--config", str(shipped), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert list(tmp_path.iterdir()) == []  # check creates no state either
