"""Plain text from feed HTML: tags dropped, entities decoded, blocks kept as lines."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
    | {"pre", "tr", "table", "section", "article", "header", "footer", "figure", "hr"}
)
_SKIP = frozenset({"script", "style", "template", "noscript", "iframe", "object"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_NEWLINES = re.compile(r"\s*\n\s*")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str, limit: int | None = None) -> str:
    """Readable plain text of an HTML fragment (or of plain text), at most ``limit`` chars."""
    if not html:
        return ""
    if "<" not in html and "&" not in html:
        text = html
    else:
        extractor = _TextExtractor()
        extractor.feed(html)
        extractor.close()
        text = "".join(extractor.parts)
    text = _SPACES.sub(" ", text)
    text = _NEWLINES.sub("\n", text).strip()
    text = "\n\n".join(line.strip() for line in text.split("\n") if line.strip())
    return text[:limit] if limit is not None else text
