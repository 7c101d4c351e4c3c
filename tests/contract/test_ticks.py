"""Contract: a scheduled channel's digest tick is stored and fires once in the cluster;
a multi-part message's accepted parts are stored (store/outbox.py), on every store.

Several instances are several Stores (each its own connection) on one database; the
concurrent ones run in threads, each opening its own. Times are the test's (``now`` is
passed in), so nothing waits.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from monitor.config import MonitorConfig
from monitor.service.jobs import digest_tick, every_tick
from monitor.store.outbox import DigestTick, Forming, Outbox
from tests.contract.common import FEED_A, NOW, item, record

HOUR = timedelta(hours=1)


def hourly(name: str = "digest:c1", every: timedelta = HOUR) -> DigestTick:
    """A tick every ``every`` on the grid from :data:`GRID` (as ``every:`` channels)."""
    return every_tick(name, every)


def stories(outbox: Outbox, message_id: str) -> list[str]:
    """The item ids of a message's stories."""
    return [s.item.id for s in outbox.digest(message_id).stories]


def test_the_first_round_stores_the_tick_and_regular_alerts_wait_for_it(any_store):
    record(any_store, item(FEED_A, "g1"))
    outbox = Outbox(any_store)
    tick = hourly()
    assert outbox.next_message("c1", NOW, tick=tick) is None  # no tick yet: stored
    assert outbox.tick_at("digest:c1") == NOW + HOUR
    assert outbox.next_message("c1", NOW + HOUR / 2, tick=tick) is None
    assert outbox.tick_at("digest:c1") == NOW + HOUR
    message = outbox.next_message("c1", NOW + HOUR + timedelta(seconds=3), tick=tick)
    assert message is not None and stories(outbox, message.id) == ["g1"]
    assert outbox.tick_at("digest:c1") == NOW + 2 * HOUR  # moved on
    outbox.mark_sent(message.id, "ok", NOW + HOUR)
    record(any_store, item(FEED_A, "g2"))
    assert outbox.next_message("c1", NOW + HOUR + timedelta(seconds=4), tick=tick) is None


def test_urgent_alerts_do_not_wait_for_the_tick(any_store):
    record(any_store, item(FEED_A, "g1"))
    record(any_store, item(FEED_A, "g2"), rules=("flash",))
    outbox = Outbox(any_store)
    urgent = Forming(urgent_rules=frozenset({"flash"}))
    message = outbox.next_message("c1", NOW, forming=urgent, tick=hourly())
    assert message is not None and stories(outbox, message.id) == ["g2"]
    outbox.mark_sent(message.id, "ok", NOW)
    assert outbox.next_message("c1", NOW, forming=urgent, tick=hourly()) is None


def test_a_tick_held_by_quiet_hours_stays_due_for_the_first_round_after_them(any_store):
    record(any_store, item(FEED_A, "g1"))
    outbox = Outbox(any_store)
    tick = hourly()
    assert outbox.next_message("c1", NOW, tick=tick) is None  # stores the tick
    held = Forming(regular=False)  # what timing.forming gives inside quiet hours
    assert outbox.next_message("c1", NOW + HOUR, forming=held, tick=tick) is None
    assert outbox.tick_at("digest:c1") == NOW + HOUR  # not spent on the held round
    message = outbox.next_message("c1", NOW + HOUR + timedelta(minutes=20), tick=tick)
    assert message is not None and stories(outbox, message.id) == ["g1"]
    assert outbox.tick_at("digest:c1") == NOW + 2 * HOUR


def test_a_tick_taken_by_one_instance_is_not_taken_by_another(opener):
    first, second = Outbox(opener()), Outbox(opener())
    record(first.store, item(FEED_A, "g1"))
    assert first.next_message("c1", NOW, tick=hourly()) is None  # the tick stored
    at = NOW + HOUR
    message = first.next_message("c1", at, tick=hourly())
    assert message is not None and stories(first, message.id) == ["g1"]
    first.mark_sent(message.id, "ok", at)
    record(first.store, item(FEED_A, "g2"))
    assert second.next_message("c1", at, tick=hourly()) is None  # that tick has fired
    later = second.next_message("c1", at + HOUR, tick=hourly())
    assert later is not None and stories(second, later.id) == ["g2"]


