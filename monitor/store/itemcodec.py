"""The stored form of an item (``items.data``): every format written, every one read.

Split from :mod:`monitor.store.codec` (timestamps, hashes, matches): the item formats
and the rules of what a row leaves to its columns live here, in one place.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.models import FeedRef, Item
from monitor.store.codec import compact_json, parse_ts, ts

# Format 5 (written on SQLite since schema 18, issue #18): a *slim* item, one no
# message will show (it matched no rule, or backfill held it back: most rows), is a
# JSON array ``[title, link, published]``, with a fourth element, an object, only for
# what the row's columns do not say (``feed``, ``id``, ``guid`` as below): 33 bytes an
# item less than format 4's object. A *full* item (summary, content, author, tags,
# language kept) is an object, ``{"v":5,...}``, as in format 4 without its ``"f":1``.
# Format 4 (SQLite schema 17) is compact JSON: no spaces, empty fields left out, and
# what the row's columns already hold not repeated: ``id`` only when it is not the
# row's ``item_key``, ``guid`` absent when it is the id (``null`` when there is none),
# ``feed`` absent when the feed is the row's and its name is the one ``feed_refs.name``
# holds (the feed's name when items were first recorded for it), its name alone when
# only the name differs, ``[name, url]`` otherwise; ``published`` in whole seconds since
# the Unix epoch (UTC); full items marked ``"f":1``. Long text (summary and content
# together over ZLIB_FROM bytes) is compressed under ``z`` as base64 text (the column is
# TEXT), when that is shorter: raw deflate at level 9 (no zlib header or checksum: 8
# characters less), one-shot (``zlib.compressobj`` per item measured twice as slow).
# Base85 would be 6 % shorter again, but Python encodes it ~80x slower than base64 (23
# us an item, ~3 % of a first poll's CPU).
# Format 3 (schema 11; still written on PostgreSQL, so that an instance of the previous
# version keeps reading every row during a rolling upgrade) is format 4 with ``feed``
# always there, ``published`` as :func:`ts` text and slim items marked ``"x":1``.
# Format 2 is format 3 with zlib at level 6; format 1 (no ``"v"``) spelled every field
# out. All are still read. SQL reads ``title``, ``link`` and ``published``
# (:func:`monitor.store.itemreads.item_field`): by name in an object, by
# :data:`SLIM_FIELDS` position in an array.

ITEM_FORMAT = 5
ROLLING_FORMAT = 3  # what PostgreSQL writes: every running version reads it
COMPACT_FORMATS = (2, 3, 4, 5)  # formats that leave out what the row's columns hold
SLIM_FIELDS = ("title", "link", "published")  # a format-5 slim row's positions
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ZLIB_FROM = 600  # bytes of summary + content before compressing is tried


@dataclass(frozen=True)
class StoredItem:
    """An item as read back: ``full`` is False for a slim row (its text was not kept)."""

    item: Item
    full: bool = True


def pack_item(
    item: Item,
    feed_url: str | None = None,
    key: str | None = None,
    *,
    full: bool = True,
    feed_name: str | None = None,
    version: int = ITEM_FORMAT,
) -> str:
    """``item`` as ``items.data`` text, for the row of ``feed_url`` and ``key`` whose
    feed's ``feed_refs.name`` is ``feed_name``.

    ``version``: 5 (:data:`ITEM_FORMAT`) or 3 (:data:`ROLLING_FORMAT`); see above.
    ``full=False`` stores a slim row: for an item that no message will show. Without
    ``feed_url`` and ``key`` the feed and id are spelled out (a self-contained value).
    Raises ValueError for another ``version``.
    """
    if version not in (ROLLING_FORMAT, ITEM_FORMAT):
        raise ValueError(f"items are written in format {ITEM_FORMAT} or {ROLLING_FORMAT}")
    named = _named(item, feed_url, key, feed_name, version)
    published = item.published
    when = None if published is None else epoch_seconds(published)
    if version == ITEM_FORMAT and not full:
        fields = {"title": item.title, "link": item.link, "published": when}
        row: list[Any] = [fields[name] for name in SLIM_FIELDS]
        return compact_json([*row, named] if named else row)
    data: dict[str, Any] = {"v": version, "title": item.title, **named}
    if item.link is not None:
        data["link"] = item.link
    if published is not None:
        data["published"] = ts(published) if version == ROLLING_FORMAT else when
    if not full:  # format 3 marks its slim rows
        return compact_json({**data, "x": 1})
    _pack_text(data, item.summary, item.content)
    for name, value in (("author", item.author), ("lang", item.lang)):
        if value is not None:
            data[name] = value
    if item.tags:
        data["tags"] = list(item.tags)
    return compact_json(data)


def _named(
    item: Item, feed_url: str | None, key: str | None, feed_name: str | None, version: int
) -> dict[str, Any]:
    """What a row of ``version`` spells out about its feed, id and guid (see above)."""
    named: dict[str, Any] = {}
    if item.feed.url != feed_url:
        named["feed"] = [item.feed.name, item.feed.url]
    elif version == ROLLING_FORMAT or item.feed.name != feed_name:
        named["feed"] = item.feed.name
    if item.id != key:
        named["id"] = item.id
    if item.guid != item.id:
        named["guid"] = item.guid
    return named


def epoch_seconds(moment: datetime) -> int:
    """Whole seconds from the Unix epoch to ``moment``, rounded down as :func:`ts`
    truncates: how formats 4 and 5 store a date. A naive ``moment`` is local time, as
    for :func:`ts`."""
    return (moment.astimezone(UTC) - EPOCH) // timedelta(seconds=1)


def moment_of(value: int | float | str | None) -> datetime | None:
    """A stored date read back: seconds since the epoch (formats 4 and 5; a number, or
    its digits as PostgreSQL's ``->>`` gives them) or :func:`ts` text (earlier formats,
    ``first_seen``). None for None or ""; ValueError or OverflowError for a value that
    is neither."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) or value.lstrip("-").isdigit():
        return EPOCH + timedelta(seconds=int(value))
    return parse_ts(value)


