"""Finding a feed document's character encoding and reading it as text.

feedparser looks for the XML declaration only at the very first byte, so a
windows-1251 document with a blank line before ``<?xml … encoding=…?>`` is read as
Latin-1 mojibake; and one invalid byte in a UTF-8 document makes it re-read the
whole document as windows-1252. Here the encoding is found once, in the order the
specs give (XML 1.0 Appendix F, RFC 7303 §3, and what browsers do, WHATWG
Encoding "decode"):

1. a byte order mark;
2. the ``charset`` of the HTTP ``Content-Type``;
3. the XML declaration's ``encoding``, also after leading white space;
4. a guess: UTF-8 when the bytes are UTF-8, else charset-normalizer's best guess,
   else windows-1252 (what browsers assume for Western legacy pages).

A document declared (or guessed) UTF-8 is decoded as UTF-8 with U+FFFD for each
invalid byte: one bad byte costs one character. The exception is a document in
which no non-ASCII byte forms valid UTF-8 at all: that is a legacy document
mislabelled as UTF-8 (a common server default), and it is read as the guess says.

The converse, UTF-8 bytes declared in a single-byte legacy encoding (:func:`legacy_label`:
ISO 8859, windows-125x), is read as declared unless ``legacy_as_utf8`` says otherwise:
that is decided once per feed, on a whole body, by :mod:`monitor.ingest.mislabel`.

:func:`to_utf8` gives feedparser UTF-8 bytes with the declaration rewritten, so
feedparser's own detection has nothing left to get wrong. :func:`looks_like_html`,
read off the same head of the document, tells a web page from a feed: discovery
(:mod:`monitor.ingest.discover`) follows a page's feed link, and the parser names a
page that gave none as a page.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_DECLARATION = re.compile(rb"""\A\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)["'][^>]*\?>""")
_DECLARATION_TEXT = re.compile(r"""\A\s*<\?xml[^>]*\?>""")
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
# A first tag (after white space, an XML declaration, comments) that is an HTML doctype
# or <html>: a web page (the HTML Living Standard's doctype; XHTML has the declaration).
_HTML_ROOT = re.compile(rb"(?:\s|<\?[^>]*>|<!--.*?-->)*<(?:!doctype\s+html|html[\s>])", re.I | re.S)
_GUESS_BYTES = 64 * 1024  # charset-normalizer reads this much, not a 20 MB body
# The single-byte legacy encodings whose label a feed's decision may overrule
# (monitor/ingest/mislabel.py), as _codec names them: ISO 8859 and windows-125x. Never
# UTF-16/32, the CJK multibyte encodings, KOI8 or the Mac and DOS code pages.
_LEGACY = frozenset({f"cp{n}" for n in range(1250, 1259)} | {f"iso8859-{n}" for n in range(1, 17)})


@dataclass(frozen=True)
class Decoded:
    """A document as text: ``text`` and the ``encoding`` it was read in.

    ``note`` is one line for the log when the declared and the used encodings
    differ (or invalid bytes were replaced), else None.
    """

    text: str
    encoding: str
    note: str | None = None
    overruled: str | None = None  # a legacy declaration read as UTF-8: "cp1252 (HTTP charset)"


def decode_document(
    body: bytes, content_type: str | None = None, *, legacy_as_utf8: bool = False
) -> Decoded:
    """Read ``body`` as text, the encoding found as the module docstring says.

    ``legacy_as_utf8``: the feed's decision (:mod:`monitor.ingest.mislabel`) that its
    bytes are UTF-8 whatever it declares. A declared single-byte legacy encoding
    (:func:`legacy_label`) is then read as UTF-8, invalid bytes as U+FFFD, always, so
    the reading never depends on the body at hand; ``Decoded.overruled`` names it.
    Any other declaration, or a byte order mark, is read as usual.
    """
    for bom, name in _BOMS:
        if body.startswith(bom):
            return _decode(body[len(bom) :], name, "byte order mark", None)
    http, xml = _declarations(body, content_type)
    declared = _first_declared(http, xml)
    if declared and legacy_as_utf8 and legacy_label(declared[0]):
        return _overruled(body, f"{declared[0]} ({declared[1]})")
    if http:
        return _decode(body, http, "HTTP charset", xml)
    if xml:
        return _decode(body, xml, "XML declaration", None)
    return _guessed(body, None, None)


def declared_encoding(body: bytes, content_type: str | None) -> tuple[str, str] | None:
    """The encoding ``body`` declares and where, as :func:`decode_document` reads it:
    ``(Python's codec name, "HTTP charset" | "XML declaration")``; None when a byte
    order mark decides or nothing (known) is declared."""
    if body.startswith(tuple(bom for bom, _ in _BOMS)):
        return None
    return _first_declared(*_declarations(body, content_type))


def legacy_label(encoding: str | None) -> bool:
    """Whether ``encoding`` (a name from :func:`declared_encoding`) is a single-byte
    legacy encoding whose label a feed's decision may overrule: ISO 8859-x or
    windows-125x (``iso-8859-1``, ``latin1`` and ``ascii`` are windows-1252)."""
    return encoding in _LEGACY


