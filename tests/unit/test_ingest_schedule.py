"""next_poll_delay and the HTTP caching headers it reads."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from monitor.errors import FetchError
from monitor.ingest.fetch import FetchResult, FetchStatusError
from monitor.ingest.schedule import (
    MAX_BACKOFF,
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
