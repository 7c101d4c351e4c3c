"""Polite polling: when a feed may be fetched again.

Pure functions only: the pipeline passes the last fetch's result (or error), the
feed's ``<ttl>`` and its failure count, and gets a delay in seconds. The rules:

- a healthy feed is polled every ``base_interval`` with ±``jitter`` (10 %, at most
  60 s) so thousands of feeds do not poll in lockstep;
- never earlier than the server allows: ``Retry-After`` (429/503), ``Cache-Control:
  max-age`` / ``Expires`` (capped by :data:`MAX_SERVER_HINT`, so a server cannot
  silence a feed for a year), RSS ``<ttl>``;
- a failing feed backs off exponentially from ``base_interval`` up to
  :data:`MAX_BACKOFF`, with full jitter on the added part;
- an ``adaptive`` feed's ``base_interval`` is :func:`adaptive_interval`: the mean
  gap between its entries over the last week, bounded to [1 min, 24 h].
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

MAX_BACKOFF = 24 * 3600.0
MAX_SERVER_HINT = 24 * 3600.0
JITTER = 0.10
MAX_JITTER = 60.0
ADAPTIVE_MIN = 60.0
ADAPTIVE_MAX = 24 * 3600.0
ADAPTIVE_WINDOW = timedelta(days=7)
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    return _seconds_until(value, now)


def cache_min_interval(
    cache_control: str | None, expires: str | None, now: datetime | None = None
) -> float | None:
    """How long the answer may be cached (``max-age``, else ``Expires``), in seconds."""
    if cache_control:
        if re.search(r"no-cache|no-store", cache_control, re.IGNORECASE):
            return None
        found = _MAX_AGE.search(cache_control)
        if found:
            return float(found.group(1))
    if expires:
        return _seconds_until(expires, now)
    return None


def _seconds_until(http_date: str, now: datetime | None) -> float | None:
    try:
        moment = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def next_poll_delay(
    base_interval: float,
    result_or_error: object | None,
    feed_ttl_minutes: int | None,
    consecutive_failures: int,
    rng: random.Random,
) -> float:
    """Seconds until the next poll of a feed.

    ``result_or_error`` is the last :class:`~monitor.ingest.fetch.FetchResult` or
    the :class:`~monitor.errors.FetchError`/ParseError it raised (its
    ``retry_after`` and ``min_interval_seconds`` attributes are read when present);
    ``consecutive_failures`` counts failures including this one (0 when healthy).
    """
    base = max(1.0, float(base_interval))
    if consecutive_failures > 0:
        ceiling = min(MAX_BACKOFF, base * 2 ** min(consecutive_failures - 1, 30))
        delay = base + rng.uniform(0, max(0.0, ceiling - base))
    else:
        spread = min(base * JITTER, MAX_JITTER)
        delay = base + rng.uniform(-spread, spread)
    floors = [
        _capped(getattr(result_or_error, "retry_after", None)),
        _capped(getattr(result_or_error, "min_interval_seconds", None)),
        _capped(feed_ttl_minutes * 60.0 if feed_ttl_minutes else None),
    ]
    for floor in floors:
        if floor is not None and floor > delay:
            delay = float(floor)
    return delay


def _capped(seconds: float | None) -> float | None:
    return None if seconds is None else min(float(seconds), MAX_SERVER_HINT)


def adaptive_interval(
    published: Iterable[datetime],
    now: datetime,
    fallback: float,
    *,
    minimum: float = ADAPTIVE_MIN,
    maximum: float = ADAPTIVE_MAX,
    window: timedelta = ADAPTIVE_WINDOW,
) -> float:
    """Seconds between polls that fit how often a feed publishes, within [minimum, maximum].

    ``published`` holds when the feed's recent entries appeared (their dates, or when
    we first saw them). The interval is the mean gap between entries over the last
    ``window`` (the mean gap between its entries when its history is shorter): a feed
    that published 84 entries in the last week is polled every 2 hours. With fewer than two
    past entries there is nothing to go by and ``fallback`` (the configured interval)
    is used; a feed silent for the whole window is polled at ``maximum``. Dates in
    the future are ignored.
    """
    times = sorted(t for t in published if t <= now)
    low, high = min(minimum, maximum), max(minimum, maximum)
    if len(times) < 2:
        return min(max(float(fallback), low), high)
    start = now - window
    recent = [t for t in times if t >= start]
    if not recent:
        return high
    if times[0] < start:  # a week of history: the rate over the week
        gap = window.total_seconds() / len(recent)
    else:  # a younger feed: the mean gap between its entries so far
        gap = (now - times[0]).total_seconds() / (len(times) - 1)
    return min(max(gap, low), high)
