"""Digest timing through the real pipeline: group_wait, quiet hours, max_items, urgent,
max_age, 410-disabled channels and `retry CHANNEL`.

Feeds are local files, receivers are real servers on 127.0.0.1, the clock is a value
the test moves (the runtime takes it as a parameter).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.config import MonitorConfig
from monitor.delivery import deliver_all, deliver_channel
from monitor.pipeline import poll_all
from monitor.runtime import Runtime, build_runtime
from monitor.service.jobs import gated_delivery
from tests.conftest import run_cli, write_config
from tests.servers import HttpServer

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def rss_item(n: int, title: str | None = None, rule_word: str = "Pompeo") -> str:
    """An RSS item numbered ``n`` that matches ``rule_word AND Pyongyang``."""
    date = format_datetime(START - timedelta(hours=100 - n))
    title = title if title is not None else f"{rule_word} in Pyongyang, report {n}"
    return (
        f"<item><title><![CDATA[{title}]]></title><link>https://news.example/{n}</link>"
        f'<guid isPermaLink="false">item-{n}</guid><pubDate>{date}</pubDate>'
        f"<description>{rule_word} flew to Pyongyang ({n}).</description></item>"
    )


def write_feed(path: Path, items: list[str]) -> None:
    """Write an RSS 2.0 feed holding ``items``."""
    body = "".join(items)
    path.write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'
    )


def config_dict(tmp_path: Path, channels: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A config with one file feed (backfill all) and two rules (one urgent)."""
    return {
        "state_dir": str(tmp_path / "state"),
        "allow_private_networks": True,
        "feeds": [{"url": f"file:{tmp_path / 'feed.xml'}", "name": "Local", "backfill": "all"}],
        "rules": [
            {"name": "pompeo", "query": "Pompeo AND Pyongyang"},
            {"name": "flash", "query": "Flash AND Pyongyang", "urgent": True},
        ],
        "channels": channels,
        **extra,
    }


def runtime(tmp_path: Path, channels: dict[str, Any], clock: Clock) -> Runtime:
    """A runtime built from :func:`config_dict` with ``clock``."""
    config = MonitorConfig.model_validate(config_dict(tmp_path, channels))
    # No keep-alive: each test step runs in its own event loop (asyncio.run).
    http = httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0))
    return build_runtime(config, clock=clock, http=http)


def hook(server: HttpServer, path: str = "/hook", **extra: Any) -> dict[str, Any]:
    """A webhook channel posting to ``server``."""
    return {"type": "webhook", "url": server.url(path), "timeout": "3s", **extra}


def posted(server: HttpServer, path: str = "/hook") -> list[dict[str, Any]]:
    """Bodies of the webhook posts to ``path``, in order."""
    return [json.loads(r.body) for r in server.requests_to(path)]


def guids(body: dict[str, Any]) -> list[str]:
    """The item guids of one webhook body."""
    return [item["guid"] for item in body["items"]]


def run(coro: Any) -> Any:
    """Run one coroutine to completion."""
    return asyncio.run(coro)


async def poll_then(rt: Runtime, name: str, **kwargs: Any) -> Any:
    """Poll every feed, then deliver ``name`` as the daemon does after a poll."""
    await poll_all(rt)
    return await deliver_channel(rt, name, **kwargs)


def test_group_wait_turns_a_burst_into_one_message(tmp_path, http_server):
    clock = Clock()
    rt = runtime(tmp_path, {"hook": hook(http_server, group_wait="30s")}, clock)
    feed = tmp_path / "feed.xml"
    write_feed(feed, [rss_item(1), rss_item(2)])
    run(poll_then(rt, "hook"))
    clock.advance(10)
    write_feed(feed, [rss_item(1), rss_item(2), rss_item(3)])
    run(poll_then(rt, "hook"))
    assert posted(http_server) == []  # the oldest alert has waited 10 s of 30
    clock.advance(21)
    report = run(deliver_channel(rt, "hook"))
    assert report.sent == 1
    (body,) = posted(http_server)
    assert sorted(guids(body)) == ["item-1", "item-2", "item-3"]
    rt.store.close()


def test_run_once_skips_group_wait(tmp_path, http_server):
    clock = Clock()
    rt = runtime(tmp_path, {"hook": hook(http_server, group_wait="1h")}, clock)
    write_feed(tmp_path / "feed.xml", [rss_item(1)])
    run(poll_all(rt))
    reports = run(deliver_all(rt, drain=True))
    assert reports[0].sent == 1 and len(posted(http_server)) == 1
    rt.store.close()


