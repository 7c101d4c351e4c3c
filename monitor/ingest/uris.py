"""How a feed's relative links become absolute URLs when feedparser reads it.

feedparser joins every link (and every element's ``xml:base``) with the base the
document came from (RFC 3986 §5.2). Three adjustments to that, set up by
:func:`monitor.ingest.parse._feedparser`: the base of a ``file:`` feed is an absolute
``file:///`` URL (:func:`link_base`); a link already resolved to ``file:///`` is not
joined a second time (:func:`keeping_file_uris`); and joins are remembered, since
feedparser asks for the same ones at every element (:func:`remembered`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from monitor.memo import LONGEST

URI_CACHE = 1024  # base URL joins kept per worker (see remembered)


def link_base(url: str) -> str:
    """The URL relative links of a feed fetched from ``url`` are resolved against: the
    URL itself, but a ``file:`` URL as an absolute ``file:///path`` (RFC 8089), its
    path resolved against the working directory as the fetcher reads it. A relative
    ``file:feed.xml`` as base would give ``file:///link`` for ``link`` (RFC 3986 §5.2
    merges with an empty base path), a link pointing nowhere."""
    if url[:5].lower() != "file:" or url[5:8] == "///":
        return url
    rest = url[5:]
    path = urlsplit(url).path if rest.startswith("//") else unquote(rest)
    return Path(os.path.abspath(path)).as_uri()


def keeping_file_uris(join: Callable[..., str]) -> Callable[..., str]:
    """``join`` (feedparser's ``make_safe_absolute_uri``) that leaves an absolute
    ``file:///`` link as it is: feedparser resolves a link once at its element and
    again at the entry, and its fixer for mistyped ``http:///host`` drops the third
    slash of an already resolved ``file:///path``, making its first folder a host."""

    def join_keeping(base: str, rel: str | None = None) -> str:
        if rel and rel[:8].lower() == "file:///":
            return rel
        return join(base, rel)

    return join_keeping


def remembered(join: Callable[..., str]) -> Callable[..., str]:
    """``join`` (feedparser's ``make_safe_absolute_uri(base, rel)``, a function of its
    strings alone) with its last answers kept.

    feedparser calls it at every start tag with the base URL of the element and the
    element's ``xml:base`` (the same base when there is none): a ``urljoin`` per
    element was ~15 % of a parse. Arguments that cannot be hashed are passed through,
    and so are long ones (a feed's text is anyone's: see :mod:`monitor.memo`).
    """
    kept = lru_cache(maxsize=URI_CACHE)(join)

    def remembered(base: str, rel: str | None = None) -> str:
        if len(base) + len(rel or "") > LONGEST:
            return join(base, rel)
        try:
            return kept(base, rel)
        except TypeError:  # unhashable: not from feedparser's own calls
            return join(base, rel)

    return remembered
