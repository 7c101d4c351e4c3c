"""Reading an OPML subscription list: feeds with their folder names as tags.

    for feed in read_opml("subscriptions.opml"):
        feed["url"], feed["name"], feed["tags"]

The file is parsed with expat with DTDs refused outright: no entity is ever
declared, expanded or fetched (no billion laughs, no external entities), as
defusedxml does. A nested ``<outline>`` without ``xmlUrl`` is a folder; its
``title``/``text`` becomes a tag of every feed inside it (nested folders add tags).
"""

from __future__ import annotations

import xml.parsers.expat
from pathlib import Path
from typing import Any

from monitor.errors import ParseError

MAX_BYTES = 20 * 1024 * 1024
MAX_FEEDS = 100_000


class _OpmlReader:
    def __init__(self) -> None:
        self.feeds: list[dict[str, Any]] = []
        self.folders: list[str | None] = []
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
        url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
        name = (attrs.get("title") or attrs.get("text") or "").strip()
        if url:
            if len(self.feeds) >= MAX_FEEDS:
                raise ParseError(f"OPML lists more than {MAX_FEEDS} feeds")
            tags = [f for f in self.folders if f]
            self.feeds.append({"url": url, "name": name or None, "tags": tags})
            self.folders.append(None)
        else:
            self.folders.append(name or None)

    def end(self, tag: str) -> None:
        if tag.lower() == "outline" and self.folders:
            self.folders.pop()


def parse_opml(data: bytes) -> list[dict[str, Any]]:
    """The feeds of an OPML document: ``[{"url", "name", "tags"}]`` in document order."""
    reader = _OpmlReader()
    try:
        reader.parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise ParseError(f"not valid OPML: {exc}") from None
    return reader.feeds


def read_opml(path: str | Path) -> list[dict[str, Any]]:
    """The feeds of the OPML file at ``path`` (see :func:`parse_opml`)."""
    with Path(path).open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ParseError(f"{path}: OPML file is over {MAX_BYTES} bytes")
    return parse_opml(data)