def test_quiet_hours_hold_regular_alerts_but_not_urgent_ones(tmp_path, http_server):
    clock = Clock(datetime(2026, 11, 27, 14, 0, tzinfo=UTC))  # 23:00 in Seoul
    quiet = {"start": "22:00", "end": "07:00"}
    channel = hook(http_server, group_wait="0s", quiet_hours=quiet, timezone="Asia/Seoul")
    rt = runtime(tmp_path, {"hook": channel}, clock)
    write_feed(tmp_path / "feed.xml", [rss_item(1), rss_item(2, rule_word="Flash")])
    run(poll_then(rt, "hook"))
    (body,) = posted(http_server)
    assert guids(body) == ["item-2"] and body["items"][0]["rules"] == ["flash"]
    run(deliver_all(rt, drain=True))  # run --once keeps quiet hours too
    assert len(posted(http_server)) == 1
    clock.now = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)  # 07:00 in Seoul
    run(deliver_channel(rt, "hook"))
    assert guids(posted(http_server)[1]) == ["item-1"]
    rt.store.close()


def test_a_tick_held_by_quiet_hours_is_sent_by_the_first_sweep_after_the_window(
    tmp_path, http_server
):
    # The daemon's digest job and retry sweep are gated_delivery (service/jobs.py): the
    # job with form_new (a tick), the sweep without. A tick inside the window used to be
    # spent: its alerts waited for the next tick, inside the window again, forever.
    clock = Clock(datetime(2026, 11, 27, 18, 30, tzinfo=UTC))
    quiet = {"start": "18:00", "end": "18:40"}
    channel = hook(http_server, schedule="cron: 39 18 * * *", quiet_hours=quiet)
    rt = runtime(tmp_path, {"hook": channel}, clock)
    write_feed(tmp_path / "feed.xml", [rss_item(1)])
    run(poll_then(rt, "hook", form_new=False))  # a poll between ticks
    clock.now = datetime(2026, 11, 27, 18, 39, tzinfo=UTC)
    run(gated_delivery(rt, "hook"))  # the tick, inside the window
    run(gated_delivery(rt, "hook", form_new=False))  # a sweep, still inside
    assert posted(http_server) == []
    clock.now = datetime(2026, 11, 27, 18, 40, 30, tzinfo=UTC)
    run(gated_delivery(rt, "hook", form_new=False))  # the first sweep after it
    assert [guids(b) for b in posted(http_server)] == [["item-1"]]
    write_feed(tmp_path / "feed.xml", [rss_item(1), rss_item(2)])
    run(poll_all(rt))
    run(gated_delivery(rt, "hook", form_new=False))  # the tick was owed once, not twice
    assert len(posted(http_server)) == 1
    clock.now = datetime(2026, 11, 28, 18, 39, tzinfo=UTC)
    run(gated_delivery(rt, "hook"))  # the next tick: quiet again, held again
    rt.store.close()
    rt = runtime(tmp_path, {"hook": channel}, clock)  # a restart inside the window
    clock.now = datetime(2026, 11, 28, 18, 45, tzinfo=UTC)
    run(gated_delivery(rt, "hook", form_new=False))  # the debt was kept in the database
    assert [guids(b) for b in posted(http_server)] == [["item-1"], ["item-2"]]
    rt.store.close()


def test_an_owed_tick_waits_for_a_retry_in_the_way_and_is_paid_by_the_digest(tmp_path, http_server):
    # Review: a message waiting for its retry made the first sweep after the window
    # form nothing, and the owed tick was dropped with it.
    busy = (503, {"Retry-After": "3600"}, b"busy")
    http_server.respond_post("/hook", busy, (200, {}, b"ok"))
    clock = Clock(datetime(2026, 11, 27, 17, 59, 59, tzinfo=UTC))
    quiet = {"start": "18:00", "end": "18:40"}
    channel = hook(http_server, schedule="cron: 39 18 * * *", quiet_hours=quiet)
    rt = runtime(tmp_path, {"hook": channel}, clock)
    write_feed(tmp_path / "feed.xml", [rss_item(1)])
    run(poll_all(rt))
    run(gated_delivery(rt, "hook"))  # a tick before the window: 503, back in an hour
    write_feed(tmp_path / "feed.xml", [rss_item(1), rss_item(2)])
    run(poll_all(rt))
    clock.now = datetime(2026, 11, 27, 18, 39, tzinfo=UTC)
    run(gated_delivery(rt, "hook"))  # the tick, inside the window: owed
    clock.now = datetime(2026, 11, 27, 18, 40, 30, tzinfo=UTC)
    run(gated_delivery(rt, "hook", form_new=False))  # the retry waits: nothing formed
    assert len(posted(http_server)) == 1
    clock.now = datetime(2026, 11, 27, 19, 0, 30, tzinfo=UTC)
    run(gated_delivery(rt, "hook", form_new=False))  # the retry, then the owed digest
    assert [guids(b) for b in posted(http_server)] == [["item-1"], ["item-1"], ["item-2"]]
    rt.store.close()


