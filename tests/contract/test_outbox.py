"""Contract: messages formed from the outbox, retried under one id, sent or dead."""

from __future__ import annotations

from datetime import timedelta

from monitor.store.deadletters import PRUNED, requeue
from monitor.store.outbox import Forming, Outbox
from tests.contract.common import FEED_A, NOW, item, record, scalar


def test_message_lifecycle_retry_keeps_id_then_sent(any_store):
    record(any_store, item(FEED_A, "g1"), rules=("r1", "r2"))
    outbox = Outbox(any_store)
    message = outbox.next_message("c1", NOW)
    assert message is not None and message.attempts == 0 and message.due_since == NOW
    assert [s.rules for s in outbox.digest(message.id).stories] == [("r1", "r2")]
    outbox.mark_retry(message.id, "HTTP 503", NOW + timedelta(minutes=1), NOW)
    assert outbox.next_message("c1", NOW) is None  # waiting for its backoff
    record(any_store, item(FEED_A, "g2"))  # queued meanwhile: waits for the next message
    again = outbox.next_message("c1", NOW + timedelta(minutes=2))
    assert again.id == message.id and again.attempts == 1
    outbox.mark_sent(message.id, "HTTP 200", NOW)
    later = outbox.next_message("c1", NOW)
    assert later.id != message.id
    assert [s.item.id for s in outbox.digest(later.id).stories] == ["g2"]
    outbox.mark_failed(later.id, "HTTP 400 bad request", NOW)
    assert outbox.next_message("c1", NOW) is None
    rows = any_store.conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status")
    assert dict(rows.fetchall()) == {"sent": 2, "failed": 1}


def test_backoff_ignored_on_request_and_preview_writes_nothing(any_store):
    record(any_store, item(FEED_A, "g1"))
    outbox = Outbox(any_store)
    assert len(outbox.preview("c1", NOW).stories) == 1
    assert scalar(any_store, "SELECT COUNT(*) FROM messages") == 0
    message = outbox.next_message("c1", NOW)
    outbox.mark_retry(message.id, "timeout", NOW + timedelta(hours=1))
    assert outbox.next_message("c1", NOW, ignore_backoff=True).id == message.id
    assert outbox.next_message("c1", NOW, form_new=False) is None


def test_a_sub_second_backoff_still_waits(any_store):
    record(any_store, item(FEED_A, "g1"))
    outbox = Outbox(any_store)
    message = outbox.next_message("c1", NOW)
    outbox.mark_retry(message.id, "SMTP 421", NOW + timedelta(seconds=0.4))
    assert outbox.next_message("c1", NOW) is None
    assert outbox.next_message("c1", NOW + timedelta(seconds=1)).id == message.id


def test_a_clock_set_back_waits_only_the_backoff(any_store):
    record(any_store, item(FEED_A, "g1"))
    outbox = Outbox(any_store)
    message = outbox.next_message("c1", NOW)
    tried = NOW + timedelta(hours=5)
    outbox.mark_retry(message.id, "503", tried + timedelta(minutes=1), tried)
    assert outbox.next_message("c1", NOW) is None  # the clock went back 5 h
    assert outbox.next_message("c1", NOW + timedelta(minutes=1)).id == message.id


def test_urgent_rules_go_alone_and_max_items_holds_the_rest_back(any_store):
    for n in range(4):
        record(any_store, item(FEED_A, f"g{n}"), rules=("urgent" if n == 2 else "r1",))
    outbox = Outbox(any_store)
    quiet = Forming(regular=False, urgent_rules=frozenset({"urgent"}))
    first = outbox.next_message("c1", NOW, forming=quiet)
    digest = outbox.digest(first.id)
    assert [s.item.id for s in digest.stories] == ["g2"] and digest.held_back == 3
    outbox.mark_sent(first.id, "ok", NOW)
    assert outbox.next_message("c1", NOW, forming=quiet) is None  # only regular rows left
    waiting = Forming(group_wait=timedelta(minutes=5))
    assert outbox.next_message("c1", NOW, forming=waiting) is None
    capped = Forming(max_items=2)
    second = outbox.next_message("c1", NOW, forming=capped)
    digest = outbox.digest(second.id)
    assert [s.item.id for s in digest.stories] == ["g0", "g1"] and digest.held_back == 1
    outbox.release(second.id, [digest.story_ids[1]])
    digest = outbox.digest(second.id)
    assert [s.item.id for s in digest.stories] == ["g0"] and digest.held_back == 2
    outbox.mark_sent(second.id, "ok", NOW)
    third = outbox.next_message("c1", NOW, forming=Forming())
    assert [s.item.id for s in outbox.digest(third.id).stories] == ["g1", "g3"]


def test_split_off_makes_a_message_as_old_as_the_first(any_store):
    for n in range(4):
        record(any_store, item(FEED_A, f"g{n}"), rules=("r1",))
    outbox = Outbox(any_store)
    first = outbox.next_message("c1", NOW)
    later = NOW + timedelta(hours=3)
    rest = outbox.split_off(first.id, outbox.digest(first.id).story_ids[2:], later)
    assert [s.item.id for s in outbox.digest(first.id).stories] == ["g0", "g1"]
    assert [s.item.id for s in outbox.digest(rest).stories] == ["g2", "g3"]
    outbox.mark_failed(first.id, "HTTP 413", later)
    second = outbox.next_message("c1", later, form_new=False)  # formed already: due now
    assert second.id == rest and second.attempts == 0 and second.due_since == NOW


