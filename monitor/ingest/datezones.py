"""What the zone written after a feed's date means: minutes east of UTC, or a refusal.

Shared by :mod:`monitor.ingest.dates` (its parsers) and :mod:`monitor.ingest.datecheck`
(the check of feedparser's reading), with the patterns both build on. Numeric offsets
up to ±14:00 (the Line Islands); ``-0000`` is UTC (RFC 2822 §3.3); ``GMT+2`` and
``UTC+02:00`` as written (the human, not the POSIX, sign). Names: the table of
:data:`monitor.ingest.datenames.ZONES`; any other name is refused.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from monitor.ingest.datenames import ZONES

__all__ = ["FLAGS", "MAX_OFFSET_MIN", "NUMERIC_ZONE", "zone_minutes"]

MAX_OFFSET_MIN: Final = 14 * 60
"""Real UTC offsets are within ±14:00 (Line Islands)."""
FLAGS: Final = re.IGNORECASE | re.ASCII | re.VERBOSE
"""The flags of the date patterns (verbose: spaces in a pattern are layout)."""
NUMERIC_ZONE: Final = r"[+-]\d{2}(?::?\d{2})? | (?:GMT|UTC|UT)\s?[+-]\d{1,2}(?::?\d{2})?"
"""A numeric zone as the date patterns find it (verbose, for :data:`FLAGS`)."""
_OFFSET = re.compile(r"(?:GMT|UTC|UT)?\s?([+-])(\d{1,2})(?::?(\d{2}))?")


def zone_minutes(zone: str | None, local: datetime) -> int | None:
    """Minutes east of UTC that ``zone`` names at the naive ``local`` time: 0 for no
    zone; None to refuse it (see the module docstring: a numeric offset beyond ±14:00
    or with minutes over 59, a name not in :data:`~monitor.ingest.datenames.ZONES`).
    ``-0000`` is UTC (RFC 2822 §3.3); ``GMT+2`` is +02:00 as written. Never raises."""
    if not zone:
        return 0
    zone = zone.upper()
    numeric = _OFFSET.fullmatch(zone)
    if numeric:
        sign, hours, minutes = numeric.groups()
        total = int(hours) * 60 + int(minutes or 0)
        if int(minutes or 0) > 59 or total > MAX_OFFSET_MIN:
            return None
        return -total if sign == "-" else total
    if zone == "MSK" and datetime(2011, 3, 27, 2) <= local < datetime(2014, 10, 26, 2):
        return 240  # Moscow kept summer time all year from 2011 to 2014
    return ZONES.get(zone)
