"""The SQLite store's own parts: its schema version and WAL file, and the state lock.

What the store promises on every backend (items, stories, the outbox lifecycle, poll
state, status) is tested once for SQLite and PostgreSQL in tests/contract/.
"""

from __future__ import annotations

import sqlite3

import pytest

from monitor.errors import StateLockedError
from monitor.store.lock import StateLock
from monitor.store.schema import MIGRATIONS
from monitor.store.sqlite import Store


def test_schema_is_versioned_and_reopens(tmp_path):
    store = Store.open(tmp_path)
    assert store.dialect == "sqlite" and isinstance(store.conn, sqlite3.Connection)
    store.close()
    conn = sqlite3.connect(tmp_path / "monitor.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="newer than this news-monitor"):
        Store.open(tmp_path)


def test_one_daemon_per_state_dir(tmp_path):
    first = StateLock(tmp_path)
    first.acquire()
    with pytest.raises(StateLockedError, match="already running"):
        StateLock(tmp_path).acquire()
    first.release()
    second = StateLock(tmp_path)
    second.acquire()
    second.release()
