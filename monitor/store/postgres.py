"""PostgreSQL behind the part of the ``sqlite3`` API the store uses (psycopg 3).

:class:`PgConnection` is one psycopg connection in autocommit mode, as the SQLite
connection is (``isolation_level=None``): a transaction is the store's own ``BEGIN``
… ``COMMIT``. Each statement is translated once (cached): ``?`` placeholders become
psycopg's ``%s`` (not inside string literals), a literal ``%`` becomes ``%%``, and
``BEGIN IMMEDIATE`` becomes ``BEGIN``. Rows read by index and by column name, like
``sqlite3.Row``. The SQLite path uses the ``sqlite3`` connection itself: nothing of
this module runs there (psycopg is imported only by a PostgreSQL store).

The password never sits in the URL (:func:`check_url` refuses it): it comes from a
callable, called for each new connection, so a rotated password needs no restart. A
lost connection is one :class:`~monitor.errors.StateDatabaseError` line naming the
database and host, never the password; the next statement connects again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus

from monitor.errors import MonitorError, StateDatabaseError
from monitor.redact import error_line

Password = Callable[[], str | None]
CONNECT_TIMEOUT = 10  # seconds, unless the URL says otherwise
# Seconds a session may sit idle inside a transaction before the server ends it (and
# its advisory locks): an instance frozen holding the story lock (SIGSTOP, a frozen VM,
# a network cut) must not stall every other instance; none of ours is idle that long.
IDLE_IN_TRANSACTION_TIMEOUT = 20
# libpq's TCP settings (ignored on a unix socket), unless the URL sets its own: a
# connection whose peer went silent (a network cut, a host powered off) fails within
# about a minute, as one StateDatabaseError, instead of leaving the store's thread
# waiting on a socket that never answers (Linux's default: ~2 h idle, ~15 min with data
# in flight). Keepalive probes after 30 s idle, every 10 s, 3 unanswered: ~60 s; data
# sent and not acknowledged for 60 s (tcp_user_timeout, milliseconds): the same bound.
TCP_SETTINGS = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 60_000,
}
# Errors that may mean the session is gone (:meth:`PgConnection._lost` checks): the
# server ending an idle transaction's session raises its own error, not an operational one.
_MAY_LOSE = (psycopg.OperationalError, psycopg.errors.IdleInTransactionSessionTimeout)
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|[?%]")


class StoreUrlError(MonitorError):
    """The store URL cannot be used: not a PostgreSQL URL, or a password inside it.

    The message never repeats the URL's password (nor the URL as written).
    """


def check_url(url: str) -> dict[str, str]:
    """The connection parameters of a ``postgresql://`` URL (or libpq ``key=value``
    string), as libpq reads them.

    Raises:
        StoreUrlError: libpq cannot read it, or it holds a password (as
            ``user:password@`` or ``?password=``).
    """
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:
        raise StoreUrlError(
            "store url is not a PostgreSQL URL (postgresql://user@host/database)"
        ) from None
    if "password" in params:
        raise StoreUrlError(
            f"store url for {describe(params)} holds a password: remove it from the URL"
            " and give it in password_file (or ${ENV})"
        )
    return params


def describe(params: dict[str, str]) -> str:
    """``database NAME on HOST[:PORT]`` for messages (no user, no password)."""
    host = params.get("host") or params.get("hostaddr") or "the default socket"
    port = f":{params['port']}" if params.get("port") else ""
    return f"database {params.get('dbname') or params.get('user') or '?'} on {host}{port}"


@lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """``sql`` as psycopg takes it: ``?`` → ``%s`` outside quotes, ``%`` → ``%%``
    everywhere (psycopg reads ``%`` even inside literals), ``BEGIN IMMEDIATE`` →
    ``BEGIN``. The store's SQL has no comments and no ``?`` operators (a ``?`` in
    either would be taken for a placeholder)."""
    if sql.strip().upper() == "BEGIN IMMEDIATE":
        return "BEGIN"
    return _TOKENS.sub(_swap, sql)


def _swap(token: re.Match[str]) -> str:
    text = token.group()
    if text == "?":
        return "%s"
    return text.replace("%", "%%")


class Row(tuple):
    """A result row by index and by column name, like ``sqlite3.Row``."""

    __slots__ = ()
    _index: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._index)


@lru_cache(maxsize=512)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    index: dict[str, int] = {}
    for position, name in enumerate(names):
        index.setdefault(name, position)  # the first of two equal names, as sqlite3.Row
    return type("Row", (Row,), {"__slots__": (), "_index": index})


def _row_factory(cursor: Any) -> type[Row]:
    """psycopg's row factory: one :class:`Row` class per result's column names."""
    return _row_class(tuple(column.name for column in cursor.description or ()))


class _NoRows:
    """The cursor of a ROLLBACK with no connection: the server already rolled back."""

    rowcount = -1

    def fetchone(self) -> None:
        return None

    def fetchall(self) -> list[Row]:
        return []

    def __iter__(self) -> Any:
        return iter(())


class PgConnection:
    """One PostgreSQL connection with the ``sqlite3.Connection`` API of the store.

    Not thread-safe (neither is the SQLite store's connection). ``dialect`` is
    ``"postgresql"`` (:func:`monitor.store.dialect.dialect_of`).
    """

    dialect = "postgresql"

    def __init__(
        self,
        url: str,
        password: Password | None = None,
        *,
        connect_timeout: int = CONNECT_TIMEOUT,
        idle_timeout: float = IDLE_IN_TRANSACTION_TIMEOUT,
    ) -> None:
        """Connect to ``url`` (no password inside), with the password ``password()``
        returns (None: none, as for peer or trust authentication).

        ``connect_timeout`` (seconds) applies unless the URL sets its own, and so does
        ``idle_timeout`` (seconds, PostgreSQL's ``idle_in_transaction_session_timeout``):
        a session left idle in a transaction that long is ended by the server, its
        locks released, unless the URL sets ``options``. The frozen instance's
        transaction is then rolled back; its next call reconnects. Over TCP, a peer
        gone silent is noticed within about a minute (:data:`TCP_SETTINGS`, each one
        kept as the URL sets it).

        Raises:
            StoreUrlError: see :func:`check_url`.
            StateDatabaseError: the server cannot be reached or refused us (one line).
        """
        params = check_url(url)
        self.where = describe(params)
        self._url = url
        self._password = password
        self._options: dict[str, Any] = {"autocommit": True, "row_factory": _row_factory}
        if "connect_timeout" not in params:
            self._options["connect_timeout"] = connect_timeout
        if "options" not in params:
            millis = int(idle_timeout * 1000)
            self._options["options"] = f"-c idle_in_transaction_session_timeout={millis}"
        self._options.update((k, v) for k, v in TCP_SETTINGS.items() if k not in params)
        if "application_name" not in params:
            self._options["application_name"] = "news-monitor"
        self._conn: psycopg.Connection[Any] | None = None
        self._closed = False
        self._connect()

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        """Run one statement (``?`` placeholders); its cursor, rows already fetched.

        Raises:
            StateDatabaseError: the connection is lost (the next call reconnects) or
                cannot be made.
            psycopg.Error: any other error of the statement (constraint, syntax).
        """
        conn = self._ready(sql)
        if conn is None:
            return _NoRows()
        try:
            return conn.execute(translate(sql), parameters)
        except _MAY_LOSE as exc:
            raise self._lost(exc) from None

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]], /) -> Any:
        """Run one statement once per parameter tuple (pipelined by psycopg).

        Raises as :meth:`execute`.
        """
        conn = self._ready(sql)
        if conn is None:
            return _NoRows()
        cursor = conn.cursor()
        try:
            cursor.executemany(translate(sql), seq_of_parameters)
        except _MAY_LOSE as exc:
            raise self._lost(exc) from None
        return cursor

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (the server's word, via libpq)."""
        conn = self._conn
        return conn is not None and conn.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        """Close the connection; later calls raise StateDatabaseError."""
        self._closed = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _ready(self, sql: str) -> psycopg.Connection[Any] | None:
        """The live connection, made anew if the last one was lost; None for a ROLLBACK
        after a loss (the server rolled back when the connection went)."""
        if self._conn is not None:
            return self._conn
        if self._closed:
            raise StateDatabaseError(f"the connection to PostgreSQL {self.where} is closed")
        if sql.strip().upper() == "ROLLBACK":
            return None
        self._connect()
        return self._conn

    def _connect(self) -> None:
        options = dict(self._options)
        try:
            secret = self._password() if self._password is not None else None
        except OSError as exc:
            raise StateDatabaseError(
                f"cannot read the password for PostgreSQL {self.where}: {exc.strerror}"
            ) from None
        if secret is not None:
            options["password"] = secret
        try:
            # No server-side prepared statements (psycopg prepares a query run 5 times):
            # they do not survive PgBouncer's transaction pooling.
            self._conn = psycopg.connect(self._url, prepare_threshold=None, **options)
        except psycopg.Error as exc:
            reason = error_line(exc, secret)
            raise StateDatabaseError(
                f"cannot connect to PostgreSQL {self.where}: {reason}"
            ) from None

    def _lost(self, exc: psycopg.Error) -> Exception:
        """A one-line StateDatabaseError if ``exc`` lost the connection (dropped, to be
        made anew at the next call); else ``exc`` itself (a cancelled statement, a
        deadlock: the connection still works)."""
        conn = self._conn
        if conn is not None and not (conn.broken or conn.closed):
            return exc
        if conn is not None:
            conn.close()
        self._conn = None
        return StateDatabaseError(
            f"lost the connection to PostgreSQL {self.where}: {error_line(exc)}"
        )
