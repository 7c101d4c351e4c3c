"""The same wire story on two feeds, polled at the same moment by two instances: one story.

Two real daemons with one poll slot each and two feeds: the feed server holds both
polls until each feed has one in flight (so each instance polls one), then answers
both at once with a new copy of the same wire story (same title and text, each feed
its own guid and link). Repeated: each time the two copies are one story, with one
alert for the rule and channel, sent once.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.cluster.harness import FeedServer, config, daemons, query, rss, wait_until

pytestmark = [pytest.mark.integration]

ROUNDS = 6


def wire_story(n: int) -> tuple[str, str]:
    """Round ``n``'s story: a title the rule matches and a text unlike other rounds'."""
    words = [f"w{n}z{i}" for i in range(40)]
    random.Random(n).shuffle(words)
    return f"Pompeo in Pyongyang, dispatch {n}", "Pompeo said " + " ".join(words)


def story_ids(pg_db: str, n: int) -> list[int]:
    """The story of each copy of round ``n``'s wire story."""
    rows = query(
        pg_db,
        "SELECT story_id FROM items WHERE item_key IN (%s, %s) ORDER BY item_key",
        (f"a-{n}", f"b-{n}"),
    )
    return [r[0] for r in rows]


def test_one_story_from_concurrent_copies(tmp_path: Path, pg_db: str) -> None:
    copies: dict[str, list[tuple[str, str, str]]] = {"a": [], "b": []}
    with FeedServer() as server:
        paths = {name: f"/{name}.xml" for name in copies}
        for feed_path in paths.values():
            server.stall(feed_path, rss([]))
            server.release(feed_path)
        feeds = [{"url": server.url(p), "interval": "1s"} for p in paths.values()]
        with daemons(config(tmp_path, pg_db, server, feeds, slots=1), 2) as instances:
            for n in range(ROUNDS):
                title, text = wire_story(n)
                before = {}
                for name, feed_path in paths.items():
                    copies[name].insert(0, (f"{name}-{n}", title, text))
                    before[name] = server.count(feed_path)
                    server.stall(feed_path, rss(copies[name]))
                # each instance has one slot: two polls held at once are one per instance
                wait_until(
                    lambda before=before: all(
                        server.count(p) > before[k] for k, p in paths.items()
                    ),
                    f"round {n}: both feeds polled",
                    logs=instances,
                )
                server.release(*paths.values())
                wait_until(lambda n=n: len(story_ids(pg_db, n)) == 2, f"round {n} recorded")
            wait_until(
                lambda: sum(len(ids) for ids in server.hook_copies().values()) >= ROUNDS,
                "every story alerted",
                logs=instances,
            )
            for daemon in instances:
                assert daemon.stop() == 0, daemon.log
    stories = {n: story_ids(pg_db, n) for n in range(ROUNDS)}
    assert {n: len(set(ids)) for n, ids in stories.items()} == dict.fromkeys(range(ROUNDS), 1)
    outbox = query(pg_db, "SELECT story_id, COUNT(*) FROM outbox GROUP BY story_id")
    assert sorted(count for _, count in outbox) == [1] * ROUNDS
    sent = server.hook_copies()
    assert sorted(len(ids) for ids in sent.values()) == [1] * ROUNDS, sent
