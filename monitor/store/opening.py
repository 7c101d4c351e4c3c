"""Which store a command opens: the one choice between SQLite and PostgreSQL.

Without ``store:`` in the config the state is ``state_dir/monitor.db`` (SQLite), as it
always was; with it, the PostgreSQL database the section names, its password read
through :meth:`~monitor.config.store.StoreSettings.password_reader` (again for each new
connection). ``status``, ``preview``, ``retry`` and the daemon's runtime all open their
store here, so they can never disagree about where the state is; ``status`` and
``preview`` only read it (:func:`read_store`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from monitor.config.store import POSTGRESQL_INSTALL_HINT
from monitor.errors import MonitorError, StateDatabaseError
from monitor.store.sqlite import NoStateError, Store

T = TypeVar("T")

if TYPE_CHECKING:
    from pathlib import Path

    from monitor.config import MonitorConfig
    from monitor.config.store import StoreSettings


def open_store(config: MonitorConfig, *, create: bool) -> Store:
    """The store ``config`` names, open and migrated to this code's schema.

    ``create`` False (the admin commands) never starts a new state: on SQLite a
    missing ``monitor.db`` raises :class:`~monitor.store.sqlite.NoStateError`; on
    PostgreSQL so does a database no news-monitor has migrated yet (it is left
    untouched), and one at an older schema is refused rather than migrated (in a
    rolling upgrade the daemons migrate; a report must not change the schema under
    instances of the old version). ``create`` True (the daemon) creates or migrates what is needed.

    Raises:
        NoStateError: see above.
        StateDatabaseError: the database cannot be opened or reached (one line, no
            password).
        MonitorError: ``store:`` is set but the ``postgresql`` extra is not installed.
        RuntimeError: the schema is newer than this news-monitor.
    """
    if config.store is None:
        return Store.open(config.state_dir, create=create)
    return open_postgres(config.store, create=create)


def read_store(config: MonitorConfig, read: Callable[[Store], T]) -> T:
    """``read(store)`` on the store ``config`` names, for a command that only reads it
    (``status``, ``preview``), and the store closed after: on SQLite
    :func:`read_sqlite_store`, on PostgreSQL as :func:`open_store` with ``create``
    False. ``read`` should print nothing: it may run twice (see there).

    Raises as :func:`open_store` and :func:`read_sqlite_store`.
    """
    if config.store is None:
        return read_sqlite_store(config.state_dir, read)
    store = open_postgres(config.store, create=False)
    try:
        return read(store)
    finally:
        store.close()


def read_sqlite_store(state_dir: Path, read: Callable[[Store], T]) -> T:
    """``read(store)`` on ``state_dir/monitor.db`` opened read-only
    (:func:`~monitor.store.readonly.read_state`): never created, migrated or written,
    so a user who may read the state but not write it can look, and a running daemon
    is not disturbed; read again with SQLite's locks if a daemon started meanwhile.

    Raises as :func:`~monitor.store.readonly.read_state`, MonitorError for a state at
    an older schema among them, as for a shared database: only the daemon migrates (a
    report must not change the schema under a daemon of the old version still
    running).
    """
    from monitor.store.readonly import read_state
    from monitor.store.schema import MIGRATIONS

    return read_state(state_dir, lambda conn: read(Store(conn)), oldest=len(MIGRATIONS))


def open_postgres(settings: StoreSettings, *, create: bool) -> Store:
    """The PostgreSQL store of a ``store:`` section (see :func:`open_store`)."""
    try:
        from monitor.store import pgschema
        from monitor.store.postgres import PgConnection
    except ImportError:
        raise MonitorError(
            f"store: PostgreSQL needs the psycopg package: {POSTGRESQL_INSTALL_HINT}"
        ) from None
    if create:
        return Store.open_postgres(settings.url, settings.password_reader())
    conn = PgConnection(settings.url, settings.password_reader())
    try:
        found, needed = pgschema.version(conn), len(pgschema.MIGRATIONS)
        if found == 0:
            raise NoStateError(
                f"no state in PostgreSQL {conn.where}: no news-monitor has run on it yet"
                " (see store: in the config)"
            )
        if found < needed:  # a shared database is migrated by a daemon, not by a report
            raise StateDatabaseError(
                f"PostgreSQL {conn.where} is at schema {found}, this news-monitor reads"
                f" schema {needed}: start `news-monitor run` of this version once to"
                " migrate it (status, preview and retry never migrate a shared database"
                " under the instances still running the old version)"
            )
        pgschema.migrate(conn)  # refuses a schema newer than this code
    except BaseException:
        conn.close()
        raise
    return Store(conn)
