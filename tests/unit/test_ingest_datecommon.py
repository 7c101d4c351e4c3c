"""The plain RFC 822 and RFC 3339 reader gives the general parsers' answer or none
(monitor/ingest/datecommon.py against monitor/ingest/dates.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.ingest import dates
from monitor.ingest.datecommon import read_common

SETTINGS = settings(max_examples=1500, derandomize=True, deadline=None)
WEEKDAYS = ["", "Mon, ", "Wed, ", "Sun, ", "wed, ", "Wednesday, ", "Foo, ", "Wed "]
NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
MONTHS = [*NAMES, "jun", "JUN", "June", "Sept", "Foo"]
ZONES_822 = ["GMT", "UT", "UTC", "Z", "+0000", "-0000", "+0200", "-0530", "+1400", "-1401"]
ZONES_822 += ["+0060", "+2400", "EST", "CEST", "IST", "gmt", "+02:00", "+02"]
ZONES_3339 = ["Z", "+00:00", "-00:00", "+05:45", "-14:00", "+14:01", "+02:60", "z", "+0200"]


def general(text: str) -> datetime | None:
    """What dates.py's general parsers read (None for a refusal or no form)."""
    moment = dates._read_text(text)
    return moment if isinstance(moment, datetime) else None


def agrees(text: str) -> datetime | None:
    fast = read_common(text)
    if fast is not None:
        assert fast == general(text), text
        assert fast.tzinfo is UTC and fast.utcoffset().total_seconds() == 0
    return fast


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wed, 29 Jun 2016 15:07:41 GMT", "2016-06-29T15:07:41+00:00"),
        ("29 Jun 2016 15:07 +0200", "2016-06-29T13:07:00+00:00"),
        ("Sun, 01 Jan 2017 00:30:00 -0530", "2017-01-01T06:00:00+00:00"),
        ("2016-06-29T15:07:41Z", "2016-06-29T15:07:41+00:00"),
        ("2016-06-29T15:07:41.5+02:00", "2016-06-29T13:07:41.500000+00:00"),
        ("2016-12-31T23:30:00-01:00", "2017-01-01T00:30:00+00:00"),
    ],
)
def test_the_common_forms_are_read_here(text: str, expected: str) -> None:
    """The shapes most feeds write are answered here (not left to the general
    parsers), with the general parsers' answer."""
    assert agrees(text).isoformat() == expected


@pytest.mark.parametrize(
    "text",
    [
        "Wed, 29 Jun 2016 24:00:00 GMT",  # ISO 8601's end of day: the next day
        "2016-06-30T23:59:60Z",  # a leap second reads as :59
        "Wed, 31 Jun 2016 10:00:00 GMT",  # no such day: refused
        "Wed, 29 Jun 16 15:07:41 GMT",  # two-digit year (RFC 2822 §4.3)
        "Wed, 29 Jun 2016 15:07:41 CEST",  # a zone name: the table's
        "29 June 2016 15:07 +0200",
        "2016-06-29T15:07:41.1234567Z",
        "2016-06-29 15:07:41Z",
        "2016-06-29T15:07:41+02:60",
    ],
)
def test_anything_else_is_left_to_the_general_parsers(text: str) -> None:
    assert read_common(text) is None


@SETTINGS
@given(
    st.sampled_from(WEEKDAYS),
    st.integers(0, 32),
    st.sampled_from(MONTHS),
    st.integers(1, 9999),
    st.integers(0, 25),
    st.integers(0, 61),
    st.one_of(st.none(), st.integers(0, 61)),
    st.sampled_from(ZONES_822),
    st.booleans(),
)
def test_rfc822_shapes_agree(
    weekday: str,
    day: int,
    month: str,
    year: int,
    hour: int,
    minute: int,
    second: int | None,
    zone: str,
    padded: bool,
) -> None:
    """Every generated RFC 822 shape, valid or not: this module's answer is the
    general parsers' or it gives none."""
    clock = f"{hour:02d}:{minute:02d}" + ("" if second is None else f":{second:02d}")
    text = f"{weekday}{day:02d}" if padded else f"{weekday}{day}"
    agrees(f"{text} {month} {year:04d} {clock} {zone}")


@SETTINGS
@given(
    st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
    st.one_of(st.none(), st.text("0123456789", min_size=1, max_size=8)),
    st.sampled_from(ZONES_3339),
)
def test_rfc3339_shapes_agree(
    year: int,
    month: int,
    day: int,
    hour: int,
    minute: int,
    second: int,
    fraction: str | None,
    zone: str,
) -> None:
    """Every generated RFC 3339 shape, valid or not, as above."""
    tail = "" if fraction is None else f".{fraction}"
    agrees(f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{tail}{zone}")


@pytest.mark.parametrize("month", range(1, 13))
def test_every_month_name_is_its_month(month: int) -> None:
    """Each English month name, on the last day of its month: answered here, as the
    general parsers read it."""
    last = (datetime(2016 + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    moment = agrees(f"Mon, {last:02d} {NAMES[month - 1]} 2016 23:59:59 -0100")
    assert moment is not None
    assert (moment - timedelta(hours=1)).date() == date(2016, month, last)


@SETTINGS
@given(
    st.sampled_from(["", "Mon, ", "Fri, ", "Sun, "]),
    st.dates(date(1990, 1, 1), date(2100, 12, 31)),
    st.times(),
    st.sampled_from(["GMT", "UT", "UTC", "Z", "+0000", "-0000", "+0530", "-1400", "+1345"]),
    st.booleans(),
)
def test_valid_dates_are_answered_here(
    weekday: str, day: date, clock: time, zone: str, iso: bool
) -> None:
    """Valid dates in the plain shapes: always answered here, as the general parsers
    read them."""
    if iso:
        offset = "Z" if zone in ("GMT", "UT", "UTC", "Z") else f"{zone[:3]}:{zone[3:]}"
        text = f"{day.isoformat()}T{clock.isoformat()}{offset}"
    else:
        name = NAMES[day.month - 1]
        text = f"{weekday}{day.day:02d} {name} {day.year} {clock:%H:%M:%S} {zone}"
    assert agrees(text) is not None, text
