"""The store behind an async interface (issue #17): a slow statement holds the store's
thread, not the event loop (monitor/store/runner.py).

A statement is made slow for real: it waits for a lock another connection holds
(SQLite's write lock, a PostgreSQL row lock). A heartbeat task on the loop counts its
ticks while a store unit is in flight and lets the lock go only after five of them: on
a loop blocked by the statement it would never tick, and the statement would fail
("database is locked") or hang.
"""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
from collections.abc import Awaitable, Callable

from monitor.config import load
from monitor.pipeline import poll_feed
from monitor.runtime import build_runtime
from monitor.store.runner import StoreRunner
from monitor.store.sqlite import DB_NAME, Store
from tests.conftest import write_config
from tests.integration.test_stories import BODY, rss_item

TICKS = 5  # heartbeats counted with a unit in flight before the lock is let go
SAFETY = 5000  # heartbeats in all before the lock is let go anyway (then the test fails)


async def heartbeat_until_busy(db: StoreRunner, release: Callable[[], None]) -> int:
    """Tick on the loop; after :data:`TICKS` ticks with a store unit in flight (waiting
    for the lock), call ``release``; how many ticks saw a unit in flight."""
    busy = ticks = 0
    while busy < TICKS and ticks < SAFETY:
        await asyncio.sleep(0.005)
        ticks += 1
        busy += db.pending > 0
    release()
    return busy


async def while_locked(
    db: StoreRunner, work: Awaitable[object], release: Callable[[], None]
) -> tuple[object, int]:
    """Run ``work`` beside the heartbeat; (its result, ticks seen with a unit in flight)."""
    task = asyncio.ensure_future(work)
    busy = await heartbeat_until_busy(db, release)
    return await task, busy


def test_a_poll_waiting_on_the_database_leaves_the_loop_running(tmp_path):
    feed = tmp_path / "feed.xml"
    items = "".join(rss_item(f"Pompeo story {n}", BODY, guid=f"g{n}") for n in range(3))
    feed.write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>c</title>{items}')
    path = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"url": f"file:{feed}", "name": "f", "backfill": "all"}],
            "rules": [{"name": "pp", "query": "Pompeo AND Pyongyang"}],
            "channels": {"out": {"type": "console"}},
        },
    )
    config = load(path)
    rt = build_runtime(config)
    writer = sqlite3.connect(tmp_path / "state" / DB_NAME, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # the write lock: every write of the poll waits

    async def go() -> tuple[object, int]:
        try:
            return await while_locked(
                rt.db, poll_feed(rt, config.feeds[0], force=True), writer.commit
            )
        finally:
            await rt.aclose()

    report, busy = asyncio.run(go())
    writer.close()
    assert busy == TICKS
    assert report.ok and report.new_items == 3 and report.alerts == 3, report


def test_a_statement_waiting_for_a_postgresql_row_lock_leaves_the_loop_running(pg_db):
    import psycopg

    store = Store.open_postgres(pg_db)
    store.conn.execute("CREATE TABLE slow (id int PRIMARY KEY, x int)")
    store.conn.execute("INSERT INTO slow VALUES (1, 0)")
    holder = psycopg.connect(pg_db)
    holder.execute("SELECT x FROM slow WHERE id = 1 FOR UPDATE")  # opens a transaction
    db = StoreRunner(store)

    def bump(store: Store, by: int) -> int:
        with store.transaction():
            store.conn.execute("UPDATE slow SET x = x + ? WHERE id = 1", (by,))
            return store.conn.execute("SELECT x FROM slow WHERE id = 1").fetchone()[0]

    async def go() -> tuple[object, int]:
        return await while_locked(db, db.run(bump, 2), holder.commit)

    try:
        value, busy = asyncio.run(go())
    finally:
        holder.close()
        db.close()
    assert (value, busy) == (2, TICKS)


def test_a_unit_sees_the_callers_context_and_runs_on_the_one_store_thread(tmp_path):
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    db = StoreRunner(Store.open(tmp_path))

    def unit(store: Store, tag: str) -> tuple[str, str, object]:
        import threading

        return tag, var.get(), threading.current_thread().name

    async def one(tag: str) -> tuple[str, str, object]:
        var.set(tag)  # each task has its own context
        return await db.run(unit, tag)

    async def go() -> list[tuple[str, str, object]]:
        return list(await asyncio.gather(*(one(f"t{n}") for n in range(4))))

    try:
        seen = asyncio.run(go())
    finally:
        db.close()
    assert [(tag, value) for tag, value, _ in seen] == [(f"t{n}", f"t{n}") for n in range(4)]
    assert len({thread for _, _, thread in seen}) == 1
