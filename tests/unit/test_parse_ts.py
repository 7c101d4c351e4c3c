"""store/codec.parse_ts reads stored timestamps by fromisoformat, and accepts and
rejects exactly what it did with strptime alone."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from monitor.store.codec import parse_ts, ts

ODD = [
    "2026-11-30T07:00:00Z",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2024-02-29T12:00:00Z",
    "2026-11-30t07:00:00z",  # strptime ignores case
    "2026-1-5T1:2:3Z",  # and reads one-digit fields
    "2026-11- 5T07:00:00Z",  # and a space-padded day
    "２０２６-11-30T07:00:00Z",  # and any Unicode digits
    "2026-11-30T07:00:00+00:00",
    "2026-11-30T07:00:00.5Z",
    "2026-11-30T07:00:00.000000Z",
    "2026-11-30T07:00Z",
    "2026-11-30",
    "2026-11-30 07:00:00Z",
    "20261130T070000Z",
    "2026-W48-1T07:00:00Z",
    "2026-11-30T07:00:00",
    "2026-11-30T07:00:00Z\n",
    " 2026-11-30T07:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2023-02-29T00:00:00Z",
    "2026-11-30T24:00:00Z",
    "2026-11-30T23:60:00Z",
    "2026-11-30T23:59:60Z",
    "2026-11-30T23:59:61Z",
    "0000-01-01T00:00:00Z",
    "+2026-11-30T07:00:00Z",
    "Z",
    "garbage",
]


def reference(text: str) -> datetime | type[Exception]:
    """What parse_ts returned before: strptime for every text."""
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return ValueError


def outcome(text: str) -> datetime | type[Exception]:
    try:
        return parse_ts(text)
    except ValueError:
        return ValueError


@pytest.mark.parametrize("text", ODD)
def test_accepts_and_rejects_what_strptime_did(text):
    got = outcome(text)
    assert got == reference(text)
    if isinstance(got, datetime):
        assert got.tzinfo is UTC


def test_every_stored_timestamp_reads_back_as_written():
    rng = random.Random(18)
    start = datetime(1000, 1, 1, tzinfo=UTC)  # strftime writes years before 1000 unpadded
    span = (datetime(9999, 12, 31, tzinfo=UTC) - start).total_seconds()
    moments = [start + timedelta(seconds=rng.randrange(int(span))) for _ in range(5_000)]
    for moment in moments:
        text = ts(moment)
        assert parse_ts(text) == moment == reference(text)
        assert parse_ts(text).tzinfo is UTC
    assert parse_ts(None) is None and parse_ts("") is None
