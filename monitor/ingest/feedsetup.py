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

Shortcuts (the same output for less work; measured on the 12,096 entries of
bench/peers.py's first poll, feedparser's parse 3.8 → 2.9 s without the dict's, issue
#18):

- ``make_safe_absolute_uri(base, xml:base)``, called at every start tag with the
  same two strings, remembers its last answers (~15 % of a parse);
- ``_urljoin(base, uri)`` returns a plain absolute http(s) URL as it is, which is what
  :func:`urllib.parse.urljoin` gives for one (Python 3.11: an absolute URL with a host
  is returned re-joined from its parts, and for the characters :data:`PLAIN_URL`
  allows the parts join back to the same text) when the base can be parsed (else
  feedparser's gives ``""``); anything else goes to feedparser's;
- ``copy.deepcopy`` of a content element's parameters (a ``FeedParserDict`` of
  strings, twice an entry) is a copy of the dict: its values cannot change;
- ``FeedParserDict.get`` and ``in`` of a key without an alias or a special meaning
  (``keymap``, ``category``, ``enclosures``, ``license``, ``updated*``) are the plain
  dict's, which is what its own code does for such a key after a ``try`` and two
  lookups (~5 a start or end tag: ``contentparams.get("type")``);
- its ``pop`` maps windows-1252's extensions in every field's text (``str.translate``
  of a table of 27 code points, 0x80-0x9F); the table also maps every other Latin-1
  code point to itself, the same translation, so ``str.translate`` no longer raises
  and clears a ``LookupError`` for each distinct character (~3.5 against ~5.7 µs for
  a 1,300-character ASCII summary, ~42 against ~76 µs for accented text);
- its ``pop`` then deletes ``mode`` and ``base64`` from the content parameters, each
  in a ``try`` that passes on ``KeyError``, after every element (~0.8 µs an absent
  key); ``del`` of either key, absent, from a ``FeedParserDict`` is a no-op instead
  (feedparser deletes no other key from one);
- the entry dates are not read by feedparser while parsing: its ``*_parsed`` values
  are :class:`~monitor.ingest.dates.DeferredDate`, the text it was given, and
  :mod:`monitor.ingest.dates`, which reads dates exactly itself, asks feedparser's
  reading (:func:`~monitor.ingest.datecheck.feedparser_date`) of that text only when it
  does not recognise the entry's, which is rare.

Each shortcut is checked against what it replaces in ``tests/unit/test_feedsetup.py``;
one whose target is missing (another feedparser release) is left out, so feedparser
then does the work itself.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from functools import cache, lru_cache
from types import ModuleType, SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from monitor.ingest.dates import DeferredDate
from monitor.ingest.reread import plausible
from monitor.memo import LONGEST, remember_short

__all__ = [
    "PLAIN_URL",
    "feedparser_module",
    "fields_as_decoded",
    "fields_checked",
    "identity_first",
]

URI_CACHE = 1024  # base URL joins kept per process (see _remembered)
# An absolute http(s) URL that urljoin gives back unchanged: lower-case scheme, a host
# of letters, digits, dots and hyphens, an optional port, a path and a non-empty query
# of unreserved and sub-delimiter characters (RFC 3986), no ";" (urlparse splits
# parameters off at it), no fragment, no white space; and no dot segment (DOT_SEGMENT).
PLAIN_URL = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~!$&'()*+,=:@%/-]*)?"
    r"(?:\?[A-Za-z0-9._~!$&'()*+,=:@%/?-]+)?\Z"
)
DOT_SEGMENT = re.compile(r"/\.\.?(?:[/?]|\Z)")
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
    mixin = feedparser.mixin
    mixin.make_safe_absolute_uri = _remembered(mixin.make_safe_absolute_uri)
    if callable(getattr(mixin, "_urljoin", None)):
        mixin._urljoin = plain_first(mixin._urljoin)
    if getattr(mixin, "copy", None) is copy:
        mixin.copy = SimpleNamespace(deepcopy=_copy_params(mixin.FeedParserDict))
    _plain_keys(mixin.FeedParserDict)
    if _is_cp1252_table(getattr(mixin, "_cp1252", None)):
        mixin._cp1252 = identity_first(mixin._cp1252)
    _quiet_del(mixin.FeedParserDict)
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


def _remembered(join: Callable[..., str]) -> Callable[..., str]:
    """``join`` (feedparser's ``make_safe_absolute_uri(base, rel)``, a function of its
    strings alone) with its last answers kept. Arguments that cannot be hashed are
    passed through, and so are long ones (a feed's text is anyone's: see
    :mod:`monitor.memo`)."""
    kept = lru_cache(maxsize=URI_CACHE)(join)

    def remembered(base: str, rel: str | None = None) -> str:
        if len(base) + len(rel or "") > LONGEST:
            return join(base, rel)
        try:
            return kept(base, rel)
        except TypeError:  # unhashable: not from feedparser's own calls
            return join(base, rel)

    return remembered


