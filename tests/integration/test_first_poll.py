"""The first poll explains itself (issue #15 point 9): with ``backfill: 0`` it logs how
many items it recorded as seen and why none was alerted, and ``status`` and ``history``
show those matches as the first poll's baseline, not as undelivered alerts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from tests.conftest import run_cli, write_config

NOV_30 = "Mon, 30 Nov 2026 06:00:00 GMT"


def rss(*guids: str, dates: dict[str, str] | None = None) -> str:
    """A feed of one unmatched item and one matching item per guid (dated NOV_30 unless
    ``dates`` says otherwise)."""
    items = "".join(
        f"<item><title>Pompeo in Pyongyang {g}</title><link>http://127.0.0.1:9/{g}</link>"
        f'<guid isPermaLink="false">{g}</guid><description>Pompeo flew to Pyongyang.'
        f"</description><pubDate>{(dates or {}).get(g, NOV_30)}</pubDate></item>"
        for g in guids
    )
    other = (
        "<item><title>Markets close higher</title><link>http://127.0.0.1:9/m</link>"
        '<guid isPermaLink="false">markets</guid><description>Stocks rose.</description></item>'
    )
    head = '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
    return f"{head}{other}{items}</channel></rss>"


def config(tmp_path: Path, http_server, **feed: str) -> Path:
    return write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"url": f"file:{tmp_path / 'feed.xml'}", "name": "Desk", **feed}],
            "rules": [{"name": "pp", "query": "Pompeo AND Pyongyang"}],
            "channels": {"hook": {"type": "webhook", "url": http_server.url("/hook")}},
        },
    )


def status(path: Path) -> tuple[dict, str]:
    as_json = run_cli("status", "--json", "--config", str(path), cwd=path.parent)
    text = run_cli("status", "--config", str(path), cwd=path.parent)
    assert as_json.returncode == 0 and text.returncode == 0, as_json.stderr + text.stderr
    (rule,) = json.loads(as_json.stdout)["rules"]
    return rule, text.stdout


def test_first_poll_logs_its_baseline_and_status_does_not_count_it(tmp_path, http_server):
    path = config(tmp_path, http_server)
    (tmp_path / "feed.xml").write_text(rss("a", "b", "c"))
    first = run_cli("run", "--once", "--config", str(path), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (
        "feed='Desk' first poll: 4 items recorded as seen, 3 matched rules but were not "
        "alerted (backfill: 0, see docs/configuration.md#backfill)"
    ) in first.stderr
    assert http_server.requests_to("/hook") == []

    rule, text = status(path)
    assert (rule["matches_24h"], rule["matches_30d"]) == (0, 0)
    assert (rule["baseline_24h"], rule["baseline_30d"]) == (3, 3)
    assert "pp: 0 matches in 24 h, 0 in 30 d; 3 more at first polls, not alerted" in text
    shown = run_cli("history", "--config", str(path), cwd=tmp_path).stdout
    assert shown.count("not alerted (first poll baseline") == 3

    (tmp_path / "feed.xml").write_text(rss("new", "a", "b", "c"))
    second = run_cli("run", "--once", "--config", str(path), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "first poll" not in second.stderr
    assert len(http_server.requests_to("/hook")) == 1
    seen = json.loads(run_cli("status", "--json", "--config", str(path), cwd=tmp_path).stdout)
    assert [f["items_seen"] for f in seen["feeds"]] == [5]  # 4 at the first poll, then 1
    rule, text = status(path)
    assert (rule["matches_24h"], rule["matches_30d"], rule["baseline_30d"]) == (1, 1, 3)
    (alerted,) = [
        m
        for m in json.loads(
            run_cli("history", "--json", "--config", str(path), cwd=tmp_path).stdout
        )["matches"]
        if not m["baseline"]
    ]
    assert alerted["title"] == "Pompeo in Pyongyang new"
    assert alerted["channels"][0]["status"] == "sent"


def test_first_poll_with_a_backfill_window_names_it(tmp_path, http_server):
    path = config(tmp_path, http_server, backfill="1d")
    recent = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    old = "Mon, 01 Jan 2018 00:00:00 GMT"
    dates = {"old-1": old, "old-2": old, "fresh": recent}
    (tmp_path / "feed.xml").write_text(rss("old-1", "old-2", "fresh", dates=dates))
    result = run_cli("run", "--once", "--config", str(path), cwd=tmp_path)
    assert (
        "feed='Desk' first poll: 4 items recorded as seen, 2 matched rules but were not "
        "alerted (backfill: 1d: older or undated items"
    ) in result.stderr, result.stderr
    assert len(http_server.requests_to("/hook")) == 1  # the fresh one
