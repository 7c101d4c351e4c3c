"""``any_store``: the same Store on SQLite (a temp dir) and on PostgreSQL (``pg_db``).

Every test here states what the store promises, whatever the database; the
PostgreSQL case is skipped without PostgreSQL installed (failed with ``CI=true``).
"""

from __future__ import annotations

from collections.abc import Iterator

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