def test_instances_at_a_due_tick_at_once_form_one_digest(opener):
    setup = Outbox(opener())
    for n in range(3):
        record(setup.store, item(FEED_A, f"g{n}"))
    assert setup.next_message("c1", NOW, tick=hourly()) is None
    at = NOW + HOUR
    instances = 4
    start = threading.Barrier(instances)

    def round_at_tick(_: int) -> str | None:
        store = opener()
        try:
            start.wait()
            message = Outbox(store).next_message("c1", at, tick=hourly())
            return message.id if message else None
        finally:
            store.close()  # in the thread that opened it (SQLite's rule)

    with ThreadPoolExecutor(instances) as pool:
        formed = {m for m in pool.map(round_at_tick, range(instances)) if m}
    assert len(formed) == 1  # one formed it; the others found it formed (or nothing)
    assert stories(setup, formed.pop()) == ["g0", "g1", "g2"]
    assert setup.tick_at("digest:c1") == NOW + 2 * HOUR
    count = setup.store.conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    assert count == 1


def test_an_overdue_tick_fires_at_once_and_missed_ticks_fire_once(any_store):
    outbox = Outbox(any_store)
    assert outbox.next_message("c1", NOW, tick=hourly()) is None
    record(any_store, item(FEED_A, "g1"))
    # the holder died; another instance takes the lease five hours and ten minutes later
    late = NOW + 5 * HOUR + timedelta(minutes=10)
    message = outbox.next_message("c1", late, tick=hourly())
    assert message is not None and stories(outbox, message.id) == ["g1"]
    assert outbox.tick_at("digest:c1") == NOW + 6 * HOUR
    outbox.mark_sent(message.id, "ok", late)
    record(any_store, item(FEED_A, "g2"))
    assert outbox.next_message("c1", late, tick=hourly()) is None


def test_a_tick_later_than_the_schedule_allows_is_moved_back(any_store):
    record(any_store, item(FEED_A, "g1"))
    outbox = Outbox(any_store)
    assert outbox.next_message("c1", NOW, tick=hourly(every=timedelta(days=1))) is None
    assert outbox.tick_at("digest:c1") == datetime(2026, 11, 28, tzinfo=UTC)  # midnight UTC
    # the schedule became hourly (a reload), or the wall clock went back a day
    assert outbox.next_message("c1", NOW + HOUR / 2, tick=hourly()) is None
    assert outbox.tick_at("digest:c1") == NOW + HOUR
    message = outbox.next_message("c1", NOW + HOUR, tick=hourly())
    assert message is not None and stories(outbox, message.id) == ["g1"]


def test_a_message_waiting_for_a_retry_keeps_the_tick_due(any_store):
    record(any_store, item(FEED_A, "g1"))
    outbox = Outbox(any_store)
    first = outbox.next_message("c1", NOW)  # formed without a tick (an urgent alert, say)
    outbox.mark_retry(first.id, "HTTP 503", NOW + 2 * HOUR, NOW)
    assert outbox.next_message("c1", NOW, tick=hourly()) is None  # waits for its backoff
    record(any_store, item(FEED_A, "g2"))
    outbox.mark_sent(first.id, "ok", NOW + 2 * HOUR)
    assert outbox.tick_at("digest:c1") is None  # no round reached the forming yet
    outbox.next_message("c1", NOW + 2 * HOUR, tick=hourly())  # stores it
    message = outbox.next_message("c1", NOW + 3 * HOUR, tick=hourly())
    assert message is not None and stories(outbox, message.id) == ["g2"]


def test_a_tick_stored_by_a_clock_a_little_ahead_is_kept(any_store):
    outbox = Outbox(any_store)
    assert outbox.next_message("c1", NOW + timedelta(seconds=2), tick=hourly()) is None
    assert outbox.tick_at("digest:c1") == NOW + HOUR
    # an instance whose clock is 3 s behind: it is 07:59:59 there, the tick stays
    assert outbox.next_message("c1", NOW - timedelta(seconds=1), tick=hourly()) is None
    assert outbox.tick_at("digest:c1") == NOW + HOUR


def test_cron_ticks_come_at_the_schedules_times_once_each(any_store):
    config = MonitorConfig.model_validate(
        {"channels": {"c1": {"type": "console", "schedule": "cron: 0 9 * * *"}}}
    )
    tick = digest_tick(config, "c1")
    assert tick is not None and tick.name == "digest:c1"
    outbox = Outbox(any_store)
    record(any_store, item(FEED_A, "g1"))
    nine = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert outbox.next_message("c1", NOW, tick=tick) is None  # 08:00: stored for 09:00
    assert outbox.tick_at("digest:c1") == nine
    assert outbox.next_message("c1", nine - timedelta(seconds=1), tick=tick) is None
    message = outbox.next_message("c1", nine, tick=tick)
    assert message is not None
    assert outbox.tick_at("digest:c1") == nine + timedelta(days=1)
    assert digest_tick(config, "gone") is None