def test_urgent_rule_skips_a_scheduled_channels_tick(tmp_path, http_server):
    clock = Clock()
    channel = hook(http_server, schedule="cron: 0 7 * * *")
    rt = runtime(tmp_path, {"hook": channel}, clock)
    write_feed(tmp_path / "feed.xml", [rss_item(1), rss_item(2, rule_word="Flash")])
    run(poll_then(rt, "hook", form_new=False))  # after a poll, between ticks
    assert [guids(b) for b in posted(http_server)] == [["item-2"]]
    run(deliver_channel(rt, "hook"))  # the tick
    assert [guids(b) for b in posted(http_server)] == [["item-2"], ["item-1"]]
    rt.store.close()


def test_max_items_says_how_many_more_and_keeps_them_for_the_next_message(tmp_path):
    clock = Clock()
    out = tmp_path / "console.txt"
    channels = {"con": {"type": "console", "group_wait": "0s", "max_items": 2}}
    config = MonitorConfig.model_validate(config_dict(tmp_path, channels))
    with out.open("w") as stream:
        rt = build_runtime(config, clock=clock, stdout=stream)
        write_feed(tmp_path / "feed.xml", [rss_item(n) for n in range(1, 6)])
        run(poll_then(rt, "con"))
        first = out.read_text()
        assert first.count("* Pompeo in Pyongyang") == 2
        assert "… and 3 more stories, in the next message." in first
        run(deliver_channel(rt, "con"))
        run(deliver_channel(rt, "con"))
        rt.store.close()
    text = out.read_text()
    assert text.count("* Pompeo in Pyongyang") == 5
    assert "and 1 more story, in" in text and text.count(" more stor") == 2  # last: none


def test_max_age_dead_letters_then_retry_sends_again_with_the_same_id(tmp_path, http_server):
    http_server.respond_post("/hook", (503, {}, b"down"))
    clock = Clock()
    rt = runtime(tmp_path, {"hook": hook(http_server, group_wait="0s", max_age="1h")}, clock)
    write_feed(tmp_path / "feed.xml", [rss_item(1)])
    run(poll_then(rt, "hook"))
    clock.advance(3601)
    report = run(deliver_channel(rt, "hook", ignore_backoff=True))
    # Past max_age: tried once more (a clock set forward must not fail it untried), then failed.
    assert report.failed == 1 and len(http_server.requests) == 2
    rt.store.close()
    config = write_config(
        tmp_path / "monitor.yaml",
        config_dict(tmp_path, {"hook": hook(http_server, group_wait="0s", max_age="1h")}),
    )
    status = json.loads(run_cli("status", "--json", "-c", str(config), cwd=tmp_path).stdout)
    (dead,) = status["dead_letters"]
    assert "max_age (1h)" in dead["error"] and dead["channel"] == "hook"
    http_server.respond_post("/hook", (200, {}, b"ok"))
    retry = run_cli("retry", "hook", "-c", str(config), cwd=tmp_path)
    assert retry.returncode == 0 and "1 dead letter queued again" in retry.stdout
    once = run_cli("run", "--once", "-c", str(config), cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    first, _, second = http_server.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == dead["id"]
    status = json.loads(run_cli("status", "--json", "-c", str(config), cwd=tmp_path).stdout)
    assert status["dead_letters"] == [] and status["channels"][0]["sent"] == 1


def test_410_disables_the_channel_until_retry(tmp_path, http_server):
    http_server.respond_post("/hook", (410, {}, b"gone"))
    config = write_config(
        tmp_path / "monitor.yaml", config_dict(tmp_path, {"hook": hook(http_server)})
    )
    write_feed(tmp_path / "feed.xml", [rss_item(1)])
    assert run_cli("run", "--once", "-c", str(config), cwd=tmp_path).returncode == 3
    write_feed(tmp_path / "feed.xml", [rss_item(1), rss_item(2)])
    assert run_cli("run", "--once", "-c", str(config), cwd=tmp_path).returncode == 3
    assert len(http_server.requests) == 1  # disabled: the second run sent nothing
    status = run_cli("status", "-c", str(config), cwd=tmp_path).stdout
    assert "DISABLED since" in status and "HTTP 410" in status and "pending 2" in status
    http_server.respond_post("/hook", (200, {}, b"ok"))
    retry = run_cli("retry", "hook", "-c", str(config), cwd=tmp_path)
    assert "channel re-enabled" in retry.stdout
    assert run_cli("run", "--once", "-c", str(config), cwd=tmp_path).returncode == 0
    first, resent, new = http_server.requests
    assert first.headers["webhook-id"] == resent.headers["webhook-id"]
    assert guids(json.loads(resent.body)) == ["item-1"] and guids(json.loads(new.body)) == [
        "item-2"
    ]
    assert "DISABLED" not in run_cli("status", "-c", str(config), cwd=tmp_path).stdout
