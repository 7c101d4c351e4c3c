"""A feed's poll state between polls: the ``feeds`` table behind :class:`FeedState`.

Validators (ETag, Last-Modified), the first poll, the last success and error, the
failure streak and the next poll of each feed, read and written by the poll pipeline.
Split from :mod:`monitor.store.sqlite`: :class:`FeedStates` holds the methods and
:class:`~monitor.store.sqlite.Store` (the connection and its transactions) inherits
them, so callers keep writing ``store.feed(url)``; ``FeedState`` and
``MAX_ERROR_CHARS`` (:mod:`monitor.store.codec`'s) are importable from there.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.store.codec import kept_text, parse_ts, ts, ts_not_before
from monitor.store.dialect import POSTGRESQL, SQLITE, Connection
from monitor.store.hosts import feed_host
from monitor.store.itemcodec import with_feed_name

# A feed's next poll moved by a number of seconds (shift_next_polls), as stored text.
# SQLite takes a modifier ("+5 seconds"), PostgreSQL a number of seconds.
_SHIFT = {
    SQLITE: "UPDATE feeds SET next_poll = strftime('%Y-%m-%dT%H:%M:%SZ', next_poll, ?)"
    " WHERE next_poll IS NOT NULL",
    POSTGRESQL: "UPDATE feeds SET next_poll = to_char((next_poll::timestamptz"
    " + ? * interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    " WHERE next_poll IS NOT NULL",
}


@dataclass(frozen=True)
class FeedState:
    """What we remember about a feed between polls."""

    url: str
    name: str
    etag: str | None
    last_modified: str | None
    first_polled: datetime | None
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    next_poll: datetime | None
    items_seen: int
    body_sha256: str | None = None
    entry_digests: str | None = None  # the entries' digests, base64 (ingest/changes.py)
    permanent_url: str | None = None
    gone_at: datetime | None = None
    ttl_minutes: int | None = None
    failing_since: datetime | None = None
    health_alerted: bool = False
    parse_warning: str | None = None  # the last parse's warning (None: it read cleanly)
    parse_warning_at: datetime | None = None
    charset_reading: str | None = None  # 'utf-8', 'declared', 'label' or None (charsets.py)


class FeedStates:
    """The feed poll-state methods of :class:`~monitor.store.sqlite.Store` (its base
    class): queries and updates over ``feeds``, each write one short transaction."""

    conn: Connection
    dialect: str

    def transaction(self) -> AbstractContextManager[None]:
        """One transaction (:meth:`monitor.store.sqlite.Store.transaction`)."""
        raise NotImplementedError

    def feed(self, url: str) -> FeedState | None:
        """The stored state of the feed at ``url``, or None before its first poll."""
        row = self.conn.execute("SELECT * FROM feeds WHERE url = ?", (url,)).fetchone()
        return _feed_state(row) if row else None

    def rename_feed(self, old: str, new: str) -> bool:
        """Move the state and items of the feed keyed ``old`` to the key ``new``.

        Done only when ``new`` has no state yet; returns whether anything moved. Items
        name their feed by id (``feed_refs``): the id takes the new key, or, when items
        are already stored under ``new``, the old id's items move to its id.
        """
        if old == new or self.feed(old) is None or self.feed(new) is not None:
            return False
        with self.transaction():
            self.conn.execute("UPDATE feeds SET url = ? WHERE url = ?", (new, old))
            taken = self.conn.execute(
                "SELECT id, name FROM feed_refs WHERE url = ?", (new,)
            ).fetchone()
            if taken is None:
                self.conn.execute("UPDATE feed_refs SET url = ? WHERE url = ?", (new, old))
            else:
                self._spell_feed_name(old, taken[1])
                self.conn.execute(
                    "UPDATE items SET feed_id = ? WHERE feed_id = "
                    "(SELECT id FROM feed_refs WHERE url = ?)",
                    (taken[0], old),
                )
        return True

    def _spell_feed_name(self, old: str, name: str | None) -> None:
        """Before the items of feed ``old`` move to another ``feed_refs`` row (named
        ``name``): those of formats 4 and 5 that leave their feed's name to their row spell it
        out, so they keep it (store/itemcodec.py)."""
        ref = self.conn.execute("SELECT id, name FROM feed_refs WHERE url = ?", (old,)).fetchone()
        if ref is None or ref[1] is None or ref[1] == name:
            return
        rows = self.conn.execute("SELECT id, data FROM items WHERE feed_id = ?", (ref[0],))
        named = [(with_feed_name(data, ref[1]), row_id) for row_id, data in rows.fetchall()]
        self.conn.executemany("UPDATE items SET data = ? WHERE id = ?", named)

    def _stored_digests(self, text: str | None) -> str | bytes | None:
        """``feeds.entry_digests`` as this backend keeps it: on SQLite the digests
        themselves, a BLOB (8 bytes an entry against base64's ~11: issue #18), on
        PostgreSQL the base64 text (ingest/changes.py) the previous version reads in a
        rolling upgrade. Text that is not base64 is kept as it is."""
        if text is None or self.dialect != SQLITE:
            return text
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error:
            return text

    def forget_permanent_urls(self, secret: Callable[[str], bool]) -> int:
        """Clear each stored permanent redirect target for which ``secret`` holds (one
        that earlier versions stored with its token); how many were cleared."""
        rows = self.conn.execute(
            "SELECT url, permanent_url FROM feeds WHERE permanent_url IS NOT NULL"
        )
        gone = [(url,) for url, target in rows.fetchall() if secret(target)]
        with self.transaction():
            self.conn.executemany("UPDATE feeds SET permanent_url = NULL WHERE url = ?", gone)
        return len(gone)

    def shift_next_polls(self, seconds: float) -> None:
        """Move every feed's next poll by ``seconds`` (after a wall-clock jump), rounded
        up to the second, so each keeps the real time it had left."""
        shift = math.ceil(seconds)
        modifier = f"{shift:+d} seconds" if self.dialect == SQLITE else shift
        with self.transaction():
            self.conn.execute(_SHIFT[self.dialect], (modifier,))

    def feeds(self) -> list[FeedState]:
        """Every feed ever polled."""
        return [_feed_state(r) for r in self.conn.execute("SELECT * FROM feeds ORDER BY name")]

    def record_poll_success(
        self,
        url: str,
        name: str,
        now: datetime,
        next_poll: datetime,
        etag: str | None,
        last_modified: str | None,
        *,
        body_sha256: str | None = None,
        entry_digests: str | None = None,
        ttl_minutes: int | None = None,
        permanent_url: str | None = None,
        parse_warning: str | None = None,
        parsed: bool = False,
    ) -> None:
        """A poll that got an answer (200 or 304): keep validators, reset failures.

        The keyword values replace the stored ones only when given. ``parsed``: the
        body was parsed, so ``parse_warning`` (None: it read cleanly) replaces the
        stored one, timed ``now``; a body not parsed (304, unchanged) keeps it.
        """
        with self.transaction():
            self._ensure_feed(url, name)
            self.conn.execute(
                """UPDATE feeds SET name = ?, etag = ?, last_modified = ?,
                   first_polled = COALESCE(first_polled, ?), last_polled = ?, last_success = ?,
                   consecutive_failures = 0, next_poll = ?, failing_since = NULL,
                   health_alerted = 0, body_sha256 = COALESCE(?, body_sha256),
                   entry_digests = COALESCE(?, entry_digests), entry_sigs = NULL,
                   ttl_minutes = COALESCE(?, ttl_minutes),
                   permanent_url = COALESCE(?, permanent_url),
                   parse_warning = CASE WHEN ? THEN ? ELSE parse_warning END,
                   parse_warning_at = CASE WHEN ? THEN ? ELSE parse_warning_at END
                   WHERE url = ?""",
                (
                    name,
                    etag,
                    last_modified,
                    ts(now),
                    ts(now),
                    ts(now),
                    ts_not_before(next_poll),
                    body_sha256,
                    self._stored_digests(entry_digests),
                    ttl_minutes,
                    permanent_url,
                    parsed,
                    parse_warning,
                    parsed,
                    ts(now) if parse_warning else None,
                    url,
                ),
            )

    def record_poll_failure(
        self,
        url: str,
        name: str,
        now: datetime,
        next_poll: datetime,
        error: str,
        *,
        gone: bool = False,
    ) -> None:
        """A poll that failed: store the (secret-free) reason and count it.

        ``gone`` (HTTP 410) disables the feed until it is removed or re-added.
        """
        with self.transaction():
            self._ensure_feed(url, name)
            self.conn.execute(
                """UPDATE feeds SET name = ?, last_polled = ?, last_error = ?, last_error_at = ?,
                   consecutive_failures = consecutive_failures + 1, next_poll = ?,
                   failing_since = COALESCE(failing_since, ?),
                   gone_at = CASE WHEN ? THEN ? ELSE gone_at END WHERE url = ?""",
                (
                    name,
                    ts(now),
                    kept_text(error),
                    ts(now),
                    ts_not_before(next_poll),
                    ts(now),
                    gone,
                    ts(now),
                    url,
                ),
            )

    def mark_health_alerted(self, url: str) -> None:
        """The operator was told this feed is failing: do not tell again until it recovers."""
        with self.transaction():
            self.conn.execute("UPDATE feeds SET health_alerted = 1 WHERE url = ?", (url,))

    def _ensure_feed(self, url: str, name: str) -> None:
        self.conn.execute(
            "INSERT INTO feeds (url, name, host) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (url, name, feed_host(url)),
        )


def _feed_state(row: Any) -> FeedState:
    return FeedState(
        url=row["url"],
        name=row["name"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        first_polled=parse_ts(row["first_polled"]),
        last_success=parse_ts(row["last_success"]),
        last_error=row["last_error"],
        last_error_at=parse_ts(row["last_error_at"]),
        consecutive_failures=row["consecutive_failures"],
        next_poll=parse_ts(row["next_poll"]),
        items_seen=row["items_seen"],
        body_sha256=row["body_sha256"],
        entry_digests=_digests_text(row["entry_digests"]),
        permanent_url=row["permanent_url"],
        gone_at=parse_ts(row["gone_at"]),
        ttl_minutes=row["ttl_minutes"],
        failing_since=parse_ts(row["failing_since"]),
        health_alerted=bool(row["health_alerted"]),
        parse_warning=row["parse_warning"],
        parse_warning_at=parse_ts(row["parse_warning_at"]),
        charset_reading=row["charset_reading"],
    )


def _digests_text(value: str | bytes | None) -> str | None:
    """``feeds.entry_digests`` as the poll reads it: base64 text (a SQLite BLOB
    encoded, earlier text as it is); None for none or empty."""
    if isinstance(value, bytes):
        value = base64.b64encode(value).decode("ascii")
    return value or None


def entry_digests_from_sigs(conn: Any) -> None:
    """The migration that moves entry signatures to ``feeds.entry_digests`` (SQLite's
    16, PostgreSQL's 8), in the caller's transaction: the id-keyed JSON of schema 14
    and before held the same 8-byte digests in hex, so each is carried over as it is
    and no feed is parsed whole after the upgrade. ``entry_sigs`` stays for an instance
    of the previous version in a rolling upgrade; this version clears it at the feed's
    next poll. A value that is not such JSON is left (that feed is parsed whole once)."""
    from monitor.ingest.changes import digests_text  # the text's one format

    rows = conn.execute("SELECT url, entry_sigs FROM feeds WHERE entry_sigs IS NOT NULL")
    moved = []
    for url, text in rows.fetchall():
        try:
            digests = [bytes.fromhex(v) for v in json.loads(text).values()]
        except (ValueError, TypeError, AttributeError):
            continue
        moved.append((digests_text(d for d in digests if len(d) == 8), url))
    conn.executemany("UPDATE feeds SET entry_digests = ? WHERE url = ?", moved)
