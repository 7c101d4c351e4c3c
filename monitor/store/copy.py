"""``news-monitor store copy``: move a SQLite state into an empty PostgreSQL database.

Once, when one machine becomes several instances (issue #17). The state directory is
locked for the whole copy (:class:`~monitor.store.lock.StateLock`: no daemon may run on
it, nor start during it) and read as one snapshot. The target is migrated first
(:mod:`monitor.store.pgschema`, each migration its own transaction, as any instance
would), then filled in ONE transaction: every table of the store, table by table in
batches of :data:`BATCH_ROWS` (memory stays bounded by a batch, whatever the state's
size), ids kept (item ids are story ids, referenced everywhere), then each identity
sequence set past the highest id SQLite ever handed out, so a new id never repeats an
old one. Everything is committed or nothing: a failure rolls back, and the database
is left migrated and empty, ready for another try.

A target that already holds news-monitor rows, or tables of something else, is
refused: a copy never merges two states.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.errors import MonitorError, StateLockedError
from monitor.redact import error_line
from monitor.store.lock import StateLock
from monitor.store.sqlite import Store

BATCH_ROWS = 1000
"""Rows read from SQLite and sent to PostgreSQL at a time."""

# Every table of the store, parents before the tables that refer to them, each with
# the identity column PostgreSQL numbers (None: none). ``messages.rowid`` is SQLite's
# implicit rowid, an explicit column on PostgreSQL (monitor/store/pgschema.py).
TABLES: tuple[tuple[str, str | None], ...] = (
    ("feeds", None),
    ("feed_refs", "id"),
    ("items", "id"),
    ("matches", None),
    ("messages", "rowid"),
    ("outbox", "id"),
    ("tombstones", None),
    ("channel_state", None),
    ("config_reload", None),
    ("channel_leases", None),
    ("ticks", None),
    ("instances", None),
)
# The highest item id ever used: items.id, and the story ids (the id of a story's
# first item) that items, matches and the outbox still refer to, beside what SQLite's
# AUTOINCREMENT handed out (pruned items included).
_ITEM_IDS = (
    "SELECT MAX(used) FROM (SELECT 0 AS used UNION ALL SELECT MAX(id) FROM items"
    " UNION ALL SELECT MAX(story_id) FROM items UNION ALL SELECT MAX(story_id) FROM outbox"
    " UNION ALL SELECT MAX(item_id) FROM matches) AS ids"
)

# The order rows are read in: SQLite's rowid, or the key of a WITHOUT ROWID table.
_ORDER = {"matches": "item_id, rule"}
# Columns read as PostgreSQL keeps them: a content hash SQLite keeps as 8 bytes (a
# BLOB, store/codec.py stored_hash) goes as its 16 hex digits (the column is TEXT).
# Entry digests SQLite keeps as bytes (store/feedstate.py) go as base64 text.
_READ = {
    ("items", "content_hash"): "CASE WHEN typeof(content_hash) = 'blob' "
    "THEN lower(hex(content_hash)) ELSE content_hash END",
    ("feeds", "entry_digests"): "CASE WHEN typeof(entry_digests) = 'blob' "
    "THEN nm_base64(entry_digests) ELSE entry_digests END",
}

Progress = Callable[[str, int, bool], None]
"""Called as ``progress(table, rows_so_far, finished)`` after each batch and table."""
Started = Callable[[], None]
"""Called once every check has passed, before the first row is copied: the place to
say that the copy begins (a refusal is then never preceded by it)."""


class CopyError(MonitorError):
    """The copy was refused or failed; nothing was written to the target. The message
    names the database and host, never a password."""


@dataclass
class CopyResult:
    """What was copied: ``rows`` per table (in copy order), ``seconds`` the copy took,
    ``target`` the database as messages name it (``database NAME on HOST``)."""

    target: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def copy_state(
    state_dir: Path,
    url: str,
    password: Callable[[], str | None] | None,
    *,
    progress: Progress | None = None,
    on_start: Started | None = None,
    batch_rows: int = BATCH_ROWS,
) -> CopyResult:
    """Copy the SQLite state under ``state_dir`` into the empty PostgreSQL database at
    ``url`` (no password inside; ``password()`` gives it, None: libpq's own means).
    ``on_start()`` is called once the lock is held and the target is found empty, right
    before the first row goes (:func:`copy_store`).

    Raises:
        StateLockedError: a daemon holds the state directory.
        NoStateError: there is no state under ``state_dir``.
        StoreUrlError: ``url`` is not a PostgreSQL URL, or holds a password.
        StateDatabaseError: either database cannot be opened or reached.
        CopyError: the target is not empty, or the copy failed (nothing written).
    """
    from monitor.store import pgschema
    from monitor.store.postgres import PgConnection

    lock = StateLock(state_dir)
    try:
        lock.acquire()
    except StateLockedError as exc:
        raise StateLockedError(f"{exc}: stop it before copying its state") from None
    try:
        source = Store.open(state_dir, create=False)
        try:
            target = PgConnection(url, password)
            try:
                _refuse_foreign_tables(target)
                pgschema.migrate(target)
                return copy_store(
                    source, target, progress=progress, on_start=on_start, batch_rows=batch_rows
                )
            finally:
                target.close()
        finally:
            source.close()
    finally:
        lock.release()


def copy_store(
    source: Store,
    target: Any,
    *,
    progress: Progress | None = None,
    on_start: Started | None = None,
    batch_rows: int = BATCH_ROWS,
) -> CopyResult:
    """Copy every table of the SQLite store ``source`` into ``target``, a migrated
    :class:`~monitor.store.postgres.PgConnection` whose tables are empty, in one
    transaction (see the module docstring). ``on_start()`` is called when the tables
    are locked and found empty, before the first row. Raises CopyError (nothing
    written)."""

    started = time.monotonic()
    result = CopyResult(target=target.where)
    columns = _columns(source, target)
    source.conn.create_function("nm_base64", 1, _base64, deterministic=True)
    source.conn.execute("BEGIN")  # one snapshot of the SQLite state
    try:
        target.execute("BEGIN")
        try:
            names = ", ".join(table for table, _ in TABLES)
            target.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
            _refuse_rows(target)
            if on_start is not None:
                on_start()
            for table, _ in TABLES:
                result.rows[table] = _copy_table(
                    source, target, table, columns[table], progress, batch_rows
                )
            _advance_sequences(source, target)
        except BaseException as exc:
            target.execute("ROLLBACK")
            if isinstance(exc, CopyError) or not isinstance(exc, Exception):
                raise
            raise CopyError(
                f"copy into {target.where} failed ({error_line(exc)}); nothing was written"
            ) from None
        target.execute("COMMIT")
    finally:
        source.conn.execute("ROLLBACK")
    result.seconds = time.monotonic() - started
    return result


def _base64(value: bytes) -> str:
    """``nm_base64(blob)`` in the copy's SQL: the bytes as base64 text."""
    return base64.b64encode(value).decode("ascii")


def _copy_table(
    source: Store,
    target: Any,
    table: str,
    columns: list[str],
    progress: Progress | None,
    batch_rows: int,
) -> int:
    """Send ``table``'s rows (in SQLite's rowid order, or its key's) in batches; how many."""
    listed = ", ".join(columns)
    overriding = " OVERRIDING SYSTEM VALUE" if table == "messages" else ""
    insert = f"INSERT INTO {table} ({listed}){overriding} VALUES ({', '.join('?' * len(columns))})"
    order = _ORDER.get(table, "rowid")
    read = ", ".join(_READ.get((table, column), column) for column in columns)
    cursor = source.conn.execute(f"SELECT {read} FROM {table} ORDER BY {order}")
    copied = 0
    while batch := cursor.fetchmany(batch_rows):
        target.executemany(insert, [tuple(row) for row in batch])
        copied += len(batch)
        if progress is not None:
            progress(table, copied, False)
    if progress is not None:
        progress(table, copied, True)
    return copied


def _columns(source: Store, target: Any) -> dict[str, list[str]]:
    """Each table's columns as SQLite has them (``messages`` with its ``rowid``), once
    checked that both databases have the same tables and columns. Raises CopyError."""
    known = {table for table, _ in TABLES}
    found = {
        r[0]
        for r in source.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    }
    if found != known:
        raise CopyError(f"unexpected tables in the SQLite state: {sorted(found ^ known)}")
    out = {}
    for table, _ in TABLES:
        mine = [r[1] for r in source.conn.execute(f"PRAGMA table_info({table})")]
        mine += ["rowid"] if table == "messages" else []
        theirs = {
            r[0]
            for r in target.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = ?",
                (table,),
            )
        }
        if set(mine) != theirs:
            raise CopyError(
                f"table {table} differs between SQLite and {target.where}:"
                f" columns {sorted(set(mine) ^ theirs)}"
            )
        out[table] = mine
    return out


