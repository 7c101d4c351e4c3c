"""A rule that notifies no channel (``notify: []``, or a config without channels) says
so, instead of reading as held back by backfill (found by a newcomer review)."""

from __future__ import annotations

import json

from tests.conftest import SEED, run_cli, write_config


def _config(tmp_path, **rule):
    return write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "defaults": {"backfill": "all"},
            "feeds": [{"name": "seed", "url": "file:" + str(SEED / "feed-full.xml")}],
            "rules": [{"name": "pompeo", "query": "Pompeo", **rule}],
            "channels": {"out": {"type": "console"}},
        },
    )


def test_a_rule_without_channels_says_it_notifies_none(tmp_path):
    config = _config(tmp_path, notify=[])
    once = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    assert "rule='pompeo'" in once.stderr
    assert "not alerted: the rule notifies no channel" in once.stderr
    assert "alerts to \n" not in once.stderr and "(backfill)" not in once.stderr


def test_history_and_status_say_why_nothing_was_alerted(tmp_path):
    config = _config(tmp_path, notify=[])
    assert run_cli("run", "--once", "--config", str(config), cwd=tmp_path).returncode == 0
    history = run_cli("history", "--config", str(config), cwd=tmp_path)
    assert history.returncode == 0, history.stderr
    assert "not alerted: the rule notifies no channel" in history.stdout
    assert "backfill" not in history.stdout
    rows = json.loads(run_cli("history", "--json", "--config", str(config), cwd=tmp_path).stdout)
    assert rows["matches"] and all(m["no_channel"] and not m["baseline"] for m in rows["matches"])
    status = run_cli("status", "--config", str(config), cwd=tmp_path)
    line = next(x for x in status.stdout.splitlines() if x.startswith("  pompeo: "))
    assert "notifies no channel, so none alerted" in line and "backfill" not in line, line
    report = json.loads(run_cli("status", "--json", "--config", str(config), cwd=tmp_path).stdout)
    assert report["rules"][0]["channels"] == []


def test_a_routed_rule_held_by_backfill_still_reads_as_backfill(tmp_path):
    config = _config(tmp_path)
    text = config.read_text().replace("backfill: all", "backfill: 0")
    config.write_text(text)
    assert run_cli("run", "--once", "--config", str(config), cwd=tmp_path).returncode == 0
    history = run_cli("history", "--config", str(config), cwd=tmp_path)
    assert "first poll baseline: backfill" in history.stdout
    assert "notifies no channel" not in history.stdout
    status = run_cli("status", "--config", str(config), cwd=tmp_path)
    assert "more at first polls, not alerted (backfill)" in status.stdout


def test_status_without_a_loadable_config_still_reports_rules(tmp_path):
    config = _config(tmp_path, notify=[])
    assert run_cli("run", "--once", "--config", str(config), cwd=tmp_path).returncode == 0
    config.write_text(config.read_text() + "bogus: 1\n")  # the config no longer loads
    status = run_cli("status", "--config", str(config), cwd=tmp_path)
    assert "CONFIG ERROR" in status.stdout + status.stderr
    assert "Traceback" not in status.stderr, status.stderr
    assert "  pompeo: " in status.stdout, status.stdout
