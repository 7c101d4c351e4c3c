"""Turning models into JSON text for the database and back, and timestamps into text.

Timestamps are stored as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC), which sorts as text. Items
and matches are stored compactly (format 4, below); rows of earlier versions are read.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from monitor.dedup.identity import HASH_DIGITS, SHORT_HASH_DIGITS
from monitor.memo import remember_short
from monitor.models import FeedRef, Highlight, Item, Match


def ts(moment: datetime | None) -> str | None:
    """A UTC timestamp as sortable text (None stays None)."""
    if moment is None:
        return None
    return _utc_text(moment.astimezone(UTC))


@lru_cache(maxsize=64)
def _utc_text(moment: datetime) -> str:
    """:func:`ts` of a UTC datetime, remembered for the last 64 (a poll stores its one
    ``now`` with each of its items). Keyed in UTC: two local times that compare equal
    but are an hour apart (``fold``) never share an entry."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def not_before(moment: datetime) -> datetime:
    """``moment`` rounded *up* to the second: a "not before" time as it is stored.

    Timestamps are stored to the second; truncating a retry time would make a
    sub-second backoff come due at once.
    """
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment


def ts_not_before(moment: datetime) -> str:
    """Like :func:`ts` for a "not before" time (see :func:`not_before`)."""
    return ts(not_before(moment)) or ""


_STORED_TS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def parse_ts(text: str | None) -> datetime | None:
    """The inverse of :func:`ts`: an aware UTC datetime (None for None or "").

    What :func:`ts` writes is read by ``datetime.fromisoformat`` (~0.4 us; 3.11 reads
    the ``Z``), everything else by ``strptime`` (~5 us) as before, so the same texts
    are accepted (``strptime`` is lenient: one-digit fields, lower case) and the same
    ones rejected (an offset, a fraction, a date alone): ValueError.
    """
    if not text:
        return None
    if _STORED_TS.fullmatch(text):
        return datetime.fromisoformat(text)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# The stored form of items and matches (``items.data``, ``matches.data``), in one place.
#
# Format 4 (written on SQLite since schema 17, issue #18) is compact JSON: no spaces,
# empty fields left out, and what the row's columns already hold not repeated: ``id``
# only when it is not the row's ``item_key``, ``guid`` absent when it is the id
# (``null`` when there is none), ``feed`` absent when the feed is the row's and its name
# is the one ``feed_refs.name`` holds (the feed's name when items were first recorded
# for it), its name alone when only the name differs, ``[name, url]`` otherwise;
# ``published`` in whole seconds since the Unix epoch (UTC). A *full* item (``"f":1``)
# keeps summary, content, author, tags and language; a *slim* one (no ``f``) only what
# dedup, history and a story's "also reported by" line read (title, link, guid, date):
# for an item no message will show. Long text (summary and content together over
# ZLIB_FROM bytes) is compressed under ``z`` as base64 text (the column is TEXT), when
# that is shorter: raw deflate at level 9 (no zlib header or checksum: 8 characters
# less), one-shot (``zlib.compressobj`` per item measured twice as slow). Base85 would be
# 6 % shorter again, but Python encodes it ~80x slower than base64 (23 us an item, ~3 %
# of a first poll's CPU).
# Format 3 (schema 11; still written on PostgreSQL, so that an instance of the previous
# version keeps reading every row during a rolling upgrade) is the same with ``feed``
# always there, ``published`` as :func:`ts` text and slim items marked ``"x":1``.
# Format 2 is format 3 with zlib at level 6; format 1 (no ``"v"``) spelled every field
# out. All are still read. ``title`` and ``link`` keep their names and forms in every
# format, because SQL reads them (``json_extract(data, '$.title')``); ``published``
# keeps its name (SQL reads it as text or a number: :func:`moment_of`).

