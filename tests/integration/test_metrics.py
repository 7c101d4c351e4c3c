"""The Prometheus endpoint of a running daemon, scraped over HTTP."""

from __future__ import annotations

import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import serve_seed, write_config
from tests.integration.daemon_helpers import DaemonProcess
from tests.servers import free_port


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_scrape_a_running_daemon(tmp_path, http_server):
    urls = serve_seed(http_server, "feed-full.xml")
    http_server.route("/gone.xml", "gone", status=404)
    http_server.respond_post("/hook", (200, {}, "ok"))
    port = free_port()
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "metrics": f"127.0.0.1:{port}",
            "feeds": [
                {"name": "seed", "url": urls["feed-full.xml"], "backfill": "all"},
                {"name": "gone", "url": http_server.url("/gone.xml")},
            ],
            "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang"}],
            "channels": {
                "hook": {
                    "type": "webhook",
                    "url": http_server.url("/hook"),
                    "schedule": "every: 1s",
                }
            },
        },
    )
    daemon = DaemonProcess(config, tmp_path)
    try:
        daemon.wait_for_log("channel=hook message=")
        deadline = time.monotonic() + 60
        samples = scrape(port)
        # the outbox gauges are refreshed by the health job (every 10 s): wait for one
        # that ran after the send
        while time.monotonic() < deadline and not (
            value(samples, "news_monitor_healthy") == 1
            and value(samples, "news_monitor_alerts", channel="hook", status="sent") == 1
        ):
            time.sleep(0.2)
            samples = scrape(port)
    finally:
        code = daemon.stop()
        daemon.kill()
    assert code == 0, daemon.log
    assert value(samples, "news_monitor_polls_total", result="ok") >= 1
    assert value(samples, "news_monitor_polls_total", result="error") >= 1
    assert value(samples, "news_monitor_fetch_errors_total", kind="http") >= 1
    assert value(samples, "news_monitor_fetched_bytes_total") > 1000
    assert value(samples, "news_monitor_parse_seconds_count") >= 1
    assert value(samples, "news_monitor_items_total", kind="new") == 5
    assert value(samples, "news_monitor_matches_total", rule="pompeo") == 1
    assert value(samples, "news_monitor_messages_total", channel="hook", result="sent") == 1
    assert value(samples, "news_monitor_alerts_sent_total", channel="hook") == 1
    assert value(samples, "news_monitor_delivery_seconds_count", channel="hook") == 1
    assert value(samples, "news_monitor_alerts", channel="hook", status="pending") == 0
    assert value(samples, "news_monitor_alerts", channel="hook", status="sent") == 1
    last = value(samples, "news_monitor_last_successful_poll_timestamp_seconds", feed="seed")
    assert last is not None and last > 1.6e9
    assert value(samples, "news_monitor_healthy") == 1
