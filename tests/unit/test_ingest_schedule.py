"""next_poll_delay and the HTTP caching headers it reads."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from monitor.errors import FetchError
from monitor.ingest.fetch import FetchResult, FetchStatusError
from monitor.ingest.schedule import (
    MAX_BACKOFF,
    adaptive_interval,
    cache_min_interval,
    next_poll_delay,
    parse_retry_after,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def ok(**kwargs) -> FetchResult:
    return FetchResult("http://x/", 200, b"", **kwargs)


def test_retry_after_seconds_and_dates():
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Fri, 27 Nov 2026 12:05:00 GMT", NOW) == 300
    assert parse_retry_after("Fri, 27 Nov 2026 11:00:00 GMT", NOW) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_cache_hints():
    assert cache_min_interval("public, max-age=600", None) == 600
    assert cache_min_interval('s-maxage=5, max-age="60"', None) == 60
    assert cache_min_interval("no-cache, max-age=600", None) is None
    assert cache_min_interval(None, "Fri, 27 Nov 2026 13:00:00 GMT", NOW) == 3600
    assert cache_min_interval(None, "0", NOW) is None


def test_healthy_feed_gets_jittered_interval():
    rng = random.Random(1)
    delays = [next_poll_delay(600, ok(), None, 0, rng) for _ in range(200)]
    assert all(540 <= d <= 660 for d in delays) and len(set(delays)) > 100
    long = [next_poll_delay(3600, ok(), None, 0, rng) for _ in range(50)]
    assert all(3540 <= d <= 3660 for d in long)  # jitter at most 60 s


def test_server_hints_are_floors():
    rng = random.Random(2)
    assert next_poll_delay(300, ok(min_interval_seconds=1800), None, 0, rng) == 1800
    assert next_poll_delay(300, ok(), 60, 0, rng) == 3600
    busy = FetchStatusError("http", "HTTP 429", 429, retry_after=900)
    assert next_poll_delay(300, busy, None, 1, rng) >= 900
    huge = ok(min_interval_seconds=10**9)
    assert next_poll_delay(300, huge, None, 0, rng) == 24 * 3600  # a server cannot mute us


def test_failing_feed_backs_off_exponentially_with_a_cap():
    rng = random.Random(3)
    error = FetchError("connect", "refused")
    for failures, ceiling in [(1, 300), (2, 600), (3, 1200), (5, 4800)]:
        delays = [next_poll_delay(300, error, None, failures, rng) for _ in range(100)]
        assert all(300 <= d <= ceiling for d in delays)
        assert max(delays) > (ceiling + 300) / 2 or failures == 1
    capped = [next_poll_delay(300, error, None, 40, rng) for _ in range(100)]
    assert max(capped) <= MAX_BACKOFF


def ago(*minutes: float) -> list[datetime]:
    return [NOW - timedelta(minutes=m) for m in minutes]


ADAPTIVE_CASES = [
    # (what, publish times, fallback seconds, expected seconds)
    ("no history: the configured interval", [], 600, 600),
    ("one entry: the configured interval", ago(5), 600, 600),
    ("configured interval still bounded", [], 5, 60),
    ("every 10 min for an hour", ago(0, 10, 20, 30, 40, 50, 60), 600, 600),
    ("hourly for a week", ago(*range(0, 7 * 24 * 60, 60)), 600, 3600),
    ("a burst: never below 1 min", ago(*[m / 10 for m in range(100)]), 600, 60),
    ("84 a week, a week old: 2 h", ago(*range(60, 8 * 24 * 60, 120)), 600, 7 * 86400 / 84),
    ("twice a week: capped at 24 h", ago(60, 3 * 24 * 60, 6 * 24 * 60), 600, 24 * 3600),
    ("silent for a week: 24 h", ago(8 * 24 * 60, 9 * 24 * 60), 600, 24 * 3600),
    ("older entries do not stretch the window", ago(0, 60, 120, 10 * 24 * 60), 600, 7 * 86400 / 3),
    ("future dates ignored", ago(-600, -30, 30, 90), 600, 90 * 60),
]


@pytest.mark.parametrize(
    ("times", "fallback", "expected"),
    [case[1:] for case in ADAPTIVE_CASES],
    ids=[case[0] for case in ADAPTIVE_CASES],
)
def test_adaptive_interval(times, fallback, expected):
    got = adaptive_interval(times, NOW, fallback)
    assert got == pytest.approx(min(max(expected, 60), 24 * 3600))


def test_adaptive_interval_bounds_are_configurable_and_order_free():
    hourly = ago(*range(0, 600, 60))
    assert adaptive_interval(hourly, NOW, 600, minimum=2 * 3600, maximum=12 * 3600) == 2 * 3600
    assert adaptive_interval(hourly, NOW, 600, minimum=600, maximum=120) == 600
    assert adaptive_interval(list(reversed(hourly)), NOW, 600) == adaptive_interval(
        hourly, NOW, 600
    )
