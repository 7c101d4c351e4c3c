"""Silent loss in ingest and store (issue #14, points 1-3).

1. A leap day: a feed with dated entries polled "on" 29 February (and across a new
   year) is read, its entries dated and alerted, and the poll is not failed.
2. A reused story id: retention pruned the newest items, SQLite handed their ids (which
   are story ids) out again, and the new story's alert met the old story's outbox row
   and was dropped without a word (``new=1 alerts=0``).
3. One bad entry poisons its feed: an entry that cannot be read is skipped with one log
   line, the other entries alert, and the feed is not marked failing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import MonitorConfig
from monitor.models import FeedRef, Item
from monitor.pipeline import PollReport, poll_feed
from monitor.runtime import build_runtime
from monitor.store.dialect import SQLITE
from monitor.store.itemcodec import moment_of
from monitor.store.itemreads import item_field
from monitor.store.items import Items
from monitor.store.sqlite import Store
from tests.conftest import run_cli, write_config

DATA = Path(__file__).parent.parent / "data"


def _rss(*items: tuple[str, str]) -> bytes:
    """An RSS 2.0 document of (guid, title) items."""
    body = "".join(
        f"<item><title>{title}</title><guid>{guid}</guid>"
        f"<link>https://example.org/{guid}</link></item>"
        for guid, title in items
    )
    head = '<?xml version="1.0"?><rss version="2.0"><channel><title>Loss</title>'
    return f"{head}{body}</channel></rss>".encode()


def _config(tmp_path: Path, *urls: str, channel: dict | None = None) -> Path:
    return write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "defaults": {"backfill": "all"},
            "feeds": [{"url": url} for url in urls],
            "rules": [{"name": "reports", "query": "report"}],
            "channels": {"out": channel or {"type": "console"}},
            "dedup": {"retention": "30d"},
        },
    )


def _alerted(stdout: str) -> list[str]:
    return sorted(re.findall(r"^\* (.+)$", stdout, re.MULTILINE))


# --- 1. a leap day ------------------------------------------------------------------


def _dated_rss(now: datetime) -> bytes:
    """Entries published an hour and two days before ``now`` (RFC 822 dates)."""
    items = "".join(
        f"<item><title>{title} report</title><guid>{title}</guid>"
        f"<pubDate>{(now - age).strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate></item>"
        for title, age in (("fresh", timedelta(hours=1)), ("older", timedelta(days=2)))
    )
    return f'<rss version="2.0"><channel><title>Leap</title>{items}</channel></rss>'.encode()


@pytest.mark.parametrize(
    "now",
    [
        datetime(2024, 2, 29, 12, 0, tzinfo=UTC),
        datetime(2028, 2, 29, 0, 30, tzinfo=UTC),
        datetime(2024, 1, 1, 0, 30, tzinfo=UTC),
    ],
    ids=str,
)
def test_a_feed_with_dated_entries_is_read_on_a_leap_day(tmp_path, http_server, now) -> None:
    """Polled "on" 29 February (and just after a new year) through the real pipeline
    and a real HTTP server: the poll succeeds, the dates are read (backfill ``1d``
    alerts the fresh entry only) and the next poll is an interval away, not a backoff.
    """
    http_server.route("/leap.xml", _dated_rss(now))
    config = MonitorConfig.model_validate(
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "defaults": {"interval": "10m", "backfill": "1d"},
            "feeds": [{"name": "leap", "url": http_server.url("/leap.xml")}],
            "rules": [{"name": "reports", "query": "report"}],
            "channels": {"out": {"type": "console"}},
        }
    )
    rt = build_runtime(config, clock=lambda: now)

    async def poll() -> PollReport:
        try:
            return await poll_feed(rt, config.feeds[0])
        finally:
            await rt.aclose()

    report = asyncio.run(poll())
    assert report.ok, report.error
    assert (report.new_items, report.alerts) == (2, 1)
    assert report.next_poll is not None
    assert report.next_poll - now <= timedelta(minutes=11)
    with sqlite3.connect(tmp_path / "state" / "monitor.db") as conn:
        published = dict(
            conn.execute(f"SELECT item_key, {item_field(SQLITE, 'published')} FROM items")
        )
    assert {key: moment_of(value) for key, value in published.items()} == {
        "fresh": (now - timedelta(hours=1)).replace(microsecond=0),
        "older": (now - timedelta(days=2)).replace(microsecond=0),
    }


# --- 2. a reused story id ---------------------------------------------------------------


def test_a_story_after_retention_pruned_the_newest_items_still_alerts(tmp_path, http_server):
    """Item A alerts; A is pruned (seen over 30 days ago) while its sent alert is not
    (sent within the 30 days); item B then starts a story and must alert.

    Before the fix B took A's id, so B's story was A's and its alert was dropped.
    """
    http_server.route("/loss.xml", _rss(("a", "Alpha report")))
    config = _config(tmp_path, http_server.url("/loss.xml"))
    db = tmp_path / "state" / "monitor.db"

    first = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert _alerted(first.stdout) == ["Alpha report"]
    # A was first seen long ago; its alert went out now (an update matching a rule,
    # a digest sent late): retention prunes the item but keeps the alert's row.
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE items SET first_seen = '2020-01-01T00:00:00Z'")

    second = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM items").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone() == (1,)

    http_server.route("/loss.xml", _rss(("a", "Alpha report"), ("b", "Bravo report")))
    third = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    assert _alerted(third.stdout) == ["Bravo report"], third.stderr
    assert "new=1 alerts=1" in third.stderr
    with sqlite3.connect(db) as conn:
        (b_id,) = conn.execute("SELECT id FROM items").fetchone()
    assert b_id > 1  # A's id is not handed out again


def test_upgrade_starts_new_ids_above_every_id_still_referenced(tmp_path):
    """A database from before the fix keeps its items and ids, and a new item's id is
    above every item and story id still in the outbox (pruned items included)."""
    state = tmp_path / "state"
    shutil.copytree(DATA / "upgrade" / "state-v0", state)
    with sqlite3.connect(state / "monitor.db") as conn:
        before = conn.execute("SELECT id, story_id, item_key FROM items ORDER BY id").fetchall()
        conn.execute(  # the alert of story 99, whose items retention pruned
            "INSERT INTO outbox (channel, story_id, rule, created_at, status, sent_at) "
            "VALUES ('out', 99, 'reports', '2026-01-01T00:00:00Z', 'sent', "
            "'2026-01-01T00:00:00Z')"
        )
    store = Store.open(state)
    try:
        after = store.conn.execute("SELECT id, story_id, item_key FROM items ORDER BY id")
        assert [tuple(r) for r in after] == before
        item = _item("new")
        with store.transaction():
            item_id, story_id = Items(store).insert(
                item.feed.url,
                item.id,
                item,
                canonical_url=None,
                content_hash="h",
                fingerprint=None,
                story_id=None,
                now=datetime(2026, 2, 1, tzinfo=UTC),
            )
        assert item_id == story_id == 100
    finally:
        store.close()


def test_an_alert_meeting_another_storys_row_is_an_error_not_silence(tmp_path, caplog):
    """An outbox row older than the story it names (a database whose ids were reused
    before the upgrade) is not this story's alert: the alert that cannot be queued is
    logged as an error, while a story's own earlier alert stays silent."""
    store = Store.open(tmp_path / "state")
    items = Items(store)
    try:
        with store.transaction():
            store.conn.execute(
                "INSERT INTO outbox (channel, story_id, rule, created_at, status, sent_at) "
                "VALUES ('out', 1, 'reports', '2020-01-01T00:00:00Z', 'sent', "
                "'2020-01-01T00:00:00Z')"
            )
        now = datetime(2026, 2, 1, tzinfo=UTC)
        item = _item("b")
        with store.transaction():
            item_id, story_id = items.insert(
                item.feed.url,
                item.id,
                item,
                canonical_url=None,
                content_hash="h",
                fingerprint=None,
                story_id=None,
                now=now,
            )
            assert story_id == 1  # the id the stale row names
            with caplog.at_level(logging.INFO, logger="monitor.store"):
                assert items.queue_alerts(story_id, (("reports", ("out",)),), now) == 0
                assert items.queue_alerts(story_id, (("other", ("out",)),), now) == 1
                assert items.queue_alerts(story_id, (("other", ("out",)),), now) == 0
    finally:
        store.close()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, caplog.text
    assert "alert not queued" in errors[0].getMessage()
    assert "story=1 rule='reports'" in errors[0].getMessage()