def plain_first(join: Callable[[str, str], str]) -> Callable[[str, str], str]:
    """``join`` (feedparser's ``_urljoin(base, uri)``) that returns a :data:`PLAIN_URL`
    ``uri`` as it is, without asking ``join``: the same answer (module docstring)."""

    def joined(base: str, uri: str) -> str:
        plain = isinstance(uri, str) and PLAIN_URL.match(uri) and not DOT_SEGMENT.search(uri)
        if plain and isinstance(base, str) and _parses(base):
            return uri
        return join(base, uri)

    return joined


@remember_short(URI_CACHE)
def _parses(base: str) -> bool:
    """Whether :func:`urllib.parse.urlsplit` reads ``base`` without an error (an
    unbalanced ``[`` in the host, say), remembered for the last short bases."""
    try:
        urlsplit(base)
    except ValueError:
        return False
    return True


def _copy_params(params_type: type) -> Callable[..., Any]:
    """``copy.deepcopy`` that copies a ``params_type`` (``FeedParserDict``) of strings
    as a plain dict copy (its values are immutable, so nothing deeper differs)."""

    def deepcopy(value: Any, memo: dict | None = None) -> Any:
        if (
            type(value) is params_type
            and not value.__dict__
            and all(v is None or type(v) is str for v in dict.values(value))
        ):
            copied = params_type()
            dict.update(copied, value)
            return copied
        return copy.deepcopy(value, memo)

    return deepcopy


def _plain_keys(params_type: type) -> None:
    """``get`` and ``in`` of ``params_type`` (``FeedParserDict``) as a dict's for a key
    its own methods treat as a dict would (module docstring)."""
    keymap = getattr(params_type, "keymap", None)
    if not isinstance(keymap, dict) or getattr(params_type.get, "plain_keys", False):
        return
    special = frozenset(keymap) | {"category", "enclosures", "license"}
    special |= {"updated", "updated_parsed"}
    their_get, their_contains = params_type.get, params_type.__contains__

    def get(self: dict, key: Any, default: Any = None) -> Any:
        if key in special:
            return their_get(self, key, default)
        return dict.get(self, key, default)

    def contains(self: dict, key: Any) -> bool:
        if key in special:
            return their_contains(self, key)
        return dict.__contains__(self, key)

    get.plain_keys = True  # type: ignore[attr-defined]
    params_type.get, params_type.__contains__ = get, contains


def _is_cp1252_table(table: Any) -> bool:
    """Whether ``table`` is feedparser's ``_cp1252`` as :func:`identity_first` expects it:
    a dict from the code points 0x80-0x9F it maps (no others) to text."""
    return (
        isinstance(table, dict)
        and all(type(k) is int and 0x80 <= k <= 0x9F for k in table)
        and all(isinstance(v, str) for v in table.values())
    )


def identity_first(table: dict[int, str]) -> dict[int, int | str]:
    """``table`` (feedparser's windows-1252 extensions, 0x80-0x9F) with every other
    Latin-1 code point (0-0xFF) mapped to itself: ``text.translate`` gives the same text
    for any ``text`` (module docstring)."""
    return {**{code: code for code in range(0x100)}, **table}


def _quiet_del(params_type: type) -> None:
    """``del`` of ``mode`` or ``base64`` that ``params_type`` (``FeedParserDict``) does
    not hold returns, as feedparser's ``try: … except KeyError: pass`` around it would;
    anything else is ``dict``'s (module docstring)."""
    if getattr(params_type.__delitem__, "quiet_del", False):
        return
    their_del = params_type.__delitem__

    def delitem(self: dict, key: Any) -> None:
        if key in _QUIET_KEYS and not dict.__contains__(self, key):
            return
        their_del(self, key)

    delitem.quiet_del = True  # type: ignore[attr-defined]
    params_type.__delitem__ = delitem


_QUIET_KEYS = frozenset({"mode", "base64"})


def _defer_dates() -> None:
    """feedparser's namespaces stop reading dates while parsing (module docstring)."""
    from feedparser.namespaces import _base, dc

    for namespace in (_base, dc):
        if callable(getattr(namespace, "_parse_date", None)):
            namespace._parse_date = _not_read


def _not_read(value: Any) -> DeferredDate | None:
    """feedparser's ``_parse_date`` in its namespaces: the text kept to be read later."""
    return DeferredDate(value) if isinstance(value, str) and value else None
