"""The state database: feeds' poll state, seen items, matches and the outbox.

One SQLite file in ``state_dir`` (WAL mode) by default, or a PostgreSQL database
(:meth:`Store.open_postgres`, :mod:`monitor.store.postgres`): the same ``Store`` and the
same SQL on both (:mod:`monitor.store.dialect`). Items are recorded as seen in the same
transaction that queues their alerts (a transactional outbox), so a crash can never
lose an alert or mark an item seen without its alerts.

This module opens the connection and runs transactions; the feeds' poll state
(:class:`FeedState` and the methods over ``feeds``) is :mod:`monitor.store.feedstate`,
the base class of :class:`Store`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from monitor.errors import StateDatabaseError
from monitor.store.codec import MAX_ERROR_CHARS
from monitor.store.dialect import POSTGRESQL, Connection, dialect_of
from monitor.store.feedstate import FeedState, FeedStates
from monitor.store.fencing import fence
from monitor.store.schema import migrate

# Re-exported: the pipeline, the CLI, the outbox and the tests import them from here.
__all__ = ["DB_NAME", "MAX_ERROR_CHARS", "FeedState", "NoStateError", "Store"]

DB_NAME = "monitor.db"


class NoStateError(StateDatabaseError):
    """There is no state database where a command that never creates one looked."""


class Store(FeedStates):
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
        try:
            if not create and not path.exists():
                raise no_state(state_dir)
            state_dir.mkdir(parents=True, exist_ok=True)
            if path.exists() and not path.is_file():
                raise not_a_file(path)
        except OSError as exc:
            raise unusable_state_dir(state_dir, exc) from None
        conn = None
        try:
            # the daemon uses it only from its store thread (store/runner.py), opened here
            conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
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

        With ``owner`` set and a claim in ``fencing.current_claim``, the outermost one is
        fenced: it raises ``fencing.LeaseLost`` (rolled back, nothing written) when another
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


def no_state(state_dir: Path) -> NoStateError:
    """The error of a command that never creates a state and found none in ``state_dir``."""
    return NoStateError(
        f"no state in {state_dir}: the daemon has not run with this state directory"
        " (see --state-dir)"
    )


def not_a_file(path: Path) -> StateDatabaseError:
    """The error for a ``monitor.db`` that is a directory or the like, not a file."""
    return StateDatabaseError(f"state database {path} is not a file: move it away to start fresh")


def unusable_state_dir(state_dir: Path, exc: OSError) -> StateDatabaseError:
    """One line for a ``state_dir`` the system will not let us look into or create (no
    permission to search it, a file in its place), as the daemon's lock says it
    (``store/lock.py``): ``cannot use state_dir DIR: REASON (PATH)``."""
    where = f" ({exc.filename})" if exc.filename else ""
    return StateDatabaseError(f"cannot use state_dir {state_dir}: {exc.strerror}{where}")


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
    if getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_READONLY:
        return StateDatabaseError(
            f"cannot write state database {path} ({exc}): run this as the daemon's user"
            " (or one allowed to write there)"
        )
    return StateDatabaseError(f"cannot open state database {path} ({exc})")
