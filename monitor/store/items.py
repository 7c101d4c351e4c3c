"""The items side of the store: seen items, their stories, matches and alerts.

An item is known by (feed, key): its row names the feed by ``feed_id`` (``feed_refs``)
and is found by the hash of its key (``key_hash``), then by the key itself
(:mod:`monitor.store.compaction`). A *story* is the id of the item that started it;
later items join it (same canonical link, near-identical text). Alerts are outbox
rows keyed by (channel, story, rule), so a story alerts a rule on a channel once,
ever. Callers wrap a poll's writes in ``store.transaction()`` so that seen items
and their alerts commit together.

The split: this module is the write side (:class:`Items`: new items, edits, matches,
alerts, keys renamed by an upgrade); the queries that only read (known and pruned keys,
publish times, feed mates, stories by link, fingerprints for the story index) are
:class:`~monitor.store.itemreads.ItemReads` in :mod:`monitor.store.itemreads`, which
:class:`Items` extends. ``KnownItem`` and ``tombstone_key`` are importable from both.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

from monitor import metrics
from monitor.dedup.urls import canonical_url as canonical_of
from monitor.models import Item, Match
from monitor.store.codec import match_to_json, stored_hash, text_hash, ts
from monitor.store.dialect import POSTGRESQL, SQLITE
from monitor.store.itemcodec import ITEM_FORMAT, ROLLING_FORMAT, is_compact, pack_item, unpack_item
from monitor.store.itemreads import STORED_LINK, ItemReads, KnownItem, tombstone_key
from monitor.store.sqlite import Store

# Re-exported: recording, retention and the tests import them from here.
__all__ = ["Alerts", "Items", "KnownItem", "tombstone_key"]

Alerts = tuple[tuple[str, tuple[str, ...]], ...]  # (rule, channels) pairs
log = logging.getLogger("monitor.store")

# The write statements that differ per dialect: JSON inside an item or a match, a new
# item's id.
#
# A new story's id is its first item's. SQLite writes it at the insert: the id an
# AUTOINCREMENT table gives a new row is one more than both the largest id in it and
# the largest it ever gave (sqlite_sequence), the rule of SQLite's OP_NewRowid
# (https://sqlite.org/autoinc.html), worked out in the same statement. That saves an
# UPDATE per new story (a first poll's every item; issue #18). PostgreSQL's id comes
# from a sequence shared by the instances, so it is set by an UPDATE after the insert.
_NEXT_ID = {
    SQLITE: "COALESCE(?, 1 + MAX(COALESCE((SELECT seq FROM sqlite_sequence "
    "WHERE name = 'items'), 0), COALESCE((SELECT MAX(id) FROM items), 0)))",
    POSTGRESQL: "COALESCE(?, -1)",
}
_SQL = {
    dialect: {
        "insert": "INSERT INTO items (feed_id, key_hash, item_key, url_hash, canonical_url, "
        "story_id, data, first_seen, content_hash, fingerprint) "
        f"VALUES (?, ?, ?, ?, ?, {_NEXT_ID[dialect]}, ?, ?, ?, ?)"
        + (" RETURNING id" if dialect == POSTGRESQL else ""),
        "canonical": "SELECT canonical_url, url_hash, "
        f"CASE WHEN canonical_url IS NULL THEN {STORED_LINK[dialect]} END FROM items WHERE id = ?",
        "feed_ref": "INSERT INTO feed_refs (url, name) VALUES (?, ?) ON CONFLICT (url) DO NOTHING",
        "no_highlights": (
            "UPDATE matches SET data = json_set(data, '$.highlights', json('[]')) "
            if dialect == SQLITE
            else "UPDATE matches SET data = jsonb_set(data::jsonb, '{highlights}', '[]')::text "
        )
        + "WHERE item_id = ?",
    }
    for dialect in (SQLITE, POSTGRESQL)
}


class Items(ItemReads):
    """Queries and updates over ``items``, ``matches``, ``outbox`` rows and tombstones
    (the queries that only read: :class:`~monitor.store.itemreads.ItemReads`)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.sql = _SQL[store.dialect]
        # The item format written (store/itemcodec.py): PostgreSQL keeps the one the
        # previous version reads, as instances of both may share it (a rolling upgrade).
        self.item_format = ITEM_FORMAT if store.dialect == SQLITE else ROLLING_FORMAT

    def feed_ref(self, feed_url: str, name: str | None = None) -> tuple[int, str | None]:
        """``(id, name)`` of the feed at ``feed_url`` in ``feed_refs``: the id its item
        rows name it by, and the name they leave out (formats 4 and 5, store/itemcodec.py).

        A feed without a row gets one now; one without a name (recorded by an earlier
        version) takes ``name``. The name stays the one given first (a feed renamed
        later spells its new name out in its rows), so what a row says never changes.
        Never cached: a rolled-back transaction takes a new id back with it.
        """
        query = "SELECT id, name FROM feed_refs WHERE url = ?"
        row = self.conn.execute(query, (feed_url,)).fetchone()
        if row is None:
            self.conn.execute(self.sql["feed_ref"], (feed_url, name))
        elif row[1] is None and name is not None:
            self.conn.execute(
                "UPDATE feed_refs SET name = ? WHERE id = ? AND name IS NULL", (name, row[0])
            )
        else:
            return int(row[0]), row[1]
        row = self.conn.execute(query, (feed_url,)).fetchone()
        return int(row[0]), row[1]

    def adopt_former_keys(
        self,
        feed_url: str,
        items: Mapping[str, Item],
        known: Mapping[str, KnownItem] | None = None,
    ) -> int:
        """Carry stored items over from the key an earlier version gave them.

        ``items`` maps each item's key to the item. An item whose ``former_key`` is
        stored under this feed (and whose own key is not) takes that row over: the
        same story, the same alerts, so an upgrade sends nothing twice. A former key
        that was pruned leaves its tombstone to the new key. Returns the rows renamed.
        ``known``: :meth:`known` of ``items``' keys, when the caller has read it.
        """
        former = {i.former_key: key for key, i in items.items() if i.former_key not in (None, key)}
        return self.rename_keys(feed_url, former, known)

    def rename_keys(
        self,
        feed_url: str,
        former: Mapping[str, str],
        taken: Mapping[str, KnownItem] | None = None,
    ) -> int:
        """Rename feed ``feed_url``'s stored items from each old key of ``former`` to
        its new key (``{old: new}``), in one transaction: the same row, story and
        alerts. An old key not stored is skipped, and so is a new key already stored
        (that item is known under it) unless its row is renamed away here too (keys
        that chain or trade places: ``{a: b, b: c}``), and a new key that two old
        keys ask for goes to the first; a pruned old key leaves its tombstone to the
        new key. Returns the rows renamed. Used by :meth:`adopt_former_keys` and for a
        feed read anew (:mod:`monitor.ingest.carryover`). ``taken``: :meth:`known` of
        keys that include every new key, when the caller has read it (else read here).
        """
        if not former:
            return 0
        stored = self.known(feed_url, former)
        if taken is None:
            taken = self.known(feed_url, former.values())
        going = {old: new for old, new in former.items() if old in stored and old != new}
        while True:  # a row that stays keeps its key: renames onto it are dropped, and so on
            staying, asked = taken.keys() - going.keys(), set()
            kept: dict[str, str] = {}
            for old, new in going.items():
                if new not in staying and new not in asked:
                    kept[old] = new
                    asked.add(new)
            if kept == going:
                break
            going = kept
        moves = [(stored[old].id, old, new) for old, new in going.items()]
        tombs = self.pruned(feed_url, former.keys() - stored.keys())
        with self.store.transaction():
            self._keep_ids(feed_url, moves)
            self.conn.executemany(
                "UPDATE items SET item_key = ?, key_hash = ? WHERE id = ?",
                [(new, text_hash(new), row_id) for row_id, _, new in moves],
            )
            self.conn.executemany(
                "INSERT INTO tombstones VALUES (?, "
                "(SELECT pruned_at FROM tombstones WHERE key = ?)) ON CONFLICT DO NOTHING",
                [(tombstone_key(feed_url, former[o]), tombstone_key(feed_url, o)) for o in tombs],
            )
        return len(moves)

    def _keep_ids(self, feed_url: str, renames: list[tuple[int, str, str]]) -> None:
        """Before rows are renamed (``(row id, old key, new key)`` each): a row of the
        compact format that left its item's id to its old key spells the id out."""
        name = self.feed_ref(feed_url)[1] if renames else None
        for row_id, old, new in renames:
            (data,) = self.conn.execute("SELECT data FROM items WHERE id = ?", (row_id,)).fetchone()
            if not is_compact(data):
                continue  # format 1: the id is in the value
            stored = unpack_item(data, feed_url, old, name)
            packed = self._pack(stored.item, feed_url, new, full=stored.full, feed_name=name)
            self.conn.execute("UPDATE items SET data = ? WHERE id = ?", (packed, row_id))

    def insert(
        self,
        feed_url: str,
        key: str,
        item: Item,
        *,
        canonical_url: str | None,
        content_hash: str,
        fingerprint: int | None,
        story_id: int | None,
        now: datetime,
        full: bool = True,
        ref: tuple[int, str | None] | None = None,
    ) -> tuple[int, int]:
        """Record a new item (starting a story unless ``story_id``); return (item, story).
        The feed's count of items seen is the caller's (:meth:`count_seen`).

        ``ref``: the feed's :meth:`feed_ref`, when the caller looked it up in this
        transaction (once for a poll's items instead of once per item).

        ``full=False`` keeps a slim row (no summary, content, author, tags or language:
        :func:`~monitor.store.itemcodec.pack_item`), for an item no message will show. A
        ``canonical_url`` that is the canonical form of the item's link (as the pipeline
        computes it) is stored as NULL: the link says it.
        """
        feed_id, name = ref or self.feed_ref(feed_url, item.feed.name)
        cur = self.conn.execute(
            self.sql["insert"],
            (
                feed_id,
                text_hash(key),
                key,
                text_hash(canonical_url),
                None if canonical_url == canonical_of(item.link) else canonical_url,
                story_id,
                self._pack(item, feed_url, key, full=full, feed_name=name),
                ts(now),
                stored_hash(content_hash, short=self.item_format == ITEM_FORMAT),
                fingerprint,
            ),
        )
        # SQLite's lastrowid (RETURNING would need SQLite 3.35; RHEL 9 has 3.34)
        item_id = int(cur.fetchone()[0] if self.store.dialect == POSTGRESQL else cur.lastrowid)
        if story_id is None:
            story_id = item_id
            if self.store.dialect == POSTGRESQL:  # SQLite wrote it (_NEXT_ID)
                self.conn.execute("UPDATE items SET story_id = ? WHERE id = ?", (item_id, item_id))
        return item_id, story_id

    def _pack(
        self,
        item: Item,
        feed_url: str | None,
        key: str | None,
        *,
        full: bool,
        feed_name: str | None = None,
    ) -> str:
        """``items.data`` of ``item`` in this store's format (``feed_name``: the feed's
        ``feed_refs.name``, looked up when not given and ``feed_url`` is)."""
        if feed_name is None and feed_url is not None and self.item_format == ITEM_FORMAT:
            _, feed_name = self.feed_ref(feed_url)
        return pack_item(
            item, feed_url, key, full=full, feed_name=feed_name, version=self.item_format
        )

    def stored(self, item_id: int) -> tuple[Item, bool]:
        """Item ``item_id`` as stored, and whether its row is full (keeps its text)."""
        data, key, url, name = self.conn.execute(
            "SELECT i.data, i.item_key, f.url, f.name FROM items i "
            "JOIN feed_refs f ON f.id = i.feed_id WHERE i.id = ?",
            (item_id,),
        ).fetchone()
        found = unpack_item(data, url, key, name)
        return found.item, found.full

    def count_seen(self, feed_url: str, new: int) -> None:
        """Add ``new`` to the feed's ``items_seen`` (``status``): once per poll, not per
        item (an UPDATE of the feed's row per item was ~10 µs of a first poll's each)."""
        self.conn.execute(
            "UPDATE feeds SET items_seen = items_seen + ? WHERE url = ?", (new, feed_url)
        )

    def update(
        self,
        item_id: int,
        item: Item,
        content_hash: str,
        *,
        feed_url: str | None = None,
        key: str | None = None,
        full: bool = True,
    ) -> None:
        """Store an edited item's new text (its identity and story stay).

        ``feed_url`` and ``key``: the row's (what its stored value need not repeat);
        ``full``: as for :meth:`insert`. The highlights stored with its matches were
        offsets into the old text: they are cleared, and :meth:`add_matches` stores
        those of the new text. The row keeps the canonical link it was found by, spelled
        out if the edit moved its link.
        """
        stored, url_hash, link = self.conn.execute(self.sql["canonical"], (item_id,)).fetchone()
        if (
            stored is None
            and url_hash is not None
            and canonical_of(link) != canonical_of(item.link)
        ):
            stored = canonical_of(link)  # the edit moved the link: keep the row's canonical link
        self.conn.execute(
            "UPDATE items SET canonical_url = ?, data = ?, content_hash = ? WHERE id = ?",
            (
                stored,
                self._pack(item, feed_url, key, full=full),
                stored_hash(content_hash, short=self.item_format == ITEM_FORMAT),
                item_id,
            ),
        )
        self.conn.execute(self.sql["no_highlights"], (item_id,))

    def add_matches(self, item_id: int, matches: Iterable[Match], now: datetime) -> None:
        """Record which rules the item matched, on which terms and where.

        A rule it matched before keeps its first time and gets the new terms and
        highlights (after an edit, they mark the text as stored now). A match recorded
        when its item is first seen keeps no time of its own (``created_at`` NULL: the
        item's ``first_seen``).
        """
        self.conn.executemany(
            "INSERT INTO matches (item_id, rule, data, created_at) "
            "VALUES (?, ?, ?, NULLIF(?, (SELECT first_seen FROM items WHERE id = ?))) "
            "ON CONFLICT (item_id, rule) DO UPDATE SET data = excluded.data",
            [(item_id, m.rule, match_to_json(m), ts(now), item_id) for m in matches],
        )

    def queue_alerts(self, story_id: int, alerts: Alerts, now: datetime) -> int:
        """Queue one outbox row per (channel, rule) the story has not had; return how many.

        A row already there is the story's own alert ("once, ever": not queued again,
        silently), unless it was queued before the story began: then it is another
        story's row under the same id, the alert cannot be queued, and that is logged
        as an error and counted (``news_monitor_alert_collisions_total``), never silent.
        """
        queued = 0
        for rule, channels in alerts:
            for channel in channels:
                cur = self.conn.execute(
                    "INSERT INTO outbox (channel, story_id, rule, created_at, status) "
                    "VALUES (?, ?, ?, ?, 'pending') "
                    "ON CONFLICT (channel, story_id, rule) DO NOTHING",
                    (channel, story_id, rule, ts(now)),
                )
                if cur.rowcount:
                    queued += 1
                else:
                    self._check_collision(channel, story_id, rule)
        return queued

    def _check_collision(self, channel: str, story_id: int, rule: str) -> None:
        """Log and count an outbox row of (channel, story, rule) older than the story."""
        row = self.conn.execute(
            "SELECT o.created_at, i.first_seen FROM outbox o "
            "JOIN items i ON i.id = o.story_id "
            "WHERE o.channel = ? AND o.story_id = ? AND o.rule = ? AND o.created_at < i.first_seen",
            (channel, story_id, rule),
        ).fetchone()
        if row is None:
            return  # the story's own alert: a genuine duplicate
        metrics.alert_collision(channel)
        log.error(
            "alert not queued: channel=%r story=%d rule=%r already has an outbox row from %s, "
            "before the story began (%s): a reused story id",
            channel,
            story_id,
            rule,
            row[0],
            row[1],
        )
