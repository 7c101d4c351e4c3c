"""The read side of the items store: what is already recorded, and what it says.

Split from :mod:`monitor.store.items`, which writes (new items, edits, matches, alerts,
renamed keys) and builds on this class: here are the queries that only read ``items``,
``matches`` and ``tombstones`` (the keys a poll already knows or pruned, the rules an
item matched, the publish times behind a feed's polite delay, a story's items from one
feed, the stories a canonical link points to, and the fingerprints that fill the story
index), and the SQL fragments that read items for other modules too (a story's items,
:func:`in_story`; a field inside an item's JSON, :func:`item_field`). Nothing here
writes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.dedup.folding import LINK_STORIES, FeedMate
from monitor.dedup.urls import canonical_url as canonical_of
from monitor.store.codec import parse_ts, read_hash, text_hash, ts
from monitor.store.dialect import POSTGRESQL, SQLITE, Connection, json_text
from monitor.store.itemcodec import SLIM_FIELDS, moment_of
from monitor.store.sqlite import Store

CHUNK = 500
# How far out of order (by id) first sights may be for the story index's load: rows
# from this long before the window are read and skipped, so none inside it is missed.
ORDER_MARGIN = timedelta(days=1)
FEED_ID = "(SELECT id FROM feed_refs WHERE url = ?)"  # a feed's id, by its URL


def in_story(alias: str = "") -> str:
    """SQL that holds for the items of one story: two ``?``, both the story's id.

    A story's id is the id of the item that started it, so most items (each the
    only one of its story) have ``story_id = id``. SQLite indexes ``story_id`` only
    where it differs (schema 18, issue #18: 12 bytes an item), so the test is spelled
    as that index can serve it: the first item by primary key, the others by
    ``items_story`` (SQLite's "multi-index OR"; PostgreSQL's bitmap OR over its full
    index). A plain ``story_id = ?`` would read the whole table on SQLite. The first
    item is also asked to be its story's (``story_id = id``): exact even where ids were
    reused (before schema 8's AUTOINCREMENT), so the row with the story's id belongs to
    another story.
    """
    p = f"{alias}." if alias else ""
    first = f"{p}id = ? AND {p}story_id = {p}id"
    return f"(({first}) OR ({p}story_id = ? AND {p}story_id <> {p}id))"


def item_field(dialect: str, key: str) -> str:
    """The SQL of ``title``, ``link`` or ``published`` in ``items.data`` (NULL if
    absent): by name in an object (formats 1 to 5), by position in a slim row's array
    (format 5, :data:`monitor.store.itemcodec.SLIM_FIELDS`). Raises ValueError for
    another key."""
    at = SLIM_FIELDS.index(key)
    first = "left(data, 1)" if dialect == POSTGRESQL else "substr(data, 1, 1)"
    by_position = (
        f"(data::json ->> {at})" if dialect == POSTGRESQL else f"json_extract(data, '$[{at}]')"
    )
    return (
        f"(CASE WHEN {first} = '[' THEN {by_position} ELSE {json_text(dialect, 'data', key)} END)"
    )


# The link stored in an item's data (a NULL canonical_url is that link's canonical
# form), read only where canonical_url is NULL (rows the store wrote, valid JSON); on
# SQLite NULL for data that is not JSON (damaged since) rather than an error.
STORED_LINK = {
    SQLITE: f"CASE WHEN json_valid(data) THEN {item_field(SQLITE, 'link')} END",
    POSTGRESQL: item_field(POSTGRESQL, "link"),
}
# The read statements that differ per dialect: JSON inside an item.
_SQL = {
    dialect: {
        "published": f"SELECT {item_field(dialect, 'published')}, first_seen FROM items "
        f"WHERE feed_id = {FEED_ID} ORDER BY id DESC LIMIT ?",
        "titles": f"SELECT item_key, {item_field(dialect, 'title')} FROM items "
        f"WHERE {in_story()} AND +feed_id = {FEED_ID} ORDER BY id",  # + : by story, not feed
        "by_url": "SELECT url_hash, story_id, canonical_url, "
        f"CASE WHEN canonical_url IS NULL THEN {STORED_LINK[dialect]} END FROM items "
        "WHERE url_hash IN ({}) ORDER BY id",
    }
    for dialect in (SQLITE, POSTGRESQL)
}


def first_id_since(conn: Connection, cut: str) -> int:
    """The smallest item id whose ``first_seen`` (stored text, :func:`ts`) is at or
    after ``cut``, or one past the highest id when none is; 1 for no items.

    ``items.first_seen`` has no index (schema 14, 32 bytes an item): items are numbered
    as they are recorded, so their first sight grows with their id, and the bound is
    found by bisection over the primary key (~20 probes for a million items). Where
    the order is not strict (instances' clocks apart, a poll recorded late in its
    transaction), callers add the exact ``first_seen`` test and, where a missed row
    matters, a margin (:meth:`ItemReads.fingerprints_after`).
    """
    low, high = conn.execute("SELECT MIN(id), MAX(id) FROM items").fetchone()
    if low is None:
        return 1
    high += 1
    while low < high:
        middle = (low + high) // 2
        row = conn.execute(
            "SELECT id, first_seen FROM items WHERE id >= ? ORDER BY id LIMIT 1", (middle,)
        ).fetchone()
        if row is not None and row[1] < cut:
            low = row[0] + 1
        else:  # at or after the cut, or pruned meanwhile by another instance
            high = middle
    return low


@dataclass(frozen=True)
class KnownItem:
    """An item already recorded: its row, its story and the hash of its content (hex:
    :func:`~monitor.dedup.identity.same_content` compares it)."""

    id: int
    story_id: int
    content_hash: str | None


def tombstone_key(feed_url: str, key: str) -> int:
    """A compact 63-bit record of a pruned (feed, item key)."""
    digest = hashlib.blake2b(f"{feed_url}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


class ItemReads:
    """Queries over ``items``, ``matches`` and tombstones (:class:`~monitor.store.items.Items`
    adds the updates)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.conn = store.conn
        self.read_sql = _SQL[store.dialect]

    def known(self, feed_url: str, keys: Iterable[str]) -> dict[str, KnownItem]:
        """The items of this feed among ``keys`` that are already recorded.

        Found by the hashes of the keys, then told apart by the keys themselves (a key
        that shares another's hash is not taken for it).
        """
        found: dict[str, KnownItem] = {}
        ordered = list(set(keys))
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start : start + CHUNK]
            wanted = set(chunk)
            hashes = {text_hash(k) for k in chunk}
            rows = self.conn.execute(
                "SELECT item_key, id, story_id, content_hash FROM items "
                f"WHERE feed_id = {FEED_ID} AND key_hash IN ({','.join('?' * len(hashes))})",
                (feed_url, *hashes),
            )
            found.update(
                {r[0]: KnownItem(r[1], r[2], read_hash(r[3])) for r in rows if r[0] in wanted}
            )
        return found

    def pruned(self, feed_url: str, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` belonged to items pruned after the retention period."""
        by_tomb = {tombstone_key(feed_url, k): k for k in keys}
        found: set[str] = set()
        ordered = list(by_tomb)
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start : start + CHUNK]
            rows = self.conn.execute(
                f"SELECT key FROM tombstones WHERE key IN ({','.join('?' * len(chunk))})", chunk
            )
            found.update(by_tomb[r[0]] for r in rows)
        return found

    def publish_times(
        self, feed_url: str, first_polled: datetime | None, limit: int = 200
    ) -> list[datetime]:
        """When the feed's latest ``limit`` items appeared: their date, else first seen.

        Undated items first seen at the feed's first poll are left out: they are the
        backlog the feed already held, and say nothing about how often it publishes.
        """
        rows = self.conn.execute(self.read_sql["published"], (feed_url, limit)).fetchall()
        backlog = ts(first_polled)
        return [
            moment
            for published, first_seen in rows
            if (published not in (None, "") or first_seen != backlog)
            and (moment := moment_of(published) or parse_ts(first_seen)) is not None
        ]

    def stories_by_url(self, canonical_url: str, limit: int = LINK_STORIES) -> list[int]:
        """The stories holding an item with this canonical link, oldest first (at most
        ``limit``: a link shared by more stories than that is a landing page).

        Found by the link's hash, then compared: a row's canonical link is its
        ``canonical_url``, or, when that is NULL, the canonical form of its link.
        """
        return self.stories_by_urls([canonical_url], limit).get(canonical_url, [])

    def stories_by_urls(
        self, canonical_urls: Iterable[str], limit: int = LINK_STORIES
    ) -> dict[str, list[int]]:
        """:meth:`stories_by_url` of each of ``canonical_urls``, read in one query per
        :data:`CHUNK` links (a poll's new items: one query, not one per item); a link
        no story holds is left out."""
        wanted: dict[int, set[str]] = {}
        for url in canonical_urls:
            wanted.setdefault(text_hash(url), set()).add(url)
        found: dict[str, list[int]] = {}
        hashes = list(wanted)
        for start in range(0, len(hashes), CHUNK):
            chunk = hashes[start : start + CHUNK]
            sql = self.read_sql["by_url"].format(",".join("?" * len(chunk)))
            for url_hash, story_id, stored, link in self.conn.execute(sql, chunk):
                canonical = stored if stored is not None else canonical_of(link)
                if canonical not in wanted[url_hash]:
                    continue  # another link of the same hash
                stories = found.setdefault(canonical, [])
                if story_id not in stories and len(stories) < limit:
                    stories.append(story_id)
        return found

    def feed_mates(self, story_id: int, feed_url: str) -> list[FeedMate]:
        """The items of ``story_id`` from ``feed_url``: their keys and current titles."""
        rows = self.conn.execute(self.read_sql["titles"], (story_id, story_id, feed_url))
        return [FeedMate(key, title or "") for key, title in rows]

    def rules_matched(self, item_id: int) -> set[str]:
        """The rules this item matched before."""
        rows = self.conn.execute("SELECT rule FROM matches WHERE item_id = ?", (item_id,))
        return {r[0] for r in rows}

    def fingerprints_after(
        self, item_id: int, since: datetime
    ) -> Iterator[tuple[int, int, int, datetime]]:
        """(item id, fingerprint, story, first seen UTC) of the fingerprinted items whose
        id is above ``item_id`` and first seen at or after ``since``, by id, streamed.

        The first new item of a run reads the whole dedup window so (``item_id`` 0);
        with several instances (PostgreSQL), each poll with new items reads what the
        others recorded since this instance last looked, under the story lock, where
        ids commit in order.
        """
        above = item_id  # a catch-up reads what was recorded since: a few rows
        if not item_id:  # the whole window: start near its first id
            above = first_id_since(self.conn, ts(since - ORDER_MARGIN)) - 1
        rows = self.conn.execute(
            "SELECT id, fingerprint, story_id, first_seen FROM items "
            "WHERE id > ? AND fingerprint IS NOT NULL AND first_seen >= ? ORDER BY id",
            (above, ts(since)),
        )
        for i, fp, story, seen in rows:
            yield i, fp, story, parse_ts(seen)  # type: ignore[misc]
