"""The outbox's bounds (issue 14, points 4, 5, 8): dead letters whose stories were
pruned, messages too big for their destination, and wall-clock jumps.

Real webhook receivers on 127.0.0.1, the CLI in subprocesses (``run --once``,
``retry``, ``status``), and for clock jumps a runtime whose clock the test moves
(``deliver_channel`` is what the daemon's sweep job runs).
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.config import MonitorConfig
from monitor.delivery import deliver_channel
from monitor.pipeline import poll_all, prune_state
from monitor.runtime import build_runtime
from monitor.store.deadletters import requeue
from tests.conftest import run_cli, write_config
from tests.integration.test_delivery import (
    START,
    Clock,
    config_dict,
    guids,
    hook,
    poll_then,
    posted,
    rss_item,
    run,
    runtime,
    write_feed,
)
from tests.servers import HttpServer

pytestmark = pytest.mark.integration

OK = (200, {}, b"ok")


def big_item(n: int, chars: int, word: str = "Pompeo") -> str:
    """An RSS item matching ``word AND Pyongyang`` with a description of ``chars``."""
    text = f"{word} flew to Pyongyang. " + "Talks went on for hours. " * (chars // 25)
    return (
        f"<item><title>{word} in Pyongyang, report {n}</title>"
        f'<link>https://news.example/{n}</link><guid isPermaLink="false">item-{n}</guid>'
        f"<description>{text[:chars]}</description></item>"
    )


def cli(tmp_path: Path, *args: str) -> Any:
    """Run the CLI with the test's config; return the finished process."""
    return run_cli(*args, "-c", str(tmp_path / "monitor.yaml"), cwd=tmp_path)


def save(tmp_path: Path, channels: dict[str, Any], **extra: Any) -> None:
    """Write ``monitor.yaml`` (the file feed and the two rules of test_delivery)."""
    write_config(tmp_path / "monitor.yaml", config_dict(tmp_path, channels, **extra))


def status(tmp_path: Path) -> dict[str, Any]:
    """``status --json``."""
    return json.loads(cli(tmp_path, "status", "--json").stdout)


# --- 4: dead letters whose stories were pruned -------------------------------------


def two_channels(server: HttpServer) -> dict[str, Any]:
    """``hook`` gets the pompeo rule's alerts, ``after`` (configured after it) flash's."""
    return {
        "hook": hook(server, "/hook", group_wait="0s"),
        "after": hook(server, "/after", group_wait="0s"),
    }


def route_rules(tmp_path: Path, server: HttpServer, retention: str = "1d") -> None:
    """Write ``monitor.yaml``: the pompeo rule alerts ``hook``, flash ``after``."""
    config = config_dict(tmp_path, two_channels(server), dedup={"retention": retention})
    config["rules"][0]["notify"] = ["hook"]
    config["rules"][1]["notify"] = ["after"]
    write_config(tmp_path / "monitor.yaml", config)


def test_retry_of_a_dead_letter_whose_stories_were_pruned(tmp_path, http_server):
    http_server.respond_post("/hook", (503, {}, b"busy"), (400, {}, b"bad request"), OK)
    http_server.respond_post("/after", (503, {}, b"busy"), (503, {}, b"busy"), OK)
    route_rules(tmp_path, http_server, retention="2s")
    write_feed(tmp_path / "feed.xml", [rss_item(1), rss_item(2, rule_word="Flash")])
    assert cli(tmp_path, "run", "--once").returncode == 3  # both retrying
    time.sleep(3.2)  # past the 2 s retention, stored to the second
    assert cli(tmp_path, "run", "--once", "--retry-now").returncode == 3  # hook: 400: dead
    # That run pruned item-1 (no pending alert), but kept the dead letter (failed now,
    # within its 2 s). Later runs must not prune the dead letter however slow they are.
    route_rules(tmp_path, http_server)
    retry = cli(tmp_path, "retry", "hook")
    assert retry.returncode == 0, retry.stderr
    assert "hook: 0 dead letters queued again" in retry.stdout
    assert "1 dead letter could not be queued again" in retry.stdout
    assert "its stories were pruned" in retry.stdout
    once = cli(tmp_path, "run", "--once", "--retry-now")  # "after" waits for its retry
    assert once.returncode == 0 and "Traceback" not in once.stderr, once.stderr
    assert guids(posted(http_server, "/after")[-1]) == ["item-2"]  # the next channel went
    assert len(http_server.requests_to("/hook")) == 2  # nothing left to send
    (dead,) = status(tmp_path)["dead_letters"]
    assert dead["channel"] == "hook" and "its stories were pruned" in dead["error"]
    again = cli(tmp_path, "run", "--once")  # and stays quiet: not retried forever
    assert again.returncode == 0 and len(http_server.requests_to("/hook")) == 2


