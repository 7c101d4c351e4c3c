"""first_id_since (store/itemreads.py) and the stored timestamps it compares."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.store.codec import ts
from monitor.store.itemreads import first_id_since


class PrunedMidway:
    """A connection on which another instance prunes every item right after the
    bisection has read the ids' range (PostgreSQL, READ COMMITTED)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn, self.calls = conn, 0

    def execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        cursor = self.conn.execute(sql, params)
        self.calls += 1
        if self.calls == 1:
            rows = cursor.fetchall()
            self.conn.execute("DELETE FROM items")
            return self.conn.execute("SELECT ?, ?", rows[0])
        return cursor


def test_a_bisection_whose_rows_are_pruned_meanwhile_ends_without_error():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, first_seen TEXT NOT NULL)")
    conn.executemany(
        "INSERT INTO items VALUES (?, ?)",
        [(n, f"2026-11-{n:02d}T00:00:00Z") for n in range(1, 21)],
    )
    assert first_id_since(conn, "2026-11-10T00:00:00Z") == 10
    assert first_id_since(PrunedMidway(conn), "2026-11-10T00:00:00Z") == 1  # nothing left


def test_stored_times_of_the_repeated_local_hour_differ():
    """ts() remembers its answers by UTC moment: 01:30 before and after New York's
    clocks go back compare equal as local times, an hour apart as instants."""
    first = datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York"))
    second = first.replace(fold=1)
    assert (ts(first), ts(second)) == ("2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z")
