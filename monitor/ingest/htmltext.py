"""Plain text from feed fields: HTML turned into text, text kept as text.

Only a value the feed marks as HTML is parsed as HTML (:func:`html_to_text`: tags
dropped, entities decoded, blocks kept as lines, ``<script>``/``<style>`` bodies
skipped, a CDATA section's text kept). A value that is text stays text, ``<`` and
all (:func:`field_text`), and is escaped where it is shown. Control characters
(C0 but tab and newline, DEL, C1) are dropped from every field.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
    | {"pre", "tr", "table", "section", "article", "header", "footer", "figure", "hr"}
)
_SKIP = frozenset({"script", "style", "template", "noscript", "iframe", "object"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_ODD_SPACE = re.compile(r"[\t\r\f\v\u00a0]")  # white space _SPACES makes a plain space
# C0 controls but tab, LF, VT, FF and CR (spaces and line breaks, collapsed by _tidy),
# DEL and C1: none is text a reader should see, and ESC must never reach a terminal.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_ALL_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
# Plain HTML (:func:`_plain_text`): text and tags of the elements below, with quoted or
# plain attribute values; no comment, declaration, CDATA section or processing
# instruction, no "<" that opens no tag. Each is a subset of what HTMLParser reads as
# one start or end tag.
_PLAIN_ELEMENTS = _BLOCKS | frozenset(
    {"a", "b", "i", "u", "s", "em", "strong", "span", "small", "big", "sub", "sup", "img"}
    | {"font", "code", "abbr", "cite", "q", "mark", "time", "del", "ins", "wbr", "center"}
    | {"dl", "dt", "dd", "td", "th", "thead", "tbody", "caption", "figcaption"}
)
# Possessive quantifiers: what is not plain fails in linear time, without backtracking.
_VALUE = r"""(?:"[^"]*+"|'[^']*+'|[^\s"'=<>`]++)"""
# HTML's white space only: in a tag, HTMLParser (and HTML) reads another (\v, \xa0,
# \u3000) as part of a name, so a tag holding one is not plain.
_WS = r"[ \t\n\r\f]"
_ATTRIBUTE = rf"{_WS}++[a-zA-Z_:][-a-zA-Z0-9_:.]*+(?:{_WS}*+={_WS}*+{_VALUE})?+"
_TAG = r"<(?:{0}[a-zA-Z][a-zA-Z0-9]*+)(?:{1})*+{2}*+{0}/?)|/{0}[a-zA-Z][a-zA-Z0-9]*+){2}*+)>"
_PLAIN_TAG = re.compile(_TAG.format("(", _ATTRIBUTE, _WS))  # groups: start name, "/", end name
# no groups: Python 3.11's re misplaces a group repeated possessively ("span is wrong")
_PLAIN_HTML = re.compile(rf"(?:[^<]++|{_TAG.format('(?:', _ATTRIBUTE, _WS)})*+\Z")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.skipped: list[str] = []  # a script never closed was text after all

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _SKIP:
            self.skipping += 1
            self.skipped = [self.get_starttag_text() or ""]
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
            self.skipped = []
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)
        else:
            self.skipped.append(data)

    def unknown_decl(self, data: str) -> None:
        if data.startswith("CDATA[") and not self.skipping:
            self.parts.append(data[6:])

    def close(self) -> None:
        pending = self.rawdata if self.skipping else ""  # a <script> body never closed
        super().close()
        if self.skipping and (self.skipped or pending):
            self.parts.extend(self.skipped)
            if pending and not "".join(self.skipped).endswith(pending):
                self.parts.append(pending)


def drop_controls(text: str, *, keep_lines: bool = True) -> str:
    """``text`` without control characters: C0 (but, with ``keep_lines``, the white
    space ones: tab, line breaks), DEL and C1. ``keep_lines=False`` is for one-line
    values (a link, a guid, an author), where a line break is no text either."""
    if text.isprintable():  # no control character at all (they are all category Cc)
        return text
    return (_CONTROLS if keep_lines else _ALL_CONTROLS).sub("", text)


def field_text(value: str | None, kind: str, limit: int | None = None) -> str:
    """The plain text of one feed field, at most ``limit`` characters.

    ``kind`` says what the feed marked the value as (see
    :func:`monitor.ingest.parse.slim_entry`): "html" is parsed as HTML; "text" is
    kept exactly (Atom ``type="text"``); "rss" is RSS text, kept as text except
    that entity references left in it are decoded (publishers often escape RSS
    text twice: ``AT&amp;amp;T``).
    """
    if not value:
        return ""
    if kind == "html":
        return html_to_text(value, limit)
    if kind == "rss" and "&" in value:
        value = _ENTITY.sub(lambda m: html.unescape(m.group(0)), value)
    return _tidy(value, limit)


def html_to_text(html: str, limit: int | None = None) -> str:
    """Readable plain text of an HTML fragment (or of plain text), at most ``limit`` chars."""
    if not html:
        return ""
    if "<" not in html and "&" not in html:
        text = html
    else:
        text = _plain_text(html)
        if text is None:
            extractor = _TextExtractor()
            extractor.feed(html)
            extractor.close()
            text = "".join(extractor.parts)
    return _tidy(text, limit)


def _plain_text(fragment: str) -> str | None:
    """What :class:`_TextExtractor` reads from ``fragment`` when it is plain HTML
    (:data:`_PLAIN_HTML`: text and tags of common elements), else None.

    The same text by one pattern: each run of text unescaped as a whole (as
    HTMLParser's ``convert_charrefs`` does), a line break per start or end tag of a
    block (two for ``<br/>``: a start and an end tag), nothing for other tags. Where
    a paragraph's HTMLParser cost ~25 µs, this is a few (issue #18: a first poll reads
    12,096 summaries). ``tests/unit/test_ingest_plainhtml.py`` holds the two equal.
    """
    if not _PLAIN_HTML.match(fragment):
        return None
    parts: list[str] = []
    done = 0
    for tag in _PLAIN_TAG.finditer(fragment):
        if tag.start() > done:
            parts.append(html.unescape(fragment[done : tag.start()]))
        start, closed, end = tag.groups()
        name = (start or end).lower()
        if name not in _PLAIN_ELEMENTS:
            return None
        if name in _BLOCKS:  # a "/" after the attributes ends the element too
            parts.append("\n\n" if closed else "\n")
        done = tag.end()
    parts.append(html.unescape(fragment[done:]))  # returns text without "&" as it is
    return "".join(parts)


def _tidy(text: str, limit: int | None) -> str:
    """Spaces collapsed, blocks as paragraphs, control characters dropped.

    The work runs only on text that needs it (issue #18: this was 21 of the 25 µs
    :func:`html_to_text` spent on a 1,300-character paragraph): text that is printable
    but for its line breaks holds no control character and no odd space (neither is
    printable), so it is not searched for them; spaces are collapsed only where two
    follow each other or an odd one is present; lines are stripped one by one, where a
    regular expression around each line break tried every space of the text.
    """
    printable = text.replace("\n", " ").isprintable()
    if not printable:
        text = drop_controls(text)
    if "  " in text or (not printable and _ODD_SPACE.search(text)):
        text = _SPACES.sub(" ", text)
    if "\n" in text:
        text = "\n\n".join(line for line in (part.strip() for part in text.split("\n")) if line)
    else:
        text = text.strip()
    return text[:limit] if limit is not None else text