def _first_declared(http: str | None, xml: str | None) -> tuple[str, str] | None:
    """The declaration that rules (the HTTP charset over the XML declaration) and where."""
    return (http, "HTTP charset") if http else (xml, "XML declaration") if xml else None


def _declarations(body: bytes, content_type: str | None) -> tuple[str | None, str | None]:
    """(the HTTP charset, the XML declaration's encoding), each as Python names it or
    None; a declaration saying UTF-16/32 is None (its bytes would not be ASCII)."""
    found = _DECLARATION.match(body[:1024])
    xml = _codec(found.group(1).decode("ascii")) if found else None
    if xml and xml.startswith(("utf-16", "utf-32")):
        xml = None  # an ASCII-compatible declaration cannot truly say UTF-16
    return _codec(_http_charset(content_type)), xml


def to_utf8(text: str) -> bytes:
    """A decoded document as UTF-8 bytes, from its XML declaration, which says UTF-8."""
    text = text.lstrip()
    head = _DECLARATION_TEXT.match(text)
    if head:
        text = '<?xml version="1.0" encoding="utf-8"?>' + text[head.end() :]
    return text.encode("utf-8", "replace")


def _decode(body: bytes, encoding: str, origin: str, xml: str | None) -> Decoded:
    """``body`` in ``encoding``, which ``origin`` declared; ``xml``: the XML declaration's."""
    declared = f"{encoding} ({origin})"
    if encoding != "utf-8":
        try:
            return Decoded(body.decode(encoding), encoding)
        except UnicodeDecodeError:
            text = body.decode(encoding, "replace")
            return Decoded(text, encoding, f"declared {declared}: invalid bytes replaced")
    try:
        return Decoded(body.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    if not _UTF8_MULTIBYTE.search(body):
        return _guessed(body, declared, xml)
    text = body.decode("utf-8", "replace")
    bad = text.count("\ufffd") - body.decode("utf-8", "ignore").count("\ufffd")
    note = f"declared {declared}: {bad} invalid byte{'s' * (bad != 1)} replaced with U+FFFD"
    return Decoded(text, "utf-8", note)


def _overruled(body: bytes, declared: str) -> Decoded:
    """``body`` read as UTF-8 against its ``declared`` legacy encoding (the feed's
    decision); each invalid byte is one U+FFFD, counted in the note."""
    text = body.decode("utf-8", "replace")
    bad = 0
    if "\ufffd" in text:
        bad = text.count("\ufffd") - body.decode("utf-8", "ignore").count("\ufffd")
    note = f"read as UTF-8: {bad} invalid byte{'s' * (bad != 1)} replaced with U+FFFD"
    return Decoded(text, "utf-8", note if bad else None, overruled=declared)


def _guessed(body: bytes, declared: str | None, xml: str | None) -> Decoded:
    """No usable declaration (or a false UTF-8 one): UTF-8, else the XML declaration
    when it names a legacy encoding, else a detector's guess, else windows-1252."""
    try:
        return Decoded(body.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    how = "as its XML declaration says" if xml and xml != "utf-8" else "guessed"
    guess = xml if xml and xml != "utf-8" else (_detect(body) or "cp1252")
    said = f"declared {declared}" if declared else "no encoding declared"
    note = f"{said}, but not UTF-8: read as {guess} ({how})"
    return Decoded(body.decode(guess, "replace"), guess, note)


def _detect(body: bytes) -> str | None:
    """charset-normalizer's guess for a legacy document (imported only when needed)."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    sample = body[:_GUESS_BYTES]
    best = from_bytes(sample, cp_exclusion=["utf_8", "utf_16", "utf_32"]).best()
    return _codec(best.encoding) if best else None


def _http_charset(content_type: str | None) -> str | None:
    found = _CHARSET.search(content_type or "")
    return found.group(1) if found else None


def _codec(name: str | None) -> str | None:
    """Python's name for an encoding label, None when unknown.

    Labels as in the WHATWG Encoding standard: ``iso-8859-1``/``latin1``/``ascii``
    mean windows-1252, as every browser reads them.
    """
    if not name:
        return None
    try:
        found = codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None
    if found in ("latin-1", "iso8859-1", "ascii"):
        return "cp1252"
    return "utf-8" if found == "utf-8-sig" else found


def looks_like_html(body: bytes | None, content_type: str | None) -> bool:
    """Whether a fetched document is a web page rather than a feed: an HTML media type,
    or (with none that says XML or JSON) a first tag that is an HTML doctype or
    ``<html>`` (WHATWG MIME Sniffing, "rules for identifying an unknown MIME type")."""
    kind = (content_type or "").lower()
    if "xhtml" in kind:  # application/xhtml+xml: a page, though its type says XML
        return True
    if "xml" in kind or "json" in kind:
        return False
    return "html" in kind or _HTML_ROOT.match((body or b"")[:1024]) is not None
