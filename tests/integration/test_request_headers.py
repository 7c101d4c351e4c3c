"""What each kind of request asks for: a feed poll wants a feed, an article fetch a page,
and a webhook post nothing in particular (the newcomer review found webhook posts
sending the feed poll's ``Accept`` header)."""

from __future__ import annotations

from tests.conftest import SEED, run_cli, seed_feed, write_config
from tests.integration.daemon_helpers import DaemonProcess


def test_a_webhook_post_does_not_ask_for_a_feed(tmp_path, http_server):
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "feeds": [{"name": "seed", "url": "file:" + str(SEED / "feed-full.xml")}],
            "rules": [{"name": "r", "query": "Pompeo"}],
            "channels": {"hook": {"type": "webhook", "url": http_server.url("/hook")}},
        },
    )
    sent = run_cli("send-test", "hook", "--config", str(config), cwd=tmp_path)
    assert sent.returncode == 0, sent.stderr
    (post,) = http_server.requests_to("/hook")
    assert post.headers["accept"] == "*/*"
    assert post.headers["user-agent"].startswith("news-monitor/")


def test_a_poll_asks_for_a_feed_and_an_article_fetch_for_a_page(tmp_path, http_server):
    http_server.route("/feed.xml", seed_feed("feed-full.xml", http_server.base_url))
    config = {
        "state_dir": str(tmp_path / "state"),
        "allow_private_networks": True,
        "feeds": [
            {"name": "seed", "url": http_server.url("/feed.xml"), "fulltext": True},
        ],
        "rules": [{"name": "r", "query": "Pompeo"}],
        "channels": {"out": {"type": "console"}},
    }
    daemon = DaemonProcess(write_config(tmp_path / "monitor.yaml", config), tmp_path)
    try:
        daemon.wait_for_log("feed='seed' items=", timeout=120)
    finally:
        daemon.stop()
        daemon.kill()
    (poll, *_) = http_server.requests_to("/feed.xml")
    assert poll.headers["accept"].startswith("application/rss+xml, application/atom+xml")
    articles = [r for r in http_server.requests if r.path.startswith("/news/")]
    assert articles, daemon.log
    assert all(r.headers["accept"].startswith("text/html") for r in articles)
