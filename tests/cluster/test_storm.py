"""A kill storm: three daemons, 30 rounds of a random kill -9 and restart, nothing lost.

Three real daemons on one database, lease 10 s, six feeds polled every second. Each
round (seeded random) a feed gains an item (some items go on two feeds at once: the
same guid and link, one wire story), and after 0.3-2 s (the kill lands mid-poll,
mid-send or between them) one instance is killed with SIGKILL and started again in
its own state_dir. At the end, once every killed instance's leases ran out
and the three run: every item was alerted at least once, an item sent twice only under
one message id (a resend), and no canonical URL is in two stories.

Marked ``crash`` (runs in CI; ``-m 'not crash'`` skips it): about a minute.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from tests.cluster.harness import FeedServer, config, daemons, query, rss, start, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.crash]

ROUNDS = 30
FEEDS = 6
SEED = 17


def story_text(n: int) -> tuple[str, str]:
    """Item ``n``'s title (the rule matches it) and a text unlike any other item's."""
    words = [f"s{n}q{i}" for i in range(40)]
    random.Random(n).shuffle(words)
    return f"Pompeo in Pyongyang, bulletin {n}", "Pompeo said " + " ".join(words)


def test_kill_storm_loses_nothing(tmp_path: Path, pg_db: str) -> None:
    rng = random.Random(SEED)
    items: list[list[tuple[str, str, str]]] = [[] for _ in range(FEEDS)]
    guids: set[str] = set()
    with FeedServer() as server:
        paths = [f"/storm/{n}.xml" for n in range(FEEDS)]
        for path in paths:
            server.route(path, rss([]))

        def add_item(n: int) -> None:
            title, text = story_text(n)
            for feed in rng.sample(range(FEEDS), rng.choice((1, 1, 2))):
                items[feed].insert(0, (f"storm-{n}", title, text))
                server.route(paths[feed], rss(items[feed][:20]))
            guids.add(f"storm-{n}")

        feeds = [{"url": server.url(p), "interval": "1s"} for p in paths]
        path = config(tmp_path, pg_db, server, feeds)
        with daemons(path, 3) as instances:
            for n in range(ROUNDS):
                add_item(n)
                time.sleep(rng.uniform(0.3, 2.0))  # the kill lands mid-poll, mid-send or idle
                victim = rng.randrange(len(instances))
                instances[victim].proc.send_signal(signal.SIGKILL)
                instances[victim].proc.wait(timeout=30)
                instances[victim].kill()  # closes its log files
                instances.append(start(path, tmp_path / f"instance{victim}"))
                instances[victim] = instances.pop()
            for n in range(ROUNDS, ROUNDS + 5):  # after the storm, under no kill
                add_item(n)
            wait_until(
                lambda: set(server.hook_copies()) >= guids,
                "every item alerted after the storm",
                timeout=180,
                logs=instances,
            )
            for daemon in instances:
                assert daemon.stop() == 0, daemon.log
    copies = server.hook_copies()
    assert set(copies) == guids
    resent = {guid: ids for guid, ids in copies.items() if len(set(ids)) > 1}
    assert resent == {}, "an item sent again under another message id"
    split = query(
        pg_db,
        "SELECT canonical_url FROM items WHERE canonical_url IS NOT NULL"
        " GROUP BY canonical_url HAVING COUNT(DISTINCT story_id) > 1",
    )
    assert split == []
    recorded = query(pg_db, "SELECT COUNT(DISTINCT item_key) FROM items")
    assert recorded == [(len(guids),)]
