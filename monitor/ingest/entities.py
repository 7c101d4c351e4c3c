"""Repairing the ampersands and entities of a feed document before it is parsed.

XML knows five named entities; feeds are written by people who know HTML. A bare
``&`` (``D&D``) or an HTML entity (``&eacute;``, ``&nbsp;``, ``&shy;``) makes the
document ill-formed, and feedparser's fallback "loose" parser then guesses, writing
``D&D;`` for ``D&D``. :func:`repair_entities` rewrites them as a browser reads them
(WHATWG HTML, "character reference state"): a known HTML entity becomes its numeric
character reference, and an ``&`` that starts no reference is a literal ampersand.
CDATA sections and comments are left alone (their ``&`` is already literal). A
reference to a character XML forbids (``&#1;``) is dropped, like the control
characters themselves (:func:`drop_controls`).
"""

from __future__ import annotations

import re
from html.entities import html5

# An "&" that does not start one of the five XML entities (those, the bulk of a feed's
# escaped HTML, never need a repair): without one, nothing is repaired.
_BARE_AMP = r"&(?!(?:amp|lt|gt|quot|apos);)"
_NEEDS_REPAIR = re.compile(_BARE_AMP)
# What may need a repair: a CDATA section or comment (skipped whole), or a bare "&".
_REFERENCE = re.compile(
    r"<!\[CDATA\[.*?\]\]>|<!--.*?-->|"
    + _BARE_AMP
    + r"(#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{0,31};)?",
    re.DOTALL,
)
# C0 controls but tab, LF and CR, and DEL: what XML 1.0 §2.2 "Char" forbids of them.
_CONTROL_CHARS = "".join(map(chr, [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]))
_CONTROLS = re.compile(f"[{re.escape(_CONTROL_CHARS)}]")


def drop_controls(text: str) -> str:
    """``text`` without C0 control characters other than tab, LF and CR.

    XML 1.0 forbids them (§2.2 "Char"); one makes the whole document ill-formed,
    and none is text a reader should see (an ESC would reach a terminal).

    A document without any (most) is returned as it is after 30 substring searches,
    ~14× faster than the regular expression's scan (issue #18).
    """
    if not any(char in text for char in _CONTROL_CHARS):
        return text
    return _CONTROLS.sub("", text)


def repair_entities(text: str) -> str:
    """``text`` (an XML document) with every ``&`` a well-formed reference.

    Numeric references and the five XML entities stay; ``&name;`` known to HTML
    becomes ``&#N;``; anything else gets its ``&`` written as ``&amp;``, so the
    text reads exactly as the publisher typed it.
    """
    if "&" not in text or _NEEDS_REPAIR.search(text) is None:
        return text  # ~13× faster than the substitution's scan when nothing is repaired
    return _REFERENCE.sub(_repair, text)


def _repair(found: re.Match[str]) -> str:
    whole = found.group(0)
    if whole[0] == "<":
        return whole
    reference = found.group(1)
    if reference is None:
        return "&amp;"
    if reference[0] == "#":
        base = 16 if reference[1] in "xX" else 10
        code = int(reference[1 + (base == 16) : -1], base)
        return whole if _is_xml_char(code) else ""
    chars = html5.get(reference)
    if chars is None:
        return "&amp;" + reference
    return "".join(f"&#{ord(c)};" for c in chars)


def _is_xml_char(code: int) -> bool:
    """XML 1.0 §2.2 "Char": what a character reference may name."""
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )
