"""The two date forms nearly every feed writes, read at a fraction of the general cost.

RSS's ``pubDate`` (RFC 822 §5 as RFC 2822 §3.3 writes it: ``Wed, 29 Jun 2016 15:07:41
GMT``, ``+0200``) and Atom's ``updated`` (RFC 3339 §5.6: ``2016-06-29T15:07:41Z``,
``.5+02:00``) are most dates of real feeds. :mod:`monitor.ingest.dates` tries its
general forms in turn and builds a moment through a dict of named groups, 13–22 µs a
date (~7 % of a parse worker's first poll, issue #18). Here one anchored pattern per
form and the moment built directly: ~4–7 µs.

:func:`read_common` answers only when the text is in one of these plain shapes and
every value is in its plain range; it returns None for anything else (hour 24, a leap
second, an impossible day, a two-digit year, a zone name other than GMT/UT/UTC/Z),
and the general parsers decide. Month names and zones are read by the same tables
and rule as theirs (:data:`~monitor.ingest.datenames.MONTHS`,
:func:`~monitor.ingest.datezones.zone_minutes`). When it answers, its answer is theirs: a test holds
the two equal on generated dates (``tests/unit/test_ingest_datecommon.py``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from monitor.ingest.datenames import MONTHS
from monitor.ingest.datezones import zone_minutes

__all__ = ["read_common"]

_RFC822 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4})"
    r" (\d{2}):(\d{2})(?::(\d{2}))? (GMT|UTC|UT|Z|[+-]\d{4})",
    re.ASCII,
)
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:\d{2})",
    re.ASCII,
)


def read_common(text: str) -> datetime | None:
    """The UTC moment of ``text`` (whitespace already collapsed) when it is a plain
    RFC 822 or RFC 3339 date, as an aware datetime; None when it is not (the general
    parsers of :mod:`monitor.ingest.dates` then read it). No range check (the caller's).
    Never raises."""
    found = _RFC822.fullmatch(text)
    if found is not None:
        day, name, year, hour, minute, second, zone = found.groups()
        month = MONTHS.get(name.lower())
        if month is None:
            return None
        micro = 0
    else:
        found = _RFC3339.fullmatch(text)
        if found is None:
            return None
        year, month, day, hour, minute, second, fraction, zone = found.groups()
        micro = int(fraction.ljust(6, "0")) if fraction else 0
    try:
        local = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro
        )
        offset = zone_minutes(zone, local)
        if offset is None:
            return None
        moment = local.replace(tzinfo=UTC)
        return moment - timedelta(minutes=offset) if offset else moment
    except (ValueError, OverflowError):  # an impossible day or time: the general parsers'
        return None
