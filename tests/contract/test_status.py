"""Contract: the read-only summaries of ``status`` and ``history``, on both backends."""

from __future__ import annotations

from datetime import timedelta

from monitor.store import history
from monitor.store.outbox import Outbox
from monitor.store.status import (
    channel_summary,
    config_reload,
    dead_letters,
    record_config_loaded,
    record_reload_failed,
    rule_counts,
)
from tests.contract.common import FEED_A, FEED_B, NOW, item, record


def test_rule_counts_over_a_day_and_a_month(any_store):
    record(any_store, item(FEED_A, "new"), rules=("r1", "r2"), now=NOW)
    record(any_store, item(FEED_A, "week"), rules=("r1",), now=NOW - timedelta(days=7))
    record(any_store, item(FEED_A, "old"), rules=("r1",), now=NOW - timedelta(days=40))
    assert rule_counts(any_store, NOW) == {
        "r1": {"matches_24h": 1, "matches_30d": 2},
        "r2": {"matches_24h": 1, "matches_30d": 1},
    }


def test_channel_summary_and_dead_letters(any_store):
    outbox = Outbox(any_store)
    for n in range(3):
        record(any_store, item(FEED_A, f"g{n}"), channels=("c1", "c2"))
        message = outbox.next_message("c1", NOW)
        outbox.mark_sent(message.id, f"250 ok {n}", NOW + timedelta(minutes=(n + 1) // 2))
    failed = outbox.next_message("c2", NOW)
    outbox.mark_failed(failed.id, "HTTP 400 bad", NOW)
    record(any_store, item(FEED_A, "late"), channels=("c2",))
    retry = outbox.next_message("c2", NOW)
    outbox.record_parts(retry.id, 2)  # two parts (Slack) or recipients (email) done
    outbox.mark_retry(retry.id, "HTTP 503", NOW + timedelta(minutes=5), NOW)
    outbox.disable("c3", "HTTP 410", NOW)
    summary = channel_summary(any_store)
    assert summary["c1"] == {
        "pending": 0,
        "failed": 0,
        "sent": 3,
        "last_sent": "2026-11-27T08:01:00Z",
        "last_answer": "250 ok 2",  # the last of two sent in the same second
    }
    assert summary["c2"] == {
        "pending": 1,
        "failed": 3,
        "sent": 0,
        "last_error": "HTTP 503",
        "last_error_at": "2026-11-27T08:00:00Z",  # the attempt's time, not the next one's
        "next_attempt": "2026-11-27T08:05:00Z",
        # the message of that error, and how far it got (status words it by channel type)
        "last_error_message": {"id": retry.id, "status": "pending", "parts_sent": 2},
    }
    assert summary["c3"] == {"disabled": {"since": "2026-11-27T08:00:00Z", "reason": "HTTP 410"}}
    (dead,) = dead_letters(any_store)
    assert dead == {
        "id": failed.id,
        "channel": "c2",
        "attempts": 1,
        "error": "HTTP 400 bad",
        "failed_at": "2026-11-27T08:00:00Z",
        "parts_sent": 0,
    }


def test_config_reloads_are_recorded(any_store):
    assert config_reload(any_store) == {"loaded_at": None, "failed_at": None, "errors": None}
    record_config_loaded(any_store, NOW)
    record_reload_failed(any_store, NOW + timedelta(minutes=1), "x.yaml:1:1: bad\n" * 400)
    state = config_reload(any_store)
    assert state["loaded_at"] == NOW and state["failed_at"] == NOW + timedelta(minutes=1)
    assert len(state["errors"]) == 4000
    record_config_loaded(any_store, NOW + timedelta(minutes=2))
    assert config_reload(any_store)["failed_at"] is None


def test_history_lists_matches_and_the_baseline(any_store):
    any_store.record_poll_success(FEED_A.url, "A", NOW, NOW, None, None)
    record(any_store, item(FEED_A, "backlog"), channels=())  # first poll: no alert
    later = NOW + timedelta(hours=1)
    record(any_store, item(FEED_A, "new", "https://a.example/n"), "a/n", now=later)
    record(any_store, item(FEED_B, "copy", "https://b.example/n"), "a/n", now=later)
    outbox = Outbox(any_store)
    message = outbox.next_message("c1", later)
    outbox.mark_sent(message.id, "ok", later)
    conn = any_store.conn
    counts = history.split_baseline(conn, rule_counts(any_store, later), later)
    assert counts["r1"] == {
        "matches_24h": 2,
        "matches_30d": 2,
        "baseline_24h": 1,
        "baseline_30d": 1,
    }
    rows, more = history.list_matches(conn, history.Filters(limit=2))
    assert more == 1 and [r["title"] for r in rows] == ["title copy", "title new"]
    assert rows[1]["story"]["first"] and rows[1]["story"]["copies_total"] == 1
    assert [c["status"] for c in rows[1]["channels"]] == ["sent"]
    rows, _ = history.list_matches(conn, history.Filters(channel="c1", channel_rules=()))
    assert {r["title"] for r in rows} == {"title copy", "title new"}
    rows, _ = history.list_matches(conn, history.Filters(since=later, rule="r1"))
    assert len(rows) == 2
    (baseline,) = history.list_matches(conn, history.Filters())[0][2:]
    assert baseline["baseline"] and baseline["channels"] == []
    shown = history.message(conn, message.id)
    assert shown["status"] == "sent" and [s["title"] for s in shown["stories"]] == ["title new"]
    assert shown["stories"][0]["story"]["copies"][0]["title"] == "title copy"
    assert history.message(conn, "nope") is None