def test_a_message_that_cannot_be_built_fails_alone(tmp_path, http_server):
    http_server.respond_post("/hook", (503, {}, b"busy"), OK)
    http_server.respond_post("/after", (503, {}, b"busy"), OK)
    route_rules(tmp_path, http_server)
    write_feed(tmp_path / "feed.xml", [rss_item(1), rss_item(2, rule_word="Flash")])
    assert cli(tmp_path, "run", "--once").returncode == 3  # both retrying
    with sqlite3.connect(tmp_path / "state" / "monitor.db") as db:  # damaged state
        db.execute("UPDATE items SET data = 'not json' WHERE item_key LIKE '%item-1%'")
    once = cli(tmp_path, "run", "--once", "--retry-now")
    assert once.returncode == 3 and "Traceback" not in once.stderr, once.stderr
    assert guids(posted(http_server, "/after")[-1]) == ["item-2"]
    (dead,) = status(tmp_path)["dead_letters"]
    assert "cannot build the message: JSONDecodeError" in dead["error"]


def test_an_unexpected_error_in_one_channel_spares_the_next(tmp_path, http_server):
    http_server.respond_post("/hook", (503, {}, b"busy"))
    http_server.respond_post("/after", (503, {}, b"busy"), OK)
    route_rules(tmp_path, http_server)
    write_feed(tmp_path / "feed.xml", [rss_item(1), rss_item(2, rule_word="Flash")])
    assert cli(tmp_path, "run", "--once").returncode == 3  # both retrying
    with sqlite3.connect(tmp_path / "state" / "monitor.db") as db:  # damaged state
        db.execute("UPDATE messages SET created_at = 'garbage' WHERE channel = 'hook'")
    once = cli(tmp_path, "run", "--once", "--retry-now")
    assert once.returncode == 3 and "Traceback" not in once.stderr, once.stderr
    assert "channel=hook delivery round stopped by an internal error: ValueError" in once.stderr
    assert guids(posted(http_server, "/after")[-1]) == ["item-2"]


def test_retry_sends_the_stories_left_when_some_were_pruned(tmp_path, http_server):
    http_server.respond_post("/hook", (400, {}, b"bad request"), OK)
    clock = Clock()
    channels = {"hook": hook(http_server, schedule="cron: 0 7 * * *")}
    config = config_dict(tmp_path, channels, dedup={"retention": "1d"})
    http = httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0))
    rt = build_runtime(MonitorConfig.model_validate(config), clock=clock, http=http)
    feed = tmp_path / "feed.xml"
    write_feed(feed, [rss_item(1)])
    run(poll_all(rt))
    clock.advance(2 * 86400)
    write_feed(feed, [rss_item(1), rss_item(3)])
    run(poll_all(rt))
    assert run(deliver_channel(rt, "hook")).failed == 1  # one message, both stories: 400
    rt.db.call(prune_state, rt)  # item-1 (2 days old) goes; item-3 stays
    (report,) = requeue(rt.store, "hook", clock())
    assert (report.stories, report.pruned) == (1, 1)
    assert run(deliver_channel(rt, "hook")).sent == 1
    first, resent = http_server.requests_to("/hook")
    assert sorted(guids(json.loads(first.body))) == ["item-1", "item-3"]
    assert guids(json.loads(resent.body)) == ["item-3"]
    assert first.headers["webhook-id"] == resent.headers["webhook-id"]
    rt.store.close()


# --- 5: messages too big for their destination -------------------------------------


def test_a_digest_is_split_under_max_message_bytes(tmp_path, http_server):
    save(tmp_path, {"hook": hook(http_server, max_message_bytes=4096)})
    write_feed(tmp_path / "feed.xml", [big_item(n, 600) for n in range(1, 13)])
    assert cli(tmp_path, "run", "--once").returncode == 0
    bodies = http_server.requests_to("/hook")
    assert len(bodies) > 1 and all(len(r.body) <= 4096 for r in bodies)
    sent = [g for r in bodies for g in guids(json.loads(r.body))]
    assert sorted(sent) == sorted(f"item-{n}" for n in range(1, 13))  # each exactly once


