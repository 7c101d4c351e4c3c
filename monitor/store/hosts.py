"""The host a feed's polls go to, stored on its row so that claims can keep
``ingest.max_per_host`` across instances (docs/operations.md, *Several instances*)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def feed_host(key: str) -> str:
    """The host a feed key's polls go to, lower case ("" for a key without one): the name
    ``ingest.max_per_host`` counts by, in the runtime and in the claim."""
    try:
        return urlsplit(key).hostname or ""
    except ValueError:
        return ""


def add_feed_hosts(conn: Any, column: str = "TEXT") -> None:
    """The migration that gives feeds their ``host`` (SQLite's 13, PostgreSQL's 5), in
    the caller's transaction: the column (``column`` its type), filled from each key,
    and a partial index of live leases by host for the claim's count."""
    conn.execute(f"ALTER TABLE feeds ADD COLUMN host {column}")
    keys = [row[0] for row in conn.execute("SELECT url FROM feeds").fetchall()]
    conn.executemany("UPDATE feeds SET host = ? WHERE url = ?", [(feed_host(k), k) for k in keys])
    conn.execute("CREATE INDEX feeds_leased ON feeds (host) WHERE lease_owner IS NOT NULL")
