"""SIGTERM drains: a fetch in flight when the signal comes finishes and is stored, and
the deliveries its alerts wake are sent before the daemon exits."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

from tests.conftest import run_cli, seed_feed, write_config
from tests.integration.daemon_helpers import DaemonProcess
from tests.servers import HttpServer


def sigterm_mid_poll(tmp_path: Path, http_server: HttpServer, channels: dict[str, Any]):
    """Start the daemon on one feed that answers after 3 s, SIGTERM it while that fetch
    is under way, wait for it to exit; (exit code, log, config path)."""
    http_server.route("/slow.xml", seed_feed("feed-full.xml", http_server.base_url), delay=3)
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"name": "slow", "url": http_server.url("/slow.xml"), "backfill": "all"}],
            "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang"}],
            "channels": channels,
        },
    )
    daemon = DaemonProcess(config, tmp_path)
    try:
        daemon.wait_for_log("started:")
        assert http_server.wait_for_requests(1, timeout=30)  # the fetch is under way
        daemon.signal(signal.SIGTERM)
        code = daemon.stop()
    finally:
        daemon.kill()
    return code, daemon.log, config


def status(config: Path, cwd: Path) -> dict[str, Any]:
    """``status --json`` of ``config``."""
    return json.loads(run_cli("status", "--json", "--config", str(config), cwd=cwd).stdout)


def test_sigterm_lets_an_in_flight_poll_finish_then_exits_clean(tmp_path, http_server):
    hold = {"hold": {"type": "console", "schedule": "cron: 0 0 1 1 *"}}
    code, log, config = sigterm_mid_poll(tmp_path, http_server, hold)
    assert code == 0, log
    assert log.index("stopping:") < log.index("feed='slow' items=5 parsed=5 new=5 alerts=1")
    assert log.index("feed='slow' items=5") < log.index("stopped")
    report = status(config, tmp_path)
    assert report["feeds"][0]["last_success"] is not None
    assert report["channels"][0]["pending"] == 1


def test_alerts_of_a_poll_that_finishes_during_the_drain_are_sent_before_exit(
    tmp_path, http_server
):
    """The poll in flight at SIGTERM wakes its channel's courier as it finishes; the
    drain waits for that delivery too, so it is neither lost to the next start nor
    sent through a client that has already been closed (a flaky CI failure)."""
    hook = {"hook": {"type": "webhook", "url": http_server.url("/hook"), "group_wait": "0s"}}
    code, log, config = sigterm_mid_poll(tmp_path, http_server, hook)
    assert code == 0, log
    assert "client has been closed" not in log and "Traceback" not in log, log
    assert len(http_server.requests_to("/hook")) == 1, log
    assert log.index("feed='slow' items=5") < log.index("stopped")
    assert status(config, tmp_path)["channels"][0]["pending"] == 0
