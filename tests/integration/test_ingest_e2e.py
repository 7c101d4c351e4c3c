"""Issue #4 end to end: full text, feed health, polite polling, through the real pipeline."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from tests.conftest import run_cli, serve_seed, write_config
from tests.integration.daemon_helpers import DaemonProcess
from tests.integration.test_end_to_end import expected_pairs, make_config, webhook_alerts


def test_scenario_2_teaser_feed_with_fulltext_alerts_on_both_rules(
    tmp_path, http_server, smtp_sink, expected
):
    scenario = expected["scenarios"][1]
    assert scenario["fulltext"] is True
    urls = serve_seed(http_server, *scenario["feeds"])
    config = make_config(tmp_path, http_server, smtp_sink, list(urls.values()), expected)
    data = __import__("yaml").safe_load(config.read_text())
    for feed in data["feeds"]:
        feed["fulltext"] = True
    write_config(config, data)
    result = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert webhook_alerts(http_server) == expected_pairs(scenario)
    article = http_server.requests_to("/news/2018/08/15/pompeo-may-be-returning.html")
    assert len(article) == 1  # fetched once, for the one new item that links to it


def health_config(tmp_path, http_server) -> dict:
    return {
        "state_dir": str(tmp_path / "state"),
        "allow_private_networks": True,
        "health": {"alert_after": "0s", "channel": "ops"},
        "feeds": [{"name": "broken", "url": http_server.url("/broken.xml"), "interval": "1s"}],
        "rules": [{"name": "pp", "query": "Pompeo", "notify": ["ops"]}],
        "channels": {"ops": {"type": "webhook", "url": http_server.url("/ops")}},
    }


def test_a_failing_feed_raises_one_operator_alert_per_streak(tmp_path, http_server):
    http_server.route("/broken.xml", "<html>maintenance</html>", status=500)
    config = write_config(tmp_path / "monitor.yaml", health_config(tmp_path, http_server))
    for _ in range(3):  # 4: every feed failed (the operator alert is still sent)
        assert run_cli("run", "--once", "--config", str(config), cwd=tmp_path).returncode == 4
    (alert,) = http_server.requests_to("/ops")
    (story,) = json.loads(alert.body)["items"]
    assert story["rules"] == ["feed-health"] and "'broken'" in story["title"]
    assert "HTTP 500" in story["summary"]
    status = json.loads(run_cli("status", "--json", "--config", str(config), cwd=tmp_path).stdout)
    assert status["feeds"][0]["consecutive_failures"] == 3


def test_gone_feed_is_disabled_and_shown(tmp_path, http_server):
    http_server.route("/broken.xml", "gone", status=410)
    config = write_config(tmp_path / "monitor.yaml", health_config(tmp_path, http_server))
    assert run_cli("run", "--once", "--config", str(config), cwd=tmp_path).returncode == 4
    assert run_cli("run", "--once", "--config", str(config), cwd=tmp_path).returncode == 4
    assert len(http_server.requests_to("/broken.xml")) == 1  # not polled again
    human = run_cli("status", "--config", str(config), cwd=tmp_path).stdout
    assert "broken: DISABLED since" in human and "410" in human
    report = json.loads(run_cli("status", "--json", "--config", str(config), cwd=tmp_path).stdout)
    assert report["feeds"][0]["disabled_since"]


def test_unchanged_and_edited_entries(tmp_path, http_server):
    base = http_server.base_url
    feed = tmp_path / "f.xml"
    item = (
        '<item><title>{t}</title><guid isPermaLink="false">g1</guid>'
        "<description>Pompeo flew to Pyongyang on Sunday for talks.</description></item>"
    )
    doc = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>c</title>'
        "<lastBuildDate>{d}</lastBuildDate>{i}</channel></rss>"
    )
    feed.write_text(doc.format(d="Fri, 27 Nov 2026 06:00:00 GMT", i=item.format(t="Talks")))
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "feeds": [{"url": f"file:{feed}", "name": "f"}],
            "rules": [{"name": "pp", "query": "title:Pompeo"}],
            "channels": {"hook": {"type": "webhook", "url": f"{base}/hook"}},
            "allow_private_networks": True,
        },
    )
    first = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    feed.write_text(doc.format(d="Fri, 27 Nov 2026 07:00:00 GMT", i=item.format(t="Talks")))
    rerendered = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert "unchanged (no entry changed)" in rerendered.stderr, rerendered.stderr
    feed.write_text(doc.format(d="Fri, 27 Nov 2026 08:00:00 GMT", i=item.format(t="Pompeo talks")))
    edited = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert first.returncode == rerendered.returncode == edited.returncode == 0
    assert "now matches pp" in edited.stderr
    assert len(http_server.requests_to("/hook")) == 1  # the edit that started matching


def test_a_web_page_is_followed_to_the_feed_it_advertises(tmp_path, http_server):
    urls = serve_seed(http_server, "feed-full.xml")
    page = (
        '<!doctype html><html><head><link rel="alternate" type="application/rss+xml" '
        'href="/feeds/feed-full.xml"></head><body>News</body></html>'
    )
    http_server.route("/news/", page, headers={"Content-Type": "text/html"})
    shown = run_cli("fetch", http_server.url("/news/"), "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert f"found the feed it advertises: {urls['feed-full.xml']}" in shown.stderr
    assert len(shown.stdout.splitlines()) == 5
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"url": http_server.url("/news/"), "name": "site", "backfill": "all"}],
            "rules": [{"name": "pp", "query": "Pompeo AND Pyongyang"}],
            "channels": {"out": {"type": "console"}},
        },
    )
    first = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert "following the feed it advertises" in first.stderr and "Pyongyang soon" in first.stdout
    run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    # the fetch command and the first pass read the page; the second pass went to the feed
    assert len(http_server.requests_to("/news/")) == 2


def test_import_opml_writes_a_feeds_file_that_checks(tmp_path):
    from tests.conftest import DATA

    out = tmp_path / "feeds.d" / "imported.yaml"
    out.parent.mkdir()
    result = run_cli(
        "import-opml", str(DATA / "feeds" / "subscriptions.opml"), "-o", str(out), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    feeds = __import__("yaml").safe_load(out.read_text())["feeds"]
    assert feeds and all(f["url"].startswith("http") for f in feeds)
    assert any(f.get("tags") for f in feeds)  # folders became tags
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "include": ["feeds.d/*.yaml"],
            "channels": {"out": {"type": "console"}},
        },
    )
    check = run_cli("check", "--config", str(config), cwd=tmp_path)
    assert check.returncode == 0 and f"{len(feeds)} feeds" in check.stdout, check.stderr
    missing = run_cli("import-opml", str(tmp_path / "nope.opml"), cwd=tmp_path)
    assert missing.returncode == 2 and "nope.opml" in missing.stderr


def test_adaptive_interval_follows_how_often_the_feed_publishes(tmp_path, http_server):
    now = datetime.now(UTC)
    items = "".join(
        f'<item><title>Item {k}</title><guid isPermaLink="false">i{k}</guid>'
        f"<pubDate>{format_datetime(now - timedelta(minutes=3 * k), usegmt=True)}</pubDate></item>"
        for k in range(10)
    )
    http_server.route(
        "/busy.xml", f'<rss version="2.0"><channel><title>b</title>{items}</channel></rss>'
    )
    feeds = [
        {"name": "adaptive", "url": http_server.url("/busy.xml"), "adaptive": True},
        {"name": "fixed", "url": http_server.url("/busy.xml?fixed")},
    ]
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "defaults": {"interval": "1h"},
            "feeds": feeds,
        },
    )
    assert run_cli("run", "--once", "--config", str(config), cwd=tmp_path).returncode == 0
    report = json.loads(run_cli("status", "--json", "--config", str(config), cwd=tmp_path).stdout)
    after = {f["name"]: datetime.fromisoformat(f["next_poll"]) - now for f in report["feeds"]}
    # An entry every 3 minutes: polled every ~3 minutes (10% jitter), not hourly.
    assert timedelta(minutes=2) < after["adaptive"] < timedelta(minutes=5), after
    assert after["fixed"] > timedelta(minutes=50), after


def test_the_daemon_polls_an_adaptive_feed_at_its_own_pace(tmp_path, http_server):
    """An entry every 2 s and ``interval: 1h``: the daemon's job follows the feed."""
    now = datetime.now(UTC)
    items = "".join(
        f'<item><title>Item {k}</title><guid isPermaLink="false">i{k}</guid>'
        f"<pubDate>{format_datetime(now - timedelta(seconds=2 * k), usegmt=True)}</pubDate></item>"
        for k in range(10)
    )
    rss = f'<rss version="2.0"><channel><title>b</title>{items}</channel></rss>'
    http_server.route("/fast.xml", rss)
    http_server.route("/slow.xml", rss)
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "defaults": {"interval": "1h", "adaptive_min": "1s"},
            "feeds": [
                {"name": "fast", "url": http_server.url("/fast.xml"), "adaptive": True},
                {"name": "slow", "url": http_server.url("/slow.xml")},
            ],
        },
    )
    daemon = DaemonProcess(config, tmp_path)
    try:
        deadline = time.monotonic() + 90
        while len(http_server.requests_to("/fast.xml")) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        assert daemon.stop() == 0
    assert len(http_server.requests_to("/fast.xml")) >= 3, daemon.log
    assert len(http_server.requests_to("/slow.xml")) == 1  # its next poll is an hour away
