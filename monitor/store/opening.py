"""Which store a command opens: the one choice between SQLite and PostgreSQL.

Without ``store:`` in the config the state is ``state_dir/monitor.db`` (SQLite), as it
always was; with it, the PostgreSQL database the section names, its password read
through :meth:`~monitor.config.store.StoreSettings.password_reader` (again for each new
connection). ``status``, ``preview``, ``retry`` and the daemon's runtime all open their
store here, so they can never disagree about where the state is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.config.store import POSTGRESQL_INSTALL_HINT
from monitor.errors import MonitorError, StateDatabaseError
from monitor.store.sqlite import NoStateError, Store

if TYPE_CHECKING:
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
