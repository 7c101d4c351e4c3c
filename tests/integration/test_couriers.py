"""A poll job wakes the channels' couriers and returns; it never waits for a destination.

A real Runtime polls a real feed whose alerts go to a webhook that trickles its answer
forever (timeout 5 s): the poll job must finish, its slot free, while the channel's
courier is still sending; a wake during that round asks for one more round after it.
"""

from __future__ import annotations

import asyncio

from monitor.config import MonitorConfig
from monitor.runtime import build_runtime
from monitor.service.jobs import Couriers
from monitor.service.jobs import _poll_job as poll_job
from tests.conftest import seed_feed
from tests.integration.slow_servers import RawServer, trickle


def test_a_poll_job_does_not_wait_for_a_hung_channel(tmp_path, http_server) -> None:
    http_server.route("/f.xml", seed_feed("feed-full.xml", http_server.base_url))
    with RawServer(trickle(0.1, b"H")) as hook:
        config = MonitorConfig.model_validate(
            {
                "state_dir": str(tmp_path / "state"),
                "allow_private_networks": True,
                "defaults": {"backfill": "all"},
                "feeds": [{"name": "f", "url": http_server.url("/f.xml")}],
                "rules": [{"name": "pompeo", "query": "Pompeo"}],
                "channels": {
                    "slow": {
                        "type": "webhook",
                        "url": hook.url("/h"),
                        "timeout": "5s",
                        "group_wait": "0s",
                    }
                },
            }
        )
        rt = build_runtime(config)

        async def run() -> tuple[bool, int, bool, int]:
            couriers = Couriers(rt)
            slots = asyncio.Semaphore(1)
            await asyncio.wait_for(poll_job(rt, config.feeds[0], slots, None, couriers), 4)
            task = couriers._running["slow"]
            while hook.connections == 0:  # the courier is sending, into the trickle
                await asyncio.sleep(0.05)
            sending, free = not task.done(), slots._value
            couriers.wake("slow")  # during the round: one more round after it
            again = "slow" in couriers._again
            await asyncio.wait_for(task, 60)
            done = "slow" not in couriers._again and "slow" not in couriers._running
            await rt.aclose()
            return sending, free, again, done

        sending, free, again, done = asyncio.run(run())
    assert sending and free == 1 and again and done
