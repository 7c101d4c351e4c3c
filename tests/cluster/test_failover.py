"""An instance that dies or stalls mid-poll: its feed's new items alerted exactly once.

Two real daemons on one database, lease 10 s. The feed server holds the poll of one
feed until the test releases it, so the instance polling it is caught mid-poll. Killed
with SIGKILL, its lease runs out and the other instance polls the feed and alerts its
items. Stopped with SIGSTOP past its lease and then continued, it finishes its poll
after the other instance recorded the same items: its commit is refused (fenced by the
claim's epoch), so nothing is recorded or alerted twice.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from tests.cluster.harness import FeedServer, config, daemons, owner_pid, query, rss, wait_until
from tests.conftest import run_cli

pytestmark = [pytest.mark.integration]

ITEMS = [
    (f"item-{n}", f"Pompeo in Pyongyang, report {n}", f"Pompeo flew ({n}).") for n in (1, 2, 3)
]
GUIDS = {guid for guid, _, _ in ITEMS}


def test_kill_9_mid_poll_alerts_the_items_once(tmp_path: Path, pg_db: str) -> None:
    with FeedServer() as server:
        server.stall("/held.xml", rss(ITEMS))
        key = server.url("/held.xml")
        path = config(tmp_path, pg_db, server, [{"url": key, "interval": "2s"}])
        with daemons(path, 2) as instances:
            wait_until(lambda: server.count("/held.xml"), "the held poll", logs=instances)
            pid = wait_until(lambda: owner_pid(pg_db, key), "the poll's owner")
            (victim,) = [d for d in instances if d.proc.pid == pid]
            (survivor,) = [d for d in instances if d is not victim]
            victim.proc.send_signal(signal.SIGKILL)
            assert victim.proc.wait(timeout=30) == -signal.SIGKILL
            server.release("/held.xml")
            wait_until(lambda: set(server.hook_copies()) >= GUIDS, "alerts", logs=[survivor])
            polls = server.count("/held.xml")
            wait_until(lambda: server.count("/held.xml") > polls + 1, "later polls")
            assert survivor.stop() == 0, survivor.log
    copies = server.hook_copies()
    assert {guid: len(ids) for guid, ids in copies.items()} == {guid: 1 for guid in GUIDS}
    assert query(pg_db, "SELECT COUNT(*) FROM items") == [(3,)]
    assert "monitor.claims: feed=" in survivor.log


def test_a_stalled_owner_commits_nothing(tmp_path: Path, pg_db: str) -> None:
    with FeedServer() as server:
        server.stall("/held.xml", rss(ITEMS))
        key = server.url("/held.xml")
        path = config(tmp_path, pg_db, server, [{"url": key, "interval": "2s"}])
        with daemons(path, 2) as instances:
            wait_until(lambda: server.count("/held.xml"), "the held poll", logs=instances)
            pid = wait_until(lambda: owner_pid(pg_db, key), "the poll's owner")
            (stalled,) = [d for d in instances if d.proc.pid == pid]
            (other,) = [d for d in instances if d is not stalled]
            os.kill(pid, signal.SIGSTOP)
            try:
                server.release("/held.xml")  # the stalled one's answer waits in its socket
                wait_until(lambda: set(server.hook_copies()) >= GUIDS, "alerts", logs=[other])
            finally:
                os.kill(pid, signal.SIGCONT)
            stalled.wait_for_log("poll dropped, nothing written")
            # its next heartbeat carries the refused commit; status adds them up
            fenced = "SELECT 1 FROM instances WHERE info LIKE %s AND info LIKE %s"
            like = (f'%"pid": {pid},%', '%"fenced_commits": 1,%')
            wait_until(lambda: query(pg_db, fenced, like), "the heartbeat's fenced commit")
            shown = run_cli("status", "--json", "--config", str(path), cwd=tmp_path)
            assert shown.returncode == 0, shown.stderr
            cluster = json.loads(shown.stdout)["cluster"]
            assert cluster["fenced_commits"] == 1
            by_pid = {i["info"]["pid"]: i["fenced_commits"] for i in cluster["instances"]}
            assert by_pid == {pid: 1, other.proc.pid: 0}
            text = run_cli("status", "--config", str(path), cwd=tmp_path).stdout
            assert "  fenced commits: 1 (should stay 0)" in text
            assert stalled.stop() == 0, stalled.log
            assert other.stop() == 0, other.log
    copies = server.hook_copies()
    assert {guid: len(ids) for guid, ids in copies.items()} == {guid: 1 for guid in GUIDS}
    assert query(pg_db, "SELECT COUNT(*) FROM items") == [(3,)]
