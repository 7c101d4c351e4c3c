"""The operator alert of a failing feed says how long in words a reader takes in at a
glance (``for 3h 10m``), never a fraction of an hour (``for 0.0 h``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from monitor.feedhealth import elapsed, health_item
from tests.conftest import run_cli, write_config

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "seconds,shown",
    [
        (0, "under a second"),
        (45, "45s"),
        (130, "2m"),
        (3599, "59m"),
        (3600, "1h"),
        (3 * 3600 + 10 * 60 + 59, "3h 10m"),
        (2 * 86400 + 4 * 3600 + 59 * 60, "2d 4h"),
    ],
)
def test_elapsed_is_two_units_at_most_cut_not_rounded(seconds: int, shown: str) -> None:
    assert elapsed(timedelta(seconds=seconds)) == shown


def test_the_alert_title_names_the_feed_and_the_span() -> None:
    since = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
    item = health_item("Missing", since, "HTTP 404", since + timedelta(minutes=190))
    assert item.title == "Feed 'Missing' has been failing for 3h 10m"
    assert item.summary == "Failing since 2026-03-01 06:00 UTC. Last error: HTTP 404"


def test_a_daemon_alert_reads_in_words(tmp_path, http_server) -> None:
    http_server.route("/missing.xml", "not here", status=404)
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "health": {"alert_after": "0s", "channel": "ops"},
            "feeds": [{"name": "Missing", "url": http_server.url("/missing.xml")}],
            "rules": [{"name": "pp", "query": "Pompeo", "notify": ["ops"]}],
            "channels": {"ops": {"type": "webhook", "url": http_server.url("/ops")}},
        },
    )
    done = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 4, done.stderr  # every feed failed; the alert went out
    (alert,) = http_server.requests_to("/ops")
    (story,) = json.loads(alert.body)["items"]
    assert story["title"] == "Feed 'Missing' has been failing for under a second", story
