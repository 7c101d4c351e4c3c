"""Feed dates: read exactly, or None, never a different date (monitor/ingest/dates.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.ingest.dates import EARLIEST, parse_date
from monitor.ingest.parse import parse_feed

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SETTINGS = settings(max_examples=400, derandomize=True, deadline=None)


def iso(text: str, parsed: time.struct_time | None = None, now: datetime = NOW) -> str | None:
    moment = parse_date(text, parsed, now)
    if moment is None:
        return None
    assert moment.tzinfo is UTC
    return moment.isoformat().replace("+00:00", "Z")


def struct(*fields: int) -> time.struct_time:
    """A UTC struct_time as feedparser gives it (weekday and yearday as they come)."""
    padded = (*fields, *(0,) * (6 - len(fields)))
    return time.gmtime(datetime(*padded, tzinfo=UTC).timestamp())


TABLE = [
    # The bug this module exists for: feedparser 6 reads these as 2016-11-01.
    ("2016/6/29 15:07:41", "2016-06-29T15:07:41Z"),
    ("2016/06/29", "2016-06-29T00:00:00Z"),
    ("2016.06.29 15:07", "2016-06-29T15:07:00Z"),
    ("Fri, 2006/09/15 08:19:53 EDT", "2006-09-15T12:19:53Z"),
    # RFC 822 / 2822 (RSS pubDate), RFC 850.
    ("Wed, 29 Jun 2016 15:07:41 +0200", "2016-06-29T13:07:41Z"),
    ("Wed, 29 Jun 2016 15:07:41 -0000", "2016-06-29T15:07:41Z"),
    ("Wed, 29 Jun 2016 15:07:41 +0530", "2016-06-29T09:37:41Z"),
    ("29 Jun 2016 15:07 EDT", "2016-06-29T19:07:00Z"),
    ("Wed, 29 Jun 2016 15:07:41 GMT", "2016-06-29T15:07:41Z"),
    ("wed, 29 jun 2016 15:07:41 gmt", "2016-06-29T15:07:41Z"),
    ("Wed,  29 Jun 2016\t15:07:41  UT", "2016-06-29T15:07:41Z"),
    ("Wed, 29 Jun 16 15:07:41 GMT", "2016-06-29T15:07:41Z"),
    ("Wednesday, 29-Jun-16 15:07:41 GMT", "2016-06-29T15:07:41Z"),
    ("Thu, 31 Dec 98 23:00:00 GMT", "1998-12-31T23:00:00Z"),
    ("Wed, 29 Jun 2016 15:07:41 +0200 (CEST)", "2016-06-29T13:07:41Z"),
    ("Mi, 29 Jun 2016 15:07:41 +0200", "2016-06-29T13:07:41Z"),
    ("Tue, 29 Jun 2016 15:07:41 GMT", "2016-06-29T15:07:41Z"),  # wrong weekday: ignored
    # Named zones.
    ("Wed, 29 Jun 2016 15:07:41 PDT", "2016-06-29T22:07:41Z"),
    ("Tue, 29 Dec 2015 15:07:41 EST", "2015-12-29T20:07:41Z"),
    ("Wed, 29 Jun 2016 15:07:41 CST", "2016-06-29T21:07:41Z"),  # RFC 822: US Central
    ("Wed, 29 Jun 2016 15:07:41 CET", "2016-06-29T14:07:41Z"),
    ("Wed, 29 Jun 2016 15:07:41 CEST", "2016-06-29T13:07:41Z"),
    ("Wed, 29 Jun 2016 15:07:41 JST", "2016-06-29T06:07:41Z"),
    ("Wed, 29 Jun 2016 15:07:41 MSK", "2016-06-29T12:07:41Z"),
    ("Fri, 29 Jun 2012 15:07:41 MSK", "2012-06-29T11:07:41Z"),  # Moscow was +04 2011-2014
    ("Wed, 29 Jun 2016 15:07:41 AEST", "2016-06-29T05:07:41Z"),
    ("2016-06-29 15:07:41 UTC", "2016-06-29T15:07:41Z"),
    ("2016-06-29T15:07:41 GMT+2", "2016-06-29T13:07:41Z"),
    ("2016-06-29T15:07:41 UTC-03:30", "2016-06-29T18:37:41Z"),
    # Ambiguous or unknown zones: None, not a guess (feedparser reads IST/BST as UTC).
    ("Wed, 29 Jun 2016 15:07:41 IST", None),
    ("Wed, 29 Jun 2016 15:07:41 BST", None),
    ("Wed, 29 Jun 2016 15:07:41 AST", None),
    ("Wed, 29 Jun 2016 15:07:41 ET", None),
    ("Wed, 29 Jun 2016 15:07:41 A", None),  # military letters other than Z
    ("Wed, 29 Jun 2016 15:07:41 +1500", None),
    ("Wed, 29 Jun 2016 15:07:41 +0275", None),
    ("29.06.2016 15:07 Uhr", None),
    # ISO 8601 / W3C-DTF / RFC 3339 (Atom).
    ("2016-06-29T15:07:41Z", "2016-06-29T15:07:41Z"),
    ("2016-06-29t15:07:41z", "2016-06-29T15:07:41Z"),
    ("2016-06-29T15:07:41+02:00", "2016-06-29T13:07:41Z"),
    ("2016-06-29T15:07:41-0700", "2016-06-29T22:07:41Z"),
    ("2016-06-29T15:07:41+09", "2016-06-29T06:07:41Z"),
    ("2016-06-29T15:07:41.123456789Z", "2016-06-29T15:07:41.123456Z"),
    ("2016-06-29T15:07Z", "2016-06-29T15:07:00Z"),
    ("2016-06-29 15:07:41", "2016-06-29T15:07:41Z"),  # no zone: UTC
    ("2004-07-08 23:56:58.7", "2004-07-08T23:56:58.700000Z"),
    ("2016-06-29", "2016-06-29T00:00:00Z"),
    ("20160629T150741Z", "2016-06-29T15:07:41Z"),  # feedparser: 2016-06-29T00:00:00Z
    ("20160629", "2016-06-29T00:00:00Z"),
    ("2016-181", "2016-06-29T00:00:00Z"),  # feedparser: 2017-06-01
    ("2016-W26-3", "2016-06-29T00:00:00Z"),  # feedparser: 2016-11-01
    ("2016-06-29T23:59:60Z", "2016-06-29T23:59:59Z"),  # leap second
    ("2016-06-29T24:00:00Z", "2016-06-30T00:00:00Z"),  # ISO 8601 end of day
    ("2016", None),  # W3C-DTF reduced precision: not a day (feedparser: 2016-01-01)
    ("2016-06", None),
    ("2016-06-29T24:00:01Z", None),
    ("2016-06-29T15:60Z", None),
    ("2016-366", "2016-12-31T00:00:00Z"),
    ("2015-366", None),
    # Named months, asctime, JavaScript.
    ("June 29, 2016 15:07", "2016-06-29T15:07:00Z"),
    ("Jun 29 2016", "2016-06-29T00:00:00Z"),
    ("Sept. 29, 2016, 3:07 p.m. EDT", "2016-09-29T19:07:00Z"),
    ("June 29, 2016 at 3:07 PM PDT", "2016-06-29T22:07:00Z"),
    ("29 June 2016", "2016-06-29T00:00:00Z"),
    ("29th June, 2016", "2016-06-29T00:00:00Z"),
    ("29-Jun-2016 15:07:41 +0000", "2016-06-29T15:07:41Z"),
    ("Wed Jun 29 15:07:41 2016", "2016-06-29T15:07:41Z"),
    ("Wed Jun 29 15:07:41 CEST 2016", "2016-06-29T13:07:41Z"),
    ("Wed Jun 29 2016 15:07:41 GMT+0200 (Central European Summer Time)", "2016-06-29T13:07:41Z"),
    ("June 29, 2016 13:07 PM", None),
    ("June 29, 2016 0:07 AM", None),
    # Numeric day and month: only when the order is certain.
    ("06/29/2016 3:07 PM", "2016-06-29T15:07:00Z"),
    ("06/29/2016 12:07 AM", "2016-06-29T00:07:00Z"),
    ("06/29/2016 12:07 PM", "2016-06-29T12:07:00Z"),
    ("29/06/2016", "2016-06-29T00:00:00Z"),
    ("29.06.2016 15:07", "2016-06-29T15:07:00Z"),
    ("29-06-2016", "2016-06-29T00:00:00Z"),
    ("05/05/2016", "2016-05-05T00:00:00Z"),
    ("05/06/2016", None),  # May 6 in the US, 5 June elsewhere
    ("06.05.2016 10:00", None),
    ("13/13/2016", None),
    # Invalid days, leap days.
    ("2016-02-30", None),  # feedparser: 2016-03-01
    ("Thu, 29 Feb 2024 12:00:00 GMT", "2024-02-29T12:00:00Z"),
    ("2024-02-29T12:00:00Z", "2024-02-29T12:00:00Z"),
    ("2023-02-29T12:00:00Z", None),
    ("02/29/2023", None),
    # Out of range: before 1990, after now + 2 days, overflowing.
    ("Thu, 01 Jan 1970 00:00:00 GMT", None),
    ("1989-12-31T23:59:59Z", None),
    ("1990-01-01T00:00:00Z", "1990-01-01T00:00:00Z"),
    ("1990-01-01T00:30:00+01:00", None),
    ("2026-11-29T12:00:00Z", "2026-11-29T12:00:00Z"),
    ("2026-11-29T12:00:01Z", None),
    ("2027-01-01T00:00:00Z", None),
    ("9999-12-31T23:00:00-05:00", None),
    ("0001-01-01T00:00:00+01:00", None),
    ("0000-01-01", None),
    # Garbage.
    ("", None),
    ("   ", None),
    ("garbage", None),
    ("yesterday-ish", None),
    ("1467212861", None),
    ("2016-06-29T15:07:41Z and then some", None),
    ("2016-06-29" + " " * 200 + "15:07", "2016-06-29T15:07:00Z"),  # whitespace collapsed
    ("2016-06-29T15:07:41Z" + "0" * 200, None),
]


@pytest.mark.parametrize(("text", "expected"), TABLE, ids=[t[:40] for t, _ in TABLE])
def test_table_of_real_world_dates(text, expected):
    assert iso(text) == expected


def test_table_is_large_and_covers_both_outcomes():
    assert len(TABLE) >= 30
    assert sum(e is None for _, e in TABLE) >= 20 and sum(e is not None for _, e in TABLE) >= 20


def rss_entry(pub_date: str):
    """The entry as our parse gives it to normalization (feedparser set up as ours)."""
    body = (
        "<rss version='2.0'><channel><title>t</title><item><title>x</title>"
        f"<pubDate>{pub_date}</pubDate></item></channel></rss>"
    ).encode()
    return parse_feed(body, "https://example.com/feed").entries[0]


@pytest.mark.parametrize(
    ("pub_date", "expected"),
    [
        # feedparser 6.0.x gives 2016-11-01T00:00:00Z for the first two.
        ("2016/6/29 15:07:41", "2016-06-29T15:07:41Z"),
        ("2016-W26-3", "2016-06-29T00:00:00Z"),
        # feedparser reads the zone as UTC.
        ("Wed, 29 Jun 2016 15:07:41 CEST", "2016-06-29T13:07:41Z"),
        ("Wed, 29 Jun 2016 15:07:41 IST", None),
        # Zones feedparser drops, reading the time as UTC (time trial): no date.
        ("Wed, 29 Jun 2016 15:07:41 EST5EDT", None),
        ("Wed, 29 Jun 2016 15:07:41 Europe/Berlin", None),
        ("Wed, 29 Jun 2016 15:07:41 Eastern Standard Time", None),
        ("Wed, 29 Jun 2016 15:07:41 KST-9", None),
        ("Wed, 29 Jun 2016 15:07:41 Pacific", None),
        ("Wed, 29 Jun 2016 15:07:41 (UTC)", "2016-06-29T15:07:41Z"),  # a comment only
        # A numeric offset decides, whatever follows it (review of the above).
        ("Wed, 29 Jun 2016 15:07:41 -0500 EST", "2016-06-29T20:07:41Z"),
        ("Wed, 29 Jun 2016 15:07:41 +0100 CET", "2016-06-29T14:07:41Z"),
        ("Wed, 29 Jun 2016 15:07:41 +0000 UTC", "2016-06-29T15:07:41Z"),
        ("2016-06-29T15:07:41+01:00[Europe/Paris]", "2016-06-29T14:07:41Z"),
        ("2016-06-29 15:07:41 -0500 -0500", "2016-06-29T20:07:41Z"),
        # Not ours to read; feedparser's reading agrees with the text (Greek months).
        ("Κυρ, 11 Ιούλ 2004 12:00:00 EST", "2004-07-11T17:00:00Z"),
        # Not ours to read; feedparser's readings do not agree (2004-11-01; time dropped).
        ("2004년 05월 28일  01:31:15", None),
        ("2004-07-08 오후 1:31:15", None),
        ("2004-július-13T9:15-05:00", None),
    ],
)
def test_feedparser_entries_end_to_end(pub_date, expected):
    assert iso(*rss_entry(pub_date)["published"]) == expected


def test_feedparser_reading_is_used_only_when_consistent_with_the_text():
    text = "29 Jun 2016 15h07"  # not a form of ours
    assert iso(text) is None
    assert iso(text, struct(2016, 6, 29, 15, 7)) == "2016-06-29T15:07:00Z"
    assert iso(text, struct(2016, 11, 1)) is None  # month and day not in the text
    assert iso(text, struct(2016, 6, 30, 15, 7)) is None  # day
    assert iso(text, struct(2015, 6, 29, 15, 7)) is None  # year
    assert iso(text, struct(2016, 7, 29, 15, 7)) is None  # month (Jun is 6)
    other = "29 Jun 2016 - 15:07"  # not ours either; the time's digits do not count
    assert iso(other, struct(2016, 6, 29, 15, 7)) == "2016-06-29T15:07:00Z"
    assert iso(other, struct(2016, 6, 7, 15, 7)) is None
    assert iso(other, struct(2016, 6, 15, 15, 7)) is None
    numeric = "29 6 2016 15h07"
    assert iso(numeric, struct(2016, 6, 29, 15, 7)) == "2016-06-29T15:07:00Z"
    assert iso("29 juin 2016 15h07", struct(2016, 6, 29, 15, 7)) is None  # month not read
    assert iso("2016 6 29 at 15:07 local", struct(2016, 6, 29)) is None  # time dropped


def test_our_reading_wins_and_a_refusal_is_final():
    wrong = struct(2016, 11, 1)
    assert iso("2016/6/29 15:07:41", wrong) == "2016-06-29T15:07:41Z"
    # Recognised but ambiguous: feedparser's (consistent-looking) guess is not taken.
    assert iso("Wed, 29 Jun 2016 15:07:41 IST", struct(2016, 6, 29, 15, 7, 41)) is None
    assert iso("05/06/2016", struct(2016, 5, 6)) is None
    assert iso("2016-06", struct(2016, 6, 1)) is None
    assert iso("2016-01", struct(2016, 1, 1)) is None  # consistent-looking, but not a day
    assert iso("2016-02-30", struct(2016, 3, 1)) is None


def test_feedparser_value_needs_text_and_sane_shape():
    assert parse_date(None, struct(2016, 6, 29), NOW) is None
    text = "29 Jun 2016 15h07"
    for bad in [
        (),
        (2016, 6),
        (2016, 13, 29, 0, 0, 0),
        (2016, 6, 29, 25, 0, 0),
        "2016-06-29",
        (10**30, 6, 29, 0, 0, 0),
        (2016.0, float("nan"), 29, 0, 0, 0),
        {0: 2016},
        7,
    ]:
        assert parse_date(text, bad, NOW) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "leap_now", [datetime(2028, 2, 29, tzinfo=UTC), datetime(2024, 2, 29, tzinfo=UTC)]
)
def test_leap_day_now(leap_now):
    # now.replace(year=now.year + 1) raises on 29 February; the bounds must not.
    limit = leap_now + timedelta(days=2)
    assert iso(limit.isoformat(), None, leap_now) == limit.isoformat().replace("+00:00", "Z")
    assert iso((limit + timedelta(seconds=1)).isoformat(), None, leap_now) is None
    assert iso(leap_now.strftime("%a, %d %b %Y 12:00:00 GMT"), None, leap_now) == (
        leap_now.replace(hour=12).isoformat().replace("+00:00", "Z")
    )
    assert iso(f"{leap_now.year + 1}-02-28", None, leap_now) is None


def test_now_near_the_end_of_time_and_naive_now():
    end = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    assert iso("9999-12-31T22:00:00Z", None, end) == "9999-12-31T22:00:00Z"
    naive = datetime(2026, 11, 27, 12, 0)
    assert iso("2026-11-27T00:00:00Z", None, naive) == "2026-11-27T00:00:00Z"


TOKENS = [*"0123456789 -/:.,+()TtZzWw", "Jun", "June", "Wed, ", "AM", "pm", "GMT", "EST"]
TOKENS += ["IST", "MSK", "UTC", "at", "th", "\u00a0", "년", "2016", "-05:00", "+0200"]
DATEISH = st.lists(st.sampled_from(TOKENS), max_size=20).map("".join)
ANY_PARSED = st.one_of(
    st.none(),
    st.tuples(*[st.integers()] * 9),
    st.tuples(*[st.integers(-3, 10_000)] * 9),
    st.lists(st.one_of(st.integers(), st.floats(), st.text(max_size=3)), max_size=10),
    st.text(max_size=10),
    st.datetimes(min_value=datetime(1, 1, 1)).map(lambda d: d.timetuple()),
)
ANY_NOW = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)


@SETTINGS
@given(text=st.one_of(st.none(), st.text(max_size=120), DATEISH), parsed=ANY_PARSED, now=ANY_NOW)
def test_never_raises_and_stays_in_bounds(text, parsed, now):
    moment = parse_date(text, parsed, now)
    if moment is not None:
        assert moment.tzinfo is UTC
        assert moment >= EARLIEST
        assert moment - timedelta(days=2) <= now


OFFSETS = st.integers(-12 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
MOMENTS = st.datetimes(min_value=datetime(1990, 1, 2), max_value=datetime(2026, 11, 26))


@SETTINGS
@given(moment=MOMENTS, zone=OFFSETS)
def test_rfc2822_and_rfc3339_round_trip_exactly(moment, zone):
    aware = moment.replace(tzinfo=UTC).astimezone(zone)
    assert parse_date(aware.isoformat(), None, NOW) == aware
    whole = aware.replace(microsecond=0)
    assert parse_date(format_datetime(whole), None, NOW) == whole
    assert parse_date(whole.strftime("%Y/%m/%d %H:%M:%S%z"), None, NOW) == whole
