"""Reload without fear: SIGHUP (or a config file change) on a running daemon.

A valid change is applied without losing pending alerts, and only the changed feeds
are rescheduled; broken YAML, a bad rule and a broken template each leave the old
config running, with the error logged as FILE:LINE.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
from pathlib import Path

from tests.conftest import SEED, run_cli, write_config
from tests.integration.daemon_helpers import DaemonProcess

POLL = "feed='{}' items="


def base_config(tmp_path: Path, **extra: object) -> dict:
    feed = tmp_path / "full.xml"
    shutil.copy(SEED / "feed-full.xml", feed)
    config = {
        "state_dir": str(tmp_path / "state"),
        "allow_private_networks": True,
        "feeds": [{"name": "full", "url": f"file:{feed}", "backfill": "all", "interval": "2s"}],
        "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang"}],
        # a digest channel whose tick is months away: its alerts stay pending
        "channels": {"hold": {"type": "console", "schedule": "cron: 0 0 1 1 *"}},
    }
    config.update(extra)
    return config


def pending(config: Path, cwd: Path) -> dict[str, int]:
    report = json.loads(run_cli("status", "--json", "--config", str(config), cwd=cwd).stdout)
    return {c["name"]: c["pending"] for c in report["channels"]}


def test_valid_reload_swaps_feeds_rules_channels_and_keeps_pending_alerts(tmp_path):
    data = base_config(tmp_path)
    config = write_config(tmp_path / "monitor.yaml", data)
    daemon = DaemonProcess(config, tmp_path)
    try:
        daemon.wait_for_log(POLL.format("full"))
        assert pending(config, tmp_path) == {"hold": 1}
        second = tmp_path / "syndicated.xml"
        shutil.copy(SEED / "feed-syndicated.xml", second)
        data["feeds"].append({"name": "second", "url": f"file:{second}", "backfill": "all"})
        data["rules"].append({"name": "peace", "query": '"peace regime"'})
        data["channels"]["later"] = {"type": "console", "schedule": "cron: 0 0 1 1 *"}
        write_config(config, data)
        daemon.signal(signal.SIGHUP)
        log = daemon.wait_for_log("reloaded:")
        assert "feeds added=1 removed=0 changed=0 unchanged=1" in log
        assert "rules=2" in log and "channels=2" in log
        daemon.wait_for_log(POLL.format("second"))
        after = pending(config, tmp_path)
        assert after["hold"] >= 1 and "later" in after  # nothing pending was lost
        daemon.wait_for_log(POLL.format("full"), count=3)  # the old feed polls on
    finally:
        code = daemon.stop()
        daemon.kill()
    assert code == 0, daemon.log
    assert "reload failed" not in daemon.log


def test_invalid_reloads_keep_the_old_config_running(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    data = base_config(tmp_path, templates_dir=str(templates))
    config = write_config(tmp_path / "monitor.yaml", data)
    good = config.read_text()
    daemon = DaemonProcess(config, tmp_path)
    try:
        daemon.wait_for_log(POLL.format("full"))
        failures = 0

        def reload_fails(where: str) -> str:
            nonlocal failures
            failures += 1
            polls = daemon.log.count(POLL.format("full"))
            daemon.signal(signal.SIGHUP)
            log = daemon.wait_for_log("reload failed", count=failures)
            line = [x for x in log.splitlines() if "reload failed" in x][-1]
            assert re.search(re.escape(where) + r":\d+:\d+: ", line), line
            daemon.wait_for_log(POLL.format("full"), count=polls + 1)  # still polling
            return line

        config.write_text(good + "feeds: [\n")  # broken YAML
        reload_fails(str(config))
        broken_rule = dict(data, rules=[{"name": "bad", "query": "Pompeo AND (Pyongyang"}])
        write_config(config, broken_rule)
        assert "rule 'bad'" in reload_fails(str(config))
        config.write_text(good)
        (templates / "digest.txt.j2").write_text("{% for story in stories %}\n{{ story.title\n")
        reload_fails(str(templates / "digest.txt.j2"))
        (templates / "digest.txt.j2").unlink()
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_log("reloaded:")
        assert pending(config, tmp_path) == {"hold": 1}
    finally:
        code = daemon.stop()
        daemon.kill()
    assert code == 0, daemon.log


def test_watch_config_reloads_on_a_file_change(tmp_path):
    data = base_config(tmp_path, watch_config=True)
    config = write_config(tmp_path / "monitor.yaml", data)
    daemon = DaemonProcess(config, tmp_path)
    try:
        daemon.wait_for_log("watching")
        data["feeds"][0]["interval"] = "1h"
        write_config(config, data)
        log = daemon.wait_for_log("reloaded:")
        assert "reload (config file changed)" in log
        assert "changed=1 unchanged=0" in log
    finally:
        code = daemon.stop()
        daemon.kill()
    assert code == 0, daemon.log