def test_split_off_keeps_the_recipients_that_have_the_message(any_store):
    # Email: bits of the recipients done (notify/recipients.py). A recipient that took
    # the whole message must not get its second half again after a split (review).
    for n in range(4):
        record(any_store, item(FEED_A, f"g{n}"), rules=("r1",))
    outbox = Outbox(any_store)
    first = outbox.next_message("c1", NOW)
    outbox.record_parts(first.id, 0b01)  # the first recipient has it
    rest = outbox.split_off(first.id, outbox.digest(first.id).story_ids[2:], NOW)
    assert outbox.parts_sent(rest) == 0b01 and outbox.parts_sent(first.id) == 0b01


def test_a_channel_disabled_by_its_destination(any_store):
    outbox = Outbox(any_store)
    assert outbox.disabled("c1") is None
    outbox.disable("c1", "HTTP 410 Gone", NOW)
    outbox.disable("c1", "HTTP 410 Gone again", NOW + timedelta(minutes=1))
    assert outbox.disabled("c1") == ("2026-11-27T08:01:00Z", "HTTP 410 Gone again")
    assert outbox.disabled("c2") is None


def test_dead_letters_are_requeued_under_their_id_unless_pruned(any_store):
    outbox = Outbox(any_store)
    record(any_store, item(FEED_A, "kept"))
    kept = outbox.next_message("c1", NOW)
    outbox.mark_failed(kept.id, "HTTP 400", NOW)
    record(any_store, item(FEED_A, "lost"))
    lost = outbox.next_message("c1", NOW)
    outbox.mark_failed(lost.id, "HTTP 400", NOW)
    lost_story = outbox.digest(lost.id).story_ids[0]
    any_store.conn.execute("DELETE FROM matches")
    any_store.conn.execute("DELETE FROM items WHERE story_id = ?", (lost_story,))
    outbox.disable("c1", "HTTP 410", NOW)
    later = NOW + timedelta(hours=1)
    reports = requeue(any_store, "c1", later)
    assert [(r.message_id, r.stories, r.pruned) for r in reports] == [
        (kept.id, 1, 0),
        (lost.id, 0, 1),
    ]
    assert outbox.disabled("c1") is None
    again = outbox.next_message("c1", later)
    assert again.id == kept.id and again.attempts == 0 and again.due_since == later
    row = any_store.conn.execute(
        "SELECT status, last_error FROM messages WHERE id = ?", (lost.id,)
    ).fetchone()
    assert (row["status"], row["last_error"]) == ("failed", PRUNED)


def test_a_digest_counts_stories_retention_deleted(any_store):
    outbox = Outbox(any_store)
    record(any_store, item(FEED_A, "a"))
    record(any_store, item(FEED_A, "b"))
    message = outbox.next_message("c1", NOW)
    outbox.mark_failed(message.id, "HTTP 400", NOW)
    any_store.conn.execute("DELETE FROM matches")
    any_store.conn.execute("DELETE FROM items")  # as retention does, alerts kept
    digest = outbox.digest(message.id)
    assert digest.stories == () and digest.pruned == 2 and digest.channel == "c1"


def test_a_late_outcome_never_changes_a_finished_message(any_store):
    """A holder frozen past its channel lease hears its send's answer after the next
    holder sent the message (same id) and marked it sent: the late 400, 503 or 200 is
    not recorded (scale-out review: a delivered message became a dead letter)."""
    record(any_store, item(FEED_A, "g1"))
    outbox = Outbox(any_store)
    message = outbox.next_message("c1", NOW)
    assert outbox.mark_sent(message.id, "HTTP 200", NOW)
    assert not outbox.mark_failed(message.id, "HTTP 400", NOW + timedelta(seconds=5))
    assert not outbox.mark_retry(message.id, "HTTP 503", NOW + timedelta(minutes=1), NOW)
    assert not outbox.mark_sent(message.id, "HTTP 200 (again)", NOW + timedelta(seconds=6))
    row = any_store.conn.execute(
        "SELECT status, attempts, answer, last_error FROM messages WHERE id = ?", (message.id,)
    ).fetchone()
    assert tuple(row) == ("sent", 1, "HTTP 200", None)
    rows = any_store.conn.execute("SELECT status, attempts FROM outbox").fetchall()
    assert [tuple(r) for r in rows] == [("sent", 1)]


def test_a_dead_letter_requeued_by_retry_is_pending_again_and_can_finish(any_store):
    record(any_store, item(FEED_A, "g1"))
    outbox = Outbox(any_store)
    message = outbox.next_message("c1", NOW)
    assert outbox.mark_failed(message.id, "HTTP 400", NOW)
    assert not outbox.mark_sent(message.id, "HTTP 200", NOW)  # failed is final ...
    requeue(any_store, "c1", NOW)
    assert outbox.mark_sent(message.id, "HTTP 200", NOW)  # ... until retry requeues it
