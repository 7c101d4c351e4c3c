"""Feed dates read exactly, or not at all.

The rule: **a date we cannot read exactly is None, never a different date.** An item
without a date is dated by when we first saw it, which is close to the truth; an item
with a wrong date (feedparser 6 turns ``2016/6/29 15:07:41`` into 2016-11-01, and reads
``CEST`` or ``IST`` as UTC) is sorted, folded and digested wrongly.

So :func:`parse_date` reads the text the feed wrote with strict parsers of its own,
and uses feedparser's ``*_parsed`` value only for text none of them recognises, and only
when that value agrees with the text. Read here (case-insensitive, whitespace collapsed,
an English weekday or any ``Word,`` in front ignored, the weekday never checked):

- RFC 822 §5 / RFC 2822 §3.3 (RSS ``pubDate``): ``Wed, 29 Jun 2016 15:07:41 +0200``,
  seconds optional, two-digit years as RFC 2822 §4.3 says (00-49 → 20xx, 50-99 → 19xx),
  also RFC 850 ``Wednesday, 29-Jun-16 15:07:41 GMT``, a ``(comment)`` after the zone.
- ISO 8601 / W3C-DTF / RFC 3339 (Atom): ``2016-06-29T15:07:41.5+02:00``, ``T`` or a space,
  zone ``Z``, ``±hh:mm``, ``±hhmm`` or ``±hh``; the basic form ``20160629T150741Z``; the
  ordinal ``2016-181`` and week ``2016-W26-3`` dates. W3C-DTF's reduced precision
  (``2016``, ``2016-06``) is not a day: None.
- Year first with slashes or dots: ``2016/6/29 15:07:41``, ``2016/06/29``, ``2016.06.29``.
- Named months: ``June 29, 2016 15:07``, ``29 June 2016``, ``29th Jun 2016``, asctime and
  ``date`` output ``Wed Jun 29 15:07:41 [UTC] 2016``, JavaScript's ``Wed Jun 29 2016
  15:07:41 GMT+0200 (CEST)``. English month names only.
- Numeric day and month with ``/``, ``.`` or ``-`` and a four-digit year, only when the
  order is certain: ``06/29/2016`` (29 cannot be a month), ``29/06/2016``, ``05/05/2016``;
  ``05/06/2016`` is May 6 in the US and 5 June elsewhere, so None.
- 12-hour clocks: ``3:07 PM``, ``3:07 p.m.`` (hour 1-12 only); ``at`` before the time.

Zones: no zone means UTC (a feed that omits it is usually UTC, and there is nothing
better to guess). Numeric offsets up to ±14:00; ``-0000`` is UTC (RFC 2822 §3.3);
``GMT+2``/``UTC+02:00`` as written (the human, not the POSIX, sign). Names: the RFC 822
set (UT, GMT, Z, EST/EDT, CST/CDT, MST/MDT, PST/PDT — CST is US Central as RFC 822
defines it, not China) and the unambiguous names in
:data:`monitor.ingest.datenames.ZONES` (CET, CEST, EET, JST, MSK, AEST, ...). Any other
name is refused, so the date is None: ambiguous ones (IST is India, Ireland or Israel;
BST British Summer or Bangladesh; AST Atlantic or Arabia),
generic ones (ET, PT) and the military letters other than Z (RFC 822 printed their signs
backwards; RFC 2822 §4.3 says they carry no information).

Results are aware UTC datetimes within [1990-01-01, now + 2 days]; anything else is None.
Leap seconds (``:60``) read as ``:59``, ISO 8601's ``24:00`` as the next day's 00:00;
fractions of a second are kept to the microsecond. The two commonest forms (plain
RFC 822 and RFC 3339) are read first by :mod:`monitor.ingest.datecommon`: the same
answers, about a fifth of the cost. A text none of ours recognises gets feedparser's
reading, checked against it (:mod:`monitor.ingest.datecheck`).
Pure functions of their arguments: no I/O, no clock, no locale; stdlib only (``re``,
``datetime``), and feedparser's date handlers for a text none of ours recognises when
the caller passes a :class:`DeferredDate` for its reading. ``email.utils`` is not used:
it reads unknown zone names as "no zone" and AST as Atlantic, which is a guess.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final

from monitor.ingest.datecommon import read_common
from monitor.ingest.datenames import MONTHS
from monitor.ingest.datezones import FLAGS, NUMERIC_ZONE, zone_minutes

EARLIEST: Final = datetime(1990, 1, 1, tzinfo=UTC)
"""Dates before this are feed bugs (epoch zero, year 1, two-digit years gone wrong)."""
MAX_AHEAD: Final = timedelta(days=2)
"""Dates later than ``now + MAX_AHEAD`` are feed bugs (clock or zone errors, embargo dates)."""


@dataclass(frozen=True)
class DeferredDate:
    """In place of feedparser's reading of a date (its ``*_parsed`` value): the text it
    was given, which it did not read while parsing (issue #18,
    :mod:`monitor.ingest.feedsetup`); :func:`parse_date` has it read only when needed.
    The text is the one feedparser would have read, which is not always the entry's
    date text: with the same element twice at different depths, feedparser keeps the
    shallower one's text and the last one's reading."""

    text: str


MAX_TEXT: Final = 100
"""Longer date text is not a date (the longest real one is about 60 characters)."""

_REFUSED: Final = object()
"""A form we recognise, written so that no single exact date follows: None, no fallback."""

_WEEKDAY = re.compile(
    r"""^(?: (?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)
             (?:day|sday|nesday|rsday|urday)?\.?,?\s
           | [^\W\d_]+\.?,\s? )""",
    re.IGNORECASE | re.VERBOSE,
)
_TIME = r"""(?P<hour>\d{1,2}):(?P<minute>\d{2})
            (?::(?P<second>\d{2})(?:[.,](?P<frac>\d+))?)?
            (?:\s?(?P<ampm>[ap])\.?m\.?)?"""
_ZONE = rf"""(?P<zone>{NUMERIC_ZONE} | [A-Z]{{1,5}})
            (?:\s?\([^()]{{0,60}}\))?"""
_REST = rf"""(?:(?:\s?T\s?|,?\s(?:at\s)?){_TIME})?(?:\s?{_ZONE})?$"""
_YEAR_TOO_SHORT = re.compile(r"^\d{4}(?:-\d{1,2})?$")

_FORMS: Final = tuple(
    (kind, re.compile(pattern, FLAGS))
    for kind, pattern in (
        ("ymd", r"^(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})" + _REST),
        (
            "ymd",
            r"""^(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})
                (?:T(?P<hour>\d{2})(?P<minute>\d{2})(?:(?P<second>\d{2})(?:[.,](?P<frac>\d+))?)?)?
                (?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?$""",
        ),
        ("ordinal", r"^(?P<year>\d{4})-(?P<yday>\d{3})" + _REST),
        ("week", r"^(?P<year>\d{4})-?W(?P<week>\d{2})-?(?P<wday>[1-7])" + _REST),
        ("ymd", r"^(?P<year>\d{4})(?P<sep>[/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})" + _REST),
        ("numeric", r"^(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<year>\d{4})" + _REST),
        (
            "named",
            r"""^(?P<day>\d{1,2})(?:st|nd|rd|th)?[\s-](?P<mon>[A-Z]{3,9})\.?,?[\s-]
                (?P<year>\d{4}|\d{2})"""
            + _REST,
        ),
        (
            "named",
            r"^(?P<mon>[A-Z]{3,9})\.?\s(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s(?P<year>\d{4})" + _REST,
        ),
        (
            "named",
            rf"^(?P<mon>[A-Z]{{3,9}})\s(?P<day>\d{{1,2}})\s{_TIME}(?:\s{_ZONE})?\s(?P<year>\d{{4}})$",
        ),
    )
)


def parse_date(
    text: str | None, parsed: time.struct_time | DeferredDate | None, now: datetime
) -> datetime | None:
    """The moment a feed's date string names, as an aware UTC datetime, or None.

    ``text`` is the date as the feed wrote it (feedparser's ``entry["published"]``,
    ``"updated"`` or ``"created"``); ``parsed`` is feedparser's reading of it (its
    ``*_parsed`` value: a UTC struct_time, possibly wrong, possibly None; or a
    :class:`DeferredDate`, read when needed); ``now`` is
    the current time, aware (naive is taken as UTC).

    The text is read by this module's strict parsers (see the module docstring for the
    forms; a missing zone means UTC). If none recognises it, ``parsed`` is used when
    its year, month and day all appear in the text
    (:func:`monitor.ingest.datecheck.read_feedparser`), and
    is otherwise ignored. A recognised but unreadable text (an ambiguous day/month
    order or zone name, an invalid day, a year or month without a day) is None without
    looking at ``parsed``.

    Returns None for no date, for any doubt, and for moments before 1990-01-01 UTC or
    after ``now`` + 2 days. Never raises for any ``text`` or ``parsed``.
    """
    if not isinstance(text, str):
        return None
    cleaned = " ".join(text.split())
    if not cleaned or len(cleaned) > MAX_TEXT:
        return None
    moment = read_common(cleaned) or _read_text(cleaned)
    if moment is _REFUSED:
        return None
    if moment is None:  # no form of ours: feedparser's reading, if the text agrees
        from monitor.ingest.datecheck import feedparser_date, read_feedparser

        if isinstance(parsed, DeferredDate):
            parsed = feedparser_date(parsed.text)
        moment = read_feedparser(parsed, cleaned)
    if not isinstance(moment, datetime):
        return None
    return moment if EARLIEST <= moment <= _latest(now) else None


def _latest(now: datetime) -> datetime:
    """now + MAX_AHEAD, aware; saturates instead of overflowing near datetime.max."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    try:
        return now + MAX_AHEAD
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def _read_text(text: str) -> datetime | object | None:
    """Our reading of ``text``: a UTC datetime, _REFUSED, or None (form not recognised)."""
    text = _WEEKDAY.sub("", text, count=1)
    if _YEAR_TOO_SHORT.match(text):
        return _REFUSED  # W3C-DTF "2016" or "2016-06": not a day
    for kind, pattern in _FORMS:
        match = pattern.match(text)
        if match is None:
            continue
        try:
            return _build(kind, match)
        except (ValueError, OverflowError):
            return _REFUSED  # e.g. 2016-02-30, hour 25, year 9999 at -05:00
    return None