def _item(guid: str) -> Item:
    return Item(feed=FeedRef("f", "http://example.org/f.xml"), id=guid, title=guid, link=None)


# --- 3. one bad entry poisons its feed -----------------------------------------------

GML = '<gml:pos xmlns:gml="http://www.opengis.net/gml">48.2 16.4</gml:pos>'
POISONED_JSON = (
    '{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": ['
    '{"id": "j1", "title": "Juliet report"},'
    '{"id": "j2", "title": "bad tags report", "tags": true},'
    '{"id": 1' + "0" * 5000 + ', "title": "huge id report", "tags": [1' + "0" * 5000 + "]},"
    '{"id": "j4", "title": "Kilo \\ud800 report"},'
    '{"id": "j5", "title": "Lima report", "date_published": "9999-12-31T23:59:59-01:00"}]}'
)
POISONED_RSS = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>R</title>'
    "<item><title>Romeo report</title><guid>r1</guid></item>"
    f"<item><title>bad report</title><guid>r2</guid>{GML}</item>"
    "<item><title>Sierra report</title><guid>r3</guid></item></channel></rss>"
)


def test_one_bad_entry_costs_only_itself_through_run_once(tmp_path, http_server):
    """A JSON Feed with an item whose tags are ``true`` and one of unreadable numbers
    and lone surrogates, an RSS feed with an entry feedparser raises on: every other
    item alerts, each skipped one is one log line, neither feed is failing."""
    http_server.route(
        "/j.json", POISONED_JSON.encode(), headers={"Content-Type": "application/feed+json"}
    )
    http_server.route("/r.xml", POISONED_RSS.encode())
    config = _config(tmp_path, http_server.url("/j.json"), http_server.url("/r.xml"))

    result = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert _alerted(result.stdout) == [
        "Juliet report",
        "Kilo \ufffd report",
        "Lima report",
        "Romeo report",
        "Sierra report",
        "huge id report",
    ], result.stderr
    skipped = [line for line in result.stderr.splitlines() if " skipped: " in line]
    assert len(skipped) == 2, result.stderr
    assert any("item 2 skipped: TypeError: tags is not a list" in line for line in skipped)
    assert any("item 2 skipped: KeyError: 'where'" in line for line in skipped)
    assert "poll failed" not in result.stderr

    report = json.loads(run_cli("status", "--json", "--config", str(config), cwd=tmp_path).stdout)
    assert [(f["consecutive_failures"], f["last_error"]) for f in report["feeds"]] == [
        (0, None),
        (0, None),
    ]