def test_one_story_too_big_alone_is_shortened(tmp_path, http_server):
    save(tmp_path, {"hook": hook(http_server, max_message_bytes=4096)})
    write_feed(tmp_path / "feed.xml", [big_item(1, 15000)])
    assert cli(tmp_path, "run", "--once").returncode == 0
    (request,) = http_server.requests_to("/hook")
    (item,) = json.loads(request.body)["items"]
    assert len(request.body) <= 4096 and item["guid"] == "item-1"
    assert item["summary"].startswith("Pompeo flew to Pyongyang.")


def too_large_above(limit: int) -> Any:
    """A receiver's answer: 413 for a body over ``limit`` bytes, else 200."""
    return lambda body: (413, {}, b"payload too large") if len(body) > limit else OK


def test_413_splits_the_message_and_the_urgent_alert_goes(tmp_path, http_server):
    http_server.respond_post("/hook", too_large_above(8000))
    save(tmp_path, {"hook": hook(http_server)})  # our bound (1 MiB) is above theirs
    items = [big_item(n, 900) for n in range(1, 31)] + [big_item(99, 100, word="Flash")]
    write_feed(tmp_path / "feed.xml", items)
    once = cli(tmp_path, "run", "--once")
    assert once.returncode == 0, once.stderr
    accepted = [r for r in http_server.requests_to("/hook") if len(r.body) <= 8000]
    sent = [g for r in accepted for g in guids(json.loads(r.body))]
    assert "item-99" in sent and sorted(sent) == sorted(
        [f"item-{n}" for n in range(1, 31)] + ["item-99"]
    )
    assert status(tmp_path)["dead_letters"] == []


def test_413_for_one_story_fails_that_message_only(tmp_path, http_server):
    http_server.respond_post("/hook", too_large_above(3000))
    save(tmp_path, {"hook": hook(http_server)})
    write_feed(tmp_path / "feed.xml", [big_item(1, 8000), rss_item(2, rule_word="Flash")])
    assert cli(tmp_path, "run", "--once").returncode == 3  # a dead letter
    accepted = [r for r in http_server.requests_to("/hook") if len(r.body) <= 3000]
    assert [g for r in accepted for g in guids(json.loads(r.body))] == ["item-2"]
    (dead,) = status(tmp_path)["dead_letters"]
    assert "HTTP 413" in dead["error"] and "not split further" in dead["error"]


def test_a_destination_refusing_every_size_holds_no_backlog(tmp_path, http_server):
    """The daemon's round (not ``run --once``'s drain) against a receiver that answers
    413 to everything: every story ends a dead letter in that round. Before, the split
    halves went back to the unformed backlog with a new age, one story a round died,
    and the backlog (and the items it kept from pruning) grew for good (bench/soak.py)."""
    http_server.respond_post("/hook", too_large_above(0))
    clock = Clock()
    rt = runtime(tmp_path, {"hook": hook(http_server, group_wait="0s")}, clock)
    write_feed(tmp_path / "feed.xml", [rss_item(n) for n in range(1, 7)])
    report = run(poll_then(rt, "hook"))
    rt.store.close()
    assert report.failed == 6 and report.sent == 0
    with sqlite3.connect(tmp_path / "state" / "monitor.db") as conn:
        left = conn.execute("SELECT COUNT(*) FROM outbox WHERE status = 'pending'").fetchone()
        dead = conn.execute("SELECT COUNT(*) FROM messages WHERE status = 'failed'").fetchone()
    assert left == (0,) and dead == (6,)


def test_retry_re_forms_a_dead_letter_under_the_current_max_items(tmp_path, http_server):
    http_server.respond_post("/hook", (400, {}, b"bad request"), OK)
    save(tmp_path, {"hook": hook(http_server)})
    write_feed(tmp_path / "feed.xml", [rss_item(n) for n in range(1, 7)])
    assert cli(tmp_path, "run", "--once").returncode == 3  # one message of 6: a dead letter
    save(tmp_path, {"hook": hook(http_server, max_items=2)})
    assert "1 dead letter queued again" in cli(tmp_path, "retry", "hook").stdout
    assert cli(tmp_path, "run", "--once").returncode == 0
    dead, *resent = http_server.requests_to("/hook")
    assert [len(guids(json.loads(r.body))) for r in resent] == [2, 2, 2]
    assert resent[0].headers["webhook-id"] == dead.headers["webhook-id"]
    assert sorted(g for r in resent for g in guids(json.loads(r.body))) == sorted(
        guids(json.loads(dead.body))
    )


