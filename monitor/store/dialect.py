"""What the store's SQL may assume of its database, and the few fragments that differ.

The store's modules are written once, in SQL that SQLite (3.30 or newer) and
PostgreSQL both run, against the part of ``sqlite3.Connection`` they use
(:class:`Connection`). On SQLite the connection *is* a ``sqlite3.Connection``; on
PostgreSQL it is :class:`monitor.store.postgres.PgConnection`, which speaks the same
API. Where the two databases have no common spelling (JSON, time arithmetic), the
store picks the statement by :func:`dialect_of`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


class Connection(Protocol):
    """The subset of ``sqlite3.Connection`` the store uses (``isolation_level=None``:
    autocommit, except between the store's own ``BEGIN`` and ``COMMIT``)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any:
        """Run one statement with ``?`` placeholders; a cursor (``fetchone``,
        ``fetchall``, iteration, ``rowcount``) whose rows read by index and by name."""

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]], /) -> Any:
        """Run one statement once per parameter tuple."""

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open."""

    def close(self) -> None:
        """Close the connection."""


def dialect_of(conn: object) -> str:
    """``"postgresql"`` for a :class:`~monitor.store.postgres.PgConnection`, else
    ``"sqlite"`` (a plain ``sqlite3.Connection`` has no ``dialect`` attribute)."""
    return getattr(conn, "dialect", SQLITE)


def marks(count: int) -> str:
    """``count`` placeholders for ``IN (...)``; ``NULL`` when there are none (an empty
    ``IN ()`` is SQLite only; ``x IN (NULL)`` matches nothing on both)."""
    return ",".join("?" * count) or "NULL"


def json_text(dialect: str, column: str, key: str) -> str:
    """The SQL of the top-level string ``key`` of the JSON text in ``column`` (NULL if
    absent). ``column`` and ``key`` are written by our code, never by a user."""
    if dialect == POSTGRESQL:
        return f"({column}::json ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"