def _build(kind: str, match: re.Match[str]) -> datetime | object | None:
    """The UTC moment of one matched form; ValueError/OverflowError when invalid."""
    g = match.groupdict()
    year = int(g["year"])
    if kind == "ordinal":
        day = date(year, 1, 1) + timedelta(days=int(g["yday"]) - 1)
        if day.year != year or int(g["yday"]) < 1:
            raise ValueError("day of year out of range")
    elif kind == "week":
        day = date.fromisocalendar(year, int(g["week"]), int(g["wday"]))
    elif kind == "numeric":
        first, second = int(g["a"]), int(g["b"])
        if first > 12 >= second:
            day = date(year, second, first)  # 29/06/2016
        elif second > 12 >= first or first == second:
            day = date(year, first, second)  # 06/29/2016, 05/05/2016
        else:
            return _REFUSED  # 05/06/2016: May 6 or 5 June
    else:
        if kind == "named":
            month = MONTHS.get(g["mon"].lower())
            if month is None:
                return None  # not an English month: let the feedparser check decide
            if len(g["year"]) == 2:
                year += 2000 if year < 50 else 1900  # RFC 2822 §4.3
        else:
            month = int(g["month"])
        day = date(year, month, int(g["day"]))
    hour, minute, second, micro = _clock(g)
    local = datetime(day.year, day.month, day.day) + timedelta(
        hours=hour, minutes=minute, seconds=second, microseconds=micro
    )
    offset = zone_minutes(g.get("zone"), local)
    if offset is None:
        return _REFUSED
    return local.replace(tzinfo=timezone(timedelta(minutes=offset))).astimezone(UTC)


def _clock(g: dict[str, str | None]) -> tuple[int, int, int, int]:
    """(hour, minute, second, microsecond) of the matched time; midnight when absent.

    Raises ValueError for an impossible time. Hour 24 is only 24:00:00 (ISO 8601's end
    of day); a leap second ``:60`` reads as ``:59``.
    """
    if g.get("hour") is None:
        return 0, 0, 0, 0
    hour, minute = int(g["hour"] or 0), int(g["minute"] or 0)
    second = min(int(g.get("second") or 0), 59)  # a leap second :60 reads as :59
    micro = int((g.get("frac") or "0")[:6].ljust(6, "0"))
    ampm = (g.get("ampm") or "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError("12-hour clock hour out of range")
        hour = hour % 12 + (12 if ampm == "p" else 0)
    if hour == 24 and minute == second == micro == 0:
        return 24, 0, 0, 0  # ISO 8601 end of day: the next day's 00:00
    if hour > 23 or minute > 59 or int(g.get("second") or 0) > 60:
        raise ValueError("time out of range")
    return hour, minute, second, micro
