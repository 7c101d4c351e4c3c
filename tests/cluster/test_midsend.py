"""An instance killed mid-send: every item delivered, a resend under the first copy's id.

Three real daemons on one database, lease 10 s, one webhook channel. The receiver
holds the first POST it gets (it is recorded, never answered), so the instance that
holds the channel's lease is caught in the middle of a send. That instance is killed
with SIGKILL; once its channel lease runs out another instance takes it and delivers
what was left pending: the held message again, under the same ``webhook-id``.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest

from tests.cluster.harness import (
    STALL_MAX,
    FeedServer,
    channel_holder,
    config,
    daemons,
    query,
    rss,
    wait_until,
)

pytestmark = [pytest.mark.integration]

ITEMS = [
    (f"send-{n}", f"Pompeo in Pyongyang, cable {n}", f"Pompeo wrote ({n}).") for n in range(1, 5)
]
GUIDS = {guid for guid, _, _ in ITEMS}


def test_kill_9_mid_send_resends_under_the_first_id(tmp_path: Path, pg_db: str) -> None:
    held, first = threading.Event(), threading.Event()

    def hold_the_first(_body: bytes) -> tuple[int, dict[str, str], str]:
        if not first.is_set():
            first.set()
            held.wait(STALL_MAX)  # the sender is killed meanwhile
        return 200, {}, "ok"

    with FeedServer() as server:
        server.respond_post("/hook", hold_the_first)
        server.route("/wire.xml", rss(ITEMS))
        feeds = [{"url": server.url("/wire.xml"), "interval": "2s"}]
        with daemons(config(tmp_path, pg_db, server, feeds), 3) as instances:
            try:
                wait_until(first.is_set, "the first send", logs=instances)
                pid = wait_until(lambda: channel_holder(pg_db), "the channel's holder")
                (victim,) = [d for d in instances if d.proc.pid == pid]
                victim.proc.send_signal(signal.SIGKILL)
                assert victim.proc.wait(timeout=30) == -signal.SIGKILL
            finally:
                held.set()
            survivors = [d for d in instances if d is not victim]
            wait_until(
                lambda: set(server.hook_copies()) >= GUIDS and first_resent(server),
                "every item delivered and the held message resent",
                logs=survivors,
            )
            new_holder = wait_until(lambda: channel_holder(pg_db), "the new holder")
            assert new_holder in {d.proc.pid for d in survivors}
            for daemon in survivors:
                assert daemon.stop() == 0, daemon.log
    copies = server.hook_copies()
    assert set(copies) == GUIDS
    assert {guid: len(set(ids)) for guid, ids in copies.items()} == dict.fromkeys(GUIDS, 1)
    assert query(pg_db, "SELECT DISTINCT status FROM outbox") == [("sent",)]


def first_resent(server: FeedServer) -> bool:
    """Whether the first message posted (the held one) was posted again."""
    posts = server.requests_to("/hook")
    return bool(posts) and any(
        p.headers["webhook-id"] == posts[0].headers["webhook-id"] for p in posts[1:]
    )
