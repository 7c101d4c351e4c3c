"""health.check notices work that stopped moving, and leaves an idle daemon healthy.

A real Runtime polls a real HTTP server; its clock is moved by hand (and the send
attempts' monotonic clock is handed in), so each test says exactly how long a feed
or a message has waited.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from monitor.config import MonitorConfig
from monitor.delivery import deliver_channel
from monitor.notify.post import post
from monitor.pipeline import poll_feed
from monitor.runtime import Runtime, build_runtime
from monitor.service import health
from monitor.service.scheduling import SteadyScheduler
from tests.conftest import seed_feed
from tests.integration.slow_servers import RawServer, trickle
from tests.servers import HttpServer, free_port

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class _Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _with_runtime(tmp_path, feed_url: str, body: Callable[[Runtime, _Clock, Any], Any]) -> Any:
    """Run ``body(rt, clock, scheduler)`` with a running scheduler; a 10 s feed, a webhook
    channel to a closed port."""
    config = MonitorConfig.model_validate(
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "defaults": {"interval": "10s", "backfill": "all"},
            "feeds": [{"name": "f", "url": feed_url}],
            "rules": [{"name": "pompeo", "query": "Pompeo"}],
            "channels": {
                "hook": {
                    "type": "webhook",
                    "url": f"http://127.0.0.1:{free_port()}/h",
                    "group_wait": "0s",
                }
            },
        }
    )
    clock = _Clock()
    rt = build_runtime(config, clock=clock)

    async def run() -> Any:
        scheduler = SteadyScheduler()
        scheduler.start()
        try:
            return await body(rt, clock, scheduler)
        finally:
            scheduler.shutdown(wait=False)
            await rt.aclose()

    return asyncio.run(run())


def test_polls_overdue_are_unhealthy_and_an_idle_daemon_is_not(tmp_path, http_server) -> None:
    http_server.route("/f.xml", seed_feed("feed-full.xml", http_server.base_url))

    async def body(rt: Runtime, clock: _Clock, scheduler: Any) -> list[health.Health]:
        await poll_feed(rt, rt.config.feeds[0])  # next poll at T0 + 10 s
        seen = []
        for seconds in (30, 80, 300):  # due ~20 s (ok), ~70 s and ~290 s (stalled)
            clock.now = T0 + timedelta(seconds=seconds)
            seen.append(health.check(rt, scheduler, started=T0))
        seen.append(health.check(rt, scheduler, started=T0 + timedelta(seconds=290)))  # restart
        await poll_feed(rt, rt.config.feeds[0])  # a poll finishes: healthy again
        seen.append(health.check(rt, scheduler, started=T0))
        return seen

    reports = _with_runtime(tmp_path, http_server.url("/f.xml"), body)
    assert [r.ok for r in reports] == [True, False, False, True, True], reports
    assert (
        reports[2].problem == "no poll finished in 300s (allowed 60s); feeds waiting: 1, e.g. 'f'"
    )
    assert "UNHEALTHY: no poll finished in 300s" in reports[2].status_line(T0)


def test_a_feed_not_due_for_hours_is_healthy_however_long_ago_it_was_polled(
    tmp_path, http_server: HttpServer
) -> None:
    feed = seed_feed("feed-full.xml", http_server.base_url)
    http_server.route("/f.xml", feed, headers={"Cache-Control": "max-age=7200"})

    async def body(rt: Runtime, clock: _Clock, scheduler: Any) -> health.Health:
        await poll_feed(rt, rt.config.feeds[0])
        clock.now = T0 + timedelta(hours=1, minutes=50)
        return health.check(rt, scheduler, started=T0)

    report = _with_runtime(tmp_path, http_server.url("/f.xml"), body)
    assert report.ok, report.problem


def test_a_due_message_left_untried_is_unhealthy(tmp_path, http_server: HttpServer) -> None:
    """The webhook's port is closed: the first attempt fails and the retry is due within
    30 s. Ten minutes later, untried for as long (attempts' clock moved), it is a stall;
    with the attempt just made (real clock) it is not."""
    http_server.route("/f.xml", seed_feed("feed-full.xml", http_server.base_url))

    async def body(rt: Runtime, clock: _Clock, scheduler: Any) -> list[health.Health]:
        await poll_feed(rt, rt.config.feeds[0])
        report = await deliver_channel(rt, "hook")
        assert report.retrying == 1
        clock.now = T0 + timedelta(minutes=10)
        rt.store.conn.execute("UPDATE feeds SET next_poll = ?", ("2026-11-28T13:00:00Z",))
        later = lambda: time.monotonic() + 3600  # noqa: E731
        return [
            health.check(rt, scheduler, started=T0),
            health.check(rt, scheduler, started=T0, monotonic=later),
        ]

    tried, untried = _with_runtime(tmp_path, http_server.url("/f.xml"), body)
    assert tried.ok, tried.problem
    assert not untried.ok
    assert untried.problem is not None and untried.problem.startswith(
        "channel 'hook': a message due"
    )


def test_an_attempt_running_past_its_deadline_is_unhealthy(tmp_path, http_server) -> None:
    """An attempt in flight is listed once it runs past timeout + grace (clock moved)."""
    http_server.route("/f.xml", seed_feed("feed-full.xml", http_server.base_url))

    async def body(rt: Runtime, clock: _Clock, scheduler: Any) -> list[str | None]:
        with RawServer(trickle(0.1, b"H")) as server:
            async with httpx.AsyncClient() as http:
                sending = asyncio.ensure_future(
                    post(http, server.url("/h"), channel="slowhook", seconds=5, content=b"{}")
                )
                while server.connections == 0:
                    await asyncio.sleep(0.05)
                later = lambda: time.monotonic() + 60  # noqa: E731
                seen = [health.stalled_attempts(), health.stalled_attempts(monotonic=later)]
                sending.cancel()
                await asyncio.gather(sending, return_exceptions=True)
                seen.append(health.stalled_attempts(monotonic=later))
        return seen

    now, later, after = _with_runtime(tmp_path, http_server.url("/f.xml"), body)
    assert now is None and after is None
    assert later is not None and later.startswith("channel 'slowhook': a send to 127.0.0.1:")
    assert "(timeout 5s)" in later
