"""Parsing feed bytes with feedparser, never letting feedparser touch the network.

feedparser is given bytes only (never a URL) and the URL for resolving relative
links. Before it sees them, the document is decoded here (:mod:`monitor.ingest.charset`:
BOM, HTTP charset, XML declaration even after white space, a guess) and handed over
as UTF-8, with what loose publishers write repaired the way a browser reads it: a
bare ``&`` is a literal ampersand, an HTML entity (``&eacute;``, ``&shy;``) is its
character (:mod:`monitor.ingest.entities`). A document that yields no entries and no
feed version is a ParseError ("not a feed"); a "bozo" feed with entries is accepted
(most real feeds have small errors) and the problem is reported for the log. JSON
Feed is read by :mod:`monitor.ingest.jsonfeed` into the same shape.

One bad entry costs that entry, never its feed: an entry that cannot be read is left
out and listed in ``ParsedFeed.skipped`` (its position and why), which the caller logs
as one line each. When feedparser raises on the document (its #599: ``<gml:pos>``
outside ``<georss:where>`` raises KeyError), the document is read again entry by
entry (the part before the first entry, one entry, the part after the last), so only
the entries it raises on are skipped.

feedparser is set up once per process (:mod:`monitor.ingest.feedsetup`): its sanitizer
and its resolution of relative URIs and guids are off, and it reads no dates (the
normalizer reads them, :mod:`monitor.ingest.dates`). That setup is imported where a
parse runs, not with this module: the daemon imports it to unpickle a worker's
``ParsedFeed``, and the setup's date patterns alone are ~15 ms to compile.

feedparser keeps "safe" internal entities, so one entity referenced a million times
can still amplify a small document into gigabytes: a document declaring entities
loses its whole DOCTYPE before parsing (no real feed needs one). Parsing in a worker
with time and memory limits is :mod:`monitor.ingest.parseworker`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from monitor.errors import ParseError
from monitor.ingest.charset import decode_document, looks_like_html, to_utf8
from monitor.ingest.entities import drop_controls, repair_entities
from monitor.ingest.entryid import repeated_note
from monitor.ingest.jsonfeed import looks_like_json_feed, parse_json_feed
from monitor.ingest.mislabel import DECLARED, LABEL, UTF8, overruled_note
from monitor.ingest.partial import cut_entry, read_loosely

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})
_ROOT = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?(?:rss|feed|RDF|channel)[\s>/]")
_ENTITY = re.compile(r"<!ENTITY\s[^>]*>")
HTML_PAGE = (
    "a web page (HTML), not RSS, Atom or JSON Feed: give the feed's own URL (a page's "
    '<link rel="alternate"> feed is followed when the page names one)'
)
_ENTRY_TAG = re.compile(r"<(/?)((?:[A-Za-z_][\w.-]*:)?(?:item|entry))(?=[\s>/])[^>]*?(/?)>")
MAX_REASON = 200
ENTRY_KEYS = ("id", "link", "title", "summary", "author", "language", "guidislink")
DATE_KEYS = ("published", "updated", "created")


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: its title and language, its entries (feedparser-shaped dicts).

    ``ttl_minutes`` is RSS ``<ttl>`` (how long the feed asks to be cached);
    ``warning`` is one line for the log (a parser complaint, an encoding note);
    ``base_url`` is the URL relative links were resolved against; ``skipped`` holds
    ``(position, reason)`` of each entry left out because it could not be read
    (position counts the entries of the parsed document from 1); ``found`` counts
    the document's entries, read or skipped; ``loose``: the document is not
    well-formed XML (read by feedparser's loose parser, :mod:`monitor.ingest.partial`);
    ``label_note``: the document declares a legacy encoding and was read as UTF-8, the
    feed's decision (:mod:`monitor.ingest.mislabel`), said in one line (not a warning).
    """

    title: str
    language: str | None
    entries: list[Any]
    warning: str | None = None
    ttl_minutes: int | None = field(default=None)
    base_url: str = ""
    skipped: tuple[tuple[int, str], ...] = ()
    found: int = 0
    loose: bool = False
    label_note: str | None = None


