"""The names feed dates are written with: time zones and months.

Split from :mod:`monitor.ingest.dates` (the parsers), which reads these tables: the
zone names it accepts, as minutes east of UTC, and the month names, English and the
Greek and Hungarian ones feedparser's own handlers read. Data only, no code.
"""

from __future__ import annotations

from typing import Final

ZONES: Final[dict[str, int]] = {
    # RFC 822 §5 / RFC 2822 §3.3 (and §4.3, obsolete names); Z from ISO 8601.
    "UT": 0,
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "EST": -300,
    "EDT": -240,
    "CST": -360,
    "CDT": -300,
    "MST": -420,
    "MDT": -360,
    "PST": -480,
    "PDT": -420,
    # North America beyond RFC 822.
    "AKST": -540,
    "AKDT": -480,
    "HST": -600,
    "NST": -210,
    "NDT": -150,
    # Europe (MSK is +04:00 from 2011 to 2014: dates.py _offset).
    "WET": 0,
    "WEST": 60,
    "CET": 60,
    "CEST": 120,
    "MET": 60,
    "MEST": 120,
    "MEZ": 60,
    "MESZ": 120,
    "EET": 120,
    "EEST": 180,
    "MSK": 180,
    "MSD": 240,
    # Africa, Asia, Oceania, South America.
    "WAT": 60,
    "CAT": 120,
    "SAST": 120,
    "EAT": 180,
    "PKT": 300,
    "ICT": 420,
    "WIB": 420,
    "HKT": 480,
    "SGT": 480,
    "AWST": 480,
    "JST": 540,
    "KST": 540,
    "ACST": 570,
    "ACDT": 630,
    "AEST": 600,
    "AEDT": 660,
    "NZST": 720,
    "NZDT": 780,
    "BRT": -180,
    "ART": -180,
}
"""Zone names read, as minutes east of UTC. Names not here (IST, BST, AST, ET, ...) refuse."""

MONTHS: Final[dict[str, int]] = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
# Month names feedparser's own Greek and Hungarian handlers read, used only to check its
# result against the text (lower-cased; feedparser's spellings, plus the correct Hungarian).
FOREIGN_MONTHS: Final[dict[str, int]] = {
    "ιαν": 1,
    "φεβ": 2,
    "μάώ": 3,
    "μαώ": 3,
    "απρ": 4,
    "μάι": 5,
    "μαϊ": 5,
    "μαι": 5,
    "ιούν": 6,
    "ιον": 6,
    "ιούλ": 7,
    "ιολ": 7,
    "αύγ": 8,
    "αυγ": 8,
    "σεπ": 9,
    "οκτ": 10,
    "νοέ": 11,
    "νοε": 11,
    "δεκ": 12,
    "január": 1,
    "február": 2,
    "februári": 2,
    "március": 3,
    "április": 4,
    "május": 5,
    "máujus": 5,
    "június": 6,
    "július": 7,
    "augusztus": 8,
    "szeptember": 9,
    "október": 10,
    "november": 11,
    "december": 12,
}
