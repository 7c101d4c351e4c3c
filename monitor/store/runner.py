"""The store behind an async interface: one dedicated thread per store (issue #17).

The daemon's event loop never runs a statement itself. It hands a *unit* of store
work, a plain function ``fn(store, *args)`` doing one whole transaction or read
(recording a poll's items, forming a message, marking it sent), to
:meth:`StoreRunner.run` and awaits its result, so a slow statement (a distant
PostgreSQL, a busy disk, a writer waiting for SQLite's lock) blocks that thread,
not the fetches, sends and heartbeats on the loop.

Why one thread and not an async driver (psycopg's ``AsyncConnection``): the store is
one connection whose transactions are ``with store.transaction():`` blocks in plain
functions; run one at a time on one thread, a transaction never interleaves with
another and never spans an ``await``, and the same code runs on SQLite (which has no
async driver) and on PostgreSQL. The caller's context variables
(:data:`~monitor.store.fencing.current_claim`, which fences a poll's transactions)
travel with each unit (:func:`contextvars.copy_context`).

Sync code of the daemon that cannot await (APScheduler listeners, the claim and lease
bookkeeping, the health check) uses :meth:`StoreRunner.call`: the same thread, so the
same one-at-a-time order, waited for in place.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from monitor.store.sqlite import Store

__all__ = ["StoreRunner"]

T = TypeVar("T")


class StoreRunner:
    """Runs units of store work on one thread, one unit at a time, in call order."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._thread: threading.Thread | None = None
        self._pool.submit(self._remember_thread).result()
        self._pending = 0  # units submitted and not finished (read and written on the loop)

    @property
    def pending(self) -> int:
        """How many units awaited through :meth:`run` are queued or running now (a
        store that stays busy: a slow statement, a lock wait)."""
        return self._pending

    def _remember_thread(self) -> None:
        self._thread = threading.current_thread()

    def _unit(self, fn: Callable[..., T], args: tuple[object, ...]) -> Callable[[], T]:
        """``fn(store, *args)`` in a copy of the caller's context (claim, fence)."""
        ctx = contextvars.copy_context()
        return lambda: ctx.run(fn, self.store, *args)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(store, *args)`` on the store's thread and return its result (or
        raise what it raised: StateDatabaseError, sqlite3.Error, LeaseLost...).

        The loop is free meanwhile. Cancelling the awaiting task does not stop a unit
        already running: its transaction commits or rolls back whole.
        """
        if threading.current_thread() is self._thread:  # a unit calling a helper
            return fn(self.store, *args)
        future = self._pool.submit(self._unit(fn, args))
        self._pending += 1
        try:
            return await asyncio.wrap_future(future)
        finally:
            self._pending -= 1

    def call(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(store, *args)`` on the store's thread and wait for it here (sync
        callers; blocks the calling thread, the event loop included, for that long).
        From the store's thread itself (a unit calling a helper) it runs in place."""
        if threading.current_thread() is self._thread:
            return fn(self.store, *args)
        return self._pool.submit(self._unit(fn, args)).result()

    def close(self) -> None:
        """Wait for the queued units, then close the store on its thread."""
        try:
            self.call(Store.close)
        finally:
            self._pool.shutdown(wait=True)
