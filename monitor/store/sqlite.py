"""The state database: feeds' poll state, seen items, matches and the outbox.

One SQLite file in ``state_dir`` (WAL mode) by default, or a PostgreSQL database
(:meth:`Store.open_postgres`, :mod:`monitor.store.postgres`): the same ``Store`` and the
same SQL on both (:mod:`monitor.store.dialect`). Items are recorded as seen in the same
transaction that queues their alerts (a transactional outbox), so a crash can never
lose an alert or mark an item seen without its alerts.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.errors import StateDatabaseError
from monitor.store.codec import parse_ts, ts, ts_not_before
from monitor.store.dialect import POSTGRESQL, SQLITE, Connection, dialect_of
from monitor.store.leases import fence
from monitor.store.schema import migrate

DB_NAME = "monitor.db"
MAX_ERROR_CHARS = 500


# A feed's next poll moved by a number of seconds (shift_next_polls), as stored text.
# SQLite takes a modifier ("+5 seconds"), PostgreSQL a number of seconds.
_SHIFT = {
    SQLITE: "UPDATE feeds SET next_poll = strftime('%Y-%m-%dT%H:%M:%SZ', next_poll, ?)"
    " WHERE next_poll IS NOT NULL",
    POSTGRESQL: "UPDATE feeds SET next_poll = to_char((next_poll::timestamptz"
    " + ? * interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    " WHERE next_poll IS NOT NULL",
}


class NoStateError(StateDatabaseError):
    """There is no state database where a command that never creates one looked."""


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
    entry_sigs: dict[str, str] | None = None
    permanent_url: str | None = None
    gone_at: datetime | None = None
    ttl_minutes: int | None = None
    failing_since: datetime | None = None
    health_alerted: bool = False


class Store:
    """The state, on SQLite or PostgreSQL; every write is one short transaction.

    ``conn`` is the ``sqlite3`` connection itself, or a
    :class:`~monitor.store.postgres.PgConnection` with the same API; ``dialect`` says
    which (``"sqlite"``, ``"postgresql"``).
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = dialect_of(conn)
        # this instance's id when several share the database (store/leases.py): set, it
        # fences the transactions of a poll that holds a claim; None (one machine) costs
        # nothing
        self.owner: str | None = None

    @classmethod
    def open(cls, state_dir: Path, *, create: bool = True) -> Store:
        """Open (creating and migrating if needed) the database under ``state_dir``.

        With ``create`` False (the admin commands: ``status``, ``retry``, ``preview``)
        nothing is created: raise NoStateError when there is no database, so a command
        pointed at the wrong directory says so instead of reporting an empty state.
        Raise StateDatabaseError, one line naming the file and what to do, when it is
        corrupt (garbage, truncated), not a file, or cannot be opened.
        """
        path = state_dir / DB_NAME
        if not create and not path.exists():
            raise NoStateError(
                f"no state in {state_dir}: the daemon has not run with this state "
                "directory (see --state-dir)"
            )
        state_dir.mkdir(parents=True, exist_ok=True)
        if path.exists() and not path.is_file():
            raise StateDatabaseError(
                f"state database {path} is not a file: move it away to start fresh"
            )
        conn = None
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=30)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            raise _open_error(path, exc) from None
        return cls(conn)

    @classmethod
    def open_postgres(cls, url: str, password: Callable[[], str | None] | None = None) -> Store:
        """Connect to the PostgreSQL database at ``url`` and migrate it
        (:mod:`monitor.store.pgschema`).

        ``url`` holds no password; ``password`` is called for each new connection (a
        rotated password needs no restart), None for none (peer, trust, a client
        certificate). Raises StoreUrlError (a password in the URL, or not a URL),
        StateDatabaseError (cannot connect), RuntimeError (a schema newer than this
        code); messages never hold the password. Needs the ``postgresql`` extra.
        """
        from monitor.store import pgschema
        from monitor.store.postgres import PgConnection

        conn = PgConnection(url, password)
        try:
            pgschema.migrate(conn)
        except BaseException:
            conn.close()
            raise
        return cls(conn)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def transaction(self) -> _Transaction:
        """``with store.transaction():`` runs the body in one IMMEDIATE transaction.

        With ``owner`` set and a claim in ``leases.current_claim``, the outermost one is
        fenced: it raises ``leases.LeaseLost`` (rolled back, nothing written) when another
        instance claimed the feed since.
        """
        return _Transaction(self.conn, None if self.owner is None else self)

    def advisory_lock(self, key: int) -> None:
        """In the open transaction, wait for the cluster-wide lock ``key`` (a 64-bit
        integer), held until the transaction ends: PostgreSQL's
        ``pg_advisory_xact_lock``. On SQLite nothing: ``BEGIN IMMEDIATE`` already lets one
        writer at a time in."""
        if self.dialect == POSTGRESQL:
            self.conn.execute("SELECT pg_advisory_xact_lock(?)", (key,))

    # --- feeds -------------------------------------------------------------------

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
            taken = self.conn.execute("SELECT id FROM feed_refs WHERE url = ?", (new,)).fetchone()
            if taken is None:
                self.conn.execute("UPDATE feed_refs SET url = ? WHERE url = ?", (new, old))
            else:
                self.conn.execute(
                    "UPDATE items SET feed_id = ? WHERE feed_id = "
                    "(SELECT id FROM feed_refs WHERE url = ?)",
                    (taken[0], old),
                )
        return True

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
        entry_sigs: dict[str, str] | None = None,
        ttl_minutes: int | None = None,
        permanent_url: str | None = None,
    ) -> None:
        """A poll that got an answer (200 or 304): keep validators, reset failures.

        The keyword values replace the stored ones only when given.
        """
        sigs = None if entry_sigs is None else json.dumps(entry_sigs, separators=(",", ":"))
        with self.transaction():
            self._ensure_feed(url, name)
            self.conn.execute(
                """UPDATE feeds SET name = ?, etag = ?, last_modified = ?,
                   first_polled = COALESCE(first_polled, ?), last_polled = ?, last_success = ?,
                   consecutive_failures = 0, next_poll = ?, failing_since = NULL,
                   health_alerted = 0, body_sha256 = COALESCE(?, body_sha256),
                   entry_sigs = COALESCE(?, entry_sigs), ttl_minutes = COALESCE(?, ttl_minutes),
                   permanent_url = COALESCE(?, permanent_url) WHERE url = ?""",
                (
                    name,
                    etag,
                    last_modified,
                    ts(now),
                    ts(now),
                    ts(now),
                    ts_not_before(next_poll),
                    body_sha256,
                    sigs,
                    ttl_minutes,
                    permanent_url,
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
                    error[:MAX_ERROR_CHARS],
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
            "INSERT INTO feeds (url, name) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (url, name),
        )


class _Transaction:
    def __init__(self, conn: Connection, fenced: Store | None = None) -> None:
        self.conn = conn
        self.fenced = fenced
        self.outer = False

    def __enter__(self) -> None:
        self.outer = not self.conn.in_transaction
        if self.outer:
            self.conn.execute("BEGIN IMMEDIATE")
            if self.fenced is not None:
                try:
                    fence(self.fenced)
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self.outer:
            return
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _open_error(path: Path, exc: sqlite3.DatabaseError) -> StateDatabaseError:
    """The one-line error for a database SQLite refused to open: corrupt (SQLITE_CORRUPT,
    SQLITE_NOTADB: "file is not a database", "database disk image is malformed") or not
    openable (permissions, a locked or read-only file)."""
    if getattr(exc, "sqlite_errorcode", 0) & 0xFF in (
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_NOTADB,
    ):
        return StateDatabaseError(
            f"state database {path} is corrupt ({exc}): restore a backup or move it away"
            " to start fresh"
        )
    return StateDatabaseError(f"cannot open state database {path} ({exc})")


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
        entry_sigs=json.loads(row["entry_sigs"]) if row["entry_sigs"] else None,
        permanent_url=row["permanent_url"],
        gone_at=parse_ts(row["gone_at"]),
        ttl_minutes=row["ttl_minutes"],
        failing_since=parse_ts(row["failing_since"]),
        health_alerted=bool(row["health_alerted"]),
    )
