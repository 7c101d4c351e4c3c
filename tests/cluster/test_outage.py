"""The database goes away under a running instance and comes back (scale-out trial:
~2.5 ERROR lines a second per instance for as long as it was away). Each recurring
step now logs one ERROR when it starts failing and one line when it works again; the
instance carries on afterwards and alerts a new item once.

PostgreSQL is reached over TCP through a relay (tests/tcprelay.py) that the test
cuts, as a network or the database host going away would, and mends.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.harness import FeedServer, config, daemons, rss, wait_until
from tests.tcprelay import TcpRelay

pytestmark = [pytest.mark.integration]

FIRST = ("item-1", "Pompeo in Pyongyang", "Pompeo flew in.")
SECOND = ("item-2", "Pompeo leaves Pyongyang", "Pompeo flew out.")


def test_an_outage_is_one_error_per_step_and_a_line_when_the_database_is_back(
    tmp_path: Path, pg_server, pg_db: str
) -> None:
    relay = TcpRelay.to(pg_server)
    try:
        with FeedServer() as server:
            server.route("/wire.xml", rss([FIRST]))
            feeds = [{"url": server.url("/wire.xml"), "interval": "2s"}]
            path = config(tmp_path, relay.url(pg_db), server, feeds)
            with daemons(path, 1) as (daemon,):
                wait_until(lambda: "item-1" in server.hook_copies(), "the first alert")
                # and marked sent: a cut between the hook's answer and that mark resends it
                # once (at-least-once), which is not what this test is about
                daemon.wait_for_log("stories=1 sent: HTTP 200")
                relay.cut()
                daemon.wait_for_log("claiming feeds failed again", count=5)
                during = daemon.log
                relay.mend()
                daemon.wait_for_log("claiming feeds works again after")
                server.route("/wire.xml", rss([FIRST, SECOND]))
                wait_until(lambda: "item-2" in server.hook_copies(), "the second alert")
                assert daemon.stop() == 0, daemon.log
    finally:
        relay.close()
    assert during.count("claiming feeds failed:") == 1
    assert "claiming feeds still failing" not in during  # under a minute: no reminder
    errors = [line for line in during.splitlines() if " ERROR " in line]
    repeated = {line.split(" ERROR ", 1)[1] for line in errors}
    assert len(errors) == len(repeated), "\n".join(errors)  # no error line twice
    assert {g: len(ids) for g, ids in server.hook_copies().items()} == {"item-1": 1, "item-2": 1}
