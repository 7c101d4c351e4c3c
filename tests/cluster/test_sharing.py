"""Feeds shared by three daemons on one database: each feed polled, never twice at once.

Six feeds at a 4 s interval; three real daemons with the same config claim them from
one PostgreSQL database. Every feed keeps being polled, every instance polls some, and
no feed is fetched twice within its interval (a poll by two instances at once would
show as two requests a moment apart).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.harness import FeedServer, config, daemons, rss, wait_until

pytestmark = [pytest.mark.integration]

FEEDS = 6
INTERVAL = 4.0
POLLS_EACH = 4  # polls of every feed to wait for
# The poll after one at T is due at T + interval - 10% jitter or later (stored to the
# second, rounded up); a second instance polling at once would come within ms.
MIN_GAP = INTERVAL * 0.9 - 0.5


def test_three_instances_share_the_feeds(tmp_path: Path, pg_db: str) -> None:
    with FeedServer() as server:
        paths = [f"/feeds/{n}.xml" for n in range(FEEDS)]
        for n, path in enumerate(paths):
            server.route(path, rss([(f"f{n}-1", f"Item {n}", "nothing to see")]))
        feeds = [{"url": server.url(p), "interval": f"{INTERVAL:g}s"} for p in paths]
        path = config(tmp_path, pg_db, server, feeds, slots=2)
        with daemons(path, 3) as instances:
            wait_until(
                lambda: (
                    all(server.count(p) >= POLLS_EACH for p in paths)
                    and all("monitor.claims: feed=" in d.log for d in instances)
                ),
                "every feed polled and every instance claiming",
                timeout=120,
                logs=instances,
            )
            for daemon in instances:
                assert daemon.stop() == 0, daemon.log
            logs = [d.log for d in instances]
    for path in paths:
        times = server.times[path]
        gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        assert min(gaps) >= MIN_GAP, (path, gaps)
    claims = [log.count("monitor.claims: feed=") for log in logs]
    assert all(claims), claims
    fenced = [log.count("poll dropped") for log in logs]
    assert fenced == [0, 0, 0]
