"""feedparser, set up once per process for how :mod:`monitor.ingest.parse` uses it.

Settings (what feedparser does that we do not want):

- its sanitizer is off: nothing it outputs is shown as HTML (every text field becomes
  plain text in :mod:`monitor.ingest.htmltext`), and it deleted what it did not
  understand, such as an escaped CDATA section;
- relative URIs inside HTML are not resolved: only the text of HTML is kept;
- a relative ``<guid>`` is not resolved against the feed's URL: a guid is an
  identifier, kept as the feed wrote it (RSS 2.0: "a string that uniquely identifies
  the item");
- inside :func:`fields_as_decoded` only (a feed whose encoding we decided,
  :mod:`monitor.ingest.mislabel`), each field's text is kept as we decoded it:
  feedparser otherwise reads every field again as UTF-8 when its text is all
  ISO-8859-1 and those bytes are valid UTF-8 (its ``pop``: "people take data that is
  already utf-8, presume that it is iso-8859-1"), a guess per field that turns a
  genuine windows-1252 ``NESTLÉ®`` into ``NESTLɮ``. Its parsers test their
  ``encoding`` for ``"utf-8"``; ours then say ``"utf8"``, the same codec;
- inside :func:`fields_checked` (a feed first read by a version that knows
  :mod:`monitor.ingest.reread`), that re-reading is kept only where
  :func:`~monitor.ingest.reread.plausible` says so: ``CafÃ© ZÃ¼rich`` is still
  repaired, ``NESTLÉ®`` stays. Outside both, feedparser re-reads as it always did
  (a feed whose stored ids were made so).

Shortcuts: the same output for less work, in :mod:`monitor.ingest.feedshortcuts`
(URI joins, dict reads, copies, the windows-1252 table), and one here:

- the entry dates are not read by feedparser while parsing: its ``*_parsed`` values
  are :class:`~monitor.ingest.dates.DeferredDate`, the text it was given, and
  :mod:`monitor.ingest.dates`, which reads dates exactly itself, asks feedparser's
  reading (:func:`~monitor.ingest.datecheck.feedparser_date`) of that text only when it
  does not recognise the entry's, which is rare.

It is checked in ``tests/unit/test_feedsetup.py``, with the others.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from functools import cache
from types import ModuleType
from typing import Any

from monitor.ingest.dates import DeferredDate
from monitor.ingest.feedshortcuts import install as install_shortcuts
from monitor.ingest.reread import plausible

__all__ = ["feedparser_module", "fields_as_decoded", "fields_checked"]

AS_DECODED, CHECKED = "as decoded", "checked"  # how fields are read (_FIELDS)
_FIELDS: ContextVar[str | None] = ContextVar("fields", default=None)


@cache
def feedparser_module() -> ModuleType:
    """feedparser, set up as the module docstring says, imported at the first call: a
    process that only receives parsed feeds (the daemon, from its parse worker) never
    loads it."""
    import feedparser
    import feedparser.api
    import feedparser.mixin
    from feedparser.mixin import _FeedParserMixin

    feedparser.RESOLVE_RELATIVE_URIS = False
    feedparser.SANITIZE_HTML = False
    _FeedParserMixin.can_be_relative_uri = _FeedParserMixin.can_be_relative_uri - {"id"}
    install_shortcuts(feedparser.mixin)
    _defer_dates()
    for name in ("StrictFeedParser", "LooseFeedParser"):
        parser = getattr(feedparser.api, name, None)
        if isinstance(parser, type):
            setattr(feedparser.api, name, _decoded_fields(parser))
    return feedparser


@contextmanager
def fields_as_decoded() -> Iterator[None]:
    """feedparser's parses inside the block keep each field's text as it was decoded
    (module docstring): no field is read again as UTF-8. For a feed whose encoding was
    decided once, on a whole body, so no per-field guess may overrule it."""
    token = _FIELDS.set(AS_DECODED)
    try:
        yield
    finally:
        _FIELDS.reset(token)


@contextmanager
def fields_checked() -> Iterator[None]:
    """feedparser's parses inside the block read a field again as UTF-8 only where
    :func:`monitor.ingest.reread.plausible` allows it (module docstring)."""
    token = _FIELDS.set(CHECKED)
    try:
        yield
    finally:
        _FIELDS.reset(token)


def _decoded_fields(parser: type) -> type:
    """``parser`` (feedparser's strict or loose parser class) whose instances read
    fields as :data:`_FIELDS` says. feedparser's per-field re-reading tests
    ``encoding in ('utf-8', …)``: an instance made inside :func:`fields_as_decoded`
    names its encoding ``"utf8"`` (the same codec, for everything else it is used
    for); inside :func:`fields_checked` it does so only while it ends an element whose
    text is not to be read again (:func:`_reread`)."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        parser.__init__(self, *args, **kwargs)
        self._monitor_fields = _FIELDS.get()
        if self._monitor_fields == AS_DECODED:
            self.encoding = "utf8"

    def pop(self: Any, element: str, strip_whitespace: int = 1) -> Any:
        if self._monitor_fields != CHECKED or self.encoding != "utf-8" or _reread(self, element):
            return parser.pop(self, element, strip_whitespace)
        self.encoding = "utf8"
        try:
            return parser.pop(self, element, strip_whitespace)
        finally:
            self.encoding = "utf-8"

    return type(parser.__name__, (parser,), {"__init__": __init__, "pop": pop})


def _reread(parser: Any, element: str) -> bool:
    """Whether the text of ``element``, which ``parser`` is about to end (its pieces,
    on top of feedparser's element stack), is to be read again as UTF-8: not when it
    is ASCII (reading it again gives the same text: the work is skipped) nor when
    :func:`~monitor.ingest.reread.plausible` refuses it.

    The text judged is the one feedparser's ``pop`` reads again: its pieces as it joins
    them (a character reference the loose parser read is a piece of UTF-8 bytes:
    ``&#201;&#174;`` is ``É®`` too), base64 content decoded. An element that expects no
    text is returned before any reading again."""
    stack = parser.elementstack
    if not stack or stack[-1][0] != element or not stack[-1][1]:
        return True  # feedparser's pop returns without output, or before reading again
    pieces = stack[-1][2]
    if _ascii(pieces) and not _base64(parser):
        return False
    text = "".join(p.decode("utf-8") if isinstance(p, bytes) else p for p in pieces).strip()
    if _base64(parser):
        with suppress(binascii.Error, binascii.Incomplete, UnicodeDecodeError):  # as feedparser
            text = base64.decodebytes(text.encode("utf8")).decode("utf8")
    return plausible(text)


def _ascii(pieces: list[Any]) -> bool:
    """Whether every piece is ASCII text (str; a bytes piece is not), in one join:
    ``str.isascii`` reads a flag, so the test is the join's copy (~0.3 µs for a
    summary) where a check piece by piece cost ~2 µs an element."""
    try:
        return "".join(pieces).isascii()
    except TypeError:
        return False


def _base64(parser: Any) -> bool:
    """Whether ``parser``'s current content is base64, which its ``pop`` decodes."""
    return bool(parser.contentparams.get("base64", 0))


def _defer_dates() -> None:
    """feedparser's namespaces stop reading dates while parsing (module docstring)."""
    from feedparser.namespaces import _base, dc

    for namespace in (_base, dc):
        if callable(getattr(namespace, "_parse_date", None)):
            namespace._parse_date = _not_read


def _not_read(value: Any) -> DeferredDate | None:
    """feedparser's ``_parse_date`` in its namespaces: the text kept to be read later."""
    return DeferredDate(value) if isinstance(value, str) and value else None
