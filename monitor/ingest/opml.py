"""Reading an OPML subscription list: feeds with their folder names as tags.

    for feed in read_opml("subscriptions.opml"):
        feed["url"], feed["name"], feed["tags"]

The file is parsed with expat with DTDs refused outright: no entity is ever
declared, expanded or fetched (no billion laughs, no external entities), as
defusedxml does. A nested ``<outline>`` without ``xmlUrl`` is a folder; its
``title``/``text`` becomes a tag of every feed inside it (nested folders add tags).
An outline with neither ``xmlUrl`` nor outlines inside (a web link, an empty
folder) gives no feed: it is listed in :attr:`Opml.skipped`.

:func:`feeds_file` turns the outlines into the ``feeds:`` entries of a file that
``check`` accepts (:mod:`monitor.config.checks`): one feed per URL (reader exports
list a feed in each folder it is filed under), one spelling per tag, one feed per
name, no URL the config refuses.
"""

from __future__ import annotations

import xml.parsers.expat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.errors import ParseError

MAX_BYTES = 20 * 1024 * 1024
MAX_FEEDS = 100_000


@dataclass
class Opml:
    """An OPML document's outlines: ``feeds`` (``{"url", "name", "tags"}``, in document
    order, a URL once per outline that lists it) and ``skipped``, the names of the
    outlines that give no feed (``(untitled)`` when they have none)."""

    feeds: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class _OpmlReader:
    def __init__(self) -> None:
        self.found = Opml()
        self.open: list[list[Any]] = []  # per open outline: [folder name or None, has children]
        self.parser = xml.parsers.expat.ParserCreate()
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.StartDoctypeDeclHandler = self.refuse
        self.parser.EntityDeclHandler = self.refuse
        self.parser.ExternalEntityRefHandler = self.refuse
        self.parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(self, *args: Any) -> None:
        raise ParseError("OPML with a DOCTYPE or entities is refused")

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag.lower() != "outline":
            return
        if self.open:
            self.open[-1][1] = True
        url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
        name = (attrs.get("title") or attrs.get("text") or "").strip()
        if url:
            if len(self.found.feeds) >= MAX_FEEDS:
                raise ParseError(f"OPML lists more than {MAX_FEEDS} feeds")
            tags = [f for f, _ in self.open if f]
            self.found.feeds.append({"url": url, "name": name or None, "tags": tags})
            self.open.append([None, True])  # a feed is never reported as skipped
        else:
            self.open.append([name or None, False])

    def end(self, tag: str) -> None:
        if tag.lower() == "outline" and self.open:
            name, has_children = self.open.pop()
            if not has_children:
                self.found.skipped.append(name or "(untitled)")


def parse_opml(data: bytes) -> list[dict[str, Any]]:
    """The feeds of an OPML document: ``[{"url", "name", "tags"}]`` in document order.
    Raises ParseError for a document that is not XML or declares a DOCTYPE."""
    return parse_outlines(data).feeds


def parse_outlines(data: bytes) -> Opml:
    """The feeds and the skipped outlines of an OPML document (:class:`Opml`).
    Raises ParseError for a document that is not XML or declares a DOCTYPE."""
    reader = _OpmlReader()
    try:
        reader.parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise ParseError(f"not valid OPML: {exc}") from None
    return reader.found


def read_opml(path: str | Path) -> list[dict[str, Any]]:
    """The feeds of the OPML file at ``path`` (see :func:`parse_opml`)."""
    return read_outlines(path).feeds


def read_outlines(path: str | Path) -> Opml:
    """The outlines of the OPML file at ``path`` (see :func:`parse_outlines`). Raises
    OSError when it cannot be read, ParseError when it is over MAX_BYTES or not OPML."""
    with Path(path).open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ParseError(f"{path}: OPML file is over {MAX_BYTES} bytes")
    return parse_outlines(data)


@dataclass
class FeedsFile:
    """The ``feeds:`` entries :func:`feeds_file` made, and what it changed to make them
    pass ``check``: outlines ``merged`` into the first of their URL, ``refused`` URLs
    (a scheme the config does not take), ``renamed`` feeds (old name, new name) and
    ``respelt`` tags (as written, as kept)."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    merged: int = 0
    refused: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    respelt: list[tuple[str, str]] = field(default_factory=list)


def feeds_file(feeds: list[dict[str, Any]]) -> FeedsFile:
    """``feeds`` (:func:`parse_opml`) as the entries of a ``feeds:`` file that ``check``
    accepts: one feed per URL as ``check`` compares them (:func:`~monitor.redact.state_key`),
    keeping the first title and every folder's tag; each tag in the first spelling met
    (``check`` refuses ``Korea`` beside ``korea``); a name another feed has already
    taken given a number (``News (2)``); a URL that is not ``http(s)://`` or ``file:``
    left out. Entries hold only the keys with a value (no empty ``tags``)."""
    from monitor.config.models import FEED_URL_SCHEMES
    from monitor.redact import state_key

    out = FeedsFile()
    by_url: dict[str, dict[str, Any]] = {}
    spelling: dict[str, str] = {}
    for feed in feeds:
        if not FEED_URL_SCHEMES.match(feed["url"]):
            out.refused.append(feed["url"])
            continue
        tags = [_one_spelling(t, spelling, out.respelt) for t in feed["tags"]]
        key = state_key(feed["url"])
        first = by_url.get(key)
        if first is None:
            first = by_url[key] = {**feed, "tags": []}
        else:
            out.merged += 1
            first["name"] = first["name"] or feed["name"]
        first["tags"] += [t for t in tags if t not in first["tags"]]
    names: set[str] = set()
    for feed in by_url.values():
        if feed["name"]:
            feed["name"] = _free_name(feed["name"], names, out.renamed)
        out.entries.append({k: v for k, v in feed.items() if v})
    return out


def _one_spelling(tag: str, spelling: dict[str, str], respelt: list[tuple[str, str]]) -> str:
    """``tag`` as first spelt (case aside); a new spelling is noted in ``respelt``."""
    kept = spelling.setdefault(tag.casefold(), tag)
    if kept != tag and (tag, kept) not in respelt:
        respelt.append((tag, kept))
    return kept


def _free_name(name: str, taken: set[str], renamed: list[tuple[str, str]]) -> str:
    """``name``, or ``name (2)``, ``(3)``… when taken; the name returned is taken."""
    free, n = name, 1
    while free in taken:
        n += 1
        free = f"{name} ({n})"
    if free != name:
        renamed.append((name, free))
    taken.add(free)
    return free
