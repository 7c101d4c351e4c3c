"""A scheduled channel's holder killed: the next holder forms the overdue digest.

Three real daemons on one database, a webhook channel with ``schedule: "every: 10s"``
and a lease of 30 s, so that ticks pass while the dead holder's lease still stands.
Once the first digest arrived, the instance holding the channel is killed with
SIGKILL and the feed gains new items, which the survivors record while nobody may
send. When the lease runs out another instance takes the channel and forms the
overdue digest at once; later items go out at its next ticks. Every item reaches the
receiver in exactly one digest (one ``webhook-id``, perhaps posted twice), and no tick
fires twice: no two digests were formed in one 10-second window of the grid.
"""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import pytest

from monitor.store.codec import parse_ts
from tests.cluster.harness import FeedServer, channel_holder, daemons, query, rss, wait_until
from tests.conftest import write_config

pytestmark = [pytest.mark.integration]

EVERY = 10  # seconds: the channel's schedule, on the grid from 1970-01-01 UTC
BATCHES = [
    [(f"b{b}-{n}", f"Pompeo in Pyongyang, round {b} cable {n}", f"Pompeo ({b}.{n}).")
     for n in range(3)]
    for b in range(3)
]  # fmt: skip


def delivered(server: FeedServer, batch: list[tuple[str, str, str]]) -> bool:
    """Whether every item of ``batch`` reached the receiver."""
    return {guid for guid, _, _ in batch} <= set(server.hook_copies())


def write(path: Path, pg_url: str, server: FeedServer) -> Path:
    """One config for the three instances: one feed, one rule, one scheduled webhook."""
    return write_config(
        path,
        {
            "allow_private_networks": True,
            "log_level": "debug",
            "store": {"url": pg_url, "lease": "30s"},
            "defaults": {"timeout": "120s", "backfill": "all"},
            "feeds": [{"url": server.url("/wire.xml"), "interval": "1s"}],
            "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang"}],
            "channels": {
                "hook": {
                    "type": "webhook",
                    "url": server.url("/hook"),
                    "group_wait": "0s",
                    "schedule": f"every: {EVERY}s",
                }
            },
        },
    )


def test_the_next_holder_forms_the_overdue_digest_once(tmp_path: Path, pg_db: str) -> None:
    shown: list[tuple[str, str, str]] = []
    with FeedServer() as server:
        shown[:0] = BATCHES[0]
        server.route("/wire.xml", rss(shown))
        with daemons(write(tmp_path / "monitor.yaml", pg_db, server), 3) as instances:
            wait_until(lambda: delivered(server, BATCHES[0]), "the first digest", 150, instances)
            pid = wait_until(lambda: channel_holder(pg_db), "the channel's holder")
            (victim,) = [d for d in instances if d.proc.pid == pid]
            victim.proc.send_signal(signal.SIGKILL)
            assert victim.proc.wait(timeout=30) == -signal.SIGKILL
            survivors = [d for d in instances if d is not victim]
            for batch in BATCHES[1:]:
                shown[:0] = batch
                server.route("/wire.xml", rss(shown))
                wait_until(lambda b=batch: delivered(server, b), "a digest", 150, survivors)
            assert channel_holder(pg_db) in {d.proc.pid for d in survivors}
            for daemon in survivors:
                assert daemon.stop() == 0, daemon.log
    guids = {guid for batch in BATCHES for guid, _, _ in batch}
    copies = server.hook_copies()
    assert set(copies) == guids
    assert {guid: len(set(ids)) for guid, ids in copies.items()} == dict.fromkeys(guids, 1)
    formed = query(pg_db, "SELECT id, created_at FROM messages WHERE channel = 'hook'")
    assert {row[0] for row in formed} == {i for ids in copies.values() for i in ids}
    windows = Counter(int(parse_ts(created).timestamp()) // EVERY for _, created in formed)
    assert set(windows.values()) == {1}, windows  # no tick fired twice
    assert query(pg_db, "SELECT DISTINCT status FROM outbox") == [("sent",)]
    assert query(pg_db, "SELECT name FROM ticks WHERE name = 'digest:hook'") == [("digest:hook",)]
