"""Full text (``fulltext: true``) in a running daemon (issue #14, point 10).

A feed of 50 items whose article links answer slowly: at most
``ingest.fulltext_max_per_poll`` articles are fetched in a poll, at most two at once
from one host, the articles' text is matched, and another feed keeps being polled
while the articles are fetched.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator

from tests.conftest import seed_feed, write_config
from tests.integration.daemon_helpers import DaemonProcess

ARTICLE = (
    "<html><head><title>Harbour report {i}</title></head><body><article>"
    "<h1>Harbour report {i}</h1>"
    + "<p>The harbour authority said on Tuesday that the new quay would open in spring, "
    "after a zebracorn was seen near the lighthouse by fishermen and the ferry crews "
    "who cross the bay every morning. Officials expect more visitors this year.</p>"
    * 6
    + "</article></body></html>"
)


class InFlight:
    """Counts article requests being answered now, and the most at once."""

    def __init__(self) -> None:
        self.now = self.peak = 0
        self._lock = threading.Lock()

    def article(self, i: int) -> Iterator[bytes]:
        """An article page in three slow chunks, counted while it is sent."""
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            page = ARTICLE.format(i=i).encode()
            third = len(page) // 3
            yield page[:third]
            yield page[third : 2 * third]
            yield page[2 * third :]
        finally:
            with self._lock:
                self.now -= 1


def _teaser_feed(base: str, items: int) -> str:
    entries = "".join(
        f"<item><title>Harbour news {i}</title><link>{base}/article/{i}</link>"
        f"<guid>harbour-{i}</guid><description>Teaser {i}.</description></item>"
        for i in range(items)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>harbour</title>'
        f"<link>{base}/</link><description>d</description>{entries}</channel></rss>"
    )


def test_slow_articles_are_capped_per_poll_and_per_host(tmp_path, http_server):
    flight = InFlight()
    http_server.route("/teasers.xml", _teaser_feed(http_server.base_url, 50))
    for i in range(50):
        http_server.route_stream(
            f"/article/{i}",
            lambda i=i: flight.article(i),
            headers={"Content-Type": "text/html; charset=utf-8"},
            interval=0.4,
        )
    small = seed_feed("feed-full.xml", http_server.base_url)
    during: list[int] = []  # articles in flight at each poll of the small feed

    def small_feed() -> Iterator[bytes]:
        during.append(flight.now)
        yield small

    http_server.route_stream("/small.xml", small_feed)
    config = {
        "state_dir": str(tmp_path / "state"),
        "allow_private_networks": True,
        "ingest": {"fulltext_max_per_poll": 6},
        "feeds": [
            {"name": "small", "url": http_server.url("/small.xml"), "interval": "1s"},
            {
                "name": "harbour",
                "url": http_server.url("/teasers.xml"),
                "fulltext": True,
                "backfill": "all",
            },
        ],
        "rules": [{"name": "zebracorn", "query": "zebracorn"}],
        "channels": {"later": {"type": "console", "schedule": "every: 1h"}},
    }
    daemon = DaemonProcess(write_config(tmp_path / "monitor.yaml", config), tmp_path)
    try:
        daemon.wait_for_log("feed='harbour' items=50", timeout=120)
    finally:
        code = daemon.stop()
        daemon.kill()
    log = daemon.log
    assert code == 0, log
    assert "not implemented" not in log and "Traceback" not in log
    assert "articles of 6 of 50 new items fetched (ingest.fulltext_max_per_poll)" in log
    articles = [r for r in http_server.requests if r.path.startswith("/article/")]
    assert len(articles) == 6  # the first six items in feed order
    assert {r.path for r in articles} == {f"/article/{i}" for i in range(6)}
    assert flight.peak == 2  # two at once from this host, never more
    assert any(during), during  # the small feed was polled while articles were fetched
    with sqlite3.connect(tmp_path / "state" / "monitor.db") as conn:
        matched = conn.execute("SELECT COUNT(*) FROM matches WHERE rule = 'zebracorn'").fetchone()
    assert matched == (6,)  # the articles' text was extracted and matched; teasers only
