"""A rule that notifies no channel (``notify: []``, or a config without channels) says
so, instead of reading as held back by backfill (found by a newcomer review)."""

from __future__ import annotations

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