ITEM_FORMAT = 4
ROLLING_FORMAT = 3  # what PostgreSQL writes: every running version reads it
COMPACT_FORMATS = (2, 3, 4)  # formats that leave out what the row's columns hold
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ZLIB_FROM = 600  # bytes of summary + content before compressing is tried
_COMPACT = {"separators": (",", ":"), "ensure_ascii": False}


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

    ``version``: 4 (:data:`ITEM_FORMAT`) or 3 (:data:`ROLLING_FORMAT`); see above.
    ``full=False`` stores a slim row: for an item that no message will show (it matched
    no rule). Without ``feed_url`` and ``key`` the feed and id are spelled out (a
    self-contained value). Raises ValueError for another ``version``.
    """
    if version not in (ROLLING_FORMAT, ITEM_FORMAT):
        raise ValueError(f"items are written in format {ITEM_FORMAT} or {ROLLING_FORMAT}")
    data: dict[str, Any] = {"v": version, "title": item.title}
    if item.feed.url != feed_url:
        data["feed"] = [item.feed.name, item.feed.url]
    elif version == ROLLING_FORMAT or item.feed.name != feed_name:
        data["feed"] = item.feed.name
    if item.id != key:
        data["id"] = item.id
    if item.guid != item.id:
        data["guid"] = item.guid
    if item.link is not None:
        data["link"] = item.link
    if item.published is not None:
        published = item.published
        data["published"] = ts(published) if version == ROLLING_FORMAT else epoch_seconds(published)
    if not full:
        if version == ROLLING_FORMAT:
            data["x"] = 1
        return json.dumps(data, **_COMPACT)
    if version == ITEM_FORMAT:
        data["f"] = 1
    _pack_text(data, item.summary, item.content)
    for name, value in (("author", item.author), ("lang", item.lang)):
        if value is not None:
            data[name] = value
    if item.tags:
        data["tags"] = list(item.tags)
    return json.dumps(data, **_COMPACT)


def epoch_seconds(moment: datetime) -> int:
    """Whole seconds from the Unix epoch to ``moment``, rounded down as :func:`ts`
    truncates: how format 4 stores a date. A naive ``moment`` is local time, as for
    :func:`ts`."""
    return (moment.astimezone(UTC) - EPOCH) // timedelta(seconds=1)


def moment_of(value: int | float | str | None) -> datetime | None:
    """A stored date read back: seconds since the epoch (format 4; a number, or its
    digits as PostgreSQL's ``->>`` gives them) or :func:`ts` text (earlier formats,
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
        raw = json.dumps([summary, content], **_COMPACT).encode("utf-8", "surrogatepass")
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
    the row's columns and its ``feed_refs.name`` (formats 2 to 4 leave out what they
    hold). Raises ValueError (json, zlib or base64) on a corrupt value."""
    data = json.loads(text)
    version = data.get("v")
    if version not in COMPACT_FORMATS:
        return StoredItem(_legacy_item(data))
    feed = data.get("feed", feed_name or "")
    ref = FeedRef(*feed) if isinstance(feed, list) else FeedRef(feed, feed_url or "")
    item_id = data.get("id", key)
    summary, content = data.get("summary", ""), data.get("content", "")
    if "z" in data:
        packed = base64.b64decode(data["z"])
        raw = zlib.decompress(packed) if version == 2 else zlib.decompress(packed, -15)
        summary, content = json.loads(raw.decode("utf-8", "surrogatepass"))
    item = Item(
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
    full = data.get("f") == 1 if version == ITEM_FORMAT else not data.get("x")
    return StoredItem(item, full=full)


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


def with_feed_name(text: str, name: str) -> str:
    """``items.data`` of format 4 that leaves its feed's name to ``feed_refs.name``
    with ``name`` spelled out (for a row about to name another ``feed_refs`` row); any
    other value as it is. Raises ValueError (json) on a corrupt value."""
    if not text.startswith(f'{{"v":{ITEM_FORMAT},'):
        return text
    data = json.loads(text)
    if "feed" in data:
        return text
    return json.dumps({**data, "feed": name}, **_COMPACT)


def is_compact(text: str) -> bool:
    """Whether ``items.data`` text is of a format that leaves the row's key out (2-4):
    renaming the row's key must then spell the item's id out."""
    return any(text.startswith(f'{{"v":{v},') for v in COMPACT_FORMATS)


@remember_short(8192)
def text_hash(text: str | None) -> int | None:
    """A 64-bit signed hash of ``text`` (None stays None): how ``items`` indexes item
    keys and canonical links (``key_hash``, ``url_hash``) instead of the text itself.

    blake2b, 8 bytes, big-endian, signed (SQLite's INTEGER and PostgreSQL's BIGINT are
    signed 64-bit). Two texts may share a hash: every lookup compares the row's text.
    Remembered for the last 8,192 texts (:mod:`monitor.memo`): a poll hashes each key
    to look it up and again to store it.
    """
    if text is None:
        return None
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def stored_hash(digest: str, short: bool) -> str | bytes:
    """A content hash (:func:`monitor.dedup.identity.content_hash`, hex) as
    ``items.content_hash`` keeps it: ``short`` (SQLite), its first 8 bytes as a BLOB (9
    bytes on disk against 25 for the hex; 64 bits tell one item's versions apart), else
    the hex as it is (PostgreSQL, where the previous version compares the whole hex).
    A value that is not a hash of that form is kept as it is."""
    if short and len(digest) == HASH_DIGITS:
        try:
            return bytes.fromhex(digest[:SHORT_HASH_DIGITS])
        except ValueError:
            return digest
    return digest


def read_hash(value: str | bytes | None) -> str | None:
    """``items.content_hash`` as :func:`monitor.dedup.identity.same_content` compares
    it: hex (16 digits for a short one)."""
    return value.hex() if isinstance(value, bytes) else value


def item_to_json(item: Item) -> str:
    """An item as self-contained ``items.data`` text (:func:`pack_item` with the feed
    and id spelled out)."""
    return pack_item(item)


def match_to_json(match: Match) -> str:
    """``matches.data``: a match's terms and highlights (the rule name is a column) as
    compact JSON, ``{"terms":[...],"highlights":[[field,start,end,term],...]}``; empty
    lists left out (a first-poll baseline match is ``{}``)."""
    data: dict[str, Any] = {}
    if match.terms:
        data["terms"] = list(match.terms)
    if match.highlights:
        data["highlights"] = [list(h) for h in match.highlights]
    return json.dumps(data, **_COMPACT)


def match_from_json(rule: str, text: str) -> Match:
    """The match of rule ``rule`` from ``matches.data`` (any version's)."""
    data = json.loads(text)
    highlights = tuple(Highlight(*h) for h in data.get("highlights", ()))
    return Match(rule=rule, terms=tuple(data.get("terms", ())), highlights=highlights)
