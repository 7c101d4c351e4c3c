"""``any_store``: the same Store on SQLite (a temp dir) and on PostgreSQL (``pg_db``);
``opener``: more Stores on that one database, one per instance.

Every test here states what the store promises, whatever the database; the
PostgreSQL case is skipped without PostgreSQL installed (failed with ``CI=true``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.store.sqlite import Store


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Store]:
    """A fresh, migrated Store on each backend."""
    if request.param == "sqlite":
        store = Store.open(tmp_path)
    else:
        store = Store.open_postgres(request.getfixturevalue("pg_db"))
    assert store.dialect == request.param
    yield store
    store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens another Store (its own connection) on the test's one database, on each
    backend, as several instances do; closed after the test when the test's thread
    opened it (a thread closes its own: SQLite's connections belong to their thread)."""
    url = request.getfixturevalue("pg_db") if request.param == "postgresql" else None
    opened: list[Store] = []

    def open_store() -> Store:
        store = Store.open(tmp_path) if url is None else Store.open_postgres(url)
        if threading.current_thread() is threading.main_thread():
            opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()
