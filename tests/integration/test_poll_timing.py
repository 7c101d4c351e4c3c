"""A feed is polled at its stored next poll, never before it.

The next poll is the interval with jitter, pushed later by what the server asked
(``Retry-After``, ``Cache-Control: max-age``, ``Expires``, ``<ttl>``) and by backoff
while the feed fails (docs/feeds.md). Here a real HTTP server sends the hint and the
runtime's clock is moved by hand, so the test says exactly which polls go out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from monitor.config import MonitorConfig
from monitor.pipeline import PollReport, poll_feed
from monitor.runtime import build_runtime
from monitor.service.jobs import _poll_job as poll_job
from monitor.service.jobs import schedule_feeds
from monitor.service.scheduling import SteadyScheduler
from tests.conftest import seed_feed


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _polls(
    tmp_path, url: str, steps: list[int], between: Callable[[int], None] = lambda step: None
) -> list[PollReport]:
    """Poll the feed at ``url`` once, then again after each of ``steps`` seconds
    (calling ``between(k)`` before the poll after step ``k``)."""
    config = MonitorConfig.model_validate(
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "defaults": {"interval": "4m"},
            "feeds": [{"name": "hinted", "url": url}],
            "channels": {"console": {"type": "console"}},
        }
    )
    clock = _Clock()
    rt = build_runtime(config, clock=clock)

    async def run() -> list[PollReport]:
        reports = [await poll_feed(rt, config.feeds[0])]
        for k, seconds in enumerate(steps):
            clock.now += timedelta(seconds=seconds)
            between(k)
            reports.append(await poll_feed(rt, config.feeds[0]))
        await rt.aclose()
        return reports

    return asyncio.run(run())


def test_max_age_beyond_the_interval_delays_the_next_poll(tmp_path, http_server) -> None:
    """``max-age=300`` on a 4-minute feed: the tick at 240 s is skipped, 300 s polls."""
    feed = seed_feed("feed-full.xml", http_server.base_url)
    http_server.route("/hinted.xml", feed, headers={"Cache-Control": "max-age=300"})
    first, at_tick, at_max_age = _polls(tmp_path, http_server.url("/hinted.xml"), [240, 60])
    assert first.ok and not first.skipped
    assert at_tick.skipped  # 60 s before the server allows
    assert at_max_age.ok and not at_max_age.skipped
    assert len(http_server.requests_to("/hinted.xml")) == 2


def test_retry_after_on_503_delays_the_next_poll(tmp_path, http_server) -> None:
    """A 503 asking for 400 s: polls at 240 s and 390 s are skipped, 400 s polls."""
    http_server.route("/busy.xml", b"busy", status=503, headers={"Retry-After": "400"})
    reports = _polls(tmp_path, http_server.url("/busy.xml"), [240, 150, 10])
    assert [r.skipped for r in reports] == [False, True, True, False]
    assert not reports[0].ok and "503" in (reports[0].error or "")
    assert len(http_server.requests_to("/busy.xml")) == 2


def test_a_redirect_remembered_in_memory_gives_way_to_a_storable_one(tmp_path, http_server) -> None:
    """301 to ``/tok.xml?token=…`` (kept in memory), which later 301s to ``/plain.xml``
    (stored): from then on polls go to ``/plain.xml``, not through the token URL."""
    feed = seed_feed("feed-full.xml", http_server.base_url)
    http_server.route("/plain.xml", feed)
    http_server.route("/tok.xml", feed)
    http_server.route("/old.xml", b"", status=301, headers={"Location": "/tok.xml?token=t0k"})

    def between(step: int) -> None:
        if step == 0:  # the token URL moves on to a plain one
            http_server.route("/tok.xml", b"", status=301, headers={"Location": "/plain.xml"})

    reports = _polls(tmp_path, http_server.url("/old.xml"), [300, 300], between)
    assert [r.ok for r in reports] == [True, True, True]
    assert len(http_server.requests_to("/old.xml")) == 1
    assert len(http_server.requests_to("/tok.xml")) == 2  # the first two polls only
    assert len(http_server.requests_to("/plain.xml")) == 2


def test_the_daemon_runs_a_feeds_job_next_at_its_stored_next_poll(tmp_path, http_server) -> None:
    """A fixed 4-minute feed told ``max-age=7200``: its job waits the two hours, so the
    feed is not even woken at each tick of its interval."""
    feed = seed_feed("feed-full.xml", http_server.base_url)
    http_server.route("/hinted.xml", feed, headers={"Cache-Control": "max-age=7200"})
    config = MonitorConfig.model_validate(
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "defaults": {"interval": "4m"},
            "feeds": [{"name": "hinted", "url": http_server.url("/hinted.xml")}],
            "channels": {"console": {"type": "console"}},
        }
    )
    rt = build_runtime(config)

    async def run() -> tuple[datetime | None, datetime | None]:
        scheduler = SteadyScheduler()
        scheduler.start(paused=True)
        slots = asyncio.Semaphore(1)
        schedule_feeds(scheduler, rt, slots)
        await poll_job(rt, config.feeds[0], slots, scheduler)
        job = scheduler.get_job(f"feed:{config.feeds[0].url}")
        state = rt.store.feed(config.feeds[0].key)
        scheduler.shutdown(wait=False)
        await rt.aclose()
        return job.next_run_time, state.next_poll if state else None

    next_run, next_poll = asyncio.run(run())
    assert next_poll is not None and next_run == next_poll
    assert next_poll - datetime.now(UTC) > timedelta(hours=1, minutes=50)
