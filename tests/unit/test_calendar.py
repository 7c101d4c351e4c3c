"""Calendar arithmetic on 29 February and across a new year (issue #14, point 1).

On a leap day every feed with a dated entry failed to parse: a "now plus one year"
bound was computed with ``now.replace(year=now.year + 1)``, and 29 February 2025 does
not exist. Every function of ours that computes with ``now`` is run here with ``now``
on 2024-02-29, 2028-02-29 and the last second of a year, and must give the exact
answer: durations are timedeltas, never calendar fields replaced.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import QuietHours
from monitor.ingest.dates import parse_date
from monitor.ingest.schedule import adaptive_interval, cache_min_interval, parse_retry_after
from monitor.models import FeedRef, Item
from monitor.notify.timing import in_quiet_hours
from monitor.store.codec import not_before, parse_ts, ts
from monitor.store.items import Items, tombstone_key
from monitor.store.retention import TOMBSTONE_DAYS, prune
from monitor.store.sqlite import Store

LEAP_2024 = datetime(2024, 2, 29, 12, 0, tzinfo=UTC)
LEAP_2028 = datetime(2028, 2, 29, 23, 59, 59, tzinfo=UTC)
YEAR_END = datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC)
NOWS = [LEAP_2024, LEAP_2028, YEAR_END]
FEED = FeedRef("f", "https://e.org/f.xml")


def _rfc822(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


@pytest.mark.parametrize("now", NOWS, ids=str)
def test_feed_dates_are_read_on_and_around_the_day(now: datetime) -> None:
    """Today, yesterday, and up to two days ahead are read; beyond is None (a feed bug)."""
    for delta in (timedelta(0), -timedelta(days=1), timedelta(days=2), -timedelta(days=366)):
        moment = now + delta
        parsed = time.gmtime(moment.timestamp())
        assert parse_date(_rfc822(moment), parsed, now) == moment
        assert parse_date(moment.strftime("%Y-%m-%dT%H:%M:%SZ"), None, now) == moment
    ahead = now + timedelta(days=2, seconds=1)
    assert parse_date(_rfc822(ahead), None, now) is None


def test_the_29th_of_february_exists_only_in_leap_years() -> None:
    assert parse_date("Thu, 29 Feb 2024 10:00:00 GMT", None, LEAP_2024) == datetime(
        2024, 2, 29, 10, tzinfo=UTC
    )
    assert parse_date("2023-02-29T10:00:00Z", None, LEAP_2024) is None
    assert parse_date("2100-02-29", None, datetime(2100, 3, 1, tzinfo=UTC)) is None  # not leap
    assert parse_date("2024-060", None, LEAP_2024) == datetime(2024, 2, 29, tzinfo=UTC)  # ordinal
    assert parse_date("2024-W09-4", None, LEAP_2024) == datetime(2024, 2, 29, tzinfo=UTC)


def test_a_date_written_in_the_next_year_local_time_is_read_at_year_end() -> None:
    """1 January 00:30 at +01:00 is 31 December 23:30 UTC: in the past, not the future."""
    assert parse_date("2024-01-01T00:30:00+01:00", None, YEAR_END) == datetime(
        2023, 12, 31, 23, 30, tzinfo=UTC
    )
    assert parse_date("Mon, 01 Jan 2024 00:00:00 GMT", None, YEAR_END) == YEAR_END + timedelta(
        seconds=1
    )


@pytest.mark.parametrize("now", NOWS, ids=str)
def test_server_hints_count_seconds_across_the_day(now: datetime) -> None:
    """``Retry-After`` and ``Expires`` as HTTP dates a day ahead are 86,400 s away."""
    tomorrow = _rfc822(now + timedelta(days=1))
    assert parse_retry_after(tomorrow, now) == 86_400.0
    assert cache_min_interval(None, tomorrow, now) == 86_400.0


@pytest.mark.parametrize("now", NOWS, ids=str)
def test_adaptive_interval_counts_the_week_across_the_day(now: datetime) -> None:
    """84 entries in the last 7 days (two hours apart) and older history: every 2 hours."""
    published = [now - timedelta(hours=2 * k) for k in range(84)] + [now - timedelta(days=30)]
    assert adaptive_interval(published, now, 600.0) == pytest.approx(7200.0)


@pytest.mark.parametrize("now", NOWS, ids=str)
def test_timestamps_round_trip_and_round_up_across_the_day(now: datetime) -> None:
    assert parse_ts(ts(now)) == now
    half = now + timedelta(microseconds=500_000)
    assert not_before(half) == now + timedelta(seconds=1)  # 2024-03-01, 2028-03-01, 2024-01-01


@pytest.mark.parametrize(
    ("local", "zone", "window", "quiet"),
    [
        (datetime(2024, 2, 29, 23, 0, tzinfo=UTC), "UTC", ("22:00", "07:00"), True),
        (datetime(2024, 2, 29, 6, 59, tzinfo=UTC), "UTC", ("22:00", "07:00"), True),
        (datetime(2024, 2, 29, 7, 0, tzinfo=UTC), "UTC", ("22:00", "07:00"), False),
        (datetime(2028, 2, 29, 21, 30, tzinfo=UTC), "Europe/Berlin", ("22:00", "07:00"), True),
        (
            datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC),
            "Pacific/Kiritimati",
            ("22:00", "07:00"),
            False,
        ),
        (datetime(2023, 12, 31, 8, 0, tzinfo=UTC), "Pacific/Kiritimati", ("22:00", "00:00"), True),
        (
            datetime(2023, 12, 31, 10, 0, tzinfo=UTC),
            "Pacific/Kiritimati",
            ("22:00", "00:00"),
            False,
        ),
    ],
)
def test_quiet_hours_over_midnight_on_the_day(
    local: datetime, zone: str, window: tuple[str, str], quiet: bool
) -> None:
    """Quiet hours are local clock times: 29 February and 31 December to 1 January
    (Kiritimati, UTC+14, is in the new year while UTC is not) are ordinary nights."""
    start, end = window
    assert in_quiet_hours(QuietHours(start=start, end=end), zone, local) is quiet


@pytest.mark.parametrize("now", NOWS, ids=str)
def test_retention_cuts_at_exact_durations_across_the_day(tmp_path, now: datetime) -> None:
    """Items first seen before the cut go, items at it stay; tombstones live exactly
    TOMBSTONE_DAYS days (not "the same date next year", which 29 February lacks)."""
    store = Store.open(tmp_path / "state")
    items = Items(store)
    cut = now - timedelta(days=1)
    try:
        for key, seen in (("old", cut - timedelta(seconds=1)), ("kept", cut)):
            with store.transaction():
                it = Item(feed=FEED, id=key, title=key)
                items.insert(
                    FEED.url,
                    key,
                    it,
                    canonical_url=None,
                    content_hash="h",
                    fingerprint=None,
                    story_id=None,
                    now=seen,
                )
        lifetime = timedelta(days=TOMBSTONE_DAYS)
        with store.transaction():
            store.conn.executemany(
                "INSERT INTO tombstones VALUES (?, ?)",
                [(1, ts(now - lifetime - timedelta(seconds=1))), (2, ts(now - lifetime))],
            )
        counts = prune(store, cut, now)
        assert counts["items"] == 1 and counts["tombstones"] == 1
        assert set(items.known(FEED.url, ["old", "kept"])) == {"kept"}
        assert items.pruned(FEED.url, ["old"]) == {"old"}
        rows = store.conn.execute("SELECT key FROM tombstones WHERE key < 3").fetchall()
        assert [r[0] for r in rows] == [2]
        assert tombstone_key(FEED.url, "old") > 2
    finally:
        store.close()


@pytest.mark.parametrize("now", NOWS, ids=str)
def test_next_polls_shift_across_the_day(tmp_path, now: datetime) -> None:
    """A wall-clock jump moves stored next polls by exact seconds (SQLite's date math)."""
    store = Store.open(tmp_path / "state")
    try:
        store.record_poll_success(FEED.url, "f", now, now, None, None)
        store.shift_next_polls(86_400)
        assert store.feed(FEED.url).next_poll == now + timedelta(days=1)
        store.shift_next_polls(-2 * 86_400)
        assert store.feed(FEED.url).next_poll == now - timedelta(days=1)
    finally:
        store.close()
