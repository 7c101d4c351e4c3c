"""SIGTERM drains: a fetch in flight when the signal comes finishes and is stored."""

from __future__ import annotations

import json
import signal

from tests.conftest import run_cli, seed_feed, write_config
from tests.integration.daemon_helpers import DaemonProcess


def test_sigterm_lets_an_in_flight_poll_finish_then_exits_clean(tmp_path, http_server):
    http_server.route("/slow.xml", seed_feed("feed-full.xml", http_server.base_url), delay=3)
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"name": "slow", "url": http_server.url("/slow.xml"), "backfill": "all"}],
            "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang"}],
            "channels": {"hold": {"type": "console", "schedule": "cron: 0 0 1 1 *"}},
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
    assert code == 0, daemon.log
    log = daemon.log
    assert log.index("stopping:") < log.index("feed='slow' items=5 parsed=5 new=5 alerts=1")
    assert log.index("feed='slow' items=5") < log.index("stopped")
    report = json.loads(run_cli("status", "--json", "--config", str(config), cwd=tmp_path).stdout)
    assert report["feeds"][0]["last_success"] is not None
    assert report["channels"][0]["pending"] == 1