def parse_feed(
    body: bytes, url: str, content_type: str | None = None, *, reading: str | None = None
) -> ParsedFeed:
    """Parse feed bytes fetched from ``url``; raise ParseError when it is not a feed.

    ``reading`` is the feed's decision on a legacy charset label
    (:mod:`monitor.ingest.mislabel`): ``"utf-8"`` reads such a label as UTF-8,
    ``"declared"`` as declared, and with either feedparser keeps every field as decoded
    (:func:`~monitor.ingest.feedsetup.fields_as_decoded`); ``"label"`` reads the label
    as declared and lets feedparser re-read a field as UTF-8 where that is plausible
    (:func:`~monitor.ingest.feedsetup.fields_checked`); None (a feed with items, never
    decided) reads the label as declared and lets feedparser re-read fields, as
    earlier versions did.
    """
    from monitor.ingest.feedsetup import fields_as_decoded, fields_checked

    if reading in (UTF8, DECLARED):
        with fields_as_decoded():
            return _parse_feed(body, url, content_type, reading == UTF8)
    if reading == LABEL:
        with fields_checked():
            return _parse_feed(body, url, content_type, False)
    return _parse_feed(body, url, content_type, False)


def _parse_feed(body: bytes, url: str, content_type: str | None, utf8: bool) -> ParsedFeed:
    """:func:`parse_feed`; ``utf8``: a legacy label is read as UTF-8."""
    from monitor.ingest.feedsetup import feedparser_module

    if looks_like_json_feed(body, content_type):
        found = parse_json_feed(body, url)
        if found is None:
            raise ParseError("not a feed (JSON, but not a JSON Feed)")
        entries = found["entries"]
        notes = [n for n in (found["warning"], repeated_note(entries)) if n]
        return ParsedFeed(
            found["title"],
            found["language"],
            entries,
            "; ".join(notes) or None,
            base_url=url,
            skipped=tuple(found["skipped"]),
            found=len(entries) + len(found["skipped"]),
        )
    decoded = decode_document(body, content_type, legacy_as_utf8=utf8)
    defused = defuse_entities(decoded.text)
    text = repair_entities(drop_controls(defused))
    headers = {"content-location": url, "content-type": _as_utf8(content_type)}
    try:
        parsed, raw = feedparser_module().parse(to_utf8(text), response_headers=headers), None
    except Exception as exc:  # feedparser can raise instead of setting bozo (its #599)
        parsed, raw = _entry_by_entry(text, headers, exc)
    problem = None
    if parsed.get("bozo"):
        problem = f"{type(parsed.get('bozo_exception')).__name__}: {parsed.get('bozo_exception')}"
    if raw is None and not parsed.entries and not parsed.get("version"):
        if looks_like_html(body, content_type):  # the rule discovery follows pages by
            raise ParseError(f"not a feed: {HTML_PAGE}")
        raise ParseError(f"not a feed ({problem or 'no feed elements found'})"[:300])
    feed = parsed.feed
    is_atom = str(parsed.get("version") or "").startswith("atom")
    entries, skipped = _slim_entries(parsed.entries if raw is None else raw, is_atom)
    loose = read_loosely(parsed)
    entries, cut = cut_entry(entries, text, loose)
    skipped.extend([cut] if cut else [])
    dropped = "entity declarations dropped, not expanded" if defused is not decoded.text else None
    notes = [n[:300] for n in (decoded.note, dropped, repeated_note(entries), problem) if n]
    return ParsedFeed(
        title=str(feed.get("title") or ""),
        language=feed.get("language"),
        entries=entries,
        warning="; ".join(notes) or None,
        ttl_minutes=_ttl(feed.get("ttl")),
        base_url=url,
        skipped=tuple(skipped),
        found=len(entries) + len(skipped),
        loose=loose,
        label_note=overruled_note(decoded.overruled) if decoded.overruled else None,
    )


def skip_reason(exc: BaseException) -> str:
    """One bounded line saying why an entry was skipped (for ``ParsedFeed.skipped``)."""
    return f"{type(exc).__name__}: {exc}"[:MAX_REASON]


def _slim_entries(
    raw: list[Any], is_atom: bool
) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """``slim_entry`` of each entry (``raw`` holds entries, or the exception an entry
    raised), with the position and reason of each one that could not be read."""
    entries, skipped = [], []
    for position, entry in enumerate(raw, start=1):
        try:
            if isinstance(entry, BaseException):
                raise entry
            slim = slim_entry(entry, is_atom)
        except Exception as exc:  # one entry, whatever it holds, costs only itself
            skipped.append((position, skip_reason(exc)))
            continue
        slim["position"] = position
        entries.append(slim)
    return entries, skipped


