"""Invisible characters: removed before analysis, with a map back to the written offsets.

Which characters: Unicode's Default_Ignorable_Code_Point property (DerivedCoreProperties.txt;
4,174 code points, the list of Unicode 14, which Python 3.11's unicodedata implements), the
code points a renderer shows as nothing when it does not support them: the soft
hyphen U+00AD (HTML ``&shy;``), the combining grapheme joiner U+034F, the Arabic letter
mark U+061C, the Hangul fillers U+115F-U+1160, U+3164 and U+FFA0, the Khmer inherent
vowels U+17B4-U+17B5, the Mongolian variation selectors and vowel separator
U+180B-U+180F, zero width space, non-joiner and joiner U+200B-U+200D, the direction
marks, embeddings and isolates U+200E-U+200F, U+202A-U+202E and U+2066-U+2069, the word
joiner and invisible operators U+2060-U+2064, variation selectors U+FE00-U+FE0F and
U+E0100-U+E01EF, the byte order mark / zero width no-break space U+FEFF, U+FFF0-U+FFF8,
the shorthand format controls U+1BCA0-U+1BCA3, the musical format controls
U+1D173-U+1D17A and the tags U+E0000-U+E0FFF (unassigned ones included, as in the
property).

Why: publishers put them inside words (soft hyphens as hyphenation hints in German and
Dutch copy, zero width spaces as line-break hints in long words and URLs, word joiners,
bidi marks around names), and a rule for ``Gesamtkonzept`` must find
``Ge&shy;samt&shy;kon&shy;zept``. UAX #29 (word boundaries) agrees for most of them: its
rule WB4 ignores Format (Cf), Extend and ZWJ characters inside a word. One exception,
on purpose: UAX #29 gives U+200B ZERO WIDTH SPACE Word_Break=Other, so it breaks words
there (Thai and Khmer text uses it to mark word boundaries). Here it is removed like the
others: the rule is simply that these characters never split a word and never form one.
A zero width space next to a real space or punctuation (``peace \\u200bregime``) is
harmless: the space still separates; only two words joined by nothing but a zero width
space become one word. This analyzer does not segment Thai or Khmer anyway (a run of
their letters is already one word), and inside a word of the scripts it does segment, a
zero width space is a line-break hint (long compounds, URLs), not a word boundary.

How: :func:`strip` removes them from a text and returns an :class:`Offsets` that maps a
span of the visible text back to the written one. A token's span then starts at its
first visible character and ends after its last one, so it covers every invisible
character inside the word (a highlight shows the word as written) and none at its
edges. ASCII text has none of them (the first is U+00AD), so :func:`strip` costs one
``str.isascii`` there.
"""

from __future__ import annotations

import bisect
import re

__all__ = ["INVISIBLE_RANGES", "Offsets", "remove", "strip"]

# Default_Ignorable_Code_Point, DerivedCoreProperties.txt (inclusive ranges).
INVISIBLE_RANGES = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors, vowel separator
    (0x200B, 0x200F),  # zero width space, non-joiner, joiner; LRM, RLM
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, bidi isolates, deprecated
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero width no-break space (byte order mark)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFF8),  # unassigned, reserved as ignorable
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags, variation selectors supplement, reserved
)
_INVISIBLE = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in INVISIBLE_RANGES) + "]+")


class Offsets:
    """Maps offsets of a :func:`strip`-ped text back to the text as written.

    ``cuts[k]`` (``k >= 1``) is the offset in the visible text where the ``k``-th removed
    run was (the visible character after it lands there); ``shifts[k]`` is how many
    characters were removed up to and including that run. Both lists are ascending and
    start with a sentinel (``-1``, ``0``), so a lookup needs no special case.
    """

    __slots__ = ("cuts", "shifts")

    def __init__(self, cuts: list[int], shifts: list[int]) -> None:
        self.cuts = cuts
        self.shifts = shifts

    def char(self, offset: int) -> int:
        """The written offset of the visible character at ``offset``."""
        return offset + self.shifts[bisect.bisect_right(self.cuts, offset) - 1]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The written span of the visible ``[start, end)`` (``end > start``): from its
        first visible character to just after its last, invisible ones inside included."""
        cuts, shifts = self.cuts, self.shifts
        return (
            start + shifts[bisect.bisect_right(cuts, start) - 1],
            end + shifts[bisect.bisect_right(cuts, end - 1) - 1],
        )


def strip(text: str) -> tuple[str, Offsets | None]:
    """``text`` without invisible characters, and the map back (None if none were there).

    The visible text is what the analyzer reads; :meth:`Offsets.span` turns the spans
    of its tokens into spans of ``text``.
    """
    if text.isascii():
        return text, None
    runs = list(_INVISIBLE.finditer(text))
    if not runs:
        return text, None
    parts, cuts, shifts = [], [-1], [0]
    last = removed = 0
    for run in runs:
        start, end = run.span()
        parts.append(text[last:start])
        removed += end - start
        cuts.append(end - removed)
        shifts.append(removed)
        last = end
    parts.append(text[last:])
    return "".join(parts), Offsets(cuts, shifts)


def remove(text: str) -> str:
    """``text`` without invisible characters (no offsets kept: for folding query text)."""
    return text if text.isascii() else _INVISIBLE.sub("", text)
