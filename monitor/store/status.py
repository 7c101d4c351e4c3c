"""Read-only summaries of the state for ``news-monitor status``, and the daemon's record
of its config (loaded, or a reload that failed) that ``status`` shows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from monitor.store.codec import parse_ts, ts
from monitor.store.dialect import POSTGRESQL
from monitor.store.history import MATCHED_AT
from monitor.store.sqlite import Store


def rule_counts(store: Store, now: datetime) -> dict[str, dict[str, int]]:
    """Matches per rule in the last 24 hours and 30 days (a match's time is its own
    ``created_at``, else its item's first sight)."""
    day, month = ts(now - timedelta(days=1)), ts(now - timedelta(days=30))
    rows = store.conn.execute(
        f"SELECT m.rule, COUNT(*) FILTER (WHERE {MATCHED_AT} >= ?),"
        f" COUNT(*) FILTER (WHERE {MATCHED_AT} >= ?)"
        " FROM matches m JOIN items i ON i.id = m.item_id GROUP BY m.rule",
        (day, month),
    )
    return {r[0]: {"matches_24h": r[1] or 0, "matches_30d": r[2] or 0} for r in rows}


def channel_summary(store: Store) -> dict[str, dict[str, Any]]:
    """Per channel: alerts pending and failed, last sent, last error, retry time.

    ``last_error_at`` is when that error was met (UTC, as stored): the message's last
    attempt (``attempted_at``), or for a dead letter the time it failed; None when not
    recorded (an error from before a ``retry``, which clears the attempt's time).

    Also the last accepted answer (``last_answer``: e.g. SMTP recipients refused
    while others accepted) and ``disabled`` (since, reason) when a destination
    answered 410 Gone.

    With a last error, ``last_error_message``: the message it belongs to (``id``,
    ``status``, ``parts_sent``: how far it got, which ``status`` words by the channel's
    type, :mod:`monitor.cli.progress`).
    """
    out: dict[str, dict[str, Any]] = {}
    rows = store.conn.execute(
        "SELECT channel, COUNT(*) FILTER (WHERE status = 'pending'),"
        " COUNT(*) FILTER (WHERE status = 'failed'), COUNT(*) FILTER (WHERE status = 'sent')"
        " FROM outbox GROUP BY channel"
    )
    for channel, pending, failed, sent in rows:
        out[channel] = {"pending": pending or 0, "failed": failed or 0, "sent": sent or 0}
    rows = store.conn.execute(
        "SELECT channel, MAX(sent_at) FROM messages WHERE status = 'sent' GROUP BY channel"
    )
    for channel, last_sent in rows:
        out.setdefault(channel, {})["last_sent"] = last_sent
    rows = store.conn.execute(
        "SELECT channel, last_error, next_attempt, status, "
        "CASE WHEN status = 'failed' THEN sent_at ELSE attempted_at END, id, parts_sent "
        "FROM messages WHERE last_error IS NOT NULL ORDER BY created_at"
    )
    for channel, error, next_attempt, status, error_at, message_id, parts in rows:
        entry = out.setdefault(channel, {})
        entry["last_error"] = error
        entry["last_error_at"] = error_at
        entry["next_attempt"] = next_attempt if status == "pending" else None
        entry["last_error_message"] = {"id": message_id, "status": status, "parts_sent": parts}
    # rowid: insertion order (on PostgreSQL an explicit column, monitor/store/pgschema.py)
    rows = store.conn.execute(
        "SELECT channel, answer FROM messages WHERE status = 'sent' ORDER BY sent_at, rowid"
    )
    for channel, answer in rows:
        out.setdefault(channel, {})["last_answer"] = answer
    rows = store.conn.execute(
        "SELECT name, disabled_at, disabled_reason FROM channel_state WHERE disabled_at IS NOT NULL"
    )
    for channel, since, reason in rows:
        out.setdefault(channel, {})["disabled"] = {"since": since, "reason": reason}
    return out


def dead_letters(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    """The newest messages that failed for good, with their reason and ``parts_sent``
    (how far they got: Slack parts posted, email recipients done; 0 for none)."""
    rows = store.conn.execute(
        "SELECT id, channel, attempts, last_error, sent_at, parts_sent FROM messages "
        "WHERE status = 'failed' ORDER BY sent_at DESC LIMIT ?",
        (limit,),
    )
    keys = ("id", "channel", "attempts", "error", "failed_at", "parts_sent")
    return [dict(zip(keys, tuple(r), strict=True)) for r in rows]


MAX_RELOAD_ERROR_CHARS = 4000  # the errors of one failed reload, as stored and shown


def record_config_loaded(store: Store, now: datetime) -> None:
    """The daemon runs on a config read at ``now`` (start, or a reload that succeeded):
    forget any earlier failed reload."""
    with store.transaction():
        store.conn.execute(
            "INSERT INTO config_reload (id, loaded_at, failed_at, errors) VALUES (1, ?, NULL, NULL)"
            " ON CONFLICT (id) DO UPDATE SET loaded_at = excluded.loaded_at,"
            " failed_at = NULL, errors = NULL",
            (ts(now),),
        )


def record_reload_failed(store: Store, now: datetime, errors: str) -> None:
    """A reload at ``now`` failed with ``errors`` (already redacted by the caller; cut to
    MAX_RELOAD_ERROR_CHARS); the daemon keeps the config it loaded before."""
    with store.transaction():
        store.conn.execute(
            "INSERT INTO config_reload (id, failed_at, errors) VALUES (1, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET failed_at = excluded.failed_at,"
            " errors = excluded.errors",
            (ts(now), errors[:MAX_RELOAD_ERROR_CHARS]),
        )


def config_reload(store: Store) -> dict[str, Any]:
    """When the running daemon last loaded its config (``loaded_at``) and, if a reload
    failed since, when (``failed_at``) and why (``errors``, one issue a line)."""
    row = store.conn.execute(
        "SELECT loaded_at, failed_at, errors FROM config_reload WHERE id = 1"
    ).fetchone()
    if row is None:
        return {"loaded_at": None, "failed_at": None, "errors": None}
    return {"loaded_at": parse_ts(row[0]), "failed_at": parse_ts(row[1]), "errors": row[2]}


def storage(store: Store) -> dict[str, Any]:
    """How much the state database holds: ``db_bytes`` (its size in bytes), ``items``
    (items stored) and ``bytes_per_item`` (``db_bytes`` / ``items``, rounded; None
    without items). Seen items are most of the state: this is what one costs
    (docs/dedup.md, *What is stored*).

    SQLite: the file's pages, in use or free, what a write-ahead log holds included.
    PostgreSQL: ``pg_total_relation_size`` (table, indexes, TOAST) of every table in
    the store's schema, summed; ``tables`` maps each table's name to its bytes.
    """
    items = store.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    tables = None
    if store.dialect == POSTGRESQL:
        rows = store.conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY c.relname"
        ).fetchall()
        tables = {name: int(size) for name, size in rows}
        db_bytes = sum(tables.values())
    else:
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        db_bytes = pages * store.conn.execute("PRAGMA page_size").fetchone()[0]
    info: dict[str, Any] = {
        "db_bytes": db_bytes,
        "items": items,
        "bytes_per_item": round(db_bytes / items) if items else None,
    }
    if tables is not None:
        info["tables"] = tables
    return info


def last_message_at(store: Store, channel: str) -> datetime | None:
    """When the last message of ``channel`` was formed (UTC), or None: the base of an
    ``every:`` schedule's next digest as ``status`` estimates it."""
    row = store.conn.execute(
        "SELECT MAX(created_at) FROM messages WHERE channel = ?", (channel,)
    ).fetchone()
    return parse_ts(row[0]) if row else None


def poll_summary(store: Store) -> tuple[datetime | None, int]:
    """(the latest poll of any feed (UTC) or None, how many feeds are failing): the
    health check's STATUS line."""
    row = store.conn.execute(
        "SELECT MAX(last_polled), COUNT(*) FILTER (WHERE consecutive_failures > 0) FROM feeds"
    ).fetchone()
    return parse_ts(row[0]), int(row[1] or 0)


def feed_schedules(store: Store) -> dict[str, tuple[datetime | None, datetime | None, bool]]:
    """Per stored feed key: (its last poll, its next poll (UTC, or None), whether the
    server said it is gone (410)); what the health check judges overdue polls by."""
    rows = store.conn.execute("SELECT url, last_polled, next_poll, gone_at FROM feeds")
    return {
        url: (parse_ts(last), parse_ts(next_poll), gone_at is not None)
        for url, last, next_poll, gone_at in rows
    }


def oldest_pending(store: Store) -> list[tuple[str, datetime | None]]:
    """(channel, the earliest next attempt (UTC) of its pending messages) for every
    channel with one, except channels their destination disabled (410): what the
    health check judges stalled deliveries by."""
    rows = store.conn.execute(
        "SELECT channel, MIN(next_attempt) FROM messages WHERE status = 'pending' "
        "AND channel NOT IN (SELECT name FROM channel_state WHERE disabled_at IS NOT NULL) "
        "GROUP BY channel"
    )
    return [(channel, parse_ts(next_attempt)) for channel, next_attempt in rows]


def stranded(store: Store, channels: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Channels the config no longer has (removed or renamed) whose alerts still wait:
    name → (pending, failed). Nothing sends them until a channel of that name is back
    (delivery and ``retry`` work on the config's channels), so the daemon warns of
    them and ``status`` lists them."""
    known = set(channels)
    rows = store.conn.execute(
        "SELECT channel, COUNT(*) FILTER (WHERE status = 'pending'),"
        " COUNT(*) FILTER (WHERE status = 'failed') FROM outbox"
        " WHERE status IN ('pending', 'failed') GROUP BY channel"
    )
    return {name: (pending, failed) for name, pending, failed in rows if name not in known}
