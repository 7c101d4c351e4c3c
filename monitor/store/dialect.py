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


def in_story(alias: str = "") -> str:
    """SQL that holds for the items of one story: two ``?``, both the story's id.

    A story's id is the id of the item that started it, so most items (each the
    only one of its story) have ``story_id = id``. SQLite indexes ``story_id`` only
    where it differs (schema 18, issue #18: 12 bytes an item), so the test is spelled
    as that index can serve it: the first item by primary key, the others by
    ``items_story`` (SQLite's "multi-index OR"; PostgreSQL's bitmap OR over its full
    index). A plain ``story_id = ?`` would read the whole table on SQLite. The first
    item is also asked to be its story's (``story_id = id``): exact even where ids were
    reused (before schema 8's AUTOINCREMENT), so the row with the story's id belongs to
    another story.
    """
    p = f"{alias}." if alias else ""
    first = f"{p}id = ? AND {p}story_id = {p}id"
    return f"(({first}) OR ({p}story_id = ? AND {p}story_id <> {p}id))"