def _refuse_foreign_tables(target: Any) -> None:
    """Refuse a database that holds tables news-monitor did not make (the wrong
    database, most likely)."""
    ours = {table for table, _ in TABLES} | {"schema_migrations"}
    rows = target.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm')"
        " ORDER BY c.relname"
    ).fetchall()
    foreign = [r[0] for r in rows if r[0] not in ours]
    if foreign:
        shown = ", ".join(foreign[:5]) + (", …" if len(foreign) > 5 else "")
        raise CopyError(
            f"{target.where} holds other tables ({shown}): copy into an empty database"
            " made for news-monitor (createdb -O ROLE news_monitor)"
        )


def _refuse_rows(target: Any) -> None:
    """Refuse a target whose tables hold rows (a state already there); under the lock."""
    held = []
    for table, _ in TABLES:
        count = target.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        if count:
            held.append(f"{table}: {count:,}")
    if held:
        raise CopyError(
            f"{target.where} already holds a news-monitor state ({', '.join(held)}):"
            " store copy only fills an empty database; nothing was written"
        )


def _advance_sequences(source: Store, target: Any) -> None:
    """Set each identity sequence past the highest id used, so new rows never reuse an
    id: items past every item and story id (and SQLite's AUTOINCREMENT mark, which
    remembers pruned items), the outbox and messages past their highest."""
    row = source.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'items'").fetchone()
    marks = {
        "items": max(row[0] if row else 0, target.execute(_ITEM_IDS).fetchone()[0] or 0),
        "feed_refs": target.execute("SELECT MAX(id) FROM feed_refs").fetchone()[0] or 0,
        "outbox": target.execute("SELECT MAX(id) FROM outbox").fetchone()[0] or 0,
        "messages": target.execute("SELECT MAX(rowid) FROM messages").fetchone()[0] or 0,
    }
    for table, column in TABLES:
        if column is not None:
            high = marks[table]
            target.execute(
                "SELECT setval(pg_get_serial_sequence(?, ?), ?, ?)",
                (table, column, max(high, 1), high > 0),
            )
