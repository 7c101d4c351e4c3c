"""JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1) to feedparser-shaped entries.

feedparser does not read JSON Feed. This turns one into the same shape
:func:`monitor.ingest.parse.parse_feed` returns for RSS and Atom: plain dicts with
``id``, ``link``, ``title`` and ``summary`` (``(text, "text")``: JSON Feed says they
are plain text), ``content`` (``[(html, "html")]`` or ``[(text, "text")]``),
``author``, ``tags`` (``[{"term": ...}]``), ``language`` and ``published`` /
``updated`` (``(as written, None)``, read by :mod:`monitor.ingest.dates`); relative
URLs resolved on the feed's. An item that is not what the spec says (``"tags":
true``, an ``id`` that is an object) is skipped with its position and the reason,
never the whole feed. Text is made storable: a lone UTF-16 surrogate (``"\\ud800"``,
valid JSON but not Unicode text, RFC 8259 §8.2) becomes U+FFFD, and an integer of
more digits than Python reads (4,300) becomes a float instead of failing the document.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urljoin

MAX_ITEMS = 10_000
MAX_INT_DIGITS = 4_000  # Python refuses int("...") beyond 4,300 digits (CVE-2020-10735)
_SURROGATE = re.compile("[\ud800-\udfff]")


def looks_like_json_feed(body: bytes, content_type: str | None) -> bool:
    """True when the body is (meant to be) a JSON document."""
    if content_type and "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse_json_feed(body: bytes, url: str) -> dict[str, Any] | None:
    """``{"title", "language", "home", "entries"}`` of a JSON Feed, None if it is not one."""
    try:
        data = json.loads(body.decode("utf-8-sig", errors="replace"), parse_int=_int)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        return None
    base = _text(data.get("feed_url")) or url
    home = _text(data.get("home_page_url"))
    base = urljoin(url, home or base)
    feed_authors = _authors(data)
    items = data.get("items") if isinstance(data.get("items"), list) else []
    entries, skipped = [], []
    for position, item in enumerate(items[:MAX_ITEMS], start=1):
        try:
            entry = _entry(item, base, feed_authors)
        except Exception as exc:  # one item, whatever it holds, costs only itself
            skipped.append((position, f"{type(exc).__name__}: {exc}"[:200]))
            continue
        entry["position"] = position
        entries.append(entry)
    return {
        "title": _text(data.get("title")),
        "language": _text(data.get("language")) or None,
        "entries": entries,
        "warning": None,
        "skipped": skipped,
    }


def _entry(item: Any, base: str, feed_authors: str) -> dict[str, Any]:
    """One item as an entry; raise TypeError/ValueError when it is not shaped as the spec says."""
    if not isinstance(item, dict):
        raise TypeError("an item is not an object")
    link = _text(item.get("url")) or _text(item.get("external_url"))
    html, plain = _text(item.get("content_html")), _text(item.get("content_text"))
    tags = item.get("tags") or []
    if not isinstance(tags, list):
        raise TypeError("tags is not a list")
    ident = _scalar(item.get("id"))
    entry: dict[str, Any] = {
        "id": ident or None,
        "link": urljoin(base, link) if link else None,
        "title": (_text(item.get("title")), "text"),
        "summary": (_text(item.get("summary")), "text"),
        "content": [(html, "html")] if html else [(plain, "text")] if plain else [],
        "author": _authors(item) or feed_authors or None,
        "tags": [{"term": term} for term in map(_scalar, tags) if term],
        "language": _text(item.get("language")) or None,
    }
    for key, field in (("published", "date_published"), ("updated", "date_modified")):
        entry[key] = (_text(item.get(field)) or None, None)
    return entry


def _authors(obj: dict) -> str:
    authors = obj.get("authors")
    if not isinstance(authors, list):
        authors = [obj.get("author")] if isinstance(obj.get("author"), dict) else []
    names = [_text(a.get("name")) for a in authors if isinstance(a, dict)]
    return ", ".join(n for n in names if n)


def _int(digits: str) -> int | float:
    """A JSON integer; one too long for ``int()`` is read as a float (inf), not an error."""
    return int(digits) if len(digits) <= MAX_INT_DIGITS else float(digits)


def _scalar(value: Any) -> str:
    """A string or integer as text (an id, a tag); anything else (true, 1.5, {}) is ""."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text(value)


def _text(value: Any) -> str:
    """A JSON string stripped, lone surrogates replaced; "" for anything else."""
    return _SURROGATE.sub("\ufffd", value).strip() if isinstance(value, str) else ""
