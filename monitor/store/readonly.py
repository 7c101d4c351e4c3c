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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from monitor.errors import MonitorError, StateDatabaseError
from monitor.store.schema import MIGRATIONS
from monitor.store.sqlite import (
    DB_NAME,
    NoStateError,
    _open_error,
    no_state,
    not_a_file,
    unusable_state_dir,
)

if TYPE_CHECKING:
    from monitor.config import MonitorConfig
    from monitor.config.store import StoreSettings

OLDEST_READ = 11  # the oldest schema these queries read (feed_refs, store/compaction.py)
PG_OLDEST_READ = 3  # the same schema on PostgreSQL (store/pgschema.py)
T = TypeVar("T")


def read_state(
    state_dir: Path,
    read: Callable[[sqlite3.Connection], T],
    oldest: int = OLDEST_READ,
    *,
    tries: int = 3,
) -> T:
    """``read(conn)`` on the state under ``state_dir`` opened read-only, closed after;
    what ``read`` returned. Immutable when no daemon has it open (no ``-wal``: SQLite
    would otherwise leave ``-wal`` and ``-shm`` files behind), else ``mode=ro``.

    Opened as immutable (no daemon had it open), the file can still change under the
    read: a daemon that starts meanwhile checkpoints into it. A read that then fails
    (``sqlite3.DatabaseError``), or after which the file is not as it was, is done
    again, opened as the file then is: with SQLite's locks (``mode=ro``) if a daemon
    now has it open (its ``-wal`` and ``-shm`` exist: we create none), else immutable
    again. ``read`` should only read, and print nothing: it may run ``tries`` times.

    Raises NoStateError when there is none (nothing is created); StateDatabaseError
    for a file that is corrupt or not a file, a ``state_dir`` we may not enter, a
    read with SQLite's locks that failed (one line: corrupt, or why SQLite could not
    read it), or a file that changed under every try; MonitorError for a schema older
    than ``oldest`` (the oldest the caller's queries read) or newer than this code
    (only the daemon migrates).
    """
    path = state_dir / DB_NAME
    for _ in range(tries):
        try:
            conn, seen = _open(state_dir, oldest)
        except _Changed:
            continue
        try:
            result = read(conn)
        except sqlite3.DatabaseError as exc:
            if seen is None or _unchanged(path, seen):  # the file itself is at fault
                raise _read_error(path, exc) from None
            continue  # changed under an immutable read: look again
        finally:
            conn.close()
        if seen is None or _unchanged(path, seen):
            return result
    raise StateDatabaseError(
        f"state database {path} changed during each of {tries} reads: try again"
    )


def _read_error(path: Path, exc: sqlite3.DatabaseError) -> StateDatabaseError:
    """One line for a read that failed: corrupt (as at the open), else SQLite's reason."""
    error = _open_error(path, exc)
    if str(error).startswith("cannot open "):
        return StateDatabaseError(f"cannot read state database {path} ({exc})")
    return error


class _Changed(Exception):
    """The file changed while it was being opened as immutable: open it again."""


_Look = tuple[int, int, int, bool]  # the file's inode, size, mtime (ns), a -wal beside it


def _looked_at(path: Path) -> _Look:
    """What tells that the file changed between two looks (:data:`_Look`): a daemon
    that opens it writes a ``-wal`` first, and its checkpoint rewrites the file."""
    info = path.stat()
    wal = path.with_name(path.name + "-wal").exists()
    return info.st_ino, info.st_size, info.st_mtime_ns, wal


def _unchanged(path: Path, seen: _Look) -> bool:
    """Whether the file looks as it did (False if it cannot be looked at any more)."""
    try:
        return _looked_at(path) == seen
    except OSError:
        return False


def _open(state_dir: Path, oldest: int) -> tuple[sqlite3.Connection, _Look | None]:
    """The connection, and how the file looked when it was opened immutable (None:
    opened with SQLite's locks). Raises :class:`_Changed` as its docstring says."""
    path = state_dir / DB_NAME
    try:
        if not path.exists():
            raise no_state(state_dir)
        if not path.is_file():
            raise not_a_file(path)
        # Without a -wal file no daemon has the database open and everything is in the
        # main file: read it as immutable, or SQLite would leave -wal and -shm files
        # behind, owned by whoever ran the command (root), which the daemon's user could
        # not open at its next start (sqlite.org/wal.html, "Read-Only Databases").
        seen: _Look | None = _looked_at(path)
    except OSError as exc:
        raise unusable_state_dir(state_dir, exc) from None
    if seen[3]:
        seen = None
    flags = "mode=ro" if seen is None else "mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?{flags}", uri=True, timeout=10)
        conn.row_factory = sqlite3.Row
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        if seen is not None and not _unchanged(path, seen):
            raise _Changed from None  # a daemon checkpointing as we opened it
        raise _open_error(path, exc) from None
    if version > len(MIGRATIONS):
        conn.close()
        raise MonitorError(
            f"state database {path} is at schema {version}, newer than this news-monitor"
            f" ({len(MIGRATIONS)}): upgrade news-monitor to read it"
        )
    if version < oldest:
        conn.close()
        reads = f"{oldest} to {len(MIGRATIONS)}" if oldest < len(MIGRATIONS) else oldest
        raise MonitorError(
            f"state database {path} is at schema {version}, this news-monitor reads schema"
            f" {reads}: start `news-monitor run` of this version once to migrate it"
            " (reports never write the state)"
        )
    return conn, seen


def reader_for(config: MonitorConfig) -> tuple[Callable[[Callable[[Any], T]], T], str]:
    """How to read the state ``config`` names, and where it is (for messages: the
    state_dir, or ``PostgreSQL`` and the server and database, no password): a
    function that runs a read on a read-only connection and closes it
    (:func:`read_state` for SQLite; a session of :func:`open_readonly_postgres`).

    Raises as :func:`open_readonly_postgres` (the SQLite state is opened by the read).
    """
    if config.store is None:
        state_dir = config.state_dir
        return (lambda read: read_state(state_dir, read)), str(config.state_dir)
    conn = open_readonly_postgres(config.store)

    def read_once(read: Callable[[Any], T]) -> T:
        try:
            return read(conn)
        finally:
            conn.close()

    return read_once, f"PostgreSQL {conn.where}"


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
                f"no state in PostgreSQL {conn.where}: no news-monitor has run on it yet"
                " (see store: in the config)"
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
