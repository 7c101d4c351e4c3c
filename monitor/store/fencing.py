"""Fenced commits: a poll's writes commit only while its feed claim still holds (issue 17).

A poll's writes commit only while its claim still holds: the outermost
``Store.transaction()`` of a task that set :data:`current_claim` first runs

    UPDATE feeds SET lease_until = lease_until WHERE url = ? AND lease_owner = ?
                                                  AND lease_epoch = ?

and 0 rows (another instance claimed the feed since) rolls it back with
:class:`LeaseLost`: a stale owner writes nothing. On PostgreSQL that row stays locked
until the commit, so no claim can take the feed in between. Without ``store.owner`` set
(the single-machine daemon) the fence never runs.

How claims are taken, renewed and released is in :mod:`monitor.store.leases`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.errors import StateDatabaseError


@dataclass(frozen=True)
class Claim:
    """A feed this instance holds: its key, the claim's epoch and the lease's end (UTC)."""

    url: str
    epoch: int
    lease_until: datetime


class LeaseLost(StateDatabaseError):
    """A fenced commit was refused: another instance claimed the feed since (nothing
    was written; the transaction rolled back)."""


current_claim: ContextVar[Claim | None] = ContextVar("current_claim", default=None)
"""The claim of the poll running in this task; set it before the poll's writes so that
their transactions are fenced (asyncio tasks and ``contextvars.copy_context`` carry it)."""

_fenced = 0
_fenced_lock = threading.Lock()


def fenced_commits() -> int:
    """How many fenced commits were refused in this process (for metrics; should stay 0:
    more means polls outlived their leases)."""
    return _fenced


def fence(store: Any) -> None:
    """The first statement of an outermost transaction of a store with an ``owner``
    (called by ``Store.transaction()`` right after it began): when :data:`current_claim`
    is set, lock the feed's row only if this owner still holds that claim's epoch.

    Raises LeaseLost when it does not (the caller rolls the transaction back).
    """
    claim = current_claim.get()
    if claim is None:
        return
    cursor = store.conn.execute(
        "UPDATE feeds SET lease_until = lease_until"
        " WHERE url = ? AND lease_owner = ? AND lease_epoch = ?",
        (claim.url, store.owner, claim.epoch),
    )
    if cursor.rowcount != 1:
        global _fenced
        with _fenced_lock:
            _fenced += 1
        raise LeaseLost(f"feed {claim.url!r}: lease epoch {claim.epoch} lost to another instance")


@contextmanager
def unfenced(store: Any) -> Iterator[None]:
    """A ``store.transaction()`` that is not fenced by :data:`current_claim` (the lease
    statements themselves: a renewal decides by its own WHERE whether it still holds)."""
    token = current_claim.set(None)
    try:
        with store.transaction():
            yield
    finally:
        current_claim.reset(token)
