"""Hostile configs against a running daemon (issue #14 point 9).

An alias bomb and a FIFO secret file are reported by ``check`` and by a SIGHUP
reload as ``FILE:LINE:COL``, and the daemon keeps polling on its old config; a
reload that takes seconds (50,000 rules) runs beside the polls, not instead of them.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess

import pytest
import yaml

from tests.conftest import run_cli, write_config
from tests.integration.daemon_helpers import DaemonProcess
from tests.integration.test_reload import POLL, base_config, pending
from tests.unit.test_config_bounds import BILLION_LAUGHS


def check(config, cwd) -> subprocess.CompletedProcess:
    try:
        return run_cli("check", "--config", str(config), cwd=cwd, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("check did not finish within 60s")


def test_alias_bomb_and_fifo_secret_fail_check_and_reload_and_the_old_config_runs_on(tmp_path):
    data = base_config(tmp_path)
    config = write_config(tmp_path / "monitor.yaml", data)
    good = config.read_text()
    daemon = DaemonProcess(config, tmp_path)
    try:
        daemon.wait_for_log(POLL.format("full"))
        os.mkfifo(tmp_path / "hook.secret")
        fifo_secret = dict(data)
        fifo_secret["channels"] = {**data["channels"], "team": {"type": "slack"}}
        fifo_secret["channels"]["team"]["webhook_url_file"] = str(tmp_path / "hook.secret")
        bomb_text = good + BILLION_LAUGHS
        fifo_text = yaml.safe_dump(fifo_secret, sort_keys=False)
        expected = {
            "bomb": r"monitor\.yaml:\d+:\d+: too many nodes: the config expands past 1000000",
            "fifo": r"monitor\.yaml:\d+:\d+: secret file .*hook\.secret: not a regular file",
        }
        for failures, (name, text) in enumerate((("bomb", bomb_text), ("fifo", fifo_text)), 1):
            config.write_text(text)
            result = check(config, tmp_path)
            assert result.returncode == 1, result.stderr
            assert re.search(expected[name], result.stderr), result.stderr
            polls = daemon.log.count(POLL.format("full"))
            daemon.signal(signal.SIGHUP)
            log = daemon.wait_for_log("reload failed", count=failures)
            assert re.search(expected[name], log.split("reload failed")[-1]), log
            daemon.wait_for_log(POLL.format("full"), count=polls + 1)  # still polling
        config.write_text(good)
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_log("reloaded:")
        assert pending(config, tmp_path) == {"hold": 1}
    finally:
        code = daemon.stop()
        daemon.kill()
    assert code == 0, daemon.log
    assert "Traceback" not in daemon.log


def test_a_slow_reload_runs_beside_the_polls(tmp_path):
    """50,000 rules take seconds to load and compile; polls (every 2 s) go on meanwhile."""
    data = base_config(tmp_path)
    config = write_config(tmp_path / "monitor.yaml", data)
    daemon = DaemonProcess(config, tmp_path)
    try:
        daemon.wait_for_log(POLL.format("full"))
        for part in range(2):
            rules = [{"name": f"r{part}-{i}", "query": f"w{i} AND o{part}"} for i in range(25_000)]
            (tmp_path / f"rules{part}.yaml").write_text(yaml.safe_dump({"rules": rules}))
        write_config(config, dict(data, include=["rules*.yaml"]))
        daemon.signal(signal.SIGHUP)
        log = daemon.wait_for_log("reloaded:", timeout=240)
        during = log.split("reload (SIGHUP): reading")[1].split("reloaded:")[0]
        assert POLL.format("full") in during, log  # the event loop kept running
        assert "rules=50001" in log
    finally:
        code = daemon.stop()
        daemon.kill()
    assert code == 0, daemon.log