def _entry_by_entry(
    text: str, headers: dict[str, str], failure: Exception
) -> tuple[Any, list[Any]]:
    """feedparser's reading of ``text`` one entry at a time, after it raised ``failure``
    on the whole: (the document without its entries, each entry or what it raised).

    Raises ParseError with ``failure`` when the entries cannot be told apart (nested,
    unclosed) or the document without them raises too.
    """
    blocks = split_entries(text)
    whole = f"feed parser failed: {type(failure).__name__}: {failure}"[:300]
    if blocks is None:
        raise ParseError(whole) from None
    head, tail = text[: blocks[0][0]], text[blocks[-1][1] :]
    from monitor.ingest.feedsetup import feedparser_module

    try:
        feedparser = feedparser_module()
        shell = feedparser.parse(to_utf8(head + tail), response_headers=headers)
    except Exception:
        raise ParseError(whole) from None
    found: list[Any] = []
    for start, end in blocks:
        try:
            one = feedparser.parse(to_utf8(head + text[start:end] + tail), response_headers=headers)
        except Exception as exc:
            found.append(exc)
            continue
        found.extend(one.entries[:1] or [ParseError("no entry found in its own document")])
    return shell, found


def split_entries(text: str) -> list[tuple[int, int]] | None:
    """``(start, end)`` of each ``<item>``/``<entry>`` element of a feed document, in
    order; None when they are not a flat run of closed elements (nested, unclosed,
    self-closing), so the caller does not guess."""
    blocks: list[tuple[int, int]] = []
    open_at, open_name = -1, ""
    for tag in _ENTRY_TAG.finditer(text):
        closing, name, empty = tag.group(1), tag.group(2), tag.group(3)
        if empty:
            return None
        if not closing:
            if open_at >= 0:
                return None
            open_at, open_name = tag.start(), name
        elif open_at < 0 or name != open_name:
            return None
        else:
            blocks.append((open_at, tag.end()))
            open_at = -1
    return blocks if blocks and open_at < 0 else None


def _as_utf8(content_type: str | None) -> str:
    """The media type of ``content_type`` with ``charset=utf-8`` (what we hand over)."""
    media = (content_type or "application/xml").split(";", 1)[0].strip() or "application/xml"
    return f"{media}; charset=utf-8"


def defuse_entities(text: str) -> str:
    """``text`` (a decoded document) without its DOCTYPE when it declares entities
    (no amplification); the same object when it declares none."""
    first = text.find("<!ENTITY")
    if first < 0:
        return text
    root = _ROOT.search(text, first)
    doctype = text.rfind("<!DOCTYPE", 0, first)
    if root and doctype >= 0:
        return text[:doctype] + text[root.start() :]
    return _ENTITY.sub("", text)


def slim_entry(entry: Any, is_atom: bool = False) -> dict[str, Any]:
    """The fields normalization reads, as a plain (picklable) dict.

    Text fields are ``(value, kind)`` pairs: ``kind`` is "html" when the feed marks
    the value as HTML (Atom ``type="html"``/``"xhtml"``, or RSS text feedparser found
    to hold markup), "text" for Atom ``type="text"`` (exactly the text), and
    "rss" for other RSS text (plain, but publishers escape entities twice in it).
    Dates are ``(as written, feedparser's struct_time)`` pairs, the second a
    :class:`~monitor.ingest.dates.DeferredDate` when feedparser did not read it
    (:mod:`monitor.ingest.feedsetup`).

    Read with ``dict.get``: feedparser stores every value under its canonical name,
    the one read here, and its ``FeedParserDict.get`` (legacy aliases, special keys)
    cost half of this function (issue #18).
    """
    get = dict.get
    slim = {key: get(entry, key) for key in ENTRY_KEYS}
    for key in ("title", "summary"):
        slim[key] = (get(entry, key), _kind(get(entry, f"{key}_detail"), is_atom))
    slim["content"] = [(get(c, "value"), _kind(c, is_atom)) for c in get(entry, "content") or []]
    slim["tags"] = [{"term": get(t, "term")} for t in get(entry, "tags") or []]
    for key in DATE_KEYS:
        slim[key] = (get(entry, key), get(entry, f"{key}_parsed"))
    return slim


def _kind(detail: Any, is_atom: bool) -> str:
    kind = str(dict.get(detail or {}, "type") or "text/html").lower()
    if kind in _HTML_TYPES:
        return "html"
    return "text" if is_atom else "rss"


def _ttl(value: Any) -> int | None:
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes if minutes > 0 else None