def _pack_text(data: dict[str, Any], summary: str, content: str) -> None:
    """Summary and content into ``data``: as they are, or compressed when that pays."""
    if len(summary) + len(content) >= ZLIB_FROM // 4:
        raw = compact_json([summary, content]).encode("utf-8", "surrogatepass")
        if len(raw) >= ZLIB_FROM:
            deflated = zlib.compress(raw, 9, wbits=-15)  # raw: no header, no checksum
            packed = base64.b64encode(deflated).decode("ascii")
            if len(packed) < len(raw) * 9 // 10:
                data["z"] = packed
                return
    if summary:
        data["summary"] = summary
    if content:
        data["content"] = content


def unpack_item(
    text: str, feed_url: str | None = None, key: str | None = None, feed_name: str | None = None
) -> StoredItem:
    """Read ``items.data`` of any format; ``feed_url``, ``key`` and ``feed_name`` are
    the row's columns and its ``feed_refs.name`` (formats 2 to 5 leave out what they
    hold). Raises ValueError (json, zlib or base64) on a corrupt value."""
    data = json.loads(text)
    if isinstance(data, list):
        return StoredItem(_compact_item(_slim_object(data), feed_url, key, feed_name), False)
    version = data.get("v")
    if version not in COMPACT_FORMATS:
        return StoredItem(_legacy_item(data))
    if version == ITEM_FORMAT:  # slim rows are arrays
        full = True
    elif version == 4:  # full rows marked
        full = data.get("f") == 1
    else:  # formats 2 and 3: slim rows marked
        full = not data.get("x")
    return StoredItem(_compact_item(data, feed_url, key, feed_name), full=full)


def _slim_parts(row: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """A format-5 slim row's fields (in :data:`SLIM_FIELDS` order) and the object of
    what it spells out (``feed``, ``id``, ``guid``; empty when none)."""
    width = len(SLIM_FIELDS)
    return row[:width], (row[width] if len(row) > width else {})


def _slim_object(row: list[Any]) -> dict[str, Any]:
    """A format-5 slim row as the object :func:`_compact_item` reads."""
    fields, named = _slim_parts(row)
    return {"v": ITEM_FORMAT, **dict(zip(SLIM_FIELDS, fields, strict=True)), **named}


def _compact_item(
    data: dict[str, Any], feed_url: str | None, key: str | None, feed_name: str | None
) -> Item:
    """The item of a format 2 to 5 row, read as an object (see :func:`unpack_item`)."""
    feed = data.get("feed", feed_name or "")
    ref = FeedRef(*feed) if isinstance(feed, list) else FeedRef(feed, feed_url or "")
    item_id = data.get("id", key)
    summary, content = data.get("summary", ""), data.get("content", "")
    if "z" in data:
        packed = base64.b64decode(data["z"])
        raw = zlib.decompress(packed) if data["v"] == 2 else zlib.decompress(packed, -15)
        summary, content = json.loads(raw.decode("utf-8", "surrogatepass"))
    return Item(
        feed=ref,
        id=item_id,
        title=data["title"],
        link=data.get("link"),
        guid=data.get("guid", item_id),
        summary=summary,
        content=content,
        published=moment_of(data.get("published")),
        author=data.get("author"),
        tags=tuple(data.get("tags", ())),
        lang=data.get("lang"),
    )


def _legacy_item(data: dict[str, Any]) -> Item:
    """An item of format 1 (every field, spelled out)."""
    return Item(
        feed=FeedRef(*data["feed"]),
        id=data["id"],
        title=data["title"],
        link=data["link"],
        guid=data["guid"],
        summary=data["summary"],
        content=data["content"],
        published=parse_ts(data["published"]),
        author=data["author"],
        tags=tuple(data["tags"]),
        lang=data["lang"],
    )


def title_and_link(text: str) -> tuple[str | None, str | None]:
    """The title and link of ``items.data`` of any format (what ``history`` shows of a
    row). Raises ValueError (json) on a corrupt value."""
    data = json.loads(text)
    if isinstance(data, list):
        data = _slim_object(data)
    return data.get("title"), data.get("link")


def with_feed_name(text: str, name: str) -> str:
    """``items.data`` of format 4 or 5 that leaves its feed's name to
    ``feed_refs.name`` with ``name`` spelled out (for a row about to name another
    ``feed_refs`` row); any other value as it is. Raises ValueError (json) on a
    corrupt value."""
    if text.startswith("["):
        fields, named = _slim_parts(json.loads(text))
        if "feed" in named:
            return text
        return compact_json([*fields, {**named, "feed": name}])
    if not text.startswith(('{"v":4,', f'{{"v":{ITEM_FORMAT},')):
        return text
    data = json.loads(text)
    if "feed" in data:
        return text
    return compact_json({**data, "feed": name})


def is_compact(text: str) -> bool:
    """Whether ``items.data`` text is of a format that leaves the row's key out (2-5):
    renaming the row's key must then spell the item's id out."""
    return text.startswith("[") or any(text.startswith(f'{{"v":{v},') for v in COMPACT_FORMATS)


def item_to_json(item: Item) -> str:
    """An item as self-contained ``items.data`` text (:func:`pack_item` with the feed
    and id spelled out)."""
    return pack_item(item)