def test_accepted_parts_are_stored_for_any_instance_and_never_lowered(opener):
    first, second = Outbox(opener()), Outbox(opener())
    record(first.store, item(FEED_A, "g1"))
    message = first.next_message("c1", NOW)
    assert second.parts_sent(message.id) == 0
    first.record_parts(message.id, 2)
    assert second.parts_sent(message.id) == 2
    second.record_parts(message.id, 1)  # a late writer never lowers it
    assert first.parts_sent(message.id) == 2
    assert first.parts_sent("no-such-message") == 0


def test_every_ticks_are_on_one_grid_for_every_instance():
    config = MonitorConfig.model_validate(
        {"channels": {"c1": {"type": "console", "schedule": "every: 15m"}}}
    )
    tick = digest_tick(config, "c1")
    assert tick is not None
    minute = timedelta(minutes=1)
    assert tick.following(None, NOW + minute) == NOW + 15 * minute
    assert tick.following(NOW, NOW + 15 * minute) == NOW + 30 * minute  # strictly after now
    assert tick.following(NOW, NOW + 50 * minute) == NOW + 60 * minute  # missed ones: once


def test_status_shows_the_stored_tick_of_an_every_channel_exactly(any_store):
    """With several instances an ``every:`` channel's next digest is the stored tick,
    not an estimate from its last message (``status``, cli/statusinfo.py)."""
    from monitor.cli.statusinfo import next_digest

    config = MonitorConfig.model_validate(
        {"channels": {"c1": {"type": "console", "schedule": "every: 1h", "timezone": "Asia/Seoul"}}}
    )
    channel = config.channels["c1"]
    before = next_digest(any_store, "c1", channel, NOW)
    assert before["approximate"] and before["next"] is None  # one instance: no tick stored
    tick = digest_tick(config, "c1")
    assert tick is not None
    assert Outbox(any_store).next_message("c1", NOW, tick=tick) is None  # stores the tick
    shown = next_digest(any_store, "c1", channel, NOW)
    assert not shown["approximate"] and shown["next"] == NOW + HOUR
    assert shown["text"] == "2026-11-27 18:00 KST (Asia/Seoul)"
    late = next_digest(any_store, "c1", channel, NOW + 2 * HOUR)  # no instance took it yet
    assert late["text"] == "due since 2026-11-27 18:00 KST (Asia/Seoul)"


def test_status_says_never_for_a_stored_cron_tick_that_fires_no_more(any_store):
    """A ``cron:`` schedule with no next time (30 February) stores the NEVER tick;
    ``status`` says "never" in any zone instead of year 9999 or an overflow."""
    from monitor.cli.statusinfo import next_digest

    config = MonitorConfig.model_validate(
        {
            "channels": {
                "c1": {"type": "console", "schedule": "cron: 0 0 30 2 *", "timezone": "Asia/Seoul"}
            }
        }
    )
    tick = digest_tick(config, "c1")
    assert tick is not None
    assert Outbox(any_store).next_message("c1", NOW, tick=tick) is None  # stores the tick
    shown = next_digest(any_store, "c1", config.channels["c1"], NOW)
    assert shown["next"] is None and shown["text"].startswith("never")


def test_status_shows_a_cron_digest_of_the_skipped_hour_at_its_real_local_time(any_store):
    """``cron: 30 2 * * *`` in New York the day before clocks go forward: ``status``
    read "2026-03-08 02:30 EST", a time that does not exist, for 07:30Z (03:30 EDT)."""
    from monitor.cli.statusinfo import next_digest

    config = MonitorConfig.model_validate(
        {
            "channels": {
                "c1": {
                    "type": "console",
                    "schedule": "cron: 30 2 * * *",
                    "timezone": "America/New_York",
                }
            }
        }
    )
    channel = config.channels["c1"]
    saturday = datetime(2026, 3, 7, 17, tzinfo=UTC)
    shown = next_digest(any_store, "c1", channel, saturday)  # one instance: no stored tick
    assert shown["next"] == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert shown["text"] == "2026-03-08 03:30 EDT (America/New_York)"
    tick = digest_tick(config, "c1")
    assert tick is not None
    assert Outbox(any_store).next_message("c1", saturday, tick=tick) is None  # stores it
    stored = next_digest(any_store, "c1", channel, saturday)
    assert stored["next"] == shown["next"] and stored["text"] == shown["text"]
