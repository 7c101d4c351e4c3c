"""Joining, and feeds no instance knows.

Two real daemons share nine feeds; a third one started later takes a share of the
polls (waited for, generous deadline: no timing is asserted). A feed row that is in no
instance's config (a feed removed from it) is claimed once and parked: never fetched,
its next poll an hour ahead, held by nobody.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.cluster.harness import FeedServer, config, daemons, query, rss, start, wait_until

pytestmark = [pytest.mark.integration]

FEEDS = 9
CLAIMED = "monitor.claims: feed="


def test_a_third_instance_joins_and_takes_a_share(tmp_path: Path, pg_db: str) -> None:
    with FeedServer() as server:
        paths = [f"/feeds/{n}.xml" for n in range(FEEDS)]
        for n, path in enumerate(paths):
            server.route(path, rss([(f"j{n}-1", f"Item {n}", "nothing to see")]))
        feeds = [{"url": server.url(p), "interval": "3s"} for p in paths]
        path = config(tmp_path, pg_db, server, feeds)
        with daemons(path, 2) as instances:
            wait_until(
                lambda: all(server.count(p) >= 2 for p in paths),
                "every feed polled twice by the first two",
                logs=instances,
            )
            joiner = start(path, tmp_path / "joiner")
            instances.append(joiner)  # killed by daemons() if the test fails
            wait_until(
                lambda: joiner.log.count(CLAIMED) >= 3,
                "the joiner polling a share of the feeds",
                logs=instances,
            )
            owners = query(pg_db, "SELECT COUNT(*) FROM instances")
            for daemon in instances:
                assert daemon.stop() == 0, daemon.log
            logs = [d.log for d in instances]
    assert owners == [(3,)]
    # The joiner took a share; how the first two split the rest is test_sharing's
    # question (on a loaded machine one of them can take every due feed for a while).
    assert logs[2].count(CLAIMED) >= 3 and logs[0].count(CLAIMED) + logs[1].count(CLAIMED) > 0
    assert [log.count("poll dropped") for log in logs] == [0, 0, 0]


def test_a_feed_in_no_config_is_parked_not_polled(tmp_path: Path, pg_db: str) -> None:
    with FeedServer() as server:
        server.route("/kept.xml", rss([("k-1", "Kept", "nothing to see")]))
        server.route("/removed.xml", rss([("r-1", "Removed", "nothing to see")]))
        removed = server.url("/removed.xml")
        feeds = [{"url": server.url("/kept.xml"), "interval": "2s"}]
        with daemons(config(tmp_path, pg_db, server, feeds), 2) as instances:
            due = (datetime.now(UTC) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
            with psycopg.connect(pg_db, autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO feeds (url, name, next_poll) VALUES (%s, 'removed', %s)",
                    (removed, due),
                )
            wait_until(
                lambda: any("not in this instance's config: parked" in d.log for d in instances),
                "the removed feed claimed and parked",
                logs=instances,
            )
            polls = server.count("/kept.xml")
            wait_until(lambda: server.count("/kept.xml") >= polls + 2, "the kept feed polled")
            (row,) = query(
                pg_db,
                "SELECT next_poll, lease_owner, lease_until IS NOT NULL FROM feeds WHERE url = %s",
                (removed,),
            )
            for daemon in instances:
                assert daemon.stop() == 0, daemon.log
    next_poll = datetime.strptime(row[0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert next_poll > datetime.now(UTC) + timedelta(minutes=30)
    assert row[1:] == (None, True)
    assert server.count("/removed.xml") == 0
