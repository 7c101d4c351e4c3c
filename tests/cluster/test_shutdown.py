"""SIGTERM hands an instance's work over at once, not when its leases run out.

Instance A (started first) holds the webhook channel and is mid-poll on a feed the
server holds; the lease is 10 minutes. A SIGTERM lets A drain (the held poll is
cancelled when the drain time is up) and then release every lease: instance B polls
the feed and takes the channel within a deadline far shorter than the lease, and the
feed's items are alerted once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.harness import FeedServer, config, owner_pid, rss, start, wait_until

pytestmark = [pytest.mark.integration]

ITEMS = [(f"item-{n}", f"Pompeo in Pyongyang, report {n}", f"Pompeo flew ({n}).") for n in (1, 2)]
DEADLINE = 120.0  # seconds: far below the 10-minute lease


def test_sigterm_releases_feeds_and_channels_at_once(tmp_path: Path, pg_db: str) -> None:
    with FeedServer() as server:
        server.stall("/held.xml", rss(ITEMS))
        key = server.url("/held.xml")
        path = config(tmp_path, pg_db, server, [{"url": key, "interval": "2s"}], lease="10m")
        first = start(path, tmp_path / "a")
        second = None
        try:
            wait_until(lambda: owner_pid(pg_db, key) == first.proc.pid, "A's held poll")
            second = start(path, tmp_path / "b")
            polls = server.count("/held.xml")
            assert first.stop() == 0, first.log
            assert "left the cluster: 2 leases released" in first.log
            wait_until(
                lambda: server.count("/held.xml") > polls, "B polls", DEADLINE, logs=[second]
            )
            second.wait_for_log("channel=hook lease taken", timeout=DEADLINE)
            server.release("/held.xml")
            guids = {guid for guid, _, _ in ITEMS}
            wait_until(lambda: set(server.hook_copies()) >= guids, "alerts", logs=[second])
            assert second.stop() == 0, second.log
        finally:
            first.kill()
            if second is not None:
                second.kill()
    copies = server.hook_copies()
    assert {guid: len(ids) for guid, ids in copies.items()} == dict.fromkeys(guids, 1)
