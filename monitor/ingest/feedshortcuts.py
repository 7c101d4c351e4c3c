"""Shortcuts in feedparser: the same output for less work (issue #18).

:func:`install` puts them in place; :func:`monitor.ingest.feedsetup.feedparser_module`
calls it once per process. Measured on the 12,096 entries of bench/peers.py's first
poll (feedparser's parse 3.8 → 2.9 s for the first four):

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

Each shortcut is checked against what it replaces in ``tests/unit/test_feedsetup.py``
(and the whole against feedparser without them, over a corpus of 1,500 documents);
one whose target is missing (another feedparser release) is left out, so feedparser
then does the work itself.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from functools import lru_cache
from types import ModuleType, SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from monitor.memo import LONGEST, remember_short

__all__ = ["PLAIN_URL", "identity_first", "install", "plain_first"]

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


def install(mixin: ModuleType) -> None:
    """Put the shortcuts in feedparser's ``mixin`` module (``feedparser.mixin``): its
    URI joins, content parameter copies, ``FeedParserDict`` reads and deletes, and
    windows-1252 table. Each one whose target is missing is left out."""
    mixin.make_safe_absolute_uri = _remembered(mixin.make_safe_absolute_uri)
    if callable(getattr(mixin, "_urljoin", None)):
        mixin._urljoin = plain_first(mixin._urljoin)
    if getattr(mixin, "copy", None) is copy:
        mixin.copy = SimpleNamespace(deepcopy=_copy_params(mixin.FeedParserDict))
    _plain_keys(mixin.FeedParserDict)
    if _is_cp1252_table(getattr(mixin, "_cp1252", None)):
        mixin._cp1252 = identity_first(mixin._cp1252)
    _quiet_del(mixin.FeedParserDict)


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
