"""feedparser's reading of a date, taken only when it agrees with the text.

:mod:`monitor.ingest.dates` reads dates with strict parsers of its own; for a text
none of them recognises, it asks feedparser's many loose handlers (Korean, Greek,
Hungarian, asctime variants …) and keeps their answer only when the day it names
appears in the text and no zone was dropped (:func:`read_feedparser`): feedparser 6
reads ``2016/6/29`` as 2016-11-01 and an unknown zone name as UTC, and the rule of
:mod:`monitor.ingest.dates` is "no date, never a different date". Imported at the
first such text: most feeds never need it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from monitor.ingest.datenames import FOREIGN_MONTHS, MONTHS
from monitor.ingest.datezones import FLAGS, NUMERIC_ZONE, zone_minutes

__all__ = ["feedparser_date", "read_feedparser"]

_NUMBER = re.compile(r"(?<![0-9])[0-9]{1,4}(?![0-9])")
_WORD = re.compile(r"[^\W\d_]+")
_CLOCK_TIME = re.compile(r"[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?:[.,][0-9]+)?")
_CLOCK = re.compile(r"(?<![0-9])(?!0?0:00(?![0-9]))[0-9]{1,2}:[0-9]{2}")  # a time, not 00:00


def feedparser_date(text: str) -> Any:
    """feedparser's reading of a date text (a UTC ``time.struct_time``, or None): all
    its date handlers, as it would have run them while parsing (imported here, at the
    first text ours cannot read). Never raises."""
    from feedparser.datetimes import _parse_date

    try:
        return _parse_date(text)
    except Exception:  # its handlers are many and loose; a failure is no date
        return None


def read_feedparser(parsed: Any, text: str) -> datetime | None:
    """feedparser's UTC struct_time as a datetime, if its day agrees with ``text``.

    Agreeing means: the year and the day appear in the text as numbers (not counting
    the digits of an ``h:mm[:ss]`` time), the month as the month name if the text has
    one (English, or the Greek and Hungarian forms feedparser reads), else as a number;
    and ``parsed`` is not exactly midnight when the text shows a time other than 00:00
    (feedparser's Korean and basic-ISO handlers drop the time). Anything else,
    including a malformed ``parsed``, is None.
    """
    if parsed is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(parsed[i]) for i in range(6))
        moment = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError, OverflowError, IndexError, KeyError):
        return None
    if (hour, minute, second) == (0, 0, 0) and _CLOCK.search(text):
        return None  # feedparser's handlers that cannot read a time give midnight
    if _unknown_zone_after_time(text, moment):
        return None  # feedparser reads an unknown zone name as UTC
    numbers = {int(n) for n in _NUMBER.findall(_CLOCK_TIME.sub(" ", text))}
    named = {MONTHS.get(w, FOREIGN_MONTHS.get(w)) for w in _WORD.findall(text.lower())}
    named.discard(None)
    if year not in numbers or day not in numbers:
        return None
    if month not in (named or numbers):  # a month name, when there is one, decides
        return None
    return moment


_AFTER_TIME = re.compile(
    r"""^(?:\s?[ap]\.?m\.?)?\s*(?P<rest>[^()]*?)\s*(?:\([^()]{0,60}\))?\s*$""", FLAGS
)
_KNOWN_TRAILER = re.compile(rf"^(?: \d{{4}} | (?P<zone>{NUMERIC_ZONE} | [A-Z]{{1,5}}) )$", FLAGS)
_LEADING_OFFSET = re.compile(rf"^\s?(?P<zone>Z | {NUMERIC_ZONE})(?![0-9])", FLAGS)


def _unknown_zone_after_time(text: str, moment: datetime) -> bool:
    """Whether ``text`` writes something after its last ``h:mm`` time that is neither a
    zone :func:`~monitor.ingest.datezones.zone_minutes` knows nor a year (asctime): ``EST5EDT``,
    ``Europe/Berlin``, ``Eastern Standard Time``, ``KST-9``; a numeric offset right
    after the time decides whatever follows it (``-0500 EST``, ``+01:00[Europe/Paris]``,
    RFC 9557). feedparser drops such a
    zone and reads the time as UTC: a different date, which the rule of
    :mod:`monitor.ingest.dates` ("no date, never a different date") refuses."""
    times = [t for t in _CLOCK_TIME.finditer(text) if text[max(t.start() - 1, 0)] not in "+-"]
    if not times:  # (an offset's +01:00 is not a time of day)
        return False
    tail, local = text[times[-1].end() :], moment.replace(tzinfo=None)
    offset = _LEADING_OFFSET.match(tail)
    if offset and zone_minutes(offset.group("zone"), local) is not None:
        return False  # a numeric offset decides, whatever follows: -0500 EST, +01:00[Paris]
    after = _AFTER_TIME.match(tail)
    rest = after.group("rest") if after else tail
    if not rest:
        return False
    known = _KNOWN_TRAILER.match(rest)
    if known is None:
        return True
    zone = known.group("zone")
    return zone is not None and zone_minutes(zone, local) is None
