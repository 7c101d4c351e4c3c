"""Opening the state for reading only (``history``, ``status`` without a daemon): never
created, migrated, locked or written.

A SQLite file is opened ``mode=ro`` (sqlite.org/uri.html), and as immutable when no
daemon has it open, so looking leaves no files behind; with ``store:`` in the config
the PostgreSQL database is a session whose transactions are read-only, never migrated.
A schema these readers cannot read (older than :data:`OLDEST_READ` /
:data:`PG_OLDEST_READ`, or newer than this code) is refused in one line. Split from
:mod:`monitor.store.history` (the queries), which re-exports these names.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.errors import MonitorError
from monitor.store.dialect import Connection
from monitor.store.schema import MIGRATIONS
from monitor.store.sqlite import DB_NAME, NoStateError, _open_error, no_state, unusable_state_dir

if TYPE_CHECKING:
    from monitor.config import MonitorConfig
    from monitor.config.store import StoreSettings

OLDEST_READ = 11  # the oldest schema these queries read (feed_refs, store/compaction.py)
PG_OLDEST_READ = 3  # the same schema on PostgreSQL (store/pgschema.py)


def open_readonly(state_dir: Path, oldest: int = OLDEST_READ) -> sqlite3.Connection:
    """Open the state database under ``state_dir`` read-only.

    Raises NoStateError when there is none (nothing is created), StateDatabaseError
    for a corrupt file or a ``state_dir`` we may not enter, and MonitorError for a
    schema older than ``oldest`` (the oldest the caller's queries read) or newer than
    this code (only the daemon migrates).
    """
    path = state_dir / DB_NAME
    try:
        if not path.is_file():
            raise no_state(state_dir)
        # Without a -wal file no daemon has the database open and everything is in the
        # main file: read it as immutable, or SQLite would leave -wal and -shm files
        # behind, owned by whoever ran the command (root), which the daemon's user could
        # not open at its next start (sqlite.org/wal.html, "Read-Only Databases").
        wal = path.with_name(path.name + "-wal").exists()
    except OSError as exc:
        raise unusable_state_dir(state_dir, exc) from None
    flags = "mode=ro" if wal else "mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?{flags}", uri=True, timeout=10)
        conn.row_factory = sqlite3.Row
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise _open_error(path, exc) from None
    if not oldest <= version <= len(MIGRATIONS):
        conn.close()
        reads = f"{oldest} to {len(MIGRATIONS)}" if oldest < len(MIGRATIONS) else oldest
        raise MonitorError(
            f"state database {path} is at schema {version}, this news-monitor reads schema"
            f" {reads}: start `news-monitor run` of this version once to migrate it"
            " (reports never write the state)"
        )
    return conn


def open_for_reading(config: MonitorConfig) -> tuple[Connection, str]:
    """The state ``config`` names, opened read-only, and where it is (for messages:
    the state_dir, or ``PostgreSQL`` and the server and database, no password).

    Raises as :func:`open_readonly` or :func:`open_readonly_postgres`.
    """
    if config.store is None:
        return open_readonly(config.state_dir), str(config.state_dir)
    conn = open_readonly_postgres(config.store)
    return conn, f"PostgreSQL {conn.where}"


def open_readonly_postgres(settings: StoreSettings) -> Any:
    """Connect to the PostgreSQL database of a ``store:`` section for reading only:
    every transaction of the session is READ ONLY, and nothing is migrated.

    Raises NoStateError for a database no news-monitor has migrated, MonitorError for
    a schema these queries cannot read or without the ``postgresql`` extra, and
    StateDatabaseError when the server cannot be reached (one line, no password).
    """
    try:
        from monitor.store import pgschema
        from monitor.store.postgres import PgConnection
    except ImportError:
        from monitor.config.store import POSTGRESQL_INSTALL_HINT

        raise MonitorError(
            f"store: PostgreSQL needs the psycopg package: {POSTGRESQL_INSTALL_HINT}"
        ) from None
    conn = PgConnection(settings.url, settings.password_reader())
    try:
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        version = pgschema.version(conn)
        if version == 0:
            raise NoStateError(
                f"no state in PostgreSQL {conn.where}: no news-monitor has run on it"
            )
        if not PG_OLDEST_READ <= version <= len(pgschema.MIGRATIONS):
            raise MonitorError(
                f"PostgreSQL {conn.where} is at schema {version}, this news-monitor reads "
                f"{PG_OLDEST_READ} to {len(pgschema.MIGRATIONS)}: run the daemon of this"
                " version to migrate it"
            )
    except BaseException:
        conn.close()
        raise
    return conn