# --- 8: wall-clock jumps ------------------------------------------------------------


def first_attempt_fails(tmp_path: Path, server: HttpServer, clock: Clock, **extra: Any) -> Any:
    """A runtime whose hook channel has one message waiting for its retry (503)."""
    rt = runtime(tmp_path, {"hook": hook(server, group_wait="0s", **extra)}, clock)
    write_feed(tmp_path / "feed.xml", [rss_item(1)])
    run(poll_all(rt))
    assert run(deliver_channel(rt, "hook")).retrying == 1
    return rt


def test_clock_set_back_5h_the_retry_still_goes_at_its_backoff(tmp_path, http_server):
    http_server.respond_post("/hook", (503, {}, b"busy"), OK)
    clock = Clock()
    rt = first_attempt_fails(tmp_path, http_server, clock)
    clock.now = START - timedelta(hours=5)
    run(deliver_channel(rt, "hook"))  # the sweep sees the clock went back
    clock.advance(31)  # the first backoff is at most 30 s
    run(deliver_channel(rt, "hook"))
    assert len(http_server.requests_to("/hook")) == 2
    assert rt.store.conn.execute("SELECT status FROM messages").fetchone()[0] == "sent"
    rt.store.close()


def test_clock_set_back_does_not_hold_new_alerts_for_group_wait(tmp_path, http_server):
    clock = Clock()
    rt = runtime(tmp_path, {"hook": hook(http_server, group_wait="30s")}, clock)
    write_feed(tmp_path / "feed.xml", [rss_item(1)])
    run(poll_all(rt))
    clock.now = START - timedelta(hours=5)
    clock.advance(31)
    assert run(deliver_channel(rt, "hook")).sent == 1
    rt.store.close()


def test_clock_set_forward_10_days_tries_a_waiting_message_first(tmp_path, http_server):
    http_server.respond_post("/hook", (503, {}, b"busy"), OK)
    clock = Clock()
    rt = first_attempt_fails(tmp_path, http_server, clock)
    clock.advance(10 * 86400)
    assert run(deliver_channel(rt, "hook")).sent == 1
    assert len(http_server.requests_to("/hook")) == 2
    rt.store.close()


def test_past_max_age_a_failed_try_makes_the_dead_letter(tmp_path, http_server):
    http_server.respond_post("/hook", (503, {}, b"busy"))
    clock = Clock()
    rt = first_attempt_fails(tmp_path, http_server, clock)
    clock.advance(10 * 86400)
    assert run(deliver_channel(rt, "hook")).failed == 1
    assert len(http_server.requests_to("/hook")) == 2  # tried once more, then failed
    error = rt.store.conn.execute("SELECT last_error FROM messages").fetchone()[0]
    assert error.startswith("not delivered within max_age (1d): HTTP 503")
    rt.store.close()


def test_max_message_bytes_is_validated():
    base = config_dict(Path("/tmp"), {"hook": {"type": "webhook", "url": "http://x/h"}})
    assert MonitorConfig.model_validate(base).channels["hook"].max_message_bytes == 1 << 20
    base["channels"]["hook"]["max_message_bytes"] = 10
    with pytest.raises(ValueError, match="max_message_bytes"):
        MonitorConfig.model_validate(base)


def test_an_email_digest_is_split_under_max_message_bytes(tmp_path, smtp_sink):
    smtp = {"host": "127.0.0.1", "port": smtp_sink.port, "starttls": False}
    mail = {"type": "email", "smtp": smtp, "from": "a@example.org", "to": ["b@example.org"]}
    save(tmp_path, {"mail": {**mail, "max_message_bytes": 12000}})
    write_feed(tmp_path / "feed.xml", [big_item(n, 600) for n in range(1, 13)])
    assert cli(tmp_path, "run", "--once").returncode == 0
    assert len(smtp_sink.messages) > 1
    assert all(len(m.as_bytes()) <= 12000 for m in smtp_sink.messages)
    texts = [m.get_body(("plain",)).get_content() for m in smtp_sink.messages]
    for n in range(1, 13):  # every story in exactly one mail
        assert sum(bool(re.search(rf"report {n}\b", t)) for t in texts) == 1, n
