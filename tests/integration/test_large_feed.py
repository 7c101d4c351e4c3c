"""One large feed must not block the daemon (issue #14, point 7).

A 10 MB feed (50 items of 200,000 characters, within every limit) with 15 ordinary
rules held the event loop for 80-116 s: no other feed was polled, systemd's watchdog
killed the daemon mid-poll, and the same poll ran again after every restart. It also
stored ~400 MB of highlights. Here: another feed keeps being polled while the large
one is matched, the state stays small with capped highlights, and a poll that never
finishes three times is backed off.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3

from monitor.config import MonitorConfig
from monitor.pipeline import poll_feed
from monitor.runtime import build_runtime
from tests.conftest import run_cli, seed_feed, write_config
from tests.integration.daemon_helpers import DaemonProcess

TEXT = (
    "the minister said that talks on trade and security would resume next week while "
    "officials in the capital warned of sanctions energy prices inflation election court "
    "ruling protest police army border ceasefire vaccine climate café Zürich naïve Москва"
)
WORDS = TEXT.split(" ")
RULES = {
    "trade": "trade AND talks",
    "sanctions": "sanctions",
    "energy": '"energy prices"',
    "vote": "election OR court",
    "unrest": "protest AND police",
    "border": "army NEAR/5 border",
    "ceasefire": "ceasefire",
    "vaccine": "vaccine",
    "climate": "climate",
    "capital": "minister AND capital",
    "inflation": "inflation",
    "soon": '"next week"',
    "security": "security",
    "officials": "officials",
    "ruling": "ruling",
}


def large_feed(items: int = 50, chars: int = 200_000) -> bytes:
    """An RSS feed of ``items`` items of ``chars`` characters of content (HTML) each.

    Its entity declaration is dropped with a parser note, so the daemon logs
    "parsed with a warning" between parsing the feed and matching its items.
    """
    rng = random.Random(14)
    out = [
        '<?xml version="1.0" encoding="utf-8"?><!DOCTYPE rss [<!ENTITY x "y">]>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        "<channel><title>large</title><link>http://example.com/</link><description>d"
        "</description>"
    ]
    for i in range(items):
        text = " ".join(rng.choices(WORDS, k=chars // 6))[:chars]
        paragraphs = "".join(
            f"&lt;p&gt;{text[k : k + 2000]}&lt;/p&gt;" for k in range(0, len(text), 2000)
        )
        out.append(
            f"<item><title>Story {i}: trade talks</title><link>http://example.com/{i}</link>"
            f"<guid>large-{i}</guid><description>summary {i}</description>"
            f"<content:encoded>{paragraphs}</content:encoded></item>"
        )
    out.append("</channel></rss>")
    return "".join(out).encode()


def _config(tmp_path, feeds: list[dict]) -> dict:
    return {
        "state_dir": str(tmp_path / "state"),
        "allow_private_networks": True,
        "feeds": feeds,
        "rules": [{"name": name, "query": query} for name, query in RULES.items()],
        "channels": {"later": {"type": "console", "schedule": "every: 1h"}},
    }


def test_a_large_feed_does_not_stop_other_feeds_and_stores_capped_highlights(tmp_path, http_server):
    body = large_feed()
    assert 9_500_000 < len(body) < 10 * 1024 * 1024  # within the default max_bytes
    http_server.route("/large.xml", body)
    small = seed_feed("feed-full.xml", http_server.base_url)
    # Streamed (no ETag): every poll of the small feed fetches it and logs "unchanged".
    http_server.route_stream("/small.xml", lambda: iter([small]))
    feeds = [
        {"name": "small", "url": http_server.url("/small.xml"), "interval": "1s"},
        {"name": "large", "url": http_server.url("/large.xml"), "backfill": "all"},
    ]
    config = write_config(tmp_path / "monitor.yaml", _config(tmp_path, feeds))
    daemon = DaemonProcess(config, tmp_path)
    try:
        log = daemon.wait_for_log("parsed=50 new=50", timeout=300)
        daemon.wait_for_log("feed='small' items=", count=log.count("feed='small' items=") + 1)
    finally:
        code = daemon.stop()
        daemon.kill()
    assert code == 0, daemon.log
    assert "Traceback" not in daemon.log
    # Between the large feed's parse and the end of its poll (matching and storing
    # 50 items), the small feed was still polled: the event loop was not held.
    lines = daemon.log.splitlines()
    parsed = next(i for i, line in enumerate(lines) if "feed='large' parsed with a warning" in line)
    stored = next(i for i, line in enumerate(lines) if "parsed=50 new=50" in line)
    assert "feed='large'" in lines[stored]
    meanwhile = [line for line in lines[parsed:stored] if "feed='small' items=" in line]
    assert meanwhile, "\n".join(lines[parsed : stored + 1])

    state = tmp_path / "state" / "monitor.db"
    assert state.stat().st_size < 20 * 1024 * 1024  # 10 MB of items, not ~400 MB of spans
    with sqlite3.connect(state) as conn:
        rows = conn.execute(
            "SELECT rule, matches.data FROM matches JOIN items ON items.id = item_id "
            "JOIN feed_refs ON feed_refs.id = feed_id WHERE feed_refs.url LIKE '%/large.xml'"
        ).fetchall()
    assert len(rows) == 50 * len(RULES)  # every item of the large feed matches every rule
    for rule, data in rows:
        assert len(data.encode()) <= 8 * 1024
        match = json.loads(data)
        assert 1 <= len(match["highlights"]) <= 20, rule
        # each matched term keeps a highlight, so alerts can still mark it
        assert {h[3] for h in match["highlights"]} == set(match["terms"]), rule


def _unfinished(tmp_path) -> int:
    with sqlite3.connect(tmp_path / "state" / "monitor.db") as conn:
        row = conn.execute("SELECT unfinished_polls FROM feeds").fetchone()
    return row[0] if row else 0


def test_a_poll_killed_three_times_is_backed_off_not_retried_forever(tmp_path, http_server):
    http_server.route("/large.xml", large_feed(items=20))
    feeds = [{"name": "large", "url": http_server.url("/large.xml"), "backfill": "all"}]
    path = write_config(tmp_path / "monitor.yaml", _config(tmp_path, feeds))
    config = MonitorConfig.model_validate(_config(tmp_path, feeds))
    feed = config.feeds[0]

    async def killed_mid_poll(times: int) -> None:
        """Start a poll and cancel it once it is past the fetch (a restart each time)."""
        rt = build_runtime(config)
        try:
            task = asyncio.create_task(poll_feed(rt, feed, force=True))
            while _unfinished(tmp_path) < times and not task.done():
                await asyncio.sleep(0.02)
            assert not task.done(), task.result()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        finally:
            await rt.aclose()

    async def poll(force: bool):
        rt = build_runtime(config)
        try:
            return await poll_feed(rt, feed, force=force)
        finally:
            await rt.aclose()

    for times in (1, 2, 3):
        asyncio.run(killed_mid_poll(times))
    fetched = len(http_server.requests_to("/large.xml"))
    report = asyncio.run(poll(force=False))
    assert not report.ok
    assert report.error and report.error.startswith("poll did not finish 3 times: skipped until ")
    assert len(http_server.requests_to("/large.xml")) == fetched  # not polled again
    status = json.loads(run_cli("status", "--json", "--config", str(path), cwd=tmp_path).stdout)
    (shown,) = [f for f in status["feeds"] if f["name"] == "large"]
    assert shown["last_error"] == report.error and shown["consecutive_failures"] == 1
    # Skipped until the back-off is over (the next scheduled poll) ...
    again = asyncio.run(poll(force=False))
    assert again.skipped and len(http_server.requests_to("/large.xml")) == fetched
    # ... then tried once more (forced here, as after the back-off), and it finishes.
    done = asyncio.run(poll(force=True))
    assert done.ok and done.new_items == 20
    assert _unfinished(tmp_path) == 0
