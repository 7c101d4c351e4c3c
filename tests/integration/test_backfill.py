"""Backfill: items already in a feed at its first poll are not alerted unless asked."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from tests.conftest import SEED, run_cli, write_config

ITEM = """<item><title>{title}</title><link>http://127.0.0.1:1/{guid}</link>
<guid isPermaLink="false">{guid}</guid><pubDate>{date}</pubDate>
<description>Pompeo flew to Pyongyang.</description></item>"""


def feed(*items: str) -> str:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        + "".join(items)
        + "</channel></rss>"
    )


def item(guid: str, date: str = "Fri, 27 Nov 2026 06:00:00 GMT") -> str:
    return ITEM.format(title=f"Pompeo in Pyongyang {guid}", guid=guid, date=date)


def once(tmp_path: Path, backfill) -> list[str]:
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [
                {
                    "url": f"file:{tmp_path / 'feed.xml'}",
                    "name": "f",
                    **({"backfill": backfill} if backfill is not None else {}),
                }
            ],
            "rules": [{"name": "pp", "query": "Pompeo AND Pyongyang"}],
            "channels": {"hook": {"type": "console"}},
        },
    )
    result = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return sorted(set(re.findall(r"Pyongyang (old|new|recent)\w*", result.stdout)))


def test_default_backfill_alerts_only_new_items(tmp_path):
    (tmp_path / "feed.xml").write_text(feed(item("old")))
    assert once(tmp_path, None) == []
    (tmp_path / "feed.xml").write_text(feed(item("new"), item("old")))
    assert once(tmp_path, None) == ["new"]
    assert once(tmp_path, None) == []
    status = run_cli("status", "--json", "--config", str(tmp_path / "monitor.yaml"), cwd=tmp_path)
    (rule,) = json.loads(status.stdout)["rules"]
    assert rule["matches_24h"] + rule["matches_30d"] >= 2  # the old item matched, unalerted


def test_backfill_duration_uses_published_dates(tmp_path):
    an_hour_ago = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    (tmp_path / "feed.xml").write_text(
        feed(item("recent", an_hour_ago), item("old", "Mon, 01 Jan 2018 00:00:00 GMT"))
    )
    assert once(tmp_path, "1d") == ["recent"]


def test_backfill_all_alerts_everything_once(tmp_path):
    (tmp_path / "feed.xml").write_text((SEED / "feed-full.xml").read_text())
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"url": f"file:{tmp_path / 'feed.xml'}", "backfill": "all"}],
            "rules": [{"name": "pp", "query": "Pompeo"}],
            "channels": {"out": {"type": "console"}},
        },
    )
    first = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert "Pyongyang soon" in first.stdout and "Tokyo" in first.stdout
    second = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert "Pyongyang soon" not in second.stdout
